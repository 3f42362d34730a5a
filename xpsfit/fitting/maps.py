"""Fitting XPS maps and long series: ``fit_map`` (xarray + dask) and ``fit_map_to_hdf5`` (streaming).

Every spectrum of a map shares one energy axis and one recipe, so the work goes through the batched
front-end :mod:`xpsfit.fitting.pixels` of the one engine (the same model, line shapes, links and
backgrounds as :func:`xpsfit.fit`).

Parallelism: threads are GIL-bound for this many small numpy calls, so the default local scheduler
is dask's *process* pool (forked workers; measured in ``benchmarks/bench_map.py``). A
``dask.distributed`` ``client`` or a scheduler ``address`` sends the chunks to a cluster instead.

HDF5 map layout (input of :func:`fit_map_to_hdf5`, written by ``xpsfit demo-map``):

* ``intensity``: float array (..., n_energy), energy LAST, raw counts; attribute ``dims`` = the
  dimension names, e.g. ``["y", "x", "binding_energy"]``; other attributes are Spectrum attrs
  (``region``, ``counts_unit``, ...);
* ``binding_energy``: 1-D (eV; either order) and one 1-D dataset per other dim (coordinates).

Result layout (:func:`fit_map_to_hdf5`, read back by :func:`load_map_result`): one dataset per
output variable with attribute ``dims`` — ``area``, ``area_stderr``, ``fraction``,
``fraction_stderr``, ``position``, ``position_stderr``, ``fwhm`` (..., species); ``success``,
``redchi``, ``nfev``, ``status`` (...: 0 fitted, 1 invalid data, 2 not converged, 3 no
covariance), ``verdict`` (-1 not fitted, 0 ok, 1 doubtful, 2 bad); coordinates ``species`` and the map's dims; root attributes
``recipe_toml``, ``region``, ``xpsfit_version``.
"""
from __future__ import annotations

import math
import os
from collections import deque
from pathlib import Path

import numpy as np
import xarray as xr

from ..engine.allocator import reuse_freed_memory
from ..errors import Cancelled, FileFormatError, FitError, XpsfitError
from .pixels import PER_SPECIES, SCALARS, BatchResult, fit_spectra, unpack_columns
from ..recipe.spec import Recipe
from ..spectrum import DIM, region_key

from ..errors import Progress  # noqa: E402

#: maps with at most this many spectra are fitted in-process (dask start-up costs more)
SERIAL_LIMIT = 512


# ------------------------------------------------------------------------------ helpers
def energy_last(data: xr.DataArray) -> xr.DataArray:
    """``data`` with ``binding_energy`` ascending and last (FitError when there is none)."""
    if not isinstance(data, xr.DataArray):
        raise FitError(f"a map must be an xarray.DataArray, not {type(data).__name__}")
    if DIM not in data.dims:
        raise FitError(f"map has no {DIM!r} dimension (dims: {', '.join(map(str, data.dims))})")
    if DIM not in data.coords:
        raise FitError(f"map has no {DIM!r} coordinate")
    be = np.asarray(data[DIM].values, dtype=float)
    if be.size > 1 and be[0] > be[-1]:
        data = data.isel({DIM: slice(None, None, -1)})
    data = data.transpose(..., DIM)
    be = np.asarray(data[DIM].values, dtype=float)
    if be.size < 2 or not np.all(np.diff(be) > 0):
        raise FitError(f"map {DIM!r} axis must be strictly monotonic with at least 2 points")
    return data


def _recipe(recipe) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    from ..recipe.spec import load_recipe
    return load_recipe(recipe)


def _check_region(attrs: dict, recipe: Recipe, where: str) -> dict:
    """The map's region comes from its attrs or, when absent, the recipe; they must agree."""
    region = str(attrs.get("region", "") or "").strip()
    if region and region_key(region) != region_key(recipe.region):
        raise FitError(f"map region {region!r} does not match the recipe region "
                       f"{recipe.region!r} (recipe {recipe.source or 'in memory'})",
                       path=where or None)
    return dict(attrs, region=region or recipe.region)


