"""VAMAS (ISO 14976) reader.

A VAMAS file holds one value per line and no keys: the meaning of a line follows from its
position and from earlier values (experiment mode, scan mode, technique and the parameter
inclusion list). Empty lines are values and are never skipped. Layout reference:
Dench, Hazell & Seah, Surf. Interface Anal. 13 (1988) 63-122, summarised in
``shared/reference/xps_domain.md`` section 8.1.

Every failure is a :class:`~xpsfit.errors.FileFormatError` naming the file, the 1-based line and
the block; a file without any XPS/UPS block gives :class:`~xpsfit.errors.UnsupportedFormatError`.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import xarray as xr

from ..errors import Cancelled, FileFormatError, UnsupportedFormatError
from ..spectrum import DIM, make_spectrum, normalise_region, to_counts
from . import limits
from .casa import apply_calibration

NAME = "vamas"
SUFFIXES = (".vms", ".npl", ".vamas")
#: the kinetic energies are Fermi-referenced (BE = hν − KE; xps_domain.md, VAMAS abscissa):
#: the analyser work function [25] is recorded, never subtracted again (io.energy_scale)
FERMI_REFERENCED_KE = True
IDENTIFIER = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"

#: ISO 14976 marks "no value" with 1e37; anything this large is treated as missing.
_SENTINEL = 1e36

_EXP_MODES = {"MAP", "MAPDP", "MAPSV", "MAPSVDP", "NORM", "SDP", "SDPSV", "SEM", "NOEXP"}
_SCAN_MODES = {"REGULAR", "IRREGULAR", "MAPPING"}
_REGION_COUNT_MODES = {"MAP", "MAPDP", "NORM", "SDP"}
_MAP_MODES = {"MAP", "MAPDP"}
_FIELD_OF_VIEW_MODES = {"MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM"}
_LINESCAN_MODES = {"MAPSV", "MAPSVDP", "SEM"}
_DEPTH_PROFILE_MODES = {"MAPDP", "MAPSVDP", "SDP", "SDPSV"}
_SPUTTER_TECHNIQUES = {"FABMS", "FABMS energy spec", "ISS", "SIMS", "SIMS energy spec", "SNMS",
                       "SNMS energy spec"}
_SPECTROSCOPY_TECHNIQUES = {"AES diff", "AES dir", "EDX", "ELS", "UPS", "XPS", "XRF"}
_READ_TECHNIQUES = {"XPS", "UPS"}

_CPS_WORDS = ("cps", "c/s", "counts/s", "counts / s", "count/s", "counts per second",
              "counts/sec", "cts/s")

Progress = Callable[[int, int, str], "bool | None"]


# --------------------------------------------------------------------------------------------
# line cursor

class _Cursor:
    """Positional reader over the file's lines; every error carries file, line and block."""

    def __init__(self, lines: list[str], path: str, pos: int = 0):
        self.lines = lines
        self.path = path
        self.pos = pos
        self.block: int | None = None

    def error(self, message: str, line: int | None = None,
              cls: type[FileFormatError] = FileFormatError) -> FileFormatError:
        return cls(message, path=self.path, line=line if line is not None else self.pos + 1,
                   block=self.block)

    @property
    def remaining(self) -> int:
        return len(self.lines) - self.pos

    def raw(self, what: str) -> str:
        if self.pos >= len(self.lines):
            raise self.error(f"file ends early: expected {what}", line=len(self.lines))
        line = self.lines[self.pos]
        self.pos += 1
        return line

    def text(self, what: str) -> str:
        # NULs appear in some writers' labels (PHI MultiPak writes "1s\0").
        return self.raw(what).replace("\x00", "").strip()

    def number(self, what: str) -> float:
        s = self.text(what)
        try:
            return float(s)
        except ValueError:
            raise self.error(f"expected a number ({what}), found {s[:40]!r}",
                             line=self.pos) from None

    def loose_number(self, what: str) -> float:
        """Descriptive metadata: unparsable or sentinel values become NaN instead of failing."""
        s = self.text(what)
        try:
            v = float(s)
        except ValueError:
            return math.nan
        return _missing(v)

    def integer(self, what: str) -> int:
        s = self.text(what)
        try:
            return int(s)
        except ValueError:
            pass
        try:
            v = float(s)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and v == int(v)):
            raise self.error(f"expected an integer ({what}), found {s[:40]!r}", line=self.pos)
        return int(v)

    def count(self, what: str, lines_each: int = 1) -> int:
        """A non-negative count of following items, checked against the lines that remain so a
        corrupt count can never make us allocate or loop for nothing."""
        n = self.integer(what)
        if n < 0:
            raise self.error(f"negative count {n} ({what})", line=self.pos)
        if n * lines_each > self.remaining:
            raise self.error(f"{what} is {n} but only {self.remaining} lines follow "
                             "(truncated file or wrong count)", line=self.pos)
        return n

    def texts(self, n: int, what: str) -> list[str]:
        return [self.text(what) for _ in range(n)]

    def skip(self, n: int, what: str) -> None:
        if n > self.remaining:
            raise self.error(f"file ends early: expected {n} lines of {what}",
                             line=len(self.lines))
        self.pos += n

    def values(self, n: int, what: str) -> np.ndarray:
        """``n`` numeric lines converted in one go (a Python loop only to locate an error)."""
        if n > self.remaining:
            raise self.error(f"file ends early: {what} needs {n} lines, {self.remaining} left",
                             line=len(self.lines))
        start = self.pos
        chunk = self.lines[start:start + n]
        try:
            out = np.array(chunk, dtype=float)
        except ValueError:
            for i, s in enumerate(chunk):
                try:
                    float(s)
                except ValueError:
                    raise self.error(f"non-numeric value {s.strip()[:40]!r} in {what}",
                                     line=start + i + 1) from None
            raise self.error(f"unreadable values in {what}", line=start + 1) from None
        self.pos += n
        return out


