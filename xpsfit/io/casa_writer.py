"""A fit as CasaXPS block-comment lines (``CASA region`` / ``CASA comp``), the form CasaXPS writes
in VAMAS files, so the VAMAS export carries the model (docs/interop.md, "CasaXPS lines").

Layout of the block comment, as CasaXPS writes it (and :mod:`xpsfit.io.casa` reads it)::

    Casa Info Follows
    <n processing lines>      e.g. 0, or 1 and a "Calib M = ... A = ... BE ADD" line
    <n annotations>           each annotation is two lines
    <n regions>
    CASA region (*name*) (*Shirley*) <start KE> <end KE> <RSF> <av width> 0 0 <4 params> ...
    <n components>
    CASA comp (*name*) (*GL(30)*) Area <cps·eV> <min> <max> <link> <factor> MFWHM ...

Energies are on the kinetic-energy scale (KE = hν − BE) even for a BE axis; areas are in counts
per second (counts / (dwell × scans)); widths are the MEASURED FWHM; Av Width = (endpoints − 1)/2
rounded down (CasaXPS averages 2·AvWidth + 1 points). A doublet becomes two
components, the minor one linked to the major (area × ratio, width × 1, position + splitting).
Links of the form ``q(a) = k * q(b)`` / ``position(a) = position(b) ± d`` become CasaXPS links;
other links and priors are not representable, and the fitted values are written as they are.
"""
from __future__ import annotations

import math
import re

import xarray as xr

from ..errors import ExportError
from .casa import counts_per_casa_area

_J = {"s": ("", " minor"), "p": (" 3/2", " 1/2"), "d": (" 5/2", " 3/2"), "f": (" 7/2", " 5/2")}
_SIMPLE_LINK = re.compile(
    r"^\s*(area|fwhm|position)\(([^()]+)\)\s*=\s*(?:([-+0-9.eE]+)\s*\*\s*)?"
    r"(area|fwhm|position)\(([^()]+)\)\s*(?:([-+])\s*([0-9.eE]+))?\s*$")


def _n(v: float) -> str:
    return f"{float(v):.10g}"


def casa_shape_text(lineshape: str, shape: dict[str, float]) -> str:
    """xpsfit line shape -> CasaXPS text; :class:`ExportError` when CasaXPS has none."""
    if lineshape == "gl_product":
        return f"GL({_n(100 * shape.get('m', 0.3))})"
    if lineshape == "gl_sum":
        return f"SGL({_n(100 * shape.get('m', 0.3))})"
    if lineshape == "pseudo_voigt":
        # the same curve: pV mixes by area fraction η, SGL by height fraction m
        from ..numerics.lineshapes import GAUSS_AREA, LORENTZ_AREA
        eta = float(shape.get("eta", 0.2))
        m = eta * GAUSS_AREA / (eta * GAUSS_AREA + (1.0 - eta) * LORENTZ_AREA)
        return f"SGL({_n(100 * m)})"
    if lineshape == "la_casa":
        return (f"LA({_n(shape.get('alpha', 1.0))},{_n(shape.get('beta', 1.0))},"
                f"{_n(shape.get('m', 100.0))})")
    raise ExportError(f"line shape {lineshape} has no CasaXPS equivalent")


def _background(recipe) -> tuple[str, list[float]]:
    bg = recipe.background
    t = bg.type
    if t in ("shirley", "shirley_active"):
        return "Shirley", [0.0, -450.0, 0.0, 0.0]   # the parameters CasaXPS writes for Shirley
    if t == "linear":
        return "Linear", [0.0, -450.0, 0.0, 0.0]
    if t == "tougaard" and bg.tougaard_C_prime == -1.0:
        return "U 3 Tougaard", [bg.tougaard_B, bg.tougaard_C, bg.tougaard_D, 0.0]
    if t == "tougaard" and bg.tougaard_C_prime == 1.0 and bg.tougaard_D == 0.0:
        return "U 2 Tougaard", [bg.tougaard_B, bg.tougaard_C, 0.0, 0.0]
    raise ExportError(f"background {t} has no CasaXPS equivalent")


