"""Map throughput: batched kernel vs plain xpsfit.fit vs lmfit+lmfitxps, schedulers, memory.

Run by hand: ``.venv/bin/python benchmarks/bench_map.py [--size 100] [--quick]``. Prints:

* per-spectrum time of the kernel (one process), of ``xpsfit.fit`` and of an lmfit + lmfitxps
  fit (pseudo-Voigt doublets with constraints, static Shirley from ``lmfitxps``) on the same
  synthetic S 2p spectra;
* throughput of ``fit_map`` on a size × size demo map with 1 and 2 local processes, threads,
  and a ``LocalCluster`` of 1 and 2 workers (scaling ratio);
* ``worker``: CPU per spectrum of the same chunks in-process and in a LocalCluster worker
  (before / after the allocator fix of ``xpsfit/engine/allocator.py``, dask profiler on / off),
  with page faults per spectrum;
* ``scaling``: ``fit_map_to_hdf5`` from an HDF5 map whose workers read their own rows, local
  process pool and ``LocalCluster`` with 1 and 2 workers, each in a fresh interpreter:
  spectra/s, CPU ms per spectrum (all processes, and the fitting processes alone), peak RSS
  (parent, each worker, total), load average and the CPU the *other* jobs of the machine used
  meanwhile (from /proc/stat); then wall-clock and CPU-time efficiency and the verdict line
  ``1→2 workers: ×N.NN …``;
* ``memory``: peak RSS with 2 workers on 10⁴ and ~10⁵ spectra (``--quick``: 10⁴ and 3·10⁴,
  pool only) and the 10⁶-spectrum estimate on N workers.

``--only worker,scaling`` runs a subset (sections: kernel, throughput, worker, scaling,
memory). ``--verdict`` is the scaling section alone: the command to rerun on a quiet machine
(about 3 minutes on 2 free cores).
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
    from xpsfit.recipe.spec import load_recipe
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
    from xpsfit.fitting.maps import fit_map
    from xpsfit.recipe.spec import load_recipe
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


# ------------------------------------------------------------------------------ measuring
#: the environment the benchmark started with: a LocalCluster's nanny leaves OMP_NUM_THREADS=1 and
#: MALLOC_TRIM_THRESHOLD_=65536 in its process's environ, which must not reach the next runs
_START_ENV = dict(os.environ)


def _cpu(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _machine_busy() -> float:
    """CPU-seconds all processes of the machine have used since boot (/proc/stat)."""
    with open("/proc/stat") as fh:
        f = [int(v) for v in fh.readline().split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")     # minus idle and iowait


def _peak_rss_mib(pid: int) -> float:
    """The kernel's high-water mark of a process's resident memory (VmHWM), MiB."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _children(pid: int) -> list[int]:
    """Descendants of ``pid`` from /proc/<pid>/task/*/children (not a scan of every process)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except OSError:
        return 0.0


class _Memory:
    """Peak RSS of this process and of every descendant (workers), and the peak of their sum,
    sampled every 0.2 s in a thread (a process's own peak is the kernel's VmHWM, not a sample).
    ``cpu`` is the sampler's own CPU time, to be taken off the parent's."""

    def __init__(self):
        import threading
        self.peak: dict[int, float] = {}
        self.total = 0.0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        me = os.getpid()
        total = 0.0
        for pid in [me, *_children(me)]:
            total += _rss_mib(pid)
            self.peak[pid] = max(self.peak.get(pid, 0.0), _peak_rss_mib(pid))
        self.total = max(self.total, total)

    def _run(self):
        while not self._stop.wait(0.2):
            self._sample()
        self.cpu = time.thread_time()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def workers(self) -> list[float]:
        return sorted((v for k, v in self.peak.items() if k != os.getpid() and v > 0),
                      reverse=True)


def _worker_cpu(client) -> float:
    """CPU seconds used so far by the cluster's worker processes (summed)."""
    def used():
        import resource as res
        r = res.getrusage(res.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    return float(sum(client.run(used).values()))


def _run_child(job: dict) -> dict:
    """One measured run in a fresh interpreter (clean memory peaks, clean environment)."""
    import json
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)],
                          capture_output=True, text=True, env=_START_ENV)
    if proc.returncode:
        raise RuntimeError(f"benchmark run {job} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(job: dict) -> dict:
    """fit_map_to_hdf5 of job['src'] with job['workers'] local processes ('pool') or
    LocalCluster workers ('cluster'); wall, CPU of everything it ran, machine load, memory."""
    from xpsfit.fitting.maps import fit_map_to_hdf5
    kind, workers = job["kind"], int(job["workers"])
    out = job["src"] + f".{kind}{workers}.out.h5"
    result = {"load_before": os.getloadavg()[0]}

    def measured(**kw):
        c0, m0 = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN), _machine_busy()
        r = fit_map_to_hdf5(job["src"], RECIPE, out, chunk=int(job["chunk"]), **kw)
        cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - c0
        return r, cpu, _machine_busy() - m0

    with _Memory() as mem:
        if kind == "pool":
            r, cpu, busy = measured(jobs=workers)   # the pool's children are reaped: counted
            worker_cpu = None if workers == 1 else _cpu(resource.RUSAGE_CHILDREN)
        else:
            from distributed import Client, LocalCluster
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cl, Client(cl) as client:
                client.run(lambda: __import__("xpsfit.fitting.maps"))       # warm imports
                w0 = _worker_cpu(client)
                r, cpu, busy = measured(client=client)
                worker_cpu = _worker_cpu(client) - w0
                cpu += worker_cpu
    os.unlink(out)
    cpu -= mem.cpu
    worker_cpu = cpu if worker_cpu is None else worker_cpu     # in-process: the parent fits
    n = r["pixels"]
    result.update(
        spectra=n, seconds=r["seconds"], rate=n / r["seconds"], cpu_ms=1e3 * cpu / n,
        worker_cpu_ms=1e3 * worker_cpu / n,
        # CPU the rest of the machine used meanwhile, in cores: other engineers' jobs
        others=max(0.0, (busy - cpu) / r["seconds"]), load_after=os.getloadavg()[0],
        parent_mib=mem.peak.get(os.getpid(), float("nan")),
        # the largest children are the workers (the others: multiprocessing's resource tracker)
        workers_mib=mem.workers()[:workers] if kind == "cluster" or workers > 1 else [],
        total_mib=mem.total)
    return result


