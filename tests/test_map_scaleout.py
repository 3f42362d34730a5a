"""Maps on a cluster: workers read their own rows from the HDF5 map, finished chunks are kept so
a killed or cancelled run resumes to the same result as an uninterrupted one."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from xpsfit.demo import demo_map, write_map_hdf5
from xpsfit.errors import Cancelled, FileFormatError, FitError
from xpsfit.fitting.maps import (_MapSource, _StoredRows, fit_map, fit_map_to_hdf5,
                                 load_map_result)
from xpsfit.recipe.spec import load_recipe

RECIPE = Path(__file__).resolve().parents[1] / "example_spectra" / "s2p_sulfide.toml"


@pytest.fixture(scope="module")
def recipe():
    return load_recipe(RECIPE)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A 6 × 5 demo map in the HDF5 input layout."""
    data, truth = demo_map(6, 5, seed=3)
    path = tmp_path_factory.mktemp("scaleout") / "map.h5"
    write_map_hdf5(path, data, truth)
    return path, data


@pytest.fixture(scope="module")
def reference(stored, recipe):
    return fit_map(stored[1], recipe, scheduler="sync")


def _same(got, ref):
    np.testing.assert_array_equal(got.status.values, ref.status.values)
    for k in ("fraction", "position", "area_stderr"):
        np.testing.assert_allclose(got[k].values, ref[k].values, rtol=0, atol=1e-12)


def test_worker_reads_its_rows_from_the_file(stored):
    path, _ = stored
    src = _MapSource(path)
    try:
        want = src.rows(2, 4)
        task = _StoredRows(str(path), 2, 4, src.flip)
    finally:
        src.close()
    np.testing.assert_array_equal(task.read(), want)
    # what goes to the worker is the address of the rows, not the counts
    assert len(pickle.dumps(task)) < 300 < want.nbytes
    with pytest.raises(FileFormatError, match="gone.h5") as err:
        _StoredRows(str(path.with_name("gone.h5")), 0, 1, False).read()
    assert "rows 0:1" in str(err.value)


def test_local_cluster_reads_from_storage(stored, reference, recipe, tmp_path):
    from distributed import Client, LocalCluster
    path, _ = stored
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        summary = fit_map_to_hdf5(path, recipe, tmp_path / "res.h5", chunk=5, client=client)
    assert summary["chunks"] == 6 and summary["resumed"] == 0
    _same(load_map_result(tmp_path / "res.h5"), reference)
    import h5py
    with h5py.File(tmp_path / "res.h5", "r") as h5:    # one HDF5 chunk per block: no rewrites
        assert h5["fraction"].chunks == (1, 5, 4) and h5["status"].chunks == (1, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.h5"]      # parts folder removed


def test_cancelled_run_resumes_to_the_same_result(stored, reference, recipe, tmp_path):
    path, _ = stored
    out = tmp_path / "res.h5"

    def stop_after_two(done, total, message):
        return done >= 2

    with pytest.raises(Cancelled):
        fit_map_to_hdf5(path, recipe, out, chunk=5, jobs=1, progress=stop_after_two)
    assert not out.exists()
    parts = tmp_path / ".res.h5.parts"
    assert sorted(p.name for p in parts.iterdir()) == ["0000000.npy", "0000001.npy",
                                                        "manifest.json"]
    with pytest.raises(FitError, match="rows_per_chunk") as err:      # other blocking: refused
        fit_map_to_hdf5(path, recipe, out, chunk=10, jobs=1)
    assert ".res.h5.parts" in str(err.value)
    seen = []
    summary = fit_map_to_hdf5(path, recipe, out, chunk=5, jobs=2,
                              progress=lambda d, t, m: seen.append(d))
    assert summary["resumed"] == 2 and seen[0] == 2 and seen[-1] == 6
    assert summary["failed"] == int((~reference.success).sum())
    _same(load_map_result(out), reference)
    assert not parts.exists()


_KILLABLE = textwrap.dedent("""
    import sys, time
    from xpsfit.fitting.maps import fit_map_to_hdf5

    def report(done, total, message):
        print(done, flush=True)
        if done == 3:
            time.sleep(120)          # killed here: three chunks finished, the rest not
    fit_map_to_hdf5(sys.argv[1], sys.argv[2], sys.argv[3], chunk=5, jobs=1, progress=report)
""")


def test_killed_run_resumes_to_the_same_result(stored, reference, recipe, tmp_path):
    path, _ = stored
    out = tmp_path / "res.h5"
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(path), str(RECIPE), str(out)],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        line = ""
        while line.strip() != "3" and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert line.strip() == "3", "the run never reached its third chunk"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    summary = fit_map_to_hdf5(path, recipe, out, chunk=5, jobs=1)
    assert summary["resumed"] == 3
    _same(load_map_result(out), reference)


def test_failed_pixels_keep_a_reason_and_their_best_parameters(recipe):
    """No bare NaN: every pixel has a status; pixels that were fitted at all (status 0, 2, 3)
    report finite areas and positions, only invalid data (status 1) has none."""
    from xpsfit.fitting.pixels import fit_spectra
    data, _ = demo_map(1, 3, seed=4)
    x = data.binding_energy.values
    good = data.values.reshape(-1, x.size)
    rng = np.random.default_rng(1)
    rows = np.array([rng.poisson(0.5, x.size),                 # nearly empty
                     1e9 * good[0],                            # absurd scale
                     np.linspace(100, 1000, x.size),           # a slope, no peaks
                     np.r_[6.0, np.full(x.size - 1, 5.0)],     # flat but for one count
                     np.full(x.size, 5.0),                     # constant: invalid
                     good[1], good[2]], dtype=float)
    v = fit_spectra(recipe, x, rows, data.attrs).values
    status = v["status"].astype(int)
    assert set(status) <= {0, 1, 2, 3} and status[4] == 1 and list(status[5:]) == [0, 0]
    fitted = status != 1
    assert np.isfinite(v["area"][fitted]).all() and np.isfinite(v["position"][fitted]).all()
    assert np.isnan(v["area"][~fitted]).all()
    assert (v["success"][status == 2] == 0).all() and (status[:4] != 0).sum() >= 2


