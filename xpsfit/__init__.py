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
    "open_regular": ("xpsfit.io.limits", "open_regular"),
    "check_target": ("xpsfit.atomic", "check_target"),
    "write_vamas": ("xpsfit.io.vamas_writer", "write_vamas"),
    "load_library": ("xpsfit.recipe.library", "load_library"),
    "list_libraries": ("xpsfit.recipe.library", "list_libraries"),
    "load_recipe": ("xpsfit.recipe.spec", "load_recipe"),
    "recipe_from_dict": ("xpsfit.recipe.spec", "recipe_from_dict"),
    "recipe_to_toml": ("xpsfit.recipe.spec", "recipe_to_toml"),
    "Recipe": ("xpsfit.recipe.spec", "Recipe"),
    "fit": ("xpsfit.fitting.single", "fit"),
    "fit_series": ("xpsfit.fitting.series", "fit_series"),
    "evaluate_model": ("xpsfit.fitting.preview", "evaluate_model"),
    "presence_of": ("xpsfit.fitting.series", "presence_of"),
    "Notice": ("xpsfit.results", "Notice"),
    "LINESHAPES": ("xpsfit.numerics.lineshapes", "LINESHAPES"),
    "BACKGROUNDS": ("xpsfit.numerics.backgrounds", "BACKGROUNDS"),
    "Progress": ("xpsfit.errors", "Progress"),
    "CORRELATION_WARN": ("xpsfit.engine.rules", "CORRELATION_WARN"),
    "SIGNIFICANCE": ("xpsfit.engine.rules", "SIGNIFICANCE"),
    "FitResult": ("xpsfit.results", "FitResult"),
    "SeriesResult": ("xpsfit.results", "SeriesResult"),
    "save": ("xpsfit.export.hdf5", "save"),
    "load_result": ("xpsfit.export.hdf5", "load_result"),
    "load_results": ("xpsfit.export.hdf5", "load_results"),
    "fit_map_to_hdf5": ("xpsfit.fitting.maps", "fit_map_to_hdf5"),
    "load_map_result": ("xpsfit.fitting.maps", "load_map_result"),
    "read_map_pixel": ("xpsfit.fitting.maps", "read_map_pixel"),
    "MAP_STATUS": ("xpsfit.fitting.pixels", "STATUS"),
    "casa_components": ("xpsfit.io.casa", "casa_components"),
    "casa_regions": ("xpsfit.io.casa", "casa_regions"),
    "recipe_from_casa": ("xpsfit.recipe.from_casa", "recipe_from_casa"),
    "casa_model_spectrum": ("xpsfit.recipe.from_casa", "casa_model_spectrum"),
    "with_casa_model": ("xpsfit.io.casa_writer", "with_casa_model"),
    "write_curves": ("xpsfit.export.tables", "write_curves"),
    "check_region": ("xpsfit.recipe.spec", "check_region"),
    "save_recipe": ("xpsfit.recipe.spec", "save_recipe"),
    "param_name": ("xpsfit.recipe.naming", "param_name"),
    "write_table": ("xpsfit.export.tables", "write_table"),
    "batch": ("xpsfit.fitting.batch", "batch"),
    "fit_map": ("xpsfit.fitting.maps", "fit_map"),
    "atomic_path": ("xpsfit.atomic", "atomic_path"),
    "atomic_write": ("xpsfit.atomic", "atomic_write"),
    "reference_shift": ("xpsfit.fitting.referencing", "reference_shift"),
    "apply_reference": ("xpsfit.fitting.charge", "apply_reference"),
    "with_charge_reference": ("xpsfit.fitting.charge", "with_charge_reference"),
    "calibrate": ("xpsfit.fitting.charge", "calibrate"),
    "calibration_inputs": ("xpsfit.fitting.charge", "calibration_inputs"),
    "shift_like": ("xpsfit.fitting.charge", "shift_like"),
    "acquisition_key": ("xpsfit.fitting.charge", "acquisition_key"),
    "element_quantification": ("xpsfit.quantify", "element_quantification"),
    "quantification_rows": ("xpsfit.quantify", "quantification_rows"),
    "QUANTIFICATION_COLUMNS": ("xpsfit.quantify", "QUANTIFICATION_COLUMNS"),
    "write_rows": ("xpsfit.export.tables", "write_rows"),
    "species_colour": ("xpsfit.export.plots", "species_colour"),
    "fit_figure": ("xpsfit.export.plots", "fit_figure"),
    "save_figure": ("xpsfit.export.plots", "save_figure"),
    "study_figure": ("xpsfit.export.figures", "study_figure"),
    "singles_figure": ("xpsfit.export.figures", "singles_figure"),
    "composition_chart_figure": ("xpsfit.export.figures", "composition_chart_figure"),
    "series_title": ("xpsfit.export.figures", "series_title"),
    "composition_table": ("xpsfit.results", "composition_table"),
    "write_report": ("xpsfit.export.report", "write_report"),
    "add_component": ("xpsfit.recipe.edit", "add_component"),
    "delete_component": ("xpsfit.recipe.edit", "delete_component"),
    "duplicate_component": ("xpsfit.recipe.edit", "duplicate_component"),
    "rename_component": ("xpsfit.recipe.edit", "rename_component"),
    "fix_at_fitted": ("xpsfit.recipe.edit", "fix_at_fitted"),
    "set_fixed": ("xpsfit.recipe.edit", "set_fixed"),
    "is_fixed": ("xpsfit.recipe.edit", "is_fixed"),
    "set_link": ("xpsfit.recipe.edit", "set_link"),
    "link_of": ("xpsfit.recipe.edit", "link_of"),
    "casa_link": ("xpsfit.recipe.edit", "casa_link"),
    "row_letter": ("xpsfit.recipe.edit", "row_letter"),
    "references": ("xpsfit.recipe.edit", "references"),
    "set_prior": ("xpsfit.recipe.edit", "set_prior"),
    "set_range": ("xpsfit.recipe.edit", "set_range"),
    "default_range": ("xpsfit.recipe.edit", "default_range"),
    "start_recipe": ("xpsfit.recipe.edit", "start_recipe"),
    "set_prior_text": ("xpsfit.recipe.edit", "set_prior_text"),
    "set_shape": ("xpsfit.recipe.edit", "set_shape"),
    "shape_text": ("xpsfit.recipe.edit", "shape_text"),
    "set_shape_vary": ("xpsfit.recipe.edit", "set_shape_vary"),
    "shape_varies": ("xpsfit.recipe.edit", "shape_varies"),
    "set_lineshape": ("xpsfit.recipe.edit", "set_lineshape"),
    "component_lineshape": ("xpsfit.recipe.edit", "component_lineshape"),
    "set_background": ("xpsfit.recipe.edit", "set_background"),
    "LINK_QUANTITIES": ("xpsfit.recipe.edit", "LINK_QUANTITIES"),
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
