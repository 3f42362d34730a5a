"""``xpsfit batch INPUTS... --recipe R --out results.h5``: fit many files headless.

Progress goes to stderr (a bar on a terminal, a plain line every 10 % otherwise); the summary
and the failures table go to stdout. Exit status: 0 every matching spectrum fitted, 1 some
failed, 2 nothing could be done (or bad input), 130 interrupted (what was done is written).
"""
from __future__ import annotations

import sys
import time

from ..fitting.batch import SERIES_BY, BatchResult
from .common import add_energy_options, calibration_option, read_options


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "batch", help="fit many files / folders / globs with one recipe",
        description="Fit every spectrum of INPUTS (files, folders searched recursively, globs) "
                    "whose region matches the recipe. One bad file or failed fit does not stop "
                    "the batch; failures are listed at the end.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or glob patterns")
    p.add_argument("--recipe", "-r", required=True, help="fit recipe (TOML)")
    p.add_argument("--series-by", choices=SERIES_BY, default="none",
                   help="none: one fit per spectrum; file: one joint series per file; "
                        "sample: one joint series per sample name (default: none)")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="worker processes (default 1)")
    p.add_argument("--out", "-o", required=True, help="results file (HDF5)")
    p.add_argument("--table", help="CSV table of every component of every fit")
    p.add_argument("--plots", metavar="DIR", help="folder for one PNG fit panel per spectrum")
    p.add_argument("--monte-carlo", type=int, default=0, metavar="N",
                   help="N Monte Carlo refits per spectrum for a second σ")
    p.add_argument("--seed", type=int, default=0, help="random seed for --monte-carlo")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="also list every skipped file/block with the reason")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when any fit's verdict is bad (docs/verdicts.md)")
    p.add_argument("--calibrate", metavar="SPECIES=EV",
                   help="energy calibration, e.g. \"C-C=284.8\" (a component of the recipe): "
                        "one rigid shift per acquisition (file, sample), recorded; single fits "
                        "only (--series-by none)")
    add_energy_options(p)
    p.set_defaults(func=run)


class ProgressPrinter:
    """A one-line bar on a terminal; a plain line per 10 % step when stderr is a file/pipe."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.last_decile = -1
        self.start = time.monotonic()

    def __call__(self, done: int, total: int, message: str) -> None:
        total = max(total, 1)
        if self.tty:
            filled = int(self.width * done / total)
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r[{bar}] {done}/{total} {message[:40]:<40}")
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
            return
        decile = (10 * done) // total
        if decile != self.last_decile or done == total:
            self.last_decile = decile
            elapsed = time.monotonic() - self.start
            print(f"batch: {done}/{total} ({100 * done // total} %, {elapsed:.1f} s)",
                  file=self.stream, flush=True)


def run(args) -> int:
    from ..fitting.batch import batch
    options = read_options(args)
    calibration = calibration_option(args.calibrate)
    progress = ProgressPrinter()
    t0 = time.monotonic()
    try:
        result = batch(args.inputs, args.recipe, series_by=args.series_by, jobs=args.jobs,
                       out=args.out, table=args.table, plots=args.plots, progress=progress,
                       monte_carlo=args.monte_carlo, seed=args.seed, read_options=options,
                       calibrate=calibration)
    except KeyboardInterrupt as exc:
        partial = getattr(exc, "partial", None)
        print("\nxpsfit: batch interrupted", file=sys.stderr)
        if partial is not None:
            report(partial, time.monotonic() - t0, args.verbose)
        return 130
    report(result, time.monotonic() - t0, args.verbose)
    if args.strict and result.verdict_counts()["bad"]:
        return max(result.exit_code, 1)
    return result.exit_code


def report(result: BatchResult, seconds: float, verbose: bool = False) -> None:
    """Summary, outputs, failures table (and skipped table when verbose) on stdout."""
    print(f"{result.summary()} in {seconds:.1f} s")
    for kind, path in result.outputs.items():
        print(f"{kind}: {path}")
    if result.failures:
        print("\nfailures:")
        print(format_table(result.failures))
    bad = [f for f in result.fit_results() if f.verdict == "bad"]
    if bad:
        print("\nverdict bad:")
        for f in bad:
            print(f"  {f.spectrum_name()}: " + "; ".join(f.verdict_reasons[:3]))
    if result.skipped:
        if verbose:
            print("\nskipped:")
            print(format_table(result.skipped))
        else:
            whole = sum(item.block is None for item in result.skipped)
            print(f"\nskipped {len(result.skipped)} ({whole} files no reader recognises, "
                  f"{len(result.skipped) - whole} spectra of other regions); "
                  "--verbose lists them")


def format_table(items) -> str:
    rows = [("file", "block", "reason")]
    rows += [(i.file, "" if i.block is None else str(i.block), i.reason) for i in items]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:>{w1}}  {c}" for a, b, c in rows)
