r"""Activation functions f and their derivatives f' (47.1154, Table 47.11).

Every activation acts entrywise on its argument except ``softmax``, which acts on the
last axis and is allowed only at the output layer (seed ``001``).

Numerical edges:

* ``relu'(0) = 0``: the derivative at the kink is taken from the left
  (docs/conventions.md, *Ties and kinks*), so a unit whose pre-activation is exactly 0
  passes no sensitivity back;
* the logistic function is evaluated split by sign, :math:`1/(1+e^{-z})` for
  :math:`z \ge 0` and :math:`e^{z}/(1+e^{z})` for :math:`z < 0`, so ``exp`` never overflows;
* softmax subtracts the largest logit first, :math:`e^{z - \max z} / \sum e^{z - \max z}`,
  so logits of any finite size give no overflow (and no NaN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array

__all__ = ["Activation", "get_activation", "ACTIVATIONS", "softmax"]


def _symbolic(fn, z):
    """``fn`` (a sympy function name) entry by entry on an object array of symbols; sympy is
    imported only here, for the symbolic derivation (the ``symbolic`` extra)."""
    import sympy

    f = getattr(sympy, fn)  # unevaluated: no simplification of the argument, only the function
    return np.array([f(e, evaluate=False) for e in z.ravel()], dtype=object).reshape(z.shape)


def _sigmoid(z):
    # Split by sign so that exp never overflows; integers and scalars become float64.
    if np.asarray(z).dtype == object:
        return 1 / (1 + _symbolic("exp", -z))  # the same function, on symbols
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _sigmoid_prime(z):
    s = _sigmoid(z)
    return s * (1.0 - s)


def _tanh(z):
    if np.asarray(z).dtype == object:
        return _symbolic("tanh", z)
    return np.tanh(z)


def _tanh_prime(z):
    return 1 - _tanh(z) ** 2


def _linear(z):
    z = np.asarray(z)
    return np.array(z, dtype=object if z.dtype == object else float, copy=True)


def _linear_prime(z):
    return np.ones_like(np.asarray(z), dtype=float)


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_prime(z):
    # relu'(0) = 0 (docs/conventions.md, *Ties and kinks*).
    return (z > 0).astype(float)


def _softmax(z):
    # The unchecked map used inside the network's passes.
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax(z):
    r"""Softmax over the last axis, shifted by the maximum so that large logits do not overflow.

    .. math:: y(q) = e^{z(q)} / \sum_{q'} e^{z(q')} = e^{z(q) - m} / \sum_{q'} e^{z(q') - m},
              \quad m = \max_q z(q)

    The shift leaves :math:`y` unchanged and keeps every exponent :math:`\le 0`, so logits
    such as ``[1000, 0]`` give ``[1, 0]`` without overflow. ``z`` must be a real, finite
    array with at least one entry on its last axis (float32 and integers become float64).
    Implements the output map of seed ``001`` (KTH DD2424, SOFTMAX).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import softmax
    >>> softmax(np.log([1.0, 2.0, 3.0, 2.0])).round(6)
    array([0.125, 0.25 , 0.375, 0.25 ])
    >>> softmax([1000.0, 0.0])                     # no overflow
    array([1., 0.])
    >>> softmax(np.zeros((2, 3))).sum(axis=-1)     # one distribution per row
    array([1., 1.])
    """
    z = as_float_array(z, "the logits z of softmax", eq="seed 001")
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"the logits z of softmax need at least one entry on the last axis "
                         f"(seed 001), got shape {z.shape}")
    return _softmax(z)


def _softmax_vjp(z, u):
    # J(z)^T u for the softmax Jacobian J = diag(y) - y y^T (symmetric).
    y = _softmax(z)
    return y * (u - np.sum(y * u, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    r"""An activation function ``f`` with its derivative ``f'`` (47.1154).

    Implements the entrywise maps :math:`y = f(z)` of (47.1154) and (47.1216), with the
    derivatives :math:`f'(z)` used by the sensitivities (47.1233)-(47.1234).

    Attributes
    ----------
    name : str
        One of ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"linear"``, ``"softmax"``.
    f : callable
        The map applied to a pre-activation ``z``.
    fprime : callable or None
        The entrywise derivative ``f'(z)``; ``None`` for softmax, whose Jacobian is not
        diagonal (use :meth:`vjp`).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import get_activation
    >>> relu = get_activation("relu")
    >>> z = np.array([-1.0, 0.0, 2.0])
    >>> relu(z), relu.fprime(z)            # relu'(0) = 0, the derivative from the left
    (array([0., 0., 2.]), array([0., 0., 1.]))
    >>> get_activation("sigmoid")(np.array([-800.0, 0.0, 800.0]))     # no overflow
    array([0. , 0.5, 1. ])
    """

    name: str
    f: Callable
    fprime: Callable | None
    elementwise: bool = True

    def vjp(self, z, u):
        r"""Return ``(df/dz)^T u``: ``f'(z) \odot u`` for entrywise activations (47.1233).

        For softmax this is ``y \odot (u - (y^T u) 1)`` with ``y = softmax(z)``.
        Implements the factor :math:`f'(z) \odot (\cdot)` of (47.1233)-(47.1234).

        Examples
        --------
        >>> import numpy as np
        >>> from sayedcnn import get_activation
        >>> get_activation("tanh").vjp(np.zeros(2), np.array([1.0, 2.0]))      # tanh'(0) = 1
        array([1., 2.])
        >>> sm = get_activation("softmax", allow_softmax=True)
        >>> z = np.log([1.0, 3.0])                                # softmax(z) = [1/4, 3/4]
        >>> sm.vjp(z, np.array([1.0, 0.0])).round(6)
        array([ 0.1875, -0.1875])
        """
        if self.elementwise:
            return self.fprime(z) * u
        return _softmax_vjp(z, u)

    def __call__(self, z):
        return self.f(z)


ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_prime),
    "tanh": Activation("tanh", _tanh, _tanh_prime),
    "relu": Activation("relu", _relu, _relu_prime),
    "linear": Activation("linear", _linear, _linear_prime),
    "softmax": Activation("softmax", _softmax, None, elementwise=False),
}


def get_activation(name, *, allow_softmax=False):
    r"""Look up an activation by name (47.1154).

    Parameters
    ----------
    name : str or Activation
        ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"linear"`` (and ``"softmax"`` where
        ``allow_softmax``).
    allow_softmax : bool
        Whether the caller is the output layer.

    Returns
    -------
    Activation

    Implements the choice of :math:`f` in (47.1154).

    Examples
    --------
    >>> from sayedcnn import get_activation
    >>> get_activation("tanh").name
    'tanh'
    >>> get_activation("softmax", allow_softmax=True).elementwise
    False
    >>> get_activation("softmax")
    Traceback (most recent call last):
        ...
    ValueError: softmax acts on a whole vector and is allowed only as the output activation ...
    """
    if isinstance(name, Activation):
        act = name
    else:
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)} (47.1154), got {name!r}"
            )
        act = ACTIVATIONS[name]
    if not act.elementwise and not allow_softmax:
        raise ValueError(
            "softmax acts on a whole vector and is allowed only as the output activation "
            "(seed 001), got it for an inner layer"
        )
    return act
