"""VAMAS writer: write -> read (xpsfit.io.vamas) is exact, and writing is atomic."""
from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest

from xpsfit.errors import ExportError
from xpsfit.io import vamas
from xpsfit.io.vamas_writer import write_vamas
from xpsfit.spectrum import DIM, make_spectrum, shift

META = ("region", "species", "transition", "sample", "excitation_energy",
        "work_function", "original_axis", "scans", "dwell", "pass_energy", "counts_unit",
        "technique", "comments")


def _ke_spectrum(rng, *, hv=1486.6, lo=157.0, step=0.1, n=141, **attrs):
    be = lo + step * np.arange(n)
    y = rng.poisson(4000.0, n).astype(float)
    kw = dict(species="S", transition="2p", sample="CNF 4.3 V", label="4.3 V", block_name="4.3 V",
              scans=15, dwell=0.1, pass_energy=20.0, work_function=4.5)
    kw.update(attrs)
    return make_spectrum(hv - be, y, axis="KE", excitation_energy=hv, **kw)


def _be_spectrum(rng, be, **attrs):
    # arbitrary non-integer floats: the shortest-repr writing must survive every bit
    y = rng.normal(1e4, 3e3, be.size) * (1 + 1e-9 * rng.random(be.size))
    kw = dict(species="Fe", transition="2p", sample="FeO", label="Fe 2p", block_name="Fe 2p",
              scans=3, dwell=0.05, pass_energy=50.0)
    kw.update(attrs)
    return make_spectrum(be, y, axis="BE", **kw)


def _same_meta(written, read):
    for key in META:
        a, b = written.attrs[key], read.attrs[key]
        if key in ("species", "transition") and not a:
            continue    # split from the region name on writing; asserted where it matters
        if isinstance(a, float) and math.isnan(a):
            assert isinstance(b, float) and math.isnan(b), key
        else:
            assert a == b, (key, a, b)
    assert read.attrs["block_name"] == (written.attrs["label"] or written.attrs["block_name"])


def _assert_round_trip(written, read, *, exact_axis=False):
    assert read.sizes[DIM] == written.sizes[DIM]
    np.testing.assert_array_equal(read.values, written.values)   # bit-exact counts
    d = np.abs(read[DIM].values - written[DIM].values).max()
    assert d == 0.0 if exact_axis else d < 1e-9
    _same_meta(written, read)


def test_ke_spectrum_round_trip_is_exact(tmp_path):
    s = _ke_spectrum(np.random.default_rng(0), comments="line one\n\nCASA comp (*x*) trailing  ")
    path = write_vamas(tmp_path / "ke.vms", s)
    text = path.read_bytes()
    assert b"\r\nKinetic Energy\r\n" in text and b"\r\nREGULAR\r\n" in text
    (r,) = vamas.read(path)
    _assert_round_trip(s, r)
    assert r.attrs["original_axis"] == "KE"
    assert r.attrs["region"] == "S 2p" and r.attrs["sample"] == "CNF 4.3 V"
    assert r.attrs["voltage"] == pytest.approx(4.3)
    # written with increasing KE = the file's abscissa runs from high to low BE
    assert r["original_energy"].values[0] == pytest.approx(1486.6 - 157.0, abs=1e-9)


def test_be_spectrum_and_unknown_numbers_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    s = _be_spectrum(rng, 700.0 + 0.025 * np.arange(2001), work_function=math.nan,
                     pass_energy=math.nan)
    (r,) = vamas.read(write_vamas(tmp_path / "be.vms", s))
    _assert_round_trip(s, r)
    assert r.attrs["original_axis"] == "BE"
    assert math.isnan(r.attrs["excitation_energy"])     # written as the 1e37 sentinel
    assert math.isnan(r.attrs["pass_energy"]) and math.isnan(r.attrs["work_function"])


def test_transmission_is_a_second_corresponding_variable(tmp_path):
    rng = np.random.default_rng(2)
    s = _ke_spectrum(rng, hv=1253.6)
    s = s.assign_coords(transmission=(DIM, rng.uniform(60.0, 80.0, s.sizes[DIM])))
    (r,) = vamas.read(write_vamas(tmp_path / "t.vms", s))
    _assert_round_trip(s, r)
    np.testing.assert_array_equal(r["transmission"].values, s["transmission"].values)


