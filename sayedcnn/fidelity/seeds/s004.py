r"""Seed note ``004`` (H. Xu on J. Bouvrie's notes, LeNet-style): connection tables, trainable
average pooling, up(x) = x (Kronecker) 1, rotated kernels.

**Connection table.** The S2-C3 table of LeNet-5 (the note's Table 1, taken from its
reference [1], LeCun et al. 1998, Table I) connects 6 maps to 16 with 60 kernels; C3 then has
:math:`60 \times 5 \times 5 + 16 = 1516` parameters. The note's transcription of the table lost
its layout; :data:`S2_C3` is the table of its reference, and it agrees with every fact the note
states about it (6 rows, 16 columns, 60 X's, row 0 connected to maps 0, 4, 5, 6, 9, 10, 11,
12, 14, 15). As ``connections`` of :class:`sayedcnn.Conv` it is the index sets
:math:`\mathcal D` of (47.1213). The book keeps the full :math:`W_c` (``S_c D_{c-1} x D_c``)
and :math:`\Theta_c` (``D_{c-1} x D_c``) (47.1224): its count for C3 is
:math:`25 \cdot 6 \cdot 16 + 6 \cdot 16 = 2496`; the effective count (connected kernels, one
bias per map) is the note's 1516 (:func:`c3_counts`).

**Trainable average pooling.** The note's (2) is a pooling layer with parameters:

.. math:: x_j^l = f\big(\beta_j^l\,\mathrm{down}(x_j^{l-1}) + b_j^l\,\mathbb 1\mathbb 1^T\big),

:math:`\mathrm{down}` the sum over non-overlapping ``n x n`` blocks. The book's pooling has no
parameters, and the shared network code (``network``, ``forward``, ``training``) is left as it
is. Instead :class:`TrainableAveragePool` is a self-contained layer, and :class:`PoolNet` a
small network that composes it with book-style correlation layers:

* ``down`` is the book's correlation pooling (47.1180) with the mask :math:`\mathbb 1`, so
  :math:`\beta_j\,\mathrm{down}(x)` is correlation pooling with the mask
  :math:`m^{(j)} = \beta_j\mathbb 1` (Table 47.13), whose gradient vectors are
  :math:`g = \beta_j \mathbb 1` (47.1196e);
* backward, the note's (6), :math:`\delta_j^{l-1} = \beta_j(\mathrm{up}(\delta_j^l) \circ
  f'(z_j^{l-1}))` with :math:`\mathrm{up}(x) = x \otimes \mathbb 1_{n \times n}`, is the book's
  :math:`f'(z) \odot \mathrm{permute}^\#(\mathrm{upv}(\delta))` (47.1244), (47.1262) for that
  mask; both are implemented (``pool_backward="note"`` and ``"book"``) and agree exactly;
* the parameter derivatives are the note's (19)-(22):
  :math:`\partial E/\partial b_j = \sum_{p,q}[\delta_j]_{p,q}`,
  :math:`\partial E/\partial\beta_j = \sum_{p,q}[\delta_j]_{p,q}[\mathrm{down}(x_j^{l-1})]_{p,q}`;
* the correlation layers are the book's: :math:`z^{(d,c)} = \sum_{j\in\mathcal D}
  (H^{(j,c-1)})^T w_j^{(d,c)} - \theta^{(d,c)}\mathbb 1` with :math:`\mathrm{vec}(H) = V_{c-1}h`
  (47.1152), (47.1213), derivatives (47.1269), (47.1272), and the sensitivity of a pooled map
  :math:`\sum_{d'} V^{(d,d',c+1)}\delta^{(d',c+1)}` (47.1257)-(47.1258), which is the note's
  (16)-(18) :math:`\sum_{j\in M_i}\tilde\delta_j * (Jk_{ij}J)`. One bias per map (the
  effective form of the book's :math:`\Theta_c`, whose column sums are all that reach ``z``).

Its gradients are checked against central differences
(:func:`sayedcnn.reference.finite_diff.central_differences`) and it trains (:func:`train`).

**Rotations.** :math:`J` is the book's reversal matrix :math:`\tilde I` (47.1137), and
:math:`JkJ` the flipped mask (47.1138). With the note's Fig. 4 forward pass (a correlation),
(13) :math:`\partial E/\partial k = x * \delta` is the book's (47.1269) :math:`H\delta`; with
the forward pass of Bouvrie's code (a true convolution, (47.1139)), (14)
:math:`\partial E/\partial k = J(x \star J\delta J)J`; (16)-(18) are the book's
:math:`V^{(d,d',c+1)}` (47.1257).

The note's slips (E-S004a-g) are registered, with their demonstrations, in
:mod:`sayedcnn.fidelity.errata`; :func:`examples` takes their rows from there.
"""

from __future__ import annotations

import numpy as np

