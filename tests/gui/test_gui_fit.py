"""Fitting through the GUI: the table equals xpsfit.fit, marker drags refit, table edits undo,
exports round-trip, series fits fill the bar chart."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

import xpsfit

from gui_helpers import EXAMPLES, need, need_api, wait_idle

S2P_43V = (0, 8)      # cnf_series.vms block 8: S 2p at 4.3 V


@pytest.fixture
def fitted(window, cnf_series, s2p_recipe, qtbot):
    window.open_paths([cnf_series])
    window.set_recipe(s2p_recipe, "load")
    window.select(S2P_43V)
    window.fit_current()
    wait_idle(qtbot, window)
    assert window.errors == [], window.errors
    return window


def _table_matches(window, result):
    for c in result.components:
        assert window.table.value(c.species, "Position (eV)") == (c.position, c.position_stderr)
        assert window.table.value(c.species, "FWHM (eV)") == (c.fwhm, c.fwhm_stderr)
        assert window.table.value(c.species, "Area") == (c.area, c.area_stderr)
        v, s = window.table.value(c.species, "Fraction (%)")
        assert v == pytest.approx(100 * c.fraction, rel=1e-12)
        assert s == pytest.approx(100 * c.fraction_stderr_total, rel=1e-12)
        assert c.fraction_stderr_total >= c.fraction_stderr


def test_table_equals_what_xpsfit_fit_gives(fitted):
    w = fitted
    direct = xpsfit.fit(w.spectrum(S2P_43V), w.recipe)
    assert w.table.species() == [c.species for c in direct.components]
    _table_matches(w, direct)
    # the plot shows the same fit: envelope curve == result envelope
    shown = w.current_result()
    np.testing.assert_allclose(shown.curves["envelope"].values, direct.curves["envelope"].values,
                               rtol=1e-12)
    # one filled component per species, plus markers at the fitted positions
    assert set(w.view.markers) == {c.species for c in direct.components}
    for c in direct.components:
        assert w.view.markers[c.species].value() == pytest.approx(c.position)
    # strong correlations reported by the engine are shown on the rows concerned
    flagged = [s for s in w.table.species() if s in w.table.row_warnings]
    for species in flagged:
        row = w.table.row_of(species)
        assert w.table.item(row, 0).text().startswith("⚠")
        assert w.table.item(row, 1).toolTip()


def test_drag_marker_refits_from_the_new_start(fitted, qtbot):
    w = fitted
    before = w.current_result()
    line = w.view.markers["PS4"]
    start = before.recipe.components[0].position if before.recipe else None
    new_pos = 161.45
    line.setValue(new_pos)                       # what a mouse drag does …
    line.sigPositionChangeFinished.emit(line)    # … and its release
    wait_idle(qtbot, w)
    after = w.current_result()
    assert after is not before
    spec = next(c for c in w.recipe.components if c.species == "PS4")
    assert spec.position == new_pos and spec.position != start
    assert next(c for c in after.recipe.components if c.species == "PS4").position == new_pos
    # the refit converges back to the data's PS4 position (truth 161.7 ± ~0.05)
    ps4 = next(c for c in after.components if c.species == "PS4")
    assert abs(ps4.position - 161.71) < 0.05
    assert w.undo_stack.count() == 2 and "PS4" in w.undo_stack.undoText()
    _table_matches(w, after)


def test_edit_bound_in_table_then_undo(fitted, qtbot):
    w = fitted
    row = w.table.row_of("S0")
    original = next(c for c in w.recipe.components if c.species == "S0").window
    w.table.item(row, 6).setText("165.2")          # Pos. max, as typed by the user
    qtbot.waitUntil(lambda: w.undo_stack.count() == 2, timeout=30000)
    wait_idle(qtbot, w)
    assert w.table.value("S0", "Pos. max") == 165.2
    assert w.current_result().recipe.components[3].window == (original[0], 165.2)
    w.undo_stack.undo()
    wait_idle(qtbot, w)
    assert w.recipe.components[3].window == original
    assert w.table.value("S0", "Pos. max") == original[1]
    w.undo_stack.redo()
    wait_idle(qtbot, w)
    assert w.recipe.components[3].window[1] == 165.2
    # a bound that excludes the start is refused with one line, the recipe unchanged
    w.table.item(row, 5).setText("170")
    qtbot.waitUntil(lambda: len(w.hooked_errors) == 1, timeout=30000)
    assert "S0" in w.hooked_errors[0] and w.recipe.components[3].window[0] == original[0]


def test_fixed_checkbox_fixes_position(fitted, qtbot):
    w = fitted
    row = w.table.row_of("S2-")
    start = w.recipe.components[1].position
    w.table.item(row, 9).setCheckState(Qt.Checked)
    qtbot.waitUntil(lambda: w.undo_stack.count() == 2, timeout=30000)   # the edit is applied
    wait_idle(qtbot, w)
    assert w.table.value("S2-", "Fixed") is True
    s2 = next(c for c in w.current_result().components if c.species == "S2-")
    assert w.errors == [], w.errors
    assert s2.position == pytest.approx(start, abs=2e-6)


def test_export_hdf5_reopen_same_values(fitted, tmp_path, qtbot):
    need_api("save")
    need_api("load_result")
    w = fitted
    res = w.current_result()
    path = tmp_path / "fit.h5"
    assert w.export_hdf5(path), w.errors
    assert path.is_file() and not list(tmp_path.glob(".*part*"))
    assert w.open_paths([path]) == 1
    key = (1, 0)
    w.select(key)
    assert w.current == key and w.files[1].kind == "result"
    for c in res.components:
        got = w.table.value(c.species, "Position (eV)")
        assert got[0] == pytest.approx(c.position, rel=1e-12)
        assert got[1] == pytest.approx(c.position_stderr, rel=1e-9)
        assert w.table.value(c.species, "Area")[0] == pytest.approx(c.area, rel=1e-12)
    np.testing.assert_allclose(w.current_result().curves["envelope"].values,
                               res.curves["envelope"].values, rtol=1e-12)
    assert w.recipe.region == "S 2p"


def test_export_table_plot_and_recipe(fitted, tmp_path):
    need_api("write_table")
    w = fitted
    assert w.export_csv(tmp_path / "t.csv"), w.errors
    text = (tmp_path / "t.csv").read_text()
    assert "PS4" in text and "S0" in text
    assert w.export_plot(tmp_path / "fit.png") and (tmp_path / "fit.png").stat().st_size > 5000
    assert w.export_plot(tmp_path / "fit.svg")
    assert "<svg" in (tmp_path / "fit.svg").read_text()[:2000]
    assert w.save_recipe(tmp_path / "r.toml")
    again = xpsfit.load_recipe(tmp_path / "r.toml")
    assert [c.species for c in again.components] == [c.species for c in w.recipe.components]
    # the saved recipe reproduces the GUI fit headless to the last digit
    headless = xpsfit.fit(w.spectrum(S2P_43V), again)
    for a, b in zip(headless.components, w.current_result().components):
        assert a.area == pytest.approx(b.area, rel=1e-9)


def test_series_fit_fills_bars_and_onsets(window, cnf_series, s2p_recipe, qtbot):
    fit_series = need_api("fit_series")
    spectra = xpsfit.read(cnf_series)
    s2p = [s for s in spectra if s.attrs["region"] == "S 2p"]
    try:
        fit_series(s2p[:2], s2p_recipe)
    except (NotImplementedError, ImportError) as exc:
        pytest.skip(f"xpsfit.fit_series is not complete yet: {exc!r}")
    w = window
    w.open_paths([cnf_series])
    w.set_recipe(s2p_recipe, "load")
    keys = w.set_series([(0, i) for i in (0, 2, 4, 6, 8)])
    w.fit_series()
    wait_idle(qtbot, w, timeout=60000)
    assert w.errors == []
    series = w.series_result
    assert len(series.results) == 5 and w.tabs.currentIndex() == 1
    # stacked bars: each species' bar heights are its fractions in %, stacked to 100 %
    total = np.zeros(5)
    for c in series.results[0].components:
        bar = w.series_view.bars[c.species]
        heights = np.array([100 * next(x.fraction for x in r.components if x.species == c.species)
                            for r in series.results])
        np.testing.assert_allclose(bar.opts["height"], heights)
        np.testing.assert_allclose(bar.opts["y0"], total)
        total += heights
    np.testing.assert_allclose(total, 100, atol=1e-6)
    for o in series.onsets:
        if o.sentence:
            assert o.sentence in w.series_view.sentences.text()
    # "Export plot" on the series tab writes the report's Fig. 3 figure (one builder)
    from matplotlib.image import imread
    svg, png = (w.settings.fileName() + ".fig.svg", w.settings.fileName() + ".fig.png")
    assert w.export_plot(svg) and w.export_plot(png, dpi=150), w.errors
    text = open(svg, encoding="utf-8").read()
    assert "S 2p composition" in text and "S⁰ appears" in text and "PS₄³⁻" in text
    assert imread(png).shape[1] == round(17.8 / 2.54 * 150)
    # each spectrum of the series now shows its joint-fit result
    assert all(w.results[k] is r for k, r in zip(keys, series.results))
    # the series exports (HDF5 + long CSV) and reopens with the same composition
    h5, csv = (w.settings.fileName() + ".series.h5", w.settings.fileName() + ".csv")
    assert w.export_hdf5(h5, series=True) and w.export_csv(csv, series=True), w.errors
    assert "series_index" in open(csv).read().splitlines()[0]
    w.series_view.show_series(None)
    assert w.open_paths([h5]) == 1
    reopened = w.files[-1]
    assert reopened.kind == "result" and len(reopened.spectra) == 5
    assert w.series_result is not series and w.series_view.series is w.series_result
    for c in series.results[2].components:
        h = w.series_view.bars[c.species].opts["height"][2]
        assert h == pytest.approx(100 * c.fraction, rel=1e-9)


def test_screenshot_mode_writes_png(tmp_path, qtbot, cnf_series, s2p_recipe):
    from xpsfit_gui.app import main
    out = tmp_path / "shot.png"
    rc = main(["--screenshot", str(out), "--recipe", str(EXAMPLES / "s2p_sulfide.toml"),
               "--fit", "--select", "4", str(cnf_series)])
    assert rc == 0 and out.stat().st_size > 20000
    from PySide6.QtGui import QImage
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1400, 860)


def test_cancel_series_fit_keeps_window_usable(window, cnf_series, s2p_recipe, qtbot):
    need_api("fit_series")
    w = window
    w.open_paths([cnf_series])
    w.set_recipe(s2p_recipe, "load")
    w.set_series([(0, i) for i in (0, 2, 4, 6, 8)])
    w.fit_series()
    assert w.is_busy() and w.cancel_button.isVisible()
    w.cancel_fit()
    wait_idle(qtbot, w, timeout=60000)
    assert w.series_result is None and w.errors == []        # a cancelled result is never shown
    assert not w.cancel_button.isVisible() and not w.progress_bar.isVisible()
    w.select(S2P_43V)                                          # and the window works on
    w.fit_current()
    wait_idle(qtbot, w)
    assert w.current_result() is not None and w.errors == []


def test_status_line_shows_the_verdict(fitted):
    w = fitted
    result = w.current_result()
    w.refresh()
    message = w.statusBar().currentMessage()
    assert result.verdict in ("ok", "doubtful", "bad")
    expected = "verdict ok" if result.verdict == "ok" else f"verdict {result.verdict.upper()}"
    assert expected in message
    for code in {r.code for r in result.verdict_reasons}:
        assert code in message
