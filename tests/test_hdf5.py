"""HDF5 results: value-by-value round trips, NeXus-style layout, atomic writes, bad files."""
import dataclasses
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import xpsfit
from xpsfit.errors import ExportError
from xpsfit.export import hdf5
from xpsfit.results import (ComponentResult, FitResult, FitStatistics, Notice, Onset,
                            ParameterRecord, PresenceTest, SeriesResult)

from realdata import EXAMPLES

S2P_RECIPE = EXAMPLES / "s2p_sulfide.toml"
KB = EXAMPLES / "kb_series.vms"


# ------------------------------------------------------------------------ field-by-field equality

def _same_value(a, b, where: str) -> None:
    """Strict equality with NaN == NaN and types kept (True must not come back as 1)."""
    assert type(a) is type(b), f"{where}: type {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, str) and getattr(a, "__dict__", None):   # Notice: text + attributes
        assert vars(a) == vars(b), f"{where}: {vars(a)} != {vars(b)}"
    if isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or a == b, f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _same_attrs(a: dict, b: dict, where: str) -> None:
    assert list(a) == list(b) or set(a) == set(b), f"{where}: attr keys {set(a) ^ set(b)}"
    for k in a:
        _same_value(a[k], b[k], f"{where}.attrs[{k!r}]")


