"""Energy calibration ("set this component to X eV"): one rigid shift per acquisition, found by
refitting, recorded in the result and HDF5, applied to the acquisition's other regions."""
from __future__ import annotations

import numpy as np
import pytest

from realdata import real_file
from synth_xps import S2P_TRUTH, s2p_recipe, synth_s2p
from xpsfit import RecipeError, load_result, read, recipe_from_dict, save
from xpsfit.fitting.charge import calibrate, shift_like, with_charge_reference
from xpsfit.fitting.single import fit
from xpsfit.spectrum import make_spectrum

CHARGING = -0.40      # eV: the synthetic spectrum sits this far below its true energies


def _charged_s2p():
    s, _ = synth_s2p(seed=3)
    return make_spectrum(s["binding_energy"].values + CHARGING, s.values, region="S 2p",
                         source_file="synthetic", sample="A")


def test_calibration_recovers_a_known_charging_shift():
    res = calibrate(_charged_s2p(), s2p_recipe(), "PS4", S2P_TRUTH["PS4"][0])
    ps4 = res.component("PS4")
    assert ps4.position == pytest.approx(S2P_TRUTH["PS4"][0], abs=1.5e-3)
    # the shift found is the charging put in, within the position's own uncertainty
    assert res.charge_shift == pytest.approx(-CHARGING, abs=3 * ps4.position_stderr + 2e-3)
    assert res.charge_reference["shift"] == pytest.approx(res.charge_shift)
    assert res.charge_reference["assigned"] == S2P_TRUTH["PS4"][0]
    # rigid: the other lines land on their true energies too (within 3σ)
    for sp in ("S2-", "polysulfide"):
        c = res.component(sp)
        assert abs(c.position - S2P_TRUTH[sp][0]) < 3 * c.position_stderr + 5e-3, sp
    assert "charge shift = +0.4" in res.report()


def test_calibration_of_a_real_c1s_round_trips_through_hdf5(tmp_path):
    path = real_file("lg4x-v2/Mutlipak_vms.npl")
    c1s = next(s for s in read(path) if s.attrs["region"] == "C 1s")
    recipe = recipe_from_dict({"region": "C 1s", "library": "common", "range": [280.0, 292.0],
                               "components": [{"species": "C-C"}, {"species": "C-O"},
                                              {"species": "C=O"}]})
    plain = fit(c1s, recipe)
    res = calibrate(c1s, recipe, "C-C", 284.8)
    assert res.success, res.flags
    assert res.component("C-C").position == pytest.approx(284.8, abs=1.5e-3)
    # the first fit's C–C is what was measured; the shift is what put C–C at 284.8 on refits
    # (more than 284.8 − measured here: the recipe windows stay put and pull C–C back a little)
    assert res.charge_reference["measured"] == pytest.approx(plain.component("C-C").position)
    assert res.charge_reference["shift"] == pytest.approx(res.charge_shift)
    assert 0 < res.charge_shift < 1.0
    assert not [w for w in res.warnings if w.code == "charge_reference"]
    assert res.spectrum["binding_energy"].values[0] == pytest.approx(
        c1s["binding_energy"].values[0] + res.charge_shift)
    save(res, tmp_path / "c1s.h5")
    back = load_result(tmp_path / "c1s.h5")
    assert back.charge_shift == pytest.approx(res.charge_shift)
    assert back.charge_reference["species"] == "C-C"
    assert back.charge_reference["assigned"] == 284.8


def test_shift_like_moves_the_other_regions_of_the_acquisition_only():
    path = real_file("lg4x-v2/Mutlipak_vms.npl")
    spectra = list(read(path))
    c1s = next(s for s in spectra if s.attrs["region"] == "C 1s")
    recipe = recipe_from_dict({"region": "C 1s", "library": "common", "range": [280.0, 292.0],
                               "components": [{"species": "C-C"}, {"species": "C-O"}]})
    res = calibrate(c1s, recipe, "C-C", 284.8)
    other = make_spectrum([1.0, 2.0, 3.0], [5.0, 6.0, 7.0], region="O 1s",
                          source_file="another.vms")
    moved = shift_like(spectra + [other], res)
    assert len(moved) == len(spectra) + 1
    for before, after in zip(spectra, moved):
        delta = after["binding_energy"].values - before["binding_energy"].values
        want = 0.0 if before.attrs["region"] == "C 1s" else res.charge_shift
        assert np.allclose(delta, want), before.attrs["region"]
        if before.attrs["region"] != "C 1s":
            assert after.attrs["charge_shift"] == pytest.approx(res.charge_shift)
            assert "C-C = 284.8 eV" in after.attrs["charge_reference"]
    assert moved[-1] is other
    again = shift_like(moved, res)          # idempotent: applying twice does not double it
    for a, b in zip(moved, again):
        assert np.allclose(a["binding_energy"].values, b["binding_energy"].values)


def test_calibrating_on_a_species_not_in_the_recipe_is_one_clear_line():
    with pytest.raises(RecipeError) as err:
        with_charge_reference(s2p_recipe(), "C-C", 284.8)
    text = err.value.one_line()
    assert "C-C" in text and "PS4" in text and "\n" not in text
    with pytest.raises(RecipeError, match="positive"):
        with_charge_reference(s2p_recipe(), "PS4", float("nan"))


def _charged_c1s_recipe():
    """The C 1s model as a user places it on the charged axis: C–C on the peak at 280.8 eV,
    C–O and C=O at their usual distances above it."""
    return recipe_from_dict({"region": "C 1s", "library": "common", "range": [276.0, 288.0],
                             "components": [
                                 {"species": "C-C", "position": 280.8, "window": 0.6},
                                 {"species": "C-O", "position": 282.5, "window": 0.6},
                                 {"species": "C=O", "position": 284.0, "window": 0.8}]})


def test_a_charged_real_c1s_is_referenced_to_284_8():
    """ARXPS.vms: C 1s of an insulated Al foil, the main line 4 eV low (280.8 eV)."""
    path = real_file("cheminfo-vamas/ARXPS.vms")
    c1s = next(s for s in read(path) if s.attrs["region"] == "C 1s")
    raw = fit(c1s, _charged_c1s_recipe())
    res = calibrate(c1s, _charged_c1s_recipe(), "C-C", 284.8)
    assert res.success, res.flags
    cc = res.component("C-C")
    assert cc.position == pytest.approx(284.8, abs=1.5e-3)
    assert 3.5 < res.charge_shift < 4.5
    # rigid: every line moved by the same shift, so the separations are those of the raw fit
    for sp in ("C-O", "C=O"):
        sep_raw = raw.component(sp).position - raw.component("C-C").position
        sep = res.component(sp).position - cc.position
        assert sep == pytest.approx(sep_raw, abs=3 * res.component(sp).position_stderr + 0.02)
    # fractions do not depend on where the axis sits
    for c in res.components:
        assert c.fraction == pytest.approx(raw.component(c.species).fraction, abs=0.02)
    ref = res.charge_reference
    assert ref["measured"] == pytest.approx(raw.component("C-C").position, abs=0.02)
    assert ref["shift"] == pytest.approx(res.charge_shift)
    pre = 284.8 - raw.component("C-C").position     # the recipe moved into the new scale
    assert res.recipe.range == pytest.approx((276.0 + pre, 288.0 + pre))
    assert res.recipe.charge_reference.species == "C-C"
