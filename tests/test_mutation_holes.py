"""Checks that close the holes mutation testing found in the core (docs/testing.md).

Each test here fails for a specific wrong version of the code that every other test let
through:

* ``edge_magnitude`` computing a convolution instead of a correlation (47.1133), invisible
  with Sobel and Prewitt masks, whose flip only changes their sign;
* the engine back-propagating through :math:`W_c` without the connection-table mask (47.1213),
  invisible while the entries outside the table are zero (parameters from a file or
  ``from_vector`` need not be);
* block pooling backward leaving garbage in the rows or columns of a map that no block
  covers (47.1244);
* wrong defaults of ``gradients_fused`` and the other entry points (rho = 0, (47.1229));
* the engine's cache of scatter matrices (47.1258) after more than four batch sizes;
* the losses of (47.1229)/(47.1233) and seed 001, ``fit``, and the validation branches of
  ``Pooling.__init__`` and ``Network.__init__``.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sayedcnn as sc
from sayedcnn import fused
from sayedcnn.activations import get_activation
from sayedcnn.fused import Engine, gradients_fused
from sayedcnn.losses import LOSSES, get_loss, one_hot, risk_weights
from sayedcnn.reference import loops
from sayedcnn.reference.finite_diff import numerical_gradient
from sayedcnn.training import gradients_listing

# ---------------------------------------------------------------------------
# edge_magnitude: a correlation (47.1133), checked against loops with masks whose flip is
# not just a change of sign
# ---------------------------------------------------------------------------


def _correlate_same_loops(image, mask):
    """F(r, c) = sum_{k,l} I(r + k - a, c + l - b) W(k, l), zero outside the image, the
    mask centred on (r, c) by a = (K_r - 1) // 2, b = (K_c - 1) // 2 (47.1133)."""
    rows, cols = image.shape
    Kr, Kc = mask.shape
    a, b = (Kr - 1) // 2, (Kc - 1) // 2
    F = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            s = 0.0
            for k in range(Kr):
                for l in range(Kc):
                    i, j = r + k - a, c + l - b
                    if 0 <= i < rows and 0 <= j < cols:
                        s += image[i, j] * mask[k, l]
            F[r, c] = s
    return F


def _lopsided_masks(rng):
    """Two 3 x 3 masks that are neither symmetric nor antisymmetric under the 180-degree
    flip, so that a convolution gives other magnitudes than the correlation."""
    Wx = rng.standard_normal((3, 3))
    Wy = rng.standard_normal((3, 3))
    Wx[0, 0], Wy[2, 1] = 3.0, -2.5
    for W in (Wx, Wy):
        Wf = np.rot90(W, 2)
        assert np.max(np.abs(W - Wf)) > 0.1 and np.max(np.abs(W + Wf)) > 0.1
    return Wx, Wy


@pytest.mark.parametrize("shape", [(5, 6), (7, 4)])
def test_eq_47_1141_edge_magnitude_with_lopsided_masks_against_loops(shape):
    """sqrt(F_x^2 + F_y^2) (47.1141)-(47.1142) with F the correlation (47.1133) by loops."""
    rng = np.random.default_rng(1141)
    image = rng.standard_normal(shape)
    Wx, Wy = _lopsided_masks(rng)
    want = np.sqrt(_correlate_same_loops(image, Wx) ** 2 + _correlate_same_loops(image, Wy) ** 2)
    got = sc.edge_magnitude(image, (Wx, Wy))
    assert got.shape == shape
    assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    # the masks as one 2 x 3 x 3 array, and as a list
    assert_allclose(sc.edge_magnitude(image, np.stack([Wx, Wy])), want, rtol=1e-13, atol=1e-13)
    assert_allclose(sc.edge_magnitude(image, [Wx, Wy]), want, rtol=1e-13, atol=1e-13)
    # the masks are used in their order: (W_y, W_x) is the same magnitude, (W_x, W_x) is not
    assert_allclose(sc.edge_magnitude(image, (Wy, Wx)), want, rtol=1e-13, atol=1e-13)
    twice_x = np.sqrt(2.0) * np.abs(_correlate_same_loops(image, Wx))
    assert_allclose(sc.edge_magnitude(image, (Wx, Wx)), twice_x, rtol=1e-13, atol=1e-13)
    # a convolution would flip the masks: the test above tells them apart
    conv = np.sqrt(_correlate_same_loops(image, np.rot90(Wx, 2)) ** 2
                   + _correlate_same_loops(image, np.rot90(Wy, 2)) ** 2)
    assert np.max(np.abs(conv - want)) > 1e-2


def test_eq_47_1133_correlate_with_lopsided_mask_against_loops():
    """correlate (47.1133) is the correlation, and convolve its flip, by loops."""
    rng = np.random.default_rng(1133)
    image = rng.standard_normal((6, 5))
    W, _ = _lopsided_masks(rng)
    assert_allclose(sc.correlate(image, W), _correlate_same_loops(image, W),
                    rtol=1e-13, atol=1e-13)
    assert_allclose(sc.convolve(image, W), _correlate_same_loops(image, np.rot90(W, 2)),
                    rtol=1e-13, atol=1e-13)


def test_eq_47_1142_edge_magnitude_default_masks_are_sobel():
    """Without masks, the Sobel pair (47.1140a); the Prewitt pair gives other numbers."""
    rng = np.random.default_rng(1142)
    image = rng.standard_normal((6, 6))
    Sx, Sy = sc.sobel_masks()
    want = np.sqrt(_correlate_same_loops(image, Sx) ** 2 + _correlate_same_loops(image, Sy) ** 2)
    assert_allclose(sc.edge_magnitude(image), want, rtol=1e-13, atol=1e-13)
    assert np.max(np.abs(sc.edge_magnitude(image, sc.prewitt_masks()) - want)) > 1e-2


@pytest.mark.parametrize("masks", [np.ones((3, 3)), (np.ones((3, 3)),), "sobel",
                                   np.ones((3, 3, 3))])
def test_edge_magnitude_rejects_masks_that_are_not_a_pair(masks):
    with pytest.raises(ValueError, match=r"^masks must be a pair \(W_x, W_y\) of 2-D masks "
                                         r"\(47\.1141\), got "):
        sc.edge_magnitude(np.zeros((4, 4)), masks=masks)


# ---------------------------------------------------------------------------
# Connection tables (47.1213) at a layer c >= 2 with nonzero entries outside the table
# ---------------------------------------------------------------------------


def _table_net():
    return sc.Network((6, 6), input_depth=2,
                      conv=[sc.Conv(3, 3, activation="tanh", pool=("max", 2),
                                    connections=[[0], [1], [0, 1]]),
                            sc.Conv(2, 2, padding="valid", activation="sigmoid",
                                    connections=[[0, 2], [1]])],
                      hidden=[3], outputs=2)


def _outside_filled(net, seed):
    """Parameters whose every entry, inside the tables or not, is random and nonzero (as
    from_vector or a parameter file may give them)."""
    rng = np.random.default_rng(seed)
    shape = net.init(seed=0)
    p = shape.from_vector(rng.uniform(0.2, 0.8, shape.to_vector().size)
                          * rng.choice([-1.0, 1.0], shape.to_vector().size))
    for ly in net.layers:
        assert np.all(p.W_conv[ly.c][~ly.W_mask] != 0)
        assert np.all(p.Theta_conv[ly.c][~ly.conn] != 0)
    return p


def _inside_only(net, p):
    q = p.copy()
    for ly in net.layers:
        q.W_conv[ly.c] = q.W_conv[ly.c] * ly.W_mask
        q.Theta_conv[ly.c] = q.Theta_conv[ly.c] * ly.conn
    return q


def test_eq_47_1213_entries_outside_the_table_change_nothing():
    """listing = engine = loops = finite differences, with every entry outside the tables of
    layers 1 and 2 random: the outside entries reach neither z nor any gradient."""
    net = _table_net()
    assert not net.layers[1].conn.all() and net.layers[1].c == 2
    p = _outside_filled(net, 1213)
    q = _inside_only(net, p)
    rng = np.random.default_rng(12130)
    X = rng.standard_normal((3, 2, 6, 6))
    Gamma = rng.standard_normal((3, 2))
    # forward: the outside entries reach no z (47.1213)
    for method in ("listing", "fused"):
        out_p = np.vstack([np.atleast_2d(net.forward(p, x, method=method).output) for x in X])
        out_q = np.vstack([np.atleast_2d(net.forward(q, x, method=method).output) for x in X])
        assert sc.reference.compare.rel_diff(out_p, out_q) <= 1e-14
    g_listing = gradients_listing(net, p, X, Gamma, 0.0, 0.0)
    g_engine = gradients_fused(net, p, X, Gamma, 0.0, 0.0)
    g_loops = loops.gradients(net, p, X, Gamma)
    g_inside = loops.gradients(net, q, X, Gamma)
    assert g_listing.max_rel_diff(g_engine) <= 1e-12
    assert g_listing.max_rel_diff(g_loops) <= 1e-12
    assert g_loops.max_rel_diff(g_inside) <= 1e-12
    for g in (g_listing, g_engine, g_loops):
        for ly in net.layers:
            assert np.all(g.W_conv[ly.c][~ly.W_mask] == 0.0)
            assert np.all(g.Theta_conv[ly.c][~ly.conn] == 0.0)
    fd = numerical_gradient(lambda r: loops.risk(net, r, X, Gamma), p, rel_step=2e-5)
    floor = 1e-3 * max(np.max(np.abs(a)) for _, _, a in fd.items())
    assert g_engine.max_rel_diff(fd, floor=floor) <= 1e-8
    # the layer-1 gradient would change if W_2's outside entries were back-propagated
    leaky = p.copy()
    assert np.max(np.abs(leaky.W_conv[2][~net.layers[1].W_mask])) > 0.1


