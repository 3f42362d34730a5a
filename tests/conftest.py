import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
# No OPENBLAS_NUM_THREADS here: the fitting front-ends limit BLAS threads themselves
# (xpsfit.engine.threads), and the tests run them as users do.

from realdata import EXAMPLES, REAL, ROOT, real_file  # noqa: F401  (re-exported for old imports)


@pytest.fixture
def real_dir() -> Path:
    """The shared real spectra; tests using it skip with a reason when it is absent."""
    if not REAL.is_dir():
        pytest.skip(f"real spectra folder {REAL} is absent (it lives beside the repo in ../shared)")
    return REAL

