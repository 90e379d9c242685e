r"""The one comparison of the package: the largest relative difference.

Every check that says "these agree" (listing against engine, loops, finite differences, a
golden trace, an erratum's demonstration) measures agreement with :func:`rel_diff`, for single
arrays, and :func:`max_rel_diff`, for whole sets of parameters. Both are built so that broken
output can never pass:

* an entry that is NaN on either side, or infinite on one side only (or infinite on both with
  different signs), makes the difference ``inf``;
* arrays of different shapes give ``inf`` (no broadcasting);
* for sets of arrays, an array present on one side only gives ``inf`` (no silent ``zip``).

For arrays ``a`` and ``b`` of one shape the measure is

.. math:: r(a, b) = \frac{\|a - b\|_\infty}{\max(\|a\|_\infty, \|b\|_\infty, s)},

with a floor ``s >= 0`` (default 0, at least the smallest normal number) that keeps an array
whose true value is 0 from turning rounding noise into a large ratio.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rel_diff", "max_rel_diff", "array_sets"]

_TINY = np.finfo(float).tiny


def rel_diff(a, b, floor=0.0):
    r"""Largest relative difference of two arrays of the same shape.

    The measure behind every agreement check of the package (listings, engine, loops,
    finite differences of (47.1229)).

    .. math:: r(a, b) = \|a - b\|_\infty / \max(\|a\|_\infty, \|b\|_\infty, \text{floor})

    Parameters
    ----------
    a, b : array_like
        Real arrays.
    floor : float, optional
        Lower bound of the denominator (default 0).

    Returns
    -------
    float
        ``0.0`` for equal arrays; ``inf`` when the shapes differ, when either side holds a
        NaN, or when the infinite entries do not match (same place, same sign) on both sides.

    Examples
    --------
    >>> from sayedcnn.reference.compare import rel_diff
    >>> rel_diff([1.0, 2.0], [1.0, 2.002])
    0.000999...
    >>> rel_diff([1.0, float("nan")], [1.0, float("nan")])
    inf
    >>> rel_diff([1.0, 2.0], [1.0, 2.0, 3.0])
    inf
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    if np.isnan(a).any() or np.isnan(b).any():
        return float("inf")
    inf_a, inf_b = np.isinf(a), np.isinf(b)
    if inf_a.any() or inf_b.any():
        if not np.array_equal(inf_a, inf_b) or not np.array_equal(a[inf_a], b[inf_b]):
            return float("inf")
        a, b = a[~inf_a], b[~inf_b]  # equal infinities agree; compare the finite rest
        if a.size == 0:
            return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), float(floor), _TINY)
    return float(np.max(np.abs(a - b))) / scale


def array_sets(x):
    r"""The arrays of ``x`` as a dict ``{key: array}``: a :class:`~sayedcnn.params.Params`
    gives ``(group, layer)`` keys, a mapping is taken as it is, a single array is ``{(): x}``.
    The groups are those of (47.1221g-h) and (47.1224a-b).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.reference.compare import array_sets
    >>> p = sc.Params(W_ff={1: np.ones((2, 3))}, theta_ff={1: np.zeros(2)})
    >>> sorted(array_sets(p))
    [('W_ff', 1), ('theta_ff', 1)]
    >>> array_sets(np.ones(2))
    {(): array([1., 1.])}
    """
    if hasattr(x, "items") and hasattr(x, "GROUPS"):  # a Params
        return {(g, k): a for g, k, a in x.items()}
    if isinstance(x, dict):
        return dict(x)
    return {(): x}


def max_rel_diff(x, y, floor=0.0):
    r"""Largest :func:`rel_diff` over two sets of arrays (two ``Params``, or two dicts).

    Every key must be on both sides: a key missing on either side makes the result ``inf``,
    and so does any NaN, any unmatched infinity or any shape mismatch inside. Used to compare
    the derivatives of (47.1229) computed in different ways (47.1275).

    Parameters
    ----------
    x, y : Params, dict or array_like
        The two sets.
    floor : float, optional
        Passed to :func:`rel_diff` for every array.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference.compare import max_rel_diff
    >>> max_rel_diff({"W": np.ones(2)}, {"W": np.ones(2)})
    0.0
    >>> max_rel_diff({"W": np.ones(2), "b": np.ones(1)}, {"W": np.ones(2)})
    inf
    """
    xs, ys = array_sets(x), array_sets(y)
    if set(xs) != set(ys):
        return float("inf")
    return max((rel_diff(xs[k], ys[k], floor) for k in xs), default=0.0)