def test_eq_47_1213_outside_entries_with_regularisation_and_sgd():
    """With rho1 > 0 the regulariser 2 rho1 W_c (47.1229) acts on every entry, inside the
    table or not, in every implementation; one SGD step (47.1276) is params - mu grad."""
    net = _table_net()
    p = _outside_filled(net, 7)
    rng = np.random.default_rng(70)
    X = rng.standard_normal((2, 2, 6, 6))
    Gamma = rng.standard_normal((2, 2))
    g_listing = gradients_listing(net, p, X, Gamma, 0.3, 0.2)
    g_engine = gradients_fused(net, p, X, Gamma, 0.3, 0.2)
    g_loops = loops.gradients(net, p, X, Gamma, 0.3, 0.2)
    assert g_listing.max_rel_diff(g_engine) <= 1e-12
    assert g_listing.max_rel_diff(g_loops) <= 1e-12
    fd = numerical_gradient(lambda r: loops.risk(net, r, X, Gamma, 0.3, 0.2), p,
                            rel_step=2e-5)
    floor = 1e-3 * max(np.max(np.abs(a)) for _, _, a in fd.items())
    assert g_engine.max_rel_diff(fd, floor=floor) <= 1e-8
    for method in ("fused", "listing"):
        step = net.sgd_step(p, X, Gamma, mu=0.05, rho1=0.3, rho2=0.2, method=method)
        assert step.max_rel_diff(p - 0.05 * g_listing) <= 1e-12


# ---------------------------------------------------------------------------
# Block pooling backward with rows or columns that no block covers (47.1244)
# ---------------------------------------------------------------------------


UNCOVERED = [((5, 6), [(slice(5, 6), slice(None))]),   # row 6 in no block
             ((6, 5), [(slice(None), slice(5, 6))]),   # column 6 in no block
             ((4, 4), [(slice(4, 6), slice(None)), (slice(None), slice(4, 6))])]  # both


@pytest.mark.parametrize("block, outside", UNCOVERED)
@pytest.mark.parametrize("kind", ["max", "mean", "l2", "subsample"])
def test_eq_47_1244_block_pooling_backward_leaves_uncovered_entries_zero(kind, block, outside):
    """(dt/dy)^T v on a 6 x 6 map whose blocks leave entries uncovered: exactly 0 there, in
    the operator's backprop and in the engine's batched kernel even when its output array
    starts full of garbage; elsewhere the loops' adjoint."""
    pool = sc.Pooling(kind, in_shape=(6, 6), block=block)
    rng = np.random.default_rng(1244)
    K, B = 2, 3
    y3 = rng.standard_normal((K, 36, B))
    v3 = rng.standard_normal((K, pool.P_out, B))
    covered = np.zeros(36, dtype=bool)
    covered[np.concatenate(pool.regions)] = True
    mask = np.ones((6, 6), dtype=bool)
    for where in outside:
        mask[where] = False
    assert np.array_equal(covered, mask.reshape(-1, order="F"))
    garbage = np.full((K, 36, B), np.nan)
    got = fused._backprop3(pool, v3, y3, out=garbage)
    fresh = fused._backprop3(pool, v3, y3)
    for k in range(K):
        for b in range(B):
            want = pool.backprop(v3[k, :, b], y3[k, :, b])
            assert np.all(want[~covered] == 0.0)
            assert np.all(got[k, ~covered, b] == 0.0)
            assert np.all(fresh[k, ~covered, b] == 0.0)
            assert_allclose(got[k, :, b], want, rtol=1e-15, atol=0)
            assert_allclose(fresh[k, :, b], want, rtol=1e-15, atol=0)
            # the adjoint by its definition: row p of the Jacobian dt/dy (47.1244)
            J = pool.jacobian(y3[k, :, b])
            J = J.toarray() if hasattr(J, "toarray") else np.asarray(J)
            assert_allclose(want, J.T @ v3[k, :, b], rtol=1e-14, atol=1e-15)


def test_eq_47_1244_uncovered_rows_in_the_network_engine_reused():
    """A layer pooled by a (5, 6) block on its 6 x 6 map: the engine's reused work space
    (here first filled with NaN) leaves no garbage in the uncovered row; listing = engine =
    loops = finite differences."""
    net = sc.Network((6, 6), conv=[sc.Conv(2, 3, activation="tanh", pool=("max", (5, 6)))],
                     outputs=2)
    p = net.init(seed=3, bias_scale=0.3)
    rng = np.random.default_rng(56)
    X = rng.standard_normal((2, 1, 6, 6))
    Gamma = rng.standard_normal((2, 2))
    engine = Engine(net)
    engine.buffer(("dz", 1), (2, 36, 2))[...] = np.nan
    g_engine = gradients_fused(net, p, X, Gamma, engine=engine)
    g_listing = gradients_listing(net, p, X, Gamma)
    g_loops = loops.gradients(net, p, X, Gamma)
    assert g_engine.max_rel_diff(g_listing) <= 1e-12
    assert g_loops.max_rel_diff(g_listing) <= 1e-12
    fd = numerical_gradient(lambda r: loops.risk(net, r, X, Gamma), p, rel_step=2e-5)
    floor = 1e-3 * max(np.max(np.abs(a)) for _, _, a in fd.items())
    assert g_engine.max_rel_diff(fd, floor=floor) <= 1e-8
    # again with the same engine and other data
    X2 = rng.standard_normal((2, 1, 6, 6))
    assert gradients_fused(net, p, X2, Gamma, engine=engine).max_rel_diff(
        gradients_listing(net, p, X2, Gamma)) <= 1e-12


# ---------------------------------------------------------------------------
# Defaults of the entry points: rho1 = rho2 = 0, scaling (47.1229)
# ---------------------------------------------------------------------------


def _small_problem(seed=0, N=3):
    net = sc.Network((6, 6), conv=[sc.Conv(2, 3, pool=("max", 2)), sc.Conv(2, 2)], hidden=[3],
                     outputs=2)
    p = net.init(seed=seed, bias_scale=0.2)
    rng = np.random.default_rng(seed + 100)
    X = rng.standard_normal((N, 1, 6, 6))
    Gamma = rng.standard_normal((N, 2))
    return net, p, X, Gamma


def test_eq_47_1229_gradients_defaults_are_unregularised():
    """gradients_fused, gradients_listing, Network.gradients and loops without rho are the
    rho = 0 derivatives of (47.1229); the defaults return Params, and rho does matter."""
    net, p, X, Gamma = _small_problem()
    explicit = loops.gradients(net, p, X, Gamma, 0.0, 0.0, "1229")
    defaults = [gradients_fused(net, p, X, Gamma), gradients_listing(net, p, X, Gamma),
                net.gradients(p, X, Gamma), net.gradients(p, X, Gamma, method="listing"),
                sc.sgd.gradients(net, p, X, Gamma), loops.gradients(net, p, X, Gamma)]
    for g in defaults:
        assert isinstance(g, sc.Params)
        assert g.max_rel_diff(explicit) <= 1e-12
    assert gradients_fused(net, p, X, Gamma, engine=None, return_loss=False).max_rel_diff(
        explicit) <= 1e-12
    for rho1, rho2 in ((0.5, 0.0), (0.0, 0.5)):
        assert gradients_fused(net, p, X, Gamma, rho1, rho2).max_rel_diff(explicit) > 1e-3
    # risk: defaults are the unregularised (47.1229)
    assert net.risk(p, X, Gamma) == pytest.approx(loops.risk(net, p, X, Gamma, 0.0, 0.0),
                                                  rel=1e-13)
    # scaling "1227" changes the regularised derivatives only by dividing rho by N
    g27 = gradients_fused(net, p, X, Gamma, 0.3, 0.0, scaling="1227")
    assert g27.max_rel_diff(gradients_fused(net, p, X, Gamma, 0.3 / 3, 0.0)) <= 1e-12


