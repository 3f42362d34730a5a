"""Live preview: dragging a marker or the range band redraws the model (xpsfit.evaluate_model)
while the pointer moves; the refit comes on release."""
from __future__ import annotations

import os

import numpy as np
import pytest

import xpsfit

from gui_helpers import EXAMPLES, ROOT, wait_idle

# screenshots go to docs/img only when asked (XPSFIT_DOC_IMAGES=1): a test run never edits the repo
IMG = ROOT / "docs" / "img" if os.environ.get("XPSFIT_DOC_IMAGES") else None

S2P_43V = (0, 8)      # cnf_series.vms block 8: S 2p at 4.3 V, four doublets


@pytest.fixture
def fitted(window, qtbot, cnf_series):
    assert window.open_paths([cnf_series]) == 1
    assert window.load_recipe(EXAMPLES / "s2p_sulfide.toml")
    window.select(S2P_43V)
    window.fit_current()
    wait_idle(qtbot, window)
    assert window.current_result() is not None and not window.hooked_errors
    return window


def _drawn(view) -> dict:
    items = view._fit_items
    bg = items["background"].yData
    return {"x": items["envelope"].xData.copy(), "envelope": items["envelope"].yData.copy(),
            "background": bg.copy(), "residual": items["residual"].yData.copy(),
            **{s: items["tops"][s].yData - bg for s in items["species"]}}


def _low_edge(view):
    return min(view.region.lines, key=lambda line: line.value())


def _high_edge(view):
    return max(view.region.lines, key=lambda line: line.value())


def _top(x, y) -> float:
    return float(x[int(np.argmax(y))])


def test_dragging_a_marker_previews_the_model_then_the_release_refits(fitted, qtbot, tmp_path):
    w, view = fitted, fitted.view
    result = w.current_result()
    before = _drawn(view)
    line = view.markers["PS4"]
    start = float(line.value())
    shown = []
    view.preview.previewed.connect(shown.append)
    # the pointer moves in steps, the event loop runs between them (as during a real drag)
    steps = [start - 0.25 * k for k in range(1, 6)]
    for k, pos in enumerate(steps, 1):
        line.setValue(pos)
        qtbot.waitUntil(lambda k=k: len(shown) >= k, timeout=5000)
        now = _drawn(view)
        assert view.previewing
        # the PS4 doublet follows the marker, the others stay where the fit put them
        assert _top(now["x"], now["PS4"]) - _top(before["x"], before["PS4"]) == \
            pytest.approx(pos - start, abs=0.11)
        assert np.allclose(now["S0"], before["S0"])
    assert w.current_result() is result            # nothing was fitted during the drag
    assert w.job is None
    # what is drawn is the core's model at the fitted values with PS4 moved
    values = {n: r.value for n, r in result.parameters.items()}
    values[result.component("PS4").parameters["position"]] = steps[-1]
    core = xpsfit.evaluate_model(view.spectrum, result.recipe, values)
    assert np.array_equal(_drawn(view)["envelope"], core["envelope"].values)
    assert not np.allclose(_drawn(view)["envelope"], before["envelope"])
    assert np.max(np.abs(_drawn(view)["residual"])) > np.max(np.abs(before["residual"]))
    shot = (IMG or tmp_path) / "gui_drag_preview.png"        # mid-drag: PS4 1.25 eV low
    assert view.grab().save(str(shot))

    # release: the recipe takes the position (window moved along) and the spectrum is refitted
    line.sigPositionChangeFinished.emit(line)
    wait_idle(qtbot, w)
    refit = w.current_result()
    assert refit is not result and not w.hooked_errors
    assert refit.component("PS4").position == pytest.approx(steps[-1], abs=0.45)
    assert refit.component("PS4").position < result.component("PS4").position - 0.5
    assert refit.statistics.chisqr != pytest.approx(result.statistics.chisqr, rel=1e-3)
    assert not view.previewing
    assert np.array_equal(_drawn(view)["envelope"], refit.curves["envelope"].values)


