"""Data safety: a process killed (SIGKILL) while writing leaves the old complete file or the
new complete one, for every output kind xpsfit writes — CSV tables, PNG/PDF figures, recipe
TOML and VAMAS (HDF5 is covered in test_hdf5.py).

A forked child rewrites the target in a loop, alternating two versions A and B; the parent
kills it at a random moment (fixed seed) and checks the target's bytes are exactly A or B.
Forking keeps each kill cheap (no interpreter start-up, the fit result is inherited).
"""
from __future__ import annotations

import os
import random
import re
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

import xpsfit
from realdata import EXAMPLES
from xpsfit.errors import ExportError, RecipeError

pytestmark = pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "fork"),
                                reason="needs fork and SIGKILL (POSIX)")

KILLS = 12


@pytest.fixture(scope="module")
def results():
    """Two different fit results (A and B) of the example S 2p spectra."""
    spectra = [s for s in xpsfit.read(EXAMPLES / "controls.vms") if s.attrs["region"] == "S 2p"]
    recipe = xpsfit.load_recipe(EXAMPLES / "s2p_sulfide.toml")
    return xpsfit.fit(spectra[0], recipe), xpsfit.fit(spectra[1], recipe)


def pdf_complete(data: bytes) -> bool:
    """A whole PDF: header, and a final ``startxref`` offset that points at the xref table
    (matplotlib numbers some PDF objects from global counters, so two saves of one figure are
    not byte-identical and cannot be compared with the reference bytes)."""
    m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    return data.startswith(b"%PDF-") and m is not None and \
        data[int(m.group(1)):int(m.group(1)) + 4] == b"xref"


def kill_while_writing(tmp_path: Path, name: str, write_a, write_b, *, kills: int = KILLS,
                       seed: int = 0, complete=None) -> int:
    """Kill a child rewriting ``name`` (A, B, A, …) ``kills`` times (more, up to 4×, until one
    landed mid-write); return how many kills landed while a temporary file existed (i.e. really
    mid-write). The target must equal A or B byte for byte, or satisfy ``complete(bytes)`` when
    given."""
    ref_a, ref_b = tmp_path / f"ref_a_{name}", tmp_path / f"ref_b_{name}"
    write_a(ref_a)
    write_b(ref_b)
    a, b = ref_a.read_bytes(), ref_b.read_bytes()
    assert a != b, "the two versions must differ or the test proves nothing"
    if complete:
        assert complete(a) and complete(b) and not complete(a[:-10])
    folder = tmp_path / f"out_{name}"
    folder.mkdir()
    target = folder / name
    t0 = time.perf_counter()
    write_a(target)
    t_write = time.perf_counter() - t0
    rng = random.Random(seed)
    mid_write = 0
    # a kill that lands between two writes proves nothing: on a loaded machine keep killing
    # (bounded) until at least one landed inside a write
    for attempt in range(4 * kills):
        if attempt >= kills and mid_write:
            break
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            try:
                while True:
                    write_b(target)
                    write_a(target)
            finally:
                os._exit(0)
        # 20 ms lets the forked child get past start-up into its write loop whatever the
        # machine's load; the random part then lands anywhere within a write cycle.
        time.sleep(0.02 + min(rng.uniform(0.0, 3.0) * t_write, 1.0))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        data = target.read_bytes()
        ok = complete(data) if complete else data in (a, b)
        assert ok, f"{name}: target is neither complete version " \
                                       f"({len(data)} bytes; A {len(a)}, B {len(b)})"
        leftovers = [p for p in folder.iterdir() if p.name != name]
        if leftovers:
            mid_write += 1
            assert all(p.name.startswith(f".{name}.") for p in leftovers), leftovers
            for p in leftovers:  # a killed writer cannot clean up; the next run starts clean
                p.unlink()
    return mid_write


def test_csv_table_survives_kills(tmp_path, results):
    from xpsfit.export.tables import write_table
    hits = kill_while_writing(tmp_path, "fit.csv", lambda p: write_table(results[0], p),
                              lambda p: write_table(results[1], p))
    assert hits >= 1, "no kill landed mid-write; the test did not exercise the atomic path"


