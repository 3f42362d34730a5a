"""Main window: composition and wiring only (files, recipe, fits, exports, undo)."""
from __future__ import annotations

import inspect
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QInputDialog, QLabel,
                               QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget,
                               QAbstractItemView)

import xpsfit

from . import recipe_edit
from .analysis import AnalysisMixin
from .casa_overlay import OverlayCache
from .commands import RecipeEdit
from .component_table import ComponentTable
from .file_tree import FileTree, spectrum_caption
from .map_view import MapView
from .model_editing import ModelEditing
from .recipe_panel import RecipePanel
from .series_view import SeriesView
from .spectrum_view import SpectrumView
from .workers import Job


def verdict_caption(result) -> str:
    """" — verdict BAD (chi2, residual_structure)": the fit's verdict and its reasons' codes
    (the full texts are in the report); empty for results without a verdict."""
    verdict = getattr(result, "verdict", "")
    if not verdict:
        return ""
    if verdict == "ok":
        return " — verdict ok"
    codes = list(dict.fromkeys(getattr(r, "code", "") or "other" for r in
                               result.verdict_reasons))
    return f" — verdict {verdict.upper()}" + (f" ({', '.join(codes)})" if codes else "")

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_RECENT = 10
SPECTRA_FILTER = ("Spectra and results (*.vms *.npl *.xy *.spe *.pro *.csv *.txt *.xml *.h5 "
                  "*.hdf5 *.nxs);;All files (*)")
KEY = tuple[int, int]


@dataclass
class LoadedFile:
    path: Path
    spectra: list                       # Spectrum DataArrays (for a result file: the fitted ones)
    kind: str = "spectra"               # spectra | result
    series: object | None = None        # SeriesResult loaded from HDF5
    results: list = field(default_factory=list)


def _mentions_voltage(label: str, volt: str) -> bool:
    """True when ``label`` already names the voltage ``volt`` ("KB 4.0 V" names "4 V")."""
    v = float(volt.split()[0])
    return any(float(m) == v for m in re.findall(r"(\d+(?:\.\d+)?)\s*V\b", label))


def _accepts_progress(func) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return "progress" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


