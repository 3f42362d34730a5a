"""VAMAS reader and CasaXPS comment parser: real files first, then synthetic layouts that the
real files do not cover (inclusion lists, Latin-1, 1e37, counts/s), then broken files."""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from realdata import real_file
from xpsfit.errors import FileFormatError, UnsupportedFormatError
from xpsfit.io import casa, vamas

# --------------------------------------------------------------------------------------------
# real files, checked against MANIFEST.md: (region, points, BE min, BE max); None = not listed

REAL = {
    "cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms": (1486.6, "BE", [
        ("Survey", 1151, 3.16, 1153.16), ("C 1s", 241, 282.16, 294.16),
        ("O 1s", 201, 528.16, 538.16), ("Valence", 801, -1.84, 38.16)]),
    "cheminfo-xps-analysis/pegCASA.vms": (1486.6, "BE", [
        ("Survey", 1151, None, None), ("C 1s", 240, 281.25, 293.2), ("O 1s", 200, None, None),
        ("Valence", 801, None, None)]),
    "cheminfo-xps-analysis/multiplex.vms": (1486.69, "KE", [
        ("wide", 1206, None, None), ("O 1s", 91, 525, 543), ("Ta 4f", 91, 17, 35)]),
    "cheminfo-vamas/ARXPS.vms": (1486.69, "KE", [
        ("O 1s", 201, 523, 543), ("C 1s", 201, 275, 295), ("Al 2p", 201, 66, 86)] * 5),
    "cheminfo-vamas/single_sample.vms": (None, "KE", [
        ("wide", 1206, None, None), ("I 3d", 101, None, None), ("Pb 4f", 101, None, None),
        ("O 1s", 101, None, None), ("N 1s", 101, None, None), ("C 1s", 101, None, None),
        ("S 2p", 101, 155, 175), ("HeI VBM", 281, None, None), ("HeI SECO", 921, None, None)]),
    "lg4x-v2/0-150W.vms": (1486.69, "KE", [
        ("wide", 1206, None, None), ("Ni 2p", 601, 840, 900), ("O 1s", 251, None, None),
        ("C 1s", 301, None, None), ("W 4f", 251, 25, 50)]),
    "lg4x-v2/Mutlipak_vms.npl": (1486.6, "BE", [
        ("C 1s", 601, 275, 305), ("O 1s", 601, None, None), ("S 2p", 501, 155, 180),
        ("N 1s", 401, None, None), ("Mo 3d", 401, 220, 240)]),
    "pynxtools-xps/FeO_analyzed.vms": (1486.61, "KE", [("Fe 2p", 1121, 694, 750)]),
    "pynxtools-xps/regular.vms": (1486.61, "KE", [("Survey", 1351, 0, 1350)]),
    "pynxtools-xps/irregular.vms": (1486.61, "KE", [("Survey", 1351, 0, 1350)]),
    "khervefitting/Pt4f.vms": (1486.68, "KE", [("Pt 4f", 281, 62, 90)]),
    "vamas-pypi/xps_eis.vms": (1486.7, "KE", [
        ("", 8201, -20, 800), ("", 321, 225, 241), ("", 941, 389, 436), ("", 541, 240, 267)]),
}


@pytest.mark.parametrize("rel", sorted(REAL))
def test_real_file_regions_points_and_ranges(rel):
    path = real_file(rel)
    hv, axis, expected = REAL[rel]
    spectra = vamas.read(path)
    assert [s.attrs["region"] for s in spectra] == [e[0] for e in expected]
    for i, (s, (region, n, lo, hi)) in enumerate(zip(spectra, expected)):
        be = s["binding_energy"].values
        assert be.size == n, (region, be.size)
        assert np.all(np.diff(be) > 0)
        if lo is not None:
            assert be[0] == pytest.approx(lo, abs=1e-6) and be[-1] == pytest.approx(hi, abs=1e-6)
        if hv is not None:
            assert s.attrs["excitation_energy"] == hv
        assert s.attrs["original_axis"] == axis
        assert s.attrs["block_index"] == i
        assert s.attrs["format"] == "vamas"
        assert s.attrs["source_file"] == str(path)
        assert np.all(np.isfinite(s.values))
        if axis == "KE":  # BE = hν − KE with the block's own hν, no work-function term
            np.testing.assert_allclose(be, s.attrs["excitation_energy"]
                                       - s["original_energy"].values, atol=1e-9)


