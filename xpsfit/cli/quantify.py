"""``xpsfit quantify FILE --recipe R1 --recipe R2 ...``: atomic % across the regions of each
acquisition (source file, sample), with the library RSFs, their source, and placeholder RSFs
flagged.

Each recipe fits its region: the first spectrum of that region in every acquisition of FILE.
Exit status: 0, or 1 when a fit is not trustworthy or an RSF is a placeholder (the table is
still printed and written), 2 for bad input.
"""
from __future__ import annotations

import sys

from ..errors import FitError, RecipeError
from ..spectrum import region_key


def register(subparsers) -> None:
    p = subparsers.add_parser("quantify", help="atomic %% across the regions of an acquisition",
                              description="Fit each recipe's region in every acquisition of "
                                          "FILE and print atomic % = (area / RSF) normalised, "
                                          "with the RSF and its source.")
    p.add_argument("file", metavar="FILE", help="spectrum file with several regions")
    p.add_argument("--recipe", "-r", action="append", required=True,
                   help="recipe of one region (repeat, one per region)")
    p.add_argument("--table", help="write the atomic %% table as CSV")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..export.tables import write_rows
    from ..fitting.charge import acquisition_key
    from ..fitting.single import fit
    from ..io import read
    from ..quantify import QUANTIFICATION_COLUMNS, element_quantification, quantification_rows
    from ..recipe.spec import load_recipe
    recipes = [load_recipe(r) for r in args.recipe]
    regions = [region_key(r.region) for r in recipes]
    for i, key in enumerate(regions):
        if key in regions[:i]:
            raise RecipeError(f"two recipes fit region {recipes[i].region!r}: one per region",
                              path=args.recipe[i])
    acquisitions: dict[tuple[str, str], dict[str, object]] = {}
    for s in read(args.file):
        by_region = acquisitions.setdefault(acquisition_key(s), {})
        by_region.setdefault(region_key(s.attrs.get("region", "")), s)
    rows, bad = [], []
    for (_, sample), by_region in acquisitions.items():
        missing = [r.region for r, k in zip(recipes, regions) if k not in by_region]
        if missing:
            found = ", ".join(sorted(str(s.attrs.get("region", "")) for s in by_region.values()))
            raise FitError(f"sample {sample!r} has no {', '.join(missing)} spectrum to quantify "
                           f"(regions found: {found})", path=args.file)
        results = [fit(by_region[k], r) for r, k in zip(recipes, regions)]
        bad += [f"{r.recipe.region} {r.spectrum_name()}: " + "; ".join(r.flags)
                for r in results if not r.success]
        rows += quantification_rows(element_quantification(results, labels=[sample or "-"]))
    print(f"{'sample':<16} {'region':<8} {'area':>12} {'RSF':>7} {'atomic %':>16}  RSF source")
    for row in rows:
        mark = "  <- PLACEHOLDER RSF" if row["rsf_placeholder"] else ""
        print(f"{row['label'][:16]:<16} {row['region']:<8} {row['area']:12.5g} {row['rsf']:7.3g} "
              f"{row['atomic_percent']:7.2f} ± {row['atomic_percent_stderr']:<6.2f}  "
              f"{row['rsf_source']}{mark}")
    placeholders = sorted({row["region"] for row in rows if row["rsf_placeholder"]})
    if placeholders:
        print(f"warning: the RSF of {', '.join(placeholders)} is a placeholder (1.0): these "
              "atomic % are not comparable; set sensitivity_factor in a user library",
              file=sys.stderr)
    for line in bad:
        print(f"NOT TRUSTWORTHY: {line}", file=sys.stderr)
    if args.table:
        write_rows(rows, QUANTIFICATION_COLUMNS, args.table)
    return 1 if (placeholders or bad) else 0
