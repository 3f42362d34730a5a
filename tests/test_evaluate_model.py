"""xpsfit.evaluate_model: a recipe's curves at given parameters, without a fit."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import xpsfit
from realdata import real_file
from synth_xps import S2P_TRUTH, doublet, s2p_recipe, synth_s2p

CELLULOSE = "cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms"


def _truth_parameters(base=400.0, step=0.02) -> dict[str, float]:
    values = {"bg_c0": base, "bg_k": step}
    for species, (e, f, a) in S2P_TRUTH.items():
        values.update({xpsfit.param_name(species, "position"): e,
                       xpsfit.param_name(species, "fwhm"): f,
                       xpsfit.param_name(species, "area"): a})
    return values


def test_the_truth_reproduces_the_noise_free_spectrum():
    """The independent forward model of tests/synth_xps.py (pseudo-Voigt doublets on
    base + step·∫peaks) at its own parameters: the engine's curves are that spectrum."""
    spectrum, clean = synth_s2p(seed=None)
    curves = xpsfit.evaluate_model(spectrum, s2p_recipe(), _truth_parameters())
    assert np.allclose(curves["envelope"].values, clean, rtol=1e-9, atol=1e-9)
    assert np.allclose(curves["residual"].values, 0.0, atol=1e-9)
    x = curves[xpsfit.DIM].values
    assert np.allclose(curves["components"].sel(species="PS4").values,
                       doublet(x, 9000.0, 161.60, 1.00), rtol=1e-9, atol=1e-9)


def test_a_fit_result_reproduces_its_own_curves_and_one_value_moves_them():
    spectrum, _ = synth_s2p(seed=3)
    result = xpsfit.fit(spectrum, s2p_recipe())
    same = xpsfit.evaluate_model(result.spectrum, result.recipe, result)
    for name in ("envelope", "background", "residual", "components"):
        assert np.array_equal(same[name].values, result.curves[name].values), name
    values = {n: r.value for n, r in result.parameters.items()}
    name = result.component("PS4").parameters["position"]
    # outside the recipe's window (161.0–162.2): used as given, not clipped
    values[name] = 160.5
    moved = xpsfit.evaluate_model(result.spectrum, result.recipe, values)
    x = moved[xpsfit.DIM].values
    peak = x[np.argmax(moved["components"].sel(species="PS4").values)]
    assert peak == pytest.approx(160.5, abs=0.011)
    assert not np.allclose(moved["envelope"].values, result.curves["envelope"].values)
    # other components unchanged
    assert np.array_equal(moved["components"].sel(species="S0").values,
                          result.curves["components"].sel(species="S0").values)


def test_without_parameters_the_start_values_are_drawn():
    """Each component is the doublet at the recipe's start position and width (its area comes
    from the data, as a fit's start does)."""
    spectrum, _ = synth_s2p(seed=1)
    recipe = s2p_recipe()
    curves = xpsfit.evaluate_model(spectrum, recipe)
    x = curves[xpsfit.DIM].values
    for spec in recipe.components:
        y = curves["components"].sel(species=spec.species).values
        expected = doublet(x, 1.0, spec.position, spec.fwhm)
        assert np.allclose(y / y.max(), expected / expected.max(), atol=1e-9), spec.species


def test_data_that_cannot_be_fitted_gets_the_fit_error():
    spectrum, _ = synth_s2p(seed=1)
    with pytest.raises(xpsfit.FitError, match="data points in the fit range"):
        xpsfit.evaluate_model(spectrum, dataclasses.replace(s2p_recipe(), range=(160.0, 160.1)))


def test_a_casaxps_model_drawn_at_its_own_parameters():
    """Cellulose C 1s (CasaXPS: 2 LA + 2 GL(30) on a Shirley): each component's curve peaks at
    the CasaXPS position and the model's area above the background is the data's (the CasaXPS
    fit was good). The shape near the top differs by up to 8 % of the peak: la_casa's Gaussian
    width for LA's m is an assumption (docs/interop.md), so that bound is loose."""
    spectrum = xpsfit.read(real_file(CELLULOSE))[1]
    curves = xpsfit.evaluate_model(spectrum, xpsfit.recipe_from_casa(spectrum))
    x = curves[xpsfit.DIM].values
    labels = dict(zip(curves["species"].values, curves["label"].values))
    for species in curves["species"].values:
        y = curves["components"].sel(species=species).values
        k = int(np.argmax(y))
        top = x[k] + 0.5 * (y[k - 1] - y[k + 1]) / (y[k - 1] - 2 * y[k] + y[k + 1]) * (x[1] - x[0])
        casa = next(c for c in xpsfit.casa_components(spectrum) if c.name == labels[species])
        assert top == pytest.approx(casa.position_be, abs=0.05)
    data, env, bg = (curves[k].values for k in ("data", "envelope", "background"))
    assert np.trapezoid(env - bg, x) == pytest.approx(np.trapezoid(data - bg, x), rel=0.02)
    assert np.max(np.abs(env - data)) < 0.10 * data.max()