from ...activations import get_activation
from ...network import Conv, Network
from ...operators import (
    V_ddc,
    correlate,
    flip_mask,
    patch_matrix,
    reversal_matrix,
    sliding_partition,
    unvec,
    vec,
)
from ...pooling import Pooling
from ..errata import as_example
from ..examples import Example

__all__ = [
    "S2_C3",
    "S2_C3_ROW0_PRINTED",
    "table_matrix",
    "c3_network",
    "c3_counts",
    "lenet5",
    "lenet5_counts",
    "up",
    "up_book",
    "down",
    "eq13_kernel_gradient",
    "eq14_kernel_gradient",
    "eq16_input_gradient",
    "eq17_input_gradient",
    "eq18_pool_sensitivity",
    "book_kernel_gradient",
    "book_input_gradient",
    "TrainableAveragePool",
    "PoolNet",
    "bars",
    "train",
    "examples",
]

#: The S2-C3 connection table of LeNet-5 (the note's Table 1): for each C3 map ``d``
#: (0..15), the S2 maps (0..5) it sums over.
S2_C3 = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)
#: The note's statement: "the 0th input graph ... is connected with the output graph
#: 0,4,5,6,9,10,11,12,14 and 15".
S2_C3_ROW0_PRINTED = (0, 4, 5, 6, 9, 10, 11, 12, 14, 15)


def table_matrix(table=S2_C3, D_in=6):
    r"""The table as a ``D_in x D`` boolean matrix (rows: S2 maps, columns: C3 maps; an
    ``X`` is ``True``).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import table_matrix
    >>> M = table_matrix()
    >>> M.shape, int(M.sum())             # 6 S2 maps x 16 C3 maps, 60 X's
    ((6, 16), 60)
    """
    M = np.zeros((D_in, len(table)), dtype=bool)
    for d, js in enumerate(table):
        M[list(js), d] = True
    return M


def c3_network(activation="tanh"):
    r"""C3 of LeNet-5 alone: six 14 x 14 S2 maps in, sixteen 5 x 5 'valid' masks wired by
    :data:`S2_C3` (47.1213), ten outputs.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import c3_network
    >>> ly = c3_network().layers[0]
    >>> ly.D_in, ly.D, ly.P                # 10 x 10 maps from 14 x 14 with 5 x 5 masks
    (6, 16, 100)
    """
    return Network((14, 14), 6, [Conv(16, 5, padding="valid", activation=activation,
                                      connections=S2_C3)],
                   outputs=10, hidden_activation="tanh")


def _layer_counts(ly):
    book = ly.S * ly.D_in * ly.D + ly.D_in * ly.D  # W_c and Theta_c (47.1224)
    eff = ly.S * int(ly.conn.sum()) + ly.D  # connected kernels, one bias per map
    return book, eff


def c3_counts():
    r"""Parameter counts of C3: ``effective`` (the note's :math:`60\cdot25+16 = 1516`),
    ``book`` (all of :math:`W_c` and :math:`\Theta_c`, (47.1224): 2496), and the network's
    totals from :meth:`sayedcnn.Network.parameter_count` with the feedforward part.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import c3_counts
    >>> counts = c3_counts()
    >>> counts["effective"], counts["book"]
    (1516, 2496)
    """
    net = c3_network()
    book, eff = _layer_counts(net.layers[0])
    ff = sum(net.n[l + 1] * net.n[l] + net.n[l + 1] for l in range(1, net.L))
    return {"effective": eff, "book": book, "feedforward": ff,
            "network": net.parameter_count()}


def lenet5():
    r"""LeNet-5's layers in the book's terms: 32 x 32 input, C1 (6 maps, 5 x 5) and S2,
    C3 (16 maps, :data:`S2_C3`) and S4, C5 (120 maps, 5 x 5 on 5 x 5), F6 (84), 10 outputs.
    The package's pooling has no parameters; S2 and S4 are mean pooling here and their
    trainable coefficients and biases (:class:`TrainableAveragePool`) are counted by
    :func:`lenet5_counts`.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import lenet5
    >>> net = lenet5()
    >>> [ly.D for ly in net.layers], net.n[1:]
    ([6, 16, 120], [120, 84, 10])
    """
    return Network((32, 32), 1, [Conv(6, 5, padding="valid", pool=("mean", 2)),
                                 Conv(16, 5, padding="valid", pool=("mean", 2),
                                      connections=S2_C3),
                                 Conv(120, 5, padding="valid")],
                   hidden=[84], outputs=10, hidden_activation="tanh")


def lenet5_counts():
    r"""Effective and book parameter counts of LeNet-5 layer by layer (C1 156, S2 12,
    C3 1516, S4 32, C5 48120, F6 10164, output 850 with an ordinary output layer).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import lenet5_counts
    >>> lenet5_counts()["C3"]
    {'effective': 1516, 'book': 2496}
    """
    net = lenet5()
    out = {}
    for name, ly in zip(("C1", "C3", "C5"), net.layers):
        book, eff = _layer_counts(ly)
        out[name] = {"effective": eff, "book": book}
    for name, ly in (("S2", net.layers[0]), ("S4", net.layers[1])):
        out[name] = {"effective": 2 * ly.D, "book": 0}  # beta_j and b_j per map, eq. (2)
    for name, l in (("F6", 1), ("output", 2)):
        ff = net.n[l + 1] * net.n[l] + net.n[l + 1]
        out[name] = {"effective": ff, "book": ff}
    return out