def test_ups_blocks_use_their_own_excitation_energy():
    spectra = vamas.read(real_file("cheminfo-vamas/single_sample.vms"))
    # the Kratos file labels its He I blocks "XPS"; only hν tells them apart
    ups = [s for s in spectra if s.attrs["excitation_energy"] < 100]
    assert [s.attrs["region"] for s in ups] == ["HeI VBM", "HeI SECO"]
    assert all(s.attrs["excitation_energy"] == 21.22 for s in ups)
    assert spectra[6].attrs["region"] == "S 2p" and spectra[6].attrs["technique"] == "XPS"


def test_metadata_of_a_kratos_file_with_leading_blank_lines():
    spectra = vamas.read(real_file("lg4x-v2/0-150W.vms"))
    w4f = spectra[4]
    a = w4f.attrs
    assert (a["species"], a["transition"], a["block_name"], a["sample"]) == ("W", "4f", "W 4f",
                                                                            "Ni-W")
    assert a["label"] == "Ni-W"
    assert a["scans"] == 10 and a["dwell"] == pytest.approx(0.239044)
    assert a["pass_energy"] == 20 and a["work_function"] == -4.5
    assert a["acquisition_time"] == "2020-08-27T14:22:28+07:00"
    assert a["counts_unit"] == "counts" and a["comments"].startswith("Creation")
    assert "transmission" in w4f.coords and w4f["transmission"].dims == ("binding_energy",)


def test_phi_counts_per_second_become_integer_counts():
    # PHI MultiPak writes "Intensity" in c/s; × dwell × scans must give whole counts
    s2p = vamas.read(real_file("lg4x-v2/Mutlipak_vms.npl"))[2]
    assert s2p.attrs["region"] == "S 2p"
    assert s2p.attrs["counts_unit"] == "counts" and s2p.attrs["converted_from"] == "counts/s"
    assert s2p.attrs["dwell"] == 0.8 and s2p.attrs["scans"] == 1
    assert s2p.values.min() > 0
    np.testing.assert_allclose(s2p.values, np.round(s2p.values), atol=1e-6)
    assert s2p.attrs["transition"] == "2p"  # the file's "2p\0" loses its NUL


def test_decreasing_kinetic_energy_survey_is_ascending_binding_energy():
    survey = vamas.read(real_file("vamas-pypi/xps_eis.vms"))[0]
    ke = survey["original_energy"].values
    assert ke[0] == pytest.approx(1506.7) and ke[-1] == pytest.approx(686.7)
    assert survey.attrs["region"] == "" and survey.attrs["block_name"] == ""


def test_regular_and_irregular_hold_the_same_survey():
    reg = vamas.read(real_file("pynxtools-xps/regular.vms"))[0]
    irr = vamas.read(real_file("pynxtools-xps/irregular.vms"))[0]
    np.testing.assert_array_equal(reg["binding_energy"].values, irr["binding_energy"].values)
    # CasaXPS exported the irregular copy as a rate with dwell 1 s; the count rates agree
    rate_reg = reg.values / (reg.attrs["dwell"] * reg.attrs["scans"])
    rate_irr = irr.values / (irr.attrs["dwell"] * irr.attrs["scans"])
    np.testing.assert_allclose(rate_reg, rate_irr, rtol=1e-5)
    np.testing.assert_allclose(reg["transmission"].values, irr["transmission"].values)


def test_irregular_abscissa_is_the_first_variable():
    feo = vamas.read(real_file("pynxtools-xps/FeO_analyzed.vms"))[0]
    assert feo.attrs["scan_mode"] == "IRREGULAR"
    ke = feo["original_energy"].values
    assert ke.min() == pytest.approx(736.61) and ke.max() == pytest.approx(792.61)
    # first triple of the file: 736.61, 12516.9, 2.77354 -> the highest BE point
    assert feo.values[-1] == 12516.9 and feo["transmission"].values[-1] == 2.77354