def _missing(v: float) -> float:
    return math.nan if (not math.isfinite(v) or abs(v) >= _SENTINEL) else float(v)


# --------------------------------------------------------------------------------------------
# header and blocks

@dataclass
class _Header:
    institution: str = ""
    instrument: str = ""
    operator: str = ""
    experiment: str = ""
    comments: list[str] = field(default_factory=list)
    exp_mode: str = "NORM"
    scan_mode: str = "REGULAR"
    exp_variables: list[tuple[str, str]] = field(default_factory=list)
    include: list[bool] = field(default_factory=lambda: [True] * 40)
    future_block_entries: int = 0
    n_blocks: int = 0


@dataclass
class _Variable:
    label: str
    units: str


def _read_header(cur: _Cursor) -> _Header:
    h = _Header()
    # leading blank lines occur in real files (Kratos 0-150W.vms); the identifier comes next
    while cur.pos < len(cur.lines) and not cur.lines[cur.pos].strip("\x00 \t\ufeff"):
        cur.pos += 1
    ident = cur.text("the VAMAS identifier").lstrip("\ufeff")
    if ident != IDENTIFIER:
        raise cur.error(f"not a VAMAS file: first line is {ident[:60]!r}", line=cur.pos,
                        cls=UnsupportedFormatError)
    h.institution = cur.text("institution identifier")
    h.instrument = cur.text("instrument model identifier")
    h.operator = cur.text("operator identifier")
    h.experiment = cur.text("experiment identifier")
    h.comments = [cur.raw("experiment comment")
                  for _ in range(cur.count("number of experiment comment lines"))]
    h.exp_mode = cur.text("experiment mode")
    if h.exp_mode not in _EXP_MODES:
        raise cur.error(f"unknown experiment mode {h.exp_mode[:20]!r} "
                        f"(expected one of {', '.join(sorted(_EXP_MODES))})", line=cur.pos)
    h.scan_mode = cur.text("scan mode")
    if h.scan_mode not in _SCAN_MODES:
        raise cur.error(f"unknown scan mode {h.scan_mode[:20]!r} (expected REGULAR or IRREGULAR)",
                        line=cur.pos)
    if h.scan_mode == "MAPPING":
        raise cur.error("VAMAS scan mode MAPPING (images) is not supported; xpsfit reads "
                        "REGULAR and IRREGULAR spectra", line=cur.pos, cls=UnsupportedFormatError)
    if h.exp_mode in _REGION_COUNT_MODES:
        cur.integer("number of spectral regions")
    if h.exp_mode in _MAP_MODES:
        cur.integer("number of analysis positions")
        cur.integer("number of discrete x coordinates")
        cur.integer("number of discrete y coordinates")
    n_var = cur.count("number of experimental variables", 2)
    h.exp_variables = [(cur.text("experimental variable label"),
                        cur.text("experimental variable units")) for _ in range(n_var)]
    n_incl = cur.integer("number of entries in the parameter inclusion list")
    if abs(n_incl) > 40:
        raise cur.error(f"parameter inclusion list has {n_incl} entries (at most 40)",
                        line=cur.pos)
    listed = n_incl > 0
    h.include = [not listed] * 40
    for _ in range(abs(n_incl)):
        item = cur.integer("parameter inclusion list item")
        if not 1 <= item <= 40:
            raise cur.error(f"parameter inclusion list item {item} is not in 1..40",
                            line=cur.pos)
        h.include[item - 1] = listed
    cur.skip(cur.count("number of manually entered items"), "manually entered items")
    n_future_exp = cur.count("number of future upgrade experiment entries")
    h.future_block_entries = cur.count("number of future upgrade block entries")
    cur.skip(n_future_exp, "future upgrade experiment entries")
    h.n_blocks = cur.count("number of blocks")
    return h


