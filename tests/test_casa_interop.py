"""CasaXPS interoperability: fits written as CASA region/comp lines, `recipe from-casa`, one
energy frame for CasaXPS calibration, and the curves CSV. Real fits on real and synthetic data."""
import csv
import math

import numpy as np
import pytest

import xpsfit
from xpsfit.recipe.from_casa import recipe_from_casa
from xpsfit.numerics.lineshapes import width_for_fwhm
from xpsfit.errors import RecipeError
from xpsfit.io.casa import casa_components, casa_regions
from xpsfit.io.casa_writer import casa_shape_text, with_casa_model
from xpsfit.numerics.lineshapes import evaluate, true_fwhm
from xpsfit.recipe.spec import load_recipe, recipe_from_dict

from realdata import real_file
from synth_xps import s2p_recipe, synth_s2p

CELLULOSE = "cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms"
FEO = "pynxtools-xps/FeO_analyzed.vms"

C1S_RECIPE = {
    "region": "C 1s", "lineshape": "gl_product", "shape": {"m": 0.3}, "range": [283.4, 293.2],
    "background": {"type": "shirley", "endpoints": 3},
    "links": ["fwhm(C-O) = fwhm(C-C)", "area(OCO) = 0.2 * area(C-O)"],
    "components": [
        {"name": "C-O", "position": 286.8, "window": [286.3, 287.3], "fwhm": [0.6, 2.0]},
        {"name": "OCO", "position": 288.2, "window": [287.7, 288.7], "fwhm": [0.6, 2.0]},
        {"name": "C-C", "position": 284.9, "window": [284.4, 285.4], "fwhm": [0.6, 2.0]}]}


def numbers(result):
    return {c.species: (c.position, c.fwhm, c.fraction) for c in result.components}


@pytest.fixture(scope="module")
def c1s_fit():
    spectrum = xpsfit.read(real_file(CELLULOSE))[1]
    result = xpsfit.fit(spectrum, recipe_from_dict(C1S_RECIPE))
    assert result.success
    return result


def test_fit_written_as_casa_lines_reads_back_with_the_fitted_values(c1s_fit, tmp_path):
    path = xpsfit.write_vamas(tmp_path / "fit.vms", [with_casa_model(c1s_fit)])
    back = xpsfit.read(path)[0]
    (region,) = casa_regions(back)
    assert (region.background, region.av_width) == ("Shirley", 1.0)   # 2·1 + 1 = 3 points
    assert sorted((region.start_be, region.end_be)) == pytest.approx([283.4, 293.2], abs=1e-8)
    comps = {c.name: c for c in casa_components(back)}
    assert list(comps) == ["C-O", "OCO", "C-C"]      # the old CasaXPS model of the block is gone
    per_cps = back.attrs["dwell"] * back.attrs["scans"]
    for c in c1s_fit.components:
        k = comps[c.species]
        assert k.lineshape == "GL(30)"
        assert k.position_be == pytest.approx(c.position, abs=1e-6)
        assert k.fwhm == pytest.approx(c.fwhm, rel=1e-8)        # measured FWHM, as CasaXPS
        assert k.area * per_cps == pytest.approx(c.area, rel=1e-8)
    assert comps["OCO"].area_link == (0, 0.2)        # A*0.2
    assert comps["C-O"].fwhm_link == (2, 1.0)


def test_recipe_from_casa_refits_to_the_same_numbers(c1s_fit, tmp_path):
    path = xpsfit.write_vamas(tmp_path / "fit.vms", [with_casa_model(c1s_fit)])
    back = xpsfit.read(path)[0]
    recipe = recipe_from_casa(back)
    assert [c.species for c in recipe.components] == ["C-O", "OCO", "C-C"]
    assert recipe.background.type == "shirley" and recipe.background.endpoints == 3
    spec = recipe.component("C-O")
    # MFWHM bounds converted back to GL(30) width parameters
    assert spec.fwhm_bounds == pytest.approx((0.6, 2.0), rel=1e-8)
    again = xpsfit.fit(back, recipe)
    for key, (pos, fwhm, frac) in numbers(c1s_fit).items():
        p2, f2, fr2 = numbers(again)[key]
        assert p2 == pytest.approx(pos, abs=2e-4)
        assert f2 == pytest.approx(fwhm, abs=2e-4)
        assert fr2 == pytest.approx(frac, abs=1e-4)


