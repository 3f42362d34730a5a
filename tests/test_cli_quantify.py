"""``xpsfit quantify``: atomic % across the regions of a real acquisition, RSF source shown,
placeholder RSFs flagged."""
from __future__ import annotations

import csv

import pytest

from realdata import real_file
from xpsfit import read, recipe_from_dict
from xpsfit.cli import main
from xpsfit.fitting.single import fit

RECIPES = {
    "C 1s": ["C-C", "C-O", "C=O"],
    "O 1s": ["OH", "C-O"],
    "S 2p": ["sulfide", "sulfate"],
    "Mo 3d": ["Mo4+", "Mo6+"],
}
#: fit windows inside each block (the C 1s block runs to 305 eV, where a Shirley does not settle)
RANGES = {"C 1s": [280.0, 292.0], "O 1s": [525.0, 540.0], "S 2p": [155.0, 175.0],
          "Mo 3d": [222.0, 240.0]}


def _recipe_file(tmp_path, region):
    lines = [f'region = "{region}"', 'library = "common"', f"range = {RANGES[region]}"]
    for sp in RECIPES[region]:
        lines += ["[[components]]", f'species = "{sp}"']
    path = tmp_path / (region.replace(" ", "") + ".toml")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(tmp_path, regions, capsys, table=None):
    path = real_file("lg4x-v2/Mutlipak_vms.npl")
    argv = ["quantify", str(path)]
    for r in regions:
        argv += ["-r", str(_recipe_file(tmp_path, r))]
    if table:
        argv += ["--table", str(table)]
    rc = main(argv)
    out = capsys.readouterr()
    return path, rc, out


def test_quantify_real_acquisition_matches_area_over_rsf(tmp_path, capsys):
    table = tmp_path / "atomic.csv"
    path, rc, out = _run(tmp_path, ["C 1s", "O 1s", "S 2p"], capsys, table)
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert [r["region"] for r in rows] == ["C 1s", "O 1s", "S 2p"]
    assert sum(float(r["atomic_percent"]) for r in rows) == pytest.approx(100.0, abs=1e-6)
    # by hand: total component area of each region's fit over the library RSF, normalised
    spectra = {s.attrs["region"]: s for s in read(path)}
    rsf = {"C 1s": 1.0, "O 1s": 2.93, "S 2p": 1.677}
    norm = {}
    for region in rsf:
        res = fit(spectra[region], recipe_from_dict(
            {"region": region, "library": "common", "range": RANGES[region],
             "components": [{"species": s} for s in RECIPES[region]]}))
        norm[region] = sum(c.area for c in res.components) / rsf[region]
    for r in rows:
        want = 100 * norm[r["region"]] / sum(norm.values())
        assert float(r["atomic_percent"]) == pytest.approx(want, rel=1e-6)
        assert float(r["rsf"]) == rsf[r["region"]]
        assert 0 < float(r["atomic_percent_stderr"]) < float(r["atomic_percent"])
        assert r["rsf_placeholder"] == "false"
    assert "Scofield" in out.out and "PLACEHOLDER" not in out.out
    assert rc in (0, 1) and (rc == 0) == ("NOT TRUSTWORTHY" not in out.err)


def test_quantify_flags_a_placeholder_rsf(tmp_path, capsys):
    _path, rc, out = _run(tmp_path, ["C 1s", "Mo 3d"], capsys)
    mo = [line for line in out.out.splitlines() if "Mo 3d" in line]
    assert len(mo) == 1 and "PLACEHOLDER RSF" in mo[0] and "placeholder 1.0" in mo[0]
    assert "Mo 3d is a placeholder" in out.err
    assert rc == 1


def test_quantify_missing_region_is_one_line_naming_the_file(tmp_path, capsys):
    lines = ['region = "Fe 2p"', 'library = "common"', "[[components]]", 'species = "Fe0"']
    (tmp_path / "fe.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = real_file("lg4x-v2/Mutlipak_vms.npl")
    rc = main(["quantify", str(path), "-r", str(_recipe_file(tmp_path, "C 1s")),
               "-r", str(tmp_path / "fe.toml")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "Fe 2p" in err and "Mutlipak_vms.npl" in err