def test_aes_only_file_is_unsupported_and_says_which_technique():
    path = real_file("vamas-pypi/aes_staib.vms")
    with pytest.raises(UnsupportedFormatError, match="AES diff") as info:
        vamas.read(path)
    assert str(path) in str(info.value)


def test_sniff_by_content_not_suffix(tmp_path):
    kratos = real_file("lg4x-v2/0-150W.vms").read_bytes()
    assert vamas.sniff(kratos[:512], Path("x.vms"))
    assert vamas.sniff(real_file("lg4x-v2/Mutlipak_vms.npl").read_bytes()[:200], Path("x.npl"))
    assert not vamas.sniff(b"BE/eV,Intensity\n1,2\n", Path("a.vms"))
    assert not vamas.sniff(b"", Path("a.vms"))
    renamed = tmp_path / "spectrum.txt"
    renamed.write_bytes(kratos)
    assert vamas.sniff(renamed.read_bytes()[:100], renamed)
    assert [s.attrs["region"] for s in vamas.read(renamed)][-1] == "W 4f"


def test_not_a_vamas_file(tmp_path):
    bad = tmp_path / "bad.vms"
    bad.write_text("BE,counts\n1,2\n")
    with pytest.raises(FileFormatError, match="not a VAMAS file"):
        vamas.read(bad)
    with pytest.raises(FileFormatError, match="no such file"):
        vamas.read(tmp_path / "missing.vms")


# --------------------------------------------------------------------------------------------
# CasaXPS processing lines

def test_casa_components_of_feo_match_both_casaxps_outputs():
    feo = vamas.read(real_file("pynxtools-xps/FeO_analyzed.vms"))[0]
    comps = casa.casa_components(feo)
    assert [c.lineshape for c in comps] == ["LF(0.54,10,80,100,6)", "SGL(30)",
                                            "LF(0.54,10,80,100,6)", "SGL(30)"]
    assert all(c.name == "Fe 2p" for c in comps)
    np.testing.assert_allclose([c.position_be for c in comps],
                               [709.05, 716.00, 722.13, 729.89], atol=0.006)
    assert comps[0].position == 777.56313  # stored on the KE scale
    assert comps[0].fwhm == pytest.approx(3.86, abs=0.005)
    assert comps[0].area == pytest.approx(63507.374)
    assert comps[0].raw.startswith("CASA comp (*Fe 2p*)")

    # the CasaXPS peak table reports maxima of the asymmetric shapes: up to 0.33 eV apart
    table = real_file("pynxtools-xps/FeO_analyzed_results.csv").read_text(errors="replace")
    rows = [ln.split("\t") for ln in table.splitlines() if ln.startswith("Fe 2p\t7")]
    peer = [float(r[1]) for r in rows[:4]]
    assert peer == [709.03, 715.73, 722.18, 730.22]
    np.testing.assert_allclose([c.position_be for c in comps], peer, atol=0.35)
    assert float(rows[0][2]) == pytest.approx(comps[0].fwhm, abs=0.005)

    (region,) = casa.casa_regions(feo)
    assert region.background == "U 3 Tougaard" and region.name == "Fe 2p"
    assert region.start_be == pytest.approx(1486.61 - 737.52081)
    assert 694 < min(region.start_be, region.end_be) < max(region.start_be, region.end_be) < 750
    assert casa.calibration_shift(feo) == 0.0


def test_casa_components_on_a_binding_energy_axis_are_still_kinetic():
    spectra = vamas.read(real_file("cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms"))
    c1s = spectra[1]
    assert c1s.attrs["region"] == "C 1s" and c1s.attrs["original_axis"] == "BE"
    comps = casa.casa_components(c1s)
    np.testing.assert_allclose([c.position_be for c in comps],
                               [286.77, 288.20, 288.85, 284.87], atol=0.006)
    assert [c.lineshape for c in comps][:1] == ["LA(1.4,1.7,100)"]
    assert comps[0].fwhm == pytest.approx(1.11, abs=0.005)
    assert comps[0].position_min_be < comps[0].position_be < comps[0].position_max_be
    o1s = casa.casa_components(spectra[2])
    np.testing.assert_allclose([c.position_be for c in o1s], [533.53, 532.95], atol=0.006)
    assert math.isnan(o1s[0].position_min_be)  # "0 0": tied to the other component
    assert casa.casa_components(spectra[0]) == [] and casa.casa_regions(spectra[0]) == []


