"""Draw the fit panels of docs/verdicts.md (real spectra with a known verdict) into docs/img.

    python tools/verdict_figures.py [--real ../shared/real_spectra] [--out docs/img]

Each panel's title carries the verdict and its reason codes, so the pictures show what the
verdict is about (the data, the background and the components).
"""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import xpsfit
from xpsfit.export.plots import fit_figure, save_figure
from xpsfit.spectrum import shift

ROOT = Path(__file__).resolve().parent.parent


def recipe(library: str, region: str, *, species=None, range_=None):
    """What ``xpsfit recipe init`` writes (all library species, the library's range), with
    optional species and range."""
    rec = xpsfit.start_recipe(library, region, species, source="<recipe init>")
    return xpsfit.set_range(rec, *range_) if range_ else rec


def cases(real: Path):
    pbttt = xpsfit.read(real / "pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml")[2]
    s0 = recipe("sulfide_electrolytes", "S 2p", species=["S0"], range_=(159.0, 173.0))
    phi = xpsfit.read(real / "lg4x-v2/Mutlipak_vms.npl")[0]
    return [
        ("verdict_controls.png", xpsfit.read(ROOT / "example_spectra/controls.vms")[0],
         xpsfit.load_recipe(ROOT / "example_spectra/s2p_sulfide.toml")),
        ("verdict_feo.png", xpsfit.read(real / "pynxtools-xps/FeO_analyzed.vms")[0],
         recipe("common", "Fe 2p")),
        ("verdict_pbttt.png", pbttt, s0),
        ("verdict_pbttt_charged.png", shift(pbttt, -1.5), s0),
        ("verdict_phi_c1s_full.png", phi, recipe("common", "C 1s", range_=(275.0, 305.0))),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", default=str(ROOT.parent / "shared" / "real_spectra"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = ap.parse_args()
    for name, spectrum, rec in cases(Path(args.real)):
        r = xpsfit.fit(spectrum, rec)
        codes = ", ".join(dict.fromkeys(x.code for x in r.verdict_reasons)) or "no reasons"
        fig = fit_figure(r)
        fig.suptitle(textwrap.fill(f"verdict {r.verdict}: {codes}", 55), fontsize=7)
        save_figure(fig, Path(args.out) / name, dpi=80)
        print(f"{name}: {r.verdict} ({codes}); reduced chi2 {r.statistics.redchi:.3g}")


if __name__ == "__main__":
    main()
