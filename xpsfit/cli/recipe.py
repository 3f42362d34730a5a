"""``xpsfit recipe init|check|from-casa``: write a starter recipe, validate one and summarise it,
or turn the CasaXPS model stored in a VAMAS block into a recipe."""
from __future__ import annotations

from ..errors import RecipeError
from ..recipe.edit import start_recipe
from ..recipe.spec import BACKGROUNDS, load_recipe, recipe_to_toml


def register(subparsers) -> None:
    p = subparsers.add_parser("recipe", help="write a starter recipe or check one",
                              description="Fit recipes (TOML): 'init' prints a starter recipe, "
                                          "'check' validates one and prints a summary.")
    sub = p.add_subparsers(dest="recipe_command", metavar="ACTION")
    init = sub.add_parser("init", help="print a starter recipe (redirect it to a file)")
    init.add_argument("--library", "-l", default="sulfide_electrolytes",
                      help="library name or path (default: sulfide_electrolytes)")
    init.add_argument("--region", "-R", required=True, help="region, e.g. 'S 2p'")
    init.add_argument("--species", "-s", nargs="+", metavar="KEY",
                      help="species keys or aliases (default: all species of the region)")
    init.add_argument("--lineshape", default="pseudo_voigt", help="line shape name")
    init.add_argument("--background", default="shirley", help=f"one of {', '.join(BACKGROUNDS)}")
    init.add_argument("--fixed-shape", action="store_true",
                      help="hold the shape parameters at their defaults (default: fit them, one "
                           "value shared by the components and across a series)")
    init.set_defaults(func=run_init)
    check = sub.add_parser("check", help="validate a recipe and print a summary")
    check.add_argument("recipe", metavar="RECIPE", help="recipe file (TOML)")
    check.set_defaults(func=run_check)
    casa = sub.add_parser("from-casa", help="recipe from the CasaXPS model in a VAMAS file",
                          description="Print (or write with -o) the recipe that reproduces a "
                                      "CasaXPS model (CASA region/comp lines) of one block.")
    casa.add_argument("file", metavar="FILE", help="VAMAS file written by CasaXPS")
    which = casa.add_mutually_exclusive_group()
    which.add_argument("--block", type=int, metavar="N",
                       help="VAMAS block number (default: the first block with a model)")
    which.add_argument("--region", "-R", metavar="R",
                       help="CasaXPS region name (default: the block's first region)")
    casa.add_argument("--library", "-l", help="library to record for sensitivity factors")
    casa.add_argument("--output", "-o", metavar="RECIPE", help="write the recipe here")
    casa.set_defaults(func=run_from_casa)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_init(args) -> int:
    recipe = start_recipe(args.library, args.region, args.species, lineshape=args.lineshape,
                          background=args.background, shape_vary=not args.fixed_shape,
                          source="<recipe init>")
    print(recipe_to_toml(recipe), end="")
    return 0


def run_check(args) -> int:
    recipe = load_recipe(args.recipe)
    region = recipe.library.region(recipe.region)
    print(f"{args.recipe}: OK")
    print(f"  region {recipe.region} ({'doublet' if region.doublet else 'singlet'}"
          + (f", Δ {region.splitting:g} eV, ratio {region.ratio:g}" if region.doublet else "")
          + f"), library {recipe.library_name or '(none: free components)'}")
    shape = ", ".join(f"{k} = {v:g}" for k, v in recipe.shape.items()) or "defaults"
    print(f"  line shape {recipe.lineshape} ({shape}; {'fitted' if recipe.shape_vary else 'fixed'})"
          f", background {recipe.background.type}")
    rng = f"{recipe.range[0]:g}-{recipe.range[1]:g} eV" if recipe.range else "whole spectrum"
    print(f"  range {rng}")
    print(f"  {len(recipe.components)} components:")
    for c in recipe.components:
        fwhm = (f"{c.fwhm_bounds[0]:g}-{c.fwhm_bounds[1]:g}" if c.fwhm_vary
                else f"{c.fwhm:g} (fixed)")
        print(f"    {c.species:13s} {c.label:18s} start {c.position:8.2f}  window "
              f"{c.window[0]:g}-{c.window[1]:g}  fwhm {fwhm}"
              + (f"  shape {c.lineshape}" if c.lineshape else ""))
    for text, (target, expr) in zip(recipe.links, recipe.link_pairs()):
        print(f"  link   {text}    ({target} = {expr})")
    for p in recipe.priors:
        print(f"  prior  {p.target} = {p.value:g} ± {p.sigma:g}")
    if recipe.charge_reference:
        cr = recipe.charge_reference
        print(f"  charge reference: {cr.region} {cr.species} at {cr.energy:g} eV")
    s = recipe.series
    print(f"  series: shared {', '.join(s.shared) or 'nothing'}; shift {s.shift} "
          f"({s.shift_bounds[0]:g} to {s.shift_bounds[1]:g} eV)")
    return 0


def run_from_casa(args) -> int:
    import sys

    from ..recipe.from_casa import casa_model_spectrum, recipe_from_casa
    from ..io import read
    from ..recipe.spec import save_recipe

    spectrum = casa_model_spectrum(read(args.file), block=args.block, region=args.region,
                                   path=args.file)
    recipe = recipe_from_casa(spectrum, region=args.region, library=args.library)
    if args.output:
        save_recipe(recipe, args.output)
        print(f"recipe: {args.output} (block {spectrum.attrs.get('block_index')}, "
              f"{len(recipe.components)} components)", file=sys.stderr)
    else:
        print(recipe_to_toml(recipe), end="")
    return 0


__all__ = ["register", "run_init", "run_check", "run_from_casa", "RecipeError"]
