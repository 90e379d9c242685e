"""The public API is documented with examples that run.

Every module of the package declares its public names in ``__all__``; every function and
class named there has a numpydoc ``Examples`` section with at least one ``>>>`` line, and
the README's test command runs them all as doctests (``--doctest-modules`` in setup.cfg).
"""

import configparser
import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path

import pytest

import sayedcnn

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["sayedcnn"] + sorted(m.name for m in pkgutil.walk_packages(sayedcnn.__path__,
                                                                        "sayedcnn.")
                                if not m.name.endswith("__main__")
                                and not (m.name.endswith(".torch")
                                         and importlib.util.find_spec("torch") is None))


def _public_objects(name):
    mod = importlib.import_module(name)
    for attr in getattr(mod, "__all__", ()):
        obj = getattr(mod, attr, None)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield attr, obj


def _has_example(obj):
    doc = obj.__doc__ or ""
    return "Examples\n" in doc and ">>>" in doc


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_its_public_names(name):
    assert isinstance(getattr(importlib.import_module(name), "__all__", None), list), (
        f"{name} has no __all__")


@pytest.mark.parametrize("name", [m for m in MODULES if not m.rsplit(".", 1)[-1].startswith("_")])
def test_every_public_function_and_class_has_an_example(name):
    lacking = [attr for attr, obj in _public_objects(name) if not _has_example(obj)]
    assert lacking == [], f"{name}: no Examples section with >>> in {lacking}"


def test_the_checker_sees_a_missing_example():
    def documented():
        """Does nothing.

        Examples
        --------
        >>> documented()
        """

    def bare():
        """Does nothing."""

    assert _has_example(documented) and not _has_example(bare)


def test_the_examples_run_in_the_readme_test_command():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "--doctest-modules" in cfg["tool:pytest"]["addopts"]
    lines = sum(line.lstrip().startswith(">>>")
                for path in (ROOT / "sayedcnn").rglob("*.py")
                for line in path.read_text().splitlines())
    assert lines >= 40, f"only {lines} doctest lines"
