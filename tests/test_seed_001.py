"""Seed note 001 (KTH DD2424): M_X^im, M_F^filter and the convolution forms of the gradients."""

import numpy as np
from numpy.testing import assert_allclose

from sayedcnn import V_ddc, commutation_matrix, sliding_partition, unvec, vec
from sayedcnn.fidelity import errata
from sayedcnn.fidelity.seeds import s001
from sayedcnn.forward import forward_listing
from sayedcnn.reference.image import (
    correlate_valid,
    filter_matrix_rowmajor,
    full_convolution,
    im2col_rowmajor,
)
from sayedcnn.training import backward_listing


def _K(r, c):
    return commutation_matrix(r, c).toarray()


def test_seed001_commutation_matrix_maps_column_major_to_row_major():
    """vec(X^T) = K vec(X): the note's row-major vec is K times the book's vec (47.1127)."""
    X = np.arange(12.0).reshape(3, 4)
    assert_allclose(_K(3, 4) @ vec(X), X.ravel(), rtol=0, atol=0)


def test_seed001_im2col_printed_rows_6x6_3x3():
    """Rows 1-5 and 16 of the 16 x 9 M_X^im, with X_ij read as 10i + j, are as printed."""
    M = s001.im2col(s001.labelled_image(), 3)
    assert M.shape == (16, 9)
    assert_allclose(M[0], [11, 12, 13, 21, 22, 23, 31, 32, 33], rtol=0, atol=0)
    assert_allclose(M[1], [12, 13, 14, 22, 23, 24, 32, 33, 34], rtol=0, atol=0)
    assert_allclose(M[2], [13, 14, 15, 23, 24, 25, 33, 34, 35], rtol=0, atol=0)
    assert_allclose(M[3], [14, 15, 16, 24, 25, 26, 34, 35, 36], rtol=0, atol=0)
    assert_allclose(M[4], [21, 22, 23, 31, 32, 33, 41, 42, 43], rtol=0, atol=0)
    assert_allclose(M[15], [44, 45, 46, 54, 55, 56, 64, 65, 66], rtol=0, atol=0)
    for r, pairs in s001.MXIM_PRINTED_ROWS.items():
        assert_allclose(M[r - 1], [10 * i + j for i, j in pairs], rtol=0, atol=0)


def test_seed001_im2col_is_K_Htranspose_K_and_matches_the_reference():
    """M_X^im = K_out H_{n,0}^T (I_D kron K_f)^T equals the loop-built im2col; vec_r(X*F) = M_X^im vec_r(F)."""
    rng = np.random.default_rng(0)
    for D, shape, f in [(1, (6, 6), 3), (3, (7, 5), 3), (3, (6, 6), 2)]:
        X = rng.standard_normal((D, *shape))
        M = s001.im2col(X, f)
        assert M.shape == ((shape[0] - f + 1) * (shape[1] - f + 1), D * f * f)
        assert_allclose(M, im2col_rowmajor(X, f), rtol=0, atol=0)
        F = rng.standard_normal((D, f, f))
        S = sum(correlate_valid(X[k], F[k]) for k in range(D))
        assert_allclose(M @ F.reshape(-1), S.ravel(), rtol=0, atol=1e-12)


def test_seed001_filter_matrix_16x144_matches_reference_and_V_ddc():
    """M_F^filter is 16 x 144 for 6x6x4 and 3x3x4; its blocks (I kron w_j^T) V transposed are V^(d,d',c+1) (47.1257)."""
    rng = np.random.default_rng(1)
    F = rng.standard_normal((4, 3, 3))
    Mf = s001.filter_matrix(F, (6, 6))
    assert Mf.shape == (16, 144)
    assert_allclose(Mf, filter_matrix_rowmajor(F, (6, 6)), rtol=0, atol=0)
    X = rng.standard_normal((4, 6, 6))
    S = sum(correlate_valid(X[k], F[k]) for k in range(4))
    assert_allclose(Mf @ X.reshape(-1), S.ravel(), rtol=0, atol=1e-12)
    blocks, part = s001.filter_matrix_blocks(F, (6, 6))
    for j in range(4):
        Vd = V_ddc(part.V, vec(F[j]), part.P, part.S).toarray()
        assert_allclose(blocks[j].T, Vd, rtol=0, atol=0)


