"""Non-VAMAS readers and the format registry: real files against MANIFEST.md, synthetic files
with known truth, content sniffing and bad input."""
from __future__ import annotations

import math
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import xpsfit.io as io
from xpsfit.errors import FileFormatError, UnsupportedFormatError


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

# (file, format, [(region, points, BE min, BE max)], hν, original axis, counts unit)
REAL = [
    ("pynxtools-xps/MgFe2O4_small.xy", "specs_xy",
     [("Survey", 1351, 0, 1350), ("Fe 2p", 56, 695, 750)], 1486.61, "BE", "counts"),
    ("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml", "specs_xml",
     [("Survey", 1403, -1, 700), ("C 1s", 201, 280, 290), ("S 2p", 281, 159, 173)],
     1253.6, "KE", "counts"),
    ("pynxtools-xps/SnO2_10nm.spe", "phi_spe", [("Survey", 1751, 0, 1400)], 1486.6, "BE",
     "counts"),
    ("yadg/test0.spe", "phi_spe", [("Survey", 3401, -5, 1355), ("F 1s", 161, 675, 695)],
     1486.6, "BE", "counts"),
    ("jesusf10-xps-data-analysis/BN-BS-1 multiplex.spe", "phi_spe",
     [("Bi 4f", 601, 150, 180), ("Na 1s", 401, 1066, 1086), ("O 1s", 701, 515, 550),
      ("Sr 3d", 701, 125, 160), ("Ti 2p", 701, 450, 485), ("C 1s", 501, 275, 300)],
     1253.6, "BE", "counts"),
    ("lg4x-v2/C1s_sample.csv", "text_columns", [("C 1s", 351, 266.5, 301.5)], math.nan, "BE",
     "arbitrary"),
    ("lg4x-v2/PET_C1s.csv", "text_columns", [("C 1s", 401, 279.3008, 299.3008)], math.nan, "BE",
     "arbitrary"),
    ("lg4x-v2/111216_0459_O1s.csv", "text_columns", [("O 1s", 126, 521, 546)], math.nan, "BE",
     "arbitrary"),
    ("lg4x-v2/0-150W_NiWW4f_W4f.txt", "text_columns", [("W 4f", 251, 25, 50)], math.nan, "BE",
     "arbitrary"),
    ("lmfitxps/clean_Au_4f.csv", "text_columns", [("Au 4f", 294, 180 - 95.9984, 180 - 84.0)],
     180.0, "KE", "arbitrary"),
    ("yharada-xps-peakfit/XPS_Si2p.csv", "text_columns", [("Si 2p", 401, 90, 110)], math.nan,
     "BE", "arbitrary"),
    ("yharada-xps-peakfit/XPS_Au4f.csv", "text_columns", [("Au 4f", 251, 75, 100)], math.nan,
     "BE", "arbitrary"),
    ("xps-excel-macro/Ag_Ag3d.txt", "text_columns", [("Ag 3d", 201, 362, 382)], 1486.6, "BE",
     "arbitrary"),
    ("gxps/Al-NE-FeCr-S02p6-Fe2p-3.xy", "text_columns", [("Fe 2p", 701, 680, 750)], math.nan,
     "BE", "arbitrary"),
    ("khervefitting/Hard_carbon_Thermo.xlsx", "avantage_xlsx",
     [("Survey", 2721, -9.92, 1350.08), ("O 1s", 151, 525.08, 540.08),
      ("Na 1s", 171, 1062.08, 1079.08), ("C 1s", 191, 279.08, 298.08),
      ("CKLL", 501, 1196.68, 1246.68)], math.nan, "BE", "counts/s"),
]


@pytest.mark.parametrize("rel,fmt,regions,hv,axis,unit", REAL, ids=[r[0] for r in REAL])
def test_real_file_matches_manifest(rel, fmt, regions, hv, axis, unit, real_file):
    path = real_file(rel)
    assert io.detect_format(path) == fmt
    spectra = io.read(path)
    got = [(s.attrs["region"], s.size, float(s.binding_energy[0]), float(s.binding_energy[-1]))
           for s in spectra]
    assert [g[:2] for g in got] == [r[:2] for r in regions]
    for (_, _, lo, hi), (_, _, glo, ghi) in zip(regions, got):
        assert glo == pytest.approx(lo, abs=1e-3) and ghi == pytest.approx(hi, abs=1e-3)
    for i, s in enumerate(spectra):
        assert np.all(np.diff(s.binding_energy.values) > 0)
        assert s.attrs["block_index"] == i
        assert s.attrs["format"] == fmt and s.attrs["original_axis"] == axis
        assert s.attrs["counts_unit"] == unit
        assert s.attrs["source_file"] == str(path)
        if math.isnan(hv):
            assert math.isnan(s.attrs["excitation_energy"])
        else:
            assert s.attrs["excitation_energy"] == pytest.approx(hv)


