"""The one engine's speed targets (issue "one fitting engine"), this version against an earlier one.

Run by hand:
    .venv/bin/python benchmarks/bench_engine.py                       # this checkout
    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/bench_engine.py --before /tmp/before   # + the earlier version

Printed, median of --repeat runs:
* single S 2p example fit (141 points, 4 doublets, active Shirley), ms;
* joint 5-spectrum S 2p fit without presence tests, ms; with presence tests, ms;
* map: spectra/s in one process on a --map N×N demo map (100×100 by default);
* the same joint fit with BLAS allowed its default threads (what xpsfit.engine.threads avoids);
* source lines of the engine against the three implementations it replaced.
The earlier version runs in a subprocess with its own tree first on sys.path.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(fn, repeat):
    fn()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return 1e3 * statistics.median(out)


def measure(tree: Path, repeat: int, map_size: int) -> dict:
    """Runs inside the process whose xpsfit is the one in ``tree``."""
    import xpsfit
    examples = tree / "example_spectra"
    spectra = [s for s in xpsfit.read(examples / "kb_series.vms") if s.attrs["region"] == "S 2p"]
    recipe = xpsfit.load_recipe(examples / "s2p_sulfide.toml")
    new = (tree / "xpsfit" / "fitting" / "pixels.py").exists()
    if new:
        from xpsfit.fitting.pixels import fit_spectra
    else:
        from xpsfit.kernel import fit_spectra
    out = {"version": str(tree)}
    out["single_ms"] = _median_ms(lambda: xpsfit.fit(spectra[-1], recipe), repeat)
    out["joint_ms"] = _median_ms(lambda: xpsfit.fit_series(spectra, recipe, presence=False),
                                 repeat)
    out["joint_presence_ms"] = _median_ms(lambda: xpsfit.fit_series(spectra, recipe),
                                          max(3, repeat // 3))
    if new:
        import xpsfit.engine.threads as threads
        keep = threads.one_blas_thread
        threads.one_blas_thread = contextlib.nullcontext
        out["joint_presence_default_blas_ms"] = _median_ms(
            lambda: xpsfit.fit_series(spectra, recipe), max(3, repeat // 3))
        threads.one_blas_thread = keep
    from xpsfit.demo import demo_map
    data, _ = demo_map(map_size, map_size, seed=1)
    x = data.binding_energy.values
    y = data.values.reshape(-1, x.size)
    fit_spectra(recipe, x, y[:64], data.attrs)
    t = time.perf_counter()
    fit_spectra(recipe, x, y, data.attrs)
    out["map_spectra_per_s"] = y.shape[0] / (time.perf_counter() - t)
    return out


def lines(tree: Path) -> dict:
    def count(paths):
        return sum(len(p.read_text().splitlines()) for p in paths if p.exists())
    x = tree / "xpsfit"
    return {"engine": count(sorted((x / "engine").glob("*.py"))),
            "old_three": count([x / "model.py", x / "fit.py", x / "series.py", x / "kernel.py"])}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="tree of an earlier version to compare with")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--map", type=int, default=100, help="demo map size N (N×N spectra)")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.repeat, args.map)))
        return
    rows = [("this version", measure(ROOT, args.repeat, args.map), lines(ROOT))]
    if args.before:
        env = dict(os.environ, PYTHONPATH=str(args.before))
        proc = subprocess.run([sys.executable, __file__, "--child", str(args.before),
                               "--repeat", str(args.repeat), "--map", str(args.map)],
                              capture_output=True, text=True, env=env, cwd=args.before)
        if proc.returncode:
            sys.exit(f"earlier version failed: {proc.stderr.strip().splitlines()[-1]}")
        rows.append(("before", json.loads(proc.stdout.strip().splitlines()[-1]),
                     lines(args.before)))
    keys = ["single_ms", "joint_ms", "joint_presence_ms", "joint_presence_default_blas_ms",
            "map_spectra_per_s"]
    print(f"{'':<34}" + "".join(f"{name:>16}" for name, *_ in rows))
    for k in keys:
        cells = "".join(f"{r.get(k, float('nan')):>16.1f}" for _, r, _ in rows)
        print(f"{k:<34}{cells}")
    for k in ("engine", "old_three"):
        print(f"{'lines: ' + k:<34}" + "".join(f"{ln[k]:>16d}" for *_, ln in rows))
    print(f"(map {args.map}x{args.map}, {os.cpu_count()} cores, median of {args.repeat})")


if __name__ == "__main__":
    main()
