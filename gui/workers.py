"""Long work (fits, series fits) off the GUI thread, with progress signals and cooperative Cancel.

The core reports progress through ``progress(done, total, message) -> bool|None``; returning True
asks it to stop (it then raises :class:`xpsfit.Cancelled`). :class:`Job` turns that callback into
Qt signals emitted from a pooled worker thread; receivers in the GUI thread get them queued, so
the window never blocks. Pooled threads are reused: a refit after a marker drag does not pay for
creating a thread.
"""
from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

import xpsfit


class _Task(QRunnable):
    def __init__(self, job: "Job"):
        super().__init__()
        self.setAutoDelete(True)
        self._job = job

    def run(self) -> None:
        self._job._run()


class Job(QObject):
    """One background computation. Connect to the signals, then :meth:`start`.

    ``func`` must accept a ``progress`` keyword argument (all long xpsfit calls do).
    """

    progress = Signal(int, int, str)
    succeeded = Signal(object, float)   # result, seconds
    failed = Signal(str)                # one-line message
    cancelled = Signal()
    finished = Signal()                 # always, after one of the three above

    def __init__(self, func: Callable[..., Any], description: str = "", parent=None):
        super().__init__(parent)
        self.description = description
        self._func = func
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._started = False

    def start(self) -> None:
        self._started = True
        QThreadPool.globalInstance().start(_Task(self))

    def cancel(self) -> None:
        """Ask the computation to stop at its next progress report."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def is_running(self) -> bool:
        return self._started and not self._done.is_set()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the computation has ended (signals may still be queued)."""
        return self._done.wait(ms / 1000) if self._started else True

    def _progress(self, done: int, total: int, message: str = "") -> bool:
        self.progress.emit(int(done), int(total), str(message))
        return self._cancel.is_set()

    def _run(self) -> None:
        """Runs in a pool thread."""
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
            self._done.set()
            self.finished.emit()
