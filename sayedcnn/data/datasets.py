r"""Real handwritten digits for the experiments of section 47.25.

Two small sets ship inside the package (folder ``sayedcnn/data``, provenance and licences in
``DATA.md`` there) and are read from it with :mod:`importlib.resources`; nothing is ever
downloaded.

* :func:`load_digits`: the 1,797 UCI optical-recognition digits, 8 x 8, pixels 0..16;
* :func:`load_mnist5k`: 5,000 MNIST digits (500 per class), 28 x 28, pixels 0..255.

Images come out in the package layout (docs/conventions.md, *Arrays in, arrays out*):
float64 arrays shaped ``(N, D_0, rows, cols)`` with input depth :math:`D_0 = 1`, scaled to
``[0, 1]``, the image ``X[n, 0]`` upright (row 0 at the top, column 0 at the left).
Labels are int64 class numbers ``0..9``; :func:`one_hot` turns them into the target vectors
:math:`\gamma_n` of the empirical risk (47.1229).

Splits are seeded and stratified by class, so that the class proportions of the test set follow
those of the whole set (exactly 100 test images per class for the default MNIST-5k split).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from importlib.resources import files

import numpy as np

from ..losses import _check_labels, one_hot  # the one definition of the targets (47.1229)

__all__ = ["DigitData", "load_digits", "load_mnist5k", "one_hot", "stratified_split"]

_DIGITS = ("digits.npz", "UCI digits 8x8", 16)
_MNIST = ("mnist5k.npz", "MNIST-5k 28x28", 255)


@dataclass(frozen=True, eq=False)
class DigitData:
    r"""A seeded, class-stratified train/test split of one digit set.

    Attributes
    ----------
    X_train, X_test : ndarray of float64, shape (N_train, 1, rows, cols), (N_test, 1, rows, cols)
        Images scaled to ``[0, 1]``, input depth :math:`D_0 = 1`.
    y_train, y_test : ndarray of int64, shape (N_train,), (N_test,)
        Class labels ``0 .. n_classes - 1``.
    name : str
        Name of the set.
    image_shape : tuple of int
        ``(rows, cols)`` of one image.
    n_classes : int
        Number of classes Q (the size of the output layer).
    train_index, test_index : ndarray of int64
        Positions of the training and test images in the unsplit arrays returned with
        ``split=False``: ``X_train == X[train_index]``.

    Examples
    --------
    >>> from sayedcnn.data.datasets import load_digits
    >>> data = load_digits(n_test=100)
    >>> data.X_train.shape, data.X_test.shape, data.image_shape
    ((1697, 1, 8, 8), (100, 1, 8, 8), (8, 8))
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    image_shape: tuple
    n_classes: int
    train_index: np.ndarray = field(default=None, repr=False)
    test_index: np.ndarray = field(default=None, repr=False)

    def __repr__(self):
        return (f"DigitData(name={self.name!r}, image_shape={self.image_shape}, "
                f"n_classes={self.n_classes}, n_train={len(self.y_train)}, "
                f"n_test={len(self.y_test)})")


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _is_int(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _check_bool(x, name):
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {x!r}")
    return bool(x)


def _check_seed(seed):
    if not _is_int(seed):
        raise TypeError(f"seed must be a non-negative integer (for numpy.random.default_rng), "
                        f"got {seed!r} of type {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return int(seed)


def _check_n_test(n_test, N):
    if not _is_int(n_test):
        raise TypeError(f"n_test must be an integer in 1..{N - 1} (N = {N} images), "
                        f"got {n_test!r} of type {type(n_test).__name__}")
    if not 1 <= n_test <= N - 1:
        raise ValueError(f"n_test must lie in 1..{N - 1} (N = {N} images), got {n_test}")
    return int(n_test)


def _n_test_from_fraction(test_fraction, N):
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a real number in (0, 1), got {test_fraction!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in the open interval (0, 1), "
                         f"got {test_fraction}")
    n_test = round(test_fraction * N)
    if not 1 <= n_test <= N - 1:
        raise ValueError(f"test_fraction * N = {test_fraction} * {N} rounds to {n_test}; "
                         f"the test set needs 1..{N - 1} images")
    return n_test


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def _read(filename):
    """The uint8 ``images`` (N, rows, cols) and ``labels`` (N,) of a shipped ``.npz``."""
    resource = files("sayedcnn.data").joinpath(filename)
    with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
        images = z["images"]
        labels = z["labels"]
    if images.ndim != 3 or labels.shape != (images.shape[0],):
        raise ValueError(f"{filename}: expected images (N, rows, cols) and labels (N,), got "
                         f"{images.shape} and {labels.shape}")
    return images, labels


def _load(spec, split, n_test, seed, test_fraction=None):
    filename, name, scale = spec
    split = _check_bool(split, "split")
    images, labels = _read(filename)
    # (N, rows, cols) -> (N, D_0, rows, cols) with D_0 = 1; pixel values scaled to [0, 1].
    X = images[:, None, :, :].astype(np.float64) / scale
    y = labels.astype(np.int64)
    if not split:
        return X, y
    if n_test is None:
        n_test = _n_test_from_fraction(test_fraction, y.size)
    train, test = stratified_split(y, n_test, seed)
    return DigitData(X_train=X[train], y_train=y[train], X_test=X[test], y_test=y[test],
                     name=name, image_shape=tuple(images.shape[1:]),
                     n_classes=int(y.max()) + 1, train_index=train, test_index=test)


def load_digits(split=True, n_test=None, test_fraction=0.2, seed=0):
    r"""The 1,797 UCI handwritten digits, 8 x 8 pixels, scaled to ``[0, 1]``.

    Parameters
    ----------
    split : bool
        Return a :class:`DigitData` train/test split (default) or the whole set; with
        ``split=False`` the split arguments are not used.
    n_test : int, optional
        Size of the test set, ``1 .. N - 1``; takes precedence over ``test_fraction``.
    test_fraction : float
        Fraction of the images put into the test set when ``n_test`` is None:
        ``n_test = round(test_fraction * N)`` (359 by default). Must lie in ``(0, 1)``.
    seed : int
        Seed of :func:`numpy.random.default_rng` for the split.

    Returns
    -------
    DigitData or (X, y)
        With ``split=False``: ``X`` float64 ``(1797, 1, 8, 8)`` (pixel value / 16) and ``y``
        int64 ``(1797,)``.

    Raises
    ------
    TypeError, ValueError
        For a non-integer or out-of-range ``n_test`` or ``seed``, or a ``test_fraction``
        outside ``(0, 1)``.

    Examples
    --------
    >>> from sayedcnn.data.datasets import load_digits
    >>> X, y = load_digits(split=False)
    >>> X.shape, int(y.max()), float(X.max())
    ((1797, 1, 8, 8), 9, 1.0)
    """
    return _load(_DIGITS, split, n_test, seed, test_fraction)


def load_mnist5k(split=True, n_test=1000, seed=0):
    r"""5,000 MNIST digits (500 per class), 28 x 28 pixels, scaled to ``[0, 1]``.

    Parameters
    ----------
    split : bool
        Return a :class:`DigitData` train/test split (default) or the whole set; with
        ``split=False`` the split arguments are not used.
    n_test : int
        Size of the test set, ``1 .. 4999``. The default gives 4,000 training and 1,000 test
        images, exactly 100 test images per class.
    seed : int
        Seed of :func:`numpy.random.default_rng` for the split.

    Returns
    -------
    DigitData or (X, y)
        With ``split=False``: ``X`` float64 ``(5000, 1, 28, 28)`` (pixel value / 255) and ``y``
        int64 ``(5000,)``, in the stored order (sorted by class).

    Raises
    ------
    TypeError, ValueError
        For a non-integer or out-of-range ``n_test`` or ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.data.datasets import load_mnist5k
    >>> data = load_mnist5k()
    >>> data.X_train.shape, np.bincount(data.y_test).tolist() == [100] * 10
    ((4000, 1, 28, 28), True)
    """
    return _load(_MNIST, split, n_test, seed)


# ---------------------------------------------------------------------------
# Splitting and targets
# ---------------------------------------------------------------------------


def _test_quotas(counts, n_test):
    """Test images per class: ``n_test * N_k / N`` rounded half up, adjusted to sum to ``n_test``.

    When the rounded quotas fall short, the classes whose rounding lost most gain one image each;
    when they overshoot, the classes whose rounding gained most lose one each. Among equal gaps
    the lower class number is adjusted first, so the quotas depend on nothing but ``counts`` and
    ``n_test``.
    """
    N = counts.sum()
    exact = n_test * counts / N
    quota = np.minimum(np.floor(exact + 0.5).astype(np.int64), counts)
    short = n_test - int(quota.sum())
    gap = exact - quota                          # > 0: rounded down, < 0: rounded up
    step = 1 if short > 0 else -1
    # Most under-served first when adding, most over-served first when removing.
    order = np.lexsort((np.arange(counts.size), -step * gap))
    for k in order:
        if short == 0:
            break
        if 0 <= quota[k] + step <= counts[k]:
            quota[k] += step
            short -= step
    return quota


def stratified_split(labels, n_test, seed=0):
    r"""Seeded, class-stratified split of ``N`` labelled items into training and test positions.

    Class ``k`` (with :math:`N_k` items) puts :math:`n_{test} N_k / N`, rounded half up, of them
    into the test set, the quotas adjusted deterministically so that they add up to exactly
    ``n_test``. A
    :func:`numpy.random.default_rng` generator seeded with ``seed`` shuffles the positions of
    each class in turn (classes in increasing order), the first quota of them go to the test
    set, and the training and test positions are then shuffled by the same generator.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
    n_test : int
        ``1 .. N - 1``.
    seed : int

    Returns
    -------
    train, test : ndarray of int64
        Disjoint positions whose union is ``0 .. N - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.data.datasets import stratified_split
    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    >>> train, test = stratified_split(labels, 5)
    >>> np.bincount(labels[test]).tolist(), len(train)
    ([2, 3], 5)
    """
    labels = _check_labels(labels)
    N = labels.size
    n_test = _check_n_test(n_test, N)
    rng = np.random.default_rng(_check_seed(seed))
    classes, counts = np.unique(labels, return_counts=True)
    quota = _test_quotas(counts, n_test)
    train, test = [], []
    for k, q in zip(classes, quota):
        members = rng.permutation(np.flatnonzero(labels == k))
        test.append(members[:q])
        train.append(members[q:])
    train = rng.permutation(np.concatenate(train)).astype(np.int64)
    test = rng.permutation(np.concatenate(test)).astype(np.int64)
    return train, test


