"""Self-describing HDF5 files of fit results: valid NeXus (NXxps) plus an exact round trip.

``save(result_or_results, path)`` writes one NXentry per FitResult or SeriesResult;
``load_result(path)`` / ``load_results(path)`` rebuild objects equal to the saved ones field by
field. The layout is documented in ``docs/hdf5_layout.md``; the short version:

* each entry follows the NXxps application definition (``definition``, instrument, sample,
  NXdata, one NXfit with NXpeak peaks and background), written by :mod:`.nexus`;
* beside it, the group ``xpsfit`` holds the result itself, written and read by the generic
  codec :mod:`.h5codec` from the dataclass fields and type hints, so no field is ever dropped;
  NeXus fields are hard links into it, not copies;
* reading checks every link, dtype, shape and size first (:mod:`.h5guard`): external and soft
  links are never followed, nothing is unpickled, oversized declarations are refused.

Files are written atomically (:func:`xpsfit.atomic.atomic_path`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
import tomllib
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..atomic import atomic_h5
from ..errors import ExportError, XpsfitError
from ..results import FitResult, SeriesResult
from .h5codec import Decoder, Encoder, new_group
from .h5guard import MAX_PARAMETERS, Guard, plain
from .nexus import write_view

__all__ = ["save", "load_result", "load_results", "ResultsWriter", "entries_image", "FORMAT",
           "FORMAT_VERSION"]

FORMAT = "xpsfit-results"
#: 2: NXxps layout with the generic record group (1: hand-listed fields, no longer read)
FORMAT_VERSION = 2
#: name of the group holding xpsfit's own record of the result in each entry
RECORD = "xpsfit"

Result = FitResult | SeriesResult


# --------------------------------------------------------------------------------------- public

def save(result: Result | Sequence[Result], path: str | os.PathLike, *,
         overwrite: bool = True) -> Path:
    """Write one result or a list of results to ``path`` (HDF5), atomically.

    Each result becomes one NXentry (``entry`` for a single result, ``entry0000``… for a list,
    in list order). Raises :class:`ExportError` naming the file when it cannot be written.
    """
    single = isinstance(result, (FitResult, SeriesResult))
    results = [result] if single else list(result)
    for r in results:
        _check_type(r, path)
    with ResultsWriter(path, overwrite=overwrite, single=single) as writer:
        for r in results:
            writer.add(r)
    return Path(path)


def _check_type(result, path) -> None:
    if not isinstance(result, (FitResult, SeriesResult)):
        raise ExportError(f"cannot save an object of type {type(result).__name__} "
                          "(expected FitResult or SeriesResult)", path=path)


class ResultsWriter:
    """Write results one at a time into a new file that replaces ``path`` only on
    :meth:`close` (atomically); :meth:`abort` discards it and leaves any old file alone.

    Used as a context manager it closes on success and aborts on an exception. A batch adds
    each result as soon as it is ready, so writing overlaps with fitting and an interrupted
    batch can still close the file with what is done.
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = True,
                 single: bool = False):
        self.path = Path(path)
        self.single = single
        self.count = 0
        if self.path.exists() and not overwrite:
            raise ExportError("file exists (pass overwrite=True to replace it)", path=self.path)
        if not self.path.parent.is_dir():
            raise ExportError(f"folder {self.path.parent} does not exist", path=self.path)
        self._stack = contextlib.ExitStack()
        self._writer = _Writer()
        with self._errors():
            # atomic_h5: a disk that fills mid-write becomes one error, never a crashed HDF5
            # library at exit; v110 object formats: compact groups (a third of the size of
            # 1.8-style ones) and still readable by every HDF5 >= 1.10 tool
            self._file = self._stack.enter_context(atomic_h5(self.path, what="results",
                                                             libver=("v110", "latest")))
            self._writer.write_root(self._file)

    @contextlib.contextmanager
    def _errors(self):
        try:
            yield
        except ExportError as exc:
            self.abort()
            if exc.path:
                raise
            raise ExportError(exc.message, path=self.path) from exc
        except XpsfitError as exc:
            self.abort()
            raise ExportError(exc.message, path=self.path) from exc
        except (OSError, ValueError, TypeError, KeyError) as exc:
            self.abort()
            raise ExportError(f"could not write results: {_first_line(exc)}",
                              path=self.path) from exc

    def add(self, result: Result) -> None:
        """Write ``result`` as the next entry."""
        self._add(result, lambda name: self._writer.write_entry(self._file, name, self.count,
                                                                 result))

    def add_from_image(self, image: bytes, index: int, result: Result) -> None:
        """Add entry ``index`` of an :func:`entries_image` built (in a worker process) from a
        list in which ``result`` is at ``index``: a C-level copy, ~10x cheaper than writing."""
        def copy(name: str) -> None:
            src = h5py.File(h5py.h5f.open_file_image(image))
            try:
                src.copy(src[f"entry{index:04d}"], self._file, name=name)
            finally:
                src.close()
            g = self._file[name]
            g.attrs["xpsfit_index"] = np.int64(self.count)
            if self.count == 0:
                self._file.attrs["default"] = name
            self._writer.attach_process(g, result)
        self._add(result, copy)

    def _add(self, result: Result, write) -> None:
        _check_type(result, self.path)
        if self.single and self.count:
            raise ExportError("a single-result file holds one result", path=self.path)
        name = "entry" if self.single else f"entry{self.count:04d}"
        try:
            with self._errors():
                write(name)
        except KeyboardInterrupt:
            # interrupted half-way through an entry: remove it so that close() still gives a
            # complete file; the caller may add the same result again
            with contextlib.suppress(Exception):
                del self._file[name]
            raise
        self.count += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        with self._errors():
            self._stack.close()
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the previous file at ``path`` (if any) stays."""
        err = RuntimeError("aborted")
        self._stack.__exit__(type(err), err, None)

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def entries_image(results: Sequence[Result]) -> bytes:
    """``results`` as the bytes of an in-memory HDF5 file (entries ``entry0000``…, without
    process groups) for :meth:`ResultsWriter.add_from_image`. Lets batch workers do the
    expensive part of writing in parallel; the parent only copies."""
    for r in results:
        _check_type(r, "<memory>")
    writer = _Writer(with_process=False)
    f = h5py.File(f"xpsfit-image-{os.getpid()}-{id(results)}", "w", driver="core",
                  backing_store=False, libver=("v110", "latest"))
    try:
        for i, r in enumerate(results):
            writer.write_entry(f, f"entry{i:04d}", i, r)
        f.flush()
        return f.id.get_file_image()
    finally:
        f.close()


def load_results(path: str | os.PathLike) -> list[Result]:
    """Every result in an xpsfit HDF5 file, in the order they were saved.

    Any problem is one :class:`ExportError` line naming the file and the HDF5 path."""
    source = Path(path)
    if not source.is_file():
        raise ExportError("no such file", path=source)
    guard = Guard(source)
    try:
        f = h5py.File(source, "r")
    except OSError as exc:
        raise ExportError(f"not a readable HDF5 file ({_first_line(exc)})", path=source) from exc
    with f:
        try:
            _check_root(f, guard)
            reader = _Reader(guard)
            return [reader.entry(g) for g in _entries(f, guard)]
        except ExportError:
            raise
        except (KeyError, ValueError, TypeError, IndexError, AttributeError, OSError,
                RuntimeError, RecursionError, MemoryError, UnicodeError) as exc:
            raise ExportError(f"broken xpsfit results file ({type(exc).__name__}: "
                              f"{_first_line(exc)})", path=source, key=guard.at) from exc


def _check_root(f: h5py.File, guard: Guard) -> None:
    if guard.attr(f, "xpsfit_format", None) != FORMAT:
        raise guard.fail("not an xpsfit results file (no xpsfit_format attribute)")
    version = guard.attr(f, "xpsfit_format_version", None)
    if isinstance(version, bool) or not isinstance(version, int):
        raise guard.fail(f"xpsfit_format_version {version!r:.40} is not an integer", key="/")
    if version > FORMAT_VERSION:
        raise guard.fail(f"results file format {version} is newer than this xpsfit "
                         f"understands ({FORMAT_VERSION}); update xpsfit", key="/")
    if version == 1:
        raise guard.fail("results file format 1 (xpsfit before the NeXus layout) is no longer "
                         f"read; this xpsfit reads format {FORMAT_VERSION}: refit the spectra, "
                         "or read the file with the xpsfit that wrote it", key="/")
    if version != FORMAT_VERSION:
        raise guard.fail(f"results file format {version} is not a known version", key="/")


def _entries(f: h5py.File, guard: Guard) -> list[h5py.Group]:
    """NXentry groups of the root in saved order; links out of the file are refused."""
    entries = []
    for name in guard.members(f):
        g = guard.child(f, name)
        if isinstance(g, h5py.Group) and guard.attr(g, "NX_class", None) == "NXentry":
            index = guard.attr(g, "xpsfit_index", types=(int,))
            entries.append((index, g))
    indices = [i for i, _ in entries]
    if len(set(indices)) != len(indices):
        raise guard.fail("two entries share one xpsfit_index", key="/")
    return [g for _, g in sorted(entries, key=lambda t: t[0])]


def load_result(path: str | os.PathLike) -> Result:
    """The single result in ``path``; use :func:`load_results` for batch files."""
    results = load_results(path)
    if len(results) != 1:
        raise ExportError(f"file holds {len(results)} results; use load_results()", path=path)
    return results[0]


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, or "" when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return ""
    return h.hexdigest()


# -------------------------------------------------------------------------------------- helpers

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("xpsfit", "lmfit", "numpy", "scipy", "xarray", "h5py"):
        try:
            out[f"{dist}_version"] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[f"{dist}_version"] = ""
    out["hdf5_version"] = h5py.version.hdf5_version
    out["python_version"] = sys.version.split()[0]
    return out


# ------------------------------------------------------------------------------ recipe as TOML

def _recipe_toml(recipe) -> str:
    from ..recipe.spec import recipe_to_toml
    try:
        return recipe_to_toml(recipe)
    except XpsfitError:
        raise
    except Exception as exc:  # the recipe module's own bug must not escape as a traceback
        raise ExportError(f"recipe could not be written as TOML ({type(exc).__name__}: "
                          f"{_first_line(exc)})") from exc


def _library_entries_toml(recipe) -> str:
    """TOML of the library region and the species the recipe uses (enough to re-run the fit
    if the library file is gone). Empty when the region cannot be found."""
    import tomli_w
    try:
        region = recipe.library.region(recipe.region)
    except Exception:  # a missing region must not block saving a result already computed
        return ""
    used = {c.species for c in recipe.components}
    region_dict = _toml_clean(dataclasses.asdict(region))
    region_dict["species"] = {k: v for k, v in region_dict.get("species", {}).items()
                              if k in used or not used}
    lib = recipe.library
    doc = {"name": lib.name, "description": lib.description, "source": lib.source,
           "regions": {region.name: region_dict}}
    return tomli_w.dumps(_toml_clean(doc))


def _toml_clean(value):
    """TOML has no null: drop None; tuples become arrays."""
    if isinstance(value, dict):
        return {str(k): _toml_clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_toml_clean(v) for v in value if v is not None]
    return value


# ----------------------------------------------------------------------------------- writing

class _Writer:
    """Writes entries; remembers recipe texts and file hashes so each is stored/computed once."""

    def __init__(self, with_process: bool = True) -> None:
        self.with_process = with_process
        self.recipe_cache: list[tuple[Any, tuple[str, str]]] = []
        self.encoder = Encoder(lambda recipe: self._recipe_texts(recipe)[0])
        self.hashes: dict[str, str] = {}
        self.processes: dict[tuple[str, str, str], h5py.Group] = {}
        self.shared: dict[tuple, h5py.Group] = {}     # NeXus groups common to entries
        self.date = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.versions = _versions()

    def attach_process(self, g: h5py.Group, result: Result) -> None:
        """Process group and shared recipe texts of an entry copied from an image."""
        self._relink_texts(g)
        self.write_process(g[RECORD], result.recipe)

    def _relink_texts(self, g: h5py.Group) -> None:
        """Recipe texts copied from an image become hard links to the file's one copy."""
        found = []

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.attrs.get("xpsfit_kind") == "recipe":
                found.append(name)
        g.visititems(visit)
        for name in found:
            dset = g[name]
            attrs = {k: plain(v) for k, v in dset.attrs.items()}
            parent, leaf = dset.parent, name.rsplit("/", 1)[-1]
            text = dset.asstr()[()]
            del parent[leaf]
            self.encoder.text(parent, leaf, text, **attrs)

    def write_root(self, f: h5py.File) -> None:
        f.attrs["NX_class"] = "NXroot"
        f.attrs["creator"] = "xpsfit"
        f.attrs["xpsfit_format"] = FORMAT
        f.attrs["xpsfit_format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["file_time"] = self.date
        f.attrs["HDF5_Version"] = h5py.version.hdf5_version
        f.attrs["h5py_version"] = h5py.version.version

    def write_entry(self, f: h5py.File, name: str, index: int, result: Result) -> None:
        if index == 0:
            f.attrs["default"] = name
        g = new_group(f, name, "NXentry", xpsfit_index=np.int64(index))
        record = self.encoder.record(g, RECORD, result)
        for fr, spec in _spectrum_groups(result, record):
            source = str(fr.spectrum.attrs.get("source_file", ""))
            spec.attrs["source_file"] = source
            spec.attrs["source_sha256"] = self._hash(source)
        write_view(g, result, record, self.date, self.versions["xpsfit_version"], self.shared)
        if self.with_process:
            self.write_process(record, result.recipe)

    def _recipe_texts(self, recipe) -> tuple[str, str]:
        # Results from worker processes carry equal but distinct Recipe objects: compare by
        # value (a batch has one or a few recipes) rather than re-serialising for every fit.
        for known, texts in self.recipe_cache:
            if known is recipe or known == recipe:
                return texts
        texts = (_recipe_toml(recipe), _library_entries_toml(recipe))
        self.recipe_cache.append((recipe, texts))
        return texts

    def write_process(self, parent: h5py.Group, recipe) -> None:
        recipe_text, library_text = self._recipe_texts(recipe)
        key = (recipe_text, library_text, str(recipe.source or ""))
        existing = self.processes.get(key)
        if existing is not None:
            # same recipe, software and time: one group hard-linked from every entry, which
            # also spares hundreds of attribute writes in a big batch
            parent["process"] = existing
            return
        # NXcollection, not NXprocess: inside xpsfit's own group it is outside NeXus' checks
        p = new_group(parent, "process", "NXcollection", program="xpsfit",
                      version=self.versions["xpsfit_version"], date=self.date,
                      recipe_source=key[2], **self.versions)
        # the same dataset as the record's recipe field (equal text and attributes: one copy)
        self.encoder.text(p, "recipe", recipe_text, xpsfit_kind="recipe",
                          media_type="application/toml", recipe_source=key[2])
        self.encoder.text(p, "library_entries", library_text, media_type="application/toml")
        self.processes[key] = p

    def _hash(self, source: str) -> str:
        if source not in self.hashes:
            self.hashes[source] = sha256_of(source) if source and Path(source).is_file() else ""
        return self.hashes[source]


def _spectrum_groups(result: Result, record: h5py.Group):
    if isinstance(result, SeriesResult):
        return [(fr, record["results"][f"{i:04d}"]["spectrum"])
                for i, fr in enumerate(result.results)]
    return [(result, record["spectrum"])]


# ----------------------------------------------------------------------------------- reading

_TYPES = {"FitResult": FitResult, "SeriesResult": SeriesResult}


class _Reader:
    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.recipes: dict[tuple[str, str], Any] = {}
        self.decoder = Decoder(guard, self.recipe)

    def recipe(self, text: str, source: str, key: str):
        from ..recipe.spec import recipe_from_dict
        if (text, source) not in self.recipes:  # one Recipe (and library load) per distinct text
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise self.guard.fail(f"recipe is not TOML ({_first_line(exc)})",
                                      key=key) from exc
            try:
                self.recipes[(text, source)] = recipe_from_dict(data, source=source)
            except XpsfitError as exc:
                raise self.guard.fail(f"cannot rebuild the saved results: {exc.one_line()}",
                                      key=key) from exc
        return self.recipes[(text, source)]

    def entry(self, g: h5py.Group) -> Result:
        rec = self.guard.child(g, RECORD, h5py.Group)
        kind = self.guard.text_attr(rec, "xpsfit_type")
        if kind not in _TYPES:
            raise self.guard.fail(f"unknown xpsfit_type {kind!r} (expected FitResult or "
                                  "SeriesResult)", key=rec.name)
        result = self.decoder.record(rec, _TYPES[kind])
        check_result(result, self.guard, rec.name)
        return result


def check_result(result: Result, guard: Guard, key: str) -> None:
    """What the field types cannot say: shapes agree, axes ascend, values are finite."""
    if isinstance(result, SeriesResult):
        n = len(result.results)
        if n == 0:
            raise guard.fail("series holds no spectrum", key=f"{key}/results")
        if len(result.labels) != n:
            raise guard.fail(f"{len(result.labels)} labels for {n} spectra",
                             key=f"{key}/labels")
        _check_covariance(result.covariance, result.covariance_names, guard, key)
        for p in result.presence:
            if not 0 <= p.series_index < n:
                raise guard.fail(f"presence test for spectrum {p.series_index} of {n}",
                                 key=f"{key}/presence")
        for o in result.onsets:
            if o.index is not None and not 0 <= o.index < n:
                raise guard.fail(f"onset at spectrum {o.index} of {n}", key=f"{key}/onsets")
        for i, fr in enumerate(result.results):
            check_result(fr, guard, f"{key}/results/{i:04d}")
        return
    spec = result.spectrum
    where = f"{key}/spectrum"
    if spec.dims != ("binding_energy",) or spec.size < 2:
        raise guard.fail(f"spectrum must be 1-D over binding_energy with 2+ points, found "
                         f"dims {spec.dims} size {spec.size}", key=where)
    be = np.asarray(spec["binding_energy"].values)
    y = np.asarray(spec.values)
    if y.dtype.kind not in "fiu" or be.dtype.kind not in "fiu":
        raise guard.fail("spectrum values and axis must be numbers", key=where)
    if not np.all(np.isfinite(y)):
        raise guard.fail(f"{int(np.sum(~np.isfinite(y)))} of {y.size} intensities are not "
                         "finite", key=where)
    if not np.all(np.isfinite(be)) or not np.all(np.diff(be) > 0):
        raise guard.fail("binding energy axis is not finite and strictly ascending", key=where)
    if not result.components:
        raise guard.fail("a fit with no components", key=f"{key}/components")
    curves = result.curves
    if "binding_energy" not in curves.dims:
        raise guard.fail("curves have no binding_energy dimension", key=f"{key}/curves")
    if "species" in curves.coords:
        species = [str(s) for s in curves["species"].values]
        if species != [c.species for c in result.components]:
            raise guard.fail(f"curves hold species {species}, the components table "
                             f"{[c.species for c in result.components]}",
                             key=f"{key}/components")
    for name, p in result.parameters.items():
        if p.name != name:
            raise guard.fail(f"parameter stored under {name!r} is named {p.name!r}",
                             key=f"{key}/parameters")
    _check_covariance(result.covariance, result.covariance_names, guard, key)


def _check_covariance(cov, names: list[str], guard: Guard, key: str) -> None:
    if cov is None:
        return
    cov = np.asarray(cov)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise guard.fail(f"covariance of shape {cov.shape} is not square",
                         key=f"{key}/covariance")
    if cov.shape[0] > MAX_PARAMETERS:
        raise guard.fail(f"covariance over {cov.shape[0]} parameters, more than the limit "
                         f"{MAX_PARAMETERS}", key=f"{key}/covariance")
    if cov.shape[0] != len(names):
        raise guard.fail(f"covariance is {cov.shape[0]} x {cov.shape[0]} for {len(names)} "
                         "names", key=f"{key}/covariance_names")
    if cov.dtype.kind != "f":
        raise guard.fail(f"covariance dtype {cov.dtype} is not floating point",
                         key=f"{key}/covariance")
