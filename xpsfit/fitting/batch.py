"""Headless batch fitting: many files, one recipe, failures reported instead of fatal.

``batch(inputs, recipe, ...)`` expands files / folders (recursive) / globs, reads every file,
fits each spectrum whose region matches the recipe (or one series per file or per sample),
optionally over several processes, and returns a :class:`BatchResult` with the results in a
deterministic order (input order, blocks in file order), the failures (file, block, reason) and
what was skipped (unrelated files, other regions). Results go into the HDF5 file as they
arrive (in input order), figures are drawn by the workers, and the file (and CSV table) are put
in place at the end, also after Ctrl-C or a cancel through ``progress``, with what was done by
then. A fit flagged not trustworthy is kept in the results and also listed as a failure.

Workers receive paths and the recipe path (or its TOML text), never big objects, and load the
recipe with the same call as ``xpsfit fit``, so the numbers are the same as a single fit's.
"""
from __future__ import annotations

import glob
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Cancelled, FileFormatError, FitError, UnsupportedFormatError, XpsfitError
from ..recipe.spec import Recipe
from ..results import FitResult, SeriesResult
from ..spectrum import region_key

__all__ = ["batch", "BatchResult", "BatchItem", "expand_inputs", "table_items", "SERIES_BY"]

SERIES_BY = ("none", "file", "sample")
Progress = Callable[[int, int, str], "bool | None"]


@dataclass
class BatchItem:
    """One row of the failures or skipped table."""
    file: str
    block: int | None          # 0-based block index in the file; None = the whole file
    reason: str
    result_index: int | None = None   # a flagged result kept in ``results`` for inspection


@dataclass
class BatchResult:
    results: list[FitResult | SeriesResult] = field(default_factory=list)
    failures: list[BatchItem] = field(default_factory=list)
    skipped: list[BatchItem] = field(default_factory=list)
    interrupted: bool = False
    outputs: dict[str, Path] = field(default_factory=dict)   # "out", "table", "plots" -> path

    @property
    def fitted(self) -> int:
        """Spectra with a trustworthy result (flagged ones are kept but listed as failed)."""
        spectra = sum(len(r.results) if isinstance(r, SeriesResult) else 1
                      for r in self.results)
        return spectra - sum(f.result_index is not None for f in self.failures)

    @property
    def exit_code(self) -> int:
        """0 all fitted, 1 some failed, 2 nothing could be done (the CLI's exit status)."""
        if self.fitted == 0:
            return 2
        return 1 if self.failures else 0

    def fit_results(self) -> list[FitResult]:
        """Every spectrum's FitResult (series expanded), in result order."""
        return [f for r in self.results
                for f in (r.results if isinstance(r, SeriesResult) else [r])]

    def verdict_counts(self) -> dict[str, int]:
        """{"ok": n, "doubtful": n, "bad": n} over every fitted spectrum."""
        counts = {"ok": 0, "doubtful": 0, "bad": 0}
        for f in self.fit_results():
            if f.verdict in counts:
                counts[f.verdict] += 1
        return counts

    def summary(self) -> str:
        text = (f"fitted {self.fitted}, failed {len(self.failures)}, "
                f"skipped {len(self.skipped)}")
        v = self.verdict_counts()
        if any(v.values()):
            text += f"; verdicts {v['ok']} ok, {v['doubtful']} doubtful, {v['bad']} bad"
        return text + (" (interrupted: results so far kept)" if self.interrupted else "")


# ---------------------------------------------------------------------------------- inputs

