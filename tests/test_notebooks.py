"""The notebooks of ``notebooks/``: structure, freshness, and a fresh run of each.

Each notebook walks through one part of section 47.25 with the package. The tests check that
every notebook imports ``sayedcnn`` and does not re-implement it (no function definitions
except small ``show_*`` display helpers), that every code cell after the setup cell follows a
markdown cell citing the equation it computes, that the committed notebook was generated from
its current source (``python notebooks/build.py``), and that it runs top to bottom in a fresh
kernel of this interpreter within 60 seconds without an error or a failed check.
"""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("sympy")

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NAMES = [
    "01_correlation_masks",
    "02_partition_matrices",
    "03_feature_maps",
    "04_pooling",
    "05_forward_propagation",
    "06_backpropagation",
    "07_training",
    "08_other_derivations",
    "09_errata",
]
EQUATION = re.compile(r"\(47\.\d{4}[a-z]?\)")
MAX_BYTES = 300 * 1024
MAX_HELPER_LINES = 15


def _load_build():
    spec = importlib.util.spec_from_file_location("notebooks_build", NB_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


def _committed(name):
    return nbformat.read(str(NB_DIR / f"{name}.ipynb"), as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_nine_notebooks_have_sources():
    """One source ``src/NAME.py`` and one committed ``NAME.ipynb`` per part of the chapter."""
    assert [p.stem for p in build.source_paths()] == NAMES
    for name in NAMES:
        assert (NB_DIR / f"{name}.ipynb").is_file(), f"{name}.ipynb is not committed"


def test_parse_cells_splits_markdown_and_code():
    """The cell markers: ``# %% [markdown]`` starts a markdown cell whose ``# `` prefixes are
    stripped, ``# %%`` a code cell kept verbatim; text before the first marker is dropped."""
    text = "# header\n# %% [markdown]\n# # Title\n# (47.1133)\n\n# %%\nx = 1\n\n# %%\n\n"
    assert build.parse_cells(text) == [("markdown", "# Title\n(47.1133)"), ("code", "x = 1")]


def test_kernel_runs_this_interpreter():
    """The kernel that executes the notebooks is this interpreter, from notebooks/, whatever
    kernelspecs are installed elsewhere."""
    import sys

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import os, sys\nprint(sys.prefix)\n"
                                              "print(os.getcwd())"))
    build.execute(nb, timeout=build.TIMEOUT, cwd=NB_DIR)
    prefix, cwd = nb.cells[0].outputs[0].text.splitlines()
    assert prefix == sys.prefix  # the same environment (a venv's prefix is its own folder)
    assert Path(cwd).resolve() == NB_DIR


@pytest.mark.parametrize("name", NAMES)
def test_committed_outputs_are_fresh(name):
    """The committed notebook was built from the current source: the SHA-256 in its metadata
    is the source's, its cells are the source's cells, and every code cell has run."""
    nb = _committed(name)
    src = build.SRC_DIR / f"{name}.py"
    meta = nb.metadata.get(build.METADATA_KEY, {})
    assert meta.get("source_sha256") == build.source_hash(src), (
        f"{name}.ipynb is stale: run `python notebooks/build.py {name[:2]}`")
    expected = build.parse_cells(src.read_text(encoding="utf-8"))
    assert [(c.cell_type, c.source) for c in nb.cells] == expected
    for cell in _code_cells(nb):
        assert cell.execution_count is not None, f"{name}: a code cell was not executed"
        assert not [o for o in cell.outputs if o.output_type == "error"], f"{name}: error output"
    assert (NB_DIR / f"{name}.ipynb").stat().st_size < MAX_BYTES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_uses_the_package_and_cites_equations(name):
    """Imports sayedcnn; defines no function but short ``show_*`` display helpers and no
    class; every code cell after the first follows a markdown cell citing (47.xxxx)."""
    nb = _committed(name)
    code = _code_cells(nb)
    assert any(re.search(r"^\s*(import sayedcnn|from sayedcnn)", c.source, re.M) for c in code)
    for cell in code:
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, ast.ClassDef), f"{name}: class {node.name} in a cell"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.name.startswith("show_"), (
                    f"{name}: function {node.name} defined in a notebook; use the package")
                lines = node.end_lineno - node.lineno + 1
                assert lines <= MAX_HELPER_LINES, f"{name}: helper {node.name} has {lines} lines"
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or i == first_code:
            continue
        before = nb.cells[i - 1]
        assert before.cell_type == "markdown" and EQUATION.search(before.source), (
            f"{name}: code cell {i} is not preceded by a markdown cell citing (47.xxxx)")


def _failed_checks(nb):
    """Printed checks that came out False, and seed or erratum records reported as failing."""
    bad = []
    for cell in _code_cells(nb):
        for out in cell.outputs:
            if out.output_type == "stream" and re.search(r"\bFalse\b|\[FAIL\]", out.text):
                bad.append(out.text)
            data = out.get("data", {})
            if "NOT SHOWN" in data.get("text/markdown", ""):
                bad.append(data["text/markdown"])
    return bad


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_a_fresh_kernel(name):
    """Top to bottom in a fresh kernel (this interpreter, working directory notebooks/), in
    under 60 seconds, with no cell error and every printed check True."""
    nb = _committed(name)
    seconds = build.execute(nb, timeout=build.TIMEOUT, cwd=NB_DIR)
    assert seconds < build.TIMEOUT
    assert _failed_checks(nb) == []
