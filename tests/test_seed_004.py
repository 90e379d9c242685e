"""Seed note 004 (Xu on Bouvrie): the S2-C3 table, trainable average pooling, up(), rotations."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sayedcnn import Conv, Network, correlate, flip_mask, reversal_matrix, unvec
from sayedcnn.fidelity import errata
from sayedcnn.fidelity.seeds import s004
from sayedcnn.reference.finite_diff import central_differences
from sayedcnn.reference.image import (
    convolve_valid,
    correlate_valid,
    full_convolution,
    full_correlation,
    sum_pool,
    upsample,
)


def test_seed004_s2_c3_table_as_stated():
    """Table 1: 6 S2 maps x 16 C3 maps, 60 X's, S2 map 0 feeds 0,4,5,6,9,10,11,12,14,15."""
    M = s004.table_matrix()
    assert M.shape == (6, 16)
    assert int(M.sum()) == 60
    assert list(np.flatnonzero(M[0])) == [0, 4, 5, 6, 9, 10, 11, 12, 14, 15]
    assert list(M.sum(axis=0)) == [3] * 6 + [4] * 9 + [6]
    assert list(M.sum(axis=1)) == [10] * 6


def test_seed004_c3_parameter_count_1516():
    """C3 alone: 60 x 5 x 5 + 16 = 1516 effective parameters; the book's W_3, Theta_3 hold 25*6*16 + 6*16 = 2496."""
    net = Network((14, 14), 6, [Conv(16, 5, padding="valid", connections=s004.S2_C3)],
                  outputs=10)
    ff = 10 * 16 * 10 * 10 + 10
    counts = net.parameter_count()
    assert counts["effective"] - ff == 60 * 5 * 5 + 16 == 1516
    assert counts["book"] - ff == 2496
    assert s004.c3_counts()["effective"] == 1516
    assert s004.c3_counts()["book"] == 2496


def test_seed004_lenet5_layer_counts():
    """LeNet-5: C1 156, S2 12, C3 1516, S4 32, C5 48120, F6 10164 trainable parameters."""
    c = s004.lenet5_counts()
    got = {k: c[k]["effective"] for k in ("C1", "S2", "C3", "S4", "C5", "F6")}
    assert got == {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164}


def test_seed004_up_is_kron_ones_and_book_T_upv():
    """up(x) = x kron 1_{n x n} = n^2 T^T upv(x) for mean pooling (47.1196a) = T^T upv(x) for sum pooling."""
    rng = np.random.default_rng(0)
    for n, shape in [(2, (3, 3)), (3, (2, 4))]:
        x = rng.standard_normal(shape)
        big = (shape[0] * n, shape[1] * n)
        assert_allclose(s004.up(x, n), np.kron(x, np.ones((n, n))), rtol=0, atol=0)
        assert_allclose(s004.up(x, n), upsample(x, n), rtol=0, atol=0)
        assert_allclose(s004.up(x, n), n * n * s004.up_book(x, big, n, "mean"), rtol=0,
                        atol=1e-14)
        assert_allclose(s004.up(x, n), s004.up_book(x, big, n, "sum"), rtol=0, atol=0)


def test_seed004_down_is_correlation_pooling_with_ones():
    """down(x) (block sums) = correlation pooling with mask 1 (47.1180)."""
    x = np.random.default_rng(1).standard_normal((6, 8))
    assert_allclose(s004.down(x, 2), sum_pool(x, 2), rtol=0, atol=1e-14)


def test_seed004_eq13_kernel_gradient_is_H_delta():
    """(13) dE/dk = x * delta (correlation forward) = H delta (47.1269)."""
    rng = np.random.default_rng(2)
    x, delta = rng.standard_normal((7, 6)), rng.standard_normal((4, 3))
    g = s004.eq13_kernel_gradient(x, delta)
    assert_allclose(g, correlate_valid(x, delta), rtol=0, atol=1e-13)
    assert_allclose(g, s004.book_kernel_gradient(x, delta, (4, 4)), rtol=0, atol=1e-13)


