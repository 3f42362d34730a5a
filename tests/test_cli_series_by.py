"""`xpsfit fit --series --series-by file`: the reference study's CNF-vs-KB analysis in one call."""
from __future__ import annotations

import csv
import re
import subprocess
import sys

from realdata import EXAMPLES


def test_series_by_file_fits_each_electrode_and_finds_the_true_onsets(tmp_path):
    out = tmp_path
    cmd = [sys.executable, "-m", "xpsfit", "fit", str(EXAMPLES / "cnf_series.vms"),
           str(EXAMPLES / "kb_series.vms"), "-r", str(EXAMPLES / "p2p_sulfide.toml"), "--series",
           "--series-by", "file", "--table", str(out / "t.csv"), "--onsets", str(out / "on.csv"),
           "--bars", str(out / "bars.png"), "--report", str(out / "report.pdf"), "--save", str(out / "p2p.h5")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "== series cnf_series (5 spectra)" in proc.stdout
    assert "== series kb_series (5 spectra)" in proc.stdout
    with open(out / "on.csv", newline="") as fh:
        onsets = {(r["series"], r["species"]): r["onset_label"] for r in csv.DictReader(fh)}
    # truth.json: POx appears at 4.0 V with KB and only at 4.3 V with CNF
    assert onsets[("kb_series", "POx")] == "4.0 V"
    assert onsets[("cnf_series", "POx")] == "4.3 V"
    with open(out / "t.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 5 * 3 and {r["series"] for r in rows} == {"cnf_series", "kb_series"}
    # ONE composition chart holding both electrodes (named by sample, not by file)
    assert not list(out.glob("bars_*"))
    from matplotlib.image import imread
    img = imread(out / "bars.png")
    assert img.shape[1] == round(17.8 / 2.54 * 300)            # --size double at 300 dpi
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type /Page\W", pdf)) >= 2
    import xpsfit
    saved = xpsfit.load_results(out / "p2p.h5")
    assert [len(s.results) for s in saved] == [5, 5]
    saved_onsets = {o.species: o.label for o in saved[1].onsets}
    assert saved_onsets["POx"] == "4.0 V"
    # the saved series re-make the same study figure without refitting
    from xpsfit.cli import main
    assert main(["export", str(out / "p2p.h5"), "--figure", str(out / "again.svg")]) == 0
    svg = (out / "again.svg").read_text(encoding="utf-8")
    assert "P 2p composition" in svg and "POₓ appears" in svg and ">CNF<" in svg


def test_series_by_sample_groups_by_electrode_name():
    from xpsfit.cli.fit_series import group_key
    import xpsfit
    spectra = xpsfit.read(EXAMPLES / "kb_series.vms") + xpsfit.read(EXAMPLES / "cnf_series.vms")
    keys = {group_key(s, "sample") for s in spectra}
    assert keys == {"KB", "CNF"}
