"""xpsfit: XPS peak fitting with area-true doublets, Shirley backgrounds and joint series fits.

The public API is re-exported here; everything else is internal.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import (Cancelled, ExportError, FileFormatError, FitError, LibraryError,  # noqa: F401
                     RecipeError, UnsupportedFormatError, XpsfitError)
from .spectrum import DIM, make_spectrum, region_key, shift  # noqa: F401
