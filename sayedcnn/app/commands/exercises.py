r"""``python -m sayedcnn exercises --seed S --out DIR [--topic ...]``: generated exercises.

Writes ``DIR/exercises.md`` and ``DIR/solutions.md`` (LaTeX math in Markdown): small problems
in the book's notation drawn from the seed (build V for an image and mask; pool a map and give
g and T; one forward step; the sensitivities; one SGD step), each solved by the package with
every intermediate (:mod:`sayedcnn.teaching.exercises`). Exit status 2 for an unknown topic or
a negative seed.
"""

from __future__ import annotations

import sys

__all__ = []


def add_arguments(parser):
    from ...teaching.exercises import TOPICS

    parser.add_argument("--seed", type=int, default=0, help="seed of the problems (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for exercises.md and solutions.md (created if missing)")
    parser.add_argument("--topic", nargs="+", metavar="TOPIC",
                        help=f"some of {', '.join(TOPICS)} (default: all)")


def run(args):
    from ...teaching import exercises

    try:
        paths = exercises.write(args.out, seed=args.seed, topics=args.topic)
    except ValueError as exc:
        print(f"sayedcnn exercises: {exc}", file=sys.stderr)
        return 2
    n = len(args.topic) if args.topic else len(exercises.TOPICS)
    print(f"wrote {n} exercises to {paths[0]} and their solutions to {paths[1]}")
    return 0
