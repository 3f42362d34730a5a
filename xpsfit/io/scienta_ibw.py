"""Scienta SES Igor binary waves (``.ibw``), read with the ``igor2`` package: a 1-D wave whose
scale (``sfB`` start, ``sfA`` step) is the energy axis and whose note holds the SES ``[SES]``
``Key=Value`` block (the same keys as the SES text export: Excitation Energy, Energy Scale,
Pass Energy, Number of Sweeps, Step Time, Region Name, ...).

Only 1-D spectra are read; images (angle-resolved 2-D waves) are refused. The energy scale is
binding when ``Energy Scale=Binding``, else kinetic.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, UnsupportedFormatError
from ..spectrum import make_spectrum, normalise_region
from . import integral_counts, region_from_text
from .scienta_txt import ses_keys, ses_number

NAME = "scienta_ibw"
SUFFIXES = (".ibw",)


def sniff(head: bytes, path: Path) -> bool:
    # IBW has no magic; the version (little-endian 2, 3 or 5) and the suffix together decide
    return path.suffix.lower() == ".ibw" and head[:2] in (b"\x02\x00", b"\x03\x00", b"\x05\x00")


def _note(raw) -> dict[str, str]:
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw or "")
    return ses_keys(text.replace("\r", "\n").split("\n"))


def read(path, **options) -> list:
    try:
        from igor2 import binarywave
    except ImportError:
        raise UnsupportedFormatError("Igor binary wave: reading it needs the igor2 package "
                                     "(pip install igor2)", path=path) from None
    path = Path(path)
    quiet = logging.getLogger("igor2")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)   # its warnings dump raw bytes; the error below says it
    try:
        wave = binarywave.load(str(path))["wave"]
        data = np.asarray(wave["wData"], dtype=float)
    except Exception as exc:   # igor2 raises struct/value errors of many kinds on bad files
        raise FileFormatError(f"not a readable Igor binary wave: {type(exc).__name__}: "
                              f"{str(exc)[:120]}", path=path) from None
    finally:
        quiet.setLevel(level)
    if data.ndim != 1:
        raise UnsupportedFormatError(f"Igor binary wave of shape {data.shape}: only 1-D "
                                     "spectra are read (not images)", path=path)
    header = wave["wave_header"]
    start, step = float(header["sfB"][0]), float(header["sfA"][0])
    energy = start + step * np.arange(data.size)
    keys = _note(wave.get("note", b""))
    axis = "BE" if keys.get("Energy Scale", "").lower().startswith("binding") else "KE"
    counts = integral_counts(data)
    whole = bool(np.all(counts == np.round(counts)))
    name = keys.get("Region Name", path.stem)
    sweeps = ses_number(keys, "Number of Sweeps")
    step_ms = ses_number(keys, "Step Time")
    return [make_spectrum(
        energy, counts if whole else data, axis=axis,
        excitation_energy=ses_number(keys, "Excitation Energy"), path=str(path), block=0,
        region=region_from_text(name) or normalise_region(name), block_name=name,
        label=keys.get("Spectrum Name", name), sample=keys.get("Sample", ""),
        scans=sweeps if math.isfinite(sweeps) else 1,
        dwell=step_ms / 1000.0 if math.isfinite(step_ms) else math.nan,
        pass_energy=ses_number(keys, "Pass Energy"),
        acquisition_time=f"{keys.get('Date', '')}T{keys.get('Time', '')}".strip("T"),
        counts_unit="counts" if whole else "arbitrary", format=NAME, technique="XPS",
        instrument=keys.get("Instrument", ""), analyser_mode=keys.get("Lens Mode", ""))]
