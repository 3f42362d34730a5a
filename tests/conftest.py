import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
# Fits do many small SVDs; on a 2-core machine BLAS threads fight each other and slow them 3-10x.
# Set before numpy is first imported (conftest loads before the test modules).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from realdata import EXAMPLES, REAL, ROOT, real_file  # noqa: F401  (re-exported for old imports)


@pytest.fixture
def real_dir() -> Path:
    """The shared real spectra; tests using it skip with a reason when it is absent."""
    if not REAL.is_dir():
        pytest.skip(f"real spectra folder {REAL} is absent (it lives beside the repo in ../shared)")
    return REAL

