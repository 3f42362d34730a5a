"""Building and editing the model in the window (issue 13 items 1–3): add, delete, duplicate,
rename, fix at fitted value, links, range fields and background parameters.

A mixin of :class:`~xpsfit_gui.main_window.MainWindow`: every action is one core edit from
``xpsfit`` (the same functions the CLI and scripts use) pushed through ``MainWindow._edit``, so
it is validated with the CLI's one-line messages, undoable, and refits when a fit is shown.
"""
from __future__ import annotations

from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

import xpsfit

from .component_dialog import AddComponentDialog, ComponentActions, RenameDialog, centre


class ModelEditing:
    """Needs ``self.recipe``, ``self.table``, ``self.panel``, ``self._edit``,
    ``self.report_error``, ``self.current_result`` and ``self.spectrum``/``self.current``."""

    def _build_model_editing(self, fit_page: QSplitter) -> None:
        self.component_actions = ComponentActions()
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.component_actions)
        lay.addWidget(self.table, 1)
        fit_page.addWidget(box)
        self._add_dialog = None
        self._rename_dialog = None

    def _connect_model_editing(self) -> None:
        a = self.component_actions
        a.addRequested.connect(self.add_component_dialog)
        a.duplicateRequested.connect(lambda: self.duplicate_component())
        a.renameRequested.connect(self.rename_dialog)
        a.deleteRequested.connect(lambda: self.delete_component())
        a.fixRequested.connect(lambda: self.fix_at_fitted())
        self.panel.rangeTyped.connect(self.set_range)
        self.panel.libraryRangeRequested.connect(self.use_library_range)
        self.panel.backgroundParamsChosen.connect(lambda kw: self.set_background_params(**kw))
        self.panel.priorTyped.connect(self._on_prior_typed)

    # ------------------------------------------------------------------ the selected row
    def selected_component(self) -> str | None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        if not rows:
            return None
        return self.table.species()[rows[0]]

    def _target(self, name: str | None) -> str | None:
        name = name or self.selected_component()
        if name is None:
            self.report_error("select a row of the component table first")
        return name

    # ------------------------------------------------------------------ components
    def add_component(self, name: str, **fields) -> bool:
        """Add a component (``xpsfit.add_component`` arguments); refits when a fit is shown."""
        return self._edit(lambda r: xpsfit.add_component(r, name, **fields), f"add {name}")

    def add_component_dialog(self) -> AddComponentDialog | None:
        """Open the non-modal Add dialog; OK adds what it shows."""
        if self.recipe is None:
            self.report_error("no recipe: choose a library and region, or load a recipe first")
            return None
        try:
            species = list(self.recipe.library.region(self.recipe.region).species)
        except Exception:  # noqa: BLE001 - a library-less recipe: only free components
            species = []
        spectrum = self.spectrum(self.current) if self.current is not None else None
        dialog = AddComponentDialog(species, centre(self.recipe, spectrum), self)
        dialog.accepted.connect(lambda: self._add_from_dialog(dialog))
        dialog.open()
        self._add_dialog = dialog
        return dialog

    def _add_from_dialog(self, dialog: AddComponentDialog) -> bool:
        name, fields = dialog.request()
        return self.add_component(name, **fields)

    def delete_component(self, name: str | None = None) -> bool:
        name = self._target(name)
        return name is not None and self._edit(lambda r: xpsfit.delete_component(r, name),
                                               f"delete {name}")

    def duplicate_component(self, name: str | None = None, new_name: str | None = None) -> bool:
        name = self._target(name)
        return name is not None and self._edit(
            lambda r: xpsfit.duplicate_component(r, name, new_name), f"duplicate {name}")

    def rename_component(self, name: str, new_name: str, label: str | None = None) -> bool:
        return self._edit(lambda r: xpsfit.rename_component(r, name, new_name, label=label),
                          f"rename {name} to {new_name}")

    def rename_dialog(self) -> RenameDialog | None:
        """Open the non-modal Rename dialog for the selected row; OK renames (links and
        priors follow, a taken or malformed name is refused with one line)."""
        name = self._target(None)
        if name is None:
            return None
        dialog = RenameDialog(name, self.recipe.component(name).label, self)
        dialog.accepted.connect(lambda: self._rename_from_dialog(dialog))
        dialog.open()
        self._rename_dialog = dialog
        return dialog

    def _rename_from_dialog(self, dialog: RenameDialog) -> bool:
        new, label = dialog.request()
        if new == dialog.old_name and label is None:
            return False
        return self.rename_component(dialog.old_name, new, label=label)

    def fix_at_fitted(self, name: str | None = None) -> bool:
        name = self._target(name)
        if name is None:
            return False
        result = self.current_result()
        if result is None:
            self.report_error("fit the spectrum first: 'Fix at fitted' uses the fitted values")
            return False
        return self._edit(lambda r: xpsfit.fix_at_fitted(r, result, name),
                          f"fix {name} at fitted values")

    def set_link(self, name: str, quantity: str, text: str) -> bool:
        return self._edit(lambda r: xpsfit.set_link(r, name, quantity, text),
                          f"link {quantity}({name}) {text}".strip())

    def set_prior(self, text: str) -> bool:
        """``"target = value ± sigma"`` adds or replaces a prior, ``"target ="`` removes it."""
        return self._edit(lambda r: xpsfit.set_prior_text(r, text), f"prior {text}")

    def _on_prior_typed(self, text: str) -> None:
        if self.set_prior(text):
            self.panel.prior_edit.clear()

    # ------------------------------------------------------------------ region
    def set_range(self, lo: float, hi: float) -> bool:
        current = self.recipe.range if self.recipe is not None else None
        if current is not None and (min(lo, hi), max(lo, hi)) == tuple(current):
            return False
        return self._edit(lambda r: xpsfit.set_range(r, lo, hi), f"range {lo:.2f}–{hi:.2f} eV")

    def use_library_range(self) -> bool:
        rng = xpsfit.default_range(self.recipe) if self.recipe is not None else None
        if rng is None:
            self.report_error("the library gives no default range for this region")
            return False
        return self.set_range(*rng)

    def set_background_params(self, **fields) -> bool:
        if self.recipe is not None:
            bg = self.recipe.background
            fields = {k: v for k, v in fields.items() if getattr(bg, k) != v}
            if not fields:
                return False
        return self._edit(lambda r: xpsfit.set_background(r, **fields),
                          "background " + ", ".join(f"{k} = {v}" for k, v in fields.items()))