def test_seed001_g_times_M_X_im_is_X_correlated_with_G():
    """(v_1..v_9) = (g_1..g_16) M_X^im  <=>  V (3x3) = X * G (4x4), row-major."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 6))
    G = rng.standard_normal((4, 4))
    v = G.reshape(-1) @ s001.im2col(X, 3)
    assert_allclose(v.reshape(3, 3), correlate_valid(X, G), rtol=0, atol=1e-12)


def test_seed001_g_times_M_F_is_zero_padded_G_with_rotated_filters():
    """v^T = g^T M_F^filter  <=>  V_k = G_zero-pad * F_k^rot180 for each of the 4 channels."""
    rng = np.random.default_rng(3)
    F = rng.standard_normal((4, 3, 3))
    G = rng.standard_normal((4, 4))
    v = G.reshape(-1) @ s001.filter_matrix(F, (6, 6))
    for k in range(4):
        assert_allclose(v.reshape(4, 6, 6)[k], full_convolution(G, F[k]), rtol=0, atol=1e-12)
        part = sliding_partition((6, 6), 3, padding="valid")
        book = V_ddc(part.V, vec(F[k]), part.P, part.S) @ vec(G)  # (47.1258)
        assert_allclose(unvec(book, (6, 6)), full_convolution(G, F[k]), rtol=0, atol=1e-12)


def test_seed001_softmax_cross_entropy_gradient():
    """-(y^T/(y^T p))(diag(p) - p p^T) = (p - y)^T = the package's output sensitivity."""
    rng = np.random.default_rng(4)
    net = s001.network()
    z = rng.standard_normal(3)
    p = net.output_activation.f(z)
    y = np.array([0.0, 0.0, 1.0])
    g = s001.softmax_ce_gradient(p, y)
    assert_allclose(g, p - y, rtol=0, atol=1e-15)
    assert_allclose(g, net.loss.delta(z, p, y, net.output_activation), rtol=0, atol=1e-15)


def test_seed001_filter_gradient_is_X_j_correlated_with_G_i():
    """Slice j of dl/dF_i is X_j * G_i (G_i = dl/dS_i) = the j-th block of (47.1269) H_{n,0} delta^(i,1); also dl/dvec(F_i) = g_i M_X^im."""
    rng = np.random.default_rng(5)
    net = s001.network(shape=(7, 6), n_filters=3)
    params = net.init(seed=5, bias_scale=0.1)
    x = rng.random((3, 7, 6))
    gamma = np.array([1.0, 0.0, 0.0])
    res = forward_listing(net, params, x)
    sens = backward_listing(net, params, res, gamma)
    grads = net.gradients(params, x[None], gamma[None], method="listing")
    ly = net.layers[0]
    M = s001.im2col(x, 3)
    for i in range(1, 4):
        G = unvec(sens.delta_conv[i, 1], ly.map_shape)
        for j in range(3):
            block = unvec(grads.W_conv[1][j * 9:(j + 1) * 9, i - 1], (3, 3))
            assert_allclose(block, correlate_valid(x[j], G), rtol=0, atol=1e-12)
        g_row = _K(*ly.map_shape) @ sens.delta_conv[i, 1]
        stacked = np.concatenate([_K(3, 3) @ grads.W_conv[1][j * 9:(j + 1) * 9, i - 1]
                                  for j in range(3)])
        assert_allclose(g_row @ M, stacked, rtol=0, atol=1e-12)


