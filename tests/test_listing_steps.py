"""The listings' step functions compute the book's quantities exactly.

V^(d,d',c+1) of (47.1257) from its two w-free factors (built once per layer by the training
listing) equals the literal Kronecker form; the pure pooling steps of Tables 47.13-47.14 equal
the public, validating methods of Pooling.
"""

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import sayedcnn as sc
from sayedcnn import V_ddc, partition_matrix, sliding_partition
from sayedcnn import pooling as pl
from sayedcnn.operators import vddc_product
from sayedcnn.pooling import Pooling


@pytest.mark.parametrize("padding, stride", [("same", 1), ("valid", 1), ("valid", 2)])
def test_eq_47_1257_V_ddc_product_equals_literal(padding, stride):
    """V^(d,d',c+1) = (V_c^T (.) (1 1^T (x) w^T))(I (x) 1_S) (47.1257): the row-broadcast
    product equals the literal product with the full Kronecker factor, and both equal the
    identity V_c^T (I_P (x) w) (the Hadamard product scales column p S + s by w(s))."""
    part = sliding_partition((7, 6), (3, 2), stride=stride, padding=padding)
    rng = np.random.default_rng(1257)
    V_cT = part.V.T.tocsr()
    for _ in range(3):
        w = rng.standard_normal(part.S)
        got = vddc_product(V_cT, w, part.S)
        want = V_ddc(part.V, w, part.P, part.S, literal=True)
        assert isinstance(got, sp.csr_matrix)
        assert got.shape == (part.M, part.P)
        got.check_format(full_check=True)
        assert_allclose(got.toarray(), want.toarray(), rtol=1e-15, atol=0)
        identity = (part.V.T @ sp.kron(sp.identity(part.P), w.reshape(-1, 1))).toarray()
        assert_allclose(got.toarray(), identity, rtol=1e-15, atol=1e-300)
        assert_array_equal(V_ddc(part.V, w, part.P, part.S).toarray(), got.toarray())


def test_eq_47_1257_V_ddc_sums_repeated_entries():
    """With an index listed twice in one subvector, entry (p'', p) of (47.1257) is the sum
    over s of V_c(pS+s, p'') w(s); the product and literal forms agree."""
    V = partition_matrix([[0, 2, 0], [1, -1, 1], [2, 2, 2]], 3)  # P = 3, S = 3, M = 3
    w = np.array([0.5, -2.0, 3.0])
    want = np.array([[0.5 + 3.0, 0.0, 0.0],
                     [0.0, 0.5 + 3.0, 0.0],
                     [-2.0, 0.0, 0.5 - 2.0 + 3.0]])
    assert_allclose(V_ddc(V, w, 3, 3).toarray(), want, rtol=0, atol=1e-15)
    assert_allclose(V_ddc(V, w, 3, 3, literal=True).toarray(), want, rtol=0, atol=1e-15)
    sym = vddc_product(V.T.tocsr(), np.array([Fraction(1, 2), Fraction(-2), Fraction(3)],
                                             dtype=object), 3)
    assert sym.tolist() == [[Fraction(7, 2), 0, 0], [0, Fraction(7, 2), 0],
                            [Fraction(-2), 0, Fraction(3, 2)]]


def test_V_ddc_rejects_bad_input():
    """V_ddc validates at its boundary: sizes and finiteness of w (47.1257)."""
    part = sliding_partition((5, 5), 3)
    with pytest.raises(ValueError, match=r"w must have S_\(c\+1\) = 9 entries \(47\.1257\)"):
        V_ddc(part.V, np.ones(8), part.P, part.S)
    with pytest.raises(ValueError, match=r"w contains NaN.*47\.1257"):
        V_ddc(part.V, np.full(part.S, np.nan), part.P, part.S)