def test_doublets_round_trip_as_linked_casa_pairs(tmp_path):
    """pseudo-Voigt doublets -> SGL pairs (minor linked to major) -> recipe -> same fit."""
    spectrum, _ = synth_s2p(seed=1)
    spectrum.attrs.update(excitation_energy=1486.6, dwell=0.2, scans=5)
    first = xpsfit.fit(spectrum, s2p_recipe("shirley"))
    assert first.success
    path = xpsfit.write_vamas(tmp_path / "s2p.vms", [with_casa_model(first)])
    comps = casa_components(xpsfit.read(path)[0])
    assert len(comps) == 8 and comps[1].name == "PS4 1/2" and comps[1].area_link == (0, 0.5)
    assert comps[0].position_be + 1.18 == pytest.approx(comps[1].position_be, abs=1e-6)
    again = xpsfit.fit(xpsfit.read(path)[0], recipe_from_casa(xpsfit.read(path)[0]))
    total = {k: 0.0 for k in ("PS4", "S2-", "polysulfide", "S0")}
    for c in again.components:
        total[c.label.split()[0]] += c.fraction
    for c in first.components:
        assert total[c.species] == pytest.approx(c.fraction, abs=1e-3)


def test_pseudo_voigt_is_written_as_the_same_sgl_curve():
    x = np.linspace(-5, 5, 2001)
    text = casa_shape_text("pseudo_voigt", {"eta": 0.2})
    m = float(text[4:-1]) / 100
    assert np.allclose(evaluate("pseudo_voigt", x, 1.0, 0.0, 1.3, eta=0.2),
                       evaluate("gl_sum", x, 1.0, 0.0, 1.3, m=m), atol=1e-7)


def test_measured_fwhm_is_inverted_to_the_width_parameter():
    f = width_for_fwhm("gl_product", 1.0, m=0.3)
    assert true_fwhm("gl_product", f, m=0.3) == pytest.approx(1.0, rel=1e-10)
    assert f == pytest.approx(1.0 / 0.9614, rel=1e-3)
    assert width_for_fwhm("gl_sum", 1.7, m=0.3) == pytest.approx(1.7, rel=1e-12)


def test_casaxps_files_convert_or_are_refused_naming_the_shape():
    feo = xpsfit.read(real_file(FEO))[0]
    with pytest.raises(RecipeError, match=r"LF\(0.54,10,80,100,6\) has no xpsfit equivalent"):
        recipe_from_casa(feo)
    cellulose = xpsfit.read(real_file(CELLULOSE))[1]       # LA(α,β,m) converts to la_casa
    assert {c.lineshape for c in recipe_from_casa(cellulose).components} >= {"la_casa"}


@pytest.mark.parametrize("block", [1, 2])
def test_from_casa_fit_reproduces_casaxps_positions_and_fractions(block):
    """Cellulose C 1s (2 LA + 2 GL(30)) and O 1s (2 LA, linked): positions within 0.1 eV and
    area fractions within 0.02 of CasaXPS's. Not tighter: the width CasaXPS gives LA's m is an
    assumption of la_casa, and the small components (< 3 %) sit on the main peaks' tails."""
    spectrum = xpsfit.read(real_file(CELLULOSE))[block]
    result = xpsfit.fit(spectrum, recipe_from_casa(spectrum))
    casa = {c.name: c for c in casa_components(spectrum)}
    total = sum(c.area for c in casa.values())
    assert result.success
    for c in result.components:
        k = casa[c.label]
        assert c.position == pytest.approx(k.position_be, abs=0.1)
        assert c.fraction == pytest.approx(k.area / total, abs=0.02)