def test_gradients_fused_return_loss():
    """return_loss also gives the data term (1/N) sum_n Q_n (47.1229) and the forward pass."""
    net, p, X, Gamma = _small_problem(seed=4)
    g, loss, fw = gradients_fused(net, p, X, Gamma, return_loss=True)
    assert g.max_rel_diff(loops.gradients(net, p, X, Gamma)) <= 1e-12
    assert loss == pytest.approx(loops.risk(net, p, X, Gamma), rel=1e-13)
    assert_allclose(fw.output, loops.predict(net, p, X), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# The engine's scatter cache (47.1258)
# ---------------------------------------------------------------------------


def test_eq_47_1258_engine_scatter_cache_keeps_the_last_four_batch_sizes():
    """One engine over six batch sizes: every gradient is right, the plans of the last four
    sizes are kept, the oldest is dropped and rebuilt equal."""
    net, p, X, Gamma = _small_problem(seed=2, N=7)
    engine = Engine(net)
    plans = {}
    for N in (1, 2, 3, 4, 5, 6, 7):
        g = gradients_fused(net, p, X[:N], Gamma[:N], engine=engine)
        assert g.max_rel_diff(gradients_listing(net, p, X[:N], Gamma[:N])) <= 1e-12
        plans[N] = engine.scatter(N)
        ly = net.layers[1]
        M, PS = ly.partition.V.shape[1], ly.partition.V.shape[0]
        assert plans[N][2].shape == (N * M, N * PS)
    for N in (4, 5, 6, 7):
        assert engine.scatter(N) is plans[N]  # kept
    again = engine.scatter(3)  # dropped after four newer sizes: built anew ...
    assert again is not plans[3]
    assert (again[2] != plans[3][2]).nnz == 0  # ... equal to the first
    assert engine.scatter(5) is plans[5]
    assert engine.scatter(4) is not plans[4]  # the oldest (4) went to make room for 3
    for N in (1, 3, 6):  # the right numbers after evictions
        g = gradients_fused(net, p, X[:N], Gamma[:N], engine=engine)
        assert g.max_rel_diff(gradients_listing(net, p, X[:N], Gamma[:N])) <= 1e-12


def test_eq_47_1258_scatter_is_the_kronecker_product():
    """scatter(N)[c] = I_N (x) V_{c-1}^T (47.1258)."""
    net, _, _, _ = _small_problem()
    engine = Engine(net)
    for N in (1, 3):
        V = net.layers[1].partition.V
        want = np.kron(np.eye(N), V.T.toarray())
        assert_allclose(engine.scatter(N)[2].toarray(), want, rtol=0, atol=0)
    assert engine.scatter(2).keys() == {2}


def test_engine_buffer_keeps_small_arrays_only():
    net, _, _, _ = _small_problem()
    engine = Engine(net)
    a = engine.buffer("a", (3, 4))
    assert a.shape == (3, 4) and engine.buffer("a", (3, 4)) is a
    assert engine.buffer("a", (4, 3)) is not a
    engine.WORK_MAX = 8 * 5  # bytes: five doubles
    b = engine.buffer("b", (2, 3))
    assert b.shape == (2, 3) and engine.buffer("b", (2, 3)) is not b
    c = engine.buffer("c", (5,))
    assert engine.buffer("c", (5,)) is c


def test_engine_profile_attributes_time():
    net, p, X, Gamma = _small_problem()
    engine = Engine(net)
    engine.start_profile()
    gradients_fused(net, p, X, Gamma, engine=engine)
    prof = engine.stop_profile()
    assert {"gemm", "scatter", "entrywise", "python"} <= set(prof)
    assert all(t >= 0 for t in prof.values())
    assert engine.profile is None
    gradients_fused(net, p, X, Gamma, engine=engine)  # not profiling: nothing recorded
    assert engine.profile is None


# ---------------------------------------------------------------------------
# Losses (47.1229), (47.1233) and seed 001
# ---------------------------------------------------------------------------


def _num_grad(f, z, h=1e-6):
    g = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[i] = h
        g[i] = (f(z + e) - f(z - e)) / (2 * h)
    return g


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "linear", "relu"])
def test_eq_47_1233_quadratic_loss_and_delta(act):
    """Q = ||gamma - y||^2 (47.1229) and delta_L = 2 (y - gamma) . f'(z) (47.1233): by hand,
    against the loops and against differences of Q in z."""
    rng = np.random.default_rng(1233)
    a = get_activation(act, allow_softmax=True)
    loss = get_loss("quadratic")
    z = rng.standard_normal((4, 3)) + 0.3
    gamma = rng.standard_normal((4, 3))
    y = a(z)
    assert_allclose(loss.value(z, y, gamma), ((gamma - y) ** 2).sum(axis=1), rtol=1e-15)
    d = loss.delta(z, y, gamma, a)
    assert_allclose(d, 2 * (y - gamma) * a.fprime(z), rtol=1e-15, atol=0)
    for n in range(4):
        assert_allclose(d[n], _num_grad(lambda u, g=gamma[n]: loss.value(u, a(u), g), z[n]),
                        rtol=1e-6, atol=1e-8)
    net = sc.Network((3, 3), conv=[sc.Conv(1, 1)], outputs=3, output_activation=act)
    for n in range(4):
        assert loss.value(z[n], y[n], gamma[n]) == pytest.approx(
            loops.loss_value(net, z[n], y[n], gamma[n]), rel=1e-14)
        assert_allclose(d[n], loops.output_sensitivity(net, z[n], y[n], gamma[n]),
                        rtol=1e-13, atol=1e-15)


def test_cross_entropy_loss_and_delta_seed_001():
    """-gamma^T ln softmax(z) from the logits and delta = y (1^T gamma) - gamma (seed 001):
    by hand, against loops and against differences in z, also for targets that do not sum
    to one."""
    rng = np.random.default_rng(1)
    loss = get_loss("cross_entropy")
    a = get_activation("softmax", allow_softmax=True)
    z = rng.standard_normal((3, 4)) * 2
    gamma = np.abs(rng.standard_normal((3, 4)))  # 1^T gamma != 1
    y = a(z)
    want = -(gamma * np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))).sum(axis=1)
    assert_allclose(loss.value(z, y, gamma), want, rtol=1e-13)
    d = loss.delta(z, y, gamma, a)
    assert_allclose(d, y * gamma.sum(axis=1, keepdims=True) - gamma, rtol=1e-15, atol=0)
    net = sc.Network((3, 3), conv=[sc.Conv(1, 1)], outputs=4, loss="cross_entropy")
    for n in range(3):
        assert_allclose(d[n], _num_grad(lambda u, g=gamma[n]: loss.value(u, a(u), g), z[n]),
                        rtol=1e-6, atol=1e-8)
        assert loss.value(z[n], y[n], gamma[n]) == pytest.approx(
            loops.loss_value(net, z[n], y[n], gamma[n]), rel=1e-13)
        assert_allclose(d[n], loops.output_sensitivity(net, z[n], y[n], gamma[n]),
                        rtol=1e-12, atol=1e-15)
    # shifted logits: the loss does not change (the shift by max z is exact in the maths)
    assert_allclose(loss.value(z + 50.0, a(z + 50.0), gamma), want, rtol=1e-12)
    # a single sample (Q,) works like a row
    assert loss.value(z[0], y[0], gamma[0]) == pytest.approx(want[0], rel=1e-13)


def test_losses_lookup_and_softmax_pairing():
    assert set(LOSSES) == {"quadratic", "cross_entropy"}
    assert get_loss("quadratic") is LOSSES["quadratic"]
    assert get_loss(LOSSES["cross_entropy"]) is LOSSES["cross_entropy"]
    for bad in ("Quadratic", "l2", None, 3):
        with pytest.raises(ValueError, match=r"^loss must be one of \['cross_entropy', "
                                             r"'quadratic'\] \(47\.1229\), got "):
            get_loss(bad)
    with pytest.raises(ValueError, match=r"^loss 'cross_entropy' needs output_activation "
                                         r"'softmax' \(seed 001\), got 'sigmoid'$"):
        LOSSES["cross_entropy"].check_output_activation(get_activation("sigmoid"))
    LOSSES["cross_entropy"].check_output_activation(get_activation("softmax",
                                                                   allow_softmax=True))
    LOSSES["quadratic"].check_output_activation(get_activation("softmax", allow_softmax=True))
    with pytest.raises(ValueError, match="needs output_activation 'softmax'"):
        sc.Network((3, 3), conv=[sc.Conv(1, 1)], outputs=2, loss="cross_entropy",
                   output_activation="sigmoid")
    net = sc.Network((3, 3), conv=[sc.Conv(1, 1)], outputs=2, loss="cross_entropy")
    assert net.output_activation.name == "softmax"
    assert sc.Network((3, 3), conv=[sc.Conv(1, 1)], outputs=2).output_activation.name == \
        "sigmoid"


def test_eq_47_1227_1229_risk_weights():
    """(reg, data) = (1, 1/N) for (47.1229) and (1/N, 1/N) for (47.1227)."""
    assert risk_weights("1229", 4) == (1.0, 0.25)
    assert risk_weights("1227", 4) == (0.25, 0.25)
    assert risk_weights("1229", 1) == (1.0, 1.0)


def test_one_hot_values():
    assert_allclose(one_hot([2, 0, 1, 2]), np.eye(3)[[2, 0, 1, 2]], rtol=0, atol=0)
    assert_allclose(one_hot([1], 4), [[0.0, 1.0, 0.0, 0.0]], rtol=0, atol=0)
    assert_allclose(one_hot([1, 0], 2, low=-1.0), [[-1.0, 1.0], [1.0, -1.0]], rtol=0, atol=0)
    assert_allclose(one_hot([0], 2, low=0.25, high=0.5), [[0.5, 0.25]], rtol=0, atol=0)
    assert one_hot(np.array([], dtype=int), 3).shape == (0, 3)
    assert one_hot(np.array([1], dtype=np.int8), 2).dtype == np.float64


@pytest.mark.parametrize("args, kw, exc, msg", [
    (([0.0, 1.0],), {}, TypeError, r"^labels must be integers \(class numbers 0\.\.Q-1\), got "
                                   r"dtype float64$"),
    (([True, False],), {}, TypeError, r"^labels must be integers .* got dtype bool$"),
    (([[0, 1]],), {}, ValueError, r"^labels must be 1-dimensional \(N,\), got shape \(1, 2\)$"),
    (([0, -1],), {}, ValueError, r"^labels must be non-negative class numbers, got minimum -1$"),
    ((np.array([], dtype=int),), {}, ValueError, r"^Q must be given when labels is empty \(it is "
                                                   r"max\(labels\) \+ 1 otherwise\)$"),
    (([0],), {"Q": 2.0}, TypeError, r"^Q \(number of classes\) must be an integer, got 2\.0$"),
    (([0],), {"Q": True}, TypeError, r"^Q \(number of classes\) must be an integer, got True$"),
    ((np.array([], dtype=int),), {"Q": 0}, ValueError,
     r"^Q \(number of classes\) must be >= 1, got 0$"),
    (([0, 3],), {"Q": 3}, ValueError, r"^labels must lie in 0\.\.Q-1 = 0\.\.2, got maximum 3$"),
    (([0],), {"low": "0"}, TypeError, r"^low must be a real number, got '0'$"),
    (([0],), {"high": True}, TypeError, r"^high must be a real number, got True$"),
    (([0],), {"low": float("nan")}, ValueError, r"^low must be finite, got nan$"),
    (([0],), {"high": float("inf")}, ValueError, r"^high must be finite, got inf$"),
])
def test_one_hot_rejects_bad_input(args, kw, exc, msg):
    with pytest.raises(exc, match=msg):
        one_hot(*args, **kw)


# ---------------------------------------------------------------------------
# fit (47.1276 with mini-batches)
# ---------------------------------------------------------------------------


def _fit_problem():
    net = sc.Network((5, 5), conv=[sc.Conv(2, 3, pool=("max", 2))], outputs=3,
                     loss="cross_entropy")
    p = net.init(seed=1, bias_scale=0.1)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((10, 1, 5, 5))
    labels = rng.integers(0, 3, 10)
    return net, p, X, labels


def _fit_by_hand(net, p, X, Gamma, epochs, B, mu, seed, rho1=0.0, rho2=0.0, start=0):
    """The loop fit promises: shuffled by default_rng([seed, epoch]), batches of B, one SGD
    step (47.1276) with the loops' gradients per batch."""
    losses = []
    for epoch in range(start, start + epochs):
        order = np.random.default_rng([seed, epoch]).permutation(X.shape[0])
        total = 0.0
        for s in range(0, X.shape[0], B):
            idx = order[s:s + B]
            total += loops.risk(net, p, X[idx], Gamma[idx]) * idx.size
            g = loops.gradients(net, p, X[idx], Gamma[idx], rho1, rho2)
            p = p - mu * g
        losses.append(total / X.shape[0])
    return p, losses


