"""Joint series fits: truth recovery on a synthetic series and on the shipped example series,
modes, labels/order and bad input."""
import math

import numpy as np
import pytest

from series_data import (SYNTH_SHIFTS, example_series, synth_fractions, synth_series,
                         true_fractions)
from synth_xps import S2P_TRUTH, s2p_recipe
from xpsfit.errors import FitError
from xpsfit.fitting.series import default_labels, fit_series, resolve_order


def test_noise_free_synthetic_series_is_recovered_exactly():
    spectra = synth_series(seed=None)
    res = fit_series(spectra, s2p_recipe("shirley_active"), presence=False)
    assert res.mode == "joint" and res.statistics.success
    for k, r in enumerate(res.results):
        truth = synth_fractions(k)
        for c in r.components:
            assert c.fraction == pytest.approx(truth[c.species], abs=1e-3), (k, c.species)
            if truth[c.species] > 0:
                assert c.position == pytest.approx(S2P_TRUTH[c.species][0] + SYNTH_SHIFTS[k],
                                                   abs=2e-3)
    for k, sh in enumerate(SYNTH_SHIFTS):
        assert res.parameters[f"s{k}_shift"].value == pytest.approx(sh, abs=2e-3)
    assert res.parameters["s0_shift"].kind == "fixed"       # reference spectrum


def test_joint_covariance_gives_per_spectrum_fraction_sigma():
    res = fit_series(synth_series(seed=3), s2p_recipe("shirley_active"), presence=False)
    for k, r in enumerate(res.results):
        fr = [c.fraction for c in r.components]
        assert sum(fr) == pytest.approx(1.0)
        for c in r.components:
            assert math.isfinite(c.fraction_stderr) and c.fraction_stderr > 0
            # noisy truth within 4σ (+ 0.5 pp) of the joint estimate
            assert abs(c.fraction - synth_fractions(k)[c.species]) < 4 * c.fraction_stderr + 5e-3
    assert res.covariance.shape == (len(res.covariance_names),) * 2
    # shared quantities are one parameter; areas one per spectrum
    assert "PS4_fwhm" in res.parameters and "s2_PS4_area" in res.parameters
    assert "s2_PS4_fwhm" not in res.parameters


@pytest.fixture(scope="module")
def kb_s2p():
    spectra, recipe = example_series("kb_series.vms", "S 2p")
    return fit_series(spectra, recipe, presence=False)


def test_example_series_joint_fit_recovers_truth(kb_s2p):
    err = [abs(c.fraction - true_fractions(r)[c.species]) for r in kb_s2p.results
           for c in r.components]
    assert max(err) < 0.04 and np.median(err) < 0.012
    assert kb_s2p.labels == ["pristine", "3.6 V", "3.8 V", "4.0 V", "4.3 V"]


def test_joint_beats_independent_fits_on_example_p2p():
    spectra, recipe = example_series("kb_series.vms", "P 2p")
    errs = {}
    for mode in ("joint", "independent", "propagate"):
        res = fit_series(spectra, recipe, mode=mode, presence=False)
        assert res.mode == mode and len(res.results) == 5
        errs[mode] = max(abs(c.fraction - true_fractions(r)[c.species]) for r in res.results
                         for c in r.components)
    assert errs["joint"] < 0.04
    assert errs["joint"] < errs["independent"]


def test_labels_strip_common_prefix_and_order_resolution():
    spectra, _ = example_series("kb_series.vms", "S 2p")
    labels = default_labels(spectra)
    assert labels == ["pristine", "3.6 V", "3.8 V", "4.0 V", "4.3 V"]
    rev = list(reversed(spectra))
    assert resolve_order("voltage", rev, default_labels(rev)) == [4, 3, 2, 1, 0]
    assert resolve_order("4.3V, KB pristine,3.6 V,3.8 V,4.0 V", spectra, labels) == \
        [4, 0, 1, 2, 3]
    with pytest.raises(FitError, match="unknown spectra: '3.7 V'.*labels are: pristine"):
        resolve_order("pristine,3.7 V", spectra, labels)


def test_order_and_label_override_apply_to_results():
    spectra = synth_series(seed=1)
    res = fit_series(spectra, s2p_recipe("shirley_active"), labels=["a", "b", "c", "d"],
                     order="d,c,b,a", presence=False)
    assert res.labels == ["d", "c", "b", "a"]
    assert [r.spectrum.attrs["block_index"] for r in res.results] == [3, 2, 1, 0]


def test_bad_input_mixed_regions_missing_range_unknown_mode():
    import xpsfit
    from realdata import EXAMPLES
    _, recipe = example_series("kb_series.vms", "S 2p")
    both = xpsfit.read(EXAMPLES / "kb_series.vms")[:2]          # S 2p and P 2p
    with pytest.raises(FitError, match="different regions.*S 2p.*P 2p"):
        fit_series(both, recipe)
    short = synth_series(seed=1)[:2]
    with pytest.raises(FitError, match="holds no data"):
        fit_series(short, s2p_recipe("shirley_active", rng=(200.0, 210.0)))
    with pytest.raises(FitError, match="unknown series mode"):
        fit_series(short, s2p_recipe(), mode="bogus")
