"""GUI speed: drag-release → refit → redraw on one S 2p spectrum, and opening a 50-block VAMAS.

Run by hand (offscreen is fine):  QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py
Targets (issue 7): cycle < 100 ms; 50-block file opened and shown < 1 s.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_spectra"


def _window(app):
    from PySide6.QtCore import QSettings

    from xpsfit_gui.main_window import MainWindow
    tmp = tempfile.mkdtemp(prefix="xpsfit-bench-")
    w = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.IniFormat),
                   error_hook=lambda m: print("error:", m, file=sys.stderr))
    w.resize(1400, 860)
    w.show()
    app.processEvents()
    return w, Path(tmp)


def bench_drag_cycle(app, repeats: int = 20) -> dict:
    w, _ = _window(app)
    w.open_paths([EXAMPLES / "cnf_series.vms"])
    w.load_recipe(EXAMPLES / "s2p_sulfide.toml")
    w.select((0, 8))                     # S 2p, 4.3 V: four doublets, the busiest spectrum
    w.fit_current()
    w.wait_idle()
    cycles, fits, redraws = [], [], []
    for i in range(repeats):
        line = w.view.markers["PS4"]
        target = 161.55 + 0.02 * (i % 8)
        t0 = time.perf_counter()
        line.setValue(target)
        line.sigPositionChangeFinished.emit(line)       # the mouse release
        w.wait_idle()                                   # refit in the worker thread, result shown
        t1 = time.perf_counter()
        w.view.graphics.grab()                          # force the actual painting
        t2 = time.perf_counter()
        cycles.append(t2 - t0)
        fits.append(w.last_fit_seconds)
        redraws.append(t2 - t1)
    assert not w.errors, w.errors
    w.close()
    return {"cycle_ms": 1000 * statistics.median(cycles), "cycle_max_ms": 1000 * max(cycles),
            "fit_ms": 1000 * statistics.median(fits), "paint_ms": 1000 * statistics.median(redraws)}


def bench_open_50_blocks(app) -> dict:
    import xpsfit
    blocks = []
    base = xpsfit.read(EXAMPLES / "cnf_series.vms")
    for i in range(50):
        s = base[i % len(base)].copy()
        s.attrs = dict(s.attrs, label=f"block {i}", block_name=f"block {i}")
        blocks.append(s)
    w, tmp = _window(app)
    path = xpsfit.write_vamas(tmp / "fifty.vms", blocks)
    times = []
    for _ in range(3):
        w.tree.clear()
        w.files.clear()
        w.results.clear()
        t0 = time.perf_counter()
        w.open_paths([path])
        app.processEvents()
        w.view.graphics.grab()
        times.append(time.perf_counter() - t0)
    n = w.tree.topLevelItem(0).childCount()
    w.close()
    return {"blocks": n, "open_ms": 1000 * statistics.median(times),
            "size_kB": path.stat().st_size / 1024}


def main() -> int:
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(["bench"])
    import pyqtgraph as pg
    pg.setConfigOptions(antialias=True)
    d = bench_drag_cycle(app)
    print(f"drag-release → refit → redraw (S 2p, 4 doublets): median {d['cycle_ms']:.0f} ms "
          f"(max {d['cycle_max_ms']:.0f}; fit {d['fit_ms']:.0f} ms, paint {d['paint_ms']:.0f} ms)"
          f"  target < 100 ms: {'OK' if d['cycle_ms'] < 100 else 'MISSED'}")
    o = bench_open_50_blocks(app)
    print(f"open a {o['blocks']}-block VAMAS ({o['size_kB']:.0f} kB) and show it: "
          f"median {o['open_ms']:.0f} ms  target < 1000 ms: "
          f"{'OK' if o['open_ms'] < 1000 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