def _line(label: str, m: dict) -> str:
    w = m["workers_mib"]
    mem = (f"peak RSS {m['parent_mib']:.0f} MiB in-process" if not w else
           f"peak RSS parent {m['parent_mib']:.0f}, workers "
           f"{'/'.join(f'{v:.0f}' for v in w)}, total {m['total_mib']:.0f} MiB")
    return (f"{label:24s} {m['spectra']:6d} spectra: {m['rate']:6.0f} spectra/s, CPU "
            f"{m['cpu_ms']:.2f} ms/spectrum (in the fitting processes {m['worker_cpu_ms']:.2f}), "
            f"{mem} | load {m['load_before']:.1f}, others used {m['others']:.2f} cores")


def _demo_file(folder: Path, size: int) -> str:
    from xpsfit.demo import demo_map, write_map_hdf5
    src = folder / f"map{size}.h5"
    data, truth = demo_map(size, size, seed=5)
    write_map_hdf5(src, data, truth)
    return str(src)


# ------------------------------------------------------------------------------ sections
def worker_cost(chunks: int = 4, chunk_rows: int = 10) -> dict:
    """CPU per spectrum of the same chunks in-process and in a LocalCluster worker (as dask
    spawns it, with its nanny's MALLOC_TRIM_THRESHOLD_=65536), without and with the allocator
    setting of engine/allocator.py, and with dask's sampling profiler off: the cause of the
    worker's former ~2× CPU per spectrum, measured."""
    import dask
    from distributed import Client, LocalCluster

    from xpsfit.fitting import maps
    from xpsfit.recipe.spec import load_recipe
    rec = load_recipe(RECIPE)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = maps._MapSource(_demo_file(Path(tmp), 50))
        x, attrs, flip = src.x, maps._check_region(src.attrs, rec, src.where), src.flip
        path = src.path
        src.close()
        tasks = [maps._StoredRows(path, a, a + chunk_rows, flip)
                 for a in range(0, chunks * chunk_rows, chunk_rows)]

        def timed(fixed: bool, rows):
            import resource as res
            import time as tm
            from xpsfit.fitting import maps as m
            from xpsfit.fitting.pixels import fit_spectra
            block = rows.read()
            f0, c0, t0 = res.getrusage(res.RUSAGE_SELF).ru_minflt, tm.process_time(), \
                tm.thread_time()
            flat = block.reshape(-1, block.shape[-1])
            if fixed:
                m._fit_rows(flat, rec, x, attrs)
            else:                                   # the engine alone, as before the fix
                fit_spectra(rec, x, flat, attrs)
            return (tm.thread_time() - t0, tm.process_time() - c0,
                    res.getrusage(res.RUSAGE_SELF).ru_minflt - f0, flat.shape[0])

        def report(label, runs):
            th, pr, faults, n = (sum(r[i] for r in runs) for i in range(4))
            out[label] = 1e3 * pr / n
            print(f"  {label:46s}: {1e3 * pr / n:5.2f} ms CPU/spectrum (fitting thread "
                  f"{1e3 * th / n:5.2f}), {faults / n:6.0f} page faults/spectrum "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)

        print("CPU per spectrum, the same chunks of 500 spectra:")
        timed(True, tasks[0])
        report("in-process", [timed(True, t) for t in tasks])
        for profile in (True, False):
            with dask.config.set({"distributed.worker.profile.enabled": profile}), \
                    LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cl, Client(cl) as client:
                def run(fixed):
                    return [client.submit(timed, fixed, t, pure=False).result() for t in tasks]
                client.submit(timed, False, tasks[0], pure=False).result()     # warm
                tag = "" if profile else ", dask profiler off"
                if profile:
                    report("LocalCluster worker, before the fix" + tag, run(False))
                report("LocalCluster worker, allocator set" + tag, run(True))
    return out


