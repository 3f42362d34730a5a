"""The engine's model: doublet geometry, Jacobian, backgrounds, weights, bad input (known truth)."""
import math

import numpy as np
import pytest

from synth_xps import ETA, RATIO, SPLIT, doublet, pseudo_voigt, s2p_recipe, synth_s2p
from xpsfit.engine.data import prepare_spectra
from xpsfit.engine.evaluate import evaluate, segment_model
from xpsfit.engine.structure import compile_problem
from xpsfit.errors import FitError
from xpsfit.lineshapes import LINESHAPES
from xpsfit.spectrum import make_spectrum


def build(recipe, spectrum):
    st = compile_problem(recipe)
    return st, prepare_spectra(st, [spectrum])


def pv_unit(x, center, fwhm, eta):
    return LINESHAPES["pseudo_voigt"].profile(x, np.array([center]), np.array([fwhm]),
                                              {"eta": np.array([eta])})[0]


def test_pv_kernel_matches_independent_formula_and_has_unit_area():
    x = np.linspace(150, 175, 20001)
    y = pv_unit(x, 162.3, 1.1, 0.3)
    assert np.allclose(y, pseudo_voigt(x, 1.0, 162.3, 1.1, 0.3), rtol=1e-12, atol=1e-15)
    # the Lorentzian part loses its tails outside the grid: (atan(2a/F) + atan(2b/F))/π inside
    inside = 0.7 + 0.3 * (math.atan(2 * 12.7 / 1.1) + math.atan(2 * 12.3 / 1.1)) / math.pi
    assert np.trapezoid(y, x) == pytest.approx(inside, rel=1e-6)


def test_doublet_minor_line_sits_exactly_at_splitting_with_ratio_area():
    sp, _ = synth_s2p(seed=None)
    st, data = build(s2p_recipe("none"), sp)
    assert st.param("PS4_splitting").kind == "fixed" and st.param("PS4_splitting").value == SPLIT
    assert st.param("PS4_ratio").kind == "fixed"
    theta = data.theta0
    P = st.values(theta)[0]
    comps, _, _ = segment_model(st, 0, P[None, :], data)
    x = data.segments[0].x
    pos, fw, ar = (P[st.index[f"PS4_{q}"]] for q in ("position", "fwhm", "area"))
    # one component = both lines: the same shape at +Δ with ratio/(1+ratio) of the total area
    expect = doublet(x, ar, pos, fw, eta=ETA)
    assert np.allclose(comps[0, 0], expect, rtol=1e-10)
    major = pseudo_voigt(x, ar / (1 + RATIO), pos, fw, ETA)
    minor = pseudo_voigt(x, ar * RATIO / (1 + RATIO), pos + SPLIT, fw, ETA)
    assert np.allclose(comps[0, 0], major + minor, rtol=1e-10)


def _fd_check(st, data, theta, tol=2e-6):
    r, J = evaluate(st, theta, data)
    assert J.shape == (theta.shape[0], r.shape[1], st.n_vars)
    for v in range(st.n_vars):
        h = 1e-6 * max(1.0, abs(theta[0, v]))
        up, down = theta.copy(), theta.copy()
        up[:, v] += h
        down[:, v] -= h
        fd = (evaluate(st, up, data, jacobian=False)[0] -
              evaluate(st, down, data, jacobian=False)[0]) / (2 * h)
        scale = np.abs(fd).max() + 1e-12
        assert np.abs(J[..., v] - fd).max() / scale < tol, st.var_names[v]


@pytest.mark.parametrize("background", ["shirley_active", "none", "shirley", "linear",
                                        "tougaard"])
def test_jacobian_matches_finite_differences_with_links_and_priors(background):
    rec = s2p_recipe(background, splitting_sigma=0.02)
    rec.shape_vary = True
    rec.components[1].ratio_sigma = 0.05
    rec.links = ["fwhm(S0) = 1.1 * fwhm(polysulfide)"]
    sp, _ = synth_s2p(seed=3)
    st, data = build(rec, sp)
    assert st.param("S0_fwhm").kind == "linked" and st.affine
    theta = np.clip(data.theta0 * 1.01, st.lo, st.hi)
    _fd_check(st, data, theta)


