"""Hostile input at the public entry points: every case gives a correct result or a
ValueError/TypeError that names the quantity and the equation, before any large allocation.

The cases are those of an adversarial pass over the package: the engine and the listings
called directly with broken arguments, pooling descriptions that do not fit their map,
absurd sizes, bad seeds, and numbers at the edges of float64 (l2 and mean pooling, the
correlation and the edge magnitude of entries near 1e308 or 1e-170).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sayedcnn as sc
from sayedcnn import Conv, Network, Pooling
from sayedcnn.forward import forward_listing
from sayedcnn.fused import forward_fused, gradients_fused
from sayedcnn.network import MAX_ENTRIES
from sayedcnn.training import gradients_listing

NET = Network((6, 6), 1, [Conv(2, 3, "same", 1, "tanh", ("max", 2)),
                          Conv(3, 3, "same", 1, "relu")], [4], 3)
P0 = NET.init(0, bias_scale=0.1)
X = np.random.default_rng(0).random((2, 1, 6, 6))
G = np.eye(3)[[0, 2]]


def _with(group, key, value):
    p = P0.copy()
    getattr(p, group)[key] = value
    return p


def _without(group, key):
    p = P0.copy()
    del getattr(p, group)[key]
    return p


def _poisoned(A, value=np.nan):
    A = np.array(A, dtype=float)
    A.flat[0] = value
    return A


# ---------------------------------------------------------------------------
# 1. One validation boundary: the engine and the listings called directly
# ---------------------------------------------------------------------------

ENTRY_POINTS = {
    "forward_fused": lambda p=P0, X=X, G=G, rho1=0.0: forward_fused(NET, p, X),
    "gradients_fused": lambda p=P0, X=X, G=G, rho1=0.0: gradients_fused(NET, p, X, G, rho1),
    "forward_listing": lambda p=P0, X=X, G=G, rho1=0.0: forward_listing(
        NET, p, X[0] if len(X) == 2 else X),
    "gradients_listing": lambda p=P0, X=X, G=G, rho1=0.0: gradients_listing(NET, p, X, G, rho1),
}

BOUNDARY = [
    ("transposed-W1", dict(p=_with("W_conv", 1, P0.W_conv[1].T.copy())),
     r"W_conv\[1\] must be S_1\*D_0 x D_1 = 9 x 2 \(47\.1224a\), got 2 x 9"),
    ("X-nan", dict(X=_poisoned(X)), r"X contains NaN \(47\.1216\)"),
    ("X-empty-batch", dict(X=X[:0], G=G[:0]),
     r"X must be N x D_0 x rows x cols .*\(47\.1216\), got shape \(0, 1, 6, 6\)"),
    ("missing-layer", dict(p=_without("W_ff", 2)),
     r"params\.W_ff must have keys \[1, 2\] .*47\.1221g"),
    ("Gamma-nan", dict(G=_poisoned(G)), r"Gamma contains NaN \(47\.1229\)"),
    ("Gamma-one-row-for-two-images", dict(G=G[:1]),
     r"Gamma must be N x Q = 2 x 3 \(47\.1229\), got shape \(1, 3\)"),
    ("rho1-negative", dict(rho1=-1.0), r"rho1 must be finite and >= 0 \(47\.1229\), got -1\.0"),
    ("rho1-nan", dict(rho1=np.nan), r"rho1 must be finite and >= 0 \(47\.1229\), got nan"),
]
_PAIRS = [(entry, c) for entry in sorted(ENTRY_POINTS) for c in BOUNDARY
          if not (entry.startswith("forward") and c[2].startswith(("Gamma", "rho1")))]


@pytest.mark.parametrize("entry, kw, match", [(e, c[1], c[2]) for e, c in _PAIRS],
                         ids=[f"{e}-{c[0]}" for e, c in _PAIRS])
def test_engine_and_listings_validate_at_their_boundary(entry, kw, match):
    """forward_fused, gradients_fused, forward_listing and gradients_listing refuse each
    broken argument by name and equation instead of returning numbers or raising
    KeyError/ZeroDivisionError (the forward passes take no targets or regularisers)."""
    with pytest.raises((ValueError, TypeError), match=match):
        ENTRY_POINTS[entry](**kw)


def test_engine_and_listings_agree_on_valid_input():
    """The same entry points on valid input: listing = engine (the checks change nothing)."""
    gl = gradients_listing(NET, P0, X, G, 0.01)
    gf = gradients_fused(NET, P0, X, G, 0.01)
    gf = gf[0] if isinstance(gf, tuple) else gf
    assert gl.max_rel_diff(gf) < 1e-12
    yl = forward_listing(NET, P0, X[0])
    yf = forward_fused(NET, P0, X[:1])
    out_l = getattr(yl, "output", yl)
    out_f = getattr(yf, "output", yf)
    assert_allclose(np.ravel(out_l), np.ravel(out_f), rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------
# 2. Consistent specifications
# ---------------------------------------------------------------------------

SPECS = [
    ("regions-for-10-entries-on-an-8x8-map",
     lambda: Network((8, 8), 1, [Conv(2, 3, pool={"kind": "max", "regions": [[0, 1]], "P": 10})],
                     [], 3),
     ValueError, r"P = 10, but the regions pool the feature map of layer c = 1, 8 x 8, "
                 r"P_1 = 64 entries \(47\.1208\)"),
    ("regions-P-not-an-integer",
     lambda: Network((8, 8), 1, [Conv(2, 3, pool={"kind": "max", "regions": [[0, 1]],
                                                   "P": "64"})], [], 3),
     ValueError, r"P = '64', but the regions pool .* \(47\.1208\)"),
    ("Pooling-for-a-4x16-map-on-8x8",
     lambda: Network((8, 8), 1, [Conv(2, 3, pool=Pooling("max", in_shape=(4, 16), block=2))],
                     [], 3),
     ValueError, r"Pooling of layer c = 1 tiles a 4 x 16 map but the feature map of layer "
                 r"c = 1 is 8 x 8 \(47\.1208\)"),
    ("Pooling-of-other-size",
     lambda: Network((8, 8), 1, [Conv(2, 3, pool=Pooling("max", in_shape=(4, 4), block=2))],
                     [], 3),
     ValueError, r"pools 16 entries but the feature map has P_1 = 64 \(47\.1208\)"),
    ("mask-larger-than-the-padded-image",
     lambda: Network((8, 8), 1, [Conv(2, 11, padding=1)], [], 3),
     ValueError, r"conv layer c = 1 on its 8 x 8 input map: mask size 11 along axis 0 is "
                 r"larger than the padded map 8 \+ 2\*1 = 10 \(47\.1133\)"),
    ("mask-larger-than-the-map-at-layer-2",
     lambda: Network((8, 8), 1, [Conv(2, 3, pool=("max", 4)), Conv(2, 3, padding="valid")],
                     [], 3),
     ValueError, r"conv layer c = 2 on its 2 x 2 input map: mask size 3 .*\(47\.1133\)"),
    ("input-of-a-million-squared",
     lambda: Network((10**6, 10**6), 1, [Conv(2)], [], 3),
     ValueError, r"input_shape 1000000 x 1000000 is beyond the sizes sayedcnn builds: at most "
                 r"134,217,728 \(2\*\*27\) along an axis and in all \(47\.1143\)"),
    ("image-of-three-huge-maps",
     lambda: Network((8192, 8192), 3, [Conv(2)], [], 3),
     ValueError, r"image of D_0 x rows x cols = 3 x 8192 x 8192 would have 201,326,592 entries "
                 r"\(47\.1216\), more than the 134,217,728"),
    ("huge-padding",
     lambda: Network((8, 8), 1, [Conv(2, 3, padding=10**5)], [], 3),
     ValueError, r"padding 100000 x 100000 is beyond the sizes sayedcnn builds"),
    ("huge-mask",
     lambda: Network((8, 8), 1, [Conv(2, (5000, 5000))], [], 3),
     ValueError, r"partition matrix V_1 of layer c = 1 .* \(47\.1152\), more than"),
    ("huge-depth",
     lambda: Network((28, 28), 1, [Conv(10**5)], [], 3),
     ValueError, r"W_1 = W_ff\[1\], n_2 x n_1 = 3 x 78400000, would have .* \(47\.1221g\)"),
    ("huge-hidden-layer",
     lambda: Network((8, 8), 1, [Conv(2)], [10**9], 3),
     ValueError, r"W_1 = W_ff\[1\], n_2 x n_1 = 1000000000 x 128.* \(47\.1221g\)"),
    ("retain-beyond-the-region", lambda: Pooling("subsample", regions=[[0, 1], [2, 3]], P=4,
                                                 retain=5),
     ValueError, r"retain must index an entry of every region, 0\.\.1 \(47\.1179\), got 5"),
    ("retain-for-mean-pooling", lambda: Pooling("mean", (4, 4), 2, retain=5),
     ValueError, r"retain, the position kept by subsampling \(47\.1179\), is not used by "
                 r"'mean' pooling"),
    ("retain-in-a-layer", lambda: Network((8, 8), 1, [Conv(2, pool={"kind": "subsample",
                                                                   "block": 2, "retain": 7})],
                                          [], 3),
     ValueError, r"retain must index an entry of every region, 0\.\.3 \(47\.1179\), got 7"),
    ("ragged-region", lambda: Pooling("max", regions=[[0, [1, 2]]], P=4),
     ValueError, r"region Omega_1 must be a non-empty list of integer indices \(47\.1187\)"),
    ("ragged-correlation-regions", lambda: Pooling("correlation", regions=[[0, 1], [2]], P=4,
                                                   mask=[1.0, 2.0]),
     ValueError, r"pooling mask m must have one entry per region entry.*\(47\.1180\)"),
    ("P-nan", lambda: Pooling("max", regions=[[0]], P=np.nan),
     ValueError, r"P must be a positive integer \(47\.1187\), got nan"),
    ("P-inf", lambda: Pooling("max", regions=[[0]], P=np.inf),
     ValueError, r"P must be a positive integer \(47\.1187\), got inf"),
    ("P-list", lambda: Pooling("max", regions=[[0]], P=[4]),
     ValueError, r"P must be a positive integer \(47\.1187\), got \[4\]"),
    ("seed-negative", lambda: NET.init(-1), ValueError,
     r"seed of the initial parameters must be >= 0, got -1"),
    ("seed-float", lambda: NET.init(1.5), TypeError,
     r"seed of the initial parameters must be an integer >= 0 .*got 1\.5"),
    ("seed-string", lambda: NET.init("a"), TypeError,
     r"seed of the initial parameters must be an integer >= 0 .*got 'a'"),
    ("seed-bool", lambda: NET.init(True), TypeError,
     r"seed of the initial parameters must be an integer >= 0 .*got True"),
    ("hidden-activation-None", lambda: Network((6, 6), 1, [Conv(2)], [4], 3,
                                               hidden_activation=None),
     TypeError, r"hidden_activation must name the activation f of the hidden layers "
                r"\(47\.1216\), or give one per hidden layer, got None"),
    ("stride-beyond-a-C-long", lambda: sc.correlate(np.ones((4, 4)), np.ones((3, 3)), stride=2**70),
     ValueError, r"stride 1180591620717411303424 x 1180591620717411303424 is beyond the sizes"),
    ("reversal-huge", lambda: sc.reversal_matrix(10**9), ValueError,
     r"size n of the reversal matrix must be <= 134,217,728 \(47\.1137\)"),
    ("commutation-huge", lambda: sc.commutation_matrix(10**6, 10**6), ValueError,
     r"X of the commutation matrix 1000000 x 1000000 is beyond the sizes .*\(47\.1127\)"),
    ("gaussian-huge", lambda: sc.gaussian_mask(10**6, 1.0), ValueError,
     r"K, the half-width of the Gaussian mask must be <= 4,096 \(47\.1135\)"),
    ("one-hot-huge", lambda: sc.one_hot([0, 1, 2], 10**9), ValueError,
     r"targets Gamma would be N x Q = 3 x 1000000000 \(47\.1229\)"),
    ("convolve-padding-array", lambda: sc.convolve(np.ones((4, 4)), np.ones((3, 3)),
                                                   padding=np.zeros((0, 3))),
     ValueError, r"convolve implements the book's 'same' form \(47\.1139\)"),
    ("pooling-kind-array", lambda: Pooling(np.zeros((0, 3)), (4, 4), 2), ValueError,
     r"pooling kind must be one of .* \(Table 47\.13\)"),
    ("method-array", lambda: NET.forward(P0, X, method=np.zeros((0, 3))), ValueError,
     r"method must be 'listing' or 'fused'"),
    ("rho-beyond-floats", lambda: NET.gradients(P0, X, G, rho1=10**400), ValueError,
     r"rho1 must be finite and >= 0 \(47\.1229\), got inf"),
    ("from-vector-too-long", lambda: P0.from_vector(np.r_[P0.to_vector(), 1.0]), ValueError,
     r"v of from_vector must hold every parameter of the Params, \d+ entries .*got \d+"),
    ("from-vector-too-short", lambda: P0.from_vector(P0.to_vector()[:-1]), ValueError,
     r"v of from_vector must hold every parameter"),
    ("from-vector-matrix", lambda: P0.from_vector(P0.to_vector()[None]), ValueError,
     r"v of from_vector must be 1-dimensional"),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in SPECS], ids=[c[0] for c in SPECS])
def test_inconsistent_specifications_are_refused_by_name(call, exc, match):
    """Each specification that cannot work raises the named error at construction."""
    with pytest.raises(exc, match=match):
        call()


def test_absurd_sizes_are_refused_before_any_allocation(monkeypatch):
    """A network needing more than MAX_ENTRIES entries is refused before the partition
    matrix is built: sliding_partition is never called."""
    import sayedcnn.network as network

    def never(*a, **k):  # pragma: no cover - reached only if the check is missing
        raise AssertionError("sliding_partition was called")

    monkeypatch.setattr(network, "sliding_partition", never)
    with pytest.raises(ValueError, match=r"more than the 134,217,728 \(2\*\*27\)"):
        Network((8192, 8192), 3, [Conv(2)], [], 3)
    with pytest.raises(ValueError, match=r"partition matrix V_1"):
        Network((8, 8), 1, [Conv(2, (5000, 5000))], [], 3)
    assert MAX_ENTRIES == 2**27


def test_sizes_at_the_limit_are_still_accepted():
    """The limit refuses only what exceeds it: a 10,000-entry mask on an 8 x 8 map builds."""
    net = Network((8, 8), 1, [Conv(1, 100)], [], 2)
    assert net.layers[0].S == 10_000


def test_seeds_that_are_numpy_integers_are_accepted():
    """numpy integers are integers: the same parameters as the Python int."""
    assert NET.init(np.int64(3)).max_rel_diff(NET.init(3)) == 0.0


def test_from_vector_round_trip():
    """from_vector of to_vector gives the same parameters back, entry for entry."""
    v = np.random.default_rng(5).standard_normal(P0.to_vector().size)
    assert_allclose(P0.from_vector(v).to_vector(), v, rtol=0, atol=0)


# ---------------------------------------------------------------------------
# 3. Numbers at the edges
# ---------------------------------------------------------------------------


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


L2_POOLS = {"block": lambda: Pooling("l2", (2, 2), 2),
            "regions": lambda: Pooling("l2", regions=[[0, 1, 2, 3]], P=4)}


@pytest.mark.parametrize("layout", sorted(L2_POOLS))
@pytest.mark.parametrize("scale", [1e-170, 5e-324, 1e-300, 1.0, 5e307, 8e307])
def test_l2_pool_of_four_equal_entries_is_twice_the_entry_with_gradient_one_half(
        layout, scale, no_warnings):
    """sqrt(4 y^2) = 2y (47.1176) and dt/dy = y/t = 1/2 (47.1196d) at every scale where 2y
    is representable, neither underflowing to 0 nor overflowing."""
    pool = L2_POOLS[layout]()
    y = np.full(4, scale)
    assert_allclose(pool.pool(y), [2 * scale], rtol=1e-15, atol=0)
    assert_allclose(pool.gradient_vectors(y)[0], np.full(4, 0.5), rtol=1e-15, atol=0)
    assert_allclose(pool.backprop(np.ones(1), y), np.full(4, 0.5), rtol=1e-15, atol=0)


@pytest.mark.parametrize("layout", sorted(L2_POOLS))
def test_l2_gradient_is_representable_even_where_the_norm_overflows(layout):
    """Four entries of 1e308: t = 2e308 is beyond float64, but g = y/t = 1/2 is not."""
    pool = L2_POOLS[layout]()
    with np.errstate(over="ignore"):
        g = pool.gradient_vectors(np.full(4, 1e308))[0]
    assert_allclose(g, np.full(4, 0.5), rtol=1e-15, atol=0)


@pytest.mark.parametrize("layout", sorted(L2_POOLS))
def test_l2_pool_of_mixed_scales_matches_the_exact_norm(layout, no_warnings):
    """Entries 3e-200 and 4e-200 (and zeros): t = 5e-200, g = (0.6, 0.8, 0, 0) (47.1196d)."""
    pool = L2_POOLS[layout]()
    y = np.array([3e-200, 4e-200, 0.0, 0.0])
    assert_allclose(pool.pool(y), [5e-200], rtol=1e-15)
    assert_allclose(pool.gradient_vectors(y)[0], [0.6, 0.8, 0.0, 0.0], rtol=1e-15, atol=0)


@pytest.mark.parametrize("pool", [Pooling("mean", (2, 2), 2),
                                  Pooling("mean", regions=[[0, 1, 2, 3]], P=4)],
                         ids=["block", "regions"])
def test_mean_pool_of_entries_near_the_largest_float_is_finite(pool, no_warnings):
    """The mean of four entries of 1e308 is 1e308 (Table 47.13), not inf."""
    assert_allclose(pool.pool(np.full(4, 1e308)), [1e308], rtol=1e-15)
    assert_allclose(pool.pool(np.array([1.7e308, 1.7e308, -1e308, 0.0])), [0.6e308],
                    rtol=1e-14)


def _edge_loops(image, Wx, Wy):
    """sqrt(Fx^2 + Fy^2) (47.1142) by scalar loops over (47.1133), 'same' zero padding, with
    the image divided by 2^1000 first (exactly) and the magnitude multiplied back."""
    s = 2.0**1000
    im = image / s
    rows, cols = im.shape
    out = np.zeros_like(im)
    for r in range(rows):
        for c in range(cols):
            fx = fy = 0.0
            for k in range(3):
                for m in range(3):
                    i, j = r + k - 1, c + m - 1
                    if 0 <= i < rows and 0 <= j < cols:
                        fx += im[i, j] * Wx[k, m]
                        fy += im[i, j] * Wy[k, m]
            out[r, c] = np.hypot(fx, fy) * s
    return out


def test_edge_magnitude_of_entries_near_the_largest_float_is_finite_and_right(no_warnings):
    """An image of entries up to 1e307: every F_x, F_y is representable, and so is the
    magnitude (47.1142), which agrees with loops over (47.1133)."""
    rng = np.random.default_rng(3)
    image = rng.uniform(-1e307, 1e307, (5, 6))
    got = sc.edge_magnitude(image)
    assert np.all(np.isfinite(got))
    Wx, Wy = sc.sobel_masks()
    assert_allclose(got, _edge_loops(image, Wx, Wy), rtol=1e-13)


def test_correlate_near_the_largest_float_is_right_where_representable(no_warnings):
    """A 1e307 image with a ones mask: F = 9e307 at the centre, 4e307 in the corners."""
    F = sc.correlate(np.full((4, 4), 1e307), np.ones((3, 3)))
    assert_allclose(F[1, 1], 9e307, rtol=1e-15)
    assert_allclose(F[0, 0], 4e307, rtol=1e-15)


def test_correlate_that_overflows_blames_the_correlation_not_unvec():
    """A 1e308 image: F(1, 1) = 9e308 is not representable; the error names the
    correlation (47.1133), not "the vector v of unvec"."""
    with pytest.raises(ValueError, match=r"correlation F of the image with the mask W "
                                         r"\(47\.1133\) overflows") as info:
        sc.correlate(np.full((4, 4), 1e308), np.ones((3, 3)))
    assert "unvec" not in str(info.value)
    with pytest.raises(ValueError, match=r"\(47\.1133\) overflows"):
        sc.edge_magnitude(np.full((4, 4), 1e308))


def test_correlate_of_tiny_and_huge_factors_is_exact(no_warnings):
    """A 1e308 image with a 1e-300 mask: F = 9e8 at the centre, no spurious overflow."""
    F = sc.correlate(np.full((3, 3), 1e308), np.full((3, 3), 1e-300))
    assert_allclose(F[1, 1], 9e8, rtol=1e-14)
