"""``xpsfit read FILE... [--json]``: list every spectrum a file holds.

A file that cannot be read prints one ``xpsfit: error: <file>: <reason>`` line on stderr and the
other files are still listed; the exit status is 2 if any file failed.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

from ..errors import XpsfitError
from ..spectrum import energy_scale_notes
from .common import add_energy_options, energy_warnings, read_options


def register(subparsers) -> None:
    p = subparsers.add_parser("read", help="list the spectra in spectrum files",
                              description="List every spectrum (index, region, points, BE "
                              "range, hν, original axis, counts unit) of each file.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of lines")
    p.add_argument("--region", help="region name for files that do not name one (plain CSV)")
    p.add_argument("--format", help="force a reader by name instead of sniffing")
    add_energy_options(p)
    p.set_defaults(func=run)


def _fmt(x: float, digits: int = 2) -> str:
    return "-" if not math.isfinite(x) else f"{x:.{digits}f}"


def _line(d: dict) -> str:
    return (f"{d['file']}  #{d['index']}  {d['region'] or '-'}  [{d['label'] or '-'}]  "
            f"{d['points']} pts  BE {_fmt(d['be_min'])}..{_fmt(d['be_max'])} eV  "
            f"hv {_fmt(d['excitation_energy'])}  axis {d['original_axis']}  "
            f"{d['counts_unit']}  ({d['format']})"
            # what the file did not say: "[axis assumed BE]", "[φ 3.63 (option)]"
            + (f"  [{'; '.join(energy_scale_notes(d))}]" if energy_scale_notes(d) else "")
            # only news is printed: an energy frame other than the file's, another tool's fit
            + (f"  energies {d['energy_frame']}" if d.get("energy_frame", "").startswith(
                ("CasaXPS", "as acquired (")) else "")
            + (f"  with {d['peer_fit']} fit curves" if d.get("peer_fit") else ""))


def _json_safe(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in d.items()}


def run(args: argparse.Namespace) -> int:
    from ..io import read
    from ..spectrum import describe

    failed = False
    rows = []
    options = read_options(args)
    for name in args.files:
        try:
            spectra = read(name, format=args.format, region=args.region, **options)
        except XpsfitError as exc:
            failed = True
            print(f"xpsfit: error: {exc.one_line()}", file=sys.stderr)
            continue
        for line in energy_warnings(spectra, name):
            print(line, file=sys.stderr)
        for s in spectra:
            d = {"file": name, **describe(s), "format": s.attrs.get("format", ""),
                 "energy_frame": s.attrs.get("energy_frame", ""),
                 "peer_fit": s.attrs.get("peer_fit", "")}
            if args.json:
                rows.append(_json_safe(d))
            else:
                print(_line(d))
    if args.json:
        json.dump(rows, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    return 2 if failed else 0
