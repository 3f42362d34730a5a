"""Undoable edits. Every change of the working recipe is one :class:`RecipeEdit`: undo puts the
previous recipe back (and the window refits when it had a fit), so no edit is ever lost."""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand


class RecipeEdit(QUndoCommand):
    def __init__(self, apply, old, new, text: str):
        super().__init__(text)
        self._apply = apply
        self.old = old
        self.new = new

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)
