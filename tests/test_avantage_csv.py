"""Avantage-style CSV with fit columns: the layout described in real_spectra/MANIFEST.md (no such
file is in the shared set, so the test writes one from known curves and checks every value)."""
import numpy as np
import pytest

import xpsfit

from synth_xps import pseudo_voigt


def _write(path, *, with_background):
    be = np.arange(295.0, 280.0 - 1e-9, -0.125)               # descending, step 0.125 eV
    bg = 1000.0 + 20.0 * (be - 280.0)
    cc = pseudo_voigt(be, 5000.0, 284.8, 1.0, 0.3)
    co = pseudo_voigt(be, 1500.0, 286.4, 1.2, 0.3)
    data = bg + cc + co + np.linspace(-3, 3, be.size)
    shown = (cc + bg, co + bg) if with_background else (cc, co)
    lines = [",,,,", ",,,,", "Characteristic Energy eV,1486.6,Acquisition Time s,0.1,,",
             "BE_C1s,CPS_C1s,C-C_1_C1s,C-O_2_C1s,Background_C1s,Envelope_C1s"]
    for row in zip(be, data, *shown, bg, bg + cc + co):
        lines.append(",".join(f"{v:.6f}" for v in row))
    path.write_text("\n".join(lines) + "\n")
    return be, data, bg, cc, co


@pytest.mark.parametrize("with_background", [True, False])
def test_avantage_csv_reads_data_and_keeps_its_fit(tmp_path, with_background):
    path = tmp_path / "Au_C1s.csv"
    be, data, bg, cc, co = _write(path, with_background=with_background)
    (s,) = xpsfit.read(path)
    assert s.attrs["format"] == "avantage_csv" and s.attrs["region"] == "C 1s"
    assert s.attrs["excitation_energy"] == 1486.6 and s.attrs["counts_unit"] == "counts/s"
    order = np.argsort(be)
    np.testing.assert_allclose(s["binding_energy"].values, be[order])
    np.testing.assert_allclose(s.values, data[order], atol=1e-6)
    assert s.attrs["peer_fit"] == "Avantage"
    assert s.attrs["peer_curves"].splitlines()[:2] == ["peer_component_1 = C-C_1",
                                                      "peer_component_2 = C-O_2"]
    # stored without the background, whichever way the file had them
    np.testing.assert_allclose(s["peer_component_1"].values, cc[order], atol=2e-6)
    np.testing.assert_allclose(s["peer_component_2"].values, co[order], atol=2e-6)
    np.testing.assert_allclose(s["peer_background"].values, bg[order], atol=1e-6)


def test_avantage_csv_without_cps_column_is_one_line_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("\n\nCharacteristic Energy eV,1486.6\nBE_C1s,Counts_C1s,Background_C1s\n"
                    "285,1,1\n284,2,1\n")
    with pytest.raises(xpsfit.FileFormatError) as info:
        xpsfit.read(path)
    assert "lacks CPS_C1s" in str(info.value) and "bad.csv" in str(info.value)
