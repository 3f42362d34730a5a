"""Time per call of every line shape and background on a 141-point S 2p-like axis (run by hand).

    .venv/bin/python benchmarks/bench_shapes.py

Three figures per shape: "same width" (only the centre changes, as during most of a fit: the
numerically convolved shapes hit their profile cache), "new width" (every call has a new fwhm, so
doniach_sunjic and la rebuild their fine-grid profile), and true_fwhm.
"""
from __future__ import annotations

import timeit

import numpy as np

from xpsfit.numerics import backgrounds
from xpsfit.numerics import lineshapes


def per_call_us(func, number: int) -> float:
    return min(timeit.repeat(func, number=number, repeat=5)) / number * 1e6


def main() -> None:
    x = np.linspace(158.0, 172.0, 141)
    print(f"line shapes on {x.size} points (µs per call, best of 5)")
    print(f"{'shape':16s}{'same width':>12s}{'new width':>12s}{'true_fwhm':>12s}")
    for name, shape in lineshapes.LINESHAPES.items():
        func = shape.func
        counter = iter(range(10**9))
        same = per_call_us(lambda: func(x, 1000.0, 161.6 + 1e-6 * next(counter), 1.0), 2000)
        new = per_call_us(lambda: func(x, 1000.0, 161.6, 1.0 + 1e-9 * next(counter)), 200)
        fw = per_call_us(lambda: lineshapes.true_fwhm(name, 1.0 + 1e-9 * next(counter)), 50)
        print(f"{name:16s}{same:12.1f}{new:12.1f}{fw:12.1f}")

    peaks = lineshapes.evaluate("gl_product", x, 5000.0, 163.0, 1.0)
    y = peaks + 800.0 + 0.05 * backgrounds.cumulative_integral(x, peaks)
    wide = np.linspace(150.0, 230.0, 161)
    yw = lineshapes.evaluate("voigt", wide, 2e4, 160.0, 1.0) + 300.0
    print(f"\nbackgrounds on {x.size} points (µs per call)")
    for label, call in [
        ("shirley (tol 1e-6)", lambda: backgrounds.shirley(x, y)),
        ("cumulative_integral", lambda: backgrounds.cumulative_integral(x, peaks)),
        ("shirley_step", lambda: backgrounds.shirley_step(x, peaks)),
        ("linear", lambda: backgrounds.linear(x, y)),
        ("tougaard (161 pts)", lambda: backgrounds.tougaard(wide, yw)),
    ]:
        print(f"{label:22s}{per_call_us(call, 500):10.1f}")


if __name__ == "__main__":
    main()
