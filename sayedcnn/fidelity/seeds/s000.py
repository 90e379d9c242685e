r"""Seed note ``000``: overlapping 2 x 2 max-pooling at stride 1, reproduced with the book's T.

The note's network: a 4 x 4 image, one 2 x 2 mask at stride 1 (a 3 x 3 map), 2 x 2
max-pooling at stride 1 on that map (a 2 x 2 pooled map, the four windows overlapping), and
two outputs. Its worked example pools

.. math:: V = \begin{bmatrix} 3&2&5\\4&1&7\\3&5&0 \end{bmatrix} \;\to\;
          M = \begin{bmatrix} 4&7\\5&7 \end{bmatrix}

and writes, window by window, the "reverse max-pool" indicators (one row per window, one
column per entry of the window, both read left to right then down). Its recursions are

.. math::
    \delta^L = \nabla_a C \odot \sigma'(z^L), \quad
    \delta^{pool} = (W^L)^T\delta^L, \quad
    \delta^{conv} = \big((w_{pool})^T \delta^{pool}\big) \odot \sigma'(z^{conv}).

In the book this is (47.1233), (47.1241) and (47.1245): the region matrix ``T`` of
(47.1203) is here a 16 x 9 *selection* matrix (the entries of the middle row and column
belong to two or four windows), and :math:`\mathrm{permute}^\#(\mathrm{upv}(v)) = T^T
\mathrm{upv}(v)` adds the contributions of every window that holds an entry
(docs/conventions.md, *Pooling regions*). The correct :math:`w_{pool}` is the 4 x 9 Jacobian
:math:`\partial t/\partial y`, which is :math:`G T` with :math:`G` the 4 x 16 block row of
the gradient vectors; the note's 4 x 4 matrix is :math:`G` with its blocks stacked, and
:math:`(GT)^T v = T^T \mathrm{upv}(v)` (:func:`w_pool_matrix`).

The note lists windows and the entries of a window row by row; the book enumerates both
column by column. The commutation matrix :math:`K` (``vec(X^T) = K vec(X)``) maps one to the
other exactly: the note's matrix is :math:`K_{2,2}\, G_{book}\, K_{2,2}^T`.

The note's slips (E-S000a-c) are registered, with their demonstrations, in
:mod:`sayedcnn.fidelity.errata`; :func:`examples` takes their rows from there.
"""

from __future__ import annotations

import numpy as np

from ...network import Conv, Network
from ...operators import commutation_matrix, unvec, vec
from ...pooling import Pooling
from ..errata import as_example
from ..examples import Example

__all__ = [
    "V_PRINTED",
    "M_PRINTED",
    "REVERSE_MAXPOOL_PRINTED",
    "note_pooling",
    "max_pool_example",
    "reverse_maxpool_matrix",
    "w_pool_matrix",
    "conv_sensitivity_note",
    "conv_sensitivity_book",
    "network",
    "bars",
    "note_backward",
    "train",
    "examples",
]

#: The 3 x 3 convolution map of the note's example.
V_PRINTED = np.array([[3.0, 2.0, 5.0], [4.0, 1.0, 7.0], [3.0, 5.0, 0.0]])
#: Its 2 x 2 max-pooled map as printed.
M_PRINTED = np.array([[4.0, 7.0], [5.0, 7.0]])
#: The "reverse max-pool" matrix as printed: row = window (row-major), column = entry of the
#: window (row-major).
REVERSE_MAXPOOL_PRINTED = np.array([[0.0, 0.0, 1.0, 0.0],
                                    [0.0, 0.0, 0.0, 1.0],
                                    [0.0, 0.0, 0.0, 1.0],
                                    [0.0, 1.0, 0.0, 0.0]])


def _K(rows, cols):
    """Dense commutation matrix: row-major index = K @ column-major index."""
    return commutation_matrix(rows, cols).toarray()


def note_pooling(map_shape=(3, 3)):
    r"""The note's pooling: 2 x 2 max-pooling at stride 1 over a ``map_shape`` map; ``T`` is
    a selection matrix because the windows overlap (47.1201)-(47.1203).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s000 import note_pooling
    >>> pool = note_pooling()
    >>> pool.T.shape                      # 4 regions of 4 entries from 9: a selection (47.1203)
    (16, 9)
    """
    return Pooling("max", in_shape=map_shape, block=(2, 2), stride=(1, 1))


