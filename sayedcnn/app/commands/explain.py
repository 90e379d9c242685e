r"""``python -m sayedcnn explain EQ [--seed S]``: one step of the listings, explained.

For an equation number of the forward listing (47.1216) or of the training listing
(47.1233)-(47.1276), builds a small network, runs the listing and prints that step: the
equation in the book's notation, the sizes of every operand, the numbers going in and coming
out, and the independent check that confirms them (:mod:`sayedcnn.teaching.explain`).
``--list`` names the numbers it knows. The exit status is 1 if a check fails, 2 for an
unknown number.
"""

from __future__ import annotations

import sys

__all__ = []


def add_arguments(parser):
    parser.add_argument("eq", nargs="?", metavar="EQ",
                        help="an equation number: 47.1257, 1257 or (47.1257)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the network's parameters, image and target (default 0)")
    parser.add_argument("--list", action="store_true", help="list the numbers explain knows")


def run(args):
    from ...teaching import explain as ex

    if args.list:
        for eq, step in ex.STEPS.items():
            print(f"({eq})  {step.title}")
        print(f"{len(ex.STEPS)} equations")
        return 0
    if args.eq is None:
        print("sayedcnn explain: give an equation number (e.g. 47.1257) or --list",
              file=sys.stderr)
        return 2
    if args.seed < 0:
        print(f"sayedcnn explain: --seed must be >= 0, got {args.seed}", file=sys.stderr)
        return 2
    try:
        eq = ex.normalise(args.eq)
    except ValueError as exc:
        print(f"sayedcnn explain: {exc}", file=sys.stderr)
        return 2
    text, ok = ex.explain(eq, seed=args.seed)
    print(text)
    return 0 if ok else 1
