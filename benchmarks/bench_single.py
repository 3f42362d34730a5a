"""Single-fit speed and accuracy: xpsfit against lmfit + lmfitxps on the example spectra.

Run by hand:  .venv/bin/python benchmarks/bench_single.py [--repeat 15]

Both sides fit the SAME synthetic spectra (example_spectra/{cnf,kb}_series.vms, known truth in
truth.json): S 2p (4 doublets, 141 points) and P 2p (3 doublets, 111 points), pseudo-Voigt
(η = 0.2 fixed) doublets with Δ and the 2:1 area ratio as hard constraints, equal widths inside a
doublet, the recipes' FWHM links, Poisson weights 1/√counts.

* xpsfit: ``xpsfit.fit`` with the example recipes, static Shirley and active Shirley;
* lmfitxps, written as a careful user would: one ``PseudoVoigtModel`` per line with lmfit
  expressions for the 2p1/2 (center + Δ, amplitude × 0.5, same sigma), the same windows/bounds
  and FWHM links; background either ``shirley_calculate`` subtracted before the fit (static) or
  ``ShirleyBG`` inside the composite model (active; computed from the data, k and const fitted).

Printed: median wall time per fit and the species-fraction error against truth (max and median
over species and spectra, percentage points).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "example_spectra"


def load_cases():
    import xpsfit
    from xpsfit.recipe import load_recipe
    truth = json.loads((EXAMPLES / "truth.json").read_text())["blocks"]
    recipes = {"S 2p": load_recipe(EXAMPLES / "s2p_sulfide.toml"),
               "P 2p": load_recipe(EXAMPLES / "p2p_sulfide.toml")}
    cases = []
    for fname in ("cnf_series.vms", "kb_series.vms"):
        spectra = xpsfit.read(EXAMPLES / fname)
        for s in spectra:
            region = s.attrs["region"]
            if region not in recipes:
                continue
            t = next(b for b in truth if b["file"] == fname
                     and b["block_index"] == s.attrs["block_index"])
            frac = {c["species"]: c["fraction"] for c in t["components"]}
            cases.append((region, s, recipes[region], frac))
    return cases


# ------------------------------------------------------------------ xpsfit
def run_xpsfit(spectrum, recipe, background):
    import copy

    from xpsfit import fit
    rec = copy.deepcopy(recipe)
    rec.background.type = background
    t0 = time.perf_counter()
    r = fit(spectrum, rec)
    dt = time.perf_counter() - t0
    return dt, {c.species: c.fraction for c in r.components}, r.success


# ------------------------------------------------------------------ lmfitxps
def _prefix(species: str) -> str:
    from xpsfit.naming import species_prefix
    return species_prefix(species)


def build_lmfitxps(recipe, x, y, active: bool):
    """Composite lmfit model as a careful lmfitxps user writes it."""
    from lmfit.models import PseudoVoigtModel
    from lmfitxps.models import ShirleyBG
    eta = float(recipe.shape.get("eta", 0.2))
    model = None
    for c in recipe.components:
        p = _prefix(c.species)
        for line in ("a", "b"):
            m = PseudoVoigtModel(prefix=f"{p}{line}_")
            model = m if model is None else model + m
    if active:
        model = model + ShirleyBG(prefix="bg_", independent_vars=["y"])
    params = model.make_params()
    lo_level, hi_level = float(np.mean(y[:5])), float(np.mean(y[-5:]))
    base = np.minimum(lo_level, hi_level)
    total = float(abs(np.trapezoid(np.clip(y - base, 0, None), x)))
    share = 1.0 / len(recipe.components)
    for c in recipe.components:
        p = _prefix(c.species)
        lo, hi = sorted(c.window)
        flo, fhi = sorted(c.fwhm_bounds)
        params[f"{p}a_center"].set(value=c.position, min=lo, max=hi)
        params[f"{p}a_sigma"].set(value=c.fwhm / 2.0, min=flo / 2.0, max=fhi / 2.0)
        params[f"{p}a_amplitude"].set(value=total * share / 1.5, min=0.0)
        params[f"{p}a_fraction"].set(value=eta, vary=False)
        params[f"{p}b_center"].set(expr=f"{p}a_center + {c.splitting}")
        params[f"{p}b_sigma"].set(expr=f"{p}a_sigma")
        params[f"{p}b_amplitude"].set(expr=f"{p}a_amplitude * {c.ratio}")
        params[f"{p}b_fraction"].set(value=eta, vary=False)
    for link in recipe.links:            # "fwhm(S2-) = fwhm(PS4)" -> sigma tie
        left, right = (s.strip() for s in link.split("="))
        lt = _prefix(left[left.index("(") + 1:-1])
        rt = _prefix(right[right.index("(") + 1:-1])
        params[f"{lt}a_sigma"].set(expr=f"{rt}a_sigma")
    if active:
        # lmfitxps ShirleyBG integrates the DATA from the right end: arrays in descending BE
        params["bg_k"].set(value=0.003, min=0.0)
        params["bg_const"].set(value=lo_level)
    return model, params


def run_lmfitxps(spectrum, recipe, active: bool):
    from lmfitxps.backgrounds import shirley_calculate
    x = spectrum["binding_energy"].values
    y = spectrum.values.astype(float)
    lo, hi = recipe.range
    keep = (x >= lo) & (x <= hi)
    # descending BE (the KE-like order lmfitxps's Shirley expects)
    x, y = x[keep][::-1].copy(), y[keep][::-1].copy()
    weights = 1.0 / np.sqrt(np.maximum(y, 1.0))
    t0 = time.perf_counter()
    model, params = build_lmfitxps(recipe, x, y, active)
    if active:
        out = model.fit(y, params, x=x, y=y, weights=weights)
    else:
        bg = shirley_calculate(x, y)
        out = model.fit(y - bg, params, x=x, weights=weights)
    dt = time.perf_counter() - t0
    areas = {}
    for c in recipe.components:
        p = _prefix(c.species)
        a = out.params[f"{p}a_amplitude"].value
        areas[c.species] = a * (1 + c.ratio)
    total = sum(areas.values())
    return dt, {k: v / total for k, v in areas.items()}, bool(out.success)


# ------------------------------------------------------------------ main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="timed repeats per spectrum (xpsfit)")
    ap.add_argument("--repeat-peer", type=int, default=2,
                    help="timed repeats per spectrum for lmfitxps (≈0.5–1 s per fit)")
    args = ap.parse_args(argv)
    cases = load_cases()
    methods = {
        "xpsfit static Shirley": lambda s, r: run_xpsfit(s, r, "shirley"),
        "xpsfit active Shirley": lambda s, r: run_xpsfit(s, r, "shirley_active"),
        "lmfitxps static shirley_calculate": lambda s, r: run_lmfitxps(s, r, False),
        "lmfitxps active ShirleyBG": lambda s, r: run_lmfitxps(s, r, True),
    }
    summary = {}
    for region in ("S 2p", "P 2p"):
        sub = [c for c in cases if c[0] == region]
        print(f"\n{region}: {len(sub)} spectra ({sub[0][1].size} points each), "
              f"{len(sub[0][2].components)} doublets, {args.repeat} (xpsfit) / "
              f"{args.repeat_peer} (lmfitxps) timed repeats")
        print(f"  {'method':<36}{'median ms/fit':>14}{'max err pp':>12}{'median err pp':>15}"
              f"{'failed':>8}")
        for name, fn in methods.items():
            times, errs, failed = [], [], 0
            repeat = args.repeat if name.startswith("xpsfit") else args.repeat_peer
            for _region, spectrum, recipe, truth in sub:
                if name.startswith("xpsfit"):
                    fn(spectrum, recipe)                  # warm-up (imports, caches)
                for _ in range(repeat):
                    dt, frac, ok = fn(spectrum, recipe)
                    times.append(dt)
                failed += not ok
                errs += [abs(frac[k] - truth[k]) * 100 for k in truth]
            med = statistics.median(times) * 1e3
            summary[(region, name)] = med
            print(f"  {name:<36}{med:14.2f}{max(errs):12.2f}{statistics.median(errs):15.2f}"
                  f"{failed:8d}")
        ratio = summary[(region, "lmfitxps active ShirleyBG")] / summary[
            (region, "xpsfit active Shirley")]
        ratio_s = summary[(region, "lmfitxps active ShirleyBG")] / summary[
            (region, "xpsfit static Shirley")]
        print(f"  speed-up vs lmfitxps active ShirleyBG: xpsfit active ×{ratio:.1f}, "
              f"xpsfit static ×{ratio_s:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