def _with_comments(text: str, hv: float = 1486.6):
    from xpsfit.spectrum import make_spectrum
    return make_spectrum([1, 2, 3], [1, 2, 3], excitation_energy=hv, comments=text,
                         path="synthetic.vms", block=3)


def test_calibration_shift_and_broken_casa_lines():
    s = _with_comments("Casa Info Follows\nCalib M = 285.3 A = 284.8 BE ADD\n")
    assert casa.calibration_shift(s) == pytest.approx(-0.5)
    s = _with_comments("Calib M = 1201.5 A = 1201.8 KE ADD\nCalib M = 1 A = 1.25 BE ADD")
    assert casa.calibration_shift(s) == pytest.approx(-0.3 + 0.25)
    broken = _with_comments("CASA comp (*C 1s*) (*GL(30)*) Area 12 0 1 -1 1 MFWHM 1.1 0 2 -1 1 "
                            "Position x 0 0 -1 1")
    with pytest.raises(FileFormatError, match="synthetic.vms.*block 3.*Position"):
        casa.casa_components(broken)


# --------------------------------------------------------------------------------------------
# synthetic files for layouts the real files lack

def _block_items(b: dict, exp_mode: str, scan_mode: str, n_exp_var: int) -> dict[int, list]:
    """The block's items keyed by inclusion-list number (ISO 14976 order)."""
    n_v = len(b["vars"])
    items = {i: [] for i in range(1, 41)}
    items.update({1: [2021], 2: [5], 3: [4], 4: [15], 5: [31], 6: [53], 7: [2],
                  8: [len(b["comments"])] + b["comments"], 9: [b.get("technique", "XPS")],
                  11: [0] * n_exp_var, 12: ["Al"], 14: [b["hv"]], 15: [1e37], 16: [1e37, 1e37],
                  19: [1e37], 20: [1e37], 21: ["FAT"], 22: [b.get("pe", 20)], 24: [1e37],
                  25: [4.5], 26: [1e37], 27: [1e37, 1e37], 28: [1e37, 1e37],
                  29: [b["species"]], 30: [b["transition"], -1],
                  32: [n_v] + [x for v in b["vars"] for x in v],
                  33: ["pulse counting"], 34: [b["dwell"]], 35: [b["scans"]], 36: [1e37],
                  38: [1e37, 1e37], 39: [1e37], 40: [1, "MFP Exponent", "d", 0]})
    if exp_mode == "MAP":
        items[10] = [0, 0]
        items[17] = [1e37, 1e37]
    if b.get("technique") == "AES diff":
        items[23] = [1e37]
    if scan_mode == "REGULAR":
        items[31] = [b["x_label"], "eV", b["start"], b["step"]]
    return items


def _vamas(blocks: list[dict], *, include: list[int] | None = None, exclude: bool = False,
           exp_mode: str = "NORM", scan_mode: str = "REGULAR", leading: str = "",
           comments: list[str] = ()) -> str:
    """A VAMAS text; ``include`` lists item numbers, an exclusion list when ``exclude``."""
    include = include or []
    head = [leading + vamas.IDENTIFIER, "Inst", "Model", "Op", "Exp", len(comments), *comments,
            exp_mode, scan_mode]
    if exp_mode in ("NORM", "MAP"):
        head.append(len(blocks))
    if exp_mode == "MAP":
        head += [0, 0, 0]
    head += [1, "Exp Variable", "d", -len(include) if exclude else len(include), *include,
             0, 0, 0, len(blocks)]
    listed = set(include)
    out = [str(x) for x in head]
    for k, b in enumerate(blocks):
        out += [b["id"], b["sample"]]
        items = _block_items(b, exp_mode, scan_mode, 1)
        for item in range(1, 41):
            present = (k == 0 or not include or (item in listed) != exclude)
            if present:
                out += [str(x) for x in items[item]]
        values = np.asarray(b["values"], dtype=float).ravel()
        n_v = len(b["vars"])
        out.append(str(values.size))
        out += ["0", "1"] * n_v
        out += [repr(float(v)) if not isinstance(v, str) else v for v in b.get("raw", values)]
    out.append("end of experiment")
    return "\r\n".join(out) + "\r\n"


