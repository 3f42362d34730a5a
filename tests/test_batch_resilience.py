"""Batch resilience (issue 9, item 3): 1 000 inputs of which 5 % are corrupt in ten different
ways. The batch finishes the rest, lists every corrupt file once with a specific one-line reason,
and its results (HDF5 and CSV) equal those of a clean run over the good files only.

To stay cheap in CI, 850 of the 950 good files are P 2p spectra that the S 2p recipe skips by
region (they are still read), so 100 spectra are fitted. The same corpus with every good file
fitted (950 fits) is run by hand: ``benchmarks/bench_batch.py --resilience``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import xpsfit
from xpsfit.fitting.batch import batch
from xpsfit.cli import main
from xpsfit.export.hdf5 import load_results

from batch_corpus import CORRUPTIONS, make_corpus
from realdata import EXAMPLES
from test_hdf5 import assert_same

S2P = EXAMPLES / "s2p_sulfide.toml"

#: what the reason of each kind of corruption must say (specific, not a generic failure)
EXPECTED_REASON = {
    "truncated": r"ends early|truncated|only \d+ lines follow|not readable as VAMAS",
    "garbage": r"not readable as VAMAS: content not recognised",
    "empty": r"empty file|not readable as VAMAS",
    "wrong count": r"wrong value count|ordinate values|negative count -3|expected an integer",
    "NaN/Inf": r"non-finite value|no excitation energy",
    "non-number": r"non-numeric value '.+' in the ordinate values",
    "block count": r"number of blocks|file ends early",
    "encoding": r"not readable as VAMAS",
    "no header": r"not readable as VAMAS",
    "deleted lines": r"expected (an integer|a number)|file ends early|only \d+ lines follow",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("batch1000") / "inputs")


def test_corpus_is_what_the_test_claims(corpus):
    assert len(corpus.files) == 1000 and len(corpus.corrupt) == 50
    assert len(corpus.s2p) == 100 and len(corpus.p2p) == 850
    assert sorted(set(corpus.corrupt.values())) == sorted(CORRUPTIONS)
    assert all(list(corpus.corrupt.values()).count(k) == 5 for k in CORRUPTIONS)
    # a good file holds its Poisson draw exactly; two files never hold the same counts
    a, b = (xpsfit.read(p)[0] for p in corpus.s2p[:2])
    assert a.attrs["region"] == "S 2p" and a.size == 141 and not np.array_equal(a, b)
    assert np.all(a.values == np.round(a.values))
    for name in corpus.corrupt:
        with pytest.raises(xpsfit.FileFormatError):
            xpsfit.read(corpus.folder / name)


def _failure_rows(stdout: str) -> dict[str, str]:
    """file name -> reason, from the failures table the CLI prints."""
    table = stdout.split("\nfailures:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[0].split() == ["file", "block", "reason"]
    rows: dict[str, str] = {}
    for line in table[1:]:
        path, reason = re.match(r"(\S+)\s+(?:\d+\s+)?(.*)$", line).groups()
        assert Path(path).name not in rows, f"{path} listed twice"
        rows[Path(path).name] = reason
    return rows


def test_thousand_inputs_five_percent_corrupt(corpus, tmp_path, capsys):
    out, table = tmp_path / "all.h5", tmp_path / "all.csv"
    code = main(["batch", str(corpus.folder), "-r", str(S2P), "--out", str(out),
                 "--table", str(table), "--jobs", "2"])
    stdout = capsys.readouterr().out
    assert code == 1, stdout[-2000:]                   # some failed, the rest was done
    assert "fitted 100, failed 50, skipped 850" in stdout

    # every corrupt file is listed once, with a specific one-line reason; no good file fails
    rows = _failure_rows(stdout)
    assert set(rows) == set(corpus.corrupt)
    for name, reason in rows.items():
        kind = corpus.corrupt[name]
        assert re.search(EXPECTED_REASON[kind], reason), (name, kind, reason)
        assert str(corpus.folder) not in reason and len(reason) < 300

    # the results equal a clean run over the good files only (one job: also jobs-independent)
    clean = batch(corpus.good, S2P, jobs=1, table=tmp_path / "clean.csv")
    assert clean.fitted == 100 and clean.failures == [] and len(clean.skipped) == 850
    saved = load_results(out)
    assert [r.spectrum_name() for r in saved] == [f"{p.name}#0" for p in corpus.s2p]
    assert len(saved) == len(clean.results)
    for got, want in zip(saved, clean.results):
        assert_same(got, want)                         # every number identical
    assert table.read_bytes() == (tmp_path / "clean.csv").read_bytes()


def test_unrecognised_content_is_a_failure_only_under_a_spectrum_suffix(tmp_path):
    """Garbage named .vms/.spe is a broken spectrum (a failure with a reason); the same bytes
    named .dat or .png are an unrelated file (skipped), as are notes in a data folder."""
    garbage = np.random.default_rng(5).integers(0, 256, 3000, np.uint8).tobytes()
    for name in ("a.vms", "b.spe", "c.dat", "d.png"):
        (tmp_path / name).write_bytes(garbage)
    res = batch([tmp_path], S2P)
    assert [(Path(f.file).name, f.block) for f in res.failures] == [("a.vms", None),
                                                                   ("b.spe", None)]
    assert "not readable as VAMAS" in res.failures[0].reason
    assert "PHI" in res.failures[1].reason
    assert sorted(Path(s.file).name for s in res.skipped) == ["c.dat", "d.png"]
    assert all(s.reason.startswith("not a spectrum file") for s in res.skipped)
    assert res.exit_code == 2                           # nothing could be fitted
