"""Checked reading of HDF5 results: every object is inspected before any data is read.

A results file may come from anywhere, so nothing in it is trusted: links are followed only when
they are hard links inside the file (an external link may point at another file or a FIFO and
is never opened), datasets must have the expected dtype and shape and a size within the limits
below, external raw storage and virtual datasets are refused, and a dataset declared but never
written (a chunked 1e12-element dataset costs a few bytes on disk) is refused before it would
fill memory. Every failure is an :class:`ExportError` naming the file and the HDF5 path.
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..errors import ExportError

#: most values in one numeric dataset (a spectrum, curves, a components curve block): 20 M
#: doubles = 160 MB; real spectra have at most ~1e5 points
MAX_ARRAY_VALUES = 20_000_000
#: most values read from one file in total (sum over datasets): 100 M = 800 MB of doubles
MAX_FILE_VALUES = 100_000_000
#: most rows in one table or items in one list (parameters, components, series spectra)
MAX_ROWS = 100_000
#: most strings in one string dataset (labels, names, text columns)
MAX_STRINGS = 1_000_000
#: longest text (a recipe, a JSON value) in characters
MAX_TEXT = 10_000_000
#: most parameters of a covariance matrix (3000 x 3000 doubles = 72 MB)
MAX_PARAMETERS = 3_000
#: most values in one attribute
MAX_ATTR_VALUES = 100_000
#: deepest nesting of records inside records
MAX_DEPTH = 12


class Guard:
    """Checked accessors bound to one file; ``fail`` raises the one-line error."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.budget = MAX_FILE_VALUES
        self.at: str | None = None      # HDF5 path of the object last opened, for messages

    def fail(self, message: str, key: str | None = None) -> ExportError:
        return ExportError(message, path=self.path, key=key)

    # ---- links and objects
    def link_kind(self, group: h5py.Group, name: str) -> str | None:
        """"hard", "soft", "external" or None when absent; never resolves the link."""
        link = group.get(name, getlink=True)
        if link is None:
            return None
        if isinstance(link, h5py.ExternalLink):
            return "external"
        if isinstance(link, h5py.SoftLink):
            return "soft"
        return "hard"

    def child(self, group: h5py.Group, name: str, kind: type | None = None, *,
              optional: bool = False):
        where = f"{group.name.rstrip('/')}/{name}"
        self.at = where
        link = self.link_kind(group, name)
        if link is None:
            if optional:
                return None
            raise self.fail("missing", key=where)
        if link == "external":
            target = group.get(name, getlink=True)
            raise self.fail(f"external link to {target.filename}:{target.path} refused "
                            "(links to other files are never followed)", key=where)
        if link == "soft":
            raise self.fail("soft link refused (xpsfit writes hard links only)", key=where)
        obj = group[name]
        if kind is not None and not isinstance(obj, kind):
            want = "group" if kind is h5py.Group else "dataset"
            raise self.fail(f"expected a {want}, found a {type(obj).__name__}", key=where)
        if isinstance(obj, h5py.Dataset):
            self._check_storage(obj)
        return obj

    def members(self, group: h5py.Group) -> list[str]:
        names = list(group.keys())
        if len(names) > MAX_ROWS:
            raise self.fail(f"{len(names)} members, more than the limit {MAX_ROWS}",
                            key=group.name)
        return names

    def _check_storage(self, dset: h5py.Dataset) -> None:
        if dset.is_virtual:
            raise self.fail("virtual dataset refused (it reads other files)", key=dset.name)
        if dset.id.get_create_plist().get_external_count():
            raise self.fail("dataset stored in an external raw file refused", key=dset.name)

    # ---- datasets
    def _size(self, dset: h5py.Dataset, limit: int) -> int:
        if dset.shape is None:
            raise self.fail("empty (null) dataspace", key=dset.name)
        size = int(np.prod(dset.shape, dtype=np.float64))
        if size > limit:
            raise self.fail(f"declares {size:.3g} values, more than the limit {limit}",
                            key=dset.name)
        if size and dset.id.get_storage_size() == 0:
            raise self.fail(f"declares {size} values but none were written", key=dset.name)
        if size > self.budget:
            raise self.fail(f"the file's datasets exceed {MAX_FILE_VALUES} values in total",
                            key=dset.name)
        self.budget -= size
        return size

    def numbers(self, dset: h5py.Dataset, *, ndim: int | None = None,
                kinds: str = "fiub", limit: int = MAX_ARRAY_VALUES) -> np.ndarray:
        if dset.dtype.kind not in kinds or dset.dtype.names:
            raise self.fail(f"dtype {dset.dtype} where numbers ({kinds}) belong", key=dset.name)
        self._size(dset, limit)
        if ndim is not None and len(dset.shape or ()) != ndim:
            raise self.fail(f"{len(dset.shape or ())}-D where {ndim}-D belongs", key=dset.name)
        return dset[()]

    def strings(self, dset: h5py.Dataset, *, ndim: int | None = 1) -> np.ndarray:
        if h5py.check_string_dtype(dset.dtype) is None:
            raise self.fail(f"dtype {dset.dtype} where text belongs", key=dset.name)
        self._size(dset, MAX_STRINGS)
        if ndim is not None and len(dset.shape or ()) != ndim:
            raise self.fail(f"{len(dset.shape or ())}-D where {ndim}-D text belongs",
                            key=dset.name)
        try:
            values = dset.asstr()[()]
        except UnicodeDecodeError as exc:
            raise self.fail(f"text is not UTF-8 ({exc.reason})", key=dset.name) from exc
        return np.asarray(values, dtype=object)

    def text(self, dset: h5py.Dataset) -> str:
        value = self.strings(dset, ndim=0)[()]
        if len(value) > MAX_TEXT:
            raise self.fail(f"text of {len(value)} characters, more than the limit {MAX_TEXT}",
                            key=dset.name)
        return str(value)

    def table(self, dset: h5py.Dataset) -> np.ndarray:
        if dset.dtype.names is None and not (dset.size == 0 and dset.ndim == 1):
            raise self.fail(f"dtype {dset.dtype} where a table belongs", key=dset.name)
        if len(dset.shape or ()) != 1:
            raise self.fail("a table must be 1-D", key=dset.name)
        self._size(dset, MAX_ROWS)
        for name in dset.dtype.names or ():
            sub = dset.dtype[name]
            if sub.kind not in "fiubO" or sub.names or sub.subdtype:
                raise self.fail(f"table column {name!r} has dtype {sub}", key=dset.name)
        return dset[()]

    # ---- attributes
    def attr(self, obj, name: str, default=..., *, types: tuple = ()):
        if name not in obj.attrs:
            if default is ...:
                raise self.fail(f"attribute {name!r} missing", key=obj.name)
            return default
        aid = obj.attrs.get_id(name)
        shape = aid.shape
        if shape is None:
            raise self.fail(f"attribute {name!r} has a null dataspace", key=obj.name)
        if int(np.prod(shape, dtype=np.float64)) > MAX_ATTR_VALUES:
            raise self.fail(f"attribute {name!r} is too large", key=obj.name)
        try:
            value = obj.attrs[name]
        except (OSError, TypeError, ValueError) as exc:
            raise self.fail(f"attribute {name!r} unreadable ({exc})", key=obj.name) from exc
        value = plain(value)
        if types and not isinstance(value, types):
            raise self.fail(f"attribute {name!r} is {type(value).__name__} {value!r:.60}, "
                            f"expected {' or '.join(t.__name__ for t in types)}", key=obj.name)
        return value

    def text_attr(self, obj, name: str, default=...) -> str:
        value = self.attr(obj, name, default, types=(str,))
        if len(value) > MAX_TEXT:
            raise self.fail(f"attribute {name!r} longer than the limit", key=obj.name)
        return value

    def json_attr(self, obj, name: str, default=...):
        text = self.text_attr(obj, name, default if default is ... else json.dumps(default))
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.fail(f"attribute {name!r} is not JSON ({exc.msg})", key=obj.name) from exc


def plain(value):
    """numpy scalars and bytes from h5py as Python values."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