def expand_inputs(inputs: Iterable[str | os.PathLike]) -> tuple[list[Path], list[BatchItem]]:
    """Files named, found under folders (recursively, hidden entries ignored) or matched by
    globs (``**`` allowed), in input order without duplicates; plus a failure per input that
    matched nothing."""
    files: list[Path] = []
    missing: list[BatchItem] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for raw in inputs:
        p = Path(raw)
        if p.is_file():
            add(p)
        elif p.is_dir():
            for f in _walk(p):
                add(f)
        elif p.exists():   # a FIFO, device or socket: read() refuses it by name, one row
            add(p)
        elif glob.has_magic(str(raw)):
            matches = _glob(str(raw))
            for m in matches:
                mp = Path(m)
                for f in (_walk(mp) if mp.is_dir() else [mp]):
                    add(f)
            if not matches:
                missing.append(BatchItem(str(raw), None, "pattern matched no file"))
        else:
            missing.append(BatchItem(str(raw), None, "no such file or folder"))
    return files, missing


def _glob(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)`` without following symbolic links to folders in
    ``**``: Python 3.11's glob does follow them, and a link to its own folder makes the walk
    endless. pathlib's ``**`` does not follow them."""
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = Path(*parts[:fixed]) if fixed else Path(".")
    rest = parts[fixed:]
    hidden_ok = any(part.startswith(".") for part in rest)
    out = []
    try:
        matches = list(base.glob(str(Path(*rest))))
    except ValueError:   # "**" inside a name ("a**b"): plain glob, which never recurses
        return sorted(glob.glob(pattern))
    for match in matches:
        rel = match.relative_to(base).parts
        if hidden_ok or not any(part.startswith(".") for part in rel):
            out.append(str(match) if fixed else os.path.join(*rel))
    return sorted(out)


def _walk(folder: Path) -> list[Path]:
    """Files under ``folder``; os.walk does not follow links to folders, so a link loop cannot
    make it endless."""
    out = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
    return out


# ----------------------------------------------------------------------------- the work units

@dataclass(frozen=True)
class _Ref:
    """A spectrum by reference: cheap to send to a worker."""
    path: str
    position: int      # index in xpsfit.io.read(path)'s list
    block: int         # block_index attribute (what users see)
    sample: str
    stem: str          # unique name of its file for figure names


@dataclass(frozen=True)
class _Unit:
    """One piece of work. Either a whole file (the worker reads it once and picks the matching
    spectra itself: no second read anywhere) or spectra found by a scan in the parent (one
    block each, to spread a few big files over the workers, or one sample's series)."""
    index: int
    kind: str                        # "fit" | "series"
    file: str = ""
    stem: str = ""
    refs: tuple[_Ref, ...] = ()
    plots: str = ""                  # folder for figures, "" = none
    image: bool = False              # also return the results as an HDF5 image to copy
    read: tuple = ()                 # xpsfit.io.read energy keywords as (name, value) pairs
    calibrate: tuple = ()            # (species, eV): one calibration shift per acquisition

    def describe(self) -> str:
        if self.file:
            return Path(self.file).name
        more = f" (+{len(self.refs) - 1})" if len(self.refs) > 1 else ""
        return f"{Path(self.refs[0].path).name}#{self.refs[0].block}{more}"


@dataclass(frozen=True)
class _RecipeSpec:
    """How a worker gets the recipe: the file (as ``xpsfit fit`` loads it) or its TOML text."""
    path: str = ""
    text: str = ""
    source: str = ""


@dataclass
class _Outcome:
    index: int
    results: list = field(default_factory=list)
    failures: list[BatchItem] = field(default_factory=list)   # result_index: into results
    skipped: list[BatchItem] = field(default_factory=list)
    image: bytes | None = None       # the results as HDF5 entries, built in the worker


