"""``xpsfit fit`` end to end on the example series: output, table, figure, exit codes."""
import csv
import json

import pytest

from realdata import EXAMPLES
from xpsfit.cli import main

SERIES = EXAMPLES / "cnf_series.vms"
RECIPE = EXAMPLES / "s2p_sulfide.toml"


@pytest.fixture
def examples():
    if not (SERIES.is_file() and RECIPE.is_file()):
        pytest.skip("example spectra/recipes are absent")
    return SERIES, RECIPE


def test_fit_selected_block_writes_table_and_png(examples, tmp_path, capsys):
    table, plot = tmp_path / "t.csv", tmp_path / "f.png"
    rc = main(["fit", str(SERIES), "--recipe", str(RECIPE), "--select", "0",
               "--table", str(table), "--plot", str(plot), "--report"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "PS₄³⁻" in out and "reduced chi2" in out and "±" in out
    rows = list(csv.DictReader(open(table, encoding="utf-8")))
    for col in ("spectrum", "species", "area", "area_stderr", "fraction", "fraction_stderr",
                "position", "position_stderr", "fwhm", "fwhm_stderr", "label", "fwhm_param",
                "fraction_mc_stderr", "success"):
        assert col in rows[0]
    assert [r["species"] for r in rows] == ["PS4", "S2-", "polysulfide", "S0"]
    truth = json.loads((EXAMPLES / "truth.json").read_text())["blocks"]
    block = next(b for b in truth if b["file"] == SERIES.name and b["block_index"] == 0)
    for row, comp in zip(rows, block["components"]):
        assert abs(float(row["fraction"]) - comp["fraction"]) < 0.02
        if comp["fraction"] > 0.03:
            assert abs(float(row["position"]) - comp["position"]) < 0.05
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_fit_all_matching_spectra_one_table(examples, tmp_path, capsys):
    table = tmp_path / "all.csv"
    rc = main(["fit", str(SERIES), "--recipe", str(RECIPE), "--table", str(table)])
    out = capsys.readouterr().out
    rows = list(csv.DictReader(open(table, encoding="utf-8")))
    n_s2p = len(out.strip().splitlines())
    assert n_s2p == 5 and len(rows) == 4 * n_s2p
    assert rc in (0, 1)                    # 1 only when a fit is flagged, never a crash


def test_bad_inputs_give_one_line_and_exit_2(examples, tmp_path, capsys):
    table = tmp_path / "t.csv"
    rc = main(["fit", str(SERIES), "--recipe", str(RECIPE), "--select", "Fe 2p",
               "--table", str(table)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("xpsfit: error:") and len(err.strip().splitlines()) == 1
    assert "no spectrum matches" in err and not table.exists()
    rc = main(["fit", str(tmp_path / "missing.vms"), "--recipe", str(RECIPE)])
    err = capsys.readouterr().err
    assert rc == 2 and "missing.vms" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text('region = "S 2p"\nlibrary = "nope"\n')
    rc = main(["fit", str(SERIES), "--recipe", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1


def test_unwritable_table_is_an_error_not_a_traceback(examples, tmp_path, capsys):
    rc = main(["fit", str(SERIES), "--recipe", str(RECIPE), "--select", "0",
               "--table", str(tmp_path / "no" / "such" / "dir" / "t.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "t.csv" in err and len(err.strip().splitlines()) == 1


def test_monte_carlo_option_prints_second_sigma(examples, capsys):
    rc = main(["fit", str(SERIES), "--recipe", str(RECIPE), "--select", "0",
               "--monte-carlo", "10"])
    assert rc == 0
    assert "MC ±" in capsys.readouterr().out