@dataclass
class _Block:
    index: int
    first_line: int
    block_id: str = ""
    sample: str = ""
    date: list[float] = field(default_factory=list)     # year, month, day, h, min, s, GMT+
    comments: list[str] = field(default_factory=list)
    technique: str = ""
    source_label: str = ""
    excitation_energy: float = math.nan
    analyser_mode: str = ""
    pass_energy: float = math.nan
    work_function: float = math.nan
    species: str = ""
    transition: str = ""
    x_label: str = ""
    x_units: str = ""
    x_start: float = math.nan
    x_step: float = math.nan
    variables: list[_Variable] = field(default_factory=list)
    dwell: float = math.nan
    scans: float = math.nan
    extra: dict[str, float] = field(default_factory=dict)
    data: np.ndarray | None = None
    data_line: int = 0


def _read_block(cur: _Cursor, h: _Header, index: int, first: _Block | None) -> _Block:
    """Read one block. ISO 14976: the first block carries every item; later blocks carry only
    the items of the inclusion list and take the others from the first block."""
    b = _Block(index=index, first_line=cur.pos + 1)

    def has(item: int) -> bool:
        return first is None or h.include[item - 1]

    def inherit(*names: str) -> None:
        for name in names:
            setattr(b, name, getattr(first, name))

    b.block_id = cur.text("block identifier")
    b.sample = cur.text("sample identifier")
    b.date = [cur.loose_number(what) if has(item) else
              (first.date[item - 1] if first is not None else math.nan)
              for item, what in enumerate(("year", "month", "day", "hours", "minutes",
                                           "seconds", "hours in advance of GMT"), start=1)]
    if has(8):
        b.comments = [cur.raw("block comment")
                      for _ in range(cur.count("number of block comment lines"))]
    else:
        inherit("comments")
    if has(9):
        b.technique = cur.text("technique")
    else:
        inherit("technique")
    mode, tech = h.exp_mode, b.technique
    if has(10) and mode in _MAP_MODES:
        cur.skip(2, "x, y coordinates")
    if has(11):
        cur.skip(len(h.exp_variables), "experimental variable values")
    if has(12):
        b.source_label = cur.text("analysis source label")
    else:
        inherit("source_label")
    if has(13) and (mode in _DEPTH_PROFILE_MODES or tech in _SPUTTER_TECHNIQUES):
        cur.skip(3, "sputtering ion Z, atoms and charge")
    if has(14):
        b.excitation_energy = _missing(cur.number("analysis source characteristic energy"))
    else:
        inherit("excitation_energy")
    if has(15):
        cur.loose_number("analysis source strength")
    if has(16):
        cur.skip(2, "analysis source beam width x, y")
    if has(17) and mode in _FIELD_OF_VIEW_MODES:
        cur.skip(2, "field of view x, y")
    if has(18) and mode in _LINESCAN_MODES:
        raise cur.error(f"VAMAS experiment mode {mode} (linescans/images) is not supported; "
                        "xpsfit reads NORM and MAP spectra", cls=UnsupportedFormatError)
    if has(19):
        cur.loose_number("analysis source polar angle of incidence")
    if has(20):
        cur.loose_number("analysis source azimuth")
    if has(21):
        b.analyser_mode = cur.text("analyser mode")
    else:
        inherit("analyser_mode")
    if has(22):
        b.pass_energy = cur.loose_number("analyser pass energy")
    else:
        inherit("pass_energy")
    if has(23) and tech == "AES diff":
        cur.loose_number("differential width")
    if has(24):
        cur.loose_number("analyser lens magnification")
    if has(25):
        b.work_function = cur.loose_number("analyser work function")
    else:
        inherit("work_function")
    if has(26):
        cur.loose_number("target bias")
    if has(27):
        cur.skip(2, "analysis width x, y")
    if has(28):
        cur.skip(2, "analyser take-off polar angle and azimuth")
    if has(29):
        b.species = cur.text("species label")
    else:
        inherit("species")
    if has(30):
        b.transition = cur.text("transition label")
        cur.text("charge of detected particle")
    else:
        inherit("transition")
    if h.scan_mode == "REGULAR":
        if has(31):
            b.x_label = cur.text("abscissa label")
            b.x_units = cur.text("abscissa units")
            b.x_start = cur.number("abscissa start")
            b.x_step = cur.number("abscissa increment")
        else:
            inherit("x_label", "x_units", "x_start", "x_step")
    if has(32):
        n_v = cur.count("number of corresponding variables", 2)
        if n_v == 0:
            raise cur.error("block declares no corresponding variables", line=cur.pos)
        b.variables = [_Variable(cur.text("corresponding variable label"),
                                 cur.text("corresponding variable units")) for _ in range(n_v)]
    else:
        inherit("variables")
    if has(33):
        cur.text("signal mode")
    if has(34):
        b.dwell = cur.loose_number("signal collection time")
    else:
        inherit("dwell")
    if has(35):
        b.scans = cur.loose_number("number of scans")
    else:
        inherit("scans")
    if has(36):
        cur.loose_number("signal time correction")
    if has(37) and mode in _DEPTH_PROFILE_MODES and tech in _SPECTROSCOPY_TECHNIQUES:
        cur.skip(7, "sputtering source parameters")
    if has(38):
        cur.skip(2, "sample normal tilt polar angle and azimuth")
    if has(39):
        cur.loose_number("sample rotation angle")
    if has(40):
        for _ in range(cur.count("number of additional numeric parameters", 3)):
            label = cur.text("additional parameter label")
            cur.text("additional parameter units")
            b.extra[label] = cur.loose_number("additional parameter value")
    cur.skip(h.future_block_entries, "future upgrade block entries")

    n_v = len(b.variables)
    n_tot = cur.count("number of ordinate values")
    if n_tot % n_v:
        raise cur.error(f"number of ordinate values {n_tot} is not a multiple of the "
                        f"{n_v} corresponding variables", line=cur.pos)
    cur.skip(2 * n_v, "ordinate minimum and maximum values")
    b.data_line = cur.pos + 1
    b.data = cur.values(n_tot, "the ordinate values").reshape(-1, n_v)
    return b