# ---------------------------------------------------------------------------
# up / down and the rotated-kernel forms
# ---------------------------------------------------------------------------


def up(x, n):
    r"""The note's :math:`\mathrm{up}(x) = x \otimes \mathbb 1_{n\times n}` (6) (printed with
    :math:`I_{n\times n}`, erratum E-S004a).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import up
    >>> up(np.array([[1.0, 2.0]]), 2)
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]])
    """
    return np.kron(np.asarray(x, dtype=float), np.ones((n, n)))


def down(x, n):
    r"""The note's :math:`\mathrm{down}(x)` (2): sums of the ``n x n`` blocks, as the book's
    correlation pooling with the mask :math:`\mathbb 1` (47.1180).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import down
    >>> down(np.arange(16.0).reshape(4, 4), 2)
    array([[10., 18.],
           [42., 50.]])
    """
    x = np.asarray(x, dtype=float)
    pool = Pooling("correlation", in_shape=x.shape, block=n, mask=np.ones(n * n))
    return unvec(pool.pool(vec(x)), pool.out_shape)


def up_book(v, in_shape, n, kind="mean"):
    r""":math:`\mathrm{permute}^\#(\mathrm{upv}(v)) = T^T\mathrm{upv}(v)` (47.1200),
    (47.1204) for ``n x n`` block pooling of a map of ``in_shape``, as a matrix.

    For mean pooling (:math:`g = \mathbb 1/n^2`, (47.1196a)) this is
    :math:`\mathrm{up}(v)/n^2`; for the note's ``down`` (correlation pooling with mask
    :math:`\mathbb 1`) it is :math:`\mathrm{up}(v)` itself.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import up, up_book
    >>> v = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> np.allclose(up_book(v, (4, 4), 2), up(v, 2) / 4)   # (47.1196a)
    True
    """
    v = np.asarray(v, dtype=float)
    if kind == "mean":
        pool = Pooling("mean", in_shape=in_shape, block=n)
    elif kind == "sum":
        pool = Pooling("correlation", in_shape=in_shape, block=n, mask=np.ones(n * n))
    else:
        raise ValueError(f"kind must be 'mean' or 'sum', got {kind!r}")
    y = np.zeros(pool.P)  # the gradient vectors of mean/sum pooling do not depend on y
    return unvec(pool.backprop(vec(v), y), pool.in_shape)


def eq13_kernel_gradient(x, delta):
    r"""(13): :math:`\partial E/\partial k_{ij} = x_i^{l-1} * \delta_j^l`, ``*`` the valid
    correlation of the note's Fig. 4 (the book's (47.1133) without padding).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import book_kernel_gradient, eq13_kernel_gradient
    >>> rng = np.random.default_rng(0)
    >>> x, delta = rng.standard_normal((5, 5)), rng.standard_normal((3, 3))
    >>> np.allclose(eq13_kernel_gradient(x, delta), book_kernel_gradient(x, delta, 3))
    True
    """
    return correlate(x, delta, padding="valid")


def eq14_kernel_gradient(x, delta):
    r"""(14): :math:`\partial E/\partial k_{ij} = J(x_i^{l-1} \star J\delta_j^l J)J` for the
    forward pass of Bouvrie's code, :math:`z = x \star k` a true convolution.

    :math:`\star` with a mask is correlation with the flipped mask (47.1139), and
    :math:`JAJ` is :func:`sayedcnn.flip_mask` (47.1138).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import eq13_kernel_gradient, eq14_kernel_gradient
    >>> rng = np.random.default_rng(0)
    >>> x, delta = rng.standard_normal((5, 5)), rng.standard_normal((3, 3))
    >>> np.allclose(eq14_kernel_gradient(x, delta), eq13_kernel_gradient(x, delta)[::-1, ::-1])
    True
    """
    delta = np.asarray(delta, dtype=float)
    J1 = reversal_matrix(delta.shape[0]).toarray()
    J2 = reversal_matrix(delta.shape[1]).toarray()
    conv = correlate(x, flip_mask(J1 @ delta @ J2), padding="valid")  # x conv (J delta J)
    Jk = reversal_matrix(conv.shape[0]).toarray()
    return Jk @ conv @ Jk  # (14)


