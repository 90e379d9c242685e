"""The PyTorch bridge: the book's network as a torch module computes the same outputs and
the same derivatives of J_emp (47.1229) as the listings, to 1e-12 relative in float64."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

torch = pytest.importorskip("torch")
F = torch.nn.functional

from sayedcnn import Conv, Network, Params  # noqa: E402
from sayedcnn.interop import golden  # noqa: E402
from sayedcnn.interop.torch import (  # noqa: E402
    BookCNN,
    BookConv,
    Layout,
    golden_arrays,
    grads_from_torch,
    params_from_torch,
    to_torch,
)
from sayedcnn.losses import one_hot  # noqa: E402
from sayedcnn.reference.compare import array_sets, rel_diff  # noqa: E402

TOL = 1e-12
ACTS = ["sigmoid", "tanh", "relu", "linear"]
POOLS = ["max", "mean", "l2", "subsample", "correlation"]


def rel(a, b):
    """max |a - b| / max(|a|, |b|) over the array; inf for NaN or a shape mismatch."""
    return rel_diff(a, b)


def per_array(got, want):
    """rel_diff of every parameter array; every array must be on both sides."""
    g, w = array_sets(got), array_sets(want)
    assert set(g) == set(w), (sorted(g), sorted(w))
    return {f"{k[0]}[{k[1]}]": rel_diff(g[k], w[k]) for k in w}


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
    d_g = per_array(got, want)
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
    got_s, want_s = array_sets(got), array_sets(want)
    assert set(got_s) == set(want_s)
    for (g, k), b in want_s.items():
        a = got_s[g, k]
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


# ---------------------------------------------------------------------------
# Ties: the book's rule, first entry in column-major region order (47.1196b)
# ---------------------------------------------------------------------------


def _tie_problem(pool):
    """3x3 image, one 2x2 'valid' mask that reads only its entry (0, 0), so z = X[:2, :2];
    z(1, 0) = z(0, 1) = 5 is an exact tie of two different patches."""
    net = Network((3, 3), 1, [Conv(1, 2, "valid", 1, "linear", pool)], [], 1,
                  output_activation="linear", loss="quadratic")
    p = Params()
    p.W_conv[1] = np.array([[1.0], [0.0], [0.0], [0.0]])
    p.Theta_conv[1] = np.zeros((1, 1))
    p.W_ff[1] = np.array([[1.0]])
    p.theta_ff[1] = np.zeros(1)
    X = np.array([[[[1.0, 5.0, 3.0], [5.0, 2.0, 0.0], [4.0, 0.0, 1.0]]]])
    return net, p, X, np.zeros((1, 1))


def test_max_pool_tie_goes_to_the_first_entry_in_column_major_order():
    """The tie z(1,0) = z(0,1) = 5: the listing gives the gradient to (1,0), first in
    column-major order, so dW = 10 vec(X[1:3, 0:2]) = [50, 40, 20, 0]; plain max_pool2d
    (first in row-major order) would give 10 vec(X[0:2, 1:3]) = [50, 20, 30, 0]; the
    bridge gives the listing's."""
    net, p, X, G = _tie_problem(("max", (2, 2)))
    want = net.gradients(p, X, G, method="listing")
    assert_array_equal(want.W_conv[1].ravel(), [50.0, 40.0, 20.0, 0.0])
    m = to_torch(net, p)
    m.risk(X, G).backward()
    assert_array_equal(grads_from_torch(net, m).W_conv[1], want.W_conv[1])
    # the same network with torch's own tie rule
    w = torch.tensor(Layout.conv_weight_to_torch(net.layers[0], p.W_conv[1]),
                     requires_grad=True)
    t = F.max_pool2d(F.conv2d(torch.tensor(X), w), 2)
    (t ** 2).sum().backward()
    plain = Layout.conv_weight_from_torch(net.layers[0], w.grad)
    assert_array_equal(plain.ravel(), [50.0, 20.0, 30.0, 0.0])


