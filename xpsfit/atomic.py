"""Atomic file writes: readers see the previous complete file or the new complete one, never half.

The new content goes to a temporary file in the *same folder* (so the final ``os.replace`` is a
rename within one file system, which POSIX and Windows make atomic), is flushed and fsync'ed,
then renamed over the target. Any exception (including ``KeyboardInterrupt``) removes the
temporary file and leaves the target untouched.

``atomic_write`` yields an open file object (text or binary); ``atomic_path`` yields the temporary
*path* for libraries that want to open the file themselves (matplotlib ``savefig``);
``atomic_h5`` yields an open ``h5py.File``.

This is the one output layer of every command: :func:`check_target` refuses a place that cannot
be written before any work is done, and every OS error while writing (disk full, file-size
limit, name too long, permission, immutable file, a folder in the way) becomes one
:class:`~xpsfit.errors.ExportError` line (or the caller's error class) that says the previous
file is unchanged.
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import ExportError, XpsfitError

__all__ = ["atomic_path", "atomic_write", "atomic_h5", "check_target"]

#: what the user is told for each errno a write can fail with
_REASONS = {
    errno.ENOSPC: "disk full (no space left on device)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (file-size limit reached)",
    errno.ENAMETOOLONG: "file name too long",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted (immutable or protected file or folder?)",
    errno.EROFS: "read-only file system",
    errno.EISDIR: "is a folder",
    errno.ENOTDIR: "a parent in the path is not a folder",
    errno.ENOENT: "folder does not exist",
    errno.EIO: "input/output error",
}
#: the temporary name keeps at most this much of the target's name, so that a long but legal
#: name does not become too long once the prefix and suffix are added
_TMP_STEM = 64


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if code in _REASONS:
        return _REASONS[code]
    text = getattr(exc, "strerror", None) or (str(exc).splitlines() or [""])[0]
    return text[:200] or type(exc).__name__


def _fail(error: type[XpsfitError], what: str, path, exc: BaseException) -> XpsfitError:
    return error(f"cannot write {what}: {_reason(exc)}; the previous file (if any) is "
                 "unchanged", path=os.fspath(path))


def _ignore_sigxfsz() -> None:
    """Past a file-size limit (``ulimit -f``) the kernel sends SIGXFSZ, whose default action
    kills the process (HDF5 then dies mid-write); ignored, the write fails with EFBIG, which
    is reported like any other write error."""
    sig = getattr(signal, "SIGXFSZ", None)
    if sig is None or threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, signal.SIG_IGN)


def check_target(path: str | os.PathLike, *, error: type[XpsfitError] = ExportError,
                 what: str = "file") -> Path:
    """Refuse, before any work, an output place that cannot take a file: a missing folder, a
    parent that is a file, a name too long, a folder or special file in the target's place, an
    existing target that cannot be replaced (immutable, read-only) or a folder where no file
    can be created. Returns the target as a Path."""
    target = Path(path)
    name = target.name
    where = os.fspath(path)
    if not name or name in (".", ".."):
        raise error(f"cannot write {what}: not a file name", path=where)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        limit = os.pathconf(folder if folder.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):   # no pathconf on Windows
        limit = 255
    if len(os.fsencode(name)) > limit:
        raise error(f"cannot write {what}: file name too long ({len(os.fsencode(name))} bytes, "
                    f"the limit is {limit})", path=where)
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        raise error(f"cannot write {what}: folder {folder} does not exist", path=where) from None
    except OSError as exc:
        raise _fail(error, what, where, exc) from None
    if not stat.S_ISDIR(info.st_mode):
        raise error(f"cannot write {what}: {folder} is not a folder", path=where)
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise _fail(error, what, where, exc) from None
    if existing is not None and stat.S_ISDIR(os.stat(target).st_mode):
        raise error(f"cannot write {what}: a folder of that name is in the way", path=where)
    if existing is not None and not stat.S_ISLNK(existing.st_mode) and \
            not stat.S_ISREG(existing.st_mode):
        raise error(f"cannot write {what}: the target exists and is not a regular file",
                    path=where)
    if existing is not None and stat.S_ISREG(existing.st_mode):
        # opening for writing without truncation changes nothing, but fails for a file that
        # is immutable (EPERM) or read-only for us (EACCES)
        try:
            os.close(os.open(target, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)))
        except OSError as exc:
            raise _fail(error, what, where, exc) from None
    try:   # the folder itself: read-only, immutable, no permission, read-only file system
        fd, probe = tempfile.mkstemp(prefix=f".{name[:_TMP_STEM]}.", suffix=".probe",
                                     dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _fail(error, what, where, exc) from None
    return target


def _default_mode(target: Path) -> int:
    """Permissions the new file should get: those of the file it replaces, else 0o666 − umask
    (``mkstemp`` creates 0o600, which would silently hide results from group members)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on every platform."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, error: type[XpsfitError] = ExportError,
                what: str = "file") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsync'ed and renamed to ``path``.

    The caller must have closed whatever it opened on the temporary path before the block ends.
    An ``OSError`` (from the block or from the final fsync/rename) becomes one ``error`` line
    naming ``path`` and saying what went wrong; the temporary file is removed.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    _ignore_sigxfsz()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name[:_TMP_STEM]}.", suffix=".tmp",
                                        dir=folder)
    except OSError as exc:
        check_target(path, error=error, what=what)   # the most specific reason, if it has one
        raise _fail(error, what, path, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _default_mode(target))
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise _fail(error, what, path, exc) from None
        raise
    _fsync_dir(folder)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *,
                 error: type[XpsfitError] = ExportError, what: str = "file",
                 **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; rename it to ``path`` when the block
    ends without an exception. ``mode`` is ``"w"`` (text; ``encoding``/``newline`` may be given)
    or ``"wb"``.
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path, error=error, what=what) as tmp:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike, *, error: type[XpsfitError] = ExportError,
              what: str = "HDF5 file", **h5_kwargs) -> Iterator:
    """An ``h5py.File`` open for writing on a temporary file, renamed to ``path`` on success.

    HDF5 writes through :class:`_WriteGuard`: the first OS error (disk full, file-size limit)
    is recorded and every later write is discarded, so HDF5 itself never sees a failure. That
    is the point: an HDF5 file whose write or close failed keeps dangling objects that crash
    the interpreter (SIGSEGV) when they are collected, often at exit. The recorded error is
    raised once the file is closed, as one line; the temporary file is removed.
    """
    import h5py

    with atomic_path(path, error=error, what=what) as tmp:
        with open(tmp, "r+b") as raw:
            guard = _WriteGuard(raw)
            h5 = h5py.File(guard, "w", **h5_kwargs)
            try:
                yield h5
            finally:
                h5.close()
            guard.flush()   # buffered bytes can still meet a full disk
            if guard.error is not None:
                raise _fail(error, what, path, guard.error)


