"""Backgrounds against synthetic spectra with known background (Shirley, Tougaard, linear)."""
import math

import numpy as np
import pytest
from scipy import integrate

from xpsfit.numerics import backgrounds as bgs
from xpsfit.errors import FitError


def gaussian(x, area, center, fwhm):
    s = fwhm / (2 * math.sqrt(2 * math.log(2)))
    return area * np.exp(-0.5 * ((x - center) / s) ** 2) / (s * math.sqrt(2 * math.pi))


def s2p_doublet(x, area=5000.0, center=161.6):
    """S 2p: 2p3/2 and 2p1/2 (+1.18 eV, half the area), plus a weaker second species."""
    return (gaussian(x, area, center, 0.9) + gaussian(x, area / 2, center + 1.18, 0.9)
            + gaussian(x, area / 3, center + 1.5, 1.0) + gaussian(x, area / 6, center + 2.68, 1.0))


def test_shirley_recovers_the_true_background_of_a_synthetic_doublet():
    # xps_domain.md §5.1: y = P + b0 + k·∫P is a fixed point of the iteration
    x = np.arange(154.0, 172.0 + 1e-9, 0.1)
    peaks = s2p_doublet(x)
    true_bg = 800.0 + 0.04 * integrate.cumulative_trapezoid(peaks, x, initial=0.0)
    bg, n_iter, converged = bgs.shirley(x, peaks + true_bg, tol=1e-8, return_info=True)
    step = true_bg[-1] - true_bg[0]
    assert converged and n_iter <= 30
    assert np.max(np.abs(bg - true_bg)) < 1e-6 * step
    assert bg[0] == pytest.approx(800.0, rel=1e-9)


def test_shirley_default_tolerance_and_info_flags():
    x = np.arange(154.0, 172.0 + 1e-9, 0.1)
    peaks = s2p_doublet(x)
    y = peaks + 500.0 + 0.1 * integrate.cumulative_trapezoid(peaks, x, initial=0.0)
    bg, n_iter, converged = bgs.shirley(x, y, return_info=True)
    assert converged and 1 < n_iter < 20
    np.testing.assert_array_equal(bg, bgs.shirley(x, y))
    # one iteration is not enough: the fixed point is then solved directly (same background)
    bg1, n1, conv1 = bgs.shirley(x, y, max_iter=1, return_info=True)
    assert n1 == 1 and conv1 and np.max(np.abs(bg1 - bg)) < 1e-4 * np.ptp(bg)
    # the background steps on the high-BE side and stays between the end levels
    lo, hi = bgs.endpoint_levels(y, 5)
    assert bg[0] == pytest.approx(lo) and bg[-1] == pytest.approx(hi)
    assert np.all(np.diff(bg) >= -1e-9)


def test_shirley_flat_and_degenerate_inputs_never_nan():
    x = np.linspace(100, 110, 51)
    bg, n, conv = bgs.shirley(x, np.full(51, 42.0), return_info=True)
    np.testing.assert_array_equal(bg, 42.0)
    assert conv and n == 1
    # ends differ but the data above I_lo integrates to exactly zero: no Shirley step can be
    # normalised, so the linear background is returned and flagged
    x4, y4 = np.arange(4.0), np.array([0.0, -0.25, -0.25, 1.0])
    bg, n, conv = bgs.shirley(x4, y4, endpoints=1, return_info=True)
    assert not conv and n == 1
    np.testing.assert_allclose(bg, x4 / 3.0)


def test_shirley_refuses_descending_axis_and_bad_data():
    x = np.linspace(172, 154, 181)
    y = s2p_doublet(x) + 100
    with pytest.raises(ValueError, match="ascending"):
        bgs.shirley(x, y)
    with pytest.raises(FitError, match="ascending"):
        bgs.linear(x, y)
    with pytest.raises(ValueError, match="NaN"):
        bgs.shirley(x[::-1], np.where(np.arange(181) == 3, np.nan, y))
    with pytest.raises(ValueError, match="endpoints"):
        bgs.shirley(np.arange(6.0), np.arange(6.0), endpoints=5)
    with pytest.raises(ValueError, match="equal length"):
        bgs.tougaard(np.arange(6.0), np.arange(5.0))


