"""Presence tests (nested F-test + area > 3σ) and onsets: a synthetic series with a clearly
absent and a clearly present component, the example series' truth, and the controls."""
import math

import pytest
from scipy import stats

from series_data import example_series, synth_series
from synth_xps import s2p_recipe
from xpsfit.fitting.presence import f_test
from xpsfit.fitting.series import fit_series


def test_f_test_matches_the_formula():
    F, p = f_test(chi0=180.0, chi1=120.0, ndata=141, p1=6)
    assert F == pytest.approx((60.0 / 1) / (120.0 / 135))
    assert p == pytest.approx(stats.f.sf(F, 1, 135))
    assert f_test(100.0, 100.0, 141, 6) == (0.0, 1.0)
    assert all(math.isnan(v) for v in f_test(10.0, 5.0, 5, 6))


@pytest.fixture(scope="module")
def synth():
    return fit_series(synth_series(seed=5), s2p_recipe("shirley_active"))


def test_absent_component_not_detected_and_present_component_detected(synth):
    s0 = {t.series_index: t for t in synth.presence if t.species == "S0"}
    for k in (0, 1):                       # truly absent: no significant F, upper limit given
        assert not s0[k].present
        assert s0[k].p_value > 0.05 or s0[k].area < 3 * s0[k].area_stderr
        assert 0 < s0[k].upper_limit < 0.03
    for k in (2, 3):                       # clearly present
        assert s0[k].present and s0[k].p_value < 1e-6 and s0[k].F > 30
        assert s0[k].area > 3 * s0[k].area_stderr
        assert math.isnan(s0[k].upper_limit)
    assert all(t.present for t in synth.presence if t.species == "PS4")
    # the per-spectrum FitResults carry the decision
    assert synth.results[3].component("S0").present is True
    assert synth.results[0].component("S0").present is False


def test_onset_sentence_and_fields(synth):
    on = {o.species: o for o in synth.onsets}
    assert on["S0"].index == 2 and on["S0"].label == "state 2"
    assert on["S0"].sentence.startswith("S0: appears at state 2 (F = ")   # label = key here
    assert "fraction = " in on["S0"].sentence and "±" in on["S0"].sentence
    assert on["PS4"].index == 0
    # present from the first state on is not an appearance: the sentence says so
    assert on["PS4"].sentence.startswith("PS4: present throughout, state 0 to state 3 (at "
                                         "state 0: F = ")
    assert "appears" not in on["PS4"].sentence


@pytest.mark.parametrize("file,region,species,onset", [
    ("kb_series.vms", "S 2p", "S0", "3.8 V"),
    ("cnf_series.vms", "S 2p", "S0", "4.3 V"),
    ("kb_series.vms", "P 2p", "POx", "4.0 V"),
    ("cnf_series.vms", "P 2p", "POx", "4.3 V"),
])
def test_example_onsets_match_truth(file, region, species, onset):
    spectra, recipe = example_series(file, region)
    res = fit_series(spectra, recipe)
    on = {o.species: o for o in res.onsets}
    assert on[species].label == onset, on[species].sentence
    assert on[species].p_value < 0.05


def test_controls_have_no_s0_upper_limit_sentence():
    import xpsfit
    from realdata import EXAMPLES
    from xpsfit.recipe.spec import load_recipe
    spectra = [s for s in xpsfit.read(EXAMPLES / "controls.vms") if s.attrs["region"] == "S 2p"]
    res = fit_series(spectra, load_recipe(EXAMPLES / "s2p_sulfide.toml"))
    on = {o.species: o for o in res.onsets}
    assert on["S0"].index is None and on["S0"].label is None
    assert on["S0"].sentence.startswith("S⁰: not detected (fraction < ")
    assert on["S0"].sentence.endswith("% at every state)")
    assert on["polysulfide"].index == 0
    # the library's chemical labels, not recipe keys, wherever a person reads
    assert on["polysulfide"].sentence.startswith("Sₙ²⁻ / P–S–P: present throughout, ")


def test_a_detection_the_background_choice_could_remove_is_named_not_hidden():
    """Two tiers on the example KB P 2p series: every test's `background_robust` agrees with
    its own numbers (area > 3σ_total); POₓ (truth 9 % from 4.0 V) is detected from 4.0 V. A
    detection that is not robust is named in the onset sentence with the state from which it is
    robust (the flag set by hand at 4.0 V: the sentence logic is the unit under test)."""
    import dataclasses
    from xpsfit.fitting.presence import onsets
    spectra, recipe = example_series("kb_series.vms", "P 2p")
    res = fit_series(spectra, recipe)
    for t in res.presence:
        c = res.results[t.series_index].component(t.species)
        assert t.area_stderr == pytest.approx(c.area_stderr_total)
        assert c.area_stderr_total >= c.area_stderr
        assert t.background_robust == (t.present and c.area > 3 * c.area_stderr_total)
    on = {o.species: o for o in res.onsets}["POx"]
    assert on.label == "4.0 V" and "background choice" not in on.sentence
    res.presence = [dataclasses.replace(t, background_robust=False)
                    if (t.species, t.label) == ("POx", "4.0 V") else t for t in res.presence]
    fragile = {o.species: o for o in onsets(res)}["POx"]
    assert fragile.label == "4.0 V"
    assert "at 4.0 V the detection depends on the background choice" in fragile.sentence
    assert fragile.sentence.endswith("robust from 4.3 V")
