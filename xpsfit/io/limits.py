"""Limits and checks that every reader, the recipe loader and batch discovery share.

Readers open files only through :func:`read_bytes` / :func:`open_regular`, and the dispatcher
(:func:`xpsfit.io.read`) runs :func:`check_spectra` on whatever a reader returns, so a new
reader inherits all of this without code of its own. The numbers are documented in
``docs/reliability.md``; every refusal names the limit it hit.
"""
from __future__ import annotations

import contextlib
import errno
import math
import os
import stat
from collections.abc import Iterator
from typing import IO

from ..errors import FileFormatError, XpsfitError

#: largest spectrum file read (bytes). Real XPS files are kilobytes to a few megabytes; the cap
#: keeps a text reader's peak memory (bytes + decoded text + lines) well under a gigabyte.
MAX_FILE_BYTES = 64 * 2**20
#: largest recipe or library TOML file (bytes)
MAX_TOML_BYTES = 1 * 2**20
#: deepest nesting of arrays / inline tables in a TOML file (tomllib recurses per level)
MAX_TOML_DEPTH = 32
#: most points in one spectrum (a 0.005 eV survey over 1500 eV has 300 000)
MAX_POINTS = 500_000
#: most spectra in one file
MAX_SPECTRA = 10_000
#: most spectra in one map (HDF5 input of ``xpsfit map``), as ``demo-map`` allows
MAX_MAP_SPECTRA = 10_000_000
#: highest excitation energy accepted (eV): beyond the hardest HAXPES sources
MAX_EXCITATION_EV = 20_000.0
#: binding energies outside this window cannot come from a photoemission spectrum (eV); the
#: low end leaves room for valence-band scans that run past the Fermi level
MIN_BINDING_EV = -50.0
MAX_BINDING_EV = MAX_EXCITATION_EV
#: peak widths a recipe or library may give (eV): narrower than any instrument resolves, or so
#: wide that a peak is a background; 1e-300 used to reach lmfit as "min == max"
MIN_FWHM_EV = 1e-3
MAX_FWHM_EV = 50.0
#: background settings: points averaged at each end, and iterations
MAX_ENDPOINTS = 1000
MAX_BACKGROUND_ITER = 100_000
#: a binding energy may exceed hν by this much (eV) before the kinetic energy counts as
#: negative: the analyser work function and calibration offsets
KE_SLACK_EV = 50.0

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def special_kind(mode: int) -> str:
    """What a non-regular file is, for messages ("a FIFO (named pipe)", "a folder", …)."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


@contextlib.contextmanager
def open_regular(path: str | os.PathLike, *, error: type[XpsfitError] = FileFormatError,
                 limit: int = MAX_FILE_BYTES, missing: str = "no such file"
                 ) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading only if it is a regular file no larger than ``limit``.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer, and the
    type is checked on the *opened* descriptor (``fstat``), so a file swapped for a FIFO or a
    device between a check and the open cannot slip through.
    """
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise error(missing, path=name) from None
    except IsADirectoryError:
        raise error("is a folder, not a file", path=name) from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:   # a socket or a FIFO opened for writing only
            raise error("not a regular file (a socket or pipe)", path=name) from None
        raise error(f"cannot open: {exc.strerror or exc}", path=name) from None
    except ValueError:   # NUL byte in the name
        raise error("not a valid file name (contains a NUL byte)", path=repr(name)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = special_kind(info.st_mode)
            raise error("is a folder, not a file" if kind == "a folder" else
                        f"is {kind}, not a regular file (only regular files are read)", path=name)
        if info.st_size > limit:
            raise error(f"file is {info.st_size / 2**20:.1f} MiB, over the {_size(limit)} "
                        f"limit for input files", path=name)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def read_bytes(path: str | os.PathLike, *, error: type[XpsfitError] = FileFormatError,
               limit: int = MAX_FILE_BYTES, missing: str = "no such file") -> bytes:
    """The whole content of a regular file, refusing special files and files over ``limit``
    (also one that grows past the limit while it is read)."""
    with open_regular(path, error=error, limit=limit, missing=missing) as fh:
        try:
            # read(n) allocates n bytes at once: ask for the stated size, then for the rest
            # only if the file grew meanwhile
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(size + 1)
            if len(data) > size:
                data += fh.read(limit + 1 - len(data))
        except OSError as exc:
            raise error(f"cannot read: {exc.strerror or exc}", path=os.fspath(path)) from None
    if len(data) > limit:
        raise error(f"file grew past the {_size(limit)} limit for input files while being "
                    "read", path=os.fspath(path))
    return data


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n / 1024:g} KiB"


