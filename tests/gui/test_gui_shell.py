"""GUI shell: opening files, the tree, the plot conventions, bad files, recent files, the
worker thread and the pure recipe edits."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

import xpsfit



def test_open_example_series_fills_tree_and_plot(window, cnf_series):
    assert window.open_paths([cnf_series]) == 1
    top = window.tree.topLevelItem(0)
    assert top.text(0) == "cnf_series.vms"
    assert top.childCount() == 10
    regions = [top.child(i).text(1) for i in range(10)]
    assert regions.count("S 2p") == 5 and regions.count("P 2p") == 5
    assert top.child(2).text(3) == "3.6 V"
    # the first spectrum is shown: data points, BE decreasing to the right in both panels
    assert window.current == (0, 0)
    vb = window.view.main.getViewBox()
    assert vb.xInverted() and window.view.resid.getViewBox().xInverted()
    assert window.view.resid.getViewBox().linkedView(0) is vb
    x, y = window.view._items[0].getData()
    spectrum = window.spectrum((0, 0))
    np.testing.assert_array_equal(x, spectrum["binding_energy"].values)
    np.testing.assert_array_equal(y, spectrum.values)
    # the fit range region spans the data when the recipe gives none
    lo, hi = window.view.region.getRegion()
    assert (lo, hi) == (pytest.approx(x[0]), pytest.approx(x[-1]))


def test_corrupt_file_reports_one_line_and_app_keeps_working(window, tmp_path, cnf_series):
    bad = tmp_path / "broken.vms"
    bad.write_text("VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4\n"
                   "this is not a vamas file\n1\n2\n")
    missing = tmp_path / "nope.vms"
    assert window.open_paths([bad, missing, cnf_series]) == 1   # the good one still opens
    assert len(window.hooked_errors) == 2
    assert "broken.vms" in window.hooked_errors[0] and "\n" not in window.hooked_errors[0]
    assert "nope.vms" in window.hooked_errors[1]
    assert window.tree.topLevelItemCount() == 1 and window.current == (0, 0)


def test_error_dialog_is_non_modal(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from xpsfit_gui.main_window import MainWindow
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    bad = tmp_path / "garbage.xy"
    bad.write_bytes(b"\x00\x01\x02 not a spectrum \xff" * 10)
    assert w.open_paths([bad]) == 0
    box = w._error_box
    assert box is not None and box.isVisible() and not box.isModal()
    assert "garbage.xy" in box.text()
    assert w.isVisible()            # still alive and responsive
    box.close()


def test_recent_files_are_remembered(window, cnf_series):
    window.open_paths([cnf_series])
    recent = window._recent()
    assert recent[0] == str(cnf_series.resolve())
    assert [a.text() for a in window.recent_menu.actions()] == recent


def test_series_from_selection_orders_by_voltage_and_rejects_mixed_regions(window, cnf_series):
    window.open_paths([cnf_series])
    s2p = [(0, i) for i in (8, 2, 0, 6, 4)]          # shuffled on purpose
    keys = window.set_series(s2p)
    volts = [window.spectrum(k).attrs["voltage"] for k in keys]
    assert keys == [(0, 0), (0, 2), (0, 4), (0, 6), (0, 8)]   # pristine (no V) first
    assert volts[1:] == [3.6, 3.8, 4.0, 4.3] and math.isnan(volts[0])
    assert window.series_keys() == keys
    assert window.set_series([(0, 0), (0, 1)]) == []
    assert "one region" in window.hooked_errors[-1]


def test_worker_reports_progress_and_cancels(qtbot):
    """The thread machinery with a cooperative computation (the contract the core follows)."""
    from xpsfit_gui.workers import Job

    steps = 60000   # 5 ms each: ~5 min, far longer than any wait for the cancel to land

    def slow(progress):
        for i in range(steps):
            if progress(i, steps, f"step {i}"):
                raise xpsfit.Cancelled("cancelled by the user")
            time.sleep(0.005)
        return "finished"

    job = Job(slow)
    seen = []
    job.progress.connect(lambda d, t, m: seen.append(d))
    with qtbot.waitSignal(job.cancelled, timeout=30000):
        job.start()
        qtbot.waitUntil(lambda: len(seen) >= 3, timeout=30000)
        job.cancel()
    assert job.wait(30000)
    assert 3 <= len(seen) < steps and seen == sorted(seen)

    done = Job(lambda progress: 42)
    with qtbot.waitSignal(done.succeeded, timeout=30000) as blocker:
        done.start()
    assert blocker.args[0] == 42
    done.wait()

    def bad(progress):
        raise xpsfit.FitError("no points in range", path="x.vms", block=3)

    failing = Job(bad)
    with qtbot.waitSignal(failing.failed, timeout=30000) as blocker:
        failing.start()
    assert blocker.args[0] == "x.vms block 3: no points in range"
    failing.wait()


def _recipe():
    # a valid recipe (edits are checked like a file): two free components, no library
    return xpsfit.recipe_from_dict({"region": "S 2p", "components": [
        {"name": "PS4", "position": 161.6, "window": [161.2, 162.0], "fwhm": [0.6, 1.5],
         "fwhm_start": 1.0},
        {"name": "S0", "position": 164.0, "window": [163.7, 164.6], "fwhm": [0.7, 2.0],
         "fwhm_start": 1.3}]})


def test_recipe_edits_copy_and_validate():
    from xpsfit_gui import recipe_edit as e
    r = _recipe()
    moved = e.edit_component(r, "PS4", "position", 162.3)       # beyond the window: it follows
    assert moved.components[0].position == 162.3
    assert moved.components[0].window == pytest.approx((161.9, 162.7))
    assert r.components[0].position == 161.6 and r.components[0].window == (161.2, 162.0)
    assert e.edit_component(r, "S0", "window_hi", 165.0).components[1].window == (163.7, 165.0)
    with pytest.raises(xpsfit.RecipeError, match="below the start position"):
        e.edit_component(r, "S0", "window_lo", 164.5)
    with pytest.raises(xpsfit.RecipeError, match="no component 'SOx'"):
        e.edit_component(r, "SOx", "fwhm", 1.0)
    fixed = e.edit_component(r, "PS4", "fixed", True)
    assert xpsfit.is_fixed(fixed, "PS4") and not xpsfit.is_fixed(r, "PS4")
    assert fixed.components[0].window == r.components[0].window     # no micro-window saved
    widened = e.edit_component(r, "PS4", "fwhm", 1.8)
    assert widened.components[0].fwhm_bounds == (0.6, 1.8)
    assert e.with_range(r, 170, 158).range == (158.0, 170.0)


def test_qt_binding_does_not_leak_bool_references():
    """PySide6 6.12.0 drops a reference to True/False on every Python ``Signal.emit`` (each
    pyqtgraph drag emits hundreds), which aborts the interpreter ("bool_dealloc") in long
    sessions and at the end of a test run. 6.11.x is fine; pin around the broken release."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        sig = Signal(int)

    e = Emitter()
    before = sys.getrefcount(True) + sys.getrefcount(False)
    for i in range(50):
        e.sig.emit(i)
    after = sys.getrefcount(True) + sys.getrefcount(False)
    assert after >= before - 5, "this PySide6 build leaks bool references on Signal.emit"