@pytest.mark.parametrize("kind", ["max", "mean", "l2", "subsample"])
def test_eq_47_1200_1204_pure_steps_match_public(kind):
    """permute#(upv(v)) = T^T col{v(p') g_p'} (47.1200), (47.1204): the pure steps give the
    public methods' values, and T^T of the public matrix."""
    pool = Pooling(kind, in_shape=(6, 4), block=2)
    rng = np.random.default_rng(1200)
    y = rng.standard_normal(pool.P)
    v = rng.standard_normal(pool.P_out)
    G = pl.gradient_matrix(pool, y)
    assert_array_equal(G, pool.gradient_matrix(y))
    up = pl.upv(pool, v, G)
    assert_array_equal(up, pool.upv(v, y))
    assert_array_equal(pl.permute_sharp(pool, up), pool.permute_sharp(up))
    assert_allclose(pl.permute_sharp(pool, up), pool.T.T @ up, rtol=1e-15, atol=0)
    assert_array_equal(pl.pool_map(pool, y), pool.pool(y))
    with pytest.raises(ValueError, match=r"v must have P' = 6 entries \(47\.1200\)"):
        pool.upv(np.ones(5), y)
    with pytest.raises(ValueError, match=r"y_o must have sum\|Omega\| = 24 rows \(47\.1204\)"):
        pool.permute_sharp(np.ones(23))


def test_pooling_steps_run_on_object_arrays():
    """The listings' pooling steps work for object arrays (exact rationals here), as the
    symbolic derivation needs: mean pooling and its upv/permute# give the exact values."""
    pool = Pooling("mean", in_shape=(2, 2), block=2)
    y = np.array([Fraction(1), Fraction(2), Fraction(3), Fraction(6)], dtype=object)
    assert pl.pool_map(pool, y)[0] == Fraction(3)
    back = pl.permute_sharp(pool, pl.upv(pool, np.array([Fraction(4)], dtype=object),
                                         pl.gradient_matrix(pool, y)))
    assert list(back) == [1, 1, 1, 1]


def test_eq_47_1216_1275_listings_run_on_symbols():
    """The forward listing (47.1216) and the sensitivities of (47.1275) run on an image of
    sympy symbols; substituting numbers gives the numeric listing's values (1e-12 relative)."""
    sympy = pytest.importorskip("sympy")
    import sayedcnn as sc
    from sayedcnn.forward import listing
    from sayedcnn.training import backward

    net = sc.Network((4, 4), conv=[sc.Conv(1, 2, pool=("mean", 2), activation="tanh"),
                                   sc.Conv(1, 2, pool=("subsample", 2), activation="sigmoid")],
                     outputs=2)
    p = net.init(seed=3, bias_scale=0.1)
    symbols = sympy.symbols("x0:16")
    xs = np.array(symbols, dtype=object).reshape(1, 4, 4)
    xv = np.random.default_rng(4).standard_normal((1, 4, 4))
    gamma = np.array([1.0, 0.0])
    res_s, res_v = listing(net, p, xs), listing(net, p, xv)
    sens_s, sens_v = backward(net, p, res_s, gamma), backward(net, p, res_v, gamma)

    def value(a):  # xs holds x_k where xv.ravel() holds entry k
        return np.array(sympy.lambdify(symbols, list(np.ravel(a)), "math")(*xv.ravel()))

    assert_allclose(value(res_s.output), res_v.output, rtol=1e-12, atol=0)
    assert_allclose(value(sens_s.delta_conv[1, 1]), sens_v.delta_conv[1, 1], rtol=1e-12,
                    atol=1e-15)


def test_eq_47_1262_a_map_that_feeds_no_map_has_zero_sensitivity():
    """With layer 2 reading only map 1 of layer 1 (47.1213), the sum over d' of (47.1262) is
    empty for map 2: delta^(2,1) = 0, and the listing's derivatives still equal the loops'."""
    from sayedcnn.reference import loops

    net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("max", 2)),
                                   sc.Conv(2, 2, connections=[[0], [0]])], outputs=2)
    p = net.init(3, bias_scale=0.3)
    x = np.random.default_rng(8).standard_normal((1, 4, 4))
    sens = net.backward(p, net.forward(p, x), np.array([1.0, 0.0]))
    assert np.array_equal(sens.delta_conv[2, 1], np.zeros(16))
    assert np.abs(sens.delta_conv[1, 1]).max() > 0
    X, G = x[None], np.array([[1.0, 0.0]])
    assert net.gradients(p, X, G, method="listing").max_rel_diff(
        loops.gradients(net, p, X, G)) <= 1e-12


def test_eq_47_1270_Delta_of_one_symbolic_map():
    """Delta_{n,c} = blockdiag{delta^(1,c)} for a layer of one map, in symbols (47.1270)."""
    sympy = pytest.importorskip("sympy")
    from sayedcnn.training import Delta_matrix

    d = np.array(sympy.symbols("d1:4"), dtype=object)
    D = Delta_matrix([d])
    assert D.shape == (3, 1) and list(D[:, 0]) == list(d)
