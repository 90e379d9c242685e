"""Seed note 000: overlapping 2x2 max-pooling at stride 1 on a 3x3 map, against the book's T."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sayedcnn import commutation_matrix, unvec, vec
from sayedcnn.activations import get_activation
from sayedcnn.fidelity import errata
from sayedcnn.fidelity.seeds import s000
from sayedcnn.forward import forward_listing
from sayedcnn.losses import one_hot
from sayedcnn.reference.finite_diff import numerical_gradient
from sayedcnn.reference.image import correlate_valid
from sayedcnn.training import backward_listing


def _K(r, c):
    return commutation_matrix(r, c).toarray()


def test_seed000_forward_example_max_pool():
    """V = [[3,2,5],[4,1,7],[3,5,0]] pooled by 2x2 windows at stride 1 gives M = [[4,7],[5,7]]."""
    assert_allclose(s000.max_pool_example(), [[4, 7], [5, 7]], rtol=0, atol=0)
    assert_allclose(s000.max_pool_example(s000.V_PRINTED), s000.M_PRINTED, rtol=0, atol=0)


def test_seed000_reverse_maxpool_matrix_as_printed():
    """The note's 4x4 indicators = K_{2,2} G_book K_{2,2}^T, G_book the gradient vectors (47.1196b)."""
    printed = np.array([[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 1, 0, 0]])
    assert_allclose(s000.reverse_maxpool_matrix(), printed, rtol=0, atol=0)
    pool = s000.note_pooling()
    G = np.array(pool.gradient_vectors(vec(s000.V_PRINTED)))
    K = _K(2, 2)
    assert_allclose(K.T @ s000.reverse_maxpool_matrix() @ K, G, rtol=0, atol=0)


def test_seed000_T_is_a_selection_matrix():
    """T (47.1203) is 16 x 9 with T^T T = diag(how many windows hold each entry) = diag(1,2,1,2,4,2,1,2,1)."""
    T = s000.note_pooling().T.toarray()
    assert T.shape == (16, 9)
    assert_allclose(T.T @ T, np.diag([1, 2, 1, 2, 4, 2, 1, 2, 1]), rtol=0, atol=0)
    assert not np.allclose(T @ T.T, np.eye(16))


def test_seed000_w_pool_is_GT_and_its_transpose_is_permute_sharp_upv():
    """w_pool = G T (4 x 9) and w_pool^T v = T^T upv(v) = permute#(upv(v)) (47.1244)."""
    rng = np.random.default_rng(0)
    pool = s000.note_pooling()
    for _ in range(5):
        y = rng.standard_normal(9)
        v = rng.standard_normal(4)
        W = s000.w_pool_matrix(unvec(y, (3, 3)))
        assert W.shape == (4, 9)
        assert_allclose(W, pool.jacobian(y), rtol=0, atol=0)
        assert_allclose(W.T @ v, pool.permute_sharp(pool.upv(v, y)), rtol=0, atol=1e-15)
        assert_allclose(W.T @ v, pool.backprop(v, y), rtol=0, atol=1e-15)


def test_seed000_overlap_entry_collects_two_windows():
    """In V, the 7 at row 1, column 2 is the max of windows 2 and 4 (row-major), so w_pool^T delta puts delta_2 + delta_4 there."""
    W = s000.w_pool_matrix(s000.V_PRINTED, order="note")
    delta_pool = np.array([0.1, 0.2, 0.3, 0.4])
    out = (W.T @ delta_pool).reshape(3, 3)
    assert_allclose(out, [[0, 0, 0], [0.1, 0, 0.6], [0, 0.3, 0]], rtol=0, atol=1e-15)


def test_seed000_note_recursion_equals_book_boundary_sensitivity():
    """delta^conv = (w_pool^T delta^pool) .* sigma'(z^conv) = f'(z) .* permute#(upv(delta^pool)) (47.1245)."""
    rng = np.random.default_rng(1)
    act = get_activation("sigmoid")
    for _ in range(5):
        z = rng.standard_normal((3, 3))
        dp = rng.standard_normal(4)
        assert_allclose(s000.conv_sensitivity_note(dp, z, act),
                        s000.conv_sensitivity_book(dp, z, act), rtol=0, atol=1e-15)


def test_seed000_note_backward_equals_listing():
    """The note's delta^L, delta^pool = (W^L)^T delta^L, delta^conv and the filter gradient equal the listing (47.1275)."""
    net = s000.network()
    params = net.init(seed=3, bias_scale=0.5)
    X, y = s000.bars(4, seed=3)
    G = one_hot(y, 2)
    for x, gamma in zip(X, G):
        note = s000.note_backward(net, params, x, gamma)
        res = forward_listing(net, params, x)
        sens = backward_listing(net, params, res, gamma)
        assert_allclose(note["delta_L"], sens.delta_ff[2], rtol=0, atol=1e-15)
        assert_allclose(note["delta_conv"], _K(3, 3) @ sens.delta_conv[1, 1], rtol=0, atol=1e-15)
        grads = net.gradients(params, x[None], gamma[None], method="listing")
        assert_allclose(note["grad_mask"], unvec(grads.W_conv[1][:, 0], (2, 2)), rtol=0,
                        atol=1e-14)
        D = note["delta_conv"].reshape(3, 3)
        assert_allclose(note["grad_mask"], correlate_valid(x[0], D), rtol=0, atol=1e-14)


