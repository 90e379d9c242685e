"""The chapter's linear operators (47.1127)-(47.1157) and V^(d,d',c+1) (47.1250)-(47.1257).

Every printed matrix of the worked examples is written out literally below (1-based in the
book, 0-based in code) and compared with what the package builds from the text's index lists.
Outside references: numpy/scipy Kronecker products, ``scipy.signal.correlate2d`` and direct
loops over the book's index equations.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.signal import correlate2d

from sayedcnn import (
    V_ddc,
    V_ddc_skeleton,
    commutation_matrix,
    convolve,
    correlate,
    edge_magnitude,
    flip_mask,
    gaussian_mask,
    partition_matrix,
    patch_indicator,
    patch_matrix,
    prewitt_masks,
    reversal_matrix,
    sliding_partition,
    sobel_masks,
    unvec,
    vec,
)

TOL = dict(rtol=1e-12, atol=1e-12)


def dense(A):
    return A.toarray() if sp.issparse(A) else np.asarray(A)


# ---------------------------------------------------------------------------
# vec / unvec (47.1127), Kronecker identity, commutation matrix
# ---------------------------------------------------------------------------


def test_eq_47_1127_vec_stacks_columns():
    """vec stacks columns: entry (r, c) of a rows x cols matrix lands at r + c*rows."""
    rows, cols = 3, 4
    A = np.arange(rows * cols, dtype=float).reshape(rows, cols) * 1.5 + 2.0
    v = vec(A)
    assert v.shape == (rows * cols,)
    for r in range(rows):
        for c in range(cols):
            assert v[r + c * rows] == A[r, c]
    assert_array_equal(vec(np.array([[1, 3], [2, 4]])), [1, 2, 3, 4])
    assert_array_equal(unvec(v, (rows, cols)), A)
    rng = np.random.default_rng(0)
    w = rng.standard_normal(rows * cols)
    assert_array_equal(vec(unvec(w, (rows, cols))), w)
    assert_array_equal(vec(sp.csr_matrix(A)), v)


def test_vec_unvec_errors():
    with pytest.raises(ValueError, match="47.1127"):
        vec(np.zeros(4))
    with pytest.raises(ValueError, match="rows\\*cols = 6"):
        unvec(np.zeros(5), (2, 3))


@pytest.mark.parametrize("use_sparse", [False, True])
def test_vec_kronecker_identity(use_sparse):
    """vec(A X B) = (B^T kron A) vec(X) for rectangular A (m x p), X (p x q), B (q x n)."""
    rng = np.random.default_rng(1)
    m, p, q, n = 3, 4, 5, 2
    A, X, B = (rng.standard_normal(s) for s in [(m, p), (p, q), (q, n)])
    K = sp.kron(sp.csr_matrix(B.T), sp.csr_matrix(A)) if use_sparse else np.kron(B.T, A)
    assert_allclose(K @ vec(X), vec(A @ X @ B), **TOL)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (4, 1), (5, 4)])
def test_commutation_matrix(shape):
    """vec(X^T) = K vec(X), K a permutation matrix."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal(shape)
    K = commutation_matrix(*shape)
    assert_allclose(K @ vec(X), vec(X.T), **TOL)
    Kd = dense(K)
    assert_array_equal(Kd @ Kd.T, np.eye(X.size))
    # and vec(X^T) is numpy's row-major flattening of X
    assert_array_equal(K @ vec(X), X.reshape(-1))


# ---------------------------------------------------------------------------
# Reversal matrix, flipped mask (47.1136)-(47.1139)
# ---------------------------------------------------------------------------


def test_eq_47_1137_reversal_matrix():
    """I~ of (47.1137): ones on the anti-diagonal, orthogonal and symmetric."""
    printed = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=float)
    assert_array_equal(dense(reversal_matrix(3)), printed)
    for n in (1, 2, 5):
        R = dense(reversal_matrix(n))
        assert_array_equal(R @ R.T, np.eye(n))
        assert_array_equal(R, R.T)
    with pytest.raises(ValueError, match="47.1137"):
        reversal_matrix(0)


@pytest.mark.parametrize("shape", [(3, 3), (2, 2), (3, 5), (4, 1)])
def test_eq_47_1138_flipped_mask(shape):
    """W# = I~ W I~ is W rotated by 180 degrees, W = I~ W# I~, and w# = I~' w (I~' of size S)."""
    rng = np.random.default_rng(3)
    W = rng.standard_normal(shape)
    Wf = flip_mask(W)
    assert_array_equal(Wf, np.rot90(W, 2))
    assert_array_equal(flip_mask(Wf), W)
    # (47.1136) entry by entry, offsets from the centre of an odd mask
    if shape[0] % 2 and shape[1] % 2:
        Kr, Kc = shape[0] // 2, shape[1] // 2
        for k in range(-Kr, Kr + 1):
            for l in range(-Kc, Kc + 1):
                assert Wf[k + Kr, l + Kc] == W[-k + Kr, -l + Kc]
    S = W.size
    assert_array_equal(dense(reversal_matrix(S)) @ vec(W), vec(Wf))
    assert_array_equal(dense(reversal_matrix(S)) @ vec(Wf), vec(W))