def _calibrated_block(tmp_path, shift):
    """A real spectrum written with a CasaXPS Calib line and a component 'measured' at the
    uncalibrated peak."""
    spectrum = xpsfit.read(real_file(CELLULOSE))[1]
    hv = spectrum.attrs["excitation_energy"]
    peak = float(spectrum["binding_energy"][int(np.argmax(spectrum.values))])
    measured, aligned = hv - peak, hv - peak - shift      # KE calibration moves KE by A − M
    comments = ["Casa Info Follows", "1", f"Calib M = {measured} A = {aligned} KE ADD", "0",
                "1", f"CASA region (*C 1s*) (*Shirley*) {hv - 293} {hv - 283} 1 2 0 0 0 -450 0 0 "
                     "(*C 1s*) 0 0 1", "1",
                f"CASA comp (*C-O*) (*GL(30)*) Area 100 0 1e5 -1 1 MFWHM 1.1 0.5 2 -1 1 "
                f"Position {hv - peak - shift} {hv - peak - shift - 1} {hv - peak - shift + 1} "
                "-1 0 RSF 1 MASS 0 INDEX -1 (*C 1s*) CONST (**) UNCORRECTEDRSF 1"]
    s = spectrum.copy()
    s.attrs = dict(spectrum.attrs, comments="\n".join(comments), casa_calibration=0.0)
    return xpsfit.write_vamas(tmp_path / "calib.vms", [s]), peak


def test_read_puts_the_spectrum_in_casaxps_calibrated_frame(tmp_path):
    path, peak = _calibrated_block(tmp_path, shift=0.5)
    s = xpsfit.read(path)[0]
    assert s.attrs["casa_calibration"] == pytest.approx(0.5)
    assert "CasaXPS calibrated" in s.attrs["energy_frame"]
    moved = float(s["binding_energy"][int(np.argmax(s.values))])
    assert moved == pytest.approx(peak + 0.5, abs=1e-9)
    (comp,) = casa_components(s)
    assert comp.position_be == pytest.approx(moved, abs=1e-6)   # spectrum and model agree
    # writing the calibrated axis drops the Calib line: reading again does not shift twice
    again = xpsfit.read(xpsfit.write_vamas(tmp_path / "again.vms", [s]))[0]
    assert again.attrs["casa_calibration"] == 0.0 and again.attrs["energy_frame"] == "as acquired"
    assert float(again["binding_energy"][int(np.argmax(again.values))]) == pytest.approx(moved, abs=1e-9)
    assert casa_components(again)[0].position_be == pytest.approx(moved, abs=1e-6)


def test_cli_from_casa_and_export_vamas_and_curves(c1s_fit, tmp_path, capsys):
    from xpsfit.cli import main
    h5 = tmp_path / "fit.h5"
    xpsfit.save(c1s_fit, h5)
    vms, curves = tmp_path / "out.vms", tmp_path / "curves.csv"
    assert main(["export", str(h5), "--vamas", str(vms), "--curves", str(curves)]) == 0
    recipe_path = tmp_path / "from_casa.toml"
    assert main(["recipe", "from-casa", str(vms), "-o", str(recipe_path)]) == 0
    recipe = load_recipe(recipe_path)
    assert [c.species for c in recipe.components] == ["C-O", "OCO", "C-C"]
    with open(curves, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["binding_energy", "kinetic_energy", "data", "background", "C-O",
                             "OCO", "C-C", "envelope"]
    assert len(rows) == c1s_fit.curves.sizes["binding_energy"]
    for row in rows[::25]:
        comps = sum(float(row[k]) for k in ("C-O", "OCO", "C-C"))
        assert float(row["envelope"]) == pytest.approx(float(row["background"]) + comps,
                                                       rel=1e-9)
        assert float(row["kinetic_energy"]) + float(row["binding_energy"]) == \
            pytest.approx(1486.6)
    peak_row = max(rows, key=lambda r: float(r["C-O"]))
    assert float(peak_row["binding_energy"]) == pytest.approx(c1s_fit.component("C-O").position,
                                                              abs=0.05)
    capsys.readouterr()
    assert main(["recipe", "from-casa", str(real_file(FEO))]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "FeO_analyzed.vms block 0" in err and "LF(" in err


def test_from_casa_needs_the_excitation_energy(c1s_fit):
    s = with_casa_model(c1s_fit)
    s.attrs["excitation_energy"] = math.nan
    with pytest.raises(RecipeError, match="no excitation energy"):
        recipe_from_casa(s)
