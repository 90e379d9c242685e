r"""``python -m sayedcnn reproduce [EQ ...]``: the worked examples, as printed and computed.

Prints every worked example of section 47.25
(:func:`sayedcnn.fidelity.book_examples.chapter_examples`), the listings' worked examples
(:func:`~sayedcnn.fidelity.book_examples.listing_examples`), the symbolic ones when sympy is
installed (:func:`sayedcnn.fidelity.symbolic.symbolic_examples`) and those of the seed notes
(``sayedcnn.fidelity.seeds.s000``, ``s001``, ``s002``, ``s004``, each with ``examples()``), the
source's side beside the package's, with a mark per example:

* ``ok``: the two sides agree;
* ``E-xxxx``: they differ by the registered erratum (the computed value is the corrected one);
* ``FAIL``: they differ and no erratum explains it, or an erratum is registered but they agree.

The left column is labelled by what it is: ``printed`` (numbers the source prints),
``as printed, evaluated`` (the source's formula evaluated on an input chosen here, where the
source prints no numbers; an erratum's row shows the same numbers as ``errata --check``), or
``independent`` (scalar loops or finite differences, for the listings).

``EQ`` selects examples: an equation number as a reader types it (``47.1251``, ``1251``,
``(47.1251)``, ``47.1221g``), a range ``1251-1256``, or a seed note ``seed000`` (or ``000``,
``s000``). An example is selected by its own number and by every number its title cites. A
number of the section that no example prints is answered from the equation index (what
carries it and which tests check it). ``--list`` names every example with its numbers. The
exit status is 1 if any selected example fails, 2 if an argument is not a number of the
section nor a seed note.
"""

from __future__ import annotations

import importlib
import re
import sys

import numpy as np

__all__ = ["collect", "select", "numbers", "SEED_MODULES"]

#: The seed-note modules whose ``examples()`` are reproduced, in order.
SEED_MODULES = ("s000", "s001", "s002", "s004")


def add_arguments(parser):
    parser.add_argument("eqs", nargs="*", metavar="EQ",
                        help="equation numbers (47.1251, 1251, 1221g, 1251-1256) or seed notes "
                             "(seed000); default: every example")
    parser.add_argument("--list", action="store_true",
                        help="list the examples with their equation numbers, without values")
    parser.add_argument("--no-symbolic", action="store_true",
                        help="skip the symbolic reproductions (sympy)")
    parser.add_argument("--width", type=int, default=100,
                        help="line width for printed matrices (default 100)")


