r"""Command line: ``python -m sayedcnn COMMAND`` (also the ``sayedcnn`` console script).

Commands: ``train``, ``check``, ``reproduce``, ``errata``, ``bench``, ``golden``. Each lives in
its own module of :mod:`sayedcnn.app.commands` exposing ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status).

A mistake on the command line never ends in a traceback: a malformed option, and a file or
folder that cannot be read or written (an ``OSError`` naming the user's path), are reported in
one line with exit status 2; Ctrl-C ends with one line and status 130.
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
    "explain": "one step of the listings on a small network, with its independent check",
    "exercises": "randomised exercises in the book's notation, with worked solutions",
    "prove": "the derivation (47.1236)-(47.1274) proved symbolically with sympy",
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``prog: message``), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def describe_os_error(exc):
    """One line for an ``OSError``: the path it concerns and the reason.

    Examples
    --------
    >>> from sayedcnn.app.cli import describe_os_error
    >>> describe_os_error(FileNotFoundError(2, "No such file or directory", "run/params.npz"))
    'run/params.npz: No such file or directory'
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def build_parser():
    parser = _Parser(
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
    """Entry point; returns the exit status.

    Examples
    --------
    >>> from sayedcnn.app.cli import main
    >>> main(["errata", "E-1276a"])   # doctest: +ELLIPSIS
    printed forms read from an OCR transcription ...
    E-1276a  47.1276   sign         print ...
    0
    >>> main(["reproduce", "1300"])    # a user's mistake: one line on stderr, exit status 2
    2
    """
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the commands are imported
        print("\nsayedcnn: interrupted during start-up", file=sys.stderr)
        return 130
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "_missing", None):
        print(f"sayedcnn: the command {args._missing!r} is not available in this version",
              file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"\nsayedcnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a path of the user's that cannot be read or written
        print(f"sayedcnn {args.command}: {describe_os_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