@pytest.mark.parametrize("method", ["fused", "listing"])
def test_eq_47_1276_fit_is_minibatch_sgd(method):
    """fit = the loop by hand: order, batches (the last one short), steps and history."""
    net, p, X, labels = _fit_problem()
    Gamma = one_hot(labels, 3)
    got, hist = net.fit(p, X, labels, epochs=2, batch_size=4, mu=0.3, rho1=0.01, rho2=0.02,
                        seed=9, method=method)
    want, losses = _fit_by_hand(net, p, X, Gamma, 2, 4, 0.3, 9, 0.01, 0.02)
    assert got.max_rel_diff(want) <= 1e-11
    assert hist["epoch"] == [1, 2]
    assert_allclose(hist["loss"], losses, rtol=1e-11)
    assert list(hist) == list(sc.sgd.HISTORY_KEYS)
    assert all(t >= 0 for t in hist["seconds"])
    acc = sc.sgd.accuracy(net, got, X, labels)
    assert hist["train_acc"][-1] == acc
    assert np.isnan(hist["val_acc"]).all()


def test_fit_defaults_validation_callbacks_and_resume():
    net, p, X, labels = _fit_problem()
    Gamma = one_hot(labels, 3)
    d = sc.sgd.FIT_DEFAULTS
    assert d == {"epochs": 1, "batch_size": 32, "mu": 0.1, "rho1": 0.0, "rho2": 0.0, "seed": 0}
    got, hist = net.fit(p, X, labels)  # one epoch, one batch of all 10, mu = 0.1, seed 0
    want, losses = _fit_by_hand(net, p, X, Gamma, 1, 32, 0.1, 0)
    assert got.max_rel_diff(want) <= 1e-11
    assert hist["epoch"] == [1]
    # validation data, callbacks, targets as a matrix
    seen, batches = [], []
    got2, hist2 = net.fit(p, X, Gamma, epochs=3, batch_size=3, mu=0.2, seed=4,
                          X_val=X[:4], y_val=labels[:4],
                          callback=lambda e, q, h: seen.append(e) or e < 2,
                          batch_callback=lambda *a: batches.append(a))
    assert seen == [1, 2]  # stopped when the callback returned False
    assert hist2["epoch"] == [1, 2]
    assert [b[:3] for b in batches[:4]] == [(1, 1, 4), (1, 2, 4), (1, 3, 4), (1, 4, 4)]
    assert [b[5] for b in batches[:4]] == [3, 3, 3, 1]
    assert all(b[4] is None for b in batches)  # targets given as a matrix: no counts
    assert np.isnan(hist2["train_acc"]).all()
    assert hist2["val_acc"][-1] == sc.sgd.accuracy(net, got2, X[:4], labels[:4])
    want2, _ = _fit_by_hand(net, p, X, Gamma, 2, 3, 0.2, 4)
    assert got2.max_rel_diff(want2) <= 1e-11
    # class labels: the batch callback counts the correct ones before the step
    counts = []
    net.fit(p, X, labels, epochs=1, batch_size=5, mu=0.2, seed=4,
            batch_callback=lambda e, s, n, loss, correct, size: counts.append((correct, size)))
    order = np.random.default_rng([4, 0]).permutation(10)
    first = np.argmax(loops.predict(net, p, X[order[:5]]), axis=1) == labels[order[:5]]
    assert counts[0] == (int(first.sum()), 5)
    # resume: start_epoch and a history carried on
    p1, h1 = net.fit(p, X, labels, epochs=1, batch_size=4, seed=2)
    p2, h2 = net.fit(p1, X, labels, epochs=1, batch_size=4, seed=2, start_epoch=1,
                     history=h1)
    assert h2 is h1 and h2["epoch"] == [1, 2]
    whole, _ = _fit_by_hand(net, p, X, Gamma, 2, 4, 0.1, 2)
    assert p2.max_rel_diff(whole) <= 1e-11
    # zero epochs change nothing
    p0, h0 = net.fit(p, X, labels, epochs=0)
    assert p0.max_rel_diff(p) == 0.0 and h0["epoch"] == []


def test_fit_tanh_outputs_get_minus_one_targets():
    net = sc.Network((5, 5), conv=[sc.Conv(1, 3)], outputs=2, output_activation="tanh")
    p = net.init(seed=0)
    X = np.random.default_rng(0).standard_normal((4, 1, 5, 5))
    labels = np.array([0, 1, 1, 0])
    got, _ = net.fit(p, X, labels, epochs=1, batch_size=4, mu=0.1)
    want, _ = _fit_by_hand(net, p, X, one_hot(labels, 2, low=-1.0), 1, 4, 0.1, 0)
    assert got.max_rel_diff(want) <= 1e-11


@pytest.mark.parametrize("kw, exc, msg", [
    ({"callback": 3}, TypeError, r"^callback must be callable or None, got 3$"),
    ({"batch_callback": "x"}, TypeError, r"^batch_callback must be callable or None, got 'x'$"),
    ({"X_val": "X"}, ValueError, r"^X_val and y_val go together: give both \(validation images "
                                 r"and their class numbers\) or neither$"),
    ({"y_val": "y"}, ValueError, r"^X_val and y_val go together"),
    ({"history": {"epoch": []}}, TypeError, r"^history must be a dict of lists with the keys "),
    ({"history": []}, TypeError, r"^history must be a dict of lists"),
])
def test_fit_rejects_bad_arguments(kw, exc, msg):
    net, p, X, labels = _fit_problem()
    if "X_val" in kw:
        kw = {"X_val": X[:2]}
    with pytest.raises(exc, match=msg):
        net.fit(p, X, labels, **kw)


def test_fit_rejects_bad_targets():
    net, p, X, labels = _fit_problem()
    with pytest.raises(ValueError, match=r"^labels must give one target per image: N x Q = "
                                         r"10 x 3 \(47\.1229\), got \(10, 2\)$"):
        net.fit(p, X, np.zeros((10, 2)))
    with pytest.raises(ValueError, match=r"^labels must be N class numbers or an N x Q = N x 3 "
                                         r"matrix of targets \(47\.1229\), got shape "):
        net.fit(p, X, np.zeros((10, 3, 1)))
    with pytest.raises(ValueError, match=r"^y_val must hold one class number per image, N = 2 "
                                         r"\(47\.1229\), got 3$"):
        net.fit(p, X, labels, X_val=X[:2], y_val=labels[:3])
    with pytest.raises(ValueError, match=r"^y_val must lie in 0\.\.Q-1 = 0\.\.2 \(47\.1231\), "
                                         r"got maximum 3$"):
        net.fit(p, X, labels, X_val=X[:2], y_val=np.array([0, 3]))
    with pytest.raises(TypeError, match=r"^y_val: labels must be integers"):
        net.fit(p, X, labels, X_val=X[:2], y_val=np.array([0.0, 1.0]))


def test_accuracy_in_batches():
    """The fraction of hits, the same for every batch size (the first and the last batch
    count)."""
    net, p, X, _ = _fit_problem()
    pred = np.argmax(loops.predict(net, p, X), axis=1)
    labels = pred.copy()
    labels[[2, 5]] = (pred[[2, 5]] + 1) % 3  # 8 of 10 right, samples 0 and 9 among them
    for batch in (1, 3, 4, 500):
        assert sc.sgd.accuracy(net, p, X, labels, batch=batch) == 0.8
    assert sc.sgd.accuracy(net, p, X, (pred + 1) % 3) == 0.0
    assert sc.sgd.accuracy(net, p, X, pred) == 1.0
    with pytest.raises(ValueError, match=r"^batch must be >= 1, got 0$"):
        sc.sgd.accuracy(net, p, X, labels, batch=0)
    with pytest.raises(ValueError, match=r"^labels must hold one class number per image, N = 10 "
                                         r"\(47\.1229\), got 9$"):
        sc.sgd.accuracy(net, p, X, labels[:9])
    with pytest.raises(TypeError, match=r"^labels: labels must be integers"):
        sc.sgd.accuracy(net, p, X, labels.astype(float))


@pytest.mark.parametrize("kw, exc, msg", [
    ({"epochs": -1}, ValueError, r"^epochs must be >= 0, got -1$"),
    ({"epochs": 1.5}, TypeError, r"^epochs must be an integer, got 1\.5$"),
    ({"batch_size": 0}, ValueError, r"^batch_size B must be >= 1 \(47\.1276\), got 0$"),
    ({"seed": -1}, ValueError, r"^seed must be >= 0, got -1$"),
    ({"start_epoch": -2}, ValueError, r"^start_epoch must be >= 0, got -2$"),
    ({"start_epoch": 1.5}, TypeError, r"^start_epoch must be an integer, got 1\.5$"),
    ({"X_val": np.zeros((2, 1, 4, 5)), "y_val": np.array([0, 1])}, ValueError,
     r"^X_val must be N x D_0 x rows x cols = N x 1 x 5 x 5 \(or one D_0 x rows x cols image\) "
     r"\(47\.1216\), got shape \(2, 1, 4, 5\)$"),
    ({"mu": -1}, ValueError, r"^the step size mu must be finite and > 0 \(47\.1276\)"),
    ({"rho1": -1}, ValueError, r"^rho1 must be finite and >= 0 \(47\.1229\)"),
    ({"method": "x"}, ValueError, r"^method must be 'listing' or 'fused', got 'x'$"),
])
def test_fit_rejects_bad_settings(kw, exc, msg):
    net, p, X, labels = _fit_problem()
    with pytest.raises(exc, match=msg):
        net.fit(p, X, labels, **kw)


def test_fit_targets_matrix_checks_and_classes_below_Q():
    net, p, X, labels = _fit_problem()
    with pytest.raises(TypeError, match=r"^Gamma must be a real numeric array \(47\.1229\), got "
                                        r"dtype <U1$"):
        net.fit(p, X, np.full((10, 3), "a"))
    with pytest.raises(ValueError, match=r"^Gamma contains NaN \(47\.1229\); all entries must be "
                                         r"finite$"):
        net.fit(p, X, np.full((10, 3), np.nan))
    # labels that never reach the last class still make Q = 3 targets
    low = np.array([0, 1] * 5)
    got, _ = net.fit(p, X, low, epochs=1, batch_size=5, mu=0.2)
    want, _ = _fit_by_hand(net, p, X, one_hot(low, 3), 1, 5, 0.2, 0)
    assert got.max_rel_diff(want) <= 1e-11


