r"""The parameters of a network in the book's shapes (47.1221g-h, 47.1224a-b).

* ``W_conv[c]``: :math:`W_c`, ``S_c D_{c-1} x D_c``; column ``d`` is
  :math:`W^{(d,c)} = \mathrm{col}\{w_1^{(d,c)}, \dots, w_{D_{c-1}}^{(d,c)}\}` (47.1223a);
* ``Theta_conv[c]``: :math:`\Theta_c`, ``D_{c-1} x D_c``, column ``d`` is
  :math:`\theta^{(d,c)}` (47.1224b);
* ``W_ff[l]``: :math:`W_\ell`, ``n_{l+1} x n_l``; ``theta_ff[l]``: :math:`\theta_\ell`,
  ``n_{l+1}`` (47.1221g-h).

Keys are the book's layer numbers: ``c = 1..C``, ``l = 1..L-1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .reference.compare import max_rel_diff

__all__ = ["Params"]


@dataclass
class Params:
    r"""Parameters of a :class:`Network` in the book's shapes (47.1221g-h, 47.1224a-b).

    ``W_conv`` and ``Theta_conv`` are keyed by ``c = 1..C``; ``W_ff`` and ``theta_ff`` by
    ``l = 1..L-1``.
    """

    W_conv: dict = field(default_factory=dict)
    Theta_conv: dict = field(default_factory=dict)
    W_ff: dict = field(default_factory=dict)
    theta_ff: dict = field(default_factory=dict)

    GROUPS = ("W_conv", "Theta_conv", "W_ff", "theta_ff")

    def items(self):
        """Yield ``(group, key, array)`` over every parameter array, in a fixed order."""
        for g in self.GROUPS:
            d = getattr(self, g)
            for k in sorted(d):
                yield g, k, d[k]

    def copy(self):
        """A deep copy."""
        return Params(*({k: np.array(v, dtype=float) for k, v in getattr(self, g).items()}
                        for g in self.GROUPS))

    def map(self, fn, *others):
        """A new Params with ``fn(a, *others' a)`` applied array by array."""
        out = Params()
        for g in self.GROUPS:
            setattr(out, g, {k: fn(v, *(getattr(o, g)[k] for o in others))
                             for k, v in getattr(self, g).items()})
        return out

    def __add__(self, other):
        return self.map(np.add, other)

    def __sub__(self, other):
        return self.map(np.subtract, other)

    def __mul__(self, scalar):
        return self.map(lambda a: a * scalar)

    __rmul__ = __mul__

    def to_vector(self):
        """All entries in one vector (order of :meth:`items`, each array column-major)."""
        return np.concatenate([a.reshape(-1, order="F") for _, _, a in self.items()])

    def from_vector(self, v):
        """A Params shaped like ``self`` with entries taken from ``v`` (see :meth:`to_vector`).

        ``v`` must be a real vector with exactly as many entries as ``self`` holds (a longer
        or shorter one raises ``ValueError``; NaN and inf are kept, as in any Params)."""
        from ._checks import as_float_array

        v = as_float_array(v, "v of from_vector", ndim=1, finite=False)
        n = sum(a.size for _, _, a in self.items())
        if v.size != n:
            raise ValueError(f"v of from_vector must hold every parameter of the Params, "
                             f"{n} entries (the order of to_vector), got {v.size}")
        out = self.copy()
        pos = 0
        for g, k, a in self.items():
            getattr(out, g)[k] = np.asarray(v[pos:pos + a.size], dtype=float).reshape(
                a.shape, order="F")
            pos += a.size
        return out

    def max_rel_diff(self, other, floor=0.0):
        r"""Largest relative difference over arrays,
        :math:`\|a - b\|_\infty / \max(\|a\|_\infty, \|b\|_\infty, \text{floor})`, by the
        package's one comparison :func:`sayedcnn.reference.compare.max_rel_diff`: ``inf``
        when an array holds NaN, is missing on either side or differs in shape."""
        return max_rel_diff(self, other, floor)
