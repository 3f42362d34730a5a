"""Two series side by side in the series view (issue 13 item 5): the example CNF and KB S 2p
series fitted one after the other appear in ONE composition chart, one bar per series in each
state's group (the reference study's Fig. 3), with the core's composition numbers, verdict
captions and onset marks, and "Export plot" writes the core's CNF | composition | KB figure."""
from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

import xpsfit

from gui_helpers import EXAMPLES, ROOT, need, wait_idle

IMG = ROOT / "docs" / "img" if os.environ.get("XPSFIT_DOC_IMAGES") else None
#: S 2p blocks of both files: pristine, 3.8 V, 4.3 V (five states with XPSFIT_DOC_IMAGES)
STATES = (0, 2, 4, 6, 8) if IMG else (0, 4, 8)
N = len(STATES)


@pytest.fixture
def two_series(window, s2p_recipe, qtbot):
    w = window
    assert w.open_paths([need(EXAMPLES / "cnf_series.vms"), need(EXAMPLES / "kb_series.vms")]) == 2
    w.set_recipe(s2p_recipe, "load")
    for fi in (0, 1):
        w.set_series([(fi, i) for i in STATES])
        w.fit_series_button.click()
        wait_idle(qtbot, w, timeout=120000)
        assert w.hooked_errors == [], w.hooked_errors
    return w


def _pixel(image, vb, graphics, x, y):
    p = graphics.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    dpr = image.devicePixelRatio()
    return image.pixelColor(round(p.x() * dpr), round(p.y() * dpr))


def test_cnf_and_kb_side_by_side_in_one_chart(two_series, qtbot, tmp_path):
    w = two_series
    v = w.series_view
    assert w.tabs.currentIndex() == 1
    assert v.names() == ["CNF", "KB"] and len(v.shown) == 2
    assert v.series is w.series_result and xpsfit.series_title(w.series_result) == "KB"
    assert v.bars is v.series_bars["KB"]
    cnf, kb = v.shown
    for s, name, side in ((cnf, "CNF", -1), (kb, "KB", +1)):
        table = xpsfit.composition_table(s)
        bottom = np.zeros(N)
        for key in table.species.values:
            bar = v.series_bars[name][str(key)]
            # the core's numbers, stacked; CNF left of each state's centre, KB right of it
            np.testing.assert_allclose(bar.opts["height"],
                                       100 * table.sel(species=key).fraction.values)
            np.testing.assert_allclose(bar.opts["y0"], bottom)
            bottom += bar.opts["height"]
            assert np.all(np.sign(np.asarray(bar.opts["x"]) - np.arange(N)) == side)
        np.testing.assert_allclose(bottom, 100, atol=1e-6)
        # each bar is captioned with its series (and a mark when its fit is not ok)
        for k, r in enumerate(s.results):
            caption = v.captions[(name, k)]
            assert caption.startswith(name)
            assert caption.endswith({"ok": name, "doubtful": "?", "bad": "✗"}[r.verdict])
    # S⁰ appears at 4.3 V in both: the sentences name the series
    text = v.sentences.text()
    assert "CNF: S⁰: appears" in text and "KB: S⁰: appears" in text
    assert "CNF | KB" in v.plot.titleLabel.text

    # pixels: in the 4.3 V group (the last), the middle of each series' S⁰ segment is S⁰'s colour
    qtbot.wait(50)
    shot = (IMG or tmp_path) / "gui_two_series.png"
    assert w.grab().save(str(shot))
    image = v.plot_widget.grab().toImage()
    vb, graphics = v.plot.getViewBox(), v.plot_widget
    s0 = QColor(xpsfit.species_colour("S0"))
    for name in ("CNF", "KB"):
        bar = v.series_bars[name]["S0"]
        x, y0, h = bar.opts["x"][-1], bar.opts["y0"][-1], bar.opts["height"][-1]
        assert h > 5
        c = _pixel(image, vb, graphics, x, y0 + h / 2)
        assert abs(c.red() - s0.red()) + abs(c.green() - s0.green()) \
            + abs(c.blue() - s0.blue()) < 40, (name, c.name(), s0.name())

    # Export plot on this tab: the core's Fig. 3 of both series (CNF | composition | KB)
    svg = tmp_path / "fig3.svg"
    assert w.export_plot(svg), w.hooked_errors
    body = svg.read_text(encoding="utf-8")
    # one column of fit panels per series, titled with its name, the chart between them
    assert "S 2p composition" in body and ">CNF</text>" in body and ">KB</text>" in body
    from matplotlib.image import imread
    png = tmp_path / "fig3.png"
    assert w.export_plot(png, dpi=100)
    fig = xpsfit.study_figure(v.shown, v.names())
    ref = tmp_path / "ref.png"
    xpsfit.save_figure(fig, ref, dpi=100)
    np.testing.assert_array_equal(imread(png), imread(ref))


def test_refit_replaces_its_series_and_another_region_starts_over(two_series, qtbot,
                                                                 tmp_path):
    w = two_series
    v = w.series_view
    # refitting CNF replaces CNF in place (the order stays CNF, KB)
    w.set_series([(0, i) for i in STATES])
    w.fit_series()
    wait_idle(qtbot, w, timeout=120000)
    assert v.names() == ["CNF", "KB"] and v.shown[0] is w.series_result
    # the latest only, on request
    v.latest_only_button.click()
    assert v.names() == ["CNF"] and not v.latest_only_button.isEnabled()
    assert set(v.series_bars) == {"CNF"} and v.captions.get(("", 0), "") in ("", "?", "✗")
    # KB again beside it, then a P 2p series: S 2p and P 2p never share a chart
    w.set_series([(1, i) for i in STATES])
    w.fit_series()
    wait_idle(qtbot, w, timeout=120000)
    assert v.names() == ["CNF", "KB"]
    w.select((1, 1))                                  # a P 2p spectrum, then its recipe
    assert w.load_recipe(need(EXAMPLES / "p2p_sulfide.toml"))
    w.set_series([(1, i + 1) for i in STATES])
    w.fit_series()
    wait_idle(qtbot, w, timeout=120000)
    assert w.hooked_errors == [], w.hooked_errors
    assert v.names() == ["KB"] and v.shown[0].recipe.region == "P 2p"
    assert "P 2p composition" in v.plot.titleLabel.text


def test_a_bad_fit_is_marked_on_its_bar(qtbot, s2p_recipe):
    """One species for a four-species S 2p: every joint-fit spectrum is judged bad, and each bar
    says so (✗ in the warning colour) instead of showing a clean 100 % bar."""
    from xpsfit_gui.series_view import VERDICT_TEXT, SeriesView
    spectra = [s for s in xpsfit.read(need(EXAMPLES / "kb_series.vms"))
               if s.attrs["region"] == "S 2p"][::2]
    recipe = s2p_recipe
    for key in ("S2-", "polysulfide", "S0"):
        recipe = xpsfit.delete_component(recipe, key)
    series = xpsfit.fit_series(spectra, recipe)
    assert {r.verdict for r in series.results} == {"bad"}
    v = SeriesView()
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    v.show_series(series)
    assert [v.captions[("", k)] for k in range(len(spectra))] == ["✗"] * len(spectra)
    marks = [i for i in v.plot.items if isinstance(i, pg.TextItem) and "✗" in i.toHtml()]
    assert len(marks) == len(spectra) and VERDICT_TEXT["bad"].lower() in marks[0].toHtml().lower()
