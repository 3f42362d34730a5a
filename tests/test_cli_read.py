"""``xpsfit read`` through the real console entry point (a subprocess)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def real_file(real_dir):
    """``real_file("lg4x-v2/C1s_sample.csv")`` -> path in the shared real spectra; skips with a
    reason when that file is absent (a fixture, not an import of conftest, because
    tests/gui has a conftest module of its own)."""
    def get(rel: str) -> Path:
        path = real_dir / rel
        if not path.is_file():
            pytest.skip(f"real spectrum {path} is absent")
        return path
    return get


ROOT = Path(__file__).resolve().parent.parent


def xpsfit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xpsfit", "read", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_lists_every_spectrum_one_line_each(real_file):
    xml = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml")
    spe = real_file("jesusf10-xps-data-analysis/BN-BS-1 multiplex.spe")
    r = xpsfit(xml, spe)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3 + 6
    assert "S 2p" in lines[2] and "281 pts" in lines[2] and "BE 159.00..173.00" in lines[2]
    assert "hv 1253.60" in lines[2] and "axis KE" in lines[2] and "counts" in lines[2]
    assert "#4" in lines[7] and "Ti 2p" in lines[7] and "701 pts" in lines[7]
    assert r.stderr == ""


def test_json_output_is_a_list_with_nulls_for_unknowns(real_file):
    r = xpsfit("--json", real_file("lg4x-v2/C1s_sample.csv"), real_file("yadg/test0.spe"))
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(d["region"], d["points"]) for d in rows] == [("C 1s", 351), ("Survey", 3401),
                                                          ("F 1s", 161)]
    assert rows[0]["excitation_energy"] is None and rows[0]["counts_unit"] == "arbitrary"
    assert rows[2]["be_min"] == pytest.approx(675.0) and rows[2]["format"] == "phi_spe"


def test_bad_files_one_line_each_others_still_listed_exit_2(tmp_path, real_file):
    empty = tmp_path / "empty.xy"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.spe"
    junk.write_bytes(b"\x00\x01garbage" * 100)
    good = real_file("lg4x-v2/C1s_sample.csv")
    r = xpsfit(empty, good, tmp_path / "missing.csv", junk)
    assert r.returncode == 2
    assert len(r.stdout.splitlines()) == 1 and "C 1s" in r.stdout
    err = r.stderr.splitlines()
    assert len(err) == 3 and "Traceback" not in r.stderr
    assert err[0] == f"xpsfit: error: {empty}: empty file"
    assert err[1] == f"xpsfit: error: {tmp_path / 'missing.csv'}: no such file"
    assert err[2].startswith(f"xpsfit: error: {junk}: unknown file format; supported:")


def test_ke_column_file_needs_and_takes_the_excitation_energy(real_file):
    path = real_file("yharada-xps-peakfit/1804100340_dsp.csv")
    r = xpsfit("--axis", "KE", path)
    assert r.returncode == 2 and "excitation energy" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    r = xpsfit("--axis", "ke", "--excitation-energy", "730", "--region", "O 1s", "--json", path)
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["region"] == "O 1s" and row["original_axis"] == "KE"
    assert (row["be_min"], row["be_max"]) == (pytest.approx(525.0), pytest.approx(538.0))
