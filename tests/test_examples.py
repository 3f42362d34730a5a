"""The shipped example series: reproducible, consistent with its truth, readable, and the counts
really follow the stated forward model (checked with an independent implementation here, not
with xpsfit's fitting engine)."""
from __future__ import annotations

import importlib.util
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import cumulative_trapezoid

from xpsfit.io import vamas

EXAMPLES = Path(__file__).resolve().parent.parent / "example_spectra"

FILES = ("cnf_series.vms", "kb_series.vms", "controls.vms")
SOC = ["pristine", "3.6 V", "3.8 V", "4.0 V", "4.3 V"]


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((EXAMPLES / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def blocks(truth) -> list[dict]:
    return truth["blocks"]


def _series(blocks, electrode, region):
    rows = [b for b in blocks if b["electrode"] == electrode and b["region"] == region]
    return {b["label"]: {c["species"]: c for c in b["components"]} for b in rows}


def test_shipped_files_are_what_the_script_makes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    for name in (*FILES, "truth.json"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
    assert sum((EXAMPLES / n).stat().st_size for n in (*FILES, "truth.json")) < 300_000


def test_truth_is_internally_consistent(blocks):
    assert len(blocks) == 26
    shifts = defaultdict(set)
    for b in blocks:
        comps = b["components"]
        assert sum(c["fraction"] for c in comps) == pytest.approx(1.0, abs=1e-12)
        assert sum(c["area"] for c in comps) == pytest.approx(b["total_area"], rel=1e-12)
        for c in comps:
            assert c["area"] == pytest.approx(c["fraction"] * b["total_area"], rel=1e-12)
            # absent exactly zero, present clearly detectable
            assert c["fraction"] == 0.0 or c["fraction"] >= 0.05, (b["file"], b["label"], c)
            assert c["ratio"] == 0.5 and c["eta"] == 0.2
            assert c["splitting"] == (1.18 if b["region"] == "S 2p" else 0.87)
        assert abs(b["charge_shift"]) <= 0.15
        shifts[(b["file"], b["label"])].add(b["charge_shift"])
    # one rigid shift per acquisition: S 2p and P 2p of one state share it
    assert all(len(s) == 1 for s in shifts.values()) and len(shifts) == 13
    # same species = same chemical position (before charging) and width everywhere
    per_species = defaultdict(set)
    for b in blocks:
        for c in b["components"]:
            per_species[(b["region"], c["species"])].add(
                (round(c["position"] - b["charge_shift"], 9), c["fwhm"]))
    assert all(len(v) == 1 for v in per_species.values()), per_species
    assert per_species[("S 2p", "PS4")] == {(161.6, 1.0)}
    assert per_species[("P 2p", "PS4")] == {(132.0, 1.0)}


@pytest.mark.parametrize("electrode, s0_onset, pox_onset",
                         [("KB", "3.8 V", "4.0 V"), ("CNF", "4.3 V", "4.3 V")])
def test_onsets_and_trends_as_stated(blocks, electrode, s0_onset, pox_onset):
    s2p, p2p = _series(blocks, electrode, "S 2p"), _series(blocks, electrode, "P 2p")
    assert list(s2p) == SOC and list(p2p) == SOC
    for table, species, onset in ((s2p, "S0", s0_onset), (p2p, "POx", pox_onset)):
        frac = [table[label][species]["fraction"] for label in SOC]
        first = next(i for i, f in enumerate(frac) if f > 0)
        assert SOC[first] == onset
        assert all(f > 0 for f in frac[first:]) and frac[first:] == sorted(frac[first:])
    poly = [s2p[label]["polysulfide"]["fraction"] for label in SOC]
    p2sx = [p2p[label]["P2Sx"]["fraction"] for label in SOC]
    assert poly == sorted(poly) and poly[-1] > poly[0]
    assert p2sx == sorted(p2sx) and p2sx[-1] > p2sx[0]


def test_more_polysulfide_with_kb_and_controls_without_s0_or_pox(blocks):
    kb, cnf = _series(blocks, "KB", "S 2p"), _series(blocks, "CNF", "S 2p")
    for label in SOC[1:]:
        assert kb[label]["polysulfide"]["fraction"] > cnf[label]["polysulfide"]["fraction"]
    controls = [b for b in blocks if b["file"] == "controls.vms"]
    assert [(b["electrode"], b["region"]) for b in controls] == [
        (e, r) for e in ("NMC+SE", "MnO2+SE+CNF", "MnO2+SE+KB") for r in ("S 2p", "P 2p")]
    for b in controls:
        assert b["voltage"] == 4.3
        comps = {c["species"]: c["fraction"] for c in b["components"]}
        assert comps.get("S0", 0.0) == 0.0 and comps.get("POx", 0.0) == 0.0
        assert comps.get("polysulfide", comps.get("P2Sx")) > 0
    poly = {b["electrode"]: b["components"][2]["fraction"] for b in controls
            if b["region"] == "S 2p"}
    assert poly["MnO2+SE+KB"] > poly["MnO2+SE+CNF"]


def test_every_shipped_block_reads_back_as_the_truth_says(blocks):
    read = {name: vamas.read(EXAMPLES / name) for name in FILES}
    assert sum(len(v) for v in read.values()) == len(blocks)
    for b in blocks:
        s = read[b["file"]][b["block_index"]]
        assert s.attrs["region"] == b["region"]
        assert s.sizes["binding_energy"] == b["points"]
        be = s["binding_energy"].values
        assert be[0] == pytest.approx(b["be_min"], abs=1e-9)
        assert be[-1] == pytest.approx(b["be_max"], abs=1e-9)
        assert s.attrs["sample"] == b["sample"] and s.attrs["block_name"] == b["label"]
        assert s.attrs["excitation_energy"] == 1486.6 and s.attrs["original_axis"] == "KE"
        assert (s.attrs["scans"], s.attrs["dwell"], s.attrs["pass_energy"]) == (
            b["scans"], 0.1, 20.0)
        assert s.attrs["counts_unit"] == "counts" and np.all(s.values == np.round(s.values))
        if b["voltage"] is None:
            assert math.isnan(s.attrs["voltage"])
        else:
            assert s.attrs["voltage"] == pytest.approx(b["voltage"])


# ------------------------------------------------- independent re-implementation of the model

def _line(x, center, fwhm, eta):
    """Unit-area pseudo-Voigt from scipy.stats densities (independent of make_examples)."""
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    return ((1 - eta) * stats.norm.pdf(x, center, sigma)
            + eta * stats.cauchy.pdf(x, center, fwhm / 2))


def _peaks(x, components):
    out = np.zeros_like(x)
    for c in components:
        main = c["area"] / (1 + c["ratio"])
        out += main * _line(x, c["position"], c["fwhm"], c["eta"])
        out += (c["area"] - main) * _line(x, c["position"] + c["splitting"], c["fwhm"], c["eta"])
    return out


def _expected(x, b):
    """P + B with the Shirley integral done numerically on a fine grid."""
    bg = b["background"]
    fine = np.linspace(bg["x0"], x[-1], 20 * (x.size - 1) + 1)
    step = bg["shirley_k"] * np.interp(x, fine, cumulative_trapezoid(
        _peaks(fine, b["components"]), fine, initial=0.0))
    return _peaks(x, b["components"]) + bg["constant"] + bg["slope"] * (x - bg["x0"]) + step


def test_counts_follow_the_stated_forward_model(blocks):
    chi2, n = 0.0, 0
    for name in FILES:
        for s in vamas.read(EXAMPLES / name):
            b = next(t for t in blocks if t["file"] == name and
                     t["block_index"] == s.attrs["block_index"])
            x = s["binding_energy"].values
            mu = _expected(x, b)
            chi2 += float(np.sum((s.values - mu) ** 2 / mu))
            n += x.size
            # background-free signal integrates to the doublet areas inside the window
            in_window = sum(
                area * (_cdf(x[-1], center, c) - _cdf(x[0], center, c))
                for c in b["components"]
                for center, area in ((c["position"], c["area"] / (1 + c["ratio"])),
                                     (c["position"] + c["splitting"],
                                      c["area"] * c["ratio"] / (1 + c["ratio"]))))
            bg = mu - _peaks(x, b["components"])
            measured = np.trapezoid(s.values - bg, x)
            sigma = math.sqrt(np.sum(s.values)) * (x[1] - x[0])
            assert abs(measured - in_window) < 5 * sigma + 0.005 * in_window, (name, b["label"])
            assert in_window > 0.95 * b["total_area"]       # the windows hold the peaks
    # Poisson noise on the truth: pooled reduced chi-square ≈ 1 (σ ≈ 0.025 for ~3300 points)
    assert 0.9 < chi2 / n < 1.1


def _cdf(x, center, c):
    sigma = c["fwhm"] / (2 * math.sqrt(2 * math.log(2)))
    return ((1 - c["eta"]) * stats.norm.cdf(x, center, sigma)
            + c["eta"] * stats.cauchy.cdf(x, center, c["fwhm"] / 2))


def test_intensities_look_like_the_real_data(blocks):
    x_s, x_p = np.linspace(157, 171, 1401), np.linspace(127, 138, 1101)
    for electrode in ("CNF", "KB"):
        s = next(b for b in blocks if b["electrode"] == electrode and b["region"] == "S 2p")
        p = next(b for b in blocks if b["electrode"] == electrode and b["region"] == "P 2p")
        s_max, p_max = _peaks(x_s, s["components"]).max(), _peaks(x_p, p["components"]).max()
        assert 5000 < s_max < 10000 and 2000 < s["background"]["constant"] < 5000
        assert 3 < s_max / p_max < 5
