"""Charge referencing: one rigid, recorded shift per acquisition (xpsfit.fitting.charge).

Known truth: synthetic S 2p spectra moved by a known charge, and the example series, whose
truth.json records each acquisition's charge_shift (every region of an acquisition carries it).
"""
from __future__ import annotations

import copy
import csv
import json
import math

import numpy as np
import pytest

import xpsfit
from realdata import EXAMPLES
from synth_xps import S2P_TRUTH, s2p_recipe, synth_s2p
from xpsfit.fitting.charge import acquisition_shifts, apply_reference, reference_shift
from xpsfit.cli import main
from xpsfit.errors import FitError, RecipeError
from xpsfit.recipe.spec import ChargeReference, load_recipe
from xpsfit.spectrum import DIM

FILES = ("cnf_series.vms", "kb_series.vms", "controls.vms")
P2P = EXAMPLES / "p2p_sulfide.toml"
S2P = EXAMPLES / "s2p_sulfide.toml"
REFERENCE = ChargeReference(region="P 2p", species="PS4", energy=132.0)


@pytest.fixture(scope="module")
def examples():
    if not all((EXAMPLES / f).is_file() for f in FILES) or not P2P.is_file():
        pytest.skip("example spectra/recipes are absent")
    truth = json.loads((EXAMPLES / "truth.json").read_text())["blocks"]
    return {f: xpsfit.read(EXAMPLES / f) for f in FILES}, truth


def _truth(truth, spectrum):
    name = str(spectrum.attrs["source_file"]).replace("\\", "/").rsplit("/", 1)[-1]
    return next(b for b in truth if b["file"] == name
                and b["block_index"] == spectrum.attrs["block_index"])


def _charged_s2p(charge: float, seed: int = 3):
    """Synthetic S 2p whose every line sits ``charge`` eV above the S2P_TRUTH positions."""
    truth = {k: (e + charge, f, a) for k, (e, f, a) in S2P_TRUTH.items()}
    spectrum, _ = synth_s2p(truth=truth, seed=seed)
    return spectrum


def test_reference_shift_is_energy_minus_fitted_position():
    result = xpsfit.fit(_charged_s2p(0.0), s2p_recipe())
    ref = ChargeReference(region="S 2p", species="PS4", energy=161.9)
    assert reference_shift(result, ref) == pytest.approx(161.9 - result.component("PS4").position,
                                                         abs=1e-12)
    with pytest.raises(FitError, match="not a component"):
        reference_shift(result, ChargeReference("S 2p", "SOx", 169.0))


def test_fit_with_own_region_reference_returns_the_fit_on_the_shifted_axis():
    """Spectrum charged by +0.25 eV; the recipe references S 2p PS4 = 161.6 eV: the result is
    a fit of the shifted spectrum, its shift is −0.25 eV within 3σ, the reference sits at its
    energy and the other species come back to their true (uncharged) positions."""
    charge = 0.25
    spectrum = _charged_s2p(charge)
    recipe = s2p_recipe()
    recipe.charge_reference = ChargeReference("S 2p", "PS4", 161.6)
    result = xpsfit.fit(spectrum, recipe)
    ps4 = result.component("PS4")
    assert abs(result.charge_shift + charge) < max(3 * ps4.position_stderr, 0.01)
    assert abs(ps4.position - 161.6) <= 1e-3
    for c in result.components:
        assert abs(c.position - S2P_TRUTH[c.species][0]) < 4 * c.position_stderr + 0.01, c
    # recorded where it must be: the spectrum's attrs, the result, the axis, the table
    assert result.spectrum.attrs["charge_shift"] == pytest.approx(result.charge_shift)
    x0 = spectrum[DIM].values
    assert np.allclose(result.spectrum[DIM].values, x0 + result.charge_shift)
    assert np.all(np.isin(result.curves[DIM].values, result.spectrum[DIM].values))
    assert result.charge_reference["measured"] == pytest.approx(161.6 + charge, abs=0.05)
    assert result.charge_reference["shift"] == pytest.approx(result.charge_shift)
    assert {r["charge_shift"] for r in result.table_rows()} == {result.charge_shift}
    assert "charge shift" in result.report()
    # the envelope is the fitted model of the shifted data: residuals stay white noise
    assert 0.6 < result.statistics.redchi < 1.5


def test_fit_without_reference_records_zero_shift():
    result = xpsfit.fit(_charged_s2p(0.25), s2p_recipe())
    assert result.charge_shift == 0.0 and not result.charge_reference
    assert result.table_rows()[0]["charge_shift"] == 0.0


