"""The model: doublet geometry, analytic Jacobian, backgrounds, bad input (known truth)."""
import math

import numpy as np
import pytest

from synth_xps import ETA, RATIO, SPLIT, doublet, pseudo_voigt, s2p_recipe, synth_s2p
from xpsfit.errors import FitError
from xpsfit.model import bg_name, build_model, pv_unit
from xpsfit.spectrum import make_spectrum


def test_pv_kernel_matches_independent_formula_and_has_unit_area():
    x = np.linspace(150, 175, 20001)
    y = pv_unit(x, 162.3, 1.1, 0.3)
    assert np.allclose(y, pseudo_voigt(x, 1.0, 162.3, 1.1, 0.3), rtol=1e-12, atol=1e-15)
    # the Lorentzian part loses its tails outside the grid: (atan(2a/F) + atan(2b/F))/π inside
    inside = 0.7 + 0.3 * (math.atan(2 * 12.7 / 1.1) + math.atan(2 * 12.3 / 1.1)) / math.pi
    assert np.trapezoid(y, x) == pytest.approx(inside, rel=1e-6)


def test_doublet_minor_line_sits_exactly_at_splitting_with_ratio_area():
    sp, _ = synth_s2p(seed=None)
    model, params = build_model(s2p_recipe("none"), sp)
    c = model.components[0]
    assert c.doublet and params[c.names["splitting"]].value == SPLIT
    assert not params[c.names["splitting"]].vary and not params[c.names["ratio"]].vary
    pos, fw, ar, shape, spl, ra, *_ = model.unpack(params)
    lines = model.lines(pos, fw, ar, shape, spl, ra)
    major, minor = lines[0], lines[1]
    # minor line: same shape at +Δ, area ratio/(1+ratio) of the total
    assert np.allclose(minor, pseudo_voigt(model.x, ar[0] * RATIO / (1 + RATIO), pos[0] + SPLIT,
                                           fw[0], ETA), rtol=1e-10)
    assert np.allclose(major, pseudo_voigt(model.x, ar[0] / (1 + RATIO), pos[0], fw[0], ETA),
                       rtol=1e-10)
    expect = doublet(model.x, ar[0], pos[0], fw[0], eta=ETA)
    assert np.allclose(major + minor, expect, rtol=1e-10)


@pytest.mark.parametrize("background", ["shirley_active", "none"])
def test_analytic_jacobian_matches_finite_differences(background):
    rec = s2p_recipe(background, splitting_sigma=0.02)
    rec.shape_vary = True
    rec.components[1].ratio_sigma = 0.05
    sp, _ = synth_s2p(seed=3)
    model, params = build_model(rec, sp)
    params["S0_fwhm"].set(expr="1.1*polysulfide_fwhm")   # a link, chained through the Jacobian
    model.prepare(params)
    params.update_constraints()
    jac = model.jacobian(params)
    r0 = model.residual(params)
    assert jac.shape == (r0.size, len(model._var_names))
    for j, v in enumerate(model._var_names):
        h = 1e-7 * max(1.0, abs(params[v].value))
        q = params.copy()
        q[v].value += h
        q.update_constraints()
        fd = (model.residual(q) - r0) / h
        scale = np.abs(fd).max() + 1e-12
        assert np.abs(jac[:, j] - fd).max() / scale < 2e-3, v


def test_active_shirley_background_is_c0_plus_k_times_peak_integral():
    sp, _ = synth_s2p(seed=None)
    model, params = build_model(s2p_recipe("shirley_active"), sp)
    params[bg_name("c0")].value = 100.0
    params[bg_name("k")].value = 0.05
    comps, bg, env = model.model_curves(params)
    peaks = comps.sum(axis=0)
    cum = np.concatenate([[0], np.cumsum(0.5 * (peaks[1:] + peaks[:-1]) * np.diff(model.x))])
    assert np.allclose(bg, 100.0 + 0.05 * cum)
    assert np.allclose(env, peaks + bg)


def test_poisson_weights_from_raw_counts():
    sp, _ = synth_s2p(seed=1)
    model, _ = build_model(s2p_recipe("none"), sp)
    assert model.absolute_weights
    assert np.allclose(model.sigma, np.sqrt(np.maximum(model.y, 1)))


def test_counts_per_second_get_relative_weights_on_an_estimated_count_scale():
    sp, _ = synth_s2p(seed=1)
    cps = sp / 7.5
    cps.attrs = dict(sp.attrs, counts_unit="counts/s")
    model, _ = build_model(s2p_recipe("none"), cps)
    assert not model.absolute_weights
    # the scale recovered from the noise is close to the true 7.5 counts per unit
    assert model.count_scale == pytest.approx(7.5, rel=0.35)


def _spectrum(y, x=None):
    x = np.linspace(156, 170, len(y)) if x is None else x
    return make_spectrum(x, y, region="S 2p", source_file="bad.vms")


@pytest.mark.parametrize("y, message", [
    (np.full(141, 500.0), "constant"),
    (np.r_[np.full(70, 500.0), -3.0, np.full(70, 510.0)], "negative"),
])
def test_bad_counts_raise_fit_error_naming_the_file(y, message):
    with pytest.raises(FitError, match=message) as info:
        build_model(s2p_recipe("none"), _spectrum(y))
    assert "bad.vms" in str(info.value) and "\n" not in str(info.value)


def test_nan_counts_raise_fit_error():
    sp, _ = synth_s2p(seed=1)
    sp = sp.copy()
    sp.values[10] = np.nan
    with pytest.raises(FitError, match="NaN"):
        build_model(s2p_recipe("none"), sp)


def test_range_without_data_and_too_few_points_and_components_outside():
    sp, _ = synth_s2p(seed=1)
    with pytest.raises(FitError, match="holds no data"):
        build_model(s2p_recipe("none", rng=(200.0, 210.0)), sp)
    with pytest.raises(FitError, match="too few points"):
        build_model(s2p_recipe("none"), synth_s2p(seed=1, npts=15)[0])
    rec = s2p_recipe("none")
    rec.components[0].window = (180.0, 181.0)
    rec.components[0].position = 180.5
    with pytest.raises(FitError, match="outside the data"):
        build_model(rec, sp)