def _block(i: int, n: int = 11, **kw) -> dict:
    rng = np.random.default_rng(i)
    b = dict(id=f"blk{i}", sample=f"{3.6 + 0.1 * i:.1f} V", comments=[f"comment {i}"],
             hv=1486.6, species="S", transition="2p", x_label="Kinetic Energy",
             start=1320.0 + i, step=0.1, vars=[("Intensity", "d")], dwell=0.2, scans=3,
             values=rng.poisson(1000, n).astype(float))
    b.update(kw)
    return b


def _write(tmp_path, text: str | bytes, name: str = "synthetic.vms") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("latin-1"))
    return p


def test_synthetic_regular_blocks_read_back_exactly(tmp_path):
    blocks = [_block(0), _block(1, species="P", transition="2p")]
    spectra = vamas.read(_write(tmp_path, _vamas(blocks)))
    for s, b in zip(spectra, blocks):
        ke = b["start"] + b["step"] * np.arange(len(b["values"]))
        np.testing.assert_allclose(s["binding_energy"].values, np.sort(1486.6 - ke), atol=1e-9)
        np.testing.assert_array_equal(s.values, b["values"][::-1])
        assert s.attrs["sample"] == b["sample"] and s.attrs["label"] == b["sample"]
        assert s.attrs["voltage"] == pytest.approx(float(b["sample"].split()[0]))
        assert s.attrs["acquisition_time"] == "2021-05-04T15:31:53+02:00"
    assert [s.attrs["region"] for s in spectra] == ["S 2p", "P 2p"]


@pytest.mark.parametrize("include, exclude, own", [
    ([1, 2, 3, 8, 14, 29, 30, 31, 35], False, {8, 29, 30}),  # n > 0: only these items follow
    ([12, 29, 30, 22], True, {8}),                           # n < 0: all items but these
])
def test_inclusion_list_later_blocks_inherit_from_the_first(tmp_path, include, exclude, own):
    blocks = [_block(0, pe=50), _block(1, species="P", transition="2s", pe=99)]
    spectra = vamas.read(_write(tmp_path, _vamas(blocks, include=include, exclude=exclude)))
    first, second = spectra[0].attrs, spectra[1].attrs
    assert first["region"] == "S 2p" and first["pass_energy"] == 50  # block 1 has every item
    # an item present in block 2 has its own value; an absent one comes from block 1
    assert second["region"] == ("P 2s" if 29 in own else "S 2p")
    assert second["pass_energy"] == 50
    assert second["comments"] == ("comment 1" if 8 in own else "comment 0")
    assert second["scans"] == 3 and second["excitation_energy"] == 1486.6
    np.testing.assert_array_equal(spectra[1].values, blocks[1]["values"][::-1])


def test_map_mode_irregular_several_variables(tmp_path):
    ke = np.array([100.0, 100.5, 101.0, 101.5])
    y = np.array([10.0, 20.0, 30.0, 40.0])
    t = np.array([0.5, 0.6, 0.7, 0.8])
    b = _block(0, vars=[("Kinetic Energy", "eV"), ("transmission", "d"), ("Intensity", "d")],
               values=np.column_stack([ke, t, y]), hv=1253.6)
    (s,) = vamas.read(_write(tmp_path, _vamas([b], exp_mode="MAP", scan_mode="IRREGULAR")))
    np.testing.assert_allclose(s["binding_energy"].values, (1253.6 - ke)[::-1])
    np.testing.assert_array_equal(s.values, y[::-1])  # intensity, not the transmission column
    np.testing.assert_array_equal(s["transmission"].values, t[::-1])


