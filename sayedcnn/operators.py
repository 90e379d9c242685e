r"""The chapter's linear operators, built explicitly with :mod:`scipy.sparse`.

Section 47.25.1-47.25.2 and 47.25.6 of Sayed, *Inference and Learning from Data*:

* ``vec``/``unvec``: column stacking (47.1127, Fig. 47.82);
* the reversal matrix :math:`\tilde I` (47.1137) and the flipped mask (47.1136, 47.1138);
* correlation of an image with a mask (47.1133) and its convolution form (47.1139);
* the Sobel, Prewitt (47.1140) and Gaussian (47.1135) masks and the edge magnitude (47.1142);
* partition matrices :math:`V` (47.1148-47.1153) from index lists or sliding windows;
* :math:`V^{(d,d',c+1)}` of (47.1257) and its skeleton (47.1255).

Indices are 0-based in code; the book's are 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import numpy as np
import scipy.sparse as sp

from ._checks import MAX_SIZE, as_float_array, as_pair, as_positive_int, as_real

__all__ = [
    "vec",
    "unvec",
    "reversal_matrix",
    "flip_mask",
    "correlate",
    "convolve",
    "sobel_masks",
    "prewitt_masks",
    "gaussian_mask",
    "edge_magnitude",
    "partition_matrix",
    "SlidingPartition",
    "sliding_partition",
    "patch_indicator",
    "patch_matrix",
    "V_ddc",
    "V_ddc_skeleton",
    "commutation_matrix",
    "patches",
    "sparse_apply",
    "vddc_product",
    "vddc_sums",
]


# ---------------------------------------------------------------------------
# vec / unvec (47.1127)
# ---------------------------------------------------------------------------


def vec(A):
    r"""Stack the columns of ``A`` into one vector (47.1127, Fig. 47.82).

    .. math:: \mathrm{vec}(A) = \mathrm{col}\{A_{:,1}, A_{:,2}, \dots\},

    so entry ``(r, c)`` of a ``rows x cols`` matrix lands at ``r + c*rows`` (0-based).
    Implements (47.1127). Sparse input is densified; integer and float input keeps its
    dtype; complex, bool, object data and NaN or inf are refused.

    Parameters
    ----------
    A : array_like or sparse matrix, shape (rows, cols)
        The matrix to stack.

    Returns
    -------
    ndarray, shape (rows*cols,)

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import vec
    >>> A = np.array([[1, 2, 3], [4, 5, 6]])
    >>> vec(A)                       # first column, then the second, then the third
    array([1, 4, 2, 5, 3, 6])
    >>> bool(vec(A)[1 + 2 * 2] == A[1, 2])  # entry (r, c) sits at r + c*rows
    True
    """
    if sp.issparse(A):
        A = A.toarray()
    as_float_array(A, "the matrix A of vec", eq="47.1127")
    A = np.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"vec expects a 2-D matrix (47.1127), got an array of shape {A.shape}")
    return A.reshape(-1, order="F")


def unvec(v, shape):
    r"""Inverse of :func:`vec`: refill a ``rows x cols`` matrix column by column (47.1127).

    Parameters
    ----------
    v : array_like, shape (rows*cols,)
        The stacked columns.
    shape : (int, int)
        ``(rows, cols)`` of the matrix to rebuild.

    Returns
    -------
    ndarray, shape (rows, cols)

    Implements (47.1127).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import unvec, vec
    >>> unvec(np.array([1, 4, 2, 5, 3, 6]), (2, 3))
    array([[1, 2, 3],
           [4, 5, 6]])
    >>> A = np.random.default_rng(0).standard_normal((3, 4))
    >>> bool(np.array_equal(unvec(vec(A), A.shape), A))
    True
    """
    as_float_array(v, "the vector v of unvec", eq="47.1127")
    v = np.asarray(v)
    rows, cols = as_pair(shape, "shape", eq="47.1127")
    if v.ndim != 1 or v.size != rows * cols:
        raise ValueError(
            f"unvec needs a vector of rows*cols = {rows * cols} entries (47.1127), "
            f"got shape {v.shape}"
        )
    return v.reshape((rows, cols), order="F")


def commutation_matrix(rows, cols):
    r"""The commutation matrix :math:`K` with :math:`\mathrm{vec}(X^T) = K\,\mathrm{vec}(X)`.

    ``X`` is ``rows x cols``; ``K`` is ``rows*cols x rows*cols`` (CSR). It maps the book's
    column-major vec to the row-major flattening used by seed ``001`` (and by numpy).
    Implements the change of order between column-major (47.1127) and row-major stacking.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import commutation_matrix, vec
    >>> X = np.arange(6.0).reshape(2, 3)
    >>> K = commutation_matrix(2, 3)
    >>> K.toarray().astype(int)
    array([[1, 0, 0, 0, 0, 0],
           [0, 0, 1, 0, 0, 0],
           [0, 0, 0, 0, 1, 0],
           [0, 1, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0],
           [0, 0, 0, 0, 0, 1]])
    >>> K @ vec(X)                    # vec(X^T), numpy's row-major X.ravel()
    array([0., 1., 2., 3., 4., 5.])
    """
    rows = as_positive_int(rows, "rows of X", eq="47.1127")
    cols = as_positive_int(cols, "cols of X", eq="47.1127")
    as_pair((rows, cols), "X of the commutation matrix", eq="47.1127")  # size limit
    m = np.arange(rows * cols)
    r, c = m % rows, m // rows  # vec(X) index m = r + c*rows
    target = c + r * cols  # position of X[r, c] in vec(X^T)
    return sp.csr_matrix((np.ones(rows * cols), (target, m)), shape=(rows * cols,) * 2)


# ---------------------------------------------------------------------------
# Masks, reversal and correlation (47.1133-47.1142)
# ---------------------------------------------------------------------------


def reversal_matrix(n):
    r"""The reversed identity :math:`\tilde I` with ones on the anti-diagonal (47.1137), CSR.

    Multiplying by :math:`\tilde I` on the left reverses the order of the rows, on the right
    the order of the columns. Implements (47.1137).

    Parameters
    ----------
    n : int
        The size of the square matrix.

    Returns
    -------
    scipy.sparse.csr_matrix, ``n x n``

    Examples
    --------
    The matrix printed in (47.1137):

    >>> from sayedcnn import reversal_matrix
    >>> reversal_matrix(3).toarray()
    array([[0., 0., 1.],
           [0., 1., 0.],
           [1., 0., 0.]])
    >>> reversal_matrix(3) @ [1.0, 2.0, 3.0]
    array([3., 2., 1.])
    """
    n = as_positive_int(n, "the size n of the reversal matrix", eq="47.1137", maximum=MAX_SIZE)
    i = np.arange(n)
    return sp.csr_matrix((np.ones(n), (i, n - 1 - i)), shape=(n, n))


def flip_mask(W):
    r"""The flipped mask :math:`\mathcal W^\# = \tilde I \mathcal W \tilde I` (47.1136, 47.1138).

    Entry :math:`\mathcal W^\#(k, \ell) = \mathcal W(-k, -\ell)`: a rotation by 180 degrees.
    Implements (47.1138) with the reversal matrices of (47.1137).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import flip_mask
    >>> flip_mask(np.arange(9.0).reshape(3, 3))
    array([[8., 7., 6.],
           [5., 4., 3.],
           [2., 1., 0.]])
    >>> W = np.random.default_rng(1).standard_normal((2, 3))
    >>> bool(np.array_equal(flip_mask(W), W[::-1, ::-1]))
    True
    """
    W = as_float_array(W, "mask W", ndim=2, eq="47.1136")
    if W.size == 0:
        raise ValueError(f"mask W must have at least one entry (47.1136), got shape {W.shape}")
    Ir = reversal_matrix(W.shape[0])
    Ic = reversal_matrix(W.shape[1])
    return np.asarray(Ir @ W @ Ic)  # (47.1138) W# = I~ W I~


def correlate(image, mask, stride=1, padding="same"):
    r"""Correlate an image with a mask, entry by entry as in (47.1133).

    .. math:: \mathcal F(r, c) = \sum_{k,\ell} \mathcal I(r+k, c+\ell)\,\mathcal W(k, \ell)
              = h_{r,c}^T w,

    computed as :math:`H^T w` with the patch matrix of the sliding partition
    (47.1152, 47.1157). 'same' (the book's zero extension, mask centred on each pixel),
    'valid', or integer padding; stride per axis. Implements (47.1133).

    Parameters
    ----------
    image : array_like, shape (rows, cols)
        The image :math:`\mathcal I`.
    mask : array_like, shape (kr, kc)
        The mask :math:`\mathcal W`.
    stride : int or (int, int)
        Step of the sliding mask.
    padding : {"same", "valid"} or int or (int, int)
        As in :func:`sliding_partition`.

    Returns
    -------
    ndarray
        The feature map :math:`\mathcal F`, of ``sliding_partition(...).out_shape``.

    Examples
    --------
    A 3 x 3 mask of ones sums every pixel's neighbourhood, zeros outside the image:

    >>> import numpy as np
    >>> from sayedcnn import correlate
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> correlate(image, np.ones((3, 3)))
    array([[10., 18., 24., 18.],
           [27., 45., 54., 39.],
           [51., 81., 90., 63.],
           [42., 66., 72., 50.]])
    >>> correlate(image, np.ones((2, 2)), stride=2, padding="valid")   # 2 x 2 block sums
    array([[10., 18.],
           [42., 50.]])
    """
    image = as_float_array(image, "image", ndim=2, eq="47.1133")
    mask = as_float_array(mask, "mask W", ndim=2, eq="47.1133")
    part = sliding_partition(image.shape, mask.shape, stride=stride, padding=padding)
    H = patch_matrix(part.V, vec(image), part.S)  # (47.1157) H = [h_1 ... h_P]
    w = vec(mask)
    with np.errstate(over="ignore", invalid="ignore"):
        F = H.T @ w  # (47.1133) F(r,c) = h_{r,c}^T w
    if not np.all(np.isfinite(F)):
        # entries near the largest float: the same sums with image and mask divided by powers
        # of two (exact), the power put back at the end in one step
        ea = int(np.frexp(np.max(np.abs(image)))[1]) - 1
        eb = int(np.frexp(np.max(np.abs(w)))[1]) - 1
        with np.errstate(over="ignore", invalid="ignore"):
            F = np.ldexp((H / np.ldexp(1.0, ea)).T @ (w / np.ldexp(1.0, eb)), ea + eb)
        if not np.all(np.isfinite(F)):
            raise ValueError("the correlation F of the image with the mask W (47.1133) "
                             "overflows: some |F(r, c)| exceed the largest float64 (about "
                             "1.8e308)")
    return np.asarray(F).reshape(part.out_shape, order="F")  # unvec (47.1127)


def convolve(image, mask, padding="same"):
    r"""Two-dimensional convolution :math:`\mathcal I \star \mathcal W` (47.1139), by direct sums.

    .. math:: (\mathcal I \star \mathcal K)(r, c) = \sum_{k,\ell} \mathcal K(k,\ell)\,
              \mathcal I(r-k, c-\ell),

    with mask offsets measured from entry ``(kr//2, kc//2)`` (the centre of an odd mask; for
    an even mask, the image of correlate's centre ``(k-1)//2`` under the flip) and zeros
    outside the image. By (47.1139), ``convolve(I, flip_mask(W)) == correlate(I, W)`` for
    odd masks, and with this centre for even masks too. Implements (47.1139). Only unit
    stride and 'same' output size.

    Examples
    --------
    Convolving with the flipped mask is correlating with the mask (47.1139):

    >>> import numpy as np
    >>> from sayedcnn import convolve, correlate, flip_mask
    >>> rng = np.random.default_rng(0)
    >>> image, W = rng.standard_normal((5, 6)), rng.standard_normal((3, 3))
    >>> bool(np.allclose(convolve(image, flip_mask(W)), correlate(image, W), rtol=1e-12,
    ...                  atol=1e-12))
    True
    >>> convolve(np.eye(3), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[5., 2., 0.],
           [3., 5., 2.],
           [0., 3., 4.]])
    """
    if not (isinstance(padding, str) and padding == "same"):
        raise ValueError(f"convolve implements the book's 'same' form (47.1139), got {padding!r}")
    image = as_float_array(image, "image", ndim=2, eq="47.1139")
    K = as_float_array(mask, "mask", ndim=2, eq="47.1139")
    if image.size == 0 or K.size == 0:
        raise ValueError(f"image and mask must each have at least one entry (47.1139), got "
                         f"shapes {image.shape} and {K.shape}")
    rows, cols = image.shape
    kr, kc = K.shape
    cr, cc = kr - 1 - (kr - 1) // 2, kc - 1 - (kc - 1) // 2  # centre of the flipped frame
    out = np.zeros_like(image)
    for a in range(kr):
        for b in range(kc):
            k, l = a - cr, b - cc
            # out[r, c] += K[a, b] * I[r - k, c - l]
            r0, r1 = max(0, k), min(rows, rows + k)
            c0, c1 = max(0, l), min(cols, cols + l)
            if r0 < r1 and c0 < c1:
                out[r0:r1, c0:c1] += K[a, b] * image[r0 - k:r1 - k, c0 - l:c1 - l]
    return out


def sobel_masks():
    r"""The Sobel masks :math:`(\mathcal W_x, \mathcal W_y)` of (47.1140a).

    Implements (47.1140a): :math:`\mathcal W_y = \mathcal W_x^T`.

    Examples
    --------
    >>> from sayedcnn import sobel_masks
    >>> Wx, Wy = sobel_masks()
    >>> Wx
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    >>> bool((Wy == Wx.T).all())
    True
    """
    Wx = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return Wx, Wx.T.copy()


def prewitt_masks():
    r"""The Prewitt masks :math:`(\mathcal W_x, \mathcal W_y)` of (47.1140b).

    Implements (47.1140b): :math:`\mathcal W_y = \mathcal W_x^T`.

    Examples
    --------
    >>> from sayedcnn import prewitt_masks
    >>> Wx, Wy = prewitt_masks()
    >>> Wy
    array([[-1., -1., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  1.,  1.]])
    """
    Wx = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])
    return Wx, Wx.T.copy()


def gaussian_mask(K, sigma2, normalize=False, printed=False):
    r"""The Gaussian mask of (47.1135), size :math:`(2K+1) \times (2K+1)`.

    .. math:: \mathcal W(k,\ell) = \frac{1}{2\pi\sigma^2}
              e^{-(k^2+\ell^2)/(2\sigma^2)}, \quad k, \ell = -K..K

    The book prints the constant :math:`1/(\sqrt{2\pi}\,\sigma^2)` (erratum E-1135); a
    two-dimensional Gaussian is normalised by :math:`1/(2\pi\sigma^2)`, used here.
    ``printed=True`` returns the printed form; ``normalize=True`` instead rescales the
    entries to sum to one (the usual smoothing filter). Implements (47.1135).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import gaussian_mask
    >>> gaussian_mask(1, 1.0).round(4)
    array([[0.0585, 0.0965, 0.0585],
           [0.0965, 0.1592, 0.0965],
           [0.0585, 0.0965, 0.0585]])
    >>> round(float(gaussian_mask(1, 1.0)[1, 1] * 2 * np.pi), 12)     # 1/(2 pi sigma^2) at 0
    1.0
    >>> bool(np.isclose(gaussian_mask(2, 0.5, normalize=True).sum(), 1.0, rtol=1e-12))
    True
    """
    K = as_positive_int(K, "K, the half-width of the Gaussian mask", minimum=0, eq="47.1135",
                        maximum=4096)  # a (2K+1) x (2K+1) mask, at most 67 M entries
    sigma2 = as_real(sigma2, "sigma2 of the Gaussian mask", eq="47.1135", minimum=0,
                     strict=True)
    k = np.arange(-K, K + 1, dtype=float)
    const = np.sqrt(2 * np.pi) * sigma2 if printed else 2 * np.pi * sigma2  # E-1135
    W = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2.0 * sigma2)) / const  # (47.1135)
    if normalize:
        W = W / W.sum()
    return W


def edge_magnitude(image, masks=None):
    r"""Gradient magnitude :math:`\sqrt{\mathcal F_x^2 + \mathcal F_y^2}` (47.1141-47.1142).

    ``masks`` defaults to the Sobel pair (47.1140a); correlation is 'same' (47.1133).
    Implements (47.1141)-(47.1142).

    Examples
    --------
    A vertical edge between columns 1 and 2 (the zero padding adds edges at the border):

    >>> import numpy as np
    >>> from sayedcnn import edge_magnitude
    >>> image = np.zeros((4, 4))
    >>> image[:, 2:] = 1.0
    >>> edge_magnitude(image).round(3)
    array([[0.   , 3.162, 4.243, 4.243],
           [0.   , 4.   , 4.   , 4.   ],
           [0.   , 4.   , 4.   , 4.   ],
           [0.   , 3.162, 4.243, 4.243]])
    """
    if masks is None:
        Wx, Wy = sobel_masks()
    else:
        if isinstance(masks, np.ndarray) and masks.ndim == 3 and masks.shape[0] == 2:
            masks = tuple(masks)
        if not isinstance(masks, (tuple, list)) or len(masks) != 2:
            raise ValueError(f"masks must be a pair (W_x, W_y) of 2-D masks (47.1141), got "
                             f"{type(masks).__name__} of shape {np.shape(masks)}")
        Wx, Wy = masks
    Fx = correlate(image, Wx)  # (47.1141a)
    Fy = correlate(image, Wy)  # (47.1141b)
    with np.errstate(over="ignore"):
        G = np.sqrt(Fx**2 + Fy**2)  # (47.1142)
    if not np.all(np.isfinite(G)):
        with np.errstate(over="ignore"):
            G = np.hypot(Fx, Fy)  # (47.1142) without squaring entries near the largest float
        if not np.all(np.isfinite(G)):
            raise ValueError("the gradient magnitude sqrt(F_x^2 + F_y^2) (47.1142) exceeds the "
                             "largest float64 (about 1.8e308)")
    return G


# ---------------------------------------------------------------------------
# Partition matrices (47.1148-47.1153)
# ---------------------------------------------------------------------------


def partition_matrix(index_lists, M):
    r"""The partition matrix :math:`V` (``PS x M``, CSR) of (47.1149)/(47.1153).

    Row ``p*S + s`` of ``V`` is :math:`e_k^T` where ``k = index_lists[p][s]``, so that
    ``V @ h`` stacks the subvectors :math:`\mathrm{col}\{h_p\}` (47.1152). An index of
    ``-1`` stands for a zero-padded position and gives an all-zero row.

    Parameters
    ----------
    index_lists : sequence of P sequences of S ints
        0-based indices into a vector of length ``M`` (or -1 for padding).
    M : int
        Length of the partitioned vector.

    Returns
    -------
    scipy.sparse.csr_matrix, ``PS x M``

    Implements (47.1149), (47.1152), (47.1153).

    Examples
    --------
    The example of (47.1149): ``M = 6`` entries cut into ``P = 4`` subvectors of ``S = 3``,
    with the rows :math:`e_1, e_4, e_6 \mid e_2, e_5, e_4 \mid e_3, e_6, e_1 \mid e_2, e_4,
    e_1` of (47.1153) (0-based below):

    >>> import numpy as np
    >>> from sayedcnn import partition_matrix
    >>> V = partition_matrix([[0, 3, 5], [1, 4, 3], [2, 5, 0], [1, 3, 0]], 6)
    >>> V.toarray().astype(int)
    array([[1, 0, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0],
           [0, 0, 0, 0, 0, 1],
           [0, 1, 0, 0, 0, 0],
           [0, 0, 0, 0, 1, 0],
           [0, 0, 0, 1, 0, 0],
           [0, 0, 1, 0, 0, 0],
           [0, 0, 0, 0, 0, 1],
           [1, 0, 0, 0, 0, 0],
           [0, 1, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0],
           [1, 0, 0, 0, 0, 0]])
    >>> V @ np.arange(1.0, 7.0)          # the left side of (47.1149)
    array([1., 4., 6., 2., 5., 4., 3., 6., 1., 2., 4., 1.])
    """
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)):
        raise TypeError(f"M, the length of h (47.1148), must be an integer, got {M!r}")
    M = int(M)
    if M < 1:
        raise ValueError(f"M, the length of h (47.1148), must be >= 1, got {M}")
    try:
        idx = np.asarray(index_lists)
    except ValueError as exc:  # ragged
        raise ValueError(
            "index_lists must hold P lists of the same size S (47.1148)") from exc
    if idx.ndim != 2 or idx.size == 0:
        raise ValueError(
            f"index_lists must be P lists of S indices (47.1148), got shape {idx.shape}")
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"index_lists must hold integers (47.1153), got dtype {idx.dtype}")
    if idx.min() < -1 or idx.max() >= M:
        raise ValueError(
            f"indices in index_lists must lie in 0..M-1 = 0..{M - 1} (or -1 for padding) "
            f"(47.1153), got range {idx.min()}..{idx.max()}")
    flat = idx.reshape(-1)
    rows = np.flatnonzero(flat >= 0)
    return sp.csr_matrix((np.ones(rows.size), (rows, flat[rows])), shape=(flat.size, M))


@dataclass(frozen=True)
class SlidingPartition:
    r"""A sliding-window partition of a ``rows x cols`` map (47.1133, 47.1148).

    Built by :func:`sliding_partition`. Implements the partition (47.1148)-(47.1153) of
    the sliding windows of (47.1133).

    Attributes
    ----------
    V : scipy.sparse.csr_matrix
        The ``PS x M`` partition matrix (47.1152).
    index : ndarray of int, shape (P, S)
        ``index[p, s]`` is the entry of ``h`` read into position ``s`` of subvector ``p``,
        or -1 where the window covers padding.
    in_shape, out_shape, mask, stride : tuple of int
        The map, the output grid, the mask and the stride.
    pad_before, pad_after : tuple of int
        Zeros added before/after each axis.

    Examples
    --------
    >>> from sayedcnn import sliding_partition
    >>> part = sliding_partition((4, 4), 3)
    >>> part.in_shape, part.out_shape, part.pad_before, part.pad_after
    ((4, 4), (4, 4), (1, 1), (1, 1))
    >>> part.index[0]            # the window on pixel (0, 0): five entries lie on the padding
    array([-1, -1, -1, -1,  0,  1, -1,  4,  5])
    """

    V: sp.csr_matrix
    index: np.ndarray
    in_shape: tuple
    out_shape: tuple
    mask: tuple
    stride: tuple
    pad_before: tuple
    pad_after: tuple

    @property
    def P(self):
        r"""Number of subvectors (output positions), :math:`P` of (47.1148).

        Examples
        --------
        >>> from sayedcnn import sliding_partition
        >>> sliding_partition((5, 6), 3, stride=2).P     # 3 x 3 output positions
        9
        """
        return self.out_shape[0] * self.out_shape[1]

    @property
    def S(self):
        r"""Size of each subvector (mask entries), :math:`S` of (47.1148).

        Examples
        --------
        >>> from sayedcnn import sliding_partition
        >>> sliding_partition((5, 6), (3, 2)).S
        6
        """
        return self.mask[0] * self.mask[1]

    @property
    def M(self):
        r"""Length of the partitioned vector, :math:`M` of (47.1148).

        Examples
        --------
        >>> from sayedcnn import sliding_partition
        >>> sliding_partition((5, 6), 3).M
        30
        """
        return self.in_shape[0] * self.in_shape[1]


def _axis_geometry(L, k, s, padding, axis):
    """Padding before/after and number of outputs along one axis (docs/conventions.md,
    *Patches and partitions*)."""
    if padding == "same":
        before = (k - 1) // 2
        n_out = ceil(L / s)
    elif padding == "valid":
        before = 0
        if k > L:
            raise ValueError(
                f"mask size {k} along axis {axis} is larger than the map size {L} with "
                f"'valid' padding (47.1133)")
        n_out = (L - k) // s + 1
    else:
        before = int(padding)
        if k > L + 2 * before:
            raise ValueError(
                f"mask size {k} along axis {axis} is larger than the padded map "
                f"{L} + 2*{before} = {L + 2 * before} (47.1133)")
        n_out = (L + 2 * before - k) // s + 1
    after = max(0, (n_out - 1) * s + k - before - L)
    return before, after, n_out


def sliding_partition(in_shape, mask, stride=1, padding="same"):
    r"""Partition of a ``rows x cols`` map by a sliding mask (47.1133, 47.1148-47.1153).

    Output positions are enumerated column-major, ``p = r + c*out_rows``; each patch is
    read column-major over the mask offsets, ``s = a + b*mask_rows``; entry ``(r, c)`` of
    the map is entry ``r + c*rows`` of ``h = vec(map)``.

    Parameters
    ----------
    in_shape : (int, int)
        Map size ``rows x cols``.
    mask : int or (int, int)
        Mask size; odd, even or rectangular.
    stride : int or (int, int)
        Step between windows along each axis.
    padding : {"same", "valid"} or int or (int, int)
        ``"same"``: the book's choice (47.1129), the mask centred on pixels
        ``0, s, 2s, ...`` with ``(k-1)//2`` zeros before and the rest after, ``ceil(L/s)``
        outputs; ``"valid"``: no zeros; an integer: that many zeros on both sides.

    Returns
    -------
    SlidingPartition
        With ``V`` (``PS x M``), ``P``, ``S``, ``M``, ``out_shape``, ``index``.

    Implements (47.1149)-(47.1153) for the sliding windows of (47.1133).

    Examples
    --------
    A 2 x 2 mask over a 3 x 3 map without padding: four windows of four entries, each row of
    ``index`` listing the (0-based, column-major) entries of one window:

    >>> from sayedcnn import sliding_partition
    >>> part = sliding_partition((3, 3), 2, padding="valid")
    >>> part.P, part.S, part.M, part.V.shape
    (4, 4, 9, (16, 9))
    >>> part.index
    array([[0, 1, 3, 4],
           [1, 2, 4, 5],
           [3, 4, 6, 7],
           [4, 5, 7, 8]])
    >>> sliding_partition((28, 28), 5, stride=2).out_shape       # ceil(28/2) per axis
    (14, 14)
    """
    rows, cols = as_pair(in_shape, "in_shape", minimum=1, eq="47.1148")
    kr, kc = as_pair(mask, "mask", minimum=1, eq="47.1133")
    sr, sc = as_pair(stride, "stride", minimum=1, eq="47.1133")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same', 'valid' or an integer (47.1129), got "
                             f"{padding!r}")
        pr = pc = padding
    else:
        pr, pc = as_pair(padding, "padding", minimum=0, eq="47.1129")
    br, ar, nr = _axis_geometry(rows, kr, sr, pr, 0)
    bc, ac, nc = _axis_geometry(cols, kc, sc, pc, 1)
    # Top-left pixel of every window, output positions column-major: p = i + j*nr.
    i = np.arange(nr)[:, None] * sr - br  # (nr, 1)
    j = np.arange(nc)[None, :] * sc - bc  # (1, nc)
    a = np.arange(kr)
    b = np.arange(kc)
    # r[p, s], c[p, s] with p = i + j*nr (column-major) and s = a + b*kr (column-major).
    full = (nr, nc, kr, kc)
    r = np.broadcast_to(i[:, :, None, None] + a[None, None, :, None], full)
    c = np.broadcast_to(j[:, :, None, None] + b[None, None, None, :], full)
    r = r.transpose(1, 0, 3, 2).reshape(nr * nc, kr * kc)  # order (j, i) then (b, a)
    c = c.transpose(1, 0, 3, 2).reshape(nr * nc, kr * kc)
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    index = np.where(inside, r + c * rows, -1)
    V = partition_matrix(index, rows * cols)
    return SlidingPartition(V, index, (rows, cols), (nr, nc), (kr, kc), (sr, sc), (br, bc),
                            (ar, ac))


def patch_indicator(V, P, S):
    r"""The ``P x M`` matrix :math:`(I_P \otimes \mathbb 1_S^T) V` of (47.1150)-(47.1151).

    Row ``p`` has ones at the entries of ``h`` that belong to subvector ``p`` (an entry used
    twice by the same subvector counts twice). Implements (47.1151).

    Examples
    --------
    The matrix printed in (47.1151), from the partition of (47.1149):

    >>> from sayedcnn import partition_matrix, patch_indicator
    >>> V = partition_matrix([[0, 3, 5], [1, 4, 3], [2, 5, 0], [1, 3, 0]], 6)
    >>> patch_indicator(V, 4, 3).toarray().astype(int)
    array([[1, 0, 0, 1, 0, 1],
           [0, 1, 0, 1, 1, 0],
           [1, 0, 1, 0, 0, 1],
           [1, 1, 0, 1, 0, 0]])
    """
    P = as_positive_int(P, "P, the number of subvectors", eq="47.1151")
    S = as_positive_int(S, "S, the size of each subvector", eq="47.1151")
    V = _as_sparse(V, "V", "47.1151")
    if V.shape[0] != P * S:
        raise ValueError(f"V must have P*S = {P * S} rows (47.1151), got {V.shape[0]}")
    left = sp.kron(sp.identity(P, format="csr"), np.ones((1, S)), format="csr")  # (47.1150)
    return (left @ V).tocsr()  # (47.1151)


def patch_matrix(V, h, S):
    r"""The patch matrix :math:`H = [h_1\ h_2 \dots h_P]` (``S x P``) of (47.1157).

    Its columns are the subvectors of ``h`` produced by ``V`` (47.1152):
    :math:`\mathrm{vec}(H) = V h`. Validates, then :func:`patches`. Implements (47.1157) and
    (47.1211).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import patch_matrix, sliding_partition
    >>> part = sliding_partition((3, 3), 2, padding="valid")
    >>> patch_matrix(part.V, np.arange(9.0), part.S)   # columns: the four 2 x 2 windows
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    V = _as_sparse(V, "V", "47.1152")
    h = as_float_array(h, "h", eq="47.1152")
    if h.ndim != 1 or h.size != V.shape[1]:
        raise ValueError(
            f"h must be a vector of M = {V.shape[1]} entries (47.1152), got shape {h.shape}")
    S = as_positive_int(S, "S, the size of each subvector", eq="47.1152")
    if V.shape[0] % S:
        raise ValueError(f"V has {V.shape[0]} rows, not a multiple of S = {S} (47.1152)")
    return patches(V, h, S)


def sparse_apply(A, x):
    r"""``A @ x`` for a scipy.sparse ``A``; an object array ``x`` (symbols) is multiplied by the
    dense form, which scipy.sparse cannot do itself.

    Used for the products :math:`V h` (47.1152) and :math:`T y` (47.1202) of the listings.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import reversal_matrix
    >>> from sayedcnn.operators import sparse_apply
    >>> sparse_apply(reversal_matrix(3), np.array([1.0, 2.0, 3.0]))
    array([3., 2., 1.])
    >>> out = sparse_apply(reversal_matrix(3), np.array([1, 2, 3], dtype=object))
    >>> out.dtype, out.tolist()             # an object array stays one, exact
    (dtype('O'), [3, 2, 1])
    """
    if np.asarray(x).dtype == object and sp.issparse(A):
        return _object_product(A.tocsr(), x)
    return A @ x


def _object_product(A, x):
    """``A @ x`` row by row over the stored entries of a CSR ``A`` only, for an object array
    ``x``: no product by an exact zero is formed, and whole-number entries stay integers."""
    if np.ndim(x) != 1:
        return exact_dense(A) @ x
    out = np.empty(A.shape[0], dtype=object)
    for i in range(A.shape[0]):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        terms = [x[j] if v == 1 else (int(v) if v == round(v) else v) * x[j]
                 for j, v in zip(A.indices[lo:hi], A.data[lo:hi]) if v != 0]
        out[i] = sum(terms[1:], terms[0]) if terms else 0
    return out


def exact_dense(A):
    """The dense form of a sparse matrix for products with object arrays (symbols): a matrix of
    whole numbers (a partition, T, I (x) 1) becomes Python integers, so products stay exact."""
    D = A.toarray()
    if np.all(D == np.round(D)):
        return np.array([[int(v) for v in row] for row in D], dtype=object).reshape(D.shape)
    return D.astype(object)


def patches(V, h, S):
    r""":math:`H` with :math:`\mathrm{vec}(H) = V h` (47.1152), ``S x P``: the step of the
    listings, for checked input (any dtype, object arrays of symbols included).

    Implements (47.1152), (47.1157) without validation (see :func:`patch_matrix`).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import sliding_partition
    >>> from sayedcnn.operators import patches
    >>> part = sliding_partition((3, 3), 2, stride=(1, 2), padding="valid")
    >>> patches(part.V, np.arange(9), part.S)
    array([[0., 1.],
           [1., 2.],
           [3., 4.],
           [4., 5.]])
    """
    return sparse_apply(V, h).reshape((S, -1), order="F")  # vec(H) = V h (47.1152)


# ---------------------------------------------------------------------------
# V^(d,d',c+1) (47.1251-47.1257)
# ---------------------------------------------------------------------------


def V_ddc_skeleton(V_c, P_next, S_next):
    r"""The skeleton :math:`V_c^T (I_{P_{c+1}} \otimes \mathbb 1_{S_{c+1}})` of (47.1255).

    ``V_c`` is ``P_{c+1} S_{c+1} x P'_c``; the result is ``P'_c x P_{c+1}`` (CSR): entry
    ``(p', p)`` counts how often window ``p`` of layer ``c+1`` reads entry ``p'``.
    Implements (47.1255).

    Examples
    --------
    The 3 x 3 map and 2 x 2 'valid' windows of (47.1252)-(47.1256): the centre entry is read
    by all four windows.

    >>> from sayedcnn import V_ddc_skeleton, sliding_partition
    >>> part = sliding_partition((3, 3), 2, padding="valid")
    >>> V_ddc_skeleton(part.V, part.P, part.S).toarray().astype(int)
    array([[1, 0, 0, 0],
           [1, 1, 0, 0],
           [0, 1, 0, 0],
           [1, 0, 1, 0],
           [1, 1, 1, 1],
           [0, 1, 0, 1],
           [0, 0, 1, 0],
           [0, 0, 1, 1],
           [0, 0, 0, 1]])
    """
    V_c = _check_Vc(V_c, P_next, S_next)
    right = sp.kron(sp.identity(P_next, format="csr"), np.ones((S_next, 1)), format="csr")
    return (V_c.T @ right).tocsr()  # (47.1255)


def _as_sparse(V, name, eq):
    """A real, finite 2-D matrix (sparse or ndarray) as CSR of float64."""
    if not sp.issparse(V) and not isinstance(V, np.ndarray):
        raise TypeError(f"{name} must be a scipy.sparse matrix or ndarray ({eq}), got "
                        f"{type(V).__name__}")
    data = V.data if sp.issparse(V) else V
    as_float_array(data, name, eq=eq)  # dtype and NaN/inf
    if V.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix ({eq}), got shape {V.shape}")
    return sp.csr_matrix(V, dtype=float)


def _check_Vc(V_c, P_next, S_next):
    if not sp.issparse(V_c) and not isinstance(V_c, np.ndarray):
        raise TypeError(f"V_c must be a scipy.sparse matrix or ndarray, got {type(V_c).__name__}")
    V_c = _as_sparse(V_c, "V_c", "47.1252")
    for name, val in (("P_(c+1)", P_next), ("S_(c+1)", S_next)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)):
            raise TypeError(f"{name} must be an integer (47.1252), got {val!r}")
    P_next, S_next = int(P_next), int(S_next)
    if P_next < 1 or S_next < 1:
        raise ValueError(f"P_(c+1) and S_(c+1) must be >= 1 (47.1252), got {P_next}, {S_next}")
    if V_c.shape[0] != P_next * S_next:
        raise ValueError(
            f"V_c must be P_(c+1) S_(c+1) x P'_c with P_(c+1) S_(c+1) = {P_next}*{S_next} = "
            f"{P_next * S_next} rows (47.1252, erratum E-1252), got {V_c.shape[0]} x "
            f"{V_c.shape[1]}")
    return V_c


