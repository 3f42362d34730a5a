"""Map viewer: images of a real map result (demo map fitted by fit_map_to_hdf5), colour bar
levels, a mouse click on a pixel that reads and fits that pixel's spectrum."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

import xpsfit
from gui_helpers import EXAMPLES, need


@pytest.fixture(scope="module")
def map_result(tmp_path_factory):
    from xpsfit.demo import demo_map, write_map_hdf5
    folder = tmp_path_factory.mktemp("gui_map")
    data, truth = demo_map(4, 6, seed=9)
    data[1, 4, :] = 0.0                      # one pixel that cannot be fitted
    write_map_hdf5(folder / "map.h5", data, truth)
    xpsfit.fit_map_to_hdf5(folder / "map.h5", need(EXAMPLES / "s2p_sulfide.toml"),
                           folder / "maps.h5", chunk=12, jobs=1)
    return folder / "maps.h5", data


def _click(qtbot, view, row: int, col: int) -> None:
    """A real left click at the centre of pixel (row, col) on the image's viewport."""
    qtbot.wait(100)                          # let the layout settle after the last redraw
    scene = view.image.mapToScene(QPointF(col + 0.5, row + 0.5))
    widget = view.graphics.viewport()
    qtbot.mouseClick(widget, Qt.LeftButton, pos=view.graphics.mapFromScene(scene))


def test_map_view_images_and_pixel_click(qtbot, map_result):
    from xpsfit_gui.map_view import MapView
    path, data = map_result
    res = xpsfit.load_map_result(path)
    view = MapView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    qtbot.waitExposed(view)
    view.open_result(path)
    assert [view.species.itemText(i) for i in range(view.species.count())] == \
        ["PS4", "S2-", "polysulfide", "S0"]
    view.species.setCurrentText("polysulfide")
    want = res.fraction.sel(species="polysulfide").values
    np.testing.assert_array_equal(view.image.image, want)
    assert np.isnan(view.image.image[1, 4]) and np.isfinite(view.image.image).sum() == 23
    lo, hi = view.colour_bar.levels()
    assert lo == pytest.approx(np.nanmin(want)) and hi == pytest.approx(np.nanmax(want))
    view.quantity.setCurrentText("position")
    view.species.setCurrentText("S2-")
    np.testing.assert_array_equal(view.image.image, res.position.sel(species="S2-").values)
    view.quantity.setCurrentText("status")
    assert not view.species.isEnabled() and view.image.image[1, 4] == 1

    with qtbot.waitSignal(view.pixelShown, timeout=20000) as shown:
        _click(qtbot, view, 2, 3)
    assert shown.args == [2, 3]
    fitted = view.pixel_fit
    np.testing.assert_array_equal(view.spectrum_view.spectrum.values, data.values[2, 3])
    frac = {c.species: c.fraction for c in fitted.components}
    assert frac["polysulfide"] == pytest.approx(
        float(res.fraction.sel(species="polysulfide").values[2, 3]), abs=2e-3)
    assert "fitted" in view.status.text()
    view.show_pixel(1, 4)                    # the bad pixel: its reason, no traceback
    assert "invalid data" in view.status.text()


def test_main_window_opens_map_result(window, map_result, tmp_path):
    path, _ = map_result
    assert window.open_map_result(path)
    assert window.tabs.currentWidget() is window.map_view
    assert not window.open_map_result(tmp_path / "missing.h5")
    assert len(window.hooked_errors) == 1 and "missing.h5" in window.hooked_errors[0]
    assert "\n" not in window.hooked_errors[0]