# ---------------------------------------------------------------- SPECS .xy


def test_specs_xy_counts_per_second_become_counts(real_file):
    s = io.read(real_file("pynxtools-xps/MgFe2O4_small.xy"))[0]
    # first file row: "1350  15598.679" counts/s, dwell 0.1 s, 1 scan
    assert s.sel(binding_energy=1350.0).item() == pytest.approx(15598.679 * 0.1)
    assert s.attrs["converted_from"] == "counts/s" and s.attrs["dwell"] == 0.1
    assert s.attrs["work_function"] == pytest.approx(4.1082)
    assert s.attrs["pass_energy"] == 100 and s.attrs["sample"] == "1 as-loaded"


def _xy_region(name, ke0, n, step, scans, rng, mode="FixedAnalyzerTransmission",
               labels="energy counts/s transmission"):
    head = [f"# Region:                       {name}",
            f"# Scan Mode:                    {mode}",
            "# Curves/Scan:                  1", f"# Values/Curve:                 {n}",
            "# Dwell Time:                   0.5", "# Excitation Energy:            1486.61",
            f"# Kinetic Energy:               {ke0}", "# Pass Energy:                  20",
            "# Eff. Workfunction:            4.5", "# Comment:                      ", "",
            "# Cycle: 0", "#", f"# Number of Scans: {scans}", ""]
    ke = ke0 + step * np.arange(n)
    rates = rng.uniform(10, 1000, size=(scans, n)).round(3)
    for s in range(scans):
        head += [f"# Cycle: 0, Curve: 0, Scan: {s}", "#", f"# ColumnLabels: {labels}", "#"]
        head += [f"{e:.4f}  {r:.3f}  {0.5 + e / 1e4:.6f}" for e, r in zip(ke, rates[s])]
        head.append("")
    return head, ke, rates


def _xy_file(tmp_path, regions, name="synthetic.xy"):
    lines = ["# Created by:        SpecsLab Prodigy, Version 4.100.1-r111001",
             "#   Energy Axis:              Kinetic Energy",
             "#   Count Rate:               Counts per Second",
             "#   Separate Scan Data:       yes", "#   Transmission Function:    yes", "#",
             "# Group:                        battery 4.3 V", ""]
    for r in regions:
        lines += r
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_specs_xy_synthetic_ke_scans_beyond_nine_and_transmission(tmp_path):
    rng = np.random.default_rng(7)
    s2p, ke, rates = _xy_region("S2p", 1310.0, 40, 0.1, 12, rng)   # scan indices 0..11
    snap, _, _ = _xy_region("Snap", 1000.0, 5, 1.0, 1, rng, mode="FixedEnergies",
                            labels="index counts/s")
    path = _xy_file(tmp_path, [s2p, snap])
    spectra = io.read(path)
    assert len(spectra) == 1                        # the FixedEnergies region is skipped
    s = spectra[0]
    assert s.attrs["region"] == "S 2p" and s.attrs["scans"] == 12
    assert s.attrs["original_axis"] == "KE" and s.attrs["counts_unit"] == "counts"
    truth_be = 1486.61 - ke
    truth_counts = rates.sum(axis=0) * 0.5          # Σ per-scan rate × dwell, no double count
    order = np.argsort(truth_be)
    np.testing.assert_allclose(s.binding_energy.values, truth_be[order], atol=1e-9)
    np.testing.assert_allclose(s.values, truth_counts[order], rtol=1e-12)
    np.testing.assert_allclose(s["transmission"].values, 0.5 + ke[order] / 1e4, rtol=1e-9)
    assert s.attrs["voltage"] == pytest.approx(4.3)   # from the group name as sample


def test_specs_xy_only_fixed_energies_is_refused(tmp_path):
    snap, _, _ = _xy_region("Snap", 1000.0, 5, 1.0, 1, np.random.default_rng(1),
                            mode="FixedEnergies", labels="index counts/s")
    with pytest.raises(FileFormatError, match="FixedEnergies.*Snap"):
        io.read(_xy_file(tmp_path, [snap]))


def test_specs_xy_truncated_is_an_error_naming_the_file(tmp_path, real_file):
    text = real_file("pynxtools-xps/MgFe2O4_small.xy").read_text()
    cut = tmp_path / "cut.xy"
    cut.write_text(text[: len(text) - 300])
    with pytest.raises(FileFormatError, match=r"cut\.xy:\d+: region 'Fe2p' has \d+ values"):
        io.read(cut)


# ---------------------------------------------------------------- SPECS .xml


