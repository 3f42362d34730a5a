"""GUI speed on one S 2p spectrum — the live preview while a marker is dragged and the
release → refit → redraw cycle (p50/p95/max over 50 drags) — and opening a 50-block VAMAS.

Run by hand (offscreen is fine):  QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py
Targets (issue 13 item 10): release → refit → redraw p95 < 100 ms; 50-block file shown < 1 s.
The machine's load average is printed with the numbers: on a shared machine they scale with it.
"""
from __future__ import annotations

import math
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


def _percentiles(seconds: list[float]) -> dict:
    ms = sorted(1000 * t for t in seconds)
    pick = lambda q: ms[min(len(ms) - 1, int(round(q * (len(ms) - 1))))]
    return {"n": len(ms), "p50": statistics.median(ms), "p95": pick(0.95), "max": ms[-1]}


def _fitted_window(app):
    w, _ = _window(app)
    w.open_paths([EXAMPLES / "cnf_series.vms"])
    w.load_recipe(EXAMPLES / "s2p_sulfide.toml")
    w.select((0, 8))                     # S 2p, 4.3 V: four doublets, the busiest spectrum
    w.fit_current()
    w.wait_idle()
    return w


def _process(app) -> None:
    """Handle the pending events, or sleep until one comes (no busy loop: the CPU time measured
    is the work's)."""
    from PySide6.QtCore import QEventLoop
    app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)


class _Paints:
    """Times of the Paint events of a widget (an event filter): a measurement ends when the
    widget has painted after the change, the way an idle event loop paints it — no extra
    ``grab()`` repaint."""

    def __init__(self, widget):
        from PySide6.QtCore import QEvent, QObject

        paint = QEvent.Type.Paint
        times = self.times = []

        class Filter(QObject):
            def eventFilter(self, _obj, event):  # noqa: N802 - Qt API
                if event.type() == paint:
                    times.append(time.perf_counter())
                return False

        self._filter = Filter()
        widget.installEventFilter(self._filter)

    def wait_after(self, app, t: float, timeout: float = 10.0) -> float:
        """Process events until a paint has started after ``t`` (maybe already: a status-bar
        message can flush the window's paint synchronously); the time it has ended."""
        deadline = time.perf_counter() + timeout
        while not (self.times and self.times[-1] > t):
            if time.perf_counter() > deadline:
                raise RuntimeError("the plot did not repaint")
            _process(app)
        app.processEvents()                 # the paint itself ran inside processEvents
        return time.perf_counter()


def bench_drag(app, drags: int = 50, moves: int = 10) -> dict:
    """(a) live preview: pointer move → model evaluated → plot painted; (b) release → refit in
    the worker thread → result drawn → plot painted."""
    w = _fitted_window(app)
    view = w.view
    paints = _Paints(view.graphics.viewport())
    shown: list[float] = []
    live = hasattr(view, "preview")     # False: a GUI from before the live preview (a baseline)
    if live:
        view.preview.previewed.connect(lambda _c: shown.append(time.perf_counter()))
    drawn: list[float] = []         # when the plot's curves were last set (preview or fit)
    for name in ("_set_curves", "show_spectrum"):
        method = getattr(view, name, None)
        if method is not None:
            def stamped(*args, _method=method, **kwargs):
                _method(*args, **kwargs)
                drawn.append(time.perf_counter())
            setattr(view, name, stamped)
    done: list[float] = []
    # connected after the window's own handler: stamps when the refit result has been drawn
    w.jobStarting.connect(lambda job: job.succeeded.connect(
        lambda *_a: done.append(time.perf_counter())))
    preview, cycles, fits, cpu_preview, cpu_cycles = [], [], [], [], []
    for i in range(drags):
        line = view.markers["PS4"]
        start = float(line.value())
        # a different target each drag, so every release is a new start position (a refit)
        target = 161.45 + 0.05 * (i % 7)
        for k in range(1, moves + 1 if live else 1):
            n = len(shown)
            c0, t0 = time.process_time(), time.perf_counter()
            line.setValue(start + (target - start) * k / moves)
            while len(shown) == n:
                _process(app)                           # the coalesced preview runs here
            preview.append(paints.wait_after(app, drawn[-1]) - t0)
            cpu_preview.append(time.process_time() - c0)
        if not live:
            line.setValue(target)
            app.processEvents()
        n = len(done)
        c0, t0 = time.process_time(), time.perf_counter()
        line.sigPositionChangeFinished.emit(line)       # the mouse release
        while len(done) == n:
            _process(app)
        cycles.append(paints.wait_after(app, drawn[-1]) - t0)
        cpu_cycles.append(time.process_time() - c0)
        fits.append(w.last_fit_seconds)
        w.wait_idle()
    assert not w.errors, w.errors
    w.close()
    return {"preview": _percentiles(preview or [math.nan]), "cycle": _percentiles(cycles),
            "fit": _percentiles(fits), "cpu_preview": _percentiles(cpu_preview or [math.nan]),
            "cpu_cycle": _percentiles(cpu_cycles)}


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
    d = bench_drag(app)
    line = lambda p: f"p50 {p['p50']:.0f} ms, p95 {p['p95']:.0f} ms, max {p['max']:.0f} ms (n = {p['n']})"
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"(a) preview while dragging (move → model → paint): {line(d['preview'])}")
    print(f"(b) release → refit → redraw (S 2p, 4 doublets):  {line(d['cycle'])}  "
          f"target p95 < 100 ms: {'OK' if d['cycle']['p95'] < 100 else 'MISSED'}")
    print(f"    of which the fit (worker thread):          {line(d['fit'])}")
    # the machine may be shared: CPU seconds of this process (all threads) do not grow with
    # the other processes' load the way wall-clock time does; on an idle machine the chain is
    # serial (the GUI waits for the fit), so wall clock ≈ CPU time there
    print(f"CPU time per preview: {line(d['cpu_preview'])}")
    print(f"CPU time per release → refit → redraw: {line(d['cpu_cycle'])}")
    o = bench_open_50_blocks(app)
    print(f"open a {o['blocks']}-block VAMAS ({o['size_kB']:.0f} kB) and show it: "
          f"median {o['open_ms']:.0f} ms  target < 1000 ms: "
          f"{'OK' if o['open_ms'] < 1000 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
