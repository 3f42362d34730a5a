"""What the background-systematic σ_bg costs (xpsfit.engine.background_variants).

Run by hand:
    .venv/bin/python benchmarks/bench_sigma_bg.py [--repeat 15]

Printed, median CPU time (time.process_time: the machine is shared, wall time is not the fit's)
of ``xpsfit.fit`` / ``xpsfit.fit_series`` with ``sigma_bg=False`` and ``True``, and their ratio:
* the example S 2p fit (kb_series.vms, 4 doublets, active Shirley);
* the same with a static Shirley (end-point variants apply);
* the real S 2p of lg4x-v2/Mutlipak_vms.npl with `recipe init` defaults (6 doublets), when
  ../shared/real_spectra is there;
* the joint 5-spectrum example series without presence tests.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real_spectra"


def cpu_ms(fn, repeat: int) -> float:
    fn()
    out = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        out.append(time.process_time() - t)
    return 1e3 * statistics.median(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    import xpsfit
    from xpsfit.recipe.edit import start_recipe
    ex = ROOT / "example_spectra"
    spectra = [s for s in xpsfit.read(ex / "kb_series.vms") if s.attrs["region"] == "S 2p"]
    recipe = xpsfit.load_recipe(ex / "s2p_sulfide.toml")
    static = copy.deepcopy(recipe)
    static.background.type = "shirley"
    cases = [("example S 2p, active Shirley", lambda bg: xpsfit.fit(spectra[-1], recipe,
                                                                   sigma_bg=bg), args.repeat),
             ("example S 2p, static Shirley", lambda bg: xpsfit.fit(spectra[-1], static,
                                                                   sigma_bg=bg), args.repeat)]
    npl = REAL / "lg4x-v2" / "Mutlipak_vms.npl"
    if npl.is_file():
        s2p = [s for s in xpsfit.read(npl) if s.attrs["region"] == "S 2p"][0]
        init = start_recipe("sulfide_electrolytes", "S 2p", None)
        cases.append(("Mutlipak S 2p, recipe init", lambda bg: xpsfit.fit(s2p, init,
                                                                          sigma_bg=bg),
                      args.repeat))
    cases.append(("joint series of 5, active Shirley",
                  lambda bg: xpsfit.fit_series(spectra, recipe, presence=False, sigma_bg=bg),
                  max(3, args.repeat // 3)))
    print(f"{'case':38s} {'without':>9s} {'with':>9s} {'ratio':>6s}   (CPU ms, median)")
    for name, fn, repeat in cases:
        off = cpu_ms(lambda: fn(False), repeat)
        on = cpu_ms(lambda: fn(True), repeat)
        print(f"{name:38s} {off:9.1f} {on:9.1f} {on / off:6.2f}")


if __name__ == "__main__":
    main()