def eq16_input_gradient(delta, k):
    r"""(16): :math:`(\partial E/\partial x_i^l)_j = \tilde\delta_j^{l+1} * (Jk_{ij}^{l+1}J)`,
    :math:`\tilde\delta` the sensitivity with ``K-1`` zeros around it.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import book_input_gradient, eq16_input_gradient
    >>> rng = np.random.default_rng(0)
    >>> delta, k = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    >>> np.allclose(eq16_input_gradient(delta, k), book_input_gradient(delta, k, (5, 5)))
    True
    """
    k = np.asarray(k, dtype=float)
    return correlate(delta, flip_mask(k), padding=(k.shape[0] - 1, k.shape[1] - 1))


def eq17_input_gradient(deltas, kernels, M_i):
    r"""(17): :math:`\partial E/\partial x_i^l = \sum_{j\in M_i}\tilde\delta_j^{l+1} *
    (Jk_{ij}^{l+1}J)`; ``deltas[j]`` and ``kernels[j]`` for the maps ``j`` in ``M_i``.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import eq16_input_gradient, eq17_input_gradient
    >>> rng = np.random.default_rng(0)
    >>> deltas = {j: rng.standard_normal((3, 3)) for j in (0, 2)}
    >>> kernels = {j: rng.standard_normal((3, 3)) for j in (0, 2)}
    >>> total = sum(eq16_input_gradient(deltas[j], kernels[j]) for j in (0, 2))
    >>> np.allclose(eq17_input_gradient(deltas, kernels, [0, 2]), total)
    True
    """
    return sum(eq16_input_gradient(deltas[j], kernels[j]) for j in M_i)


def eq18_pool_sensitivity(fprime_z, deltas, kernels, M_i):
    r"""(18): :math:`\delta_i^l = f'(z_i^l) \circ \sum_{j\in M_i}\tilde\delta_j^{l+1} *
    (Jk_{ij}^{l+1}J)`.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import eq17_input_gradient, eq18_pool_sensitivity
    >>> rng = np.random.default_rng(0)
    >>> deltas, kernels = {0: rng.standard_normal((3, 3))}, {0: rng.standard_normal((3, 3))}
    >>> fp = rng.random((5, 5))
    >>> np.allclose(eq18_pool_sensitivity(fp, deltas, kernels, [0]),
    ...             fp * eq17_input_gradient(deltas, kernels, [0]))
    True
    """
    return np.asarray(fprime_z, dtype=float) * eq17_input_gradient(deltas, kernels, M_i)


def book_kernel_gradient(x, delta, K):
    r"""The book's (47.1269) for one map: :math:`\partial E/\partial w = H\delta` with
    :math:`\mathrm{vec}(H) = Vh` (47.1152), (47.1157), returned as the ``K x K`` mask.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import book_kernel_gradient
    >>> x = np.arange(9.0).reshape(3, 3)
    >>> book_kernel_gradient(x, np.array([[1.0, 0.0], [0.0, 0.0]]), 2)   # the top-left patch
    array([[0., 1.],
           [3., 4.]])
    """
    x = np.asarray(x, dtype=float)
    part = sliding_partition(x.shape, K, padding="valid")
    H = patch_matrix(part.V, vec(x), part.S)
    return unvec(H @ vec(delta), part.mask)  # (47.1269)


def book_input_gradient(delta, k, x_shape):
    r"""The book's :math:`V^{(d,d',c+1)}\delta^{(d',c+1)}` (47.1257)-(47.1258) for one pair
    of maps, returned as a matrix of ``x_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import book_input_gradient
    >>> k = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> book_input_gradient(np.array([[1.0, 0.0], [0.0, 0.0]]), k, (3, 3))  # the mask, placed
    array([[1., 2., 0.],
           [3., 4., 0.],
           [0., 0., 0.]])
    """
    k = np.asarray(k, dtype=float)
    part = sliding_partition(x_shape, k.shape, padding="valid")
    M = V_ddc(part.V, vec(k), part.P, part.S)  # (47.1257)
    return unvec(M @ vec(delta), x_shape)  # (47.1258)


# ---------------------------------------------------------------------------
# The trainable average-pooling layer and a small network around it
# ---------------------------------------------------------------------------


