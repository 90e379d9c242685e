"""The PyTorch bridge: the book's network as a torch module computes the same outputs and
the same derivatives of J_emp (47.1229) as the listings, to 1e-12 relative in float64."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

torch = pytest.importorskip("torch")

from sayedcnn import Conv, Network, Params  # noqa: E402
from sayedcnn.interop import golden  # noqa: E402
from sayedcnn.interop.torch import (  # noqa: E402
    BookCNN,
    Layout,
    golden_arrays,
    grads_from_torch,
    params_from_torch,
    to_torch,
)
from sayedcnn.training import one_hot  # noqa: E402

TOL = 1e-12
ACTS = ["sigmoid", "tanh", "relu", "linear"]
POOLS = ["max", "mean", "l2", "subsample", "correlation"]


def rel(a, b):
    """max |a - b| / max(|a|, |b|) over the array."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), 1e-300)
    return float(np.max(np.abs(a - b), initial=0.0) / scale)


def _layer(rng, shape, D_prev):
    """A random layer that fits a map of ``shape``, or None."""
    mask = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = ["same", "valid", int(rng.integers(0, 2))][int(rng.integers(0, 3))]
    stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if rng.random() < 0.4 else 1
    D = int(rng.integers(1, 4))
    pool = None
    if rng.random() < 0.8:
        kind = POOLS[int(rng.integers(0, len(POOLS)))]
        block = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pool = {"kind": kind, "block": block}
        if rng.random() < 0.4:
            pool["stride"] = (1, 1)  # overlapping blocks
        if kind == "correlation":
            pool["mask"] = rng.standard_normal(block[0] * block[1])
        if kind == "subsample":
            pool["retain"] = int(rng.integers(0, block[0] * block[1]))
    conn = None
    if D_prev > 1 and rng.random() < 0.5:
        conn = [sorted(rng.choice(D_prev, size=int(rng.integers(1, D_prev + 1)),
                                  replace=False).tolist()) for _ in range(D)]
    return Conv(D, mask, padding, stride, ACTS[int(rng.integers(0, 4))], pool, conn)


def random_network(rng):
    """A small random Network: D_0 in {1, 3}, 1-3 layers, odd/even/rectangular masks, every
    padding kind, strides, every block pooling kind (overlapping too), connection tables,
    0-2 hidden layers, quadratic or cross-entropy loss."""
    while True:
        shape = (int(rng.integers(4, 9)), int(rng.integers(4, 9)))
        D0 = [1, 3][int(rng.integers(0, 2))]
        layers, D_prev = [], D0
        for _ in range(int(rng.integers(1, 4))):
            layers.append(_layer(rng, shape, D_prev))
            D_prev = layers[-1].depth
        hidden = [int(rng.integers(2, 5)) for _ in range(int(rng.integers(0, 3)))]
        loss = ["quadratic", "cross_entropy"][int(rng.integers(0, 2))]
        out = "softmax" if loss == "cross_entropy" else ["sigmoid", "tanh", "linear"][
            int(rng.integers(0, 3))]
        try:
            return Network(shape, D0, layers, hidden, int(rng.integers(2, 4)),
                           [ACTS[int(rng.integers(0, 4))] for _ in hidden], out, loss)
        except ValueError:
            continue


def problem(net, seed):
    """Parameters with every Theta entry random (the redundant book form), images, targets."""
    rng = np.random.default_rng(seed)
    p = net.init(seed, bias_scale=0.5)
    for ly in net.layers:
        p.Theta_conv[ly.c] = rng.standard_normal((ly.D_in, ly.D)) * ly.conn
    N = int(rng.integers(1, 4))
    X = rng.uniform(-1, 1, (N, net.input_depth, *net.input_shape))
    G = one_hot(rng.integers(0, net.Q, N), net.Q)
    return p, X, G


FIXED = [
    # 'same' with an even and a rectangular mask, stride 2, l2 pooling, D_0 = 3
    Network((7, 6), 3, [Conv(2, (2, 3), "same", 2, "tanh", ("l2", (2, 2)))], [3], 2,
            "relu", "sigmoid", "quadratic"),
    # overlapping max pooling then mean pooling with a connection table
    Network((8, 8), 1, [Conv(3, 3, "same", 1, "tanh", ("max", (2, 2), (1, 1))),
                        Conv(2, (2, 2), "valid", 1, "relu", ("mean", (2, 2)),
                             [[0, 2], [1]])], [], 3, output_activation="softmax",
            loss="cross_entropy"),
    # integer padding, strides per axis, subsampling and correlation pooling
    Network((7, 8), 1, [Conv(2, (3, 2), 1, (2, 1), "sigmoid",
                             {"kind": "subsample", "block": (2, 2), "retain": 2}),
                        Conv(3, 2, "same", 1, "linear",
                             {"kind": "correlation", "block": (1, 2), "mask": [0.3, -0.7]})],
            [4, 3], 2, ["tanh", "sigmoid"], "tanh", "quadratic"),
]


