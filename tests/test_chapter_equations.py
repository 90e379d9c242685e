"""The numbered equations of section 47.25, (47.1124)-(47.1276), one test per equation group.

Each test is named after the book and states the identity it checks. The equation index
(:mod:`sayedcnn.fidelity.equations`) maps every number to the tests here.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sayedcnn import Conv, Network, Pooling, SlidingPartition
from sayedcnn.activations import Activation, get_activation
from sayedcnn.fidelity.book_examples import (
    LHS_1201,
    PARTITION_1149,
    PRINTED_1149,
    PRINTED_1151,
    PRINTED_1203,
    PRINTED_1240_DT,
    PRINTED_1240_W,
    PRINTED_1251,
    PRINTED_1252,
    PRINTED_1253,
    PRINTED_1254,
    PRINTED_1255,
    PRINTED_1259_DT,
    REGIONS_1201,
    substitute,
)
from sayedcnn.forward import (
    correlation_z,
    feature_map,
    feedforward_input,
    feedforward_layer,
    forward_listing,
    next_patches,
    pooled_map,
)
from sayedcnn.fused import forward_fused, gradients_fused
from sayedcnn.operators import (
    V_ddc,
    V_ddc_skeleton,
    convolve,
    correlate,
    edge_magnitude,
    flip_mask,
    gaussian_mask,
    partition_matrix,
    patch_indicator,
    patch_matrix,
    prewitt_masks,
    reversal_matrix,
    sliding_partition,
    sobel_masks,
    unvec,
    vec,
)
from sayedcnn.reference.finite_diff import central_differences
from sayedcnn.sgd import gradients, risk, sgd_step
from sayedcnn.training import (
    Delta_matrix,
    backward_listing,
    boundary_sensitivity,
    dQ_dTheta_conv,
    dQ_dtheta_ff,
    dQ_dW_conv,
    dQ_dW_ff,
    gradients_listing,
    sgd_step_listing,
)

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def small_net(pool2=None):
    """6x6 input, C = 2 (3x3 masks and 2x2 max-pooling, then 2x2 masks), L = 3."""
    return Network((6, 6), 1,
                   conv=[Conv(2, mask=3, activation="tanh", pool=("max", 2)),
                         Conv(3, mask=2, activation="tanh", pool=pool2)],
                   hidden=[4], outputs=2, hidden_activation="tanh",
                   output_activation="sigmoid")


def data(net, N=1, seed=0):
    rng = np.random.default_rng(seed)
    params = net.init(seed, bias_scale=0.3)
    X = rng.uniform(-1, 1, (N, net.input_depth, *net.input_shape))
    Gamma = rng.uniform(0.1, 0.9, (N, net.Q))
    return params, X, Gamma


def fd_params(net, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229"):
    v0 = params.to_vector()
    g = central_differences(lambda v: risk(net, params.from_vector(v), X, Gamma, rho1, rho2, scaling), v0)
    return params.from_vector(g)


def assert_params_close(a, b, rtol=1e-6, atol=1e-9):
    for (_, _, x), (_, _, y) in zip(a.items(), b.items()):
        assert_allclose(x, y, rtol=rtol, atol=atol)


def loss_from_conv_z(net, params, Z, c, gamma):
    """Q = ||gamma - y||^2 with the maps z^(d,c) replaced by the columns of Z (P_c x D_c),
    continuing the forward listing (47.1216) from layer c."""
    ly = net.layers[c - 1]
    t = [pooled_map(ly.pooling, feature_map(Z[:, d], ly.activation.f)) for d in range(ly.D)]
    for nxt in net.layers[c:]:
        H = [next_patches(nxt.partition.V, td, nxt.S) for td in t]
        t = []
        for d in range(1, nxt.D + 1):
            z = correlation_z(H, params.W_conv[nxt.c], params.Theta_conv[nxt.c], d, nxt.S,
                              np.flatnonzero(nxt.conn[:, d - 1]))
            t.append(pooled_map(nxt.pooling, feature_map(z, nxt.activation.f)))
    y = feedforward_input(t)
    for l in range(1, net.L):
        _, y = feedforward_layer(params.W_ff[l], params.theta_ff[l], y, net.ff_activation[l + 1].f)
    return float(np.sum((gamma - y) ** 2))


def loss_from_ff_z(net, params, z, l, gamma):
    """Q with z_{l,n} replaced by ``z`` (47.1216), l >= 2."""
    y = net.ff_activation[l].f(z)
    for k in range(l, net.L):
        _, y = feedforward_layer(params.W_ff[k], params.theta_ff[k], y, net.ff_activation[k + 1].f)
    return float(np.sum((gamma - y) ** 2))


def corr_same_loops(image, mask):
    """Zero-extended correlation by loops (47.1129)-(47.1133), centre ((k-1)//2, (k-1)//2)."""
    rows, cols = image.shape
    kr, kc = mask.shape
    br, bc = (kr - 1) // 2, (kc - 1) // 2
    out = np.zeros_like(image)
    for r in range(rows):
        for c in range(cols):
            s = 0.0
            for a in range(kr):
                for b in range(kc):
                    rr, cc = r + a - br, c + b - bc
                    if 0 <= rr < rows and 0 <= cc < cols:
                        s += image[rr, cc] * mask[a, b]
            out[r, c] = s
    return out


# ---------------------------------------------------------------------------
# 47.25.1 Correlation masks
# ---------------------------------------------------------------------------


def test_eq_47_1125_1127_vec_and_mask_offsets():
    """vec stacks columns (47.1127); a (2K+1)x(2K+1) mask has offsets k = -K..K, centre (0,0)
    at position K (47.1125)."""
    A = np.arange(12.0).reshape(3, 4)
    assert_allclose(vec(A), np.concatenate([A[:, j] for j in range(4)]), rtol=0, atol=0)
    assert_allclose(unvec(vec(A), (3, 4)), A, rtol=0, atol=0)
    K = 2
    W = gaussian_mask(K, 1.0)
    assert W.shape == (2 * K + 1, 2 * K + 1)
    assert np.unravel_index(np.argmax(W), W.shape) == (K, K)
    assert_allclose(W, W[::-1, ::-1], rtol=0, atol=1e-15)


def test_eq_47_1126_correlation_is_inner_product():
    """corr(H, W) = sum_{k,l} H(k,l) W(k,l) = vec(H)^T vec(W) = h^T w (47.1126a-c)."""
    rng = np.random.default_rng(1126)
    H, W = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    value = correlate(H, W, padding="valid")
    assert value.shape == (1, 1)
    assert_allclose(value[0, 0], np.sum(H * W), rtol=1e-13)
    assert_allclose(value[0, 0], vec(H) @ vec(W), rtol=1e-13)


def test_eq_47_1129_1132_first_patches():
    """F(1,1) = sum I(1+k, 1+l) W(k,l) with zeros outside = h_{1,1}^T w (47.1129)-(47.1130);
    F(1,2) = h_{1,2}^T w (47.1131a)-(47.1132)."""
    rng = np.random.default_rng(1129)
    I, W = rng.standard_normal((5, 5)), rng.standard_normal((3, 3))
    padded = np.pad(I, 1)
    part = sliding_partition(I.shape, 3)
    Hm = patch_matrix(part.V, vec(I), part.S)
    h11 = vec(padded[0:3, 0:3])  # [I(1+k, 1+l)]_{k,l=-1..1}
    h12 = vec(padded[0:3, 1:4])
    assert_allclose(Hm[:, 0], h11, rtol=0, atol=0)
    assert_allclose(Hm[:, 0 + 1 * 5], h12, rtol=0, atol=0)  # p = r + c*rows
    F = correlate(I, W)
    assert_allclose(F[0, 0], h11 @ vec(W), rtol=1e-13)
    assert_allclose(F[0, 1], h12 @ vec(W), rtol=1e-13)


@pytest.mark.parametrize("shape,mask", [((5, 6), (3, 3)), ((4, 7), (3, 5)), ((6, 5), (1, 3))])
def test_eq_47_1133_1134_correlation_entrywise(shape, mask):
    """F(r,c) = sum_{k,l} I(r+k, c+l) W(k,l) = h_{r,c}^T w with zero extension (47.1133),
    (47.1134); the filtered image keeps the size, y = vec(F) has L^2 entries (47.1144)."""
    rng = np.random.default_rng(sum(shape) + sum(mask))
    I, W = rng.standard_normal(shape), rng.standard_normal(mask)
    F = correlate(I, W)
    assert F.shape == I.shape and vec(F).size == I.size
    assert_allclose(F, corr_same_loops(I, W), rtol=1e-12, atol=1e-12)


def test_eq_47_1135_gaussian_mask_printed_form():
    """W(k,l) = exp(-(k^2+l^2)/(2 sigma^2)) / (sqrt(2 pi) sigma^2) as printed (47.1135);
    the constant is erratum E-1135 (a 2-D Gaussian has 1/(2 pi sigma^2))."""
    K, s2 = 3, 1.7
    W = gaussian_mask(K, s2, printed=True)
    for a, k in enumerate(range(-K, K + 1)):
        for b, l in enumerate(range(-K, K + 1)):
            want = np.exp(-(k * k + l * l) / (2 * s2)) / (np.sqrt(2 * np.pi) * s2)
            assert_allclose(W[a, b], want, rtol=1e-14)
    assert_allclose(gaussian_mask(K, s2, normalize=True).sum(), 1.0, rtol=1e-14)


def test_eq_47_1136_1138_flip_mask():
    """W#(k,l) = W(-k,-l) (47.1136); I~ has ones on the anti-diagonal and is orthogonal
    (47.1137); W# = I~ W I~, W = I~ W# I~, w# = I~ w with the (2K+1)^2 reversal (47.1138)."""
    rng = np.random.default_rng(1136)
    K = 2
    W = rng.standard_normal((2 * K + 1, 2 * K + 1))
    Wf = flip_mask(W)
    for k in range(-K, K + 1):
        for l in range(-K, K + 1):
            assert Wf[k + K, l + K] == W[-k + K, -l + K]
    Ir = reversal_matrix(2 * K + 1).toarray()
    assert_allclose(Ir, np.fliplr(np.eye(2 * K + 1)), rtol=0, atol=0)
    assert_allclose(Ir @ Ir.T, np.eye(2 * K + 1), rtol=0, atol=0)
    assert_allclose(Wf, Ir @ W @ Ir, rtol=0, atol=0)
    assert_allclose(W, Ir @ Wf @ Ir, rtol=0, atol=0)
    Ibig = reversal_matrix((2 * K + 1) ** 2).toarray()
    assert_allclose(vec(Wf), Ibig @ vec(W), rtol=0, atol=0)
    assert_allclose(vec(W), Ibig @ vec(Wf), rtol=0, atol=0)


def test_eq_47_1139_convolution_with_flipped_mask():
    """F(r,c) = sum_{k,l} W#(k,l) I(r-k, c-l) = (I * W#)(r,c) equals the correlation
    (47.1133) with W (47.1139)."""
    rng = np.random.default_rng(1139)
    I, W = rng.standard_normal((6, 5)), rng.standard_normal((3, 3))
    Wf = flip_mask(W)
    K = 1
    out = np.zeros_like(I)
    for r in range(6):
        for c in range(5):
            for k in range(-K, K + 1):
                for l in range(-K, K + 1):
                    if 0 <= r - k < 6 and 0 <= c - l < 5:
                        out[r, c] += Wf[k + K, l + K] * I[r - k, c - l]
    assert_allclose(convolve(I, Wf), out, rtol=1e-12, atol=1e-12)
    assert_allclose(convolve(I, Wf), correlate(I, W), rtol=1e-12, atol=1e-12)


def test_eq_47_1140_1142_edge_detection():
    """Sobel and Prewitt masks as printed (47.1140); F_x, F_y by correlation (47.1141);
    F = sqrt(F_x^2 + F_y^2) (47.1142): zero on uniform regions, large on a vertical edge."""
    sx, sy = sobel_masks()
    assert_allclose(sx, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], rtol=0, atol=0)
    assert_allclose(sy, [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], rtol=0, atol=0)
    px, py = prewitt_masks()
    assert_allclose(px, [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], rtol=0, atol=0)
    assert_allclose(py, [[-1, -1, -1], [0, 0, 0], [1, 1, 1]], rtol=0, atol=0)
    img = np.zeros((7, 8))
    img[:, 4:] = 1.0  # vertical edge between columns 3 and 4
    F = edge_magnitude(img)
    Fx, Fy = correlate(img, sx), correlate(img, sy)
    assert_allclose(F, np.sqrt(Fx**2 + Fy**2), rtol=1e-14)
    assert_allclose(F[1:-1, 1:3], 0.0, atol=0)  # uniform region (interior)
    assert_allclose(F[3, 3], 4.0, rtol=1e-14)  # Sobel: 1 + 2 + 1 across the edge