class MainWindow(AnalysisMixin, ModelEditing, QMainWindow):
    """The xpsfit desktop application.

    ``settings`` (QSettings) keeps recent files; ``error_hook(message)`` replaces the non-modal
    error dialog (tests inject one so nothing ever blocks).
    """

    #: a background job (a :class:`~xpsfit_gui.workers.Job`) is about to start: listeners can
    #: connect to its signals before it emits anything (scripts, tests)
    jobStarting = Signal(object)

    def __init__(self, settings: QSettings | None = None,
                 error_hook: Callable[[str], None] | None = None):
        super().__init__()
        self.setWindowTitle("xpsfit")
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else QSettings("xpsfit", "xpsfit-gui")
        self.error_hook = error_hook
        self.errors: list[str] = []
        self.files: list[LoadedFile] = []
        self.results: dict[KEY, object] = {}
        self.recipe = None
        self.current: KEY | None = None
        self.series_result = None
        self.undo_stack = QUndoStack(self)
        self.job: Job | None = None
        self._pending: tuple | None = None
        self._error_box: QMessageBox | None = None
        self.last_fit_seconds = math.nan
        self.auto_refit = True
        self.casa_overlays = OverlayCache()
        self._table_timer = QTimer(self)
        self._table_timer.setSingleShot(True)
        self._table_timer.setInterval(200)
        self._table_timer.timeout.connect(
            lambda: self.table.show_components(self.recipe, self.current_result()))

        self.view = SpectrumView()
        self.table = ComponentTable()
        self.series_view = SeriesView()
        self.tree = FileTree()
        self.panel = RecipePanel()
        self.series_list = QListWidget()
        self.series_list.setDragDropMode(QAbstractItemView.InternalMove)
        self.series_list.setToolTip("series order: drag to reorder")
        self._build_layout()
        self._build_actions()
        self._build_status()
        self._build_analysis()
        self._connect()
        self._refresh_recent_menu()
        self.show_message("Open spectra (Ctrl+O) or drop files here; choose or load a recipe.")

    # ================================================================== layout and actions
    def _build_layout(self) -> None:
        fit_page = QSplitter(Qt.Vertical)
        fit_page.addWidget(self.view)
        self._build_model_editing(fit_page)
        fit_page.setStretchFactor(0, 4)
        fit_page.setStretchFactor(1, 1)
        fit_page.setSizes([600, 200])
        self.tabs = QTabWidget()
        self.tabs.addTab(fit_page, "Fit")
        self.tabs.addTab(self.series_view, "Series")
        self.map_view = MapView()
        self.tabs.addTab(self.map_view, "Map")
        self.setCentralWidget(self.tabs)

        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.tree, 3)
        lay.addWidget(QLabel("Series (drag to reorder)"))
        lay.addWidget(self.series_list, 1)
        row = QHBoxLayout()
        self.series_button = QPushButton("Series from selection")
        self.fit_series_button = QPushButton("Fit series")
        row.addWidget(self.series_button)
        row.addWidget(self.fit_series_button)
        lay.addLayout(row)
        dock = QDockWidget("Files", self)
        dock.setObjectName("files")
        dock.setWidget(left)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(2, 2, 2, 2)
        rl.addWidget(self.panel, 1)
        self.fit_button = QPushButton("Fit spectrum")
        rl.addWidget(self.fit_button)
        rdock = QDockWidget("Recipe", self)
        rdock.setObjectName("recipe")
        rdock.setWidget(right)
        rdock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.RightDockWidgetArea, rdock)
        self.resizeDocks([dock, rdock], [290, 260], Qt.Horizontal)

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        menu.addAction(act)
        return act

    def _build_actions(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        self._action(m, "&Open…", self.open_dialog, QKeySequence.Open, "open spectra or results")
        self.recent_menu = m.addMenu("Open &recent")
        self._action(m, "Open &map result…", self.open_map_dialog, "Ctrl+M",
                     "open a map result (xpsfit map --out maps.h5)")
        m.addSeparator()
        self._action(m, "&Load recipe…", self.load_recipe_dialog, "Ctrl+L")
        self._action(m, "Save recipe &as…", self.save_recipe_dialog, "Ctrl+Shift+S")
        m.addSeparator()
        self._action(m, "Export result (&HDF5)…", self.export_hdf5_dialog, QKeySequence.Save)
        self._action(m, "Export table (&CSV)…", self.export_csv_dialog, "Ctrl+E")
        self._action(m, "Export &plot (PNG/SVG/PDF)…", self.export_plot_dialog, "Ctrl+P")
        m.addSeparator()
        self._action(m, "&Quit", self.close, QKeySequence.Quit)
        e = mb.addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence.Redo, QKeySequence("Ctrl+Y")])
        e.addAction(undo)
        e.addAction(redo)
        f = mb.addMenu("F&it")
        self._action(f, "&Fit spectrum", self.fit_current, "Ctrl+F")
        self._action(f, "Fit &series", self.fit_series, "Ctrl+Shift+F")
        self._action(f, "&Cancel", self.cancel_fit, "Esc")
        v = mb.addMenu("&View")
        self._action(v, "&Fit", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        self._action(v, "&Series", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        self._action(v, "&Map", lambda: self.tabs.setCurrentIndex(2), "Ctrl+3")

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_fit)
        sb.addPermanentWidget(self.progress_bar)
        sb.addPermanentWidget(self.cancel_button)

    def _connect(self) -> None:
        self.tree.currentItemChanged.connect(self._on_tree_current)
        self.view.markerMoved.connect(self._on_marker_moved)
        self.view.rangeChanged.connect(self._on_range_changed)
        self.table.edited.connect(self._on_table_edit)
        self.panel.libraryRegionChosen.connect(self._on_library_region)
        self.panel.speciesChosen.connect(self._on_species)
        self.panel.lineshapeChosen.connect(
            lambda s: self._edit(lambda r: recipe_edit.with_lineshape(r, s), f"line shape {s}"))
        self.panel.backgroundChosen.connect(
            lambda s: self._edit(lambda r: recipe_edit.with_background(r, s), f"background {s}"))
        self.panel.loadRequested.connect(self.load_recipe_dialog)
        self.panel.saveRequested.connect(self.save_recipe_dialog)
        self.panel.casaRequested.connect(self.recipe_from_casa_model)
        self.fit_button.clicked.connect(self.fit_current)
        self.series_button.clicked.connect(self.series_from_selection)
        self.fit_series_button.clicked.connect(self.fit_series)
        self._connect_model_editing()

    # ================================================================== messages and errors
    def show_message(self, text: str, ms: int = 0) -> None:
        self.statusBar().showMessage(text, ms)

    def report_error(self, message: str) -> None:
        """One line to the user; the application keeps running and nothing else is lost."""
        self.errors.append(message)
        self.show_message(f"Error: {message}", 15000)
        if self.error_hook is not None:
            self.error_hook(message)
            return
        if self._error_box is not None and self._error_box.isVisible():
            self._append_error(message)
            return
        # non-modal so background work, tests and screenshot runs never block on it
        box = QMessageBox(QMessageBox.Warning, "xpsfit", message, QMessageBox.Ok, self)
        box.setModal(False)
        box.setAttribute(Qt.WA_DeleteOnClose, False)
        box.show()
        self._error_box = box

    #: lines kept in the one error dialog (a burst of bad files must not grow it off-screen)
    ERROR_LINES = 12

    def _append_error(self, message: str) -> None:
        """One dialog for a burst of errors (several bad files): newest line last."""
        lines = self._error_box.text().split("\n") + [message]
        self._error_box.setText("\n".join(lines[-self.ERROR_LINES:]))

    # ================================================================== files
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open spectra or results", "",
                                                SPECTRA_FILTER)
        if paths:
            self.open_paths(paths)

    def open_map_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open map result", "",
                                              "Map results (*.h5 *.hdf5);;All files (*)")
        if path:
            self.open_map_result(path)

    def open_map_result(self, path) -> bool:
        try:
            self.map_view.open_result(path)
        except xpsfit.XpsfitError as exc:
            self.report_error(str(exc))
            return False
        self.tabs.setCurrentWidget(self.map_view)
        self.show_message(f"Opened map result {Path(path).name}")
        return True

    def open_paths(self, paths) -> int:
        """Open files (spectra or saved HDF5 results); returns how many opened. Each bad file
        gets its own one-line error and the others still open."""
        opened = 0
        first_key = None
        for p in paths:
            path = Path(p)
            try:
                loaded = self._read(path)
            except xpsfit.XpsfitError as exc:
                self.report_error(exc.one_line())
                continue
            except OSError as exc:
                self.report_error(f"{path}: cannot open: {exc.strerror or exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - a reader bug must not take the app down
                self.report_error(f"{path}: could not be read ({type(exc).__name__}: {exc})")
                continue
            fi = len(self.files)
            self.files.append(loaded)
            for si, res in enumerate(loaded.results):
                self.results[(fi, si)] = res
            self.tree.add_file(fi, path, loaded.spectra, loaded.kind)
            self._add_recent(path)
            opened += 1
            if first_key is None and loaded.spectra:
                first_key = (fi, 0)
            if loaded.series is not None:
                self.series_result = loaded.series
                self.series_view.add_series(loaded.series)
        if first_key is not None:
            self.select(first_key)
        if opened:
            n = sum(len(f.spectra) for f in self.files)
            self.show_message(f"Opened {opened} file(s); {n} spectra loaded.", 8000)
        return opened

    def _read(self, path: Path) -> LoadedFile:
        # regular files only: a FIFO or /dev/zero must neither block nor fill memory; the size
        # caps belong to the readers (results files may be larger than spectrum files)
        with xpsfit.open_regular(path, limit=2**62) as fh:
            magic = fh.read(8)
        if magic == HDF5_MAGIC:
            res = xpsfit.load_result(path)
            if isinstance(res, xpsfit.SeriesResult):
                return LoadedFile(path, [r.spectrum for r in res.results], "result", res,
                                  list(res.results))
            return LoadedFile(path, [res.spectrum], "result", None, [res])
        spectra = list(xpsfit.read(path))
        if not spectra:
            raise xpsfit.FileFormatError("no spectra in the file", path=str(path))
        return LoadedFile(path, spectra)

    def spectrum(self, key: KEY):
        fi, si = key
        return self.files[fi].spectra[si]

    def all_keys(self) -> list[KEY]:
        return [(fi, si) for fi, f in enumerate(self.files) for si in range(len(f.spectra))]

    def _add_recent(self, path: Path) -> None:
        recent = [str(path.resolve())] + [p for p in self._recent() if p != str(path.resolve())]
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self._refresh_recent_menu()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _c=False, p=p: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self._recent()))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_paths(paths)
            event.acceptProposedAction()

    # ================================================================== selection and display
    def _on_tree_current(self, item, _previous) -> None:
        key = item.data(0, Qt.UserRole) if item is not None else None
        if key is not None:
            self.select(tuple(key))

    def select(self, key: KEY) -> None:
        key = tuple(key)
        self.current = key
        item = self.tree.item_for(key)
        if item is not None and self.tree.currentItem() is not item:
            self.tree.blockSignals(True)
            self.tree.setCurrentItem(item)
            self.tree.blockSignals(False)
        result = self.results.get(key)
        if result is not None and self.files[key[0]].kind == "result":
            # a saved fit brings its own recipe: show exactly what was saved
            self.recipe = result.recipe
            self.panel.show_recipe(self.recipe)
        self.refresh()

    def refresh(self) -> None:
        """Redraw the plot and table for the current spectrum and recipe."""
        self._table_timer.stop()
        if self.current is None:
            self.view.clear_plot()
            self.table.show_components(self.recipe, None)
            return
        spectrum = self.spectrum(self.current)
        result = self.results.get(self.current)
        rng = self.recipe.range if self.recipe is not None else None
        comps = self.recipe.components if self.recipe is not None else None
        shown = self._shown_spectrum(spectrum, result)
        self.view.show_spectrum(shown, rng, result, comps)
        self.view.show_casa_model(self.casa_overlays.get(shown))
        self.table.show_components(self.recipe if self.recipe is not None else
                                   (result.recipe if result is not None else None), result)
        self._show_calibration(result)
        region, label, volt = spectrum_caption(spectrum)
        status = f"{region} {label} {volt}".strip()
        if result is not None:
            st = result.statistics
            status += f" — χ²ᵣ = {st.redchi:.3g}, {st.nfev} evaluations"
            if result.warnings:
                status += f", {len(result.warnings)} warning(s)"
            status += verdict_caption(result)
        self.show_message(status)

    # ================================================================== recipe edits (undoable)
    def set_recipe(self, new, text: str) -> None:
        """Replace the working recipe through the undo stack."""
        self.undo_stack.push(RecipeEdit(self._apply_recipe, self.recipe, new, text))

    def _apply_recipe(self, recipe) -> None:
        self.recipe = recipe
        refit = (self.auto_refit and recipe is not None and self.current is not None
                 and self.current in self.results)
        if refit:
            # the plot keeps the previous fit until the new one arrives (no double redraw); the
            # table shows the new start values only if the fit is slow: rebuilt now it would
            # hold the interpreter while the fit thread needs it, and the result rebuilds it
            self.fit_current()
            self.panel.show_recipe(recipe)
            self.view.move_markers(recipe.components)
            self._table_timer.start()
        else:
            self.panel.show_recipe(recipe)
            self.refresh()

    def _edit(self, change, text: str) -> bool:
        if self.recipe is None:
            self.report_error("no recipe: choose a library and region, or load a recipe first")
            return False
        try:
            new = change(self.recipe)
        except (xpsfit.XpsfitError, ValueError, TypeError) as exc:
            msg = exc.one_line() if isinstance(exc, xpsfit.XpsfitError) else str(exc)
            self.report_error(msg)
            self.refresh()          # put the rejected value back in the table
            return False
        self.set_recipe(new, text)
        return True

    def _on_marker_moved(self, species: str, position: float) -> None:
        if self.recipe is not None and any(c.species == species and c.position == position
                                           for c in self.recipe.components):
            self.view.end_preview()
            return
        self._edit(lambda r: recipe_edit.edit_component(r, species, "position", position),
                   f"move {species} to {position:.2f} eV")

    def _on_range_changed(self, lo: float, hi: float) -> None:
        current = self.recipe.range if self.recipe is not None else None
        if current is not None and abs(current[0] - lo) < 1e-9 and abs(current[1] - hi) < 1e-9:
            self.view.end_preview()
            return      # a programmatic set or a click without a move: nothing to undo
        self._edit(lambda r: recipe_edit.with_range(r, lo, hi), f"range {lo:.1f}–{hi:.1f} eV")

    def _on_table_edit(self, species: str, field_: str, value) -> None:
        # deferred: the table is rebuilt by the edit, which must not happen inside its own signal
        QTimer.singleShot(0, lambda: self._edit(
            lambda r: recipe_edit.edit_component(r, species, field_, value),
            f"{species} {field_} = {value}"))

    def edit_component(self, species: str, field_: str, value) -> bool:
        """Programmatic equivalent of a table edit (used by tests and scripts)."""
        return self._edit(lambda r: recipe_edit.edit_component(r, species, field_, value),
                          f"{species} {field_} = {value}")

    def _on_library_region(self, library: str, region: str) -> None:
        try:
            lib = xpsfit.load_library(library)
            keys = list(lib.region(region).species)
            new = recipe_edit.new_recipe(library, region, keys,
                                         self.panel.lineshape_combo.currentText(),
                                         self.panel.background_combo.currentText())
        except xpsfit.XpsfitError as exc:
            self.report_error(exc.one_line())
            return
        self.set_recipe(new, f"recipe {library} / {region}")

    def _on_species(self, species: list) -> None:
        if not species:
            self.report_error("a recipe needs at least one species")
            self.panel.show_recipe(self.recipe)
            return
        self._edit(lambda r: recipe_edit.with_species(r, species), "species " + ", ".join(species))

    def load_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load recipe", "", "Recipes (*.toml)")
        if path:
            self.load_recipe(path)

    def load_recipe(self, path) -> bool:
        try:
            recipe = xpsfit.load_recipe(path)
        except xpsfit.XpsfitError as exc:
            self.report_error(exc.one_line())
            return False
        except OSError as exc:
            self.report_error(f"{path}: cannot open: {exc.strerror or exc}")
            return False
        self.set_recipe(recipe, f"load recipe {Path(path).name}")
        self.show_message(f"Recipe {path} loaded ({len(recipe.components)} components).", 8000)
        return True

    def recipe_from_casa_model(self) -> bool:
        """Make the working recipe from the CasaXPS model stored with the current spectrum."""
        if self.current is None:
            self.report_error("select a spectrum that carries a CasaXPS model")
            return False
        try:
            recipe = xpsfit.recipe_from_casa(self.spectrum(self.current))
        except xpsfit.XpsfitError as exc:
            self.report_error(exc.one_line())
            return False
        self.set_recipe(recipe, "recipe from CasaXPS model")
        self.show_message(f"Recipe from the CasaXPS model ({len(recipe.components)} "
                          "components).", 8000)
        return True

    def save_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save recipe", "recipe.toml",
                                              "Recipes (*.toml)")
        if path:
            self.save_recipe(path)

    def save_recipe(self, path) -> bool:
        if self.recipe is None:
            self.report_error("no recipe to save")
            return False
        return self._write_atomically(path, lambda tmp: Path(tmp).write_text(
            xpsfit.recipe_to_toml(self.recipe), encoding="utf-8"), "recipe")

    # ================================================================== fitting
    def is_busy(self) -> bool:
        return self.job is not None

    def fit_current(self) -> None:
        if self.current is None:
            self.report_error("select a spectrum to fit")
            return
        if self.recipe is None:
            self.report_error("no recipe: choose a library and region, or load a recipe first")
            return
        key, recipe, spectrum = self.current, self.recipe, self.spectrum(self.current)
        label = spectrum_caption(spectrum)[1]

        def work(progress):
            return xpsfit.fit(spectrum, recipe, progress=progress)

        self._start_job(work, f"fitting {label or 'spectrum'}", ("fit", key))

    def series_from_selection(self) -> list[KEY]:
        keys = self.tree.selected_keys() or ([self.current] if self.current else [])
        return self.set_series(keys)

    def set_series(self, keys: list[KEY]) -> list[KEY]:
        """Put spectra in the series list, ordered by voltage then label (reorderable)."""
        regions = {xpsfit.region_key(self.spectrum(k).attrs.get("region", "")) for k in keys}
        if len(regions) > 1:
            self.report_error("a series needs spectra of one region; the selection has "
                              + ", ".join(sorted({self.spectrum(k).attrs.get('region', '')
                                                  for k in keys})))
            return []

        def order(k):
            # spectra without a voltage (pristine, reference) first, then by voltage
            a = self.spectrum(k).attrs
            v = float(a.get("voltage", math.nan))
            return (math.isfinite(v), v if math.isfinite(v) else 0.0,
                    str(a.get("label", "")), k)

        keys = sorted(keys, key=order)
        self.series_list.clear()
        for k in keys:
            region, label, volt = spectrum_caption(self.spectrum(k))
            text = label if (not volt or _mentions_voltage(label, volt)) \
                else f"{label or k} {volt}".strip()
            item = QListWidgetItem(f"{text}  [{region}]")
            item.setData(Qt.UserRole, k)
            self.series_list.addItem(item)
        return keys

    def series_keys(self) -> list[KEY]:
        return [tuple(self.series_list.item(i).data(Qt.UserRole))
                for i in range(self.series_list.count())]

    def fit_series(self) -> None:
        keys = self.series_keys()
        if len(keys) < 2:
            self.report_error("make a series first: select ≥ 2 spectra of one region, then "
                              "'Series from selection'")
            return
        if self.recipe is None:
            self.report_error("no recipe: choose a library and region, or load a recipe first")
            return
        spectra, recipe = [self.spectrum(k) for k in keys], self.recipe
        func = xpsfit.fit_series
        with_progress = _accepts_progress(func)

        def work(progress):
            if with_progress:
                return func(spectra, recipe, progress=progress)
            return func(spectra, recipe)

        self._start_job(work, f"joint fit of {len(keys)} spectra", ("series", tuple(keys)))

    def _start_job(self, work, description: str, what: tuple) -> None:
        if self.job is not None:
            # newest request wins: stop the running fit, start this one when it has stopped
            self._pending = (work, description, what)
            self.job.cancel()
            return
        job = Job(work, description, self)
        job.progress.connect(self._on_progress)
        job.succeeded.connect(lambda res, secs, what=what: self._on_job_done(what, res, secs))
        job.failed.connect(self._on_job_failed)
        job.cancelled.connect(lambda: self.show_message("Cancelled.", 5000))
        job.finished.connect(self._on_job_finished)
        self.job = job
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self.show_message(description + "…")
        self.jobStarting.emit(job)
        job.start()

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
        if message:
            self.show_message(message)

    def _on_job_done(self, what: tuple, result, seconds: float) -> None:
        if self.job is not None and self.job.cancel_requested:
            return      # superseded by a newer request
        self.last_fit_seconds = seconds
        if what[0] == "fit":
            key = what[1]
            self.results[key] = result
            if key == self.current:
                self.refresh()
            self.show_message(f"Fit done in {seconds * 1000:.0f} ms — χ²ᵣ = "
                              f"{result.statistics.redchi:.3g}"
                              + (f"; {len(result.warnings)} warning(s)" if result.warnings
                                 else "") + verdict_caption(result), 15000)
        elif what[0] == "propagate":
            self._on_propagated(what[1], result, seconds)
        else:
            keys = what[1]
            self.series_result = result
            for k, r in zip(keys, result.results):
                self.results[k] = r
            self.series_view.add_series(result)
            self.tabs.setCurrentIndex(1)
            if self.current in keys:
                self.refresh()
            self.show_message(f"Series fit of {len(keys)} spectra done in {seconds:.2f} s.",
                              15000)

    def _on_job_failed(self, message: str) -> None:
        self.report_error(message)

    def _on_job_finished(self) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.deleteLater()
        self.progress_bar.setVisible(False)
        self.cancel_button.setVisible(False)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._start_job(*pending)
        else:
            self.view.end_preview()     # a failed or cancelled refit leaves no preview shown

    def cancel_fit(self) -> None:
        self._pending = None
        if self.job is not None:
            self.job.cancel()
            self.show_message("Cancelling…")

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Process events until no fit runs (screenshot mode, scripts, benchmarks)."""
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(2)
        timer.timeout.connect(lambda: (self.job is None and self._pending is None) and loop.quit())
        deadline = QTimer()
        deadline.setSingleShot(True)
        deadline.timeout.connect(loop.quit)
        timer.start()
        deadline.start(int(timeout_s * 1000))
        if self.job is not None or self._pending is not None:
            loop.exec()
        timer.stop()
        return self.job is None and self._pending is None

    # ================================================================== exports
    def current_result(self):
        return self.results.get(self.current) if self.current is not None else None

    def _write_atomically(self, path, write, what: str) -> bool:
        """Write through xpsfit.atomic (unique temp file in the same folder, fsync, rename);
        never leave a half-written file. ``write(tmp)`` gets a temporary path that keeps the
        target's suffix, because writers such as the image export choose the format from it."""
        path = Path(path)
        try:
            with xpsfit.atomic_path(path) as tmp:
                named = tmp.with_name(tmp.name + path.suffix)
                try:
                    write(named)
                    os.replace(named, tmp)
                finally:
                    named.unlink(missing_ok=True)
        except xpsfit.XpsfitError as exc:
            self.report_error(exc.one_line())
            return False
        except OSError as exc:
            self.report_error(f"{path}: cannot write {what}: {exc.strerror or exc}")
            return False
        except Exception as exc:  # noqa: BLE001 - a bug while writing must not kill the app
            self.report_error(f"{path}: cannot write {what}: {type(exc).__name__}: {exc}")
            return False
        self.show_message(f"Saved {what} to {path}", 8000)
        return True

    def _export_target(self, series: bool):
        if series:
            if self.series_result is None:
                self.report_error("no series result to export: fit a series first")
            return self.series_result
        res = self.current_result()
        if res is None:
            self.report_error("no fit to export: fit the spectrum first")
        return res

    def export_hdf5(self, path, series: bool = False) -> bool:
        res = self._export_target(series)
        if res is None:
            return False
        return self._write_atomically(path, lambda tmp: xpsfit.save(res, tmp), "result (HDF5)")

    def export_csv(self, path, series: bool = False) -> bool:
        res = self._export_target(series)
        if res is None:
            return False
        return self._write_atomically(path, lambda tmp: xpsfit.write_table(res, tmp), "table")

    #: PNG resolution of "Export plot" (asked in the dialog)
    export_dpi = 300

    def export_plot(self, path, dpi: int | None = None) -> bool:
        """The same matplotlib figure the CLI and the report build (what you see is what you
        export): the fit figure on the spectrum tab, the Fig. 3 layout on the series tab;
        PNG at ``dpi``, vector SVG or PDF."""
        suffix = Path(path).suffix.lower()
        if suffix not in (".png", ".svg", ".pdf"):
            self.report_error(f"{path}: cannot write plot: use a .png, .svg or .pdf name")
            return False
        series = self._series_tab()
        res = self._export_target(series)
        if res is None:
            return False
        dpi = int(dpi or self.export_dpi)

        def write(tmp):
            # the series tab: every series of its chart, in its order (CNF | chart | KB)
            fig = (xpsfit.study_figure(self.series_view.shown or [res], self.series_view.names()
                                       if self.series_view.shown else None)
                   if series else xpsfit.fit_figure(res))
            xpsfit.save_figure(fig, tmp, dpi=dpi)
        return self._write_atomically(path, write, "plot")

    def _series_tab(self) -> bool:
        return self.tabs.currentIndex() == 1

    def export_hdf5_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export result", "result.h5",
                                              "HDF5 (*.h5 *.hdf5 *.nxs)")
        if path:
            self.export_hdf5(path, series=self._series_tab())

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export table", "components.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_csv(path, series=self._series_tab())

    def export_plot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", "fit.png",
                                              "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)")
        if not path:
            return
        if Path(path).suffix.lower() == ".png":
            dpi, ok = QInputDialog.getInt(self, "Export plot", "PNG resolution (dpi):",
                                          self.export_dpi, 72, 1200, 50)
            if not ok:
                return
            self.export_dpi = dpi
        self.export_plot(path)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.job is not None:
            self._pending = None
            self.job.cancel()
            self.job.wait(5000)
        super().closeEvent(event)
