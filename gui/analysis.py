"""Calibrate, propagate, quantify: the main window's analysis actions (issue 13 items 4–6).

A mixin of :class:`~xpsfit_gui.main_window.MainWindow`, kept apart so the window module stays
wiring only. Every number comes from the core through the public API: the calibration is
``xpsfit.with_charge_reference`` + ``xpsfit.fit`` (one rigid shift, recorded in the result)
and ``xpsfit.shift_like`` for the acquisition's other regions; propagation is
``xpsfit.fit_series(mode="propagate")`` in the worker thread; atomic % is
``xpsfit.element_quantification``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel

import xpsfit

from .file_tree import spectrum_caption
from .rows_table import RowsTable, plus_minus

ACROSS_HEADERS = ["spectrum", "species", "position (eV)", "FWHM (eV)", "area", "fraction (%)",
                  "χ²ᵣ", "charge shift (eV)", "verdict"]
QUANT_HEADERS = ["region", "area", "RSF", "atomic %", "RSF source"]


def verdict(result) -> str:
    """The fit's verdict field when the core provides one, else its trustworthiness."""
    given = getattr(result, "verdict", None)
    if given:
        return str(given)
    return "ok" if result.success else "NOT TRUSTWORTHY: " + "; ".join(result.flags)


def across_rows(series) -> tuple[list[list[str]], list[bool]]:
    rows, warn = [], []
    for label, r in zip(series.labels, series.results):
        name = label or r.spectrum_name()
        for c in r.components:
            rows.append([name, c.label, plus_minus(c.position, c.position_stderr),
                         plus_minus(c.fwhm, c.fwhm_stderr),
                         plus_minus(c.area, c.area_stderr, 0),
                         plus_minus(c.fraction, c.fraction_stderr, 1, 100.0),
                         f"{r.statistics.redchi:.3g}", f"{r.charge_shift:+.3f}", verdict(r)])
            warn.append(not r.success)
    return rows, warn


class SpectraEdit(QUndoCommand):
    """Replace some spectra (a calibration shift), and with ``recipes=(old, new)`` the working
    recipe too, dropping the now stale fits; undo puts spectra, recipe and fits back. With
    ``refit`` the current spectrum is fitted again after the change."""

    def __init__(self, window, new: dict, text: str, recipes: tuple | None = None,
                 refit: bool = False):
        super().__init__(text)
        self.window = window
        self.new = new
        self.old = {k: window.spectrum(k) for k in new}
        self.old_results = {k: window.results[k] for k in new if k in window.results}
        self.recipes = recipes
        self.refit = refit

    def _put(self, spectra: dict, results: dict, recipe_index: int) -> None:
        w = self.window
        w.cancel_fit()          # a fit still running belongs to the state being left
        for (fi, si), s in spectra.items():
            w.files[fi].spectra[si] = s
            w.results.pop((fi, si), None)
        w.results.update(results)
        if self.recipes is not None:
            w.recipe = self.recipes[recipe_index]
            w.panel.show_recipe(w.recipe)
        w.refresh()

    def redo(self) -> None:
        self._put(self.new, {}, 1)
        if self.refit:
            self.window.fit_current()

    def undo(self) -> None:
        self._put(self.old, self.old_results, 0)