def collect(symbolic=True, notes=None, errors=None):
    """All examples: the chapter's, the listings', the symbolic ones (if sympy is present and
    ``symbolic``), and the seed notes' (modules that are missing are skipped with a note in
    ``notes``; a seed module that fails to import or to build its examples is reported in
    ``errors``).

    Examples
    --------
    >>> from sayedcnn.app.commands.reproduce import collect
    >>> examples = collect(symbolic=False)
    >>> all(e.ok for e in examples)
    True
    """
    from ...fidelity.book_examples import chapter_examples, listing_examples

    notes = [] if notes is None else notes
    errors = [] if errors is None else errors
    examples = list(chapter_examples()) + list(listing_examples())
    if symbolic:
        try:
            from ...fidelity.symbolic import require_sympy, symbolic_examples

            require_sympy()
        except ImportError:
            notes.append("sympy is not installed: the symbolic reproductions of (47.1240), "
                         "(47.1251), (47.1256), (47.1259) are skipped (pip install "
                         "'sayedcnn[symbolic]')")
        else:
            examples += symbolic_examples()
    examples.sort(key=lambda ex: ex.key)  # stable: the chapter's order within an equation
    for name in SEED_MODULES:
        modname = f"sayedcnn.fidelity.seeds.{name}"
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                notes.append(f"{modname} is not present: its examples are skipped")
                continue
            errors.append(f"{modname} failed to import: {type(exc).__name__}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - reported as a failure
            errors.append(f"{modname} failed to import: {type(exc).__name__}: {exc}")
            continue
        try:
            examples += list(mod.examples())
        except Exception as exc:  # noqa: BLE001 - reported as a failure
            errors.append(f"{modname}.examples() raised {type(exc).__name__}: {exc}")
    return examples


_CITED = re.compile(r"47\.(\d{4})")
_RANGE = re.compile(r"47\.(\d{4})[a-z]?\)?\s*-\s*\(?(?:47\.)?(\d{4})")


def numbers(ex):
    """The equation numbers (ints) of an example: its key's, and those its title cites
    (ranges such as ``(47.1149)-(47.1153)`` expanded).

    Examples
    --------
    >>> from sayedcnn.app.commands.reproduce import numbers
    >>> from sayedcnn.fidelity.examples import Example
    >>> sorted(numbers(Example("seed004", "up(x) (47.1196a), (47.1204)", 1, 1)))
    [1196, 1204]
    """
    out = set()
    for text in (ex.key, ex.title):
        out |= {int(n) for n in _CITED.findall(text)}
        for a, b in _RANGE.findall(text):
            if int(a) <= int(b) <= int(a) + 80:
                out |= set(range(int(a), int(b) + 1))
    return out


def _seed_key(tok):
    m = re.fullmatch(r"(?:seed|s)?(\d{3})", tok)
    return f"seed{m.group(1)}" if m else None


def _eq_number(tok):
    m = re.fullmatch(r"\(?(?:47\.)?(\d{4})[a-z]?\)?", tok)
    return int(m.group(1)) if m else None


def _token(tok):
    """A selection token: ``("seed", key)``, ``("range", lo, hi)``, ``("eq", n)`` or None."""
    tok = tok.strip().lower()
    seed = _seed_key(tok)
    if seed is not None:
        return ("seed", seed)
    if "-" in tok:
        lo, _, hi = tok.partition("-")
        a, b = _eq_number(lo), _eq_number(hi)
        if a is not None and b is not None and a <= b:
            return ("range", a, b)
        return None
    n = _eq_number(tok)
    return ("eq", n) if n is not None else None


def _matches(ex, tok):
    if tok[0] == "seed":
        return re.sub(r"[\s_-]", "", ex.key.lower()).startswith(tok[1])
    nums = numbers(ex)
    if tok[0] == "range":
        return any(tok[1] <= n <= tok[2] for n in nums)
    return tok[1] in nums


def select(examples, tokens):
    """The examples that match one of ``tokens`` (all when ``tokens`` is empty).

    Examples
    --------
    >>> from sayedcnn.app.commands.reproduce import collect, select
    >>> rows = select(collect(symbolic=False), ["1201"])
    >>> sorted({e.erratum for e in rows if e.erratum})
    ['E-1201']
    """
    if not tokens:
        return list(examples)
    toks = [t for t in (_token(tok) for tok in tokens) if t is not None]
    return [ex for ex in examples if any(_matches(ex, t) for t in toks)]


def _show(value, width):
    if isinstance(value, str):
        return value
    if value is None:
        return "(nothing: the printed form cannot be evaluated)"
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return str(value)
    if arr.ndim == 0:
        return f"{arr.item():.10g}"
    if np.all(arr == np.round(arr)) and np.max(np.abs(arr), initial=0) < 1e9:
        arr = arr.astype(np.int64)
    return np.array2string(arr, max_line_width=width, threshold=400,
                           formatter={"float_kind": lambda v: f"{v:.6g}"})


def _indent(text, prefix):
    lines = text.splitlines() or [""]
    return "\n".join([prefix + lines[0]] + [" " * len(prefix) + ln for ln in lines[1:]])


def mark(ex):
    """``ok``, the erratum id, or ``FAIL``.

    Examples
    --------
    >>> from sayedcnn.app.commands.reproduce import collect, mark, select
    >>> [mark(e) for e in select(collect(symbolic=False), ["1149"])][:2]
    ['ok', 'E-1149']
    """
    if not ex.ok:
        return "FAIL"
    return "ok" if ex.erratum is None else ex.erratum


def _seed_header(key, shown):
    from ...fidelity.seeds import SEED_NOTES

    seed = key[:7]
    if seed in SEED_NOTES and seed not in shown:
        shown.add(seed)
        return f"-- seed note {seed[4:]}: {SEED_NOTES[seed].sentence}"
    return None


def _index_answer(n):
    """Lines answering a number of the section that no example prints, from the index."""
    from ...fidelity.equations import INDEX

    e = INDEX[f"47.{n}"]
    lines = [f"(47.{n}) {e.title}: {e.kind}; no worked example prints numbers for it."]
    if e.functions:
        lines.append("    carried by: " + ", ".join(e.functions))
    if e.tests:
        lines.append("    checked by: " + ", ".join(e.tests))
    if e.reason:
        lines.append(f"    {e.reason}")
    if e.errata:
        lines.append("    errata: " + ", ".join(e.errata) + " (python -m sayedcnn errata "
                     + " ".join(e.errata) + ")")
    return lines


def _bad_tokens(tokens):
    from ...fidelity.equations import FIRST, LAST

    bad = []
    for tok in tokens:
        t = _token(tok)
        if t is None or (t[0] == "eq" and not FIRST <= t[1] <= LAST) or (
                t[0] == "range" and (t[2] < FIRST or t[1] > LAST)):
            bad.append(tok)
    return bad


def _list(examples):
    shown = set()
    for ex in examples:
        head = _seed_header(ex.key, shown)
        if head:
            print(head)
        nums = ", ".join(f"(47.{n})" for n in sorted(numbers(ex))) or "-"
        print(f"[{mark(ex)}] {ex.key:<8} {nums:<22} [{ex.label}] {ex.title}")
    print(f"{len(examples)} examples")


def run(args):
    bad = _bad_tokens(args.eqs)
    if bad:
        from ...fidelity.equations import FIRST, LAST

        print(f"sayedcnn reproduce: {' '.join(bad)} is not a number of section 47.25 "
              f"((47.{FIRST})-(47.{LAST}), e.g. 1216 or 47.1221g) nor a seed note (seed000, "
              f"seed001, seed002, seed004)", file=sys.stderr)
        return 2
    notes, errors = [], []
    examples = select(collect(symbolic=not args.no_symbolic, notes=notes, errors=errors),
                      args.eqs)
    for note in notes:
        print(f"note: {note}")
    for err in errors:
        print(f"FAIL: {err}")
    if getattr(args, "list", False):
        _list(examples)
        return 1 if errors else 0
    covered = set().union(*(numbers(ex) for ex in examples)) if examples else set()
    unanswered = sorted({t[1] for t in map(_token, args.eqs) if t[0] == "eq"} - covered)
    failures, shown = 0, set()
    for ex in examples:
        head = _seed_header(ex.key, shown)
        if head:
            print(head)
        m = mark(ex)
        failures += m == "FAIL"
        print(f"[{m}] ({ex.key}) {ex.title}")
        label = f"    {ex.label}:"
        width = max(len(label) + 1, len("    computed: "))
        print(_indent(_show(ex.printed, args.width), label.ljust(width)))
        print(_indent(_show(ex.computed, args.width), "    computed:".ljust(width)))
        if m == "FAIL":
            why = ("differs with no erratum registered" if ex.erratum is None
                   else f"agrees although erratum {ex.erratum} is registered")
            print(f"    FAIL: {why}")
    for n in unanswered:
        print("\n".join(_index_answer(n)))
    if examples:
        agree = sum(ex.ok and ex.erratum is None for ex in examples)
        errata = sum(ex.ok and ex.erratum is not None for ex in examples)
        print(f"{len(examples)} examples: {agree} agree, {errata} differ by a registered "
              f"erratum, {failures} fail")
    elif not unanswered:
        print(f"sayedcnn reproduce: no example matches {' '.join(args.eqs)}", file=sys.stderr)
        return 2
    return 1 if failures or errors else 0
