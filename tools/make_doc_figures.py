"""Re-make the figure pictures in docs/img from the shipped example spectra (public API only):
Fig. 3 (S 2p), Fig. S13 (P 2p), Fig. 4 (controls, S 2p and P 2p), the single-fit figure and
the first text page of the S 2p report (needs ``pdftoppm`` from poppler-utils).

    python tools/make_doc_figures.py [--dpi 150]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import xpsfit

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "example_spectra"
IMG = ROOT / "docs" / "img"


def region_spectra(file: str, region: str):
    return [s for s in xpsfit.read(EX / file) if s.attrs["region"] == region]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dpi", type=int, default=150)
    dpi = ap.parse_args().dpi
    recipes = {"S 2p": xpsfit.load_recipe(EX / "s2p_sulfide.toml"),
               "P 2p": xpsfit.load_recipe(EX / "p2p_sulfide.toml")}
    controls = []
    for region, name in (("S 2p", "fig3_s2p"), ("P 2p", "figS13_p2p")):
        series = [xpsfit.fit_series(region_spectra(f, region), recipes[region])
                  for f in ("cnf_series.vms", "kb_series.vms")]
        xpsfit.save_figure(xpsfit.study_figure(series), IMG / f"{name}.png", dpi=dpi)
        if region == "S 2p":
            xpsfit.save_figure(xpsfit.fit_figure(series[1].results[3]),
                               IMG / "fit_single_column.png", dpi=dpi)
            with tempfile.TemporaryDirectory() as tmp:
                pdf = Path(tmp) / "report.pdf"
                xpsfit.write_report(pdf, series)
                if shutil.which("pdftoppm"):
                    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "2", "-l", "2",
                                    "-singlefile", str(pdf), str(IMG / "report_page2")],
                                   check=True)
        controls.append(xpsfit.fit_series(region_spectra("controls.vms", region),
                                          recipes[region], mode="independent"))
    xpsfit.save_figure(xpsfit.singles_figure(controls), IMG / "fig4_controls.png", dpi=dpi)
    print("written:", ", ".join(sorted(p.name for p in IMG.glob("*.png"))))


if __name__ == "__main__":
    main()