# ------------------------------------------------------------------------- header sanity

def check_excitation(hv: float, *, path=None, block=None, line=None) -> None:
    """A stated excitation energy must be physical: 0 < hν ≤ MAX_EXCITATION_EV (NaN = unknown
    is fine)."""
    if math.isnan(hv):
        return
    if not (0 < hv <= MAX_EXCITATION_EV):
        raise FileFormatError(f"excitation energy {hv:g} eV is impossible (must be > 0 and "
                              f"<= {MAX_EXCITATION_EV:g} eV)", path=path, block=block,
                              line=line, key="excitation energy")


def check_binding_range(be_min: float, be_max: float, hv: float, *, path=None, block=None,
                        line=None) -> None:
    """Binding energies must lie in [MIN_BINDING_EV, MAX_BINDING_EV] and, when hν is known,
    not exceed it by more than KE_SLACK_EV (that would be a negative kinetic energy)."""
    where = dict(path=path, block=block, line=line, key="energy axis")
    if not (math.isfinite(be_min) and math.isfinite(be_max)):
        raise FileFormatError("non-finite binding energies", **where)
    if be_min < MIN_BINDING_EV or be_max > MAX_BINDING_EV:
        raise FileFormatError(
            f"binding energy {be_min:.6g}..{be_max:.6g} eV is outside the physical window "
            f"{MIN_BINDING_EV:g}..{MAX_BINDING_EV:g} eV (wrong start, step, axis or hν in "
            "the header?)", **where)
    if math.isfinite(hv) and be_max > hv + KE_SLACK_EV:
        raise FileFormatError(
            f"binding energy reaches {be_max:.6g} eV, beyond the excitation energy {hv:g} eV "
            "(negative kinetic energy: wrong hν, start or axis in the header?)", **where)


def check_spectra(spectra: list, path) -> None:
    """What every reader's result must satisfy, whatever the format: at most MAX_SPECTRA
    spectra of at most MAX_POINTS points, a physical hν and energy window, and finite values in
    every numeric coordinate (transmission and the like, not only energy and counts)."""
    import numpy as np

    if len(spectra) > MAX_SPECTRA:
        raise FileFormatError(f"{len(spectra)} spectra, over the limit of {MAX_SPECTRA} per "
                              "file", path=path)
    many = len(spectra) > 1
    for i, s in enumerate(spectra):
        block = s.attrs.get("block_index", i) if many else None
        n = int(s.size)
        if n > MAX_POINTS:
            raise FileFormatError(f"{n} points, over the limit of {MAX_POINTS} per spectrum",
                                  path=path, block=block)
        hv = float(s.attrs.get("excitation_energy", math.nan))
        check_excitation(hv, path=path, block=block)
        be = s[s.dims[0]].values
        check_binding_range(float(be[0]), float(be[-1]), hv, path=path, block=block)
        for name, coord in s.coords.items():
            if str(name).startswith("peer_"):   # another program's curves: undefined (NaN)
                continue                         # outside its own fit range, never fitted
            values = coord.values
            if values.dtype.kind in "fc" and not np.all(np.isfinite(values)):
                bad = int(np.count_nonzero(~np.isfinite(values)))
                raise FileFormatError(f"{bad} non-finite value(s) (NaN/Inf) in the {name} "
                                      "column", path=path, block=block, key=str(name))


# --------------------------------------------------------------------------- TOML nesting

def toml_depth(text: str) -> int:
    """Deepest nesting of ``[`` / ``{`` in TOML text outside strings and comments.

    A conservative scan (table headers count too, so ``[[a]]`` is 2): its only job is to stop
    hostile nesting before ``tomllib`` recurses thousands of levels deep.
    """
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n:
                if quote[0] == '"' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if len(quote) == 1 and text[j] == "\n":
                    break
                j += 1
            i = j + len(quote)
            continue
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def check_toml_depth(text: str, source, error: type[XpsfitError]) -> None:
    depth = toml_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise error(f"arrays/tables nested {depth} deep, over the limit of {MAX_TOML_DEPTH}",
                    path=source or None)
