"""Batch throughput on 200 example-series S 2p spectra (run by hand, not a test).

    .venv/bin/python benchmarks/bench_batch.py [--spectra 200] [--jobs 2]
    .venv/bin/python benchmarks/bench_batch.py --resilience [--jobs 2]

Copies example_spectra/kb_series.vms and cnf_series.vms (5 S 2p + 5 P 2p blocks each) into a
temporary folder until it holds the requested number of S 2p spectra, then runs
``xpsfit.fitting.batch`` with the S 2p recipe twice, with --jobs 1 and with --jobs N, writing the HDF5
results and the CSV table as the CLI does. Prints wall time, spectra/s and the CPU time used per
wall second (≈ number of busy cores). It also checks that both runs give identical fractions.

``--resilience`` runs the full case of tests/test_batch_resilience.py instead: 1 000 single-block
VAMAS files, 50 of them corrupt in ten ways, every good file an S 2p spectrum (950 fits), with
--jobs 1 and --jobs N, then a clean run over the 950 good files, and checks that the failures
are exactly the corrupt files and that every fitted number equals the clean run's.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import xpsfit
from xpsfit.fitting.batch import batch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_spectra"
RECIPE = EXAMPLES / "s2p_sulfide.toml"
SOURCES = [EXAMPLES / "kb_series.vms", EXAMPLES / "cnf_series.vms"]
S2P_PER_FILE = 5


def make_inputs(folder: Path, n_spectra: int) -> int:
    n_files = -(-n_spectra // S2P_PER_FILE)
    for i in range(n_files):
        src = SOURCES[i % len(SOURCES)]
        shutil.copy(src, folder / f"{src.stem}_{i:03d}.vms")
    return n_files


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)   # pool workers, once they have exited
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(folder: Path, jobs: int, out: Path) -> tuple[float, float, object]:
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    result = batch([folder], RECIPE, jobs=jobs, out=out, table=out.with_suffix(".csv"))
    wall = time.perf_counter() - t0
    return wall, cpu_seconds() - cpu0, result


def resilience(jobs: int) -> None:
    import sys
    sys.path.insert(0, str(ROOT / "tests"))
    from batch_corpus import make_corpus
    with tempfile.TemporaryDirectory(prefix="xpsfit-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        corpus = make_corpus(tmp / "data", n=1000, corrupt_every=20, fit_every=1)
        print(f"{len(corpus.files)} files ({len(corpus.corrupt)} corrupt, {len(corpus.s2p)} "
              f"S 2p to fit) written in {time.perf_counter() - t0:.1f} s; cores: {os.cpu_count()}")
        xpsfit.fit
        print(f"{'run':>10s} {'wall (s)':>9s} {'spectra/s':>10s} {'CPU/wall':>9s} "
              f"{'fitted':>7s} {'failed':>7s}")
        runs = {}
        for name, inputs, j in (("jobs 1", [corpus.folder], 1),
                                (f"jobs {jobs}", [corpus.folder], jobs),
                                ("clean", corpus.good, jobs)):
            out = tmp / f"{name.replace(' ', '')}.h5"
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            res = batch(inputs, RECIPE, jobs=j, out=out, table=out.with_suffix(".csv"))
            wall = time.perf_counter() - t0
            runs[name] = res
            print(f"{name:>10s} {wall:9.2f} {res.fitted / wall:10.1f} "
                  f"{(cpu_seconds() - cpu0) / wall:9.2f} {res.fitted:7d} {len(res.failures):7d}")
        clean = runs["clean"]
        for name in ("jobs 1", f"jobs {jobs}"):
            res = runs[name]
            failed = {Path(f.file).name for f in res.failures}
            same = (len(res.results) == len(clean.results) and
                    # repr: exact digits, and NaN σ (no Monte Carlo) compare equal
                    all(repr(a.components) == repr(b.components)
                        for a, b in zip(res.results, clean.results)))
            print(f"{name}: failures == the {len(corpus.corrupt)} corrupt files: "
                  f"{failed == set(corpus.corrupt)}; results equal the clean run: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spectra", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--resilience", action="store_true",
                    help="1 000 files, 5 %% corrupt, 950 fits (the CI test's full case)")
    args = ap.parse_args()
    if args.resilience:
        resilience(args.jobs)
        return
    with tempfile.TemporaryDirectory(prefix="xpsfit-bench-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        data.mkdir()
        n_files = make_inputs(data, args.spectra)
        xpsfit.fit   # import the engine before timing (the CLI pays this once at start-up too)
        print(f"{args.spectra} S 2p spectra in {n_files} VAMAS files "
              f"(plus {n_files * S2P_PER_FILE} P 2p blocks skipped); cores: {os.cpu_count()}")
        print(f"{'jobs':>4s} {'wall (s)':>9s} {'spectra/s':>10s} {'CPU/wall':>9s} "
              f"{'fitted':>7s} {'failed':>7s} {'HDF5 (MB)':>10s}")
        runs = {}
        for jobs in (1, args.jobs):
            out = tmp / f"results_j{jobs}.h5"
            wall, cpu, res = run(data, jobs, out)
            runs[jobs] = res
            print(f"{jobs:4d} {wall:9.2f} {res.fitted / wall:10.1f} {cpu / wall:9.2f} "
                  f"{res.fitted:7d} {len(res.failures):7d} {out.stat().st_size / 1e6:10.2f}")
        a, b = runs[1], runs[args.jobs]
        same = all(x.fractions == y.fractions for x, y in zip(a.results, b.results))
        print(f"jobs 1 and jobs {args.jobs} fractions identical: {same}")


if __name__ == "__main__":
    main()