@pytest.mark.parametrize("suffix", ["png", "pdf"])
def test_figures_survive_kills(tmp_path, results, suffix):
    from xpsfit.export.plots import fit_figure, save_figure
    # the figures are built once (drawing dominates the time); what is killed is the save
    fig_a, fig_b = fit_figure(results[0]), fit_figure(results[1])
    hits = kill_while_writing(tmp_path, f"fit.{suffix}", lambda p: save_figure(fig_a, p, dpi=60),
                              lambda p: save_figure(fig_b, p, dpi=60), kills=4,
                              complete=pdf_complete if suffix == "pdf" else None)
    assert hits >= 1


def test_recipe_toml_survives_kills(tmp_path):
    from xpsfit.recipe.spec import save_recipe
    a = xpsfit.load_recipe(EXAMPLES / "s2p_sulfide.toml")
    b = xpsfit.load_recipe(EXAMPLES / "s2p_sulfide.toml")
    b.description = "version B " * 2000  # long enough that a write takes measurable time
    hits = kill_while_writing(tmp_path, "recipe.toml", lambda p: save_recipe(a, p),
                              lambda p: save_recipe(b, p), kills=KILLS)
    assert hits >= 1
    assert xpsfit.load_recipe(tmp_path / "out_recipe.toml" / "recipe.toml") in (a, b)


def test_vamas_survives_kills(tmp_path):
    from xpsfit.io.vamas_writer import write_vamas
    spectra = xpsfit.read(EXAMPLES / "kb_series.vms")
    hits = kill_while_writing(tmp_path, "out.vms", lambda p: write_vamas(p, spectra[:5]),
                              lambda p: write_vamas(p, spectra[5:]))
    assert hits >= 1
    assert len(xpsfit.read(tmp_path / "out_out.vms" / "out.vms")) == 5


# --------------------------------------------------------------------------------------------
# save_recipe (added for this guarantee) and unwritable targets

def test_save_recipe_round_trips(tmp_path):
    from xpsfit.recipe.spec import save_recipe
    recipe = xpsfit.load_recipe(EXAMPLES / "p2p_sulfide.toml")
    path = tmp_path / "p.toml"
    save_recipe(recipe, path)
    assert xpsfit.load_recipe(path) == recipe
    assert [p.name for p in tmp_path.iterdir()] == ["p.toml"]  # no temp file left


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores folder permissions")
def test_read_only_folder_keeps_old_files_and_says_why(tmp_path, results):
    from xpsfit.export.tables import write_table
    from xpsfit.recipe.spec import save_recipe
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "fit.csv").write_text("old")
    (folder / "r.toml").write_text("old")
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(ExportError, match="cannot write table"):
            write_table(results[0], folder / "fit.csv")
        with pytest.raises(RecipeError, match="cannot write recipe"):
            save_recipe(xpsfit.load_recipe(EXAMPLES / "s2p_sulfide.toml"), folder / "r.toml")
    finally:
        folder.chmod(stat.S_IRWXU)
    assert (folder / "fit.csv").read_text() == "old"
    assert (folder / "r.toml").read_text() == "old"


def test_missing_folder_is_a_project_error(tmp_path, results):
    from xpsfit.export.tables import write_table
    from xpsfit.io.vamas_writer import write_vamas
    from xpsfit.export.plots import save_fit_figure
    from xpsfit.recipe.spec import save_recipe
    missing = tmp_path / "no" / "such"
    with pytest.raises(ExportError):
        write_table(results[0], missing / "t.csv")
    with pytest.raises(ExportError):
        save_fit_figure(results[0], missing / "f.png")
    with pytest.raises(ExportError):
        write_vamas(missing / "v.vms", xpsfit.read(EXAMPLES / "controls.vms"))
    with pytest.raises(RecipeError):
        save_recipe(xpsfit.load_recipe(EXAMPLES / "s2p_sulfide.toml"), missing / "r.toml")
    assert not (tmp_path / "no").exists()
