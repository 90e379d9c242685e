"""Numerical edges, each a documented convention: max-pool ties go to the first entry in
region order (47.1196b), l2-pooling at t = 0 has gradient 0 (47.1196d), relu'(0) = 0
(47.1154), softmax and cross-entropy with large logits do not overflow (seed 001), and
float32 or integer input is converted to float64 (47.1216)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import sayedcnn as sc
from sayedcnn import Conv, Network, Pooling
from sayedcnn.losses import get_loss

try:
    from sayedcnn.reference import loops
except ImportError:  # pragma: no cover
    loops = None


@pytest.fixture(autouse=True)
def _no_warnings():
    """Every edge is handled without a RuntimeWarning (overflow, 0/0, invalid)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _grads(net, p, X, G):
    """Derivatives of (47.1229) by the listing, the fused path and (when present) the loops."""
    out = {"listing": net.gradients(p, X, G, method="listing"),
           "fused": net.gradients(p, X, G, method="fused")}
    if loops is not None:
        out["loops"] = loops.gradients(net, p, X, G)
    return out


# ---------------------------------------------------------------------------
# Max-pooling ties (47.1196b)
# ---------------------------------------------------------------------------


def test_max_pool_tie_gives_the_gradient_to_the_first_entry_of_each_block():
    """y = 0 on a 4 x 4 map: every 2 x 2 block is a four-way tie, g_p' = e_1 (its first entry
    in column-major block order, the block's top-left pixel); permute#(upv(v)) puts v(p') at
    entries 0, 2, 8, 10 (47.1196b, 47.1204)."""
    pool = Pooling("max", (4, 4), 2)
    y = np.zeros(16)
    for g in pool.gradient_vectors(y):
        assert_array_equal(g, [1.0, 0.0, 0.0, 0.0])
    v = np.array([1.0, 2.0, 3.0, 4.0])
    want = np.zeros(16)
    want[[0, 2, 8, 10]] = v  # top-left pixel r + 4c of blocks (0,0), (2,0), (0,2), (2,2)
    assert_array_equal(pool.backprop(v, y), want)
    assert_array_equal(pool.jacobian(y).T @ v, want)


def test_max_pool_tie_after_the_first_entry_goes_to_the_first_maximum():
    """Block entries (column-major) [1, 3, 3, 2]: the maximum 3 is tied at entries 2 and 3 of
    the block; g = e_2 (47.1196b). The block path (stride = block) and the region path
    (explicit regions, same order) agree."""
    y = np.zeros(4)
    y[:] = [1.0, 3.0, 3.0, 2.0]  # a 2 x 2 map, vec order
    blocks = Pooling("max", (2, 2), 2)
    regions = Pooling("max", regions=[[0, 1, 2, 3]], P=4)
    for pool in (blocks, regions):
        assert_array_equal(pool.gradient_vectors(y)[0], [0.0, 1.0, 0.0, 0.0])
        assert_array_equal(pool.backprop(np.array([5.0]), y), [0.0, 5.0, 0.0, 0.0])
        assert_array_equal(pool.pool(y), [3.0])


def test_max_pool_tie_follows_the_order_in_which_explicit_regions_list_entries():
    """Region Omega = [5, 1, 4, 0] over a constant map: 'first in region order' is entry 5,
    the first listed, not the smallest index (47.1187, 47.1196b)."""
    pool = Pooling("max", regions=[[5, 1, 4, 0]], P=8)
    y = np.full(8, 2.0)
    assert_array_equal(pool.gradient_vectors(y)[0], [1.0, 0.0, 0.0, 0.0])
    want = np.zeros(8)
    want[5] = 7.0
    assert_array_equal(pool.backprop(np.array([7.0]), y), want)


def test_max_pool_ties_agree_in_every_implementation_of_the_network():
    """A constant image with linear activations makes every pooling block a tie; the
    listing (47.1275), the fused path and the scalar loops give the same derivatives."""
    net = Network((4, 4), 1, [Conv(2, 3, "same", 1, "linear", ("max", 2))], [], 2)
    p = net.init(3, bias_scale=0.5)
    X = np.full((2, 1, 4, 4), 0.5)
    G = np.array([[1.0, 0.0], [0.0, 1.0]])
    g = _grads(net, p, X, G)
    for name, other in g.items():
        assert other.max_rel_diff(g["listing"]) < 1e-12, name


# ---------------------------------------------------------------------------
# l2-pooling at t = 0 (47.1196d)
# ---------------------------------------------------------------------------


