"""Calibration of the joint series fit on the example series: accuracy against truth.json and
honest fraction uncertainties (z = (fitted − true)/σ). Onsets: tests/test_presence.py.

Measured with the shipped recipes (active Shirley, static-Shirley pre-fit for start values,
one fitted η shared across each series), all 20 example spectra, 70 species fractions: worst
error 3.32 pp, median 0.56 pp; every |z| < 2 (max 1.76), rms z 0.77. With σ halved the same data
give max |z| 3.52, 76 % of |z| < 2 and rms z 1.54, so the assertions below fail if the σ were
underestimated 2×; with σ doubled rms z would be 0.38, so they also fail for σ inflated 2×.
(With η held at 0.2 — the value the example files were drawn with, so a held η is exactly right
here and nowhere else — the errors were 2.86 / 0.44 pp; the recipes fit η since issue 14 item 4,
docs/recipes.md "Line-shape default".)

The 2 pp worst-case target of issue 5 is below the counting noise of these spectra: the
reported σ of 29 of the 70 fractions exceed 2 pp (P 2p P2Sx/POx up to 4.9 pp) — see
``benchmarks/bench_series.py --mc N`` for the spread over fresh noise draws.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from realdata import EXAMPLES
from series_data import example_series, true_fractions, truth_blocks
from xpsfit.fitting.series import fit_series
from xpsfit.spectrum import make_spectrum

SERIES = [(f, r) for f in ("cnf_series.vms", "kb_series.vms") for r in ("S 2p", "P 2p")]


@pytest.fixture(scope="module")
def joint_fits():
    out = {}
    for file, region in SERIES:
        spectra, recipe = example_series(file, region)
        out[(file, region)] = fit_series(spectra, recipe, presence=False)
    return out


def _errors_and_sigmas(results):
    err, sig = [], []
    for r in results:
        truth = true_fractions(r)
        for c in r.components:
            err.append(c.fraction - truth[c.species])
            sig.append(c.fraction_stderr)
    return np.array(err), np.array(sig)


@pytest.fixture(scope="module")
def pooled(joint_fits):
    parts = [_errors_and_sigmas(res.results) for res in joint_fits.values()]
    err = np.concatenate([e for e, _ in parts])
    sig = np.concatenate([s for _, s in parts])
    assert err.size == 70 and np.all(np.isfinite(sig)) and np.all(sig > 0)
    return err, sig


def test_joint_fit_accuracy_on_all_example_spectra(pooled):
    err, _ = pooled
    worst, median = 100 * np.max(np.abs(err)), 100 * np.median(np.abs(err))
    assert worst < 3.6, f"worst fraction error {worst:.2f} pp (measured 3.32)"
    assert median < 0.65, f"median fraction error {median:.2f} pp (measured 0.56)"


def test_fraction_sigmas_are_honest_on_the_example_spectra(pooled):
    err, sig = pooled
    z = err / sig
    share = float(np.mean(np.abs(z) < 2))
    rms = float(np.sqrt(np.mean(z * z)))
    assert share >= 0.9, f"only {share:.0%} of |z| < 2"
    assert np.max(np.abs(z)) < 3.0, f"max |z| {np.max(np.abs(z)):.2f}"
    assert 0.45 < rms < 1.3, f"rms z {rms:.2f}: σ under- or overestimated"


def _make_examples():
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fresh_series(gen, blocks, rng):
    """The example series' truth with a new Poisson draw (same forward model as the files)."""
    out = []
    for b in blocks:
        x = np.round(np.linspace(b["be_min"], b["be_max"], b["points"]), 10)
        expected = (gen.peak_signal(x, b["components"])
                    + gen.background(x, b["components"], b["background"]))
        out.append(make_spectrum(x, rng.poisson(expected).astype(float), region=b["region"],
                                 label=b["label"], scans=b["scans"], dwell=b["dwell"]))
    return out


def test_sigma_matches_the_spread_over_fresh_noise_draws():
    """Six new noise draws of the KB S 2p series: the reported σ describe the scatter of the
    fitted fractions around the truth (one realisation alone is a weak check).

    Not asserted for P 2p: in about 3 of 8 fresh draws its χ² has a second minimum 0–1.5 below
    the truth's basin, with P2Sx at the low edge of its window (132.5 eV) and FWHM ≈ 1.83, where
    POx takes over the P2Sx role; a linearised σ cannot describe that bimodal likelihood (rms z
    ≈ 2 in those draws, ≈ 0.8 in the others). The shipped example files land in the right
    basin (see the tests above)."""
    region = "S 2p"
    gen = _make_examples()
    _, recipe = example_series("kb_series.vms", region)
    blocks = [b for (f, _), b in sorted(truth_blocks().items())
              if f == "kb_series.vms" and b["region"] == region]
    rng = np.random.default_rng(20260515)
    z = []
    for _ in range(6):
        res = fit_series(_fresh_series(gen, blocks, rng), recipe, presence=False)
        for r, b in zip(res.results, blocks):
            truth = {c["species"]: c["fraction"] for c in b["components"]}
            z += [(c.fraction - truth[c.species]) / c.fraction_stderr for c in r.components]
    z = np.array(z)
    rms = float(np.sqrt(np.mean(z * z)))
    assert 0.5 < rms < 1.4, f"rms z {rms:.2f} over {z.size} fractions"
    assert np.mean(np.abs(z) < 2) >= 0.85