@pytest.mark.parametrize("method", ["listing", "fused"])
def test_seed000_network_with_overlapping_pooling_passes_finite_differences(method):
    """dJ_emp/dparams (47.1275) of the overlapping-pooling network = central differences of (47.1229)."""
    net = s000.network()
    params = net.init(seed=5, bias_scale=0.3)
    X, y = s000.bars(6, seed=5)
    G = one_hot(y, 2)
    grads = net.gradients(params, X, G, rho1=0.01, rho2=0.02, method=method)
    num = numerical_gradient(lambda p: net.risk(p, X, G, rho1=0.01, rho2=0.02), params)
    assert grads.max_rel_diff(num) < 1e-7


def test_seed000_network_with_overlapping_pooling_trains():
    """(47.1276) on the bars task reaches 100% on fresh test images."""
    _, hist, acc = s000.train(epochs=10)
    assert hist["loss"][-1] < hist["loss"][0]
    assert acc >= 0.95


def test_seed000_erratum_E_S000a_delta_conv_has_nine_entries():
    """E-S000a (the register's demonstration): the printed 4x4 w_pool gives 4 numbers; delta^conv has 9, and the note's own recursion with the 4 x 9 w_pool equals the book's (47.1245)."""
    d = errata.by_id("E-S000a").run()
    assert d.shown
    assert np.shape(d.values["printed"]) == (4,)
    assert np.shape(d.values["corrected"]) == (9,)
    net, params, x, gamma, res, sens = s000._example_state()
    note = s000.note_backward(net, params, x, gamma)
    book = commutation_matrix(3, 3).toarray() @ sens.delta_conv[1, 1]
    assert_allclose(note["delta_conv"], book, rtol=0, atol=1e-15)


def test_seed000_erratum_E_S000c_printed_shapes_do_not_multiply():
    """E-S000c: with W^L 4 x 2, (W^L)^T delta^L is undefined."""
    with pytest.raises(ValueError, match="matmul"):
        np.zeros((4, 2)).T @ np.zeros((2, 1))  # "# rows in W^L = 4, # cols = 2"
    d = errata.by_id("E-S000c").run()
    assert d.shown and "matmul" in d.printed


def test_seed000_erratum_E_S000b_no_sigma_prime_at_the_pooling_layer():
    """E-S000b: dQ/dt = W_1^T delta_2 (47.1241) matches central differences; the printed sigma'(z^pool) factor does not."""
    net, params, x, gamma, res, sens = s000._example_state()
    ly = net.layers[0]
    corrected = params.W_ff[1].T @ sens.delta_ff[2]  # (47.1241)
    printed = corrected * ly.activation.fprime(ly.pooling.pool(res.z_conv[1, 1]))
    t = res.t_conv[1, 1]
    out = net.ff_activation[2].f

    def Q(tt):
        return np.sum((gamma - out(params.W_ff[1] @ tt - params.theta_ff[1])) ** 2)

    h = 1e-6
    fd = np.array([(Q(t + h * e) - Q(t - h * e)) / (2 * h) for e in np.eye(4)])
    assert_allclose(corrected, fd, rtol=0, atol=1e-8)
    assert np.max(np.abs(printed - fd)) > 1e-2
    assert errata.by_id("E-S000b").run().shown


def test_seed000_examples_reproduce():
    """Every example of seed 000 agrees, or differs by its registered erratum; the slips are
    defined once, in the register, and the erratum rows show the register's numbers."""
    exs = s000.examples()
    assert {e.key for e in exs} == {"seed000"}
    assert all(e.ok for e in exs)
    assert sum(e.erratum is not None for e in exs) == 2
    assert not hasattr(s000, "ERRATA") and not [n for n in dir(s000) if n.startswith("demo_")]
    for e in exs:
        if e.erratum is not None:
            d = errata.by_id(e.erratum).run()
            assert e.basis == "evaluated"
            assert_allclose(e.printed, d.values["printed"], rtol=0, atol=0)
            assert_allclose(e.computed, d.values["corrected"], rtol=0, atol=0)
    delta_row = [e for e in exs if "4 x 9 Jacobian" in e.title]
    assert len(delta_row) == 1 and delta_row[0].basis == "evaluated"  # the note prints no numbers