# ---------------------------------------------------------------------------
# Pooling.__init__ and Network.__init__ branches
# ---------------------------------------------------------------------------


def test_pooling_block_geometry():
    """Blocks tile column-major, p' = i + j nr; a stride gives overlapping or gapped blocks
    (47.1169), (47.1187)."""
    pool = sc.Pooling("max", in_shape=(4, 6), block=(2, 3))
    assert pool.out_shape == (2, 2) and pool.P == 24 and pool.P_out == 4
    assert pool.block == (2, 3) and pool.stride == (2, 3) and pool.in_shape == (4, 6)
    want = [[r + c * 4 for c in range(j * 3, j * 3 + 3) for r in range(i * 2, i * 2 + 2)]
            for j in range(2) for i in range(2)]
    assert [sorted(r.tolist()) for r in pool.regions] == [sorted(w) for w in want]
    assert pool.disjoint
    over = sc.Pooling("mean", in_shape=(3, 3), block=2, stride=1)
    assert over.out_shape == (2, 2) and not over.disjoint and over.stride == (1, 1)
    assert [r.tolist() for r in over.regions] == [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7],
                                                 [4, 5, 7, 8]]
    gap = sc.Pooling("max", in_shape=(5, 5), block=2, stride=3)
    assert gap.out_shape == (2, 2)
    assert [r.tolist() for r in gap.regions] == [[0, 1, 5, 6], [3, 4, 8, 9],
                                                [15, 16, 20, 21], [18, 19, 23, 24]]
    assert "block=(2, 2)" in repr(gap) and "P'=4" in repr(gap)
    reg = sc.Pooling("l2", regions=[[2, 0], [1]], P=3)
    assert reg.in_shape == (3, 1) and reg.out_shape == (2, 1) and reg.block is None
    assert [r.tolist() for r in reg.regions] == [[2, 0], [1]]
    assert reg.R == 2 and reg.sizes.tolist() == [2, 1]
    assert "regions=2, P=3" in repr(reg)
    assert sc.Pooling("max", regions=[[0]], P=np.int64(2)).P == 2
    assert sc.Pooling("max", regions=[[0]], P=2.0).P == 2
    assert sc.Pooling("subsample", in_shape=(4, 4), block=2, retain=3).retain == 3
    corr = sc.Pooling("correlation", in_shape=(2, 2), block=2, mask=np.array([[1., 2.], [3., 4.]]))
    assert_allclose(corr.mask, [1.0, 3.0, 2.0, 4.0], rtol=0, atol=0)  # column-major
    assert corr.pool(np.array([1.0, 0.0, 0.0, 0.0]))[0] == 1.0
    T = sc.Pooling("max", regions=[[1, 0]], P=3).T.toarray()
    assert_allclose(T, [[0, 1, 0], [1, 0, 0]], rtol=0, atol=0)


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(kind="avg", in_shape=(4, 4), block=2), ValueError,
     r"^pooling kind must be one of .* \(Table 47\.13\), got 'avg'$"),
    (dict(kind="max", in_shape=(4, 4), block=2, regions=[[0]], P=16), ValueError,
     r"^give either regions \(with P\) or in_shape with block, not both$"),
    (dict(kind="max", block=2, regions=[[0]], P=16), ValueError, r"^give either regions"),
    (dict(kind="max", regions=[[0]]), ValueError, r"^P, the size of the pooled map y "
                                                  r"\(47\.1187\), is required with regions$"),
    (dict(kind="max", regions=[[0]], P=0), ValueError,
     r"^P must be a positive integer \(47\.1187\), got 0$"),
    (dict(kind="max", regions=[[0]], P=True), ValueError, r"^P must be a positive integer"),
    (dict(kind="max", regions=[[0]], P=2.5), ValueError, r"^P must be a positive integer"),
    (dict(kind="max", regions=[[0]], P=float("inf")), ValueError,
     r"^P must be a positive integer"),
    (dict(kind="max", regions=[[0]], P="2"), ValueError, r"^P must be a positive integer"),
    (dict(kind="max", regions="01", P=2), TypeError,
     r"^regions must be a sequence of index lists Omega_p' \(47\.1187\), got '01'$"),
    (dict(kind="max", regions=5, P=2), TypeError, r"^regions must be a sequence"),
    (dict(kind="max", regions=[[0], []], P=2), ValueError,
     r"^region Omega_2 must be a non-empty list of integer indices \(47\.1187\), got \[\]$"),
    (dict(kind="max", regions=[[0.0]], P=2), ValueError, r"^region Omega_1 must be a non-empty"),
    (dict(kind="max", regions=[[[0]]], P=2), ValueError, r"^region Omega_1 must be a non-empty"),
    (dict(kind="max", regions=[[0, [1, 2]]], P=3), ValueError,
     r"^region Omega_1 must be a non-empty"),
    (dict(kind="max", regions=[[0], [2]], P=2), ValueError,
     r"^region Omega_2 has indices outside 0\.\.P-1 = 0\.\.1 \(47\.1187\): \[2\]$"),
    (dict(kind="max", regions=[[-1]], P=2), ValueError, r"^region Omega_1 has indices outside"),
    (dict(kind="max", regions=[[1, 1]], P=2), ValueError,
     r"^region Omega_1 repeats an index \(47\.1187\): \[1, 1\]$"),
    (dict(kind="max", regions=[], P=2), ValueError,
     r"^regions must hold at least one region \(47\.1187\)$"),
    (dict(kind="max", in_shape=(4, 4)), ValueError,
     r"^Pooling needs in_shape and block, or regions and P \(47\.1187\)$"),
    (dict(kind="max", block=2), ValueError, r"^Pooling needs in_shape and block"),
    (dict(kind="max", in_shape=(4, 4), block=(5, 1)), ValueError,
     r"^pooling block 5 x 1 does not fit the 4 x 4 feature map \(47\.1169\)$"),
    (dict(kind="max", in_shape=(4, 4), block=(1, 5)), ValueError, r"^pooling block 1 x 5"),
    (dict(kind="subsample", in_shape=(4, 4), block=2, retain=4), ValueError,
     r"^retain must index an entry of every region, 0\.\.3 \(47\.1179\), got 4$"),
    (dict(kind="subsample", regions=[[0, 1], [2]], P=3, retain=1), ValueError,
     r"^retain must index an entry of every region, 0\.\.0"),
    (dict(kind="max", in_shape=(4, 4), block=2, retain=1), ValueError,
     r"^retain, the position kept by subsampling \(47\.1179\), is not used by 'max' "
     r"pooling; got retain = 1$"),
    (dict(kind="correlation", in_shape=(4, 4), block=2), ValueError,
     r"^correlation pooling needs its mask m\^\(d\) \(47\.1180\)$"),
    (dict(kind="correlation", in_shape=(4, 4), block=2, mask=np.ones(3)), ValueError,
     r"^pooling mask m must have one entry per region entry, \|Omega\| = 4 \(47\.1180\), "
     r"got shape \(3,\)$"),
    (dict(kind="correlation", regions=[[0, 1], [2]], P=3, mask=np.ones(2)), ValueError,
     r"^pooling mask m must have one entry per region entry"),
    (dict(kind="correlation", in_shape=(4, 4), block=2, mask=np.ones((2, 2, 1))), ValueError,
     r"^pooling mask m must have one entry per region entry"),
    (dict(kind="mean", in_shape=(4, 4), block=2, mask=np.ones(4)), ValueError,
     r"^a mask is only used by correlation pooling, not 'mean'$"),
])
def test_pooling_init_rejects(kw, exc, msg):
    kw = dict(kw)
    kind = kw.pop("kind")
    with pytest.raises(exc, match=msg):
        sc.Pooling(kind, **kw)