def test_eq_47_1143_1147_sizes():
    """h = vec(I) has M = L^2 entries (47.1143); unit stride with zero extension gives
    S = (2K+1)^2, P = L^2 subvectors (47.1147a-c)."""
    from sayedcnn.forward import images_to_maps

    L, K = 7, 2
    x = np.random.default_rng(1143).standard_normal((1, L, L))
    (h,) = images_to_maps(x)
    assert h.shape == (L * L,)
    assert_allclose(h, vec(x[0]), rtol=0, atol=0)
    part = sliding_partition((L, L), 2 * K + 1)
    assert (part.S, part.P, part.M) == ((2 * K + 1) ** 2, L * L, L * L)


def test_eq_47_1148_1152_partition_generic():
    """col{h_p} = V h (47.1152) for any partition (47.1148), overlapping or scattered; V is
    PS x M with basis-vector rows."""
    rng = np.random.default_rng(1148)
    M, P, S = 10, 5, 3
    lists = [rng.choice(M, S, replace=False) for _ in range(P)]
    V = partition_matrix(lists, M)
    h = rng.standard_normal(M)
    assert V.shape == (P * S, M)
    assert_allclose(V @ h, np.concatenate([h[idx] for idx in lists]), rtol=0, atol=0)
    Vd = V.toarray()
    assert np.all(Vd.sum(axis=1) == 1) and set(np.unique(Vd)) <= {0.0, 1.0}
    assert_allclose(patch_matrix(V, h, S), np.column_stack([h[i] for i in lists]), rtol=0)
    part = sliding_partition((4, 5), 3, stride=1, padding="valid")  # partition(h, P) (47.1148)
    assert isinstance(part, SlidingPartition)
    assert (part.P, part.S, part.M) == (2 * 3, 9, 20)
    img = rng.standard_normal((4, 5))
    patches = [vec(img[r:r + 3, c:c + 3]) for c in range(3) for r in range(2)]  # column-major
    assert_allclose(part.V @ vec(img), np.concatenate(patches), rtol=0, atol=0)


def test_eq_47_1149_1153_partition_example():
    """The partition matrix of Fig. 47.87 reproduces (47.1149) and its rows are the e_k^T of
    (47.1153)."""
    V = partition_matrix([[k - 1 for k in row] for row in PARTITION_1149], 6).toarray()
    printed = np.zeros((12, 6))
    printed[np.arange(12), np.array(PRINTED_1149) - 1] = 1
    assert_allclose(V, printed, rtol=0, atol=0)
    assert_allclose(V @ np.arange(1.0, 7), PRINTED_1149, rtol=0, atol=0)
    assert_allclose(np.argmax(V, axis=1) + 1, PRINTED_1149, rtol=0, atol=0)


