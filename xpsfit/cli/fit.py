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
from .common import (add_energy_options, calibration_option, check_figure_options,  # noqa: F401
                     energy_warnings, exit_status, plot_paths, read_options, size_arg,
                     summary_line)
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
    p.add_argument("--calibrate", metavar="SPECIES=EV",
                   help="energy calibration, e.g. \"C-C=284.8\": one rigid shift per acquisition "
                        "(file, sample) from the fitted position of SPECIES, applied to the "
                        "acquisition's other spectra and recorded (charge_shift, "
                        "charge_reference). SPECIES is a component of the recipe, or of the "
                        "--charge-reference recipe (another region of the acquisition)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a fit's verdict is bad (docs/verdicts.md), not only when "
                        "it is flagged not trustworthy")
    p.add_argument("--presence", action="store_true",
                   help="presence test (nested-model F-test + area > 3σ) of every species of "
                        "every spectrum; printed, and in the table and HDF5")
    add_energy_options(p)


def run(args) -> int:
    from ..recipe.spec import load_recipe
    check_figure_options(args)
    recipe = load_recipe(args.recipe)
    if isinstance(args.report, str) and Path(args.report).suffix.lower() not in (
            ".pdf", ".png", ".svg"):          # "--report FILE.vms": the flag took a spectrum
        args.files.append(args.report)
        args.report = True
    check_outputs(args)
    options = read_options(args)
    calibration = calibration_option(args.calibrate)
    spectra = collect_spectra(args.files, recipe, args.select, options)
    for line in energy_warnings(spectra):
        print(line, file=sys.stderr)
    if getattr(args, "charge_reference", None):
        spectra = apply_charge_reference(spectra, args.files, args.charge_reference, options,
                                         calibration)
    elif calibration:
        check_calibration(recipe, calibration, args)
    for _add, wants, run_ext in EXTENSIONS:
        if wants(args):
            return int(run_ext(spectra, recipe, args) or 0)
    if calibration and not args.charge_reference:
        results = fit_calibrated(spectra, recipe, calibration, args)
    else:
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


def collect_spectra(files, recipe, select: str | None, options: dict | None = None) -> list:
    """Spectra of the files in command-line order (blocks in file order) that match the
    recipe's region, or the --select block index / region; ``options`` are the energy-axis
    keywords of :func:`xpsfit.io.read` (:func:`cli.common.read_options`)."""
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
        spectra = read(f, **(options or {}))
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


def apply_charge_reference(spectra: list, files, recipe_path: str, options: dict | None = None,
                           calibration: tuple[str, float] | None = None) -> list:
    """Shift the spectra by their acquisition's reference line (fitted in the same files with
    the reference recipe; ``calibration`` = (species, eV) from --calibrate replaces the
    recipe's [charge_reference]); prints one line per acquisition."""
    from ..fitting.charge import (acquisition_shifts, reference_recipe, shift_acquisitions,
                                  with_charge_reference)
    from ..errors import RecipeError
    from ..recipe.spec import load_recipe
    ref_recipe = load_recipe(recipe_path)
    if calibration:   # replaces the reference recipe's own [charge_reference]
        try:
            ref_recipe = with_charge_reference(ref_recipe, *calibration)
        except RecipeError as exc:
            raise _named(exc) from None
    if ref_recipe.charge_reference is None or region_key(
            ref_recipe.charge_reference.region) != region_key(ref_recipe.region):
        raise RecipeError("a --charge-reference recipe needs a [charge_reference] section naming "
                          f"a line of its own region ({ref_recipe.region})", path=recipe_path,
                          key="charge_reference")
    fit_recipe, cr = reference_recipe(ref_recipe)
    references = collect_spectra(files, fit_recipe, None, options)
    shifts = acquisition_shifts(references, fit_recipe)
    for acq in shifts.values():
        print(f"charge reference {acq.describe(cr)}")
    return shift_acquisitions(spectra, shifts, cr)


def _named(exc):
    """The core's calibration error, prefixed with the option that asked for it."""
    from ..errors import RecipeError
    return RecipeError(f"--calibrate: {exc.message}", path=exc.path, key=exc.key)


def check_calibration(recipe, calibration: tuple[str, float], args) -> None:
    """--calibrate on the fitted region itself, refused before any fit where it would be a
    second energy reference or where one shift per acquisition cannot be kept."""
    from ..errors import RecipeError
    from ..fitting.charge import check_calibration as check
    try:
        check(recipe, *calibration)
    except RecipeError as exc:
        raise _named(exc) from None
    if getattr(args, "series", False):
        raise RecipeError("--calibrate with --series: calibrate on another region with "
                          "--charge-reference RECIPE (the series then fits the shifted "
                          "spectra), or fit the spectra singly", path=recipe.source)


def fit_calibrated(spectra, recipe, calibration: tuple[str, float], args) -> list:
    """--calibrate SPECIES=EV on the fitted region: one shift per acquisition
    (:func:`xpsfit.fitting.charge.calibrate_acquisitions`), a line per acquisition."""
    from ..fitting.charge import calibrate_acquisitions
    species, energy = calibration
    results = calibrate_acquisitions(spectra, recipe, species, energy,
                                     monte_carlo=args.monte_carlo, seed=args.seed)
    for r in results:
        ref = r.charge_reference
        if ref:
            print(f"calibration {r.spectrum_name()}: {ref['region']} {ref['species']} measured "
                  f"{ref['measured']:.3f} eV, assigned {ref['assigned']:.3f} eV -> shift "
                  f"{ref['shift']:+.3f} eV for its acquisition")
    for r in results:
        print(summary_line(r))
        if args.report:
            print(r.report())
            print()
    return results


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