def max_pool_example(Vmap=V_PRINTED):
    r"""``M`` of the note: :math:`t = \mathrm{pool}(\mathrm{vec}(V))` (47.1187), returned as
    the 2 x 2 map.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s000 import max_pool_example
    >>> max_pool_example()                 # the note's pooled map of V (47.1187)
    array([[4., 7.],
           [5., 7.]])
    """
    pool = note_pooling(np.shape(Vmap))
    return unvec(pool.pool(vec(Vmap)), pool.out_shape)


def reverse_maxpool_matrix(Vmap=V_PRINTED):
    r"""The note's "reverse max-pool" matrix from the book's gradient vectors (47.1196b).

    Row ``p'`` of :math:`G_{book}` is :math:`g_{p'} = e_{p^o}` of region
    :math:`\Omega_{p'}`, regions and their entries column-major (docs/conventions.md,
    *Pooling regions*); the note reads both row-major, so its matrix is
    :math:`K_{2,2} G_{book} K_{2,2}^T`.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s000 import reverse_maxpool_matrix
    >>> reverse_maxpool_matrix().astype(int)
    array([[0, 0, 1, 0],
           [0, 0, 0, 1],
           [0, 0, 0, 1],
           [0, 1, 0, 0]])
    """
    pool = note_pooling(np.shape(Vmap))
    G = np.array(pool.gradient_vectors(vec(Vmap)))  # (47.1196b), one row per region
    K_win = _K(*pool.out_shape)  # windows: column-major -> row-major
    K_ent = _K(*pool.block)  # entries of a window: column-major -> row-major
    return K_win @ G @ K_ent.T


def w_pool_matrix(Vmap=V_PRINTED, order="book"):
    r"""The correct :math:`w_{pool}`: the ``P' x P`` Jacobian :math:`\partial t/\partial y`.

    It equals :math:`G\,T` with :math:`G = \mathrm{blockdiag}\{g_1^T, \dots, g_{P'}^T\}`
    (so that :math:`\mathrm{upv}(v) = G^T v`, (47.1200)) and :math:`T` the selection matrix
    (47.1203); hence :math:`w_{pool}^T v = T^T \mathrm{upv}(v) = \mathrm{permute}^\#(
    \mathrm{upv}(v))` (47.1244). ``order="note"`` lists windows and map entries row-major
    (4 x 9 for the note's example).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s000 import w_pool_matrix
    >>> w = w_pool_matrix()
    >>> w.shape, w.sum(axis=1).tolist()    # P' x P, one maximal entry per window
    ((4, 9), [1.0, 1.0, 1.0, 1.0])
    """
    pool = note_pooling(np.shape(Vmap))
    y = vec(Vmap)
    g = pool.gradient_vectors(y)
    n = sum(v.size for v in g)
    G = np.zeros((pool.P_out, n))
    pos = 0
    for p, gp in enumerate(g):
        G[p, pos:pos + gp.size] = gp  # upv(v) = G^T v (47.1200)
        pos += gp.size
    W = G @ pool.T.toarray()  # (47.1203): d t / d y
    if order == "book":
        return W
    if order == "note":
        return _K(*pool.out_shape) @ W @ _K(*pool.in_shape).T
    raise ValueError(f"order must be 'book' or 'note', got {order!r}")


def conv_sensitivity_note(delta_pool, z_conv, act):
    r"""The note's :math:`\delta^{conv} = ((w_{pool})^T \delta^{pool}) \odot
    \sigma'(z^{conv})` with the full 4 x 9 :math:`w_{pool}` (row-major vectors).

    ``z_conv`` is the 3 x 3 pre-activation map and ``act`` the activation (an
    :class:`~sayedcnn.activations.Activation`); max-pooling acts on :math:`y = f(z^{conv})`.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.activations import ACTIVATIONS
    >>> from sayedcnn.fidelity.seeds.s000 import conv_sensitivity_book, conv_sensitivity_note
    >>> z = np.random.default_rng(0).standard_normal((3, 3))
    >>> v = np.array([0.1, -0.2, 0.3, 0.4])
    >>> act = ACTIVATIONS["sigmoid"]
    >>> np.allclose(conv_sensitivity_note(v, z, act), conv_sensitivity_book(v, z, act), rtol=1e-14)
    True
    """
    z_conv = np.asarray(z_conv, dtype=float)
    W = w_pool_matrix(act.f(z_conv), order="note")
    return (W.T @ np.asarray(delta_pool, dtype=float)) * act.fprime(z_conv).reshape(-1)


