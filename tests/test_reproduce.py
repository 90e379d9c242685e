"""`python -m sayedcnn reproduce`: every worked example that the print gets right is
reproduced; the others differ by their registered erratum."""

import importlib
from pathlib import Path

import pytest

from sayedcnn.app.cli import main
from sayedcnn.app.commands import reproduce
from sayedcnn.fidelity import equations, errata
from sayedcnn.fidelity.book_examples import chapter_examples, listing_examples
from sayedcnn.fidelity.errata import as_example
from sayedcnn.fidelity.examples import Example
from sayedcnn.fidelity.seeds import SEED_NOTES, describe

REQUIRED = ["47.1149", "47.1151", "47.1153", "47.1166", "47.1201", "47.1203", "47.1240",
            "47.1251", "47.1252", "47.1253", "47.1254", "47.1255", "47.1256", "47.1259"]


def test_chapter_examples_reproduce():
    """Each chapter example agrees with the print, or differs by a registered erratum."""
    for ex in chapter_examples():
        if ex.erratum is None:
            assert ex.agrees, (ex.key, ex.title, ex.printed, ex.computed)
        else:
            errata.by_id(ex.erratum)
            assert not ex.agrees, (ex.key, ex.title)
        assert ex.ok


def test_required_examples_are_present():
    """The examples the chapter prints are all reproduced."""
    keys = {ex.key for ex in chapter_examples()}
    assert set(REQUIRED) <= keys, sorted(set(REQUIRED) - keys)


def test_listing_examples_run_the_listings():
    """(47.1216), (47.1275), (47.1276) have worked examples: each listing beside an
    independent computation (loops, finite differences), and they agree."""
    exs = listing_examples()
    assert {ex.key for ex in exs} == {"47.1216", "47.1275", "47.1276"}
    for ex in exs:
        assert ex.basis == "independent" and ex.erratum is None
        assert ex.agrees, ex.title


def test_E_1166_reads_both_ways():
    """(47.1166): the printed 300 is the count for a mask of 9 entries (3x3), and differs by
    E-1166 from the 9x9 mask the text names; the two rows say which is which."""
    rows = [ex for ex in chapter_examples() if ex.key == "47.1166"]
    assert [(ex.printed, ex.computed, ex.erratum) for ex in rows] == [
        (300, 300, None), (300, 2460, "E-1166")]
    assert "3x3" in rows[0].title and "9x9" in rows[1].title


def test_examples_say_what_their_left_column_is():
    """An example's basis is printed, evaluated or independent; an unknown basis is refused;
    an erratum row from the register carries the register's numbers."""
    assert Example("47.1149", "a", 1, 1).label == "printed"
    assert Example("47.1149", "a", 1, 1, basis="evaluated").label == "as printed, evaluated"
    with pytest.raises(ValueError, match="basis"):
        Example("47.1149", "a", 1, 1, basis="guessed")
    row = as_example("seed004", "x", "E-S004d")
    d = errata.by_id("E-S004d").run()
    assert row.basis == "evaluated" and row.erratum == "E-S004d"
    assert (row.printed, row.computed) == (d.values["printed"], d.values["corrected"])
    with pytest.raises(KeyError, match="printed/corrected"):
        as_example("47.1149", "x", "E-1149")


@pytest.mark.parametrize("name", reproduce.SEED_MODULES)
def test_seed_examples_reproduce(name):
    """The seed notes' examples agree with their prints or differ by a registered erratum."""
    mod = pytest.importorskip(f"sayedcnn.fidelity.seeds.{name}")
    examples = mod.examples()
    assert examples
    for ex in examples:
        if ex.erratum is not None:
            errata.by_id(ex.erratum)
        assert ex.ok, (ex.key, ex.title, ex.erratum)


def test_reproduce_command_all_examples(capsys):
    """`reproduce` with no argument prints every example and exits 0."""
    assert main(["reproduce"]) == 0
    out = capsys.readouterr().out
    assert "fail" in out.splitlines()[-1] and " 0 fail" in out.splitlines()[-1]
    for key in REQUIRED:
        assert f"({key})" in out
    assert "[E-1201]" in out and "[E-1259]" in out
    for key, note in SEED_NOTES.items():  # each seed note is introduced where its rows start
        assert f"-- seed note {key[4:]}: {note.sentence}" in out
    assert "as printed, evaluated:" in out and "independent:" in out


def test_reproduce_list_names_every_example_with_its_numbers(capsys):
    """`reproduce --list` prints one line per example with its equation numbers."""
    assert main(["reproduce", "--list", "--no-symbolic"]) == 0
    lines = capsys.readouterr().out.splitlines()
    exs = reproduce.collect(symbolic=False)
    assert lines[-1] == f"{len(exs)} examples"
    rows = [ln for ln in lines if ln.startswith("[")]
    assert len(rows) == len(exs)
    for ln, ex in zip(rows, exs):
        assert ex.title in ln and f"[{ex.label}]" in ln
        for n in reproduce.numbers(ex):
            assert f"(47.{n})" in ln


