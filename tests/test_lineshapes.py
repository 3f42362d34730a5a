"""Line shapes checked against analytic truth: areas, measured FWHM, published constants."""
import math

import numpy as np
import pytest
from scipy import integrate, special

from xpsfit import lineshapes as ls
from xpsfit.errors import RecipeError

ALL = list(ls.LINESHAPES)
CENTER = 165.0
AREA = 1234.5


def integral_all(func, **kw) -> float:
    """∫ over the real line: fine trapezoid over ±60 eV plus quad on the two infinite tails."""
    x = np.linspace(CENTER - 60, CENTER + 60, 240_001)
    core = integrate.trapezoid(func(x, **kw), x)
    f = lambda t: float(func(np.array([t]), **kw)[0])
    lo = integrate.quad(f, -np.inf, CENTER - 60, limit=200)[0]
    hi = integrate.quad(f, CENTER + 60, np.inf, limit=200)[0]
    return core + lo + hi


def measured_fwhm(func, **kw) -> float:
    """FWHM measured on a 0.2 meV grid with linear interpolation of the half-maximum crossings."""
    x = np.linspace(CENTER - 8, CENTER + 8, 80_001)
    y = func(x, **kw)
    half = 0.5 * y.max()
    idx = np.nonzero(y >= half)[0]
    lo, hi = idx[0], idx[-1]
    x_lo = np.interp(half, [y[lo - 1], y[lo]], [x[lo - 1], x[lo]])
    x_hi = np.interp(half, [y[hi + 1], y[hi]], [x[hi + 1], x[hi]])
    return x_hi - x_lo


SHAPE_CASES = [
    ("pseudo_voigt", {"eta": 0.0}), ("pseudo_voigt", {"eta": 0.2}), ("pseudo_voigt", {"eta": 1.0}),
    ("gl_product", {"m": 0.0}), ("gl_product", {"m": 0.3}), ("gl_product", {"m": 0.7}),
    ("gl_product", {"m": 1.0}),
    ("gl_sum", {"m": 0.0}), ("gl_sum", {"m": 0.3}), ("gl_sum", {"m": 1.0}),
    ("voigt", {"lorentz_fwhm": 0.1}), ("voigt", {"lorentz_fwhm": 1.5}), ("voigt", {"lorentz_fwhm": 0.0}),
    ("la", {}), ("la", {"alpha": 0.8, "beta": 2.0}), ("la", {"alpha": 1.5, "beta": 3.0, "gauss_fwhm": 0.05}),
]


@pytest.mark.parametrize("name,shape", SHAPE_CASES)
def test_area_over_real_line_equals_area_parameter(name, shape):
    func = lambda x: ls.evaluate(name, x, AREA, CENTER, 0.9, **shape)
    assert integral_all(func) == pytest.approx(AREA, rel=1e-4)


@pytest.mark.parametrize("shape", [{}, {"alpha": 0.2, "lorentz_fwhm": 0.4}, {"alpha": 0.0},
                                   {"alpha": 0.5, "lorentz_fwhm": 0.05}])
def test_doniach_sunjic_area_within_its_stated_window(shape):
    fwhm = 0.9
    kw = {**{"alpha": 0.05, "lorentz_fwhm": 0.2}, **shape}
    w = ls.olivero_fwhm(fwhm, kw["lorentz_fwhm"])
    x = np.linspace(CENTER + ls.DS_WINDOW[0] * w, CENTER + ls.DS_WINDOW[1] * w, 400_001)
    y = ls.doniach_sunjic(x, AREA, CENTER, fwhm, **kw)
    assert integrate.trapezoid(y, x) == pytest.approx(AREA, rel=1e-4)


@pytest.mark.parametrize("name,shape", SHAPE_CASES + [
    ("doniach_sunjic", {}), ("doniach_sunjic", {"alpha": 0.3, "lorentz_fwhm": 0.5})])
def test_true_fwhm_matches_measured_width(name, shape):
    func = lambda x: ls.evaluate(name, x, AREA, CENTER, 0.9, **shape)
    assert ls.true_fwhm(name, 0.9, **shape) == pytest.approx(measured_fwhm(func), rel=1e-3)


@pytest.mark.parametrize("name,shape", [c for c in SHAPE_CASES if c[0] != "la"] + [("la", {})])
def test_symmetric_shapes_peak_at_center(name, shape):
    x = CENTER + np.linspace(-3, 3, 6001)    # 1 meV grid through the centre
    y = ls.evaluate(name, x, AREA, CENTER, 0.9, **shape)
    assert x[np.argmax(y)] == pytest.approx(CENTER, abs=1e-9)
    np.testing.assert_allclose(y, y[::-1], rtol=1e-9, atol=1e-12 * y.max())