@pytest.mark.parametrize("mask_shape", [(3, 3), (5, 3), (1, 3), (2, 2), (4, 3)])
def test_eq_47_1139_correlation_is_convolution_with_flipped_mask(mask_shape):
    """correlate(I, W) = I * W# (47.1139); the book states it for odd masks; the package's
    centre convention ((k-1)//2 zeros before) makes it hold for even masks as well."""
    rng = np.random.default_rng(4)
    I = rng.standard_normal((6, 7))
    W = rng.standard_normal(mask_shape)
    assert_allclose(correlate(I, W), convolve(I, flip_mask(W)), **TOL)


@pytest.mark.parametrize("mask_shape", [(3, 5), (2, 4), (1, 2)])
def test_eq_47_1139_convolve_direct_sum(mask_shape):
    """(I * K)(r, c) = sum_{k,l} K(k, l) I(r-k, c-l), offsets k, l from entry
    (kr//2, kc//2) of K: the centre of an odd K."""
    rng = np.random.default_rng(5)
    I = rng.standard_normal((5, 6))
    Kmask = rng.standard_normal(mask_shape)
    Cr, Cc = mask_shape[0] // 2, mask_shape[1] // 2
    ref = np.zeros_like(I)
    for r in range(5):
        for c in range(6):
            for a in range(mask_shape[0]):
                for b in range(mask_shape[1]):
                    k, l = a - Cr, b - Cc
                    if 0 <= r - k < 5 and 0 <= c - l < 6:
                        ref[r, c] += Kmask[a, b] * I[r - k, c - l]
    assert_allclose(convolve(I, Kmask), ref, **TOL)
    with pytest.raises(ValueError, match="47.1139"):
        convolve(I, Kmask, padding="valid")


# ---------------------------------------------------------------------------
# Correlation (47.1133) against scipy.signal.correlate2d and a direct loop
# ---------------------------------------------------------------------------


def scipy_reference(I, W, stride, padding):
    """Strided correlation from scipy.signal.correlate2d (an outside reference)."""
    sr, sc = (stride, stride) if np.isscalar(stride) else stride
    if padding == "same":
        full = correlate2d(I, W, mode="same")  # centred mask, (k-1)//2 zeros before
    elif padding == "valid":
        full = correlate2d(I, W, mode="valid")
    else:
        pr, pc = (padding, padding) if np.isscalar(padding) else padding
        full = correlate2d(np.pad(I, ((pr, pr), (pc, pc))), W, mode="valid")
    return full[::sr, ::sc]


