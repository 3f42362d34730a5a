"""Re-make docs/img/gui_calibrate.png, gui_propagate.png and gui_quantify.png: the window after
calibrating a charged real C 1s, propagating its model over five spectra, and quantifying a
real multi-region acquisition (needs ../shared/real_spectra).

    QT_QPA_PLATFORM=offscreen python tools/make_gui_analysis_shots.py
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real_spectra"
OUT = ROOT / "docs" / "img"

CHARGED = {"region": "C 1s", "library": "common", "range": [276.0, 288.0],
           "components": [{"species": "C-C", "position": 280.8, "window": 0.6},
                          {"species": "C-O", "position": 282.5, "window": 0.6},
                          {"species": "C=O", "position": 284.0, "window": 0.8}]}
MULTIPAK = {"C 1s": ([280.0, 292.0], ["C-C", "C-O", "C=O"]),
            "O 1s": ([525.0, 540.0], ["OH", "C-O"]),
            "Mo 3d": ([222.0, 240.0], ["Mo4+", "Mo6+"])}


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    import xpsfit
    from xpsfit_gui.main_window import MainWindow
    app = QApplication.instance() or QApplication(["xpsfit-gui"])

    def window():
        w = MainWindow(settings=QSettings(str(OUT / "shots.ini"), QSettings.IniFormat),
                       error_hook=lambda m: print("error:", m, file=sys.stderr))
        w.resize(1300, 820)
        w.show()
        return w

    def keys(w, region):
        return [k for k in w.all_keys() if w.spectrum(k).attrs["region"] == region]

    def fit(w, key, recipe):
        w.select(key)
        w.set_recipe(recipe, "recipe")
        w.wait_idle()
        w.fit_current()
        w.wait_idle()

    def shot(w, name):
        for _ in range(5):
            app.processEvents()
        w.grab().save(str(OUT / name))
        print("wrote", OUT / name)

    w = window()
    w.open_paths([REAL / "cheminfo-vamas" / "ARXPS.vms"])
    c1s = keys(w, "C 1s")
    fit(w, c1s[0], xpsfit.recipe_from_dict(CHARGED))
    w.calibrate("C-C", 284.8)
    w.wait_idle()
    shot(w, "gui_calibrate.png")
    for k in c1s:
        w.tree.item_for(k).setSelected(True)
    w.propagate(c1s)
    w.wait_idle()
    shot(w, "gui_propagate.png")
    w.close()

    w = window()
    w.open_paths([REAL / "lg4x-v2" / "Mutlipak_vms.npl"])
    for region, (rng, species) in MULTIPAK.items():
        fit(w, keys(w, region)[0], xpsfit.recipe_from_dict(
            {"region": region, "library": "common", "range": rng,
             "components": [{"species": s} for s in species]}))
    w.select(keys(w, "C 1s")[0])
    w.quantify()
    shot(w, "gui_quantify.png")
    w.close()
    (OUT / "shots.ini").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
