"""The GUI on a real X display: Xvfb started here on a free display, Qt's xcb platform plugin
(the one that aborts with rc 134 when libxcb-cursor0, libxcb-icccm4 or libxcb-keysyms1 are
missing), a real fit, and the window's pixels read back from the X server."""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gui_helpers import EXAMPLES, need

SCRIPT = r"""
import json, sys, time
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication(["xpsfit-gui"])
from xpsfit_gui.app import build_parser, prepare
from xpsfit_gui.main_window import MainWindow
errors = []
w = MainWindow(settings=QSettings(sys.argv[1], QSettings.IniFormat), error_hook=errors.append)
w.resize(1100, 720)
w.show()
prepare(w, build_parser().parse_args(sys.argv[2:]))
for _ in range(30):
    app.processEvents()
    time.sleep(0.02)
img = app.primaryScreen().grabWindow(w.winId()).toImage()     # pixels from the X server
def dark(rect):
    return sum(1 for y in range(rect.top(), rect.bottom(), 2)
               for x in range(rect.left(), rect.right(), 2)
               if max(img.pixelColor(x, y).getRgb()[:3]) < 90)
plot = w.view.main.vb
box = w.view.graphics.mapFromScene(plot.sceneBoundingRect()).boundingRect()
box.translate(w.view.graphics.mapTo(w, w.view.graphics.rect().topLeft()))
res = w.current_result()
print(json.dumps({"platform": app.platformName(), "size": [img.width(), img.height()],
                  "window": [w.width(), w.height()], "dark_in_plot": dark(box),
                  "plot_area": box.width() * box.height() // 4, "errors": errors,
                  "redchi": res.statistics.redchi if res else None}))
"""


def _start_xvfb():
    """Xvfb on a display it chooses itself (-displayfd), so parallel runs never collide. The
    pipe stays open while the server runs: Xvfb dies if it cannot finish writing the number."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24",
                             "-nolisten", "tcp"], pass_fds=[write_fd],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    text = ""
    while not text.endswith("\n") and select.select([read_fd], [], [], 20)[0]:
        chunk = os.read(read_fd, 64).decode()
        if not chunk:
            break
        text += chunk
    if not text.strip():
        proc.kill()
        os.close(read_fd)
        err = proc.communicate()[1].decode(errors="replace").strip().splitlines()
        pytest.fail("Xvfb did not start: " + (err[-1] if err else "no display number"))
    return proc, f":{text.strip()}", read_fd


def test_main_window_runs_and_fits_on_a_real_x_display(tmp_path):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb; .ci/run installs it)")
    spectra = need(EXAMPLES / "cnf_series.vms")
    recipe = need(EXAMPLES / "s2p_sulfide.toml")
    proc, display, pipe = _start_xvfb()
    try:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "gui.ini"),
                              "--recipe", str(recipe), "--fit", "--select", "4", str(spectra)],
                             env=env, capture_output=True, text=True, timeout=120,
                             cwd=Path(__file__).resolve().parents[2])
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
        os.close(pipe)
    assert run.returncode == 0, (
        f"GUI on {display} exited with {run.returncode} (134 = Qt's xcb plugin could not load: "
        f"see README, 'Real display'): {run.stderr.strip()[-600:]}")
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["platform"] == "xcb"
    assert out["errors"] == []
    assert out["size"] == out["window"]           # the whole window came back from the server
    assert out["redchi"] is not None and 0 < out["redchi"] < 5
    # inside the plot box only the data points and the curves are dark (an empty plot has
    # none there): measured 1–3 % of the sampled pixels for this S 2p
    assert 0.003 * out["plot_area"] < out["dark_in_plot"] < 0.2 * out["plot_area"], out
