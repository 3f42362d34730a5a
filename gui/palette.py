"""Species colours: the core's palette (``xpsfit.species_colour``), so each species has
the same colour in the GUI and in the report figures."""
from __future__ import annotations

from xpsfit import species_colour  # noqa: F401  (re-exported for the views)