# --------------------------------------------------------------------------------------------
# block -> Spectrum

def _is_transmission(v: _Variable) -> bool:
    return "transmission" in v.label.lower()


def _is_counts_per_second(v: _Variable) -> bool:
    text = f" {v.label.lower()} | {v.units.lower()} "
    return any(w in text for w in _CPS_WORDS) or v.units.strip().lower() in {"cps", "c/s"}


def _axis_kind(label: str) -> str:
    """"Binding Energy" labels are honoured; anything else is the VAMAS default, kinetic."""
    return "BE" if "binding" in label.lower() else "KE"


def _iso_time(date: list[float]) -> str:
    year, month, day, hour, minute, second, gmt = (date + [math.nan] * 7)[:7]
    try:
        d = _dt.date(int(year), int(month), int(day))
    except (ValueError, OverflowError):
        return ""
    if not all(math.isfinite(v) and v >= 0 for v in (hour, minute, second)):
        return d.isoformat()
    try:
        t = _dt.datetime(d.year, d.month, d.day, int(hour), int(minute), int(second))
    except (ValueError, OverflowError):
        return d.isoformat()
    if math.isfinite(gmt) and abs(gmt) <= 14:
        t = t.replace(tzinfo=_dt.timezone(_dt.timedelta(hours=gmt)))
    return t.isoformat()


