r"""``python -m sayedcnn golden``: write or check golden traces of the listings.

``--out DIR`` writes, for each small seeded problem of
:data:`sayedcnn.interop.golden.PROBLEMS`, every input, parameter, intermediate of (47.1216),
sensitivity and derivative of (47.1275) and the parameters after one step of (47.1276), as
``DIR/<problem>.npz`` with ``DIR/index.json`` naming each array by the book's symbol and
equation. ``--check [DIR]`` recomputes every trace of ``DIR`` (default: the copy shipped in
the package) with the package and compares; the exit status is 1 when any array differs by
more than ``--rtol``, and 2 (one line, no traceback) when ``DIR`` holds no traces or a file
is not a readable trace. ``--list`` prints the problems, what each covers and the edge rules
(:data:`sayedcnn.interop.golden.RULES`) it exercises.
"""

from __future__ import annotations

import sys
import time

__all__ = []


def add_arguments(parser):
    from ...interop.golden import DATA_DIR, RTOL

    parser.add_argument("--out", metavar="DIR", help="write the traces and index.json to DIR")
    parser.add_argument("--check", metavar="DIR", nargs="?", const=str(DATA_DIR),
                        help="recompute the traces of DIR (default: the shipped copy) and "
                             "compare; exit 1 on a difference")
    parser.add_argument("--problems", metavar="NAME", nargs="+",
                        help="only these problems (with --out)")
    parser.add_argument("--rtol", type=float, default=RTOL,
                        help=f"largest relative difference per array for --check "
                             f"(default {RTOL:g})")
    parser.add_argument("--list", action="store_true", help="list the problems and exit")


def run(args):
    from ...interop import golden

    if args.list:
        for p in golden.PROBLEMS:
            rules = f"; rules: {', '.join(p.rules)}" if p.rules else ""
            print(f"{p.name:<48} N={p.N}  {', '.join(p.covers)}{rules}")
        return 0
    if not args.out and not args.check:
        print("sayedcnn golden: give --out DIR to write traces, --check [DIR] to verify "
              "them, or --list", file=sys.stderr)
        return 2
    if args.rtol <= 0:
        print(f"sayedcnn golden: --rtol must be > 0, got {args.rtol}", file=sys.stderr)
        return 2
    status = 0
    if args.out:
        try:
            paths = golden.write_traces(args.out, args.problems)
        except ValueError as exc:
            print(f"sayedcnn golden: {exc}", file=sys.stderr)
            return 2
        size = sum(p.stat().st_size for p in paths)
        print(f"wrote {len(paths) - 1} traces and {paths[-1]} to {args.out} "
              f"({size / 1024:.0f} KiB)")
    if args.check:
        t0 = time.perf_counter()
        try:
            reports = golden.verify_directory(args.check, rtol=args.rtol)
        except (ValueError, OSError) as exc:
            print(f"sayedcnn golden: {exc}", file=sys.stderr)
            return 2
        bad = 0
        for rep in reports.values():
            print(rep.summary())
            bad += not rep.ok
        secs = time.perf_counter() - t0
        if bad:
            print(f"DIFFERENCES in {bad} of {len(reports)} traces ({secs:.1f} s)")
            status = 1
        else:
            print(f"all {len(reports)} traces reproduced ({secs:.1f} s)")
    return status