def _select(path: Path, recipe: Recipe, read_options: tuple = ()):
    """Read one file: [(position, block, spectrum)] matching the recipe's region, failures
    (broken spectrum file) and skips (no reader recognises it, other regions)."""
    from ..io import read
    try:
        spectra = read(path, **dict(read_options))
    except UnsupportedFormatError as exc:
        claimed = _format_of_suffix(path)
        if claimed:   # a .vms that no reader recognises is a broken spectrum, not a stray file
            return [], [BatchItem(str(path), None, f"not readable as {claimed}: content not "
                                  "recognised (corrupt, truncated or another format)")], []
        return [], [], [BatchItem(str(path), None, f"not a spectrum file: {exc.message}")]
    except XpsfitError as exc:
        return [], [BatchItem(str(path), None, _reason(exc))], []
    except Exception as exc:   # a reader bug must not stop the whole batch
        return [], [BatchItem(str(path), None, _unexpected(exc))], []
    want = region_key(recipe.region)
    chosen, skipped = [], []
    for i, s in enumerate(spectra):
        block = int(s.attrs.get("block_index", i))
        region = str(s.attrs.get("region", ""))
        if region_key(region) == want:
            chosen.append((i, block, s))
        else:
            why = (f"region {region!r} is not the recipe's {recipe.region!r}" if region
                   else "spectrum has no region name")
            skipped.append(BatchItem(str(path), block, why))
    return chosen, [], skipped


#: suffixes that only spectrum files use: such a file that no reader recognises is reported
#: as a failure (a corrupt file), while .txt, .csv, .xml, .xlsx … are skipped as unrelated
SPECTRUM_SUFFIXES = {".vms": "VAMAS", ".npl": "VAMAS", ".spe": "PHI MultiPak .spe",
                     ".xy": "SPECS Prodigy XY"}


def _format_of_suffix(path: Path) -> str:
    """The format a spectrum-only suffix promises, when no reader recognised the content at
    all (not when a reader recognised it and refused a legal variant, e.g. an AES-only VAMAS
    file)."""
    claimed = SPECTRUM_SUFFIXES.get(path.suffix.lower(), "")
    if not claimed:
        return ""
    from ..io import detect_format
    try:
        detect_format(path)
    except UnsupportedFormatError:
        return claimed
    except XpsfitError:   # vanished or unreadable since: read() already said why
        pass
    return ""


def _reason(exc: XpsfitError) -> str:
    """The error's one line without the file name (the table's first column has it)."""
    return XpsfitError(exc.message, line=exc.line, block=exc.block, key=exc.key).one_line()


