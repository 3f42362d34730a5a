"""One engine under every front-end: Jacobians for every shape × background × front-end, the same
answers from single, joint and map fits of the same problem, and the bugs the three old copies had.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import xpsfit
from realdata import EXAMPLES
from synth_xps import S2P_TRUTH, s2p_recipe, synth_s2p
from xpsfit.engine.assemble import spectrum_result
from xpsfit.engine.data import prepare_rows, prepare_spectra
from xpsfit.engine.evaluate import evaluate
from xpsfit.engine.solvers import solve_trf
from xpsfit.engine.structure import compile_problem
from xpsfit.errors import FitError, RecipeError
from xpsfit.fitting.pixels import fit_spectra, template_spectrum
from xpsfit.fitting.series import fit_series
from xpsfit.numerics.lineshapes import LINESHAPES

SHAPES = list(LINESHAPES)
BACKGROUNDS = ["shirley_active", "shirley", "tougaard", "linear", "none"]
#: shape parameters away from their bounds (the FD step must fit inside)
SHAPE_VALUES = {"pseudo_voigt": {"eta": 0.3}, "gl_product": {"m": 0.3}, "gl_sum": {"m": 0.4},
                "voigt": {"lorentz_fwhm": 0.3}, "doniach_sunjic": {"alpha": 0.08, "lorentz_fwhm": 0.3},
                "la": {"alpha": 1.3, "beta": 1.6, "gauss_fwhm": 0.6},
                "la_casa": {"alpha": 1.3, "beta": 1.6, "m": 80.0}}
TWO = {k: S2P_TRUTH[k] for k in ("PS4", "S0")}


def _recipe(shape: str, background: str, *, vary_shape=True):
    rec = s2p_recipe(background, truth=TWO, splitting_sigma=0.02,
                     priors=[], links=["fwhm(S0) = 1.1 * fwhm(PS4)"])
    rec.lineshape = shape
    rec.shape = dict(SHAPE_VALUES[shape])
    rec.shape_vary = vary_shape
    return rec


def _spectra(n: int, shift: float = 0.05):
    out = []
    for j in range(n):
        sp, _ = synth_s2p(seed=10 + j, truth=TWO, npts=71)
        sp = sp.assign_coords(binding_energy=sp.binding_energy.values + j * shift)
        sp.attrs = dict(sp.attrs, label=f"state {j}", block_index=j)
        out.append(sp)
    return out


def _check_jacobian(st, data, theta, tol):
    r, J = evaluate(st, theta, data)
    worst = 0.0
    for v in range(st.n_vars):
        h = 1e-6 * max(1.0, abs(theta[0, v]))
        up, down = theta.copy(), theta.copy()
        up[:, v] += h
        down[:, v] -= h
        fd = (evaluate(st, up, data, jacobian=False)[0]
              - evaluate(st, down, data, jacobian=False)[0]) / (2 * h)
        worst = max(worst, np.abs(J[..., v] - fd).max() / (np.abs(fd).max() + 1e-12))
    assert worst < tol, worst


def _start(st, data):
    rng = np.random.default_rng(5)
    theta = data.theta0 * (1 + 0.02 * rng.standard_normal(data.theta0.shape))
    span = np.where(np.isfinite(st.hi - st.lo), st.hi - st.lo, 0.0)
    return np.clip(theta, st.lo + 1e-3 * span, st.hi - 1e-3 * span)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("front", ["single", "joint", "batched"])
def test_jacobian_every_shape_and_front_end(shape, front):
    """Line-shape derivatives (analytic or the registry's per-line differences), links, priors,
    shared columns and shifts, all chained to θ: against a central difference of the model."""
    background = "shirley_active" if front != "batched" else "shirley"
    rec = _recipe(shape, background)
    tol = 2e-6 if LINESHAPES[shape].analytic else 2e-4
    if front == "single":
        st = compile_problem(rec)
        data = prepare_spectra(st, _spectra(1))
    elif front == "joint":
        rec.priors = [xpsfit.recipe.spec.Prior("position(S0) - position(PS4)", 2.4, 0.1)]
        st = compile_problem(rec, 3, series=True)
        data = prepare_spectra(st, _spectra(3))
        assert st.use_shift and "s2_shift" in st.var_names and st.priors
    else:
        st = compile_problem(rec)
        ys = np.array([s.values for s in _spectra(3, shift=0.0)])
        data = prepare_rows(st, _spectra(1)[0].binding_energy.values, ys, absolute=True)
    _check_jacobian(st, data, _start(st, data), tol)


@pytest.mark.parametrize("background", BACKGROUNDS)
@pytest.mark.parametrize("front", ["single", "joint", "batched"])
def test_jacobian_every_background_and_front_end(background, front):
    rec = _recipe("pseudo_voigt", background)
    if front == "joint":
        st = compile_problem(rec, 2, series=True)
        data = prepare_spectra(st, _spectra(2))
    else:
        st = compile_problem(rec)
        sp = _spectra(2, shift=0.0)
        data = (prepare_spectra(st, sp[:1]) if front == "single" else
                prepare_rows(st, sp[0].binding_energy.values, np.array([s.values for s in sp]),
                             absolute=True))
    _check_jacobian(st, data, _start(st, data), 2e-6)


def _example(region, name="kb_series.vms"):
    spectra = [s for s in xpsfit.read(EXAMPLES / name) if s.attrs["region"] == region]
    recipe = xpsfit.load_recipe(EXAMPLES / ("s2p_sulfide.toml" if region == "S 2p"
                                            else "p2p_sulfide.toml"))
    return spectra, recipe


@pytest.mark.parametrize("region", ["S 2p", "P 2p"])
def test_single_joint_of_one_and_map_pixel_give_the_same_answer(region):
    """The same problem through three front-ends: one spectrum fitted alone, as a one-spectrum
    'series' without a shift (another column order, a static-Shirley pre-fit) and as a one-pixel
    map (batched LM instead of TRF). Single-spectrum fits of these models are multimodal (a
    single P 2p spectrum has minima 0.3 % apart in χ² with fractions 20–30 pp apart, which is
    why the study uses joint fits), so: wherever two front-ends reach the same χ² (1e-5), every
    fraction agrees to 1e-5 or to 1 % of its own σ (flat directions of the χ² surface); and most
    spectra reach the same minimum."""
    spectra, recipe = _example(region)
    plain = copy.deepcopy(recipe)
    plain.series.shift = "none"
    same = {"joint": 0, "pixel": 0}
    for sp in spectra:
        one = xpsfit.fit(sp, recipe)
        f1 = np.array([c.fraction for c in one.components])
        tol = np.maximum(1e-5, 1e-2 * np.array([c.fraction_stderr for c in one.components]))
        ser = fit_series([sp], plain, presence=False).results[0]
        x, y = sp.binding_energy.values, sp.values
        if x[0] > x[-1]:
            x, y = x[::-1], y[::-1]
        pix = fit_spectra(recipe, x, y[None, :], sp.attrs).values
        for name, redchi, frac in (("joint", ser.statistics.redchi,
                                    [c.fraction for c in ser.components]),
                                   ("pixel", pix["redchi"][0], pix["fraction"][0])):
            # same minimum: χ² within 1e-5 (with η fitted, TRF and LM stop ~1e-6 apart in χ² on
            # KB 4.0 V P 2p, fractions 2e-4 σ apart); then the fractions must agree
            if abs(redchi / one.statistics.redchi - 1) < 1e-5:
                same[name] += 1
                assert np.all(np.abs(np.asarray(frac) - f1) <= tol), (name, frac, f1, tol)
        if abs(ser.statistics.redchi / one.statistics.redchi - 1) < 1e-6:
            assert [c.fraction_stderr for c in ser.components] == pytest.approx(
                [c.fraction_stderr for c in one.components], rel=2e-3)
    assert same["joint"] >= 3 and same["pixel"] >= 3, same


def test_lmfit_cross_check_reaches_the_same_minimum():
    spectra, recipe = _example("S 2p")
    a = xpsfit.fit(spectra[2], recipe)
    b = xpsfit.fit(spectra[2], recipe, engine="lmfit")
    assert b.statistics.redchi == pytest.approx(a.statistics.redchi, rel=1e-6)
    np.testing.assert_allclose([c.fraction for c in b.components],
                               [c.fraction for c in a.components], atol=1e-5)


# ------------------------------------------------------------------ bugs of the three copies
def test_shared_quantity_that_the_recipe_fixes_is_a_recipe_error():
    rec = s2p_recipe()
    rec.series.shared = ["position", "fwhm", "shape"]      # eta is fixed (shape_vary false)
    with pytest.raises(RecipeError, match=r"series.shared.*shape") as info:
        fit_series(_spectra(2), rec, presence=False)
    assert "\n" not in str(info.value)
    rec.shape_vary = True                                   # now shape is fitted and shared
    res = fit_series([s for s in _spectra(2)], rec, presence=False)
    eta = res.parameters["PS4_eta"]
    assert eta.kind == "free" and "s1_PS4_eta" not in res.parameters


def test_library_aliases_work_in_links_and_priors_at_fit_time():
    spectra, recipe = _example("S 2p")
    rec = copy.deepcopy(recipe)
    lib_so4 = rec.library.region("S 2p").get("SOx")
    from xpsfit.recipe.spec import ComponentSpec
    rec.components.append(ComponentSpec(species=lib_so4.key, label=lib_so4.label,
                                        position=lib_so4.position, window=lib_so4.window,
                                        fwhm=1.2, fwhm_bounds=lib_so4.fwhm, doublet=True,
                                        splitting=1.18, ratio=0.5))
    rec.links = list(rec.links) + ["fwhm(SOx) = fwhm(PS4)"]
    rec.priors = list(rec.priors) + [xpsfit.recipe.spec.Prior("position(sulfate) - position(PS4)",
                                                         7.4, 0.3)]
    r = xpsfit.fit(spectra[4], rec)
    assert r.parameters["SO4_fwhm"].kind == "linked"
    assert r.parameters["SO4_fwhm"].value == pytest.approx(r.parameters["PS4_fwhm"].value)


def test_fit_refuses_what_fit_series_refuses():
    spectra, recipe = _example("S 2p")
    p2p = [s for s in xpsfit.read(EXAMPLES / "kb_series.vms") if s.attrs["region"] == "P 2p"]
    with pytest.raises(FitError, match="does not match the recipe region"):
        xpsfit.fit(p2p[0], recipe)
    with pytest.raises(FitError, match="does not match the recipe region"):
        fit_series(p2p[:2], recipe)
    far = copy.deepcopy(recipe)
    far.range = (300.0, 310.0)
    for call in (lambda: xpsfit.fit(spectra[0], far), lambda: fit_series(spectra[:2], far)):
        with pytest.raises(FitError, match="holds no data"):
            call()


def test_clipped_range_is_a_warning_naming_the_range_used():
    spectra, recipe = _example("S 2p")
    wide = copy.deepcopy(recipe)
    wide.range = (150.0, 171.0)                 # data start at 157 eV
    r = xpsfit.fit(spectra[0], wide)
    hit = [w for w in r.warnings if w.code == "range_clipped"]
    assert hit and "150–171" in hit[0] and "fitted on 157" in hit[0]


def test_zero_area_component_with_a_numeric_jacobian_keeps_the_other_sigmas():
    """gl_product used to go through a whole-model finite difference: one area ending at 0 made
    the covariance singular and every σ NaN. Now every shape brings its own derivatives and dead
    columns are left out. Data: three doublets of the fitted shape, no S0, on a Shirley step."""
    from xpsfit.numerics import lineshapes
    from xpsfit.spectrum import make_spectrum
    x = np.linspace(156.0, 170.0, 141)
    for shape in ("gl_product", "voigt"):
        kw = SHAPE_VALUES[shape]
        peaks = sum(sum(lineshapes.doublet(shape, x, a, e, f, 1.18, 0.5, **kw))
                    for k, (e, f, a) in S2P_TRUTH.items() if k != "S0")
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (peaks[1:] + peaks[:-1]) * np.diff(x))])
        sp = make_spectrum(x, peaks + 400.0 + 0.02 * cum, region="S 2p", source_file="exact")
        rec = s2p_recipe("shirley_active")
        rec.lineshape = shape
        rec.shape = dict(kw)
        r = xpsfit.fit(sp, rec)
        s0 = r.component("S0")
        assert s0.area < 1e-4 * r.component("PS4").area, (shape, s0.area)
        for c in r.components:
            if c.species != "S0":
                assert math.isfinite(c.fraction_stderr) and c.fraction_stderr > 0, (shape, c)
                assert c.fraction == pytest.approx(S2P_TRUTH[c.species][2] / 14500.0, abs=1e-4)
        assert not any(f.code == "covariance_singular" for f in r.flags), r.flags


def test_tougaard_endpoints_and_stored_b_are_honoured():
    sp, _ = synth_s2p(seed=2)
    base = s2p_recipe("tougaard")
    st = compile_problem(base)
    bg_default = prepare_spectra(st, [sp]).segments[0].background[0]
    five = copy.deepcopy(base)
    five.background.endpoints = 1
    bg_one = prepare_spectra(compile_problem(five), [sp]).segments[0].background[0]
    assert np.abs(bg_one - bg_default).max() > 1e-3          # endpoints reach the background
    stored = copy.deepcopy(base)
    stored.background.tougaard_fit_B = False
    stored.background.tougaard_B = 100.0
    stored2 = copy.deepcopy(stored)
    stored2.background.tougaard_B = 300.0
    b1 = prepare_spectra(compile_problem(stored), [sp]).segments[0].background[0]
    b3 = prepare_spectra(compile_problem(stored2), [sp]).segments[0].background[0]
    lo = b1[0]
    np.testing.assert_allclose(b3 - lo, 3.0 * (b1 - lo), rtol=1e-9, atol=1e-9)   # B scales it
    text = xpsfit.recipe_to_toml(stored)
    assert "tougaard_fit_B = false" in text


def test_one_correlation_and_at_bound_rule_in_single_and_series():
    from xpsfit.engine import rules
    spectra, recipe = _example("S 2p")
    one = xpsfit.fit(spectra[0], recipe)
    ser = fit_series(spectra[:2], recipe, presence=False)
    for notices in (one.warnings, ser.warnings):
        for w in notices:
            if w.code == "correlated":
                r = float(w.split("r = ")[1].rstrip(")"))     # printed to 3 decimals
                assert abs(r) >= rules.CORRELATION_WARN - 5e-4
    for rec in list(one.parameters.values()) + list(ser.parameters.values()):
        if rec.kind == "free":
            assert rec.at_bound == rules.at_bound(rec.value, rec.min, rec.max, rec.stderr)


def test_components_name_their_parameters_and_notices_are_structured():
    spectra, recipe = _example("S 2p")
    r = xpsfit.fit(spectra[4], recipe)
    for c in r.components:
        assert set(c.parameters) >= {"position", "fwhm", "area", "splitting", "ratio", "eta"}
        for q, name in c.parameters.items():
            assert name in r.parameters
    for w in r.warnings + r.flags:
        assert isinstance(w, xpsfit.Notice) and w.code
