"""The network of section 47.25: listings (47.1216), (47.1275), (47.1276), fused and by loops.

One suite runs over every implementation: the literal listing, the fused batched path and the
scalar loops of :mod:`sayedcnn.reference.loops`, with finite differences on top.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import sayedcnn
from sayedcnn import Conv, Network, Params, Pooling
from sayedcnn.forward import forward_listing
from sayedcnn.fused import forward_fused, gradients_fused
from sayedcnn.reference import loops
from sayedcnn.reference.finite_diff import numerical_gradient
from sayedcnn.training import backward_listing, gradients_listing, sgd_step_listing

ACTS = ["sigmoid", "tanh", "relu", "linear"]


# ---------------------------------------------------------------------------
# Random architectures
# ---------------------------------------------------------------------------


@st.composite
def architectures(draw):
    """A random small network whose every layer fits its input map."""
    rows, cols = draw(st.integers(4, 8)), draw(st.integers(4, 8))
    D0 = draw(st.sampled_from([1, 3]))
    C = draw(st.integers(1, 3))
    shape, D_prev, conv = (rows, cols), D0, []
    for _ in range(C):
        kr = draw(st.integers(1, min(3, shape[0])))
        kc = draw(st.integers(1, min(3, shape[1])))
        padding = draw(st.sampled_from(["same", "valid", 1, (0, 1)]))
        stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        part = sayedcnn.sliding_partition(shape, (kr, kc), stride, padding)
        mrows, mcols = part.out_shape
        pool = None
        kind = draw(st.sampled_from(["none", "max", "mean", "l2", "subsample", "correlation",
                                     "overlap"]))
        if kind != "none" and mrows * mcols >= 2:
            br = draw(st.integers(1, min(2, mrows)))
            bc = draw(st.integers(1, min(2, mcols)))
            if kind == "overlap":
                pool = ("max", (br, bc), (1, 1))
            elif kind == "correlation":
                mask = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=br * bc,
                                     max_size=br * bc))
                pool = dict(kind="correlation", block=(br, bc), mask=mask)
            elif kind == "subsample":
                pool = dict(kind="subsample", block=(br, bc),
                            retain=draw(st.integers(0, br * bc - 1)))
            else:
                pool = (kind, (br, bc))
        D = draw(st.integers(1, 3))
        connections = None
        if D_prev > 1 and draw(st.booleans()):
            connections = [sorted(draw(st.sets(st.integers(0, D_prev - 1), min_size=1)))
                           for _ in range(D)]
        conv.append(Conv(D, (kr, kc), padding=padding, stride=stride,
                         activation=draw(st.sampled_from(ACTS)), pool=pool,
                         connections=connections))
        probe = Network(shape, D_prev, conv[-1:], outputs=1)
        shape, D_prev = probe.layers[0].pooled_shape, D
    hidden = draw(st.lists(st.integers(1, 4), max_size=2))
    loss = draw(st.sampled_from(["quadratic", "cross_entropy"]))
    if loss == "cross_entropy":
        Q, out_act = draw(st.integers(2, 3)), "softmax"
    else:
        Q, out_act = draw(st.integers(1, 3)), draw(st.sampled_from(["sigmoid", "tanh", "linear"]))
    return Network((rows, cols), D0, conv, hidden=hidden, outputs=Q,
                   hidden_activation=draw(st.sampled_from(ACTS)), output_activation=out_act,
                   loss=loss)


@st.composite
def problems(draw):
    net = draw(architectures())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    N = draw(st.integers(1, 4))
    X = rng.standard_normal((N, net.input_depth, *net.input_shape))
    if net.loss.name == "cross_entropy":
        Gamma = np.eye(net.Q)[rng.integers(0, net.Q, N)]
    else:
        Gamma = rng.standard_normal((N, net.Q))
    params = net.init(seed, bias_scale=0.3)
    rho1, rho2 = draw(st.sampled_from([(0.0, 0.0), (0.1, 0.0), (0.05, 0.2)]))
    return net, params, X, Gamma, rho1, rho2


@given(problems())
def test_listing_fused_loops_agree(problem):
    """listing (47.1275) == fused == loops (47.1236-47.1272) <= 1e-12 relative."""
    net, params, X, Gamma, rho1, rho2 = problem
    g_list = gradients_listing(net, params, X, Gamma, rho1, rho2)
    g_fused = gradients_fused(net, params, X, Gamma, rho1, rho2)
    g_loops = loops.gradients(net, params, X, Gamma, rho1, rho2)
    assert g_list.max_rel_diff(g_fused) <= 1e-12
    assert g_list.max_rel_diff(g_loops) <= 1e-12


def fd_rel_diff(g, fd):
    """Largest per-array relative difference, each array scaled by its own largest entry but
    never below 1e-3 of the largest entry of the whole gradient (an array whose true
    derivative is exactly zero, e.g. behind a dead ReLU, is compared on that floor)."""
    floor = 1e-3 * max(np.max(np.abs(a)) for _, _, a in fd.items())
    return g.max_rel_diff(fd, floor=floor)


@settings(max_examples=25)
@given(problems())
def test_gradients_match_finite_differences(problem):
    """The derivatives of J_emp (47.1229) equal central finite differences <= 1e-8
    (fourth-order stencil with a small step so that kinks of ReLU and max are not crossed)."""
    net, params, X, Gamma, rho1, rho2 = problem
    g = gradients_fused(net, params, X, Gamma, rho1, rho2)
    fd = numerical_gradient(lambda p: net.risk(p, X, Gamma, rho1, rho2), params, rel_step=2e-5)
    assert fd_rel_diff(g, fd) <= 1e-8


@given(problems())
def test_forward_listing_fused_loops_agree(problem):
    """Every z, y, t of (47.1216) agrees between the listing, the fused path and the loops."""
    net, params, X, _, _, _ = problem
    fw = forward_fused(net, params, X)
    for n in range(X.shape[0]):
        res = forward_listing(net, params, X[n])
        ref = loops.forward(net, params, X[n])
        for ly in net.layers:
            c = ly.c
            for d in range(1, ly.D + 1):
                assert_allclose(res.z_conv[d, c], fw.z[c][n, :, d - 1], rtol=1e-12, atol=1e-12)
                assert_allclose(res.t_conv[d, c], fw.t[c][n, :, d - 1], rtol=1e-12, atol=1e-12)
                assert_allclose(res.z_conv[d, c], ref["z_conv"][c][d - 1], rtol=1e-12,
                                atol=1e-12)
                assert_allclose(res.t_conv[d, c], ref["t_conv"][c][d - 1], rtol=1e-12,
                                atol=1e-12)
        assert_allclose(res.output, fw.output[n], rtol=1e-12, atol=1e-14)
        assert_allclose(res.output, ref["output"], rtol=1e-12, atol=1e-14)


@given(problems())
def test_sensitivities_listing_equal_loops(problem):
    """delta^(d,c) of (47.1245)/(47.1262) equal the index sums (47.1236)-(47.1249)."""
    net, params, X, Gamma, _, _ = problem
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    ref = loops.backward(net, params, X[0], Gamma[0])
    for ly in net.layers:
        for d in range(1, ly.D + 1):
            assert_allclose(sens.delta_conv[d, ly.c], ref["delta_conv"][ly.c][d - 1], rtol=1e-11,
                            atol=1e-13)
    for l in range(2, net.L + 1):
        assert_allclose(sens.delta_ff[l], ref["delta_ff"][l], rtol=1e-11, atol=1e-13)


# ---------------------------------------------------------------------------
# Worked two-layer example: every intermediate of (47.1216) and (47.1275) by hand
# ---------------------------------------------------------------------------


def _worked_example():
    """3x3 image; c = 1: one 2x2 'valid' mask, linear, max-pool over 1x2 blocks;
    c = 2: two 2x1 masks, linear, no pooling; one linear output."""
    net = Network((3, 3), 1, [
        Conv(1, (2, 2), padding="valid", activation="linear", pool=("max", (1, 2))),
        Conv(2, (2, 1), padding="valid", activation="linear"),
    ], hidden=[], outputs=1, output_activation="linear")
    image = np.array([[[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 1.0, 1.0]]])
    params = Params(
        W_conv={1: np.array([[1.0], [-1.0], [0.0], [2.0]]),  # vec([[1, 0], [-1, 2]])
                2: np.array([[1.0, 0.5], [-1.0, 2.0]])},  # w^(1,2) = (1, -1), w^(2,2) = (.5, 2)
        Theta_conv={1: np.array([[1.0]]), 2: np.array([[0.5, -1.0]])},
        W_ff={1: np.array([[0.5, -0.25]])},
        theta_ff={1: np.array([1.0])},
    )
    return net, image, params, np.array([1.0])


def test_worked_example_forward_47_1216():
    """Every quantity of (47.1216) for the worked example, computed by hand."""
    net, image, params, _ = _worked_example()
    res = forward_listing(net, params, image)
    # H^(1,0): columns are the patches at (0,0), (1,0), (0,1), (1,1), each read column-major.
    assert_allclose(res.H[1, 0], [[1, 0, 2, 1], [0, 2, 1, 1], [2, 1, 0, 3], [1, 1, 3, 1]],
                    atol=0)
    assert_allclose(res.z_conv[1, 1], [2, -1, 6, 1], atol=1e-15)  # H^T w - theta 1
    assert_allclose(res.y_conv[1, 1], [2, -1, 6, 1], atol=1e-15)  # linear f
    assert_allclose(res.t_conv[1, 1], [6, 1], atol=1e-15)  # max over {0, 2} and {1, 3}
    assert_allclose(res.H[1, 1], [[6], [1]], atol=1e-15)  # V_1 t: one 2x1 patch
    assert_allclose(res.z_conv[1, 2], [4.5], atol=1e-15)  # 6 - 1 - 0.5
    assert_allclose(res.z_conv[2, 2], [6.0], atol=1e-15)  # 3 + 2 + 1
    assert_allclose(res.y_ff[1], [4.5, 6.0], atol=1e-15)  # col{t^(1,2), t^(2,2)}
    assert_allclose(res.z_ff[2], [-0.25], atol=1e-15)  # 0.5*4.5 - 0.25*6 - 1
    assert_allclose(res.output, [-0.25], atol=1e-15)


def test_worked_example_training_47_1275():
    """Every sensitivity and derivative of (47.1275) for the worked example, by hand."""
    net, image, params, gamma = _worked_example()
    res = forward_listing(net, params, image)
    sens = backward_listing(net, params, res, gamma, keep_V=True)
    assert_allclose(sens.delta_ff[2], [-2.5], atol=1e-15)  # 2 (y - gamma) f'(z)
    assert_allclose(sens.delta_conv[1, 2], [-1.25], atol=1e-15)  # W_1^(1)T delta_2
    assert_allclose(sens.delta_conv[2, 2], [0.625], atol=1e-15)  # W_1^(2)T delta_2
    assert_allclose(sens.V[1, 1, 2].toarray(), [[1], [-1]], atol=0)  # V^(1,1,2) (47.1257)
    assert_allclose(sens.V[1, 2, 2].toarray(), [[0.5], [2]], atol=0)  # V^(1,2,2)
    # b = V delta, upsampled by g = e_2 in both regions, permuted back by T^T (47.1262)
    assert_allclose(sens.delta_conv[1, 1], [0, 0, -0.9375, 2.5], atol=1e-15)
    assert_allclose(sens.Delta[2].toarray(), [[-1.25, 0], [0, 0.625]], atol=0)  # (47.1270)
    g = gradients_listing(net, params, image[None], gamma[None])
    assert_allclose(g.W_ff[1], [[-11.25, -15.0]], atol=1e-14)  # delta_2 y_1^T (47.1263)
    assert_allclose(g.theta_ff[1], [2.5], atol=1e-15)  # -delta_2 (47.1264)
    assert_allclose(g.W_conv[2], [[-7.5, 3.75], [-1.25, 0.625]], atol=1e-14)  # (47.1271)
    assert_allclose(g.Theta_conv[2], [[1.25, -0.625]], atol=1e-15)  # (47.1274)
    assert_allclose(g.W_conv[1], [[0.625], [1.5625], [7.5], [-0.3125]], atol=1e-14)
    assert_allclose(g.Theta_conv[1], [[-1.5625]], atol=1e-15)


def test_worked_example_sgd_47_1276():
    """One step of (47.1276) with mu = 0.1 on the worked example, by hand."""
    net, image, params, gamma = _worked_example()
    new = sgd_step_listing(net, params, image, gamma, mu=0.1)
    assert_allclose(new.W_ff[1], [[1.625, 1.25]], atol=1e-14)
    assert_allclose(new.theta_ff[1], [0.75], atol=1e-15)  # theta + mu delta (corrected sign)
    assert_allclose(new.W_conv[1].ravel(), [0.9375, -1.15625, -0.75, 2.03125], atol=1e-14)
    assert_allclose(new.Theta_conv[1], [[1.15625]], atol=1e-15)
    assert_allclose(new.W_conv[2], [[1.75, 0.125], [-0.875, 1.9375]], atol=1e-14)
    assert_allclose(new.Theta_conv[2], [[0.375, -0.9375]], atol=1e-15)


# ---------------------------------------------------------------------------
# SGD, Theta, methods
# ---------------------------------------------------------------------------


def _small(loss="quadratic", seed=0, N=3):
    net = Network((6, 5), 2, [
        Conv(3, (3, 2), pool=("max", (2, 2))),
        Conv(2, 2, padding=1, stride=(2, 1), activation="relu", pool=("mean", (1, 2)),
             connections=[[0, 1], [2]]),
    ], hidden=[4], outputs=3, loss=loss)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, 2, 6, 5))
    Gamma = np.eye(3)[rng.integers(0, 3, N)]
    return net, net.init(seed, bias_scale=0.2), X, Gamma


@pytest.mark.parametrize("loss", ["quadratic", "cross_entropy"])
def test_sgd_step_is_params_minus_mu_gradient(loss):
    """(47.1276) on one sample: theta_new = theta - mu dJ/dtheta, for listing and fused."""
    net, params, X, Gamma = _small(loss)
    mu, rho1, rho2 = 0.05, 0.1, 0.2
    g = net.gradients(params, X[:1], Gamma[:1], rho1, rho2)
    expected = params.map(lambda p, gp: p - mu * gp, g)
    lit = sgd_step_listing(net, params, X[0], Gamma[0], mu, rho1, rho2)
    fused = net.sgd_step(params, X[0], Gamma[0], mu, rho1, rho2)
    assert lit.max_rel_diff(expected) <= 1e-13
    assert fused.max_rel_diff(expected) <= 1e-13


@pytest.mark.parametrize("loss", ["quadratic", "cross_entropy"])
def test_sgd_step_decreases_risk(loss):
    """A small step along (47.1276) lowers J_emp on the batch it used."""
    net, params, X, Gamma = _small(loss)
    before = net.risk(params, X, Gamma, 0.01, 0.01)
    after = net.risk(net.sgd_step(params, X, Gamma, 1e-3, 0.01, 0.01), X, Gamma, 0.01, 0.01)
    assert after < before


def test_theta_enters_only_through_column_sums():
    """z^(d,c) depends on Theta_c only through 1^T theta^(d,c) (47.1216); its gradient
    (47.1273) has equal entries down each column."""
    net, params, X, Gamma = _small()
    moved = params.copy()
    rng = np.random.default_rng(5)
    for c, Th in moved.Theta_conv.items():
        shift = rng.standard_normal(Th.shape) * net.layers[c - 1].conn
        shift -= shift.sum(axis=0) / np.maximum(net.layers[c - 1].conn.sum(axis=0), 1) \
            * net.layers[c - 1].conn  # zero column sums over connected entries
        moved.Theta_conv[c] = Th + shift
    assert_allclose(net.predict(moved, X), net.predict(params, X), rtol=1e-13, atol=1e-15)
    g = net.gradients(params, X, Gamma)
    for c, G in g.Theta_conv.items():
        conn = net.layers[c - 1].conn
        for d in range(G.shape[1]):
            col = G[conn[:, d], d]
            assert_allclose(col, col[0], rtol=1e-14, atol=0)
        assert np.all(G[~conn] == 0)


def test_scaling_1227_divides_regularisers_by_N():
    """(47.1227) = (47.1229) with the regulariser terms divided by N."""
    net, params, X, Gamma = _small()
    N = X.shape[0]
    J29 = net.risk(params, X, Gamma, 0.3, 0.2)
    J27 = net.risk(params, X, Gamma, 0.3, 0.2, scaling="1227")
    data = net.risk(params, X, Gamma)
    assert_allclose(J29 - data, N * (J27 - data), rtol=1e-12)
    g27 = net.gradients(params, X, Gamma, 0.3, 0.2, scaling="1227")
    fd = numerical_gradient(lambda p: net.risk(p, X, Gamma, 0.3, 0.2, scaling="1227"), params,
                            rel_step=2e-5)
    assert fd_rel_diff(g27, fd) <= 1e-8
    g27l = net.gradients(params, X, Gamma, 0.3, 0.2, scaling="1227", method="listing")
    assert g27.max_rel_diff(g27l) <= 1e-12


def test_forward_methods_and_single_image():
    """Network.forward: one image gives a ForwardResult; a batch gives per-sample results."""
    net, params, X, _ = _small()
    one = net.forward(params, X[0])
    batch = net.forward(params, X)
    fused = net.forward(params, X, method="fused")
    assert_allclose(one.output, batch.samples[0].output, atol=0)
    assert_allclose(batch.output, fused.output, rtol=1e-13, atol=1e-15)
    assert len(batch.samples) == X.shape[0]
    with pytest.raises(ValueError, match="method"):
        net.forward(params, X, method="loops")


def test_H_stacked_is_47_1225():
    """H_{n,c} stacks H_n^(1,c) ... H_n^(D_c,c) (47.1225): D_c S_{c+1} x P_{c+1}."""
    net, params, X, _ = _small()
    res = net.forward(params, X[0])
    ly2 = net.layers[1]
    assert res.H_stacked[1].shape == (ly2.D_in * ly2.S, ly2.P)
    assert_allclose(res.H_stacked[1][ly2.S:2 * ly2.S], res.H[2, 1], atol=0)


def test_fit_is_deterministic_and_learns():
    """fit runs (47.1276) over epochs; the same seed gives the same parameters."""
    net, params, X, _ = _small("cross_entropy", N=24)
    labels = np.random.default_rng(1).integers(0, 3, 24)
    p1, h1 = net.fit(params, X, labels, epochs=3, batch_size=4, mu=0.1, seed=3)
    p2, h2 = net.fit(params, X, labels, epochs=3, batch_size=4, mu=0.1, seed=3)
    assert p1.max_rel_diff(p2) == 0
    assert h1["loss"] == h2["loss"]
    assert h1["loss"][-1] < h1["loss"][0]
    # resuming at epoch 2 from the state after 2 epochs repeats the uninterrupted run
    p_half, h_half = net.fit(params, X, labels, epochs=2, batch_size=4, mu=0.1, seed=3)
    p3, _ = net.fit(p_half, X, labels, epochs=1, batch_size=4, mu=0.1, seed=3, start_epoch=2)
    assert p3.max_rel_diff(p1) == 0


def test_parameter_count_effective_vs_book():
    """The book counts every entry of Theta_c (47.1224b); only column sums reach z."""
    net, _, _, _ = _small()
    counts = net.parameter_count()
    ly1, ly2 = net.layers
    book_conv = sum(ly.S * ly.D_in * ly.D + ly.D_in * ly.D for ly in net.layers)
    eff_conv = ly1.S * ly1.D_in * ly1.D + ly1.D + ly2.S * 3 + ly2.D  # 3 connections in layer 2
    ff = sum(net.n[l + 1] * net.n[l] + net.n[l + 1] for l in range(1, net.L))
    assert counts == {"book": book_conv + ff, "effective": eff_conv + ff}


def test_eq_47_1206_1225_size_table_of_a_network_with_a_connection_table():
    """Every row of sizes() and size_table() for a network with stride, padding, a table and
    a hidden layer: D_c, S_c = mask entries x D_(c-1) ... as the book counts them (47.1206)-
    (47.1225), written out by hand."""
    net = Network((7, 6), input_depth=2,
                  conv=[Conv(3, (3, 2), padding="valid", stride=(2, 1), pool=("mean", (1, 2)),
                             activation="relu"),
                        Conv(2, 2, connections=[[0, 2], [1]], pool=None)],
                  hidden=[4], outputs=3)
    rows = net.sizes()
    assert rows[0] == {"layer": "input", "D": 2, "shape": (7, 6), "M": 42}
    assert rows[1] == {"layer": "c=1", "D": 3, "S": 6, "P": 15, "P'": 6, "mask": (3, 2),
                       "stride": (2, 1), "map": (3, 5), "pooled": (3, 2), "pool": "mean",
                       "f": "relu", "connections": 6}
    assert rows[2] == {"layer": "c=2", "D": 2, "S": 4, "P": 6, "P'": 6, "mask": (2, 2),
                       "stride": (1, 1), "map": (3, 2), "pooled": (3, 2), "pool": "none",
                       "f": "tanh", "connections": 3}
    assert rows[3:] == [{"layer": "l=1", "n": 12, "f": "-"},
                        {"layer": "l=2", "n": 4, "f": "sigmoid"},
                        {"layer": "l=3", "n": 3, "f": "sigmoid"}]
    assert net.size_table().splitlines() == [
        "layer    D_c  S_c    P_c   P_c'       map    pooled        pool        f    n_l",
        "input      2          42              7x6",
        "c=1        3    6     15      6       3x5       3x2        mean     relu",
        "c=2        2    4      6      6       3x2       3x2        none     tanh",
        "l=1                                                                    -     12",
        "l=2                                                              sigmoid      4",
        "l=3                                                              sigmoid      3",
    ]


def _network_bad_calls():
    import sayedcnn.network as nw

    ok = dict(conv=[Conv(1, 2)], outputs=2)
    return [
        (lambda: Network((2**13, 2**7), input_depth=2**8, **ok), ValueError,
         r"^an image of D_0 x rows x cols = 256 x 8192 x 128 would have 268,435,456 entries "
         r"\(47\.1216\), more than the 134,217,728 \(2\*\*27\) a sayedcnn network builds$"),
        (lambda: Network((3, 5), conv=[Conv(1, (4, 2), padding="valid")], outputs=2), ValueError,
         r"^conv layer c = 1 on its 3 x 5 input map: mask size 4 along axis 0 is larger"),
        (lambda: Network((2**12, 2**10), conv=[Conv(1, (8, 5))], outputs=2), ValueError,
         r"^the partition matrix V_1 of layer c = 1 \(mask \(8, 5\), padding 'same', on a "
         r"4096 x 1024 map\) would have 167,772,160 entries"),
        (lambda: Network((64, 128), conv=[Conv(1, 1)], hidden=[8192, 8192], outputs=2),
         ValueError,
         r"^the parameters all together would have 134,250,500 entries \(47\.1224\), more "
         r"than the 134,217,728"),
        (lambda: Network((4, 6), conv=[Conv(1, 2, pool=Pooling("max", in_shape=(6, 4),
                                                              block=2))], outputs=2),
         ValueError, r"^the Pooling of layer c = 1 tiles a 6 x 4 map but the feature map of "
                     r"layer c = 1 is 4 x 6 \(47\.1208\)$"),
        (lambda: Network((2, 3), conv=[Conv(1, 1, pool={"block": 1})], outputs=2), ValueError,
         r"^pooling kind must be one of"),
        (lambda: Network((2, 3), conv=[Conv(1, 1, pool={"kind": "max", "regions": [[0, 1]],
                                                        "P": 6.0})], outputs=2), ValueError,
         r"^pool of layer c = 1: P = 6\.0, but the regions pool the feature map of layer "
         r"c = 1, 2 x 3, P_1 = 6 entries \(47\.1208\)$"),
        (lambda: Network((4, 4), conv=[Conv(1, 1, pool=("max", 2, 2, 2))], outputs=2),
         ValueError, r"^pool of layer c = 1 must be None, \(kind, block\[, stride\]\)"),
        (lambda: Network((4, 6), **ok).check_images(np.zeros((1, 1, 6, 4))), ValueError,
         r"^X must be N x D_0 x rows x cols = N x 1 x 4 x 6"),
        (lambda: Network((4, 6), **ok).check_params(
            Params(W_conv={1: np.zeros((4, 1))}, Theta_conv={1: 0.0},
                   W_ff={1: np.zeros((2, 24))}, theta_ff={1: np.zeros(2)})), ValueError,
         r"got a scalar"),
        (lambda: nw._too_large(nw.MAX_ENTRIES + 1, "a thing", "47.1"), ValueError,
         r"^a thing would have 134,217,729 entries \(47\.1\)"),
    ]


@pytest.mark.parametrize("call, exc, pattern", _network_bad_calls())
def test_network_errors_name_the_quantity_the_expectation_and_the_equation(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_the_size_guards_count_exactly():
    """The guard on allocations (sayedcnn.network.MAX_ENTRIES): 2^27 entries are allowed;
    the rows of a layer's partition matrix are bounded by (rows + 2 p_r)(cols + 2 p_c) k_r k_c
    from its description alone (47.1152)."""
    import sayedcnn.network as nw

    nw._too_large(nw.MAX_ENTRIES, "a thing", "47.1")  # no error at the limit itself
    assert nw._partition_rows_bound((3, 5), Conv(1, (2, 4), padding=(1, 2))) == 5 * 9 * 8
    assert nw._partition_rows_bound((3, 5), Conv(1, (2, 4), padding=0)) == 3 * 5 * 8
    assert nw._partition_rows_bound((3, 5), Conv(1, (2, 4), padding="same")) == 3 * 5 * 8
    assert nw._partition_rows_bound((3, 5), Conv(1, "big")) is None


def test_a_pooling_object_or_regions_pool_the_layer():
    """pool= given as a Pooling or as regions pools the map (47.1208), rectangular maps too."""
    x = np.random.default_rng(2).standard_normal((1, 4, 6))
    for pool in (Pooling("max", in_shape=(4, 6), block=2),
                 {"kind": "max", "regions": [[0, 1, 4, 5], [2, 3, 6, 7]], "P": 24}):
        net = Network((4, 6), conv=[Conv(1, 1, pool=pool, activation="linear")], outputs=2)
        p = net.init(0)
        ly = net.layers[0]
        assert ly.pooled and ly.P == 24
        res = net.forward(p, x)
        y = res.y_conv[1, 1]
        assert_allclose(res.t_conv[1, 1], ly.pooling.pool(y), rtol=1e-15)
        assert res.t_conv[1, 1].size == ly.pooling.P_out < 24


def test_defaults_of_network_init_predict_backward_and_sgd_step():
    """outputs = 10; init() is init(0) with weights of variance 1/fan_in; predict is the
    engine's output; backward keeps no V unless asked; sgd_step's rho default to 0."""
    net = Network((4, 6), conv=[Conv(2, 1)], hidden=[100])
    assert net.n[-1] == 10
    p = net.init()
    assert p.max_rel_diff(net.init(0)) == 0.0
    assert np.abs(p.W_ff[2]).max() < 1.0  # n_2 = 100: standard deviation 0.1
    assert 0 < np.abs(p.W_conv[1]).max() < 6.0  # fan-in 1 (a 1 x 1 mask on one map)
    x = np.random.default_rng(0).standard_normal((3, 1, 4, 6))
    G = np.eye(10)[:3]
    assert np.array_equal(net.predict(p, x), net.forward(p, x, method="fused").output)
    res = net.forward(p, x[0])
    assert not net.backward(p, res, G[0]).V
    a = net.sgd_step(p, x, G, 0.1)
    b = net.sgd_step(p, x, G, 0.1, rho1=0.0, rho2=0.0, method="fused")
    assert a.max_rel_diff(b) == 0.0


def test_repr_keep_V_and_non_finite_parameters():
    """repr lists n_1..n_L; backward keeps V^(d,d',c+1) only when asked; a NaN parameter is
    named with its symbol and equation."""
    net = Network((4, 4), conv=[Conv(2, 2, pool=("max", 2)), Conv(2, 2)], hidden=[3],
                  outputs=2)
    assert repr(net) == "Network(input 1x(4, 4), C=2, n=[8, 3, 2], loss='quadratic')"
    p = net.init(0)
    res = net.forward(p, np.ones((1, 4, 4)))
    assert not net.backward(p, res, np.array([1.0, 0.0])).V
    assert net.backward(p, res, np.array([1.0, 0.0]), keep_V=True).V
    p.W_conv[2][0, 0] = np.nan
    why = r"^W_conv\[2\] contains NaN \(47\.1224a\); all entries must be finite$"
    with pytest.raises(ValueError, match=why):
        net.check_params(p)


def test_init_draws_weights_of_variance_one_over_fan_in():
    """init: the entries of W_c are N(0, 1/fan_in) with fan_in = (mask entries) x (connected
    input maps) (47.1224a); a 1 x 1 mask on one map has fan-in 1, so its weights are N(0, 1)."""
    one = Network((4, 6), conv=[Conv(400, 1)], outputs=2).init(3).W_conv[1]
    assert one.shape == (1, 400)
    assert 0.9 < one.std() < 1.1  # 400 draws: the sample deviation is within 0.1 of 1
    net = Network((4, 6), input_depth=2, conv=[Conv(200, 3)], outputs=2)
    many = net.init(3).W_conv[1] * np.sqrt(9 * 2)
    assert many.shape == (18, 200)
    assert 0.95 < many.std() < 1.05  # 3,600 draws, scaled back by sqrt(fan_in)


def test_sgd_step_passes_its_method_on():
    """Network.sgd_step hands method= to (47.1276)'s dispatcher, which checks it."""
    net = Network((4, 4), conv=[Conv(2, 2)], outputs=2)
    p = net.init(0)
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"^method must be 'listing' or 'fused', got 'loops'$"):
        net.sgd_step(p, x, np.eye(2), 0.1, method="loops")


