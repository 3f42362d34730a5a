"""Formats xpsfit recognises but does not read: each is refused with one line naming it (and the
way to get its data in), instead of "unknown file format".

Kept as one table of content signatures so a new reader replaces its row here when it lands.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import UnsupportedFormatError

NAME = "refused"
SUFFIXES: tuple[str, ...] = ()

#: (format name, test on the first bytes and the path, what to do instead)
_KNOWN = [
    ("CasaXPS peak-table report",
     lambda h, p: b"\tRaw Area\t" in h[:2000] and b"%At Conc" in h[:2000],
     "it holds a peak table, not a spectrum; read the VAMAS file"),
    ("raw multi-channel detector table",
     lambda h, p: re.match(rb"#[-\d.]+ [-\d.]+ [-\d.]+ \d+\s*\n", h) is not None,
     "export energy and summed counts as two columns"),
]


def _match(head: bytes, path: Path):
    text = head.lstrip(b"\xef\xbb\xbf\r\n")
    for name, test, hint in _KNOWN:
        if test(text, path):
            return name, hint
    return None


def sniff(head: bytes, path: Path) -> bool:
    return _match(head, path) is not None


def read(path, **options) -> list:
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(65536)
    found = _match(head, path)
    if found is None:
        raise UnsupportedFormatError("unknown file format", path=path)
    name, hint = found
    raise UnsupportedFormatError(f"{name}: recognised, but xpsfit does not read it ({hint})",
                                 path=path)