def test_seed004_eq14_rotated_form_for_a_convolution_forward():
    """With z = x conv k (true convolution, = correlation with J k J by (47.1139)), dE/dk = J (x conv J delta J) J (14) = J (H delta) J."""
    rng = np.random.default_rng(3)
    x, k, delta = rng.standard_normal((6, 6)), rng.standard_normal((3, 3)), rng.standard_normal((4, 4))
    assert_allclose(convolve_valid(x, k), correlate(x, flip_mask(k), padding="valid"),
                    rtol=0, atol=1e-13)
    g14 = s004.eq14_kernel_gradient(x, delta)
    J = reversal_matrix(3).toarray()
    assert_allclose(g14, J @ s004.book_kernel_gradient(x, delta, 3) @ J, rtol=0, atol=1e-13)
    # E = <delta, x conv k> is linear in k: its gradient is exact
    E = lambda kk: np.sum(delta * convolve_valid(x, kk))
    num = np.array([[E(np.eye(3)[i][:, None] * np.eye(3)[j][None, :]) for j in range(3)]
                    for i in range(3)])
    assert_allclose(g14, num, rtol=0, atol=1e-12)


def test_seed004_eq16_to_18_are_the_book_V_ddc():
    """(16) delta~ * (J k J) = V^(d,d',c+1) delta (47.1257); (17) sums it over j in M_i; (18) multiplies by f'(z)."""
    rng = np.random.default_rng(4)
    delta, k = rng.standard_normal((4, 5)), rng.standard_normal((3, 2))
    g16 = s004.eq16_input_gradient(delta, k)
    assert g16.shape == (6, 6)
    assert_allclose(g16, full_convolution(delta, k), rtol=0, atol=1e-13)
    assert_allclose(g16, s004.book_input_gradient(delta, k, (6, 6)), rtol=0, atol=1e-13)
    assert not np.allclose(g16, full_correlation(delta, k))
    deltas = rng.standard_normal((16, 10, 10))
    kernels = rng.standard_normal((16, 5, 5))
    M_0 = [d for d in range(16) if 0 in s004.S2_C3[d]]
    g17 = s004.eq17_input_gradient(deltas, kernels, M_0)
    book = sum(s004.book_input_gradient(deltas[j], kernels[j], (14, 14)) for j in M_0)
    assert_allclose(g17, book, rtol=0, atol=1e-12)
    fz = rng.random((14, 14))
    assert_allclose(s004.eq18_pool_sensitivity(fz, deltas, kernels, M_0), fz * book, rtol=0,
                    atol=1e-12)


def test_seed004_pool_layer_forward_is_equation_2():
    """z_j = beta_j down(y_j) + b_j 1 1^T, x_j = f(z_j) (2)."""
    rng = np.random.default_rng(5)
    layer = s004.TrainableAveragePool((6, 6), 2, 3)
    y = rng.standard_normal((2, 36, 3))
    beta, b = rng.standard_normal(3), rng.standard_normal(3)
    s, z, x = layer.forward(y, beta, b)
    for n in range(2):
        for j in range(3):
            want = beta[j] * sum_pool(unvec(y[n, :, j], (6, 6)), 2) + b[j]
            assert_allclose(unvec(z[n, :, j], (3, 3)), want, rtol=0, atol=1e-14)
            assert_allclose(x[n, :, j], np.tanh(z[n, :, j]), rtol=0, atol=0)


def test_seed004_pool_layer_backward_note_equals_book():
    """beta_j up(delta_j) (6) = T^T upv(delta_j) with g = beta_j 1 (47.1244); (19), (21) are the sums."""
    rng = np.random.default_rng(6)
    layer = s004.TrainableAveragePool((7, 6), 2, 2)  # row 6 is left out of every block
    y = rng.standard_normal((3, 42, 2))
    beta, b = rng.standard_normal(2), rng.standard_normal(2)
    s, z, x = layer.forward(y, beta, b)
    dE_dx = rng.standard_normal(z.shape)
    book = layer.backward(dE_dx, s, z, y, beta, method="book")
    note = layer.backward(dE_dx, s, z, y, beta, method="note")
    for a, c in zip(book, note):
        assert_allclose(a, c, rtol=0, atol=1e-14)
    delta = (1 - np.tanh(z) ** 2) * dE_dx
    assert_allclose(book[2], delta.sum(axis=(0, 1)), rtol=0, atol=1e-13)
    assert_allclose(book[1], (delta * s).sum(axis=(0, 1)), rtol=0, atol=1e-13)
    rows = book[0].reshape(3, 6, 7, 2).transpose(0, 2, 1, 3)  # unvec of each map (7 x 6)
    assert_allclose(rows[:, 6, :, :], 0.0, rtol=0, atol=0)  # the row no block covers