def _to_spectrum(b: _Block, h: _Header, path: str) -> xr.DataArray:
    def fail(message: str) -> FileFormatError:
        return FileFormatError(message, path=path, line=b.first_line, block=b.index)

    data = b.data
    assert data is not None
    variables = list(b.variables)
    if h.scan_mode == "IRREGULAR":
        # the abscissa is the first corresponding variable
        if len(variables) < 2:
            raise fail("IRREGULAR block needs the abscissa and at least one signal variable")
        x_var, variables, data_cols = variables[0], variables[1:], data[:, 1:]
        energy, axis_label = data[:, 0], x_var.label
    else:
        data_cols = data
        # rounding at 1e-9 eV only removes float noise of start + i*step (files keep <= 6
        # decimals); it keeps 0.025 eV steps exact, unlike rounding to 2 decimals
        energy = np.round(b.x_start + b.x_step * np.arange(data.shape[0]), 9)
        axis_label = b.x_label
    signal_at = next((i for i, v in enumerate(variables) if not _is_transmission(v)), None)
    if signal_at is None:
        raise fail("block has no intensity variable (only transmission)")
    signal_var = variables[signal_at]
    signal = data_cols[:, signal_at]
    trans_at = next((i for i, v in enumerate(variables) if _is_transmission(v)), None)
    transmission = data_cols[:, trans_at] if trans_at is not None else None

    # NaN/Inf text is corruption, not the standard's "missing" marker: refuse it rather than
    # silently fit a spectrum with holes
    bad = ~(np.isfinite(signal) & np.isfinite(energy))
    if transmission is not None:
        bad |= ~np.isfinite(transmission)
    if bad.any():
        raise fail(f"{int(bad.sum())} non-finite value(s) (NaN/Inf) in the data, first at "
                   f"point {int(np.argmax(bad)) + 1}")
    # 1e37 marks a missing ordinate: such points are dropped, not fitted as huge counts
    keep = (np.abs(signal) < _SENTINEL)
    if not keep.all():
        energy, signal = energy[keep], signal[keep]
        transmission = transmission[keep] if transmission is not None else None

    axis = _axis_kind(axis_label)
    be = b.excitation_energy - energy if axis == "KE" else energy
    limits.check_excitation(b.excitation_energy, path=path, block=b.index, line=b.first_line)
    if be.size and np.isfinite(be).all():   # no hν for a KE axis: make_spectrum says so
        limits.check_binding_range(float(be.min()), float(be.max()), b.excitation_energy,
                                   path=path, block=b.index, line=b.first_line)
    order = np.argsort(be, kind="stable")
    counts_unit = "counts/s" if _is_counts_per_second(signal_var) else "counts"
    scans = int(b.scans) if math.isfinite(b.scans) and b.scans >= 1 else 1
    label = b.sample or b.block_id
    spectrum = make_spectrum(
        energy[order], signal[order], axis=axis, excitation_energy=b.excitation_energy,
        path=path, block=b.index,
        region=normalise_region(b.species, b.transition), species=b.species,
        transition=b.transition, block_name=b.block_id, sample=b.sample, label=label,
        work_function=b.work_function, scans=scans, dwell=b.dwell, pass_energy=b.pass_energy,
        acquisition_time=_iso_time(b.date), counts_unit=counts_unit, format=NAME,
        technique=b.technique, comments="\n".join(b.comments),
        source_label=b.source_label, analyser_mode=b.analyser_mode, instrument=h.instrument,
        experiment_mode=h.exp_mode, scan_mode=h.scan_mode)
    if transmission is not None:
        spectrum = spectrum.assign_coords(transmission=(DIM, transmission[order]))
    if counts_unit == "counts/s" and math.isfinite(b.scans) and b.scans >= 1:
        # only a file-stated scan count may rebuild counts; the default 1 would be a guess
        spectrum = to_counts(spectrum)
    return spectrum


