import math

import numpy as np
import pytest

from xpsfit import DIM, FileFormatError, make_spectrum, region_key, shift
from xpsfit.spectrum import normalise_region, parse_voltage, to_counts


def test_ke_axis_is_converted_with_the_blocks_own_excitation_energy_and_sorted():
    ke = np.array([1320.0, 1321.0, 1322.0])
    sp = make_spectrum(ke, [1.0, 2.0, 3.0], axis="KE", excitation_energy=1486.61,
                       species="S", transition="2p")
    assert np.allclose(sp[DIM].values, [164.61, 165.61, 166.61])
    # the highest KE is the lowest BE: intensity order reversed by the sort
    assert list(sp.values) == [3.0, 2.0, 1.0]
    assert np.allclose(sp["original_energy"].values, [1322.0, 1321.0, 1320.0])
    assert sp.attrs["region"] == "S 2p"
    assert sp.attrs["original_axis"] == "KE"


def test_shift_is_recorded_cumulatively():
    sp = make_spectrum([1.0, 2.0], [5.0, 6.0])
    s2 = shift(shift(sp, 0.25), -0.1)
    assert np.allclose(s2[DIM].values, [1.15, 2.15])
    assert math.isclose(s2.attrs["charge_shift"], 0.15)
    assert sp.attrs["charge_shift"] == 0.0


def test_counts_per_second_become_counts_only_when_dwell_and_scans_are_known():
    cps = make_spectrum([1.0, 2.0], [100.0, 200.0], counts_unit="counts/s", dwell=0.1, scans=5)
    c = to_counts(cps)
    assert list(c.values) == [50.0, 100.0]
    assert c.attrs["counts_unit"] == "counts" and c.attrs["converted_from"] == "counts/s"
    unknown = make_spectrum([1.0, 2.0], [100.0, 200.0], counts_unit="counts/s")
    assert to_counts(unknown).attrs["counts_unit"] == "counts/s"


@pytest.mark.parametrize("bad", [[1.0, float("nan")], [1.0]])
def test_bad_data_raises_file_format_error_naming_the_file(bad):
    with pytest.raises(FileFormatError, match="x.vms"):
        make_spectrum(list(range(len(bad))), bad, path="x.vms", block=3)


def test_region_matching_and_voltage_parsing():
    assert region_key("S 2p") == region_key("s2p") == region_key("S2p3/2")
    assert normalise_region("S", "2p") == "S 2p"
    assert normalise_region("S2p") == "S 2p"
    assert parse_voltage("CNF 4.3 V") == 4.3
    assert parse_voltage("charged to 3.6V") == 3.6
    assert math.isnan(parse_voltage("pristine"))
