"""Species colours: the core's palette (``xpsfit.species_colour``), so each species has
the same colour in the GUI and in the report figures.

Lines and fills use the colour itself; TEXT uses :func:`text_colour`, the same hue darkened
until it reads on a white or pale-orange (warning) background — orange and sky-blue labels were
unreadable at full lightness."""
from __future__ import annotations

from xpsfit import species_colour  # noqa: F401  (re-exported for the views)

#: largest relative luminance (WCAG) of label text: about 4.5:1 contrast against white
MAX_TEXT_LUMINANCE = 0.18


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c / 255.0) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def readable(hex_colour: str) -> str:
    """``hex_colour`` scaled darker (same hue) until its luminance is ≤ MAX_TEXT_LUMINANCE."""
    h = hex_colour.lstrip("#")
    rgb = tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
    scale = 1.0
    while _luminance(tuple(c * scale for c in rgb)) > MAX_TEXT_LUMINANCE and scale > 0:
        scale -= 0.02
    return "#" + "".join(f"{round(c * max(scale, 0.0)):02X}" for c in rgb)


def text_colour(key: str) -> str:
    return readable(species_colour(key))
