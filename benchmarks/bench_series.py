"""Series accuracy and speed on the example state-of-charge series (issue 5 targets).

For both electrodes (CNF, KB) and both regions (S 2p, P 2p) with the shipped recipes:

* species-fraction error against truth.json (worst and median, percentage points) of the
  joint fit, the independent and propagate modes, and lmfit + lmfitxps per-spectrum fits
  (the careful-user fitter of ``bench_single.py``);
* onsets of S0 and POx against the truth (S0: KB 3.8 V, CNF 4.3 V; POx: KB 4.0 V, CNF 4.3 V);
* z = (fitted − true)/σ of every joint-fit fraction (share |z| < 2, max, rms): are the σ honest?
* time of a joint 5-spectrum fit (median of repeats, without and with the presence tests);
* with ``--mc N``: N fresh Poisson draws of every series refitted — spread of the fractions vs
  their σ, bias, and the worst/median errors to expect at this count level.

Run:  .venv/bin/python benchmarks/bench_series.py [--background shirley] [--repeat N] [--mc N]

BLAS threads: the joint problem is a small dense least-squares problem (~700 × 30); TRF does
one SVD of it per iteration, and with OpenBLAS threads on a busy 2-core machine each SVD can
take 5–80 ms instead of ~1 ms. Set OPENBLAS_NUM_THREADS=1 (default here unless already set)
for stable timings; the number used is printed.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "example_spectra"
sys.path.insert(0, str(Path(__file__).resolve().parent))

TRUE_ONSETS = {("KB", "S0"): "3.8 V", ("CNF", "S0"): "4.3 V",
               ("KB", "POx"): "4.0 V", ("CNF", "POx"): "4.3 V"}


def load_truth():
    data = json.loads((EX / "truth.json").read_text())
    return {(b["file"], b["block_index"]): b for b in data["blocks"]}


def errors(results, truth, file):
    out = []
    for r in results:
        b = truth[(file, int(r.spectrum.attrs["block_index"]))]
        tf = {c["species"]: c["fraction"] for c in b["components"]}
        out += [abs(c.fraction - tf[c.species]) for c in r.components]
    return out


def zscores(results, truth, file):
    """(fitted − true)/σ of every fraction, and the σ themselves."""
    z, sig = [], []
    for r in results:
        b = truth[(file, int(r.spectrum.attrs["block_index"]))]
        tf = {c["species"]: c["fraction"] for c in b["components"]}
        for c in r.components:
            z.append((c.fraction - tf[c.species]) / c.fraction_stderr)
            sig.append(c.fraction_stderr)
    return z, sig


def z_summary(z) -> str:
    import numpy as np
    z = np.asarray(z, dtype=float)
    return (f"|z|<2 {100 * np.mean(np.abs(z) < 2):.0f} %, max |z| {np.max(np.abs(z)):.2f}, "
            f"rms z {np.sqrt(np.mean(z * z)):.2f} (n = {z.size})")


def monte_carlo(n, recipes, truth, background=None):
    """Refit ``n`` fresh Poisson draws of each example series (same forward model as the
    files): spread of the fitted fractions vs their mean σ, bias, and typical worst/median
    errors -- what the accuracy targets can be expected to be at this count level."""
    import importlib.util

    import numpy as np
    from xpsfit.fitting.series import fit_series
    from xpsfit.spectrum import make_spectrum
    spec = importlib.util.spec_from_file_location("make_examples", EX / "make_examples.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    print(f"\nMonte Carlo: {n} fresh noise draws of each series (joint fit)")
    for file in ("cnf_series.vms", "kb_series.vms"):
        for region, recipe in recipes.items():
            blocks = [b for (f, _), b in sorted(truth.items())
                      if f == file and b["region"] == region]
            rng = np.random.default_rng(1000)
            err, sig = [], []
            for _ in range(n):
                spectra = []
                for b in blocks:
                    x = np.round(np.linspace(b["be_min"], b["be_max"], b["points"]), 10)
                    mu = (gen.peak_signal(x, b["components"])
                          + gen.background(x, b["components"], b["background"]))
                    spectra.append(make_spectrum(x, rng.poisson(mu).astype(float), region=region,
                                                 label=b["label"], scans=b["scans"],
                                                 dwell=b["dwell"]))
                res = fit_series(spectra, recipe, presence=False)
                e, s = [], []
                for r, b in zip(res.results, blocks):
                    tf = {c["species"]: c["fraction"] for c in b["components"]}
                    e += [c.fraction - tf[c.species] for c in r.components]
                    s += [c.fraction_stderr for c in r.components]
                err.append(e)
                sig.append(s)
            err, sig = np.array(err), np.array(sig)
            ratio = err.std(axis=0) / sig.mean(axis=0)
            print(f"  {file.split('_')[0].upper():<3} {region}: spread/σ median {np.median(ratio):.2f}"
                  f" max {ratio.max():.2f}; max |bias| {100 * np.abs(err.mean(axis=0)).max():.2f} pp;"
                  f" mean σ {100 * sig.mean():.2f} pp; per draw worst {100 * np.median(np.abs(err).max(axis=1)):.2f}"
                  f" pp, median {100 * np.median(np.abs(err)):.2f} pp (medians over draws); "
                  f"{z_summary((err / sig).ravel())}")


def lmfitxps_errors(spectra, recipe, truth, file):
    try:
        from bench_single import run_lmfitxps
    except Exception as exc:          # lmfitxps missing: say so, keep the rest
        return None, f"lmfitxps unavailable: {exc}"
    errs, times = [], []
    for s in spectra:
        dt, frac, _ok = run_lmfitxps(s, recipe, False)
        times.append(dt)
        b = truth[(file, int(s.attrs["block_index"]))]
        errs += [abs(frac[c["species"]] - c["fraction"]) for c in b["components"]]
    return errs, f"{1e3 * statistics.median(times):.0f} ms/spectrum"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--background", help="override the recipes' background type")
    ap.add_argument("--repeat", type=int, default=5, help="timing repeats of the joint fit")
    ap.add_argument("--no-lmfitxps", action="store_true")
    ap.add_argument("--mc", type=int, default=0, metavar="N",
                    help="also refit N fresh noise draws of every series (spread vs σ)")
    args = ap.parse_args(argv)
    import xpsfit
    from xpsfit.recipe import load_recipe
    from xpsfit.fitting.series import fit_series
    truth = load_truth()
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    all_err: dict[str, list[float]] = {}
    onset_ok = []
    joint_times = []
    joint_z: list[float] = []
    joint_sig: list[float] = []
    recipes = {}
    for electrode, file in (("CNF", "cnf_series.vms"), ("KB", "kb_series.vms")):
        blocks = xpsfit.read(EX / file)
        for region, rfile in (("S 2p", "s2p_sulfide.toml"), ("P 2p", "p2p_sulfide.toml")):
            recipe = load_recipe(EX / rfile)
            if args.background:
                recipe.background.type = args.background
            recipes[region] = recipe
            spectra = [s for s in blocks if s.attrs["region"] == region]
            print(f"\n{electrode} {region} ({len(spectra)} spectra, background "
                  f"{recipe.background.type})")
            for mode in ("joint", "independent", "propagate"):
                t0 = time.perf_counter()
                res = fit_series(spectra, recipe, mode=mode)
                dt = time.perf_counter() - t0
                e = errors(res.results, truth, file)
                all_err.setdefault(mode, []).extend(e)
                on = {o.species: o for o in res.onsets}
                marks = []
                for sp in ("S0", "POx"):
                    if sp in on:
                        want = TRUE_ONSETS[(electrode, sp)]
                        ok = on[sp].label == want
                        marks.append(f"{sp} onset {on[sp].label or 'none'} "
                                     f"({'ok' if ok else 'WRONG, truth ' + want})")
                        if mode == "joint":
                            onset_ok.append(ok)
                print(f"  {mode:<12} worst {100 * max(e):5.2f} pp  median "
                      f"{100 * statistics.median(e):5.2f} pp  ({dt * 1e3:6.0f} ms incl. "
                      f"presence)  {'; '.join(marks)}")
                if mode == "joint":
                    z, sig = zscores(res.results, truth, file)
                    joint_z += z
                    joint_sig += sig
                    print(f"  {'':<12} z = (fit - truth)/σ: {z_summary(z)}")
            if not args.no_lmfitxps:
                e, note = lmfitxps_errors(spectra, recipe, truth, file)
                if e is not None:
                    all_err.setdefault("lmfitxps", []).extend(e)
                    print(f"  {'lmfitxps':<12} worst {100 * max(e):5.2f} pp  median "
                          f"{100 * statistics.median(e):5.2f} pp  ({note}, static Shirley)")
                else:
                    print(f"  {note}")
            if region == "S 2p":
                ts = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    fit_series(spectra, recipe, presence=False)
                    ts.append(time.perf_counter() - t0)
                joint_times.append(statistics.median(ts))
                print(f"  joint 5-spectrum S 2p fit: median {1e3 * statistics.median(ts):.0f} ms"
                      f" over {args.repeat} (target <= 500 ms)")
    print("\nall example spectra (both electrodes, S 2p and P 2p):")
    for mode, e in all_err.items():
        print(f"  {mode:<12} worst {100 * max(e):5.2f} pp   median {100 * statistics.median(e):5.2f}"
              f" pp   (targets joint: worst <= 2, median <= 0.5)")
    print(f"  joint z-scores: {z_summary(joint_z)}")
    print(f"  joint fraction σ: median {100 * statistics.median(joint_sig):.2f} pp, max "
          f"{100 * max(joint_sig):.2f} pp, {sum(s > 0.02 for s in joint_sig)} of "
          f"{len(joint_sig)} above 2 pp (the worst-error target)")
    print(f"  onsets S0/POx correct (joint): {sum(onset_ok)}/{len(onset_ok)}")
    print(f"  joint S 2p fit time: {', '.join(f'{1e3 * t:.0f} ms' for t in joint_times)}")
    if args.mc > 0:
        monte_carlo(args.mc, recipes, truth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
