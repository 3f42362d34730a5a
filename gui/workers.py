"""Long work (fits, series fits) in a QThread, with progress signals and cooperative Cancel.

The core reports progress through ``progress(done, total, message) -> bool|None``; returning True
asks it to stop (it then raises :class:`xpsfit.Cancelled`). :class:`Job` turns that callback into
Qt signals, so the GUI thread only ever receives queued signals and never blocks.
"""
from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

import xpsfit


class _Runner(QObject):
    """Lives in the worker thread; runs ``func(progress=...)`` once."""

    progress = Signal(int, int, str)
    succeeded = Signal(object, float)   # result, seconds
    failed = Signal(str)                # one-line message
    cancelled = Signal()
    done = Signal()

    def __init__(self, func: Callable[..., Any], cancel_flag: threading.Event):
        super().__init__()
        self._func = func
        self._cancel = cancel_flag

    def _progress(self, done: int, total: int, message: str = "") -> bool:
        self.progress.emit(int(done), int(total), str(message))
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        t0 = time.perf_counter()
        try:
            result = self._func(progress=self._progress)
        except xpsfit.Cancelled:
            self.cancelled.emit()
        except xpsfit.XpsfitError as exc:
            self.failed.emit(exc.one_line())
        except Exception as exc:  # noqa: BLE001 - a bug in the core must not kill the GUI
            last = traceback.extract_tb(exc.__traceback__)[-1]
            self.failed.emit(f"internal error: {type(exc).__name__}: {exc} "
                             f"({last.filename.rsplit('/', 1)[-1]}:{last.lineno})")
        else:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.succeeded.emit(result, time.perf_counter() - t0)
        finally:
            self.done.emit()


class Job(QObject):
    """One background computation. Connect to the signals, then :meth:`start`.

    ``func`` must accept a ``progress`` keyword argument (all long xpsfit calls do).
    """

    progress = Signal(int, int, str)
    succeeded = Signal(object, float)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, func: Callable[..., Any], description: str = "", parent=None):
        super().__init__(parent)
        self.description = description
        self._cancel = threading.Event()
        self._thread = QThread()
        self._runner = _Runner(func, self._cancel)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progress.connect(self.progress)
        self._runner.succeeded.connect(self.succeeded)
        self._runner.failed.connect(self.failed)
        self._runner.cancelled.connect(self.cancelled)
        # direct: quit from the worker thread itself, so wait() works without a GUI event loop
        self._runner.done.connect(self._thread.quit, Qt.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Ask the computation to stop at its next progress report."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30000) -> bool:
        return self._thread.wait(ms)

    @Slot()
    def _on_thread_finished(self) -> None:
        self.finished.emit()
