"""``evaluate_model(spectrum, recipe, parameters) -> curves``: the model without a fit.

The same engine steps as :func:`xpsfit.fit` up to the first evaluation — compile the recipe,
prepare the spectrum (crop, weights, static background, start values) — then the curves of
:func:`xpsfit.engine.assemble.model_curves` at the given parameter values instead of solved ones.
Uses: the GUI's live preview while a marker or the range is dragged (a fitted result with one
value changed), and a CasaXPS model drawn at its own parameters (the start values of
:func:`xpsfit.recipe_from_casa`'s recipe).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import xarray as xr

from ..engine.assemble import model_curves
from ..engine.data import Data, prepare_spectra
from ..engine.structure import Structure, compile_problem
from ..recipe.spec import Recipe
from .single import apply_start

#: prepared problems kept, by the identity of (spectrum, recipe): a drag evaluates one pair
#: many times, and compile + prepare cost as much as the evaluation itself
_KEEP = 4
_prepared: OrderedDict[tuple[int, int], tuple[object, Recipe, Structure, Data]] = OrderedDict()
_lock = threading.Lock()


def _problem(spectrum: xr.DataArray, recipe: Recipe) -> tuple[Structure, Data]:
    key = (id(spectrum), id(recipe))
    with _lock:
        hit = _prepared.get(key)
        # the entry holds both objects, so their ids cannot be reused while it is kept
        if hit is not None and hit[0] is spectrum and hit[1] is recipe:
            _prepared.move_to_end(key)
            return hit[2], hit[3]
    st = compile_problem(recipe)
    data = prepare_spectra(st, [spectrum])
    with _lock:
        _prepared[key] = (spectrum, recipe, st, data)
        while len(_prepared) > _KEEP:
            _prepared.popitem(last=False)
    return st, data


def evaluate_model(spectrum: xr.DataArray, recipe: Recipe, parameters=None) -> xr.Dataset:
    """The curves of ``recipe``'s model on ``spectrum`` (the ``FitResult.curves`` schema: data,
    envelope, background, residual (data − model)/σ, sigma, components) at ``parameters``.

    ``parameters`` maps parameter names (``xpsfit.param_name``) to values, or is a FitResult
    (its fitted values); names it leaves out take the start values a fit of this recipe would
    start from, and names of fixed or linked parameters are ignored (links follow the free
    values). Values are used as given, also outside the recipe's bounds. Raises the same
    one-line :class:`~xpsfit.errors.FitError` as :func:`xpsfit.fit` for data that cannot be
    fitted (range outside the data, too few points, ...)."""
    st, data = _problem(spectrum, recipe)
    if parameters is not None and not isinstance(parameters, Mapping):
        parameters = {n: r.value for n, r in parameters.parameters.items()}
    theta = apply_start(st, data.theta0[0], parameters, clip=False)
    P = st.values(np.asarray(theta, dtype=float)[None, :])[0]
    return model_curves(st, data, P, 0)


__all__ = ["evaluate_model"]