def test_l2_pool_at_zero_has_zero_gradient_without_nan():
    """t = ||y(Omega)|| = 0: y/t is 0/0; the gradient vector is taken as 0, with no NaN
    and no warning (47.1196d)."""
    pool = Pooling("l2", (4, 4), 2)
    zero = np.zeros(16)
    for g in pool.gradient_vectors(zero):
        assert_array_equal(g, np.zeros(4))
    assert_array_equal(pool.backprop(np.ones(4), zero), np.zeros(16))
    # one non-zero block: Omega_1 = {0, 1, 4, 5} (rows 0-1, columns 0-1) holds 3 and -4
    y = np.zeros(16)
    y[[0, 5]] = [3.0, -4.0]
    assert_allclose(pool.pool(y), [5.0, 0.0, 0.0, 0.0], rtol=0, atol=1e-15)
    gv = pool.gradient_vectors(y)
    assert_allclose(gv[0], [0.6, 0.0, 0.0, -0.8], rtol=0, atol=1e-15)  # y / t
    for g in gv[1:]:
        assert_array_equal(g, np.zeros(4))  # t = 0 in the other three regions


def test_l2_pool_at_zero_stops_the_sensitivity_in_the_network():
    """Zero masks and biases with a linear f give y = 0, so t = 0 in every l2 region: the
    derivatives of W_1 and Theta_1 are exactly 0 (only the convention g = 0 zeroes them,
    since f' = 1), and every implementation agrees (47.1196d, 47.1245)."""
    net = Network((4, 4), 1, [Conv(2, 3, "same", 1, "linear", ("l2", 2))], [], 2)
    p = net.init(0)
    p.W_conv[1][:] = 0.0
    p.Theta_conv[1][:] = 0.0
    X = np.random.default_rng(1).random((2, 1, 4, 4))
    G = np.array([[1.0, 0.0], [0.0, 1.0]])
    g = _grads(net, p, X, G)
    for name, other in g.items():
        assert_array_equal(other.W_conv[1], 0.0, err_msg=name)
        assert_array_equal(other.Theta_conv[1], 0.0, err_msg=name)
        assert np.all(np.isfinite(other.to_vector())), name


# ---------------------------------------------------------------------------
# ReLU at 0 (47.1154)
# ---------------------------------------------------------------------------


def test_relu_derivative_at_zero_is_zero():
    """relu'(0) = 0, relu'(z) = 1 for z > 0 and 0 for z < 0 (47.1154)."""
    relu = sc.get_activation("relu")
    assert_array_equal(relu.fprime(np.array([-1.0, 0.0, 1e-300, 2.0])), [0.0, 0.0, 1.0, 1.0])
    assert_array_equal(relu.f(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 2.0])


@pytest.mark.parametrize("pool", [None, ("max", 2), ("mean", 2)])
def test_relu_at_zero_passes_no_sensitivity_in_the_network(pool):
    """W_1 = 0 and Theta_1 = 0 make every z^(d,1) exactly 0: with relu'(0) = 0 the
    derivatives of W_1 and Theta_1 are exactly zero (any other value at the kink would make
    them non-zero: the images are not zero), in every implementation (47.1245, 47.1271)."""
    net = Network((4, 4), 1, [Conv(2, 3, "same", 1, "relu", pool)], [3], 2)
    p = net.init(2, bias_scale=0.3)
    p.W_conv[1][:] = 0.0
    p.Theta_conv[1][:] = 0.0
    X = np.random.default_rng(2).random((3, 1, 4, 4)) + 0.5
    G = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    g = _grads(net, p, X, G)
    for name, other in g.items():
        assert_array_equal(other.W_conv[1], 0.0, err_msg=name)
        assert_array_equal(other.Theta_conv[1], 0.0, err_msg=name)
    # the feedforward part still learns (its inputs are 0 but its biases are not)
    assert np.max(np.abs(g["fused"].theta_ff[2])) > 1e-3


# ---------------------------------------------------------------------------
# Large logits (seed 001)
# ---------------------------------------------------------------------------


def test_softmax_of_large_logits_does_not_overflow():
    """softmax([1000, 0, -1000]) = [1, 0, 0] (e^1000 overflows float64, the shifted form
    never does), and softmax(z + c) = softmax(z) (seed 001)."""
    assert_array_equal(sc.softmax(np.array([1000.0, 0.0, -1000.0])), [1.0, 0.0, 0.0])
    z = np.array([[0.3, -1.2, 2.0], [5.0, 5.0, 5.0]])
    assert_allclose(sc.softmax(z + 1e5), sc.softmax(z), rtol=0, atol=1e-10)
    assert_allclose(sc.softmax(z[1]), [1 / 3] * 3, rtol=1e-15, atol=0)
    assert_allclose(sc.softmax(np.array([1e308, 1e308])), [0.5, 0.5], rtol=0, atol=0)


