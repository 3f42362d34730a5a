"""Cost of one recipe edit (run by hand, not a test).

    .venv/bin/python benchmarks/bench_recipe_edits.py [--repeat 200]

Every structural edit (xpsfit.recipe.edit) rebuilds the recipe through recipe_from_dict on the
loaded library, so it runs once per keystroke-commit in the GUI; this prints p50/p95 in ms of
each edit on the example S 2p recipe, and of the per-row lookups the component table does on
every redraw (is_fixed, link_of ×3, shape_text).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import xpsfit
from xpsfit_gui import recipe_edit

RECIPE = Path(__file__).resolve().parents[1] / "example_spectra" / "s2p_sulfide.toml"


def timed(func, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    r = xpsfit.load_recipe(RECIPE)

    def table_rows():
        for c in r.components:
            xpsfit.is_fixed(r, c.species)
            xpsfit.shape_text(r, c.species)
            for q in xpsfit.LINK_QUANTITIES:
                xpsfit.link_of(r, c.species, q)

    cases = {
        "set_link A*0.5": lambda: xpsfit.set_link(r, "S0", "area", "A*0.5"),
        "add_component": lambda: xpsfit.add_component(r, "extra", position=166.0),
        "rename_component": lambda: xpsfit.rename_component(r, "S0", "sulfur"),
        "delete_component": lambda: xpsfit.delete_component(r, "S0"),
        "set_fixed": lambda: xpsfit.set_fixed(r, "S0", True),
        "set_background": lambda: xpsfit.set_background(r, endpoints=7),
        "edit_component position (drag)": lambda: recipe_edit.edit_component(r, "S0", "position",
                                                                             164.0),
        "table lookups, all rows": table_rows,
    }
    for name, func in cases.items():
        p50, p95 = timed(func, args.repeat)
        print(f"{name:34s} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
