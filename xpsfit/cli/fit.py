"""``xpsfit fit FILE... --recipe R``: fit every matching spectrum, print fractions ± σ, write
the table / figure.

Exit status: 0 when every fit succeeded, 1 when a fit was flagged not trustworthy (outputs are
still written and the reason printed), 2 for bad input (one line on stderr, nothing written).

The series options (``--series --order --onsets --bars``) plug in through :data:`EXTENSIONS`:
a module registers ``(add_arguments(parser), wants(args) -> bool, run(spectra, recipe, args))``.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..errors import FitError
from ..spectrum import region_key

#: hooks for other fit modes (the series engineer appends one): (add_arguments, wants, run)
EXTENSIONS: list[tuple] = []


def register(subparsers) -> None:
    p = subparsers.add_parser("fit", help="fit spectra with a recipe",
                              description="Fit every spectrum of FILE(s) whose region matches "
                                          "the recipe (or the --select one).")
    add_arguments(p)
    for add, _wants, _run in EXTENSIONS:
        add(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="spectrum files (VAMAS, SPECS, ...)")
    p.add_argument("--recipe", "-r", required=True, help="fit recipe (TOML)")
    p.add_argument("--select", help="block INDEX (0-based) or REGION name to fit")
    p.add_argument("--table", help="write a CSV table of components (one row per species)")
    p.add_argument("--plot", help="write the fit figure (PNG/PDF); several fits get _<n> "
                                  "before the suffix")
    p.add_argument("--report", nargs="?", const=True, default=False, metavar="PDF",
                   help="print the full text report per fit (with --series and a PDF/PNG "
                        "path: write the one-page series report)")
    p.add_argument("--monte-carlo", type=int, default=0, metavar="N",
                   help="N Monte Carlo refits (model + Poisson noise) for a second σ")
    p.add_argument("--seed", type=int, default=0, help="random seed for --monte-carlo")
    p.add_argument("--charge-reference", metavar="RECIPE",
                   help="recipe of the reference region whose [charge_reference] names a line "
                        "of that region (e.g. P 2p PS4 = 132.0): each acquisition (file, sample) "
                        "is shifted so that line sits at its energy before the fits")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a fit's verdict is bad (docs/verdicts.md), not only when "
                        "it is flagged not trustworthy")
    p.add_argument("--presence", action="store_true",
                   help="presence test (nested-model F-test + area > 3σ) of every species of "
                        "every spectrum; printed, and in the table and HDF5")


def run(args) -> int:
    from ..recipe import load_recipe
    recipe = load_recipe(args.recipe)
    if isinstance(args.report, str) and Path(args.report).suffix.lower() not in (
            ".pdf", ".png", ".svg"):          # "--report FILE.vms": the flag took a spectrum
        args.files.append(args.report)
        args.report = True
    spectra = collect_spectra(args.files, recipe, args.select)
    if getattr(args, "charge_reference", None):
        spectra = apply_charge_reference(spectra, args.files, args.charge_reference)
    for _add, wants, run_ext in EXTENSIONS:
        if wants(args):
            return int(run_ext(spectra, recipe, args) or 0)
    results = fit_all(spectra, recipe, args)
    if args.presence:
        from ..fitting.series import presence_of
        for line in presence_lines(presence_of(results), results):
            print(line)
    write_outputs(results, args)
    return exit_status(results, args)


def exit_status(results, args) -> int:
    """1 when a fit is flagged not trustworthy or, with ``--strict``, when a verdict is bad."""
    ok = all(r.success for r in results)
    if getattr(args, "strict", False):
        ok = ok and not any(r.verdict == "bad" for r in results)
    return 0 if ok else 1


def presence_lines(tests, results) -> list[str]:
    """One line per spectrum: each species present (F, p) or not detected (upper limit)."""
    out = []
    for j, r in enumerate(results):
        parts = []
        for t in (t for t in tests if t.series_index == j):
            stat = f"F = {t.F:.3g}, p = {t.p_value:.2g}"
            parts.append(f"{t.species} present ({stat})" if t.present else
                         f"{t.species} not detected ({stat}; fraction < "
                         f"{100 * t.upper_limit:.1f} %)")
        out.append(f"  presence {r.spectrum_name()}: " + ", ".join(parts))
    return out


def collect_spectra(files, recipe, select: str | None) -> list:
    """Spectra of the files in command-line order (blocks in file order) that match the
    recipe's region, or the --select block index / region."""
    from ..io import read
    out, seen_regions = [], []
    want_index = None
    want_region = region_key(recipe.region)
    if select is not None:
        if select.strip().lstrip("-").isdigit():
            want_index = int(select)
        else:
            want_region = region_key(select)
    for f in files:
        spectra = read(f)
        for i, s in enumerate(spectra):
            idx = int(s.attrs.get("block_index", i))
            seen_regions.append(str(s.attrs.get("region", "")))
            if want_index is not None:
                if idx == want_index:
                    out.append(s)
            elif region_key(s.attrs.get("region", "")) == want_region:
                out.append(s)
    if not out:
        what = f"block {want_index}" if want_index is not None else \
            f"region {select or recipe.region!r}"
        found = ", ".join(sorted({r for r in seen_regions if r})) or "none"
        raise FitError(f"no spectrum matches {what} (regions found: {found})",
                       path=files[0] if len(files) == 1 else None)
    return out


def apply_charge_reference(spectra: list, files, recipe_path: str) -> list:
    """Shift the spectra by their acquisition's reference line (fitted in the same files with
    the reference recipe); prints one line per acquisition."""
    from ..fitting.charge import acquisition_shifts, reference_recipe, shift_acquisitions
    from ..errors import RecipeError
    from ..recipe import load_recipe
    ref_recipe = load_recipe(recipe_path)
    if ref_recipe.charge_reference is None or region_key(
            ref_recipe.charge_reference.region) != region_key(ref_recipe.region):
        raise RecipeError("a --charge-reference recipe needs a [charge_reference] section naming "
                          f"a line of its own region ({ref_recipe.region})", path=recipe_path,
                          key="charge_reference")
    fit_recipe, cr = reference_recipe(ref_recipe)
    references = collect_spectra(files, fit_recipe, None)
    shifts = acquisition_shifts(references, fit_recipe)
    for acq in shifts.values():
        print(f"charge reference {acq.describe(cr)}")
    return shift_acquisitions(spectra, shifts, cr)


def fit_all(spectra, recipe, args) -> list:
    from ..fitting.single import fit
    results = []
    for s in spectra:
        r = fit(s, recipe, monte_carlo=args.monte_carlo, seed=args.seed)
        results.append(r)
        print(summary_line(r))
        if args.report:
            print(r.report())
            print()
    return results


def summary_line(result) -> str:
    parts = []
    for c in result.components:
        mc = f" (MC ± {100 * c.fraction_mc_stderr:.1f})" if math.isfinite(
            c.fraction_mc_stderr) else ""
        parts.append(f"{c.label} {100 * c.fraction:.1f} ± {100 * c.fraction_stderr:.1f}%{mc}")
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


def write_outputs(results, args) -> None:
    if args.table:
        from ..export.tables import write_table
        write_table(results, args.table)
        print(f"table: {args.table}", file=sys.stderr)
    if args.plot:
        from ..plots import save_fit_figure
        for r, path in zip(results, plot_paths(args.plot, len(results))):
            save_fit_figure(r, path)
            print(f"figure: {path}", file=sys.stderr)


def _register_series() -> None:
    from . import fit_series
    EXTENSIONS.append((fit_series.add_arguments, fit_series.wants, fit_series.run))


_register_series()
