r"""Image-domain reference forms of the seed notes: sliding sums, rotated masks, im2col, BP1-BP4.

These are the independent side of the seed reproductions (:mod:`sayedcnn.fidelity.seeds`). They are
written from the notes' own index formulas with plain numpy and never touch the book's
matrices: this module imports nothing from :mod:`sayedcnn.operators`, :mod:`sayedcnn.pooling`,
:mod:`sayedcnn.forward` or :mod:`sayedcnn.training`, so agreement with them is evidence.

Conventions (0-based here, 1-based in the notes):

* ``correlate_valid(X, F)``: :math:`S_{l,m} = \sum_{i,j} X_{i+l,\,j+m} F_{i,j}`, the "*" of
  seed 001 (its :math:`S_{lm} = \sum_{k,i,j} X_{k,i+l-1,j+m-1}F_{kij}`), the conv layer of
  seed 002 and the forward pass of seed 004's Fig. 4; it is the book's correlation (47.1133)
  without padding.
* ``convolve_valid(X, K)``: true convolution, MATLAB ``conv2(X, K, 'valid')``, i.e.
  correlation with the kernel rotated by 180 degrees (:math:`JKJ`), the convention of
  Bouvrie's code behind seed 004's (14).
* ``rot180(F)`` is :math:`J F J` with :math:`J` the exchange matrix (the book's
  :math:`\tilde I`, (47.1137)).
* "Row-major" vectors list a matrix row after row (the order seed 001 uses for
  :math:`\mathrm{vec}`); the book stacks columns.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "rot180",
    "zero_pad",
    "correlate_valid",
    "convolve_valid",
    "full_convolution",
    "full_correlation",
    "sum_pool",
    "upsample",
    "im2col_rowmajor",
    "filter_matrix_rowmajor",
    "sigmoid",
    "sigmoid_prime",
    "nielsen_forward",
    "nielsen_gradients",
]


def _matrix(A, name):
    A = np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {A.shape}")
    return A


def rot180(F):
    r"""The mask rotated by 180 degrees, :math:`JFJ` (seed 004 (14)-(18); seed 001's
    :math:`F^{rot180}`); entry ``(i, j)`` is ``F[f-1-i, g-1-j]``.

    The image-domain form of the flip (47.1138), :math:`\tilde I F \tilde I`.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.rot180(np.arange(6.0).reshape(2, 3))
    array([[5., 4., 3.],
           [2., 1., 0.]])
    """
    F = _matrix(F, "F")
    return F[::-1, ::-1].copy()


def zero_pad(G, p):
    r"""``G`` with ``p`` zero rows and columns added on every side (seed 001's
    :math:`G_{\text{zero-pad}}`, seed 004's :math:`\tilde\delta`); ``p`` an int or a pair.

    The zero extension of (47.1129) in the image domain.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.zero_pad(np.ones((1, 2)), 1)
    array([[0., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 0.]])
    """
    G = _matrix(G, "G")
    pr, pc = (p, p) if np.isscalar(p) else p
    out = np.zeros((G.shape[0] + 2 * pr, G.shape[1] + 2 * pc))
    out[pr:pr + G.shape[0], pc:pc + G.shape[1]] = G
    return out


def correlate_valid(X, F):
    r"""Valid correlation :math:`S_{l,m} = \sum_{i,j} X_{i+l,\,j+m} F_{i,j}`.

    Output ``(rows-f+1) x (cols-g+1)``; seed 001's ``X * F``, seed 002's
    :math:`z^1 - b^1`, seed 004 Fig. 4. Computed by summing one shifted copy of ``X`` per
    mask entry.

    Implements (47.1133) with 'valid' windows, by shifted sums.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.correlate_valid(np.arange(16.0).reshape(4, 4), np.ones((2, 2)))
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    """
    X, F = _matrix(X, "X"), _matrix(F, "F")
    f, g = F.shape
    R, C = X.shape[0] - f + 1, X.shape[1] - g + 1
    if R < 1 or C < 1:
        raise ValueError(f"the mask {F.shape} does not fit the image {X.shape}")
    S = np.zeros((R, C))
    for i in range(f):
        for j in range(g):
            S += F[i, j] * X[i:i + R, j:j + C]  # S_lm += X_{i+l, j+m} F_ij
    return S


def convolve_valid(X, K):
    r"""Valid true convolution :math:`(X \star K)_{l,m} = \sum_{i,j} X_{l+i,\,m+j}
    K_{f-1-i,\,g-1-j}` (MATLAB ``conv2(X, K, 'valid')``), i.e. correlation with
    :math:`JKJ`.

    The 'valid' form of the convolution (47.1139).

    Examples
    --------
    A kernel with its one at the top-left picks the bottom-right of each window:

    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.convolve_valid(np.arange(16.0).reshape(4, 4), np.array([[1.0, 0.0], [0.0, 0.0]]))
    array([[ 5.,  6.,  7.],
           [ 9., 10., 11.],
           [13., 14., 15.]])
    """
    return correlate_valid(X, rot180(K))


def full_convolution(G, F):
    r"""Seed 001's :math:`G_{\text{zero-pad}} * F^{rot180}` (and seed 004's
    :math:`\tilde\delta * (JkJ)`, (16)): ``G`` padded by ``f-1`` zeros on each side,
    correlated with the rotated mask; output ``(r+f-1) x (c+g-1)``. This is the derivative
    of a valid correlation with respect to its image (the flipped mask of (47.1138)).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.full_convolution(np.ones((2, 2)), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[ 1.,  3.,  2.],
           [ 4., 10.,  6.],
           [ 3.,  7.,  4.]])
    """
    F = _matrix(F, "F")
    f, g = F.shape
    return correlate_valid(zero_pad(G, (f - 1, g - 1)), rot180(F))


def full_correlation(G, F):
    r""":math:`G_{\text{zero-pad}} * F`: ``G`` padded by ``f-1`` zeros, correlated with the
    unrotated mask; the derivative of a valid true convolution (47.1139) with respect to
    its image.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.full_correlation(np.ones((1, 1)), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[4., 3.],
           [2., 1.]])
    """
    F = _matrix(F, "F")
    f, g = F.shape
    return correlate_valid(zero_pad(G, (f - 1, g - 1)), F)


def sum_pool(x, n):
    r"""Seed 004's :math:`\mathrm{down}(x)`: the sum of every non-overlapping ``n x n``
    block (rows and columns beyond a whole block are dropped): mean pooling of Table 47.13
    (47.1187) times the block size.

    Sum pooling of disjoint blocks (Table 47.13's mean pooling times the block size).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.sum_pool(np.arange(16.0).reshape(4, 4), 2)
    array([[10., 18.],
           [42., 50.]])
    """
    x = _matrix(x, "x")
    R, C = x.shape[0] // n, x.shape[1] // n
    out = np.zeros((R, C))
    for a in range(n):
        for b in range(n):
            out += x[a:R * n:n, b:C * n:n]
    return out


def upsample(x, n):
    r"""Seed 004's :math:`\mathrm{up}(x) = x \otimes \mathbb 1_{n\times n}`: every entry
    copied into an ``n x n`` block: the upsampling (47.1200) of sum pooling, whose gradient
    vectors are all ones.

    The image-domain form of the upsampling of Fig. 47.91 for mean or sum pooling.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.upsample(np.array([[1.0, 2.0]]), 2)
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]])
    """
    x = _matrix(x, "x")
    return np.repeat(np.repeat(x, n, axis=0), n, axis=1)


def _channels(X, name):
    X = np.asarray(X, dtype=float)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"{name} must be rows x cols or depth x rows x cols, got {X.shape}")
    return X


def im2col_rowmajor(X, f):
    r"""Seed 001's :math:`M_X^{im}`: ``vec_r(X * F) = M_X^{im} vec_r(F)`` with row-major vecs.

    ``X`` is ``rows x cols`` or ``depth x rows x cols``; row ``l*(cols-f+1) + m`` holds the
    patch under output ``(l, m)``, read channel after channel and row after row, so the size
    is :math:`(w-f+1)(h-f+1) \times \text{depth}\,f^2` (16 x 9 for a 6 x 6 image and
    ``f = 3``).

    The row-major counterpart of the patch matrix :math:`H^T` of (47.1157).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> X, F = np.arange(16.0).reshape(4, 4), np.arange(9.0).reshape(3, 3)
    >>> M = image.im2col_rowmajor(X, 3)
    >>> M.shape, M[0]                         # the patch under output (0, 0), row by row
    ((4, 9), array([ 0.,  1.,  2.,  4.,  5.,  6.,  8.,  9., 10.]))
    >>> bool(np.allclose(M @ F.ravel(), image.correlate_valid(X, F).ravel(), rtol=1e-12, atol=0))
    True
    """
    X = _channels(X, "X")
    D, rows, cols = X.shape
    R, C = rows - f + 1, cols - f + 1
    M = np.zeros((R * C, D * f * f))
    for l in range(R):
        for m in range(C):
            for k in range(D):
                for i in range(f):
                    for j in range(f):
                        M[l * C + m, k * f * f + i * f + j] = X[k, i + l, j + m]
    return M


def filter_matrix_rowmajor(F, in_shape):
    r"""Seed 001's :math:`M_F^{filter}`: ``vec_r(X * F) = M_F^{filter} vec_r(X)``.

    ``F`` is ``f x f`` or ``depth x f x f``, ``in_shape = (rows, cols)``; ``vec_r(X)`` lists the
    channels one after the other, each row-major. Size :math:`(w-f+1)(h-f+1) \times
    \text{depth}\,wh` (16 x 144 for 6 x 6 x 4 and 3 x 3 x 4).

    The correlation (47.1133) as one matrix acting on the image, row-major.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> X, F = np.arange(16.0).reshape(4, 4), np.arange(9.0).reshape(3, 3)
    >>> Mf = image.filter_matrix_rowmajor(F, (4, 4))
    >>> Mf.shape, bool(np.allclose(Mf @ X.ravel(), image.correlate_valid(X, F).ravel(),
    ...                              rtol=1e-12, atol=0))
    ((4, 16), True)
    """
    F = _channels(F, "F")
    D, f, g = F.shape
    rows, cols = in_shape
    R, C = rows - f + 1, cols - g + 1
    M = np.zeros((R * C, D * rows * cols))
    for l in range(R):
        for m in range(C):
            for k in range(D):
                for i in range(f):
                    for j in range(g):
                        M[l * C + m, k * rows * cols + (i + l) * cols + (j + m)] = F[k, i, j]
    return M


# ---------------------------------------------------------------------------
# Seed 002: the 28x28 -> 24x24 -> 12x12 -> 10 network by its BP1-BP4 index formulas
# ---------------------------------------------------------------------------


def sigmoid(z):
    r""":math:`\sigma(z) = 1/(1+e^{-z})`.

    The logistic activation of (47.1154), through :math:`\tanh` (no overflow).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.sigmoid(np.array([-800.0, 0.0, 800.0]))
    array([0. , 0.5, 1. ])
    """
    z = np.asarray(z, dtype=float)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def sigmoid_prime(z):
    r""":math:`\sigma'(z) = \sigma(z)(1-\sigma(z))`.

    Its derivative, as used by (47.1233).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> image.sigmoid_prime(np.array([0.0]))
    array([0.25])
    """
    s = sigmoid(z)
    return s * (1.0 - s)


def nielsen_forward(a0, w1, b1, w3, b3):
    r"""Forward pass of seed 002, index by index.

    .. math::
        z^1_{j,k} = b^1 + \sum_{l,m=0}^{4} w^1_{l,m} a^0_{j+l,k+m},\quad
        a^1 = \sigma(z^1),\quad
        a^2_{j,k} = \max(a^1_{2j,2k}, a^1_{2j,2k+1}, a^1_{2j+1,2k}, a^1_{2j+1,2k+1}),

        z^3_l = b^3_l + \sum_{j,k} w^3_{l;j,k} a^2_{j,k},\quad a^3 = \sigma(z^3).

    ``a0`` is the image (``28 x 28`` in the note; any size whose map has even sides works),
    ``w1`` the shared ``5 x 5`` mask, ``b1`` the shared bias, ``w3`` is ``Q x 12 x 12``, ``b3``
    has ``Q`` entries. Returns a dict of ``z1, a1, a2, z3, a3``.

    The image-domain form of the forward listing (47.1216) for one map.

    Examples
    --------
    A 6 x 6 image, a 3 x 3 mask, 2 x 2 max pooling and three outputs:

    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> rng = np.random.default_rng(0)
    >>> fw = image.nielsen_forward(rng.standard_normal((6, 6)), rng.standard_normal((3, 3)),
    ...                            0.1, rng.standard_normal((3, 2, 2)), np.zeros(3))
    >>> fw["z1"].shape, fw["a2"].shape, fw["a3"].shape
    ((4, 4), (2, 2), (3,))
    >>> bool(np.all(fw["a2"] == np.maximum.reduce([fw["a1"][i::2, j::2] for i in (0, 1)
    ...                                            for j in (0, 1)])))
    True
    """
    a0, w1 = _matrix(a0, "a0"), _matrix(w1, "w1")
    w3, b3 = np.asarray(w3, dtype=float), np.asarray(b3, dtype=float)
    f = w1.shape[0]
    R, C = a0.shape[0] - f + 1, a0.shape[1] - f + 1
    z1 = np.zeros((R, C))
    for j in range(R):
        for k in range(C):
            z1[j, k] = b1 + np.sum(w1 * a0[j:j + f, k:k + f])  # z^1_{j,k}
    a1 = sigmoid(z1)
    a2 = np.zeros((R // 2, C // 2))
    for j in range(R // 2):
        for k in range(C // 2):
            a2[j, k] = max(a1[2 * j, 2 * k], a1[2 * j, 2 * k + 1], a1[2 * j + 1, 2 * k],
                           a1[2 * j + 1, 2 * k + 1])  # a^2_{j,k}
    Q = b3.size
    z3 = np.array([b3[l] + np.sum(w3[l] * a2) for l in range(Q)])  # z^3_l
    return {"z1": z1, "a1": a1, "a2": a2, "z3": z3, "a3": sigmoid(z3)}


def nielsen_gradients(a0, y, w1, b1, w3, b3, ties="first", dC_da=None):
    r"""BP1-BP4 of seed 002 for one image, index by index.

    .. math::
        \delta^3_l = \frac{\partial C}{\partial a^3_l}\sigma'(z^3_l) \quad (\text{BP1}),\qquad
        \delta^1_{j,k} = [a^1_{j,k}\ \text{is the max of its block}]\;
            \sum_{l} \delta^3_l w^3_{l;j',k'}\,\sigma'(z^1_{j,k}),\ \
            j' = \lfloor j/2\rfloor,\ k' = \lfloor k/2\rfloor \quad (\text{BP2}),

        \frac{\partial C}{\partial b^3_l} = \delta^3_l,\quad
        \frac{\partial C}{\partial b^1} = \sum_{j,k}\delta^1_{j,k} \quad (\text{BP3}),\qquad
        \frac{\partial C}{\partial w^3_{l;j,k}} = a^2_{j,k}\delta^3_l,\quad
        \frac{\partial C}{\partial w^1_{l,m}} = \sum_{j,k}\delta^1_{j,k} a^0_{j+l,k+m}
        \quad (\text{BP4}).

    Parameters
    ----------
    a0, w1, b1, w3, b3
        As in :func:`nielsen_forward`.
    y : array of Q
        The target.
    ties : {"first", "all"}
        Which entries of a pooling block with several equal maxima receive the sensitivity:
        ``"all"`` is the note's rule read literally (every entry equal to the max);
        ``"first"`` gives it to the first maximal entry in the order
        ``(2j',2k'), (2j'+1,2k'), (2j',2k'+1), (2j'+1,2k'+1)`` (down the columns of the
        block, the book's region order).
    dC_da : callable, optional
        :math:`\partial C/\partial a^3` as a function of ``(a3, y)``; default
        ``2 (a3 - y)``, the derivative of the book's :math:`\|\gamma - y\|^2` (47.1229).

    Returns
    -------
    dict
        ``w1, b1, w3, b3`` (the derivatives), ``delta1, delta3`` and the forward quantities.

    The image-domain form of the sensitivities and derivatives of (47.1233)-(47.1274) for one
    map, with the quadratic loss of (47.1229).

    Examples
    --------
    The shared-bias derivative BP3 checked by a central difference:

    >>> import numpy as np
    >>> from sayedcnn.reference import image
    >>> rng = np.random.default_rng(0)
    >>> a0, w1 = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))
    >>> w3, b3, y = rng.standard_normal((3, 2, 2)), np.zeros(3), np.array([1.0, 0.0, 0.0])
    >>> g = image.nielsen_gradients(a0, y, w1, 0.1, w3, b3)
    >>> def cost(b1):
    ...     return float(np.sum((image.nielsen_forward(a0, w1, b1, w3, b3)["a3"] - y) ** 2))
    >>> fd = (cost(0.1 + 1e-6) - cost(0.1 - 1e-6)) / 2e-6
    >>> bool(np.isclose(g["b1"], fd, rtol=1e-6)), g["w1"].shape, g["w3"].shape
    (True, (3, 3), (3, 2, 2))
    """
    if ties not in ("first", "all"):
        raise ValueError(f"ties must be 'first' or 'all', got {ties!r}")
    fw = nielsen_forward(a0, w1, b1, w3, b3)
    a0 = _matrix(a0, "a0")
    w3 = np.asarray(w3, dtype=float)
    y = np.asarray(y, dtype=float)
    z1, a1, a2, z3, a3 = fw["z1"], fw["a1"], fw["a2"], fw["z3"], fw["a3"]
    grad_a = 2.0 * (a3 - y) if dC_da is None else dC_da(a3, y)
    delta3 = grad_a * sigmoid_prime(z3)  # BP1
    R, C = z1.shape
    Q = delta3.size
    delta1 = np.zeros((R, C))
    for jp in range(R // 2):
        for kp in range(C // 2):
            block = [(2 * jp, 2 * kp), (2 * jp + 1, 2 * kp), (2 * jp, 2 * kp + 1),
                     (2 * jp + 1, 2 * kp + 1)]  # down the columns of the block
            top = max(a1[j, k] for j, k in block)
            winners = [(j, k) for j, k in block if a1[j, k] == top]
            if ties == "first":
                winners = winners[:1]
            for j, k in winners:
                # BP2: sum_l delta^3_l w^3_{l;j',k'} sigma'(z^1_{j,k}), j' = floor(j/2)
                back = sum(delta3[l] * w3[l, j // 2, k // 2] for l in range(Q))
                delta1[j, k] = back * sigmoid_prime(z1[j, k])
    f = np.asarray(w1).shape[0]
    g_w1 = np.zeros((f, f))
    for l in range(f):
        for m in range(f):
            g_w1[l, m] = sum(delta1[j, k] * a0[j + l, k + m]
                             for j in range(R) for k in range(C))  # BP4, shared weights
    g_b1 = float(np.sum(delta1))  # BP3, shared bias
    g_w3 = np.array([a2 * delta3[l] for l in range(Q)])  # BP4, output layer
    g_b3 = delta3.copy()  # BP3, output layer
    return {"w1": g_w1, "b1": g_b1, "w3": g_w3, "b3": g_b3, "delta1": delta1,
            "delta3": delta3, **fw}