def test_allocation_guard_allows_exactly_its_limit(monkeypatch):
    """MAX_ENTRIES is the largest allowed size, not the first refused one: a partition matrix
    whose rows are bounded by exactly the limit is built, one row more is refused (47.1152);
    likewise the targets Gamma of one_hot (47.1229). Shown with the limit lowered."""
    import sayedcnn.losses as ls
    import sayedcnn.network as nw

    conv = [Conv(1, (2, 4), padding=0)]  # P_1 S_1 <= 3 * 5 * 8 = 120 rows
    monkeypatch.setattr(nw, "MAX_ENTRIES", 120)
    assert Network((3, 5), conv=conv, outputs=2).layers[0].partition.V.shape == (4 * 8, 15)
    monkeypatch.setattr(nw, "MAX_ENTRIES", 119)
    with pytest.raises(ValueError, match=r"\(47\.1152\), more than the 119 "):
        Network((3, 5), conv=conv, outputs=2)
    monkeypatch.setattr(ls, "MAX_ENTRIES", 6)
    assert ls.one_hot(np.array([0, 1, 1]), 2).shape == (3, 2)  # exactly 6 entries
    with pytest.raises(ValueError, match=r"^the targets Gamma would be N x Q = 3 x 3 "
                                         r"\(47\.1229\), more than the 6 "):
        ls.one_hot(np.array([0, 1, 2]), 3)
