r"""``python -m sayedcnn prove``: the derivation of the training algorithm proved with sympy.

Checks each identity of (47.1236)-(47.1274) on a generic small network with symbols for every
image entry, weight and bias (:mod:`sayedcnn.teaching.prove`), printing one line per identity
and the count. ``--quick`` leaves out the slowest identities (the derivatives that run through
the whole network); ``EQ`` arguments select identities by equation number; ``--wrong EQ``
alters the claimed side of that identity on purpose, to see a failure reported. The exit
status is 1 if an identity fails, 2 without sympy or for an unknown number.
"""

from __future__ import annotations

import sys

__all__ = []


def add_arguments(parser):
    parser.add_argument("eqs", nargs="*", metavar="EQ",
                        help="prove only these equations (47.1257 or 1257)")
    parser.add_argument("--quick", action="store_true",
                        help="leave out the identities differentiated through the whole network")
    parser.add_argument("--wrong", metavar="EQ",
                        help="alter the claimed side of this identity on purpose (it must fail)")


def _norm(eq):
    s = str(eq).strip().strip("()")
    return s if s.startswith("47.") else "47." + s


def run(args):
    try:
        import sympy  # noqa: F401
    except ImportError:
        print("sayedcnn prove: needs sympy: pip install 'sayedcnn[symbolic]'", file=sys.stderr)
        return 2
    from ...teaching import prove

    only = [_norm(e) for e in args.eqs] or None
    wrong = _norm(args.wrong) if args.wrong else None
    known = {i.eq for i in prove.identities()}
    for e in (only or []) + ([wrong] if wrong else []):
        if e not in known:
            print(f"sayedcnn prove: no identity carries ({e}); known: "
                  f"{', '.join(sorted(known))}", file=sys.stderr)
            return 2
    if wrong and only and wrong not in only:
        only.append(wrong)
    report = prove.run_proofs(only=only, wrong=wrong, quick=args.quick, out=print)
    n_bad = len(report.results) - report.n_proven
    print(f"{report.n_proven} identities proven" + (f", {n_bad} FAILED" if n_bad else "")
          + f" ({report.seconds:.1f} s)")
    return 0 if report.ok else 1