def _unexpected(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _stems(files: list[Path]) -> dict[str, str]:
    """A unique figure-name stem per file (same names in different folders get _2, _3, …)."""
    out, used = {}, set()
    for f in files:
        stem, k = f.stem, 1
        while stem in used:
            k += 1
            stem = f"{f.stem}_{k}"
        used.add(stem)
        out[str(f)] = stem
    return out


def _scanned_units(files: list[Path], recipe: Recipe, series_by: str, stems: dict[str, str],
                   plots: str, image: bool, read_options: tuple = ()
                   ) -> tuple[list[_Unit], list[BatchItem], list[BatchItem]]:
    refs, failures, skipped = [], [], []
    for path in files:
        chosen, bad, skip = _select(path, recipe, read_options)
        failures += bad
        skipped += skip
        refs += [_Ref(str(path), i, block, str(s.attrs.get("sample", "")), stems[str(path)])
                 for i, block, s in chosen]
    if series_by == "none":
        groups = [[r] for r in refs]
    else:
        keyed: dict[str, list[_Ref]] = {}
        for r in refs:   # first appearance decides the order, as on the fit command line
            keyed.setdefault(r.sample or f"file:{r.path}", []).append(r)
        groups = list(keyed.values())
    kind = "fit" if series_by == "none" else "series"
    units = [_Unit(i, kind, refs=tuple(g), plots=plots, image=image, read=read_options)
             for i, g in enumerate(groups)]
    return units, failures, skipped


# ---------------------------------------------------------------------- worker side (any process)

_RECIPES: dict[_RecipeSpec, Recipe] = {}
_FILES: dict[str, list] = {}
_FILE_CACHE = 4   # a worker usually gets consecutive blocks of one file: read it once


def _forget() -> None:
    _RECIPES.clear()
    _FILES.clear()


def _worker_init() -> None:
    # Ctrl-C is the parent's business: it stops handing out work and keeps what is done;
    # a worker dying of SIGINT would break the pool and lose the fits in flight.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _recipe_for(spec: _RecipeSpec) -> Recipe:
    if spec not in _RECIPES:
        from ..recipe.spec import load_recipe, recipe_from_dict
        if spec.path:
            _RECIPES[spec] = load_recipe(spec.path)
        else:
            _RECIPES[spec] = recipe_from_dict(tomllib.loads(spec.text), source=spec.source)
    return _RECIPES[spec]


def _spectrum(ref: _Ref, read_options: tuple = ()):
    if ref.path not in _FILES:
        from ..io import read
        if len(_FILES) >= _FILE_CACHE:
            _FILES.pop(next(iter(_FILES)))
        _FILES[ref.path] = read(ref.path, **dict(read_options))
    spectra = _FILES[ref.path]
    # the file may have changed since the scan (blocks lost, reordered): a failure row then,
    # never a wrong spectrum or an IndexError
    if ref.position >= len(spectra) or \
            int(spectra[ref.position].attrs.get("block_index", ref.position)) != ref.block:
        _FILES.pop(ref.path, None)
        raise FileFormatError(f"file changed since it was scanned: block {ref.block} is no "
                              f"longer where it was ({len(spectra)} spectra now)",
                              path=ref.path, block=ref.block)
    return spectra[ref.position]


def _trouble(result: FitResult) -> str | None:
    if result.success:
        return None
    return "; ".join(result.flags) or f"fit failed: {result.statistics.message}"


def _run_unit(unit: _Unit, spec: _RecipeSpec, recipe: Recipe | None,
              fit_kwargs: dict[str, Any]) -> _Outcome:
    """Fit one unit; every error becomes a failure row, never an exception."""
    out = _Outcome(unit.index)
    try:
        recipe = recipe if recipe is not None else _recipe_for(spec)
        if unit.file:
            chosen, out.failures, out.skipped = _select(Path(unit.file), recipe, unit.read)
            items = [(unit.file, block, s, unit.stem) for _i, block, s in chosen]
        else:
            items = [(r.path, r.block, _spectrum(r, unit.read), r.stem) for r in unit.refs]
    except XpsfitError as exc:
        out.failures += ([BatchItem(unit.file, None, _reason(exc))] if unit.file else
                         [BatchItem(r.path, r.block, _reason(exc)) for r in unit.refs])
        return out
    if not items:
        return out
    figures = []
    if unit.kind == "fit" and unit.calibrate:
        _calibrated(out, figures, items, recipe, unit.calibrate, fit_kwargs)
    elif unit.kind == "fit":
        from .single import fit
        for path, block, spectrum, stem in items:
            try:
                result = fit(spectrum, recipe, **fit_kwargs)
            except XpsfitError as exc:
                out.failures.append(BatchItem(path, block, _reason(exc)))
                continue
            except Exception as exc:   # an engine bug on one spectrum must not end the batch
                out.failures.append(BatchItem(path, block, _unexpected(exc)))
                continue
            out.results.append(result)
            figures.append((path, block, stem, result))
            why = _trouble(result)
            if why:
                out.failures.append(BatchItem(path, block, why, len(out.results) - 1))
    else:
        try:
            series = _fit_series()([s for _p, _b, s, _st in items], recipe)
        except XpsfitError as exc:
            out.failures += [BatchItem(p, b, _reason(exc)) for p, b, _s, _st in items]
            return out
        except Exception as exc:
            out.failures += [BatchItem(p, b, _unexpected(exc)) for p, b, _s, _st in items]
            return out
        out.results.append(series)
        for (path, block, _s, stem), fr in zip(items, series.results):
            figures.append((path, block, stem, fr))
            why = _trouble(fr)
            if why:
                out.failures.append(BatchItem(path, block, why, 0))
    if unit.plots:
        _figures(out, figures, Path(unit.plots), recipe.region)
    if unit.image and out.results:
        from ..export.hdf5 import entries_image
        try:
            out.image = entries_image(out.results)
        except Exception:   # the parent then writes these results itself
            out.image = None
    return out


def _calibrated(out: _Outcome, figures: list, items: list, recipe: Recipe,
                calibration: tuple, fit_kwargs: dict) -> None:
    """One unit's spectra with one calibration shift per acquisition (a unit holds whole
    files, so an acquisition is never split); a reference fit that fails fails its file."""
    from .charge import calibrate_acquisitions
    try:
        results = calibrate_acquisitions([s for _p, _b, s, _st in items], recipe, *calibration,
                                         **fit_kwargs)
    except XpsfitError as exc:
        out.failures += [BatchItem(p, b, _reason(exc)) for p, b, _s, _st in items]
        return
    except Exception as exc:
        out.failures += [BatchItem(p, b, _unexpected(exc)) for p, b, _s, _st in items]
        return
    for (path, block, _s, stem), result in zip(items, results):
        out.results.append(result)
        figures.append((path, block, stem, result))
        why = _trouble(result)
        if why:
            out.failures.append(BatchItem(path, block, why, len(out.results) - 1))


def _figures(out: _Outcome, figures, folder: Path, region: str) -> None:
    from ..export.plots import save_fit_figure
    for path, block, stem, result in figures:
        target = folder / f"{stem}_b{block:02d}_{region_key(region)}.png"
        try:
            save_fit_figure(result, target, dpi=150)   # many files: screen resolution
        except Exception as exc:   # a figure is a by-product; the fit itself is kept
            out.failures.append(BatchItem(path, block, f"figure not written: "
                                                       f"{_unexpected(exc)}"))


def _fit_series():
    from .series import fit_series
    return fit_series


# ------------------------------------------------------------------------------- the driver

def batch(inputs: str | os.PathLike | Sequence[str | os.PathLike],
          recipe: Recipe | str | os.PathLike,
          *, series_by: str = "none", jobs: int = 1, out: str | os.PathLike | None = None,
          table: str | os.PathLike | None = None, plots: str | os.PathLike | None = None,
          progress: Progress | None = None, monte_carlo: int = 0, seed: int = 0,
          read_options: dict | None = None, calibrate: tuple[str, float] | None = None
          ) -> BatchResult:
    """Fit every spectrum of ``inputs`` whose region matches ``recipe``.

    ``read_options`` are energy-axis keywords of :func:`xpsfit.io.read` (``axis``,
    ``excitation_energy``, ``work_function``, ``shift``) used for every file. ``calibrate``
    = (species, eV) sets that component of the recipe to that energy with one rigid shift per
    acquisition (:func:`xpsfit.fitting.charge.calibrate_acquisitions`; single fits only).

    ``series_by``: ``"none"`` (one fit per spectrum), ``"file"`` (one series per file) or
    ``"sample"`` (one series per sample name, across files). ``jobs`` > 1 fits in that many
    processes. ``out`` (HDF5, one NXentry per result, streamed while fitting and moved into
    place at the end), ``table`` (CSV) and ``plots`` (a folder of PNG fit panels) are optional.
    ``progress(done, total, message)`` is called after each work unit (a file, a block or a
    series); returning True cancels: what is done is written, then
    :class:`Cancelled` is raised with the partial :class:`BatchResult` as ``.partial``
    (KeyboardInterrupt likewise carries ``.partial``).
    """
    if series_by not in SERIES_BY:
        raise FitError(f"series_by must be one of {', '.join(SERIES_BY)}, not {series_by!r}")
    jobs = int(jobs)
    if jobs < 1:
        raise FitError(f"jobs must be at least 1, not {jobs}")
    if series_by != "none":
        _fit_series()   # refuse early, before any work, when series fitting is unavailable
    read_pairs = tuple(sorted((read_options or {}).items()))
    calibration = tuple(calibrate) if calibrate else ()
    if calibration:
        if series_by != "none":
            raise FitError("calibrate: one shift per acquisition is for single fits "
                           "(series_by='none')")
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    recipe_obj, spec = _resolve_recipe(recipe)
    if calibration:   # a species the recipe lacks fails now, not once per file
        from .charge import check_calibration
        check_calibration(recipe_obj, *calibration)
    plots_dir = Path(plots) if plots is not None else None
    if plots_dir is not None:
        try:
            plots_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FitError(f"cannot create the plots folder: {exc.strerror or exc}",
                           path=plots_dir) from None
    from ..atomic import check_target
    for target, what in ((out, "results"), (table, "table")):
        if target is not None:   # before any fit: a bad place fails now, not at the end
            check_target(target, error=FitError, what=what)

    files, missing = expand_inputs(inputs)
    stems = _stems(files)
    plots_text = str(plots_dir) if plots_dir is not None else ""
    # workers build the HDF5 entries themselves; the parent only copies them (C-level, ~10x
    # cheaper than writing), so it does not become the bottleneck of a parallel batch
    image = out is not None and jobs > 1
    kind = "fit" if series_by == "none" else "series"
    # Whole-file units read each file once, in the worker. A scan in the parent is needed to
    # group by sample across files, or to spread a few many-block files over the workers.
    # A calibration keeps whole files together: one shift per acquisition (file, sample).
    if series_by == "sample" or (series_by == "none" and jobs > 1 and len(files) < 2 * jobs
                                 and not calibration):
        units, failures, skipped = _scanned_units(files, recipe_obj, series_by, stems,
                                                  plots_text, image, read_pairs)
    else:
        failures, skipped = [], []
        units = [_Unit(i, kind, file=str(f), stem=stems[str(f)], plots=plots_text,
                       image=image, read=read_pairs, calibrate=calibration)
                 for i, f in enumerate(files)]
    fit_kwargs = {"monte_carlo": int(monte_carlo), "seed": int(seed)} if monte_carlo else {}

    writer = None
    if out is not None:
        from ..export.hdf5 import ResultsWriter
        writer = ResultsWriter(out)
    sink = _Sink(writer)
    stop: BaseException | None = None
    _forget()   # files or recipes edited since an earlier batch in this process must be re-read
    try:
        try:
            if jobs == 1 or len(units) <= 1:
                _run_serial(units, spec, recipe_obj, fit_kwargs, sink, progress)
            else:
                _run_parallel(units, spec, fit_kwargs, sink, progress, jobs)
        except (KeyboardInterrupt, Cancelled) as exc:
            stop = exc
        sink.finish()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        _forget()

    result = BatchResult(interrupted=stop is not None)
    for i in sorted(sink.outcomes):
        o = sink.outcomes[i]
        offset = len(result.results)
        result.results += o.results
        for item in o.failures:
            if item.result_index is not None:
                item.result_index += offset
        failures += o.failures
        skipped += o.skipped
    rank = {str(f): k for k, f in enumerate(files)}

    def order(item: BatchItem):   # file order, then block: the same whatever the unit layout
        return rank.get(item.file, -1), -1 if item.block is None else item.block

    result.failures = missing + sorted(failures, key=order)
    result.skipped = sorted(skipped, key=order)
    _write_outputs(result, writer, table, plots_dir)
    if stop is not None:
        stop.partial = result
        raise stop
    return result


class _Sink:
    """Collects unit outcomes in completion order and streams their results into the HDF5
    writer in *unit* order, so writing overlaps fitting and the file order is deterministic."""

    def __init__(self, writer) -> None:
        self.writer = writer
        self.outcomes: dict[int, _Outcome] = {}
        self.next = 0
        self.in_file: dict[int, int] = {}   # unit -> how many of its results are written

    def add(self, outcome: _Outcome) -> None:
        self.outcomes[outcome.index] = outcome
        while self.next in self.outcomes:
            self._write(self.next)
            self.next += 1

    def finish(self) -> None:
        """After a stop: the completed units beyond a gap (cancelled units) too, in order."""
        for i in sorted(self.outcomes):
            self._write(i)

    def _write(self, index: int) -> None:
        if self.writer is None:
            return
        outcome = self.outcomes[index]
        done = self.in_file.get(index, 0)
        for k in range(done, len(outcome.results)):
            # a Ctrl-C inside leaves in_file short and the entry removed: finish() resumes
            if outcome.image is not None:
                self.writer.add_from_image(outcome.image, k, outcome.results[k])
            else:
                self.writer.add(outcome.results[k])
            self.in_file[index] = k + 1


def _resolve_recipe(recipe) -> tuple[Recipe, _RecipeSpec]:
    if isinstance(recipe, Recipe):
        from ..recipe.spec import recipe_to_toml
        return recipe, _RecipeSpec(text=recipe_to_toml(recipe), source=recipe.source)
    from ..recipe.spec import load_recipe
    return load_recipe(recipe), _RecipeSpec(path=str(recipe))


def _tick(progress: Progress | None, done: int, total: int, unit: _Unit) -> None:
    if progress is not None and progress(done, total, unit.describe()):
        raise Cancelled("batch cancelled")


def _run_serial(units, spec, recipe, fit_kwargs, sink: _Sink, progress) -> None:
    for done, unit in enumerate(units, 1):
        sink.add(_run_unit(unit, spec, recipe, fit_kwargs))
        _tick(progress, done, len(units), unit)


def _run_parallel(units, spec, fit_kwargs, sink: _Sink, progress, jobs) -> None:
    workers = min(jobs, len(units))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                               initializer=_worker_init)
    futures: dict[Future, _Unit] = {}
    todo = iter(units)
    # Only a few units are in flight at a time. wait() visits every pending future (locks,
    # waiters) and so held the GIL for O(units) per completion: with 1 000 small files the
    # pool's feeder thread starved and two workers were slower than one.
    window = 2 * workers + 2
    pending: set[Future] = set()

    def refill() -> None:
        for unit in itertools.islice(todo, window - len(pending)):
            fut = pool.submit(_run_unit, unit, spec, None, fit_kwargs)
            futures[fut] = unit
            pending.add(fut)

    try:
        refill()
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: futures[f].index):
                sink.add(_collect(fut, futures[fut]))
                _tick(progress, len(sink.outcomes), len(units), futures[fut])
            refill()
    finally:
        # on Ctrl-C / cancel: drop queued units, let running ones finish, keep their results
        pool.shutdown(wait=True, cancel_futures=True)
        for fut, unit in futures.items():
            if unit.index not in sink.outcomes and fut.done() and not fut.cancelled():
                sink.outcomes[unit.index] = _collect(fut, unit)   # written by finish()