def test_moves_faster_than_the_evaluation_are_coalesced(fitted, qtbot):
    view = fitted.view
    line = view.markers["S0"]
    start = float(line.value())
    done = view.preview.evaluated
    for k in range(1, 31):                 # 30 moves before the event loop gets a turn
        line.setValue(start + 0.02 * k)
    assert view.preview.requested >= 30
    qtbot.waitUntil(lambda: view.preview.evaluated > done, timeout=5000)
    qtbot.wait(50)
    assert view.preview.evaluated == done + 1      # one evaluation, of the latest position
    drawn = _drawn(view)
    before = fitted.current_result().curves
    x = before["binding_energy"].values
    old = before["components"].sel(species="S0").values
    assert _top(drawn["x"], drawn["S0"]) - _top(x, old) == pytest.approx(0.6, abs=0.11)


def test_dragging_the_range_band_previews_on_the_new_range_then_refits(fitted, qtbot):
    w, view = fitted, fitted.view
    result = w.current_result()
    lo0, hi0 = result.recipe.range
    shown = []
    view.preview.previewed.connect(shown.append)
    edge = _low_edge(view)
    for k, lo in enumerate((158.0, 159.0, 159.5), 1):
        edge.setValue(lo)                          # the band's low-BE edge, as the mouse moves it
        qtbot.waitUntil(lambda k=k: len(shown) >= k, timeout=5000)
        x = _drawn(view)["x"]
        assert x[0] == pytest.approx(lo, abs=0.11) and x[-1] == pytest.approx(hi0, abs=0.11)
    assert w.current_result() is result
    edge.sigPositionChangeFinished.emit(edge)     # release
    wait_idle(qtbot, w)
    refit = w.current_result()
    assert w.recipe.range == pytest.approx((159.5, hi0), abs=1e-6)
    assert refit is not result and not w.hooked_errors
    assert refit.statistics.ndata < result.statistics.ndata
    assert refit.component("PS4").area != pytest.approx(result.component("PS4").area, rel=1e-4)
    assert np.array_equal(_drawn(view)["x"], refit.curves["binding_energy"].values)


def test_a_refused_range_puts_the_fit_back(fitted, qtbot):
    """A band dragged to 0.3 eV: the recipe refuses it (components outside the range); the
    preview keeps its last drawable state and says why, the release reports one line and the
    plot shows the fit again, not a preview."""
    w, view = fitted, fitted.view
    result = w.current_result()
    low, high = _low_edge(view), _high_edge(view)
    high.setValue(166.0)
    qtbot.waitUntil(lambda: view.previewing, timeout=5000)
    drawn = _drawn(view)
    low.setValue(160.0)
    high.setValue(160.3)
    view.preview.flush()
    assert "outside the recipe range (160, 160.3)" in view.preview.last_error
    assert np.array_equal(_drawn(view)["envelope"], drawn["envelope"])
    high.sigPositionChangeFinished.emit(high)
    wait_idle(qtbot, w)
    assert len(w.hooked_errors) == 1 and "\n" not in w.hooked_errors[0]
    assert w.current_result() is result
    assert not view.previewing
    assert np.array_equal(_drawn(view)["envelope"], result.curves["envelope"].values)


def test_a_cancelled_refit_leaves_no_preview_on_screen(fitted, qtbot):
    w, view = fitted, fitted.view
    line = view.markers["PS4"]
    line.setValue(float(line.value()) - 1.0)
    qtbot.waitUntil(lambda: view.previewing, timeout=5000)
    line.sigPositionChangeFinished.emit(line)
    w.cancel_fit()
    wait_idle(qtbot, w)
    # cancelled in time or finished first: either way the plot shows a fit, not the preview
    assert not view.previewing
    assert np.array_equal(_drawn(view)["envelope"], w.current_result().curves["envelope"].values)
