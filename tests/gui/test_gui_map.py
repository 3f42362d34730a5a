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
    mx, my = view.marker.getData()
    assert list(mx) == [3.5] and list(my) == [2.5]
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


def _viridis_pixels(path) -> int:
    """How many pixels of a PNG are (within 6 levels) colours of the viridis colour map."""
    import pyqtgraph as pg
    from PySide6.QtGui import QImage
    img = QImage(str(path)).convertToFormat(QImage.Format_RGB888)
    rgb = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    rgb = rgb[:, :3 * img.width()].reshape(-1, 3).astype(int)
    lut = pg.colormap.get("viridis").getLookupTable(nPts=256)[:, :3].astype(int)
    step = rgb[::41]                                         # a sample keeps this fast
    dist = np.abs(step[:, None, :] - lut[None, :, :]).max(axis=2).min(axis=1)
    return int((dist <= 6).sum()) * 41


def test_screenshot_of_a_map_and_pixel(tmp_path, qtbot, map_result):
    from xpsfit_gui.app import main
    path, _ = map_result
    out = tmp_path / "map.png"
    assert main(["--screenshot", str(out), "--map", str(path), "--pixel", "2,3",
                 "--view", "map"]) == 0
    # the map image and its colour bar: a sizeable viridis area (white elsewhere and in the
    # spectrum plot, which has no viridis colours)
    assert _viridis_pixels(out) > 0.03 * 1400 * 860
    fit_tab = tmp_path / "fit.png"                           # the same window on its Fit tab
    assert main(["--screenshot", str(fit_tab), "--map", str(path), "--view", "fit"]) == 0
    assert _viridis_pixels(fit_tab) < 0.005 * 1400 * 860
    bad = tmp_path / "bad.png"
    assert main(["--screenshot", str(bad), "--map", str(path), "--pixel", "two,3"]) == 1