def test_seed001_input_gradient_two_layers_is_sum_of_full_convolutions():
    """dl/dX^(1) = sum_i G_i^zero-pad * F_{2i}^rot180 = sum_d' V^(d,d',2) delta^(d',2) (47.1258), and delta^(d,1) = relu'(z) .* that."""
    rng = np.random.default_rng(6)
    net = s001.two_layer_network()
    params = net.init(seed=6, bias_scale=0.1)
    x = rng.random((3, 8, 8))
    gamma = np.array([0.0, 1.0, 0.0])
    res = forward_listing(net, params, x)
    sens = backward_listing(net, params, res, gamma)
    l1, l2 = net.layers
    for d in range(1, 4):
        book = s001.input_gradient_book(net, params, sens, d)
        note = sum(full_convolution(unvec(sens.delta_conv[i, 2], l2.map_shape),
                                    unvec(params.W_conv[2][(d - 1) * 9:d * 9, i - 1], (3, 3)))
                   for i in range(1, 4))
        assert_allclose(book, note, rtol=0, atol=1e-12)
        assert_allclose(sens.delta_conv[d, 1],
                        l1.activation.fprime(res.z_conv[d, 1]) * vec(note), rtol=0, atol=1e-12)


def test_seed001_rgb_training_with_l2_and_minibatches():
    """Cross-entropy + L2 by mini-batch gradient descent (47.1276) learns the RGB shapes task."""
    _, hist, acc = s001.train(n_train=300, n_test=300, epochs=8)
    assert hist["loss"][-1] < hist["loss"][0]
    assert acc > 0.9


def test_seed001_erratum_E_S001a_no_sum_over_filters():
    """E-S001a: dl/dvec(F_i) = dl/dvec(S_i) M_X^im (the book's (47.1269)), not the printed sum over i."""
    net, params, x, res, sens = s001._state()
    ly = net.layers[0]
    M = s001.im2col(x, 3)
    K_out = _K(*ly.map_shape)
    G = [K_out @ sens.delta_conv[d, 1] for d in range(1, ly.D + 1)]  # dl/dvec(S_d), row-major
    printed, corrected = sum(g @ M for g in G), G[0] @ M
    grads = net.gradients(params, x[None], np.array([[0.0, 1.0, 0.0]]), method="listing")
    book = np.concatenate([_K(3, 3) @ grads.W_conv[1][j * 9:(j + 1) * 9, 0] for j in range(3)])
    assert_allclose(corrected, book, rtol=0, atol=1e-12)
    assert np.max(np.abs(printed - book)) > 1e-3
    assert errata.by_id("E-S001a").run().shown


def test_seed001_erratum_E_S001b_channel_slices_are_stacked():
    """E-S001b: dl/dF_1 is f x f x 3 with slice j = X_j * G_1; the printed sum over j is f x f."""
    net, params, x, res, sens = s001._state()
    G1 = unvec(sens.delta_conv[1, 1], net.layers[0].map_shape)
    slices = np.array([correlate_valid(x[j], G1) for j in range(3)])
    assert slices.sum(axis=0).shape == (3, 3)
    grads = net.gradients(params, x[None], np.array([[0.0, 1.0, 0.0]]), method="listing")
    for j in range(3):
        assert_allclose(slices[j], unvec(grads.W_conv[1][j * 9:(j + 1) * 9, 0], (3, 3)),
                        rtol=0, atol=1e-12)
    assert errata.by_id("E-S001b").run().shown


def test_seed001_erratum_E_S001c_identity_block_size():
    """E-S001c: the identity block of dvec(S)/dvec(S_1) is I_t, t = 16."""
    net, params, x, res, sens = s001._state()
    t = net.layers[0].P
    J = np.kron(np.array([[1.0], [0.0], [0.0]]), np.eye(t))  # d vec(S) / d vec(S_1)
    assert (J.shape, int(np.trace(J[:t, :t]))) == ((48, 16), 16)
    d = errata.by_id("E-S001c").run()
    assert d.shown and d.values["t"] == 16


def test_seed001_examples_reproduce():
    """Every example of seed 001 agrees, or differs by its registered erratum; the slips are
    defined once, in the register."""
    exs = s001.examples()
    assert {e.key for e in exs} == {"seed001"}
    assert all(e.ok for e in exs)
    assert not hasattr(s001, "ERRATA") and not [n for n in dir(s001) if n.startswith("demo_")]
    assert {e.erratum for e in exs if e.erratum} == {"E-S001a", "E-S001b"}