def conv_sensitivity_book(delta_pool_rowmajor, z_conv, act):
    r"""The book's :math:`\delta^{(d,C)} = f'(z) \odot \mathrm{permute}^\#(\mathrm{upv}(v))`
    (47.1245) for the same map, returned row-major for comparison with the note.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.activations import ACTIVATIONS
    >>> from sayedcnn.fidelity.seeds.s000 import conv_sensitivity_book
    >>> z = np.zeros((3, 3))
    >>> float(conv_sensitivity_book(np.ones(4), z, ACTIVATIONS["linear"]).sum())  # 4 windows
    4.0
    """
    z_conv = np.asarray(z_conv, dtype=float)
    pool = note_pooling(z_conv.shape)
    y = act.f(vec(z_conv))
    v = _K(*pool.out_shape).T @ np.asarray(delta_pool_rowmajor, dtype=float)  # to column-major
    x = pool.permute_sharp(pool.upv(v, y))  # T^T upv(v) (47.1244)
    delta = act.fprime(vec(z_conv)) * x  # (47.1245)
    return _K(*z_conv.shape) @ delta


def network(activation="sigmoid"):
    r"""The note's network: 4 x 4 input, 2 x 2 mask ('valid', 3 x 3 map), 2 x 2 max-pooling
    at stride 1 (2 x 2 pooled map, overlapping windows), two sigmoid outputs, the book's
    quadratic risk (47.1229).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s000 import network
    >>> net = network()
    >>> net.layers[0].P, net.layers[0].P_out, net.Q
    (9, 4, 2)
    """
    return Network((4, 4), 1, [Conv(1, 2, padding="valid", stride=1, activation=activation,
                                    pool=("max", (2, 2), (1, 1)))],
                   outputs=2, output_activation="sigmoid", loss="quadratic")


def bars(n, seed=0, noise=0.2):
    r"""A binary task for the note's network: 4 x 4 images holding a vertical (class 0) or a
    horizontal (class 1) bar through one of the two middle columns or rows, plus uniform
    noise in ``[0, noise]``. Returns ``X`` ``(n, 1, 4, 4)`` and labels ``(n,)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s000 import bars
    >>> X, labels = bars(6)
    >>> X.shape, sorted(set(labels.tolist()))
    ((6, 1, 4, 4), [0, 1])
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    X = noise * rng.random((n, 1, 4, 4))
    where = rng.integers(1, 3, size=n)
    for i in range(n):
        if labels[i] == 0:
            X[i, 0, :, where[i]] += 1.0
        else:
            X[i, 0, where[i], :] += 1.0
    return X, labels


def note_backward(net, params, x, gamma):
    r"""The note's three recursions for one image, in its row-major orders.

    .. math::
        \delta^L = 2(a - \gamma)\odot\sigma'(z^L),\quad
        \delta^{pool} = (W^L)^T\delta^L,\quad
        \delta^{conv} = (w_{pool}^T\delta^{pool})\odot\sigma'(z^{conv}),

    with :math:`W^L` the book's ``2 x 4`` :math:`W_1` with columns reordered row-major,
    :math:`w_{pool}` the 4 x 9 Jacobian, and the filter gradient
    :math:`\partial C/\partial w_{ij} = \sum_{l,m}\delta^{conv}_{lm} X_{i+l,j+m}` (a valid
    correlation of the image with the 3 x 3 :math:`\delta^{conv}`). :math:`\nabla_a C` is that
    of the book's :math:`\|\gamma - y\|^2`. Returns a dict of ``delta_L``, ``delta_pool``,
    ``delta_conv`` (row-major vectors) and ``grad_mask`` (2 x 2).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s000 import network, note_backward
    >>> net = network()
    >>> p = net.init(0)
    >>> x = np.random.default_rng(1).random((1, 4, 4))
    >>> out = note_backward(net, p, x, np.array([1.0, 0.0]))
    >>> sorted(out)[:3]
    ['delta_L', 'delta_conv', 'delta_pool']
    """
    from ...forward import forward_listing

    res = forward_listing(net, params, np.asarray(x, dtype=float))
    ly = net.layers[0]
    act = ly.activation
    z_conv = unvec(res.z_conv[1, 1], ly.map_shape)
    out_act = net.ff_activation[net.L]
    delta_L = 2.0 * (res.output - gamma) * out_act.fprime(res.z_ff[net.L])
    K_pool = _K(*ly.pooled_shape)
    W_note = params.W_ff[1] @ K_pool.T  # columns in the note's row-major order of m_ij
    delta_pool = W_note.T @ delta_L  # no sigma'(z^pool): erratum E-S000b
    y = act.f(z_conv)
    W_pool = w_pool_matrix(y, order="note")
    delta_conv = (W_pool.T @ delta_pool) * act.fprime(z_conv).reshape(-1)  # row-major
    D = delta_conv.reshape(ly.map_shape)
    X = np.asarray(x, dtype=float)[0]
    f = ly.partition.mask
    grad = np.zeros(f)
    for i in range(f[0]):
        for j in range(f[1]):
            grad[i, j] = np.sum(D * X[i:i + D.shape[0], j:j + D.shape[1]])
    return {"delta_L": delta_L, "delta_pool": delta_pool, "delta_conv": delta_conv,
            "grad_mask": grad}


def train(n_train=400, n_test=400, epochs=20, mu=1.0, batch_size=8, seed=0):
    r"""Train the note's network (overlapping pooling) by (47.1276) on :func:`bars`.

    Returns ``(params, history, test_accuracy)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s000 import train
    >>> params, history, acc = train(n_train=40, n_test=40, epochs=2)
    >>> 0.0 <= acc <= 1.0, len(history["loss"])
    (True, 2)
    """
    from ...sgd import accuracy

    net = network()
    X, y = bars(n_train, seed=seed)
    Xt, yt = bars(n_test, seed=seed + 1)
    params = net.init(seed=seed)
    params, hist = net.fit(params, X, y, epochs=epochs, batch_size=batch_size, mu=mu,
                           seed=seed)
    return params, hist, accuracy(net, params, Xt, yt)


# ---------------------------------------------------------------------------
# Slips
# ---------------------------------------------------------------------------


def _example_state(seed=0):
    """A random image and parameters of the note's network, with its book sensitivities."""
    from ...forward import forward_listing
    from ...training import backward_listing

    net = network()
    params = net.init(seed=seed, bias_scale=0.3)
    rng = np.random.default_rng(seed)
    x = rng.random((1, 4, 4))
    gamma = np.array([1.0, 0.0])
    res = forward_listing(net, params, x)
    sens = backward_listing(net, params, res, gamma)
    return net, params, x, gamma, res, sens


