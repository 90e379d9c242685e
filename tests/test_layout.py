"""The package's shape shows the book: no import circle, arrows pointing down, literal listings.

Read from the source with ``ast`` (every import, at module level or inside a function), so a
deferred import counts as an arrow like any other.
"""

import ast
import pathlib

import pytest

import sayedcnn

PKG = pathlib.Path(sayedcnn.__file__).parent

#: The chapter's modules at the top level, in the order the arrows allow (each may import only
#: modules before it).
CORE = ["_checks", "symbols", "operators", "pooling", "activations", "losses", "params", "network",
        "forward", "training", "fused", "sgd"]
SUBPACKAGES = {"reference", "fidelity", "interop", "data", "app", "teaching"}


def _module_name(path):
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path):
    """Every sayedcnn module that ``path`` imports (absolute names)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "sayedcnn")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "sayedcnn":
                continue
            for a in node.names:  # "from . import x" imports the module x
                sub = f"{mod}.{a.name}"
                out.add(sub if (PKG.parent / (sub.replace(".", "/") + ".py")).exists()
                        or (PKG.parent / sub.replace(".", "/")).is_dir() else mod)
    return out


GRAPH = {_module_name(p): _imports(p) for p in PKG.rglob("*.py")}


def _find_cycle(graph):
    state, stack = {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if v == u or v not in graph:
                continue
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state:
            found = visit(u)
            if found:
                return found
    return None


def test_graph_reader_sees_deferred_imports_and_cycles():
    """The checker itself: a function-level import is an arrow, and a circle is found."""
    src = "def f():\n    from .training import gradients_listing\n"
    tree = ast.parse(src)
    assert any(isinstance(n, ast.ImportFrom) and n.module == "training" for n in ast.walk(tree))
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_among_sayedcnn_modules():
    """No module reaches itself through imports (the package face __init__ excepted: it
    imports everything it re-exports, and submodules import the package only through it)."""
    graph = {m: {v for v in deps if v != "sayedcnn"} for m, deps in GRAPH.items()
             if m != "sayedcnn"}
    assert _find_cycle(graph) is None, _find_cycle(graph)


@pytest.mark.parametrize("mod", CORE)
def test_core_arrows_point_down(mod):
    """A chapter module imports only the chapter modules before it in CORE, the comparison
    helper, and nothing from app, fidelity, interop, data or teaching."""
    allowed = {f"sayedcnn.{m}" for m in CORE[:CORE.index(mod)]} | {
        "sayedcnn.reference.compare", "sayedcnn.reference"}
    deps = GRAPH[f"sayedcnn.{mod}"]
    assert deps <= allowed, sorted(deps - allowed)


def test_top_level_holds_the_chapter_and_at_most_twelve_modules():
    """The book at the top level (at most 12 modules besides __init__/__main__); everything
    else in subpackages."""
    modules = sorted(p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert modules == sorted(CORE)
    assert len(modules) <= 12
    packages = {p.name for p in PKG.iterdir() if (p / "__init__.py").exists()}
    assert packages <= SUBPACKAGES


def test_reference_imports_nothing_it_checks():
    """The independent references read only the architecture: they import no operator,
    pooling, listing or engine module of the package."""
    checked = {"sayedcnn.operators", "sayedcnn.pooling", "sayedcnn.forward",
               "sayedcnn.training", "sayedcnn.fused", "sayedcnn.sgd"}
    for mod, deps in GRAPH.items():
        if mod.startswith("sayedcnn.reference"):
            assert not deps & checked, (mod, sorted(deps & checked))


@pytest.mark.parametrize("mod", ["fidelity", "interop"])
def test_fidelity_and_interop_do_not_import_app(mod):
    for name, deps in GRAPH.items():
        if name.startswith(f"sayedcnn.{mod}"):
            assert not any(d.startswith("sayedcnn.app") for d in deps), name


#: What the literal listings may not hold: the engine's devices.
ENGINE_STATE = ("threading", "concurrent", "ThreadPool", "__dict__", "setdefault(", "_SPLIT",
                "as_strided", "stride_tricks", "buffer(", "Engine", "plan", "cache", "_work",
                "fused", "os.environ", "sched_getaffinity", "global ")


@pytest.mark.parametrize("mod", ["forward", "training"])
def test_listings_hold_no_engine_state(mod):
    """forward.py and training.py hold no thread, scratch buffer, plan, cache or state kept on
    other objects; they import nothing of the engine."""
    code = _code_without_docstrings((PKG / f"{mod}.py").read_text())
    for word in ENGINE_STATE:
        assert word not in code, f"{mod}.py: {word!r}"
    assert "sayedcnn.fused" not in GRAPH[f"sayedcnn.{mod}"]


def _code_without_docstrings(src):
    """The code of ``src`` with comments and docstrings removed (they may name the engine)."""
    tree = ast.parse(src)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def test_listing_state_check_fails_on_a_cache():
    """The check above finds a cache kept on the network (the form the listing once had)."""
    bad = ('def f(net):\n    """No cache here."""\n'
           "    plans = net.__dict__.setdefault('_plans', {})\n    return plans\n")
    code = _code_without_docstrings(bad)
    assert any(word in code for word in ENGINE_STATE)


def test_derivative_steps_are_shared_by_both_listings():
    """(47.1263), (47.1264), (47.1271), (47.1274) are functions named after their quantity,
    called by gradients_listing and sgd_step_listing alike."""
    tree = ast.parse((PKG / "training.py").read_text())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    steps = {"dQ_dW_ff", "dQ_dtheta_ff", "dQ_dW_conv", "dQ_dTheta_conv"}
    assert steps <= set(funcs)
    for caller in ("gradients_listing", "sgd_step_listing"):
        called = {n.func.id for n in ast.walk(funcs[caller])
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert steps <= called, (caller, sorted(steps - called))
        assert "kron" not in ast.unparse(funcs[caller])  # no inline Kronecker forms


def test_V_ddc_body_reads_like_eq_47_1257():
    """V_ddc's body is the printed product: at most 15 lines of code."""
    tree = ast.parse((PKG / "operators.py").read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "V_ddc")
    body = fn.body[1:] if ast.get_docstring(fn) else fn.body
    lines = sum(len(ast.unparse(stmt).splitlines()) for stmt in body)
    assert lines <= 15


def test_public_names_stay_importable_from_the_face():
    for name in ("Network", "Conv", "Params", "Pooling", "partition_matrix", "sliding_partition",
                 "V_ddc", "vec", "unvec", "one_hot"):
        assert name in sayedcnn.__all__ and hasattr(sayedcnn, name)
