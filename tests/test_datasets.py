"""The shipped digit sets: layout, counts, orientation, stratified splits, targets (47.1229)."""

from collections import Counter
from importlib.resources import files

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sayedcnn.data.datasets import DigitData, load_digits, load_mnist5k, one_hot, stratified_split

SETS = {
    "digits": (load_digits, 1797, (8, 8), 16, 174, 183),
    "mnist5k": (load_mnist5k, 5000, (28, 28), 255, 500, 500),
}


@pytest.fixture(scope="module")
def full():
    return {key: spec[0](split=False) for key, spec in SETS.items()}


@pytest.fixture(scope="module")
def splits():
    return {key: spec[0]() for key, spec in SETS.items()}


def _rows(X, y):
    """Multiset of (image bytes, label): compares sets of images regardless of order."""
    return Counter((x.tobytes(), int(t)) for x, t in zip(X, y))


# ---------------------------------------------------------------------------
# Files, layout, counts
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fname, N, shape", [("digits.npz", 1797, (8, 8)),
                                             ("mnist5k.npz", 5000, (28, 28))])
def test_npz_files_hold_plain_uint8_arrays(fname, N, shape):
    with files("sayedcnn.data").joinpath(fname).open("rb") as fh, \
            np.load(fh, allow_pickle=False) as z:
        assert sorted(z.files) == ["images", "labels"]
        assert z["images"].dtype == np.uint8 and z["images"].shape == (N, *shape)
        assert z["labels"].dtype == np.uint8 and z["labels"].shape == (N,)


def test_data_notes_ship_with_the_arrays():
    text = files("sayedcnn.data").joinpath("DATA.md").read_text(encoding="utf-8")
    for needle in ("Alpaydin", "Kaynak", "CC BY 4.0", "LeCun", "Cortes", "Burges", "CC BY-SA 3.0"):
        assert needle in text


@pytest.mark.parametrize("key", list(SETS))
def test_unsplit_shapes_dtypes_and_range(full, key):
    _, N, shape, scale, lo, hi = SETS[key]
    X, y = full[key]
    assert X.dtype == np.float64 and X.shape == (N, 1, *shape)
    assert y.dtype == np.int64 and y.shape == (N,)
    assert X.min() == 0.0 and X.max() == 1.0
    # Pixel values are integers divided by the scale: 0, 1/scale, ..., 1.
    assert_allclose(X * scale, np.round(X * scale), atol=1e-12)
    counts = np.bincount(y)
    assert counts.size == 10 and counts.sum() == N
    assert counts.min() >= lo and counts.max() <= hi