def test_binding_energy_label_counts_per_second_latin1_and_sentinel(tmp_path):
    values = np.array([100.0, 200.0, 1e37, 400.0, 500.0])
    b = _block(0, x_label="Binding Energy", start=290.0, step=-0.5, vars=[("Intensity", "c/s")],
               values=values, comments=["Probe \xb5-spot \x85 \xe9t\xe9", ""], dwell=0.5, scans=4)
    text = _vamas([b], leading="", comments=["caf\xe9"])
    (s,) = vamas.read(_write(tmp_path, "\r\n\r\n" + text))
    assert s.attrs["original_axis"] == "BE"
    np.testing.assert_array_equal(s["binding_energy"].values, [288.0, 288.5, 289.5, 290.0])
    # the 1e37 point is dropped; c/s × dwell 0.5 s × 4 scans = counts
    np.testing.assert_array_equal(s.values, [1000.0, 800.0, 400.0, 200.0])
    assert s.attrs["counts_unit"] == "counts" and s.attrs["converted_from"] == "counts/s"
    # \x85 is a Latin-1 character, not a line break: the comment stays one line, two in all
    assert s.attrs["comments"] == "Probe \xb5-spot \x85 \xe9t\xe9\n"
    assert s.attrs["work_function"] == 4.5 and s.attrs["dwell"] == 0.5 and s.attrs["scans"] == 4


def test_counts_per_second_without_scans_stays_a_rate(tmp_path):
    b = _block(0, vars=[("Intensity", "counts per second")], scans=1e37)
    (s,) = vamas.read(_write(tmp_path, _vamas([b])))
    assert s.attrs["counts_unit"] == "counts/s" and s.attrs["converted_from"] == ""
    np.testing.assert_array_equal(s.values, b["values"][::-1])


def test_missing_excitation_energy_needs_one_from_the_caller(tmp_path):
    # the Mg Kα block starts at KE 1100 eV: its BE stays physical (below hν)
    path = _write(tmp_path, _vamas([_block(0, hv=1e37), _block(1, hv=1253.6, start=1100.0)]))
    with pytest.raises(FileFormatError, match="no excitation energy") as info:
        vamas.read(path)
    assert info.value.block == 0
    first, second = vamas.read(path, excitation_energy=1486.6)
    assert first.attrs["excitation_energy"] == 1486.6
    assert second.attrs["excitation_energy"] == 1253.6  # the file's own value wins


def test_non_xps_blocks_are_skipped(tmp_path):
    blocks = [_block(0, technique="AES diff"), _block(1), _block(2, technique="ELS")]
    spectra = vamas.read(_write(tmp_path, _vamas(blocks)))
    assert [s.attrs["block_index"] for s in spectra] == [1]
    assert spectra[0].attrs["block_name"] == "blk1"


def test_linescan_modes_are_rejected_clearly(tmp_path):
    text = _vamas([_block(0)], exp_mode="SEM")
    with pytest.raises(UnsupportedFormatError, match="SEM") as info:
        vamas.read(_write(tmp_path, text))
    assert info.value.line is not None


def test_fifty_blocks_parse_fast(tmp_path):
    blocks = [_block(i, n=1001) for i in range(50)]
    path = _write(tmp_path, _vamas(blocks))
    # CPU time of this process, not wall time: a loaded CI machine must not fail a speed test
    t0 = time.process_time()
    spectra = vamas.read(path)
    elapsed = time.process_time() - t0
    assert len(spectra) == 50 and all(s.size == 1001 for s in spectra)
    assert elapsed < 1.0, elapsed