def assert_same(a, b, where: str = "result") -> None:
    if isinstance(a, xr.DataArray):
        assert isinstance(b, xr.DataArray), where
        xr.testing.assert_identical(a.drop_attrs(deep=True), b.drop_attrs(deep=True))
        _same_attrs(a.attrs, b.attrs, where)
        for c in a.coords:
            assert a[c].dtype == b[c].dtype, f"{where}.{c} dtype"
            _same_attrs(a[c].attrs, b[c].attrs, f"{where}.{c}")
    elif isinstance(a, xr.Dataset):
        assert isinstance(b, xr.Dataset), where
        xr.testing.assert_identical(a.drop_attrs(deep=True), b.drop_attrs(deep=True))
        _same_attrs(a.attrs, b.attrs, where)
        for v in a.variables:
            assert a[v].dtype == b[v].dtype, f"{where}.{v} dtype {a[v].dtype} != {b[v].dtype}"
            _same_attrs(a[v].attrs, b[v].attrs, f"{where}.{v}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.shape == b.shape and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        if type(a).__name__ == "Recipe":   # compared as the recipe module defines equality
            assert a == b, f"{where}: recipes differ"
            return
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys {list(a)} {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: length"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        _same_value(a, b, where)


# ------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def recipe():
    return xpsfit.load_recipe(S2P_RECIPE)


@pytest.fixture(scope="module")
def spectra():
    return [s for s in xpsfit.read(KB) if s.attrs["region"] == "S 2p"]


@pytest.fixture(scope="module")
def real_fit(recipe, spectra):
    return xpsfit.fit(spectra[1], recipe)


def synthetic_fit(recipe, spectrum, seed: int = 0) -> FitResult:
    """A FitResult filled by hand: every field non-trivial, with NaN, inf and None cases."""
    rng = np.random.default_rng(seed)
    be = spectrum["binding_energy"].values
    n = be.size
    species = ["PS4", "S0"]
    curves = xr.Dataset(
        {"data": ("binding_energy", spectrum.values),
         "envelope": ("binding_energy", spectrum.values * 0.99),
         "background": ("binding_energy", np.linspace(100.0, 300.0, n)),
         "residual": ("binding_energy", rng.normal(size=n)),
         "sigma": ("binding_energy", np.sqrt(spectrum.values)),
         "components": (("species", "binding_energy"), rng.random((2, n))),
         "label": ("species", ["PS₄³⁻", "S⁰"])},
        coords={"binding_energy": be, "species": species},
        attrs={"note": "é", "n": 3, "ok": True, "nan": math.nan, "none": None,
               "list": [1, 2]})
    curves["residual"].attrs["units"] = "σ"
    spec = spectrum.copy()
    spec.attrs = dict(spectrum.attrs, voltage=math.nan, scans=7, converted_from="",
                      custom_flag=False)
    params = {
        "PS4_position": ParameterRecord("PS4_position", 161.6 + seed, 0.01, 161.2, 162.0),
        "PS4_fwhm": ParameterRecord("PS4_fwhm", 1.5, math.nan, 0.6, 1.5, True, None, "free",
                                    True),
        "S0_fwhm": ParameterRecord("S0_fwhm", 1.5, 0.02, -math.inf, math.inf, False,
                                   "PS4_fwhm", "linked"),
    }
    comps = [
        ComponentResult("PS4", "PS₄³⁻", "pseudo_voigt", 161.6, 0.01, 1.2, 0.02, 1.2, 5000.0,
                        50.0, 0.7, 0.01, shape={"eta": 0.2}, splitting=1.18, ratio=0.5,
                        present=True),
        ComponentResult("S0", "S⁰", "pseudo_voigt", 163.9, math.nan, 1.2, 0.02, 1.1, 2000.0,
                        50.0, 0.3, 0.01, area_in_region=1990.0, present=None),
    ]
    stats = FitStatistics(120.5, 1.01, -50.0, -30.0, n, 7, 55, False, "max nfev reached",
                          abbe=math.nan, prior_chisqr=0.25)
    return FitResult(spec, recipe, params, rng.random((2, 2)), ["PS4_position", "PS4_fwhm"],
                     comps, curves, stats,
                     warnings=[Notice("PS4_fwhm at upper bound", "at_bound", "PS4", "PS4_fwhm"),
                               Notice("|r| > 0.9", "correlated")],
                     flags=[Notice("did not converge", "not_converged")], monte_carlo=25,
                     label=f"spectrum {seed}")


def synthetic_series(recipe, spectra) -> SeriesResult:
    fits = [synthetic_fit(recipe, s, seed=i) for i, s in enumerate(spectra[:3])]
    fits[1].covariance = None
    fits[1].covariance_names = []
    presence = [PresenceTest(0, "pristine", "S0", False, 1.2, 0.31, 0.01, 0.02, 10.0, 5.0,
                             upper_limit=0.05),
                PresenceTest(1, "3.6 V", "S0", True, 40.0, 1e-9, 0.2, 0.01, 800.0, 20.0)]
    onsets = [Onset("S0", 1, "3.6 V", 40.0, 1e-9, 0.2, 0.01, "S0: first detected at 3.6 V"),
              Onset("polysulfide", None, None)]
    params = {f"p{i}": ParameterRecord(f"p{i}", float(i), 0.1 * i) for i in range(4)}
    return SeriesResult(fits, ["pristine", "3.6 V", "3.8 V"], recipe, "joint",
                        parameters=params, covariance=np.eye(4) * 0.5,
                        covariance_names=list(params),
                        statistics=FitStatistics(10.0, 1.1, 1.0, 2.0, 400, 20, 99, True, "ok"),
                        presence=presence, onsets=onsets,
                        warnings=[Notice("shift at bound", "at_bound", parameter="shift")])


# ---------------------------------------------------------------------------------- round trips

def test_real_fit_round_trip(tmp_path, real_fit):
    path = xpsfit.save(real_fit, tmp_path / "fit.h5")
    back = xpsfit.load_result(path)
    assert isinstance(back, FitResult)
    assert_same(real_fit, back)
    assert back.success == real_fit.success
    assert back.report() == real_fit.report()


def test_saved_spectrum_is_the_spectrum_as_read(tmp_path, recipe, spectra, real_fit):
    back = hdf5.load_result(hdf5.save(real_fit, tmp_path / "fit.h5"))
    assert_same(spectra[1], back.spectrum)        # values, both axes, every attr incl. NaN
    assert math.isnan(back.spectrum.attrs["voltage"]) or back.spectrum.attrs["voltage"] > 0


def test_synthetic_fit_round_trip_keeps_nan_none_inf_and_types(tmp_path, recipe, spectra):
    r = synthetic_fit(recipe, spectra[0])
    back = hdf5.load_result(hdf5.save(r, tmp_path / "s.h5"))
    assert_same(r, back)
    assert back.components[1].present is None and back.components[0].present is True
    assert back.parameters["PS4_fwhm"].expr is None
    assert back.parameters["S0_fwhm"].min == -math.inf
    assert back.spectrum.attrs["custom_flag"] is False
    assert back.curves.attrs["none"] is None
    assert back.curves["species"].dtype == r.curves["species"].dtype
    w = back.warnings[0]
    assert isinstance(w, Notice) and (w.text, w.code, w.species, w.parameter) == \
        ("PS4_fwhm at upper bound", "at_bound", "PS4", "PS4_fwhm")
    assert back.flags[0].code == "not_converged" and back.warnings[1].species is None


def test_series_round_trip(tmp_path, recipe, spectra):
    s = synthetic_series(recipe, spectra)
    back = hdf5.load_result(hdf5.save(s, tmp_path / "series.h5"))
    assert isinstance(back, SeriesResult)
    assert_same(s, back)
    assert back.results[1].covariance is None
    assert back.onsets[1].index is None and back.onsets[1].label is None


def test_real_series_round_trip(tmp_path, recipe, spectra):
    series = pytest.importorskip("xpsfit.fitting.series")
    s = series.fit_series(spectra[:3], recipe)
    assert s.presence and s.onsets and s.covariance is not None   # the fields really filled
    back = hdf5.load_result(hdf5.save(s, tmp_path / "series.h5"))
    assert_same(s, back)
    assert [o.sentence for o in back.onsets] == [o.sentence for o in s.onsets]


def test_series_without_statistics_and_empty_tables(tmp_path, recipe, spectra):
    s = SeriesResult([synthetic_fit(recipe, spectra[0])], ["a"], recipe, "independent")
    back = hdf5.load_result(hdf5.save(s, tmp_path / "s.h5"))
    assert back.statistics is None and back.presence == [] and back.onsets == []
    assert back.covariance is None
    assert_same(s, back)


def test_list_of_results_in_order_and_recipe_stored_once(tmp_path, recipe, spectra, real_fit):
    results = [synthetic_fit(recipe, s, seed=i) for i, s in enumerate(spectra)]
    results.insert(2, synthetic_series(recipe, spectra))
    results.append(real_fit)
    path = hdf5.save(results, tmp_path / "many.h5")
    back = hdf5.load_results(path)
    assert len(back) == len(results)
    for a, b in zip(results, back):
        assert_same(a, b)
    with h5py.File(path, "r") as f:
        addresses = {h5py.h5o.get_info(f[f"{e}/xpsfit/process/recipe"].id).addr
                     for e in f if e.startswith("entry")}
    assert len(addresses) == 1, "identical recipe texts must be hard links to one dataset"
    with pytest.raises(ExportError, match="use load_results"):
        hdf5.load_result(path)


def test_fit_can_be_rerun_from_the_file_alone(tmp_path, real_fit):
    """The recipe text and the raw spectrum in the file reproduce the fit's numbers."""
    path = hdf5.save(real_fit, tmp_path / "fit.h5")
    back = hdf5.load_result(path)
    again = xpsfit.fit(back.spectrum, back.recipe)
    for a, b in zip(real_fit.components, again.components):
        assert a.fraction == pytest.approx(b.fraction, abs=1e-9)
        assert a.position == pytest.approx(b.position, abs=1e-9)


# ----------------------------------------------------------------------------------- the layout

def test_layout_is_nexus_and_readable_with_plain_h5py(tmp_path, real_fit):
    path = hdf5.save(real_fit, tmp_path / "fit.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["default"] == "entry" and f.attrs["xpsfit_format_version"] == 2
        e = f["entry"]
        assert e.attrs["NX_class"] == "NXentry"
        assert e["definition"].asstr()[()] == "NXxps"
        p = e["xpsfit/process"]
        assert p.attrs["NX_class"] == "NXcollection" and p.attrs["program"] == "xpsfit"
        assert p.attrs["lmfit_version"] and p.attrs["numpy_version"] and p.attrs["h5py_version"]
        assert p.attrs["date"].endswith("+00:00")
        assert 'region = "S 2p"' in p["recipe"].asstr()[()]
        assert "[regions." in p["library_entries"].asstr()[()]
        rec = e["xpsfit"]
        assert rec.attrs["xpsfit_type"] == "FitResult"
        # the record's recipe and the process group's recipe are one dataset
        assert h5py.h5o.get_info(rec["recipe"].id).addr == h5py.h5o.get_info(p["recipe"].id).addr
        spec = rec["spectrum"]
        assert spec.attrs["NX_class"] == "NXdata" and spec.attrs["signal"] == "intensity"
        np.testing.assert_array_equal(spec["intensity"][()], real_fit.spectrum.values)
        np.testing.assert_array_equal(spec["original_energy"][()],
                                      real_fit.spectrum["original_energy"].values)
        assert spec["binding_energy"].attrs["units"] == "eV"
        assert spec.attrs["source_sha256"] == hdf5.sha256_of(KB)
        assert len(spec.attrs["source_sha256"]) == 64
        # NeXus fields are hard links into the record, not copies
        np.testing.assert_array_equal(e["data/data"][()], real_fit.spectrum.values)
        assert e["data/energy"].attrs["units"] == "eV"
        assert h5py.h5o.get_info(e["data/data"].id).addr == \
            h5py.h5o.get_info(spec["intensity"].id).addr
        fit = e["fit"]
        assert fit.attrs["NX_class"] == "NXfit"
        assert fit["data"].attrs["signal"] == "fit_sum"
        np.testing.assert_array_equal(fit["data/fit_sum"][()],
                                      real_fit.curves["envelope"].values)
        assert fit["figure_of_merit"].attrs["metric"] == "reduced_chi2"
        assert fit["figure_of_merit"][()] == real_fit.statistics.redchi
        peaks = [g for n, g in fit.items() if n.startswith("peak")]
        assert all(g.attrs["NX_class"] == "NXpeak" for g in peaks)
        assert {g["label"].asstr()[()]: g["total_area"][()] for g in peaks} == \
            {c.label: c.area for c in real_fit.components}
        first = real_fit.components[0].species
        np.testing.assert_array_equal(fit[f"peak_{first}/data/intensity"][()],
                                      real_fit.curves["components"].values[0])
        bg = [g for n, g in fit.items() if n.startswith("background")]
        assert len(bg) == 1 and bg[0].attrs["NX_class"] == "NXpeak"
        np.testing.assert_array_equal(bg[0]["data/intensity"][()],
                                      real_fit.curves["background"].values)
        table = rec["parameters"][()]
        assert [n.decode() for n in table["name"]] == list(real_fit.parameters)


def test_missing_source_file_gives_empty_hash(tmp_path, recipe, spectra):
    r = synthetic_fit(recipe, spectra[0])
    r.spectrum.attrs["source_file"] = str(tmp_path / "gone.vms")
    path = hdf5.save(r, tmp_path / "s.h5")
    with h5py.File(path, "r") as f:
        assert f["entry/xpsfit/spectrum"].attrs["source_sha256"] == ""


def test_size_grows_with_data_not_with_bloat(tmp_path, real_fit):
    one = os.path.getsize(hdf5.save([real_fit], tmp_path / "one.h5"))
    ten = os.path.getsize(hdf5.save([real_fit] * 10, tmp_path / "ten.h5"))
    per_fit = (ten - one) / 9
    raw = sum(v.nbytes for v in real_fit.curves.variables.values()) + 3 * real_fit.spectrum.nbytes
    # 4x the raw numbers for the record, +1x for the NeXus view (its peak curves are copies,
    # and ~40 small objects with their headers)
    assert per_fit < 5 * raw, (per_fit, raw)
    big = synthetic_fit(real_fit.recipe, _long_spectrum(20000))
    with h5py.File(hdf5.save(big, tmp_path / "big.h5"), "r") as f:
        assert f["entry/xpsfit/spectrum/binding_energy"].compression == "gzip"
        assert f["entry/xpsfit/curves/components"].compression == "gzip"


def _long_spectrum(n: int) -> xr.DataArray:
    be = np.linspace(150.0, 180.0, n)
    return xpsfit.make_spectrum(be, 1000 + 500 * np.exp(-((be - 162) / 0.6) ** 2),
                                region="S 2p", path="nowhere.vms")


# ------------------------------------------------------------------------------------ atomicity

def test_overwrite_false_refuses_and_true_replaces(tmp_path, real_fit, recipe, spectra):
    path = hdf5.save(real_fit, tmp_path / "fit.h5")
    with pytest.raises(ExportError, match="exists"):
        hdf5.save(real_fit, path, overwrite=False)
    hdf5.save(synthetic_fit(recipe, spectra[0]), path)
    assert hdf5.load_result(path).monte_carlo == 25


_KILLED_WRITER = r"""
import sys
import xpsfit
from xpsfit.export import hdf5
sys.path.insert(0, sys.argv[2])
from test_hdf5 import synthetic_fit, _long_spectrum
recipe = xpsfit.load_recipe(sys.argv[3])
n = int(sys.argv[4])
big = [synthetic_fit(recipe, _long_spectrum(150000), seed=i) for i in range(n)]
while True:
    hdf5.save(big, sys.argv[1])
    print("wrote", flush=True)
"""


@pytest.mark.parametrize("entries, delay", [(2, 0.02), (3, 0.25)])
def test_writer_killed_mid_write_leaves_a_complete_file(tmp_path, real_fit, entries, delay):
    """SIGKILL during a big write (each takes ~0.5 s): the file is the previous complete one or
    the new complete one, never a broken mix (several sizes, kill at different moments). A kill
    that happens to land between two writes proves nothing, so it is repeated (bounded)."""
    target = tmp_path / "result.h5"
    hdf5.save(real_fit, target)
    for attempt in range(4):
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target),
                                 str(Path(__file__).parent), str(S2P_RECIPE), str(entries)],
                                stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == b"wrote"   # one complete write done
            assert len(hdf5.load_results(target)) == entries
            time.sleep(delay)                                     # now inside the next write
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        got = hdf5.load_results(target)
        assert len(got) == entries
        assert got[0].spectrum.size == 150000
        # proof the kill landed mid-write: the interrupted temporary file is left (SIGKILL
        # cannot clean up), beside the intact target
        leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        if leftovers:
            break
    else:
        pytest.fail("no kill landed inside a write in 4 attempts")


# ------------------------------------------------------------------------------------ bad files

def test_non_hdf5_file_is_one_line_export_error(tmp_path):
    bad = tmp_path / "notes.h5"
    bad.write_text("just text\n")
    with pytest.raises(ExportError) as info:
        hdf5.load_result(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_foreign_hdf5_file_is_rejected(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ExportError, match="not an xpsfit results file"):
        hdf5.load_results(other)


def test_broken_xpsfit_file_is_rejected(tmp_path, real_fit):
    path = hdf5.save(real_fit, tmp_path / "fit.h5")
    with h5py.File(path, "a") as f:
        del f["entry/xpsfit/parameters"]
    with pytest.raises(ExportError, match=r"\[/entry/xpsfit/parameters\].*missing") as info:
        hdf5.load_result(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_file_is_rejected(tmp_path, real_fit):
    path = hdf5.save(real_fit, tmp_path / "fit.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExportError) as info:
        hdf5.load_results(path)
    assert str(path) in str(info.value)


def test_missing_file_and_missing_folder(tmp_path, real_fit):
    with pytest.raises(ExportError, match="no such file"):
        hdf5.load_result(tmp_path / "nope.h5")
    with pytest.raises(ExportError, match="does not exist"):
        hdf5.save(real_fit, tmp_path / "no" / "dir" / "x.h5")
    with pytest.raises(ExportError, match="cannot save"):
        hdf5.save(["not a result"], tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_file_has_no_pickled_objects(tmp_path, recipe, spectra):
    path = hdf5.save(synthetic_series(recipe, spectra), tmp_path / "s.h5")
    kinds = set()

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            kinds.add(obj.dtype.kind)
            assert obj.dtype.kind != "V" or obj.dtype.names, f"opaque data in {name}"
    with h5py.File(path, "r") as f:
        f.visititems(visit)
    assert kinds <= {"f", "i", "b", "O", "V", "u"}


def test_results_writer_streams_and_aborts(tmp_path, real_fit, recipe, spectra):
    path = hdf5.save(real_fit, tmp_path / "r.h5")
    writer = hdf5.ResultsWriter(path)
    writer.add(synthetic_fit(recipe, spectra[0]))
    writer.abort()                                   # nothing replaces the old file
    assert_same(real_fit, hdf5.load_result(path))
    with hdf5.ResultsWriter(path) as w:
        for i, s in enumerate(spectra[:3]):
            w.add(synthetic_fit(recipe, s, seed=i))
    assert [r.label for r in hdf5.load_results(path)] == ["spectrum 0", "spectrum 1",
                                                          "spectrum 2"]
    with pytest.raises(RuntimeError):
        with hdf5.ResultsWriter(path) as w:
            w.add(real_fit)
            raise RuntimeError("batch crashed")
    assert len(hdf5.load_results(path)) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_recipe_whose_user_library_is_gone_gives_export_error(tmp_path, spectra):
    lib = tmp_path / "my_library.toml"
    shutil.copy(EXAMPLES.parent / "peak_libraries" / "sulfide_electrolytes.toml", lib)
    text = S2P_RECIPE.read_text(encoding="utf-8").replace(
        'library = "sulfide_electrolytes"', f'library = "{lib.name}"')
    recipe_path = tmp_path / "recipe.toml"
    recipe_path.write_text(text, encoding="utf-8")
    result = xpsfit.fit(spectra[0], xpsfit.load_recipe(recipe_path))
    path = hdf5.save(result, tmp_path / "fit.h5")
    assert_same(result, hdf5.load_result(path))   # library found beside the recipe
    lib.unlink()
    with pytest.raises(ExportError, match="cannot rebuild") as info:
        hdf5.load_result(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with h5py.File(path, "r") as f:   # what is needed to re-create the library is in the file
        assert "PS4" in f["entry/xpsfit/process/library_entries"].asstr()[()]


def test_entries_copied_from_worker_images_share_one_recipe_copy(tmp_path, recipe, spectra):
    """``xpsfit batch --jobs``: entries built in worker images and copied in still hold one
    recipe dataset for the whole file, and load back equal."""
    results = [synthetic_fit(recipe, s, seed=i) for i, s in enumerate(spectra[:4])]
    images = [hdf5.entries_image(results[:2]), hdf5.entries_image(results[2:])]
    path = tmp_path / "jobs.h5"
    with hdf5.ResultsWriter(path) as w:
        for image, chunk in zip(images, (results[:2], results[2:])):
            for k, r in enumerate(chunk):
                w.add_from_image(image, k, r)
    back = hdf5.load_results(path)
    for a, b in zip(results, back):
        assert_same(a, b)
    with h5py.File(path, "r") as f:
        addresses = {h5py.h5o.get_info(f[f"{e}/xpsfit/{where}"].id).addr
                     for e in f for where in ("recipe", "process/recipe")}
    assert len(addresses) == 1