def V_ddc(V_c, w, P_next, S_next, literal=False):
    r"""The matrix :math:`V^{(d,d',c+1)}` (``P'_c x P_{c+1}``, CSR) of (47.1257).

    .. math::
        V^{(d,d',c+1)} = \Big(V_c^T \odot \big(\mathbb 1_{P'_c}\mathbb 1_{P_{c+1}}^T
        \otimes (w_d^{(d',c+1)})^T\big)\Big)\,(I_{P_{c+1}} \otimes \mathbb 1_{S_{c+1}})

    so that :math:`b_n^{(d,d',c)} = V^{(d,d',c+1)} \delta_n^{(d',c+1)}` (47.1258). The book
    prints :math:`\mathbb 1_{S_c}` in the last factor; the size of ``w`` and of the
    subvectors of layer ``c+1`` is :math:`S_{c+1}` (erratum E-1257).

    Parameters
    ----------
    V_c : sparse matrix or ndarray, ``P_{c+1} S_{c+1} x P'_c``
        Partition matrix of the pooled maps of layer ``c`` (47.1252).
    w : array, ``(S_{c+1},)``
        The mask :math:`w_d^{(d',c+1)}`.
    P_next, S_next : int
        :math:`P_{c+1}` and :math:`S_{c+1}`.
    literal : bool
        ``True`` forms the Kronecker factor :math:`\mathbb 1\mathbb 1^T \otimes w^T` in full
        (``P'_c x P_{c+1} S_{c+1}``, every entry stored) before the Hadamard product; the
        default uses that all its rows equal :math:`\mathbb 1_{P_{c+1}}^T \otimes w^T`, so the
        Hadamard product multiplies every row of :math:`V_c^T` by that one row, on its stored
        entries (see :func:`vddc_product`). Both are (47.1257) and give the same numbers.

    Returns
    -------
    scipy.sparse.csr_matrix, ``P'_c x P_{c+1}``

    Examples
    --------
    The 3 x 3 map, 2 x 2 mask and 'valid' windows of (47.1252)-(47.1256):

    >>> import numpy as np
    >>> from sayedcnn import V_ddc, sliding_partition
    >>> part = sliding_partition((3, 3), 2, padding="valid")
    >>> V_ddc(part.V, np.array([1.0, 2.0, 3.0, 4.0]), part.P, part.S).toarray()
    array([[1., 0., 0., 0.],
           [2., 1., 0., 0.],
           [0., 2., 0., 0.],
           [3., 0., 1., 0.],
           [4., 3., 2., 1.],
           [0., 4., 0., 2.],
           [0., 0., 3., 0.],
           [0., 0., 4., 3.],
           [0., 0., 0., 4.]])

    Implements (47.1256)-(47.1257).
    """
    V_c = _check_Vc(V_c, P_next, S_next)
    w = as_float_array(w, "w", ndim=1, eq="47.1257")
    if w.size != S_next:
        raise ValueError(f"w must have S_(c+1) = {S_next} entries (47.1257), got {w.size}")
    if literal:
        kron = sp.kron(np.ones((V_c.shape[1], P_next)), w.reshape(1, -1))  # 1 1^T (x) w^T
        ones_S = vddc_sums(P_next, S_next)  # I_{P_{c+1}} (x) 1_{S_{c+1}}
        return (V_c.T.multiply(kron) @ ones_S).tocsr()  # (47.1257)
    return vddc_product(V_c.T.tocsr(), w, S_next)  # (47.1257)


