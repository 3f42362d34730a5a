"""glibc's malloc set back to reusing freed memory in processes that fit map chunks.

A dask ``Nanny`` starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ`` default, meant to hand memory back to the OS). Setting that
variable also switches off glibc's *dynamic* mmap threshold, so every numpy temporary over 128 KiB
— the engine's (batch, lines, points) arrays and the re-seeding grids are 0.3–20 MB — is a fresh
``mmap`` whose pages are faulted in and zeroed again, and freed memory is trimmed back at once.
Measured on the 2-core machine (``benchmarks/bench_map.py --only worker``, docs/maps.md): 10.6 ms
CPU and 1 606 page faults per spectrum in such a worker against 4.2 ms and 1 in-process; the
variable alone on a plain process costs +40–65 %; with the thresholds below the worker is back at
5.1 ms (its event loop included) and 7 page faults.

:func:`reuse_freed_memory` sets the mmap threshold to 32 MiB and the trim threshold to 64 MiB —
the ceiling glibc's own dynamic rule reaches (``DEFAULT_MMAP_THRESHOLD_MAX`` on 64-bit, trim =
2 × mmap) — so a worker keeps at most ~64 MiB of freed memory for reuse. Other C libraries
(musl, macOS, Windows) are left alone.
"""
from __future__ import annotations

import os

_M_TRIM_THRESHOLD = -1          # mallopt parameters, <malloc.h>
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20

_done_in: int | None = None     # the pid that set them (a forked child inherits the setting)


def reuse_freed_memory() -> bool:
    """Set the glibc thresholds once per process; True when they are set (glibc only)."""
    global _done_in
    if _done_in == os.getpid():
        return True
    import ctypes
    import platform
    import sys
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and \
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if ok:
        _done_in = os.getpid()
    return ok


__all__ = ["reuse_freed_memory"]
