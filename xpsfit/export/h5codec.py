"""One generic HDF5 codec for the result dataclasses: fields are found by
``dataclasses.fields()`` and stored by their type hints, so a new field needs no codec change.

How a field is stored (``docs/hdf5_layout.md`` has the full table):

* bool / int / float / str: an attribute of the record's group (numpy type kept);
* None: the field's name in the group attribute ``xpsfit_none``;
* dict, list of scalars, anything else JSON can hold: JSON text in an attribute (listed in
  ``xpsfit_json``), or in a text dataset when longer than :data:`ATTR_TEXT_MAX`;
* a nested dataclass: a sub-group (``xpsfit_kind = "record"``);
* a list of dataclasses whose fields are all scalars/JSON ("flat"): one compound table
  (``"table"``); a ``dict[str, flat dataclass]``: the same plus the keys (``"keyed_table"``);
  a list of other dataclasses: a group of numbered sub-groups (``"items"``);
* ``list[str]``: a string dataset (``"strings"``); numpy arrays: a dataset (``"array"``);
* xarray objects: variable by variable with dims, dtype and attrs (``"xarray.DataArray"``,
  ``"xarray.Dataset"``); the Recipe: TOML text (``"recipe"``), one copy per file.

Reading goes by the dataclass's type hints, never by names found in the file: the file only
says how a value was stored (a whitelist of kinds), so it cannot make the reader build an
arbitrary class. Every access goes through :class:`~xpsfit.export.h5guard.Guard`.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import types
import typing
from collections.abc import Sequence

import h5py
import numpy as np
import xarray as xr

from ..errors import ExportError
from .h5guard import MAX_DEPTH, MAX_ROWS, Guard

#: datasets with more values than this are gzip-compressed (small ones would only grow)
COMPRESS_ABOVE = 256
#: JSON text longer than this goes to a dataset: HDF5 keeps attributes in the object header,
#: which holds at most 64 kB
ATTR_TEXT_MAX = 16_000

STR = h5py.string_dtype("utf-8")
_JSON_KEYS = "__json_keys__"
XATTR = "xarray_attr:"
#: storage kinds a reader accepts; anything else (e.g. "pickle") is refused
KINDS = {"record", "items", "table", "keyed_table", "array", "strings", "recipe", "json",
         "xarray.DataArray", "xarray.Dataset"}
#: column kinds of a table
COLUMN_KINDS = {"bool", "int", "float", "str", "none", "json"}
_GCPL = None


# --------------------------------------------------------------------------- type hints

@functools.cache
def field_hints(cls) -> dict[str, typing.Any]:
    return typing.get_type_hints(cls)


def _args(hint) -> tuple:
    return typing.get_args(hint)


def _is_union(hint) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def strip_optional(hint):
    """``X | None`` → X (other unions are kept)."""
    if _is_union(hint):
        rest = [a for a in _args(hint) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return hint


def _is_dataclass_type(hint) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _is_recipe(hint) -> bool:
    from ..recipe.spec import Recipe
    return hint is Recipe


@functools.cache
def is_flat(cls) -> bool:
    """True when every field fits a table cell (scalars, or JSON for dicts/lists/records)."""
    return all(_json_able(h) for h in field_hints(cls).values())


def _json_able(hint) -> bool:
    hint = strip_optional(hint)
    if hint in (np.ndarray, xr.DataArray, xr.Dataset) or _is_recipe(hint):
        return False
    if _is_dataclass_type(hint):
        return is_flat(hint)
    return all(_json_able(a) for a in _args(hint) if a is not Ellipsis)


_SCALARS = {bool: (bool,), int: (int,), float: (float, int), str: (str,)}


def fits_hint(hint, value) -> bool:
    """Whether a scalar read from a file may stand in a field of type ``hint`` (containers
    and records are checked where they are rebuilt)."""
    if value is None:
        return hint is typing.Any or (_is_union(hint) and type(None) in _args(hint))
    options = [a for a in _args(hint) if a is not type(None)] if _is_union(hint) else [hint]
    if isinstance(value, np.ndarray):
        return any(a is np.ndarray for a in options)
    for a in options:
        if a in _SCALARS:
            if isinstance(value, _SCALARS[a]) and not (a is not bool and isinstance(value, bool)):
                return True
        else:
            return True
    return False


def _element(hint, index: int = 0):
    args = _args(strip_optional(hint))
    return strip_optional(args[index]) if len(args) > index else typing.Any


# --------------------------------------------------------------------------- JSON by hint

def is_rich_str(value) -> bool:
    """A str subclass carrying attributes (``xpsfit.results.Notice``: the text plus code,
    species, parameter); stored as ``{"text": ..., <attribute>: ...}``."""
    return isinstance(value, str) and type(value) is not str and bool(getattr(value, "__dict__",
                                                                              None))


def _is_str_class(hint) -> bool:
    return isinstance(hint, type) and issubclass(hint, str) and hint is not str


def build_str(cls, obj, where: str = ""):
    """``cls(text, **attributes)``: a rich str subclass is rebuilt through its constructor,
    whose keyword arguments are its attributes (as for Notice)."""
    if isinstance(obj, str):
        return cls(obj)
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise ValueError(f"{where}: a {cls.__name__} must be text or {{'text': ...}}")
    rest = {k: v for k, v in obj.items() if k != "text"}
    try:
        value = cls(obj["text"], **rest)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    if any(getattr(value, k, None) != v for k, v in rest.items()):
        raise ValueError(f"{where}: {cls.__name__} does not keep its attributes")
    return value


def to_jsonable(value):
    if is_rich_str(value):
        return {"text": str.__str__(value),
                **{k: to_jsonable(v) for k, v in vars(value).items()}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def from_jsonable(hint, obj, where: str = ""):
    """Rebuild dataclasses (and tuples) inside a JSON value by the type hint."""
    if obj is None or hint is typing.Any:
        return obj
    if _is_str_class(hint):
        return build_str(hint, obj, where)
    if _is_union(hint):
        for arg in _args(hint):
            if _is_dataclass_type(arg) and isinstance(obj, dict):
                return from_jsonable(arg, obj, where)
            origin = typing.get_origin(arg) or arg
            if origin in (list, tuple) and isinstance(obj, list):
                return from_jsonable(arg, obj, where)
            if origin is dict and isinstance(obj, dict):
                return from_jsonable(arg, obj, where)
        return obj
    if _is_dataclass_type(hint):
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: a {hint.__name__} record must be a JSON object")
        return build(hint, {k: from_jsonable(field_hints(hint).get(k, typing.Any), v,
                                             f"{where}.{k}") for k, v in obj.items()}, where)
    origin = typing.get_origin(hint)
    if origin in (list, tuple, Sequence):
        if not isinstance(obj, list):
            raise ValueError(f"{where}: expected a JSON list")
        items = [from_jsonable(_element(hint), v, where) for v in obj]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a JSON object")
        return {k: from_jsonable(_element(hint, 1), v, where) for k, v in obj.items()}
    return obj


def build(cls, values: dict, where: str):
    """``cls(**values)``; unknown names are refused, absent fields take their defaults (files
    written before the field existed) and an absent field without default is an error."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"{where}: unknown {cls.__name__} field(s) {sorted(unknown)}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc


