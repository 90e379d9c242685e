r"""Per-sample losses and the output sensitivity :math:`\delta_L` (47.1229), (47.1233).

* ``quadratic``: the book's :math:`\|\gamma_n - y_n\|^2` (47.1229) with
  :math:`\delta_{L,n} = 2(y_n - \gamma_n) \odot f'(z_{L,n})` (47.1233);
* ``cross_entropy``: :math:`-\sum_q \gamma_n(q) \ln y_n(q)` with softmax outputs (seed
  ``001``), for which :math:`\delta_{L,n} = y_n (\mathbb 1^T\gamma_n) - \gamma_n`
  (:math:`= y_n - \gamma_n` for one-hot targets).

Numerical edge: the cross-entropy is computed from the logits :math:`z_L` as
:math:`-\gamma^T(z - m - \ln\sum_q e^{z(q) - m})`, :math:`m = \max_q z(q)` (a shifted
log-softmax), never as :math:`\ln y`, so a probability that rounds to 0 gives a large finite
loss instead of ``inf``, and large logits do not overflow.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._checks import MAX_ENTRIES

__all__ = ["Loss", "get_loss", "LOSSES", "one_hot", "risk_weights"]


def _log_softmax(z):
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


@dataclass(frozen=True)
class Loss:
    r"""A per-sample loss :math:`Q(\gamma, y)` with its output sensitivity.

    ``value(z, y, gamma)`` and ``delta(z, y, gamma, act)`` act on the last axis and accept
    a single sample ``(Q,)`` or a batch ``(N, Q)``. Implements the losses of (47.1229) and
    seed 001 with their sensitivities (47.1233).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import get_loss
    >>> loss = get_loss("quadratic")
    >>> loss
    Loss(name='quadratic')
    >>> Y = np.array([[0.5, 0.5], [1.0, 0.0]])
    >>> loss.value(None, Y, np.eye(2))        # one loss per row of the batch
    array([0.5, 2. ])
    """

    name: str

    def check_output_activation(self, act):
        r"""Refuse an output activation the loss cannot use: cross-entropy needs softmax outputs
        (seed 001); the quadratic loss (47.1229) takes any.

        Implements the pairing of the loss with :math:`f` at layer ``L`` (47.1233).

        Examples
        --------
        >>> from sayedcnn import get_activation, get_loss
        >>> get_loss("quadratic").check_output_activation(get_activation("sigmoid"))
        >>> get_loss("cross_entropy").check_output_activation(get_activation("sigmoid"))
        Traceback (most recent call last):
            ...
        ValueError: loss 'cross_entropy' needs output_activation 'softmax' (seed 001), got 'sigmoid'
        """
        if self.name == "cross_entropy" and act.name != "softmax":
            raise ValueError("loss 'cross_entropy' needs output_activation 'softmax' (seed 001), "
                             f"got {act.name!r}")

    def value(self, z, y, gamma):
        r"""The loss of each sample: :math:`\|\gamma - y\|^2` (47.1229) or
        :math:`-\gamma^T \ln \mathrm{softmax}(z)` (seed 001, computed stably from ``z``).

        Implements the per-sample term of (47.1229).

        Examples
        --------
        >>> import numpy as np
        >>> from sayedcnn import get_loss, softmax
        >>> float(get_loss("quadratic").value(None, np.array([0.5, 0.5]), np.array([1.0, 0.0])))
        0.5
        >>> z = np.log([1.0, 3.0])
        >>> ce = get_loss("cross_entropy").value(z, softmax(z), np.array([0.0, 1.0]))
        >>> bool(np.isclose(ce, np.log(4 / 3), rtol=1e-12))        # -ln(3/4)
        True
        >>> float(get_loss("cross_entropy").value(np.array([0.0, 1000.0]), None,
        ...                                      np.array([1.0, 0.0])))
        1000.0
        """
        if self.name == "quadratic":
            return np.sum((gamma - y) ** 2, axis=-1)  # (47.1229)
        return -np.sum(gamma * _log_softmax(z), axis=-1)

    def delta(self, z, y, gamma, act):
        r"""The output sensitivity :math:`\delta_L = \partial Q / \partial z_L` (47.1233).

        Quadratic: :math:`2(y - \gamma) \odot f'(z_L)`; softmax with cross-entropy:
        :math:`y\,(\mathbb 1^T\gamma) - \gamma`. Implements (47.1233).

        Examples
        --------
        >>> import numpy as np
        >>> from sayedcnn import get_activation, get_loss, softmax
        >>> sig = get_activation("sigmoid")
        >>> z = np.zeros(2)                                      # y = [1/2, 1/2], f' = 1/4
        >>> get_loss("quadratic").delta(z, sig(z), np.array([1.0, 0.0]), sig)
        array([-0.25,  0.25])
        >>> sm = get_activation("softmax", allow_softmax=True)
        >>> z = np.log([1.0, 3.0])
        >>> get_loss("cross_entropy").delta(z, softmax(z), np.array([0.0, 1.0]), sm).round(6)
        array([ 0.25, -0.25])
        """
        if self.name == "quadratic":
            return act.vjp(z, 2.0 * (y - gamma))  # (47.1233) 2(y - gamma) . f'(z)
        # softmax + cross-entropy: J^T(-gamma/y) = y (1^T gamma) - gamma
        return y * np.sum(gamma, axis=-1, keepdims=True) - gamma


LOSSES = {"quadratic": Loss("quadratic"), "cross_entropy": Loss("cross_entropy")}


def get_loss(name):
    r"""Look up a loss: ``"quadratic"`` (47.1229) or ``"cross_entropy"`` (seed 001).

    Implements the choice of :math:`Q(\gamma, y)` in (47.1229).

    Examples
    --------
    >>> from sayedcnn import get_loss
    >>> get_loss("cross_entropy").name
    'cross_entropy'
    >>> get_loss("hinge")
    Traceback (most recent call last):
        ...
    ValueError: loss must be one of ['cross_entropy', 'quadratic'] (47.1229), got 'hinge'
    """
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} (47.1229), got {name!r}")
    return LOSSES[name]


def risk_weights(scaling, N):
    r"""The weights ``(reg, data)`` of the regularisers and of the data term of the empirical
    risk: ``(1, 1/N)`` for (47.1229), ``(1/N, 1/N)`` for (47.1227).

    Implements the scalings of (47.1227) and (47.1229).

    Examples
    --------
    >>> from sayedcnn.losses import risk_weights
    >>> risk_weights("1229", 4)
    (1.0, 0.25)
    >>> risk_weights("1227", 4)
    (0.25, 0.25)
    """
    if scaling == "1229":
        return 1.0, 1.0 / N  # regulariser as is, data term averaged (47.1229)
    return 1.0 / N, 1.0 / N  # everything divided by N (47.1227)


# ---------------------------------------------------------------------------
# Targets gamma_n (47.1229): the one definition of the package
# ---------------------------------------------------------------------------


def _check_labels(labels):
    arr = np.asarray(labels)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"labels must be integers (class numbers 0..Q-1), got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1-dimensional (N,), got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"labels must be non-negative class numbers, got minimum {arr.min()}")
    return arr.astype(np.int64)


def one_hot(labels, Q=None, low=0.0, high=1.0):
    r"""Target vectors :math:`\gamma_n` of the empirical risk (47.1229), one row per label.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Class numbers in ``0 .. Q - 1``.
    Q : int, optional
        Number of classes (size of the output layer :math:`n_L`); default ``max(labels) + 1``.
    low, high : float
        Entries off and at the label: ``0, 1`` for sigmoid or softmax outputs, ``-1, 1`` for
        tanh outputs.

    Returns
    -------
    Gamma : ndarray of float64, shape (N, Q)
        Row ``n`` is :math:`\gamma_n^T`, with ``Gamma[n, labels[n]] = high`` and ``low``
        elsewhere.

    Raises
    ------
    TypeError
        If ``labels`` are not integers, ``Q`` is not an integer, or ``low``/``high`` are not
        real numbers.
    ValueError
        If ``labels`` is not 1-dimensional, holds a negative class or one ``>= Q``, or
        ``Q < 1``, or ``low``/``high`` are not finite.

    Implements the targets :math:`\gamma_n` of (47.1229).

    Examples
    --------
    >>> from sayedcnn import one_hot
    >>> one_hot([2, 0, 1])
    array([[0., 0., 1.],
           [1., 0., 0.],
           [0., 1., 0.]])
    >>> one_hot([1, 0], Q=3, low=-1.0)            # targets for tanh outputs
    array([[-1.,  1., -1.],
           [ 1., -1., -1.]])
    """
    labels = _check_labels(labels)
    if Q is None:
        if labels.size == 0:
            raise ValueError("Q must be given when labels is empty (it is max(labels) + 1 "
                             "otherwise)")
        Q = int(labels.max()) + 1
    if not (isinstance(Q, numbers.Integral) and not isinstance(Q, bool)):
        raise TypeError(f"Q (number of classes) must be an integer, got {Q!r}")
    if Q < 1:
        raise ValueError(f"Q (number of classes) must be >= 1, got {Q}")
    if labels.size * Q > MAX_ENTRIES:  # the targets Gamma are N x Q (47.1229)
        raise ValueError(f"the targets Gamma would be N x Q = {labels.size} x {Q} (47.1229), "
                         f"more than the {MAX_ENTRIES:,} (2**27) entries sayedcnn builds")
    if labels.size and labels.max() >= Q:
        raise ValueError(f"labels must lie in 0..Q-1 = 0..{Q - 1}, got maximum {labels.max()}")
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {v!r}")
        if not np.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")
    Gamma = np.full((labels.size, int(Q)), float(low))
    Gamma[np.arange(labels.size), labels] = float(high)
    return Gamma
