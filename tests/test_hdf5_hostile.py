"""Hostile or broken HDF5 results: each ends in ONE line naming the file and the HDF5 path
(exit 2 from ``xpsfit export``, no output written), never a traceback, a hang or a memory
blow-up. The bad files are built with h5py from a good one."""
import math
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import xpsfit
from xpsfit.errors import ExportError
from xpsfit.export import hdf5

from test_hdf5 import KB, S2P_RECIPE, synthetic_series

FIT = "/entry/xpsfit"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    recipe = xpsfit.load_recipe(S2P_RECIPE)
    spectra = [s for s in xpsfit.read(KB) if s.attrs["region"] == "S 2p"]
    folder = tmp_path_factory.mktemp("good")
    return {"fit": hdf5.save(xpsfit.fit(spectra[1], recipe), folder / "fit.h5"),
            "series": hdf5.save(synthetic_series(recipe, spectra), folder / "series.h5")}


def _replace(f, path, **kw):
    del f[path]
    return f.create_dataset(path, **kw)


def _copy_attrs(src_attrs, dst):
    for k, v in src_attrs.items():
        dst.attrs[k] = v


def version_abc(f):
    f.attrs["xpsfit_format_version"] = "abc"


def version_list(f):
    f.attrs["xpsfit_format_version"] = [1, 2]


def version_nan(f):
    f.attrs["xpsfit_format_version"] = math.nan


def version_1(f):
    f.attrs["xpsfit_format_version"] = 1


def cov_not_square(f):
    _copy = dict(f[f"{FIT}/covariance"].attrs)
    d = _replace(f, f"{FIT}/covariance", data=np.zeros((3, 4)))
    _copy_attrs(_copy, d)


def cov_1d(f):
    _copy = dict(f[f"{FIT}/covariance"].attrs)
    _copy_attrs(_copy, _replace(f, f"{FIT}/covariance", data=np.zeros(9)))


def cov_wrong_names(f):
    names = [n.decode() for n in f[f"{FIT}/covariance_names"][()]]
    _copy = dict(f[f"{FIT}/covariance_names"].attrs)
    d = _replace(f, f"{FIT}/covariance_names", data=np.array(names[:-1], dtype=object),
                 dtype=h5py.string_dtype())
    _copy_attrs(_copy, d)


def cov_huge(f):
    _copy = dict(f[f"{FIT}/covariance"].attrs)
    d = _replace(f, f"{FIT}/covariance", shape=(1_000_000, 1_000_000), dtype="f8",
                 chunks=(100, 100))
    _copy_attrs(_copy, d)


def components_empty(f):
    src = f[f"{FIT}/components"]
    attrs, dtype = dict(src.attrs), src.dtype
    _copy_attrs(attrs, _replace(f, f"{FIT}/components", shape=(0,), dtype=dtype))


def pickle_kind(f):
    f[f"{FIT}/components"].attrs["python_types"] = '{"species": "pickle"}'


def pickle_storage(f):
    f[f"{FIT}/covariance"].attrs["xpsfit_kind"] = "pickle"


def external_link(f):
    del f[f"{FIT}/curves"]
    f[f"{FIT}/curves"] = h5py.ExternalLink("/etc/passwd", "/x")


def soft_link(f):
    del f[f"{FIT}/covariance"]
    f[f"{FIT}/covariance"] = h5py.SoftLink(f"{FIT}/covariance_names")


def root_external_link(f):
    f["entry9"] = h5py.ExternalLink("other.h5", "/entry")


def huge_intensity(f):
    g = f[f"{FIT}/spectrum"]
    _copy = dict(g["intensity"].attrs)
    del g["intensity"]
    _copy_attrs(_copy, g.create_dataset("intensity", shape=(10**12,), dtype="f8",
                                        chunks=(10**6,)))


def huge_recipe(f):
    del f[f"{FIT}/recipe"]
    d = f.create_dataset(f"{FIT}/recipe", shape=(10**10,), dtype=h5py.string_dtype(),
                         chunks=(10**5,))
    d.attrs["xpsfit_kind"] = "recipe"


def wrong_dtype(f):
    g = f[f"{FIT}/spectrum"]
    _copy = dict(g["intensity"].attrs)
    n = g["intensity"].shape[0]
    del g["intensity"]
    _copy_attrs(_copy, g.create_dataset("intensity", data=np.array(["x"] * n, dtype=object),
                                        dtype=h5py.string_dtype()))


def nan_intensity(f):
    d = f[f"{FIT}/spectrum/intensity"]
    d[...] = np.nan


def reversed_axis(f):
    d = f[f"{FIT}/spectrum/binding_energy"]
    d[...] = d[()][::-1]


def index_string(f):
    f["entry"].attrs["xpsfit_index"] = "zero"


def label_array(f):
    f[FIT].attrs["label"] = np.arange(3)


def spectrum_none(f):
    f[FIT].attrs["xpsfit_none"] = '["spectrum"]'