def _fit_rows(rows: np.ndarray, recipe: Recipe, x: np.ndarray, attrs: dict) -> np.ndarray:
    """(..., n) counts -> (..., n_columns) packed results (the dask block function)."""
    shape = rows.shape[:-1]
    flat = np.asarray(rows, dtype=float).reshape(-1, rows.shape[-1])
    if flat.shape[0] == 0:
        return np.zeros(shape + (BatchResult.n_columns(len(recipe.components)),))
    # in the process that fits: a dask worker is spawned with a malloc setting that cost this
    # engine 1.5–2.5× the CPU (engine/allocator.py), so it is set here, not by the caller
    reuse_freed_memory()
    res = fit_spectra(recipe, x, flat, attrs)
    return res.packed().reshape(shape + (-1,))


def _dataset(packed: np.ndarray, species: list[str], lead_dims, coords: dict, attrs: dict
             ) -> xr.Dataset:
    cols = unpack_columns(packed, len(species))
    dims_s = (*lead_dims, "species")
    vars_ = {k: (dims_s, cols[k]) for k in PER_SPECIES}
    vars_["success"] = (tuple(lead_dims), cols["success"] > 0.5)
    vars_["redchi"] = (tuple(lead_dims), cols["redchi"])
    vars_["nfev"] = (tuple(lead_dims), cols["nfev"].astype(int))
    vars_["status"] = (tuple(lead_dims), cols["status"].astype(int),
                       {"meaning": "0 fitted, 1 invalid data, 2 not converged, 3 no covariance"})
    vars_["verdict"] = (tuple(lead_dims), cols["verdict"].astype(int),
                        {"meaning": "-1 not fitted, 0 ok, 1 doubtful, 2 bad (docs/verdicts.md)"})
    return xr.Dataset(vars_, coords={**coords, "species": list(species)}, attrs=attrs)


def _species(recipe: Recipe) -> list[str]:
    return [c.species for c in recipe.components]


def _auto_chunk(n_pix: int, workers: int) -> int:
    """About four chunks per worker (load balance), each 256–4096 spectra (kernel efficiency)."""
    return int(min(4096, max(256, math.ceil(n_pix / max(1, 4 * workers)))))


# ------------------------------------------------------------------------------ fit_map
def fit_map(data: xr.DataArray, recipe, *, chunks: int | None = None, client=None,
            scheduler: str | None = None, progress: Progress | None = None,
            num_workers: int | None = None) -> xr.Dataset:
    """Fit every spectrum of a map (any dims besides ``binding_energy``) with one recipe.

    Returns a Dataset with ``area``, ``area_stderr``, ``fraction``, ``fraction_stderr``,
    ``position``, ``position_stderr``, ``fwhm`` (..., species), ``success``, ``redchi`` and ``nfev``
    (...). Pixels that cannot be fitted (NaN, negative or constant counts, no convergence) have
    ``success`` False and NaN values; they never stop the map.

    ``chunks``: spectra per dask task (default: about four tasks per worker). ``client``: a
    ``dask.distributed.Client``; ``scheduler``: a scheduler address (``tcp://host:8786``) or a
    local dask scheduler name (``"processes"`` — the default —, ``"threads"``, ``"sync"``).
    ``num_workers``: local processes (default: CPU count). ``progress(done, total, message)``
    returning True cancels (:class:`~xpsfit.errors.Cancelled`).
    """
    recipe = _recipe(recipe)
    data = energy_last(data)
    attrs = _check_region(dict(data.attrs), recipe, str(data.attrs.get("source_file", "")))
    x = np.asarray(data[DIM].values, dtype=float)
    lead = tuple(data.dims[:-1])
    lead_shape = tuple(data.shape[:-1])
    n_pix = int(np.prod(lead_shape)) if lead else 1
    coords = {d: data[d].values for d in lead if d in data.coords}
    out_attrs = {"region": attrs["region"], "recipe": recipe.source or "in memory"}
    workers = int(num_workers or os.cpu_count() or 1)
    distributed = client is not None or ":" in str(scheduler or "")
    is_dask = getattr(data.data, "dask", None) is not None
    serial = (scheduler in ("sync", "synchronous", "single-threaded") or
              (not distributed and not is_dask and (n_pix <= SERIAL_LIMIT or workers == 1)))
    if serial and not is_dask:
        _tick(progress, 0, 1, "fitting map")
        packed = _fit_rows(np.asarray(data.values), recipe, x, attrs)
        _tick(progress, 1, 1, "map fitted")
        return _dataset(packed, _species(recipe), lead, coords, out_attrs)

    chunk = int(chunks or _auto_chunk(n_pix, workers))
    flat = _pixel_rows(data, n_pix, chunk)
    stacked = xr.DataArray(flat, dims=("pixel", DIM))
    n_col = BatchResult.n_columns(len(recipe.components))
    result = xr.apply_ufunc(
        _fit_rows, stacked, input_core_dims=[[DIM]], output_core_dims=[["column"]],
        dask="parallelized", output_dtypes=[float],
        dask_gufunc_kwargs={"output_sizes": {"column": n_col}},
        kwargs={"recipe": recipe, "x": x, "attrs": attrs})
    packed = _compute(result.data, client=client, scheduler=scheduler, workers=workers,
                      progress=progress, serial=serial)
    packed = np.asarray(packed).reshape(lead_shape + (n_col,))
    return _dataset(packed, _species(recipe), lead, coords, out_attrs)


