"""Cosmetics of issue 13: readable species labels, no absurd σ, one error dialog for many bad
files, a percentage axis with a 0 tick and nothing above 100."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox

from gui_helpers import wait_idle


def test_label_colours_are_readable_and_keep_their_hue():
    from xpsfit_gui.palette import MAX_TEXT_LUMINANCE, _luminance, readable
    for hex_colour in ("#E69F00", "#F0E442", "#56B4E9", "#009E73", "#0072B2", "#777777"):
        text = readable(hex_colour)
        q, t = QColor(hex_colour), QColor(text)
        assert _luminance((t.red(), t.green(), t.blue())) <= MAX_TEXT_LUMINANCE
        if q.saturation() > 0:
            assert abs(q.hslHue() - t.hslHue()) <= 3          # same hue, only darker
    assert readable("#E69F00") != "#E69F00"        # orange on white needed darkening


def test_sigma_of_an_undetermined_value_is_not_printed_as_a_number():
    from xpsfit_gui.component_table import _fmt
    assert _fmt(0.0, 2.4e11, 1) == "0.0 ± ?"
    assert _fmt(1.0e5, 2.4e11, 1) == "1e+05 ± ?"
    assert _fmt(1234.5, 56.7, 1) == "1234.5 ± 56.7"
    assert _fmt(161.71, 0.012) == "161.710 ± 0.012"


def test_many_bad_files_give_one_dialog(qtbot, tmp_path):
    from xpsfit_gui.main_window import MainWindow
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    bad = []
    for i in range(3):
        p = tmp_path / f"bad{i}.vms"
        p.write_text("not a vamas file\n", encoding="utf-8")
        bad.append(p)
    assert w.open_paths(bad) == 0
    boxes = [b for b in w.findChildren(QMessageBox) if b.isVisible()]
    assert len(boxes) == 1
    lines = boxes[0].text().split("\n")
    assert len(lines) == 3 and all(f"bad{i}.vms" in lines[i] for i in range(3))
    boxes[0].close()


def test_series_axis_is_a_percentage_with_a_zero_tick(window, cnf_series, s2p_recipe, qtbot):
    w = window
    w.open_paths([cnf_series])
    w.set_recipe(s2p_recipe, "load")
    w.set_series([(0, 0), (0, 4), (0, 8)])
    w.fit_series()
    wait_idle(qtbot, w, timeout=120000)
    assert w.series_result is not None, w.hooked_errors
    axis = w.series_view.plot.getAxis("left")
    lo, hi = w.series_view.plot.getViewBox().viewRange()[1]
    ticks = [v for level in axis._tickLevels for v, _ in level]
    assert ticks[0] == 0.0 and max(ticks) == 100.0
    assert lo < 0.0 < 100.0 < hi