FIT_CASES = {
    "spectrum_none": (spectrum_none, FIT, "field 'spectrum'"),
    "version_abc": (version_abc, "/", "xpsfit_format_version 'abc' is not an integer"),
    "version_list": (version_list, "/", "is not an integer"),
    "version_nan": (version_nan, "/", "is not an integer"),
    "version_1": (version_1, "/", "format 1"),
    "cov_not_square": (cov_not_square, f"{FIT}/covariance", "not square"),
    "cov_1d": (cov_1d, f"{FIT}/covariance", "not square"),
    "cov_wrong_names": (cov_wrong_names, f"{FIT}/covariance_names", "names"),
    "cov_huge": (cov_huge, f"{FIT}/covariance", "more than the limit"),
    "components_empty": (components_empty, f"{FIT}/components", "no components"),
    "pickle_kind": (pickle_kind, f"{FIT}/components", "unknown python_type 'pickle'"),
    "pickle_storage": (pickle_storage, f"{FIT}/covariance", "unknown storage kind 'pickle'"),
    "external_link": (external_link, f"{FIT}/curves", "external link"),
    "soft_link": (soft_link, f"{FIT}/covariance", "soft link"),
    "root_external_link": (root_external_link, "/entry9", "external link"),
    "huge_intensity": (huge_intensity, f"{FIT}/spectrum/intensity", "more than the limit"),
    "huge_recipe": (huge_recipe, f"{FIT}/recipe", "more than the limit"),
    "wrong_dtype": (wrong_dtype, f"{FIT}/spectrum/intensity", "dtype"),
    "nan_intensity": (nan_intensity, f"{FIT}/spectrum", "not finite"),
    "reversed_axis": (reversed_axis, f"{FIT}/spectrum", "strictly ascending"),
    "index_string": (index_string, "/entry", "xpsfit_index"),
    "label_array": (label_array, FIT, "label"),
}


def _bad_copy(src, dst, damage):
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "a") as f:
        damage(f)
    return dst


def _assert_one_line(exc_info, path, key, text):
    msg = str(exc_info.value)
    assert "\n" not in msg and str(path) in msg, msg
    assert f"[{key}]" in msg, msg
    assert text in msg, msg


@pytest.mark.parametrize("case", sorted(FIT_CASES))
def test_hostile_fit_file_is_one_line_naming_file_and_key(tmp_path, good, case):
    damage, key, text = FIT_CASES[case]
    bad = _bad_copy(good["fit"], tmp_path / f"{case}.h5", damage)
    t0 = time.monotonic()
    with pytest.raises(ExportError) as info:
        hdf5.load_results(bad)
    assert time.monotonic() - t0 < 20     # refused before reading a declared 8 TB
    _assert_one_line(info, bad, key, text)


def series_missing_spectrum(f):
    del f["/entry/xpsfit/results/0001"]


def series_extra_label(f):
    src = f["/entry/xpsfit/labels"]
    attrs, labels = dict(src.attrs), [s.decode() for s in src[()]]
    _copy_attrs(attrs, _replace(f, "/entry/xpsfit/labels", data=np.array(
        labels + ["extra"], dtype=object), dtype=h5py.string_dtype()))


SERIES_CASES = {
    "missing_spectrum": (series_missing_spectrum, "/entry/xpsfit/results",
                         "items missing (first: 0001)"),
    "extra_label": (series_extra_label, "/entry/xpsfit/labels", "4 labels for 3 spectra"),
}


@pytest.mark.parametrize("case", sorted(SERIES_CASES))
def test_hostile_series_file(tmp_path, good, case):
    damage, key, text = SERIES_CASES[case]
    bad = _bad_copy(good["series"], tmp_path / f"{case}.h5", damage)
    with pytest.raises(ExportError) as info:
        hdf5.load_results(bad)
    _assert_one_line(info, bad, key, text)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_external_link_to_a_fifo_does_not_hang(tmp_path, good):
    """The link is refused without being opened: opening a FIFO would block forever."""
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    bad = tmp_path / "fifo_link.h5"
    bad.write_bytes(good["fit"].read_bytes())
    with h5py.File(bad, "a") as f:
        del f[f"{FIT}/spectrum"]
        f[f"{FIT}/spectrum"] = h5py.ExternalLink(str(fifo), "/x")
    code = ("import sys\nfrom xpsfit.export import hdf5\n"
            "try:\n    hdf5.load_results(sys.argv[1])\nexcept Exception as e:\n"
            "    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.startswith("ExportError") and f"[{FIT}/spectrum]" in out.stdout
    assert "external link" in out.stdout and out.stderr == ""


def test_external_raw_storage_is_refused(tmp_path, good):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros(141).tobytes())
    bad = tmp_path / "external_storage.h5"
    bad.write_bytes(good["fit"].read_bytes())
    with h5py.File(bad, "a") as f:
        g = f[f"{FIT}/spectrum"]
        n = g["intensity"].shape[0]
        del g["intensity"]
        g.create_dataset("intensity", shape=(n,), dtype="f8", external=[(str(raw), 0, n * 8)])
    with pytest.raises(ExportError) as info:
        hdf5.load_results(bad)
    _assert_one_line(info, bad, f"{FIT}/spectrum/intensity", "external raw file")


@pytest.mark.parametrize("case", ["nan_intensity", "reversed_axis", "cov_not_square"])
def test_cli_export_exits_2_and_writes_nothing(tmp_path, good, case, capsys):
    """In-process ``xpsfit export`` (the CLI's own error layer; an unexpected exception would
    escape it and fail this test)."""
    from xpsfit.cli import main
    damage, key, _text = FIT_CASES[case]
    bad = _bad_copy(good["fit"], tmp_path / f"{case}.h5", damage)
    out = tmp_path / "out"
    out.mkdir()
    code = main(["export", str(bad), "--table", str(out / "t.csv"), "--plot",
                 str(out / "p.png"), "--vamas", str(out / "v.vms")])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and key in lines[0], err
    assert list(out.iterdir()) == []


def test_good_file_still_exports(tmp_path, good, capsys):
    from xpsfit.cli import main
    out = tmp_path / "t.csv"
    assert main(["export", str(good["fit"]), "--table", str(out)]) == 0, capsys.readouterr()
    assert out.read_text().count("\n") == 1 + len(hdf5.load_result(good["fit"]).components)