def test_non_affine_link_uses_the_expression_fallback_with_a_correct_jacobian():
    rec = s2p_recipe("shirley_active")
    rec.links = ["area(S0) = area(polysulfide) * fwhm(PS4) / 2"]
    sp, _ = synth_s2p(seed=3)
    st, data = build(rec, sp)
    assert not st.affine
    theta = np.clip(data.theta0 * 1.01, st.lo, st.hi)
    P = st.values(theta)[0]
    assert P[st.index["S0_area"]] == pytest.approx(
        P[st.index["polysulfide_area"]] * P[st.index["PS4_fwhm"]] / 2, rel=1e-12)
    _fd_check(st, data, theta, tol=1e-4)


def test_active_shirley_background_is_c0_plus_k_times_peak_integral():
    sp, _ = synth_s2p(seed=None)
    st, data = build(s2p_recipe("shirley_active"), sp)
    P = st.values(data.theta0)
    P[0, st.index["bg_c0"]] = 100.0
    P[0, st.index["bg_k"]] = 0.05
    comps, bg, peaks = segment_model(st, 0, P, data)
    x = data.segments[0].x
    peaks = comps[0].sum(axis=0)
    cum = np.concatenate([[0], np.cumsum(0.5 * (peaks[1:] + peaks[:-1]) * np.diff(x))])
    assert np.allclose(bg[0], 100.0 + 0.05 * cum)


def test_poisson_weights_from_raw_counts():
    sp, _ = synth_s2p(seed=1)
    st, data = build(s2p_recipe("none"), sp)
    seg = data.segments[0]
    assert seg.absolute
    assert np.allclose(seg.sigma[0], np.sqrt(np.maximum(seg.y[0], 1)))


def test_counts_per_second_get_relative_weights_on_an_estimated_count_scale():
    sp, _ = synth_s2p(seed=1)
    cps = sp / 7.5
    cps.attrs = dict(sp.attrs, counts_unit="counts/s")
    _, data = build(s2p_recipe("none"), cps)
    assert not data.segments[0].absolute
    # the scale recovered from the noise is close to the true 7.5 counts per unit
    assert data.segments[0].count_scale[0] == pytest.approx(7.5, rel=0.35)


def _spectrum(y, x=None):
    x = np.linspace(156, 170, len(y)) if x is None else x
    return make_spectrum(x, y, region="S 2p", source_file="bad.vms")


@pytest.mark.parametrize("y, message", [
    (np.full(141, 500.0), "constant"),
    (np.r_[np.full(70, 500.0), -3.0, np.full(70, 510.0)], "negative"),
])
def test_bad_counts_raise_fit_error_naming_the_file(y, message):
    with pytest.raises(FitError, match=message) as info:
        build(s2p_recipe("none"), _spectrum(y))
    assert "bad.vms" in str(info.value) and "\n" not in str(info.value)


def test_nan_counts_raise_fit_error():
    sp, _ = synth_s2p(seed=1)
    sp = sp.copy()
    sp.values[10] = np.nan
    with pytest.raises(FitError, match="NaN"):
        build(s2p_recipe("none"), sp)


def test_range_without_data_and_too_few_points_and_components_outside():
    sp, _ = synth_s2p(seed=1)
    with pytest.raises(FitError, match="holds no data"):
        build(s2p_recipe("none", rng=(200.0, 210.0)), sp)
    with pytest.raises(FitError, match="too few points"):
        build(s2p_recipe("none"), synth_s2p(seed=1, npts=15)[0])
    rec = s2p_recipe("none")
    rec.components[0].window = (180.0, 181.0)
    rec.components[0].position = 180.5
    with pytest.raises(FitError, match="outside the data"):
        build(rec, sp)