class TrainableAveragePool:
    r"""The note's pooling layer with a coefficient and a bias per map, (2):

    .. math:: z_j = \beta_j\,\mathrm{down}(y_j) + b_j\mathbb 1,\qquad x_j = f(z_j),

    over maps ``y_j`` of ``in_shape``, ``n x n`` blocks, ``depth`` maps.

    Backward, given :math:`\partial E/\partial x_j`: :math:`\delta_j = f'(z_j)\circ
    \partial E/\partial x_j` (18), :math:`\partial E/\partial b_j = \sum\delta_j` (19)-(20),
    :math:`\partial E/\partial\beta_j = \sum\delta_j\circ\mathrm{down}(y_j)` (21)-(22), and
    :math:`\partial E/\partial y_j = \beta_j\,\mathrm{up}(\delta_j)` (6), computed either by
    the note's Kronecker form or by the book's :math:`T^T\mathrm{upv}(\delta_j)` for
    correlation pooling with the mask :math:`\beta_j\mathbb 1` (47.1244).

    Maps are column-major vectors (47.1127) stacked as arrays ``(N, P, depth)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import TrainableAveragePool
    >>> pool = TrainableAveragePool((4, 4), 2, depth=3)
    >>> pool.out_shape, pool.P, pool.P_out
    ((2, 2), 16, 4)
    """

    def __init__(self, in_shape, n, depth, activation="tanh"):
        self.n = int(n)
        self.depth = int(depth)
        self.sum_pool = Pooling("correlation", in_shape=in_shape, block=self.n,
                                mask=np.ones(self.n * self.n))  # down() (47.1180)
        self.in_shape = self.sum_pool.in_shape
        self.out_shape = self.sum_pool.out_shape
        self.P, self.P_out = self.sum_pool.P, self.sum_pool.P_out
        self.act = get_activation(activation)

    def down(self, y):
        r""":math:`\mathrm{down}(y_j)` for maps ``(N, P, D)``: ``(N, P', D)``."""
        N = y.shape[0]
        flat = y.transpose(1, 0, 2).reshape(self.P, -1)
        return self.sum_pool.pool(flat).reshape(self.P_out, N, -1).transpose(1, 0, 2)

    def forward(self, y, beta, b):
        r"""(2): returns ``(s, z, x)`` with :math:`s = \mathrm{down}(y)`,
        :math:`z = \beta s + b`, :math:`x = f(z)`, each ``(N, P', D)``."""
        s = self.down(y)
        z = beta[None, None, :] * s + b[None, None, :]  # (2)
        return s, z, self.act.f(z)

    def backward(self, dE_dx, s, z, y, beta, method="book"):
        r"""Derivatives through the layer: returns ``(dE_dy, dbeta, db)``.

        ``method="note"``: (6) :math:`\beta_j\,\mathrm{up}(\delta_j)` by the Kronecker
        product; ``"book"``: :math:`T^T\mathrm{upv}(\delta_j)` with gradient vectors
        :math:`\beta_j\mathbb 1` (47.1196e), (47.1244). ``dE_dy`` excludes the previous
        layer's :math:`f'`, which the caller applies as in (6)."""
        delta = self.act.fprime(z) * dE_dx  # (18) delta_j = f'(z_j) o dE/dx_j
        db = delta.sum(axis=(0, 1))  # (19)-(20)
        dbeta = (delta * s).sum(axis=(0, 1))  # (21)-(22)
        N = delta.shape[0]
        dE_dy = np.zeros((N, self.P, self.depth))
        for j in range(self.depth):
            if method == "book":
                pool_j = Pooling("correlation", in_shape=self.in_shape, block=self.n,
                                 mask=beta[j] * np.ones(self.n * self.n))  # m = beta_j 1
                dE_dy[:, :, j] = pool_j.backprop(delta[:, :, j].T, y[:, :, j].T).T  # (47.1244)
            elif method == "note":
                for i in range(N):
                    D = unvec(delta[i, :, j], self.out_shape)
                    U = beta[j] * up(D, self.n)  # (6) beta_j up(delta_j)
                    full = np.zeros(self.in_shape)  # rows/cols beyond whole blocks get 0
                    full[:U.shape[0], :U.shape[1]] = U
                    dE_dy[i, :, j] = vec(full)
            else:
                raise ValueError(f"method must be 'book' or 'note', got {method!r}")
        return dE_dy, dbeta, db


