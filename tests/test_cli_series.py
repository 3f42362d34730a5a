"""``xpsfit fit --series``: outputs, printed onsets, order, bad input writes nothing."""
import csv

from realdata import EXAMPLES
from xpsfit.cli import main

KB = str(EXAMPLES / "kb_series.vms")
S2P = str(EXAMPLES / "s2p_sulfide.toml")


def test_series_cli_writes_all_outputs(tmp_path, capsys):
    out = {k: tmp_path / f"{k}.{ext}" for k, ext in
           (("t", "csv"), ("o", "csv"), ("f", "png"), ("b", "png"), ("r", "pdf"))}
    rc = main(["fit", KB, "-r", S2P, "--series", "--order-by", "voltage",
               "--table", str(out["t"]), "--onsets", str(out["o"]), "--plot", str(out["f"]),
               "--bars", str(out["b"]), "--report", str(out["r"])])
    text = capsys.readouterr().out
    assert rc == 0
    assert "S⁰: appears at 3.8 V (F = " in text
    rows = list(csv.DictReader(open(out["t"], encoding="utf-8")))
    assert len(rows) == 20 and {"series_index", "label", "present"} <= set(rows[0])
    assert rows[0]["label"] == "pristine"
    onsets = {r["species"]: r for r in csv.DictReader(open(out["o"], encoding="utf-8"))}
    assert onsets["S0"]["onset_label"] == "3.8 V" and onsets["S0"]["onset_index"] == "2"
    assert out["f"].read_bytes()[:4] == b"\x89PNG" and out["b"].read_bytes()[:4] == b"\x89PNG"
    assert out["r"].read_bytes()[:4] == b"%PDF"


def test_series_cli_unknown_order_label_is_one_line_and_writes_nothing(tmp_path, capsys):
    t = tmp_path / "t.csv"
    rc = main(["fit", KB, "-r", S2P, "--series", "--order", "pristine,3.7 V", "--table", str(t)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "unknown spectra: '3.7 V'" in err and "labels are" in err
    assert not t.exists() and list(tmp_path.iterdir()) == []


def test_series_cli_independent_mode_prints_onsets(capsys):
    rc = main(["fit", KB, "-r", str(EXAMPLES / "p2p_sulfide.toml"), "--series",
               "--mode", "independent"])
    text = capsys.readouterr().out
    assert rc in (0, 1)
    assert "onsets" in text and "POₓ:" in text
