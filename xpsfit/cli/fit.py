"""``xpsfit fit FILE... --recipe R``: fit every matching spectrum, print fractions ± σ, write
the table / figure.

Exit status: 0 when every fit succeeded, 1 when a fit was flagged not trustworthy (outputs are
still written and the reason printed), 2 for bad input (one line on stderr, nothing written).

The series options (``--series --order --onsets --bars``) plug in through :data:`EXTENSIONS`:
a module registers ``(add_arguments(parser), wants(args) -> bool, run(spectra, recipe, args))``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import FitError
from .common import check_figure_options, exit_status, plot_paths, size_arg, summary_line  # noqa: F401
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
                   help="print the full text report per fit (with --series and a PDF path: "
                        "write the study report: figure, composition table with σ, onsets, "
                        "fit verdicts, recipe, version)")
    p.add_argument("--size", default=None, type=size_arg,
                   help="figure width: single (8.5 cm), double (17.8 cm) or a width in cm "
                        "(default double; single fits default to single)")
    p.add_argument("--dpi", type=int, default=300, help="PNG resolution (default 300)")
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
    from ..recipe.spec import load_recipe
    check_figure_options(args)
    recipe = load_recipe(args.recipe)
    if isinstance(args.report, str) and Path(args.report).suffix.lower() not in (
            ".pdf", ".png", ".svg"):          # "--report FILE.vms": the flag took a spectrum
        args.files.append(args.report)
        args.report = True
    check_outputs(args)
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


#: output options of ``fit`` (and its series extension) and what each writes
OUTPUT_OPTIONS = (("table", "table"), ("plot", "figure"), ("report", "report"),
                  ("save", "results"), ("onsets", "onsets table"), ("bars", "figure"))


def check_outputs(args) -> None:
    """Refuse an unwritable output before fitting, not after the whole fit."""
    from ..atomic import check_target
    for option, what in OUTPUT_OPTIONS:
        value = getattr(args, option, None)
        if isinstance(value, str) and value:
            check_target(value, what=what)


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
    from ..recipe.spec import load_recipe
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


def write_outputs(results, args) -> None:
    if args.table:
        from ..export.tables import write_table
        write_table(results, args.table)
        print(f"table: {args.table}", file=sys.stderr)
    if args.plot:
        from ..export.plots import save_fit_figure
        for r, path in zip(results, plot_paths(args.plot, len(results))):
            save_fit_figure(r, path, dpi=args.dpi, size=args.size or "single")
            print(f"figure: {path}", file=sys.stderr)


def _register_series() -> None:
    from . import fit_series
    EXTENSIONS.append((fit_series.add_arguments, fit_series.wants, fit_series.run))


_register_series()
