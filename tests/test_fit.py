"""Single fits against known truth: positions, fractions, σ (covariance vs Monte Carlo),
backgrounds, links, priors, outputs."""
import math

import numpy as np
import pytest

from synth_xps import S2P_TRUTH, SPLIT, s2p_recipe, synth_s2p, true_fractions
from xpsfit.errors import Cancelled
from xpsfit import fit
from xpsfit.recipe import Prior


def _check_truth(result, pos_tol=0.05, frac_tol=0.02):
    truth = true_fractions()
    for c in result.components:
        assert abs(c.position - S2P_TRUTH[c.species][0]) < pos_tol, c.species
        assert abs(c.fraction - truth[c.species]) < frac_tol, c.species


def test_noise_free_spectrum_is_recovered_exactly_with_active_shirley():
    sp, clean = synth_s2p(seed=None)
    r = fit(sp, s2p_recipe("shirley_active"))
    assert r.success, r.flags
    _check_truth(r, pos_tol=1e-3, frac_tol=1e-3)
    for c in r.components:
        assert c.fwhm == pytest.approx(S2P_TRUTH[c.species][1], abs=2e-3)
        assert c.area == pytest.approx(S2P_TRUTH[c.species][2], rel=2e-3)
        assert c.splitting == SPLIT and c.ratio == 0.5
    assert r.parameters["bg_k"].value == pytest.approx(0.02, rel=1e-3)
    assert np.allclose(r.curves["envelope"].values, clean, rtol=1e-4)


def test_noisy_spectrum_positions_and_fractions_within_tolerance():
    sp, _ = synth_s2p(seed=7, scale=20.0)
    r = fit(sp, s2p_recipe("shirley_active"))
    assert r.success, r.flags
    _check_truth(r)
    st = r.statistics
    assert 0.7 < st.redchi < 1.4            # Poisson weights are absolute
    assert 0.6 < st.abbe < 1.4              # white residuals
    assert st.ndata == 141 and st.nvarys == 14
    assert math.isfinite(st.aic) and math.isfinite(st.bic)
    assert sum(c.fraction for c in r.components) == pytest.approx(1.0)


def test_fraction_sigma_from_covariance_agrees_with_monte_carlo():
    sp, _ = synth_s2p(seed=11, scale=5.0)
    r = fit(sp, s2p_recipe("shirley_active"), monte_carlo=60, seed=5)
    assert r.monte_carlo >= 55
    for c in r.components:
        assert c.fraction_stderr > 0 and c.fraction_mc_stderr > 0
        ratio = c.fraction_stderr / c.fraction_mc_stderr
        assert 1 / 1.5 < ratio < 1.5, (c.species, c.fraction_stderr, c.fraction_mc_stderr)


def test_fraction_sigma_is_propagated_with_area_correlations():
    sp, _ = synth_s2p(seed=2)
    r = fit(sp, s2p_recipe("shirley_active"))
    names = r.covariance_names
    idx = [names.index(f"{p}_area") for p in ("PS4", "S2m", "polysulfide", "S0")]
    cov_a = r.covariance[np.ix_(idx, idx)]
    a = np.array([c.area for c in r.components])
    # brute force: numerical gradient of f_i = A_i / ΣA
    for i, c in enumerate(r.components):
        g = np.zeros(4)
        for k in range(4):
            h = 1e-6 * a[k]
            b = a.copy()
            b[k] += h
            g[k] = (b[i] / b.sum() - a[i] / a.sum()) / h
        assert c.fraction_stderr == pytest.approx(math.sqrt(g @ cov_a @ g), rel=1e-4)
    # overlapping polysulfide / S0 are anti-correlated, and the report says so
    assert r.correlation[idx[2], idx[3]] < -0.5
    assert any("strongly correlated" in w for w in r.warnings)


@pytest.mark.parametrize("background, step", [("shirley", 0.02), ("shirley_active", 0.02),
                                               ("linear", 0.0), ("none", 0.0),
                                               ("tougaard", 0.0)])
def test_every_background_type_fits(background, step):
    sp, _ = synth_s2p(seed=3, scale=20.0, step=step, base=0.0 if background == "none" else 400.0)
    r = fit(sp, s2p_recipe(background))
    assert r.statistics.success
    for c in r.components:
        assert abs(c.position - S2P_TRUTH[c.species][0]) < 0.1
    if background != "tougaard":   # a Tougaard background on a narrow window is ill-posed
        _check_truth(r, pos_tol=0.1, frac_tol=0.03)
    bg = r.curves["background"].values
    assert np.all(np.isfinite(bg))