def _pixel_rows(data: xr.DataArray, n_pix: int, chunk: int):
    """The map as a dask array (pixel, energy) of ``chunk``-row blocks. An in-memory map is cut
    here, so that each task carries only its own rows: rechunked from one whole-map block, every
    task was sent the whole map on the process pool."""
    import dask.array as da
    n = data.shape[-1]
    if getattr(data.data, "dask", None) is not None:
        return data.data.reshape((n_pix, n)).rechunk((chunk, -1))
    return da.from_array(np.asarray(data.values).reshape(n_pix, n), chunks=(chunk, -1))


def _tick(progress, done, total, message):
    if progress is not None and progress(done, total, message):
        raise Cancelled("map fit cancelled")


def _compute(darr, *, client, scheduler, workers, progress, serial):
    """Compute a dask array on the requested scheduler, reporting finished chunks."""
    import dask
    n_tasks = int(np.prod(darr.numblocks))
    if client is not None or (scheduler and ":" in str(scheduler)):
        return _compute_distributed(darr, client, scheduler, progress, n_tasks)
    name = "sync" if serial else (scheduler or "processes")
    from dask.callbacks import Callback

    done = [0]
    prefix = darr.name.split("-")[0]

    class _Progress(Callback):
        def _posttask(self, key, result, dsk, state, id):
            k = key[0] if isinstance(key, tuple) else key
            if isinstance(k, str) and k.startswith(prefix):
                done[0] += 1
                _tick(progress, min(done[0], n_tasks), n_tasks, "fitting map chunks")

    kw = {"num_workers": workers} if name in ("processes", "threads") else {}
    with dask.config.set({"multiprocessing.context": "fork"}), _Progress():
        _tick(progress, 0, n_tasks, "fitting map chunks")
        return dask.compute(darr, scheduler=name, **kw)[0]


def _compute_distributed(darr, client, address, progress, n_tasks):
    from distributed import Client, as_completed, futures_of
    own = client is None
    if own:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise FitError(f"cannot reach the dask scheduler at {address}: {exc}") from None
    try:
        persisted = client.persist(darr)
        futures = futures_of(persisted)
        _tick(progress, 0, len(futures), "fitting map chunks on the cluster")
        for i, _ in enumerate(as_completed(futures), 1):
            if progress is not None and progress(i, len(futures), "fitting map chunks"):
                client.cancel(futures)
                raise Cancelled("map fit cancelled")
        return client.compute(persisted, sync=True)
    finally:
        if own:
            client.close()


