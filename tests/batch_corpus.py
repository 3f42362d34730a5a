"""A big batch input with known corruptions, shared by tests/test_batch_resilience.py and
benchmarks/bench_batch.py (a module, not a fixture, so the benchmark can build it too).

``make_corpus(folder)`` writes ``n`` small single-block VAMAS files made from the example
spectra (written once with :func:`xpsfit.write_vamas`, then given new counts). Each good file
holds a fresh Poisson draw of one example spectrum (seeded by its index), so no two files give
the same fit. Every ``corrupt_every``-th
file is an S 2p file broken in one of ten ways (five variants each); every ``fit_every``-th of
the rest is an S 2p spectrum (fitted by the S 2p recipe), the others are P 2p spectra (skipped
by region). The corruptions are the ones met in practice: a copy cut short, random bytes, empty
or blank files, wrong point counts, NaN/Inf and non-numbers among the counts, a wrong block
count, a foreign text encoding, a lost header, deleted lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import xpsfit

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_spectra"
SOURCES = ("kb_series.vms", "cnf_series.vms", "controls.vms")
CRLF = b"\r\n"


def _cut(data: bytes, v: int, n: int) -> bytes:
    return data[: int(len(data) * (0.05, 0.3, 0.55, 0.8, 0.97)[v])]


def _garbage(data: bytes, v: int, n: int) -> bytes:
    return np.random.default_rng(1000 + v).integers(0, 256, 500 + 700 * v, np.uint8).tobytes()


def _empty(data: bytes, v: int, n: int) -> bytes:
    return (b"", b"\r\n", b"   \r\n\t\r\n", b"\xef\xbb\xbf", b"\x00" * 64)[v]


def _replace_line(data: bytes, index: int, new: bytes) -> bytes:
    lines = data.split(CRLF)
    lines[index] = new
    return CRLF.join(lines)


def _count_line(data: bytes, n: int) -> int:
    """Index of the point-count line of a single-block file of ``n`` points: it is followed by
    the minimum and maximum ordinate, the ``n`` values and "end of experiment"."""
    lines = data.split(CRLF)
    at = len(lines) - 2 - n - 3
    assert lines[at] == str(n).encode() and lines[-2] == b"end of experiment"
    return at


def _wrong_count(data: bytes, v: int, n: int) -> bytes:
    new = (str(n - 1), str(n + 1), "1000000000", "-3", "many")[v]
    return _replace_line(data, _count_line(data, n), new.encode())


def _non_finite(data: bytes, v: int, n: int) -> bytes:
    """NaN/Inf where a number must be finite. (A lone NaN among the counts is not here: the
    VAMAS reader drops non-finite counts as missing points, like the 1e37 sentinel.)"""
    lines = data.split(CRLF)
    first = _count_line(data, n) + 3
    if v == 0:
        lines[first:first + n] = [b"nan"] * n                   # every count NaN
    elif v == 1:
        lines[first:first + n] = [b"1e999"] * n                 # every count +Inf
    else:
        axis = lines.index(b"Kinetic Energy")
        at = {2: axis + 2, 3: axis + 3, 4: lines.index(b"Al") + 1}[v]
        lines[at] = (b"nan", b"inf", b"-inf")[v - 2]            # start, step, photon energy
    return CRLF.join(lines)


def _non_number(data: bytes, v: int, n: int) -> bytes:
    at = _count_line(data, n) + 3 + 11 * (v + 1)
    return _replace_line(data, at, (b"12x34", b"0x1F", b"1,5", b"--", b"4500 counts")[v])


def _block_count(data: bytes, v: int, n: int) -> bytes:
    lines = data.split(CRLF)
    # after REGULAR: regions, variables, variable label and unit, inclusion list length,
    # manual items, two future-upgrade counts, then the number of blocks
    at = lines.index(b"REGULAR") + 9
    assert lines[at] == b"1", lines[at - 9:at + 1]
    return _replace_line(data, at, (b"2", b"7", b"-1", b"x", b"1000000000")[v])


def _encoding(data: bytes, v: int, n: int) -> bytes:
    text = data.decode("ascii")
    return (text.encode("utf-16"), text.encode("utf-16-le"), text.encode("utf-32"),
            text.encode("utf-16-be"), b"\xff\xfe" + text.encode("utf-16-le"))[v]


def _no_header(data: bytes, v: int, n: int) -> bytes:
    return CRLF.join(data.split(CRLF)[1 + v:])


def _deleted_lines(data: bytes, v: int, n: int) -> bytes:
    lines = data.split(CRLF)
    start = (12, 25, 40, 60, 80)[v]
    return CRLF.join(lines[:start] + lines[start + 3:])


#: kind -> corrupter(file bytes, variant 0-4, number of points) -> bytes
CORRUPTIONS = {
    "truncated": _cut,
    "garbage": _garbage,
    "empty": _empty,
    "wrong count": _wrong_count,
    "NaN/Inf": _non_finite,
    "non-number": _non_number,
    "block count": _block_count,
    "encoding": _encoding,
    "no header": _no_header,
    "deleted lines": _deleted_lines,
}


@dataclass
class Corpus:
    folder: Path
    files: list[Path] = field(default_factory=list)          # every input, in name order
    corrupt: dict[str, str] = field(default_factory=dict)     # file name -> corruption kind
    s2p: list[Path] = field(default_factory=list)             # good files the recipe fits
    p2p: list[Path] = field(default_factory=list)             # good files skipped by region

    @property
    def good(self) -> list[Path]:
        return [f for f in self.files if f.name not in self.corrupt]


def _templates() -> dict[str, list[tuple[bytes, int]]]:
    """Per region: (file bytes written by xpsfit.write_vamas, number of points) of every
    example spectrum."""
    import tempfile
    out: dict[str, list[tuple[bytes, int]]] = {"S 2p": [], "P 2p": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name in SOURCES:
            for k, s in enumerate(xpsfit.read(EXAMPLES / name)):
                path = xpsfit.write_vamas(Path(tmp) / f"{k}_{name}", [s])
                out[s.attrs["region"]].append((path.read_bytes(), s.size))
    return out


def _with_counts(template: bytes, n: int, counts: np.ndarray) -> bytes:
    """The template file with new counts (and their minimum and maximum): a full
    write_vamas per file would cost an fsync each, ~10 s for 1 000 files on a busy disk."""
    lines = template.split(CRLF)
    first = _count_line(template, n) + 3
    lines[first - 2:first + n] = [b"%d" % counts.min(), b"%d" % counts.max()] + \
        [b"%d" % c for c in counts]
    return CRLF.join(lines)


def make_corpus(folder: Path, n: int = 1000, corrupt_every: int = 20, fit_every: int = 10,
                ) -> Corpus:
    """Write the corpus into ``folder`` (created) and describe it. File ``i`` holds a Poisson
    draw (seed ``i``) of an example spectrum."""
    folder.mkdir(parents=True, exist_ok=True)
    pool = _templates()
    corpus = Corpus(folder)
    kinds = list(CORRUPTIONS)
    n_corrupt = 0
    for i in range(n):
        path = folder / f"spectrum_{i:04d}.vms"
        broken = bool(corrupt_every) and i % corrupt_every == corrupt_every // 3
        region = "S 2p" if broken or i % fit_every == fit_every // 3 else "P 2p"
        template, size = pool[region][i % len(pool[region])]
        values = np.array(template.split(CRLF)[-2 - size:-2], dtype=float)
        data = _with_counts(template, size, np.random.default_rng(i).poisson(values))
        corpus.files.append(path)
        if broken:
            kind = kinds[n_corrupt % len(kinds)]
            data = CORRUPTIONS[kind](data, (n_corrupt // len(kinds)) % 5, size)
            corpus.corrupt[path.name] = kind
            n_corrupt += 1
        elif region == "S 2p":
            corpus.s2p.append(path)
        else:
            corpus.p2p.append(path)
        path.write_bytes(data)
    return corpus
