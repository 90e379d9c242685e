"""The equation index holds: for every implemented equation of EQUATIONS.md, one of the tests
named beside it calls every function named beside it.

This is checked by tracing, not by reading names: the tests named by the index run in a
separate pytest process with the plugin ``tests/equation_trace.py``, which profiles the calls
made while each test body runs and records which of the index's functions were entered. The
functions and tests are read from :data:`sayedcnn.fidelity.equations.INDEX` itself.
"""

import json
import os
import pathlib
import subprocess
import sys
from dataclasses import replace

import pytest

from sayedcnn.fidelity import equations

ROOT = pathlib.Path(__file__).resolve().parents[1]


def named_tests(index):
    """The tests named beside the implemented entries of ``index`` (pytest ids)."""
    return sorted({t for e in index.values() if e.kind == "implemented" for t in e.tests})


def broken_links(index, calls):
    """The implemented entries of ``index`` that no single named test covers: a list of
    ``(number, functions not called, tests)``, where "functions not called" are those missing
    from the named test that calls the most of them. ``calls`` maps a test id to the index
    functions it called."""
    bad = []
    for num, e in sorted(index.items()):
        if e.kind != "implemented":
            continue
        want = set(e.functions)
        missing = [want - set(calls.get(t, ())) for t in e.tests]
        best = min(missing, key=len) if missing else want
        if best:
            bad.append((num, sorted(best), list(e.tests)))
    return bad


def link_counts(index, calls):
    """``(holding, total)`` over the (equation, function) links of the implemented entries: a
    link holds when some test named beside the equation calls the function."""
    total = holding = 0
    for e in index.values():
        if e.kind != "implemented":
            continue
        for f in e.functions:
            total += 1
            holding += any(f in calls.get(t, ()) for t in e.tests)
    return holding, total


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    """Run the named tests under the tracer; ``{test id: [index functions called]}``."""
    out = tmp_path_factory.mktemp("trace") / "calls.json"
    env = dict(os.environ, SAYEDCNN_TRACE_OUT=str(out))
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "tests"), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "equation_trace", "-p",
           "no:cacheprovider", *named_tests(equations.INDEX)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_named_test_ran(calls):
    """The tracer saw every test the index names (a renamed test would count as calling
    nothing)."""
    assert set(named_tests(equations.INDEX)) <= set(calls)


def test_every_implemented_equation_is_called_by_a_named_test(calls):
    """For each implemented equation one named test calls every named function."""
    bad = broken_links(equations.INDEX, calls)
    holding, total = link_counts(equations.INDEX, calls)
    assert not bad, f"{holding}/{total} links hold; broken:\n" + "\n".join(
        f"({num}) {funcs} not called by any one of {tests}" for num, funcs, tests in bad)
    assert holding == total


def test_a_wrong_link_fails(calls):
    """The check fails on deliberately wrong links: a function the named test never calls, and
    a test that calls none of the functions named beside it."""
    index = dict(equations.INDEX)
    e = index["47.1127"]  # h = vec(H): vec, unvec; its test builds no Sobel mask
    index["47.1127"] = replace(e, functions=(*e.functions, "sayedcnn.operators:sobel_masks"))
    g = index["47.1135"]  # the Gaussian mask, moved to a test that never builds one
    index["47.1135"] = replace(
        g, tests=("tests/test_chapter_equations.py::test_eq_47_1154_activations",))
    bad = {num: funcs for num, funcs, _ in broken_links(index, calls)}
    assert bad == {"47.1127": ["sayedcnn.operators:sobel_masks"],
                   "47.1135": ["sayedcnn.operators:gaussian_mask"]}
    holding, total = link_counts(index, calls)
    assert holding == total - 2


def test_the_tracer_records_calls_of_functions_classes_and_properties(tmp_path):
    """The plugin counts a function when its body runs, a class when one of its own methods
    runs, and a property when its getter runs; merely naming them does not count."""
    (tmp_path / "test_probe.py").write_text(
        "import sayedcnn as sc\n"
        "from sayedcnn import operators\n\n"
        "def test_calls():\n"
        "    sc.vec([[1.0, 2.0], [3.0, 4.0]])\n"
        "    sc.Pooling('max', in_shape=(2, 2), block=2).T\n\n"
        "def test_names_only():\n"
        "    assert callable(operators.unvec) and sc.Pooling.T is not None\n",
        encoding="utf-8")
    out = tmp_path / "calls.json"
    env = dict(os.environ, SAYEDCNN_TRACE_OUT=str(out))
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "tests"), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "equation_trace", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_probe.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    got = json.loads(out.read_text(encoding="utf-8"))
    called = set(got["test_probe.py::test_calls"])
    assert {"sayedcnn.operators:vec", "sayedcnn.pooling:Pooling.T"} <= called
    assert "sayedcnn.pooling:Pooling" in called
    named = set(got["test_probe.py::test_names_only"])
    assert "sayedcnn.operators:unvec" not in named and "sayedcnn.pooling:Pooling.T" not in named
