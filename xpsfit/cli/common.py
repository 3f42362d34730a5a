"""Helpers shared by the fit-like sub-commands (fit, fit --series, export)."""
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
            + f"  (reduced chi2 {result.statistics.redchi:.3g}){verdict_text(result)}{status}")


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
