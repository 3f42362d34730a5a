"""GUI resilience (issue 9, item 4): corrupt files, a fit cancelled midway, the window closed
during a fit, exports to places that cannot be written. Each time the application stays up,
says what happened in one line (through the injected error hook) and loses nothing.

"Midway" is made certain, not likely: a listener attached through ``MainWindow.jobStarting``
holds the worker thread inside the fit's first progress report until the GUI thread has asked
to stop, so the stop always lands in a running fit, whatever the machine's load.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from PySide6.QtCore import Qt

import xpsfit

from gui_helpers import need_api, wait_idle

S2P_43V = (0, 8)


@pytest.fixture
def fitted(window, cnf_series, s2p_recipe, qtbot):
    window.open_paths([cnf_series])
    window.set_recipe(s2p_recipe, "load")
    window.select(S2P_43V)
    window.fit_current()
    wait_idle(qtbot, window)
    assert window.errors == [] and window.current_result() is not None
    return window


class HoldInFit:
    """Attach to the window's next job: its worker thread waits in the first progress report
    until a stop is requested (30 s at most), then lets the fit see the request."""

    def __init__(self, window):
        self.job = None
        self.held = threading.Event()
        self.reports: list[str] = []
        window.jobStarting.connect(self._attach)
        self._window = window

    def _attach(self, job) -> None:
        self._window.jobStarting.disconnect(self._attach)
        self.job = job
        job.progress.connect(self._hold, Qt.DirectConnection)   # runs in the worker thread

    def _hold(self, done: int, total: int, message: str) -> None:
        self.reports.append(message)
        if self.held.is_set():
            return
        self.held.set()
        deadline = time.monotonic() + 30
        while not self.job.cancel_requested and time.monotonic() < deadline:
            time.sleep(0.002)


# --------------------------------------------------------------------------- corrupt files

def _corrupt_files(folder: Path, good: Path) -> list[Path]:
    text = good.read_bytes()
    files = {
        "truncated.vms": text[: len(text) // 2],
        "garbage.vms": np.random.default_rng(3).integers(0, 256, 4000, np.uint8).tobytes(),
        "empty.vms": b"",
        "utf16.vms": text.decode("latin-1").encode("utf-16"),
        "fake.h5": b"\x89HDF\r\n\x1a\n" + b"\x00" * 300,        # HDF5 magic, nothing behind
        "nan.xy": b"# Energy Counts\n1.0 nan\n2.0 nan\n3.0 nan\n",
    }
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    foreign = folder / "foreign.h5"                     # a valid HDF5 file, not xpsfit's
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    hostile = folder / "hostile.h5"                     # xpsfit's format, entry links out
    with h5py.File(hostile, "w") as f:
        f.attrs["xpsfit_format"] = "xpsfit-results"
        f.attrs["xpsfit_format_version"] = 2
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e.attrs["xpsfit_index"] = 0
        os.mkfifo(folder / "pipe")                      # following the link would hang
        e["xpsfit"] = h5py.ExternalLink(str(folder / "pipe"), "/entry")
    (folder / "a_folder.vms").mkdir()
    return paths + [foreign, hostile, folder / "a_folder.vms", folder / "missing.vms"]


def test_corrupt_files_report_one_line_each_and_lose_nothing(fitted, cnf_series, tmp_path):
    w = fitted
    before = (list(w.files), dict(w.results), w.current, w.recipe, w.current_result())
    bad = _corrupt_files(tmp_path, cnf_series)
    assert w.open_paths(bad) == 0
    assert len(w.hooked_errors) == len(bad)             # one message per file, none lost
    for path, message in zip(bad, w.hooked_errors):
        assert path.name in message and "\n" not in message and len(message) < 600, message
        assert "Traceback" not in message
    # what was open, selected and fitted is untouched, and the window still works
    assert (w.files, w.results, w.current, w.recipe) == tuple(before[:4])
    assert w.current_result() is before[4] and w.tree.topLevelItemCount() == 1
    assert w.isVisible()
    # a good file opened together with the bad ones still opens
    assert w.open_paths([bad[0], cnf_series]) == 1 and len(w.files) == 2


def test_special_files_and_huge_inputs_report_one_line_and_lose_nothing(fitted, tmp_path):
    """Issue 18: a FIFO, /dev/zero and a CSV over the size limit, opened as spectra or as a
    recipe, give one line each; nothing blocks, nothing fills memory, the fit stays."""
    import os

    from xpsfit.io.limits import MAX_FILE_BYTES
    w = fitted
    before = (list(w.files), dict(w.results), w.recipe)
    fifo = tmp_path / "pipe.vms"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as fh:   # sparse
        fh.write(b"BE,counts\n1,2\n3,4\n")
        fh.truncate(MAX_FILE_BYTES + 1)
    bad = [fifo, Path("/dev/zero"), huge]
    assert w.open_paths(bad) == 0
    assert not w.load_recipe(fifo) and not w.load_recipe("/dev/zero")
    assert len(w.hooked_errors) == 5
    for message, needle in zip(w.hooked_errors, ["FIFO", "character device", "MiB limit",
                                                 "FIFO", "character device"]):
        assert needle in message and "\n" not in message, message
    assert (w.files, w.results, w.recipe) == before


# ------------------------------------------------------------------------- cancel midway

def test_cancel_midway_keeps_the_previous_result(fitted, qtbot):
    w = fitted
    previous = w.current_result()
    hold = HoldInFit(w)
    w.fit_current()                                      # a refit of the same spectrum
    assert hold.held.wait(30), "the fit never reported progress"
    assert w.job is hold.job and hold.job.is_running() and w.cancel_button.isVisible()
    qtbot.mouseClick(w.cancel_button, Qt.LeftButton)     # the user's Cancel
    wait_idle(qtbot, w)
    assert not hold.job.is_running()
    assert w.current_result() is previous                # the cancelled fit replaced nothing
    assert w.errors == [] and not w.cancel_button.isVisible()
    assert w.statusBar().currentMessage() == "Cancelled."
    # the window works on: a new fit gives exactly what xpsfit.fit gives
    w.fit_current()
    wait_idle(qtbot, w)
    again = w.current_result()
    assert again is not previous and w.errors == []
    direct = xpsfit.fit(w.spectrum(S2P_43V), w.recipe)
    assert [c.area for c in again.components] == [c.area for c in direct.components]


def test_cancel_midway_series_fit(window, cnf_series, s2p_recipe, qtbot):
    need_api("fit_series")
    w = window
    w.open_paths([cnf_series])
    w.set_recipe(s2p_recipe, "load")
    w.set_series([(0, i) for i in (0, 2, 4, 6, 8)])
    hold = HoldInFit(w)
    w.fit_series()
    assert hold.held.wait(30)
    w.cancel_fit()
    wait_idle(qtbot, w, timeout=60000)
    assert not hold.job.is_running() and w.series_result is None and w.errors == []
    assert w.results == {}                               # no half series shown anywhere


# --------------------------------------------------------------------- close during a fit

def test_closing_the_window_during_a_fit_stops_the_worker(fitted, qtbot):
    w = fitted
    hold = HoldInFit(w)
    w.set_series([(0, i) for i in (0, 2, 4, 6, 8)])
    w.fit_series()
    assert hold.held.wait(30)
    job = hold.job
    assert w.close()                                     # closeEvent cancels and waits
    assert not w.isVisible()
    assert job.wait(30000) and not job.is_running()      # the worker has stopped, no hang
    qtbot.wait(50)                                       # queued signals reach the closed window
    assert w.series_result is None and w.errors == []    # no error, nothing half-applied


# ------------------------------------------------------------------ unwritable export targets

def _targets(tmp_path: Path, name: str) -> list[Path]:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("a file, not a folder\n")
    a_dir = tmp_path / f"existing_dir_{name}"
    a_dir.mkdir(exist_ok=True)
    # root ignores permissions, so: a parent that is a file, a folder that does not exist,
    # a target that is a folder
    return [a_file / name, tmp_path / "no" / "such" / name, a_dir]


@pytest.mark.parametrize("kind, name", [("hdf5", "fit.h5"), ("csv", "fit.csv"),
                                        ("plot", "fit.png"), ("recipe", "r.toml")])
def test_export_to_an_unwritable_place_says_so_and_loses_nothing(fitted, tmp_path, kind, name):
    w = fitted
    export = {"hdf5": w.export_hdf5, "csv": w.export_csv, "plot": w.export_plot,
              "recipe": w.save_recipe}[kind]
    result, recipe = w.current_result(), w.recipe
    listing = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for target in _targets(tmp_path, name):
        n = len(w.hooked_errors)
        assert export(target) is False
        assert len(w.hooked_errors) == n + 1, target
        message = w.hooked_errors[-1]
        assert str(target) in message and "\n" not in message and "Traceback" not in message
    # nothing written or left behind, the fit and recipe are intact, the app is up
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == sorted(
        set(listing) | {Path("plain.txt"), Path(f"existing_dir_{name}")})
    assert (tmp_path / "plain.txt").read_text() == "a file, not a folder\n"
    assert w.current_result() is result and w.recipe is recipe and w.isVisible()
    # and the same export to a writable place then works
    good = tmp_path / "ok" / name
    good.parent.mkdir()
    assert export(good) is True and good.stat().st_size > 0
    assert [p.name for p in good.parent.iterdir()] == [name]     # no temporary file left


def test_failed_overwrite_keeps_the_old_file(fitted, tmp_path):
    """A plot export that fails while writing (an image format Qt cannot write) leaves the
    file already at the target exactly as it was."""
    w = fitted
    target = tmp_path / "out" / "fit.notanimage"
    target.parent.mkdir()
    target.write_bytes(b"precious old content")
    assert w.export_plot(target) is False
    assert "fit.notanimage" in w.hooked_errors[-1]
    assert target.read_bytes() == b"precious old content"
    assert [p.name for p in target.parent.iterdir()] == ["fit.notanimage"]
