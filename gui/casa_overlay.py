"""The CasaXPS model stored with a block (``CASA region`` / ``CASA comp`` comment lines), as
curves to draw over the spectrum.

The curves are the project's own: the block's model turned into a recipe by
``xpsfit.recipe_from_casa`` (the converter behind the *From CasaXPS* button) and evaluated at
that recipe's start values — the CasaXPS parameters — by ``xpsfit.evaluate_model``. A model the
converter refuses (a CasaXPS line shape without an xpsfit equivalent, such as LF) is not drawn;
the overlay's label says why.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import xpsfit

LABEL = "CasaXPS model"


@dataclass
class CasaOverlay:
    label: str                                   # legend text
    x: np.ndarray | None = None                  # ascending BE of the CasaXPS region
    background: np.ndarray | None = None
    envelope: np.ndarray | None = None
    components: dict[str, np.ndarray] = field(default_factory=dict)   # CasaXPS name -> curve
    positions: dict[str, float] = field(default_factory=dict)         # CasaXPS name -> BE

    @property
    def drawn(self) -> bool:
        return self.x is not None


def _has_model(spectrum) -> bool:
    try:
        return bool(xpsfit.casa_components(spectrum)) and bool(xpsfit.casa_regions(spectrum))
    except xpsfit.XpsfitError:
        return True          # a model is there but unreadable: casa_overlay says why


def casa_overlay(spectrum) -> CasaOverlay | None:
    """The overlay of ``spectrum``'s CasaXPS model; None when the block carries none.

    A spectrum the GUI has calibrated (``attrs["charge_shift"]``) still carries the model in
    the file's frame: it is evaluated on the unshifted axis and drawn moved by the shift, like
    the data."""
    if not _has_model(spectrum):
        return None
    moved = float(spectrum.attrs.get("charge_shift", 0.0) or 0.0)
    base = xpsfit.shift(spectrum, -moved) if moved else spectrum
    try:
        recipe = xpsfit.recipe_from_casa(base)
        curves = xpsfit.evaluate_model(base, recipe)
    except xpsfit.XpsfitError as exc:
        return CasaOverlay(f"{LABEL}: not drawn — {exc.message}")
    names = {c.species: c.label for c in recipe.components}
    x = np.asarray(curves[xpsfit.DIM].values, dtype=float) + moved
    label = LABEL if len(xpsfit.casa_regions(base)) < 2 else f"{LABEL} (region {recipe.region})"
    if moved:
        label += f", moved {moved:+.2f} eV with the calibration"
    return CasaOverlay(
        label, x=x, background=np.asarray(curves["background"].values, dtype=float),
        envelope=np.asarray(curves["envelope"].values, dtype=float),
        components={names.get(str(s), str(s)): np.asarray(curves["components"].sel(species=s).values,
                                                           dtype=float)
                    for s in curves["species"].values},
        positions={c.label: float(c.position) + moved for c in recipe.components})


class OverlayCache:
    """One overlay per spectrum object (parsing and evaluating once, not at every redraw)."""

    def __init__(self):
        self._spectrum = None
        self._overlay = None

    def get(self, spectrum) -> CasaOverlay | None:
        if spectrum is not self._spectrum:
            self._spectrum, self._overlay = spectrum, casa_overlay(spectrum)
        return self._overlay