def test_every_number_of_the_section_is_answered():
    """Every number (47.1124)-(47.1276) selects an example or is answered from the index,
    whatever way a reader writes it."""
    exs = reproduce.collect(symbolic=False)
    for n in range(equations.FIRST, equations.LAST + 1):
        picked = reproduce.select(exs, [str(n)])
        if not picked:
            lines = reproduce._index_answer(n)
            assert lines[0].startswith(f"(47.{n})")
        for spelled in (f"47.{n}", f"({n})", f"(47.{n})", f"{n}a"):
            assert reproduce.select(exs, [spelled]) == picked, spelled
    for n in (1216, 1275, 1276):  # the listings run their worked examples
        assert any(ex.basis == "independent" for ex in reproduce.select(exs, [str(n)]))


def test_reproduce_a_listing_number_and_an_unprinted_number(capsys):
    """`reproduce 1216` runs the forward listing's example; `reproduce 1133` answers from the
    index (exit 0); a number outside the section exits 2 with one line."""
    assert main(["reproduce", "--no-symbolic", "1216"]) == 0
    out = capsys.readouterr().out
    assert "(47.1216) forward listing" in out and "against scalar loops" in out
    assert main(["reproduce", "--no-symbolic", "1133"]) == 0
    out = capsys.readouterr().out
    assert "(47.1133)" in out and "sayedcnn.operators:correlate" in out
    assert main(["reproduce", "47.1300"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "47.1300" in err


def test_seed_notes_are_described():
    """Each seed note has a one-sentence description naming its source and what it derives."""
    assert set(SEED_NOTES) == {f"seed{m[1:]}" for m in reproduce.SEED_MODULES}
    for key, note in SEED_NOTES.items():
        assert note.source and note.derives and note.sentence.endswith(".")
        assert describe(key) == describe(key[4:]) == describe("s" + key[4:]) == note.sentence
    assert "DD2424" in SEED_NOTES["seed001"].source and "Xu" in SEED_NOTES["seed004"].source
    with pytest.raises(KeyError, match="no seed note"):
        describe("seed003")


_SOURCES = {"seed000": "unsigned", "seed001": "DD2424", "seed002": "Nielsen", "seed004": "Xu"}


@pytest.mark.parametrize("path", ["README.md", "ERRATA.md", "notebooks/src/08_other_derivations.py",
                                  "notebooks/src/09_errata.py"])
def test_seed_notes_are_introduced_where_users_meet_them(path):
    """README, the register and the two notebooks that use the notes say what each note is,
    by its source (the notes are not shipped)."""
    text = (Path(__file__).resolve().parents[1] / path).read_text()
    assert set(_SOURCES) == set(SEED_NOTES)
    for key, word in _SOURCES.items():
        assert word in SEED_NOTES[key].source
        assert word in text, f"{path} does not say what seed note {key[4:]} is ({word!r})"


def test_reproduce_selection_and_nothing_matched(capsys):
    """EQ arguments select examples (a number, a range, a seed); no match exits 2."""
    assert main(["reproduce", "--no-symbolic", "1251-1256", "47.1149"]) == 0
    out = capsys.readouterr().out
    assert "(47.1252)" in out and "(47.1149)" in out and "(47.1201)" not in out
    assert main(["reproduce", "9999"]) == 2
    assert main(["reproduce", "seed003"]) == 2


def test_select_tokens():
    """Tokens: 1251, 47.1251, 1251-1256, seed000, 000, s000."""
    exs = [Example("47.1251", "a", 1, 1), Example("47.1256", "b", 1, 1),
           Example("seed000", "c", 1, 1), Example("47.1201", "d", 1, 1)]
    keys = lambda toks: [e.key for e in reproduce.select(exs, toks)]  # noqa: E731
    assert keys(["1251"]) == ["47.1251"]
    assert keys(["(47.1251)"]) == keys(["1251a"]) == ["47.1251"]
    assert keys(["47.1256"]) == ["47.1256"]
    assert keys(["1251-1256"]) == ["47.1251", "47.1256"]
    assert keys(["seed000"]) == keys(["000"]) == keys(["s000"]) == ["seed000"]
    assert keys([]) == [e.key for e in exs]


def test_reproduce_fails_on_a_mismatch(monkeypatch, capsys):
    """A reproduction that should match and does not, or an erratum that does not differ,
    makes the exit status 1."""
    wrong = [Example("47.1149", "should match", [1, 2], [1, 3])]
    monkeypatch.setattr(reproduce, "collect", lambda **kw: wrong)
    assert main(["reproduce"]) == 1
    assert "FAIL" in capsys.readouterr().out
    agreeing = [Example("47.1201", "erratum but equal", [1, 2], [1, 2], erratum="E-1201")]
    monkeypatch.setattr(reproduce, "collect", lambda **kw: agreeing)
    assert main(["reproduce"]) == 1


def test_missing_seed_module_is_skipped_with_a_note(monkeypatch):
    """A seed module that is not there is skipped with a note; one that fails is an error."""
    monkeypatch.setattr(reproduce, "SEED_MODULES", ("s999",))
    notes, errors = [], []
    exs = reproduce.collect(symbolic=False, notes=notes, errors=errors)
    assert any("s999" in n for n in notes) and not errors
    assert len(exs) == len(chapter_examples()) + len(listing_examples())
    real = importlib.import_module
    monkeypatch.setattr(reproduce, "SEED_MODULES", ("s000",))

    def broken(name, *a):
        if name == "sayedcnn.fidelity.seeds.s000":
            raise RuntimeError("broken")
        return real(name, *a)

    monkeypatch.setattr(reproduce.importlib, "import_module", broken)
    reproduce.collect(symbolic=False, notes=notes, errors=errors)
    assert errors and "s000" in errors[0]