# ------------------------------------------------------------------------------ HDF5 streaming
class _MapSource:
    """Row-block access to a map held in memory (DataArray) or in an HDF5 file (lazy)."""

    def __init__(self, source):
        self._h5 = None
        self.path = None
        if isinstance(source, xr.DataArray):
            data = energy_last(source)
            self.x = np.asarray(data[DIM].values, dtype=float)
            self.lead = tuple(data.dims[:-1])
            self.shape = tuple(data.shape[:-1])
            self.coords = {d: np.asarray(data[d].values) for d in self.lead if d in data.coords}
            self.attrs = dict(data.attrs)
            self._arr = data.data
            self._flip = False
            self.where = str(self.attrs.get("source_file", "") or "")
            return
        self._open_hdf5(Path(source))

    def _open_hdf5(self, path: Path) -> None:
        """Validate the whole layout (types, shapes, sizes, links) before reading any data;
        every problem is one FileFormatError naming the file and the dataset or attribute."""
        import h5py

        from ..io.limits import MAX_MAP_SPECTRA, MAX_POINTS, open_regular
        from ..spectrum import ATTRS
        self.where = where = str(path)
        self.path = where

        def fail(message: str, key: str | None = None) -> FileFormatError:
            self.close()
            return FileFormatError(message, path=where, key=key)

        with open_regular(path, limit=2**62):   # a FIFO or device must not block h5py
            pass
        try:
            self._h5 = h5py.File(path, "r")
        except (OSError, ValueError) as exc:
            raise FileFormatError(f"cannot open HDF5 map: {exc}", path=where) from None
        h5 = self._h5
        for name in ("intensity", DIM):
            link = h5.get(name, getlink=True)
            if link is None:
                raise fail(f"not an xpsfit map: needs datasets 'intensity' and {DIM!r}")
            if not isinstance(link, h5py.HardLink):   # never follow a link out of the file
                raise fail(f"{name!r} is a link ({type(link).__name__}); only datasets stored in "
                           "the file are read", key=name)
            if not isinstance(h5[name], h5py.Dataset):
                raise fail(f"{name!r} must be a dataset, not a {type(h5[name]).__name__}",
                           key=name)
        ds, energy = h5["intensity"], h5[DIM]
        if ds.dtype.kind not in "iuf":
            raise fail(f"'intensity' must hold numbers, not {ds.dtype}", key="intensity")
        raw_dims = ds.attrs.get("dims")
        try:
            dims = [d.decode() if isinstance(d, bytes) else str(d)
                    for d in np.atleast_1d(np.asarray(raw_dims)).tolist()] \
                if raw_dims is not None and np.asarray(raw_dims).dtype.kind in "OSU" else None
        except (UnicodeDecodeError, TypeError, ValueError):
            dims = None
        if not dims or len(dims) != ds.ndim or dims[-1] != DIM or len(set(dims)) != len(dims):
            raise fail(f"'intensity' needs a 'dims' attribute naming its {ds.ndim} "
                       f"dimensions (text, each once) with {DIM!r} last", key="intensity")
        if energy.ndim != 1 or energy.shape[0] != ds.shape[-1] or energy.dtype.kind not in "iuf":
            raise fail(f"{DIM!r} must be 1-D numbers, one per energy of 'intensity' "
                       f"({ds.shape[-1]}), not {energy.dtype} of shape {energy.shape}", key=DIM)
        spectra = int(np.prod(ds.shape[:-1], dtype=float))
        if ds.shape[-1] > MAX_POINTS or spectra > MAX_MAP_SPECTRA:
            raise fail(f"'intensity' of shape {ds.shape} is over the limits ({MAX_MAP_SPECTRA} "
                       f"spectra of at most {MAX_POINTS} points)", key="intensity")
        be = np.asarray(energy[()], dtype=float)
        steps = np.diff(be)
        if not np.all(np.isfinite(be)) or not (np.all(steps > 0) or np.all(steps < 0)):
            raise fail(f"{DIM!r} must be finite and strictly monotonic", key=DIM)
        self._flip = be.size > 1 and be[0] > be[-1]
        self.x = be[::-1] if self._flip else be
        self.lead = tuple(dims[:-1])
        self.shape = tuple(ds.shape[:-1])
        self.coords = {}
        for d, n in zip(self.lead, self.shape):
            if d not in h5:
                continue
            if not isinstance(h5.get(d, getlink=True), h5py.HardLink) or \
                    not isinstance(h5[d], h5py.Dataset) or h5[d].shape != (n,):
                raise fail(f"coordinate {d!r} must be a 1-D dataset of {n} values", key=d)
            self.coords[d] = np.asarray(h5[d][()])
        self.attrs = {}
        for k, v in ds.attrs.items():
            if k == "dims":
                continue
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            if isinstance(v, np.ndarray) and v.ndim == 0:
                v = v.item()
            if isinstance(v, (str, int, float, bool, np.number, np.bool_)):
                self.attrs[k] = v
            elif k in ATTRS:   # one value belongs here: an array would reach the fit
                raise fail(f"attribute {k!r} of 'intensity' must be one value, not "
                           f"{type(v).__name__}", key=k)
        self.attrs.setdefault("source_file", where)
        self._arr = ds

    @property
    def flip(self) -> bool:
        return self._flip

    def rows(self, r0: int, r1: int) -> np.ndarray:
        try:
            block = np.asarray(self._arr[r0:r1], dtype=float)
        except (OSError, ValueError, TypeError) as exc:   # a corrupt chunk, a broken filter
            raise FileFormatError(f"cannot read rows {r0}..{r1 - 1} of 'intensity': "
                                  f"{str(exc).splitlines()[0][:200]}", path=self.where or None,
                                  key="intensity") from None
        return block[..., ::-1] if self._flip else block

    def close(self):
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None


