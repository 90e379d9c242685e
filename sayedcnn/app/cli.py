r"""Command line: ``python -m sayedcnn COMMAND`` (also the ``sayedcnn`` console script).

Commands: ``train``, ``check``, ``reproduce``, ``errata``, ``bench``, ``golden``. Each lives in
its own module of :mod:`sayedcnn.app.commands` exposing ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "COMMANDS"]

COMMANDS = {
    "train": "train the book's network by (47.1276) on shipped handwritten digits",
    "check": "random architectures through every implementation; non-zero exit on disagreement",
    "reproduce": "print the chapter's worked examples beside what the package computes",
    "errata": "the register of printed slips; --check runs their demonstrations",
    "bench": "time loops, listing, fused (and torch when installed)",
    "golden": "write golden traces of the listings for testing other implementations",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sayedcnn",
        description="Section 47.25 of Sayed, Inference and Learning from Data, executable.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(f"sayedcnn.app.commands.{name}")
        except ModuleNotFoundError:
            p.set_defaults(_missing=name)
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None):
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "_missing", None):
        print(f"sayedcnn: the command {args._missing!r} is not available in this version",
              file=sys.stderr)
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
