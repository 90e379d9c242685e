r"""``python -m sayedcnn errata``: the register of printed slips (:mod:`sayedcnn.fidelity.errata`).

* no option: the register as a table (id, equation, kind, origin, reason), then the
  departures of the package from the print (ids ``D-...``), and what the printed forms were
  read from (an OCR transcription of the chapter; ``origin`` is ``print`` or
  ``transcription?``);
* ``--check``: run every erratum's and departure's demonstration and report the numbers; the
  exit status is 1 if any demonstration fails to show that the printed form fails and the
  corrected one passes;
* ``--notation``: also list the slips that change no meaning, and the candidates checked and
  found right;
* ``--write ERRATA.md``: render the register, with the demonstrations' numbers, to a file;
* ``--write-equations EQUATIONS.md``: render the equation index
  (:mod:`sayedcnn.fidelity.equations`).

``ID`` arguments restrict the output to those entries (``E-1257``, ``E-S004a``, ``S004-a``
or ``D-1216``).
"""

from __future__ import annotations

import sys
import textwrap

__all__ = []


def add_arguments(parser):
    parser.add_argument("ids", nargs="*", metavar="ID", help="errata to show (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="run every demonstration; exit 1 if one fails to show its point")
    parser.add_argument("--notation", action="store_true",
                        help="also list notation slips and the candidates found right")
    parser.add_argument("--write", metavar="PATH",
                        help="write the register (with the demonstrations) as markdown")
    parser.add_argument("--write-equations", metavar="PATH",
                        help="write the equation index (47.1124)-(47.1276) as markdown")


def _table(errata):
    head = f"{'id':<8} {'equation':<9} {'kind':<12} {'origin':<15} reason"
    lines = [head, "-" * 100]
    for e in errata:
        origin = getattr(e, "origin", "departure")
        wrapped = textwrap.wrap(e.reason, 100 - 48) or [""]
        lines.append(f"{e.id:<8} {e.equation:<9} {getattr(e, 'kind', '-'):<12} {origin:<15} "
                     f"{wrapped[0]}")
        lines += [" " * 48 + w for w in wrapped[1:]]
    return "\n".join(lines)


def _wrap(label, text):
    return textwrap.fill(text, 100, initial_indent=f"    {label}",
                         subsequent_indent=" " * (4 + len(label)))


def run(args):
    from ...fidelity import equations
    from ...fidelity import errata as reg

    try:
        chosen = ([reg.by_id(i) for i in args.ids] if args.ids
                  else list(reg.ERRATA) + list(reg.DEPARTURES))
    except KeyError as exc:
        print(f"sayedcnn errata: {exc.args[0]}", file=sys.stderr)
        return 2
    status = 0
    if args.write_equations:
        with open(args.write_equations, "w", encoding="utf-8") as fh:
            fh.write(equations.render())
        print(f"wrote the equation index ({len(equations.INDEX)} numbers) to "
              f"{args.write_equations}")
    results = None
    if args.check or args.write:
        results = (reg.check_all(departures=True) if not args.ids
                   else [(e, e.run()) for e in chosen])
        failed = [e.id for e, d in results if not d.shown]
        status = 1 if failed else 0
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(reg.render(results))
        print(f"wrote {len(reg.ERRATA)} errata, {len(reg.DEPARTURES)} departures, "
              f"{len(reg.NOTATION)} notation slips to {args.write}")
    if args.check:
        for e, d in results:
            what = getattr(e, "kind", "departure")
            origin = getattr(e, "origin", "")
            print(f"[{'shown' if d.shown else 'NOT SHOWN'}] {e.id} ({e.equation}) {what}"
                  + (f", origin: {origin}" if origin else ""))
            print(_wrap("printed:   ", d.printed + ("" if d.printed_fails else
                                                    "  <- does not fail")))
            print(_wrap("corrected: ", d.corrected + ("" if d.corrected_passes else
                                                      "  <- does not pass")))
        n_bad = sum(not d.shown for _, d in results)
        print(f"{len(results)} demonstrations: {len(results) - n_bad} shown, {n_bad} not shown")
    elif not (args.write or args.write_equations):
        print(f"printed forms read from {reg.SOURCE}")
        print(_table(chosen))
        n = reg.counts()
        print(f"{len(chosen)} entries; the register: {n['errata']} errata "
              f"({n['transcription?']} possibly transcription), {n['departures']} departures; "
              f"--check runs their demonstrations")
    if args.notation:
        print("\nnotation (no change of meaning):")
        for n in reg.NOTATION:
            print(f"  {n.location} ({n.equation}): {n.printed}  ->  {n.corrected}")
        print("\nchecked and found right:")
        for v in reg.VERIFIED:
            print(f"  {v.equation}: {v.claim}: {v.finding}")
    return status
