"""The package's one comparison (sayedcnn.reference.compare) sees everything.

Every check that reports agreement (listing = engine = loops = finite differences, golden
traces, the pre-training check) goes through ``rel_diff`` / ``max_rel_diff``, so each way
broken output can look like agreement is tested here, for single arrays, for sets of arrays
and for ``Params.max_rel_diff``: NaN on either side, infinities that match and that do not, an
array missing on either side, an extra array, and a shape mismatch. Every failing case must give
``inf``; the matching cases give the finite value computed by hand.
"""

import math

import numpy as np
import pytest

import sayedcnn as sc
from sayedcnn.reference.compare import array_sets, max_rel_diff, rel_diff

NAN, INF = float("nan"), float("inf")


def _params(rng):
    """Parameters of a small two-layer network, every group non-empty."""
    return sc.Params(
        W_conv={1: rng.standard_normal((4, 2)), 2: rng.standard_normal((8, 3))},
        Theta_conv={1: rng.standard_normal((1, 2)), 2: rng.standard_normal((2, 3))},
        W_ff={1: rng.standard_normal((3, 5))},
        theta_ff={1: rng.standard_normal(3)},
    )


def _with(p, group, key, value):
    """A copy of ``p`` with ``getattr(q, group)[key] = value`` (``None`` deletes the key)."""
    q = p.copy()
    if value is None:
        del getattr(q, group)[key]
    else:
        getattr(q, group)[key] = value
    return q


# ---------------------------------------------------------------------------
# rel_diff: single arrays
# ---------------------------------------------------------------------------


def test_rel_diff_value_of_agreeing_arrays():
    """The measure itself: ||a - b||_inf / max(||a||_inf, ||b||_inf, floor), symmetric."""
    a = np.array([1.0, -4.0, 2.0])
    b = np.array([1.0, -4.0, 2.5])
    assert rel_diff(a, a) == 0.0
    assert rel_diff(a, b) == pytest.approx(0.5 / 4.0, rel=1e-15)
    assert rel_diff(b, a) == rel_diff(a, b)
    assert rel_diff(a, b, floor=10.0) == pytest.approx(0.5 / 10.0, rel=1e-15)
    # a zero reference: the floor keeps rounding noise small, without it the ratio is 1
    assert rel_diff(np.zeros(2), [1e-17, 0.0]) == pytest.approx(1.0, rel=1e-15)
    assert rel_diff(np.zeros(2), [1e-17, 0.0], floor=1.0) == pytest.approx(1e-17, rel=1e-15)
    assert rel_diff(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_diff(np.empty((0, 2)), np.empty((0, 2))) == 0.0


@pytest.mark.parametrize("where", ["a", "b", "both"])
@pytest.mark.parametrize("pos", [0, 2])
def test_rel_diff_nan_is_a_failure(where, pos):
    """A NaN anywhere, on either side, even at the same place on both, gives inf (max() and
    comparisons would skip it)."""
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])
    if where in ("a", "both"):
        a[pos] = NAN
    if where in ("b", "both"):
        b[pos] = NAN
    assert rel_diff(a, b) == INF
    assert rel_diff(b, a) == INF
    assert rel_diff(a, b, floor=1e300) == INF


def test_rel_diff_nan_only_array_is_a_failure():
    assert rel_diff([NAN], [NAN]) == INF
    assert rel_diff(np.full((2, 2), NAN), np.zeros((2, 2))) == INF


def test_rel_diff_matching_infinities_compare_the_finite_rest():
    """Infinities at the same place with the same sign agree; the finite entries decide."""
    a = np.array([INF, 1.0, -INF, 4.0])
    assert rel_diff(a, a.copy()) == 0.0
    b = np.array([INF, 1.0, -INF, 5.0])
    assert rel_diff(a, b) == pytest.approx(1.0 / 5.0, rel=1e-15)
    assert rel_diff([INF, -INF], [INF, -INF]) == 0.0
    assert math.isfinite(rel_diff(a, b))


@pytest.mark.parametrize("a, b", [
    ([INF, 1.0], [1.0, 1.0]),          # infinite on one side only
    ([1.0, 1.0], [1.0, -INF]),         # the other side
    ([INF, 1.0], [-INF, 1.0]),         # same place, opposite signs
    ([INF, 1.0], [1.0, INF]),          # different places
    ([INF, INF], [INF, 1e308]),        # one infinity matched, one not
    ([INF, NAN], [INF, NAN]),          # matching infinities do not excuse a NaN
])
def test_rel_diff_unmatched_infinities_are_a_failure(a, b):
    assert rel_diff(a, b) == INF
    assert rel_diff(b, a) == INF