def test_network_init_layers_and_sizes():
    """The sizes of (47.1205)-(47.1225) as Network.__init__ resolves them."""
    net = sc.Network((8, 7), input_depth=3,
                     conv=[sc.Conv(4, (3, 2), padding="valid", stride=(1, 2), activation="relu",
                                   pool=("max", 2)),
                           sc.Conv(2, 1, pool={"kind": "mean", "block": (1, 1)},
                                   connections=[[0, 3], [1, 2, 3]])],
                     hidden=[5, 4], outputs=3, hidden_activation=["tanh", "relu"])
    l1, l2 = net.layers
    assert (l1.c, l1.D_in, l1.D, l1.in_shape, l1.S, l1.map_shape) == (1, 3, 4, (8, 7), 6, (6, 3))
    assert l1.pooled and l1.pooled_shape == (3, 1) and l1.P_out == 3 and l1.P == 18
    assert l1.activation.name == "relu" and l1.conn.all() and l1.conn.shape == (3, 4)
    assert (l2.c, l2.D_in, l2.D, l2.in_shape, l2.S) == (2, 4, 2, (3, 1), 1)
    assert l2.conn.tolist() == [[True, False], [False, True], [False, True], [True, True]]
    assert l2.W_mask.shape == (4, 2) and l2.W_mask.tolist() == l2.conn.tolist()
    assert l2.pooled  # a pooling dict is pooling, even the identity
    assert net.C == 2 and net.n == [None, 2 * 3, 5, 4, 3] and net.L == 4 and net.Q == 3
    assert [net.ff_activation[l].name for l in (2, 3, 4)] == ["tanh", "relu", "sigmoid"]
    unpooled = sc.Network((4, 4), conv=[sc.Conv(2, 3)], outputs=2)
    assert not unpooled.layers[0].pooled and unpooled.layers[0].P_out == 16
    assert unpooled.n == [None, 32, 2] and unpooled.L == 2
    assert unpooled.layers[0].activation.name == "tanh"
    one = sc.Network((4, 4), conv=[sc.Conv(2, 3)], hidden=[3], outputs=2,
                     hidden_activation="relu")
    assert one.ff_activation[2].name == "relu"
    ready = sc.Pooling("l2", in_shape=(4, 4), block=2)
    assert sc.Network((4, 4), conv=[sc.Conv(1, 3, pool=ready)], outputs=2).layers[0].pooling \
        is ready
    regions = sc.Network((2, 2), conv=[sc.Conv(1, 1, pool={"kind": "max",
                                                           "regions": [[0, 3], [1, 2]]})],
                         outputs=2)
    assert regions.layers[0].P_out == 2 and regions.n[1] == 2
    three = sc.Network((4, 4), conv=[sc.Conv(1, 3, pool=("mean", 2, 1))], outputs=2)
    assert three.layers[0].pooling.stride == (1, 1) and three.layers[0].P_out == 9
    sig = sc.Network((3, 3), conv=[sc.Conv(1, 1)], hidden=[2], outputs=2,
                     hidden_activation=get_activation("tanh"))
    assert sig.ff_activation[2].name == "tanh"
    assert sc.Network((3, 3), conv=(sc.Conv(1, 1),), outputs=1).input_depth == 1


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(conv=sc.Conv(1)), TypeError, r"^conv must be a sequence of sayedcnn\.Conv, one per "
                                       r"layer c = 1\.\.C \(47\.1216\), got "),
    (dict(conv="c"), TypeError, r"^conv must be a sequence"),
    (dict(conv=3), TypeError, r"^conv must be a sequence"),
    (dict(conv=[]), ValueError, r"^a convolutional network needs C >= 1 correlation layers "
                                r"\(47\.1216\)$"),
    (dict(conv=[(1, 3)]), TypeError, r"^conv\[0\] must be a sayedcnn\.Conv, got tuple$"),
    (dict(conv=[sc.Conv(1), "x"]), TypeError, r"^conv\[1\] must be a sayedcnn\.Conv, got str$"),
    (dict(conv=[sc.Conv(1, 7, padding="valid")]), ValueError, r"^conv layer c = 1 on its 6 x 6 input map: "),
    (dict(conv=[sc.Conv(1), sc.Conv(1, 9, padding="valid")]), ValueError,
     r"^conv layer c = 2 on its 6 x 6 input map: "),
    (dict(conv=[sc.Conv(1, pool=("max",))]), ValueError,
     r"^pool of layer c = 1 must be None, \(kind, block\[, stride\]\), a dict or a Pooling "
     r"\(47\.1208\), got \('max',\)$"),
    (dict(conv=[sc.Conv(1, pool="max")]), ValueError, r"^pool of layer c = 1 must be None"),
    (dict(conv=[sc.Conv(1, pool={"kind": "max", "size": 2})]), ValueError,
     r"^pool of layer c = 1: unknown keys \['size'\]; a pooling dict holds 'kind' and some of "),
    (dict(conv=[sc.Conv(1, pool={"kind": "max", "regions": [[0]], "P": 3})]), ValueError,
     r"^pool of layer c = 1: P = 3, but the regions pool the feature map of layer c = 1, "
     r"6 x 6, P_1 = 36 entries \(47\.1208\)$"),
    (dict(conv=[sc.Conv(1, pool={"kind": "max", "regions": [[0]], "P": True})]), ValueError,
     r"^pool of layer c = 1: P = True"),
    (dict(conv=[sc.Conv(1, pool=sc.Pooling("max", in_shape=(4, 4), block=2))]), ValueError,
     r"^the Pooling of layer c = 1 pools 16 entries but the feature map has P_1 = 36 "
     r"\(47\.1208\)$"),
    (dict(conv=[sc.Conv(1, pool=sc.Pooling("max", in_shape=(4, 9), block=2))]), ValueError,
     r"^the Pooling of layer c = 1 tiles a 4 x 9 map but the feature map of layer c = 1 is "
     r"6 x 6 \(47\.1208\)$"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections="01")]), TypeError,
     r"^connections of layer c = 2 must list, for each of the D_2 = 2 output maps, its input "
     r"maps \(47\.1213\); got '01'$"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=5)]), TypeError,
     r"^connections of layer c = 2 must list"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[0]])]), ValueError,
     r"^connections of layer c = 2 must list, for each of the D_2 = 2 output maps, its input "
     r"maps \(47\.1213\); got 1 entries$"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[0], 1])]), TypeError,
     r"^connections of layer c = 2, map d = 1: expected a list of input maps in 0\.\.1 "
     r"\(47\.1213\), got 1$"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[0], "1"])]), TypeError,
     r"^connections of layer c = 2, map d = 1: expected a list"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[], [0]])]), ValueError,
     r"^connections of layer c = 2 leave output map d = 0 with no input map \(47\.1213\)$"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[0], [1.0]])]), TypeError,
     r"^connections of layer c = 2, map d = 1: input map 1\.0 is not an integer in "
     r"0\.\.D_1-1 = 0\.\.1 \(47\.1213\)$"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[0], [True]])]), TypeError,
     r"^connections of layer c = 2, map d = 1: input map True is not an integer"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[0], [2]])]), ValueError,
     r"^connections of layer c = 2, map d = 1: input map 2 is not in 0\.\.D_1-1 = 0\.\.1 "
     r"\(47\.1213\)$"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[0], [-1]])]), ValueError,
     r"^connections of layer c = 2, map d = 1: input map -1 is not in"),
    (dict(conv=[sc.Conv(2), sc.Conv(2, connections=[[0, 0], [1]])]), ValueError,
     r"^connections of layer c = 2, map d = 0 repeat an input map \(47\.1213\): \[0, 0\]$"),
    (dict(conv=[sc.Conv(1)], hidden=3), TypeError,
     r"^hidden must be a sequence of sizes n_2\.\.n_\(L-1\) \(47\.1221f\), got 3; use \[3\] "
     r"for one hidden layer$"),
    (dict(conv=[sc.Conv(1)], hidden="3"), TypeError, r"^hidden must be a sequence"),
    (dict(conv=[sc.Conv(1)], hidden=[2], hidden_activation=None), TypeError,
     r"^hidden_activation must name the activation f of the hidden layers \(47\.1216\), or "
     r"give one per hidden layer, got None$"),
    (dict(conv=[sc.Conv(1)], hidden=[2], hidden_activation=b"tanh"), TypeError,
     r"^hidden_activation must name"),
    (dict(conv=[sc.Conv(1)], hidden=[2], hidden_activation=3), TypeError,
     r"^hidden_activation must name"),
    (dict(conv=[sc.Conv(1)], hidden=[2, 2], hidden_activation=["tanh"]), ValueError,
     r"^hidden_activation must give one activation per hidden layer \(2\), got 1$"),
    (dict(conv=[sc.Conv(1, activation="softmax")]), ValueError,
     r"^softmax acts on a whole vector and is allowed only as the output activation"),
    (dict(conv=[sc.Conv(1)], hidden=[2], hidden_activation="softmax"), ValueError,
     r"^softmax acts on a whole vector"),
    (dict(conv=[sc.Conv(1)], loss="hinge"), ValueError, r"^loss must be one of"),
])
def test_network_init_rejects(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        sc.Network((6, 6), **kw)


def test_network_init_rejects_sizes_beyond_the_limit():
    from sayedcnn.network import MAX_ENTRIES
    assert MAX_ENTRIES == 2**27
    with pytest.raises(ValueError, match=r"^an image of D_0 x rows x cols = 200 x 1024 x 1024 "
                                         r"would have 209,715,200 entries \(47\.1216\), more "
                                         r"than the 134,217,728 \(2\*\*27\) a sayedcnn network "
                                         r"builds$"):
        sc.Network((1024, 1024), input_depth=200, conv=[sc.Conv(1)])
    with pytest.raises(ValueError, match=r"^the partition matrix V_1 of layer c = 1"):
        sc.Network((4096, 4096), conv=[sc.Conv(1, 3)])
    with pytest.raises(ValueError, match=r"^W_1 = W_conv\[1\], S_1 D_0 x D_1 = 9000 x 20000, "
                                         r"would have 180,000,000 entries \(47\.1224a\)"):
        sc.Network((3, 3), input_depth=1000, conv=[sc.Conv(20000, 3)])
    with pytest.raises(ValueError, match=r"^W_1 = W_ff\[1\], n_2 x n_1 = 100000 x 2000, "
                                         r"would have 200,000,000 entries \(47\.1221g\)"):
        sc.Network((10, 10), conv=[sc.Conv(20, 1)], outputs=100000)


# ---------------------------------------------------------------------------
# Activations (47.1154): softmax's Jacobian, dtypes, symbols, lookup
# ---------------------------------------------------------------------------


def test_softmax_vjp_against_the_jacobian_and_the_network():
    """J(z)^T u with J = diag(y) - y y^T, per row of a batch; and a quadratic loss on softmax
    outputs (47.1233 with the full Jacobian): listing = engine = loops = finite differences."""
    a = get_activation("softmax", allow_softmax=True)
    rng = np.random.default_rng(1154)
    z = rng.standard_normal((3, 4))
    u = rng.standard_normal((3, 4))
    got = a.vjp(z, u)
    for n in range(3):
        y = a(z[n])
        J = np.diag(y) - np.outer(y, y)
        assert_allclose(got[n], J.T @ u[n], rtol=1e-13, atol=1e-15)
        assert_allclose(a.vjp(z[n], u[n]), got[n], rtol=1e-15, atol=0)
    net = sc.Network((5, 5), conv=[sc.Conv(2, 3, pool=("max", 2))], outputs=3,
                     output_activation="softmax", loss="quadratic")
    p = net.init(seed=5, bias_scale=0.2)
    X = rng.standard_normal((2, 1, 5, 5))
    Gamma = rng.standard_normal((2, 3))
    g = gradients_fused(net, p, X, Gamma)
    assert g.max_rel_diff(gradients_listing(net, p, X, Gamma)) <= 1e-12
    assert g.max_rel_diff(loops.gradients(net, p, X, Gamma)) <= 1e-12
    fd = numerical_gradient(lambda r: loops.risk(net, r, X, Gamma), p, rel_step=2e-5)
    floor = 1e-3 * max(np.max(np.abs(v)) for _, _, v in fd.items())
    assert g.max_rel_diff(fd, floor=floor) <= 1e-8


def test_softmax_public_checks_and_edges():
    assert_allclose(sc.softmax([3.0]), [1.0], rtol=0, atol=0)  # one logit
    assert_allclose(sc.softmax([[0.0, np.log(3.0)]]), [[0.25, 0.75]], rtol=1e-15)
    assert sc.softmax(np.array([1, 2], dtype=np.int32)).dtype == np.float64
    with pytest.raises(ValueError, match=r"^the logits z of softmax need at least one entry on "
                                         r"the last axis \(seed 001\), got shape \(0,\)$"):
        sc.softmax(np.zeros(0))
    with pytest.raises(ValueError, match=r"^the logits z of softmax need at least one entry .* "
                                         r"got shape \(\)$"):
        sc.softmax(1.0)
    with pytest.raises(ValueError, match=r"^the logits z of softmax contains NaN \(seed 001\); "
                                         r"all entries must be finite$"):
        sc.softmax([1.0, np.nan])


def test_activation_dtypes_and_copies():
    """sigmoid, linear and softmax (and f' of sigmoid, linear, relu) give float64 for integer
    and float32 input; linear copies."""
    z32 = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    zi = np.array([-1, 0, 2])
    for name in ("sigmoid", "linear", "softmax", "relu"):
        a = get_activation(name, allow_softmax=True)
        for z in (z32, zi):
            if name != "relu":
                assert a(z).dtype == np.float64, name
            if a.fprime is not None:
                assert a.fprime(z).dtype == np.float64, name
    lin = get_activation("linear")
    z = np.array([1.5, -2.0])
    y = lin(z)
    assert y is not z and not np.shares_memory(y, z)
    assert_allclose(lin.fprime(z), [1.0, 1.0], rtol=0, atol=0)
    assert_allclose(get_activation("relu").fprime(np.array([-1.0, 0.0, 3.0])), [0.0, 0.0, 1.0],
                    rtol=0, atol=0)
    s = get_activation("sigmoid")
    assert_allclose(s(np.array([0.0, -800.0, 800.0])), [0.5, 0.0, 1.0], rtol=0, atol=0)
    assert_allclose(get_activation("tanh").fprime(np.array([0.0])), [1.0], rtol=0, atol=0)


def test_activations_on_symbols_keep_shape_and_agree_with_numbers():
    """On an object array of sympy symbols the activations give expressions of the same
    shape, which evaluate to the floating-point values."""
    sympy = pytest.importorskip("sympy")
    from fractions import Fraction
    a, b, c, d = sympy.symbols("a b c d")
    Z = np.array([[a, b], [c, d]], dtype=object)
    vals = {a: 0.5, b: -1.25, c: 2.0, d: 0.0}
    Zn = np.array([[0.5, -1.25], [2.0, 0.0]])
    for name in ("sigmoid", "tanh", "linear"):
        act = get_activation(name)
        Y = act(Z)
        assert Y.shape == (2, 2) and Y.dtype == object, name
        num = np.array([[float(sympy.sympify(e).subs(vals)) for e in row] for row in Y])
        assert_allclose(num, act(Zn), rtol=1e-14, atol=0)
    # the function is applied unevaluated: tanh(-a) stays as written (not -tanh(a))
    (t,) = get_activation("tanh")(np.array([-a], dtype=object))
    assert str(t) == "tanh(-a)" and t.args == (-a,)
    F = np.array([Fraction(1, 3), Fraction(-2, 5)], dtype=object)
    Y = get_activation("linear")(F)
    assert Y.dtype == object and list(Y) == [Fraction(1, 3), Fraction(-2, 5)]


@pytest.mark.parametrize("name", ["bogus", "Tanh", 3, None])
def test_get_activation_rejects_unknown_names(name):
    with pytest.raises(ValueError, match=r"^activation must be one of \['linear', 'relu', "
                                         r"'sigmoid', 'softmax', 'tanh'\] \(47\.1154\), got "):
        get_activation(name)


def test_get_activation_softmax_only_at_the_output():
    assert get_activation("softmax", allow_softmax=True).name == "softmax"
    with pytest.raises(ValueError, match=r"^softmax acts on a whole vector and is allowed only "
                                         r"as the output activation \(seed 001\), got it for "
                                         r"an inner layer$"):
        get_activation("softmax")
    ready = get_activation("tanh")
    assert get_activation(ready) is ready


# ---------------------------------------------------------------------------
# Params (47.1221g-h, 47.1224a-b): order, copies, arithmetic, vectors
# ---------------------------------------------------------------------------


def _two_layer_params():
    return sc.Params(W_conv={2: np.array([[1.0, 2.0], [3.0, 4.0]]), 1: np.array([[5.0], [6.0]])},
                     Theta_conv={1: np.array([[7.0]]), 2: np.array([[8.0, 9.0]])},
                     W_ff={1: np.array([[10.0, 11.0, 12.0]])},
                     theta_ff={1: np.array([13.0])})


def test_params_items_order_and_vector_layout():
    """items: groups in GROUPS order, keys ascending; to_vector stacks them column-major."""
    p = _two_layer_params()
    assert sc.Params.GROUPS == ("W_conv", "Theta_conv", "W_ff", "theta_ff")
    assert [(g, k) for g, k, _ in p.items()] == [("W_conv", 1), ("W_conv", 2), ("Theta_conv", 1),
                                                 ("Theta_conv", 2), ("W_ff", 1), ("theta_ff", 1)]
    assert_allclose(p.to_vector(), [5, 6, 1, 3, 2, 4, 7, 8, 9, 10, 11, 12, 13], rtol=0, atol=0)
    q = p.from_vector(np.arange(13.0))
    assert [(g, k, a.shape) for g, k, a in q.items()] == [(g, k, a.shape) for g, k, a in p.items()]
    assert_allclose(q.W_conv[2], [[2.0, 4.0], [3.0, 5.0]], rtol=0, atol=0)  # column-major
    assert_allclose(q.theta_ff[1], [12.0], rtol=0, atol=0)
    assert_allclose(q.to_vector(), np.arange(13.0), rtol=0, atol=0)
    assert q.W_conv[1].dtype == np.float64
    assert_allclose(p.to_vector(), [5, 6, 1, 3, 2, 4, 7, 8, 9, 10, 11, 12, 13], rtol=0, atol=0)
    ints = p.from_vector(list(range(13)))
    assert ints.W_ff[1].dtype == np.float64


def test_params_copy_is_deep_and_float():
    p = sc.Params(W_conv={1: np.array([[1, 2]])}, Theta_conv={1: np.array([[3]])},
                  W_ff={1: np.array([[4]])}, theta_ff={1: np.array([5])})
    q = p.copy()
    assert q.W_conv[1].dtype == np.float64 and q.theta_ff[1].dtype == np.float64
    for g in sc.Params.GROUPS:
        for k in getattr(p, g):
            getattr(q, g)[k][...] = -1
    assert p.max_rel_diff(sc.Params(W_conv={1: np.array([[1.0, 2.0]])},
                                    Theta_conv={1: np.array([[3.0]])},
                                    W_ff={1: np.array([[4.0]])}, theta_ff={1: np.array([5.0])})) == 0
    assert q.to_vector().tolist() == [-1.0] * 5


def test_params_arithmetic():
    p = _two_layer_params()
    q = p.map(lambda a: a * 0 + 1)
    v = p.to_vector()
    assert_allclose((p + q).to_vector(), v + 1, rtol=0, atol=0)
    assert_allclose((p - q).to_vector(), v - 1, rtol=0, atol=0)
    assert_allclose((p * 2.5).to_vector(), 2.5 * v, rtol=0, atol=0)
    assert_allclose((0.5 * p).to_vector(), 0.5 * v, rtol=0, atol=0)
    assert_allclose(p.map(lambda a, b, c: a * b - c, q, p).to_vector(), np.zeros_like(v),
                    rtol=0, atol=0)
    r = p.map(np.negative)
    assert [(g, k) for g, k, _ in r.items()] == [(g, k) for g, k, _ in p.items()]
    assert_allclose(p.to_vector(), v, rtol=0, atol=0)  # unchanged


def test_params_from_vector_checks_its_vector_and_keeps_nan():
    p = _two_layer_params()
    with pytest.raises(ValueError, match=r"^v of from_vector must hold every parameter of the "
                                         r"Params, 13 entries \(the order of to_vector\), got 12$"):
        p.from_vector(np.zeros(12))
    with pytest.raises(ValueError, match=r"^v of from_vector must hold every parameter .* got 14$"):
        p.from_vector(np.zeros(14))
    with pytest.raises(ValueError, match=r"^v of from_vector must be 1-dimensional, got shape "
                                         r"\(13, 1\)$"):
        p.from_vector(np.zeros((13, 1)))
    with pytest.raises(TypeError, match=r"^v of from_vector must be a real numeric array, got a "
                                        r"string$"):
        p.from_vector("0" * 13)
    v = np.arange(13.0)
    v[3], v[12] = np.nan, np.inf
    q = p.from_vector(v)  # NaN and inf are kept (and then compare as a failure)
    assert np.isnan(q.W_conv[2][1, 0]) and q.theta_ff[1][0] == np.inf
    assert q.max_rel_diff(q) == float("inf")


# ---------------------------------------------------------------------------
# The forward listing (47.1216): its record and its one-image contract
# ---------------------------------------------------------------------------


def test_eq_47_1216_listing_records_exactly_the_book_quantities():
    """The record holds z, y, t for d = 1..D_c, c = 1..C, H for c = 0..C-1, z_ff for l = 2..L
    and y_ff for l = 1..L, nothing else; t = y where a layer is not pooled."""
    net = sc.Network((6, 6), conv=[sc.Conv(2, 3, pool=("max", 2)), sc.Conv(3, 2)], hidden=[3],
                     outputs=2)
    p = net.init(seed=1, bias_scale=0.5)
    x = np.random.default_rng(1216).standard_normal((1, 6, 6))
    res = net.forward(p, x, method="listing")
    conv = [(d, c) for c in (1, 2) for d in range(1, net.layers[c - 1].D + 1)]
    for rec in (res.z_conv, res.y_conv, res.t_conv):
        assert sorted(rec) == sorted(conv)
    assert sorted(res.H) == [(1, 0), (1, 1), (2, 1)]
    assert sorted(res.z_ff) == [2, 3] and sorted(res.y_ff) == [1, 2, 3]
    for d in (1, 2, 3):
        assert_allclose(res.t_conv[d, 2], res.y_conv[d, 2], rtol=0, atol=0)
    fw = loops.forward(net, p, x)
    assert_allclose(res.output, fw["output"],
                    rtol=1e-12, atol=1e-15)


def test_forward_listing_takes_one_image():
    from sayedcnn.forward import forward_listing
    net = sc.Network((4, 4), conv=[sc.Conv(2, 3)], outputs=2)
    p = net.init(seed=0)
    X = np.zeros((3, 1, 4, 4))
    with pytest.raises(ValueError, match=r"^forward_listing runs one image D_0 x rows x cols "
                                         r"\(47\.1216\); got a batch of 3: use "
                                         r"net\.forward\(params, X, method='listing'\)$"):
        forward_listing(net, p, X)


# ---------------------------------------------------------------------------
# The training listing's one-sample contracts (47.1275), (47.1276)
# ---------------------------------------------------------------------------


def _listing_net(hidden=3):
    net = sc.Network((4, 4), conv=[sc.Conv(2, 3), sc.Conv(2, 2)], hidden=[hidden], outputs=2)
    return net, net.init(seed=2, bias_scale=0.3)


def test_backward_listing_keeps_V_only_on_request():
    from sayedcnn.training import backward_listing
    net, p = _listing_net()
    x = np.random.default_rng(3).standard_normal((1, 4, 4))
    res = net.forward(p, x, method="listing")
    sens = backward_listing(net, p, res, [0.5, -0.5])
    assert sens.V == {}
    kept = backward_listing(net, p, res, [0.5, -0.5], keep_V=True)
    assert sorted(kept.V) == [(d, d2, 2) for d in (1, 2) for d2 in (1, 2)]
    for key in sens.delta_conv:
        assert_allclose(sens.delta_conv[key], kept.delta_conv[key], rtol=0, atol=0)


def test_backward_listing_rejects_what_is_not_one_samples_forward_result():
    from sayedcnn.training import backward_listing
    net, p = _listing_net()
    X = np.random.default_rng(4).standard_normal((3, 1, 4, 4))
    batch = net.forward(p, X, method="listing")
    with pytest.raises(TypeError, match=r"^backward takes the forward result of one sample "
                                        r"\(47\.1216\); got a batch of 3: pass res\.samples\[n\]$"):
        backward_listing(net, p, batch, [0.5, -0.5])
    for wrong, name in ((net.forward(p, X, method="fused"), "FusedForward"), ({}, "dict")):
        with pytest.raises(TypeError, match=r"^backward needs the listing's forward result of one "
                                            r"sample \(net\.forward\(params, x, "
                                            r"method='listing'\), 47\.1216\), got " + name + "$"):
            backward_listing(net, p, wrong, [0.5, -0.5])
    other, q = _listing_net(hidden=4)  # same conv layers, n_2 = 4 instead of 3
    res = other.forward(q, X[0], method="listing")
    with pytest.raises(ValueError, match=r"^the forward result does not belong to this network: "
                                         r"z_l must have n_l entries \{2: \(3,\), 3: \(2,\)\} "
                                         r"\(47\.1216\), got \{2: \(4,\), 3: \(2,\)\}$"):
        backward_listing(net, p, res, [0.5, -0.5])
    assert backward_listing(net, p, batch.samples[1], [0.5, -0.5]).delta_ff.keys() == {2, 3}


def test_sgd_step_listing_takes_one_sample():
    from sayedcnn.training import sgd_step_listing
    net, p = _listing_net()
    X = np.random.default_rng(5).standard_normal((3, 1, 4, 4))
    with pytest.raises(ValueError, match=r"^sgd_step_listing takes one sample \(47\.1276\), got "
                                         r"3; use net\.sgd_step for a mini-batch$"):
        sgd_step_listing(net, p, X, np.zeros((3, 2)), mu=0.1)
    G = np.array([[0.5, -0.5]])
    one = sgd_step_listing(net, p, X[0], G[0], mu=0.1, rho1=0.2, rho2=0.3)
    want = p - 0.1 * loops.gradients(net, p, X[:1], G, 0.2, 0.3)
    assert one.max_rel_diff(want) <= 1e-12


def test_eq_47_1270_Delta_matrix_numbers_and_symbols():
    """Delta = diag{delta^(1), ..., delta^(D)} (47.1270): CSR for numbers, a dense object
    array for exact (symbolic) entries, the same layout."""
    from fractions import Fraction

    from sayedcnn.training import Delta_matrix, backward
    d1, d2, d3 = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]), np.array([7.0, 8.0, 9.0])
    want = np.zeros((9, 3))
    want[0:3, 0], want[3:6, 1], want[6:9, 2] = d1, d2, d3
    D = Delta_matrix([d1, d2, d3])
    assert D.format == "csr" and D.shape == (9, 3)
    assert_allclose(D.toarray(), want, rtol=0, atol=0)
    F = [np.array([Fraction(int(v), 7) for v in d], dtype=object) for d in (d1, d2, d3)]
    E = Delta_matrix(F)
    assert isinstance(E, np.ndarray) and E.dtype == object and E.shape == (9, 3)
    assert all(isinstance(e, (Fraction, int)) for e in E.ravel())
    assert_allclose(E.astype(float), want / 7, rtol=1e-15, atol=0)
    # backward keeps V^(d,d',c+1) only on request
    net, p = _listing_net()
    res = net.forward(p, np.ones((1, 4, 4)), method="listing")
    assert backward(net, p, res, np.array([0.5, -0.5])).V == {}