def vddc_sums(P_next, S_next):
    r"""The right factor :math:`I_{P_{c+1}} \otimes \mathbb 1_{S_{c+1}}` of (47.1257), CSR: it
    sums each run of :math:`S_{c+1}` columns.

    Implements the last factor of (47.1257) (erratum E-1257: size :math:`S_{c+1}`).

    Examples
    --------
    >>> from sayedcnn.operators import vddc_sums
    >>> vddc_sums(2, 3).toarray().astype(int)
    array([[1, 0],
           [1, 0],
           [1, 0],
           [0, 1],
           [0, 1],
           [0, 1]])
    """
    return sp.kron(sp.identity(P_next, format="csr"), np.ones((S_next, 1)), format="csr")


def vddc_product(V_cT, w, S_next):
    r""":math:`V^{(d,d',c+1)} = (V_c^T \odot (\mathbb 1\mathbb 1^T \otimes w^T))(I_{P_{c+1}}
    \otimes \mathbb 1_{S_{c+1}})` (47.1257) from ``V_cT`` = :math:`V_c^T` (CSR, built once per
    layer by the training listing). The step of the listing, for checked input.

    Column :math:`j = pS + s` of :math:`V_c^T` meets :math:`w(s)` in every row of
    :math:`\mathbb 1\mathbb 1^T \otimes w^T`, so the Hadamard product multiplies each stored
    entry by :math:`w(j \bmod S)`; the factor :math:`I \otimes \mathbb 1_S` then adds column
    :math:`j` into column :math:`p = \lfloor j/S \rfloor`. Object arrays (symbols) are
    multiplied densely, factor by factor. Implements (47.1257).

    Examples
    --------
    It agrees with the literal product of :func:`V_ddc`:

    >>> import numpy as np
    >>> from sayedcnn import V_ddc, sliding_partition
    >>> from sayedcnn.operators import vddc_product
    >>> part = sliding_partition((4, 4), 3)
    >>> w = np.random.default_rng(0).standard_normal(part.S)
    >>> fast = vddc_product(part.V.T.tocsr(), w, part.S)
    >>> full = V_ddc(part.V, w, part.P, part.S, literal=True)
    >>> fast.shape, bool(np.allclose(fast.toarray(), full.toarray(), rtol=1e-12, atol=0))
    ((16, 16), True)
    """
    if np.asarray(w).dtype == object:
        P_next = V_cT.shape[1] // S_next
        row = np.kron(np.ones(P_next), w)  # each row of 1 1^T (x) w^T
        return (exact_dense(V_cT) * row) @ exact_dense(vddc_sums(P_next, S_next))  # (47.1257)
    s, p = V_cT.indices % S_next, V_cT.indices // S_next  # column j = p S + s
    had = V_cT.data * w[s]  # V_c^T (.) (1 1^T (x) w^T), on the stored entries
    out = sp.csr_matrix((had, p, V_cT.indptr), shape=(V_cT.shape[0], V_cT.shape[1] // S_next))
    out.sum_duplicates()  # (...)(I (x) 1_S): the entries of one column p summed (47.1257)
    return out