@pytest.mark.parametrize("a, b", [
    (np.ones(3), np.ones(4)),              # different lengths
    (np.ones((2, 3)), np.ones((3, 2))),    # transposed
    (np.ones(6), np.ones((2, 3))),         # same entries, other shape
    (np.ones(3), np.ones((1, 3))),         # would broadcast
    (np.ones(1), np.float64(1.0)),         # would broadcast (scalar)
    (np.ones((2, 1)), np.ones((2, 2))),    # would broadcast
    (np.ones(3), np.empty(0)),             # an array against nothing
])
def test_rel_diff_shape_mismatch_is_a_failure(a, b):
    """No broadcasting: equal entries in another shape still give inf."""
    assert rel_diff(a, b) == INF
    assert rel_diff(b, a) == INF


# ---------------------------------------------------------------------------
# max_rel_diff: sets of arrays (dicts)
# ---------------------------------------------------------------------------


def _set(rng):
    return {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(3),
            "V": rng.standard_normal(4)}


def test_max_rel_diff_is_the_largest_over_the_set():
    x = {"W": np.array([2.0, 2.0]), "b": np.array([1.0])}
    y = {"W": np.array([2.0, 2.2]), "b": np.array([1.5])}
    assert max_rel_diff(x, x) == 0.0
    assert max_rel_diff(x, y) == pytest.approx(0.5 / 1.5, rel=1e-15)
    assert max_rel_diff({}, {}) == 0.0
    assert max_rel_diff(np.ones(2), np.ones(2)) == 0.0
    assert max_rel_diff(np.ones(2), [1.0, 1.5]) == pytest.approx(0.5 / 1.5, rel=1e-15)


@pytest.mark.parametrize("key", ["W", "b", "V"])
def test_max_rel_diff_nan_in_any_array_is_a_failure(key):
    """max() over the arrays skips nothing: a NaN in the first, middle or last array."""
    rng = np.random.default_rng(1)
    x = _set(rng)
    y = {k: v.copy() for k, v in x.items()}
    y[key].flat[0] = NAN
    assert max_rel_diff(x, y) == INF
    assert max_rel_diff(y, x) == INF
    assert max_rel_diff(y, y) == INF


def test_max_rel_diff_infinities():
    x = {"W": np.array([INF, 1.0]), "b": np.array([2.0])}
    assert max_rel_diff(x, {k: v.copy() for k, v in x.items()}) == 0.0  # matching
    assert max_rel_diff(x, {"W": np.array([1e308, 1.0]), "b": np.array([2.0])}) == INF
    assert max_rel_diff(x, {"W": np.array([-INF, 1.0]), "b": np.array([2.0])}) == INF
    assert max_rel_diff(x, {"W": np.array([INF, 1.0]), "b": np.array([INF])}) == INF


@pytest.mark.parametrize("key", ["W", "b", "V"])
def test_max_rel_diff_missing_array_is_a_failure(key):
    """An array present on one side only gives inf, whichever side lacks it (no zip())."""
    rng = np.random.default_rng(2)
    x = _set(rng)
    y = {k: v.copy() for k, v in x.items() if k != key}
    assert max_rel_diff(x, y) == INF  # missing on the right
    assert max_rel_diff(y, x) == INF  # missing on the left
    assert max_rel_diff(x, {}) == INF
    assert max_rel_diff({}, x) == INF


def test_max_rel_diff_extra_array_is_a_failure():
    rng = np.random.default_rng(3)
    x = _set(rng)
    y = {k: v.copy() for k, v in x.items()}
    y["extra"] = np.zeros(2)
    assert max_rel_diff(x, y) == INF
    assert max_rel_diff(y, x) == INF
    # the same number of arrays under other names is no match either
    z = {k: v.copy() for k, v in x.items()}
    z["V2"] = z.pop("V")
    assert max_rel_diff(x, z) == INF


@pytest.mark.parametrize("shape", [(2, 3), (3,), (1, 3, 2), (6,)])
def test_max_rel_diff_shape_mismatch_is_a_failure(shape):
    rng = np.random.default_rng(4)
    x = _set(rng)
    y = {k: v.copy() for k, v in x.items()}
    y["W"] = np.ones(shape)
    x["W"] = np.ones((3, 2))
    assert max_rel_diff(x, y) == INF
    assert max_rel_diff(y, x) == INF


def test_array_sets_shapes():
    """The views the comparison takes of its inputs."""
    p = _params(np.random.default_rng(5))
    keys = list(array_sets(p))
    assert keys == [(g, k) for g, k, _ in p.items()]
    assert list(array_sets({"a": 1})) == ["a"]
    assert list(array_sets(np.ones(2))) == [()]


# ---------------------------------------------------------------------------
# Params.max_rel_diff
# ---------------------------------------------------------------------------


def test_params_max_rel_diff_value():
    rng = np.random.default_rng(6)
    p = _params(rng)
    assert p.max_rel_diff(p.copy()) == 0.0
    q = p.copy()
    q.theta_ff[1] = q.theta_ff[1] + np.array([0.0, 0.0, 1e-3])
    want = 1e-3 / max(np.abs(p.theta_ff[1]).max(), np.abs(q.theta_ff[1]).max())
    assert p.max_rel_diff(q) == pytest.approx(want, rel=1e-9)
    assert p.max_rel_diff(q) == max_rel_diff(p, q)
    assert p.max_rel_diff(q, floor=1e6) == pytest.approx(1e-3 / 1e6, rel=1e-9)