def test_gl_product_constants_match_the_domain_table():
    # xps_domain.md §4.2: area/(H·F) and true FWHM/F
    table = {0.0: (1.06447, 1.0), 0.1: (1.04800, 0.9817), 0.2: (1.04145, 0.9693), 0.3: (1.04199, 0.9614),
             0.5: (1.06199, 0.9560), 0.9: (1.24237, 0.9834), 1.0: (1.57080, 1.0)}
    for m, (area_factor, fwhm_ratio) in table.items():
        assert ls.gl_product_area_factor(m) == pytest.approx(area_factor, abs=1e-5)
        assert ls.true_fwhm("gl_product", 2.0, m=m) / 2.0 == pytest.approx(fwhm_ratio, abs=1e-4)
    # and the height the function returns is area / (F · factor)
    y0 = ls.gl_product(np.array([CENTER]), AREA, CENTER, 1.3, m=0.3)[0]
    assert y0 == pytest.approx(AREA / (1.3 * 1.04199), rel=1e-5)


def test_gl_product_area_factor_against_quadrature():
    for m in (0.05, 0.45, 0.95):
        f = lambda u: math.exp(-4 * math.log(2) * (1 - m) * u * u) / (1 + 4 * m * u * u)
        assert ls.gl_product_area_factor(m) == pytest.approx(integrate.quad(f, -np.inf, np.inf)[0], rel=1e-10)


@pytest.mark.parametrize("m", [0.0, 0.15, 0.3, 0.6, 1.0])
def test_gl_sum_fwhm_is_f_and_area_closed_form(m):
    f = 1.1
    func = lambda x: ls.gl_sum(x, AREA, CENTER, f, m=m)
    assert measured_fwhm(func) == pytest.approx(f, rel=1e-6)
    height = func(np.array([CENTER]))[0]
    assert AREA / (height * f) == pytest.approx((1 - m) * 1.0644670 + m * 1.5707963, rel=1e-7)


def test_pseudo_voigt_is_an_area_mix_of_unit_area_profiles():
    x = np.linspace(150, 180, 301)
    eta, f = 0.35, 1.2
    gauss = np.exp(-4 * math.log(2) * ((x - CENTER) / f) ** 2) * 2 / f * math.sqrt(math.log(2) / math.pi)
    lorentz = 2 / (math.pi * f) / (1 + 4 * ((x - CENTER) / f) ** 2)
    np.testing.assert_allclose(ls.pseudo_voigt(x, AREA, CENTER, f, eta=eta),
                               AREA * (eta * lorentz + (1 - eta) * gauss), rtol=1e-12)


@pytest.mark.parametrize("fg,fl", [(1.0, 0.1), (0.8, 0.3), (1.0, 1.0), (0.3, 2.0)])
def test_voigt_true_fwhm_agrees_with_olivero(fg, fl):
    assert ls.true_fwhm("voigt", fg, lorentz_fwhm=fl) == pytest.approx(ls.olivero_fwhm(fg, fl), rel=3e-4)
    # and the curve is scipy's unit-area profile times the area
    x = np.linspace(160, 170, 101)
    sigma, gamma = fg / (2 * math.sqrt(2 * math.log(2))), fl / 2
    np.testing.assert_allclose(ls.voigt(x, AREA, CENTER, fg, lorentz_fwhm=fl),
                               AREA * special.voigt_profile(x - CENTER, sigma, gamma), rtol=1e-12)


@pytest.mark.parametrize("fg,fl", [(0.8, 0.3), (1.0, 0.1), (0.3, 1.0)])
def test_la_symmetric_is_voigt(fg, fl):
    x = np.linspace(CENTER - 12, CENTER + 12, 2401)
    v = ls.voigt(x, AREA, CENTER, fg, lorentz_fwhm=fl)
    la = ls.la(x, AREA, CENTER, fl, alpha=1.0, beta=1.0, gauss_fwhm=fg)
    assert np.max(np.abs(la - v)) < 1e-4 * v.max()
    assert ls.true_fwhm("la", fl, gauss_fwhm=fg) == pytest.approx(ls.true_fwhm("voigt", fg, lorentz_fwhm=fl),
                                                                  rel=1e-5)


def test_doniach_sunjic_alpha_zero_is_window_scaled_voigt():
    fg, fl = 0.8, 0.3
    w = ls.olivero_fwhm(fg, fl)
    gamma = fl / 2
    window_fraction = (math.atan(40 * w / gamma) + math.atan(10 * w / gamma)) / math.pi
    x = np.linspace(CENTER - 12, CENTER + 12, 2401)
    v = ls.voigt(x, AREA, CENTER, fg, lorentz_fwhm=fl)
    ds = ls.doniach_sunjic(x, AREA, CENTER, fg, alpha=0.0, lorentz_fwhm=fl)
    assert np.max(np.abs(ds * window_fraction - v)) < 1e-4 * v.max()


