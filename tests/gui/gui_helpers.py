"""Helpers shared by the GUI tests (a module, not conftest, so imports never collide)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_spectra"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path.relative_to(ROOT)} is not in the repo yet")
    return path


def need_api(name: str):
    """The xpsfit function, or a skip naming what is missing (the core lands in parallel)."""
    import xpsfit
    try:
        return getattr(xpsfit, name)
    except (AttributeError, ImportError) as exc:
        pytest.skip(f"xpsfit.{name} is not available yet: {exc}")


def wait_idle(qtbot, window, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: window.job is None and window._pending is None, timeout=timeout)
