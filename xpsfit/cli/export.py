"""``xpsfit export RESULT.h5 [--table t.csv] [--plot p.png] [--vamas out.vms] [--curves c.csv]
[--report]``:
re-make tables, figures and spectrum files from a saved result, without refitting.

Without an output option it lists what the file holds. Exit 0, or 2 for a bad file (one line).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ExportError
from ..results import FitResult, SeriesResult
from .common import size_arg


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="tables/figures/VAMAS from a saved HDF5 result",
                              description="Re-make outputs from an xpsfit HDF5 results file "
                                          "(from `xpsfit fit`, `xpsfit batch` or the GUI) "
                                          "without refitting.")
    p.add_argument("result", metavar="RESULT.h5", help="xpsfit results file")
    p.add_argument("--table", help="CSV table of components (one row per spectrum × species)")
    p.add_argument("--plot", help="fit figure (PNG/PDF); several fits get _<n> before the "
                                  "suffix")
    p.add_argument("--vamas", help="the fitted spectra (raw counts) as a VAMAS file, each fit "
                                   "as CasaXPS region/comp lines")
    p.add_argument("--curves", help="CSV of the fit curves (energy, data, background, each "
                                    "component, envelope); several fits get _<n> before the "
                                    "suffix")
    p.add_argument("--figure", metavar="PNG|PDF|SVG",
                   help="the study figure of the saved series (fit columns with one "
                        "composition chart between them), as written by xpsfit fit --series")
    p.add_argument("--size", default="double", type=size_arg,
                   help="figure width: single, double or a width in cm")
    p.add_argument("--dpi", type=int, default=300, help="PNG resolution (default 300)")
    p.add_argument("--report", action="store_true", help="print the text report of every fit")
    p.set_defaults(func=run)


def fits_of(results) -> list[FitResult]:
    """Every FitResult, series flattened in series order."""
    out: list[FitResult] = []
    for r in results:
        out.extend(r.results if isinstance(r, SeriesResult) else [r])
    return out


def run(args) -> int:
    from ..export.hdf5 import load_results
    results = load_results(args.result)
    fits = fits_of(results)
    wrote = False
    if args.table:
        from ..export.tables import write_table
        from ..fitting.batch import table_items
        write_table(table_items(results), args.table)
        print(f"table: {args.table}", file=sys.stderr)
        wrote = True
    if args.plot:
        from ..export.plots import save_fit_figure
        for r, path in zip(fits, _plot_paths(args.plot, len(fits))):
            save_fit_figure(r, path)
            print(f"figure: {path}", file=sys.stderr)
        wrote = True
    if args.figure:
        from ..export.plots import save_figure
        from ..export.figures import study_figure
        series = [r for r in results if isinstance(r, SeriesResult)]
        if not series:
            raise ExportError("--figure needs a saved series (xpsfit fit --series --save)",
                              path=args.result)
        save_figure(study_figure(series, size=args.size), args.figure, dpi=args.dpi)
        print(f"figure: {args.figure}", file=sys.stderr)
        wrote = True
    if args.vamas:
        from ..io.casa_writer import with_casa_model
        from ..io.vamas_writer import write_vamas
        blocks = []
        for i, r in enumerate(fits):
            try:
                blocks.append(with_casa_model(r))
            except ExportError as exc:   # the data still go out, the model cannot: say so
                print(f"vamas: block {i}: fit not written as CasaXPS lines: {exc.message}",
                      file=sys.stderr)
                blocks.append(r.spectrum)
        write_vamas(args.vamas, blocks,
                    comments=[f"exported by xpsfit from {Path(args.result).name}"])
        print(f"vamas: {args.vamas}", file=sys.stderr)
        wrote = True
    if args.curves:
        from ..export.tables import write_curves
        for r, path in zip(fits, _plot_paths(args.curves, len(fits))):
            write_curves(r, path)
            print(f"curves: {path}", file=sys.stderr)
        wrote = True
    if args.report:
        for r in fits:
            print(r.report())
            print()
    elif not wrote:
        _list(results)
    return 0


def _list(results) -> None:
    for i, r in enumerate(results):
        if isinstance(r, SeriesResult):
            print(f"[{i}] series of {len(r.results)} ({r.mode}), {r.recipe.region}: "
                  + ", ".join(r.labels))
            for fr in r.results:
                print("    " + _line(fr))
        else:
            print(f"[{i}] " + _line(r))


def _line(r: FitResult) -> str:
    parts = ", ".join(f"{c.species} {100 * c.fraction:.1f}%" for c in r.components)
    status = "" if r.success else "  NOT TRUSTWORTHY"
    return f"{r.spectrum_name()} [{r.label}] {r.recipe.region}: {parts}{status}"


def _plot_paths(path: str, n: int) -> list[Path]:
    p = Path(path)
    if n == 1:
        return [p]
    return [p.with_name(f"{p.stem}_{k}{p.suffix}") for k in range(n)]