def test_class_counts_exact(full):
    assert_array_equal(np.bincount(full["mnist5k"][1]), np.full(10, 500))
    assert_array_equal(np.bincount(full["digits"][1]),
                       [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_each_call_returns_fresh_arrays():
    X1, _ = load_digits(split=False)
    X1[0, 0, 0, 0] = 99.0
    X2, _ = load_digits(split=False)
    assert X2.max() == 1.0


# ---------------------------------------------------------------------------
# Orientation: images are upright, not transposed or mirrored
# ---------------------------------------------------------------------------


def _spread(profile):
    w = profile / profile.sum()
    i = np.arange(w.size)
    return np.sum(w * (i - np.sum(w * i)) ** 2)


@pytest.mark.parametrize("key", list(SETS))
def test_orientation(full, key):
    X, y = full[key]
    img = X[:, 0]
    rows, cols = img.shape[1:]
    q_r, q_c = rows // 4, cols // 4
    mean = img.mean(axis=0)
    # Most ink lies in the central half of the columns, and for MNIST (digits centred in a
    # 28 x 28 field) of the rows too; the UCI digits fill the height of their 8 x 8 frame.
    assert mean[:, q_c:cols - q_c].sum() > 0.6 * mean.sum()
    if key == "mnist5k":
        assert mean[q_r:rows - q_r].sum() > 0.6 * mean.sum()
    # A "1" is taller than wide: its ink spreads more along the rows than along the columns.
    one = img[y == 1].mean(axis=0)
    assert _spread(one.sum(axis=1)) > 2.0 * _spread(one.sum(axis=0))
    # A "7" has its bar at the top and its stroke ending on the right of the centre line above it:
    # more ink in the top half (not flipped upside down), more in the right half (not mirrored).
    seven = img[y == 7].mean(axis=0)
    assert seven[:rows // 2].sum() > seven[rows // 2:].sum()
    assert seven[:, cols // 2:].sum() > seven[:, :cols // 2].sum()


# ---------------------------------------------------------------------------
# Stratified split
# ---------------------------------------------------------------------------


def test_default_split_sizes(splits):
    m, d = splits["mnist5k"], splits["digits"]
    assert isinstance(m, DigitData) and isinstance(d, DigitData)
    assert (len(m.y_train), len(m.y_test)) == (4000, 1000)
    assert_array_equal(np.bincount(m.y_test, minlength=10), np.full(10, 100))
    assert_array_equal(np.bincount(m.y_train, minlength=10), np.full(10, 400))
    assert len(d.y_test) == round(0.2 * 1797) and len(d.y_train) == 1797 - len(d.y_test)
    assert (m.name, m.image_shape, m.n_classes) == ("MNIST-5k 28x28", (28, 28), 10)
    assert (d.name, d.image_shape, d.n_classes) == ("UCI digits 8x8", (8, 8), 10)
    assert "n_test=1000" in repr(m)


@pytest.mark.parametrize("key", list(SETS))
def test_split_partitions_the_set(full, splits, key):
    X, y = full[key]
    s = splits[key]
    N = y.size
    for Xs, ys in ((s.X_train, s.y_train), (s.X_test, s.y_test)):
        assert Xs.dtype == np.float64 and Xs.shape[1:] == X.shape[1:]
        assert ys.dtype == np.int64 and ys.shape == (Xs.shape[0],)
    # Positions: disjoint, together every image once.
    assert np.intersect1d(s.train_index, s.test_index).size == 0
    assert_array_equal(np.sort(np.concatenate([s.train_index, s.test_index])), np.arange(N))
    assert_array_equal(s.X_train, X[s.train_index])
    assert_array_equal(s.y_test, y[s.test_index])
    # Contents, independently of the positions: train + test is the unsplit set (the images are
    # all distinct, so the two parts share no image).
    train, test = _rows(s.X_train, s.y_train), _rows(s.X_test, s.y_test)
    assert not set(train) & set(test)
    assert train + test == _rows(X, y)


@pytest.mark.parametrize("key", list(SETS))
def test_split_is_stratified(full, splits, key):
    _, y = full[key]
    s = splits[key]
    counts = np.bincount(y)
    test_counts = np.bincount(s.y_test, minlength=10)
    exact = len(s.y_test) * counts / y.size
    assert np.all(np.abs(test_counts - exact) < 1.0)
    assert_array_equal(np.bincount(s.y_train, minlength=10), counts - test_counts)


def test_split_orders_are_shuffled(splits):
    # MNIST-5k is stored sorted by class; a split must not keep that order.
    s = splits["mnist5k"]
    assert np.any(np.diff(s.y_test) < 0) and np.any(np.diff(s.y_train) < 0)
    assert not np.all(np.diff(s.test_index) > 0)


def test_split_is_deterministic(splits):
    again = load_mnist5k(seed=0)
    assert_array_equal(again.test_index, splits["mnist5k"].test_index)
    assert_array_equal(again.train_index, splits["mnist5k"].train_index)
    assert_array_equal(again.X_test, splits["mnist5k"].X_test)
    d = load_digits(n_test=300, seed=5)
    assert_array_equal(load_digits(n_test=300, seed=5).test_index, d.test_index)


def test_different_seeds_give_different_splits(splits):
    other = load_mnist5k(seed=1)
    assert not np.array_equal(np.sort(other.test_index), np.sort(splits["mnist5k"].test_index))
    assert_array_equal(np.bincount(other.y_test), np.full(10, 100))
    d1 = load_digits(seed=1)
    assert not np.array_equal(np.sort(d1.test_index), np.sort(splits["digits"].test_index))


def test_n_test_and_test_fraction():
    d = load_digits(n_test=100)
    assert len(d.y_test) == 100 and len(d.y_train) == 1697
    assert_array_equal(np.bincount(d.y_test), np.full(10, 10))
    assert len(load_digits(test_fraction=0.5).y_test) == round(0.5 * 1797)
    # n_test takes precedence over test_fraction.
    assert len(load_digits(n_test=50, test_fraction=0.9).y_test) == 50
    m = load_mnist5k(n_test=2500, seed=3)
    assert_array_equal(np.bincount(m.y_test), np.full(10, 250))


@pytest.mark.parametrize("n_test", [1, 3, 7, 4999])
def test_extreme_test_sizes_sum_exactly(n_test):
    m = load_mnist5k(n_test=n_test)
    assert len(m.y_test) == n_test and len(m.y_train) == 5000 - n_test
    assert np.bincount(m.y_test, minlength=10).max() - np.bincount(m.y_test, minlength=10).min() <= 1


def test_stratified_split_quotas_are_adjusted_deterministically():
    # Four classes of one item, two test items: exact share 1/2 each, rounded up to 1 each, two
    # too many; the lower class numbers give theirs back.
    train, test = stratified_split(np.array([0, 1, 2, 3]), 2, seed=0)
    assert_array_equal(np.sort(test), [2, 3])
    assert_array_equal(np.sort(train), [0, 1])
    # Unequal classes: shares 6 * (5, 3, 2) / 10 = (3, 1.8, 1.2) -> (3, 2, 1).
    labels = np.repeat([0, 1, 2], [5, 3, 2])
    rng = np.random.default_rng(4)
    labels = rng.permutation(labels)
    _, test = stratified_split(labels, 6, seed=9)
    assert_array_equal(np.bincount(labels[test]), [3, 2, 1])


def test_no_network_access(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network access during loading")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert load_digits(split=False)[0].shape == (1797, 1, 8, 8)
    assert len(load_mnist5k().y_test) == 1000


# ---------------------------------------------------------------------------
# one_hot: the targets gamma_n of (47.1229)
# ---------------------------------------------------------------------------


def test_one_hot_values():
    G = one_hot(np.array([2, 0, 1, 2]))
    assert G.dtype == np.float64 and G.shape == (4, 3)
    assert_array_equal(G, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    G = one_hot([3, 0], Q=5, low=-1.0, high=1.0)
    assert_array_equal(G, [[-1, -1, -1, 1, -1], [1, -1, -1, -1, -1]])
    assert one_hot(np.array([], dtype=np.int64), Q=4).shape == (0, 4)


def test_one_hot_round_trip():
    y = np.random.default_rng(0).integers(0, 10, size=200)
    G = one_hot(y, Q=10)
    assert_array_equal(np.argmax(G, axis=1), y)
    assert_allclose(G.sum(axis=1), np.ones(200))


@pytest.mark.parametrize("labels, Q, exc, match", [
    (np.array([0.0, 1.0]), None, TypeError, r"labels must be integers.*float64"),
    (np.array([True, False]), None, TypeError, r"labels must be integers.*bool"),
    (np.array([[0, 1]]), None, ValueError, r"labels must be 1-dimensional.*\(1, 2\)"),
    (np.array([0, -1]), None, ValueError, r"non-negative.*-1"),
    (np.array([0, 3]), 3, ValueError, r"0\.\.Q-1 = 0\.\.2.*3"),
    (np.array([0, 1]), 2.0, TypeError, r"Q .*integer.*2\.0"),
    (np.array([0, 1]), 0, ValueError, r"Q .*>= 1.*0"),
    (np.array([], dtype=np.int64), None, ValueError, r"Q must be given"),
])
def test_one_hot_errors(labels, Q, exc, match):
    with pytest.raises(exc, match=match):
        one_hot(labels, Q)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"low": "0"}, TypeError, r"low must be a real number"),
    ({"high": np.inf}, ValueError, r"high must be finite.*inf"),
])
def test_one_hot_level_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        one_hot([0, 1], 2, **kwargs)


# ---------------------------------------------------------------------------
# Loader errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loader, kwargs, exc, match", [
    (load_mnist5k, {"n_test": 0}, ValueError, r"n_test must lie in 1\.\.4999.*got 0"),
    (load_mnist5k, {"n_test": 5000}, ValueError, r"n_test must lie in 1\.\.4999.*got 5000"),
    (load_mnist5k, {"n_test": -3}, ValueError, r"n_test .*got -3"),
    (load_mnist5k, {"n_test": 10.0}, TypeError, r"n_test must be an integer.*10\.0.*float"),
    (load_mnist5k, {"n_test": True}, TypeError, r"n_test must be an integer.*True"),
    (load_mnist5k, {"n_test": "100"}, TypeError, r"n_test must be an integer.*'100'"),
    (load_digits, {"n_test": 1797}, ValueError, r"n_test must lie in 1\.\.1796.*1797"),
    (load_digits, {"n_test": 2.5}, TypeError, r"n_test must be an integer"),
    (load_mnist5k, {"seed": 1.5}, TypeError, r"seed must be a non-negative integer.*1\.5"),
    (load_mnist5k, {"seed": None}, TypeError, r"seed .*None"),
    (load_digits, {"seed": "0"}, TypeError, r"seed .*'0'"),
    (load_digits, {"seed": -1}, ValueError, r"seed must be a non-negative integer.*-1"),
    (load_digits, {"test_fraction": 0.0}, ValueError, r"test_fraction .*\(0, 1\).*0\.0"),
    (load_digits, {"test_fraction": 1.0}, ValueError, r"test_fraction .*\(0, 1\).*1\.0"),
    (load_digits, {"test_fraction": "0.2"}, TypeError, r"test_fraction must be a real.*'0\.2'"),
    (load_digits, {"test_fraction": 1e-4}, ValueError, r"rounds to 0.*1\.\.1796"),
    (load_digits, {"split": "yes"}, TypeError, r"split must be True or False.*'yes'"),
    (load_mnist5k, {"split": 1}, TypeError, r"split must be True or False.*1"),
])
def test_loader_errors(loader, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        loader(**kwargs)


@pytest.mark.parametrize("args, exc, match", [
    ((np.array([0, 1, 1]), 3), ValueError, r"n_test must lie in 1\.\.2.*3"),
    ((np.array([0.0, 1.0]), 1), TypeError, r"labels must be integers"),
    ((np.array([0, 1]), 1, np.random.default_rng(0)), TypeError, r"seed .*Generator"),
])
def test_stratified_split_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        stratified_split(*args)


def test_numpy_integer_arguments_are_accepted():
    d = load_digits(n_test=np.int64(100), seed=np.int32(2))
    assert len(d.y_test) == 100
    assert one_hot(np.array([1], dtype=np.uint8), Q=np.int64(3)).shape == (1, 3)
