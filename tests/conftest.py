import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real_spectra"
EXAMPLES = ROOT / "example_spectra"


@pytest.fixture
def real_dir() -> Path:
    """The shared real spectra; tests using it skip with a reason when it is absent."""
    if not REAL.is_dir():
        pytest.skip(f"real spectra folder {REAL} is absent (it lives beside the repo in ../shared)")
    return REAL


def real_file(rel: str) -> Path:
    path = REAL / rel
    if not path.is_file():
        pytest.skip(f"real spectrum {path} is absent (../shared/real_spectra not mounted)")
    return path