def test_progress_callback_can_cancel(tmp_path):
    from xpsfit.errors import Cancelled
    path = _write(tmp_path, _vamas([_block(i) for i in range(4)]))
    seen = []
    vamas.read(path, progress=lambda d, t, m: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(Cancelled):
        vamas.read(path, progress=lambda d, t, m: d == 2)


# --------------------------------------------------------------------------------------------
# broken copies of real files

BROKEN_SOURCES = ["pynxtools-xps/FeO_analyzed.vms", "lg4x-v2/0-150W.vms",
                  "lg4x-v2/Mutlipak_vms.npl"]


@pytest.mark.parametrize("rel", BROKEN_SOURCES)
@pytest.mark.parametrize("fraction", [0.001, 0.01, 0.2, 0.5, 0.77, 0.99, 0.998])
def test_truncated_copies_fail_with_file_and_line(tmp_path, rel, fraction):
    data = real_file(rel).read_bytes()
    cut = _write(tmp_path, data[:int(len(data) * fraction)], Path(rel).name)
    with pytest.raises(FileFormatError) as info:
        vamas.read(cut)
    err = info.value
    assert err.path == str(cut) and err.line is not None and err.line >= 1
    assert str(cut) in str(err) and "\n" not in str(err)


def _lines(rel: str) -> list[str]:
    return vamas.decode(real_file(rel).read_bytes())


def test_non_numeric_value_names_its_line_and_block(tmp_path):
    lines = _lines("lg4x-v2/0-150W.vms")
    spectra_lines = [i for i, ln in enumerate(lines) if ln.strip() == "W 4f"]
    bad_at = len(lines) - 40  # a value inside the last (W 4f, index 4) block
    assert bad_at > spectra_lines[-1]
    lines[bad_at] = "12x34"
    path = _write(tmp_path, "\r\n".join(lines))
    with pytest.raises(FileFormatError, match="non-numeric value '12x34'") as info:
        vamas.read(path)
    assert info.value.line == bad_at + 1 and info.value.block == 4
    assert f"{path}:{bad_at + 1}" in str(info.value)


def _count_line(lines: list[str], n_tot: str) -> int:
    return next(i for i, ln in enumerate(lines) if ln.strip() == n_tot)


@pytest.mark.parametrize("new, message", [
    ("3362", "not a multiple"),
    ("1000000000", "only .* lines follow"),
    ("3366", "file ends early"),
    ("3360", "end of experiment"),
    ("-3", "negative count"),
    ("many", "expected an integer"),
])
def test_wrong_value_counts(tmp_path, new, message):
    lines = _lines("pynxtools-xps/FeO_analyzed.vms")
    at = _count_line(lines, "3363")
    lines[at] = new
    path = _write(tmp_path, "\r\n".join(lines))
    t0 = time.process_time()    # CPU, not wall time: no flake on a loaded machine
    with pytest.raises(FileFormatError, match=message) as info:
        vamas.read(path)
    assert time.process_time() - t0 < 1.0
    assert info.value.path == str(path) and info.value.line is not None


def test_wrong_count_in_an_early_block_is_caught(tmp_path):
    lines = _lines("lg4x-v2/0-150W.vms")
    at = _count_line(lines, "2412")  # wide: 1206 points × 2 variables
    lines[at] = "2410"
    path = _write(tmp_path, "\r\n".join(lines))
    with pytest.raises(FileFormatError) as info:
        vamas.read(path)
    assert info.value.line is not None and info.value.line > at


def test_bad_inclusion_item_and_mode(tmp_path):
    text = _vamas([_block(0)], include=[41])
    with pytest.raises(FileFormatError, match="inclusion list item 41"):
        vamas.read(_write(tmp_path, text))
    text = _vamas([_block(0)]).replace("\r\nREGULAR\r\n", "\r\nSIDEWAYS\r\n", 1)
    with pytest.raises(FileFormatError, match="unknown scan mode"):
        vamas.read(_write(tmp_path, text))


def test_nan_or_inf_counts_are_refused_not_dropped(tmp_path):
    """A single NaN/Inf ordinate is corruption (the 1e37 sentinel is the standard's 'missing')."""
    import xpsfit
    from xpsfit.errors import FileFormatError
    from realdata import EXAMPLES
    text = (EXAMPLES / "kb_series.vms").read_text(encoding="latin-1").splitlines(keepends=True)
    # the last ordinate of the last block sits just before "end of experiment"
    end = next(i for i in range(len(text) - 1, -1, -1) if text[i].strip() == "end of experiment")
    for token in ("nan", "inf", "-Infinity"):
        bad = text[:end - 1] + [token + "\r\n"] + text[end:]
        path = tmp_path / f"bad_{token}.vms"
        path.write_text("".join(bad), encoding="latin-1")
        with pytest.raises(FileFormatError, match=r"non-finite") as info:
            xpsfit.read(path)
        assert path.name in str(info.value) and "block 9" in str(info.value)
