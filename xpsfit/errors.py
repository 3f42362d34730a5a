"""One error hierarchy for the whole core.

Every error carries where it happened (file, line, block, key) so the CLI and GUI can show one
clear line without a traceback.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

#: longest single token and whole message kept in the one-line rendering: a hostile file can
#: put a megabyte-long word where a key, label or number belongs, and the message quotes it
_MAX_TOKEN = 160
_MAX_TEXT = 1000


class XpsfitError(Exception):
    """Base of all errors raised on purpose by xpsfit."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 block: int | str | None = None, key: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.block = block
        self.key = key
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = []
        key = _shorten(self.key) if self.key else None
        if self.path:
            # real paths may be long and stay whole; only an absurd one (a hostile name) is cut
            where.append(_shorten(self.path, 600)
                         + (f":{self.line}" if self.line is not None else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.block is not None:
            where.append(f"block {self.block}")
        if key:
            where.append(f"[{key}]")
        text = _shorten(" ".join(self.message.split()))  # errors are one line, always
        return f"{' '.join(where)}: {text}" if where else text


def _shorten(text: str, max_token: int = _MAX_TOKEN) -> str:
    """Elide the middle of over-long tokens and of an over-long text (keeps both ends, where
    the quoted value starts and the list of valid choices ends)."""
    text = re.sub(r"\S{%d,}" % (max_token + 1),
                  lambda m: m.group(0)[:max_token - 40] + "…" + m.group(0)[-30:], text)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT - 300] + " … " + text[-290:]
    return text


class FileFormatError(XpsfitError):
    """A spectrum file could not be read (bad content, truncated, unsupported)."""


class UnsupportedFormatError(FileFormatError):
    """No reader recognises the file."""


class LibraryError(XpsfitError):
    """A peak library is invalid or a species/region is unknown."""


class RecipeError(XpsfitError):
    """A fit recipe is invalid."""


class FitError(XpsfitError):
    """A fit cannot be set up or run (bad data for the recipe, no points in range, ...)."""


class ExportError(XpsfitError):
    """A result could not be written or read back."""


class Cancelled(XpsfitError):
    """Long work was cancelled through its progress callback."""


#: progress callback of every long call: ``progress(done, total, message)``; returning True
#: cancels the work (it then raises :class:`Cancelled`). The GUI turns it into Qt signals, the
#: CLI into a progress line.
Progress = Callable[[int, int, str], "bool | None"]


def tick(progress: Progress | None, done: int, total: int, message: str, *,
         what: str = "fit") -> None:
    """Report progress; raise :class:`Cancelled` ("<what> cancelled") when asked to stop."""
    if progress is not None and progress(done, total, message):
        raise Cancelled(f"{what} cancelled")
