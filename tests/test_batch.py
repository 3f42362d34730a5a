"""Batch fitting: folders with bad and unrelated files, counts and reasons, jobs 1 == jobs 2,
same numbers as `xpsfit fit`, cancellation keeping what is done, CLI exit codes."""
import csv
import io
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xpsfit
from xpsfit.fitting.batch import BatchResult, batch, expand_inputs
from xpsfit.cli import main
from xpsfit.cli.batch import ProgressPrinter
from xpsfit.errors import Cancelled, FitError
from xpsfit.export.hdf5 import load_results

from realdata import EXAMPLES
from test_hdf5 import assert_same

S2P = EXAMPLES / "s2p_sulfide.toml"
KB = EXAMPLES / "kb_series.vms"
CNF = EXAMPLES / "cnf_series.vms"


@pytest.fixture
def mixed(tmp_path) -> Path:
    """kb (5 S 2p + 5 P 2p), cnf in a sub-folder, a truncated VAMAS, a text file, a binary
    file, a hidden file and an empty file."""
    d = tmp_path / "data"
    (d / "sub").mkdir(parents=True)
    shutil.copy(KB, d / "kb.vms")
    shutil.copy(CNF, d / "sub" / "cnf.vms")
    text = KB.read_bytes()
    (d / "truncated.vms").write_bytes(text[: len(text) // 3])
    (d / "notes.txt").write_text("measurement notes, not a spectrum\n")
    (d / "image.png").write_bytes(bytes(range(256)) * 4)
    (d / ".hidden.vms").write_bytes(text)
    (d / "empty.vms").write_bytes(b"")
    return d


def _rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------------ inputs

def test_expand_inputs_folders_globs_missing(mixed):
    files, missing = expand_inputs([mixed / "kb.vms", mixed, str(mixed / "**" / "*.vms"),
                                    mixed / "nope.vms", str(mixed / "*.xyz")])
    names = [f.name for f in files]
    assert names[0] == "kb.vms" and names.count("kb.vms") == 1        # no duplicates
    assert "cnf.vms" in names and ".hidden.vms" not in names
    assert [m.reason for m in missing] == ["no such file or folder", "pattern matched no file"]


# ------------------------------------------------------------------------- counts and reasons

def test_folder_with_corrupt_and_unrelated_files(mixed, tmp_path):
    out, table = tmp_path / "r.h5", tmp_path / "all.csv"
    res = batch([mixed], S2P, out=out, table=table)
    assert res.fitted == 10                       # 5 S 2p in kb + 5 in cnf
    by_file = {Path(f.file).name: f for f in res.failures}
    assert set(by_file) == {"truncated.vms", "empty.vms"}
    assert "truncated" in by_file["truncated.vms"].reason or "line" in by_file[
        "truncated.vms"].reason
    assert str(mixed) not in by_file["truncated.vms"].reason   # file is its own column
    skipped_files = {Path(s.file).name for s in res.skipped if s.block is None}
    assert skipped_files == {"notes.txt", "image.png"}
    other_regions = [s for s in res.skipped if s.block is not None]
    assert len(other_regions) == 10 and all("P 2p" in s.reason for s in other_regions)
    assert res.exit_code == 1
    saved = load_results(out)
    assert len(saved) == 10
    assert [r.spectrum_name() for r in saved] == [r.spectrum_name() for r in res.results]
    assert [r.spectrum_name() for r in saved][:2] == ["kb.vms#0", "kb.vms#2"]  # input order
    assert len(_rows(table)) == 10 * 4            # 4 species per fit


def test_nothing_matching_is_exit_2_and_writes_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("hello\n")
    out = tmp_path / "r.h5"
    res = batch([tmp_path / "a.txt"], S2P, out=out)
    assert res.fitted == 0 and res.exit_code == 2 and not out.exists()


def test_bad_recipe_or_options_raise_before_any_work(tmp_path, mixed):
    bad = tmp_path / "bad.toml"
    bad.write_text('region = "S 2p"\nlibrary = "no_such_library"\n')
    with pytest.raises(xpsfit.XpsfitError):
        batch([mixed], bad)
    with pytest.raises(FitError, match="series_by"):
        batch([mixed], S2P, series_by="weekday")
    with pytest.raises(FitError, match="jobs"):
        batch([mixed], S2P, jobs=0)
    with pytest.raises(FitError, match="does not exist"):
        batch([mixed], S2P, out=tmp_path / "no" / "r.h5")


# ---------------------------------------------------------------------------- determinism

def test_jobs_1_and_jobs_2_give_identical_results(mixed, tmp_path):
    one = batch([mixed], S2P, jobs=1, out=tmp_path / "1.h5")
    two = batch([mixed], S2P, jobs=2, out=tmp_path / "2.h5")
    assert one.fitted == two.fitted == 10
    assert [(f.file, f.block) for f in one.failures] == [(f.file, f.block) for f in two.failures]
    assert [(s.file, s.block, s.reason) for s in one.skipped] == \
        [(s.file, s.block, s.reason) for s in two.skipped]
    for a, b in zip(one.results, two.results):
        assert_same(a, b)                         # every number identical, not approximately
    for a, b in zip(load_results(tmp_path / "1.h5"), load_results(tmp_path / "2.h5")):
        assert_same(a, b)
    # one file and two jobs: the blocks of that file are spread over the workers instead
    single_1, single_2 = batch([KB], S2P, jobs=1), batch([KB], S2P, jobs=2)
    assert single_2.fitted == 5
    for a, b in zip(single_1.results, single_2.results):
        assert_same(a, b)
    assert [(s.block, s.reason) for s in single_1.skipped] == \
        [(s.block, s.reason) for s in single_2.skipped]


def test_same_numbers_as_xpsfit_fit(tmp_path):
    fit_csv, batch_csv = tmp_path / "fit.csv", tmp_path / "batch.csv"
    assert main(["fit", str(KB), "--recipe", str(S2P), "--table", str(fit_csv)]) == 0
    assert main(["batch", str(KB), "--recipe", str(S2P), "--out", str(tmp_path / "r.h5"),
                 "--table", str(batch_csv), "--jobs", "2"]) == 0
    a, b = _rows(fit_csv), _rows(batch_csv)
    assert len(a) == 20 and a == b               # the same text, to the last digit


# --------------------------------------------------------------------- stopping keeps results

def test_cancel_through_progress_keeps_what_is_done(mixed, tmp_path):
    out = tmp_path / "partial.h5"
    seen = []

    def progress(done, total, message):
        seen.append((done, total, message))
        return message == "kb.vms"               # cancel right after the kb file is done

    with pytest.raises(Cancelled) as info:
        batch([mixed], S2P, out=out, progress=progress)
    partial: BatchResult = info.value.partial
    # files in walk order: empty.vms, image.png, kb.vms | notes.txt, truncated.vms, sub/cnf.vms
    assert [m for _d, _t, m in seen] == ["empty.vms", "image.png", "kb.vms"]
    assert seen[-1][:2] == (3, 6)
    assert partial.interrupted and partial.fitted == 5
    assert len(load_results(out)) == 5


def _copies(folder: Path, n: int) -> list[Path]:
    folder.mkdir()
    for i in range(n):
        shutil.copy(KB, folder / f"kb{i:02d}.vms")
    return sorted(folder.iterdir())


def _assert_kept_is_a_subset_of_the_full_run(kept, files) -> None:
    """What an interrupted batch kept: whole files only (5 S 2p fits each), each once, all
    among the inputs, and every fit identical to the uninterrupted one of its file (kb.vms
    copies all fit alike, so one reference fit per block suffices)."""
    names = [r.spectrum_name() for r in kept]
    assert len(names) == len(set(names)) and len(names) % 5 == 0
    assert {n.split("#")[0] for n in names} <= {f.name for f in files}
    reference = {r.spectrum_name().split("#")[1]: r for r in batch([KB], S2P).results}
    for r in kept:
        want = reference[r.spectrum_name().split("#")[1]]
        assert r.fractions == want.fractions


def test_cancel_with_two_jobs_shuts_the_pool_down(tmp_path):
    """Whatever the machine's load, a cancel keeps what finished and stops the workers. (How
    many of the 12 files finish depends on timing: queued units that a worker already took are
    completed; only the invariants are asserted.)"""
    import multiprocessing
    files = _copies(tmp_path / "many", 12)
    out = tmp_path / "partial.h5"
    ticks = []

    def progress(done, total, message):
        ticks.append(done)
        return done >= 2

    with pytest.raises(Cancelled) as info:
        batch([tmp_path / "many"], S2P, out=out, jobs=2, monte_carlo=10, progress=progress)
    partial = info.value.partial
    assert partial.interrupted and partial.failures == []
    assert ticks == [1, 2]                         # no progress after the cancel
    assert partial.fitted >= 10                    # the two units reported done are kept
    _assert_kept_is_a_subset_of_the_full_run(partial.results, files)
    saved = load_results(out)
    assert [r.spectrum_name() for r in saved] == [r.spectrum_name() for r in partial.results]
    assert multiprocessing.active_children() == []  # the pool's workers are gone


def test_ctrl_c_in_the_cli_keeps_results_and_exits_130(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) once the first file is done.
    On a starved machine the batch could finish before the signal arrives; then the run says
    nothing about Ctrl-C and is repeated (bounded), instead of failing or passing by luck."""
    files = _copies(tmp_path / "many", 24)
    for attempt in range(3):
        out = tmp_path / f"r{attempt}.h5"
        proc = subprocess.Popen(
            [sys.executable, "-m", "xpsfit", "batch", str(tmp_path / "many"), "--recipe",
             str(S2P), "--out", str(out), "--jobs", "2", "--monte-carlo", "20"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        first = proc.stderr.readline()           # the first progress line: a file is done
        assert first.startswith(b"batch: "), first + proc.stderr.read()
        os.killpg(proc.pid, signal.SIGINT)       # like Ctrl-C on a terminal: the whole group
        stdout, stderr = proc.communicate(timeout=120)
        if proc.returncode != 130 and b"fitted 120, failed 0" in stdout:
            continue                             # finished before the signal landed: again
        break
    else:
        pytest.fail("the batch finished 3 times before Ctrl-C took effect")
    assert proc.returncode == 130, stderr.decode()
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert b"interrupted: results so far kept" in stdout
    kept = load_results(out)
    assert len(kept) >= 5                        # at least the file done before Ctrl-C
    _assert_kept_is_a_subset_of_the_full_run(kept, files)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp left


# --------------------------------------------------------------------------------- series

def test_series_by_file_and_sample(mixed, tmp_path):
    by_file = batch([mixed], S2P, series_by="file", out=tmp_path / "f.h5")
    assert [len(r.results) for r in by_file.results] == [5, 5]
    by_sample = batch([mixed / "kb.vms"], S2P, series_by="sample")
    assert [len(r.results) for r in by_sample.results] == [1] * 5   # one sample name per block
    back = load_results(tmp_path / "f.h5")
    for a, b in zip(by_file.results, back):
        assert_same(a, b)
    # two jobs: the workers build the HDF5 entries, the parent copies them and links recipes
    batch([mixed], S2P, series_by="file", jobs=2, out=tmp_path / "f2.h5")
    for a, b in zip(back, load_results(tmp_path / "f2.h5")):
        assert_same(a, b)


# ------------------------------------------------------------------------------------ the CLI

def test_cli_exit_codes(mixed, tmp_path, capsys):
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(KB, good / "kb.vms")
    (good / "readme.txt").write_text("not a spectrum")
    assert main(["batch", str(good), "-r", str(S2P), "--out", str(tmp_path / "a.h5"),
                 "--plots", str(tmp_path / "png"), "-j", "2"]) == 0
    text = capsys.readouterr().out
    assert "fitted 5, failed 0, skipped 6" in text
    assert sorted(p.name for p in (tmp_path / "png").glob("*.png")) == \
        [f"kb_b{b:02d}_s2p.png" for b in (0, 2, 4, 6, 8)]
    assert main(["batch", str(mixed), "-r", str(S2P), "--out", str(tmp_path / "b.h5")]) == 1
    text = capsys.readouterr().out
    assert "failures:" in text and "truncated.vms" in text
    assert main(["batch", str(tmp_path / "nothing-here"), "-r", str(S2P),
                 "--out", str(tmp_path / "c.h5")]) == 2
    assert not (tmp_path / "c.h5").exists()
    assert main(["batch", str(good), "-r", str(tmp_path / "missing.toml"),
                 "--out", str(tmp_path / "d.h5")]) == 2
    assert "error:" in capsys.readouterr().err


def test_plain_progress_is_about_every_ten_percent():
    stream = io.StringIO()
    p = ProgressPrinter(stream)
    for done in range(1, 201):
        p(done, 200, f"f#{done}")
    lines = stream.getvalue().splitlines()
    assert 10 <= len(lines) <= 11 and lines[-1].startswith("batch: 200/200 (100 %")


def test_export_cli_remakes_outputs_without_refitting(mixed, tmp_path, capsys):
    out = tmp_path / "r.h5"
    batch([KB], S2P, out=out, table=tmp_path / "batch.csv")
    assert main(["export", str(out), "--table", str(tmp_path / "again.csv"),
                 "--plot", str(tmp_path / "fit.png"), "--vamas", str(tmp_path / "raw.vms")]) == 0
    assert _rows(tmp_path / "again.csv") == _rows(tmp_path / "batch.csv")
    assert len(list(tmp_path.glob("fit_*.png"))) == 5
    raw = xpsfit.read(tmp_path / "raw.vms")
    saved = load_results(out)
    assert len(raw) == 5
    for spectrum, r in zip(raw, saved):
        assert list(spectrum.values) == list(r.spectrum.values)   # raw counts unchanged
    assert main(["export", str(out), "--report"]) == 0
    assert capsys.readouterr().out.count("Fit of") == 5
    notes = tmp_path / "notes.h5"
    notes.write_text("no")
    assert main(["export", str(notes)]) == 2
    assert "not a readable HDF5 file" in capsys.readouterr().err


def test_public_batch_is_the_function_even_after_importing_its_module(tmp_path):
    import xpsfit.fitting.batch as module        # the module has its own name now
    assert callable(xpsfit.batch) and xpsfit.batch is module.batch
    res = xpsfit.batch([tmp_path / "nothing.vms"], S2P)
    assert res.exit_code == 2 and res.failures[0].reason == "no such file or folder"


def test_one_failed_fit_does_not_stop_the_others_in_its_file(tmp_path):
    good = [s for s in xpsfit.read(KB) if s.attrs["region"] == "S 2p"][:2]
    flat = good[0].copy(data=np.full(good[0].size, 1000.0))
    flat.attrs = dict(good[0].attrs, label="flat", block_name="flat")
    path = xpsfit.write_vamas(tmp_path / "three.vms", [good[0], flat, good[1]])
    for jobs in (1, 2):
        res = batch([path], S2P, jobs=jobs)
        assert res.fitted == 2 and res.exit_code == 1
        assert [(f.block, f.result_index) for f in res.failures] == [(1, None)]
        assert "constant" in res.failures[0].reason
        assert [r.label for r in res.results] == [good[0].attrs["label"],
                                                 good[1].attrs["label"]]
