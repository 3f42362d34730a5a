"""Entry point of ``xpsfit-gui``.

``xpsfit-gui [FILES...] [--recipe R] [--fit | --series] [--map MAPS.h5 [--pixel R,C]]
[--screenshot OUT.png]`` opens the files, loads the recipe, optionally fits the first matching
spectrum (or the whole series of matching spectra) or opens a map result, and with
``--screenshot`` saves a picture of the main window and exits.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


#: --view names, in tab order
TABS = ("fit", "series", "map")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xpsfit-gui", description="xpsfit desktop application")
    p.add_argument("files", nargs="*", help="spectra files or saved HDF5 results")
    p.add_argument("--recipe", help="recipe TOML to load")
    p.add_argument("--fit", action="store_true", help="fit the first spectrum of the recipe's region")
    p.add_argument("--series", action="store_true",
                   help="jointly fit all spectra of the recipe's region as one series")
    p.add_argument("--select", type=int, default=None,
                   help="index (in file order) of the spectrum to show, among those of the region")
    p.add_argument("--view", choices=list(TABS), default=None, help="tab to show")
    p.add_argument("--map", metavar="MAPS.h5", help="open a map result (xpsfit map) in the Map tab")
    p.add_argument("--pixel", metavar="ROW,COL", help="with --map: show and fit this pixel")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="save a picture of the window after loading (and fitting), then exit")
    p.add_argument("--size", default="1400x860", help="window size WxH (screenshot mode)")
    return p


def matching_keys(window) -> list[tuple[int, int]]:
    """Spectra whose region matches the recipe's (all spectra when there is no recipe)."""
    import xpsfit
    keys = window.all_keys()
    if window.recipe is None:
        return keys
    want = xpsfit.region_key(window.recipe.region)
    return [k for k in keys
            if xpsfit.region_key(window.spectrum(k).attrs.get("region", "")) in (want, "")]


def prepare(window, args) -> int:
    """Load, select and fit as the arguments ask; returns the number of errors met."""
    if args.files:
        window.open_paths(args.files)
    if args.recipe:
        window.load_recipe(args.recipe)
    keys = matching_keys(window)
    if keys:
        index = args.select if args.select is not None else 0
        window.select(keys[min(max(index, 0), len(keys) - 1)])
    if args.series and len(keys) >= 2:
        window.set_series(keys)
        window.fit_series()
        window.wait_idle()
    if args.fit and keys:
        window.fit_current()
        window.wait_idle()
    if args.map:
        window.open_map_result(args.map)
        if args.pixel:
            try:
                row, col = (int(v) for v in args.pixel.split(","))
            except ValueError:
                window.report_error(f"--pixel must look like 12,34, not {args.pixel!r}")
            else:
                window.map_view.show_pixel(row, col)
    if args.view:
        window.tabs.setCurrentIndex(TABS.index(args.view))
    return len(window.errors)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    app = QApplication.instance() or QApplication(["xpsfit-gui"])
    app.setApplicationName("xpsfit-gui")
    if args.screenshot:
        # a screenshot run must not show dialogs or touch the user's recent-files list
        settings = QSettings(str(Path(args.screenshot).with_suffix(".ini")), QSettings.IniFormat)
        errors: list[str] = []
        window = MainWindow(settings=settings, error_hook=errors.append)
        w, h = (int(v) for v in args.size.lower().split("x"))
        window.resize(w, h)
    else:
        window = MainWindow()
    window.show()
    prepare(window, args)
    if args.screenshot:
        for _ in range(5):
            app.processEvents()
        ok = window.grab().save(str(args.screenshot))
        Path(args.screenshot).with_suffix(".ini").unlink(missing_ok=True)
        for message in window.errors:
            print(f"xpsfit-gui: {message}", file=sys.stderr)
        if not ok:
            print(f"xpsfit-gui: could not write {args.screenshot}", file=sys.stderr)
            return 2
        window.close()
        return 1 if window.errors else 0
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