@pytest.mark.parametrize("pool_backward,input_backward",
                         [("book", "V_ddc"), ("note", "V_ddc"), ("book", "stacked")])
def test_seed004_poolnet_gradients_pass_finite_differences(pool_backward, input_backward):
    """Every derivative of the network with trainable beta, b (C1, S2, C3 with a table, output) = central differences of its risk (47.1229)."""
    net = s004.PoolNet(Q=4)
    rng = np.random.default_rng(7)
    params = net.init(seed=7)
    params["beta"] = rng.uniform(0.2, 1.0, net.d1)
    params["b"] = 0.3 * rng.standard_normal(net.d1)
    params["theta1"] = 0.2 * rng.standard_normal(net.d1)
    params["theta3"] = 0.2 * rng.standard_normal(net.d3)
    params["theta"] = 0.2 * rng.standard_normal(net.Q)
    X, y = s004.bars(4, seed=7)
    Gamma = np.eye(4)[y]
    g = net.gradients(params, X, Gamma, pool_backward=pool_backward,
                      input_backward=input_backward)
    v = net.to_vector(params)
    num = central_differences(lambda u: net.risk(net.from_vector(u, params), X, Gamma), v,
                              h=1e-5, order=4)
    assert_allclose(net.to_vector(g), num, rtol=0, atol=1e-9)
    assert np.abs(g["beta"]).min() > 1e-6 and np.abs(g["b"]).min() > 1e-6
    off = ~np.repeat(net.conn, net.part3.S, axis=0)
    assert np.all(g["W3"][off] == 0)


def test_seed004_poolnet_trains_beta_and_b():
    """The network learns the bars task and moves beta, b away from their start."""
    net = s004.PoolNet(Q=4)
    X, y = s004.bars(300, seed=0)
    Xt, yt = s004.bars(300, seed=1)
    p0 = net.init(seed=0)
    p, losses = net.fit(p0, X, y, epochs=6, batch_size=16, mu=1.0, seed=0)
    assert losses[-1] < losses[0]
    assert np.mean(net.predict(p, Xt) == yt) > 0.9
    assert np.max(np.abs(p["beta"] - p0["beta"])) > 1e-2
    assert np.max(np.abs(p["b"] - p0["b"])) > 1e-2
    assert net.parameter_count() == net.to_vector(p0).size - int((~np.repeat(
        net.conn, net.part3.S, axis=0)).sum())


def test_seed004_erratum_E_S004a_up_uses_all_ones():
    """E-S004a: x kron I differs from up(x) = x kron 1 = T^T upv(x) for sum pooling."""
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    printed, corrected = np.kron(x, np.eye(2)), s004.up(x, 2)
    assert_allclose(corrected, s004.up_book(x, (4, 4), 2, "sum"), rtol=0, atol=0)
    assert not np.allclose(printed, corrected)
    assert errata.by_id("E-S004a").run().shown


def test_seed004_erratum_E_S004b_bias_matrix_is_all_ones():
    """E-S004b: with b 1 1^T, dE/db = sum(delta) as (10) says; with b I it is the trace."""
    rng = np.random.default_rng(6)
    x, k = rng.standard_normal((4, 4)), rng.standard_normal((2, 2))
    delta = rng.standard_normal((3, 3))
    base = correlate(x, k, padding="valid")

    def slope(B):
        return central_differences(lambda b: float(np.sum(delta * (base + b[0] * B))), [0.0])[0]

    printed, corrected = slope(np.eye(3)), slope(np.ones((3, 3)))
    assert_allclose(corrected, delta.sum(), rtol=1e-8, atol=0)
    assert_allclose(printed, np.trace(delta), rtol=1e-8, atol=0)
    assert abs(printed - corrected) > 1e-3
    assert errata.by_id("E-S004b").run().shown


