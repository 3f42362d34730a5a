"""``xpsfit map`` (fit a map into an HDF5 result) and ``xpsfit demo-map`` (synthetic S 2p map)."""
from __future__ import annotations

import argparse
import sys
import time

from ..errors import FitError


def register(subparsers) -> None:
    p = subparsers.add_parser("map", help="fit every spectrum of a map (HDF5) into maps.h5",
                              description="Fit an XPS map chunk by chunk; results are streamed "
                                          "into an HDF5 file (see docs/maps.md for layouts). "
                                          "Rerun the same command after an interruption to "
                                          "resume from the finished chunks.")
    p.add_argument("input", help="HDF5 map: dataset 'intensity' (energy last, attribute 'dims') "
                                 "and 'binding_energy'")
    p.add_argument("--recipe", "-r", required=True, help="recipe TOML")
    p.add_argument("--out", "-o", required=True, help="result HDF5 file")
    p.add_argument("--scheduler", help="dask.distributed scheduler address (tcp://host:8786)")
    p.add_argument("--chunk", type=int, default=None,
                   help="spectra per chunk (default: map size / 64, within 256–2048)")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="local worker processes (default: number of CPUs)")
    p.set_defaults(func=run)
    d = subparsers.add_parser("demo-map", help="write a synthetic S 2p map (HDF5) for demos",
                              description="Synthetic S 2p map with smoothly varying composition "
                                          "and Poisson noise, plus its truth (group 'truth').")
    d.add_argument("--size", default="100x100", help="NYxNX (default 100x100)")
    d.add_argument("--out", "-o", default="demo_map.h5", help="output HDF5 (default demo_map.h5)")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=run_demo)


def _size(text: str) -> tuple[int, int]:
    try:
        ny, nx = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise FitError(f"--size must look like 100x100, not {text!r}") from None
    if ny < 1 or nx < 1 or ny * nx > 10_000_000:
        raise FitError(f"--size {text!r} out of range (1 to 10 million spectra)")
    return ny, nx


class _Bar:
    """A progress bar on a terminal, a plain line per ~10 % otherwise (logs, CI)."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr   # looked up now, not at import
        self.tty = self.stream.isatty()
        self.last = -1
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int, message: str) -> None:
        frac = done / total if total else 1.0
        if self.tty:
            n = int(30 * frac)
            self.stream.write(f"\r[{'#' * n}{'.' * (30 - n)}] {100 * frac:5.1f}%  {message}   ")
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
        else:
            step = int(10 * frac)
            if step != self.last:
                self.last = step
                print(f"map: {100 * frac:.0f}% ({done}/{total} chunks, "
                      f"{time.perf_counter() - self.t0:.1f} s)", file=self.stream)
        return None


def run(args: argparse.Namespace) -> int:
    from ..atomic import check_target
    from ..fitting.maps import fit_map_to_hdf5
    from ..recipe.spec import load_recipe
    check_target(args.out, what="map result")
    recipe = load_recipe(args.recipe)
    if args.chunk is not None and args.chunk < 1:
        raise FitError("--chunk must be at least 1")
    summary = fit_map_to_hdf5(args.input, recipe, args.out, chunk=args.chunk,
                              scheduler=args.scheduler, jobs=args.jobs, progress=_Bar())
    rate = summary["pixels"] / max(summary["seconds"], 1e-9)
    resumed = (f"; resumed {summary['resumed']} of {summary['chunks']} chunks from an "
               "interrupted run" if summary["resumed"] else "")
    print(f"fitted {summary['pixels']} spectra in {summary['seconds']:.1f} s ({rate:.0f}/s); "
          f"{summary['failed']} failed; wrote {args.out}{resumed}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from ..atomic import check_target
    from ..demo import demo_map, write_map_hdf5
    ny, nx = _size(args.size)
    check_target(args.out, what="map")
    data, truth = demo_map(ny, nx, seed=args.seed)
    write_map_hdf5(args.out, data, truth)
    print(f"wrote {ny}x{nx} synthetic S 2p map to {args.out}")
    return 0