class PoolNet:
    r"""A small LeNet-style network: correlation layer C1, trainable average pooling S2,
    correlation layer C3 wired by a connection table, and a fully connected output layer.

    .. math::
        z^{(d,1)} = (H^{(1,0)})^T w^{(d,1)} - \theta_1(d),\ y^{(d,1)} = f(z^{(d,1)});\quad
        x^{(d)} = f(\beta_d\,\mathrm{down}(y^{(d,1)}) + b_d);

        z^{(d',3)} = \sum_{d \in \mathcal D_{d'}} (H^{(d)})^T w_d^{(d',3)} - \theta_3(d'),\
        y^{(d',3)} = f(z^{(d',3)});\quad
        y_L = \sigma(W \mathrm{col}\{y^{(d',3)}\} - \theta),

    with :math:`\mathrm{vec}(H) = Vh` (47.1152) and the book's risk
    :math:`\frac1N\sum_n\|\gamma_n - y_n\|^2` (47.1229).

    Parameters are a dict: ``W1`` (``S_1 x D_1``), ``theta1`` (``D_1``), ``beta``, ``b``
    (``D_1``), ``W3`` (``S_3 D_1 x D_3``, zero off the table), ``theta3`` (``D_3``), ``W``
    (``Q x n``), ``theta`` (``Q``).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s004 import PoolNet
    >>> net = PoolNet()
    >>> params = net.init(0)
    >>> sorted(params)[:4], net.forward(params, np.zeros((2, 1, 8, 8)))["out"].shape
    (['W', 'W1', 'W3', 'b'], (2, 10))
    """

    KEYS = ("W1", "theta1", "beta", "b", "W3", "theta3", "W", "theta")

    def __init__(self, input_shape=(8, 8), d1=3, f1=3, n=2,
                 table=((0, 1), (1, 2), (0, 2), (0, 1, 2)), f3=2, Q=10, activation="tanh",
                 pool_backward="book"):
        self.act = get_activation(activation)
        self.out_act = get_activation("sigmoid")
        self.part1 = sliding_partition(input_shape, f1, padding="valid")  # V_0
        self.pool = TrainableAveragePool(self.part1.out_shape, n, d1, activation)
        self.part3 = sliding_partition(self.pool.out_shape, f3, padding="valid")  # V_2
        self.d1, self.table = d1, tuple(tuple(t) for t in table)
        self.d3 = len(self.table)
        self.conn = table_matrix(self.table, d1)
        self.Q = Q
        self.n_ff = self.d3 * self.part3.P
        self.pool_backward = pool_backward
        self.input_shape = tuple(input_shape)

    # -- parameters ----------------------------------------------------------------------

    def init(self, seed=0):
        r"""Random parameters from ``numpy.random.default_rng(seed)``: Gaussian weights with
        variance 1/fan-in, :math:`\beta = 1/n^2` (the mean) and zero biases."""
        rng = np.random.default_rng(seed)
        S1, S3 = self.part1.S, self.part3.S
        W3 = rng.standard_normal((S3 * self.d1, self.d3))
        W3 *= np.repeat(self.conn, S3, axis=0) / np.sqrt(S3 * self.conn.sum(axis=0))[None, :]
        return {"W1": rng.standard_normal((S1, self.d1)) / np.sqrt(S1),
                "theta1": np.zeros(self.d1),
                "beta": np.full(self.d1, 1.0 / self.pool.n ** 2),
                "b": np.zeros(self.d1),
                "W3": W3,
                "theta3": np.zeros(self.d3),
                "W": rng.standard_normal((self.Q, self.n_ff)) / np.sqrt(self.n_ff),
                "theta": np.zeros(self.Q)}

    def to_vector(self, params):
        """All parameters in one vector (keys in :attr:`KEYS` order, arrays column-major)."""
        return np.concatenate([np.asarray(params[k]).reshape(-1, order="F") for k in self.KEYS])

    def from_vector(self, v, like):
        """Parameters shaped like ``like`` from a vector of :meth:`to_vector`."""
        out, pos = {}, 0
        for k in self.KEYS:
            a = np.asarray(like[k])
            out[k] = np.asarray(v[pos:pos + a.size], dtype=float).reshape(a.shape, order="F")
            pos += a.size
        return out

    def parameter_count(self):
        """Effective parameters: connected kernels, one bias per map, beta and b per map."""
        return (self.part1.S * self.d1 + self.d1 + 2 * self.d1
                + self.part3.S * int(self.conn.sum()) + self.d3 + self.Q * self.n_ff + self.Q)

    # -- forward / backward ----------------------------------------------------------------

    def _patches(self, part, A):
        r"""``(N, P, S, D)`` patches of maps ``A`` ``(N, M, D)``: :math:`\mathrm{vec}(H) = Vh`
        (47.1152) for every sample and map at once."""
        N, M, D = A.shape
        flat = A.transpose(1, 0, 2).reshape(M, N * D)
        H = part.V @ flat  # (47.1152), rows (p, s)
        return H.reshape(part.P, part.S, N, D).transpose(2, 0, 1, 3)

    def forward(self, params, X):
        r"""The forward pass for images ``X`` ``(N, 1, rows, cols)``; returns a dict cache."""
        X = np.asarray(X, dtype=float)
        N = X.shape[0]
        h = X[:, 0].transpose(0, 2, 1).reshape(N, -1, 1)  # vec of each image (47.1127)
        G1 = self._patches(self.part1, h)[..., 0]  # (N, P1, S1)
        z1 = G1 @ params["W1"] - params["theta1"][None, None, :]  # (47.1216)
        y1 = self.act.f(z1)
        s, zp, xp = self.pool.forward(y1, params["beta"], params["b"])  # (2)
        G3 = self._patches(self.part3, xp)  # (N, P3, S3, D1)
        W3 = params["W3"] * np.repeat(self.conn, self.part3.S, axis=0)
        G3f = G3.transpose(0, 1, 3, 2).reshape(N, self.part3.P, -1)  # rows (j, s) (47.1223a)
        z3 = G3f @ W3 - params["theta3"][None, None, :]  # (47.1213)
        y3 = self.act.f(z3)
        y_ff = y3.transpose(0, 2, 1).reshape(N, -1)  # col{y^(d',3)} (47.1215)
        zL = y_ff @ params["W"].T - params["theta"]  # (47.1216)
        return {"G1": G1, "z1": z1, "y1": y1, "s": s, "zp": zp, "xp": xp, "G3": G3f,
                "z3": z3, "y3": y3, "y_ff": y_ff, "zL": zL, "out": self.out_act.f(zL)}

    def risk(self, params, X, Gamma):
        r""":math:`\frac1N\sum_n\|\gamma_n - y_n\|^2` (47.1229)."""
        out = self.forward(params, X)["out"]
        return float(np.mean(np.sum((np.asarray(Gamma) - out) ** 2, axis=1)))

    def gradients(self, params, X, Gamma, pool_backward=None, input_backward="V_ddc"):
        r"""Derivatives of the risk with respect to every parameter (a dict like
        ``params``), by the book's steps and the note's pooling equations.

        ``pool_backward``: ``"book"`` (:math:`T^T\mathrm{upv}`) or ``"note"`` ((6), Kronecker);
        defaults to the network's. ``input_backward``: ``"V_ddc"`` forms every
        :math:`V^{(d,d',3)}` (47.1257); ``"stacked"`` uses the same product as
        :math:`V_2^T(\delta^{(d',3)} \otimes w_d^{(d',3)})` summed over :math:`d'`, once for
        all maps and samples (faster, used by :meth:`fit`)."""
        method = self.pool_backward if pool_backward is None else pool_backward
        c = self.forward(params, X)
        N = c["out"].shape[0]
        dL = 2.0 * (c["out"] - Gamma) * self.out_act.fprime(c["zL"])  # (47.1233)
        g = {"W": dL.T @ c["y_ff"] / N, "theta": -dL.sum(axis=0) / N}  # (47.1263)-(47.1264)
        back = dL @ params["W"]  # W^T delta_L per sample
        P3 = self.part3.P
        d3 = self.act.fprime(c["z3"]) * back.reshape(N, self.d3, P3).transpose(0, 2, 1)
        # (47.1245) without pooling in layer 3
        W3 = params["W3"] * np.repeat(self.conn, self.part3.S, axis=0)
        g["W3"] = np.einsum("npr,npd->rd", c["G3"], d3) / N  # (47.1269)
        g["W3"] *= np.repeat(self.conn, self.part3.S, axis=0)
        g["theta3"] = -d3.sum(axis=(0, 1)) / N  # (47.1272)
        # dE/dx for the pooled maps: sum_d' V^(d,d',3) delta^(d',3) (47.1257)-(47.1258)
        S3 = self.part3.S
        dE_dx = np.zeros((N, self.pool.P_out, self.d1))
        if input_backward == "V_ddc":
            for d in range(self.d1):
                for d2 in range(self.d3):
                    if not self.conn[d, d2]:
                        continue
                    w = W3[d * S3:(d + 1) * S3, d2]  # w_d^(d',3)
                    M = V_ddc(self.part3.V, w, P3, S3)  # (47.1257)
                    dE_dx[:, :, d] += (M @ d3[:, :, d2].T).T  # (47.1258)
        elif input_backward == "stacked":
            # V^(d,d',3) delta = V_2^T (delta (x) w_d^(d',3)): one product for all d, d', n
            B = np.einsum("npe,dse->psnd", d3, W3.reshape(self.d1, S3, self.d3))
            b = self.part3.V.T @ B.reshape(P3 * S3, N * self.d1)  # (47.1258)
            dE_dx = b.reshape(self.pool.P_out, N, self.d1).transpose(1, 0, 2)
        else:
            raise ValueError(f"input_backward must be 'V_ddc' or 'stacked', got "
                             f"{input_backward!r}")
        dE_dy, g["beta"], g["b"] = self.pool.backward(dE_dx, c["s"], c["zp"], c["y1"],
                                                       params["beta"], method=method)
        g["beta"] /= N
        g["b"] /= N
        d1 = self.act.fprime(c["z1"]) * dE_dy  # (6): beta up(delta) o f'(z)
        g["W1"] = np.einsum("nps,npd->sd", c["G1"], d1) / N  # (47.1269)
        g["theta1"] = -d1.sum(axis=(0, 1)) / N  # (47.1272)
        return g

    def predict(self, params, X):
        """Class with the largest output."""
        return np.argmax(self.forward(params, X)["out"], axis=1)

    def fit(self, params, X, labels, epochs=5, batch_size=16, mu=0.5, seed=0):
        r"""Mini-batch stochastic gradient (47.1276) on every parameter, :math:`\beta` and
        ``b`` included. Returns ``(params, losses)`` (the risk after each epoch)."""
        Gamma = np.zeros((len(labels), self.Q))
        Gamma[np.arange(len(labels)), labels] = 1.0
        params = {k: np.array(v, dtype=float) for k, v in params.items()}
        losses = []
        for epoch in range(epochs):
            order = np.random.default_rng([seed, epoch]).permutation(len(labels))
            for s0 in range(0, len(labels), batch_size):
                idx = order[s0:s0 + batch_size]
                g = self.gradients(params, X[idx], Gamma[idx], input_backward="stacked")
                params = {k: params[k] - mu * g[k] for k in self.KEYS}
            losses.append(self.risk(params, X, Gamma))
        return params, losses