def _lines_of(result) -> tuple[list[dict], dict[str, int]]:
    """One dict per CasaXPS component (doublets split into major and minor)."""
    from ..numerics.lineshapes import true_fwhm

    rec = result.recipe
    sub = re.search(r"\d([spdf])", rec.region)
    j_major, j_minor = _J.get(sub.group(1) if sub else "s", ("", " minor"))
    out = []
    for c in result.components:
        spec = rec.component(c.species)
        ls = c.lineshape
        shape = dict(c.shape)
        bounds = tuple(true_fwhm(ls, f, **shape) for f in spec.fwhm_bounds)
        base = {"key": c.species, "shape": casa_shape_text(ls, shape), "fwhm": c.fwhm,
                "fwhm_bounds": bounds if spec.fwhm_vary else (c.fwhm, c.fwhm),
                "window": tuple(spec.window)}
        if spec.doublet:
            ratio = c.ratio
            major_area = c.area / (1.0 + ratio)
            out.append(dict(base, name=c.label + j_major, position=c.position, area=major_area))
            out.append(dict(base, name=c.label + j_minor, key=c.species + "\0minor",
                            position=c.position + c.splitting, area=ratio * major_area,
                            window=(spec.window[0] + c.splitting, spec.window[1] + c.splitting),
                            links={"area": (c.species, ratio), "fwhm": (c.species, 1.0),
                                   "position": (c.species, c.splitting)}))
        else:
            out.append(dict(base, name=c.label, position=c.position, area=c.area))
    index = {d["key"]: i for i, d in enumerate(out)}
    for text in rec.links:
        m = _SIMPLE_LINK.match(text)
        if not m or m.group(1) != m.group(4):
            continue
        quantity, target, factor, _, ref, sign, offset = m.groups()
        tmap = rec.species_map()
        target, ref = tmap.get(target.strip()), tmap.get(ref.strip())
        if target not in index or ref not in index:
            continue
        if quantity == "position":
            if factor not in (None, "1", "1.0"):
                continue
            value = float(offset or 0.0) * (-1.0 if sign == "-" else 1.0)
        else:
            if offset:
                continue
            value = float(factor) if factor else 1.0
        out[index[target]].setdefault("links", {})[quantity] = (ref, value)
    return out, index


