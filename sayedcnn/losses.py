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

from dataclasses import dataclass

import numpy as np

__all__ = ["Loss", "get_loss", "LOSSES"]


def _log_softmax(z):
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


@dataclass(frozen=True)
class Loss:
    r"""A per-sample loss :math:`Q(\gamma, y)` with its output sensitivity.

    ``value(z, y, gamma)`` and ``delta(z, y, gamma, act)`` act on the last axis and accept
    a single sample ``(Q,)`` or a batch ``(N, Q)``.
    """

    name: str

    def check_output_activation(self, act):
        if self.name == "cross_entropy" and act.name != "softmax":
            raise ValueError("loss 'cross_entropy' needs output_activation 'softmax' (seed 001), "
                             f"got {act.name!r}")

    def value(self, z, y, gamma):
        r"""The loss of each sample: :math:`\|\gamma - y\|^2` (47.1229) or
        :math:`-\gamma^T \ln \mathrm{softmax}(z)` (seed 001, computed stably from ``z``)."""
        if self.name == "quadratic":
            return np.sum((gamma - y) ** 2, axis=-1)  # (47.1229)
        return -np.sum(gamma * _log_softmax(z), axis=-1)

    def delta(self, z, y, gamma, act):
        r"""The output sensitivity :math:`\delta_L = \partial Q / \partial z_L` (47.1233)."""
        if self.name == "quadratic":
            return act.vjp(z, 2.0 * (y - gamma))  # (47.1233) 2(y - gamma) . f'(z)
        # softmax + cross-entropy: J^T(-gamma/y) = y (1^T gamma) - gamma
        return y * np.sum(gamma, axis=-1, keepdims=True) - gamma


LOSSES = {"quadratic": Loss("quadratic"), "cross_entropy": Loss("cross_entropy")}


def get_loss(name):
    """Look up a loss: ``"quadratic"`` (47.1229) or ``"cross_entropy"`` (seed 001)."""
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} (47.1229), got {name!r}")
    return LOSSES[name]