# --------------------------------------------------------------------------- small helpers

def create(group: h5py.Group, name: str, data, **kw) -> h5py.Dataset:
    """Dataset with gzip for anything bigger than a few hundred values."""
    arr = np.asarray(data)
    if arr.dtype.kind in "OU":
        arr = np.asarray(arr, dtype=object)
        kw.setdefault("dtype", STR)
    if arr.ndim and arr.size > COMPRESS_ABOVE:
        kw.update(compression="gzip", compression_opts=4, chunks=True)
        if arr.dtype.kind in "fiu":
            kw["shuffle"] = True
    return group.create_dataset(name, data=arr, **kw)


def strings(group: h5py.Group, name: str, values: Sequence[str]) -> h5py.Dataset:
    return create(group, name, np.array([str(v) for v in values], dtype=object).reshape(-1))


def new_group(parent: h5py.Group, name: str, nx_class: str, **attrs) -> h5py.Group:
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


def _scalar_attr(value):
    """numpy value for an attribute, or None when the value is not a plain scalar."""
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, (int, np.integer)):
        return np.int64(value) if -2**63 <= int(value) < 2**63 else None
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, str) and not is_rich_str(value) and len(value) <= ATTR_TEXT_MAX:
        return str.__str__(value)
    return None


def write_attrs(obj, mapping: dict, prefix: str = "") -> None:
    """A dict of values as HDF5 attributes, types kept; non-scalars as JSON text listed in
    ``__json_keys__``."""
    json_keys = []
    for key, value in mapping.items():
        name = prefix + str(key)
        scalar = _scalar_attr(value)
        if scalar is not None:
            obj.attrs[name] = scalar
            continue
        try:
            obj.attrs[name] = json.dumps(to_jsonable(value))
        except TypeError as exc:
            raise ExportError(f"attribute {key!r} of type {type(value).__name__} "
                              "cannot be stored") from exc
        json_keys.append(str(key))
    if json_keys:
        obj.attrs[prefix + _JSON_KEYS] = json.dumps(json_keys)