def test_cumulative_integral_and_active_shirley_step():
    x = np.sort(np.random.default_rng(1).uniform(150, 175, 140))
    peaks = np.vstack([s2p_doublet(x), gaussian(x, 10.0, 160.0, 1.0)])
    c = bgs.cumulative_integral(x, peaks)
    np.testing.assert_allclose(c, integrate.cumulative_trapezoid(peaks, x, axis=-1, initial=0.0),
                               rtol=1e-12, atol=1e-12)
    step = bgs.shirley_step(x, peaks[0])
    assert step[0] == 0.0 and step[-1] == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(step) >= 0)
    np.testing.assert_array_equal(bgs.shirley_step(x, np.zeros_like(x)), 0.0)


def u2_matrix(x, B, C):
    """Independent discretisation: T[i, j] = trapezoid weight_j(i) · K(x_i − x_j), j ≤ i."""
    n = x.size
    t = np.zeros((n, n))
    for i in range(1, n):
        for j in range(i + 1):
            w = 0.0
            if j > 0:
                w += 0.5 * (x[j] - x[j - 1])
            if j < i:
                w += 0.5 * (x[j + 1] - x[j])
            d = x[i] - x[j]
            t[i, j] = w * B * d / (C + d * d) ** 2
    return t


@pytest.mark.parametrize("uniform", [True, False])
def test_tougaard_recovers_a_spectrum_built_with_the_same_kernel(uniform):
    x = np.linspace(150.0, 230.0, 161)
    if not uniform:
        x = x + 0.15 * np.sin(np.arange(x.size))    # still ascending, steps 0.2–0.8 eV
    primary = s2p_doublet(x, area=20000.0, center=160.0)
    b_true, level = 900.0, 300.0
    t = u2_matrix(x, b_true, 1643.0)
    # measured y - level = primary + T (y - level)  ->  (1 - T) g = primary
    g = np.linalg.solve(np.eye(x.size) - t, primary)
    y = level + g
    exact = bgs.tougaard(x, y, B=b_true, fit_B=False)
    np.testing.assert_allclose(y - exact, primary, atol=1e-9 * primary.max())
    fitted = bgs.tougaard(x, y, B=2866.0, fit_B=True)       # B found from the high-BE end
    np.testing.assert_allclose(y - fitted, primary, atol=1e-6 * primary.max())


def test_tougaard_kernel_u2_peaks_at_sqrt_c_over_3():
    t = np.linspace(0, 100, 100001)
    k = bgs.tougaard_kernel(t)
    assert t[np.argmax(k)] == pytest.approx(math.sqrt(1643 / 3), abs=1e-3)   # 23.4 eV
    assert bgs.tougaard_kernel(0.0) == 0.0 and bgs.tougaard_kernel(-5.0) == 0.0


def test_linear_through_endpoint_averages():
    x = np.linspace(280, 295, 151)
    base = 50.0 + 3.0 * (x - 280)
    y = base + gaussian(x, 100.0, 287.0, 1.2)
    np.testing.assert_allclose(bgs.linear(x, y, endpoints=5), base, rtol=1e-9)
    one = bgs.linear(x, y + np.where(x == x[0], 7.0, 0.0), endpoints=1)
    assert one[0] == pytest.approx(y[0] + 7.0) and one[-1] == pytest.approx(y[-1])
    np.testing.assert_array_equal(bgs.none(x, y), np.zeros_like(x))
    assert bgs.endpoint_levels(np.arange(10.0), 3) == (1.0, 8.0)
    assert bgs.BACKGROUNDS == ("shirley", "shirley_active", "tougaard", "linear", "none")