def test_asymmetric_tails_go_to_high_binding_energy():
    x = np.linspace(CENTER - 10, CENTER + 10, 20001)
    ds = ls.doniach_sunjic(x, AREA, CENTER, 0.5, alpha=0.15, lorentz_fwhm=0.6)
    at = lambda d: np.interp(CENTER + d, x, ds)
    assert at(3.0) > 3 * at(-3.0)                 # domain doc: ~6x for the bare DS
    assert CENTER < x[np.argmax(ds)] < CENTER + 0.2
    la = ls.la(x, AREA, CENTER, 1.0, alpha=0.8, beta=2.5, gauss_fwhm=0.3)
    assert np.interp(CENTER + 3, x, la) > 5 * np.interp(CENTER - 3, x, la)


def test_bare_doniach_sunjic_matches_domain_checks():
    # xps_domain.md §4.7: alpha 0.15, gamma 0.3 -> max +0.04 eV to high BE, I(+3 eV)/I(-3 eV) ~ 6
    x = np.linspace(CENTER - 4, CENTER + 4, 80001)
    y = ls._ds_raw(CENTER - x, 0.15, 0.3)
    assert x[np.argmax(y)] - CENTER == pytest.approx(0.04, abs=0.01)
    assert np.interp(CENTER + 3, x, y) / np.interp(CENTER - 3, x, y) == pytest.approx(6, rel=0.1)


EXTREMES = {
    "pseudo_voigt": [{"eta": 0.0}, {"eta": 1.0}, {"eta": 1.5}],
    "gl_product": [{"m": 0.0}, {"m": 1.0}, {"m": 1e-12}, {"m": 1 - 1e-12}, {"m": -0.2}],
    "gl_sum": [{"m": 0.0}, {"m": 1.0}],
    "voigt": [{"lorentz_fwhm": 0.0}, {"lorentz_fwhm": 5.0}],
    "doniach_sunjic": [{"alpha": 0.0, "lorentz_fwhm": 0.0}, {"alpha": 0.5, "lorentz_fwhm": 5.0},
                       {"alpha": 0.5, "lorentz_fwhm": 0.0}],
    "la": [{"alpha": 0.55, "beta": 50.0, "gauss_fwhm": 0.0}, {"alpha": 0.1, "beta": 0.1},
           {"gauss_fwhm": 5.0}],
    "la_casa": [{"alpha": 0.55, "beta": 50.0, "m": 0.0}, {"alpha": 1.4, "beta": 1.7, "m": 499.0},
                {"m": -3.0}],
}


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("fwhm", [0.0, 1e-9, 1e-3, 1.0, 10.0])
def test_no_nan_for_zero_width_or_extreme_shape_parameters(name, fwhm):
    x = np.linspace(150, 180, 141)
    for shape in EXTREMES[name] + [{}]:
        y = ls.evaluate(name, x, AREA, CENTER + 0.013, fwhm, **shape)
        assert np.all(np.isfinite(y)), (name, fwhm, shape)
        assert np.all(y >= -1e-9 * max(1.0, np.abs(y).max())), (name, fwhm, shape)
        assert np.isfinite(ls.true_fwhm(name, fwhm, **shape)), (name, fwhm, shape)


@pytest.mark.parametrize("name", ALL)
def test_scalar_x_and_center_outside_data_work(name):
    y = ls.evaluate(name, 165.0, AREA, CENTER, 1.0)
    assert np.ndim(y) == 0 and y > 0
    far = ls.evaluate(name, np.linspace(100, 110, 11), AREA, CENTER, 1.0)
    assert np.all(np.isfinite(far)) and far.max() < 1e-2 * y


def test_doublet_areas_and_positions():
    x = np.linspace(150, 180, 30001)
    major, minor = ls.doublet("gl_product", x, 900.0, 161.6, 1.0, 1.18, 0.5, m=0.3)
    assert integrate.trapezoid(major, x) == pytest.approx(600.0, rel=1e-6)
    assert integrate.trapezoid(minor, x) == pytest.approx(300.0, rel=1e-6)
    assert x[np.argmax(major)] == pytest.approx(161.6, abs=1e-9)
    assert x[np.argmax(minor)] == pytest.approx(161.6 + 1.18, abs=1e-9)
    np.testing.assert_allclose(minor, 0.5 * ls.gl_product(x, 600.0, 162.78, 1.0, m=0.3), rtol=1e-12)


def test_unknown_names_raise_recipe_error_listing_valid_ones():
    with pytest.raises(RecipeError, match="pseudo_voigt.*gl_product.*la"):
        ls.get_lineshape("gaussian")
    with pytest.raises(RecipeError, match="valid: m"):
        ls.evaluate("gl_product", np.zeros(3), 1.0, 0.0, 1.0, eta=0.3)


def test_registry_is_consistent():
    assert set(ALL) == {"pseudo_voigt", "gl_product", "gl_sum", "voigt", "doniach_sunjic", "la",
                        "la_casa"}
    for name, shape in ls.LINESHAPES.items():
        assert shape.name == name
        for key, (default, lo, hi) in shape.shape_params.items():
            assert lo <= default <= hi, (name, key)
