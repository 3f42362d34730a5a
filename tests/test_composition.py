"""Composition tables, long CSV, onsets.csv and element quantification with library RSFs."""
import csv

import numpy as np
import pytest

from series_data import example_series, synth_series
from synth_xps import s2p_recipe
from xpsfit.composition import (composition_table, element_quantification, write_onsets,
                                write_series_table)
from xpsfit.result import TABLE_COLUMNS
from xpsfit.fitting.series import fit_series


@pytest.fixture(scope="module")
def synth():
    return fit_series(synth_series(seed=2), s2p_recipe("shirley_active"))


def test_dataset_spectrum_by_species(synth):
    ds = composition_table(synth)
    assert ds["fraction"].dims == ("spectrum", "species")
    assert list(ds["species"].values) == ["PS4", "S2-", "polysulfide", "S0"]
    assert list(ds["label"].values) == synth.labels
    np.testing.assert_allclose(ds["fraction"].sum("species"), 1.0)
    assert ds["fraction"].sel(species="S0").values[3] == synth.results[3].component("S0").fraction
    assert bool(ds["present"].sel(species="S0")[3]) and not bool(ds["present"].sel(species="S0")[0])
    assert "% of S 2p area" in ds.attrs["quantity"]
    assert synth.to_dataset().identical(ds)


def test_long_csv_and_onsets_csv(synth, tmp_path):
    t, o = tmp_path / "t.csv", tmp_path / "o.csv"
    write_series_table(synth, t)
    write_onsets(synth, o)
    rows = list(csv.DictReader(open(t, encoding="utf-8")))
    assert len(rows) == 4 * 4
    for col in TABLE_COLUMNS + ["series_index", "label", "present"]:
        assert col in rows[0]
    s0 = [r for r in rows if r["species"] == "S0"]
    assert [r["present"] for r in s0] == ["false", "false", "true", "true"]
    assert [r["series_index"] for r in s0] == ["0", "1", "2", "3"]
    on = {r["species"]: r for r in csv.DictReader(open(o, encoding="utf-8"))}
    assert on["S0"]["onset_label"] == "state 2" and on["S0"]["onset_index"] == "2"
    assert float(on["S0"]["p_value"]) < 0.05 and float(on["S0"]["F"]) > 0


def test_element_quantification_uses_library_rsf():
    s_sp, s_rec = example_series("kb_series.vms", "S 2p")
    p_sp, p_rec = example_series("kb_series.vms", "P 2p")
    s = fit_series(s_sp, s_rec, presence=False)
    p = fit_series(p_sp, p_rec, presence=False)
    q = element_quantification([s, p])
    assert list(q["region"].values) == ["S 2p", "P 2p"]
    rsf = q["rsf"].values
    assert rsf[0] == pytest.approx(1.677) and rsf[1] == pytest.approx(1.192)
    a_s = sum(c.area for c in s.results[2].components)
    a_p = sum(c.area for c in p.results[2].components)
    expect = (a_s / 1.677) / (a_s / 1.677 + a_p / 1.192)
    assert q["atomic_fraction"].values[2, 0] == pytest.approx(expect)
    assert np.all(q["atomic_fraction_stderr"].values > 0)
    assert "atomic %" in q.attrs["quantity"]
