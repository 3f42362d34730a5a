"""Another program's fit kept beside the data it came with (CasaXPS or Avantage component,
background and envelope columns), as a reference curve table on the Spectrum.

Curves become coordinates along ``binding_energy`` named ``peer_component_1`` …,
``peer_background``, ``peer_envelope``; ``attrs["peer_fit"]`` names the program,
``attrs["peer_curves"]`` maps coordinate names to the program's labels (one ``name = label`` a
line) and ``attrs["peer_components"]`` holds its component table as text when the file has one.
Component curves are stored WITHOUT the background (as xpsfit's own curves), whatever the file
did, so the two compare directly.
"""
from __future__ import annotations

import xarray as xr

from . import add_coordinate


def add_peer_curves(spectrum: xr.DataArray, program: str, file_energy, components, *,
                    background=None, envelope=None, table: str = "",
                    components_include_background: bool = False) -> xr.DataArray:
    """Attach ``components`` (list of (label, values in file order)), ``background`` and
    ``envelope`` as peer curves; returns the new Spectrum."""
    names = []
    out = spectrum
    for k, (label, values) in enumerate(components, 1):
        if components_include_background and background is not None:
            values = [v - b for v, b in zip(values, background)]
        name = f"peer_component_{k}"
        out = add_coordinate(out, name, file_energy, values)
        names.append(f"{name} = {label}")
    for name, values in (("peer_background", background), ("peer_envelope", envelope)):
        if values is not None:
            out = add_coordinate(out, name, file_energy, values)
            names.append(f"{name} = {name[5:]}")
    out.attrs = dict(spectrum.attrs, peer_fit=program, peer_curves="\n".join(names))
    if table:
        out.attrs["peer_components"] = table
    return out