def test_cross_entropy_of_large_logits_is_finite_and_exact():
    """-gamma^T ln softmax(z) for z = [1000, 0], gamma = e_2: ln softmax(z)(2) = -1000 to
    rounding, so the loss is 1000 (not inf from ln 0) (seed 001)."""
    loss = get_loss("cross_entropy")
    z = np.array([1000.0, 0.0])
    y = sc.softmax(z)
    assert_allclose(loss.value(z, y, np.array([0.0, 1.0])), 1000.0, rtol=1e-15, atol=0)
    assert_allclose(loss.value(z, y, np.array([1.0, 0.0])), 0.0, rtol=0, atol=1e-300)


@pytest.mark.parametrize("loss, out", [("cross_entropy", "softmax"), ("quadratic", "sigmoid")])
def test_network_with_huge_output_weights_stays_finite(loss, out):
    """Output logits of order 1e4: outputs, risk (47.1229) and derivatives are finite in
    the listing and the fused path, softmax rows sum to 1, sigmoid outputs lie in [0, 1]."""
    net = Network((4, 4), 1, [Conv(2, 3, "same", 1, "tanh", ("max", 2))], [], 3,
                  output_activation=out, loss=loss)
    p = net.init(4)
    p.W_ff[1] *= 1e4
    X = np.random.default_rng(4).random((2, 1, 4, 4))
    G = np.eye(3)[[0, 2]]
    for method in ("listing", "fused"):
        y = net.forward(p, X, method=method).output
        assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
        if out == "softmax":
            assert_allclose(y.sum(axis=1), 1.0, rtol=1e-14, atol=0)
        assert np.all(np.isfinite(net.gradients(p, X, G, method=method).to_vector()))
    assert np.isfinite(net.risk(p, X, G))


def test_sigmoid_of_large_arguments_is_exact_without_overflow():
    """The logistic function at +-1000 gives 1 and 0 (e^{1000} is never formed, 47.1154)."""
    sig = sc.get_activation("sigmoid")
    assert_array_equal(sig.f(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])
    assert_array_equal(sig.fprime(np.array([-1000.0, 1000.0])), [0.0, 0.0])
    assert_array_equal(sig.f(np.array([0, 1])), sig.f(np.array([0.0, 1.0])))  # integers


# ---------------------------------------------------------------------------
# float32 and integer input (47.1216)
# ---------------------------------------------------------------------------


def test_float32_and_integer_images_are_converted_to_float64():
    """check_images returns float64; a float32 (or integer) batch gives exactly the numbers
    of its float64 copy in the forward pass (47.1216) and the derivatives (47.1275)."""
    net = Network((5, 5), 2, [Conv(2, 3, "same", 1, "tanh", ("mean", (2, 2), (1, 1)))], [4], 3)
    p = net.init(5, bias_scale=0.2)
    X64 = np.random.default_rng(5).random((3, 2, 5, 5))
    G = np.eye(3)
    for Xlow in (X64.astype(np.float32), (X64 * 255).astype(np.uint8),
                 (X64 * 255).astype(np.int32)):
        Xup = Xlow.astype(np.float64)
        assert net.check_images(Xlow).dtype == np.float64
        for method in ("listing", "fused"):
            a = net.forward(p, Xlow, method=method).output
            assert a.dtype == np.float64
            assert_array_equal(a, net.forward(p, Xup, method=method).output)
            ga = net.gradients(p, Xlow, G, method=method)
            assert_array_equal(ga.to_vector(), net.gradients(p, Xup, G, method=method).to_vector())


def test_float32_parameters_are_converted_to_float64():
    """Parameters given in float32 are checked and used as float64 (47.1224)."""
    net = Network((4, 4), 1, [Conv(2, 3)], [], 2)
    p = net.init(6)
    p32 = p.map(lambda a: a.astype(np.float32))
    q = net.check_params(p32)
    assert all(a.dtype == np.float64 for _, _, a in q.items())
    X = np.random.default_rng(6).random((2, 1, 4, 4))
    assert_array_equal(net.predict(p32, X), net.predict(p32.map(lambda a: a.astype(float)), X))


def test_one_hot_refuses_targets_beyond_the_size_limit():
    """Gamma (N x Q, 47.1229) of more than 2^27 entries is refused before it is allocated."""
    from sayedcnn.losses import one_hot

    with pytest.raises(ValueError, match=r"^the targets Gamma would be N x Q = 2 x 67108865 "):
        one_hot(np.array([0, 1]), 2**26 + 1)


def test_activations_of_symbols_stay_unevaluated():
    """On sympy entries f is applied without evaluation (47.1154): tanh(0) stays tanh(0), so
    the symbolic listing keeps the book's structure."""
    sympy = pytest.importorskip("sympy")
    from sayedcnn.activations import ACTIVATIONS

    z = np.array([sympy.Integer(0), sympy.Symbol("z")], dtype=object)
    y = ACTIVATIONS["tanh"].f(z)
    assert y.dtype == object and str(y[0]) == "tanh(0)" and str(y[1]) == "tanh(z)"
    s = ACTIVATIONS["sigmoid"].f(z)
    assert "exp" in str(s[0])
