r"""Sphinx configuration of the sayedcnn site.

Build (from the repository root, with the ``docs`` extra installed)::

    python -m sphinx -W -b html docs docs/_build/html

Before reading the sources this file writes ``docs/generated/`` (never edited by hand): the
API pages of the modules, the equation index and the errata register rendered from
:mod:`sayedcnn.fidelity` itself, one page per test file that the index cites, and a copy of
the committed notebooks, which myst-nb renders from their stored outputs (nothing is
executed here). MathJax is served from the built site (``_static/mathjax``), copied from the
``sphinx-mathjax-offline`` package: no page loads a script from the network.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
GEN = DOCS / "generated"
sys.path.insert(0, str(ROOT))

from sphinx.util import logging  # noqa: E402

import sayedcnn  # noqa: E402

_LOG = logging.getLogger(__name__)

project = "sayedcnn"
author = "sayedcnn contributors"
copyright = "sayedcnn contributors; equations from A. H. Sayed, Inference and Learning from Data"
release = version = sayedcnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

# -- MathJax from the built site --------------------------------------------------------------
_MATHJAX_SPEC = importlib.util.find_spec("sphinx-mathjax-offline")
if _MATHJAX_SPEC is None or not _MATHJAX_SPEC.submodule_search_locations:
    raise RuntimeError("the docs need the sphinx-mathjax-offline package: pip install '.[docs]'")
MATHJAX_DIR = Path(list(_MATHJAX_SPEC.submodule_search_locations)[0]) / "static" / "mathjax"
mathjax_path = "mathjax/tex-chtml.js"
html_static_path = ["_static"]
html_css_files = ["sayedcnn.css"]

# -- sources -----------------------------------------------------------------------------------
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
root_doc = "index"
nb_execution_mode = "off"  # the notebooks are rendered from their committed outputs
nb_merge_streams = True
nb_render_markdown_format = "myst"  # markdown outputs (notebook 9's register) keep their math
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # notebooks start at '#', sub-sections may skip levels

# -- API ---------------------------------------------------------------------------------------
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False,
                           "ignore-module-all": True, "member-order": "bysource"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
if importlib.util.find_spec("torch") is None:  # the bridge's module needs torch to import
    autodoc_mock_imports = ["torch"]

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "sayedcnn"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # the notebooks keep the whole width for their equations and figures
    "secondary_sidebar_items": {"*": ["page-toc"], "generated/*": ["page-toc"],
                                "generated/api/*": ["page-toc"],
                                "generated/tests/*": ["page-toc"],
                                "generated/notebooks/*": []},
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False

# The pages of the API reference: (page, modules documented on it, the first being the
# page's title). Every module must import: one that does not is a build warning (an error
# with -W).
API_MODULES = [
    ("operators", ["sayedcnn.operators"]),
    ("pooling", ["sayedcnn.pooling"]),
    ("activations", ["sayedcnn.activations"]),
    ("losses", ["sayedcnn.losses"]),
    ("params", ["sayedcnn.params"]),
    ("network", ["sayedcnn.network"]),
    ("forward", ["sayedcnn.forward"]),
    ("training", ["sayedcnn.training"]),
    ("fused", ["sayedcnn.fused"]),
    ("sgd", ["sayedcnn.sgd"]),
    ("reference", ["sayedcnn.reference"] + [f"sayedcnn.reference.{m}" for m in
                                             ("loops", "image", "finite_diff", "compare")]),
    ("fidelity", [f"sayedcnn.fidelity.{m}" for m in
                  ("errata", "equations", "examples", "book_examples", "symbolic", "seeds",
                   "seeds.s000", "seeds.s001", "seeds.s002", "seeds.s004")]),
    ("interop", ["sayedcnn.interop"] + [f"sayedcnn.interop.{m}" for m in
                                         ("io", "golden", "torch")]),
    ("data", ["sayedcnn.data.datasets"]),
    ("app", [f"sayedcnn.app.{m}" for m in ("plots", "progress", "checkpoint")]),
]
if importlib.util.find_spec("sayedcnn.teaching") is not None:  # teaching tools, if present
    API_MODULES.append(("teaching", ["sayedcnn.teaching"] + [
        f"sayedcnn.teaching.{p.stem}" for p in sorted((ROOT / "sayedcnn" / "teaching").glob(
            "[a-z]*.py"))]))


def _api_modules():
    """The pages of API_MODULES with the modules that exist; a missing one is warned of."""
    have = []
    for title, mods in API_MODULES:
        there = []
        for mod in mods:
            try:
                found = importlib.util.find_spec(mod) is not None
            except ImportError:
                found = False
            if found:
                there.append(mod)
            else:
                _LOG.warning("the API reference lists %s, which is not in the package", mod)
        if there:
            have.append((title, there))
    return have


def _heading(text, ch="="):
    return f"{text}\n{ch * len(text)}\n"


def _first_line(obj):
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _documented_modules():
    return {mod for _, mods in _api_modules() for mod in mods}


def _target(obj):
    """``module.qualname`` under which autodoc describes ``obj`` (its defining module)."""
    if isinstance(obj, property):
        obj = obj.fget
    return f"{obj.__module__}.{obj.__qualname__}"


def write_api():
    have = _api_modules()
    out = GEN / "api"
    lines = [_heading("API reference"),
             "Generated from the docstrings. Each function names the equation it implements; "
             "the :doc:`equation index <../equations>` goes the other way, from a number to "
             "its functions and tests.", "",
             ".. currentmodule:: sayedcnn", "",
             _heading("The public face: ``import sayedcnn as sc``", "-"),
             "These names are importable from the package itself; each links to its entry in "
             "the module that defines it.", "",
             ".. list-table::", "   :widths: 30 70", ""]
    documented = _documented_modules()
    for name in sayedcnn.__all__:
        obj = getattr(sayedcnn, name)
        mod = getattr(obj, "__module__", "")
        if mod in documented:
            ref = f":py:obj:`sc.{name} <{_target(obj)}>`"
        else:
            _LOG.warning("sayedcnn.%s is defined in %s, which has no API page", name, mod)
            ref = f"``sc.{name}``"
        lines += [f"   * - {ref}", f"     - {_first_line(obj) or ' '}"]
    lines += ["", _heading("Modules", "-"), ".. toctree::", "   :maxdepth: 1", ""]
    lines += [f"   {title}" for title, _ in have]
    _write(out / "index.rst", "\n".join(lines) + "\n")
    keep = {"index.rst"}
    for title, mods in have:
        keep.add(f"{title}.rst")
        text = []
        for k, mod in enumerate(mods):
            text += [_heading(f"``{mod}``", "=" if k == 0 else "-"), f".. automodule:: {mod}",
                     ""]
        _write(out / f"{title}.rst", "\n".join(text))
    _prune(out, keep)


def _prune(folder, keep):
    """Remove generated pages of a previous build that this build did not write."""
    for old in folder.glob("*.rst"):
        if old.name not in keep:
            old.unlink()


# -- the equation index and the errata, from sayedcnn itself ------------------------------------

def _test_ref(test):
    path, _, name = test.partition("::")
    return f":py:func:`{name} <tests.{Path(path).stem}.{name}>`", Path(path).stem


def write_tests(tests):
    """One page per cited test file: each cited test with its docstring and its source."""
    files = {}
    for t in tests:
        path, _, name = t.partition("::")
        files.setdefault(path, set()).add(name)
    pages = []
    for path, names in sorted(files.items()):
        src = ROOT / path
        tree = ast.parse(src.read_text(encoding="utf-8"))
        stem = Path(path).stem
        text = [_heading(f"``{path}``"), f".. py:module:: tests.{stem}", "",
                "Tests of this file that the equation index cites, with their source.", ""]
        found = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in names:
                found.add(node.name)
                doc = ast.get_docstring(node) or ""
                text += [f".. py:function:: {node.name}()", "   :module: tests." + stem, ""]
                for para in doc.splitlines():
                    text.append(("   " + para).rstrip())
                text += ["", f"   .. literalinclude:: /../{path}", f"      :pyobject: {node.name}",
                         "      :language: python", ""]
        lost = names - found
        if lost:
            raise RuntimeError(f"the equation index cites tests not in {path}: {sorted(lost)}")
        _write(GEN / "tests" / f"{stem}.rst", "\n".join(text))
        pages.append(stem)
    _prune(GEN / "tests", {f"{p}.rst" for p in pages} | {"index.rst"})
    _write(GEN / "tests" / "index.rst",
           "\n".join([_heading("Tests cited by the equation index"), ".. toctree::",
                      "   :maxdepth: 1", ""] + [f"   {p}" for p in pages]) + "\n")


def _rst_escape(s):
    return re.sub(r"([\\*`|_])", r"\\\1", s)


def write_equations():
    from sayedcnn.fidelity import equations

    documented = _documented_modules()
    tests = set()
    rows = []
    n_linked = 0
    for num in sorted(equations.INDEX):
        e = equations.INDEX[num]
        funcs = []
        for f in e.functions:
            try:
                obj = equations.resolve(f)
            except (ImportError, AttributeError) as exc:
                _LOG.warning("the equation index names %s for (%s), which does not import: %s",
                             f, num, exc)
                funcs.append(f"``{f}`` (not found)")
                continue
            target = _target(obj)
            module = (obj.fget if isinstance(obj, property) else obj).__module__
            if module in documented:
                funcs.append(f":py:obj:`{target.replace('sayedcnn.', '')} <{target}>`")
                n_linked += 1
            else:
                _LOG.warning("the equation index names %s for (%s), whose module %s has no "
                             "API page", f, num, module)
                funcs.append(f"``{target}``")
        refs = []
        for t in e.tests:
            tests.add(t)
            refs.append(_test_ref(t)[0])
        if e.kind == "definition/prose":
            refs = [f"*{_rst_escape(e.reason)}*"]
        errata = [f":ref:`{x} <erratum-{x}>`" for x in e.errata]
        rows.append((f"(47.{num[3:]})", num, e.title, e.kind, funcs, refs, errata))
    counts = {k: sum(e.kind == k for e in equations.INDEX.values()) for k in equations.KINDS}
    text = [".. _equation-index:", "", _heading("Equation index"),
            "Generated at build time from :mod:`sayedcnn.fidelity.equations` (the same data as "
            "``python -m sayedcnn errata --write-equations EQUATIONS.md``). "
            f"{len(equations.INDEX)} numbers, {counts['implemented']} implemented, "
            f"{counts['checked']} checked by tests only, {counts['definition/prose']} "
            "definitions or prose. Each function links to its API entry, each test to its "
            "source, each erratum to the :doc:`register <errata>`.", "",
            ".. list-table::", "   :header-rows: 1", "   :widths: 10 30 10 25 25 10", "",
            "   * - eq.", "     - what", "     - kind", "     - functions", "     - tests",
            "     - errata"]
    for label, num, title, kind, funcs, refs, errata in rows:
        text += [f"   * - .. _eq-{num.replace('.', '-')}:", "", f"       {label}",
                 f"     - {_rst_escape(title)}", f"     - {kind}",
                 "     - " + (" |br| ".join(funcs) if funcs else " "),
                 "     - " + (" |br| ".join(refs) if refs else " "),
                 "     - " + (", ".join(errata) if errata else " ")]
    text += ["", ".. |br| raw:: html", "", "   <br/>", "", ".. toctree::", "   :hidden:", "",
             "   tests/index", ""]
    _write(GEN / "equations.rst", "\n".join(text))
    write_tests(tests)
    return n_linked


def write_errata():
    """The register by its own markdown writer, with the numbers of every demonstration,
    each entry given a label ``erratum-<id>`` for the equation index to link to."""
    from sayedcnn.fidelity import errata as reg

    text = reg.render(reg.check_all())
    text = re.sub(r"^## (E-\S+) ", lambda m: f"(erratum-{m.group(1)})=\n## {m.group(1)} ",
                  text, flags=re.M)
    text = text.replace("Generated by `python -m sayedcnn errata --write ERRATA.md` from "
                        "`sayedcnn/errata.py`; do not edit by hand.",
                        "Generated at build time from `sayedcnn.fidelity.errata`, as by "
                        "`python -m sayedcnn errata --write ERRATA.md`.")
    _write(GEN / "errata.md", text)


def copy_notebooks():
    """Copy the committed notebooks (with their outputs) for myst-nb to render."""
    dest = GEN / "notebooks"
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        target = dest / nb.name
        if not target.exists() or target.read_bytes() != nb.read_bytes():
            shutil.copyfile(nb, target)
        names.append(nb.stem)
    for old in dest.glob("*.ipynb"):
        if old.stem not in names:
            old.unlink()
    lines = [_heading("The chapter step by step"),
             "Each notebook walks through one part of section 47.25 with the package, "
             "rendered here from the outputs committed in ``notebooks/`` (regenerate them with "
             "``python notebooks/build.py``). Every number is computed by ``sayedcnn``; each "
             "numbered equation is displayed above the code that computes it.", "",
             ".. toctree::", "   :maxdepth: 1", ""] + [f"   notebooks/{n}" for n in names]
    _write(GEN / "chapter.rst", "\n".join(lines) + "\n")


#: The pages of docs/ that index.md lists itself; any other page written there is listed
#: by ``generated/further`` so that it is never left out of the navigation.
LISTED = {"index", "getting_started", "conventions", "golden", "benchmarks", "seeds", "teaching"}


def write_further():
    others = sorted(p.stem for p in DOCS.glob("*.md") if p.stem not in LISTED
                    and p.name != "README.md")
    lines = [_heading("Further notes"),
             "Other pages of this site: how the package is tested and developed."
             if others else "No further pages.", ""]
    if others:
        lines += [".. toctree::", "   :maxdepth: 1", ""] + [f"   ../{o}" for o in others]
    _write(GEN / "further.rst", "\n".join(lines) + "\n")


def write_seed_notes():
    """The table of the seed notes, from :data:`sayedcnn.fidelity.seeds.SEED_NOTES`
    (included by seeds.md; ``.inc`` so that it is not a page of its own)."""
    from sayedcnn.fidelity.seeds import SEED_NOTES

    lines = ["| note | what it is | module |", "| --- | --- | --- |"]
    for key, note in SEED_NOTES.items():
        text = note.sentence.replace("|", "\\|")
        lines.append(f"| {key[4:]} | {text[0].upper() + text[1:]} | {{py:mod}}`{note.module}` |")
    _write(GEN / "seed_notes.inc", "\n".join(lines) + "\n")


def generate():
    write_seed_notes()
    write_further()
    write_api()
    write_equations()
    write_errata()
    copy_notebooks()


def _copy_mathjax(app, exc):
    if exc is None and app.builder.format == "html":
        dest = Path(app.outdir) / "_static" / "mathjax"
        if not (dest / "tex-chtml.js").exists():
            shutil.copytree(MATHJAX_DIR, dest, dirs_exist_ok=True)


def _keep_tags(app, doctree):
    """Display math that carries its book number (``\\tag{47.xxxx}``) is given to MathJax as
    written: Sphinx would otherwise wrap a multi-line equation in ``split``, where a tag is
    not allowed."""
    from docutils import nodes

    for node in doctree.findall(nodes.math_block):
        text = node.astext()
        if "\\tag{" in text and not node.get("nowrap", node.get("no-wrap", False)):
            node.children = [nodes.Text(f"\\[{text}\\]")]
            node["nowrap"] = True


def setup(app):
    app.connect("builder-inited", lambda app: generate())
    app.connect("doctree-read", _keep_tags)
    app.connect("build-finished", _copy_mathjax)