def examples():
    r"""The note's printed numbers beside the package's reproduction, for ``reproduce``; the
    rows of its slips come from the register (:mod:`sayedcnn.fidelity.errata`).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s000 import examples
    >>> rows = examples()
    >>> all(r.ok for r in rows), sorted({r.erratum for r in rows if r.erratum})
    (True, ['E-S000a', 'E-S000b'])
    """
    net, params, x, gamma, res, sens = _example_state()
    ly = net.layers[0]
    z = unvec(res.z_conv[1, 1], ly.map_shape)
    K_pool = _K(*ly.pooled_shape)
    delta_pool = K_pool @ (params.W_ff[1].T @ sens.delta_ff[2])
    note = conv_sensitivity_note(delta_pool, z, ly.activation)
    book = _K(*ly.map_shape) @ sens.delta_conv[1, 1]
    return [
        Example("seed000", "2x2 max-pooling at stride 1 of V = [[3,2,5],[4,1,7],[3,5,0]] "
                "(47.1187)", M_PRINTED, max_pool_example()),
        Example("seed000", "'reverse max-pool' indicators = K g_book K^T (47.1196b)",
                REVERSE_MAXPOOL_PRINTED, reverse_maxpool_matrix()),
        Example("seed000", "the note's delta^conv = (w_pool^T delta^pool) .* sigma'(z) with "
                "the 4 x 9 Jacobian w_pool, on a random image = the book's f' .* T^T "
                "upv(delta^pool) (47.1245), overlapping windows", note, book, atol=1e-12,
                basis="evaluated"),
        as_example("seed000", "delta^conv with the printed square 4 x 4 w_pool: 4 entries, "
                      "the 3 x 3 map has 9 (47.1245)", "E-S000a"),
        as_example("seed000", "mask gradient H delta^conv (47.1269) with the printed "
                      "sigma'(z^pool) in delta^pool, and without it (47.1241)", "E-S000b"),
    ]