def bars(n, shape=(8, 8), seed=0, noise=0.3):
    r"""A four-class task on ``shape`` images: a horizontal bar, a vertical bar, the
    diagonal or the anti-diagonal (random offset), over uniform noise in ``[0, noise]``.
    Returns ``X`` ``(n, 1, rows, cols)`` and labels ``(n,)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import bars
    >>> X, labels = bars(8)
    >>> X.shape, sorted(set(labels.tolist()))
    ((8, 1, 8, 8), [0, 1, 2, 3])
    """
    rng = np.random.default_rng(seed)
    rows, cols = shape
    labels = rng.integers(0, 4, size=n)
    X = noise * rng.random((n, 1, rows, cols))
    for i in range(n):
        if labels[i] == 0:
            X[i, 0, rng.integers(1, rows - 1), :] += 1.0
        elif labels[i] == 1:
            X[i, 0, :, rng.integers(1, cols - 1)] += 1.0
        elif labels[i] == 2:
            X[i, 0] += np.eye(rows, cols, k=int(rng.integers(-1, 2)))
        else:
            X[i, 0] += np.eye(rows, cols, k=int(rng.integers(-1, 2)))[:, ::-1]
    return X, labels


def train(data="digits", epochs=20, mu=0.5, batch_size=8, seed=0, n_train=None):
    r"""Train :class:`PoolNet` (trainable :math:`\beta`, ``b`` in S2) on the 8 x 8 UCI digits
    (``data="digits"``) or on :func:`bars`. Returns ``(net, params, losses, test_accuracy)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import train
    >>> net, params, losses, acc = train(data="bars", epochs=1, n_train=40)
    >>> len(losses), 0.0 <= acc <= 1.0
    (1, True)
    """
    if data == "digits":
        from ...data.datasets import load_digits

        d = load_digits(seed=seed)
        X, y, Xt, yt, Q = d.X_train, d.y_train, d.X_test, d.y_test, d.n_classes
    elif data == "bars":
        X, y = bars(600, seed=seed)
        Xt, yt = bars(400, seed=seed + 1)
        Q = 4
    else:
        raise ValueError(f"data must be 'digits' or 'bars', got {data!r}")
    if n_train is not None:
        X, y = X[:n_train], y[:n_train]
    net = PoolNet(input_shape=X.shape[2:], Q=Q)
    params = net.init(seed=seed)
    params, losses = net.fit(params, X, y, epochs=epochs, batch_size=batch_size, mu=mu,
                             seed=seed)
    acc = float(np.mean(net.predict(params, Xt) == yt))
    return net, params, losses, acc