def test_seed004_errata_E_S004c_E_S004e_sizes():
    """E-S004c: x^{l-1} is n M_l wide (8, not 2); E-S004e: delta^{l+1} has M_{l+1} = 4 blocks per side (not 2)."""
    pool = s004.TrainableAveragePool((8, 8), 2, 1)
    M_l = pool.out_shape[0]
    assert (M_l / pool.n, pool.in_shape[0]) == (2.0, 8)
    assert (M_l / pool.n, M_l) == (2.0, 4)
    assert errata.by_id("E-S004c").run().shown and errata.by_id("E-S004e").run().shown


def test_seed004_erratum_E_S004f_index_set_of_eq9():
    """E-S004f: summing (9) over the output set M_i asks for S2 maps that do not exist."""
    rng = np.random.default_rng(0)
    x = rng.random((6, 14, 14))  # the six S2 maps
    k = rng.random((16, 6, 5, 5))
    M_i = [d for d in range(16) if 0 in s004.S2_C3[d]]  # the note's section 3.2 meaning, i = 0
    with pytest.raises(IndexError, match="out of bounds"):
        sum(correlate(x[i], k[0, i], padding="valid") for i in M_i)
    assert errata.by_id("E-S004f").run().shown


def test_seed004_erratum_E_S004d_fig4_text():
    """E-S004d: dE/d[x]_{2,2} = d11 k22 + d12 k21 + d21 k12 + d22 k11 = the book's (47.1258); the printed d11 k12 differs."""
    rng = np.random.default_rng(4)
    k, d = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    printed = d[0, 0] * k[0, 1] + d[0, 1] * k[1, 0] + d[1, 0] * k[0, 1] + d[1, 1] * k[0, 0]
    corrected = s004.book_input_gradient(d, k, (3, 3))[1, 1]
    assert_allclose(corrected, d[0, 0] * k[1, 1] + d[0, 1] * k[1, 0] + d[1, 0] * k[0, 1]
                    + d[1, 1] * k[0, 0], rtol=0, atol=1e-15)
    assert abs(printed - corrected) > 1e-3
    assert errata.by_id("E-S004d").run().shown


def test_seed004_erratum_E_S004g_sum_over_the_set():
    """E-S004g: (17) over j in M_0 = the book's sum of V^(d,d',c+1) delta; the range 0..|M_0| is not."""
    rng = np.random.default_rng(5)
    deltas, kernels = rng.standard_normal((16, 10, 10)), rng.standard_normal((16, 5, 5))
    M_0 = [0, 4, 5, 6, 9, 10, 11, 12, 14, 15]
    assert M_0 == [d for d in range(16) if 0 in s004.S2_C3[d]]
    printed = s004.eq17_input_gradient(deltas, kernels, range(len(M_0) + 1))
    corrected = s004.eq17_input_gradient(deltas, kernels, M_0)
    book = sum(s004.book_input_gradient(deltas[j], kernels[j], (14, 14)) for j in M_0)
    assert_allclose(corrected, book, rtol=0, atol=1e-12)
    assert np.max(np.abs(printed - corrected)) > 1e-3
    assert errata.by_id("E-S004g").run().shown


def test_seed004_examples_reproduce():
    """Every example of seed 004 agrees, or differs by its registered erratum; the slips are
    defined once, in the register, and the E-S004d row shows the register's numbers."""
    exs = s004.examples()
    assert {e.key for e in exs} == {"seed004"}
    assert all(e.ok for e in exs)
    assert not hasattr(s004, "ERRATA") and not [n for n in dir(s004) if n.startswith("demo_")]
    (row,) = [e for e in exs if e.erratum == "E-S004d"]
    d = errata.by_id("E-S004d").run()
    assert (row.printed, row.computed) == (d.values["printed"], d.values["corrected"])
