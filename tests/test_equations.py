"""The equation index (sayedcnn.fidelity.equations): every number (47.1124)-(47.1276) is there, every
function it names exists and cites the number, every test it names exists."""

import ast
import inspect
import pathlib

import pytest

from sayedcnn.fidelity import equations, errata

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _test_names(path):
    """Test functions of a file, as pytest ids without parameters: 'name' or 'Class::name'."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names |= {f"{node.name}::{m.name}" for m in node.body
                      if isinstance(m, ast.FunctionDef) and m.name.startswith("test")}
    return names


def test_every_number_is_indexed():
    """Every number from (47.1124) to (47.1276) has an entry, and nothing else does."""
    want = {f"47.{n}" for n in range(equations.FIRST, equations.LAST + 1)}
    missing = sorted(want - set(equations.INDEX))
    extra = sorted(set(equations.INDEX) - want)
    assert not missing and not extra, (missing, extra)
    assert len(equations.INDEX) == 153


def test_entries_are_well_formed():
    """Implemented entries name functions and tests; checked ones name tests; prose entries
    give a reason and name neither."""
    for num, e in equations.INDEX.items():
        assert e.kind in equations.KINDS, num
        assert e.title, num
        if e.kind == "implemented":
            assert e.functions and e.tests, num
        elif e.kind == "checked":
            assert e.tests and not e.functions, num
        else:
            assert e.reason and not e.functions and not e.tests, num


def test_named_functions_exist_and_cite_their_number():
    """Each function is importable as module:qualname and its docstring cites the number
    (directly or inside a range such as (47.1149)-(47.1153))."""
    bad = []
    for num, e in equations.INDEX.items():
        n = int(num.split(".")[1])
        for name in e.functions:
            try:
                obj = equations.resolve(name)
            except (ImportError, AttributeError) as exc:
                bad.append(f"{num}: {name} does not exist ({exc})")
                continue
            doc = inspect.getdoc(obj) or ""
            if n not in equations.cited_numbers(doc):
                bad.append(f"{num}: the docstring of {name} does not cite (47.{n})")
    assert not bad, "\n".join(bad)


def test_named_tests_exist():
    """Each test named by the index is defined in its file (so a renamed or deleted test
    fails here)."""
    cache, bad = {}, []
    for num, e in equations.INDEX.items():
        for t in e.tests:
            path, _, name = t.partition("::")
            if not (ROOT / path).exists():
                bad.append(f"{num}: {path} does not exist")
                continue
            if path not in cache:
                cache[path] = _test_names(path)
            if name not in cache[path]:
                bad.append(f"{num}: {t} does not exist")
    assert not bad, "\n".join(bad)


def test_own_chapter_tests_are_named_after_the_book():
    """The tests of tests/test_chapter_equations.py are named test_eq_47_<number>_..."""
    names = _test_names("tests/test_chapter_equations.py")
    assert names and all(n.startswith("test_eq_47_") for n in names)
    used = {t.partition("::")[2] for e in equations.INDEX.values() for t in e.tests
            if t.startswith("tests/test_chapter_equations.py")}
    assert names <= used, sorted(names - used)


def test_errata_in_the_index_match_the_register():
    """Every erratum id in the index exists, and every chapter erratum is listed under its
    equation."""
    for e in equations.INDEX.values():
        for eid in e.errata:
            errata.by_id(eid)
    for er in errata.ERRATA:
        if er.source == "chapter":
            num = er.equation[:7]
            assert er.id in equations.INDEX[num].errata, (er.id, num)


def test_departures_in_the_index_match_the_register():
    """Every departure id in the index is a departure of the register, listed under the
    equations its location names; every departure appears under its own equation."""
    import re

    listed = {}
    for num, e in equations.INDEX.items():
        for did in e.departures:
            dep = errata.by_id(did)
            assert isinstance(dep, errata.Departure), did
            listed.setdefault(did, set()).add(num)
    for dep in errata.DEPARTURES:
        nums = listed.get(dep.id, set())
        assert dep.equation in nums, dep.id
        cited = {f"47.{n}" for n in re.findall(r"47\.(\d{4})", dep.location)} | {dep.equation}
        assert nums <= cited, (dep.id, sorted(nums - cited))


@pytest.mark.parametrize("doc,numbers", [
    ("Implements (47.1257).", {1257}),
    ("(47.1149)-(47.1153) and 47.1216", {1149, 1150, 1151, 1152, 1153, 1216}),
    ("Implements (47.1221g-h) and (47.1185a)", {1221, 1185}),
    ("(47.1141)-(47.1142)", {1141, 1142}),
    ("nothing", set()),
])
def test_cited_numbers(doc, numbers):
    """The docstring parser reads single numbers and ranges."""
    assert equations.cited_numbers(doc) == numbers


def test_equations_md_is_generated_from_the_index():
    """EQUATIONS.md at the repository root is render() of the index."""
    assert (ROOT / "EQUATIONS.md").read_text(encoding="utf-8") == equations.render()