def casa_block_lines(result) -> list[str]:
    """The ``Casa Info Follows`` section (region and components) for one FitResult."""
    sp = result.spectrum
    a = sp.attrs
    hv = float(a.get("excitation_energy", math.nan))
    if not math.isfinite(hv):
        raise ExportError("the CasaXPS model needs the excitation energy (kinetic-energy scale)")
    rec = result.recipe
    if rec.range is not None:
        lo, hi = sorted(float(v) for v in rec.range)
    else:
        be = result.curves["binding_energy"].values
        lo, hi = float(be.min()), float(be.max())
    try:
        rsf = float(rec.library.region(rec.region).sensitivity_factor)
    except Exception:   # a library-less recipe has no RSF: CasaXPS then shows raw areas
        rsf = 1.0
    per_cps = counts_per_casa_area(sp)
    bg_name, params = _background(rec)
    # CasaXPS averages 2·AvWidth + 1 points: an even endpoint count loses one point
    av_width = max(0, (int(rec.background.endpoints) - 1) // 2)
    name = rec.region
    region = (f"CASA region (*{name}*) (*{bg_name}*) {_n(hv - hi)} {_n(hv - lo)} {_n(rsf)} "
              f"{av_width} 0 0 {' '.join(_n(p) for p in params)} (*{name}*) 0 0 "
              f"{_n(rsf)}")
    comps, index = _lines_of(result)
    lines = []
    for d in comps:
        links = d.get("links", {})

        def link(q, default):
            if q not in links:
                return f"-1 {default}"
            ref, value = links[q]
            if q == "position":
                value = -value          # a BE offset is the opposite KE offset
            return f"{index[ref]} {_n(value)}"

        wlo, whi = d["window"]
        flo, fhi = d["fwhm_bounds"]
        lines.append(
            f"CASA comp (*{d['name']}*) (*{d['shape']}*) Area {_n(d['area'] / per_cps)} 1e-020 "
            f"1e+020 {link('area', 1)} MFWHM {_n(d['fwhm'])} {_n(flo)} {_n(fhi)} "
            f"{link('fwhm', 1)} Position {_n(hv - d['position'])} {_n(hv - whi)} {_n(hv - wlo)} "
            f"{link('position', 0)} RSF {_n(rsf)} MASS 0 INDEX -1 (*{name}*) CONST (**) "
            f"UNCORRECTEDRSF {_n(rsf)}")
    process = [ln for ln in _casa_section(a.get("comments", ""))[1]
               if not (ln.startswith("Calib") and a.get("casa_calibration"))]
    return (["Casa Info Follows", str(len(process)), *process, "0", "1", region,
             str(len(lines)), *lines])


def _casa_section(comments: str) -> tuple[list[str], list[str]]:
    """(comment lines outside the ``Casa Info Follows`` section, its processing lines)."""
    lines = str(comments or "").split("\n")
    starts = [i for i, ln in enumerate(lines) if ln.strip() == "Casa Info Follows"]
    if not starts:
        return [ln for ln in lines if not ln.startswith("CASA ")], []
    i = starts[0]
    try:
        n_proc = int(lines[i + 1])
        process = lines[i + 2:i + 2 + n_proc]
        j = i + 2 + n_proc
        j += 1 + 2 * int(lines[j])                  # annotations, two lines each
        j += 1 + int(lines[j])                      # regions
        j += 1 + int(lines[j])                      # components
    except (IndexError, ValueError):                # not the layout above: drop what we know
        return [ln for ln in lines if not ln.startswith(("CASA ", "Casa Info Follows"))], []
    return lines[:i] + lines[j:], [ln.strip() for ln in process]


def with_casa_model(result) -> xr.DataArray:
    """The fitted spectrum whose block comment carries the fit as CasaXPS lines (any earlier
    CasaXPS model of the block replaced). :class:`ExportError` when the model cannot be written
    in CasaXPS terms (line shape, background or hν)."""
    sp = result.spectrum
    kept, _ = _casa_section(sp.attrs.get("comments", ""))
    out = sp.copy(deep=False)
    out.attrs = dict(sp.attrs)
    out.attrs["comments"] = "\n".join(casa_block_lines(result) + [ln for ln in kept if ln])
    out.attrs["casa_calibration"] = 0.0     # any Calib line left would move the written axis
    return out


def without_applied_calibration(comments: str, applied) -> str:
    """Comments to write for an axis that already has ``applied`` eV of CasaXPS calibration:
    its Calib lines are dropped (and the section's count of processing lines lowered) so a
    reader does not apply them twice."""
    try:
        applied = float(applied)
    except (TypeError, ValueError):
        return comments
    if not math.isfinite(applied) or applied == 0.0:
        return comments
    lines = str(comments or "").split("\n")
    out, i = [], 0
    while i < len(lines):
        ln = lines[i]
        out.append(ln)
        if ln.strip() == "Casa Info Follows" and i + 1 < len(lines) and lines[i + 1].isdigit():
            n = int(lines[i + 1])
            process = [p for p in lines[i + 2:i + 2 + n] if not p.startswith("Calib")]
            out += [str(len(process)), *process]
            i += 2 + n
            continue
        i += 1
    return "\n".join(ln for ln in out if not ln.startswith("Calib"))


__all__ = ["casa_block_lines", "casa_shape_text", "with_casa_model",
           "without_applied_calibration"]