# --------------------------------------------------------------------------- tables

def _column_kind(values: list) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "none"
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
           and -2**63 <= int(v) < 2**63 for v in present):
        return "int"
    if all(isinstance(v, (int, float, np.integer, np.floating))
           and not isinstance(v, (bool, np.bool_)) for v in present) \
            and not any(isinstance(v, (int, np.integer)) for v in present):
        return "float"
    if all(isinstance(v, str) and not is_rich_str(v) for v in present):
        return "str"
    return "json"


_FILL = {"bool": False, "int": 0, "float": math.nan, "str": "", "none": "", "json": "null"}
_H5_TYPE = {"bool": np.bool_, "int": np.int64, "float": np.float64}
_DTYPE_KIND = {"bool": "b", "int": "i", "float": "f", "str": "O", "none": "O", "json": "O"}


def _encode_column(values: list) -> tuple[str, np.ndarray, np.ndarray | None]:
    kind = _column_kind(values)
    filled = [(_FILL[kind] if v is None else v) for v in values]
    if kind == "json":
        filled = [json.dumps(to_jsonable(v)) for v in filled]
    if kind in ("str", "json", "none"):
        column = np.array([str(v) for v in filled], dtype=object)
    else:
        column = np.asarray(filled, dtype=_H5_TYPE[kind])
    mask = np.asarray([v is None for v in values], dtype=np.bool_)
    return kind, column, (mask if mask.any() else None)


def write_columns(parent: h5py.Group, name: str, columns: dict[str, list], n_rows: int,
                  xpsfit_type: str) -> h5py.Dataset:
    """Named columns as ONE compound dataset (viewers show it as a table); a column holding
    None gets a boolean companion ``<name>__is_none``; ``python_types`` says how to rebuild
    each column's Python values."""
    kinds, arrays = {}, {}
    for key, values in columns.items():
        kind, column, mask = _encode_column(values)
        kinds[key] = kind
        arrays[key] = column
        if mask is not None:
            arrays[f"{key}__is_none"] = mask
    if arrays:
        dtype = np.dtype([(k, STR if c.dtype == object else c.dtype) for k, c in arrays.items()])
        table = np.empty(n_rows, dtype=dtype)
        for k, c in arrays.items():
            table[k] = c
        dset = create(parent, name, table)
    else:   # HDF5 has no compound type without members
        dset = strings(parent, name, [])
    dset.attrs["xpsfit_type"] = xpsfit_type
    dset.attrs["python_types"] = json.dumps(kinds)
    return dset


def _decode_cell(kind: str, value):
    if kind in ("str", "json", "none"):
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return {"bool": bool, "int": int, "float": float}[kind](value)


def read_columns(guard: Guard, dset: h5py.Dataset) -> tuple[dict[str, list], int]:
    kinds = guard.json_attr(dset, "python_types")
    if not isinstance(kinds, dict):
        raise guard.fail("python_types is not a JSON object", key=dset.name)
    table = guard.table(dset)
    names = table.dtype.names or ()
    columns = {}
    for key, kind in kinds.items():
        if kind not in COLUMN_KINDS:
            raise guard.fail(f"column {key!r} has unknown python_type {kind!r} "
                             f"(allowed: {', '.join(sorted(COLUMN_KINDS))})", key=dset.name)
        if key not in names:
            if len(table) == 0:
                columns[key] = []
                continue
            raise guard.fail(f"column {key!r} listed in python_types is missing", key=dset.name)
        if table.dtype[key].kind != _DTYPE_KIND[kind] and not (
                kind == "float" and table.dtype[key].kind in "iu"):
            raise guard.fail(f"column {key!r} has dtype {table.dtype[key]} for python_type "
                             f"{kind!r}", key=dset.name)
        values = [_decode_cell(kind, v) for v in table[key].tolist()]
        if kind == "json":
            try:
                values = [json.loads(v) for v in values]
            except json.JSONDecodeError as exc:
                raise guard.fail(f"column {key!r} holds bad JSON ({exc.msg})",
                                 key=dset.name) from exc
        mask_name = f"{key}__is_none"
        if mask_name in names:
            if table.dtype[mask_name].kind != "b":
                raise guard.fail(f"column {mask_name!r} is not boolean", key=dset.name)
            values = [None if m else v for v, m in zip(values, table[mask_name].tolist())]
        columns[key] = values
    return columns, len(table)


