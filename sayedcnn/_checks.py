"""Input validation shared by the public entry points.

Every check raises :class:`ValueError` or :class:`TypeError` with a message that names the
quantity, the expected and the actual shape or value, and the equation it comes from.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_float_array", "as_pair", "check_finite", "check_shape", "as_positive_int",
           "as_real", "shape_str", "MAX_SIZE", "MAX_ENTRIES"]

#: The largest size a check accepts where a size means an allocation: each axis of a map,
#: a mask, a block, a stride or a padding, and the product of the two (entries of one
#: 2-D map), and the sizes given to :func:`as_positive_int` with ``maximum=MAX_SIZE``.
#: 2**27 float64 entries are 1 GiB.
MAX_SIZE = 2**27

#: The largest array a :class:`~sayedcnn.network.Network` agrees to need, in entries: an
#: image, a partition matrix :math:`V_c` (:math:`P_c S_c` rows, 47.1152), one parameter
#: array, all parameters together (47.1224), and the targets :math:`\Gamma` that
#: :func:`~sayedcnn.losses.one_hot` builds (47.1229) are each held to it, before anything
#: is allocated. 2**27 entries are 1 GiB of float64.
MAX_ENTRIES = 2**27
_MAX_INT = 2**63 - 1  # numpy's C long: larger integers cannot index or allocate


def _eq(eq):
    return f" ({eq})" if eq else ""


def as_float_array(x, name, ndim=None, eq=None, finite=True):
    """Convert ``x`` to a float64 array, rejecting complex, bool, object and string data.

    float32 and integer input is converted to float64.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a real numeric array{_eq(eq)}, got a string")
    if x is None:
        raise TypeError(f"{name} must be a real numeric array{_eq(eq)}, got None")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a rectangular numeric array{_eq(eq)}") from exc
    if arr.dtype == object:
        raise TypeError(f"{name} must be a real numeric array{_eq(eq)}, got dtype object")
    if arr.dtype == bool:
        raise TypeError(f"{name} must be a real numeric array{_eq(eq)}, got dtype bool")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real{_eq(eq)}, got complex dtype {arr.dtype}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a real numeric array{_eq(eq)}, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-dimensional{_eq(eq)}, got shape {arr.shape}")
    if finite:
        check_finite(arr, name, eq)
    return arr


def shape_str(shape):
    """A shape as the book writes it, ``"150 x 12"`` (``"a scalar"`` for ``()``)."""
    shape = tuple(shape)
    return " x ".join(map(str, shape)) if shape else "a scalar"


def as_real(x, name, eq=None, minimum=None, strict=False):
    """A finite real number as a float (bools, complex numbers and strings rejected).

    ``minimum`` bounds it from below, strictly with ``strict=True``.
    """
    if (isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.floating,
                                                                np.integer))):
        raise TypeError(f"{name} must be a real number{_eq(eq)}, got {x!r}")
    try:
        x = float(x)
    except OverflowError:  # an integer beyond the float range
        x = float("inf")
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite{_eq(eq)}, got {x}")
    if minimum is not None and (x <= minimum if strict else x < minimum):
        rel = ">" if strict else ">="
        raise ValueError(f"{name} must be {rel} {minimum}{_eq(eq)}, got {x}")
    return x


def check_finite(arr, name, eq=None):
    """Raise ``ValueError`` if ``arr`` holds NaN or inf."""
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "inf"
        raise ValueError(f"{name} contains {bad}{_eq(eq)}; all entries must be finite")


def check_shape(arr, shape, name, eq=None, label=None):
    """Raise ``ValueError`` unless ``arr.shape == shape``; ``label`` spells the shape."""
    if tuple(arr.shape) != tuple(shape):
        want = label if label is not None else " x ".join(map(str, shape))
        got = " x ".join(map(str, arr.shape)) if arr.ndim else "a scalar"
        raise ValueError(f"{name} must be {want}{_eq(eq)}, got {got}")


def as_positive_int(x, name, minimum=1, eq=None, maximum=None):
    """An integer >= ``minimum`` and <= ``maximum`` (default: the largest C long, 2**63-1;
    pass :data:`MAX_SIZE` for sizes that are allocated); bools rejected."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer{_eq(eq)}, got {x!r}")
    if x < minimum:
        raise ValueError(f"{name} must be >= {minimum}{_eq(eq)}, got {x}")
    top = _MAX_INT if maximum is None else maximum
    if x > top:
        raise ValueError(f"{name} must be <= {top:,}{_eq(eq)}, got {x:,}")
    return int(x)


def as_pair(x, name, minimum=1, eq=None):
    """An int or a pair of ints, each >= ``minimum``, as a tuple of two ints."""
    if isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, bool):
        vals = (int(x), int(x))
    else:
        try:
            vals = tuple(x)
        except TypeError as exc:
            raise TypeError(f"{name} must be an int or a pair of ints{_eq(eq)}, "
                            f"got {x!r}") from exc
        if len(vals) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints{_eq(eq)}, got {x!r}")
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
                raise TypeError(f"{name} must hold integers{_eq(eq)}, got {x!r}")
        vals = (int(vals[0]), int(vals[1]))
    if min(vals) < minimum:
        raise ValueError(f"{name} must be >= {minimum} along each axis{_eq(eq)}, got {x!r}")
    if max(vals) > MAX_SIZE or vals[0] * vals[1] > MAX_SIZE:
        raise ValueError(f"{name} {vals[0]} x {vals[1]} is beyond the sizes sayedcnn builds: at "
                         f"most {MAX_SIZE:,} (2**27) along an axis and in all{_eq(eq)}")
    return vals


def check_rho(rho1, rho2):
    """The regularisation weights of (47.1229): real, finite and >= 0."""
    for name, r in (("rho1", rho1), ("rho2", rho2)):
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real):
            raise TypeError(f"{name} must be a real number (47.1229), got {r!r}")
        try:
            r = float(r)
        except OverflowError:
            r = float("inf")
        if not np.isfinite(r) or r < 0:
            raise ValueError(f"{name} must be finite and >= 0 (47.1229), got {r}")


def check_scaling(scaling):
    """The risk's scaling: ``"1229"`` (47.1229) or ``"1227"`` (47.1227)."""
    if not isinstance(scaling, str) or scaling not in ("1229", "1227"):
        raise ValueError(f"scaling must be '1229' (47.1229) or '1227' (47.1227), got "
                         f"{scaling!r}")


def check_mu(mu):
    """The step size of (47.1276): real, finite and > 0."""
    if isinstance(mu, (bool, np.bool_)) or not isinstance(mu, numbers.Real):
        raise TypeError(f"the step size mu must be a real number (47.1276), got {mu!r}")
    try:
        mu = float(mu)
    except OverflowError:
        mu = float("inf")
    if not np.isfinite(mu) or mu <= 0:
        raise ValueError(f"the step size mu must be finite and > 0 (47.1276), got {mu}")


def check_method(method):
    """``"listing"`` (the book's listings line for line) or ``"fused"`` (the engine)."""
    if not isinstance(method, str) or method not in ("listing", "fused"):
        raise ValueError(f"method must be 'listing' or 'fused', got {method!r}")