class AnalysisMixin:
    """Calibration, propagation and quantification for the main window."""

    def _build_analysis(self) -> None:
        self.propagated = None
        self.quantification = None
        self.across_view = RowsTable("Propagate a model (Fit ▸ Propagate to selection) to see "
                                     "every spectrum's components here.")
        self.quant_view = RowsTable("Fit two or more regions of one acquisition, then Fit ▸ "
                                    "Quantify acquisition.")
        self.tabs.addTab(self.across_view, "Across spectra")
        self.tabs.addTab(self.quant_view, "Quantification")
        self.across_view.exportRequested.connect(self._export_across_dialog)
        self.quant_view.exportRequested.connect(self._export_quant_dialog)
        self.calibration_label = QLabel("")
        self.statusBar().addPermanentWidget(self.calibration_label)
        menu = self.menuBar().addMenu("&Analysis")
        self._action(menu, "&Calibrate energy…", self.calibrate_dialog, "Ctrl+K",
                     "set a fitted component to a known energy (one shift for the acquisition)")
        self._action(menu, "Apply calibration to the &acquisition", self.apply_calibration,
                     tip="shift the other regions of this file and sample by the same amount")
        self._action(menu, "&Propagate to selection", self.propagate, "Ctrl+Shift+P",
                     "fit the selected spectra one by one with the current model")
        self._action(menu, "&Quantify acquisition", self.quantify, "Ctrl+Alt+Q",
                     "atomic % across the fitted regions of this file and sample")

    # ------------------------------------------------------------------ calibration
    def calibrate(self, species: str, energy: float) -> bool:
        """Put the fitted ``species`` at ``energy`` eV: the spectrum moves by ``energy −`` its
        fitted position, the recipe moves with it and gets a charge reference on its own region
        (so every refit keeps the line there), and the spectrum is refitted. One undo step puts
        spectrum, recipe and fit back."""
        res = self.current_result()
        if res is None or self.recipe is None:
            self.report_error("fit the spectrum first: the calibration starts from the fitted "
                              "position of the component")
            return False
        try:
            spectrum, recipe = xpsfit.calibration_inputs(_with_recipe(res, self.recipe),
                                                         species, energy)
        except xpsfit.XpsfitError as exc:
            self.report_error(exc.one_line())
            return False
        self.undo_stack.push(SpectraEdit(self, {self.current: spectrum},
                                         f"calibrate {species} to {energy:g} eV",
                                         (self.recipe, recipe), refit=True))
        return True

    def calibrate_dialog(self) -> None:
        if self.recipe is None:
            self.report_error("no recipe: choose a library and region, or load a recipe first")
            return
        names = [c.species for c in self.recipe.components]
        species, ok = QInputDialog.getItem(self, "Calibrate energy", "Component:", names, 0,
                                           False)
        if not ok:
            return
        start = next(c.position for c in self.recipe.components if c.species == species)
        energy, ok = QInputDialog.getDouble(self, "Calibrate energy",
                                            f"Binding energy of {species} (eV):", start, 0.0,
                                            20000.0, 3)
        if ok:
            self.calibrate(species, energy)

    def apply_calibration(self) -> int:
        """Give the current fit's charge shift to the other regions of its acquisition (file and
        sample); their old fits are dropped (they were on the old axis). Returns how many spectra
        moved."""
        res = self.current_result()
        if res is None or not res.charge_reference:
            self.report_error("calibrate first: Analysis ▸ Calibrate energy on a fitted spectrum")
            return 0
        keys = self.all_keys()
        moved = xpsfit.shift_like([self.spectrum(k) for k in keys], res)
        new = {k: s for k, s in zip(keys, moved) if s is not self.spectrum(k)}
        if new:
            self.undo_stack.push(SpectraEdit(self, new, f"charge shift {res.charge_shift:+.3f} eV "
                                                        f"on {len(new)} spectra"))
        self.show_message(f"Charge shift {res.charge_shift:+.3f} eV applied to {len(new)} "
                          "other spectra of this acquisition.", 10000)
        return len(new)

    @staticmethod
    def _shown_spectrum(spectrum, result):
        """The data on the axis the fit was made on: a calibrated fit shifted its spectrum."""
        if result is not None and float(result.charge_shift) != float(
                spectrum.attrs.get("charge_shift", 0.0) or 0.0):
            return result.spectrum
        return spectrum

    def _show_calibration(self, result) -> None:
        if result is None or not (result.charge_shift or result.charge_reference):
            self.calibration_label.setText("")
            return
        ref = result.charge_reference
        text = f"charge shift {result.charge_shift:+.3f} eV"
        if ref:
            text += (f" ({ref['region']} {ref['species']} {ref['measured']:.3f} → "
                     f"{ref['assigned']:g} eV)")
        else:
            text += f" ({result.spectrum.attrs.get('charge_reference', 'from the file')})"
        self.calibration_label.setText(text)

    # ------------------------------------------------------------------ propagation
    def propagate(self, keys=None) -> bool:
        """Fit each of ``keys`` (default: the selection) with the current model, each fit
        starting from the previous one's values; the results fill the Across spectra table."""
        keys = [tuple(k) for k in (keys if keys is not None else self.tree.selected_keys())]
        if len(keys) < 2:
            self.report_error("select two or more spectra to propagate the model to")
            return False
        if self.recipe is None:
            self.report_error("no recipe: choose a library and region, or load a recipe first")
            return False
        want = xpsfit.region_key(self.recipe.region)
        other = sorted({str(self.spectrum(k).attrs.get("region", "")) for k in keys
                        if xpsfit.region_key(self.spectrum(k).attrs.get("region", "")) != want})
        if other:
            self.report_error(f"the model fits {self.recipe.region}; the selection also has "
                              + ", ".join(other))
            return False
        spectra, recipe = [self.spectrum(k) for k in keys], self.recipe
        ref = self.current_result()
        if recipe.charge_reference is not None and ref is not None and ref.charge_reference:
            # a calibrated model: its windows are in the referenced scale, so the acquisition's
            # spectra start from the calibration's shift (each fit refines its own)
            spectra = xpsfit.shift_like(spectra, ref, same_region=True)
        labels = [_label(self.spectrum(k), k) for k in keys]

        def work(progress):
            return xpsfit.fit_series(spectra, recipe, labels=labels, mode="propagate",
                                     presence=False, progress=progress)

        self._start_job(work, f"propagating the model to {len(keys)} spectra",
                        ("propagate", tuple(keys)))
        return True

    def _on_propagated(self, keys, result, seconds: float) -> None:
        self.propagated = result
        for k, r in zip(keys, result.results):
            self.results[k] = r
        rows, warn = across_rows(result)
        bad = sum(not r.success for r in result.results)
        self.across_view.show_rows(
            ACROSS_HEADERS, rows, f"{self.recipe.region if self.recipe else ''} model "
            f"propagated to {len(keys)} spectra in {seconds:.2f} s"
            + (f"; {bad} fit(s) NOT TRUSTWORTHY (shaded)" if bad else "; every fit ok"), warn)
        self.tabs.setCurrentWidget(self.across_view)
        if self.current in keys:
            self.refresh()
        self.show_message(f"Propagated to {len(keys)} spectra in {seconds:.2f} s.", 15000)

    def export_across_csv(self, path) -> bool:
        if self.propagated is None:
            self.report_error("nothing to export: propagate a model first")
            return False
        res = self.propagated
        return self._write_atomically(path, lambda tmp: xpsfit.write_table(res, tmp),
                                      "table across spectra")

    def _export_across_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export table", "across_spectra.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_across_csv(path)

    # ------------------------------------------------------------------ quantification
    def acquisition_results(self) -> list:
        """The fits of the current acquisition (file and sample), one per region (first in
        file order)."""
        if self.current is None:
            return []
        want = xpsfit.acquisition_key(self.spectrum(self.current))
        picked: dict[str, object] = {}
        for k in self.all_keys():
            r = self.results.get(k)
            if r is None or xpsfit.acquisition_key(self.spectrum(k)) != want:
                continue
            picked.setdefault(xpsfit.region_key(r.recipe.region), r)
        return list(picked.values())

    def quantify(self) -> bool:
        results = self.acquisition_results()
        if len(results) < 2:
            have = ", ".join(r.recipe.region for r in results) or "none"
            self.report_error("quantification needs fits of two or more regions of this "
                              f"acquisition (fitted: {have})")
            return False
        try:
            ds = xpsfit.element_quantification(results)
        except xpsfit.XpsfitError as exc:
            self.report_error(exc.one_line())
            return False
        self.quantification = ds
        rows = xpsfit.quantification_rows(ds)
        cells = [[r["region"], f"{r['area']:.5g}", f"{r['rsf']:g}",
                  plus_minus(r["atomic_percent"], r["atomic_percent_stderr"], 2),
                  r["rsf_source"] + ("  ← PLACEHOLDER RSF" if r["rsf_placeholder"] else "")]
                 for r in rows]
        warn = [r["rsf_placeholder"] or not res.success for r, res in zip(rows, results)]
        sample = results[0].spectrum.attrs.get("sample", "") or results[0].spectrum_name()
        caption = f"Atomic % of {sample}: area / RSF, normalised over {len(rows)} regions"
        placeholders = [r["region"] for r in rows if r["rsf_placeholder"]]
        if placeholders:
            caption += (f". The RSF of {', '.join(placeholders)} is a placeholder (1.0): these "
                        "numbers are not comparable until you set it")
        self.quant_view.show_rows(QUANT_HEADERS, cells, caption, warn)
        self.tabs.setCurrentWidget(self.quant_view)
        return True

    def export_quantification_csv(self, path) -> bool:
        if self.quantification is None:
            self.report_error("nothing to export: quantify an acquisition first")
            return False
        rows = xpsfit.quantification_rows(self.quantification)
        return self._write_atomically(path, lambda tmp: xpsfit.write_rows(
            rows, xpsfit.QUANTIFICATION_COLUMNS, tmp), "atomic % table")

    def _export_quant_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export atomic %", "atomic_percent.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_quantification_csv(path)


def _with_recipe(result, recipe):
    """The fit with the working recipe (an edit since the fit changes what is calibrated)."""
    import copy
    out = copy.copy(result)
    out.recipe = recipe
    return out


def _label(spectrum, key) -> str:
    region, label, volt = spectrum_caption(spectrum)
    name = Path(str(spectrum.attrs.get("source_file", "") or "")).name
    return f"{label or name} #{spectrum.attrs.get('block_index', key[1])} {volt}".strip()


__all__ = ["AnalysisMixin", "SpectraEdit", "across_rows", "verdict"]