def write_mapping(parent: h5py.Group, name: str, mapping: dict) -> h5py.Dataset:
    """A dict (e.g. a Spectrum's attrs) as a one-row table: one column per key, types kept."""
    return write_columns(parent, name, {str(k): [v] for k, v in mapping.items()}, 1, "mapping")


def read_mapping(guard: Guard, dset: h5py.Dataset) -> dict:
    columns, n = read_columns(guard, dset)
    if n != 1:
        raise guard.fail(f"a mapping has one row, found {n}", key=dset.name)
    return {k: v[0] for k, v in columns.items()}


# --------------------------------------------------------------------------- xarray objects

def write_variable(group: h5py.Group, name: str, var: xr.Variable, meta: dict) -> h5py.Dataset:
    """One xarray variable as a dataset. Its dims, dtype and attrs go into ``meta`` (stored
    on the group), not onto the dataset: NeXus fields are hard links to these datasets, and
    attributes there would be undocumented NeXus concepts."""
    data = np.asarray(var.values)
    if data.dtype.kind in "OUS":
        flat = np.array([str(x) for x in data.ravel()], dtype=object).reshape(data.shape)
        dset = create(group, name, flat)
    elif data.dtype.kind in "fiubc":
        dset = create(group, name, data)
    else:
        raise ExportError(f"variable {name!r} has dtype {data.dtype} which is not stored")
    meta[name] = {"dims": list(var.dims), "dtype": data.dtype.str,
                  "attrs": to_jsonable(dict(var.attrs))}
    if name == "binding_energy":   # for viewers and NeXus; not part of the xarray object
        dset.attrs["units"] = "eV"
    return dset


def _write_meta(g: h5py.Group, meta: dict) -> None:
    try:
        text = json.dumps(meta)
    except TypeError as exc:
        raise ExportError(f"an attribute of {g.name} cannot be stored ({exc})") from exc
    if len(text) <= ATTR_TEXT_MAX:
        g.attrs["xarray_variables"] = text
    else:
        g.create_dataset("xarray_variables", data=text, dtype=STR)


def write_dataarray(parent: h5py.Group, name: str, da: xr.DataArray) -> h5py.Group:
    values_name = da.name if isinstance(da.name, str) and da.name else "values"
    if values_name in da.coords or values_name in ("metadata", "xarray_variables"):
        raise ExportError(f"data array name {values_name!r} collides with a coordinate")
    g = new_group(parent, name, "NXdata", xpsfit_kind="xarray.DataArray",
                  signal=values_name, axes=list(da.dims),
                  xarray_name=json.dumps(da.name if da.name is None else str(da.name)),
                  xarray_values=values_name, xarray_coords=json.dumps(list(map(str, da.coords))))
    meta: dict = {}
    # the array's attrs go to ``metadata`` (plain names), not onto the values dataset as well
    write_variable(g, values_name, xr.Variable(da.dims, da.variable.values), meta)
    for cname, coord in da.coords.items():
        write_variable(g, str(cname), coord.variable, meta)
    _write_meta(g, meta)
    write_mapping(g, "metadata", dict(da.attrs))
    return g


def write_dataset(parent: h5py.Group, name: str, ds: xr.Dataset) -> h5py.Group:
    data_vars = [str(k) for k in ds.data_vars]
    signal = "data" if "data" in ds.data_vars else (data_vars[0] if data_vars else "")
    g = new_group(parent, name, "NXdata", xpsfit_kind="xarray.Dataset",
                  xarray_data_vars=json.dumps(data_vars),
                  xarray_coords=json.dumps([str(c) for c in ds.coords]))
    if signal:
        g.attrs["signal"] = signal
        g.attrs["axes"] = list(ds[signal].dims)
        aux = [v for v in ("envelope", "background", "residual") if v in ds.data_vars]
        if aux:
            g.attrs["auxiliary_signals"] = aux
    write_attrs(g, dict(ds.attrs), prefix=XATTR)
    meta: dict = {}
    for vname in data_vars:
        if vname == "xarray_variables":
            raise ExportError("a variable named 'xarray_variables' cannot be stored")
        write_variable(g, vname, ds[vname].variable, meta)
    for cname, coord in ds.coords.items():
        write_variable(g, str(cname), coord.variable, meta)
    _write_meta(g, meta)
    return g


