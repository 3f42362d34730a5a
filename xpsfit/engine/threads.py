"""One BLAS thread for the engine's many small linear solves, set by xpsfit itself.

A fit solves thousands of tiny systems (15 × 15 normal matrices, 141 × 15 SVDs); OpenBLAS's thread
pool costs more to wake than such a solve takes, and on a 2-core machine its threads fight the
batch's worker processes. The front-ends therefore run inside :func:`one_blas_thread` (via
threadpoolctl), restoring the caller's setting afterwards — users need not set
``OPENBLAS_NUM_THREADS``. ``benchmarks/bench_series.py --threads`` measures the effect.
"""
from __future__ import annotations

import functools

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None


def one_blas_thread():
    """Context manager limiting BLAS to one thread (the loaded libraries are probed once)."""
    global _controller
    if _controller is None:
        import numpy  # noqa: F401  (BLAS must be loaded before the probe)
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def single_threaded(func):
    """Decorator: run ``func`` with one BLAS thread."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)
    return wrapper


__all__ = ["one_blas_thread", "single_threaded"]
