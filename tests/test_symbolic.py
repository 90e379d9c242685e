"""Symbolic reproduction (sayedcnn.fidelity.symbolic, optional sympy): (47.1251)/(47.1256) with w1, w2
as symbols, (47.1240)/(47.1259) with symbolic sensitivities, entry by entry."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

sympy = pytest.importorskip("sympy")

from sayedcnn.fidelity import symbolic  # noqa: E402
from sayedcnn.fidelity.book_examples import PRINTED_1259_DT  # noqa: E402
from sayedcnn.fidelity.errata import demo_network  # noqa: E402
from sayedcnn.operators import V_ddc  # noqa: E402


def zero(M):
    return all(sympy.expand(e) == 0 for e in M)


def test_eq_47_1256_symbolic():
    """(V_c^T (.) (1_6 1_4^T (x) [w1 w2])) (I_4 (x) 1_2) is the printed 6 x 4 matrix of
    (47.1256), entry by entry, with w1, w2 symbols."""
    printed, computed = symbolic.example_1256()
    assert computed.shape == (6, 4)
    assert zero(printed - computed)
    w1, w2 = sympy.symbols("w1 w2")
    assert computed[0, 0] == w1 and computed[2, 0] == w2 and computed[1, 1] == w2


def test_eq_47_1251_symbolic():
    """b = V^(d,d',c+1) delta equals the printed matrix times delta (47.1251), (47.1258)."""
    printed, computed = symbolic.example_1251()
    assert computed.shape == (6, 1)
    assert zero(printed - computed)
    d1, d3 = sympy.symbols("delta1 delta3")
    w1, w2 = sympy.symbols("w1 w2")
    assert sympy.expand(computed[0] - (w1 * d1 + w2 * d3)) == 0


def test_eq_47_1240_symbolic():
    """f'(z) (.) permute#(upv((W_1^(d))^T delta_2)) (47.1245) equals the printed rows of
    (47.1240), with symbolic delta_2, W_1^(d), f' and gradients."""
    printed, computed = symbolic.example_1240()
    assert computed.shape == (12, 1)
    assert zero(printed - computed)
    assert len(computed.free_symbols) == 12 + 2 + 6 + 12  # f', delta_2, W_1^(d), dt/dy


def test_eq_47_1259_symbolic():
    """The printed b-column of (47.1259) differs from permute#(upv(b)) (47.1260) in rows 4-12
    (erratum E-1259); with the b-indices of the dt column the rows agree."""
    printed, computed = symbolic.example_1259()
    diff = [sympy.expand(a - b) != 0 for a, b in zip(printed, computed)]
    assert diff == [False] * 3 + [True] * 9
    fixed, computed2 = symbolic.example_1259(PRINTED_1259_DT)
    assert zero(fixed - computed2)


def test_eq_47_1257_symbolic_matches_numeric_with_unequal_S():
    """Substituting numbers in the symbolic (47.1257) gives V_ddc, also when S_c != S_{c+1}."""
    net = demo_network()
    l1, l2 = net.layers
    ws = sympy.symbols(f"w1:{l2.S + 1}")
    Vs = symbolic.V_ddc_symbolic(l2.partition.V, list(ws), l2.P, l2.S)
    vals = np.random.default_rng(3).standard_normal(l2.S)
    num = np.array(Vs.subs(dict(zip(ws, vals))).tolist(), dtype=float)
    assert num.shape == (l1.P_out, l2.P)
    assert_allclose(num, V_ddc(l2.partition.V, vals, l2.P, l2.S).toarray(), rtol=1e-14)
    with pytest.raises(ValueError, match="47.1257"):
        symbolic.V_ddc_symbolic(l2.partition.V, list(ws), l2.P, l1.S)


def test_symbolic_examples_are_ok():
    """The symbolic examples agree with the print except (47.1259), which carries E-1259."""
    exs = symbolic.symbolic_examples()
    assert {e.key for e in exs} == {"47.1240", "47.1251", "47.1256", "47.1259"}
    for e in exs:
        assert e.ok
        assert e.agrees == (e.erratum is None)