def test_multi_block_file_keeps_order_and_per_block_metadata(tmp_path):
    rng = np.random.default_rng(3)
    blocks = [
        _ke_spectrum(rng, sample="KB pristine", label="pristine", block_name="pristine"),
        _ke_spectrum(rng, lo=127.0, n=111, species="P", transition="2p", sample="KB pristine",
                     label="pristine", scans=20),
        # species/transition empty: split from the region name
        _ke_spectrum(rng, hv=1253.6, lo=280.0, step=0.05, n=301, species="", transition="",
                     region="C 1s", sample="KB 3.6 V", label="3.6 V", dwell=0.2, scans=7,
                     counts_unit="counts"),
        _be_spectrum(rng, 0.5 * np.arange(2401.0), sample="survey", label="", block_name="Survey"),
    ]
    path = write_vamas(tmp_path / "multi.vms", blocks, comments=["first", "second"])
    read = vamas.read(path)
    assert [r.attrs["block_index"] for r in read] == [0, 1, 2, 3]
    assert [r.attrs["region"] for r in read] == ["S 2p", "P 2p", "C 1s", "Fe 2p"]
    for w, r in zip(blocks, read):
        _assert_round_trip(w, r)
    assert read[2].attrs["species"] == "C" and read[2].attrs["transition"] == "1s"
    assert read[3].attrs["block_name"] == "Survey"
    assert path.read_bytes().endswith(b"end of experiment\r\n")


def test_irregular_axis_is_written_irregular_and_stays_exact(tmp_path):
    rng = np.random.default_rng(4)
    be = np.sort(rng.uniform(280.0, 300.0, 200))
    irregular_be = _be_spectrum(rng, be, species="C", transition="1s", label="C 1s")
    irregular_ke = make_spectrum(1486.61 - be[::-1], rng.poisson(500.0, be.size).astype(float),
                                 axis="KE", excitation_energy=1486.61, species="C",
                                 transition="1s", sample="irr", label="ke", scans=2, dwell=0.1)
    regular = _ke_spectrum(rng)
    path = write_vamas(tmp_path / "irr.vms", [regular, irregular_be, irregular_ke])
    assert b"\r\nIRREGULAR\r\n" in path.read_bytes()   # one scan mode per file
    read = vamas.read(path)
    assert [r.attrs["original_axis"] for r in read] == ["KE", "BE", "KE"]
    _assert_round_trip(regular, read[0])
    _assert_round_trip(irregular_be, read[1], exact_axis=True)
    _assert_round_trip(irregular_ke, read[2])


def test_counts_per_second_and_acquisition_time_survive(tmp_path):
    rng = np.random.default_rng(5)
    cps = _ke_spectrum(rng, counts_unit="counts/s", dwell=math.nan,
                       acquisition_time="2024-03-05T14:07:09+02:00")
    (r,) = vamas.read(write_vamas(tmp_path / "cps.vms", cps))
    _assert_round_trip(cps, r)
    assert r.attrs["counts_unit"] == "counts/s"
    assert datetime.fromisoformat(r.attrs["acquisition_time"]) == \
        datetime.fromisoformat("2024-03-05T14:07:09+02:00")


def test_charge_shift_is_baked_into_the_written_axis(tmp_path):
    s = shift(_ke_spectrum(np.random.default_rng(6)), 0.25)
    (r,) = vamas.read(write_vamas(tmp_path / "shifted.vms", s))
    assert abs(r[DIM].values - s[DIM].values).max() < 1e-9
    assert r[DIM].values[0] == pytest.approx(157.25)


def _leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_failed_write_leaves_existing_target_untouched(tmp_path):
    rng = np.random.default_rng(7)
    target = tmp_path / "out.vms"
    write_vamas(target, _ke_spectrum(rng))
    before = target.read_bytes()
    bad = _ke_spectrum(rng).copy()
    bad.values[5] = np.nan
    with pytest.raises(ExportError, match=r"out\.vms block 1: non-finite"):
        write_vamas(target, [_ke_spectrum(rng), bad])
    with pytest.raises(ExportError, match="no spectra"):
        write_vamas(target, [])
    with pytest.raises(ExportError, match="expected a Spectrum"):
        write_vamas(target, [np.arange(3.0)])
    assert target.read_bytes() == before
    assert _leftovers(tmp_path, {"out.vms"}) == []


def test_failure_after_the_temp_file_was_written_leaves_nothing_behind(tmp_path):
    # os.replace onto a non-empty directory fails only after the whole temp file is written
    target = tmp_path / "occupied.vms"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(ExportError, match="occupied.vms"):
        write_vamas(target, _ke_spectrum(np.random.default_rng(8)))
    assert _leftovers(tmp_path, {"occupied.vms"}) == []
    assert (target / "keep.txt").read_text() == "x"
    with pytest.raises(ExportError, match="does not exist"):
        write_vamas(tmp_path / "missing" / "x.vms", _ke_spectrum(np.random.default_rng(8)))
