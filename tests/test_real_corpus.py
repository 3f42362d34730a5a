"""Every real file in ../shared/real_spectra either reads (with finite, ascending spectra) or is
refused with one line that names its format; and the Scienta SES text reader on real files."""
import math
import warnings

import numpy as np
import pytest

import xpsfit
from xpsfit.errors import XpsfitError

from realdata import REAL, real_file

#: files refused on purpose, with the words the one-line message must contain
REFUSED = {
    "lmfitxps/clean_Au_4f.txt": "raw multi-channel",
    "pynxtools-xps/FeO_analyzed_results.csv": "CasaXPS peak-table report",
    "pynxtools-xps/SnO2_10nm_1.pro": "DEPTHPRO",
    "vamas-pypi/aes_staib.vms": "AES",
}


def _files():
    if not REAL.is_dir():
        return []
    return sorted(str(p.relative_to(REAL)) for p in REAL.rglob("*")
                  if p.is_file() and p.name != "MANIFEST.md")


@pytest.mark.skipif(not REAL.is_dir(), reason=f"{REAL} is absent (real spectra not mounted)")
@pytest.mark.parametrize("rel", _files())
def test_every_real_file_reads_or_is_refused_naming_its_format(rel):
    path = real_file(rel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            spectra = xpsfit.read(path)
        except XpsfitError as exc:
            message = str(exc)
            assert rel in REFUSED, f"unexpected refusal: {message}"
            assert REFUSED[rel] in message and "\n" not in message and path.name in message
            return
    assert rel not in REFUSED, f"{rel} now reads: move it out of REFUSED"
    for s in spectra:
        be = s["binding_energy"].values
        assert be.size >= 2 and np.all(np.diff(be) > 0)
        assert np.all(np.isfinite(s.values))


def test_scienta_ses_text_binding_and_kinetic_axes():
    (ag,) = xpsfit.read(real_file("pynxtools-xps/Ag_0001.txt"))
    assert ag.attrs["format"] == "scienta_txt" and ag.attrs["region"] == "Ag 3d"
    assert ag.sizes["binding_energy"] == 361
    assert float(ag["binding_energy"][0]) == 364.0 and float(ag["binding_energy"][-1]) == 382.0
    assert ag.attrs["excitation_energy"] == 520.0 and ag.attrs["scans"] == 2
    assert ag.attrs["counts_unit"] == "arbitrary"           # SES wrote non-integer intensities
    # the file's first data row (BE 382.0, 15.7494897842407) is the highest-BE point
    assert float(ag.values[-1]) == 15.7494897842407
    (ru,) = xpsfit.read(real_file("gxps/Ru02_0063.txt"))
    assert ru.attrs["original_axis"] == "KE" and ru.attrs["counts_unit"] == "counts"
    be = ru["binding_energy"].values
    assert be[0] == pytest.approx(650 - 590) and be[-1] == pytest.approx(650 - 530)
    assert math.isclose(ru.attrs["dwell"], 0.2) and ru.attrs["pass_energy"] == 100.0
    # the file's first data row (KE 530.0, 27628 counts) is the highest-BE point
    assert float(ru.values[-1]) == 27628.0


def test_phi_multipak_ascii_equals_the_spe_it_was_exported_from():
    txt = xpsfit.read(real_file("jesusf10-xps-data-analysis/BN-BS-1 multiplex.txt"))
    spe = xpsfit.read(real_file("jesusf10-xps-data-analysis/BN-BS-1 multiplex.spe"))
    assert [s.attrs["region"] for s in txt] == ["Bi 4f", "Na 1s", "O 1s", "Sr 3d", "Ti 2p",
                                                "C 1s"]
    assert [s.attrs["region"] for s in txt] == [s.attrs["region"] for s in spe]
    for a, b in zip(txt, spe):
        assert a.attrs["format"] == "phi_ascii" and a.attrs["excitation_energy"] == 1253.6
        np.testing.assert_allclose(a["binding_energy"].values, b["binding_energy"].values,
                                   atol=1e-9)
        np.testing.assert_array_equal(a.values, b.values)          # to the count
        # time per point: per-sweep dwell × sweeps here, one total in the .spe
        assert a.attrs["dwell"] * a.attrs["scans"] == pytest.approx(b.attrs["dwell"])


def test_omicron_eis_multi_region_text():
    spectra = xpsfit.read(real_file("gxps/2020-02-20_Ga2O3_new_check-oxidation.txt"))
    assert len(spectra) == 13
    assert [s.attrs["region"] for s in spectra[2:7]] == ["O 1s", "Ga 2p", "C 1s", "fermi edge",
                                                         "Mo 3d"]
    c1s = spectra[4]
    assert c1s.sizes["binding_energy"] == 221 and c1s.attrs["scans"] == 15
    assert float(c1s["binding_energy"][0]) == 270.0 and float(c1s["binding_energy"][-1]) == 292.0
    survey = spectra[0]
    assert float(survey.values[-1]) == 3455.0        # first data row: 1400.0 eV, 3455 counts
    assert math.isnan(survey.attrs["excitation_energy"])   # the export does not state hν


def test_casaxps_text_exports_read_with_casaxps_curves_kept():
    (txt,) = xpsfit.read(real_file("pynxtools-xps/FeO_analyzed_lineshapes_cols.txt"))
    (vms,) = xpsfit.read(real_file("pynxtools-xps/FeO_analyzed.vms"))
    assert txt.attrs["format"] == "casa_text" and txt.attrs["region"] == "Fe 2p"
    np.testing.assert_allclose(txt["binding_energy"].values, vms["binding_energy"].values,
                               atol=1e-6)
    np.testing.assert_allclose(txt.values, vms.values, rtol=1e-6)     # the same counts
    assert txt.attrs["peer_fit"] == "CasaXPS"
    assert "Fe 2p | 716.00 | 8.00 | 35837.06 | SGL(30)" in txt.attrs["peer_components"]
    comps = [txt[f"peer_component_{k}"].values for k in range(1, 5)]
    np.testing.assert_allclose(txt["peer_envelope"].values,
                               txt["peer_background"].values + sum(comps), rtol=1e-5)
    blocks = xpsfit.read(real_file("pynxtools-xps/vms_txt_export.txt"))
    assert [b.attrs["label"] for b in blocks] == ["Ni:Survey", "Ni:Ni2p", "NiO:Survey",
                                                  "NiO:Ni2p"]
    assert [b.sizes["binding_energy"] for b in blocks] == [1201, 501, 1201, 501]
    assert "peer_fit" not in blocks[0].attrs                 # no fit in that export


def test_casaxps_sgl_components_match_xpsfit_gl_sum_in_casaxps_units():
    """CasaXPS's own SGL(30) curves (from its export) equal xpsfit's gl_sum with MFWHM as the
    width, BE = hν − stored KE and area = CasaXPS area × dwell × scans (CasaXPS areas are c/s)."""
    from xpsfit.io.casa import casa_components, counts_per_casa_area
    from xpsfit.numerics.lineshapes import evaluate

    (txt,) = xpsfit.read(real_file("pynxtools-xps/FeO_analyzed_lineshapes_cols.txt"))
    (vms,) = xpsfit.read(real_file("pynxtools-xps/FeO_analyzed.vms"))
    comps = casa_components(vms)
    x = txt["binding_energy"].values
    for k in (1, 3):                                    # the two SGL(30) components
        c = comps[k]
        model = evaluate("gl_sum", x, c.area * counts_per_casa_area(vms), c.position_be, c.fwhm,
                         m=0.3)
        peer = txt[f"peer_component_{k + 1}"].values
        assert np.max(np.abs(model - peer)) < 3e-3 * peer.max()


def test_kherve_workbook_data_and_its_doublet_fit_as_peer_curves():
    spectra = xpsfit.read(real_file("khervefitting/STO_2doublets.xlsx"))
    assert [s.attrs["region"] for s in spectra] == ["Ti 2p", "Sr 3d", "O 1s", "C 1s"]
    ti = spectra[0]
    assert ti.attrs["format"] == "kherve_xlsx" and ti.sizes["binding_energy"] == 271
    assert float(ti.values[-1]) == 5188.75                  # first row: 475.08 eV, raw 5188.75
    assert ti.attrs["peer_fit"] == "KherveFitting"
    assert "peer_component_1 = Ti2p3/2 p1" in ti.attrs["peer_curves"]
    assert "Ti2p3/2 p1 | 458.02 | 15170.00 | 1.13" in ti.attrs["peer_components"]
    be = ti["binding_energy"].values
    major, minor = ti["peer_component_1"].values, ti["peer_component_2"].values
    # the curve maxima sit at the table's positions (grid 0.1 eV), Δ = 5.73 eV
    assert be[np.nanargmax(major)] == pytest.approx(458.02, abs=0.06)
    assert be[np.nanargmax(minor)] == pytest.approx(463.75, abs=0.06)
    envelope = ti["peer_envelope"].values - ti["peer_background"].values
    assert np.nanmax(np.abs(envelope - major - minor)) < 1e-4 * np.nanmax(envelope)
    (pt, pt_copy) = xpsfit.read(real_file("khervefitting/Pt4f.xlsx"))
    assert "transmission" in pt.coords and float(pt["transmission"][-1]) == 0.820997
    # an Avantage workbook is still the Avantage reader's
    assert xpsfit.read(real_file("khervefitting/Hard_carbon_Thermo.xlsx"))[0].attrs["format"] \
        == "avantage_xlsx"


def test_scienta_ibw_equals_the_ses_text_export():
    (ibw,) = xpsfit.read(real_file("pynxtools-xps/Ag_0001Ag__001.ibw"))
    (txt,) = xpsfit.read(real_file("pynxtools-xps/Ag_0001.txt"))
    assert ibw.attrs["format"] == "scienta_ibw" and ibw.attrs["region"] == "Ag 3d"
    np.testing.assert_allclose(ibw["binding_energy"].values, txt["binding_energy"].values,
                               atol=1e-9)
    np.testing.assert_allclose(ibw.values, txt.values, rtol=1e-12)
    for key in ("excitation_energy", "scans", "pass_energy", "dwell", "counts_unit"):
        assert ibw.attrs[key] == txt.attrs[key]


def test_clam2_mean_over_scans_is_the_files_running_average():
    path = real_file("xps-excel-macro/111216_0459_O1s.txt")
    (s,) = xpsfit.read(path)
    assert s.attrs["format"] == "clam2" and s.attrs["region"] == "O 1s"
    assert s.attrs["excitation_energy"] == 600.0 and s.attrs["scans"] == 10
    be = s["binding_energy"].values
    assert be.size == 126 and be[0] == pytest.approx(525.0) and be[-1] == pytest.approx(550.0)
    # the file's own "Avg CPS" column of its last scan (column 6), KE ascending = BE descending
    lines = path.read_text(encoding="latin-1").splitlines()
    last = max(i for i, ln in enumerate(lines) if ln.startswith("Scan :"))
    avg = np.array([float(ln.split("\t")[5]) for ln in lines[last + 1:] if ln.strip()])
    np.testing.assert_allclose(s.values[::-1], avg, atol=0.051)     # printed to 0.1 c/s
