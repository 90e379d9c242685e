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

    Arrays combine entry by entry with ``+``, ``-`` and multiplication by a scalar, as the
    update (47.1276) needs. Implements the parameter sets of (47.1221g-h) and (47.1224a-b).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> {g: {k: a.shape for k, a in getattr(p, g).items()} for g in p.GROUPS}
    {'W_conv': {1: (4, 2)}, 'Theta_conv': {1: (1, 2)}, 'W_ff': {1: (2, 32)}, 'theta_ff': {1: (2,)}}
    >>> step = p - 0.5 * p                          # a Params again
    >>> bool(np.allclose(step.W_ff[1], 0.5 * p.W_ff[1], rtol=1e-15, atol=0))
    True
    """

    W_conv: dict = field(default_factory=dict)
    Theta_conv: dict = field(default_factory=dict)
    W_ff: dict = field(default_factory=dict)
    theta_ff: dict = field(default_factory=dict)

    GROUPS = ("W_conv", "Theta_conv", "W_ff", "theta_ff")

    def items(self):
        r"""Yield ``(group, key, array)`` over every parameter array, in a fixed order.

        The order is ``W_conv``, ``Theta_conv``, ``W_ff``, ``theta_ff``, each by layer number
        ``c = 1..C`` or ``l = 1..L-1`` (47.1224a-b, 47.1221g-h).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((6, 6), conv=[sc.Conv(2, 3), sc.Conv(3, 3)], hidden=[5], outputs=2)
        >>> [(g, k, a.shape) for g, k, a in net.init(seed=0).items()]
        [('W_conv', 1, (9, 2)), ('W_conv', 2, (18, 3)), ('Theta_conv', 1, (1, 2)),
         ('Theta_conv', 2, (2, 3)), ('W_ff', 1, (5, 108)), ('W_ff', 2, (2, 5)),
         ('theta_ff', 1, (5,)), ('theta_ff', 2, (2,))]
        """
        for g in self.GROUPS:
            d = getattr(self, g)
            for k in sorted(d):
                yield g, k, d[k]

    def copy(self):
        r"""A deep copy (every array a new float64 array), in the shapes of (47.1221g-h) and
        (47.1224a-b).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> q = p.copy()
        >>> q.W_ff[1][0, 0] = 100.0
        >>> bool(p.W_ff[1][0, 0] == 100.0)          # the original is untouched
        False
        """
        return Params(*({k: np.array(v, dtype=float) for k, v in getattr(self, g).items()}
                        for g in self.GROUPS))

    def map(self, fn, *others):
        r"""A new Params with ``fn(a, *others' a)`` applied array by array.

        Used for the updates of (47.1276), ``params.map(lambda p, g: p - mu * g, grads)``.

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> p.map(np.shape).W_conv
        {1: (4, 2)}
        >>> q = p.map(lambda a, b: a - 0.1 * b, p)
        >>> round(p.max_rel_diff(q), 12)              # every entry scaled by 0.9
        0.1
        """
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
        r"""All entries in one vector (order of :meth:`items`, each array column-major).

        Each array is stacked by :func:`sayedcnn.vec` (47.1127).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> p = sc.Params(W_ff={1: np.array([[1.0, 2.0], [3.0, 4.0]])}, theta_ff={1: np.zeros(2)})
        >>> p.to_vector()
        array([1., 3., 2., 4., 0., 0.])
        """
        return np.concatenate([a.reshape(-1, order="F") for _, _, a in self.items()])

    def from_vector(self, v):
        r"""A Params shaped like ``self`` with entries taken from ``v`` (see :meth:`to_vector`).

        ``v`` must be a real vector with exactly as many entries as ``self`` holds (a longer
        or shorter one raises ``ValueError``; NaN and inf are kept, as in any Params). Each
        array is refilled column by column, the inverse of vec (47.1127).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> p = sc.Params(W_ff={1: np.zeros((2, 2))}, theta_ff={1: np.zeros(2)})
        >>> q = p.from_vector(np.arange(6.0))
        >>> q.W_ff[1], q.theta_ff[1]
        (array([[0., 2.],
               [1., 3.]]), array([4., 5.]))
        >>> bool(np.array_equal(q.to_vector(), np.arange(6.0)))
        True
        """
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
        when an array holds NaN, is missing on either side or differs in shape. The
        measure of every check of the derivatives (47.1275).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> p.max_rel_diff(p.copy())
        0.0
        >>> round(p.max_rel_diff(p * 1.001), 6)
        0.000999
        >>> q = p.copy()
        >>> q.W_ff[1][0, 0] = np.nan
        >>> p.max_rel_diff(q)
        inf
        """
        return max_rel_diff(self, other, floor)
