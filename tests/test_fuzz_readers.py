"""Fuzzed spectrum files: every read ends in a one-line project error or in valid Spectra.

The mutators live in tools/fuzz.py (shared with the long run, ``python tools/fuzz.py --cases
10000``); here hypothesis picks seed file, mutator and random seed, derandomised so CI is
deterministic. Each case runs under a wall-clock limit (a hang fails the test instead of
blocking CI) and the "count claims 10⁹ points" cases are checked for bounded allocation.
"""
from __future__ import annotations

import contextlib
import importlib.util
import random
import re
import signal
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpsfit
from realdata import EXAMPLES, ROOT, real_file
from xpsfit.errors import FileFormatError, UnsupportedFormatError, XpsfitError
from xpsfit.io import limits
from xpsfit.spectrum import DIM

_spec = importlib.util.spec_from_file_location("xpsfit_tools_fuzz", ROOT / "tools" / "fuzz.py")
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

SEEDS = fuzz.seed_files()
SEED_BYTES = {p: p.read_bytes() for p in SEEDS}
SECONDS_PER_CASE = 5.0

FUZZ_SETTINGS = settings(derandomize=True, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    """Fail a case that runs longer than ``seconds`` (SIGALRM: main thread, POSIX)."""
    def on_alarm(signum, frame):
        raise Hang(f"read took longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def assert_error_or_valid(path: Path) -> str:
    """The contract of ``xpsfit.read`` on any input; returns 'ok' or 'error'."""
    with time_limit(SECONDS_PER_CASE), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # overflow noise is a reader bug too
        try:
            spectra = xpsfit.read(path)
        except XpsfitError as exc:
            text = str(exc)
            assert "\n" not in text and "\r" not in text, text
            assert str(path) in text, f"message does not name the file: {text}"
            assert len(text) < 600, f"message is {len(text)} characters long"
            return "error"
    assert isinstance(spectra, list) and spectra
    for s in spectra:
        assert s.dims == (DIM,)
        be = s[DIM].values
        assert be.size >= 2
        assert np.all(np.isfinite(be)) and np.all(np.isfinite(s.values))
        assert np.all(np.diff(be) > 0), "binding energy must be strictly ascending"
        # issue 18: whatever is accepted is physical (hν, BE window, finite coordinates)
        assert limits.MIN_BINDING_EV <= be[0] and be[-1] <= limits.MAX_BINDING_EV
        hv = s.attrs["excitation_energy"]
        assert np.isnan(hv) or 0 < hv <= limits.MAX_EXCITATION_EV
        for name, coord in s.coords.items():
            assert coord.dtype.kind not in "fc" or np.all(np.isfinite(coord.values)), name
    return "ok"


def write_case(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------------------------
# random mutations of every seed file (≈ 250 cases)

@settings(FUZZ_SETTINGS, max_examples=200)
@given(seed=st.sampled_from(SEEDS), names=st.lists(st.sampled_from(sorted(fuzz.MUTATORS)),
                                                   min_size=1, max_size=3),
       rng_seed=st.integers(0, 2 ** 32 - 1))
def test_mutated_files_error_cleanly_or_read_validly(tmp_path_factory, seed, names, rng_seed):
    data, _ = fuzz.mutate(SEED_BYTES[seed], random.Random(rng_seed), names)
    path = write_case(tmp_path_factory.mktemp("fuzz"), f"case{seed.suffix}", data)
    assert_error_or_valid(path)


@pytest.mark.parametrize("name", sorted(fuzz.MUTATORS))
def test_each_mutator_on_each_format(tmp_path, name):
    """Every mutator once on one file of every suffix (a deterministic floor under hypothesis)."""
    by_suffix = {}
    for p in SEEDS:
        by_suffix.setdefault(p.suffix, p)
    rng = random.Random(name)
    outcomes = [assert_error_or_valid(write_case(tmp_path, f"{i}{p.suffix}",
                                                 fuzz.MUTATORS[name](SEED_BYTES[p], rng)))
                for i, p in enumerate(by_suffix.values())]
    if name in ("empty", "garbage", "utf16"):
        assert set(outcomes) == {"error"}


def test_unmutated_seeds_read():
    """The seeds themselves are valid input (else the fuzzing would test nothing)."""
    outcomes = [assert_error_or_valid(p) for p in SEEDS if "aes_staib" not in p.name]
    assert outcomes and set(outcomes) == {"ok"}


# --------------------------------------------------------------------------------------------
# hostile files made on purpose

@pytest.mark.parametrize("suffix", [".vms", ".npl", ".xml", ".xy", ".spe", ".xlsx", ".csv",
                                    ".txt"])
@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf", b"\x00" * 100,
                                     bytes(range(256)) * 8], ids=["empty", "blank", "bom",
                                                                  "nul", "binary"])
def test_empty_and_binary_files_with_a_right_suffix(tmp_path, suffix, content):
    path = write_case(tmp_path, f"x{suffix}", content)
    with pytest.raises(FileFormatError) as info:
        xpsfit.read(path)
    assert str(path) in str(info.value)


def test_utf16_vamas_is_refused_with_the_file_named(tmp_path):
    src = (EXAMPLES / "controls.vms").read_text("latin-1")
    path = write_case(tmp_path, "u16.vms", src.encode("utf-16"))
    with pytest.raises(UnsupportedFormatError, match="unknown file format"):
        xpsfit.read(path)


def test_latin1_labels_in_vamas_still_read(tmp_path):
    """A Latin-1 byte in a comment (µ, °) is not UTF-8: it must not shift or break the file."""
    src = (EXAMPLES / "controls.vms").read_bytes()
    ref = xpsfit.read(EXAMPLES / "controls.vms")
    lines = src.split(b"\n")
    lines[1] = lines[1].rstrip(b"\r") + b" \xb5m \xb0C" + (b"\r" if lines[1].endswith(b"\r")
                                                           else b"")
    got = xpsfit.read(write_case(tmp_path, "latin1.vms", b"\n".join(lines)))
    assert len(got) == len(ref)
    np.testing.assert_array_equal(got[0].values, ref[0].values)


def _peak_alloc_mb(path: Path) -> tuple[str, float]:
    tracemalloc.start()
    try:
        try:
            xpsfit.read(path)
            outcome = "ok"
        except XpsfitError as exc:
            outcome = str(exc)
        return outcome, tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def test_vamas_count_claiming_a_billion_points_allocates_nothing(tmp_path):
    src = (EXAMPLES / "controls.vms").read_text("latin-1").split("\n")
    # the first block's "number of ordinate values" is the integer line right before the
    # ordinate min/max pair; find it as the first line equal to the block's point count
    ref = xpsfit.read(EXAMPLES / "controls.vms")[0]
    i = next(i for i, s in enumerate(src) if s.strip() == str(ref.size))
    src[i] = "1000000000"
    path = write_case(tmp_path, "billion.vms", "\n".join(src).encode("latin-1"))
    outcome, mb = _peak_alloc_mb(path)
    assert "1000000000" in outcome and "lines follow" in outcome
    assert mb < 50


def test_specs_xml_count_claiming_a_billion_points_allocates_nothing(tmp_path):
    src = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml").read_bytes()
    data = re.sub(rb'(<ulong name="values_per_curve">)\d+', rb"\g<1>1000000000", src, count=1)
    assert data != src
    outcome, mb = _peak_alloc_mb(write_case(tmp_path, "billion.xml", data))
    assert "cannot fit" in outcome
    assert mb < 50


def test_phi_spe_count_claiming_a_billion_points_allocates_nothing(tmp_path):
    src = real_file("pynxtools-xps/SnO2_10nm.spe").read_bytes()
    data = re.sub(rb"(SpectralRegDef: \d+ \d+ \S+ \d+ )\d+", rb"\g<1>1000000000", src, count=1)
    assert data != src
    outcome, mb = _peak_alloc_mb(write_case(tmp_path, "billion.spe", data))
    assert outcome != "ok"
    assert mb < 50


def test_specs_xml_bad_number_is_a_specific_error(tmp_path):
    """Regression: a non-number in a counts sequence used to surface as the registry's generic
    'cannot read as specs_xml: ValueError: could not convert string to float' message."""
    src = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml").read_bytes()
    data = re.sub(rb'(<sequence name="counts"[^>]*>\s*<ulong[^>]*>\s*)(\d+)',
                  rb"\g<1>12,5x", src, count=1)
    assert data != src
    with pytest.raises(FileFormatError, match=r"non-number '12,5x'") as info:
        xpsfit.read(write_case(tmp_path, "bad.xml", data))
    assert "cannot read as" not in str(info.value)


def test_specs_xml_nan_count_field_is_a_specific_error(tmp_path):
    src = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml").read_bytes()
    data = re.sub(rb'(<ulong name="mcd_head">)[^<]*', rb"\g<1>nan", src, count=1)
    assert data != src
    with pytest.raises(FileFormatError, match="mcd_head must be an integer"):
        xpsfit.read(write_case(tmp_path, "nan.xml", data))


def test_long_garbage_token_gives_a_short_message(tmp_path):
    """Regression: the registry's safety net used to copy a 1 MB token into the message."""
    src = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml").read_bytes()
    data = re.sub(rb'(<double name="scan_delta">)[^<]*', rb"\g<1>" + b"a" * 1_000_000, src,
                  count=1)
    with pytest.raises(FileFormatError) as info:
        xpsfit.read(write_case(tmp_path, "long.xml", data))
    assert len(str(info.value)) < 600


def test_corrupt_sheet_inside_intact_xlsx_is_a_workbook_error(tmp_path):
    """Regression: broken XML inside a valid zip escaped as openpyxl's ParseError."""
    import zipfile

    src = real_file("khervefitting/Hard_carbon_Thermo.xlsx")
    out = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data[: len(data) // 2] + b"<<&&" + data[len(data) // 2:]
            zout.writestr(item, data)
    with pytest.raises(FileFormatError, match="broken workbook content") as info:
        xpsfit.read(out)
    assert str(out) in str(info.value)


def test_overflowing_energy_step_gives_no_runtime_warning(tmp_path):
    """Regression: 1e308 × point index overflowed with numpy RuntimeWarnings before the clean
    'non-finite' error."""
    src = (EXAMPLES / "controls.vms").read_text("latin-1").split("\n")
    ref = xpsfit.read(EXAMPLES / "controls.vms")[0]
    step = float(ref[DIM].values[1] - ref[DIM].values[0])
    # the abscissa increment line of block 0 is the first line that parses to ±step
    i = next(i for i, s in enumerate(src) if _float(s) is not None
             and abs(abs(_float(s)) - step) < 1e-9)
    src[i] = "1e308"
    path = write_case(tmp_path, "overflow.vms", "\n".join(src).encode("latin-1"))
    assert assert_error_or_valid(path) == "error"


def _float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def test_cli_read_of_a_corrupt_file_is_one_line_exit_2(tmp_path):
    data, _ = fuzz.mutate((EXAMPLES / "controls.vms").read_bytes(), random.Random(3),
                          ["wrong_counts", "truncate"])
    path = write_case(tmp_path, "corrupt.vms", data[:4000])
    proc = subprocess.run([sys.executable, "-m", "xpsfit", "read", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [s for s in proc.stderr.splitlines() if s.strip()]
    assert len(lines) == 1 and str(path) in lines[0]