def fit_map_to_hdf5(source, recipe, out, *, chunk: int | None = None, client=None,
                    scheduler: str | None = None, jobs: int | None = None,
                    progress: Progress | None = None) -> dict:
    """Fit a map chunk by chunk into the HDF5 file ``out``; a killed run resumes.

    ``source``: an HDF5 map (layout in the module docstring) or an in-memory DataArray. Blocks of
    whole rows of the first map dimension, about ``chunk`` spectra each (default
    :func:`_default_chunk`), are fitted on local processes (``jobs``, default CPU count) or a
    ``dask.distributed`` ``client`` / scheduler address. For an HDF5 source only (path, row
    range) travels to a worker, which opens the file read-only and reads its own rows (the file
    must be reachable by that path on the workers).
    At most 2 × workers blocks are in flight, so memory is bounded by the chunk size, not the map
    size. The parent alone writes: every finished block goes atomically into the
    :class:`~xpsfit.fitting.chunkstore.ChunkStore` beside ``out``; rerunning the same call after a
    kill or a cancel fits only the missing blocks. ``out`` appears only when complete.
    Returns a summary dict (pixels, failed, seconds, out, chunks, resumed).
    """
    import time

    from ..atomic import check_target
    from .chunkstore import ChunkStore
    recipe = _recipe(recipe)
    check_target(out, what="map result")   # before the fit, not after it
    src = _MapSource(source)
    t0 = time.perf_counter()
    try:
        attrs = _check_region(src.attrs, recipe, src.where)
        if not src.lead:
            raise FitError("fit_map_to_hdf5 needs a map (at least one dimension besides "
                           f"{DIM!r}); use xpsfit.fit for one spectrum", path=src.where or None)
        per_row = int(np.prod(src.shape[1:])) if len(src.shape) > 1 else 1
        chunk = _default_chunk(int(np.prod(src.shape))) if chunk is None else int(chunk)
        rows_per = max(1, chunk // max(per_row, 1))
        blocks = [(r, min(r + rows_per, src.shape[0])) for r in range(0, src.shape[0], rows_per)]
        store = ChunkStore(out, _identity(src, recipe, rows_per))
        done = store.done(len(blocks))
        resumed = len(done)
        if src.path is not None:
            src.close()                  # the workers open the file themselves
        _tick(progress, len(done), len(blocks), "fitting map")
        if len(done) < len(blocks):
            _fit_blocks(src, recipe, attrs, blocks, done, store,
                        _Runner(client, scheduler, jobs), progress)
        failed = _assemble(src, recipe, attrs, blocks, store, out)
        store.remove()
    finally:
        src.close()
    return {"pixels": int(np.prod(src.shape)), "failed": failed,
            "seconds": time.perf_counter() - t0, "out": str(out), "chunks": len(blocks),
            "resumed": resumed}


def _default_chunk(n_pix: int) -> int:
    """About 64 chunks (load balance on any small cluster), each 256–2048 spectra (the engine's
    batch efficiency). It does not depend on the worker count, so a run can resume on another
    number of workers (the chunking is part of what a resume must match)."""
    return int(min(2048, max(256, math.ceil(n_pix / 64))))


def _identity(src: "_MapSource", recipe: Recipe, rows_per: int) -> dict:
    """What must match for finished chunks to be reused: same data, recipe and blocking."""
    import hashlib
    from ..recipe.spec import recipe_to_toml
    try:
        text = recipe_to_toml(recipe)
    except XpsfitError:
        text = repr(recipe)
    if src.path is not None:
        st = os.stat(src.path)
        data = f"{Path(src.path).resolve()} {st.st_size} {st.st_mtime_ns}"
    else:
        digest = hashlib.sha256()
        for a in range(0, src.shape[0], rows_per):      # block by block: a dask array stays lazy
            digest.update(np.ascontiguousarray(src.rows(a, min(a + rows_per, src.shape[0]))))
        data = "in memory " + digest.hexdigest()
    return {"data": data, "shape": list(src.shape), "energies": int(src.x.size),
            "rows_per_chunk": int(rows_per), "columns": BatchResult.n_columns(
                len(recipe.components)), "recipe": hashlib.sha256(text.encode()).hexdigest()}


def _fit_blocks(src, recipe, attrs, blocks, done, store, runner, progress) -> None:
    """Fit the blocks not in ``done``, saving each as it finishes (bounded in-flight window)."""
    pending: deque = deque()
    n_done = len(done)

    def collect():
        nonlocal n_done
        index, fut = pending.popleft()
        store.save(index, runner.result(fut))
        n_done += 1
        _tick(progress, n_done, len(blocks), f"{n_done}/{len(blocks)} chunks")

    try:
        for index, (a, b) in enumerate(blocks):
            if index in done:
                continue
            rows = (_StoredRows(src.path, a, b, src.flip) if src.path is not None
                    else src.rows(a, b))
            pending.append((index, runner.submit(rows, recipe, src.x, attrs)))
            if len(pending) >= runner.window:
                collect()
        while pending:
            collect()
    finally:
        runner.close()


def _assemble(src, recipe, attrs, blocks, store, out) -> int:
    """Write ``out`` from the finished chunks, one chunk in memory at a time; failed pixels."""
    from .. import __version__
    from ..atomic import atomic_h5
    species = _species(recipe)
    failed = 0
    with atomic_h5(out, what="map result") as h5:
        dsets = _create_outputs(h5, src, species, recipe, attrs, __version__,
                                rows=blocks[0][1] - blocks[0][0])
        for index, (a, b) in enumerate(blocks):
            packed = store.load(index)
            cols = unpack_columns(packed.reshape((b - a,) + src.shape[1:] + (-1,)),
                                  len(species))
            for k, ds in dsets.items():
                ds[a:b] = cols[k] > 0.5 if k == "success" else cols[k]
            failed += int(np.sum(cols["success"] <= 0.5))
    return failed


def _create_outputs(h5, src: _MapSource, species, recipe, attrs, version, rows: int) -> dict:
    """The result datasets, HDF5-chunked like the fitted blocks (``rows`` rows each): a block
    then fills whole chunks, where a larger chunk would be read back, patched and rewritten
    at every block, and held in memory (the parent's memory grew with the map size)."""
    from ..recipe.spec import recipe_to_toml
    dsets = {}
    shape = src.shape
    rows = max(1, min(shape[0], rows))
    for k in PER_SPECIES:
        d = h5.create_dataset(k, shape=shape + (len(species),), dtype="f8",
                              chunks=(rows,) + shape[1:] + (len(species),), fillvalue=np.nan)
        d.attrs["dims"] = [*src.lead, "species"]
        dsets[k] = d
    for k in SCALARS:
        integer = k in ("nfev", "status", "verdict")
        dtype = "bool" if k == "success" else ("i8" if integer else "f8")
        d = h5.create_dataset(k, shape=shape, dtype=dtype, chunks=(rows,) + shape[1:])
        d.attrs["dims"] = list(src.lead)
        dsets[k] = d
    h5.create_dataset("species", data=np.array(species, dtype=h5py_str()))
    for d, v in src.coords.items():
        h5.create_dataset(d, data=v)
    try:
        h5.attrs["recipe_toml"] = recipe_to_toml(recipe)
    except XpsfitError:
        h5.attrs["recipe_toml"] = ""
    h5.attrs["region"] = attrs["region"]
    h5.attrs["xpsfit_version"] = version
    # absolute, so the map can be found again from any working folder (GUI pixel view)
    h5.attrs["source"] = str(Path(src.path).resolve()) if src.path else src.where
    return dsets


def h5py_str():
    import h5py
    return h5py.string_dtype("utf-8")


def load_map_result(path) -> xr.Dataset:
    """Read a result file of :func:`fit_map_to_hdf5` into the Dataset :func:`fit_map` returns."""
    import h5py
    try:
        with h5py.File(path, "r") as h5:
            species = [s.decode() if isinstance(s, bytes) else str(s) for s in h5["species"][()]]
            vars_ = {}
            for k in (*PER_SPECIES, *SCALARS):
                ds = h5[k]
                dims = [d.decode() if isinstance(d, bytes) else str(d) for d in ds.attrs["dims"]]
                vars_[k] = (dims, ds[()])
            lead = vars_["success"][0]
            coords = {d: h5[d][()] for d in lead if d in h5}
            attrs = {"region": str(h5.attrs.get("region", "")),
                     "recipe_toml": str(h5.attrs.get("recipe_toml", "")),
                     "source": str(h5.attrs.get("source", ""))}
    except (OSError, KeyError) as exc:
        raise FileFormatError(f"not an xpsfit map result: {exc}", path=str(path)) from None
    return xr.Dataset(vars_, coords={**coords, "species": species}, attrs=attrs)


def read_map_pixel(source, index: tuple[int, ...]) -> xr.DataArray:
    """One pixel's spectrum (ascending energy, the map's attrs) of an HDF5 map, read alone."""
    src = _MapSource(source)
    try:
        if len(index) != len(src.shape) or not all(0 <= int(i) < n
                                                    for i, n in zip(index, src.shape)):
            raise FitError(f"pixel {tuple(index)} is outside the map {src.shape}",
                           path=src.where or None)
        row = src.rows(int(index[0]), int(index[0]) + 1)[0][tuple(int(i) for i in index[1:])]
        from .pixels import template_spectrum
        return template_spectrum(src.x, row, src.attrs)
    finally:
        src.close()


class _StoredRows:
    """Rows ``a:b`` of the ``intensity`` of an HDF5 map: what travels to a worker instead of
    the counts (a few bytes, not chunk × energies floats)."""

    def __init__(self, path: str, a: int, b: int, flip: bool):
        self.path, self.a, self.b, self.flip = path, a, b, flip

    def read(self) -> np.ndarray:
        import h5py
        try:
            with h5py.File(self.path, "r") as h5:
                block = np.asarray(h5["intensity"][self.a:self.b], dtype=float)
        except (OSError, KeyError) as exc:
            raise FileFormatError(f"worker cannot read rows {self.a}:{self.b}: {exc}",
                                  path=self.path, key="intensity") from None
        return block[..., ::-1] if self.flip else block


def _fit_chunk(rows, recipe: Recipe, x: np.ndarray, attrs: dict) -> np.ndarray:
    """The task a worker runs: read its rows (when given where they are stored), fit them."""
    if isinstance(rows, _StoredRows):
        rows = rows.read()
    return _fit_rows(rows, recipe, x, attrs)


class _Runner:
    """Submit blocks to local processes, a distributed cluster, or run them in-process."""

    def __init__(self, client, scheduler, jobs):
        self.client = client
        self._own = False
        self.pool = None
        if client is None and scheduler and ":" in str(scheduler):
            from distributed import Client
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise FitError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
            self._own = True
        if self.client is not None:
            n = len(self.client.scheduler_info().get("workers", {})) or 1
            self.window = 2 * n
            return
        jobs = int(jobs or os.cpu_count() or 1)
        self.window = 2 * jobs if jobs > 1 else 1
        if jobs > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            self.pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))

    def submit(self, rows, recipe, x, attrs):
        if self.client is not None:
            return self.client.submit(_fit_chunk, rows, recipe, x, attrs, pure=False)
        if self.pool is not None:
            return self.pool.submit(_fit_chunk, rows, recipe, x, attrs)
        return _fit_chunk(rows, recipe, x, attrs)

    @staticmethod
    def result(fut):
        return fut if isinstance(fut, np.ndarray) else fut.result()

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        if self._own and self.client is not None:
            self.client.close()


__all__ = ["fit_map", "fit_map_to_hdf5", "load_map_result", "energy_last", "read_map_pixel"]
