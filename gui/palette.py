"""Species colours shared with the matplotlib figures.

``xpsfit.plots.species_colour(key)`` is the single source of truth once it exists; until then (or
if it fails for a key) a fixed fallback table keeps each species the same colour in every view.
"""
from __future__ import annotations

import zlib

# Fallback: the common S 2p / P 2p / C 1s species get fixed, distinguishable colours; anything
# else is hashed into a colour-blind-friendly cycle so a key always maps to the same colour.
_FIXED = {
    "PS4": "#1f77b4", "S2-": "#d62728", "polysulfide": "#2ca02c", "S0": "#ff7f0e",
    "SOx": "#9467bd", "P2Sx": "#8c564b", "POx": "#e377c2",
    "C-C": "#7f7f7f", "C-O": "#17becf", "C=O": "#bcbd22", "O-C=O": "#9467bd",
}
_CYCLE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8c564b",
          "#000000", "#999999"]


def species_colour(key: str) -> str:
    """Hex colour of a species key, identical in the GUI and in the report figures."""
    try:
        import xpsfit.plots as plots  # matplotlib-backed module of the core, optional here
        colour = plots.species_colour(key)
        if colour:
            return _as_hex(colour)
    except Exception:  # noqa: BLE001 - the core palette is optional; fall back silently
        pass
    if key in _FIXED:
        return _FIXED[key]
    return _CYCLE[zlib.crc32(key.encode()) % len(_CYCLE)]


def _as_hex(colour) -> str:
    """Accept '#rrggbb', a named colour or an RGB(A) tuple of floats in 0..1."""
    if isinstance(colour, str):
        return colour
    r, g, b = (int(round(float(c) * 255)) for c in tuple(colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"