class _WriteGuard(io.RawIOBase):
    """A file for h5py whose writes never fail. After the first OS error the error is kept and
    later writes are held in memory instead (reads see them), so HDF5 can finish and close
    consistently; the whole temporary file is then thrown away. Memory rather than a scratch
    file, because a file-size limit (``ulimit -f``) applies to every file of the process."""

    def __init__(self, raw):
        super().__init__()
        self.raw = raw
        self.error: OSError | None = None
        self._pos = 0
        self._spilled: list[tuple[int, bytes]] | None = None   # (offset, data), write order

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == os.SEEK_SET:
            self._pos = pos
        elif whence == os.SEEK_CUR:
            self._pos += pos
        else:
            held = [at + len(d) for at, d in self._spilled or ()]
            self._pos = max([self.raw.seek(0, os.SEEK_END)] + held) + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        self.raw.seek(self._pos)
        n = self.raw.readinto(view) or 0
        if self._spilled is not None:
            view[n:] = bytes(len(view) - n)
            n = len(view)
            lo, hi = self._pos, self._pos + n
            for at, data in self._spilled:   # later writes win: replay in order
                a, b = max(lo, at), min(hi, at + len(data))
                if a < b:
                    view[a - lo:b - lo] = data[a - at:b - at]
        self._pos += n
        return n

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        if self._spilled is None:
            try:
                self.raw.seek(self._pos)
                self.raw.write(view)
            except OSError as exc:
                self._failed(exc)
        if self._spilled is not None:
            self._spilled.append((self._pos, bytes(view)))
        self._pos += len(view)
        return len(view)

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if self._spilled is None:
            try:
                self.raw.truncate(size)
            except OSError as exc:
                self._failed(exc)
        return size

    def flush(self) -> None:
        if self._spilled is None:
            try:
                self.raw.flush()
            except OSError as exc:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.error = exc
        self._spilled = []