# --------------------------------------------------------------------------- encoder

class Encoder:
    """Writes dataclass records; identical recipe texts are stored once per file and
    hard-linked (a batch of 200 fits with one recipe holds one copy)."""

    def __init__(self, recipe_toml) -> None:
        self.recipe_toml = recipe_toml           # Recipe -> TOML text (cached by the caller)
        self.texts: dict[tuple, h5py.Dataset] = {}

    def text(self, g: h5py.Group, name: str, text: str, **attrs) -> h5py.Dataset:
        key = (text, tuple(sorted(attrs.items())))
        existing = self.texts.get(key)
        if existing is not None and existing.file == g.file:
            g[name] = existing
            return existing
        dset = g.create_dataset(name, data=text, dtype=STR)
        for k, v in attrs.items():
            dset.attrs[k] = v
        self.texts[key] = dset
        return dset

    def record(self, parent: h5py.Group, name: str, obj, nx_class: str = "NXcollection",
               group: h5py.Group | None = None) -> h5py.Group:
        g = group if group is not None else new_group(parent, name, nx_class)
        g.attrs["xpsfit_kind"] = "record"
        g.attrs["xpsfit_type"] = type(obj).__name__
        hints = field_hints(type(obj))
        nones, jsons = [], []
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is None:
                nones.append(f.name)
            elif self.field(g, f.name, value, hints[f.name]) == "json":
                jsons.append(f.name)
        g.attrs["xpsfit_none"] = json.dumps(nones)
        g.attrs["xpsfit_json"] = json.dumps(jsons)
        return g

    def field(self, g: h5py.Group, name: str, value, hint) -> str:
        """Store one value under ``name``; returns "attr", "json" or the dataset kind."""
        inner = strip_optional(hint)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if _is_recipe(type(value)):
                self.text(g, name, self.recipe_toml(value), xpsfit_kind="recipe",
                          media_type="application/toml", recipe_source=str(value.source or ""))
                return "recipe"
            self.record(g, name, value)
            return "record"
        if isinstance(value, xr.DataArray):
            write_dataarray(g, name, value)
            return "xarray.DataArray"
        if isinstance(value, xr.Dataset):
            write_dataset(g, name, value)
            return "xarray.Dataset"
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "fiubc":
                raise ExportError(f"field {name!r}: array of dtype {value.dtype} is not stored")
            create(g, name, value).attrs["xpsfit_kind"] = "array"
            return "array"
        if isinstance(value, (list, tuple)):
            cls = _record_class(list(value), _element(inner))
            if cls is not None and is_flat(cls):
                self.table(g, name, list(value), cls)
                return "table"
            if cls is not None:
                items = new_group(g, name, "NXcollection", xpsfit_kind="items",
                                  xpsfit_type=cls.__name__, count=np.int64(len(value)))
                for i, v in enumerate(value):
                    self.record(items, f"{i:04d}", v)
                return "items"
        if isinstance(value, dict):
            cls = _record_class(list(value.values()), _element(inner, 1))
            if cls is not None and is_flat(cls):
                t = self.table(g, name, list(value.values()), cls)
                t.attrs["xpsfit_kind"] = "keyed_table"
                t.attrs["keys"] = json.dumps([str(k) for k in value])
                return "keyed_table"
        if isinstance(value, list) and typing.get_origin(inner) is list \
                and _element(inner) is str and all(isinstance(v, str) and not is_rich_str(v)
                                                   for v in value):
            strings(g, name, value).attrs["xpsfit_kind"] = "strings"
            return "strings"
        scalar = _scalar_attr(value)
        if scalar is not None:
            g.attrs[name] = scalar
            return "attr"
        try:
            text = json.dumps(to_jsonable(value))
        except TypeError as exc:
            raise ExportError(f"field {name!r} of type {type(value).__name__} cannot be "
                              "stored") from exc
        if len(text) <= ATTR_TEXT_MAX:
            g.attrs[name] = text
        else:
            g.create_dataset(name, data=text, dtype=STR).attrs["xpsfit_kind"] = "json"
        return "json"

    @staticmethod
    def table(g: h5py.Group, name: str, rows: list, cls) -> h5py.Dataset:
        columns = {f.name: [getattr(r, f.name) for r in rows] for f in dataclasses.fields(cls)}
        dset = write_columns(g, name, columns, len(rows), f"table:{cls.__name__}")
        dset.attrs["xpsfit_kind"] = "table"
        return dset