def test_specs_xml_channels_aligned_and_all_counts_summed(real_file):
    path = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml")
    survey, c1s, s2p = io.read(path)
    assert s2p.attrs["scans"] == 15 and s2p.attrs["pass_energy"] == 20
    assert c1s.attrs["scans"] == 10 and s2p.attrs["dwell"] == 0.2
    # PBTTT: C 1s maximum at 285.0 eV, S 2p3/2 maximum at 164.0 eV (Mg Kα, KE axis)
    assert float(c1s.binding_energy[int(np.argmax(c1s.values))]) == pytest.approx(285.0, abs=0.3)
    assert float(s2p.binding_energy[int(np.argmax(s2p.values))]) == pytest.approx(164.0, abs=0.3)
    assert "transmission" in s2p.coords and s2p["transmission"].size == 281
    # independent check without interpolation: channel c's region points are the raw samples
    # i = j + head − round(shift_c · PE / step); their plain sum must match the reader's total
    root = ET.parse(path).getroot()
    region = [r for r in root.iter("struct") if r.get("type_name") == "RegionData"][2]
    shifts = [float(d.find("double[@name='shift']").text) for d in region.iter("struct")
              if d.get("type_name") == "Detector"]
    raw = sum(np.array(seq.text.split(), float).reshape(-1, len(shifts))
              for seq in region.iter("ulong") if seq.get("type_name") == "Counts")
    expected = sum(raw[np.arange(281) + 33 - round(sh * 20 / 0.05), c].sum()
                   for c, sh in enumerate(shifts))
    assert s2p.values.sum() == pytest.approx(expected, rel=0.01)
    # the sign of the channel shift: every channel must see the S 2p maximum at the same KE
    peak_ke = [1080.6 + (np.argmax(raw[:, c]) - 33) * 0.05 + sh * 20
               for c, sh in enumerate(shifts)]
    assert np.ptp(peak_ke) < 0.2


def test_specs_xml_truncated_is_an_error(tmp_path, real_file):
    data = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cut\.xml.*broken XML"):
        io.read(cut)


# ---------------------------------------------------------------- PHI .spe


def _phi_ascii(path):
    """Blocks of MultiPak's ASCII export: {region: (BE, counts)}."""
    out, name, rows = {}, None, []
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("Element "):
            if name:
                out[name] = np.array(rows)
            name, rows = line.split(";")[0].removeprefix("Element ").strip(), []
        elif name and line.strip():
            rows.append([float(x) for x in line.split()])
    out[name] = np.array(rows)
    return out


def test_phi_spe_matches_multipak_ascii_export(real_file):
    spe = real_file("jesusf10-xps-data-analysis/BN-BS-1 multiplex.spe")
    txt = real_file("jesusf10-xps-data-analysis/BN-BS-1 multiplex.txt")
    ascii_blocks = _phi_ascii(txt)
    spectra = io.read(spe)
    assert [s.attrs["region"] for s in spectra] == list(ascii_blocks)
    for s in spectra:
        ref = ascii_blocks[s.attrs["region"]]
        order = np.argsort(ref[:, 0])
        np.testing.assert_allclose(s.binding_energy.values, ref[order, 0], atol=1e-9)
        np.testing.assert_array_equal(s.values, ref[order, 1])   # exact counts


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_phi_spe_truncated_is_an_error(tmp_path, keep, real_file):
    data = real_file("yadg/test0.spe").read_bytes()
    cut = tmp_path / "cut.spe"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(FileFormatError, match=r"cut\.spe"):
        io.read(cut)


def test_phi_depth_profile_is_refused_clearly(real_file):
    with pytest.raises(FileFormatError, match="DEPTHPRO"):
        io.read(real_file("pynxtools-xps/SnO2_10nm_1.pro"))


# ---------------------------------------------------------------- column text


def test_column_text_delimiters_header_and_ke_conversion(tmp_path):
    ke = np.linspace(1300.0, 1310.0, 11)
    y = np.arange(11) * 10.0 + 5
    semi = tmp_path / "scan.dat"
    semi.write_text("Kinetic energy;counts\n" + "".join(f"{e};{v}\n" for e, v in zip(ke, y)))
    with pytest.raises(FileFormatError, match=r"scan\.dat.*excitation energy"):
        io.read(semi)
    s = io.read(semi, excitation_energy=1486.6)[0]
    np.testing.assert_allclose(s.binding_energy.values, (1486.6 - ke)[::-1])
    np.testing.assert_array_equal(s.values, y[::-1])
    assert s.attrs["counts_unit"] == "counts" and s.attrs["original_axis"] == "KE"

    white = tmp_path / "P2p_electrode.txt"
    white.write_text("\n".join(f"  {e:.2f}   {v:.1f}   {v / 2:.2f}" for e, v in
                               zip(np.linspace(138, 127, 12), np.arange(12.0))) + "\n")
    s = io.read(white)[0]
    assert s.attrs["region"] == "P 2p" and s.size == 12
    assert s.binding_energy.values[0] == pytest.approx(127.0)
    assert "column3" not in s.coords   # an unnamed third column is not invented

    named = tmp_path / "x.csv"
    named.write_text("BE,Int,Background\n" + "".join(f"{e},{e * 2},{e / 4}\n"
                                                     for e in (170.0, 169.0, 168.0)))
    s = io.read(named, region="S 2p")[0]
    assert s.attrs["region"] == "S 2p"
    np.testing.assert_allclose(s["background"].values, [42.0, 42.25, 42.5])