def test_links_tie_parameters_and_give_linked_records():
    sp, _ = synth_s2p(seed=4, scale=5.0)
    rec = s2p_recipe("shirley_active", links=["fwhm(S0) = fwhm(polysulfide)"])
    r = fit(sp, rec)
    p = r.parameters
    assert p["S0_fwhm"].kind == "linked" and p["S0_fwhm"].expr == "polysulfide_fwhm"
    assert p["S0_fwhm"].value == pytest.approx(p["polysulfide_fwhm"].value)
    assert p["S0_fwhm"].stderr == pytest.approx(p["polysulfide_fwhm"].stderr, rel=1e-6)
    assert r.statistics.nvarys == 13


def test_prior_pulls_the_constrained_quantity_and_is_reported():
    sp, _ = synth_s2p(seed=4, scale=5.0)
    rec = s2p_recipe("shirley_active",
                     priors=[Prior("position(S0) - position(polysulfide)", 0.5, 0.01)])
    r = fit(sp, rec)
    d = r.component("S0").position - r.component("polysulfide").position
    assert d == pytest.approx(0.5, abs=0.03)      # truth is 0.9: the prior wins
    assert r.statistics.prior_chisqr > 0
    assert r.statistics.chisqr > r.statistics.prior_chisqr


def test_soft_splitting_prior_frees_the_splitting_near_its_value():
    sp, _ = synth_s2p(seed=5, scale=5.0)
    r = fit(sp, s2p_recipe("shirley_active", splitting_sigma=0.02))
    for c in r.components:
        assert abs(c.splitting - SPLIT) < 0.06
    assert r.parameters["PS4_splitting"].kind == "free"
    assert r.parameters["PS4_splitting"].stderr < 0.02 * 1.01


def test_component_absent_from_the_data_goes_to_the_area_bound_with_a_warning():
    truth = dict(S2P_TRUTH)
    truth["S0"] = (164.0, 1.2, 0.0)
    sp, _ = synth_s2p(seed=None, truth=truth)
    r = fit(sp, s2p_recipe("shirley_active"))
    assert r.component("S0").fraction < 0.005
    assert any("S0_area is at a bound" in w for w in r.warnings)


def test_result_views_table_rows_dataset_report():
    sp, _ = synth_s2p(seed=6)
    r = fit(sp, s2p_recipe("shirley_active"))
    rows = r.table_rows()
    assert [row["species"] for row in rows] == list(S2P_TRUTH)
    for col in ("spectrum", "species", "area", "area_stderr", "fraction", "fraction_stderr",
                "position", "position_stderr", "fwhm", "fwhm_stderr"):
        assert col in rows[0]
    ds = r.to_dataset()
    assert ds["fraction"].dims == ("species",)
    assert float(ds["fraction"].sel(species="PS4")) == pytest.approx(r.component("PS4").fraction)
    assert ds["components"].shape == (4, 141)
    assert ds.attrs["redchi"] == r.statistics.redchi
    text = r.report()
    assert "PS4" in text and "reduced chi2" in text and "±" in text


def test_progress_callback_can_cancel():
    sp, _ = synth_s2p(seed=6)
    calls = []

    def progress(done, total, message):
        calls.append((done, total))
        return done >= 1
    with pytest.raises(Cancelled):
        fit(sp, s2p_recipe("shirley_active"), monte_carlo=5, progress=progress)
    assert calls[0] == (0, 6)


def test_table_and_figure_are_written(tmp_path):
    from xpsfit.export.tables import write_table
    from xpsfit.plots import save_fit_figure
    import csv
    sp, _ = synth_s2p(seed=6)
    r = fit(sp, s2p_recipe("shirley_active"))
    write_table([r, r], tmp_path / "t.csv")
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert len(rows) == 8 and float(rows[0]["fraction"]) == pytest.approx(r.components[0].fraction)
    save_fit_figure(r, tmp_path / "f.png")
    save_fit_figure(r, tmp_path / "f.pdf")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf", "f.png", "t.csv"]


def test_plot_axis_decreases_to_the_right():
    from xpsfit.plots import fit_figure
    sp, _ = synth_s2p(seed=6)
    r = fit(sp, s2p_recipe("shirley_active"))
    fig = fit_figure(r)
    ax, rax = fig.axes
    lo, hi = ax.get_xlim()
    assert lo > hi
    assert "binding energy" in rax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"PS4", "S2-", "data", "envelope"} <= set(labels)


def test_fast_solver_agrees_with_lmfit_leastsq():
    sp, _ = synth_s2p(seed=3, scale=5.0)
    a = fit(sp, s2p_recipe("shirley_active"))
    b = fit(sp, s2p_recipe("shirley_active"), engine="lmfit")
    assert a.statistics.chisqr == pytest.approx(b.statistics.chisqr, rel=1e-6)
    for c, d in zip(a.components, b.components):
        assert c.fraction == pytest.approx(d.fraction, abs=1e-5)
        assert c.fraction_stderr == pytest.approx(d.fraction_stderr, rel=1e-3)