def scaling(size: int, chunk: int = 500, kinds=("pool", "cluster")) -> dict:
    """fit_map_to_hdf5 on a size² HDF5 map, workers reading their own rows; 1 vs 2 workers of
    the local process pool and of a LocalCluster, each run in a fresh interpreter.

    Wall-clock spectra/s depend on the other jobs of a shared machine; the CPU cost per
    spectrum hardly does: when it stays the same from 1 to 2 workers, the scale-out itself costs
    nothing (no serial bottleneck in the parent, no data shipping) and the speed-up on two free
    cores is 2 × (CPU per spectrum with 1) / (CPU per spectrum with 2)."""
    got = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = _demo_file(Path(tmp), size)
        for kind in kinds:
            for workers in (1, 2):
                m = _run_child({"kind": kind, "workers": workers, "src": src, "chunk": chunk})
                got[kind, workers] = m
                name = "process pool" if kind == "pool" else "LocalCluster"
                print(_line(f"{name} x{workers}", m), flush=True)
    parts = []
    for kind in kinds:
        one, two = got[kind, 1], got[kind, 2]
        speed, cpu_eff = two["rate"] / one["rate"], one["cpu_ms"] / two["cpu_ms"]
        print(f"{kind}: 1 -> 2 workers wall clock x{speed:.2f} (efficiency {speed / 2:.0%}); "
              f"CPU-time efficiency {cpu_eff:.0%} -> on 2 free cores x{2 * cpu_eff:.2f}")
        parts.append((kind, speed, cpu_eff, max(one["others"], two["others"])))
    busy = max(p[3] for p in parts)
    verdict = ("met" if all(p[1] >= 1.7 for p in parts) else
               "NOT met" if busy < 0.1 else
               f"not shown: other jobs used up to {busy:.2f} cores meanwhile, rerun on a quiet "
               "machine")
    print("1→2 workers: " + ", ".join(
        f"×{speed:.2f} ({'process pool' if kind == 'pool' else 'LocalCluster'}; CPU-time "
        f"efficiency {eff:.0%}, others {others:.2f} cores)" for kind, speed, eff, others in parts)
        + f" — target ≥ 1.7×: {verdict}")
    return got


def memory(sizes=(100, 317), kinds=("pool", "cluster"), chunk: int = 2048) -> dict:
    """Peak RSS of fit_map_to_hdf5 with 2 workers on maps of size² spectra (memory flatness)."""
    got = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            src = _demo_file(Path(tmp), size)
            for kind in kinds:
                m = _run_child({"kind": kind, "workers": 2, "src": src, "chunk": chunk})
                got[kind, size * size] = m
                print(_line(f"{kind} x2, chunk {chunk}", m), flush=True)
            os.unlink(src)
    return got


def estimate(cpu_ms: float, efficiency: float, n: int = 1_000_000) -> None:
    """The written estimate: time for n spectra on N workers at the measured CPU per spectrum."""
    print(f"estimate for {n:.0e} spectra at {cpu_ms:.2f} ms CPU per spectrum and "
          f"{efficiency:.0%} efficiency:")
    for workers in (1, 2, 16, 64, 256):
        minutes = n * cpu_ms / 1e3 / (workers * efficiency) / 60
        print(f"  {workers:4d} workers: {minutes:7.1f} min")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--quick", action="store_true",
                    help="memory flatness on 10⁴ and 3·10⁴ spectra, process pool only (the full "
                         "run: 10⁴ and 10⁵, pool and LocalCluster)")
    ap.add_argument("--only", default="kernel,throughput,worker,scaling,memory",
                    help="comma-separated sections to run")
    ap.add_argument("--verdict", action="store_true",
                    help="the 1→2 worker scaling alone (10⁴ spectra), ending in the verdict line")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        import json
        print(json.dumps(_child(json.loads(a.child))))
        return
    only = {"scaling"} if a.verdict else set(a.only.split(","))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if "kernel" in only:
        per_spectrum(100)
    if "throughput" in only:
        throughput(a.size)
    if "worker" in only:
        worker_cost()
    got = scaling(a.size) if "scaling" in only else None
    if "memory" in only:
        memory(sizes=(100, 173) if a.quick else (100, 317),
               kinds=("pool",) if a.quick else ("pool", "cluster"))
    if got is not None:
        one, two = got["cluster", 1], got["cluster", 2]
        estimate(one["worker_cpu_ms"], min(1.0, one["cpu_ms"] / two["cpu_ms"]))
    print(f"bench peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
