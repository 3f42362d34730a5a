"""Helpers shared by the sub-commands (fit, fit --series, export; the energy-axis options of
read, fit and batch)."""
from __future__ import annotations

import math
from pathlib import Path


def size_arg(text: str):
    """A size preset or a width in cm, checked when the figure is built."""
    try:
        return float(text)
    except ValueError:
        return text


def check_figure_name(flag: str, path) -> None:
    if path and Path(path).suffix.lower() not in (".png", ".pdf", ".svg"):
        from ..errors import ExportError
        raise ExportError(f"{flag}: use a .png, .pdf or .svg name", path=path)


def check_figure_options(args) -> None:
    """Bad figure options fail before anything is fitted or written (one line, exit 2)."""
    from ..export.plots import check_dpi, width_cm
    check_figure_name("--plot", args.plot)
    width_cm(args.size or "double")
    check_dpi(args.dpi)


def summary_line(result) -> str:
    parts = []
    for c in result.components:
        mc = f" (MC ± {100 * c.fraction_mc_stderr:.1f})" if math.isfinite(
            c.fraction_mc_stderr) else ""
        bg = (f" (bg {100 * c.fraction_stderr_bg:.1f})" if math.isfinite(c.fraction_stderr_bg)
              else "")
        parts.append(f"{c.label} {100 * c.fraction:.1f} ± {100 * c.fraction_stderr_total:.1f}%"
                     f"{bg}{mc}")
    name = result.spectrum_name() + (f" [{result.label}]" if result.label else "")
    status = "" if result.success else "  NOT TRUSTWORTHY: " + "; ".join(result.flags)
    return (f"{name}: " + ", ".join(parts)
            + f"  (reduced chi2 {result.statistics.redchi:.3g}){verdict_text(result)}{status}"
            + energy_text(result.spectrum.attrs))


def energy_text(attrs) -> str:
    """``"  [axis BE (assumed); φ assumed 0]"``: what of the energy scale the file did not say."""
    from ..spectrum import energy_scale_notes
    notes = energy_scale_notes(attrs)
    return f"  [{'; '.join(notes)}]" if notes else ""


def verdict_text(result, shown: int = 2) -> str:
    """"  verdict BAD: reason; reason (+n more)" — reasons already printed as flags left out."""
    if not result.verdict:
        return ""
    if result.verdict == "ok":
        return "  verdict ok"
    reasons = [r for r in result.verdict_reasons if not r.startswith("flag: ")]
    more = f" (+{len(reasons) - shown} more, see --report)" if len(reasons) > shown else ""
    return (f"  verdict {result.verdict.upper()}"
            + (": " + "; ".join(reasons[:shown]) + more if reasons else ""))


def plot_paths(path: str, n: int) -> list[Path]:
    p = Path(path)
    if n == 1:
        return [p]
    return [p.with_name(f"{p.stem}_{k}{p.suffix}") for k in range(n)]


def exit_status(results, args) -> int:
    """1 when a fit is flagged not trustworthy or, with ``--strict``, when a verdict is bad."""
    ok = all(r.success for r in results)
    if getattr(args, "strict", False):
        ok = ok and not any(r.verdict == "bad" for r in results)
    return 0 if ok else 1


# ------------------------------------------------------------------ energy-axis options
#: keyword of xpsfit.io.read -> the option that sets it (errors name the option)
ENERGY_OPTIONS = {"axis": "--axis", "excitation_energy": "--excitation-energy",
                  "work_function": "--work-function", "shift": "--shift"}


def add_energy_options(p) -> None:
    """``--axis --excitation-energy --work-function --shift`` for every command that reads
    spectrum files (read, fit, fit --series, batch); :func:`read_options` turns them into the
    keywords of :func:`xpsfit.io.read`."""
    g = p.add_argument_group("energy axis (docs/interop.md \"Energy axis\")")
    # checked by read_options (one line naming the option), not by argparse's usage dump
    g.add_argument("--axis", metavar="KE|BE",
                   help="abscissa of column files whose header does not say it")
    g.add_argument("--excitation-energy", metavar="HV",
                   help="photon energy (eV) for column files on a kinetic-energy axis")
    g.add_argument("--work-function", metavar="PHI",
                   help="analyser work function (eV): BE = hν − KE − φ for kinetic-energy "
                        "column files (refused for files that state φ or whose KE is "
                        "Fermi-referenced: VAMAS, SPECS, CasaXPS)")
    g.add_argument("--shift", metavar="DE",
                   help="rigid shift (eV) added to every binding-energy axis, recorded as "
                        "energy_shift and in charge_shift")


def read_options(args) -> dict:
    """The energy options as ``xpsfit.io.read`` keywords, checked: a bad value is one line
    naming the option, before any file is read."""
    from ..io.energy_scale import checked_options
    values = [getattr(args, k, None) for k in ENERGY_OPTIONS]
    checked = checked_options(*values, names=ENERGY_OPTIONS)
    return {k: v for k, v in zip(ENERGY_OPTIONS, checked) if v is not None}


def energy_warnings(spectra, name: str = "") -> list[str]:
    """``warning: FILE#i: ...`` lines for spectra whose BE axis was assumed although their hν
    suggests kinetic energies."""
    from ..io.energy_scale import axis_warning
    out = []
    for s in spectra:
        text = axis_warning(s)
        if text:
            where = name or str(s.attrs.get("source_file", ""))
            out.append(f"warning: {where}#{int(s.attrs.get('block_index', 0))}: {text}")
    return out


def calibration_option(text: str | None) -> tuple[str, float] | None:
    """``"C-C=284.8"`` -> ``("C-C", 284.8)``; anything else is one line naming --calibrate."""
    if not text:
        return None
    from ..errors import RecipeError
    species, sep, value = str(text).rpartition("=")
    species = species.strip()
    try:
        energy = float(value) if sep else math.nan
    except ValueError:
        energy = math.nan
    if not (sep and species and math.isfinite(energy) and energy > 0):
        raise RecipeError(f"--calibrate: give SPECIES=ENERGY with a positive energy in eV, e.g. "
                          f"\"C-C=284.8\", not {text!r}")
    return species, energy
