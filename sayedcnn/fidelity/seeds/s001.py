r"""Seed note ``001`` (KTH DD2424, lecture 6): im2col, the filter matrix and the gradients.

The lecture's layer is :math:`S_i = X * F_i + b_i`, :math:`H = \max(0, S)`,
:math:`s = W\mathrm{vec}(H) + b`, :math:`p = \mathrm{SOFTMAX}(s)`, trained on cross-entropy
plus an L2 penalty by mini-batch gradient descent. Its "*" is a valid correlation,
:math:`S_{lm} = \sum_{k,i,j} X_{k,i+l-1,j+m-1} F_{kij}`, and its :math:`\mathrm{vec}` reads
matrices row after row. It writes the layer two ways as a matrix product:

* :math:`\mathrm{vec}(S_i) = M_X^{im}\,\mathrm{vec}(F_i)`, :math:`M_X^{im}` of size
  :math:`(w-f+1)(h-f+1) \times 3f^2` (16 x 9 for a 6 x 6 image and a 3 x 3 filter);
* :math:`\mathrm{vec}(S) = M_F^{filter}\,\mathrm{vec}(X)`, :math:`M_F^{filter}` of size 16 x 144
  for a 6 x 6 x 4 image and a 3 x 3 x 4 filter.

In the book (47.1152), (47.1157), (47.1216) the same layer is
:math:`z^{(d)} = \sum_j (H^{(j)})^T w_j^{(d)}` with :math:`\mathrm{vec}(H^{(j)}) = V h_j`, so
:math:`H^T w = (I_P \otimes w^T) V h`. Hence, with :math:`K` the commutation matrix
(:math:`\mathrm{vec}(X^T) = K\,\mathrm{vec}(X)`, i.e. row-major = ``K`` column-major):

.. math::
    M_X^{im} = K_{out}\,[H^{(1)} \cdots H^{(D)}]^T\,(I_D \otimes K_f)^T,\qquad
    M_F^{filter} = K_{out}\,\big[(I_P \otimes w_1^T)V \;\cdots\; (I_P \otimes w_D^T)V\big]
                   \,(I_D \otimes K_{in})^T.

Transposed, one block of :math:`M_F^{filter}` is the book's :math:`V^{(d,d',c+1)}` of (47.1257):
:math:`V^T(I_P \otimes w) = (V^T \odot (\mathbb 1\mathbb 1^T \otimes w^T))(I_P \otimes
\mathbb 1_S)`. That is why the lecture's :math:`\partial l/\partial X^{(1)} = \sum_i
G_i^{zero-pad} * F_{2i}^{rot180}` is the book's
:math:`b^{(d,d',c)} = V^{(d,d',c+1)}\delta^{(d',c+1)}` (47.1258), and its
:math:`\partial l/\partial F_{ij} = X_j * G_i` is the book's (47.1269) :math:`H_{n,c-1}\delta`.

The note's slips (E-S001a-c) are registered, with their demonstrations, in
:mod:`sayedcnn.fidelity.errata`; :func:`examples` takes their rows from there.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...network import Conv, Network
from ...operators import (
    V_ddc,
    commutation_matrix,
    patch_matrix,
    sliding_partition,
    unvec,
    vec,
)
from ..errata import as_example
from ..examples import Example

__all__ = [
    "MXIM_PRINTED_ROWS",
    "MXIM_PRINTED",
    "labelled_image",
    "im2col",
    "filter_matrix",
    "filter_matrix_blocks",
    "input_gradient_book",
    "softmax_ce_gradient",
    "network",
    "two_layer_network",
    "rgb_shapes",
    "train",
    "examples",
]

#: The printed rows of the 16 x 9 :math:`M_X^{im}` (1-based row number -> entries ``X_ij``
#: as the pairs ``(i, j)``), for the 6 x 6 image and the 3 x 3 filter.
MXIM_PRINTED_ROWS = {
    1: [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3)],
    2: [(1, 2), (1, 3), (1, 4), (2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4)],
    3: [(1, 3), (1, 4), (1, 5), (2, 3), (2, 4), (2, 5), (3, 3), (3, 4), (3, 5)],
    4: [(1, 4), (1, 5), (1, 6), (2, 4), (2, 5), (2, 6), (3, 4), (3, 5), (3, 6)],
    5: [(2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3), (4, 1), (4, 2), (4, 3)],
    16: [(4, 4), (4, 5), (4, 6), (5, 4), (5, 5), (5, 6), (6, 4), (6, 5), (6, 6)],
}

#: The printed sizes: M_X^im for 6 x 6 and 3 x 3, M_F^filter for 6 x 6 x 4 and 3 x 3 x 4.
MXIM_PRINTED = {"M_X^im": (16, 9), "M_F^filter": (16, 144)}


def labelled_image(rows=6, cols=6):
    r"""The image with :math:`X_{ij} = 10i + j` (1-based), so that a printed symbol
    :math:`X_{ij}` reads as the number ``10i + j``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s001 import labelled_image
    >>> labelled_image(2, 3)
    array([[11., 12., 13.],
           [21., 22., 23.]])
    """
    i = np.arange(1, rows + 1)[:, None]
    j = np.arange(1, cols + 1)[None, :]
    return (10 * i + j).astype(float)


def _K(rows, cols):
    return commutation_matrix(rows, cols).toarray()


def im2col(X, f):
    r"""The lecture's :math:`M_X^{im}` built from the book's partition matrix ``V``.

    ``X`` is ``rows x cols`` or ``D x rows x cols``. With :math:`H^{(j)}` the patch matrix of
    channel ``j`` (:math:`\mathrm{vec}(H^{(j)}) = V h_j`, (47.1152), (47.1157)) and
    :math:`H_{n,0} = \mathrm{col}\{H^{(j)}\}` (47.1225):

    .. math:: M_X^{im} = K_{out}\, H_{n,0}^T\, (I_D \otimes K_f)^T.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s001 import im2col, labelled_image
    >>> M = im2col(labelled_image(), 3)
    >>> M.shape, M[0].astype(int).tolist()     # one row per patch, row-major
    ((16, 9), [11, 12, 13, 21, 22, 23, 31, 32, 33])
    """
    X = np.asarray(X, dtype=float)
    X = X[None] if X.ndim == 2 else X
    D = X.shape[0]
    part = sliding_partition(X.shape[1:], f, padding="valid")
    H = np.vstack([patch_matrix(part.V, vec(X[j]), part.S) for j in range(D)])  # (47.1225)
    right = np.kron(np.eye(D), _K(*part.mask))
    return _K(*part.out_shape) @ H.T @ right.T


def filter_matrix_blocks(F, in_shape):
    r"""The blocks :math:`(I_P \otimes w_j^T) V` (column-major), one per channel ``j``, of
    the map :math:`h_j \mapsto (H^{(j)})^T w_j` (47.1152), (47.1216).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s001 import filter_matrix_blocks
    >>> blocks, part = filter_matrix_blocks(np.ones((2, 3, 3)), (6, 6))
    >>> len(blocks), blocks[0].shape, part.P   # one (I_P (x) w_j^T) V per channel
    (2, (16, 36), 16)
    """
    F = np.asarray(F, dtype=float)
    F = F[None] if F.ndim == 2 else F
    part = sliding_partition(in_shape, F.shape[1:], padding="valid")
    blocks = []
    for j in range(F.shape[0]):
        w = vec(F[j])
        left = sp.kron(sp.identity(part.P, format="csr"), w.reshape(1, -1), format="csr")
        blocks.append((left @ part.V).toarray())  # (I_P (x) w_j^T) V
    return blocks, part


def filter_matrix(F, in_shape):
    r"""The lecture's :math:`M_F^{filter}` from the book's ``V``:

    .. math:: M_F^{filter} = K_{out}\,\big[(I_P\otimes w_1^T)V \cdots (I_P\otimes w_D^T)V\big]
              \,(I_D \otimes K_{in})^T.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s001 import filter_matrix, im2col
    >>> rng = np.random.default_rng(0)
    >>> F, X = rng.standard_normal((1, 3, 3)), rng.standard_normal((1, 6, 6))
    >>> np.allclose(filter_matrix(F, (6, 6)) @ X.reshape(-1), im2col(X, 3) @ F.reshape(-1))
    True
    """
    blocks, part = filter_matrix_blocks(F, in_shape)
    D = len(blocks)
    right = np.kron(np.eye(D), _K(*part.in_shape))
    return _K(*part.out_shape) @ np.hstack(blocks) @ right.T


def input_gradient_book(net, params, sens, d, c=1):
    r"""The book's :math:`\sum_{d'} V^{(d,d',c+1)}\delta_n^{(d',c+1)}` (47.1257)-(47.1258):
    the derivative of the loss with respect to the (pooled) map ``d`` of layer ``c``, as a
    matrix. This is the lecture's :math:`\partial l/\partial X^{(1)}` slice ``d``,
    :math:`\sum_i G_i^{zero-pad} * F_{2i,d}^{rot180}`.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s001 import input_gradient_book, two_layer_network
    >>> net = two_layer_network()
    >>> p = net.init(0)
    >>> x = np.random.default_rng(0).random((3, 8, 8))
    >>> sens = net.backward(p, net.forward(p, x), np.eye(3)[0], keep_V=True)
    >>> input_gradient_book(net, p, sens, d=1).shape   # the map y^(1,1): 6 x 6
    (6, 6)
    """
    ly, nxt = net.layers[c - 1], net.layers[c]
    b = np.zeros(ly.P_out)
    for d2 in range(1, nxt.D + 1):
        w = params.W_conv[c + 1][(d - 1) * nxt.S:d * nxt.S, d2 - 1]  # w_d^(d',c+1)
        b += V_ddc(nxt.partition.V, w, nxt.P, nxt.S) @ sens.delta_conv[d2, c + 1]  # (47.1258)
    return unvec(b, ly.pooled_shape)


def softmax_ce_gradient(p, y):
    r"""The lecture's :math:`\partial l/\partial s = -\frac{y^T}{y^Tp}(\mathrm{diag}(p) -
    pp^T)` for softmax probabilities ``p`` and a one-hot ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s001 import softmax_ce_gradient
    >>> p = np.array([0.2, 0.3, 0.5])
    >>> np.allclose(softmax_ce_gradient(p, np.array([0.0, 1.0, 0.0])), p - [0, 1, 0])
    True
    """
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    return -(y / (y @ p)) @ (np.diag(p) - np.outer(p, p))


def network(shape=(8, 8), n_filters=4, f=3, classes=3):
    r"""The lecture's one-layer network: RGB input (:math:`D_0 = 3`), ``n_filters`` valid
    ``f x f`` filters with ReLU, one fully connected layer and softmax, cross-entropy loss.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s001 import network
    >>> net = network()
    >>> net.input_depth, net.layers[0].D, net.n[-1]
    (3, 4, 3)
    """
    return Network(shape, 3, [Conv(n_filters, f, padding="valid", activation="relu")],
                   outputs=classes, output_activation="softmax", loss="cross_entropy")


def two_layer_network(shape=(8, 8), f=3, classes=3):
    r"""The lecture's two-convolutional-layer graph: 3 filters at each layer (ReLU), then a
    fully connected softmax layer.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s001 import two_layer_network
    >>> net = two_layer_network()
    >>> net.C, [ly.D for ly in net.layers]
    (2, [3, 3])
    """
    return Network(shape, 3, [Conv(3, f, padding="valid", activation="relu"),
                              Conv(3, f, padding="valid", activation="relu")],
                   outputs=classes, output_activation="softmax", loss="cross_entropy")


def rgb_shapes(n, shape=(8, 8), seed=0, noise=0.3):
    r"""A three-class RGB task: a horizontal bar, a vertical bar or a diagonal, each drawn
    in a random colour over uniform noise in ``[0, noise]`` (all three channels). Returns
    ``X`` ``(n, 3, rows, cols)`` and labels ``(n,)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s001 import rgb_shapes
    >>> X, labels = rgb_shapes(9)
    >>> X.shape, sorted(set(labels.tolist()))
    ((9, 3, 8, 8), [0, 1, 2])
    """
    rng = np.random.default_rng(seed)
    rows, cols = shape
    labels = rng.integers(0, 3, size=n)
    X = noise * rng.random((n, 3, rows, cols))
    for i in range(n):
        colour = rng.random(3) * 0.7 + 0.3
        mask = np.zeros(shape)
        if labels[i] == 0:
            mask[rng.integers(1, rows - 1), :] = 1.0
        elif labels[i] == 1:
            mask[:, rng.integers(1, cols - 1)] = 1.0
        else:
            off = rng.integers(-2, 3)
            mask = np.eye(rows, cols, k=off)
        X[i] += colour[:, None, None] * mask[None]
    return X, labels


def train(n_train=600, n_test=600, epochs=10, mu=0.1, batch_size=20, rho=1e-4, seed=0):
    r"""Mini-batch gradient descent on cross-entropy + L2 (the lecture's set-up; the book's
    (47.1229) with :math:`\rho_1 = \rho_2 = ` ``rho``) on :func:`rgb_shapes`.
    Returns ``(params, history, test_accuracy)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s001 import train
    >>> params, history, acc = train(n_train=30, n_test=30, epochs=1)
    >>> 0.0 <= acc <= 1.0, len(history["loss"])
    (True, 1)
    """
    from ...sgd import accuracy

    net = network()
    X, y = rgb_shapes(n_train, seed=seed)
    Xt, yt = rgb_shapes(n_test, seed=seed + 1)
    params = net.init(seed=seed)
    params, hist = net.fit(params, X, y, epochs=epochs, batch_size=batch_size, mu=mu,
                           rho1=rho, rho2=rho, seed=seed)
    return params, hist, accuracy(net, params, Xt, yt)


# ---------------------------------------------------------------------------
# Slips
# ---------------------------------------------------------------------------


def _state(seed=0):
    """One RGB image through the one-layer network, with the book's sensitivities."""
    from ...forward import forward_listing
    from ...training import backward_listing

    net = network(shape=(6, 6), n_filters=3)
    params = net.init(seed=seed, bias_scale=0.1)
    rng = np.random.default_rng(seed)
    x = rng.random((3, 6, 6))
    gamma = np.array([0.0, 1.0, 0.0])
    res = forward_listing(net, params, x)
    sens = backward_listing(net, params, res, gamma)
    return net, params, x, res, sens


def examples():
    r"""The lecture's printed matrices beside the package's reproduction, for
    ``reproduce``; the rows of its slips come from the register
    (:mod:`sayedcnn.fidelity.errata`).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s001 import examples
    >>> all(r.ok for r in examples())
    True
    """
    X = labelled_image()
    M = im2col(X, 3)
    printed_rows = np.array([[10 * i + j for i, j in MXIM_PRINTED_ROWS[r]]
                             for r in sorted(MXIM_PRINTED_ROWS)], dtype=float)
    computed_rows = M[[r - 1 for r in sorted(MXIM_PRINTED_ROWS)]]
    rng = np.random.default_rng(0)
    Mf = filter_matrix(rng.standard_normal((4, 3, 3)), (6, 6))
    return [
        Example("seed001", "rows 1-5 and 16 of M_X^im (6x6 image, 3x3 filter), X_ij = 10i+j, "
                "= K H^T K^T from the book's V (47.1157)", printed_rows, computed_rows),
        Example("seed001", "size of M_X^im", MXIM_PRINTED["M_X^im"], M.shape),
        Example("seed001", "size of M_F^filter (6x6x4 image, 3x3x4 filter)",
                MXIM_PRINTED["M_F^filter"], Mf.shape),
        as_example("seed001", "dl/dvec(F_i) for three filters: the printed sum over the "
                      "filters against H delta^(d,1) (47.1269)", "E-S001a"),
        as_example("seed001", "dl/dF_1 of a 3-channel filter: the printed sum over the "
                      "channels against the stacked slices (47.1269)", "E-S001b"),
    ]