def _compare(net, params, X, G, rho1, rho2):
    m = to_torch(net, params)
    out = m(torch.tensor(X)).detach().numpy()
    d_out = rel(out, net.forward(params, X, method="fused").output)
    J = m.risk(X, G, rho1, rho2)
    d_J = rel(float(J.detach()), net.risk(params, X, G, rho1, rho2))
    J.backward()
    got = grads_from_torch(net, m)
    want = net.gradients(params, X, G, rho1, rho2, method="fused")
    d_g = {f"{g}[{k}]": rel(a, b) for (g, k, a), (_, _, b) in zip(got.items(), want.items())}
    return d_out, d_J, d_g


@pytest.mark.parametrize("case", range(len(FIXED)))
def test_fixed_architectures_forward_and_every_gradient(case):
    """Outputs, J_emp (47.1229) and every derivative (47.1275), rho_1, rho_2 > 0 included,
    agree with the package to <= 1e-12 relative."""
    net = FIXED[case]
    params, X, G = problem(net, 10 + case)
    d_out, d_J, d_g = _compare(net, params, X, G, 0.03, 0.02)
    assert d_out <= TOL and d_J <= TOL
    assert max(d_g.values()) <= TOL, d_g


def test_random_architectures_forward_and_every_gradient():
    """Thirty seeded random architectures: outputs and every derivative agree to 1e-12."""
    rng = np.random.default_rng(2024)
    kinds = set()
    for trial in range(30):
        net = random_network(rng)
        kinds |= {ly.pooling.kind for ly in net.layers if ly.pooled}
        params, X, G = problem(net, trial)
        rho = (0.0, 0.0) if trial % 2 else (0.01, 0.02)
        d_out, d_J, d_g = _compare(net, params, X, G, *rho)
        assert d_out <= TOL and d_J <= TOL, (trial, net.size_table())
        assert max(d_g.values()) <= TOL, (trial, d_g, net.size_table())
    assert kinds == set(POOLS)


def test_parameters_round_trip():
    """W_c, W_l, theta_l come back exactly; Theta_c comes back with the same connected column
    sums, the whole bias on the first connected input map (47.1216)."""
    net = FIXED[1]
    params, _, _ = problem(net, 3)
    back = params_from_torch(net, to_torch(net, params))
    for g in ("W_conv", "W_ff", "theta_ff"):
        for k, a in getattr(params, g).items():
            assert_array_equal(getattr(back, g)[k], a)
    for ly in net.layers:
        T, B = params.Theta_conv[ly.c], back.Theta_conv[ly.c]
        assert_allclose((B * ly.conn).sum(0), (T * ly.conn).sum(0), rtol=1e-15, atol=1e-15)
        first = np.argmax(ly.conn, axis=0)
        mask = np.zeros_like(B, dtype=bool)
        mask[first, np.arange(ly.D)] = True
        assert np.all(B[~mask] == 0)
    # the round-tripped parameters compute the same function
    X = np.random.default_rng(0).uniform(-1, 1, (2, 1, 8, 8))
    assert_allclose(net.predict(back, X), net.predict(params, X), rtol=TOL, atol=TOL)