def test_eq_47_1151_patch_indicator_example():
    """I_P (x) 1_S^T is P x PS (47.1150) and (I_P (x) 1_S^T) V is (47.1151)."""
    V = partition_matrix([[k - 1 for k in row] for row in PARTITION_1149], 6)
    left = np.kron(np.eye(4), np.ones((1, 3)))
    assert left.shape == (4, 12)
    assert_allclose(left @ V.toarray(), PRINTED_1151, rtol=0, atol=0)
    assert_allclose(patch_indicator(V, 4, 3).toarray(), PRINTED_1151, rtol=0, atol=0)


def test_eq_47_1154_activations():
    """f(x) = max(0, x) and f(x) = tanh(x) (47.1154), with f' = 1[x > 0] and 1 - tanh^2."""
    x = np.linspace(-2, 2, 9)
    relu, tanh = get_activation("relu"), get_activation("tanh")
    assert isinstance(relu, Activation) and isinstance(tanh, Activation)
    assert_allclose(relu(x), np.maximum(0, x), rtol=0, atol=0)
    assert_allclose(tanh(x), np.tanh(x), rtol=1e-15)
    u = np.random.default_rng(1154).standard_normal(x.size)
    assert_allclose(tanh.vjp(x, u), (1 - np.tanh(x) ** 2) * u, rtol=1e-14)  # f'(z) (.) u
    xs = x[x != 0]
    for act in (relu, tanh):
        fd = np.array([(act.f(np.array([v + 1e-6])) - act.f(np.array([v - 1e-6])))[0] / 2e-6
                       for v in xs])
        assert_allclose(act.fprime(xs), fd, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------
# Feature maps (47.1155)-(47.1167)
# ---------------------------------------------------------------------------


def test_eq_47_1155_1158_single_feature_map():
    """y(p) = f(h_p^T w - theta) (47.1155); y is P x 1 (47.1156); H = [h_1 ... h_P] is S x P
    (47.1157); y = f(H^T w - theta 1) (47.1158)."""
    net = Network((5, 6), 1, conv=[Conv(1, mask=3, activation="tanh")], outputs=2)
    params = net.init(1155, bias_scale=1.0)
    x = np.random.default_rng(1155).standard_normal((1, 5, 6))
    res = forward_listing(net, params, x)
    w, theta = params.W_conv[1][:, 0], params.Theta_conv[1][0, 0]
    part = net.layers[0].partition
    H = res.H[1, 0]
    assert H.shape == (part.S, part.P)
    assert_allclose(H, patch_matrix(part.V, vec(x[0]), part.S), rtol=0, atol=0)
    y = res.y_conv[1, 1]
    assert y.shape == (part.P,)
    assert_allclose(y, np.tanh(H.T @ w - theta * np.ones(part.P)), rtol=1e-14)
    for p in range(part.P):
        assert_allclose(y[p], np.tanh(H[:, p] @ w - theta), rtol=1e-14)


def test_eq_47_1159_1162_multiple_maps():
    """D maps with their own (w^(d), theta^(d)) on the same subvectors (47.1159)-(47.1161);
    F_d(r,c) = f(h_{r,c}^T w^(d) - theta^(d)) (47.1162)."""
    net = Network((5, 5), 1, conv=[Conv(3, mask=3, activation="relu")], outputs=2)
    params = net.init(1161, bias_scale=0.5)
    x = np.random.default_rng(1161).standard_normal((1, 5, 5))
    res = forward_listing(net, params, x)
    H = res.H[1, 0]
    for d in range(1, 4):
        w, th = params.W_conv[1][:, d - 1], params.Theta_conv[1][0, d - 1]
        assert_allclose(res.y_conv[d, 1], np.maximum(0, H.T @ w - th), rtol=1e-14)
        F = unvec(res.y_conv[d, 1], (5, 5))
        assert_allclose(F, np.maximum(0, corr_same_loops(x[0], unvec(w, (3, 3))) - th),
                        rtol=1e-12, atol=1e-12)


def test_eq_47_1163_1164_rgb():
    """F(r,c) = f(sum_j ([h^(j)_{r,c}]^T w_j - theta(j))) over three input layers (47.1163),
    (47.1164), (47.1189); H^(j) = [h^(j)_1 ... h^(j)_P] (47.1190); y^(d) = f(sum_j
    ([H^(j)]^T w_j^(d) - theta^(d)(j) 1)) and t^(d) = pool(y^(d)) (47.1191)."""
    net = Network((6, 6), 3, conv=[Conv(2, mask=3, activation="tanh", pool=("mean", 2))],
                  outputs=2)
    params = net.init(1163, bias_scale=0.5)
    x = np.random.default_rng(1163).standard_normal((3, 6, 6))
    res = forward_listing(net, params, x)
    W, Th = params.W_conv[1], params.Theta_conv[1]
    for d in range(2):
        F = np.zeros((6, 6))
        for j in range(3):
            F += corr_same_loops(x[j], unvec(W[9 * j:9 * (j + 1), d], (3, 3))) - Th[j, d]
        assert_allclose(unvec(res.y_conv[d + 1, 1], (6, 6)), np.tanh(F), rtol=1e-12, atol=1e-12)
        z = sum(res.H[j + 1, 0].T @ W[9 * j:9 * (j + 1), d] - Th[j, d] * np.ones(36)
                for j in range(3))
        assert_allclose(res.z_conv[d + 1, 1], z, rtol=1e-13, atol=1e-13)
        t = np.tanh(F).reshape(3, 2, 3, 2).mean(axis=(1, 3))
        assert_allclose(unvec(res.t_conv[d + 1, 1], (3, 3)), t, rtol=1e-12, atol=1e-12)


def test_eq_47_1165_1167_parameter_savings():
    """M = 64^2 = 4096 (47.1165), one unit needs M + 1 = 4097 coefficients; a depth-30 layer
    with 9x9 masks has 30 x (81 + 1) = 2460 (47.1166, printed 300: erratum E-1166); its maps
    have P = L^2 = 4096 entries (47.1167)."""
    net = Network((64, 64), 1, conv=[Conv(30, mask=9)], outputs=1)
    assert net.sizes()[0]["M"] == 4096 and net.sizes()[0]["M"] + 1 == 4097
    ly = net.layers[0]
    assert ly.S * ly.D_in * ly.D + ly.D_in * ly.D == 30 * (81 + 1)
    assert ly.P == 4096
    net3 = Network((64, 64), 1, conv=[Conv(30, mask=3)], outputs=1)
    l3 = net3.layers[0]
    assert l3.S * l3.D + l3.D == 300


# ---------------------------------------------------------------------------
# Pooling (47.1168)-(47.1204)
# ---------------------------------------------------------------------------


def test_eq_47_1168_1176_pooling_functions():
    """A P-entry map becomes P' entries (47.1168): mean (47.1169)-(47.1171), max with its
    argmax (47.1172)-(47.1175) and l2 (47.1176) over the 3x3 blocks of Fig. 47.90."""
    rng = np.random.default_rng(1168)
    Y = rng.standard_normal((6, 9))
    blocks = Y.reshape(2, 3, 3, 3).transpose(0, 2, 1, 3)  # [i, j] = block (i, j)
    for kind, fn in (("mean", lambda b: b.mean()), ("max", lambda b: b.max()),
                     ("l2", lambda b: np.sqrt(np.sum(b**2)))):
        pool = Pooling(kind, in_shape=(6, 9), block=3)
        t = pool.pool(vec(Y))
        assert (pool.P, t.size) == (54, 6)
        want = np.array([[fn(blocks[i, j]) for j in range(3)] for i in range(2)])
        assert_allclose(unvec(t, (2, 3)), want, rtol=1e-12, atol=1e-15)
    Mmean = np.ones((3, 3)) / 9
    assert_allclose(np.sum(blocks[0, 0] * Mmean), blocks[0, 0].mean(), rtol=1e-14)


def test_eq_47_1174_1178_masks():
    """M_mean = 1 1^T / 9 (47.1170); M_max = e_1 e_2^T for a maximum at (1,2) (47.1174); M_sub
    = e_1 e_1^T (47.1178): the gradient matrices of the pooled 3x3 patch."""
    H = np.array([[1.0, 9, 2], [3, 4, 5], [0, 6, 7]])

    def G(kind):
        p = Pooling(kind, in_shape=(3, 3), block=3)
        return unvec(p.gradient_vectors(vec(H))[0], (3, 3))

    e1, e2 = np.eye(3)[0], np.eye(3)[1]
    assert_allclose(G("mean"), np.ones((3, 3)) / 3**2, rtol=1e-15)
    assert_allclose(G("max"), np.outer(e1, e2), rtol=0, atol=0)
    assert_allclose(G("subsample"), np.outer(e1, e1), rtol=0, atol=0)
    assert np.sum(H * G("max")) == H.max() and np.sum(H * G("subsample")) == H[0, 0]


def test_eq_47_1177_subsampling_schematic():
    """Subsampling by 3 keeps rows and columns 1, 4, 7 of the 7 x 9 map (47.1177)."""
    F = 10 * np.arange(1, 8)[:, None] + np.arange(1, 10)[None, :]
    sub = Pooling("subsample", in_shape=(7, 9), block=1, stride=3)
    assert_allclose(unvec(sub.pool(vec(F)), sub.out_shape),
                    [[11, 14, 17], [41, 44, 47], [71, 74, 77]], rtol=0, atol=0)


def test_eq_47_1179_1180_subsample_and_correlation_pooling():
    """Subsampling retains entry (k^o, l^o) (47.1179); correlation pooling is
    t = sum_{k,l} H(k,l) M(k,l) (47.1180, a scalar: erratum E-1180)."""
    rng = np.random.default_rng(1179)
    H, M = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    for retain in range(9):
        p = Pooling("subsample", in_shape=(3, 3), block=3, retain=retain)
        assert p.pool(vec(H))[0] == vec(H)[retain]
    p = Pooling("correlation", in_shape=(3, 3), block=3, mask=M)
    assert_allclose(p.pool(vec(H))[0], np.sum(H * M), rtol=1e-14)


@pytest.mark.parametrize("kind", ["mean", "max", "subsample", "l2", "correlation"])
def test_eq_47_1185_gradient_matrices(kind):
    """dt/dH = G of Table 47.12 (47.1183)-(47.1185): 1 1^T/(2B+1)^2, e_k e_l^T, H/t, M;
    up(alpha) = alpha G (47.1186). Checked by finite differences."""
    rng = np.random.default_rng(1185)
    H, M = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    kw = {"mask": M} if kind == "correlation" else {}
    p = Pooling(kind, in_shape=(3, 3), block=3, **kw)
    G = unvec(p.gradient_vectors(vec(H))[0], (3, 3))
    fd = unvec(central_differences(lambda v: p.pool(v)[0], vec(H)), (3, 3))
    assert_allclose(G, fd, rtol=1e-6, atol=1e-9)
    want = {"mean": np.ones((3, 3)) / 9, "l2": H / np.linalg.norm(H), "correlation": M}
    if kind in want:
        assert_allclose(G, want[kind], rtol=1e-14)
    alpha = 1.7
    assert_allclose(p.upv(np.array([alpha]), vec(H)), alpha * vec(G), rtol=1e-14)


@pytest.mark.parametrize("kind", ["mean", "max", "l2", "subsample"])
def test_eq_47_1187_1188_general_pooling(kind):
    """t(p') = pool_{p in Omega_p'} {y(p)} over arbitrary regions (47.1187), Table 47.13,
    applied map by map (47.1188)."""
    rng = np.random.default_rng(1187)
    regions = [[0, 5, 2], [7, 1], [3, 4, 6, 8, 9]]
    p = Pooling(kind, regions=regions, P=10)
    Y = rng.standard_normal((10, 3))  # three maps, one per column
    fns = {"mean": np.mean, "max": np.max, "l2": np.linalg.norm, "subsample": lambda v: v[0]}
    want = np.array([[fns[kind](Y[r, d]) for d in range(3)] for r in regions])
    assert_allclose(p.pool(Y), want, rtol=1e-14)


@pytest.mark.parametrize("kind", ["mean", "max", "l2", "subsample", "correlation"])
def test_eq_47_1195_1196_gradient_vectors_fd(kind):
    """g_p' = dt(p')/dy(Omega_p') (47.1192)-(47.1195) as in (47.1196a-e), Table 47.14, against
    finite differences of t(p')."""
    rng = np.random.default_rng(1195)
    regions = [[0, 5, 2], [7, 1, 9], [3, 4, 6]]
    kw = {"mask": rng.standard_normal(3)} if kind == "correlation" else {}
    p = Pooling(kind, regions=regions, P=10, **kw)
    y = rng.standard_normal(10)
    for q, (reg, g) in enumerate(zip(regions, p.gradient_vectors(y))):
        fd = central_differences(lambda v, q=q: p.pool(v)[q], y)
        assert_allclose(g, fd[reg], rtol=1e-6, atol=1e-9)
        assert_allclose(np.delete(fd, reg), 0.0, atol=1e-9)


def test_eq_47_1197_1200_upsampling():
    """up(alpha) = alpha g (47.1197); (alpha_1, alpha_2, alpha_3) -> (alpha_1 g_1; alpha_2 g_2;
    alpha_3 g_3) (47.1198)-(47.1199); upv(v) = col{v(p') g_p'} (47.1200)."""
    rng = np.random.default_rng(1197)
    p = Pooling("l2", regions=[[0, 1], [2, 3, 4], [5]], P=6)
    y, v = rng.standard_normal(6), np.array([2.0, -1.0, 0.5])
    g = p.gradient_vectors(y)
    assert_allclose(p.upv(v, y), np.concatenate([v[0] * g[0], v[1] * g[1], v[2] * g[2]]),
                    rtol=1e-15)


def test_eq_47_1201_1203_permutation_example():
    """T of Fig. 47.95 groups the regions: T (1..12) is the left side of (47.1201), its rows are
    the e_k^T of (47.1203), y_o = T y (47.1202), T T^T = I."""
    p = Pooling("max", regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)
    T = p.T.toarray()
    assert T.shape == (12, 12)
    assert_allclose(T @ np.arange(1.0, 13), LHS_1201, rtol=0, atol=0)
    assert_allclose(np.argmax(T, axis=1) + 1, PRINTED_1203, rtol=0, atol=0)
    assert_allclose(T @ T.T, np.eye(12), rtol=0, atol=0)
    y = np.random.default_rng(1202).standard_normal(12)
    assert_allclose(p.permute(y), T @ y, rtol=0, atol=0)


def test_eq_47_1204_permute_sharp():
    """y = permute#(y_o) = T^T y_o undoes permute for a square permutation (47.1204)."""
    p = Pooling("mean", regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)
    y = np.random.default_rng(1204).standard_normal(12)
    assert_allclose(p.permute_sharp(p.permute(y)), y, rtol=0, atol=0)
    assert_allclose(p.permute_sharp(p.permute(y)), p.T.T @ (p.T @ y), rtol=0, atol=0)


# ---------------------------------------------------------------------------
# The full network (47.1205)-(47.1226)
# ---------------------------------------------------------------------------


def test_eq_47_1206_1211_layer_sizes():
    """Maps y^(d,c) have P_c entries (47.1206), t^(d,c) = pool(y^(d,c)) has P'_c (47.1207),
    (47.1208); partition(t, P_{c+1}) gives P_{c+1} subvectors of S_{c+1} entries (47.1209),
    (47.1210), the columns of H^(d,c), S_{c+1} x P_{c+1} (47.1211)."""
    net = small_net()
    params, X, _ = data(net, seed=1206)
    res = forward_listing(net, params, X[0])
    l1, l2 = net.layers
    for d in range(1, l1.D + 1):
        assert res.y_conv[d, 1].shape == (l1.P,) and res.t_conv[d, 1].shape == (l1.P_out,)
        assert_allclose(res.t_conv[d, 1], l1.pooling.pool(res.y_conv[d, 1]), rtol=0, atol=0)
        H = res.H[d, 1]
        assert H.shape == (l2.S, l2.P)
        assert_allclose(vec(H), l2.partition.V @ res.t_conv[d, 1], rtol=0, atol=0)
        assert_allclose(H, patch_matrix(l2.partition.V, res.t_conv[d, 1], l2.S), rtol=0, atol=0)
    assert (l1.P, l1.P_out, l2.S, l2.P) == (36, 9, 4, 9)
    sizes = net.sizes()  # the book's sizes per layer (47.1206)-(47.1211)
    for ly, row in zip(net.layers, sizes[1:1 + net.C]):
        assert (row["P"], row["P'"], row["S"], row["D"]) == (
            res.y_conv[1, ly.c].size, res.t_conv[1, ly.c].size, ly.S, ly.D)


def test_eq_47_1212_next_layer_maps():
    """z^(d,c+1) = sum_{j=1}^{D_c} ([H^(j,c)]^T w_j^(d,c+1) - theta^(d,c+1)(j) 1) and
    y = f(z) (47.1212), the same as (47.1266)."""
    net = small_net()
    params, X, _ = data(net, seed=1212)
    res = forward_listing(net, params, X[0])
    l2 = net.layers[1]
    W, Th = params.W_conv[2], params.Theta_conv[2]
    for d in range(1, l2.D + 1):
        z = sum(res.H[j, 1].T @ W[(j - 1) * l2.S:j * l2.S, d - 1] - Th[j - 1, d - 1] * np.ones(
            l2.P) for j in range(1, l2.D_in + 1))
        assert_allclose(res.z_conv[d, 2], z, rtol=1e-13, atol=1e-14)
        assert_allclose(res.y_conv[d, 2], np.tanh(z), rtol=1e-13, atol=1e-14)


def test_eq_47_1213_connection_table():
    """With a subset D_c of input maps (47.1213) for each of the D_{c+1} maps of layer c+1
    (erratum E-1213), z^(d,c+1) sums only over D_c: weights outside the table do nothing."""
    table = [[0], [1], [0, 1]]
    net = Network((6, 6), 1, conv=[Conv(2, mask=3, pool=("max", 2)),
                                   Conv(3, mask=2, connections=table)], hidden=[4], outputs=2)
    params, X, _ = data(net, seed=1213)
    res = forward_listing(net, params, X[0])
    S = net.layers[1].S
    for d, js in enumerate(table, start=1):
        z = sum(res.H[j + 1, 1].T @ params.W_conv[2][j * S:(j + 1) * S, d - 1]
                - params.Theta_conv[2][j, d - 1] for j in js)
        assert_allclose(res.z_conv[d, 2], z, rtol=1e-13, atol=1e-14)
    changed = params.copy()
    changed.W_conv[2][S:2 * S, 0] += 5.0  # input map 2 is not in the table of map 1
    assert_allclose(forward_listing(net, changed, X[0]).output, res.output, rtol=0, atol=0)


def test_eq_47_1214_1217_feedforward_input():
    """h' = y_1 = col{t^(1,C), ..., t^(D_C,C)} (47.1214)-(47.1216), D_C P'_C entries; entry p'
    of map d sits at i = (d-1)P'_C + p' (47.1217)."""
    net = small_net(pool2=("mean", (1, 3)))
    params, X, _ = data(net, seed=1214)
    res = forward_listing(net, params, X[0])
    last = net.layers[-1]
    y1 = res.y_ff[1]
    assert y1.shape == (last.D * last.P_out,)
    row = net.sizes()[net.C]  # the last conv layer: D_C maps t^(d,C) of P'_C entries (47.1214)
    assert [res.t_conv[d, net.C].size for d in range(1, last.D + 1)] == [row["P'"]] * row["D"]
    for d in range(1, last.D + 1):
        for p in range(1, last.P_out + 1):
            assert y1[(d - 1) * last.P_out + p - 1] == res.t_conv[d, net.C][p - 1]


def test_eq_47_1216_forward_listing_independent():
    """The forward listing (47.1216) and the fused path against a direct computation: 'same'
    correlations by loops, 2x2 max-pooling by reshaping, then z = W y - theta."""
    net = small_net()
    params, X, _ = data(net, N=2, seed=1216)
    fused = forward_fused(net, params, X)
    for n in range(2):
        maps = [X[n, 0]]
        for ly in net.layers:
            c, k = ly.c, ly.partition.mask
            new = []
            for d in range(ly.D):
                F = np.zeros(ly.in_shape)
                for j in range(ly.D_in):
                    w = params.W_conv[c][j * ly.S:(j + 1) * ly.S, d]
                    F += corr_same_loops(maps[j], unvec(w, k)) - params.Theta_conv[c][j, d]
                F = np.tanh(F)
                if ly.pooled:
                    F = F.reshape(F.shape[0] // 2, 2, F.shape[1] // 2, 2).max(axis=(1, 3))
                new.append(F)
            maps = new
        y = np.concatenate([vec(m) for m in maps])
        y = np.tanh(params.W_ff[1] @ y - params.theta_ff[1])
        y = 1 / (1 + np.exp(-(params.W_ff[2] @ y - params.theta_ff[2])))
        assert_allclose(forward_listing(net, params, X[n]).output, y, rtol=1e-12, atol=1e-13)
        assert_allclose(fused.output[n], y, rtol=1e-12, atol=1e-13)


def test_eq_47_1218_1220_W1_blocks():
    """W_1 = [w_1^(1) ... w_(D_C P'_C)^(1)] (47.1218); column i is the weight vector leaving
    node i of y_1, dz_2/dy_1(i) (47.1219); W_1^(d) = columns (d-1)P'_C+1..dP'_C (47.1220) and
    (W_1^(d))^T delta_2 is the d-th block of W_1^T delta_2 (47.1241)."""
    net = small_net()
    params, X, Gamma = data(net, seed=1218)
    W1 = params.W_ff[1]
    last = net.layers[-1]
    assert W1.shape[1] == last.D * last.P_out
    y1 = forward_listing(net, params, X[0]).y_ff[1]
    for i in (0, 5, W1.shape[1] - 1):
        fd = central_differences(lambda s, i=i: (W1 @ np.concatenate([y1[:i], s, y1[i + 1:]]))[0],
                      [y1[i]])
        assert_allclose(fd[0], W1[0, i], rtol=1e-7)
    delta2 = np.random.default_rng(1218).standard_normal(W1.shape[0])
    Pp = last.P_out
    res = forward_listing(net, params, X[0])
    f, pool, C = last.activation.fprime, last.pooling, net.C
    for d in range(1, last.D + 1):
        W1d = W1[:, (d - 1) * Pp:d * Pp]
        assert_allclose(W1d.T @ delta2, (W1.T @ delta2)[(d - 1) * Pp:d * Pp], rtol=1e-15)
        # (47.1245) with the block W_1^(d) of (47.1220): the block of W_1^T delta_2 goes up
        got = boundary_sensitivity(f, res.z_conv[d, C], pool, res.y_conv[d, C], W1d, delta2)
        want = f(res.z_conv[d, C]) * pool.backprop((W1.T @ delta2)[(d - 1) * Pp:d * Pp],
                                                   res.y_conv[d, C])
        assert_allclose(got, want, rtol=1e-14, atol=1e-16)
        with pytest.raises(ValueError):  # the whole W_1 (E-1275c) does not fit
            boundary_sensitivity(f, res.z_conv[d, C], pool, res.y_conv[d, C], W1, delta2)


def test_eq_47_1221_1224_parameter_shapes():
    """W_l is n_{l+1} x n_l with n_l columns (47.1221g, erratum E-1221g), theta_l has n_{l+1}
    (47.1221h); W^(d,c) = col{w_1..w_{D_{c-1}}} is S_c D_{c-1} x 1 (47.1223a, erratum E-1223a),
    theta^(d,c) is D_{c-1} x 1 (47.1223b); W_c is S_c D_{c-1} x D_c, Theta_c D_{c-1} x D_c
    (47.1224)."""
    net = small_net()
    params = net.init(1221)
    for l in range(1, net.L):
        assert params.W_ff[l].shape == (net.n[l + 1], net.n[l])
        assert params.theta_ff[l].shape == (net.n[l + 1],)
    for ly in net.layers:
        W, Th = params.W_conv[ly.c], params.Theta_conv[ly.c]
        assert W.shape == (ly.S * ly.D_in, ly.D) and Th.shape == (ly.D_in, ly.D)
        assert W[:, 0].reshape(-1, 1).shape == (ly.S * ly.D_in, 1)
        assert Th[:, 0].reshape(-1, 1).shape == (ly.D_in, 1)


def test_eq_47_1225_1226_stacked_features():
    """H_{n,c} = col{H^(1,c), ..., H^(D_c,c)} is D_c S_{c+1} x P_{c+1} (47.1225); z, y have P_c
    entries and t has P'_c (47.1226)."""
    net = small_net()
    params, X, _ = data(net, seed=1225)
    res = forward_listing(net, params, X[0])
    l1, l2 = net.layers
    Hs = res.H_stacked[1]
    assert Hs.shape == (l1.D * l2.S, l2.P)
    assert_allclose(Hs, np.vstack([res.H[d, 1] for d in range(1, l1.D + 1)]), rtol=0, atol=0)
    for ly in net.layers:
        for d in range(1, ly.D + 1):
            assert res.z_conv[d, ly.c].shape == res.y_conv[d, ly.c].shape == (ly.P,)
            assert res.t_conv[d, ly.c].shape == (ly.P_out,)


# ---------------------------------------------------------------------------
# Training (47.1227)-(47.1276)
# ---------------------------------------------------------------------------


def test_eq_47_1227_1229_risk_scalings():
    """J_emp = sum rho_1 ||W_c||^2 + sum rho_2 ||W_l||^2 + (1/N) sum ||gamma - y||^2 (47.1228),
    (47.1229); (47.1227) divides the regularisers by N too."""
    net = small_net()
    params, X, Gamma = data(net, N=3, seed=1227)
    r1, r2 = 0.03, 0.05
    Y = forward_fused(net, params, X).output
    data_term = np.mean(np.sum((Gamma - Y) ** 2, axis=1))
    reg = r1 * sum(np.sum(W**2) for W in params.W_conv.values()) + r2 * sum(
        np.sum(W**2) for W in params.W_ff.values())
    assert_allclose(risk(net, params, X, Gamma, r1, r2), reg + data_term, rtol=1e-13)
    assert_allclose(risk(net, params, X, Gamma, r1, r2, scaling="1227"), reg / 3 + data_term,
                    rtol=1e-13)


@pytest.mark.parametrize("method", ["listing", "fused"])
def test_eq_47_1230_gradients_fd(method):
    """The derivatives (47.1230a-b) of J_emp with respect to every entry of W_l, theta_l, W_c,
    Theta_c, against finite differences."""
    net = small_net()
    params, X, Gamma = data(net, N=2, seed=1230)
    g = gradients(net, params, X, Gamma, method=method)
    assert_params_close(g, fd_params(net, params, X, Gamma), rtol=1e-5, atol=1e-8)


def test_eq_47_1232_1234_feedforward_sensitivities():
    """delta_l(j) = d||gamma - y||^2 / dz_l(j) (47.1232): delta_L = 2(y - gamma) (.) f'(z_L)
    (47.1233) and delta_l = f'(z_l) (.) (W_l^T delta_{l+1}) (47.1234), against finite
    differences of the loss in z_l."""
    net = small_net()
    params, X, Gamma = data(net, seed=1232)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    y, z = res.y_ff[net.L], res.z_ff[net.L]
    s = 1 / (1 + np.exp(-z))
    assert_allclose(sens.delta_ff[net.L], 2 * (y - Gamma[0]) * s * (1 - s), rtol=1e-13)
    assert_allclose(sens.delta_ff[2], (1 - np.tanh(res.z_ff[2]) ** 2) * (
        params.W_ff[2].T @ sens.delta_ff[3]), rtol=1e-13)
    for l in (2, 3):
        fd = central_differences(lambda v, l=l: loss_from_ff_z(net, params, v, l, Gamma[0]), res.z_ff[l])
        assert_allclose(sens.delta_ff[l], fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("pool2", [None, ("max", 2, 1), ("l2", (1, 3))])
def test_eq_47_1235_1245_boundary_sensitivity_fd(pool2):
    """delta^(d,C)(j) = d||gamma - y||^2 / dz^(d,C)(j) (47.1235)-(47.1238) equals
    f'(z(j)) (w_{i_p''}^T delta_2) dt(p'')/dy(j) (47.1239) and f'(z) (.) permute#(upv(
    (W_1^(d))^T delta_2)) (47.1241)-(47.1245), against finite differences in z^(d,C)."""
    net = small_net(pool2=pool2)
    params, X, Gamma = data(net, seed=1235)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    C, last = net.C, net.layers[-1]
    Z = np.column_stack([res.z_conv[d, C] for d in range(1, last.D + 1)])
    fd = central_differences(lambda v: loss_from_conv_z(net, params, v.reshape(Z.shape, order="F"), C,
                                             Gamma[0]), vec(Z))
    delta = np.column_stack([sens.delta_conv[d, C] for d in range(1, last.D + 1)])
    assert_allclose(vec(delta), fd, rtol=1e-6, atol=1e-9)
    W1, Pp, pool = params.W_ff[1], last.P_out, last.pooling
    fp = 1 - np.tanh(Z) ** 2
    for d in range(1, last.D + 1):  # (47.1239) entry by entry, summing over p' | j in Omega_p'
        g = pool.gradient_vectors(res.y_conv[d, C])
        loop = np.zeros(last.P)
        for q, reg in enumerate(pool.regions):
            i = (d - 1) * Pp + q  # (47.1217)
            for k, j in enumerate(reg):
                loop[j] += fp[j, d - 1] * (W1[:, i] @ sens.delta_ff[2]) * g[q][k]
        assert_allclose(sens.delta_conv[d, C], loop, rtol=1e-12, atol=1e-14)
        v = W1[:, (d - 1) * Pp:d * Pp].T @ sens.delta_ff[2]  # (47.1241)
        x = pool.backprop(v, res.y_conv[d, C])  # permute#(upv(v)) (47.1242)-(47.1244)
        assert_allclose(x, pool.jacobian(res.y_conv[d, C]).T @ v, rtol=1e-13, atol=1e-15)
        assert_allclose(sens.delta_conv[d, C], fp[:, d - 1] * x, rtol=1e-13, atol=1e-15)


def test_eq_47_1237_1238_pooling_jacobian():
    """dt(p')/dy(j) is g_p' at j in Omega_p' and 0 elsewhere (47.1237); with disjoint regions
    each j influences one p'' only (47.1238)."""
    p = Pooling("l2", in_shape=(4, 6), block=2)
    y = np.random.default_rng(1237).standard_normal(24)
    J = p.jacobian(y)
    fd = np.column_stack([central_differences(lambda v, q=q: p.pool(v)[q], y) for q in range(p.P_out)]).T
    assert_allclose(J, fd, rtol=1e-6, atol=1e-9)
    assert np.all((J != 0).sum(axis=0) <= 1)


def test_eq_47_1240_index_pattern():
    """In (47.1240) row j holds w_{i_p''} and dt(p'')/dy(j) with p'' the region of j in
    (47.1201): the printed indices (primes aside) are right in all 12 rows."""
    p = Pooling("max", regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)
    region = p.permute_sharp(np.repeat(np.arange(1.0, 4), p.sizes))
    assert_allclose(region, PRINTED_1240_W, rtol=0, atol=0)
    assert_allclose(region, PRINTED_1240_DT, rtol=0, atol=0)


@pytest.mark.parametrize("pool1", [("max", 2), ("mean", 2), ("max", 2, 1)])
def test_eq_47_1246_1262_conv_sensitivity_fd(pool1):
    """delta^(d,c)(j) = sum_{i,d'} delta^(d',c+1)(i) dz^(d',c+1)(i)/dz^(d,c)(j) (47.1246)-(47.1249)
    = sum_d' f'(z) (.) permute#(upv(V^(d,d',c+1) delta^(d',c+1))) (47.1258)-(47.1262), against
    finite differences in z^(d,1)."""
    net = Network((6, 6), 1, conv=[Conv(2, mask=3, activation="tanh", pool=pool1),
                                   Conv(3, mask=2, activation="tanh")],
                  hidden=[4], outputs=2, hidden_activation="tanh", output_activation="sigmoid")
    params, X, Gamma = data(net, seed=1246)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    l1 = net.layers[0]
    Z = np.column_stack([res.z_conv[d, 1] for d in range(1, l1.D + 1)])
    fd = central_differences(lambda v: loss_from_conv_z(net, params, v.reshape(Z.shape, order="F"), 1,
                                             Gamma[0]), vec(Z))
    delta = np.column_stack([sens.delta_conv[d, 1] for d in range(1, l1.D + 1)])
    assert_allclose(vec(delta), fd, rtol=1e-6, atol=1e-9)


def test_eq_47_1250_1258_b_vector():
    """b^(d,d',c)(p'') = sum_i delta^(d',c+1)(i) dz^(d',c+1)(i)/dt^(d,c)(p'') (47.1250) equals
    V^(d,d',c+1) delta^(d',c+1) (47.1258); dz/dt by columns of the (linear) map t -> z."""
    net = small_net()
    params, X, Gamma = data(net, seed=1250)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0], keep_V=True)
    l1, l2 = net.layers
    for d in range(1, l1.D + 1):
        for d2 in range(1, l2.D + 1):
            w = params.W_conv[2][(d - 1) * l2.S:d * l2.S, d2 - 1]
            J = np.column_stack([next_patches(l2.partition.V, e, l2.S).T @ w
                                 for e in np.eye(l1.P_out)])  # dz^(d',2)/dt^(d,1)
            b_sum = J.T @ sens.delta_conv[d2, 2]
            assert_allclose(sens.V[d, d2, 2] @ sens.delta_conv[d2, 2], b_sum, rtol=1e-13,
                            atol=1e-15)
            b = V_ddc(l2.partition.V, w, l2.P, l2.S) @ sens.delta_conv[d2, 2]  # (47.1258)
            assert_allclose(b, b_sum, rtol=1e-13, atol=1e-15)


def test_eq_47_1251_1256_example():
    """The 6 x 4 matrix of (47.1251) is (V_c^T (.) (1_6 1_4^T (x) w^T))(I_4 (x) 1_2) of
    (47.1256) for V_c of (47.1252), entry by entry, for any w = (w1, w2)."""
    Vc = partition_matrix(np.array(PRINTED_1253).reshape(4, 2) - 1, 6)
    rng = np.random.default_rng(1251)
    for _ in range(3):
        w1, w2 = rng.standard_normal(2)
        want = substitute(PRINTED_1251, w1=w1, w2=w2)
        literal = (Vc.T.toarray() * np.kron(np.ones((6, 4)), [[w1, w2]])) @ np.kron(
            np.eye(4), np.ones((2, 1)))
        assert_allclose(literal, want, rtol=0, atol=0)
        assert_allclose(V_ddc(Vc, [w1, w2], 4, 2, literal=True).toarray(), want, rtol=0, atol=0)
        assert_allclose(V_ddc(Vc, [w1, w2], 4, 2).toarray(), want, rtol=0, atol=0)
        delta = rng.standard_normal(4)
        assert_allclose(V_ddc(Vc, [w1, w2], 4, 2) @ delta, want @ delta, rtol=1e-14)


def test_eq_47_1252_1255_Vc_example():
    """V_c (47.1252) maps t = (1..6) to (1,3,4,2,5,1,6,2) (47.1253); (I_4 (x) 1_2)^T V_c is
    (47.1254); its transpose is the skeleton (47.1255)."""
    Vc = partition_matrix(np.array(PRINTED_1253).reshape(4, 2) - 1, 6)
    printed = np.zeros((8, 6))
    printed[np.arange(8), np.array(PRINTED_1252) - 1] = 1
    assert_allclose(Vc.toarray(), printed, rtol=0, atol=0)
    assert_allclose(Vc @ np.arange(1.0, 7), PRINTED_1253, rtol=0, atol=0)
    left = np.kron(np.eye(4), np.ones((2, 1))).T
    assert_allclose(left @ Vc.toarray(), PRINTED_1254, rtol=0, atol=0)
    assert_allclose(patch_indicator(Vc, 4, 2).toarray(), PRINTED_1254, rtol=0, atol=0)
    assert_allclose(V_ddc_skeleton(Vc, 4, 2).toarray(), PRINTED_1255, rtol=0, atol=0)


def test_eq_47_1257_V_ddc_general():
    """V^(d,d',c+1) = (V_c^T (.) (1_{P'_c} 1_{P_{c+1}}^T (x) w^T))(I_{P_{c+1}} (x) 1_{S_{c+1}})
    (47.1257, E-1257) is P'_c x P_{c+1} and equals (dz^(d',c+1)/dt^(d,c))^T when S_c != S_{c+1}."""
    net = small_net()
    l1, l2 = net.layers
    assert l1.S != l2.S
    w = np.random.default_rng(1257).standard_normal(l2.S)
    V1 = l2.partition.V
    Vd = V_ddc(V1, w, l2.P, l2.S, literal=True).toarray()
    assert Vd.shape == (l1.P_out, l2.P)
    J = np.column_stack([next_patches(V1, e, l2.S).T @ w for e in np.eye(l1.P_out)])
    assert_allclose(Vd, J.T, rtol=1e-14, atol=1e-15)
    assert_allclose(V_ddc(V1, w, l2.P, l2.S).toarray(), Vd, rtol=0, atol=1e-15)


def test_eq_47_1259_1261_permute_sharp_upv():
    """x(j) = b(p''_j) dt(p''_j)/dy(j) (47.1259, erratum E-1259 for the printed b column) is
    permute#(upv(b)) (47.1260) with upv(v) = col{v(p') g_p'} (47.1261)."""
    regions = [[k - 1 for k in r] for r in REGIONS_1201]
    p = Pooling("l2", regions=regions, P=12)
    rng = np.random.default_rng(1259)
    y, b = rng.standard_normal(12), rng.standard_normal(3)
    x = p.permute_sharp(p.upv(b, y))
    J = p.jacobian(y)
    region = np.array(PRINTED_1259_DT) - 1
    want = np.array([b[region[j]] * J[region[j], j] for j in range(12)])
    assert_allclose(x, want, rtol=1e-14)
    assert_allclose(p.backprop(b, y), want, rtol=1e-14)


def test_eq_47_1263_1264_feedforward_derivatives():
    """d||gamma - y||^2/dW_l = delta_{l+1} y_l^T (47.1263) and d/dtheta_l = -delta_{l+1}
    (47.1264), against finite differences (one sample, no regularisation)."""
    net = small_net()
    params, X, Gamma = data(net, seed=1263)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    fd = fd_params(net, params, X, Gamma)
    g = gradients_listing(net, params, X, Gamma)  # the derivative lines of (47.1275), N = 1
    for l in range(1, net.L):
        assert_allclose(dQ_dW_ff(sens.delta_ff[l + 1], res.y_ff[l]), fd.W_ff[l], rtol=1e-6,
                        atol=1e-9)
        assert_allclose(dQ_dtheta_ff(sens.delta_ff[l + 1]), fd.theta_ff[l], rtol=1e-6,
                        atol=1e-9)
        assert_allclose(g.W_ff[l], fd.W_ff[l], rtol=1e-6, atol=1e-9)
        assert_allclose(g.theta_ff[l], fd.theta_ff[l], rtol=1e-6, atol=1e-9)


def test_eq_47_1265_1269_mask_derivative():
    """dz^(d,c)(p)/dw_j^(d,c)(s) = [H^(j,c-1)]_{s,p} (47.1265)-(47.1267); the derivative of the
    loss is [H^(j,c-1)]_{s,:} delta^(d,c) (47.1268) and d/dW^(d,c) = H_{n,c-1} delta^(d,c)
    (47.1269)."""
    net = small_net()
    params, X, Gamma = data(net, seed=1265)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    fd = fd_params(net, params, X, Gamma)
    l2 = net.layers[1]
    H_prev = [res.H[j, 1] for j in range(1, l2.D_in + 1)]
    W, Th = params.W_conv[2], params.Theta_conv[2]
    conn = np.arange(l2.D_in)
    for d in range(1, l2.D + 1):
        for j in range(l2.D_in):
            for s in range(l2.S):
                row = j * l2.S + s

                def z_of(v, row=row, d=d):
                    Wv = W.copy()
                    Wv[row, d - 1] = v[0]
                    return correlation_z(H_prev, Wv, Th, d, l2.S, conn)

                dz = (z_of([W[row, d - 1] + 1e-3]) - z_of([W[row, d - 1] - 1e-3])) / 2e-3
                assert_allclose(dz, H_prev[j][s, :], rtol=1e-9, atol=1e-12)  # (47.1267)
                loop = sum(sens.delta_conv[d, 2][p] * H_prev[j][s, p] for p in range(l2.P))
                assert_allclose(loop, fd.W_conv[2][row, d - 1], rtol=1e-6, atol=1e-9)
        assert_allclose(res.H_stacked[1] @ sens.delta_conv[d, 2], fd.W_conv[2][:, d - 1],
                        rtol=1e-6, atol=1e-9)


def test_eq_47_1270_1271_Delta_and_W_gradient():
    """Delta_{n,c} = diag{delta^(1,c), ..., delta^(D_c,c)} is D_c P_c x D_c (47.1270) and
    d||gamma - y||^2/dW_c = (1_{D_c}^T (x) H_{n,c-1}) Delta_{n,c} (47.1271)."""
    net = small_net()
    params, X, Gamma = data(net, seed=1270)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    fd = fd_params(net, params, X, Gamma)
    for ly in net.layers:
        c = ly.c
        Delta = sens.Delta[c].toarray()
        assert Delta.shape == (ly.D * ly.P, ly.D)
        assert_allclose(Delta, Delta_matrix([sens.delta_conv[d, c] for d in
                                             range(1, ly.D + 1)]).toarray(), rtol=0, atol=0)
        for d in range(ly.D):
            col = np.zeros(ly.D * ly.P)
            col[d * ly.P:(d + 1) * ly.P] = sens.delta_conv[d + 1, c]
            assert_allclose(Delta[:, d], col, rtol=0, atol=0)
        dW = dQ_dW_conv(res.H_stacked[c - 1], sens.Delta[c], ly.W_mask)  # (47.1271)
        assert_allclose(dW, fd.W_conv[c], rtol=1e-6, atol=1e-9)
    listing = gradients_listing(net, params, X, Gamma)
    engine = gradients_fused(net, params, X, Gamma)
    for ly in net.layers:
        assert_allclose(listing.W_conv[ly.c], fd.W_conv[ly.c], rtol=1e-6, atol=1e-9)
        assert_allclose(engine.W_conv[ly.c], listing.W_conv[ly.c], rtol=1e-12, atol=1e-14)


def test_eq_47_1272_1274_bias_derivatives():
    """d/dtheta^(d,c)(j) = -1_{P_c}^T delta^(d,c) (47.1272), the vector -1 1^T delta (47.1273)
    and the matrix -(1_{D_c}^T (x) 1_{D_{c-1}} 1_{P_c}^T) Delta_{n,c} (47.1274)."""
    net = small_net()
    params, X, Gamma = data(net, seed=1272)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    fd = fd_params(net, params, X, Gamma)
    for ly in net.layers:
        c = ly.c
        for d in range(1, ly.D + 1):
            vecd = -np.ones(ly.D_in) * (np.ones(ly.P) @ sens.delta_conv[d, c])
            assert_allclose(vecd, fd.Theta_conv[c][:, d - 1], rtol=1e-6, atol=1e-9)
        dTheta = dQ_dTheta_conv(sens.Delta[c], ly.conn, ly.P)  # (47.1274)
        assert dTheta.shape == (ly.D_in, ly.D)
        assert_allclose(dTheta, fd.Theta_conv[c], rtol=1e-6, atol=1e-9)
    g = gradients_listing(net, params, X, Gamma)  # the Theta_c line of (47.1275), N = 1
    for ly in net.layers:
        assert_allclose(g.Theta_conv[ly.c], fd.Theta_conv[ly.c], rtol=1e-6, atol=1e-9)


def test_eq_47_1275_listing_matches_fd_with_regularisers():
    """The training listing (47.1275) gives the derivatives of J_emp (47.1229), regularisers
    and the 1/N included (E-1275a-d corrected), for N = 3."""
    net = small_net(pool2=("max", 2, 1))
    params, X, Gamma = data(net, N=3, seed=1275)
    r1, r2 = 0.02, 0.01
    g = gradients(net, params, X, Gamma, r1, r2, method="listing")
    assert_params_close(g, fd_params(net, params, X, Gamma, r1, r2), rtol=1e-5, atol=1e-8)


def test_eq_47_1276_sgd_step():
    """One step of (47.1276) on (gamma_n, h_n) moves every parameter by -mu times the
    derivative of J_emp for that sample (E-1276a, E-1276b corrected); the listing and the
    batched step agree."""
    net = small_net()
    params, X, Gamma = data(net, seed=1276)
    mu, r1, r2 = 0.05, 0.01, 0.02
    new = sgd_step_listing(net, params, X[0], Gamma[0], mu, r1, r2)
    want = params - mu * fd_params(net, params, X, Gamma, r1, r2)
    assert_params_close(new, want, rtol=1e-7, atol=1e-9)
    assert_params_close(sgd_step(net, params, X, Gamma, mu, r1, r2), new, rtol=1e-12,
                        atol=1e-14)