@pytest.mark.parametrize("method", ["fused", "listing"])
def test_fit_batch_callback_reports_each_batch(method):
    """batch_callback(epoch, step, steps, loss, correct, size): integer step numbers, the data
    risk of the batch and the hits of the parameters before the step, for both methods."""
    net, p, X, labels = _fit_problem()
    Gamma = one_hot(labels, 3)
    calls = []
    got, _ = net.fit(p, X, labels, epochs=1, batch_size=4, mu=0.3, seed=6, method=method,
                     batch_callback=lambda *a: calls.append(a))
    order = np.random.default_rng([6, 0]).permutation(10)
    q = p
    assert len(calls) == 3
    for k, (epoch, step, steps, loss, correct, size) in enumerate(calls):
        idx = order[4 * k:4 * k + 4]
        assert (epoch, step, steps, size) == (1, k + 1, 3, idx.size)
        assert all(type(v) is int for v in (epoch, step, steps, size, correct))
        assert loss == pytest.approx(loops.risk(net, q, X[idx], Gamma[idx]), rel=1e-12)
        hits = np.argmax(loops.predict(net, q, X[idx]), axis=1) == labels[idx]
        assert correct == int(hits.sum())
        q = q - 0.3 * loops.gradients(net, q, X[idx], Gamma[idx])
    assert got.max_rel_diff(q) <= 1e-11


