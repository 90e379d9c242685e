"""The notebooks of ``notebooks/``: structure, freshness, and a fresh run of each.

Each notebook walks through one part of section 47.25 with the package. The tests check that
every notebook imports ``sayedcnn`` and does not re-implement it (no function definitions
except small ``show_*`` display helpers), that every code cell after the setup cell follows a
markdown cell citing the equation it computes, that each equation a code cell computes (the
``# (47.xxxx)`` comments on its lines) is displayed as ``$$ ... \\tag{47.xxxx} $$`` in the
markdown cell just above it, that figures are drawn at 110 dpi or more, that the committed
notebook was generated from its current source by jupytext (``python notebooks/build.py``),
and that it runs top to bottom in a fresh kernel of this interpreter within 60 seconds
without an error or a failed check.

The tests need jupytext, nbclient, ipykernel, matplotlib and sympy, all in the ``test``
extra. Outside CI a missing one skips the module with its name; in CI (``CI=true``) it fails.
"""

import ast
import base64
import importlib.util
import io
import os
import re
import tokenize
from pathlib import Path

import pytest

_NEEDS = ("jupytext", "nbclient", "nbformat", "ipykernel", "matplotlib", "sympy")
_MISSING = [m for m in _NEEDS if importlib.util.find_spec(m) is None]
if _MISSING:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise ImportError(f"the notebook tests need {', '.join(_MISSING)} (the test extra)")
    pytest.skip(f"the notebook tests need {', '.join(_MISSING)}: pip install '.[test]'",
                allow_module_level=True)

import nbformat  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
CHAPTER = [
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
NAMES = sorted(p.stem for p in (NB_DIR / "src").glob("[0-9][0-9]_*.py"))
EQUATION = re.compile(r"\(47\.\d{4}[a-z]?\)")
MAX_BYTES = 400 * 1024  # figures at 110 dpi or more
MAX_HELPER_LINES = 15
MIN_DPI = 110


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


def test_every_part_of_the_chapter_has_a_notebook():
    """One source ``src/NAME.py`` and one committed ``NAME.ipynb`` per part of the chapter
    (and per further notebook in ``src/``)."""
    assert [p.stem for p in build.source_paths()] == NAMES
    assert set(CHAPTER) <= set(NAMES)
    for name in NAMES:
        assert (NB_DIR / f"{name}.ipynb").is_file(), f"{name}.ipynb is not committed"


def test_sources_are_read_by_jupytext(tmp_path):
    """The percent format: ``# %% [markdown]`` starts a markdown cell whose ``# `` prefixes
    are stripped, ``# %%`` a code cell kept verbatim; the YAML header is metadata."""
    src = tmp_path / "00_x.py"
    src.write_text("# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Python 3\n#     language: python\n#     name: python3\n# ---\n\n"
                   "# %% [markdown]\n# # Title\n#\n# $$\n# a = b \\tag{47.1133}\n# $$\n\n"
                   "# %%\nx = 1  # (47.1133)\n", encoding="utf-8")
    assert build.cells(src) == [("markdown", "# Title\n\n$$\na = b \\tag{47.1133}\n$$"),
                                ("code", "x = 1  # (47.1133)")]
    nb = build.to_notebook(src)
    assert nb.metadata["sayedcnn"]["source_sha256"] == build.source_hash(src)
    assert [c["id"] for c in nb.cells] == ["00-000", "00-001"]


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
    expected = build.cells(src)
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


_TAG = re.compile(r"\\tag\{47\.(\d{4})[a-z]?\}")
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_COMMENT_EQ = re.compile(r"47\.(\d{4})")


def _computed(code):
    """Equation numbers in the comments of a code cell: what its lines compute."""
    nums = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.COMMENT:
                nums.update(_COMMENT_EQ.findall(tok.string))
    except (tokenize.TokenError, IndentationError):
        pass
    return nums


def _displayed(markdown):
    """Equation numbers tagged in the displayed equations ``$$ ... $$`` of a markdown cell."""
    return {n for block in _DISPLAY.findall(markdown) for n in _TAG.findall(block)}


@pytest.mark.parametrize("name", NAMES)
def test_equations_are_displayed_above_the_code_computing_them(name):
    """Each equation a code cell computes (a ``# (47.xxxx)`` comment on one of its lines)
    is a displayed equation ``$$ ... \\tag{47.xxxx} $$`` of the markdown cell just above."""
    nb = _committed(name)
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or i == 0:
            continue
        above = nb.cells[i - 1]
        shown = _displayed(above.source) if above.cell_type == "markdown" else set()
        lost = sorted(_computed(cell.source) - shown)
        if lost:
            missing.append(f"cell {i}: " + ", ".join(f"(47.{n})" for n in lost))
    assert missing == [], f"{name}: equations computed but not displayed above:\n" + (
        "\n".join(missing))


def _png_dpi(data):
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
        return im.info.get("dpi", (None,))[0], im.size


@pytest.mark.parametrize("name", NAMES)
def test_figures_are_drawn_at_110_dpi_or_more(name):
    """Every figure of the notebook is a PNG of 110 dpi or more."""
    nb = _committed(name)
    low = []
    for i, cell in enumerate(_code_cells(nb)):
        for out in cell.outputs:
            data = out.get("data", {}).get("image/png")
            if data:
                dpi, size = _png_dpi(data)
                if dpi is None or dpi < MIN_DPI - 0.5:
                    low.append(f"code cell {i}: {dpi} dpi, {size}")
    assert low == []
