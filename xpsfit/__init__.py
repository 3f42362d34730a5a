"""xpsfit: XPS peak fitting with area-true doublets, Shirley backgrounds and joint series fits.

The public API is re-exported here (lazily, so ``import xpsfit`` and the CLI start fast).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import (Cancelled, ExportError, FileFormatError, FitError, LibraryError,  # noqa: F401
                     RecipeError, UnsupportedFormatError, XpsfitError)
from .spectrum import DIM, make_spectrum, region_key, shift  # noqa: F401


#: public name -> (module, attribute)
_API = {
    "read": ("xpsfit.io", "read"),
    "write_vamas": ("xpsfit.io.vamas_writer", "write_vamas"),
    "load_library": ("xpsfit.library", "load_library"),
    "list_libraries": ("xpsfit.library", "list_libraries"),
    "load_recipe": ("xpsfit.recipe", "load_recipe"),
    "recipe_from_dict": ("xpsfit.recipe", "recipe_from_dict"),
    "recipe_to_toml": ("xpsfit.recipe", "recipe_to_toml"),
    "Recipe": ("xpsfit.recipe", "Recipe"),
    "fit": ("xpsfit.fitting.single", "fit"),
    "fit_series": ("xpsfit.fitting.series", "fit_series"),
    "presence_of": ("xpsfit.fitting.series", "presence_of"),
    "Notice": ("xpsfit.result", "Notice"),
    "LINESHAPES": ("xpsfit.lineshapes", "LINESHAPES"),
    "BACKGROUNDS": ("xpsfit.backgrounds", "BACKGROUNDS"),
    "Progress": ("xpsfit.errors", "Progress"),
    "CORRELATION_WARN": ("xpsfit.engine.rules", "CORRELATION_WARN"),
    "SIGNIFICANCE": ("xpsfit.engine.rules", "SIGNIFICANCE"),
    "FitResult": ("xpsfit.result", "FitResult"),
    "SeriesResult": ("xpsfit.result", "SeriesResult"),
    "save": ("xpsfit.export.hdf5", "save"),
    "load_result": ("xpsfit.export.hdf5", "load_result"),
    "load_results": ("xpsfit.export.hdf5", "load_results"),
    "fit_map_to_hdf5": ("xpsfit.maps", "fit_map_to_hdf5"),
    "load_map_result": ("xpsfit.maps", "load_map_result"),
    "casa_components": ("xpsfit.io.casa", "casa_components"),
    "casa_regions": ("xpsfit.io.casa", "casa_regions"),
    "check_region": ("xpsfit.recipe", "check_region"),
    "save_recipe": ("xpsfit.recipe", "save_recipe"),
    "param_name": ("xpsfit.naming", "param_name"),
    "write_table": ("xpsfit.export.tables", "write_table"),
    "batch": ("xpsfit.batch", "batch"),
    "fit_map": ("xpsfit.maps", "fit_map"),
    "atomic_path": ("xpsfit.atomic", "atomic_path"),
    "atomic_write": ("xpsfit.atomic", "atomic_write"),
    "reference_shift": ("xpsfit.fitting.referencing", "reference_shift"),
    "apply_reference": ("xpsfit.fitting.charge", "apply_reference"),
}

__all__ = ["__version__", "DIM", "make_spectrum", "region_key", "shift", "XpsfitError",
           "FileFormatError", "UnsupportedFormatError", "LibraryError", "RecipeError", "FitError",
           "ExportError", "Cancelled", *_API]


def __getattr__(name: str):
    try:
        module, attr = _API[name]
    except KeyError:
        raise AttributeError(f"module 'xpsfit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
