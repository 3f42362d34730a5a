"""Self-describing HDF5 files of fit results, NeXus in spirit, with an exact round trip.

``save(result_or_results, path)`` writes one NXentry per FitResult or SeriesResult;
``load_result(path)`` / ``load_results(path)`` rebuild objects equal to the saved ones field by
field. The layout is documented in ``docs/hdf5_layout.md``; the short version:

* every group carries ``NX_class``; xpsfit's own reading keys off ``xpsfit_type`` attributes, so
  the file stays readable in plain h5py, silx view or HDFView without xpsfit;
* xarray objects (spectrum, curves) are stored variable by variable with their dims, dtype and
  attrs, so they come back ``identical``;
* dataclass lists (parameters, components, presence tests, onsets) are column tables, one dataset
  per field, with a ``python_type`` attribute and an ``is_none`` mask where a field may be None;
* the recipe is TOML text (``recipe_to_toml``) rebuilt with ``recipe_from_dict``; identical texts
  are stored once and hard-linked, so a batch of 200 fits with one recipe holds one copy.

Nothing is pickled; files are written atomically (:func:`xpsfit.atomic.atomic_path`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import sys
import tomllib
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from ..atomic import atomic_path
from ..errors import ExportError, XpsfitError
from ..results import ComponentResult, FitResult, FitStatistics, Onset, ParameterRecord, PresenceTest, SeriesResult

__all__ = ["save", "load_result", "load_results", "ResultsWriter", "entries_image", "FORMAT",
           "FORMAT_VERSION"]

FORMAT = "xpsfit-results"
FORMAT_VERSION = 1
#: datasets with more values than this are gzip-compressed (small ones would only grow)
COMPRESS_ABOVE = 256

_STR = h5py.string_dtype("utf-8")
_JSON_KEYS = "__json_keys__"
_XATTR = "xarray_attr:"

Result = FitResult | SeriesResult


# --------------------------------------------------------------------------------------- public

def save(result: Result | Sequence[Result], path: str | os.PathLike, *,
         overwrite: bool = True) -> Path:
    """Write one result or a list of results to ``path`` (HDF5), atomically.

    Each result becomes one NXentry (``entry`` for a single result, ``entry0000``… for a list,
    in list order). Raises :class:`ExportError` naming the file when it cannot be written.
    """
    single = isinstance(result, (FitResult, SeriesResult))
    results = [result] if single else list(result)
    for r in results:
        _check_type(r, path)
    with ResultsWriter(path, overwrite=overwrite, single=single) as writer:
        for r in results:
            writer.add(r)
    return Path(path)


def _check_type(result, path) -> None:
    if not isinstance(result, (FitResult, SeriesResult)):
        raise ExportError(f"cannot save an object of type {type(result).__name__} "
                          "(expected FitResult or SeriesResult)", path=path)


class ResultsWriter:
    """Write results one at a time into a new file that replaces ``path`` only on
    :meth:`close` (atomically); :meth:`abort` discards it and leaves any old file alone.

    Used as a context manager it closes on success and aborts on an exception. A batch adds
    each result as soon as it is ready, so writing overlaps with fitting and an interrupted
    batch can still close the file with what is done.
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = True,
                 single: bool = False):
        self.path = Path(path)
        self.single = single
        self.count = 0
        if self.path.exists() and not overwrite:
            raise ExportError("file exists (pass overwrite=True to replace it)", path=self.path)
        if not self.path.parent.is_dir():
            raise ExportError(f"folder {self.path.parent} does not exist", path=self.path)
        self._stack = contextlib.ExitStack()
        self._writer = _Writer()
        with self._errors():
            tmp = self._stack.enter_context(atomic_path(self.path))
            # v110 object formats: compact groups (a third of the size of 1.8-style ones) and
            # still readable by every HDF5 >= 1.10 tool
            self._file = self._stack.enter_context(h5py.File(tmp, "w",
                                                             libver=("v110", "latest")))
            self._writer.write_root(self._file)

    @contextlib.contextmanager
    def _errors(self):
        try:
            yield
        except ExportError as exc:
            self.abort()
            if exc.path:
                raise
            raise ExportError(exc.message, path=self.path) from exc
        except XpsfitError as exc:
            self.abort()
            raise ExportError(exc.message, path=self.path) from exc
        except (OSError, ValueError, TypeError, KeyError) as exc:
            self.abort()
            raise ExportError(f"could not write results: {_first_line(exc)}",
                              path=self.path) from exc

    def add(self, result: Result) -> None:
        """Write ``result`` as the next entry."""
        self._add(result, lambda name: self._writer.write_entry(self._file, name, self.count,
                                                                 result))

    def add_from_image(self, image: bytes, index: int, result: Result) -> None:
        """Add entry ``index`` of an :func:`entries_image` built (in a worker process) from a
        list in which ``result`` is at ``index``: a C-level copy, ~10x cheaper than writing."""
        def copy(name: str) -> None:
            src = h5py.File(h5py.h5f.open_file_image(image))
            try:
                src.copy(src[f"entry{index:04d}"], self._file, name=name)
            finally:
                src.close()
            g = self._file[name]
            g.attrs["xpsfit_index"] = np.int64(self.count)
            if self.count == 0:
                self._file.attrs["default"] = name
            self._writer.attach_process(g, result)
        self._add(result, copy)

    def _add(self, result: Result, write) -> None:
        _check_type(result, self.path)
        if self.single and self.count:
            raise ExportError("a single-result file holds one result", path=self.path)
        name = "entry" if self.single else f"entry{self.count:04d}"
        try:
            with self._errors():
                write(name)
        except KeyboardInterrupt:
            # interrupted half-way through an entry: remove it so that close() still gives a
            # complete file; the caller may add the same result again
            with contextlib.suppress(Exception):
                del self._file[name]
            raise
        self.count += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        with self._errors():
            self._stack.close()
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the previous file at ``path`` (if any) stays."""
        err = RuntimeError("aborted")
        self._stack.__exit__(type(err), err, None)

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def entries_image(results: Sequence[Result]) -> bytes:
    """``results`` as the bytes of an in-memory HDF5 file (entries ``entry0000``…, without
    process groups) for :meth:`ResultsWriter.add_from_image`. Lets batch workers do the
    expensive part of writing in parallel; the parent only copies."""
    for r in results:
        _check_type(r, "<memory>")
    writer = _Writer(with_process=False)
    f = h5py.File(f"xpsfit-image-{os.getpid()}-{id(results)}", "w", driver="core",
                  backing_store=False, libver=("v110", "latest"))
    try:
        for i, r in enumerate(results):
            writer.write_entry(f, f"entry{i:04d}", i, r)
        f.flush()
        return f.id.get_file_image()
    finally:
        f.close()


def load_results(path: str | os.PathLike) -> list[Result]:
    """Every result in an xpsfit HDF5 file, in the order they were saved."""
    source = Path(path)
    if not source.is_file():
        raise ExportError("no such file", path=source)
    try:
        f = h5py.File(source, "r")
    except OSError as exc:
        raise ExportError(f"not a readable HDF5 file ({_first_line(exc)})", path=source) from exc
    with f:
        if f.attrs.get("xpsfit_format") != FORMAT:
            raise ExportError("not an xpsfit results file (no xpsfit_format attribute)",
                              path=source)
        version = int(f.attrs.get("xpsfit_format_version", 0))
        if version > FORMAT_VERSION:
            raise ExportError(f"results file format {version} is newer than this xpsfit "
                              f"understands ({FORMAT_VERSION}); update xpsfit", path=source)
        reader = _Reader()
        try:
            return [reader.read_entry(f[name]) for name in _entry_names(f)]
        except XpsfitError as exc:
            raise ExportError(f"cannot rebuild the saved results: {exc.one_line()}",
                              path=source) from exc
        except (KeyError, ValueError, TypeError, IndexError, AttributeError, OSError,
                RuntimeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ExportError(f"broken xpsfit results file ({type(exc).__name__}: "
                              f"{_first_line(exc)})", path=source) from exc


def load_result(path: str | os.PathLike) -> Result:
    """The single result in ``path``; use :func:`load_results` for batch files."""
    results = load_results(path)
    if len(results) != 1:
        raise ExportError(f"file holds {len(results)} results; use load_results()", path=path)
    return results[0]


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, or "" when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return ""
    return h.hexdigest()


# -------------------------------------------------------------------------------------- helpers

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _entry_names(f: h5py.File) -> list[str]:
    names = [n for n, g in f.items()
             if isinstance(g, h5py.Group) and g.attrs.get("NX_class") == "NXentry"]
    return sorted(names, key=lambda n: int(f[n].attrs.get("xpsfit_index", 0)))


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("xpsfit", "lmfit", "numpy", "scipy", "xarray", "h5py"):
        try:
            out[f"{dist}_version"] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[f"{dist}_version"] = ""
    out["hdf5_version"] = h5py.version.hdf5_version
    out["python_version"] = sys.version.split()[0]
    return out


def _create(group: h5py.Group, name: str, data, **kw) -> h5py.Dataset:
    """Dataset with gzip for anything bigger than a few hundred values."""
    arr = np.asarray(data)
    if arr.dtype.kind in "OU":
        arr = np.asarray(arr, dtype=object)
        kw.setdefault("dtype", _STR)
    if arr.ndim and arr.size > COMPRESS_ABOVE:
        kw.update(compression="gzip", compression_opts=4, chunks=True)
        if arr.dtype.kind in "fiu":
            kw["shuffle"] = True
    return group.create_dataset(name, data=arr, **kw)


def _strings(group: h5py.Group, name: str, values: Sequence[str]) -> h5py.Dataset:
    return _create(group, name, np.array([str(v) for v in values], dtype=object).reshape(-1))


def _read_strings(dset: h5py.Dataset) -> list[str]:
    return [str(s) for s in dset.asstr()[()]]


_GCPL = None


def _group(parent: h5py.Group, name: str, nx_class: str, **attrs) -> h5py.Group:
    # Attributes stay in the object header ("compact") up to 64 of them: HDF5's default moves
    # a 9th attribute into a dense heap + B-tree costing ~4 kB per group, which for a batch of
    # hundreds of fits would be most of the file.
    global _GCPL
    if _GCPL is None:
        _GCPL = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        _GCPL.set_attr_phase_change(64, 48)
    g = h5py.Group(h5py.h5g.create(parent.id, name.encode("utf-8"), gcpl=_GCPL))
    g.attrs["NX_class"] = nx_class
    for k, v in attrs.items():
        g.attrs[k] = v
    return g


# ----------------------------------------------------------------------- attribute (de)coding

def _write_attrs(obj, mapping: dict, prefix: str = "") -> None:
    """Store a dict of str/int/float/bool values as HDF5 attributes, types preserved.

    Anything else (None, lists, dicts) is stored as JSON text and listed in ``__json_keys__``.
    """
    json_keys = []
    for key, value in mapping.items():
        name = prefix + str(key)
        if isinstance(value, (bool, np.bool_)):
            obj.attrs[name] = np.bool_(value)
        elif isinstance(value, (int, np.integer)):
            obj.attrs[name] = np.int64(value)
        elif isinstance(value, (float, np.floating)):
            obj.attrs[name] = np.float64(value)
        elif isinstance(value, str):
            obj.attrs[name] = value
        else:
            try:
                obj.attrs[name] = json.dumps(_jsonable(value))
            except TypeError as exc:
                raise ExportError(f"attribute {key!r} of type {type(value).__name__} "
                                  "cannot be stored") from exc
            json_keys.append(str(key))
    if json_keys:
        obj.attrs[prefix + _JSON_KEYS] = json.dumps(json_keys)


def _read_attrs(obj, prefix: str = "") -> dict:
    json_keys = set(json.loads(obj.attrs.get(prefix + _JSON_KEYS, "[]")))
    out = {}
    for name, value in obj.attrs.items():
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):]
        if key == _JSON_KEYS:
            continue
        out[key] = json.loads(value) if key in json_keys else _plain(value)
    return out


def _plain(value):
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.generic,)):
        return value.item()
    return value


# ------------------------------------------------------------- dataclass records and tables

def _column_kind(values: list) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "none"
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
           for v in present):
        return "int"
    if all(isinstance(v, (int, float, np.integer, np.floating))
           and not isinstance(v, (bool, np.bool_)) for v in present):
        return "float"
    if all(isinstance(v, str) for v in present):
        return "str"
    return "json"


_FILL = {"bool": False, "int": 0, "float": math.nan, "str": "", "none": "", "json": "null"}


_H5_TYPE = {"bool": np.bool_, "int": np.int64, "float": np.float64}


def _encode_column(values: list) -> tuple[str, np.ndarray, np.ndarray | None]:
    """(python_type, column array, None-mask or None) for one field of a table."""
    kind = _column_kind(values)
    filled = [(_FILL[kind] if v is None else v) for v in values]
    if kind == "json":
        filled = [json.dumps(_jsonable(v)) for v in filled]
    if kind in ("str", "json", "none"):
        column = np.array([str(v) for v in filled], dtype=object)
    else:
        column = np.asarray(filled, dtype=_H5_TYPE[kind])
    mask = np.asarray([v is None for v in values], dtype=np.bool_)
    return kind, column, (mask if mask.any() else None)


def _decode_column(kind: str, column: np.ndarray, mask) -> list:
    if kind in ("str", "json", "none"):
        raw = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in column]
    else:
        raw = column.tolist()
    if kind == "json":
        values = [json.loads(v) for v in raw]
    elif kind in ("bool", "int", "float"):
        values = [{"bool": bool, "int": int, "float": float}[kind](v) for v in raw]
    else:
        values = raw
    if mask is not None:
        values = [None if m else v for v, m in zip(values, mask)]
    return values


def _write_columns(parent: h5py.Group, name: str, columns: dict[str, list], n_rows: int,
                   xpsfit_type: str) -> h5py.Dataset:
    """Named columns as ONE compound dataset (viewers show it as a table).

    One dataset rather than one per column (or one attribute per value) keeps both the file
    and the writing time per fit small; a column holding None gets a boolean companion
    ``<name>__is_none``; ``python_types`` says how to rebuild each column's Python values.
    """
    kinds, arrays = {}, {}
    for key, values in columns.items():
        kind, column, mask = _encode_column(values)
        kinds[key] = kind
        arrays[key] = column
        if mask is not None:
            arrays[f"{key}__is_none"] = mask
    if arrays:
        dtype = np.dtype([(k, _STR if c.dtype == object else c.dtype)
                          for k, c in arrays.items()])
        table = np.empty(n_rows, dtype=dtype)
        for k, c in arrays.items():
            table[k] = c
        dset = _create(parent, name, table)
    else:   # HDF5 has no compound type without members
        dset = _strings(parent, name, [])
    dset.attrs["xpsfit_type"] = xpsfit_type
    dset.attrs["python_types"] = json.dumps(kinds)
    return dset


def _read_columns(dset: h5py.Dataset) -> tuple[dict[str, list], int]:
    kinds = json.loads(dset.attrs["python_types"])
    table = dset[()]
    names = table.dtype.names or ()
    columns = {}
    for key, kind in kinds.items():
        mask_name = f"{key}__is_none"
        mask = table[mask_name] if mask_name in names else None
        columns[key] = _decode_column(kind, table[key], mask)
    return columns, len(table)


def _write_table(parent: h5py.Group, name: str, rows: Sequence, cls,
                 xpsfit_type: str = "table") -> h5py.Dataset:
    """A list of dataclass instances: one row each, one column per field."""
    columns = {f.name: [getattr(r, f.name) for r in rows] for f in dataclasses.fields(cls)}
    return _write_columns(parent, name, columns, len(rows), f"{xpsfit_type}:{cls.__name__}")


def _read_table(dset: h5py.Dataset, cls) -> list:
    columns, n = _read_columns(dset)
    return [cls(**{k: v[i] for k, v in columns.items()}) for i in range(n)]


def _write_record(parent: h5py.Group, name: str, obj) -> h5py.Dataset:
    """One dataclass instance as a one-row table."""
    return _write_table(parent, name, [obj], type(obj), xpsfit_type="record")


def _read_record(dset: h5py.Dataset, cls):
    return _read_table(dset, cls)[0]


def _write_mapping(parent: h5py.Group, name: str, mapping: dict) -> h5py.Dataset:
    """A dict (e.g. a Spectrum's attrs) as a one-row table: one column per key, types kept."""
    return _write_columns(parent, name, {str(k): [v] for k, v in mapping.items()}, 1,
                          "mapping")


def _read_mapping(dset: h5py.Dataset) -> dict:
    columns, _ = _read_columns(dset)
    return {k: v[0] for k, v in columns.items()}


# ------------------------------------------------------------------------------- xarray objects

def _write_variable(group: h5py.Group, name: str, var: xr.Variable) -> h5py.Dataset:
    data = np.asarray(var.values)
    if data.dtype.kind in "OUS":
        flat = np.array([str(x) for x in data.ravel()], dtype=object).reshape(data.shape)
        dset = _create(group, name, flat)
    elif data.dtype.kind in "fiubc":
        dset = _create(group, name, data)
    else:
        raise ExportError(f"variable {name!r} has dtype {data.dtype} which is not stored")
    dset.attrs["xarray"] = json.dumps({"dims": list(var.dims), "dtype": data.dtype.str})
    _write_attrs(dset, dict(var.attrs), prefix=_XATTR)
    return dset


def _read_variable(dset: h5py.Dataset) -> xr.Variable:
    info = json.loads(dset.attrs["xarray"])
    dims, dtype = info["dims"], np.dtype(info["dtype"])
    if dtype.kind in "OUS":
        raw = dset.asstr()[()]
        data = np.array(raw, dtype=object).astype(dtype)
    else:
        data = dset[()]
    return xr.Variable(dims, data, attrs=_read_attrs(dset, prefix=_XATTR))


def _energy_units(dset: h5py.Dataset) -> None:
    """NeXus-style units/long_name so generic viewers label the axis (not part of the xarray)."""
    dset.attrs["units"] = "eV"
    dset.attrs["long_name"] = "Binding energy (eV)"


def _write_dataarray(parent: h5py.Group, name: str, da: xr.DataArray) -> h5py.Group:
    values_name = da.name if isinstance(da.name, str) and da.name else "values"
    if values_name in da.coords:
        raise ExportError(f"data array name {values_name!r} collides with a coordinate")
    g = _group(parent, name, "NXdata", xpsfit_type="xarray.DataArray",
               signal=values_name, axes=list(da.dims),
               xarray_name=json.dumps(da.name if da.name is None else str(da.name)),
               xarray_values=values_name, xarray_coords=json.dumps(list(da.coords)))
    # the array's attrs go to ``metadata`` (plain names), not onto the values dataset as well
    _write_variable(g, values_name, xr.Variable(da.dims, da.variable.values))
    for cname, coord in da.coords.items():
        dset = _write_variable(g, str(cname), coord.variable)
        if cname == "binding_energy":
            _energy_units(dset)
    _write_mapping(g, "metadata", dict(da.attrs))
    return g


def _read_dataarray(g: h5py.Group) -> xr.DataArray:
    values = _read_variable(g[g.attrs["xarray_values"]])
    coords = {c: _read_variable(g[c]) for c in json.loads(g.attrs["xarray_coords"])}
    return xr.DataArray(values, coords=coords, name=json.loads(g.attrs["xarray_name"]),
                        attrs=_read_mapping(g["metadata"]))


def _write_dataset(parent: h5py.Group, name: str, ds: xr.Dataset) -> h5py.Group:
    data_vars = [str(k) for k in ds.data_vars]
    signal = "data" if "data" in ds.data_vars else (data_vars[0] if data_vars else "")
    g = _group(parent, name, "NXdata", xpsfit_type="xarray.Dataset",
               xarray_data_vars=json.dumps(data_vars),
               xarray_coords=json.dumps([str(c) for c in ds.coords]))
    if signal:
        g.attrs["signal"] = signal
        g.attrs["axes"] = list(ds[signal].dims)
        aux = [v for v in ("envelope", "background", "residual") if v in ds.data_vars]
        if aux:
            g.attrs["auxiliary_signals"] = aux
    _write_attrs(g, dict(ds.attrs), prefix=_XATTR)
    for vname in data_vars:
        _write_variable(g, vname, ds[vname].variable)
    for cname, coord in ds.coords.items():
        dset = _write_variable(g, str(cname), coord.variable)
        if cname == "binding_energy":
            _energy_units(dset)
    return g


def _read_dataset(g: h5py.Group) -> xr.Dataset:
    data_vars = {v: _read_variable(g[v]) for v in json.loads(g.attrs["xarray_data_vars"])}
    coords = {c: _read_variable(g[c]) for c in json.loads(g.attrs["xarray_coords"])}
    return xr.Dataset(data_vars, coords=coords, attrs=_read_attrs(g, prefix=_XATTR))


# ------------------------------------------------------------------------------ recipe as TOML

def _recipe_toml(recipe) -> str:
    from ..recipe.spec import recipe_to_toml
    try:
        return recipe_to_toml(recipe)
    except XpsfitError:
        raise
    except Exception as exc:  # the recipe module's own bug must not escape as a traceback
        raise ExportError(f"recipe could not be written as TOML ({type(exc).__name__}: "
                          f"{_first_line(exc)})") from exc


def _library_entries_toml(recipe) -> str:
    """TOML of the library region and the species the recipe uses (enough to re-run the fit
    if the library file is gone). Empty when the region cannot be found."""
    import tomli_w
    try:
        region = recipe.library.region(recipe.region)
    except Exception:  # a missing region must not block saving a result already computed
        return ""
    used = {c.species for c in recipe.components}
    region_dict = _toml_clean(dataclasses.asdict(region))
    region_dict["species"] = {k: v for k, v in region_dict.get("species", {}).items()
                              if k in used or not used}
    lib = recipe.library
    doc = {"name": lib.name, "description": lib.description, "source": lib.source,
           "regions": {region.name: region_dict}}
    return tomli_w.dumps(_toml_clean(doc))


def _toml_clean(value):
    """TOML has no null: drop None; tuples become arrays."""
    if isinstance(value, dict):
        return {str(k): _toml_clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_toml_clean(v) for v in value if v is not None]
    return value


# ----------------------------------------------------------------------------------- writing

class _Writer:
    """Writes entries; remembers recipe texts and file hashes so each is stored/computed once."""

    def __init__(self, with_process: bool = True) -> None:
        self.with_process = with_process
        self.texts: dict[tuple[str, str], h5py.Dataset] = {}
        self.recipe_cache: list[tuple[Any, tuple[str, str]]] = []
        self.hashes: dict[str, str] = {}
        self.processes: dict[tuple[str, str, str], h5py.Group] = {}
        self.date = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.versions = _versions()

    def attach_process(self, g: h5py.Group, result: Result) -> None:
        """The process groups of an entry written with ``with_process=False``."""
        self.write_process(g, result.recipe)
        if isinstance(result, SeriesResult):
            for i, r in enumerate(result.results):
                self.write_process(g[f"spectrum{i:04d}"], r.recipe)

    def write_root(self, f: h5py.File) -> None:
        f.attrs["NX_class"] = "NXroot"
        f.attrs["creator"] = "xpsfit"
        f.attrs["xpsfit_format"] = FORMAT
        f.attrs["xpsfit_format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["file_time"] = self.date
        f.attrs["HDF5_Version"] = h5py.version.hdf5_version
        f.attrs["h5py_version"] = h5py.version.version

    def write_entry(self, f: h5py.File, name: str, index: int, result: Result) -> None:
        if index == 0:
            f.attrs["default"] = name
        g = _group(f, name, "NXentry", xpsfit_index=np.int64(index))
        if isinstance(result, SeriesResult):
            self.write_series(g, result)
        else:
            self.write_fit(g, result)

    # -- pieces shared by fits and series
    def _recipe_texts(self, recipe) -> tuple[str, str]:
        # Results from worker processes carry equal but distinct Recipe objects: compare by
        # value (a batch has one or a few recipes) rather than re-serialising for every fit.
        for known, texts in self.recipe_cache:
            if known is recipe or known == recipe:
                return texts
        texts = (_recipe_toml(recipe), _library_entries_toml(recipe))
        self.recipe_cache.append((recipe, texts))
        return texts

    def _text(self, g: h5py.Group, name: str, text: str, media_type: str) -> None:
        """Store text once per file; later identical texts become hard links (no bloat)."""
        existing = self.texts.get((name, text))
        if existing is not None:
            g[name] = existing
            return
        dset = g.create_dataset(name, data=text, dtype=_STR)
        dset.attrs["media_type"] = media_type
        self.texts[(name, text)] = dset

    def write_process(self, parent: h5py.Group, recipe) -> None:
        recipe_text, library_text = self._recipe_texts(recipe)
        key = (recipe_text, library_text, str(recipe.source or ""))
        existing = self.processes.get(key)
        if existing is not None:
            # same recipe, software and time: one group hard-linked from every entry, which
            # also spares hundreds of attribute writes in a big batch
            parent["process"] = existing
            return
        p = _group(parent, "process", "NXprocess", program="xpsfit",
                   version=self.versions["xpsfit_version"], date=self.date,
                   recipe_source=key[2], **self.versions)
        self._text(p, "recipe", recipe_text, "application/toml")
        self._text(p, "library_entries", library_text, "application/toml")
        self.processes[key] = p

    def _hash(self, source: str) -> str:
        if source not in self.hashes:
            self.hashes[source] = sha256_of(source) if source and Path(source).is_file() else ""
        return self.hashes[source]

    def _covariance(self, g: h5py.Group, covariance, names: list[str]) -> None:
        _strings(g, "covariance_names", names)
        if covariance is not None:
            _create(g, "covariance", np.asarray(covariance, dtype=np.float64))

    # -- one FitResult
    def write_fit(self, g: h5py.Group, r: FitResult) -> None:
        g.attrs["xpsfit_type"] = "FitResult"
        g.attrs["default"] = "fit"
        g.attrs["label"] = str(r.label)
        g.attrs["monte_carlo"] = np.int64(r.monte_carlo)
        # the calibration travels with the result (method, line, measured, assigned, shift)
        g.attrs["charge_shift"] = np.float64(r.charge_shift)
        g.attrs["charge_reference"] = json.dumps(_jsonable(r.charge_reference or {}))
        g.attrs["title"] = f"{r.recipe.region} fit of {r.spectrum.attrs.get('source_file', '')}"
        if self.with_process:
            self.write_process(g, r.recipe)
        spec = _write_dataarray(g, "spectrum", r.spectrum)
        source = str(r.spectrum.attrs.get("source_file", ""))
        spec.attrs["source_file"] = source
        spec.attrs["source_sha256"] = self._hash(source)

        fit = _group(g, "fit", "NXprocess", xpsfit_class="NXfit", default="data")
        _write_dataset(fit, "data", r.curves)
        fom = fit.create_dataset("figure_of_merit", data=np.float64(r.statistics.redchi))
        fom.attrs["metric"] = "reduced_chi2"
        params = _write_table(fit, "parameters", list(r.parameters.values()), ParameterRecord)
        params.attrs["keys"] = json.dumps(list(r.parameters))
        self._covariance(fit, r.covariance, list(r.covariance_names))
        _write_record(fit, "statistics", r.statistics)
        _write_table(fit, "components", r.components, ComponentResult)
        for i, c in enumerate(r.components):
            # NeXus NXpeak vocabulary as attributes: the components table is the full record
            _group(fit, f"peak{i:02d}", "NXpeak", species=c.species, label=c.label,
                   function=c.lineshape, position=np.float64(c.position),
                   total_area=np.float64(c.area))
        bg = _group(fit, "background", "NXfit_background",
                    type=str(r.recipe.background.type))
        if "background" in r.curves:
            bg["data"] = fit["data"]["background"]   # hard link, not a copy
        _strings(fit, "warnings", r.warnings)
        _strings(fit, "flags", r.flags)

    # -- one SeriesResult
    def write_series(self, g: h5py.Group, s: SeriesResult) -> None:
        g.attrs["xpsfit_type"] = "SeriesResult"
        g.attrs["mode"] = str(s.mode)
        g.attrs["title"] = f"{s.recipe.region} series of {len(s.results)} spectra ({s.mode})"
        if self.with_process:
            self.write_process(g, s.recipe)
        _strings(g, "labels", s.labels)
        sf = _group(g, "series_fit", "NXprocess", xpsfit_class="NXfit")
        params = _write_table(sf, "parameters", list(s.parameters.values()), ParameterRecord)
        params.attrs["keys"] = json.dumps(list(s.parameters))
        self._covariance(sf, s.covariance, list(s.covariance_names))
        if s.statistics is not None:
            _write_record(sf, "statistics", s.statistics)
        _write_table(sf, "presence", s.presence, PresenceTest)
        _write_table(sf, "onsets", s.onsets, Onset)
        _strings(sf, "onset_sentences", [o.sentence for o in s.onsets])
        _strings(sf, "warnings", s.warnings)
        for i, r in enumerate(s.results):
            sub = _group(g, f"spectrum{i:04d}", "NXsubentry", xpsfit_index=np.int64(i))
            self.write_fit(sub, r)
        if s.results:
            g.attrs["default"] = "spectrum0000"


# ----------------------------------------------------------------------------------- reading

class _Reader:
    def __init__(self) -> None:
        self.recipes: dict[tuple[str, str], Any] = {}

    def read_entry(self, g: h5py.Group) -> Result:
        kind = g.attrs.get("xpsfit_type")
        if kind == "FitResult":
            return self.read_fit(g)
        if kind == "SeriesResult":
            return self.read_series(g)
        raise ExportError(f"entry {g.name} has unknown xpsfit_type {kind!r}")

    def read_recipe(self, g: h5py.Group):
        from ..recipe.spec import recipe_from_dict
        process = g["process"]
        text = process["recipe"].asstr()[()]
        source = str(process.attrs.get("recipe_source", ""))
        key = (text, source)
        if key not in self.recipes:   # one Recipe object (and library load) per distinct text
            self.recipes[key] = recipe_from_dict(tomllib.loads(text), source=source)
        return self.recipes[key]

    @staticmethod
    def _parameters(dset: h5py.Dataset) -> dict[str, ParameterRecord]:
        records = _read_table(dset, ParameterRecord)
        keys = json.loads(dset.attrs["keys"])
        return dict(zip(keys, records))

    @staticmethod
    def _covariance(g: h5py.Group):
        cov = g["covariance"][()] if "covariance" in g else None
        return cov, _read_strings(g["covariance_names"])

    def read_fit(self, g: h5py.Group) -> FitResult:
        fit = g["fit"]
        cov, cov_names = self._covariance(fit)
        return FitResult(
            spectrum=_read_dataarray(g["spectrum"]),
            recipe=self.read_recipe(g),
            parameters=self._parameters(fit["parameters"]),
            covariance=cov,
            covariance_names=cov_names,
            components=_read_table(fit["components"], ComponentResult),
            curves=_read_dataset(fit["data"]),
            statistics=_read_record(fit["statistics"], FitStatistics),
            warnings=_read_strings(fit["warnings"]),
            flags=_read_strings(fit["flags"]),
            monte_carlo=int(g.attrs["monte_carlo"]),
            label=str(g.attrs["label"]),
            charge_shift=float(g.attrs.get("charge_shift", 0.0)),
            charge_reference=json.loads(g.attrs.get("charge_reference", "{}")),
        )

    def read_series(self, g: h5py.Group) -> SeriesResult:
        sf = g["series_fit"]
        subs = sorted((n for n in g if n.startswith("spectrum")),
                      key=lambda n: int(g[n].attrs["xpsfit_index"]))
        cov, cov_names = self._covariance(sf)
        return SeriesResult(
            results=[self.read_fit(g[n]) for n in subs],
            labels=_read_strings(g["labels"]),
            recipe=self.read_recipe(g),
            mode=str(g.attrs["mode"]),
            parameters=self._parameters(sf["parameters"]),
            covariance=cov,
            covariance_names=cov_names,
            statistics=(_read_record(sf["statistics"], FitStatistics)
                        if "statistics" in sf else None),
            presence=_read_table(sf["presence"], PresenceTest),
            onsets=_read_table(sf["onsets"], Onset),
            warnings=_read_strings(sf["warnings"]),
        )
