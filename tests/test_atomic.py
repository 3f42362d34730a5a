"""xpsfit.atomic: the target is the old complete file or the new complete one, never half."""
import os
import signal
import subprocess
import sys
import time

import pytest

from xpsfit.atomic import atomic_path, atomic_write


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_new_content_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_write(target, "w") as fh:
        fh.write("héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert _leftovers(tmp_path) == []


def test_exception_keeps_previous_file_and_cleans_up(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old complete content")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write(b"new but partial")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old complete content"
    assert _leftovers(tmp_path) == []


def test_keyboard_interrupt_keeps_no_new_file(tmp_path):
    target = tmp_path / "never.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"x" * 100)
            raise KeyboardInterrupt
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_temp_file_is_in_the_same_folder(tmp_path):
    target = tmp_path / "sub" / "r.h5"
    target.parent.mkdir()
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp != target
        tmp.write_bytes(b"abc")
    assert target.read_bytes() == b"abc"


def test_permissions_follow_the_replaced_file(tmp_path):
    target = tmp_path / "p.txt"
    target.write_text("a")
    os.chmod(target, 0o640)
    with atomic_write(target, "w") as fh:
        fh.write("b")
    assert (target.stat().st_mode & 0o777) == 0o640
    fresh = tmp_path / "fresh.txt"
    with atomic_write(fresh, "w") as fh:
        fh.write("c")
    # not mkstemp's private 0o600: the umask decides, as for any normally created file
    umask = os.umask(0)
    os.umask(umask)
    assert (fresh.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_rejects_read_modes(tmp_path):
    with pytest.raises(ValueError):
        with atomic_write(tmp_path / "x", "r"):
            pass


_WRITER = r"""
import sys, time
from xpsfit.atomic import atomic_write
with atomic_write(sys.argv[1]) as fh:
    for i in range(100000):
        fh.write(b"N" * 4096)
        fh.flush()
        if i == 5:
            print("writing", flush=True)
        time.sleep(0.001)
"""


def test_sigkill_mid_write_leaves_previous_file(tmp_path):
    target = tmp_path / "big.bin"
    target.write_bytes(b"OLD" * 1000)
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"writing"
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert target.read_bytes() == b"OLD" * 1000
