"""GUI exports go through xpsfit.atomic: a unique temporary file beside the target, fsync'ed and
renamed. The old fixed temporary name (".<name>.part<suffix>") clobbered and then deleted a
user's file of that name, and two exports to one target raced on it."""
from __future__ import annotations

from gui_helpers import wait_idle

S2P_43V = (0, 8)      # cnf_series.vms block 8: S 2p at 4.3 V


def test_exports_leave_foreign_files_and_no_temporaries(window, cnf_series, s2p_recipe, qtbot,
                                                        tmp_path):
    w = window
    w.open_paths([cnf_series])
    w.set_recipe(s2p_recipe, "load")
    w.select(S2P_43V)
    w.fit_current()
    wait_idle(qtbot, w)
    assert w.errors == [], w.errors
    targets = {"t.csv": w.export_csv, "fit.png": w.export_plot, "fit.svg": w.export_plot,
               "r.h5": w.export_hdf5, "r.toml": w.save_recipe}
    bystanders = {}
    for name in targets:        # files named like the old fixed temporary must survive
        p = tmp_path / f".{name}.part{(tmp_path / name).suffix}"
        p.write_text(f"user data {name}")
        bystanders[p] = p.read_text()
    for name, export in targets.items():
        assert export(tmp_path / name), w.errors
        assert (tmp_path / name).stat().st_size > 0
    for p, text in bystanders.items():
        assert p.read_text() == text, f"{p.name} was overwritten or deleted"
    assert (tmp_path / "fit.png").read_bytes()[:4] == b"\x89PNG"   # format kept from the suffix
    assert "<svg" in (tmp_path / "fit.svg").read_text()[:2000]
    assert (tmp_path / "r.h5").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp") or
                 (p.name.startswith(".") and p not in bystanders)]
    assert leftovers == [], leftovers