# --------------------------------------------------------------------------------------------
# public interface

def sniff(head: bytes, path: Path | str | None = None) -> bool:
    """True when the first non-blank line is the VAMAS identifier (whatever the suffix)."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    text = head.decode("latin-1").lstrip("\x00 \t\r\n")
    return text.startswith(IDENTIFIER)


def decode(raw: bytes) -> list[str]:
    """Bytes -> lines: UTF-8 when valid, else Latin-1 (never fails); CRLF, CR and LF endings.

    ``str.splitlines`` is not used on purpose: it also splits on \\x85, \\x0b, \\x0c, \\x1c..
    which are ordinary characters in Latin-1 labels and would shift every following line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _check_end(cur: _Cursor) -> None:
    """After the last block comes "end of experiment". Anything else means a count was wrong
    (the last block claimed fewer values than it holds); a missing end line is tolerated."""
    cur.block = None
    while cur.remaining and not cur.lines[cur.pos].strip("\x00 \t"):
        cur.pos += 1
    if cur.remaining:
        line = cur.text("end of experiment")
        if line.lower() != "end of experiment":
            raise cur.error(f"expected 'end of experiment' after the last block, found "
                            f"{line[:40]!r} (wrong value count?)", line=cur.pos)


def read(path: str | Path, *, progress: Progress | None = None,
         excitation_energy: float | None = None, **options: Any) -> list[xr.DataArray]:
    """Read every XPS/UPS block of a VAMAS file as a Spectrum (see ``xpsfit.spectrum``).

    Other techniques (AES, SIMS, ...) are skipped; a file with none of XPS/UPS raises
    :class:`UnsupportedFormatError`. ``progress(done, total, message)`` is called per block and
    may return True to cancel. ``excitation_energy`` is used only for blocks that state none
    (1e37); a block's own hν always wins. Other ``options`` are ignored (the registry passes
    the same options to every reader)."""
    p = Path(path)
    spath = str(path)
    try:
        raw = limits.read_bytes(p)
    except OSError as exc:
        raise FileFormatError(f"cannot read file: {exc.strerror or exc}", path=spath) from None
    cur = _Cursor(decode(raw), spath)
    h = _read_header(cur)
    if h.n_blocks == 0:
        raise FileFormatError("VAMAS file holds no blocks", path=spath)
    spectra: list[xr.DataArray] = []
    skipped: list[str] = []
    first: _Block | None = None
    for i in range(h.n_blocks):
        cur.block = i
        b = _read_block(cur, h, i, first)
        first = first or b
        if not math.isfinite(b.excitation_energy) and excitation_energy is not None:
            b.excitation_energy = float(excitation_energy)
        if b.technique.upper() in _READ_TECHNIQUES:
            # CasaXPS positions are in its calibrated frame: put the axis there too
            spectra.append(apply_calibration(_to_spectrum(b, h, spath)))
        else:
            skipped.append(b.technique or "no technique")
        if progress is not None and progress(i + 1, h.n_blocks, f"block {i + 1}"):
            raise Cancelled("reading cancelled", path=spath, block=i)
    _check_end(cur)
    if not spectra:
        kinds = ", ".join(sorted(set(skipped)))
        raise UnsupportedFormatError(f"VAMAS file holds no XPS/UPS block, only {kinds} "
                                     "(xpsfit reads XPS and UPS spectra)", path=spath)
    return spectra