def test_sgd_dispatchers_call_the_named_implementation(monkeypatch):
    """method="listing" runs the listing (47.1275), method="fused" the engine; risk's
    defaults are the unregularised (47.1229)."""
    from sayedcnn import sgd
    net, p, X, Gamma = _small_problem(seed=8, N=2)
    calls = []
    real_listing, real_fused = sgd.gradients_listing, fused.gradients_fused
    monkeypatch.setattr(sgd, "gradients_listing",
                        lambda *a, **k: calls.append("listing") or real_listing(*a, **k))
    monkeypatch.setattr(fused, "gradients_fused",
                        lambda *a, **k: calls.append("fused") or real_fused(*a, **k))
    g1 = sgd.gradients(net, p, X, Gamma, method="listing")
    g2 = sgd.gradients(net, p, X, Gamma, method="fused")
    g3 = sgd.gradients(net, p, X, Gamma)
    assert calls == ["listing", "fused", "fused"]
    assert g1.max_rel_diff(g2) <= 1e-12 and g3.max_rel_diff(g2) == 0.0
    calls.clear()
    want = p - 0.1 * loops.gradients(net, p, X, Gamma, 0.0, 0.0)
    s1 = sgd.sgd_step(net, p, X, Gamma, 0.1, method="listing")
    assert calls == ["listing"]
    s2 = sgd.sgd_step(net, p, X, Gamma, 0.1)  # the engine by default, rho = 0
    assert calls == ["listing"]  # the engine's step does not go through either entry point
    assert s1.max_rel_diff(want) <= 1e-12 and s2.max_rel_diff(want) <= 1e-12
    calls.clear()
    net.fit(p, X, Gamma, epochs=1, batch_size=1, method="listing")
    assert calls == ["listing", "listing"]  # one listing per batch
    # forward: the listing by default, one image gives one record
    res = sgd.forward(net, p, X[0])
    assert type(res).__name__ == "ForwardResult"
    assert type(sgd.forward(net, p, X)).__name__ == "BatchForward"
    assert type(sgd.forward(net, p, X, method="fused")).__name__ == "FusedForward"
    assert sgd.risk(net, p, X, Gamma) == pytest.approx(loops.risk(net, p, X, Gamma, 0.0, 0.0),
                                                       rel=1e-13)
    assert sgd.risk(net, p, X, Gamma, 0.2, 0.3, "1227") == pytest.approx(
        loops.risk(net, p, X, Gamma, 0.2, 0.3, "1227"), rel=1e-13)


def test_fit_callback_sees_the_parameters_and_history():
    import time
    net, p, X, labels = _fit_problem()
    seen = []

    def callback(epoch, params, history):
        seen.append((epoch, params.copy(), {k: list(v) for k, v in history.items()}))

    t0 = time.perf_counter()
    got, hist = net.fit(p, X, labels, epochs=2, batch_size=5, mu=0.2, callback=callback)
    elapsed = time.perf_counter() - t0
    assert [e for e, _, _ in seen] == [1, 2]
    assert seen[-1][1].max_rel_diff(got) == 0.0
    assert seen[0][2]["epoch"] == [1] and seen[1][2]["epoch"] == [1, 2]
    assert 0 <= sum(hist["seconds"]) <= elapsed
