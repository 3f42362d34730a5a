"""Long fuzzing run of the spectrum readers: ``python tools/fuzz.py --cases 10000``.

Each case takes one real or example spectrum file, applies one to three random mutations
(truncation, flipped bytes, deleted/duplicated lines, huge/negative/NaN numbers, wrong counts,
other encodings, binary garbage with the right suffix, ...) and reads it with ``xpsfit.read``
in a worker process that has a memory ceiling. The case passes when the read ends in an
``XpsfitError`` with a one-line message naming the file, or returns valid Spectra (finite values,
strictly ascending binding energy, at least 2 points). Anything else is counted:

* OTHER   — any other exception type escaped, or the result is not a valid Spectrum list;
* HANG    — the case did not finish within ``--seconds-per-case`` (the worker is killed);
* MEMORY  — the worker hit its address-space ceiling (``--memory-mb``).

The mutators are plain functions of ``(data, rng)`` so the CI tests (tests/test_fuzz_readers.py)
reuse them with hypothesis-chosen seeds. The run is deterministic for a given ``--seed``.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real_spectra"
EXAMPLES = ROOT / "example_spectra"

#: seed files (relative to ../shared/real_spectra) that xpsfit reads; every format is present
REAL_SEEDS = (
    "lg4x-v2/0-150W.vms", "lg4x-v2/Mutlipak_vms.npl", "pynxtools-xps/FeO_analyzed.vms",
    "pynxtools-xps/irregular.vms", "pynxtools-xps/regular.vms", "cheminfo-vamas/ARXPS.vms",
    "cheminfo-vamas/single_sample.vms", "cheminfo-xps-analysis/multiplex.vms",
    "cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms", "khervefitting/Pt4f.vms",
    "vamas-pypi/xps_eis.vms", "vamas-pypi/aes_staib.vms",
    "pynxtools-xps/In-situ_PBTTT_XPS_SPECS.xml", "pynxtools-xps/MgFe2O4_small.xy",
    "pynxtools-xps/SnO2_10nm.spe", "yadg/test0.spe", "jesusf10-xps-data-analysis/BN-BS-1 multiplex.spe",
    "khervefitting/Hard_carbon_Thermo.xlsx", "gxps/Al-NE-FeCr-S02p6-Fe2p-3.xy",
    "lg4x-v2/C1s_sample.csv", "lg4x-v2/0-150W_NiWW4f_W4f.txt",
    "lg4x-v2/Highres_Au4f_hv_180_testfile.csv", "lmfitxps/clean_Au_4f.csv",
    "pynxtools-xps/Ag_0001.txt", "gxps/Ru02_0063.txt", "pynxtools-xps/Ag_0001Ag__001.ibw",
    "jesusf10-xps-data-analysis/BN-BS-1 multiplex.txt", "xps-excel-macro/111216_0459_O1s.txt",
    "pynxtools-xps/FeO_analyzed_lineshapes_cols.txt",
)


def seed_files() -> list[Path]:
    """The seed files that exist here: the real ones when ../shared is mounted, the examples."""
    seeds = [REAL / rel for rel in REAL_SEEDS if (REAL / rel).is_file()]
    seeds += sorted(EXAMPLES.glob("*.vms"))
    return seeds


# ------------------------------------------------------------------------------------------
# mutators: (data, rng) -> data

_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_INT_LINE = re.compile(rb"(?m)^[ \t]*-?\d+[ \t]*\r?$")
_HUGE = (b"1e308", b"1e400", b"-1e400", b"99999999999999999999999999", b"1.7976931348623157e308",
         b"1e37", b"4294967296", b"2147483648")
_BAD_NUMBERS = (b"nan", b"NaN", b"inf", b"-inf", b"Infinity", b"1e999", b"--1", b"1..2", b"",
                b"0x1F", b"1,5", b"\xb5")


def _pos(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:_pos(data, rng)]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        i = rng.randrange(len(out))
        out[i] ^= rng.randint(1, 255)
    return bytes(out)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def delete_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    del lines[i:i + rng.choice((1, 1, 2, 5, 50))]
    return b"\n".join(lines)


def duplicate_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    chunk = lines[i:i + rng.choice((1, 1, 3, 20))]
    lines[i:i] = chunk * rng.choice((1, 2, 10))
    return b"\n".join(lines)


def _replace_number(data: bytes, rng: random.Random, make: Callable[[bytes], bytes],
                    times: int = 1) -> bytes:
    matches = list(_NUMBER.finditer(data))
    if not matches:
        return data
    chosen = sorted(rng.sample(matches, min(times, len(matches))), key=lambda m: m.start())
    out, last = [], 0
    for m in chosen:
        out += [data[last:m.start()], make(m.group(0))]
        last = m.end()
    out.append(data[last:])
    return b"".join(out)


def huge_numbers(data: bytes, rng: random.Random) -> bytes:
    return _replace_number(data, rng, lambda _: rng.choice(_HUGE), rng.choice((1, 5, 50)))


def negative_numbers(data: bytes, rng: random.Random) -> bytes:
    return _replace_number(data, rng, lambda s: s[1:] if s.startswith(b"-") else b"-" + s,
                           rng.choice((1, 5, 200)))


def bad_numbers(data: bytes, rng: random.Random) -> bytes:
    return _replace_number(data, rng, lambda _: rng.choice(_BAD_NUMBERS), rng.choice((1, 3, 30)))


def wrong_counts(data: bytes, rng: random.Random) -> bytes:
    """Lines holding one integer are block/point/comment counts in VAMAS: make one absurd."""
    matches = list(_INT_LINE.finditer(data))
    if not matches:
        return huge_numbers(data, rng)
    m = rng.choice(matches)
    n = int(m.group(0).strip() or b"0")
    new = rng.choice((0, -1, n - 1, n + 1, 2 * n, 10 ** 9, 2 ** 31, 10 ** 30))
    return data[:m.start()] + str(new).encode() + data[m.end():].lstrip(b" \t")


def utf16(data: bytes, rng: random.Random) -> bytes:
    return data.decode("latin-1").encode(rng.choice(("utf-16", "utf-16-le", "utf-32")))


def latin1_text(data: bytes, rng: random.Random) -> bytes:
    """Latin-1 / cp1252 / invalid UTF-8 bytes inside a line (µ, °, Å, a lone continuation)."""
    i = _pos(data, rng)
    return data[:i] + rng.choice((b"\xb5", b"\xb0C", b"\xc5", b"\x80\x81", b"\xff\xfe", b"\x85"))\
        + data[i:]


def line_endings(data: bytes, rng: random.Random) -> bytes:
    text = data.replace(b"\r\n", b"\n")
    return text.replace(b"\n", rng.choice((b"\r", b"\r\n", b"\n\n", b"\x00\n")))


def empty(data: bytes, rng: random.Random) -> bytes:
    return rng.choice((b"", b"\n", b"\x00", b"   \r\n\r\n", b"\xef\xbb\xbf"))


def garbage(data: bytes, rng: random.Random) -> bytes:
    return rng.randbytes(rng.choice((1, 17, 500, 70000)))


def garbage_after_head(data: bytes, rng: random.Random) -> bytes:
    """Keep the format's magic (first lines) so the sniffer claims it, then garbage."""
    head = data[:rng.choice((20, 200, 2000))]
    return head + rng.randbytes(rng.choice((10, 1000, 50000)))


