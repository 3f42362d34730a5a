"""Flags and warnings of a single fit that the reliability review found wrong or missing:

* "has zero area" only for an area ON its lower bound, not for an interior area whose σ is huge;
* "no uncertainty for …" checks each component's own parameters;
* "fractions undetermined": a fit in which no component is significant is not a success.
"""
from __future__ import annotations

import numpy as np

import xpsfit
from synth_xps import S2P_TRUTH, s2p_recipe, synth_s2p
from xpsfit.engine.assemble import solved, spectrum_result
from xpsfit.engine.data import prepare_spectra
from xpsfit.engine.solvers import solve_trf
from xpsfit.engine.structure import compile_problem
from xpsfit.spectrum import make_spectrum


def _flat_spectrum(level: float, seed: int):
    """A peakless S 2p region: Poisson noise on a constant level."""
    x = np.linspace(156.0, 170.0, 141)
    y = np.random.default_rng(seed).poisson(level, x.size).astype(float)
    return make_spectrum(x, y, region="S 2p", source_file="flat")


def test_interior_area_with_huge_sigma_is_not_called_zero():
    """10¹⁵ counts per channel, no peaks (seed 2, active Shirley): the areas end inside their
    range with σ ≈ 10⁸. They are 'at a bound' by the σ-relative test, but only areas that are
    really 0 (≤ 1e-6 of the signal area) may be called zero."""
    spectrum = _flat_spectrum(1e15, seed=2)
    result = xpsfit.fit(spectrum, s2p_recipe("shirley_active"))
    y = spectrum.values
    scale = float(np.trapezoid(y - y.min(), spectrum["binding_energy"].values))
    for c in result.components:
        said_zero = f"{c.species} has zero area: its position and width are not determined " \
                    "by the data" in result.warnings
        assert said_zero == (c.area <= 1e-6 * scale), (c.species, c.area, scale, result.warnings)
    # the review's case: an area at ~500 000 counts·eV was called zero
    s0 = result.component("S0")
    assert s0.area > 1e3 * 1e-6 * scale
    assert not any(w.startswith("S0 has zero area") for w in result.warnings)


def test_component_without_signal_still_has_zero_area():
    truth = dict(S2P_TRUTH, **{"S2-": (160.20, 1.05, 0.0)})
    spectrum, _ = synth_s2p(truth=truth, seed=7)
    result = xpsfit.fit(spectrum, s2p_recipe(truth=truth))
    assert any(w.startswith("S2- has zero area") for w in result.warnings)
    assert result.component("S2-").area < 1e-6
    assert not any(w.startswith(f"{s} has zero area") for s in ("PS4", "polysulfide", "S0")
                   for w in result.warnings)


def test_missing_uncertainty_names_each_components_own_parameters():
    """A covariance whose variances all overflowed leaves every σ undefined. Each component's free
    parameters must be named, once each — not the last parameter repeated once per component;
    one overflowed variance makes only the quantities that depend on it undefined."""
    truth = S2P_TRUTH
    spectrum, _ = synth_s2p(truth=truth, seed=11)
    recipe = s2p_recipe("shirley", truth={k: v for k, v in truth.items() if k != "S0"})
    st = compile_problem(recipe)
    data = prepare_spectra(st, [spectrum])
    s = solved(st, data, solve_trf(st, data))
    assert s.cov is not None
    s.cov = np.full_like(s.cov, np.inf)
    with np.errstate(over="ignore", invalid="ignore"):     # the overflow is the point
        result = spectrum_result(s, 0)
    missing = [f for f in result.flags if f.startswith("no uncertainty for ")]
    assert missing and len(missing) == len(set(missing)), missing
    assert all(f.code == "no_uncertainty" and f.parameter for f in missing)
    for c in result.components:
        own_free = [n for n in c.parameters.values() if result.parameters[n].kind == "free"]
        for name in own_free:
            assert f"no uncertainty for {name}" in result.flags, (name, result.flags)
    assert not result.success
    # one variance gone: only what depends on that variable loses its σ
    s.cov = solved(st, data, solve_trf(st, data)).cov
    first = st.var_names[0]
    s.cov[0, :] = s.cov[:, 0] = np.nan
    partial = spectrum_result(s, 0)
    assert not np.isfinite(partial.parameters[first].stderr)
    others = [n for n in st.var_names[1:] if np.isfinite(partial.parameters[n].stderr)]
    assert len(others) == st.n_vars - 1


def test_tiny_peaks_on_huge_background_are_flagged_undetermined():
    """Peaks of ~100 counts·eV on 10⁶ counts per channel: fractions like 0.80 ± 2.25 are not a
    result. The fit is flagged (success False) and each meaningless fraction is named."""
    truth = {k: (e, f, a * 0.01) for k, (e, f, a) in S2P_TRUTH.items()}
    spectrum, _ = synth_s2p(truth=truth, seed=5, base=1e6)
    result = xpsfit.fit(spectrum, s2p_recipe(truth=truth))
    assert "fractions undetermined: no component area exceeds 3σ" in result.flags
    assert not result.success
    assert all(not (c.area > 3 * c.area_stderr) for c in result.components)
    for c in result.components:
        if c.fraction_stderr > c.fraction and not any(
                w.startswith(f"{c.species} has zero area") for w in result.warnings):
            assert any(w.startswith(f"{c.species} fraction ") and "exceeds the value" in w
                       for w in result.warnings), (c.species, result.warnings)


def test_clean_spectrum_has_no_significance_flag():
    """The normal case stays a success: every area well above 3σ, no fraction warning."""
    spectrum, _ = synth_s2p(seed=3)
    result = xpsfit.fit(spectrum, s2p_recipe())
    assert result.success, result.flags
    assert not any("fractions undetermined" in f for f in result.flags)
    assert not any("exceeds the value" in w for w in result.warnings)
    assert result.component("PS4").area > 3 * result.component("PS4").area_stderr


def test_one_significant_component_among_noise_is_not_flagged():
    """A dominant component with undetermined minors: the fit is trusted (the minors are
    warned about individually)."""
    truth = {"PS4": (161.60, 1.00, 90000.0), "S2-": (160.20, 1.05, 30.0),
             "polysulfide": (163.10, 1.30, 30.0), "S0": (164.00, 1.20, 30.0)}
    spectrum, _ = synth_s2p(truth=truth, seed=2)
    result = xpsfit.fit(spectrum, s2p_recipe(truth=truth))
    assert not any("fractions undetermined" in f for f in result.flags)
    assert result.component("PS4").area > 3 * result.component("PS4").area_stderr
    warned = [c.species for c in result.components
              if any(w.startswith(f"{c.species} fraction ") for w in result.warnings)]
    assert warned and "PS4" not in warned
