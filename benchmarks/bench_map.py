"""Map throughput: batched kernel vs plain xpsfit.fit vs lmfit+lmfitxps, schedulers, memory.

Run by hand: ``.venv/bin/python benchmarks/bench_map.py [--size 100] [--quick]``. Prints:

* per-spectrum time of the kernel (one process), of ``xpsfit.fit`` and of an lmfit + lmfitxps
  fit (pseudo-Voigt doublets with constraints, static Shirley from ``lmfitxps``) on the same
  synthetic S 2p spectra;
* throughput of ``fit_map`` on a size × size demo map with 1 and 2 local processes, threads,
  and a ``LocalCluster`` of 1 and 2 workers (scaling ratio);
* peak RSS of ``fit_map_to_hdf5`` on 10 000 and 40 000-spectrum HDF5 maps (subprocesses).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "example_spectra" / "s2p_sulfide.toml"


def lmfitxps_fit(x, y):
    """What a careful lmfit user writes: 4 pseudo-Voigt doublets, static Shirley (lmfitxps)."""
    import lmfit
    from lmfitxps.backgrounds import shirley_calculate
    bg = shirley_calculate(x, y)
    model = None
    for i, (name, pos) in enumerate((("ps4", 161.6), ("s2", 160.1), ("poly", 163.1),
                                     ("s0", 164.0))):
        for j, pre in enumerate((f"{name}a_", f"{name}b_")):
            m = lmfit.models.PseudoVoigtModel(prefix=pre)
            model = m if model is None else model + m
    p = model.make_params()
    for name, pos in (("ps4", 161.6), ("s2", 160.1), ("poly", 163.1), ("s0", 164.0)):
        a, b = f"{name}a_", f"{name}b_"
        p[a + "center"].set(value=pos, min=pos - 0.5, max=pos + 0.6)
        p[a + "sigma"].set(value=0.5, min=0.3, max=1.0)
        p[a + "amplitude"].set(value=2000, min=0)
        p[a + "fraction"].set(value=0.2, vary=False)
        p[b + "center"].set(expr=f"{a}center + 1.18")
        p[b + "sigma"].set(expr=f"{a}sigma")
        p[b + "amplitude"].set(expr=f"0.5 * {a}amplitude")
        p[b + "fraction"].set(value=0.2, vary=False)
    p["s2a_sigma"].set(expr="ps4a_sigma")
    out = model.fit(y - bg, p, x=x, weights=1 / np.sqrt(np.maximum(y, 1)))
    return out


def per_spectrum(n: int):
    from xpsfit.demo import demo_map
    from xpsfit import fit
    from xpsfit.fitting.pixels import fit_spectra, template_spectrum
    from xpsfit.recipe import load_recipe
    rec = load_recipe(RECIPE)
    data, _ = demo_map(20, 50, seed=11)
    x = data.binding_energy.values
    y = data.values.reshape(-1, x.size)
    fit_spectra(rec, x, y[:16], data.attrs)
    t = time.perf_counter()
    fit_spectra(rec, x, y, data.attrs)
    k = (time.perf_counter() - t) / y.shape[0]
    m = min(n, 100)
    t = time.perf_counter()
    for i in range(m):
        fit(template_spectrum(x, y[i], data.attrs), rec)
    p = (time.perf_counter() - t) / m
    try:
        lmfitxps_fit(x, y[0])
        t = time.perf_counter()
        for i in range(m // 2):
            lmfitxps_fit(x, y[i])
        q = (time.perf_counter() - t) / (m // 2)
    except ImportError:
        q = float("nan")
    print(f"per spectrum (1 process): kernel {1e3 * k:.2f} ms | xpsfit.fit {1e3 * p:.2f} ms | "
          f"lmfit+lmfitxps {1e3 * q:.2f} ms  (kernel speed-up x{p / k:.1f} vs fit, "
          f"x{q / k:.1f} vs lmfitxps)")


def throughput(size: int):
    from distributed import Client, LocalCluster

    from xpsfit.demo import demo_map
    from xpsfit.maps import fit_map
    from xpsfit.recipe import load_recipe
    rec = load_recipe(RECIPE)
    data, truth = demo_map(size, size, seed=5)
    n = size * size
    rates = {}
    for label, kw in (("sync, 1 process", dict(scheduler="sync")),
                      ("threads x2", dict(scheduler="threads", num_workers=2)),
                      ("processes x1", dict(scheduler="processes", num_workers=1)),
                      ("processes x2", dict(scheduler="processes", num_workers=2))):
        t = time.perf_counter()
        out = fit_map(data, rec, **kw)
        rates[label] = n / (time.perf_counter() - t)
        err = np.nanmedian(np.abs(out.fraction.values - truth.fraction.values))
        print(f"fit_map {size}x{size} {label:16s}: {rates[label]:7.0f} spectra/s "
              f"(success {float(out.success.mean()):.4f}, median |Δfraction| vs truth {err:.4f})")
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cl, \
                Client(cl) as client:
            fit_map(data.isel(y=slice(0, 2)), rec, client=client)      # warm the workers
            t = time.perf_counter()
            fit_map(data, rec, client=client)
            rates[f"cluster{workers}"] = n / (time.perf_counter() - t)
        print(f"fit_map LocalCluster {workers} worker(s): {rates[f'cluster{workers}']:7.0f} spectra/s")
    print(f"LocalCluster scaling 2/1 workers: {rates['cluster2'] / rates['cluster1']:.2f}; "
          f"processes 2/1: {rates['processes x2'] / rates['processes x1']:.2f}")


def memory(sizes=(100, 200)):
    from xpsfit.demo import demo_map, write_map_hdf5
    with tempfile.TemporaryDirectory() as tmp:
        for s in sizes:
            src = Path(tmp) / f"map{s}.h5"
            data, truth = demo_map(s, s, seed=1)
            write_map_hdf5(src, data, truth)
            del data, truth
            code = ("import resource,sys; from xpsfit.maps import fit_map_to_hdf5; "
                    f"r=fit_map_to_hdf5({str(src)!r}, {str(RECIPE)!r}, {str(src) + '.out'!r}, "
                    "chunk=2048, jobs=2); "
                    "print(r['seconds'], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
                    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout.split()
            sec, parent, child = float(out[0]), int(out[1]), int(out[2])
            print(f"fit_map_to_hdf5 {s * s:6d} spectra: {s * s / sec:6.0f} spectra/s, peak RSS "
                  f"parent {parent / 1024:.0f} MiB, largest worker {child / 1024:.0f} MiB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="skip the memory runs")
    a = ap.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    per_spectrum(100)
    throughput(a.size)
    if not a.quick:
        memory()
    print(f"bench peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
