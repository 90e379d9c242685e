"""The scalar-loop reference of section 47.25 against finite differences and outside references.

:mod:`sayedcnn.reference.loops` computes the forward listing (47.1216), the sensitivities
(47.1233)-(47.1249) and the derivatives (47.1263)-(47.1272) entry by entry. Here its
derivatives of J_emp (47.1229) are checked against central finite differences of its own risk
on small architectures that cover C = 1, 2, 3, every pooling kind (overlapping and explicit
regions included), connection tables (47.1213), every activation and both losses; its first
layer is checked against scipy.signal.correlate2d; and the wall that keeps it independent of
the matrix implementation is checked on its source.
"""

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.signal import correlate2d

import sayedcnn
from sayedcnn import Conv, Network, Params
from sayedcnn.reference import finite_diff, loops

FD_TOL = 1e-8
KINK_MARGIN = 1e-3

# ---------------------------------------------------------------------------
# Small architectures
# ---------------------------------------------------------------------------

REGIONS = [[0, 1, 4, 5], [1, 2, 5, 6, 9], [10, 11, 14], [3, 7, 11, 15, 19], [12, 16, 17]]


def _cases():
    """name -> (network, rho1, rho2)."""
    return {
        # C = 1, D_0 = 1: odd mask, 'same', 2x2 max pooling leaving the last column out.
        "c1_max_same": (
            Network((6, 7), 1, [Conv(2, mask=3, padding="same", stride=1, activation="tanh",
                                     pool=("max", (2, 2)))],
                    hidden=[3], outputs=2, hidden_activation="sigmoid",
                    output_activation="sigmoid", loss="quadratic"), 0.1, 0.05),
        # C = 1, D_0 = 3: rectangular image and mask, stride 2, l2 pooling, linear output.
        "c1_l2_stride2": (
            Network((7, 6), 3, [Conv(2, mask=(3, 2), padding="same", stride=2,
                                     activation="sigmoid", pool=("l2", (2, 2)))],
                    hidden=[3], outputs=2, hidden_activation="relu", output_activation="linear",
                    loss="quadratic"), 0.0, 0.2),
        # C = 1: per-axis padding and stride, subsampling with leftover rows and columns,
        # softmax + cross-entropy straight after the input layer (L = 2).
        "c1_subsample_axes": (
            Network((6, 7), 2, [Conv(2, mask=(2, 2), padding=(1, 0), stride=(1, 2),
                                     activation="tanh", pool=("subsample", (3, 2)))],
                    hidden=[], outputs=3, output_activation="softmax", loss="cross_entropy"),
            0.3, 0.0),
        # C = 2, D_0 = 2: even/rectangular mask, integer padding with stride 2, no pooling in
        # layer 2, a connection table (47.1213).
        "c2_example_conn": (
            Network((6, 7), 2, [Conv(3, mask=(2, 3), padding="same", stride=1, activation="tanh",
                                     pool=("max", (2, 2))),
                                Conv(2, mask=3, padding=1, stride=2, activation="relu",
                                     pool=None, connections=[[0, 1], [2]])],
                    hidden=[4], outputs=3, hidden_activation="sigmoid",
                    output_activation="sigmoid", loss="quadratic"), 0.1, 0.2),
        # C = 2, D_0 = 3: mean pooling, overlapping l2 pooling, even 'valid' mask, a
        # connection table, softmax + cross-entropy.
        "c2_mean_l2overlap_ce": (
            Network((6, 7), 3, [Conv(3, mask=(2, 3), padding="same", stride=1, activation="relu",
                                     pool=("mean", (2, 2))),
                                Conv(2, mask=2, padding="valid", stride=1, activation="sigmoid",
                                     pool=("l2", (2, 2), (1, 1)), connections=[[0, 1], [1, 2]])],
                    hidden=[3], outputs=3, hidden_activation="tanh", output_activation="softmax",
                    loss="cross_entropy"), 0.05, 0.05),
        # C = 2: explicit, overlapping, partial max regions feeding a column map, then mean.
        "c2_regions": (
            Network((5, 6), 1, [Conv(2, mask=2, padding="valid", stride=1, activation="tanh",
                                     pool=dict(kind="max", regions=REGIONS)),
                                Conv(3, mask=(2, 1), padding=(1, 0), stride=(2, 1),
                                     activation="linear", pool=("mean", (2, 1)))],
                    hidden=[3], outputs=2, hidden_activation="tanh", output_activation="tanh",
                    loss="quadratic"), 0.0, 0.0),
        # C = 3, D_0 = 1: overlapping max pooling, subsampling keeping the last entry,
        # correlation pooling, softmax outputs with the quadratic loss.
        "c3_overlap_sub_corr": (
            Network((7, 6), 1, [Conv(2, mask=(3, 2), padding=1, stride=1, activation="tanh",
                                     pool=("max", (2, 2), (1, 1))),
                                Conv(2, mask=3, padding="same", stride=1, activation="linear",
                                     pool=dict(kind="subsample", block=(2, 2), retain=3)),
                                Conv(2, mask=2, padding="same", stride=1, activation="relu",
                                     pool=dict(kind="correlation", block=(2, 2),
                                               mask=[0.5, -1.0, 0.75, 1.5]))],
                    hidden=[2], outputs=2, hidden_activation="sigmoid",
                    output_activation="softmax", loss="quadratic"), 0.2, 0.1),
        # C = 3, D_0 = 3: 'valid' without pooling, stride 2, overlapping mean pooling,
        # rectangular max pooling, two connection tables, two hidden layers.
        "c3_d3_conn": (
            Network((7, 7), 3, [Conv(2, mask=3, padding="valid", stride=1, activation="sigmoid",
                                     pool=None, connections=[[0, 2], [1]]),
                                Conv(3, mask=(2, 3), padding=1, stride=2, activation="tanh",
                                     pool=("mean", (2, 1), (1, 1))),
                                Conv(2, mask=(1, 2), padding="valid", stride=1,
                                     activation="relu", pool=("max", (1, 2)),
                                     connections=[[0], [1, 2]])],
                    hidden=[3, 2], outputs=2, hidden_activation=["tanh", "relu"],
                    output_activation="sigmoid", loss="quadratic"), 0.1, 0.1),
    }