def test_column_text_region_option_and_axis_option(real_file):
    path = real_file("yharada-xps-peakfit/1804100005_dsp.csv")   # headerless, KE, hν 730
    assert io.read(path)[0].attrs["region"] == ""
    s = io.read(path, region="O 1s", axis="KE", excitation_energy=730)[0]
    assert s.attrs["region"] == "O 1s" and s.size == 131
    assert float(s.binding_energy[0]) == pytest.approx(730 - 205)
    assert float(s.binding_energy[-1]) == pytest.approx(730 - 192)


def test_column_text_garbage_row_names_the_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("BE,Int\n" + "".join(f"{290 - i},{i}\n" for i in range(60)) + "2x9,oops\n")
    with pytest.raises(FileFormatError, match=r"bad\.csv:62"):
        io.read(p)


# ---------------------------------------------------------------- registry and sniffing


def test_content_decides_not_the_suffix(tmp_path, real_file):
    vms = tmp_path / "renamed.txt"
    shutil.copy(real_file("cheminfo-xps-analysis/multiplex.vms"), vms)
    if not any(n == "vamas" for n, _ in io.available_formats()):
        pytest.skip("the VAMAS reader module is not available")
    assert io.detect_format(vms) == "vamas"
    csv_as_xy = tmp_path / "renamed.xy"
    shutil.copy(real_file("lg4x-v2/C1s_sample.csv"), csv_as_xy)
    assert io.detect_format(csv_as_xy) == "text_columns"
    assert io.read(csv_as_xy)[0].size == 351
    xy_as_csv = tmp_path / "renamed.csv"
    shutil.copy(real_file("pynxtools-xps/MgFe2O4_small.xy"), xy_as_csv)
    assert io.detect_format(xy_as_csv) == "specs_xy"
    spe_as_dat = tmp_path / "renamed.dat"
    shutil.copy(real_file("yadg/test0.spe"), spe_as_dat)
    assert [s.size for s in io.read(spe_as_dat)] == [3401, 161]


@pytest.mark.parametrize("suffix", [".xy", ".xml", ".spe", ".csv", ".txt", ".vms", ".xlsx"])
def test_empty_and_garbage_files(tmp_path, suffix):
    empty = tmp_path / f"empty{suffix}"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match=rf"empty{suffix}: empty file"):
        io.read(empty)
    junk = tmp_path / f"junk{suffix}"
    junk.write_bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(UnsupportedFormatError, match=rf"junk{suffix}: unknown file format; "
                                                     r"supported: .*PHI MultiPak"):
        io.read(junk)


def test_missing_file_directory_and_forced_formats(tmp_path):
    with pytest.raises(FileFormatError, match="nope.csv: no such file"):
        io.read(tmp_path / "nope.csv")
    with pytest.raises(FileFormatError, match="directory"):
        io.read(tmp_path)
    text = tmp_path / "a.csv"
    text.write_text("BE,Int\n1,2\n2,3\n3,4\n")
    with pytest.raises(FileFormatError, match=r"a\.csv: .*no EOFH"):
        io.read(text, format="phi_spe")
    with pytest.raises(UnsupportedFormatError, match="unknown format 'bogus'"):
        io.read(text, format="bogus")


def test_safety_net_turns_foreign_exceptions_into_file_errors(tmp_path):
    # a zip that claims to be a workbook: openpyxl/zipfile raise their own types
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04" + b"xl/workbook.xml" + b"\x00" * 200)
    with pytest.raises(FileFormatError, match=r"fake\.xlsx"):
        io.read(fake)


def test_avantage_truncated_workbook(tmp_path, real_file):
    data = real_file("khervefitting/Hard_carbon_Thermo.xlsx").read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cut\.xlsx"):
        io.read(cut)


def test_region_from_text():
    assert io.region_from_text("C1s_sample") == "C 1s"
    assert io.region_from_text("clean_Au_4f") == "Au 4f"
    assert io.region_from_text("0-150W_NiWW4f_W4f") == "W 4f"
    assert io.region_from_text("Su1s") == ""          # PHI survey, not an element
    assert io.region_from_text("1804100005_dsp") == ""
