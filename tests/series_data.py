"""Shared helpers for the series tests: the example series, their truth, a synthetic series."""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from realdata import EXAMPLES
from synth_xps import S2P_TRUTH, doublet
from xpsfit.spectrum import make_spectrum


@lru_cache(maxsize=None)
def truth_blocks() -> dict:
    data = json.loads((EXAMPLES / "truth.json").read_text())
    return {(b["file"], b["block_index"]): b for b in data["blocks"]}


def true_fractions(result) -> dict[str, float]:
    a = result.spectrum.attrs
    name = str(a["source_file"]).replace("\\", "/").rsplit("/", 1)[-1]
    block = truth_blocks()[(name, int(a["block_index"]))]
    return {c["species"]: c["fraction"] for c in block["components"]}


def example_series(file: str, region: str):
    import xpsfit
    from xpsfit.recipe.spec import load_recipe
    recipe = load_recipe(EXAMPLES / ("s2p_sulfide.toml" if region == "S 2p"
                                     else "p2p_sulfide.toml"))
    spectra = [s for s in xpsfit.read(EXAMPLES / file) if s.attrs["region"] == region]
    return spectra, recipe


#: areas per state of a synthetic S 2p series: S0 absent in the first two states
SYNTH_AREAS = [
    {"PS4": 9000.0, "S2-": 2500.0, "polysulfide": 1500.0, "S0": 0.0},
    {"PS4": 8500.0, "S2-": 2400.0, "polysulfide": 2200.0, "S0": 0.0},
    {"PS4": 8000.0, "S2-": 2200.0, "polysulfide": 2800.0, "S0": 1600.0},
    {"PS4": 7000.0, "S2-": 2000.0, "polysulfide": 3200.0, "S0": 2600.0},
]
SYNTH_SHIFTS = [0.0, 0.08, -0.06, 0.12]


def synth_series(seed: int | None = 0, scale: float = 1.0):
    """Four S 2p spectra (141 points, Shirley-type step) with known areas and rigid shifts."""
    x = np.linspace(156.0, 170.0, 141)
    out = []
    for k, (areas, sh) in enumerate(zip(SYNTH_AREAS, SYNTH_SHIFTS)):
        peaks = sum(doublet(x, areas[s] * scale, e + sh, f) for s, (e, f, _) in S2P_TRUTH.items())
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (peaks[1:] + peaks[:-1]) * np.diff(x))])
        clean = peaks + 400.0 * scale + 0.02 * cum
        y = clean if seed is None else np.random.default_rng(seed + k).poisson(clean) * 1.0
        out.append(make_spectrum(x, y, region="S 2p", source_file="synthetic",
                                 block=k, label=f"state {k}"))
    return out


def synth_fractions(k: int) -> dict[str, float]:
    a = SYNTH_AREAS[k]
    total = sum(a.values())
    return {s: v / total for s, v in a.items()}