def examples():
    r"""The note's printed numbers and identities beside the package, for ``reproduce``; the
    rows of its slips come from the register (:mod:`sayedcnn.fidelity.errata`).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s004 import examples
    >>> rows = examples()
    >>> all(r.ok for r in rows), sorted({r.erratum for r in rows if r.erratum})
    (True, ['E-S004a', 'E-S004d'])
    """
    M = table_matrix()
    counts = c3_counts()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 6))
    delta = rng.standard_normal((3, 3))
    k = rng.standard_normal((4, 4))
    v = rng.standard_normal((3, 3))
    return [
        Example("seed004", "S2-C3 table: rows, columns and X's", [6, 16, 60],
                [M.shape[0], M.shape[1], int(M.sum())]),
        Example("seed004", "S2 map 0 feeds C3 maps 0,4,5,6,9,10,11,12,14,15",
                list(S2_C3_ROW0_PRINTED), list(np.flatnonzero(M[0]))),
        Example("seed004", "C3 parameters 60x5x5+16 (effective count; the book's W_3, "
                f"Theta_3 hold {counts['book']})", 1516, counts["effective"]),
        Example("seed004", "up(x) = x kron 1_{2x2} = 4 T^T upv(x) for 2x2 mean pooling "
                "(47.1196a), (47.1204)", up(v, 2), 4 * up_book(v, (6, 6), 2, "mean"),
                basis="evaluated"),
        Example("seed004", "(13) dE/dk = x * delta = H delta (47.1269)",
                eq13_kernel_gradient(x, delta), book_kernel_gradient(x, delta, 4),
                basis="evaluated"),
        Example("seed004", "(16) delta~ * (JkJ) = V^(d,d',c+1) delta (47.1257)",
                eq16_input_gradient(delta, k), book_input_gradient(delta, k, (6, 6)),
                basis="evaluated"),
        as_example("seed004", "delta^l = beta up(delta^(l+1)) .* f' with I_{n x n} read "
                      "as the identity, against finite differences (47.1244)", "E-S004a"),
        as_example("seed004", "Fig. 4 text, dE/d[x]_{2,2}, against finite differences "
                      "(47.1258)", "E-S004d"),
    ]
