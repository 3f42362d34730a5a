"""``xpsfit library [NAME] [--region R]``: list peak libraries, their regions and species."""
from __future__ import annotations

from ..recipe.library import Library, RegionDef, list_libraries, load_library


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "library", help="list peak libraries, regions and species",
        description="Without NAME: the built-in libraries. With NAME (built-in or a .toml path): "
                    "its regions. With --region: the species with positions, windows, FWHM "
                    "ranges, references and confidence (C confirmed, L literature, T textbook, "
                    "D derived, U unconfirmed).")
    p.add_argument("name", nargs="?", metavar="NAME", help="library name or path")
    p.add_argument("--region", "-R", help="show the species of this region (e.g. 'S 2p')")
    p.set_defaults(func=run)


def run(args) -> int:
    if not args.name:
        if args.region:
            args.name = "sulfide_electrolytes"
        else:
            for name in list_libraries():
                lib = load_library(name)
                print(f"{name:22s} {lib.description}")
                print(f"{'':22s} regions: {', '.join(lib.regions)}")
            return 0
    lib = load_library(args.name)
    if args.region:
        print_region(lib, lib.region(args.region))
    else:
        print_library(lib)
    return 0


def _doublet(r: RegionDef) -> str:
    if not r.doublet:
        return "singlet"
    split = f"{r.splitting:g}" + (f" ± {r.splitting_sigma:g}" if r.splitting_sigma else "")
    ratio = f"{r.ratio:g}" + (f" ± {r.ratio_sigma:g}" if r.ratio_sigma else "")
    return f"doublet Δ {split} eV, ratio {ratio}"


def print_library(lib: Library) -> None:
    print(f"{lib.name}: {lib.description}")
    print(f"source: {lib.source}" + (f" (extends {lib.extends})" if lib.extends else ""))
    for r in lib.regions.values():
        rng = f"{r.default_range[0]:g}-{r.default_range[1]:g} eV" if r.default_range else "-"
        print(f"  {r.name:7s} {_doublet(r):34s} range {rng:16s} RSF {r.sensitivity_factor:g}"
              f"  species: {', '.join(r.species)}")


def print_region(lib: Library, r: RegionDef) -> None:
    print(f"{lib.name} / {r.name}: {_doublet(r)}; RSF {r.sensitivity_factor:g} "
          f"({r.sensitivity_source or 'no source'})")
    if r.note:
        print(f"  note: {r.note}")
    print(f"  {'key':13s} {'label':20s} {'start':>8s} {'window':>17s} {'fwhm':>11s}  conf  "
          "aliases")
    for sp in r.species.values():
        window = f"{sp.window[0]:g}-{sp.window[1]:g}"
        fwhm = f"{sp.fwhm[0]:g}-{sp.fwhm[1]:g}"
        print(f"  {sp.key:13s} {sp.label:20s} {sp.position:8.2f} {window:>17s} {fwhm:>11s}  "
              f"{sp.confidence:4s}  {', '.join(sp.aliases)}")
        if sp.lineshape:
            print(f"  {'':13s} line shape: {sp.lineshape}")
        for ref in sp.references:
            year = f" ({ref.year})" if ref.year and str(ref.year) not in ref.citation else ""
            print(f"  {'':13s} [{ref.confidence}] {ref.citation}{year}")
