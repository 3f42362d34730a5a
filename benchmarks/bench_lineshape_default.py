"""Line-shape default by measurement (issue 14 item 4): hold the shape parameter at the default
(pseudo-Voigt η = 0.2) or fit one η per region, shared by its components?

Synthetic S 2p / P 2p / C 1s (tests/synth_xps.py: the example study's species, Shirley-type
background, Poisson noise) drawn in several TRUE shapes (pV η 0–0.8, GL(30), GL(50), SGL(30),
Voigt, an asymmetric LA) at two count levels (scale 1 = the example spectra, 0.1 = ten times
fewer counts), each fitted with what ``xpsfit recipe init`` writes for those species (pseudo-Voigt,
static Shirley, library windows and widths), once with η fixed at 0.2 and once with one fitted η
shared by the components (``shape_vary = true``). Printed per case and method:

* bias: the component with the largest |mean(fitted − true fraction)|, in percentage points, and
  its median stated σ (pp);
* cover: share of (seed, component) with |fitted − true| < 2σ (honest σ: ≈ 0.95), and the worst
  component's share;
* χ²ᵣ (median), verdicts ok/doubtful/bad over the seeds, fitted η (median), fit time (median ms).

Then a joint series (S 2p, 4 states, true η = 0.5): fixed vs η shared across the series. Then real
spectra (../shared/real_spectra, skipped when absent): χ²ᵣ, verdict and η, fixed vs fitted.

Run:  .venv/bin/python benchmarks/bench_lineshape_default.py [--seeds 20] [--background shirley]
      [--regions "S 2p" "P 2p"] [--shapes "pV η=0.5" GL(30)] [--no-synthetic] [--no-real]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
from collections import Counter  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real_spectra"
sys.path.insert(0, str(ROOT / "tests"))

import xpsfit  # noqa: E402
from synth_xps import (REGION_TRUTHS, S2P_STATES, TRUE_SHAPES, synth_region,  # noqa: E402
                       synth_states)

LIBRARY = "sulfide_electrolytes"
LEVELS = (1.0, 0.1)
METHODS = ("fixed", "shared")


def init_recipe(region: str, species, background: str, shared: bool, library: str = LIBRARY,
                range_=None):
    """``xpsfit recipe init`` for these species, with η fitted (shared) or held at 0.2."""
    r = xpsfit.start_recipe(library, region, list(species) if species else None,
                            background=background, shape_vary=shared)
    return xpsfit.set_range(r, *range_) if range_ is not None else r


def eta_of(result) -> float:
    c = result.components[0]
    return float(c.shape.get("eta", float("nan")))


def timed_fit(spectrum, recipe):
    t0 = time.perf_counter()
    r = xpsfit.fit(spectrum, recipe)
    return r, time.perf_counter() - t0


def case(truth, shape, scale, recipes, seeds):
    """{method: summary dict} for one true shape and count level."""
    out = {}
    true = truth.fractions()
    runs = {m: [] for m in METHODS}
    for seed in range(seeds):
        spectrum, _ = synth_region(truth, shape, seed=1000 + seed, scale=scale)
        for m in METHODS:
            runs[m].append(timed_fit(spectrum, recipes[m]))
    for m, rs in runs.items():
        dev = {k: [] for k in true}
        hit = {k: [] for k in true}
        sig = {k: [] for k in true}
        for r, _ in rs:
            for c in r.components:
                d = c.fraction - true[c.species]
                dev[c.species].append(d)
                sig[c.species].append(c.fraction_stderr)
                hit[c.species].append(bool(np.isfinite(c.fraction_stderr))
                                      and abs(d) < 2 * c.fraction_stderr)
        worst = max(true, key=lambda k: abs(np.mean(dev[k])))
        verdicts = [r.verdict for r, _ in rs]
        out[m] = dict(
            worst=worst, bias=100 * float(np.mean(dev[worst])),
            sigma=100 * float(np.nanmedian(sig[worst])) if np.isfinite(sig[worst]).any()
            else float("nan"),
            cover=float(np.mean([h for v in hit.values() for h in v])),
            cover_min=min(float(np.mean(v)) for v in hit.values()),
            redchi=statistics.median(r.statistics.redchi for r, _ in rs),
            ok=verdicts.count("ok"), doubtful=verdicts.count("doubtful"),
            bad=verdicts.count("bad"),
            eta=statistics.median(eta_of(r) for r, _ in rs),
            ms=1e3 * statistics.median(t for _, t in rs))
    return out


def fmt(s) -> str:
    return (f"{s['worst']:>11s} {s['bias']:+6.2f} {s['sigma']:5.2f}  {s['cover']:4.2f} "
            f"{s['cover_min']:4.2f}  {s['redchi']:6.2f}  {s['ok']:2d}/{s['doubtful']:2d}/"
            f"{s['bad']:2d}  {s['eta']:4.2f} {s['ms']:6.1f}")


def synthetic(args):
    print(f"synthetic: {args.seeds} seeds per case, background {args.background}, library "
          f"{LIBRARY}; scale 1 = the example spectra's counts")
    head = (f"{'region':6s} {'true shape':14s} {'scale':>5s} {'method':7s} {'worst':>11s} "
            f"{'bias':>6s} {'σ':>5s}  {'cov':>4s} {'min':>4s}  {'χ²ᵣ':>6s}  {'ok/db/bad':>8s}  "
            f"{'η':>4s} {'ms':>6s}")
    print(head)
    totals = {m: [] for m in METHODS}
    for region in args.regions:
        truth = REGION_TRUTHS[region]
        recipes = {m: init_recipe(region, truth.species, args.background, m == "shared")
                   for m in METHODS}
        for shape in args.shapes:
            for scale in LEVELS:
                res = case(truth, shape, scale, recipes, args.seeds)
                for m in METHODS:
                    totals[m].append(res[m])
                    print(f"{region:6s} {shape:14s} {scale:5.1f} {m:7s} {fmt(res[m])}", flush=True)
    print("\nover all cases:")
    for m, rows in totals.items():
        n = len(rows)
        good = sum(r["cover"] >= 0.9 for r in rows)
        print(f"  {m:7s} coverage ≥ 0.90 in {good}/{n} cases; median coverage "
              f"{statistics.median(r['cover'] for r in rows):.2f}; worst |bias| "
              f"{max(abs(r['bias']) for r in rows):.2f} pp; median worst |bias| "
              f"{statistics.median(abs(r['bias']) for r in rows):.2f} pp; verdict ok "
              f"{sum(r['ok'] for r in rows)}/{n * args.seeds}, bad "
              f"{sum(r['bad'] for r in rows)}; median fit "
              f"{statistics.median(r['ms'] for r in rows):.1f} ms")


def series(args):
    shape = args.series_shape
    print(f"\njoint series: S 2p, {len(S2P_STATES)} states, true shape {shape}, "
          f"{args.seeds} seeds, background {args.background}")
    print(f"{'method':7s} {'max|bias|':>9s} {'σ':>5s} {'cov':>5s} {'χ²ᵣ':>6s} {'η':>5s} "
          f"{'ms':>7s}  S0 onset: seeds (true: state 2)")
    for m in METHODS:
        recipe = init_recipe("S 2p", REGION_TRUTHS["S 2p"].species, args.background,
                             m == "shared")
        dev, sig, hit, chi, etas, ms, onsets = [], [], [], [], [], [], []
        for seed in range(args.seeds):
            spectra = synth_states(shape, seed=5000 + 10 * seed)
            t0 = time.perf_counter()
            res = xpsfit.fit_series(spectra, recipe)
            ms.append(1e3 * (time.perf_counter() - t0))
            for k, r in enumerate(res.results):
                chi.append(r.statistics.redchi)
                for c in r.components:
                    d = c.fraction - S2P_STATES[k][c.species]
                    dev.append((c.species, k, d))
                    sig.append(c.fraction_stderr)
                    hit.append(np.isfinite(c.fraction_stderr) and abs(d) < 2 * c.fraction_stderr)
            etas.append(eta_of(res.results[0]))
            onsets.append(next((o.label for o in res.onsets if o.species == "S0"), None)
                          if getattr(res, "onsets", None) else None)
        by = {}
        for s, k, d in dev:
            by.setdefault((s, k), []).append(d)
        worst = max(abs(np.mean(v)) for v in by.values())
        print(f"{m:7s} {100 * worst:9.2f} {100 * np.nanmedian(sig):5.2f} {np.mean(hit):5.2f} "
              f"{statistics.median(chi):6.2f} {statistics.median(etas):5.2f} "
              f"{statistics.median(ms):7.1f}  "
              + ", ".join(f"{k}: {v}" for k, v in Counter(map(str, onsets)).most_common()))


def real_cases():
    """(name, file, block, library, region, species or None = all, range or None = library)."""
    return [
        ("PHI S 2p (MoS2-like)", "lg4x-v2/Mutlipak_vms.npl", 2, LIBRARY, "S 2p", None, None),
        ("PHI S 2p, 2 species", "lg4x-v2/Mutlipak_vms.npl", 2, LIBRARY, "S 2p",
         ["PS4", "polysulfide"], None),
        ("PBTTT S 2p, thiophene", "pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml", 2, LIBRARY,
         "S 2p", ["S0"], (159.0, 173.0)),
        ("PBTTT S 2p, all species", "pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml", 2, LIBRARY,
         "S 2p", None, (159.0, 173.0)),
        ("PHI C 1s", "lg4x-v2/Mutlipak_vms.npl", 0, LIBRARY, "C 1s", ["C-C", "C-O", "C=O"],
         None),
        ("PBTTT C 1s", "pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml", 1, LIBRARY, "C 1s",
         ["C-C", "C-O"], (280.0, 290.0)),
        ("C1s_sample.csv", "lg4x-v2/C1s_sample.csv", 0, LIBRARY, "C 1s",
         ["C-C", "C-O", "C=O", "O-C=O"], None),
        ("PET C 1s", "lg4x-v2/PET_C1s.csv", 0, LIBRARY, "C 1s", ["C-C", "C-O", "O-C=O"], None),
        ("cellulose C 1s", "cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms", 1,
         LIBRARY, "C 1s", ["C-C", "C-O", "C=O", "O-C=O"], (282.2, 294.0)),
        ("Au 4f (yharada)", "yharada-xps-peakfit/XPS_Au4f.csv", 0, "common", "Au 4f", ["Au0"],
         None),
    ]


def real(args):
    print(f"\nreal spectra ({REAL}), background {args.background}: recipe init with the given "
          "species; fixed η = 0.2 vs one fitted η")
    print(f"{'spectrum':26s} {'χ²ᵣ fixed':>10s} {'verdict':>9s}   {'χ²ᵣ fitted':>10s} "
          f"{'verdict':>9s} {'η':>5s}  largest fraction change (pp)")
    for name, rel, block, lib, region, species, rng in real_cases():
        path = REAL / rel
        if not path.is_file():
            print(f"{name:26s} skipped: {path} is absent")
            continue
        spectrum = xpsfit.read(path)[block]
        row = {}
        for m in METHODS:
            recipe = init_recipe(region, species, args.background, m == "shared", library=lib,
                                 range_=rng)
            row[m] = xpsfit.fit(spectrum, recipe)
        a, b = row["fixed"], row["shared"]
        change = max(((abs(cb.fraction - ca.fraction), ca.species)
                      for ca, cb in zip(a.components, b.components)), default=(0.0, "-"))
        reasons = lambda r: ",".join(sorted({x.code for x in r.verdict_reasons})) or "-"
        print(f"{name:26s} {a.statistics.redchi:10.3g} {a.verdict:>9s}   "
              f"{b.statistics.redchi:10.3g} {b.verdict:>9s} {eta_of(b):5.2f}  "
              f"{100 * change[0]:.1f} ({change[1]})")
        print(f"{'':26s}   fixed: {reasons(a)}\n{'':26s}   fitted: {reasons(b)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--background", default="shirley")
    ap.add_argument("--regions", nargs="+", default=list(REGION_TRUTHS))
    ap.add_argument("--shapes", nargs="+", default=[s for s in TRUE_SHAPES if s != "pV η=0.6"])
    ap.add_argument("--series-shape", default="pV η=0.5")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--no-series", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    args = ap.parse_args()
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    if not args.no_synthetic:
        synthetic(args)
    if not args.no_series:
        series(args)
    if not args.no_real:
        real(args)


if __name__ == "__main__":
    main()