def loop_reference(I, W, stride, padding):
    """(47.1133) by a double loop: F(r, c) = sum_{k,l} I(r+k, c+l) W(k, l), zeros outside I.

    The window of output (i, j) starts at pixel (i*s_r - b_r, j*s_c - b_c), b = the zeros
    before; 'same' centres the mask, b = (k-1)//2 (for odd masks the book's k = -K..K)."""
    rows, cols = I.shape
    kr, kc = W.shape
    sr, sc = (stride, stride) if np.isscalar(stride) else stride
    if padding == "same":
        br, bc = (kr - 1) // 2, (kc - 1) // 2
        nr, nc = -(-rows // sr), -(-cols // sc)
    elif padding == "valid":
        br = bc = 0
        nr, nc = (rows - kr) // sr + 1, (cols - kc) // sc + 1
    else:
        br, bc = (padding, padding) if np.isscalar(padding) else padding
        nr, nc = (rows + 2 * br - kr) // sr + 1, (cols + 2 * bc - kc) // sc + 1
    F = np.zeros((nr, nc))
    for i in range(nr):
        for j in range(nc):
            for a in range(kr):
                for b in range(kc):
                    r, c = i * sr - br + a, j * sc - bc + b
                    if 0 <= r < rows and 0 <= c < cols:
                        F[i, j] += I[r, c] * W[a, b]
    return F


CORR_CASES = [
    (img, msk, stride, pad)
    for img, msk in [((7, 7), (3, 3)), ((6, 9), (3, 5)), ((8, 5), (2, 2)), ((5, 6), (4, 3)),
                     ((6, 6), (1, 1))]
    for stride in [1, 2, (1, 2), (2, 1)]
    for pad in ["same", "valid", 1, (2, 0)]
]


@pytest.mark.parametrize("img, msk, stride, pad", CORR_CASES)
def test_eq_47_1133_correlate_against_scipy_and_loops(img, msk, stride, pad):
    """F = correlate(I, W) equals scipy.signal.correlate2d and the loop over (47.1133)."""
    rng = np.random.default_rng(CORR_CASES.index((img, msk, stride, pad)))
    I = rng.standard_normal(img)
    W = rng.standard_normal(msk)
    F = correlate(I, W, stride=stride, padding=pad)
    assert_allclose(F, scipy_reference(I, W, stride, pad), **TOL)
    assert_allclose(F, loop_reference(I, W, stride, pad), **TOL)


def test_eq_47_1133_same_padding_keeps_size():
    """With unit stride and 'same' padding F is L x L like I (text after (47.1134))."""
    rng = np.random.default_rng(6)
    I = rng.standard_normal((9, 9))
    assert correlate(I, rng.standard_normal((5, 5))).shape == (9, 9)
    assert correlate(I, rng.standard_normal((5, 5)), stride=(2, 3)).shape == (5, 3)


# ---------------------------------------------------------------------------
# Masks (47.1135), (47.1140) and edges (47.1142)
# ---------------------------------------------------------------------------


def test_eq_47_1140_sobel_prewitt_as_printed():
    """The Sobel (47.1140a) and Prewitt (47.1140b) masks, written as printed."""
    Sx, Sy = sobel_masks()
    assert_array_equal(Sx, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert_array_equal(Sy, [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    Px, Py = prewitt_masks()
    assert_array_equal(Px, [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
    assert_array_equal(Py, [[-1, -1, -1], [0, 0, 0], [1, 1, 1]])


@pytest.mark.parametrize("K, sigma2", [(0, 1.0), (1, 0.5), (2, 2.0), (3, 1.3)])
def test_eq_47_1135_gaussian_mask(K, sigma2):
    """W(k, l) = exp(-(k^2 + l^2) / (2 sigma^2)) / (2 pi sigma^2), k, l = -K..K: the
    two-dimensional normalisation (the print's sqrt(2 pi) is erratum E-1135)."""
    W = gaussian_mask(K, sigma2)
    assert W.shape == (2 * K + 1, 2 * K + 1)
    for k in range(-K, K + 1):
        for l in range(-K, K + 1):
            expected = np.exp(-(k * k + l * l) / (2 * sigma2)) / (2 * np.pi * sigma2)
            assert_allclose(W[k + K, l + K], expected, rtol=1e-14, atol=0)
    assert_allclose(gaussian_mask(K, sigma2, normalize=True).sum(), 1.0, rtol=1e-13)
    with pytest.raises(ValueError, match="47.1135"):
        gaussian_mask(K, 0.0)


def test_eq_47_1142_edge_magnitude_step_image():
    """sqrt(F_x^2 + F_y^2) of a vertical step 0 | 1: zero on flat regions, 1+2+1 = 4 on the
    edge (Sobel F_x = 4, F_y = 0 there); the same with the Prewitt pair gives 3."""
    I = np.zeros((8, 10))
    I[:, 5:] = 1.0
    F = edge_magnitude(I)
    assert_allclose(F[:, :4], 0.0, atol=1e-15)  # flat zeros (and zero padding)
    assert_allclose(F[1:-1, 6:-1], 0.0, atol=1e-15)  # flat ones away from the border
    assert_allclose(F[1:-1, 4:6], 4.0, **TOL)
    assert_allclose(edge_magnitude(I, prewitt_masks())[1:-1, 4:6], 3.0, **TOL)


# ---------------------------------------------------------------------------
# Partition matrix (47.1149)-(47.1157)
# ---------------------------------------------------------------------------

# The subvectors of Fig. 47.87 (1-based in the book): {1,4,6}, {2,5,4}, {3,6,1}, {2,4,1}.
SUBVECTORS_1149 = [[1, 4, 6], [2, 5, 4], [3, 6, 1], [2, 4, 1]]

V_1149_PRINTED = np.array([
    [1, 0, 0, 0, 0, 0],
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
    [1, 0, 0, 0, 0, 0],
], dtype=float)

INDEX_1149_PRINTED = [1, 4, 6, 2, 5, 4, 3, 6, 1, 2, 4, 1]

INDICATOR_1151_PRINTED = np.array([
    [1, 0, 0, 1, 0, 1],
    [0, 1, 0, 1, 1, 0],
    [1, 0, 1, 0, 0, 1],
    [1, 1, 0, 1, 0, 0],
], dtype=float)


def book_to_code(lists):
    return [[k - 1 for k in sub] for sub in lists]


def test_eq_47_1149_partition_matrix():
    """V of (47.1149)/(47.1153) from the subvectors of Fig. 47.87, and V [1..6] = the printed
    index vector. V is PS x M = 12 x 6 (the label under (47.1149) reads P x M; (47.1153)
    has PS x M)."""
    V = partition_matrix(book_to_code(SUBVECTORS_1149), 6)
    assert sp.isspmatrix_csr(V)
    assert V.shape == (4 * 3, 6)
    assert_array_equal(dense(V), V_1149_PRINTED)
    assert_array_equal(V @ np.arange(1.0, 7.0), INDEX_1149_PRINTED)


def test_eq_47_1153_rows_are_basis_vectors():
    """V = col{e_1^T, e_4^T, e_6^T, e_2^T, ...}: row p*S + s is e_{index[p][s]}^T."""
    idx = book_to_code(SUBVECTORS_1149)
    V = dense(partition_matrix(idx, 6))
    E = np.eye(6)
    for p in range(4):
        for s in range(3):
            assert_array_equal(V[p * 3 + s], E[idx[p][s]])


def test_eq_47_1151_patch_indicator():
    """(I_4 kron 1_3^T) V is the printed 4 x 6 matrix (47.1151); (47.1150) is P x PS."""
    V = partition_matrix(book_to_code(SUBVECTORS_1149), 6)
    assert_array_equal(dense(patch_indicator(V, 4, 3)), INDICATOR_1151_PRINTED)
    left = np.kron(np.eye(4), np.ones((1, 3)))  # (47.1150)
    assert left.shape == (4, 12)
    assert_array_equal(left @ V_1149_PRINTED, INDICATOR_1151_PRINTED)
    with pytest.raises(ValueError, match="47.1151"):
        patch_indicator(V, 4, 2)


def test_eq_47_1157_patch_matrix_columns_are_subvectors():
    """H = [h_1 ... h_P] (S x P) with h_p = h(index_p), i.e. vec(H) = V h (47.1152)."""
    rng = np.random.default_rng(7)
    h = rng.standard_normal(6)
    idx = book_to_code(SUBVECTORS_1149)
    V = partition_matrix(idx, 6)
    H = patch_matrix(V, h, 3)
    assert H.shape == (3, 4)
    for p in range(4):
        assert_array_equal(H[:, p], h[idx[p]])
    assert_array_equal(vec(H), V @ h)
    with pytest.raises(ValueError, match="M = 6"):
        patch_matrix(V, h[:5], 3)
    with pytest.raises(ValueError, match="multiple of S = 5"):
        patch_matrix(V, h, 5)


def test_partition_matrix_padding_rows_are_zero():
    """An index of -1 marks a zero-padded position: its row of V is all zero."""
    idx = [[0, -1, 2], [-1, -1, 1], [3, 3, 0]]
    V = dense(partition_matrix(idx, 4))
    E = np.eye(4)
    for p, sub in enumerate(idx):
        for s, k in enumerate(sub):
            assert_array_equal(V[p * 3 + s], np.zeros(4) if k < 0 else E[k])


def test_partition_matrix_errors():
    with pytest.raises(ValueError, match=r"0\.\.M-1 = 0\.\.5"):
        partition_matrix([[0, 6]], 6)
    with pytest.raises(ValueError, match=r"0\.\.M-1"):
        partition_matrix([[0, -2]], 6)
    with pytest.raises(ValueError, match="47.1148"):
        partition_matrix([0, 1, 2], 6)
    with pytest.raises(TypeError, match="integers"):
        partition_matrix([[0.0, 1.0]], 6)
    with pytest.raises(ValueError, match="M, the length of h"):
        partition_matrix([[0]], 0)


# ---------------------------------------------------------------------------
# Sliding partitions
# ---------------------------------------------------------------------------

SLIDE_CASES = [
    ((5, 5), (3, 3), 1, "same"),
    ((6, 7), (3, 3), 2, "same"),
    ((6, 7), (2, 2), 1, "same"),
    ((7, 4), (4, 3), (2, 1), "same"),
    ((6, 5), (3, 2), (1, 2), "valid"),
    ((6, 6), (3, 3), 2, 1),
    ((4, 6), (2, 3), (2, 1), (1, 2)),
    ((3, 3), (5, 5), 1, "same"),  # mask bigger than the map: 'same' still centres it
    ((3, 4), (2, 2), 1, 3),  # padding wider than the mask: whole windows of zeros
]


def expected_geometry(L, k, s, pad):
    """Zeros before and number of outputs along one axis (docs/conventions.md, *Patches and partitions*)."""
    if pad == "same":
        return (k - 1) // 2, -(-L // s)  # ceil(L/s)
    if pad == "valid":
        return 0, (L - k) // s + 1
    return pad, (L + 2 * pad - k) // s + 1


@pytest.mark.parametrize("in_shape, mask, stride, pad", SLIDE_CASES)
def test_eq_47_1153_sliding_partition_convention(in_shape, mask, stride, pad):
    """index[p, s] with p = i + j*out_rows and s = a + b*mask_rows is the entry
    r + c*rows of h = vec(map) read at pixel (i s_r - b_r + a, j s_c - b_c + b), -1 outside;
    V is P S x M, its rows basis vectors or zero."""
    rows, cols = in_shape
    kr, kc = mask
    sr, sc = (stride, stride) if np.isscalar(stride) else stride
    pr, pc = (pad, pad) if isinstance(pad, (str, int)) else pad
    br, nr = expected_geometry(rows, kr, sr, pr)
    bc, nc = expected_geometry(cols, kc, sc, pc)
    part = sliding_partition(in_shape, mask, stride, pad)
    assert part.out_shape == (nr, nc)
    assert (part.P, part.S, part.M) == (nr * nc, kr * kc, rows * cols)
    assert part.V.shape == (part.P * part.S, part.M)
    assert part.pad_before == (br, bc)
    for j in range(nc):
        for i in range(nr):
            for b in range(kc):
                for a in range(kr):
                    r, c = i * sr - br + a, j * sc - bc + b
                    want = r + c * rows if (0 <= r < rows and 0 <= c < cols) else -1
                    assert part.index[i + j * nr, a + b * kr] == want
    Vd = dense(part.V)
    assert set(np.unique(Vd)) <= {0.0, 1.0}
    assert np.all(Vd.sum(axis=1) == (part.index.reshape(-1) >= 0))
    assert_array_equal(dense(partition_matrix(part.index, part.M)), Vd)


@pytest.mark.parametrize("in_shape, mask, stride, pad", SLIDE_CASES)
def test_eq_47_1158_H_transpose_w_is_correlation(in_shape, mask, stride, pad):
    """H^T w (47.1158 without f and theta) is vec of the correlation of the map (47.1133)."""
    rng = np.random.default_rng(8)
    I = rng.standard_normal(in_shape)
    W = rng.standard_normal(mask)
    part = sliding_partition(in_shape, mask, stride, pad)
    H = patch_matrix(part.V, vec(I), part.S)
    assert_allclose(unvec(H.T @ vec(W), part.out_shape), loop_reference(I, W, stride, pad),
                    **TOL)
    assert_allclose(unvec(H.T @ vec(W), part.out_shape), scipy_reference(I, W, stride, pad),
                    **TOL)


def test_sliding_partition_padded_rows_are_zero():
    """With zero padding the rows of V for positions outside the map are all zero, the
    others basis vectors (47.1153)."""
    part = sliding_partition((4, 5), (3, 3), 1, "same")
    Vd = dense(part.V)
    flat = part.index.reshape(-1)
    assert np.any(flat < 0)
    assert_array_equal(Vd[flat < 0], 0.0)
    assert_array_equal(Vd[flat >= 0], np.eye(part.M)[flat[flat >= 0]])


def test_sliding_partition_errors():
    with pytest.raises(ValueError, match="larger than the map size 3"):
        sliding_partition((3, 3), (5, 5), padding="valid")
    with pytest.raises(ValueError, match="larger than the padded map"):
        sliding_partition((3, 3), (6, 6), padding=1)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        sliding_partition((5, 5), 3, stride=0)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        sliding_partition((5, 5), 3, stride=(1, 0))
    with pytest.raises(ValueError, match="padding must be 'same', 'valid' or an integer"):
        sliding_partition((5, 5), 3, padding="full")
    with pytest.raises(ValueError, match="padding must be >= 0"):
        sliding_partition((5, 5), 3, padding=-1)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        sliding_partition((5, 5), 3, padding=(1, -1))
    with pytest.raises(ValueError, match="mask must be >= 1"):
        sliding_partition((5, 5), 0)


# ---------------------------------------------------------------------------
# The worked example of (47.1251)-(47.1256): V_c and V^(d,d',c+1)
# ---------------------------------------------------------------------------

# Subvectors of Fig. 47.99 (1-based): {1,3}, {4,2}, {5,1}, {6,2}; P_{c+1} = 4, S_{c+1} = 2.
SUBVECTORS_1252 = [[1, 3], [4, 2], [5, 1], [6, 2]]

V_C_1252_PRINTED = np.array([
    [1, 0, 0, 0, 0, 0],
    [0, 0, 1, 0, 0, 0],
    [0, 0, 0, 1, 0, 0],
    [0, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0],
    [1, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 1],
    [0, 1, 0, 0, 0, 0],
], dtype=float)

INDEX_1253_PRINTED = [1, 3, 4, 2, 5, 1, 6, 2]

INDICATOR_1254_PRINTED = np.array([
    [1, 0, 1, 0, 0, 0],
    [0, 1, 0, 1, 0, 0],
    [1, 0, 0, 0, 1, 0],
    [0, 1, 0, 0, 0, 1],
], dtype=float)

SKELETON_1255_PRINTED = np.array([
    [1, 0, 1, 0],
    [0, 1, 0, 1],
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
], dtype=float)


def printed_1256(w1, w2):
    """The 6 x 4 matrix printed in (47.1251) and (47.1256)."""
    return np.array([
        [w1, 0, w2, 0],
        [0, w2, 0, w2],
        [w2, 0, 0, 0],
        [0, w1, 0, 0],
        [0, 0, w1, 0],
        [0, 0, 0, w1],
    ])


def V_c_1252():
    return partition_matrix(book_to_code(SUBVECTORS_1252), 6)


def test_eq_47_1252_V_c():
    """V_c (8 x 6) of (47.1252) from the subvectors {1,3}, {4,2}, {5,1}, {6,2}."""
    V_c = V_c_1252()
    assert V_c.shape == (4 * 2, 6)  # P_{c+1} S_{c+1} x P'_c
    assert_array_equal(dense(V_c), V_C_1252_PRINTED)


def test_eq_47_1253_index_vector():
    """[1 3 4 2 5 1 6 2]^T = V_c [1 .. 6]^T (47.1253)."""
    assert_array_equal(V_c_1252() @ np.arange(1.0, 7.0), INDEX_1253_PRINTED)


def test_eq_47_1254_indicator():
    """(I_4 kron 1_2)^T V_c is the printed 4 x 6 matrix (47.1254)."""
    assert_array_equal(dense(patch_indicator(V_c_1252(), 4, 2)), INDICATOR_1254_PRINTED)
    assert_array_equal(np.kron(np.eye(4), np.ones((2, 1))).T @ V_C_1252_PRINTED,
                       INDICATOR_1254_PRINTED)


def test_eq_47_1255_skeleton():
    """V_c^T (I_4 kron 1_2) is the printed 6 x 4 skeleton (47.1255), the transpose of (47.1254)."""
    S = dense(V_ddc_skeleton(V_c_1252(), 4, 2))
    assert_array_equal(S, SKELETON_1255_PRINTED)
    assert_array_equal(S, INDICATOR_1254_PRINTED.T)


@pytest.mark.parametrize("literal", [False, True])
def test_eq_47_1256_V_ddc_worked_example(literal):
    """(V_c^T (.) (1_6 1_4^T kron w^T)) (I_4 kron 1_2) is the printed 6 x 4 matrix of (47.1251)
    and (47.1256), for random (w1, w2). Checked by hand: subvector i = 1 reads t(1), t(3) into
    positions (w1, w2), so column 1 has w1 at row 1 and w2 at row 3; likewise columns 2-4
    (t(4), t(2)), (t(5), t(1)), (t(6), t(2)): the print agrees with (47.1252)."""
    rng = np.random.default_rng(9)
    w1, w2 = rng.standard_normal(2)
    B = V_ddc(V_c_1252(), [w1, w2], 4, 2, literal=literal)
    assert sp.isspmatrix_csr(B)
    assert B.shape == (6, 4)  # P'_c x P_{c+1}
    assert_allclose(dense(B), printed_1256(w1, w2), rtol=0, atol=0)
    # the printed formula with dense numpy Kronecker products
    literal_dense = (V_C_1252_PRINTED.T * np.kron(np.ones((6, 4)), np.array([[w1, w2]]))) @ \
        np.kron(np.eye(4), np.ones((2, 1)))
    assert_allclose(literal_dense, printed_1256(w1, w2), rtol=0, atol=0)


def test_eq_47_1257_literal_and_pattern_forms_agree():
    """V_ddc(literal=True), the Kronecker factor formed in full, equals the pattern form."""
    rng = np.random.default_rng(10)
    for _trial in range(5):
        P_next, S_next, Pp = rng.integers(1, 6), rng.integers(1, 5), rng.integers(1, 9)
        idx = rng.integers(-1, Pp, size=(P_next, S_next))
        V_c = partition_matrix(idx, Pp)
        w = rng.standard_normal(S_next)
        a = dense(V_ddc(V_c, w, P_next, S_next, literal=True))
        b = dense(V_ddc(V_c, w, P_next, S_next, literal=False))
        assert_array_equal(a, b)
        assert_allclose(b, (dense(V_c).T * np.kron(np.ones((Pp, P_next)), w[None, :]))
                        @ np.kron(np.eye(P_next), np.ones((S_next, 1))), **TOL)


def b_by_loops(index, w, delta, Pp):
    """b(p'') = sum_i delta(i) dz(i)/dt(p'') (47.1250), with z(i) = sum_s t(index[i, s]) w(s)
    (a padded position contributes 0), so dz(i)/dt(p'') = sum_{s: index[i, s] = p''} w(s)."""
    P_next, S_next = index.shape
    b = np.zeros(Pp)
    for pp in range(Pp):
        for i in range(P_next):
            dz_dt = 0.0
            for s in range(S_next):
                if index[i, s] == pp:
                    dz_dt += w[s]
            b[pp] += delta[i] * dz_dt
    return b


def random_index(rng, P_next, S_next, Pp, pad):
    lo = -1 if pad else 0
    return rng.integers(lo, Pp, size=(P_next, S_next))


@pytest.mark.parametrize("pad", [False, True])
def test_eq_47_1258_V_ddc_delta_is_sum_1250_random(pad):
    """b = V^(d,d',c+1) delta (47.1258) equals the sum (47.1250) for random, overlapping
    (entries shared by several subvectors, or repeated) and padded partitions."""
    rng = np.random.default_rng(11 + pad)
    for _trial in range(12):
        P_next, S_next, Pp = (int(x) for x in (rng.integers(1, 7), rng.integers(1, 5),
                                               rng.integers(1, 10)))
        index = random_index(rng, P_next, S_next, Pp, pad)
        V_c = partition_matrix(index, Pp)
        w, delta = rng.standard_normal(S_next), rng.standard_normal(P_next)
        b = b_by_loops(index, w, delta, Pp)
        for literal in (False, True):
            assert_allclose(V_ddc(V_c, w, P_next, S_next, literal=literal) @ delta, b, **TOL)


@pytest.mark.parametrize("in_shape, mask, stride, pad", SLIDE_CASES[:7])
def test_eq_47_1258_V_ddc_delta_sliding_partitions(in_shape, mask, stride, pad):
    """The same for the sliding-window partitions of a pooled map, padded ones included."""
    rng = np.random.default_rng(12)
    part = sliding_partition(in_shape, mask, stride, pad)
    w, delta = rng.standard_normal(part.S), rng.standard_normal(part.P)
    b = b_by_loops(part.index, w, delta, part.M)
    assert_allclose(V_ddc(part.V, w, part.P, part.S) @ delta, b, **TOL)
    # and b is the adjoint of z = H^T w: b = d(w^T H delta)/dt, i.e. V^T (delta kron w)
    assert_allclose(part.V.T @ np.kron(delta, w), b, **TOL)


def test_eq_47_1252_V_ddc_dimension_errors():
    """V_c has P_{c+1} S_{c+1} rows (the print's P_{c+1} S_c label fails when S_c != S_{c+1});
    w has S_{c+1} entries."""
    rng = np.random.default_rng(13)
    P_next, S_c, S_next, Pp = 4, 3, 2, 6
    V_c_printed_label = partition_matrix(rng.integers(0, Pp, size=(P_next, S_c)), Pp)
    assert V_c_printed_label.shape == (P_next * S_c, Pp)
    with pytest.raises(ValueError, match="47.1252"):
        V_ddc(V_c_printed_label, rng.standard_normal(S_next), P_next, S_next)
    with pytest.raises(ValueError, match="47.1252"):
        V_ddc_skeleton(V_c_printed_label, P_next, S_next)
    with pytest.raises(ValueError, match=r"S_\(c\+1\) = 2 entries \(47.1257\), got 3"):
        V_ddc(V_c_1252(), [1.0, 2.0, 3.0], 4, 2)
    with pytest.raises(TypeError, match="V_c must be"):
        V_ddc([[1.0]], [1.0], 1, 1)
    with pytest.raises(ValueError, match="contains NaN"):
        V_ddc(V_c_1252(), [1.0, np.nan], 4, 2)


# ---------------------------------------------------------------------------
# Boundaries and corner cases (each one a mutant the tests above let through)
# ---------------------------------------------------------------------------


def _operator_bad_calls():
    from sayedcnn import operators as op

    part = sliding_partition((3, 3), 2, padding="valid")
    return [
        (lambda: op.correlate(np.ones(4), np.ones((2, 2))), ValueError,
         r"^image must be 2-dimensional \(47\.1133\), got shape \(4,\)$"),
        (lambda: op.correlate(np.ones((4, 4)), np.ones(4)), ValueError,
         r"^mask W must be 2-dimensional \(47\.1133\), got shape \(4,\)$"),
        (lambda: op.correlate(np.ones((4, 4)), "W"), TypeError,
         r"^mask W must be a real numeric array \(47\.1133\), got a string$"),
        (lambda: op.convolve(np.ones(4), np.ones((2, 2))), ValueError,
         r"^image must be 2-dimensional \(47\.1139\), got shape \(4,\)$"),
        (lambda: op.convolve(np.ones((4, 4)), np.ones(4)), ValueError,
         r"^mask must be 2-dimensional \(47\.1139\), got shape \(4,\)$"),
        (lambda: op.commutation_matrix(2, 0), ValueError,
         r"^cols of X must be >= 1 \(47\.1127\), got 0$"),
        (lambda: op.edge_magnitude(np.ones((3, 3)), [np.ones((3, 3))] * 3), ValueError,
         r"^masks must be a pair \(W_x, W_y\) of 2-D masks \(47\.1141\), got list of shape "
         r"\(3, 3, 3\)$"),
        (lambda: op.edge_magnitude(np.full((1, 1), 1.5e308), (np.ones((1, 1)),) * 2), ValueError,
         r"^the gradient magnitude sqrt\(F_x\^2 \+ F_y\^2\) \(47\.1142\) exceeds the largest "
         r"float64 \(about 1\.8e308\)$"),
        (lambda: op.correlate(np.full((3, 3), 1e308), np.full((3, 3), 1e10)), ValueError,
         r"^the correlation F of the image with the mask W \(47\.1133\) overflows: some "
         r"\|F\(r, c\)\| exceed the largest float64 \(about 1\.8e308\)$"),
        (lambda: op.partition_matrix([[0, 1], [2]], 3), ValueError,
         r"^index_lists must hold P lists of the same size S \(47\.1148\)$"),
        (lambda: sliding_partition((3, 4), (2, 5), padding="valid"), ValueError,
         r"^mask size 5 along axis 1 is larger than the map size 4 with 'valid' padding "
         r"\(47\.1133\)$"),
        (lambda: op.patch_indicator(part.V, part.P, 0), ValueError,
         r"^S, the size of each subvector must be >= 1 \(47\.1151\), got 0$"),
        (lambda: op.patch_indicator([[1.0]], 1, 1), TypeError,
         r"^V must be a scipy\.sparse matrix or ndarray \(47\.1151\), got list$"),
        (lambda: op.patch_matrix(np.ones(3), np.ones(3), 1), ValueError,
         r"^V must be a 2-D matrix \(47\.1152\), got shape \(3,\)$"),
        (lambda: op.patch_matrix(np.ones((3, 2)), np.ones(2), 2), ValueError,
         r"^V has 3 rows, not a multiple of S = 2 \(47\.1152\)$"),
        (lambda: op.patch_matrix(np.ones((2, 2)), np.ones(2), 2.0), TypeError,
         r"^S, the size of each subvector must be an integer \(47\.1152\)"),
        (lambda: op.V_ddc(part.V, np.ones(4), part.P, 4.0), TypeError,
         r"^S_\(c\+1\) must be an integer \(47\.1252\), got 4\.0$"),
        (lambda: op.V_ddc(part.V, np.ones((1, 4)), part.P, part.S), ValueError,
         r"^w must be 1-dimensional \(47\.1257\), got shape \(1, 4\)$"),
    ]


@pytest.mark.parametrize("call, exc, pattern", _operator_bad_calls())
def test_operator_errors_name_the_quantity_the_expectation_and_the_equation(call, exc, pattern):
    """Each message names the quantity and its equation; numpy warns about nothing on the way
    (the overflow checks run with numpy's overflow and invalid warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(exc, match=pattern):
            call()


def test_correlate_near_the_largest_float_is_exact_and_silent():
    """Entries whose products overflow are summed after exact rescaling by powers of two
    (47.1133): the result is the exact value, and numpy warns about nothing."""
    from sayedcnn.operators import correlate

    big = np.ldexp(1.0, 1000)  # 2^1000: products 2^1000 * 2^20 overflow float64
    image = np.array([[big, big / 2], [big / 4, -big / 8]])
    mask = np.array([[np.ldexp(1.0, 20), 3.0], [0.5, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F = correlate(image, mask, padding="valid")
    want = big * 2.0**20 + big / 2 * 3.0 + big / 4 * 0.5 - big / 8  # well below 1.8e308
    assert F.shape == (1, 1) and F[0, 0] == want
    cancel = np.array([[big, big / 4], [-big / 2, -big / 8]])  # inf - inf before rescaling
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F = correlate(cancel, np.array([[2.0**20, 0.5], [2.0**21, 1.0]]), padding="valid")
    assert F[0, 0] == 0.0
    # products of 2^1024 that cancel: the direct sum is inf - inf, the exact one 2^1002
    image = np.array([[2.0**1022, -(2.0**1022), 2.0**1000]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F = correlate(image, np.full((1, 3), 4.0), padding="valid")
    assert F[0, 0] == 2.0**1002
    tiny = np.array([[1e300, 0.0], [0.0, 1e-300]])  # far apart: direct sums, no rescaling
    assert_array_equal(correlate(tiny, np.ones((1, 1))), tiny)


def test_edge_magnitude_of_two_positive_correlations():
    """sqrt(F_x^2 + F_y^2) (47.1142) with F_x = F_y > 0 everywhere is sqrt(2) F_x."""
    from sayedcnn.operators import correlate, edge_magnitude

    image, W = np.arange(1.0, 10.0).reshape(3, 3), np.ones((2, 2))
    F = correlate(image, W)
    assert (F > 0).all()
    assert_allclose(edge_magnitude(image, (W, W)), np.sqrt(2.0) * F, rtol=1e-15)


def test_convolve_a_one_entry_image_and_a_mask_larger_than_the_image():
    """(47.1139) by its sum, against loops, where the mask overhangs the image on every side."""
    from sayedcnn.operators import convolve

    assert_array_equal(convolve(np.array([[2.0]]), np.array([[3.0]])), [[6.0]])
    rng = np.random.default_rng(3)
    image, K = rng.standard_normal((3, 4)), rng.standard_normal((11, 6))
    rows, cols = image.shape
    kr, kc = K.shape
    cr, cc = kr - 1 - (kr - 1) // 2, kc - 1 - (kc - 1) // 2
    want = np.zeros_like(image)
    for r in range(rows):
        for c in range(cols):
            for a in range(kr):
                for b in range(kc):
                    i, j = r - (a - cr), c - (b - cc)
                    if 0 <= i < rows and 0 <= j < cols:
                        want[r, c] += K[a, b] * image[i, j]
    assert_allclose(convolve(image, K), want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("in_shape, mask, stride, padding, before, after", [
    ((5, 5), 3, 2, "same", (1, 1), (1, 1)),
    ((5, 4), 2, 2, "valid", (0, 0), (0, 0)),
    ((4, 7), (3, 2), (1, 3), 1, (1, 1), (1, 0)),
    ((6, 6), 4, 1, "same", (1, 1), (2, 2)),
])
def test_padding_before_and_after_each_axis(in_shape, mask, stride, padding, before, after):
    """The zeros added before and after each axis (docs/conventions.md, *Patches and
    partitions*): the last window ends at (n_out - 1) s + k - before."""
    part = sliding_partition(in_shape, mask, stride=stride, padding=padding)
    assert part.pad_before == before and part.pad_after == after


def test_products_with_symbols_stay_exact():
    """sparse_apply on object arrays: only the stored nonzeros enter, a coefficient 1 adds the
    symbol itself, whole numbers stay integers, an empty row is 0; a matrix argument goes
    through the exact dense form."""
    sympy = pytest.importorskip("sympy")
    from sayedcnn.operators import exact_dense, sparse_apply

    x = np.array(sympy.symbols("x0:4"), dtype=object)
    A = sp.csr_matrix(np.array([[1.0, 2.0, 0.0, 0.5],
                                [0.0, 0.0, 0.0, 0.0],
                                [3.0, 1.0, 1.0, 0.0]]))
    A.data[1] = 2.0
    out = sparse_apply(A, x)
    assert out.dtype == object and out.shape == (3,)
    assert out[0] == x[0] + 2 * x[1] + 0.5 * x[3] and out[1] == 0
    assert out[2] == 3 * x[0] + x[1] + x[2]
    assert isinstance(out[2].coeff(x[0]), sympy.Integer)
    X2 = np.stack([x, x]).T  # 4 x 2
    assert all(sympy.expand(a - b) == 0 for a, b in zip(sparse_apply(A, X2)[:, 1], out))
    D = exact_dense(sp.csr_matrix(np.array([[1.0, 0.0, 2.0]])))
    assert D.shape == (1, 3) and D.dtype == object and all(type(v) is int for v in D[0])
    H = exact_dense(sp.csr_matrix(np.array([[0.5, 1.0]])))
    assert H.dtype == object and H[0, 0] == 0.5


def test_structure_matrices_are_csr_of_floats():
    """patch_indicator (47.1150), the skeleton (47.1255) and I (x) 1_S (47.1257) are CSR."""
    from sayedcnn.operators import V_ddc_skeleton, patch_indicator, vddc_sums

    part = sliding_partition((3, 3), 2, padding="valid")
    V_int = part.V.astype(np.int64)
    for M in (patch_indicator(V_int, part.P, part.S), V_ddc_skeleton(part.V, part.P, part.S),
              vddc_sums(part.P, part.S)):
        assert M.format == "csr" and M.dtype == np.float64
