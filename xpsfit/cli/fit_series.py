"""The ``--series`` options of ``xpsfit fit`` (plugged in through ``cli.fit.EXTENSIONS``)::

    xpsfit fit FILES... --recipe R --series [--mode joint|propagate|independent]
        [--order "pristine,3.6 V,..." | --order-by label|voltage] [--labels "a,b,..."]
        --table t.csv --onsets onsets.csv --plot fits.png --bars bars.png --report report.pdf

Without ``--order`` the series is in command-line order (files as given, blocks in file order),
keeping only the spectra of the recipe's region. Onset sentences are printed. Everything is
fitted before anything is written, so bad input leaves no output file behind.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("series (one joint fit across states, presence tests, onsets)")
    g.add_argument("--series", action="store_true",
                   help="fit all matching spectra as one series (default mode: joint)")
    g.add_argument("--mode", choices=("joint", "propagate", "independent"), default="joint",
                   help="series fit mode (default joint)")
    order = g.add_mutually_exclusive_group()
    order.add_argument("--order", help="comma-separated labels in series order, "
                                       "e.g. \"pristine,3.6 V,3.8 V\"")
    order.add_argument("--order-by", choices=("label", "voltage"),
                       help="sort the series by label or parsed voltage")
    g.add_argument("--labels", help="comma-separated labels, one per spectrum in command-line "
                                    "order (override the labels from the files)")
    g.add_argument("--onsets", help="write onsets.csv (species, onset_label, onset_index, F, "
                                    "p_value, ...)")
    g.add_argument("--bars", help="write the stacked composition chart of every series "
                                  "(PNG/PDF/SVG)")
    g.add_argument("--layout", choices=("study", "singles"), default="study",
                   help="figure layout of --plot and --report: 'study' = fit columns per series "
                        "with one composition chart between them (the reference study's "
                        "Fig. 3 / S13); 'singles' = one panel per spectrum with its presence "
                        "verdicts (Fig. 4, e.g. controls fitted with --mode independent)")
    g.add_argument("--residuals", action="store_true",
                   help="add a residual panel under every fit panel of the series figures")
    g.add_argument("--save", metavar="H5",
                   help="write the series result(s) to HDF5 (everything needed to re-plot or "
                        "re-run the fit; read back with xpsfit export or xpsfit.load_results)")
    g.add_argument("--series-by", choices=("file", "sample"),
                   help="one series per file, or per sample name without its state (e.g. "
                        "'CNF 3.6 V' -> 'CNF'); the report PDF puts them side by side and the "
                        "tables gain a 'series' column")


def wants(args) -> bool:
    return bool(getattr(args, "series", False))


def check_outputs(args) -> None:
    """Bad --bars/--report names fail before anything is fitted or written (the --plot, --size
    and --dpi checks ran in ``cli.fit.run``)."""
    from ..errors import ExportError
    from .common import check_figure_name
    check_figure_name("--bars", args.bars)
    if isinstance(args.report, str) and Path(args.report).suffix.lower() != ".pdf":
        raise ExportError("--report: the study report is a multi-page PDF; give it a .pdf "
                          "name (use --plot for a PNG/SVG figure)", path=args.report)


def run(spectra, recipe, args) -> int:
    from ..errors import FitError
    check_outputs(args)
    if args.monte_carlo:
        raise FitError("--monte-carlo is not available with --series (the joint covariance "
                       "gives the σ)")
    if getattr(args, "series_by", None):
        return run_groups(spectra, recipe, args)
    res = _fit_one(spectra, recipe, args)
    report_path = args.report if isinstance(args.report, str) else None
    if args.report is True:
        for r in res.results:
            print(r.report())
            print()
    _write(res, args, report_path)
    _save([res], args)
    from .common import exit_status
    return exit_status(res.results, args)


def _save(results: list, args) -> None:
    if getattr(args, "save", None):
        from ..export.hdf5 import save
        save(results if len(results) > 1 else results[0], args.save)
        print(f"saved: {args.save}", file=sys.stderr)


def group_key(spectrum, series_by: str) -> str:
    """The series a spectrum belongs to: its file stem, or its sample name without the state
    of charge (voltages and the word 'pristine' removed)."""
    a = spectrum.attrs
    if series_by == "file":
        return Path(str(a.get("source_file", ""))).stem or "series"
    from ..recipe.naming import sample_name
    sample = str(a.get("sample", "") or "")
    return sample_name(sample) or sample or "series"


def run_groups(spectra, recipe, args) -> int:
    """One series per group; everything is fitted before anything is written."""
    from ..export.tables import write_rows as _write_csv
    from ..results import ONSET_COLUMNS, SERIES_COLUMNS, onset_rows, series_rows
    from ..errors import FitError
    if args.labels:
        raise FitError("--labels cannot be combined with --series-by (labels come from each file)")
    groups: dict[str, list] = {}
    for s in spectra:
        groups.setdefault(group_key(s, args.series_by), []).append(s)
    results = {}
    for name, members in groups.items():
        print(f"== series {name} ({len(members)} spectra)")
        results[name] = _fit_one(members, recipe, args)
    if args.table:
        rows = [dict(row, series=name) for name, res in results.items() for row in series_rows(res)]
        columns = ["series", *SERIES_COLUMNS]
        for row in rows:
            columns += [k for k in row if k not in columns]
        _write_csv(rows, columns, args.table)
        print(f"table: {args.table}", file=sys.stderr)
    if args.onsets:
        rows = [dict(row, series=name) for name, res in results.items() for row in onset_rows(res)]
        _write_csv(rows, ["series", *ONSET_COLUMNS], args.onsets)
        print(f"onsets: {args.onsets}", file=sys.stderr)
    report_path = args.report if isinstance(args.report, str) else None
    write_figures(list(results.values()), display_names(results), args, report_path)
    _save(list(results.values()), args)
    from .common import exit_status
    return exit_status([r for res in results.values() for r in res.results], args)


def display_names(results: dict) -> list[str]:
    """Names a reader sees: the shared sample name of each series ("CNF" rather than
    "cnf_series"), the group names when those would not tell the series apart."""
    from ..export.figures import series_title
    titles = [series_title(res) for res in results.values()]
    return titles if len(set(titles)) == len(titles) else list(results)


def write_figures(series_list: list, names: list[str], args, report_path) -> None:
    """--plot, --bars and --report from the same builders the GUI export uses."""
    from ..export.plots import save_figure
    from ..export.report import write_report
    from ..export.figures import composition_chart_figure, study_figure_of
    size, dpi = args.size or "double", args.dpi
    if args.plot:
        save_figure(study_figure_of(args.layout, series_list, names, size=size,
                                    residuals=args.residuals), args.plot, dpi=dpi)
        print(f"figure: {args.plot}", file=sys.stderr)
    if args.bars:
        save_figure(composition_chart_figure(series_list, names, size=size), args.bars, dpi=dpi)
        print(f"bars: {args.bars}", file=sys.stderr)
    if report_path:
        write_report(report_path, series_list, names, layout=args.layout, size=size,
                     residuals=args.residuals)
        print(f"report: {report_path}", file=sys.stderr)


def _fit_one(spectra, recipe, args):
    from ..fitting.series import fit_series
    from .common import summary_line
    labels = [t.strip() for t in args.labels.split(",")] if args.labels else None
    order = args.order if args.order else args.order_by
    res = fit_series(spectra, recipe, order=order, labels=labels, mode=args.mode)
    for r in res.results:
        print(summary_line(r))
    st = res.statistics
    if st is not None:
        print(f"series ({res.mode}, {len(res.results)} spectra): chi2 = {st.chisqr:.4g}, "
              f"reduced chi2 = {st.redchi:.4g}, N = {st.ndata}, n_varys = {st.nvarys}")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print("onsets (present = F-test p < 0.05 and area > 3σ):")
    for o in res.onsets:
        print(f"  {o.sentence}")
    return res


def _write(res, args, report_path) -> None:
    from ..export.tables import write_onsets, write_series_table
    from ..export.figures import series_title
    if args.table:
        write_series_table(res, args.table)
        print(f"table: {args.table}", file=sys.stderr)
    if args.onsets:
        write_onsets(res, args.onsets)
        print(f"onsets: {args.onsets}", file=sys.stderr)
    write_figures([res], [series_title(res)], args, report_path)