CASES = _cases()


def _kink_margin(net, params, X):
    """Distance of the data from the kinks of ReLU (z = 0) and max pooling (ties)."""
    margin = math.inf
    for n in range(X.shape[0]):
        fw = loops.forward(net, params, X[n])
        for ly in net.layers:
            if ly.activation.name == "relu":
                margin = min(margin, float(np.min(np.abs(fw["z_conv"][ly.c]))))
            if ly.pooled and ly.pooling.kind == "max":
                for d in range(ly.D):
                    y = fw["y_conv"][ly.c][d]
                    for reg in ly.pooling.regions:
                        if len(reg) > 1:
                            top = np.sort(y[np.asarray(reg)])[::-1]
                            margin = min(margin, float(top[0] - top[1]))
        for l in range(2, net.L + 1):
            if net.ff_activation[l].name == "relu":
                margin = min(margin, float(np.min(np.abs(fw["z_ff"][l]))))
    return margin


def _problem(name, seed=0, N=2):
    """Parameters (biases nonzero) and continuous random data away from every kink."""
    net, rho1, rho2 = CASES[name]
    for trial in range(50):
        s = 1000 * seed + trial
        rng = np.random.default_rng(s)
        params = net.init(s, bias_scale=0.3)
        for ly in net.layers:  # entries outside a connection table must not matter (47.1213)
            if not ly.conn.all():
                W = params.W_conv[ly.c]
                W[~ly.W_mask] = rng.standard_normal(int((~ly.W_mask).sum()))
                Th = params.Theta_conv[ly.c]
                Th[~ly.conn] = rng.standard_normal(int((~ly.conn).sum()))
        X = rng.standard_normal((N, net.input_depth, *net.input_shape))
        Gamma = rng.uniform(0.0, 1.0, (N, net.Q))
        if _kink_margin(net, params, X) > KINK_MARGIN:
            return net, params, X, Gamma, rho1, rho2
    raise RuntimeError(f"no kink-free draw for {name}")


# ---------------------------------------------------------------------------
# Derivatives of J_emp against finite differences
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_loop_gradients_equal_finite_differences(name):
    """(47.1263)-(47.1272) by loops equal 5-point central differences of (47.1229)."""
    net, params, X, Gamma, rho1, rho2 = _problem(name)
    g = loops.gradients(net, params, X, Gamma, rho1=rho1, rho2=rho2)
    fd = finite_diff.numerical_gradient(
        lambda p: loops.risk(net, p, X, Gamma, rho1=rho1, rho2=rho2), params)
    assert g.max_rel_diff(fd) <= FD_TOL
    # Every array carries a nonzero derivative (nothing is trivially zero on both sides).
    for _, _, a in g.items():
        assert np.max(np.abs(a)) > 0


