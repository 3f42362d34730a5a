"""Paths to the shared real spectra and example files (importable from any test folder).

Kept out of conftest.py because tests/ and tests/gui/ each have a conftest module and a plain
``from conftest import ...`` would pick whichever was imported last.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real_spectra"
EXAMPLES = ROOT / "example_spectra"


def real_file(rel: str) -> Path:
    """A file of ../shared/real_spectra; skips the calling test with a reason when it is absent."""
    path = REAL / rel
    if not path.is_file():
        pytest.skip(f"real spectrum {path} is absent (../shared/real_spectra not mounted)")
    return path