def long_line(data: bytes, rng: random.Random) -> bytes:
    i = _pos(data, rng)
    return data[:i] + rng.choice((b"9", b"a", b"<", b"\t")) * rng.choice((10_000, 1_000_000)) \
        + data[i:]


def splice(data: bytes, rng: random.Random) -> bytes:
    """Move a random slice elsewhere (shifts positional formats out of step)."""
    if len(data) < 4:
        return data
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randint(1, 4096))
    chunk, rest = data[a:b], data[:a] + data[b:]
    i = rng.randrange(len(rest) + 1)
    return rest[:i] + chunk + rest[i:]


MUTATORS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    f.__name__: f for f in (truncate, flip_bytes, delete_lines, duplicate_lines, huge_numbers,
                            negative_numbers, bad_numbers, wrong_counts, utf16, latin1_text,
                            line_endings, empty, garbage, garbage_after_head, long_line, splice)
}


def mutate(data: bytes, rng: random.Random, names: list[str] | None = None) -> tuple[bytes, str]:
    """Apply the named mutators (or 1–3 random ones); returns the bytes and what was done."""
    if names is None:
        names = [rng.choice(list(MUTATORS)) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    for name in names:
        data = MUTATORS[name](data, rng)
    return data, "+".join(names)


# ------------------------------------------------------------------------------------------
# judging one read

def check_outcome(path: Path) -> tuple[str, str]:
    """Read ``path``; ("ok"|"error"|"OTHER", detail). Never raises for a bad file."""
    import numpy as np

    import xpsfit
    from xpsfit.spectrum import DIM

    try:
        spectra = xpsfit.read(path)
    except xpsfit.XpsfitError as exc:
        text = str(exc)
        if "\n" in text or "\r" in text:
            return "OTHER", f"multi-line message: {text[:200]!r}"
        if str(path) not in text:
            return "OTHER", f"message does not name the file: {text[:200]!r}"
        return "error", f"{type(exc).__name__}: {text.replace(str(path), '<file>')[:160]}"
    except MemoryError:
        return "MEMORY", "MemoryError"
    except BaseException as exc:  # noqa: BLE001 - counting what escapes is the point
        return "OTHER", f"{type(exc).__name__}: {str(exc)[:200]}"
    problem = invalid_reason(spectra, np, DIM)
    return ("OTHER", problem) if problem else ("ok", f"{len(spectra)} spectra")


def invalid_reason(spectra, np, dim: str) -> str:
    """Why a reader's return value is not a valid list of Spectra ('' when it is)."""
    from xpsfit.io import limits
    if not isinstance(spectra, list) or not spectra:
        return f"returned {type(spectra).__name__} of length {len(spectra or [])}"
    for i, s in enumerate(spectra):
        if s.dims != (dim,):
            return f"spectrum {i}: dims {s.dims}"
        be, y = s[dim].values, s.values
        if be.size < 2:
            return f"spectrum {i}: {be.size} points"
        if not (np.all(np.isfinite(be)) and np.all(np.isfinite(y))):
            return f"spectrum {i}: non-finite values"
        if not np.all(np.diff(be) > 0):
            return f"spectrum {i}: binding energy not strictly ascending"
        if not limits.MIN_BINDING_EV <= be[0] <= be[-1] <= limits.MAX_BINDING_EV:
            return f"spectrum {i}: binding energy {be[0]:g}..{be[-1]:g} eV accepted"
        hv = s.attrs.get("excitation_energy", np.nan)
        if not (np.isnan(hv) or 0 < hv <= limits.MAX_EXCITATION_EV):
            return f"spectrum {i}: excitation energy {hv:g} eV accepted"
        for name, coord in s.coords.items():
            if coord.dtype.kind in "fc" and not np.all(np.isfinite(coord.values)):
                return f"spectrum {i}: non-finite {name} accepted"
    return ""


# ------------------------------------------------------------------------------------------
# worker processes with a time limit and a memory ceiling

def _worker(conn, memory_mb: int) -> None:
    import resource
    import warnings

    warnings.simplefilter("ignore")
    limit = memory_mb * 2 ** 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import xpsfit.io  # import every reader before the first case's clock starts

    xpsfit.io.available_formats()
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            return
        t0 = time.perf_counter()
        kind, detail = check_outcome(Path(msg))
        seconds = time.perf_counter() - t0
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send((kind, detail, seconds, rss_mb))


class Worker:
    def __init__(self, ctx, memory_mb: int):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, memory_mb), daemon=True)
        self.proc.start()
        child.close()
        if not self.conn.poll(120) or self.conn.recv() != "ready":
            raise RuntimeError("fuzz worker did not start")

    def run(self, path: Path, timeout: float):
        self.conn.send(str(path))
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:  # the worker died (e.g. killed by the OS)
                return ("OTHER", f"worker died (exit {self.proc.exitcode})", timeout, 0.0)
        return None

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.kill()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seconds-per-case", type=float, default=2.0)
    ap.add_argument("--memory-mb", type=int, default=1536)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=20, help="failures to list")
    args = ap.parse_args(argv)

    seeds = seed_files()
    if not seeds:
        print("no seed files found", file=sys.stderr)
        return 2
    raw = {p: p.read_bytes() for p in seeds}
    rng = random.Random(args.seed)
    ctx = mp.get_context("spawn")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    worker = Worker(ctx, args.memory_mb)
    counts: Counter[str] = Counter()
    per_mutator: dict[str, Counter] = {}
    failures: list[str] = []
    max_time, max_rss, slowest = 0.0, 0.0, ""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="xpsfit-fuzz-") as tmp:
        for case in range(args.cases):
            seed = seeds[case % len(seeds)]
            data, what = mutate(raw[seed], rng)
            path = Path(tmp) / f"case{case:06d}{seed.suffix}"
            path.write_bytes(data)
            out = worker.run(path, args.seconds_per_case)
            if out is None:
                worker.kill()
                worker = Worker(ctx, args.memory_mb)
                kind, detail, seconds, rss = "HANG", f"> {args.seconds_per_case} s", \
                    args.seconds_per_case, 0.0
            else:
                kind, detail, seconds, rss = out
                if kind == "OTHER" and detail.startswith("worker died"):
                    worker = Worker(ctx, args.memory_mb)
            counts[kind] += 1
            for m in what.split("+"):
                per_mutator.setdefault(m, Counter())[kind] += 1
            if seconds > max_time:
                max_time, slowest = seconds, f"{seed.name} {what}"
            max_rss = max(max_rss, rss)
            if kind in ("OTHER", "HANG", "MEMORY"):
                keep = Path(tmp).parent / f"xpsfit-fuzz-fail-{case:06d}{seed.suffix}"
                keep.write_bytes(data)
                failures.append(f"{kind:6s} case {case} {seed.name} [{what}] {detail} "
                                f"(kept as {keep})")
            path.unlink()
            if (case + 1) % 500 == 0:
                print(f"  {case + 1} cases, {dict(counts)}", file=sys.stderr, flush=True)
    worker.stop()
    elapsed = time.perf_counter() - started

    print(f"\nxpsfit reader fuzzing: {args.cases} cases from {len(seeds)} seed files, "
          f"seed {args.seed}, {args.seconds_per_case:g} s per case, {elapsed:.0f} s in total\n")
    print("| cases | ok results | project errors | OTHER exceptions | hangs | memory | "
          "max time (s) | max RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.cases} | {counts['ok']} | {counts['error']} | {counts['OTHER']} | "
          f"{counts['HANG']} | {counts['MEMORY']} | {max_time:.2f} | {max_rss:.0f} |")
    print(f"\nslowest case: {slowest}\n\nper mutator (ok / error / other+hang+memory):")
    for m in sorted(per_mutator):
        c = per_mutator[m]
        print(f"  {m:20s} {c['ok']:6d} {c['error']:6d} {c['OTHER'] + c['HANG'] + c['MEMORY']:6d}")
    for line in failures[:args.show]:
        print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