def test_overlapping_max_pool_ties_follow_the_book():
    """Overlapping 2x2 blocks at stride 1 on a map full of exact ties (integer images and
    masks): the bridge's derivatives equal the listing's."""
    rng = np.random.default_rng(7)
    net = Network((6, 5), 1, [Conv(2, (2, 2), "same", 1, "linear", ("max", (2, 2), (1, 1)))],
                  [], 2, output_activation="linear", loss="quadratic")
    p = net.init(3)
    p.W_conv[1] = np.round(p.W_conv[1] * 2)
    p.W_conv[1][0] = 1.0
    X = rng.integers(-1, 2, (2, 1, 6, 5)).astype(float)
    G = one_hot([0, 1], 2)
    want = net.gradients(p, X, G, method="listing")
    m = to_torch(net, p)
    m.risk(X, G).backward()
    d = per_array(grads_from_torch(net, m), want)
    assert max(d.values()) <= TOL, d


@pytest.mark.parametrize("retain,entry", [(1, (1, 0)), (2, (0, 1))])
def test_subsampling_keeps_the_entry_in_column_major_order(retain, entry):
    """retain = 1 of a 2x2 block is block row 1, column 0; retain = 2 is row 0, column 1
    (47.1179): t = z at that entry, and the derivatives follow that patch."""
    net, p, X, G = _tie_problem({"kind": "subsample", "block": (2, 2), "retain": retain})
    X = X.copy()
    X[0, 0, 1, 0] = 6.0  # no tie: the two candidate entries differ
    m = to_torch(net, p)
    rec = {}
    m.run(X, rec)
    assert rec["t_conv_1"].item() == X[0, 0, entry[0], entry[1]]
    want = net.gradients(p, X, G, method="listing")
    r, c = entry
    patch = X[0, 0, r:r + 2, c:c + 2].reshape(-1, order="F")
    assert_allclose(want.W_conv[1].ravel(), 2 * X[0, 0, r, c] * patch, rtol=0, atol=0)
    m.risk(X, G).backward()
    assert_array_equal(grads_from_torch(net, m).W_conv[1], want.W_conv[1])


def _row_major_pool(self, y):
    """BookConv.pool with torch's own tie rule for max pooling (the first maximum of a block
    in row-major order), to show that the tests below see the difference."""
    if self.pool_kind == "max":
        return F.max_pool2d(y, self.pool_block, self.pool_stride)
    return _book_pool(self, y)


_book_pool = BookConv.pool


def test_random_networks_on_integer_data_agree_on_every_tie(monkeypatch):
    """Twenty random networks whose first layer max-pools 2x2 blocks (disjoint or
    overlapping) of maps computed from integer images and integer masks, where exact ties
    are everywhere: the bridge's derivatives equal the package's to 1e-12; with torch's own
    row-major tie rule most of them would not."""
    rng = np.random.default_rng(99)
    differ = 0
    for trial in range(20):
        while True:
            first = _layer(rng, (6, 6), 1)
            pool = {"kind": "max", "block": (2, 2)}
            if rng.random() < 0.5:
                pool["stride"] = (1, 1)
            first = Conv(int(rng.integers(2, 4)), first.mask, first.padding, first.stride,
                         ["linear", "relu", "tanh"][trial % 3], pool)
            try:
                net = Network((6, 6), 1, [first], [3] if trial % 2 else [], 2,
                              ["sigmoid"] if trial % 2 else [], "linear", "quadratic")
                break
            except ValueError:
                continue
        params, _, G = problem(net, 200 + trial)
        params.W_conv[1] = np.round(params.W_conv[1] * 2)
        params.Theta_conv[1] = np.round(params.Theta_conv[1] * 2)
        X = rng.integers(-1, 2, (G.shape[0], 1, 6, 6)).astype(float)
        d_out, d_J, d_g = _compare(net, params, X, G, 0.0, 0.0)
        assert d_out <= TOL and d_J <= TOL, net.size_table()
        assert max(d_g.values()) <= TOL, (d_g, net.size_table())
        monkeypatch.setattr(BookConv, "pool", _row_major_pool)
        differ += max(_compare(net, params, X, G, 0.0, 0.0)[2].values()) > 1e-6
        monkeypatch.setattr(BookConv, "pool", _book_pool)
    assert differ >= 5, differ