def _mp_context():
    """fork when it is safe (one thread: workers start in ~0.1 s with xpsfit already
    imported); otherwise forkserver/spawn, because forking a process with other threads (a GUI,
    a thread pool) can copy a held lock into the child and hang it. Spawned workers need
    1-3 s each to import numpy/scipy/lmfit."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _collect(fut: Future, unit: _Unit) -> _Outcome:
    exc = fut.exception()
    if exc is None:
        return fut.result()
    # the worker process itself died (killed, out of memory)
    reason = f"worker failed: {_unexpected(exc)}"
    rows = ([BatchItem(unit.file, None, reason)] if unit.file
            else [BatchItem(r.path, r.block, reason) for r in unit.refs])
    return _Outcome(unit.index, failures=rows)


def _write_outputs(result: BatchResult, writer, table, plots_dir) -> None:
    if plots_dir is not None:
        result.outputs["plots"] = plots_dir
    if not result.results:
        if writer is not None:
            writer.abort()   # an empty results file would only hide that nothing was done
        return
    if writer is not None:
        result.outputs["out"] = writer.close()
    if table is not None:
        from ..export.tables import write_table
        write_table(table_items(result.results), table)
        result.outputs["table"] = Path(table)


def table_items(results) -> list:
    """Series that provide their own long table keep it; others contribute their fits."""
    rows = []
    for r in results:
        if isinstance(r, SeriesResult) and not hasattr(r, "table_rows"):
            rows.extend(r.results)
        else:
            rows.append(r)
    return rows

