r"""``python -m sayedcnn reproduce [EQ ...]``: the worked examples, as printed and as computed.

Prints every worked example of section 47.25 (:func:`sayedcnn.fidelity.book_examples.chapter_examples`),
the symbolic ones when sympy is installed (:func:`sayedcnn.fidelity.symbolic.symbolic_examples`) and
those of the seed notes (``sayedcnn.fidelity.seeds.s000``, ``s001``, ``s002``, ``s004``, each with
``examples()``), the book's form beside the package's, with a mark per example:

* ``ok``: the print and the package agree;
* ``E-xxxx``: they differ by the registered erratum (the computed value is the corrected one);
* ``FAIL``: they differ and no erratum explains it, or an erratum is registered but they agree.

``EQ`` selects examples: ``47.1251`` or ``1251``, a range ``1251-1256``, a seed ``seed000``
(or ``000``, ``s000``). The exit status is 1 if any selected example fails, 2 if nothing
matches the selection.
"""

from __future__ import annotations

import importlib
import re
import sys

import numpy as np

__all__ = ["add_arguments", "run", "collect", "select", "SEED_MODULES"]

#: The seed-note modules whose ``examples()`` are reproduced, in order.
SEED_MODULES = ("s000", "s001", "s002", "s004")


def add_arguments(parser):
    parser.add_argument("eqs", nargs="*", metavar="EQ",
                        help="equation numbers (47.1251, 1251, 1251-1256) or seed notes "
                             "(seed000); default: every example")
    parser.add_argument("--no-symbolic", action="store_true",
                        help="skip the symbolic reproductions (sympy)")
    parser.add_argument("--width", type=int, default=100,
                        help="line width for printed matrices (default 100)")


def collect(symbolic=True, notes=None, errors=None):
    """All examples: the chapter's, the symbolic ones (if sympy is present and ``symbolic``),
    and the seed notes' (modules that are missing are skipped with a note in ``notes``; a
    seed module that fails to import or to build its examples is reported in ``errors``)."""
    from ...fidelity.book_examples import chapter_examples

    notes = [] if notes is None else notes
    errors = [] if errors is None else errors
    examples = list(chapter_examples())
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


def _seed_key(tok):
    m = re.fullmatch(r"(?:seed|s)?(\d{3})", tok)
    return f"seed{m.group(1)}" if m else None


def _eq_number(tok):
    m = re.fullmatch(r"(?:47\.)?(\d{4})[a-z]?", tok)
    return int(m.group(1)) if m else None


def _key_number(key):
    m = re.match(r"47\.(\d{4})", key)
    return int(m.group(1)) if m else None


def select(examples, tokens):
    """The examples whose key matches one of ``tokens`` (all when ``tokens`` is empty)."""
    if not tokens:
        return list(examples)
    keep = []
    for ex in examples:
        num = _key_number(ex.key)
        for tok in tokens:
            tok = tok.strip().lower()
            seed = _seed_key(tok)
            if seed is not None and re.sub(r"[\s_-]", "", ex.key.lower()).startswith(seed):
                keep.append(ex)
                break
            if "-" in tok:
                lo, _, hi = tok.partition("-")
                a, b = _eq_number(lo), _eq_number(hi)
                if a is not None and b is not None and num is not None and a <= num <= b:
                    keep.append(ex)
                    break
            n = _eq_number(tok)
            if n is not None and num == n:
                keep.append(ex)
                break
    return keep


def _show(value, width):
    if isinstance(value, str):
        return value
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
    """``ok``, the erratum id, or ``FAIL``."""
    if not ex.ok:
        return "FAIL"
    return "ok" if ex.erratum is None else ex.erratum


def run(args):
    notes, errors = [], []
    examples = select(collect(symbolic=not args.no_symbolic, notes=notes, errors=errors),
                      args.eqs)
    for note in notes:
        print(f"note: {note}")
    for err in errors:
        print(f"FAIL: {err}")
    if not examples:
        print(f"sayedcnn reproduce: no example matches {' '.join(args.eqs)}", file=sys.stderr)
        return 2
    failures = 0
    for ex in examples:
        m = mark(ex)
        failures += m == "FAIL"
        print(f"[{m}] ({ex.key}) {ex.title}")
        print(_indent(_show(ex.printed, args.width), "    printed:  "))
        print(_indent(_show(ex.computed, args.width), "    computed: "))
        if m == "FAIL":
            why = ("differs from the print with no erratum registered" if ex.erratum is None
                   else f"agrees with the print although erratum {ex.erratum} is registered")
            print(f"    FAIL: {why}")
    agree = sum(ex.ok and ex.erratum is None for ex in examples)
    errata = sum(ex.ok and ex.erratum is not None for ex in examples)
    print(f"{len(examples)} examples: {agree} agree with the print, {errata} differ by a "
          f"registered erratum, {failures} fail")
    return 1 if failures or errors else 0
