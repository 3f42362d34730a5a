"""HDF5 results speed and size: writing, loading and NeXus validation of a batch file.

Run by hand:  .venv/bin/python benchmarks/bench_hdf5.py [--fits 200] [--repeat 3]

One real S 2p fit of example_spectra/kb_series.vms (141 points, 4 doublets) is saved N times
as a list (the layout of ``xpsfit batch --out``). Printed: median wall time to write and to
load the file (per fit), the file size per fit, and when pynxtools is installed the time its
validator takes for one entry (the check in tests/test_hdf5_nexus.py).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fits", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import xpsfit
    from xpsfit.export import hdf5
    recipe = xpsfit.load_recipe(ROOT / "example_spectra" / "s2p_sulfide.toml")
    spectra = [s for s in xpsfit.read(ROOT / "example_spectra" / "kb_series.vms")
               if s.attrs["region"] == "S 2p"]
    fit = xpsfit.fit(spectra[1], recipe)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.h5"
        writes, loads = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            hdf5.save([fit] * args.fits, path)
            writes.append(time.perf_counter() - t)
            t = time.perf_counter()
            back = hdf5.load_results(path)
            loads.append(time.perf_counter() - t)
            assert len(back) == args.fits
        size = os.path.getsize(path)
        print(f"format {hdf5.FORMAT_VERSION}, {args.fits} fits: write "
              f"{1e3 * statistics.median(writes) / args.fits:.1f} ms/fit, load "
              f"{1e3 * statistics.median(loads) / args.fits:.1f} ms/fit, "
              f"{size / args.fits / 1e3:.1f} kB/fit")
        one = hdf5.save(fit, Path(tmp) / "one.h5")
        try:
            import h5py
            from pynxtools.dataconverter.helpers import collector
            from pynxtools.dataconverter.validation import validate_hdf_group_against
        except ImportError:
            print("pynxtools not installed: no validation timing", file=sys.stderr)
            return
        times = []
        for _ in range(args.repeat):
            collector.clear()
            t = time.perf_counter()
            with h5py.File(one, "r") as f:
                ok = validate_hdf_group_against("NXxps", f["entry"], str(one), False)
            times.append(time.perf_counter() - t)
        print(f"NXxps validation of one entry: {'valid' if ok else 'INVALID'}, "
              f"first {times[0]:.2f} s, then median {statistics.median(times[1:] or times):.2f} s")


if __name__ == "__main__":
    main()
