"""`python -m sayedcnn reproduce`: every worked example that the print gets right is
reproduced; the others differ by their registered erratum."""

import importlib

import pytest

from sayedcnn.app.cli import main
from sayedcnn.app.commands import reproduce
from sayedcnn.fidelity import errata
from sayedcnn.fidelity.book_examples import chapter_examples
from sayedcnn.fidelity.examples import Example

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


def test_reproduce_selection_and_nothing_matched(capsys):
    """EQ arguments select examples (a number, a range, a seed); no match exits 2."""
    assert main(["reproduce", "--no-symbolic", "1251-1256", "47.1149"]) == 0
    out = capsys.readouterr().out
    assert "(47.1252)" in out and "(47.1149)" in out and "(47.1201)" not in out
    assert main(["reproduce", "9999"]) == 2


def test_select_tokens():
    """Tokens: 1251, 47.1251, 1251-1256, seed000, 000, s000."""
    exs = [Example("47.1251", "a", 1, 1), Example("47.1256", "b", 1, 1),
           Example("seed000", "c", 1, 1), Example("47.1201", "d", 1, 1)]
    keys = lambda toks: [e.key for e in reproduce.select(exs, toks)]  # noqa: E731
    assert keys(["1251"]) == ["47.1251"]
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
    assert len(exs) == len(chapter_examples())
    real = importlib.import_module
    monkeypatch.setattr(reproduce, "SEED_MODULES", ("s000",))

    def broken(name, *a):
        if name == "sayedcnn.fidelity.seeds.s000":
            raise RuntimeError("broken")
        return real(name, *a)

    monkeypatch.setattr(reproduce.importlib, "import_module", broken)
    reproduce.collect(symbolic=False, notes=notes, errors=errors)
    assert errors and "s000" in errors[0]