def test_weight_layout_and_map_entry_r_c():
    """Entry (r, c) of the book's map (vector entry r + c*rows) is torch [.., r, c]; mask
    entry (a, b) of input map j for output map d is W_c[j*S + a + b*kr, d] = weight[d, j, a, b]."""
    net = Network((3, 5), 2, [Conv(2, (2, 3), "valid", 1, "linear")], [], 2,
                  output_activation="linear")
    rng = np.random.default_rng(1)
    params = net.init(1)
    X = rng.standard_normal((1, 2, 3, 5))
    w = Layout.conv_weight_to_torch(net.layers[0], params.W_conv[1])
    for d in range(2):
        for j in range(2):
            for a in range(2):
                for b in range(3):
                    assert w[d, j, a, b] == params.W_conv[1][j * 6 + a + b * 2, d]
    m = to_torch(net, params)
    rec = {}
    m.run(X, rec)
    zt = rec["z_conv_1"].detach().numpy()  # (1, 2, 2, 3)
    zb = net.forward(params, X, method="listing").samples[0].z_conv
    for d in range(2):
        for r in range(2):
            for c in range(3):
                direct = sum(X[0, j, r + a, c + b] * w[d, j, a, b]
                             for j in range(2) for a in range(2) for b in range(3))
                assert_allclose(zt[0, d, r, c], direct, rtol=1e-13, atol=1e-14)
                assert_allclose(zb[d + 1, 1][r + c * 2], zt[0, d, r, c], rtol=1e-13,
                                atol=1e-14)
    v = Layout.map_to_book(rec["z_conv_1"], (2, 3))
    assert_array_equal(Layout.map_from_book(v, (2, 3)).detach().numpy(), zt)


def test_torch_reproduces_every_golden_trace():
    """The worked example of the recipe: the torch module reproduces every array of every
    shipped trace (intermediates, sensitivities by autograd, derivatives, the (47.1276) step)
    to 1e-12, except V^(d,d',c+1), the book's own construction."""
    reports = golden.verify_directory(compute=golden_arrays)
    for name, rep in reports.items():
        assert rep.ok, rep.summary()
        assert all(n.startswith("V_ddc_") for n in rep.not_compared), (name, rep.not_compared)
        assert len(rep.diffs) >= 20


def test_torch_gradient_step_versus_eq_47_1276():
    """A plain gradient step p <- p - mu dJ/dp on the module (what torch.optim.SGD does) moves
    W_c, W_l, theta_l exactly as the stochastic-gradient step (47.1276). The biases differ in
    a documented way: (47.1276) moves each of the |D| connected entries of column d of
    Theta_c by mu dJ/db_d, so the effective bias -sum_j Theta_c[j, d] moves |D| times as far
    as the single torch bias b_d does; the two agree only where |D| = 1."""
    net = FIXED[1]  # layer 2 has the table [[0, 2], [1]]: |D| = 2 and 1
    params, X, G = problem(net, 5)
    mu = 0.05
    m = to_torch(net, params)
    m.risk(X[:1], G[:1], 0.01, 0.02).backward()
    with torch.no_grad():
        for p in m.parameters():
            p -= mu * p.grad
    got = params_from_torch(net, m)
    want = net.sgd_step(params, X[0], G[0], mu, 0.01, 0.02)
    for (g, k, a), (_, _, b) in zip(got.items(), want.items()):
        if g != "Theta_conv":
            assert rel(a, b) <= TOL, (g, k)
            continue
        ly = net.layers[k - 1]
        moved_torch = (a * ly.conn).sum(0) - (params.Theta_conv[k] * ly.conn).sum(0)
        moved_book = (b * ly.conn).sum(0) - (params.Theta_conv[k] * ly.conn).sum(0)
        assert_allclose(moved_book, ly.conn.sum(0) * moved_torch, rtol=1e-10, atol=1e-15)
    assert net.layers[1].conn.sum(0).tolist() == [2, 1]


def test_unsupported_and_misshapen_inputs_raise():
    net = Network((4, 4), 1, [Conv(1, 2, "same", 1, "tanh",
                                   {"kind": "max", "regions": [[0, 1], [2, 3, 4]]})], [], 2)
    with pytest.raises(ValueError, match="explicit regions .* no torch counterpart"):
        to_torch(net, net.init(0))
    net = FIXED[0]
    params = net.init(0)
    with pytest.raises(ValueError, match=r"W_conv\[1\] .* must be 18 x 2 \(47.1224a\), got 2 x 2"):
        Layout.conv_weight_to_torch(net.layers[0], np.zeros((2, 2)))
    m = to_torch(net, params)
    with pytest.raises(ValueError, match=r"X .* must be 1 x 3 x 7 x 6 \(47.1216\), got 1 x 3 x 6 x 7"):
        m(torch.zeros(1, 3, 6, 7, dtype=torch.float64))
    with pytest.raises(ValueError, match="no gradient: call backward"):
        grads_from_torch(net, m)
    with pytest.raises(TypeError, match="BookCNN"):
        params_from_torch(net, torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="sayedcnn.Network"):
        BookCNN("net", params)
    with pytest.raises(ValueError, match="W_conv"):
        to_torch(net, Params())
