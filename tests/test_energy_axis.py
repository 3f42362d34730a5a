"""Energy-axis options through the real CLI on real files: the work function (BE = hν − KE − φ),
where the axis, hν and φ came from ("assumed" shown), --shift, --calibrate and their errors."""
from __future__ import annotations

import csv
import json

import pytest

from realdata import real_file
from xpsfit import FileFormatError, load_results, read
from xpsfit.cli import main

#: φ of the two hν = 180 eV Au 4f files, from their own data: Au 4f7/2 fitted on BE = hν − KE
#: (the recipe below) sits at 87.63 eV (clean_Au_4f.csv) and 87.83 eV (the LG4X test file);
#: Au 4f7/2 of clean gold is 84.0 eV (docs/interop.md "Energy axis")
PHI_CLEAN = 3.63
PHI_HIGHRES = 3.83

AU_RECIPE = """region = "Au 4f"
library = "common"
range = [81.5, 91.0]
[[components]]
species = "Au0"
"""
AU_RAW_RECIPE = """region = "Au 4f"
library = "common"
range = [85.0, 95.0]
[[components]]
species = "Au0"
position = 87.7
window = [86.5, 89.0]
"""
# the C 1s model as placed on the charged axis of ARXPS.vms (C–C at 280.8 eV)
C1S_CHARGED = """region = "C 1s"
library = "common"
range = [276.0, 288.0]
[[components]]
species = "C-C"
position = 280.8
window = 0.6
[[components]]
species = "C-O"
position = 282.5
window = 0.6
[[components]]
species = "C=O"
position = 284.0
window = 0.8
"""
O1S = """region = "O 1s"
library = "common"
range = [526.0, 540.0]
[[components]]
species = "oxide"
[[components]]
species = "OH"
"""


def _recipe(tmp_path, text: str, name: str):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _fit_position(tmp_path, capsys, spectrum, recipe: str, *options: str) -> float:
    table = tmp_path / "t.csv"
    assert main(["fit", str(spectrum), "-r", recipe, "--table", str(table), *options]) in (0, 1)
    capsys.readouterr()
    (row,) = _rows(table)
    return float(row["position"])


def test_work_function_puts_au_4f7_2_of_the_lmfitxps_file_at_84_0(tmp_path, capsys):
    path = real_file("lmfitxps/clean_Au_4f.csv")
    raw = _fit_position(tmp_path, capsys, path, _recipe(tmp_path, AU_RAW_RECIPE, "raw.toml"))
    assert raw == pytest.approx(87.63, abs=0.1)           # the bug report: 87.7 without φ
    au = _fit_position(tmp_path, capsys, path, _recipe(tmp_path, AU_RECIPE, "au.toml"),
                       "--work-function", str(PHI_CLEAN))
    assert au == pytest.approx(84.0, abs=0.1)
    assert raw - au == pytest.approx(PHI_CLEAN, abs=0.02)    # a rigid move by φ, nothing else