def test_disconnected_entries_get_only_the_regulariser():
    """Entries of W_c, Theta_c outside the table (47.1213) do not reach z: 2 rho1 W and 0."""
    net, params, X, Gamma, rho1, rho2 = _problem("c3_d3_conn")
    g = loops.gradients(net, params, X, Gamma, rho1=rho1, rho2=rho2)
    for ly in net.layers:
        off = ~ly.W_mask
        assert_allclose(g.W_conv[ly.c][off], 2 * rho1 * params.W_conv[ly.c][off], rtol=1e-15)
        assert np.all(g.Theta_conv[ly.c][~ly.conn] == 0.0)


def test_scaling_1227_divides_every_term_by_N():
    """(47.1227) equals (47.1229) with rho/N, for the risk and for its derivatives."""
    net, params, X, Gamma, rho1, rho2 = _problem("c1_max_same", N=3)
    N = X.shape[0]
    j27 = loops.risk(net, params, X, Gamma, rho1, rho2, scaling="1227")
    j29 = loops.risk(net, params, X, Gamma, rho1 / N, rho2 / N)
    assert j27 == pytest.approx(j29, rel=1e-14)
    g27 = loops.gradients(net, params, X, Gamma, rho1, rho2, scaling="1227")
    g29 = loops.gradients(net, params, X, Gamma, rho1 / N, rho2 / N)
    assert g27.max_rel_diff(g29) <= 1e-14
    assert finite_diff.check_gradients(net, params, X, Gamma, rho1, rho2, grads=g27,
                                       scaling="1227") <= FD_TOL
    with pytest.raises(ValueError, match="scaling"):
        loops.risk(net, params, X, Gamma, scaling="1228")


def test_check_gradients_flags_a_wrong_gradient():
    """check_gradients is small for the loops and large for a perturbed gradient."""
    net, params, X, Gamma, rho1, rho2 = _problem("c1_l2_stride2")
    diff, fd = finite_diff.check_gradients(net, params, X, Gamma, rho1, rho2, return_fd=True)
    assert diff <= FD_TOL
    bad = fd.copy()
    bad.W_conv[1][0, 0] += 1e-3 * np.max(np.abs(bad.W_conv[1]))
    assert finite_diff.check_gradients(net, params, X, Gamma, rho1, rho2, grads=bad) > 1e-4