@pytest.mark.parametrize("group, key", [("W_conv", 1), ("W_conv", 2), ("Theta_conv", 2),
                                        ("W_ff", 1), ("theta_ff", 1)])
def test_params_max_rel_diff_nan_is_a_failure(group, key):
    p = _params(np.random.default_rng(7))
    bad = getattr(p, group)[key].copy()
    bad.flat[-1] = NAN
    q = _with(p, group, key, bad)
    assert p.max_rel_diff(q) == INF
    assert q.max_rel_diff(p) == INF
    assert q.max_rel_diff(q) == INF


def test_params_max_rel_diff_infinities():
    p = _params(np.random.default_rng(8))
    W = p.W_ff[1].copy()
    W[0, 0] = INF
    q = _with(p, "W_ff", 1, W)
    assert q.max_rel_diff(q.copy()) == 0.0  # matching
    assert p.max_rel_diff(q) == INF  # one side only
    W2 = W.copy()
    W2[0, 0] = -INF
    assert q.max_rel_diff(_with(p, "W_ff", 1, W2)) == INF  # opposite sign


@pytest.mark.parametrize("group, key", [("W_conv", 2), ("Theta_conv", 1), ("W_ff", 1),
                                        ("theta_ff", 1)])
def test_params_max_rel_diff_missing_array_is_a_failure(group, key):
    """The issue's case: q without theta_ff[1] (or any other array) is no match."""
    p = _params(np.random.default_rng(9))
    q = _with(p, group, key, None)
    assert p.max_rel_diff(q) == INF
    assert q.max_rel_diff(p) == INF
    assert p.max_rel_diff(sc.Params()) == INF
    assert sc.Params().max_rel_diff(p) == INF


@pytest.mark.parametrize("group, key", [("W_conv", 3), ("Theta_conv", 3), ("W_ff", 2),
                                        ("theta_ff", 0)])
def test_params_max_rel_diff_extra_array_is_a_failure(group, key):
    p = _params(np.random.default_rng(10))
    q = _with(p, group, key, np.zeros(2))
    assert p.max_rel_diff(q) == INF
    assert q.max_rel_diff(p) == INF


def test_params_max_rel_diff_same_array_in_another_group_is_a_failure():
    """theta_ff[1] moved to W_ff[2]: same arrays, other places."""
    p = _params(np.random.default_rng(11))
    q = _with(_with(p, "theta_ff", 1, None), "W_ff", 2, p.theta_ff[1])
    assert p.max_rel_diff(q) == INF


@pytest.mark.parametrize("group, key, shape", [("W_conv", 1, (2, 4)), ("W_conv", 2, (8,)),
                                               ("Theta_conv", 1, (2,)), ("W_ff", 1, (3, 6)),
                                               ("theta_ff", 1, (3, 1))])
def test_params_max_rel_diff_shape_mismatch_is_a_failure(group, key, shape):
    p = _params(np.random.default_rng(12))
    a = getattr(p, group)[key]
    q = _with(p, group, key, np.resize(a, shape))
    assert p.max_rel_diff(q) == INF
    assert q.max_rel_diff(p) == INF


def test_params_max_rel_diff_of_network_gradients_with_a_nan():
    """End to end: gradients of a real network, one entry spoilt, do not compare equal."""
    net = sc.Network((5, 5), conv=[sc.Conv(2, 3)], outputs=2)
    p = net.init(seed=0)
    X = np.random.default_rng(13).standard_normal((2, 1, 5, 5))
    g = net.gradients(p, X, np.eye(2))
    h = g.copy()
    assert g.max_rel_diff(h) == 0.0
    h.Theta_conv[1][0, 0] = NAN
    assert g.max_rel_diff(h) == INF
    assert h.max_rel_diff(g) == INF


def test_default_floor_is_zero_for_small_arrays():
    """Arrays far below 1: the default floor 0 measures relative to them, not to 1."""
    x = {"W": np.array([1e-3, 2e-3])}
    y = {"W": np.array([1e-3, 2.2e-3])}
    assert rel_diff(x["W"], y["W"]) == pytest.approx(0.2e-3 / 2.2e-3, rel=1e-12)
    assert max_rel_diff(x, y) == pytest.approx(0.2e-3 / 2.2e-3, rel=1e-12)
    p = sc.Params(W_ff={1: x["W"].reshape(1, 2)}, theta_ff={1: np.array([1e-4])})
    q = sc.Params(W_ff={1: y["W"].reshape(1, 2)}, theta_ff={1: np.array([1e-4])})
    assert p.max_rel_diff(q) == pytest.approx(0.2e-3 / 2.2e-3, rel=1e-12)
    assert p.max_rel_diff(q, floor=1.0) == pytest.approx(0.2e-3, rel=1e-12)
