"""Figure cost: build and save the Fig. 3 layout (PNG 300 dpi, PDF, SVG), the single-fit
figure, and the study report PDF, from fits of the example series (fitting not timed).

Run by hand:  .venv/bin/python benchmarks/bench_figures.py
Why it matters: the GUI's "Export plot" builds these figures in the UI thread.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import xpsfit

EX = Path(__file__).resolve().parent.parent / "example_spectra"


def _median(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    recipe = xpsfit.load_recipe(EX / "s2p_sulfide.toml")
    series = [xpsfit.fit_series([s for s in xpsfit.read(EX / f) if s.attrs["region"] == "S 2p"],
                                recipe) for f in ("cnf_series.vms", "kb_series.vms")]
    out = Path(tempfile.mkdtemp(prefix="xpsfit-bench-fig-"))
    rows = [
        ("build Fig. 3 (2 × 5 panels + chart)", lambda: xpsfit.study_figure(series)),
        ("Fig. 3 → PNG 300 dpi", lambda: xpsfit.save_figure(xpsfit.study_figure(series),
                                                             out / "f.png", dpi=300)),
        ("Fig. 3 → PDF", lambda: xpsfit.save_figure(xpsfit.study_figure(series), out / "f.pdf")),
        ("Fig. 3 → SVG", lambda: xpsfit.save_figure(xpsfit.study_figure(series), out / "f.svg")),
        ("single fit → PNG 300 dpi", lambda: xpsfit.save_figure(
            xpsfit.fit_figure(series[0].results[0]), out / "s.png")),
        ("study report PDF (3 pages)", lambda: xpsfit.write_report(out / "r.pdf", series)),
    ]
    for name, fn in rows:
        print(f"{name:<38} {1000 * _median(fn):8.0f} ms")


if __name__ == "__main__":
    main()