def test_backward_sums_over_overlapping_regions():
    """delta^(d,C) by (47.1236)-(47.1239) equals the derivative of the loss in z^(d,C),
    taken by finite differences through the pooling with overlapping explicit regions."""
    net, params, X, Gamma, _, _ = _problem("c2_regions")
    ly = net.layers[0]
    # Regions 0 and 1 share entry 1 (and 5): the sum over p' must hold both.
    assert set(REGIONS[0]) & set(REGIONS[1])
    bw = loops.backward(net, params, X[0], Gamma[0])
    assert bw["loss"] == pytest.approx(loops.risk(net, params, X[:1], Gamma[:1]), rel=1e-14)
    # A shift of theta^(d,1)(0) moves every z^(d,1)(p) by -1: dLoss/dtheta = -sum_p delta,
    # and a shift of w_0^(d,1)(s) moves z^(d,1)(p) by H^(0,0)[s, p] (47.1268).
    fd = finite_diff.numerical_gradient(lambda p: loops.risk(net, p, X[:1], Gamma[:1]), params)
    H = bw["forward"]["H_conv"][1][0]
    for d in range(ly.D):
        delta = bw["delta_conv"][1][d]
        assert fd.Theta_conv[1][0, d] == pytest.approx(-delta.sum(), rel=1e-8)
        assert_allclose(fd.W_conv[1][:, d], H @ delta, rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------------------
# Outside references for the forward pass
# ---------------------------------------------------------------------------


def _expected_out(L, k, s, padding):
    """Pads before and the number of outputs along one axis (docs/conventions.md, *Patches and partitions*)."""
    if padding == "same":
        return (k - 1) // 2, -(-L // s)
    if padding == "valid":
        return 0, (L - k) // s + 1
    return padding, (L + 2 * padding - k) // s + 1


@pytest.mark.parametrize("mask,padding,stride", [
    (3, "same", 1), ((2, 3), "same", 1), ((2, 2), "same", 2), ((3, 2), "valid", 1),
    ((3, 3), "valid", (2, 1)), ((2, 3), 1, 1), ((3, 2), 2, (1, 2)), ((1, 2), "same", (2, 2)),
])
def test_first_layer_is_scipy_correlate2d(mask, padding, stride):
    """z^(d,1) of (47.1212) equals scipy.signal.correlate2d of the zero-padded input maps
    with the masks w_j^(d,1) (read column-major, s = a + b*kr), minus the biases (47.1133)."""
    rows, cols, D0, D = 6, 7, 2, 2
    net = Network((rows, cols), D0, [Conv(D, mask=mask, padding=padding, stride=stride,
                                          activation="linear")], hidden=[], outputs=1,
                  output_activation="linear")
    ly = net.layers[0]
    kr, kc = ly.partition.mask
    sr, sc = ly.partition.stride
    br, nr = _expected_out(rows, kr, sr, padding)
    bc, nc = _expected_out(cols, kc, sc, padding)
    assert ly.partition.out_shape == (nr, nc)
    params = net.init(3, bias_scale=0.3)
    x = np.random.default_rng(3).standard_normal((D0, rows, cols))
    fw = loops.forward(net, params, x)
    S = kr * kc
    for d in range(D):
        ref = np.zeros((nr, nc))
        for j in range(D0):
            padded = np.zeros((rows + br + kr + nr * sr, cols + bc + kc + nc * sc))
            padded[br:br + rows, bc:bc + cols] = x[j]
            w = params.W_conv[1][j * S:(j + 1) * S, d].reshape((kr, kc), order="F")
            full = correlate2d(padded, w, mode="valid")
            ref += full[0:nr * sr:sr, 0:nc * sc:sc] - params.Theta_conv[1][j, d]
        assert_allclose(fw["z_conv"][1][d], ref.reshape(-1, order="F"), rtol=1e-13, atol=1e-13)
        assert_allclose(fw["y_conv"][1][d], fw["z_conv"][1][d], rtol=0, atol=0)


def test_seed000_overlapping_max_pool():
    """Seed 000: V = [[3,2,5],[4,1,7],[3,5,0]] max-pooled by 2x2 blocks at stride 1 gives
    M = [[4,7],[5,7]] (47.1187), t = vec(M); its sensitivities land on the maxima, summed
    over the two regions that share the 7 (47.1237)."""
    net = Network((3, 3), 1, [Conv(1, mask=1, padding="valid", activation="linear",
                                   pool=("max", (2, 2), (1, 1)))],
                  hidden=[], outputs=1, output_activation="linear")
    params = Params(W_conv={1: np.ones((1, 1))}, Theta_conv={1: np.zeros((1, 1))},
                    W_ff={1: np.array([[1.0, 10.0, 100.0, 1000.0]])}, theta_ff={1: np.zeros(1)})
    V = np.array([[3.0, 2.0, 5.0], [4.0, 1.0, 7.0], [3.0, 5.0, 0.0]])
    fw = loops.forward(net, params, V[None])
    assert_allclose(fw["t_conv"][1][0], np.array([[4.0, 7.0], [5.0, 7.0]]).reshape(-1, order="F"))
    gamma = np.zeros(1)
    bw = loops.backward(net, params, V[None], gamma)
    v = 2 * fw["output"][0]  # delta_L = 2(y - gamma), linear output
    expected = np.zeros((3, 3))
    expected[1, 0] = 1.0 * v  # the 4 wins region (0, 0)
    expected[2, 1] = 10.0 * v  # the 5 wins region (1, 0)
    expected[1, 2] = 100.0 * v + 1000.0 * v  # the 7 wins regions (0, 1) and (1, 1)
    assert_allclose(bw["delta_conv"][1][0], expected.reshape(-1, order="F"), rtol=1e-15)


def test_predict_and_forward_shapes():
    """forward returns the book's shapes; predict stacks y_L over a batch."""
    net, params, X, _, _, _ = _problem("c3_overlap_sub_corr", N=3)
    fw = loops.forward(net, params, X[0])
    for ly in net.layers:
        assert fw["z_conv"][ly.c].shape == (ly.D, ly.P)
        assert fw["y_conv"][ly.c].shape == (ly.D, ly.P)
        assert fw["t_conv"][ly.c].shape == (ly.D, ly.P_out)
        assert fw["H_conv"][ly.c].shape == (ly.D_in, ly.S, ly.P)
    assert fw["y_ff"][1].shape == (net.n[1],)
    assert_allclose(fw["y_ff"][1], fw["t_conv"][net.C].reshape(-1))  # (47.1215)
    assert_allclose(fw["output"].sum(), 1.0, rtol=1e-15)  # softmax output
    Y = loops.predict(net, params, X)
    assert Y.shape == (3, net.Q)
    assert_allclose(Y[0], fw["output"], rtol=0, atol=0)


# ---------------------------------------------------------------------------
# Finite differences on their own
# ---------------------------------------------------------------------------


def test_numerical_gradient_of_a_polynomial():
    """The 5-point stencil is exact for polynomials of degree <= 4 (up to rounding); the
    3-point stencil is second order."""
    net = CASES["c2_example_conn"][0]
    params = net.init(7, bias_scale=0.3)

    def fun(p):
        return sum(float(np.sum(a**3) + 0.5 * np.sum(a) ** 2) for _, _, a in p.items())

    exact = params.map(lambda a: 3 * a**2 + np.sum(a))
    assert finite_diff.numerical_gradient(fun, params).max_rel_diff(exact) <= 1e-9
    assert finite_diff.numerical_gradient(fun, params, order=2).max_rel_diff(exact) <= 1e-7
    before = params.to_vector().copy()
    finite_diff.numerical_gradient(fun, params, rel_step=1e-3)
    assert np.array_equal(params.to_vector(), before)  # the point is left untouched
    with pytest.raises(ValueError, match="order"):
        finite_diff.numerical_gradient(fun, params, order=3)
    with pytest.raises(ValueError, match="rel_step"):
        finite_diff.numerical_gradient(fun, params, rel_step=-1.0)


# ---------------------------------------------------------------------------
# The wall (docs/conventions.md, *Layout*): the references never import the matrix implementation
# ---------------------------------------------------------------------------

FORBIDDEN_MODULES = {"operators", "pooling", "forward", "training"}
# Attributes that would hand the reference a matrix, an index array or a vectorised result.
FORBIDDEN_ATTRIBUTES = {"V", "T", "index", "W_mask", "backprop", "jacobian", "upv", "permute",
                        "permute_sharp", "gradient_vectors", "vjp", "kron", "_idx", "_flat",
                        "_valid", "_pool3", "_grad3", "_backprop3", "value", "delta"}
REFERENCE_DIR = Path(sayedcnn.__file__).parent / "reference"


def _imported_modules(tree):
    """Fully qualified names of everything a module under sayedcnn.reference imports."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["sayedcnn", "reference"][: max(0, 2 - (node.level - 1))]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(REFERENCE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_reference_does_not_import_the_matrix_implementation(path):
    """No module of sayedcnn.reference imports operators, pooling, forward or training."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for name in _imported_modules(tree):
        parts = name.split(".")
        if parts[0] == "sayedcnn" and len(parts) > 1:
            assert parts[1] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"


@pytest.mark.parametrize("module", [loops, finite_diff], ids=lambda m: m.__name__)
def test_loops_read_only_the_description(module):
    """The loops and the finite differences never touch a matrix, an index array or a
    vectorised result of the package (they derive every index from the geometry)."""
    path = Path(module.__file__)
    tree = ast.parse(path.read_text(), filename=str(path))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not used & FORBIDDEN_ATTRIBUTES, f"{path.name} reads {sorted(used & FORBIDDEN_ATTRIBUTES)}"
    imported = {n.split(".")[0] for n in _imported_modules(tree)}
    assert "scipy" not in imported


def test_wall_checker_catches_forbidden_imports():
    """The import parser above resolves relative and absolute forms."""
    for src in ("from ..operators import vec", "from .. import pooling",
                "import sayedcnn.training", "from sayedcnn import forward",
                "from sayedcnn.pooling import Pooling"):
        names = _imported_modules(ast.parse(src))
        assert any(n.split(".")[0] == "sayedcnn" and len(n.split(".")) > 1
                   and n.split(".")[1] in FORBIDDEN_MODULES for n in names), src
    ok = _imported_modules(ast.parse("from ..network import Params\nfrom . import loops"))
    assert ok == ["sayedcnn.network", "sayedcnn.network.Params", "sayedcnn.reference",
                  "sayedcnn.reference.loops"]
