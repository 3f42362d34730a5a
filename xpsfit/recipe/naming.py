"""lmfit parameter names for species quantities (species keys like "S2-" are not identifiers)."""
from __future__ import annotations

import re

_SUBS = {"-": "m", "+": "p", "⁻": "m", "⁺": "p"}


def species_prefix(species: str) -> str:
    """``"S2-"`` -> ``"S2m"``, ``"PS4"`` -> ``"PS4"``, ``"C=O"`` -> ``"C_O"``; always an identifier."""
    text = "".join(_SUBS.get(ch, ch) for ch in species)
    text = re.sub(r"\W", "_", text, flags=re.ASCII)
    if not text or text[0].isdigit():
        text = "c_" + text
    return text


def param_name(species: str, quantity: str, spectrum: int | None = None) -> str:
    """Name of one fit parameter: ``param_name("S2-", "area")`` -> ``"S2m_area"``; in a series
    fit, per-spectrum parameters carry ``s{index}_`` in front (``"s3_S2m_area"``)."""
    name = f"{species_prefix(species)}_{quantity}"
    return name if spectrum is None else f"s{spectrum}_{name}"


_STATE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s*V(?![A-Za-z])|\bpristine\b", re.IGNORECASE)


def sample_name(sample: str) -> str:
    """A sample id without its state of charge: ``"CNF 3.6 V"`` -> ``"CNF"``,
    ``"KB pristine"`` -> ``"KB"`` (voltages and the word 'pristine' removed)."""
    return " ".join(_STATE.sub(" ", str(sample or "")).split())
