"""Seed note 002 (Nielsen-style BP1-BP4): 28x28 -> 24x24 -> 12x12 -> 10, against the listing."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sayedcnn.data.datasets import load_mnist5k
from sayedcnn.fidelity import errata
from sayedcnn.fidelity.seeds import s002
from sayedcnn.losses import one_hot
from sayedcnn.reference.image import nielsen_forward
from sayedcnn.sgd import accuracy


@pytest.fixture(scope="module")
def mnist():
    return load_mnist5k(seed=0)


def _random_params(seed):
    net = s002.network()
    params = net.init(seed=seed, bias_scale=0.5)
    return net, params


def test_seed002_sizes_as_printed():
    """0 <= j,k <= 23 (24 x 24 map), 0 <= j,k <= 11 (12 x 12 pooled), 25 shared weights, one shared bias, l = 0..9."""
    net = s002.network()
    ly = net.layers[0]
    assert ly.map_shape == (24, 24)
    assert ly.pooled_shape == (12, 12)
    assert (ly.S, ly.D_in, ly.D) == (25, 1, 1)
    assert net.n[1:] == [144, 10]
    assert net.parameter_count() == {"book": 1476, "effective": 1476}


def test_seed002_parameter_maps_round_trip():
    """from_nielsen(to_nielsen(params)) = params; W_1^conv = vec(w^1), Theta_1 = -b^1, [W_1]_{l, j+12k} = w^3_{l;j,k}."""
    net, params = _random_params(1)
    w1, b1, w3, b3 = s002.to_nielsen(params)
    back = s002.from_nielsen(w1, b1, w3, b3)
    assert back.max_rel_diff(params) == 0.0
    assert w3[4, 2, 7] == params.W_ff[1][4, 2 + 12 * 7]
    assert w1[3, 1] == params.W_conv[1][3 + 5 * 1, 0]


def test_seed002_forward_index_formulas_equal_listing(mnist):
    """z^1, a^2 and a^3 of the note's index formulas equal (47.1216) on random and MNIST images."""
    net, params = _random_params(2)
    w1, b1, w3, b3 = s002.to_nielsen(params)
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.random((2, 1, 28, 28)), mnist.X_train[:2]])
    out = net.forward(params, X, method="listing")
    for x, res in zip(X, out.samples):
        fw = nielsen_forward(x[0], w1, b1, w3, b3)
        assert_allclose(fw["z1"].reshape(-1, order="F"), res.z_conv[1, 1], rtol=0, atol=1e-12)
        assert_allclose(fw["a2"].reshape(-1, order="F"), res.t_conv[1, 1], rtol=0, atol=1e-15)
        assert_allclose(fw["a3"], res.output, rtol=0, atol=1e-15)


@pytest.mark.parametrize("ties", ["first", "all"])
def test_seed002_bp1_to_bp4_equal_listing_on_continuous_images(ties):
    """BP1-BP4 (shared b^1, floor(j/2) pooling) = the derivatives of (47.1275) where no block ties."""
    net, params = _random_params(3)
    rng = np.random.default_rng(3)
    X = rng.random((2, 1, 28, 28))
    Gamma = one_hot(np.array([3, 8]), 10)
    note = s002.nielsen_as_params(params, X, Gamma, ties=ties)
    for method in ("listing", "fused"):
        book = net.gradients(params, X, Gamma, method=method)
        assert note.max_rel_diff(book) < 1e-12


def test_seed002_bp1_to_bp4_equal_listing_on_mnist(mnist):
    """On MNIST (tied background blocks) BP1-BP4 with one winner per block = (47.1275)."""
    net, params = _random_params(4)
    X = mnist.X_train[:2]
    Gamma = one_hot(mnist.y_train[:2], 10)
    note = s002.nielsen_as_params(params, X, Gamma, ties="first")
    book = net.gradients(params, X, Gamma, method="listing")
    assert note.max_rel_diff(book) < 1e-12


def test_seed002_erratum_E_S002a_ties_on_mnist():
    """E-S002a on MNIST: dJ/db^1 = central difference along b^1 for the book's rule; the literal BP2 rule (every tied entry) is off."""
    net, params, X, Gamma = s002._mnist_state()
    printed = -s002.nielsen_as_params(params, X, Gamma, ties="all").Theta_conv[1][0, 0]
    corrected = -net.gradients(params, X, Gamma, method="listing").Theta_conv[1][0, 0]
    fd = s002.finite_difference_b1(net, params, X, Gamma)
    assert_allclose(corrected, fd, rtol=1e-7, atol=0)
    assert abs(printed - fd) > 0.1
    d = errata.by_id("E-S002a").run()  # the register shows it on a blank background
    assert d.shown and d.values["tied_blocks"] > 0


def test_seed002_erratum_E_S002b_ten_outputs():
    """E-S002b: the missing bound is l <= 9."""
    assert s002.network().Q - 1 == 9
    assert errata.by_id("E-S002b").run().shown


def test_seed002_erratum_E_S002c_summation_index():
    """E-S002c: BP4 summed over j, k is the book's dJ/dW_1 (47.1271); the literal sum over i is not."""
    from sayedcnn.reference.image import nielsen_gradients

    net, params, X, Gamma = s002._mnist_state()
    w1, b1, w3, b3 = s002.to_nielsen(params)
    g = nielsen_gradients(X[0, 0], Gamma[0], w1, b1, w3, b3)
    d1, a0 = g["delta1"], X[0, 0]
    printed = np.array([[24 * sum(d1[0, k] * a0[l, k + m] for k in range(24)) for m in range(5)]
                        for l in range(5)])  # sum over i repeats the row j = 0
    corrected = g["w1"]
    book = net.gradients(params, X, Gamma, method="listing").W_conv[1][:, 0]
    assert_allclose(corrected.reshape(-1, order="F"), book, rtol=0, atol=1e-12)
    assert np.max(np.abs(printed - corrected)) > 1e-3
    assert errata.by_id("E-S002c").run().shown


def test_seed002_trains_on_mnist(mnist):
    """A few epochs of (47.1276) on 300 MNIST-5k images lift test accuracy well above chance (0.1)."""
    net = s002.network()
    params = net.init(seed=0)
    params, hist = net.fit(params, mnist.X_train[:300], mnist.y_train[:300], epochs=3,
                           batch_size=1, mu=0.5, seed=0)
    acc = accuracy(net, params, mnist.X_test[:500], mnist.y_test[:500])
    assert hist["loss"][-1] < hist["loss"][0]
    assert acc > 0.4


def test_seed002_examples_reproduce():
    """Every example of seed 002 agrees, or differs by its registered erratum; the slips are
    defined once, in the register, and the E-S002a row shows the register's numbers."""
    exs = s002.examples()
    assert {e.key for e in exs} == {"seed002"}
    assert all(e.ok for e in exs)
    assert not hasattr(s002, "ERRATA") and not [n for n in dir(s002) if n.startswith("demo_")]
    (row,) = [e for e in exs if e.erratum]
    d = errata.by_id("E-S002a").run()
    assert row.erratum == "E-S002a" and row.basis == "evaluated"
    assert (row.printed, row.computed) == (d.values["printed"], d.values["corrected"])
