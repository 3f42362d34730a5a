"""HDF5 results are valid NeXus: every entry validates against the NXxps application definition
bundled with pynxtools (its validator, the one behind ``pynx validate``)."""
import json

import h5py
import numpy as np
import pytest

import xpsfit
from xpsfit.export import hdf5

from test_hdf5 import KB, S2P_RECIPE, recipe, spectra, synthetic_series  # noqa: F401  (fixtures)

validation = pytest.importorskip("pynxtools.dataconverter.validation",
                                 reason="pynxtools (test extra) is not installed")
from pynxtools.dataconverter.helpers import collector  # noqa: E402


def nexus_problems(path) -> dict[str, list[str]]:
    """Validator problems per entry (empty lists = valid), undocumented concepts included."""
    out = {}
    with h5py.File(path, "r") as f:
        entries = [n for n in f if f[n].attrs.get("NX_class") == "NXentry"]
        for name in entries:
            definition = f[name]["definition"].asstr()[()]
            collector.clear()
            validation.validate_hdf_group_against(definition, f[name], str(path), False)
            out[name] = sorted(collector.get())
    collector.clear()
    return out


def test_fit_and_series_files_are_valid_nxxps(tmp_path, recipe, spectra):
    fit = xpsfit.fit(spectra[1], recipe)
    path = hdf5.save([fit, synthetic_series(recipe, spectra)], tmp_path / "r.h5")
    problems = nexus_problems(path)
    assert list(problems) == ["entry0000", "entry0001"]
    assert problems == {"entry0000": [], "entry0001": []}
    with h5py.File(path, "r") as f:
        e = f["entry0000"]
        assert e["definition"].asstr()[()] == "NXxps"
        assert e["instrument/beam_probe/incident_energy"][()] == 1486.6
        assert e["instrument/beam_probe/incident_energy"].attrs["units"] == "eV"
        assert e["instrument/electronanalyzer/energydispersion/pass_energy"][()] == 20.0
        # values NXxps requires but the spectrum file does not record are marked
        assert "instrument/electronanalyzer/energydispersion/scheme" in \
            json.loads(e["xpsfit"].attrs["nexus_assumed"])
        assert e["sample/name"].asstr()[()] == spectra[1].attrs["sample"]
        s = f["entry0001"]
        assert [n for n in s if n.startswith("fit")] == ["fit0000", "fit0001", "fit0002"]
        np.testing.assert_array_equal(s["data0002/data"][()], spectra[2].values)
    assert len(hdf5.load_results(path)) == 2     # and xpsfit still reads it


def test_validator_catches_a_missing_required_field(tmp_path, recipe, spectra):
    """The check above can fail: remove a field NXxps requires and the validator says so."""
    path = hdf5.save(xpsfit.fit(spectra[0], recipe), tmp_path / "r.h5")
    with h5py.File(path, "a") as f:
        del f["entry/fit/data/fit_sum"]
        del f["entry/method"]
    problems = nexus_problems(path)["entry"]
    assert any("entry/method" in p for p in problems)
    assert any("fit/data/fit_sum" in p for p in problems)


def test_real_casaxps_model_fit_and_batch_files_are_valid_nxxps(tmp_path):
    """Beyond the example: a real CasaXPS-written block refitted from its own model (LA and GL
    shapes, linked areas, CasaXPS background) and a whole batch output validate too."""
    from realdata import real_file
    from xpsfit.recipe.from_casa import recipe_from_casa
    block = xpsfit.read(real_file("cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms"))[1]
    fit = xpsfit.fit(block, recipe_from_casa(block))
    assert {c.lineshape for c in fit.components} >= {"la_casa", "gl_product"}
    path = hdf5.save(fit, tmp_path / "casa.h5")
    assert nexus_problems(path) == {"entry": []}
    res = xpsfit.batch([KB], xpsfit.load_recipe(S2P_RECIPE), out=tmp_path / "batch.h5")
    assert res.fitted == 5
    problems = nexus_problems(tmp_path / "batch.h5")
    assert len(problems) == 5 and all(p == [] for p in problems.values()), problems
