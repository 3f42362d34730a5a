"""The ``xpsfit`` command. One module per sub-command, each exposing ``register(subparsers)``.

Only this layer catches :class:`xpsfit.errors.XpsfitError` and turns it into one line on stderr
and exit status 2 — never a traceback for a user's bad input.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import XpsfitError

#: sub-command modules, in the order shown by --help
COMMANDS = ["read", "library", "recipe", "fit", "batch", "export", "map", "quantify"]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = argparse.ArgumentParser(prog="xpsfit", description="XPS peak fitting")
    parser.add_argument("--version", action="version", version=f"xpsfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:   # a sub-command not built yet
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except XpsfitError as exc:
        print(f"xpsfit: error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xpsfit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