def test_headerless_ke_file_is_assumed_be_warned_and_read_right_with_options(tmp_path, capsys):
    path = real_file("lg4x-v2/Highres_Au4f_hv_180_testfile.csv")
    assert main(["read", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "axis BE (assumed)" in out and "hν 180 (file name)" in out
    assert "--axis KE" in err and "84.03..95.00" in err     # what BE would be as KE
    assert main(["read", str(path), "--axis", "KE", "--work-function", str(PHI_HIGHRES)]) == 0
    out, err = capsys.readouterr()
    assert "axis KE (option)" in out and f"φ {PHI_HIGHRES:g} (option)" in out and err == ""
    au = _fit_position(tmp_path, capsys, path, _recipe(tmp_path, AU_RECIPE, "au.toml"),
                       "--axis", "KE", "--work-function", str(PHI_HIGHRES))
    assert au == pytest.approx(84.0, abs=0.1)


def test_fit_summary_and_report_say_what_was_assumed(tmp_path, capsys):
    path = real_file("lmfitxps/clean_Au_4f.csv")
    recipe = _recipe(tmp_path, AU_RAW_RECIPE, "raw.toml")
    main(["fit", str(path), "-r", recipe, "--report"])
    out = capsys.readouterr().out
    summary = out.splitlines()[0]
    assert summary.endswith("[φ assumed 0]")
    assert "energy axis: KE axis (file); BE = hν − KE, hν = 180 eV (file); φ assumed 0" in out


def test_sources_in_attrs_for_files_that_state_them():
    specs = read(real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml"))[2]
    assert (specs.attrs["axis_source"], specs.attrs["excitation_energy_source"],
            specs.attrs["work_function_source"]) == ("file", "file", "file")
    # the file's φ = 4.37 eV is recorded, not subtracted: thiophene S 2p3/2 stays at 164.0
    be = specs["binding_energy"].values
    assert be[specs.values.argmax()] == pytest.approx(164.0, abs=0.1)
    feo = read(real_file("pynxtools-xps/FeO_analyzed.vms"))[0]
    assert feo.attrs["work_function_source"] == "format"
    column = read(real_file("lmfitxps/clean_Au_4f.csv"), work_function=PHI_CLEAN)[0]
    assert column.attrs["work_function_source"] == "option"
    assert column.attrs["work_function"] == PHI_CLEAN
    plain = read(real_file("lmfitxps/clean_Au_4f.csv"))[0]
    assert (column["binding_energy"].values ==
            pytest.approx(plain["binding_energy"].values - PHI_CLEAN))
    assert (column["original_energy"].values == plain["original_energy"].values).all()


def test_work_function_is_refused_where_the_ke_is_fermi_referenced(capsys):
    path = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml")
    assert main(["read", str(path), "--work-function", "4.37"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(path) in err and "Fermi-referenced" in err
    with pytest.raises(FileFormatError, match="Fermi-referenced"):
        read(real_file("pynxtools-xps/FeO_analyzed.vms"), work_function=4.0)


@pytest.mark.parametrize("options, named", [
    (["--excitation-energy", "-5"], "--excitation-energy"),
    (["--axis", "XE"], "--axis: must be KE or BE"),
    (["--work-function", "abc"], "--work-function"),
    (["--work-function", "-1"], "--work-function"),
    (["--shift", "nan"], "--shift"),
    (["--calibrate", "C1s"], "--calibrate"),
    (["--calibrate", "C-C=-3"], "--calibrate"),
    (["--calibrate", "Cx=284.8"], "--calibrate: cannot calibrate on 'Cx': not a component"),
])
def test_bad_energy_options_are_one_line_naming_the_option(tmp_path, capsys, options, named):
    path = real_file("cheminfo-vamas/ARXPS.vms")
    table = tmp_path / "t.csv"
    code = main(["fit", str(path), "-r", _recipe(tmp_path, C1S_CHARGED, "c.toml"),
                 "--table", str(table), *options])
    out, err = capsys.readouterr()
    assert code == 2 and not table.exists() and out == ""
    assert err.count("\n") == 1 and named in err and "Traceback" not in err


def test_shift_is_recorded_in_attrs_results_table_and_hdf5(tmp_path, capsys):
    path = real_file("lmfitxps/clean_Au_4f.csv")
    out, table = tmp_path / "r.h5", tmp_path / "t.csv"
    code = main(["batch", str(path), "-r", _recipe(tmp_path, AU_RECIPE, "au.toml"),
                 "--work-function", str(PHI_CLEAN), "--shift", "0.25", "--out", str(out),
                 "--table", str(table)])
    capsys.readouterr()
    assert code in (0, 1)
    (row,) = _rows(table)
    assert float(row["position"]) == pytest.approx(84.25, abs=0.1)
    assert float(row["charge_shift"]) == pytest.approx(0.25)
    (back,) = load_results(out)
    assert back.charge_shift == pytest.approx(0.25)
    a = back.spectrum.attrs
    assert a["energy_shift"] == pytest.approx(0.25)
    assert (a["work_function"], a["work_function_source"]) == (PHI_CLEAN, "option")
    assert "rigid shift +0.250 eV given" in back.report()


def test_calibrate_on_the_charged_real_c1s_one_shift_per_acquisition(tmp_path, capsys):
    """ARXPS.vms: an insulated Al foil, C–C at 280.77 eV; five C 1s blocks of one sample."""
    path = real_file("cheminfo-vamas/ARXPS.vms")
    table = tmp_path / "t.csv"
    code = main(["fit", str(path), "-r", _recipe(tmp_path, C1S_CHARGED, "c.toml"),
                 "--calibrate", "C-C=284.8", "--table", str(table)])
    out = capsys.readouterr().out
    assert code == 0
    assert "C 1s C-C measured 280.772 eV, assigned 284.800 eV -> shift +4.028 eV" in out
    rows = _rows(table)
    shifts = {float(r["charge_shift"]) for r in rows}
    assert len(shifts) == 1 and shifts.pop() == pytest.approx(284.8 - 280.772, abs=0.005)
    first = next(r for r in rows if r["species"] == "C-C")
    assert float(first["position"]) == pytest.approx(284.800, abs=0.002)
    assert {r["spectrum"] for r in rows} == {f"ARXPS.vms#{b}" for b in (1, 4, 7, 10, 13)}


def test_calibrate_on_another_region_shifts_the_fitted_one(tmp_path, capsys):
    """The C 1s C–C of the acquisition sets the shift of its O 1s (block 0)."""
    path = real_file("cheminfo-vamas/ARXPS.vms")
    table = tmp_path / "t.csv"
    plain = read(path)[0]
    code = main(["fit", str(path), "-r", _recipe(tmp_path, O1S, "o.toml"), "--select", "0",
                 "--charge-reference", _recipe(tmp_path, C1S_CHARGED, "c.toml"),
                 "--calibrate", "C-C=284.8", "--table", str(table)])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "charge reference ARXPS.vms [Al_foil_insulated]: C 1s C-C measured 280.77" in out
    rows = _rows(table)
    assert {r["spectrum"] for r in rows} == {"ARXPS.vms#0"}
    shift = float(rows[0]["charge_shift"])
    assert shift == pytest.approx(284.8 - 280.772, abs=0.01)
    assert plain.attrs["region"] == "O 1s"


def test_calibrate_refused_with_series(tmp_path, capsys):
    path = real_file("cheminfo-vamas/ARXPS.vms")
    code = main(["fit", str(path), "-r", _recipe(tmp_path, C1S_CHARGED, "c.toml"),
                 "--calibrate", "C-C=284.8", "--series"])
    err = capsys.readouterr().err
    assert code == 2 and "--calibrate with --series" in err and err.count("\n") == 1


def test_read_json_carries_the_sources(capsys):
    path = real_file("yharada-xps-peakfit/1804100005_dsp.csv")
    assert main(["read", "--json", str(path), "--excitation-energy", "730"]) == 0
    out, err = capsys.readouterr()
    (row,) = json.loads(out)
    assert row["axis_source"] == "assumed" and row["excitation_energy_source"] == "option"
    assert "--axis KE" in err                    # hν given but the axis left to assumption
    assert main(["read", "--json", str(path), "--excitation-energy", "730", "--axis", "KE"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["axis_source"] == "option" and row["be_min"] == pytest.approx(730 - 205)
    assert row["work_function_source"] == "assumed 0"


def test_a_work_function_corrected_spectrum_round_trips_through_vamas(tmp_path):
    """Written KE = hν − BE (Fermi-referenced) with φ in item [25]: read back, the file states
    φ and the binding energies are the corrected ones, not φ lower again."""
    from xpsfit import write_vamas
    s = read(real_file("lmfitxps/clean_Au_4f.csv"), work_function=PHI_CLEAN)[0]
    write_vamas(tmp_path / "au.vms", [s])
    (back,) = read(tmp_path / "au.vms")
    assert back.attrs["original_axis"] == "KE"
    assert back.attrs["work_function"] == pytest.approx(PHI_CLEAN)
    assert back.attrs["work_function_source"] == "file"
    assert back["binding_energy"].values == pytest.approx(s["binding_energy"].values, abs=1e-6)


def test_calibrate_refused_on_a_recipe_with_its_own_reference(tmp_path, capsys):
    text = C1S_CHARGED.replace('range = [276.0, 288.0]\n', 'range = [276.0, 288.0]\n'
                               '[charge_reference]\nregion = "C 1s"\nspecies = "C-C"\n'
                               'energy = 284.8\n')
    code = main(["fit", str(real_file("cheminfo-vamas/ARXPS.vms")), "-r",
                 _recipe(tmp_path, text, "ref.toml"), "--calibrate", "C-C=285.0"])
    err = capsys.readouterr().err
    assert code == 2 and "own charge reference" in err and err.count("\n") == 1


def test_batch_calibrate_one_shift_per_acquisition_in_hdf5(tmp_path, capsys):
    path = real_file("cheminfo-vamas/ARXPS.vms")
    recipe = _recipe(tmp_path, C1S_CHARGED, "c.toml")
    out = tmp_path / "b.h5"
    code = main(["batch", str(path), "-r", recipe, "--calibrate", "C-C=284.8", "--jobs", "2",
                 "--out", str(out)])
    capsys.readouterr()
    assert code == 0
    results = load_results(out)
    assert len(results) == 5
    shifts = {round(r.charge_shift, 9) for r in results}
    assert len(shifts) == 1 and shifts.pop() == pytest.approx(4.028, abs=0.005)
    assert results[0].charge_reference["species"] == "C-C"
    assert results[0].component("C-C").position == pytest.approx(284.8, abs=2e-3)
    assert main(["batch", str(path), "-r", recipe, "--calibrate", "C-C=284.8",
                 "--series-by", "file", "--out", str(tmp_path / "s.h5")]) == 2
    assert "series_by" in capsys.readouterr().err


def test_an_option_the_file_contradicts_is_named_as_ignored(capsys):
    """The PBTTT SPECS file states KE and hν = 1253.6 eV: --axis BE and another hν do nothing,
    and `read` says so instead of silently keeping the file's values."""
    path = real_file("pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml")
    plain = read(path)
    given = read(path, axis="BE", excitation_energy=1486.6)
    assert [float(s["binding_energy"].values[0]) for s in given] == \
        [float(s["binding_energy"].values[0]) for s in plain]
    assert "--axis BE ignored: the file states KE" in given[0].attrs["energy_option_ignored"]
    assert "--excitation-energy 1486.6 ignored" in given[0].attrs["energy_option_ignored"]
    assert "energy_option_ignored" not in plain[0].attrs
    assert main(["read", str(path), "--axis", "BE"]) == 0
    out, err = capsys.readouterr()
    assert "--axis BE ignored: the file states KE" in out + err
