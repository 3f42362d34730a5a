"""What the verdict and the robust static Shirley cost (issue 14 items 1–2).

Run by hand:
    .venv/bin/python benchmarks/bench_verdict.py [--pixels 512] [--repeat 5]

Printed, median of --repeat runs:
* single S 2p example fit, ms, and the part spent in the verdict (``engine.verdict.judge``);
* --pixels noisy copies of the example through ``fit_spectra``: total s and the verdict part;
* the static Shirley on the PHI C 1s full window (no solution: iteration + fixed-point search
  + linear fallback) against the Shirley on the example S 2p (converges), ms.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import xpsfit
from xpsfit.numerics import backgrounds
from xpsfit.engine import assemble
from xpsfit.fitting import pixels

ROOT = Path(__file__).resolve().parents[1]
PHI = ROOT.parent / "shared" / "real_spectra" / "lg4x-v2" / "Mutlipak_vms.npl"


class Timed:
    """Wraps a module function and adds up the time spent in it."""

    def __init__(self, module, name: str):
        self.module, self.name, self.seconds = module, name, 0.0
        self.inner = getattr(module, name)

    def __enter__(self):
        def wrapped(*a, **k):
            t = time.perf_counter()
            try:
                return self.inner(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t
        setattr(self.module, self.name, wrapped)
        return self

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.inner)


def median_of(repeat: int, fn) -> tuple[float, float]:
    runs = [fn() for _ in range(repeat)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixels", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    spectrum = xpsfit.read(ROOT / "example_spectra" / "controls.vms")[0]
    recipe = xpsfit.load_recipe(ROOT / "example_spectra" / "s2p_sulfide.toml")

    def single():
        with Timed(assemble, "judge") as t:
            t0 = time.perf_counter()
            xpsfit.fit(spectrum, recipe)
            return time.perf_counter() - t0, t.seconds
    total, part = median_of(args.repeat, single)
    print(f"single fit: {1e3 * total:.1f} ms, verdict {1e3 * part:.2f} ms")

    x, y = spectrum.binding_energy.values, spectrum.values.astype(float)
    if x[0] > x[-1]:
        x, y = x[::-1], y[::-1]
    rows = np.random.default_rng(0).poisson(np.clip(y, 1, None),
                                            size=(args.pixels, y.size)).astype(float)

    def pixel_run():
        with Timed(pixels, "_verdicts") as t:
            t0 = time.perf_counter()
            pixels.fit_spectra(recipe, x, rows, dict(spectrum.attrs))
            return time.perf_counter() - t0, t.seconds
    total, part = median_of(max(1, args.repeat // 2), pixel_run)
    print(f"{args.pixels} pixels: {total:.2f} s, verdict {part:.2f} s "
          f"({1e3 * part / args.pixels:.2f} ms/pixel)")

    def shirley(xx, yy):
        t0 = time.perf_counter()
        backgrounds.shirley(xx, yy)
        return time.perf_counter() - t0, 0.0
    good, _ = median_of(args.repeat, lambda: shirley(x, y))
    line = f"static Shirley: S 2p example {1e3 * good:.2f} ms"
    if PHI.is_file():
        c1s = xpsfit.read(PHI)[0]
        bad, _ = median_of(args.repeat, lambda: shirley(c1s.binding_energy.values,
                                                        c1s.values.astype(float)))
        line += f"; PHI C 1s full window (no solution, linear fallback) {1e3 * bad:.2f} ms"
    print(line)


if __name__ == "__main__":
    main()