def test_reference_in_another_region_recovers_each_acquisitions_charge(examples):
    """P 2p PS4 = 132.0 eV as reference: the shift of every acquisition equals −charge_shift of
    truth.json within the reference line's own uncertainty, and S 2p PS4 lands at 161.6."""
    spectra, truth = examples
    p2p = load_recipe(P2P)
    p2p.charge_reference = REFERENCE
    s2p = load_recipe(S2P)
    errors, s2p_errors = [], []
    for name in FILES:
        blocks = spectra[name]
        shifts = acquisition_shifts(blocks, p2p)
        assert len(shifts) == len(blocks) // 2              # one per acquisition (S 2p + P 2p)
        moved = apply_reference(blocks, [s2p, p2p])
        for before, after in zip(blocks, moved):
            t = _truth(truth, before)
            acq = shifts[(str(before.attrs["source_file"]), str(before.attrs["sample"]))]
            # one rigid shift for every region of the acquisition, recorded in the attrs
            assert after.attrs["charge_shift"] == pytest.approx(acq.shift)
            assert np.allclose(after[DIM].values, before[DIM].values + acq.shift)
            assert "P 2p PS4 = 132 eV" in after.attrs["charge_reference"]
            sigma_p = acq.result.component("PS4").position_stderr
            err = acq.shift + t["charge_shift"]
            assert abs(err) <= max(0.035, 3.5 * sigma_p), (name, t["label"], err, sigma_p)
            if after.attrs["region"] == "S 2p":
                errors.append(err)
                ps4 = xpsfit.fit(after, s2p).component("PS4")
                combined = math.hypot(ps4.position_stderr, sigma_p)
                s2p_errors.append(ps4.position - 161.6)
                assert abs(ps4.position - 161.6) <= max(0.03, 3.5 * combined), (name, t["label"])
    # over the 13 acquisitions the reference is unbiased and within ~0.02 eV
    assert len(errors) == 13
    assert math.sqrt(np.mean(np.square(errors))) < 0.025
    assert abs(np.mean(errors)) < 0.015
    assert math.sqrt(np.mean(np.square(s2p_errors))) < 0.03


def test_acquisition_without_reference_region_is_an_error(examples):
    spectra, _ = examples
    p2p = load_recipe(P2P)
    p2p.charge_reference = REFERENCE
    s_only = [s for s in spectra["cnf_series.vms"] if s.attrs["region"] == "S 2p"]
    with pytest.raises(FitError, match="no P 2p spectrum"):
        apply_reference(s_only, p2p)
    kept = apply_reference(s_only, p2p, missing="keep")
    assert all(k is s for k, s in zip(kept, s_only))


def test_reference_recipe_must_exist(examples):
    spectra, _ = examples
    s2p = copy.deepcopy(load_recipe(S2P))
    with pytest.raises(RecipeError, match="no \\[charge_reference\\]"):
        apply_reference(spectra["cnf_series.vms"], s2p)
    s2p.charge_reference = REFERENCE
    with pytest.raises(RecipeError, match="no recipe fits the charge-reference region"):
        apply_reference(spectra["cnf_series.vms"], s2p)


def _reference_toml(tmp_path):
    path = tmp_path / "p2p_reference.toml"
    text = P2P.read_text(encoding="utf-8")
    path.write_text(text + '\n[charge_reference]\nregion = "P 2p"\nspecies = "PS4"\n'
                           'energy = 132.0\n', encoding="utf-8")
    return path


def test_cli_charge_reference_prints_shifts_and_writes_the_column(examples, tmp_path, capsys):
    _, truth = examples
    ref, table = _reference_toml(tmp_path), tmp_path / "t.csv"
    rc = main(["fit", str(EXAMPLES / "kb_series.vms"), "--recipe", str(S2P),
               "--charge-reference", str(ref), "--table", str(table)])
    out = capsys.readouterr().out
    assert rc in (0, 1)
    lines = [ln for ln in out.splitlines() if ln.startswith("charge reference")]
    assert len(lines) == 5 and all("P 2p PS4" in ln and "charge shift" in ln for ln in lines)
    rows = list(csv.DictReader(open(table, encoding="utf-8")))
    assert len(rows) == 5 * 4
    for row in rows:
        block = int(row["spectrum"].rsplit("#", 1)[1])
        t = next(b for b in truth if b["file"] == "kb_series.vms" and b["block_index"] == block)
        assert abs(float(row["charge_shift"]) + t["charge_shift"]) < 0.05


def test_cli_charge_reference_needs_its_own_region(examples, capsys):
    rc = main(["fit", str(EXAMPLES / "kb_series.vms"), "--recipe", str(S2P),
               "--charge-reference", str(S2P)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "charge_reference" in err and len(err.strip().splitlines()) == 1