def test_in_memory_source_resumes_and_an_empty_start_is_not_a_conflict(stored, reference,
                                                                      recipe, tmp_path):
    _, data = stored
    out = tmp_path / "res.h5"
    with pytest.raises(Cancelled):            # stopped before any chunk: only a manifest
        fit_map_to_hdf5(data, recipe, out, chunk=5, jobs=1, progress=lambda d, t, m: True)
    with pytest.raises(Cancelled):            # other chunking is fine then; two chunks kept
        fit_map_to_hdf5(data, recipe, out, chunk=10, jobs=1, progress=lambda d, t, m: d >= 2)
    changed = data.copy(deep=True)
    changed[5, 0, 3] += 1.0
    with pytest.raises(FitError, match="data differ"):      # other counts, same shape: refused
        fit_map_to_hdf5(changed, recipe, out, chunk=10, jobs=1)
    summary = fit_map_to_hdf5(data, recipe, out, chunk=10, jobs=1)
    assert summary["resumed"] == 2 and summary["chunks"] == 3
    _same(load_map_result(out), reference)


def _faults_per_2mib_array() -> float:
    """Minor page faults per allocate-touch-free of a 2 MiB array: ~512 when every such
    temporary is a fresh mmap (glibc with MALLOC_TRIM_THRESHOLD_ set), ~0 when freed memory
    is reused."""
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(40):
        a = np.ones(2 ** 18)
        del a
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 40


def test_a_dask_worker_reuses_freed_memory_after_its_first_chunk(stored, reference, recipe,
                                                                  tmp_path):
    """A Nanny-spawned worker has MALLOC_TRIM_THRESHOLD_=65536 (dask's default), which made
    every numpy temporary a page-faulting mmap (~1.6× the CPU per spectrum); the map task sets
    glibc's thresholds back in the worker itself."""
    import platform
    from distributed import Client, LocalCluster
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the allocator setting is glibc's")
    path, _ = stored
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        env = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert list(env.values()) == ["65536"]
        before = list(client.run(_faults_per_2mib_array).values())[0]
        fit_map_to_hdf5(path, recipe, tmp_path / "res.h5", chunk=15, client=client)
        after = list(client.run(_faults_per_2mib_array).values())[0]
    assert before > 400 and after < 20, (before, after)
    _same(load_map_result(tmp_path / "res.h5"), reference)


def test_a_dask_worker_solves_with_one_blas_thread(stored, recipe, monkeypatch):
    """The one-BLAS-thread limit holds inside a worker whose BLAS is started with every core:
    BLAS threads are read in the worker during each solve, and after the fit."""
    from distributed import Client, LocalCluster
    import dask
    from xpsfit.fitting.maps import _fit_chunk
    cores = os.cpu_count() or 1
    if cores < 2:
        pytest.skip("one core: BLAS has one thread anyway")
    path, data = stored
    src = _MapSource(path)
    try:
        task = _StoredRows(str(path), 0, 2, src.flip)
        x, attrs = src.x, dict(src.attrs, region=recipe.region)
    finally:
        src.close()

    def probe():
        from threadpoolctl import threadpool_info
        import xpsfit.fitting.pixels as pixels

        def blas_threads():
            return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        seen, solve = [], pixels.solve_lm

        def watched(*a, **k):
            seen.append(blas_threads())
            return solve(*a, **k)
        before = blas_threads()
        pixels.solve_lm = watched
        try:
            _fit_chunk(task, recipe, x, attrs)
        finally:
            pixels.solve_lm = solve
        return before, seen, blas_threads()

    # the nanny of an earlier LocalCluster leaves OMP_NUM_THREADS=1 … in this process's environ
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, str(cores))
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                         dashboard_address=":0") as cluster, Client(cluster) as client:
        before, seen, after = list(client.run(probe).values())[0]
    assert before == cores and after == cores          # the worker's own setting, restored
    assert seen and set(seen) == {1}


def test_an_in_memory_map_is_cut_before_it_enters_the_task_graph():
    """fit_map on a numpy-backed map: every block in the graph is one chunk of rows, so a
    worker process is sent its own rows, never the whole map."""
    from xpsfit.fitting.maps import _pixel_rows, energy_last
    data = energy_last(demo_map(6, 5, seed=3)[0])
    flat = _pixel_rows(data, 30, 7)
    arrays = [v for v in dict(flat.__dask_graph__()).values() if isinstance(v, np.ndarray)]
    assert len(arrays) == 5 and max(a.shape[0] for a in arrays) == 7
    assert sum(a.nbytes for a in arrays) == data.values.nbytes
    np.testing.assert_array_equal(flat.compute(scheduler="sync"),
                                  data.values.reshape(30, -1))
    lazy = data.chunk({"y": 2})                         # a dask-backed map stays lazy
    assert _pixel_rows(lazy, 30, 7).chunks[0] == (7, 7, 7, 7, 2)
