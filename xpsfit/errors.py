"""One error hierarchy for the whole core.

Every error carries where it happened (file, line, block, key) so the CLI and GUI can show one
clear line without a traceback.
"""
from __future__ import annotations

from pathlib import Path


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
        if self.path:
            where.append(self.path + (f":{self.line}" if self.line is not None else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.block is not None:
            where.append(f"block {self.block}")
        if self.key:
            where.append(f"[{self.key}]")
        text = " ".join(self.message.split())  # errors are one line, always
        return f"{' '.join(where)}: {text}" if where else text


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