def _record_class(values: list, hinted):
    """The one dataclass all ``values`` are instances of (the hinted one for no values), or
    None when they are not records (then the value is stored as JSON)."""
    if not values:
        return hinted if _is_dataclass_type(hinted) else None
    cls = type(values[0])
    if dataclasses.is_dataclass(cls) and all(type(v) is cls for v in values):
        return cls
    return None


# --------------------------------------------------------------------------- decoder

#: what a field's (non-None) type hint must be for each dataset kind; a file written before a
#: schema change (e.g. ``list[str]`` warnings that became ``list[Notice]``) is refused here
#: rather than filling a field with values of the wrong type
_HINT_OF_KIND = {
    "array": lambda h: h is np.ndarray or h is typing.Any,
    "strings": lambda h: h is typing.Any or typing.get_origin(h) in (list, Sequence)
    and (_element(h) in (str, typing.Any) or _is_str_class(_element(h))),
    "recipe": lambda h: _is_recipe(h) or h is typing.Any,
    "xarray.DataArray": lambda h: h is xr.DataArray or h is typing.Any,
    "xarray.Dataset": lambda h: h is xr.Dataset or h is typing.Any,
}


class Decoder:
    """Reads records back by the dataclass type hints, through a :class:`Guard`."""

    def __init__(self, guard: Guard, recipe_from_text) -> None:
        self.guard = guard
        self.recipe_from_text = recipe_from_text   # (text, source, key) -> Recipe

    def record(self, g: h5py.Group, cls, depth: int = 0):
        guard = self.guard
        if depth > MAX_DEPTH:
            raise guard.fail("records nested too deeply", key=g.name)
        kind = guard.text_attr(g, "xpsfit_kind", "")
        stored = guard.text_attr(g, "xpsfit_type", "")
        if kind != "record" or stored != cls.__name__:
            raise guard.fail(f"expected a {cls.__name__} record, found "
                             f"{stored or kind or 'an unmarked group'}", key=g.name)
        nones = self._name_list(g, "xpsfit_none")
        jsons = self._name_list(g, "xpsfit_json")
        hints = field_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            where = f"{g.name}/{f.name}"
            if f.name in nones:
                if not fits_hint(hints[f.name], None):
                    raise guard.fail(f"field {f.name!r} ({hints[f.name]}) marked None",
                                     key=g.name)
                values[f.name] = None
            elif f.name in g.attrs:
                raw = guard.attr(g, f.name)
                if f.name in jsons:
                    values[f.name] = self._json(raw, hints[f.name], where)
                elif not fits_hint(hints[f.name], raw):
                    raise guard.fail(f"attribute {f.name!r} holds {type(raw).__name__} "
                                     f"{raw!r:.40}, the field is {hints[f.name]}", key=g.name)
                else:
                    values[f.name] = raw
            elif guard.link_kind(g, f.name) is not None:
                values[f.name] = self.value(guard.child(g, f.name), hints[f.name], depth)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise guard.fail(f"{cls.__name__} field {f.name!r} missing", key=where)
        try:
            return build(cls, values, g.name)
        except ValueError as exc:
            raise guard.fail(str(exc).split(": ", 1)[-1], key=g.name) from exc

    def _name_list(self, g, attr: str) -> set[str]:
        names = self.guard.json_attr(g, attr, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self.guard.fail(f"{attr} is not a list of names", key=g.name)
        return set(names)

    def _json(self, raw, hint, where: str):
        if not isinstance(raw, str):
            raise self.guard.fail(f"JSON field holds {type(raw).__name__}", key=where)
        try:
            return from_jsonable(hint, json.loads(raw), where)
        except json.JSONDecodeError as exc:
            raise self.guard.fail(f"bad JSON ({exc.msg})", key=where) from exc
        except ValueError as exc:
            raise self.guard.fail(str(exc).split(": ", 1)[-1], key=where) from exc

    def value(self, obj, hint, depth: int):
        guard = self.guard
        kind = guard.text_attr(obj, "xpsfit_kind", "")
        if kind not in KINDS:
            raise guard.fail(f"unknown storage kind {kind!r} (allowed: "
                             f"{', '.join(sorted(KINDS))}; nothing is ever unpickled)",
                             key=obj.name)
        inner = strip_optional(hint)
        is_group = isinstance(obj, h5py.Group)
        if is_group != (kind in ("record", "items", "xarray.DataArray", "xarray.Dataset")):
            raise guard.fail(f"{'group' if is_group else 'dataset'} marked {kind!r}",
                             key=obj.name)
        if kind == "record":
            if not _is_dataclass_type(inner):
                raise guard.fail("a record where the result has no record", key=obj.name)
            return self.record(obj, inner, depth + 1)
        if kind == "items":
            return self.items(obj, _element(inner), depth)
        if kind in ("table", "keyed_table"):
            cls = _element(inner, 1 if kind == "keyed_table" else 0)
            if not _is_dataclass_type(cls):
                raise guard.fail(f"a table where the result has {hint}", key=obj.name)
            rows = self.table(obj, cls)
            if kind == "table":
                return rows
            keys = guard.json_attr(obj, "keys")
            if not isinstance(keys, list) or len(keys) != len(rows) \
                    or not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys):
                raise guard.fail(f"keys do not match the {len(rows)} rows", key=obj.name)
            return dict(zip(keys, rows))
        expected = _HINT_OF_KIND.get(kind)
        if expected is not None and not expected(inner):
            raise guard.fail(f"stored as {kind!r}, but the field is {hint}", key=obj.name)
        if kind == "array":
            return guard.numbers(obj, kinds="fiubc")
        if kind == "strings":
            cls = _element(inner)
            make = cls if _is_str_class(cls) else str
            return [make(str(s)) for s in guard.strings(obj)]
        if kind == "recipe":
            text = guard.text(obj)
            source = guard.text_attr(obj, "recipe_source", "")
            return self.recipe_from_text(text, source, obj.name)
        if kind == "json":
            return self._json(guard.text(obj), hint, obj.name)
        if kind == "xarray.DataArray":
            return self.dataarray(obj)
        return self.dataset(obj)

    def items(self, g: h5py.Group, cls, depth: int) -> list:
        guard = self.guard
        if not _is_dataclass_type(cls):
            raise guard.fail("a list of records where the result has none", key=g.name)
        count = guard.attr(g, "count", types=(int,))
        if not 0 <= count <= MAX_ROWS:
            raise guard.fail(f"count {count} out of range", key=g.name)
        names = guard.members(g)
        expected = [f"{i:04d}" for i in range(count)]
        missing = [n for n in expected if n not in names]
        if missing:
            raise guard.fail(f"{len(missing)} of {count} items missing (first: {missing[0]})",
                             key=g.name)
        extra = sorted(set(names) - set(expected))
        if extra:
            raise guard.fail(f"unexpected member {extra[0]!r} (count is {count})", key=g.name)
        return [self.record(guard.child(g, n, h5py.Group), cls, depth + 1) for n in expected]

    def table(self, dset: h5py.Dataset, cls) -> list:
        guard = self.guard
        stored = guard.text_attr(dset, "xpsfit_type", "")
        if stored != f"table:{cls.__name__}":
            raise guard.fail(f"expected a table of {cls.__name__}, found {stored!r}",
                             key=dset.name)
        columns, n = read_columns(guard, dset)
        hints = field_hints(cls)
        unknown = set(columns) - set(hints)
        if unknown:
            raise guard.fail(f"unknown {cls.__name__} column(s) {sorted(unknown)}",
                             key=dset.name)
        rows = []
        for i in range(n):
            values = {}
            for k, col in columns.items():
                v = col[i]
                if v is not None and isinstance(v, (dict, list)):
                    try:
                        v = from_jsonable(hints[k], v, f"{dset.name}[{i}].{k}")
                    except ValueError as exc:
                        raise guard.fail(str(exc), key=dset.name) from exc
                if not fits_hint(hints[k], v):
                    raise guard.fail(f"row {i} column {k!r} holds {type(v).__name__} "
                                     f"{v!r:.40}, the field is {hints[k]}", key=dset.name)
                values[k] = v
            try:
                rows.append(build(cls, values, f"row {i}"))
            except ValueError as exc:
                raise guard.fail(str(exc), key=dset.name) from exc
        return rows

    # ---- xarray
    def meta(self, g: h5py.Group) -> dict:
        guard = self.guard
        if guard.link_kind(g, "xarray_variables") is not None:
            text = guard.text(guard.child(g, "xarray_variables", h5py.Dataset))
            try:
                meta = json.loads(text)
            except json.JSONDecodeError as exc:
                raise guard.fail("xarray_variables is not JSON", key=g.name) from exc
        else:
            meta = guard.json_attr(g, "xarray_variables")
        if not isinstance(meta, dict):
            raise guard.fail("xarray_variables is not a JSON object", key=g.name)
        return meta

    def variable(self, g: h5py.Group, name: str, meta: dict) -> xr.Variable:
        guard = self.guard
        dset = guard.child(g, name, h5py.Dataset)
        info = meta.get(name)
        try:
            dims = [str(d) for d in info["dims"]]
            dtype = np.dtype(info["dtype"])
            attrs = info.get("attrs", {})
            if not isinstance(attrs, dict):
                raise TypeError("attrs")
        except (KeyError, TypeError, ValueError) as exc:
            raise guard.fail(f"bad xarray description {info!r:.80}", key=dset.name) from exc
        if len(dims) != len(dset.shape or ()):
            raise guard.fail(f"{len(dims)} dims for a {len(dset.shape or ())}-D dataset",
                             key=dset.name)
        if dtype.kind in "OUS":
            if dtype.itemsize > 400_000:
                raise guard.fail(f"text dtype {dtype} too wide", key=dset.name)
            data = np.array(guard.strings(dset, ndim=len(dims)), dtype=object).astype(dtype)
        elif dtype.kind in "fiubc":
            data = guard.numbers(dset, ndim=len(dims), kinds="fiubc")
            if data.dtype != dtype:
                raise guard.fail(f"dtype {data.dtype}, the xarray description says {dtype}",
                                 key=dset.name)
        else:
            raise guard.fail(f"dtype {dtype} is not allowed", key=dset.name)
        return xr.Variable(dims, data, attrs=attrs)

    def attrs(self, obj, prefix: str) -> dict:
        guard = self.guard
        json_keys = set(guard.json_attr(obj, prefix + _JSON_KEYS, []))
        out = {}
        for name in obj.attrs:
            if not name.startswith(prefix) or name == prefix + _JSON_KEYS:
                continue
            key = name[len(prefix):]
            value = guard.attr(obj, name)
            if key in json_keys:
                try:
                    value = json.loads(value)
                except (TypeError, json.JSONDecodeError) as exc:
                    raise guard.fail(f"attribute {name!r} is not JSON", key=obj.name) from exc
            elif isinstance(value, np.ndarray):
                raise guard.fail(f"attribute {name!r} is an array", key=obj.name)
            out[key] = value
        return out

    def _named(self, g: h5py.Group, attr: str) -> list[str]:
        names = self.guard.json_attr(g, attr)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self.guard.fail(f"{attr} is not a list of names", key=g.name)
        return names

    def dataarray(self, g: h5py.Group) -> xr.DataArray:
        guard = self.guard
        meta = self.meta(g)
        values = self.variable(g, guard.text_attr(g, "xarray_values"), meta)
        coords = {c: self.variable(g, c, meta) for c in self._named(g, "xarray_coords")}
        name = guard.json_attr(g, "xarray_name")
        attrs = read_mapping(guard, guard.child(g, "metadata", h5py.Dataset))
        try:
            return xr.DataArray(values, coords=coords, name=name, attrs=attrs)
        except (ValueError, TypeError) as exc:
            raise guard.fail(f"inconsistent array ({exc})", key=g.name) from exc

    def dataset(self, g: h5py.Group) -> xr.Dataset:
        guard = self.guard
        meta = self.meta(g)
        data_vars = {v: self.variable(g, v, meta) for v in self._named(g, "xarray_data_vars")}
        coords = {c: self.variable(g, c, meta) for c in self._named(g, "xarray_coords")}
        try:
            return xr.Dataset(data_vars, coords=coords, attrs=self.attrs(g, XATTR))
        except (ValueError, TypeError) as exc:
            raise guard.fail(f"inconsistent dataset ({exc})", key=g.name) from exc

