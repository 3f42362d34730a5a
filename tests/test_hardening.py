"""Issue 18: hostile and unlucky input ends in one clean line naming the file, or a correct
result; never a traceback, hang, signal, memory blow-up or half-written output.

One section per family of the issue (family 5, hostile HDF5 *results*, is tested with the
result loader). Cases are generated (hypothesis, derandomised) where a family has a space of
inputs, and use real special files (mkfifo, /dev/zero, symlink loops, a full tmpfs, a
file-size limit) where it is about the operating system.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpsfit
from realdata import EXAMPLES, ROOT, real_file
from test_io_vamas import _block, _vamas
from xpsfit.errors import ExportError, FileFormatError, FitError, LibraryError, RecipeError
from xpsfit.io import limits

RECIPE = EXAMPLES / "s2p_sulfide.toml"
HYPO = settings(max_examples=25, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@contextlib.contextmanager
def time_limit(seconds: int):
    """A hang fails the test instead of blocking CI."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_cli(*args, cwd=None, limit_fsize: int | None = None, timeout=180):
    def preexec():
        if limit_fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))
    return subprocess.run([sys.executable, "-m", "xpsfit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec if limit_fsize is not None else None)


def run_main(capsys, *args):
    """The CLI in this process (no interpreter start-up): exit status and captured output.
    An exception escaping ``main`` would fail the test, so no traceback can hide here."""
    from types import SimpleNamespace

    from xpsfit.cli import main
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def assert_clean_failure(proc, *needles: str) -> str:
    """Exit 2, exactly one line on stderr starting 'xpsfit: error:', no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("xpsfit: error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def one_line(exc) -> str:
    text = str(exc)
    assert "\n" not in text and len(text) < 1200
    return text


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("latin-1") if isinstance(data, str) else data)
    return p


def write_demo_map(path: Path, ny: int, nx: int) -> None:
    from xpsfit.demo import demo_map, write_map_hdf5
    write_map_hdf5(path, *demo_map(ny, nx, seed=0))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".probe")))


# ------------------------------------------------------------------ 1. impossible headers

HEADER_CASES = st.one_of(
    st.tuples(st.just("hv"), st.sampled_from([0.0, -1486.6, -1e-3, 1e6, 25000.0])),
    st.tuples(st.just("ke beyond hv"), st.floats(60.0, 1e5)),
    st.tuples(st.just("step"), st.sampled_from([1e37, 1e20, 1e6])),
    st.tuples(st.just("be start"), st.floats(-1e5, -60.0)),
)


@HYPO
@given(case=HEADER_CASES)
def test_impossible_vamas_headers_are_refused_with_file_line_and_block(tmp_path, case):
    kind, value = case
    good = _block(1)
    if kind == "hv":
        bad = _block(0, hv=value, start=100.0)
    elif kind == "ke beyond hv":
        bad = _block(0, hv=1486.6, start=1486.6 + value)
    elif kind == "step":
        bad = _block(0, x_label="Binding Energy", start=150.0, step=value)
    else:
        bad = _block(0, x_label="Binding Energy", start=value)
    path = write(tmp_path, "bad.vms", _vamas([bad, good]))
    with pytest.raises(FileFormatError) as info:
        xpsfit.read(path)
    exc = info.value
    assert exc.path == str(path) and exc.block == 0 and exc.line is not None
    assert exc.key in ("excitation energy", "energy axis")
    text = one_line(exc)
    assert ("impossible" in text) if kind == "hv" else ("binding energy" in text)


def test_cli_read_of_an_hv_zero_block_is_one_line_exit_2(tmp_path):
    """A real subprocess once: exit status and stderr as a user sees them."""
    path = write(tmp_path, "hv0.vms", _vamas([_block(0, hv=0.0, start=100.0)]))
    assert_clean_failure(run_cli("read", path), str(path), "block 0", "excitation energy")


def test_physical_edges_still_read(tmp_path):
    """Valence-band scans just past the Fermi level and HAXPES energies are legal."""
    vb = _block(0, hv=1486.6, start=1486.6 + 10, step=-0.1)   # BE -10 .. -9
    hax = _block(1, hv=8000.0, start=7000.0)
    a, b = xpsfit.read(write(tmp_path, "edge.vms", _vamas([vb, hax])))
    assert a.binding_energy.values.min() == pytest.approx(-10.0)
    assert b.attrs["excitation_energy"] == 8000.0


@pytest.mark.parametrize("token", ["nan", "inf", "-inf", "1e400"])
def test_non_finite_transmission_is_refused_synthetic(tmp_path, token):
    ke = np.array([100.0, 100.5, 101.0, 101.5])
    b = _block(0, vars=[("Kinetic Energy", "eV"), ("transmission", "d"), ("Intensity", "d")],
               values=np.column_stack([ke, [0.5, 0.6, 0.7, 0.8], [10.0, 20, 30, 40]]),
               hv=1253.6)
    raw = [repr(float(v)) for v in np.asarray(b["values"]).ravel()]
    raw[3 * 2 + 1] = token   # the third point's transmission
    b["raw"] = raw
    path = write(tmp_path, "t.vms", _vamas([b], exp_mode="MAP", scan_mode="IRREGULAR"))
    with pytest.raises(FileFormatError, match="non-finite") as info:
        xpsfit.read(path)
    assert info.value.block == 0 and info.value.path == str(path)


@pytest.mark.parametrize("token", ["nan", "inf", "1e400"])
def test_non_finite_transmission_is_refused_in_a_real_file(tmp_path, token):
    src = real_file("pynxtools-xps/FeO_analyzed.vms").read_text("latin-1").split("\n")
    last = max(i for i, s in enumerate(src) if s.strip() == "2.77354")   # last transmission
    src[last] = token
    path = write(tmp_path, "FeO_bad.vms", "\n".join(src))
    with pytest.raises(FileFormatError, match="non-finite"):
        xpsfit.read(path)


def test_specs_xml_with_impossible_excitation_is_refused(tmp_path):
    src = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml").read_bytes()
    for hv, needle in ((b"0", "impossible"), (b"100", "binding energy")):
        data = re.sub(rb'(<double name="excitation_energy">)[^<]+', rb"\g<1>" + hv, src,
                      count=1)
        assert data != src
        with pytest.raises(FileFormatError, match=needle) as info:
            xpsfit.read(write(tmp_path, "bad.xml", data))
        assert info.value.path


@HYPO
@given(hv=st.sampled_from(["0", "-5", "0.0"]), n=st.integers(3, 40))
def test_column_text_with_impossible_hv_is_refused(tmp_path, hv, n):
    rows = "\n".join(f"{100 + 0.5 * i:.1f},{50 + i}" for i in range(n))
    path = write(tmp_path, "ke.csv", f"E_kin hv={hv}eV,counts\n{rows}\n")
    with pytest.raises(FileFormatError) as info:
        xpsfit.read(path)
    assert info.value.path == str(path)
    assert "excitation energy" in one_line(info.value) or "binding energy" in str(info.value)


# --------------------------------------------------------------------- 2. special files

@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.vms"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_by_name_without_blocking(fifo, capsys):
    with time_limit(10):
        with pytest.raises(FileFormatError, match="FIFO") as info:
            xpsfit.read(fifo)
        assert info.value.path == str(fifo)
        assert_clean_failure(run_main(capsys, "read", fifo), "FIFO")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_as_spectra_recipes_libraries_and_extends(tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"{device} is absent")
    with time_limit(10):
        with pytest.raises(FileFormatError, match="character device"):
            xpsfit.read(device)
        with pytest.raises(RecipeError, match="character device"):
            xpsfit.load_recipe(device)
        text = RECIPE.read_text(encoding="utf-8").replace(
            'library = "sulfide_electrolytes"', f'library = "{device}"')
        with pytest.raises((RecipeError, LibraryError), match="character device"):
            xpsfit.load_recipe(write(tmp_path, "r.toml", text.encode()))
        lib = write(tmp_path, "lib.toml", f'extends = "{device}"\n'.encode())
        with pytest.raises(LibraryError, match="character device"):
            xpsfit.load_library(lib)


def test_a_fifo_inside_a_batch_folder_or_glob_is_one_failure_row(tmp_path, fifo):
    shutil.copy(EXAMPLES / "controls.vms", tmp_path / "controls.vms")
    with time_limit(120):
        for inputs in ([tmp_path], [str(tmp_path / "*.vms")], [fifo]):
            res = xpsfit.batch(inputs, RECIPE)
            rows = [f for f in res.failures if f.file == str(fifo)]
            assert len(rows) == 1 and "FIFO" in rows[0].reason, res.failures
            if inputs != [fifo]:
                assert res.fitted >= 1


def test_a_recursive_glob_over_symlink_loops_ends(tmp_path):
    from xpsfit.fitting.batch import expand_inputs
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    shutil.copy(EXAMPLES / "controls.vms", sub / "x.vms")
    (sub / "up").symlink_to(tmp_path)
    (sub / "self").symlink_to(".")
    with time_limit(20):
        files, missing = expand_inputs([str(tmp_path / "**" / "*.vms")])
        walked, _ = expand_inputs([tmp_path])
    assert [f.resolve() for f in files] == [(sub / "x.vms").resolve()] and not missing
    assert [f.resolve() for f in walked] == [(sub / "x.vms").resolve()]


# ---------------------------------------------------------------------------- 3. huge input

def test_a_csv_over_the_point_limit_is_refused_in_bounded_memory_and_time(tmp_path):
    """4 million rows (48 MB, under the size cap): refused at the first row past the limit,
    with the peak memory of the reading process far below what the whole file would take."""
    n = 4_000_000
    path = tmp_path / "huge.csv"
    with open(path, "w") as fh:
        fh.write("binding_energy,counts\n")
        chunk = "".join(f"{100 + i * 1e-5:.5f},7\n" for i in range(100_000))
        for _ in range(n // 100_000):   # energies repeat per chunk: never read that far
            fh.write(chunk)
    # VmHWM (peak RSS of this process image): ru_maxrss would include the forking parent's
    code = ("import re, xpsfit, sys\n"
            "try:\n    xpsfit.read(sys.argv[1])\n"
            "except xpsfit.FileFormatError as e:\n    print(e.line, e)\n"
            "status = open('/proc/self/status').read()\n"
            "print(int(re.search(r'VmHWM:\\s*(\\d+)', status).group(1)) // 1024)\n")
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc/self/status (Linux) for the peak RSS")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=120)
    first, rss = proc.stdout.strip().splitlines()
    assert first.startswith(f"{limits.MAX_POINTS + 2} ") and \
        f"more than {limits.MAX_POINTS} data rows" in first, proc.stdout + proc.stderr
    assert int(rss) < 400, f"peak RSS {rss} MB"


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "wb") as fh:   # sparse: costs no disk
        fh.write(b"binding_energy,counts\n1,2\n3,4\n")
        fh.truncate(limits.MAX_FILE_BYTES + 1)
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match="MiB limit"):
            xpsfit.read(path)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert peak < 5


def test_a_large_legal_csv_streams_to_the_same_numbers(tmp_path):
    n = 20_000
    be = np.round(np.linspace(100, 300, n), 6)
    counts = np.arange(n) % 97
    path = write(tmp_path, "big_C1s.csv", ("BE,counts\n" + "\n".join(
        f"{e:.6f},{c}" for e, c in zip(be, counts)) + "\n").encode())
    (s,) = xpsfit.read(path)
    np.testing.assert_array_equal(s.binding_energy.values, be)
    np.testing.assert_array_equal(s.values, counts)
    assert s.attrs["region"] == "C 1s"


# ------------------------------------------------------------------------------- 4. recipes

def _nested(kind: str, depth: int) -> str:
    if kind == "array":
        return "x = " + "[" * depth + "1" + "]" * depth + "\n"
    if kind == "table":
        return "x = " + "{a = " * depth + "1" + "}" * depth + "\n"
    return "links = " + "[" * depth + '"a"' + "]" * depth + "\n"


@HYPO
@given(kind=st.sampled_from(["array", "table", "links"]),
       depth=st.one_of(st.integers(limits.MAX_TOML_DEPTH + 1, 200),
                       st.sampled_from([5000, 20000])))
def test_deeply_nested_toml_is_refused_naming_the_limit(tmp_path, kind, depth):
    path = write(tmp_path, "deep.toml", (RECIPE.read_text(encoding="utf-8").split("[")[0]
                                         + _nested(kind, depth)).encode())
    with time_limit(10):
        with pytest.raises(RecipeError, match=f"limit of {limits.MAX_TOML_DEPTH}") as info:
            xpsfit.load_recipe(path)
    assert info.value.path == str(path)


def test_nesting_inside_strings_and_comments_does_not_count():
    text = 'a = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["  # {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n'
    text += "b = '''" + "[" * 100 + "'''\n"
    assert limits.toml_depth(text) == 0
    assert limits.toml_depth("x = [[1, [2]], {a = [3]}]\n[[t]]\n") == 3


@pytest.mark.parametrize("edit, key", [
    (("fwhm = [0.6, 1.5]", "fwhm = [1e-300, 1e-299]"), "fwhm"),
    (("fwhm = [0.6, 1.5]", "fwhm = 1e-300"), "fwhm"),
    (("fwhm = [0.6, 1.5]", "fwhm = [0.6, 1e6]"), "fwhm"),
    (("range = [157.0, 171.0]", "range = [0, 1e6]"), "range"),
    (("endpoints = 5", "endpoints = 1000000000"), "endpoints"),
])
def test_absurd_recipe_numbers_are_refused_naming_the_key(tmp_path, capsys, edit, key):
    text = RECIPE.read_text(encoding="utf-8")
    assert edit[0] in text
    path = write(tmp_path, "r.toml", text.replace(edit[0], edit[1], 1).encode())
    with pytest.raises(RecipeError, match="limit") as info:
        xpsfit.load_recipe(path)
    assert key in (info.value.key or "") and info.value.line is not None
    assert_clean_failure(run_main(capsys, "recipe", "check", path), key)


# --------------------------------------------------------------------------- 6. map input

def _good_map(h5):
    be = np.linspace(157, 171, 60)
    d = h5.create_dataset("intensity", data=np.random.default_rng(0).poisson(
        100, (2, 3, 60)).astype(float))
    d.attrs["dims"] = ["y", "x", "binding_energy"]
    h5.create_dataset("binding_energy", data=be)


def _set_dims(value):
    return lambda h5: (_good_map(h5), h5["intensity"].attrs.__setitem__("dims", value))


MAP_CASES = {
    "dims missing": lambda h5: (_good_map(h5), h5["intensity"].attrs.__delitem__("dims")),
    "dims numbers": _set_dims([1, 2, 3]),
    "dims scalar": _set_dims("y"),
    "dims too few": _set_dims(["y", "binding_energy"]),
    "dims repeated": _set_dims(["y", "y", "binding_energy"]),
    "energy first": _set_dims(["binding_energy", "y", "x"]),
    "group for intensity": lambda h5: (h5.create_group("intensity"),
                                       h5.create_dataset("binding_energy", data=np.arange(5.))),
    "group for energy": lambda h5: (_good_map(h5), h5.__delitem__("binding_energy"),
                                    h5.create_group("binding_energy")),
    "string intensities": lambda h5: (
        h5.create_dataset("intensity", data=np.array([["a"] * 5] * 3, dtype="S"))
        .attrs.__setitem__("dims", ["y", "binding_energy"]),
        h5.create_dataset("binding_energy", data=np.arange(5.))),
    "array region": lambda h5: (_good_map(h5),
                                h5["intensity"].attrs.__setitem__("region", ["S 2p", "C 1s"])),
    "declared 1e6 x 1e6": lambda h5: (
        h5.create_dataset("intensity", shape=(10**6, 10**6, 60), dtype="f4",
                          chunks=(1, 100, 60)).attrs.__setitem__("dims",
                                                                 ["y", "x", "binding_energy"]),
        h5.create_dataset("binding_energy", data=np.linspace(157, 171, 60))),
    "external link": lambda h5: (_good_map(h5), h5.__delitem__("binding_energy"),
                                 h5.__setitem__("binding_energy",
                                                h5py.ExternalLink("other.h5", "/be"))),
    "energy not monotonic": lambda h5: (_good_map(h5), h5.__delitem__("binding_energy"),
                                        h5.create_dataset("binding_energy",
                                                          data=np.r_[np.arange(59.), 3.0])),
    "coordinate wrong length": lambda h5: (_good_map(h5), h5.create_dataset("x", data=[1, 2])),
}


@pytest.mark.parametrize("case", sorted(MAP_CASES))
def test_hostile_map_inputs_are_one_line_errors(tmp_path, case):
    from xpsfit.fitting.maps import fit_map_to_hdf5
    src = tmp_path / "map.h5"
    with h5py.File(src, "w") as h5:
        MAP_CASES[case](h5)
    out = tmp_path / "out.h5"
    with time_limit(30):
        with pytest.raises(FileFormatError) as info:
            fit_map_to_hdf5(src, RECIPE, out, jobs=1)
    assert info.value.path == str(src) and info.value.key
    one_line(info.value)
    assert not out.exists() and leftovers(tmp_path) == []


def test_map_cli_on_a_hostile_map_is_one_line_exit_2(tmp_path, capsys):
    src = tmp_path / "map.h5"
    with h5py.File(src, "w") as h5:
        MAP_CASES["energy first"](h5)
    assert_clean_failure(run_main(capsys, "map", src, "-r", RECIPE, "--out", tmp_path / "o.h5"),
                         str(src), "dims")


# ------------------------------------------------------------------------------- 7. outputs

LONG = "n" * 300 + ".h5"


def _bad_targets(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_folder").mkdir()
    return {"missing folder": tmp_path / "no" / "such" / "o.h5",
            "a directory": tmp_path / "a_folder",
            "parent is a file": tmp_path / "a_file" / "o.h5",
            "name too long": tmp_path / LONG}


def test_demo_map_and_map_refuse_every_bad_out_in_one_line(tmp_path, capsys):
    good = tmp_path / "demo.h5"
    assert run_main(capsys, "demo-map", "--size", "2x3", "--out", good).returncode == 0
    for kind, target in _bad_targets(tmp_path).items():
        for args in (("demo-map", "--size", "2x3"), ("map", good, "-r", RECIPE, "-j", "1")):
            line = assert_clean_failure(run_main(capsys, *args, "--out", target),
                                        "cannot write")
            assert kind.split()[0] in line or "name too long" in line or "folder" in line, line
    assert leftovers(tmp_path) == []


def _chattr(flag: str, path: Path) -> bool:
    chattr = shutil.which("chattr")
    return bool(chattr) and subprocess.run([chattr, flag, str(path)],
                                           capture_output=True).returncode == 0


def test_immutable_target_or_folder_keeps_the_old_file(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    old = folder / "old.h5"
    old.write_bytes(b"previous")
    if not _chattr("+i", old):
        pytest.skip("chattr +i is not available here (needs root and a file system with it)")
    try:
        line = assert_clean_failure(run_main(capsys, "demo-map", "--size", "2x2", "--out", old),
                                    "not permitted")
        assert "unchanged" in line
    finally:
        _chattr("-i", old)
    assert _chattr("+i", folder)
    try:
        assert_clean_failure(run_main(capsys, "demo-map", "--size", "2x2", "--out",
                                      folder / "n.h5"), "not permitted")
    finally:
        _chattr("-i", folder)
    assert old.read_bytes() == b"previous" and sorted(os.listdir(folder)) == ["old.h5"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (root only): writes there fail with ENOSPC part-way."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_disk_that_fills_part_way_is_one_line_keeping_the_old_file(tmp_path, tiny_disk):
    src = tmp_path / "map.h5"
    write_demo_map(src, 10, 10)
    old = tiny_disk / "m.h5"
    old.write_bytes(b"previous result")
    with open(tiny_disk / "filler", "wb") as fh:   # leave ~24 kB free
        fh.write(b"\0" * (36 * 1024))
    kb = EXAMPLES / "kb_series.vms"
    for args in (("demo-map", "--size", "20x20", "--out", old),
                 ("map", src, "-r", RECIPE, "-j", "1", "--out", old),
                 ("batch", kb, "-r", RECIPE, "-j", "1", "--out", old),      # results HDF5
                 ("fit", kb, "-r", RECIPE, "--series", "--save", old)):
        proc = run_cli(*args)
        assert proc.returncode == 2, (args[0], proc.returncode, proc.stderr[-1500:])  # not -11
        assert_clean_failure(proc, "disk full", "unchanged")
        assert old.read_bytes() == b"previous result"
        assert leftovers(tiny_disk) == []


def test_a_file_size_limit_is_one_line_not_a_signal(tmp_path):
    src = tmp_path / "map.h5"
    write_demo_map(src, 10, 10)
    out = tmp_path / "out"
    out.mkdir()
    old = out / "m.h5"
    old.write_bytes(b"previous result")
    for args in (("demo-map", "--size", "20x20"), ("map", src, "-r", RECIPE, "-j", "1")):
        proc = run_cli(*args, "--out", old, limit_fsize=16 * 1024)
        assert proc.returncode == 2, (proc.returncode, proc.stderr[-1500:])
        assert_clean_failure(proc, "file-size limit", "unchanged")
        assert old.read_bytes() == b"previous result" and leftovers(out) == []


def test_a_good_map_result_is_still_complete(tmp_path, capsys):
    from xpsfit.fitting.maps import load_map_result
    src = tmp_path / "map.h5"
    write_demo_map(src, 3, 4)
    proc = run_main(capsys, "map", src, "-r", RECIPE, "--out", tmp_path / "r.h5", "-j", "1")
    assert proc.returncode == 0, proc.stderr
    res = load_map_result(tmp_path / "r.h5")
    assert res["success"].shape == (3, 4) and int(res["success"].sum()) >= 10


def test_long_names_fail_before_the_fit_not_after(tmp_path, capsys):
    spectra = EXAMPLES / "kb_series.vms"
    for args in (("fit", spectra, "-r", RECIPE, "--series", "--save", tmp_path / LONG),
                 ("batch", spectra, "-r", RECIPE, "--out", tmp_path / LONG),
                 ("batch", spectra, "-r", RECIPE, "--out", tmp_path / "o.h5",
                  "--table", tmp_path / ("t" * 300 + ".csv"))):
        proc = run_main(capsys, *args)
        assert_clean_failure(proc, "file name too long")
        assert "fitted" not in proc.stdout
    assert sorted(os.listdir(tmp_path)) == []


def test_every_mapped_errno_gives_its_own_words():
    import errno

    from xpsfit.atomic import _REASONS, _fail
    for code in (errno.ENOSPC, errno.EFBIG, errno.ENAMETOOLONG, errno.EACCES, errno.EPERM,
                 errno.EISDIR):
        exc = _fail(ExportError, "table", "/x/t.csv", OSError(code, os.strerror(code)))
        assert _REASONS[code] in str(exc) and str(exc).startswith("/x/t.csv: cannot write")


# ---------------------------------------------------------------------------------- 8. batch

def test_a_file_that_loses_blocks_between_scan_and_fit_is_a_failure_row(tmp_path):
    from xpsfit.io.vamas_writer import write_vamas
    spectra = [s for s in xpsfit.read(EXAMPLES / "controls.vms") if s.attrs["region"] == "S 2p"]
    a, b = tmp_path / "a.vms", tmp_path / "b.vms"
    for path, sample in ((a, "first"), (b, "second")):
        blocks = []
        for s in spectra[:2]:
            s = s.copy()
            s.attrs["sample"] = sample
            blocks.append(s)
        write_vamas(path, blocks)

    def shrink_b(done, total, message):
        if done == 1:   # after the first sample, b.vms loses its last block
            write_vamas(b, xpsfit.read(b)[:1])
        return False

    res = xpsfit.batch([a, b], RECIPE, series_by="sample", progress=shrink_b)
    rows = [f for f in res.failures if f.file == str(b)]
    assert rows and all("changed since it was scanned" in f.reason for f in rows), res.failures
    assert res.fitted >= 1   # the first sample's series


# ---------------------------------------------------------------------- 9. BOM in SPECS .xy

@pytest.mark.parametrize("name", ["gxps/Al-NE-FeCr-S02p6-Fe2p-3.xy",
                                  "pynxtools-xps/MgFe2O4_small.xy"])
def test_specs_xy_with_a_utf8_bom_reads_like_without(tmp_path, name):
    src = real_file(name)
    plain = xpsfit.read(src)
    bom = xpsfit.read(write(tmp_path, Path(name).name, b"\xef\xbb\xbf" + src.read_bytes()))
    assert len(bom) == len(plain)
    for x, y in zip(bom, plain):
        np.testing.assert_array_equal(x.values, y.values)
        np.testing.assert_array_equal(x.binding_energy.values, y.binding_energy.values)
        assert x.attrs["format"] == y.attrs["format"]


# ------------------------------------------------------------- 10. a corrupt CSV is corrupt

@HYPO
@given(n=st.integers(2, 60), where=st.integers(1, 59),
       token=st.sampled_from(["abc", "1.2.3", "--", "NaN?", "x1", "1,2", "é"]),
       header=st.sampled_from(["binding_energy_eV,counts", "BE,Int", "# E_bin, counts"]))
def test_a_bad_row_in_a_headed_csv_is_named_by_line(tmp_path, n, where, token, header):
    """Any data row but the first: a bad first row cannot be told from a header line, which
    the format allows up to three of."""
    where = min(where, n - 1)
    rows = [f"{150 + 0.1 * i:.1f},{100 + i}" for i in range(n)]
    rows[where] = f"{150 + 0.1 * where:.1f},{token}"
    path = write(tmp_path, "C1s.csv", (header + "\n" + "\n".join(rows) + "\n").encode())
    with pytest.raises(FileFormatError) as info:
        xpsfit.read(path)
    assert not isinstance(info.value, xpsfit.UnsupportedFormatError), str(info.value)
    assert info.value.line == where + 2, str(info.value)


def test_the_issue_csv_is_a_failure_row_in_a_batch_not_skipped(tmp_path, capsys):
    bad = write(tmp_path, "S2p_bad.csv", b"binding_energy_eV,counts\n155.0,10\n156.1,abc\n")
    proc = run_main(capsys, "read", bad)
    assert_clean_failure(proc, f"{bad}:3", "abc")
    res = xpsfit.batch([tmp_path], RECIPE)
    assert [(f.file, "line 3" in f.reason) for f in res.failures] == [(str(bad), True)]
    assert not res.skipped


def test_plain_text_that_is_not_a_column_file_is_still_unknown(tmp_path):
    path = write(tmp_path, "notes.txt", b"meeting notes\nbuy milk\n1 2\nthe end\nmore\n")
    with pytest.raises(xpsfit.UnsupportedFormatError):
        xpsfit.read(path)
