"""Pooling (Tables 47.12-47.14), gradient vectors (47.1196), upv (47.1200), T (47.1201)-(47.1204).

Pool values are checked against direct loops over Table 47.13, gradient vectors against
central finite differences, permute#(upv(v)) against the transposed Jacobian, and the worked
examples (47.1201), (47.1240), (47.1259) and seed note 000 against their printed forms.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from sayedcnn import Pooling, unvec, vec

TOL = dict(rtol=1e-12, atol=1e-12)
FD = dict(rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------
# Direct references
# ---------------------------------------------------------------------------


def pool_region(kind, x, m=None, retain=0):
    """Table 47.13 on the entries x of one region (in region order)."""
    if kind == "mean":
        return sum(x) / len(x)
    if kind == "max":
        return max(x)
    if kind == "l2":
        return np.sqrt(sum(xi * xi for xi in x))
    if kind == "subsample":
        return x[retain]
    return sum(xi * mi for xi, mi in zip(x, m))  # correlation


def block_pool_loops(kind, Y, block, stride, mask=None, retain=0):
    """Block pooling of a 2-D map by loops: output (i, j) pools Y[i s_r + a, j s_c + b];
    entries of a block are taken column-major (a fastest), mask read the same way."""
    rows, cols = Y.shape
    br, bc = block
    sr, sc = stride
    nr, nc = (rows - br) // sr + 1, (cols - bc) // sc + 1
    t = np.zeros((nr, nc))
    for i in range(nr):
        for j in range(nc):
            x, m = [], []
            for b in range(bc):
                for a in range(br):
                    x.append(Y[i * sr + a, j * sc + b])
                    if mask is not None:
                        m.append(mask[a, b])
            t[i, j] = pool_region(kind, x, m, retain)
    return t


def fd_jacobian(pool, y, h=1e-6):
    """Central finite differences of pool.pool: the P' x P matrix dt/dy."""
    J = np.zeros((pool.P_out, pool.P))
    for p in range(pool.P):
        e = np.zeros(pool.P)
        e[p] = h
        J[:, p] = (pool.pool(y + e) - pool.pool(y - e)) / (2 * h)
    return J


def well_separated(rng, n):
    """Random continuous values with gaps between them (no ties, no kinks within 1e-6)."""
    return rng.permutation(n) * 0.37 + 0.1 + rng.uniform(0, 0.05, n)


# Block settings: square tiling, partial tiling with leftover rows/cols, strided overlap.
BLOCKS = [
    ((6, 6), (2, 2), None),
    ((7, 8), (2, 3), None),  # leftover row and columns
    ((5, 6), (2, 3), (1, 2)),  # overlapping blocks
    ((4, 5), (3, 2), (1, 1)),
]

# Explicit regions over P = 10: disjoint-and-covering, partial, overlapping.
REGIONS = [
    ([[0, 1, 3, 7], [2, 4, 6, 8], [5, 9]], 10),
    ([[9, 0, 4], [2, 6]], 10),  # 1, 3, 5, 7, 8 left out; entries in the order given
    ([[0, 3, 5], [1, 3, 4], [5, 6, 9], [9, 2, 8]], 10),  # 3, 5 and 9 in two regions each
]
EQUAL_REGIONS = [
    ([[0, 4, 2], [1, 3, 5]], 6),
    ([[0, 3, 5], [3, 1, 4], [5, 6, 9]], 10),
]

KINDS = [("max", 0), ("mean", 0), ("l2", 0), ("subsample", 0), ("subsample", 1),
         ("correlation", 0)]


def make_block_pool(kind, retain, in_shape, block, stride, rng):
    mask = rng.standard_normal(block) if kind == "correlation" else None
    return Pooling(kind, in_shape=in_shape, block=block, stride=stride, mask=mask,
                   retain=retain), mask


def make_region_pool(kind, retain, regions, P, rng):
    mask = rng.standard_normal(len(regions[0])) if kind == "correlation" else None
    return Pooling(kind, regions=regions, P=P, mask=mask, retain=retain), mask


def all_pools(rng):
    """Every kind over every block setting and every region setting."""
    out = []
    for kind, retain in KINDS:
        for in_shape, block, stride in BLOCKS:
            out.append(make_block_pool(kind, retain, in_shape, block, stride, rng)[0])
        regs = EQUAL_REGIONS if kind == "correlation" else REGIONS
        for regions, P in regs:
            out.append(make_region_pool(kind, retain, regions, P, rng)[0])
    return out


# ---------------------------------------------------------------------------
# (47.1201)-(47.1204): the permutation matrix T of Fig. 47.95
# ---------------------------------------------------------------------------

# Regions of Fig. 47.95 (1-based): Omega_1 = {1,2,4,8}, Omega_2 = {3,5,7,9,11},
# Omega_3 = {6,10,12}.
REGIONS_1201 = [[1, 2, 4, 8], [3, 5, 7, 9, 11], [6, 10, 12]]
LHS_1201_PRINTED = [1, 2, 4, 8, 3, 5, 7, 9, 11, 6, 10, 12]
ROWS_1203_PRINTED = [1, 2, 4, 8, 3, 5, 7, 9, 11, 6, 10, 12]  # T = col{e_1^T, e_2^T, e_4^T, ...}

# The matrix of (47.1201) as it reads in the text: 11 rows, not 12.
T_1201_PRINTED = np.array([
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
], dtype=float)


def pool_1201(kind="max"):
    return Pooling(kind, regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)


def test_eq_47_1203_T_from_regions():
    """T stacks e_p^T region by region (47.1203); T [1..12] is the left side of (47.1201);
    T is a square permutation: T T^T = T^T T = I."""
    T = pool_1201().T
    assert sp.isspmatrix_csr(T)
    Td = T.toarray()
    assert_array_equal(Td, np.eye(12)[[k - 1 for k in ROWS_1203_PRINTED]])
    assert_array_equal(Td @ np.arange(1.0, 13.0), LHS_1201_PRINTED)
    assert_array_equal(Td @ Td.T, np.eye(12))
    assert_array_equal(Td.T @ Td, np.eye(12))


def test_eq_47_1201_printed_matrix_differs_from_its_regions():
    """The matrix printed in (47.1201) is not the T of its regions (candidate erratum).

    It has 11 rows (T is 12 x 12); rows 1-7 are e_1, e_2, e_4, e_8, e_3, e_5, e_7 as they
    should be, but rows 8-11 read e_8, e_10, e_11, e_12 where the regions (and (47.1203))
    give e_9, e_11, e_6, e_10, e_12. Multiplying the printed matrix by [1..12] does not give
    the printed left side [1 2 4 8 3 5 7 9 11 6 10 12]."""
    Td = pool_1201().T.toarray()
    assert T_1201_PRINTED.shape == (11, 12) != Td.shape
    assert_array_equal(T_1201_PRINTED[:7], Td[:7])
    printed_rows = T_1201_PRINTED.argmax(axis=1) + 1
    assert_array_equal(printed_rows[7:], [8, 10, 11, 12])
    assert_array_equal(Td.argmax(axis=1)[7:] + 1, [9, 11, 6, 10, 12])
    printed_lhs = T_1201_PRINTED @ np.arange(1.0, 13.0)
    assert_array_equal(printed_lhs, [1, 2, 4, 8, 3, 5, 7, 8, 10, 11, 12])
    assert printed_lhs.shape != (12,) or not np.array_equal(printed_lhs, LHS_1201_PRINTED)
    # the printed matrix is not even a (partial) permutation: e_8 appears twice, e_6, e_9 never
    assert T_1201_PRINTED[:, 7].sum() == 2
    assert T_1201_PRINTED[:, 5].sum() == 0 and T_1201_PRINTED[:, 8].sum() == 0


def test_eq_47_1202_1204_permute_and_permute_sharp():
    """permute(y) = T y (47.1202), permute#(y_o) = T^T y_o (47.1204), and
    permute#(permute(y)) = y since T T^T = I and T square."""
    rng = np.random.default_rng(0)
    pool = pool_1201()
    y = rng.standard_normal(12)
    y_o = pool.permute(y)
    assert_array_equal(y_o, y[[k - 1 for k in ROWS_1203_PRINTED]])
    assert_allclose(pool.permute_sharp(y_o), y, **TOL)
    Y = rng.standard_normal((12, 3))  # columns at once
    assert_allclose(pool.permute_sharp(pool.permute(Y)), Y, **TOL)
    with pytest.raises(ValueError, match="47.1202"):
        pool.permute(y[:11])
    with pytest.raises(ValueError, match="47.1204"):
        pool.permute_sharp(y[:11])


def test_T_identities_partial_and_overlapping():
    """Each row of T is one e_p^T, so diag(T T^T) = 1 and T^T T = diag(multiplicity of p
    among the regions). T T^T = I holds for square and partial T (distinct rows); with
    overlapping regions two rows of T can select the same p, and then (T T^T)[k, k'] = 1
    for those rows: T T^T = I fails, while permute#(permute(y)) = diag(mult) y."""
    rng = np.random.default_rng(1)
    cases = [Pooling("max", in_shape=s, block=b, stride=st) for s, b, st in BLOCKS]
    cases += [Pooling("max", regions=r, P=P) for r, P in REGIONS]
    seen = set()
    for pool in cases:
        T = pool.T.toarray()
        n = sum(len(r) for r in pool.regions)
        assert T.shape == (n, pool.P)
        rows = np.concatenate(pool.regions)  # row k of T is e_{rows[k]}^T
        assert_array_equal(T, np.eye(pool.P)[rows])
        same = (rows[:, None] == rows[None, :]).astype(float)
        assert_array_equal(T @ T.T, same)
        mult = np.zeros(pool.P)
        for r in pool.regions:
            for p in r:
                mult[p] += 1
        assert_array_equal(T.T @ T, np.diag(mult))
        if mult.max() <= 1:  # square or partial permutation
            assert_array_equal(T @ T.T, np.eye(n))
        else:  # selection matrix with repeated rows
            assert not np.array_equal(T @ T.T, np.eye(n))
        seen.add((mult.min() == 0, mult.max() > 1))
        # permute(y) reads the regions one after the other; permute# sums them back
        y = rng.standard_normal(pool.P)
        assert_array_equal(pool.permute(y), np.concatenate([y[r] for r in pool.regions]))
        assert_allclose(pool.permute_sharp(pool.permute(y)), mult * y, **TOL)
    assert seen >= {(False, False), (True, False), (False, True)}


# ---------------------------------------------------------------------------
# (47.1240), (47.1244), (47.1259), (47.1260): the 12-entry example
# ---------------------------------------------------------------------------

# Third column of (47.1240) and of (47.1259): d t(p'') / d y(j) for j = 1..12, p'' printed.
P2_1240_PRINTED = [1, 1, 2, 1, 2, 3, 2, 1, 2, 3, 2, 3]
# Middle column of (47.1240): (w_{i_{p''}})^T delta_2 with these subscripts p''.
MIDDLE_1240_PRINTED = [1, 1, 2, 1, 2, 3, 2, 1, 2, 3, 2, 3]
# Middle column of (47.1259): b(p'') with these p''.
MIDDLE_1259_PRINTED = [1, 1, 2, 2, 1, 2, 3, 2, 1, 2, 3, 2]


def p2_from_regions(regions, P):
    """p''_j: the (1-based) region that holds entry j (regions 1-based, disjoint)."""
    out = [0] * P
    for pp, reg in enumerate(regions, start=1):
        for j in reg:
            out[j - 1] = pp
    return out


def test_eq_47_1240_index_pattern():
    """The p'' of each j derived from the regions of (47.1201) (e.g. j = 3 -> p'' = 2) is the
    printed pattern of the third and the middle columns of (47.1240)."""
    p2 = p2_from_regions(REGIONS_1201, 12)
    assert p2[3 - 1] == 2
    assert p2 == P2_1240_PRINTED
    assert p2 == MIDDLE_1240_PRINTED
    pool = pool_1201()
    for j in range(12):
        holders = [pp for pp, r in enumerate(pool.regions) if j in r]
        assert holders == [p2[j] - 1]


def partials_printed(pool, y, p2):
    """d t(p''_j) / d y(j) for j = 1..12 by central differences of the loop pool."""
    regions = [list(r) for r in pool.regions]
    h = 1e-6
    out = np.zeros(12)
    for j in range(12):
        reg = regions[p2[j] - 1]
        k = reg.index(j)
        x = list(y[reg])
        xp, xm = list(x), list(x)
        xp[k] += h
        xm[k] -= h
        out[j] = (pool_region(pool.kind, xp, retain=pool.retain)
                  - pool_region(pool.kind, xm, retain=pool.retain)) / (2 * h)
    return out


@pytest.mark.parametrize("kind, retain", [("max", 0), ("mean", 0), ("l2", 0),
                                          ("subsample", 0), ("subsample", 2)])
def test_eq_47_1244_x_is_permute_sharp_upv_printed_1240(kind, retain):
    """x of (47.1240), entry by entry (w_{i_{p''_j}})^T delta_2 * dt(p''_j)/dy(j), equals
    permute#(upv((W_1^(d))^T delta_2)) (47.1244), W_1^(d) holding the columns w_{i_{p'}}."""
    rng = np.random.default_rng(2)
    pool = Pooling(kind, regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12,
                   retain=retain)
    y = well_separated(rng, 12)
    W = rng.standard_normal((5, 3))  # n_2 x P'
    delta2 = rng.standard_normal(5)
    x = pool.permute_sharp(pool.upv(W.T @ delta2, y))  # (47.1244)
    dt = partials_printed(pool, y, P2_1240_PRINTED)
    x_printed = np.array([(W[:, MIDDLE_1240_PRINTED[j] - 1] @ delta2) * dt[j]
                          for j in range(12)])
    assert_allclose(x, x_printed, **FD)
    assert_allclose(pool.backprop(W.T @ delta2, y), x, **TOL)


@pytest.mark.parametrize("kind", ["max", "mean", "l2"])
def test_eq_47_1260_x_is_permute_sharp_upv_b_printed_1259(kind):
    """x of (47.1259) is permute#(upv(b)) (47.1260) with b(p''_j) and the p''_j of its third
    column (the regions of (47.1201)). The middle column as printed, b(1) b(1) b(2) b(2)
    b(1) b(2) b(3) b(2) b(1) b(2) b(3) b(2), disagrees with the third column at
    j = 4..12 (it is the correct pattern shifted down by one from j = 4): candidate
    erratum; with it, x would differ."""
    rng = np.random.default_rng(3)
    pool = pool_1201(kind)
    y = well_separated(rng, 12)
    b = rng.standard_normal(3)
    x = pool.permute_sharp(pool.upv(b, y))  # (47.1260)
    dt = partials_printed(pool, y, P2_1240_PRINTED)
    x_consistent = np.array([b[P2_1240_PRINTED[j] - 1] * dt[j] for j in range(12)])
    assert_allclose(x, x_consistent, **FD)
    differs = [j + 1 for j in range(12) if MIDDLE_1259_PRINTED[j] != P2_1240_PRINTED[j]]
    assert differs == [4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert MIDDLE_1259_PRINTED[3:] == P2_1240_PRINTED[2:11]
    x_as_printed = np.array([b[MIDDLE_1259_PRINTED[j] - 1] * dt[j] for j in range(12)])
    gap = np.abs(x_as_printed - x)
    assert np.all(gap[:3] < 1e-6)
    if kind != "max":  # max pooling zeroes some entries whatever b multiplies them
        assert np.all(gap[[j - 1 for j in differs]] > 1e-3)
    else:
        assert np.any(gap > 1e-3)


# ---------------------------------------------------------------------------
# Table 47.13: pool values by loops
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind, retain", KINDS)
@pytest.mark.parametrize("in_shape, block, stride", BLOCKS)
def test_table_47_13_block_pool_values(kind, retain, in_shape, block, stride):
    """t(p') = pool over Omega_{p'} (47.1187) for each kind, pooled positions column-major."""
    rng = np.random.default_rng(4)
    pool, mask = make_block_pool(kind, retain, in_shape, block, stride, rng)
    Y = rng.standard_normal(in_shape)
    t = pool.pool(vec(Y))
    ref = block_pool_loops(kind, Y, block, stride or block, mask, retain)
    assert pool.out_shape == ref.shape
    assert_allclose(unvec(t, pool.out_shape), ref, **TOL)
    # several maps at once: columns of a P x K array
    Ys = np.stack([vec(Y), 2.0 * vec(Y) + 1.0], axis=1)
    assert_allclose(pool.pool(Ys)[:, 1], vec(block_pool_loops(
        kind, 2.0 * Y + 1.0, block, stride or block, mask, retain)), **TOL)


@pytest.mark.parametrize("kind, retain", KINDS)
def test_table_47_13_region_pool_values(kind, retain):
    """Explicit regions (disjoint, partial and overlapping), entries in the order given."""
    rng = np.random.default_rng(5)
    for regions, P in (EQUAL_REGIONS if kind == "correlation" else REGIONS):
        pool, mask = make_region_pool(kind, retain, regions, P, rng)
        y = rng.standard_normal(P)
        ref = [pool_region(kind, list(y[r]), mask, retain) for r in regions]
        assert_allclose(pool.pool(y), ref, **TOL)
        assert pool.out_shape == (len(regions), 1)


# ---------------------------------------------------------------------------
# (47.1196): gradient vectors, and the adjoint permute#(upv(v)) = (dt/dy)^T v
# ---------------------------------------------------------------------------


def test_eq_47_1196_gradient_vectors_finite_differences():
    """g_{p'} = d t(p') / d y(Omega_{p'}) (47.1195)-(47.1196) against central differences,
    region by region, for every kind and every block/region setting."""
    rng = np.random.default_rng(6)
    for pool in all_pools(rng):
        y = well_separated(rng, pool.P)
        gs = pool.gradient_vectors(y)
        assert len(gs) == pool.P_out
        h = 1e-6
        for pp, (reg, g) in enumerate(zip(pool.regions, gs)):
            assert g.shape == (len(reg),)
            fd = np.zeros(len(reg))
            for k, p in enumerate(reg):
                e = np.zeros(pool.P)
                e[p] = h
                fd[k] = (pool.pool(y + e)[pp] - pool.pool(y - e)[pp]) / (2 * h)
            assert_allclose(g, fd, **FD)


def test_eq_47_1196_gradient_vector_formulas():
    """The closed forms of (47.1196a)-(47.1196e) on one region."""
    y = np.array([0.3, -1.2, 2.5, 0.7, 1.1, -0.4])
    reg = [[4, 0, 2, 5]]
    x = y[reg[0]]
    m = np.array([0.5, -2.0, 1.5, 3.0])
    assert_allclose(Pooling("mean", regions=reg, P=6).gradient_vectors(y)[0], np.ones(4) / 4,
                    **TOL)
    assert_array_equal(Pooling("max", regions=reg, P=6).gradient_vectors(y)[0], [0, 0, 1, 0])
    assert_array_equal(Pooling("subsample", regions=reg, P=6, retain=3).gradient_vectors(y)[0],
                       [0, 0, 0, 1])
    assert_allclose(Pooling("l2", regions=reg, P=6).gradient_vectors(y)[0],
                    x / np.sqrt(np.sum(x**2)), **TOL)
    assert_allclose(Pooling("correlation", regions=reg, P=6, mask=m).gradient_vectors(y)[0], m,
                    **TOL)


def test_eq_47_1200_upv():
    """upv(v) = col{v(p') g_{p'}} (47.1200): one block of |Omega_{p'}| entries per p'."""
    rng = np.random.default_rng(7)
    pool = pool_1201("l2")
    y = well_separated(rng, 12)
    v = rng.standard_normal(3)
    g = pool.gradient_vectors(y)
    u = pool.upv(v, y)
    assert u.shape == (12,)
    assert_allclose(u[:4], v[0] * g[0], **TOL)
    assert_allclose(u[4:9], v[1] * g[1], **TOL)
    assert_allclose(u[9:], v[2] * g[2], **TOL)


def test_eq_47_1244_adjoint_identity_every_kind():
    """permute#(upv(v)) = T^T upv(v) = (dt/dy)^T v for every kind, block pooling with and
    without leftovers, strided/overlapping blocks and explicit (overlapping) regions; the
    Jacobian and backprop agree; entries in no region get zero."""
    rng = np.random.default_rng(8)
    for pool in all_pools(rng):
        y = well_separated(rng, pool.P)
        v = rng.standard_normal(pool.P_out)
        J = fd_jacobian(pool, y)
        x = pool.permute_sharp(pool.upv(v, y))
        assert_allclose(x, J.T @ v, **FD)
        assert_allclose(pool.jacobian(y), J, **FD)
        assert_allclose(pool.backprop(v, y), x, **TOL)
        V2 = rng.standard_normal((pool.P_out, 2))
        Y2 = np.stack([y, y[::-1].copy()], axis=1)
        bp = pool.backprop(V2, Y2)
        for k in range(2):
            assert_allclose(bp[:, k], pool.permute_sharp(pool.upv(V2[:, k], Y2[:, k])), **TOL)
        covered = np.zeros(pool.P, dtype=bool)
        for r in pool.regions:
            covered[r] = True
        assert_array_equal(x[~covered], 0.0)


# ---------------------------------------------------------------------------
# Seed note 000: 2 x 2 max pooling at stride 1 of a 3 x 3 map
# ---------------------------------------------------------------------------

V_SEED000 = np.array([[3, 2, 5], [4, 1, 7], [3, 5, 0]], dtype=float)
M_SEED000_PRINTED = np.array([[4, 7], [5, 7]], dtype=float)
REVERSE_MAXPOOL_SEED000_PRINTED = np.array([
    [0, 0, 1, 0],
    [0, 0, 0, 1],
    [0, 0, 0, 1],
    [0, 1, 0, 0],
], dtype=float)


def test_seed000_max_pool_stride_1():
    """Max pooling of V = [[3,2,5],[4,1,7],[3,5,0]] by 2 x 2 windows at stride 1 gives
    M = [[4,7],[5,7]]; the stacked gradient vectors, reordered to the note's row-major windows
    and row-major entries, give its 4 x 4 "reverse max-pool" matrix."""
    pool = Pooling("max", in_shape=(3, 3), block=2, stride=1)
    assert_array_equal(unvec(pool.pool(vec(V_SEED000)), (2, 2)), M_SEED000_PRINTED)
    G = np.stack(pool.gradient_vectors(vec(V_SEED000)))  # row p' (column-major windows)
    # Package windows p' = i + 2 j: (0,0), (1,0), (0,1), (1,1). Note's windows, row-major:
    # (0,0), (0,1), (1,0), (1,1) -> package rows 0, 2, 1, 3.
    window_perm = [0, 2, 1, 3]
    # Package entries within a window, column-major s = a + 2 b: (0,0), (1,0), (0,1), (1,1).
    # Note's entries, row-major: (0,0), (0,1), (1,0), (1,1) -> package positions 0, 2, 1, 3.
    entry_perm = [0, 2, 1, 3]
    assert_array_equal(G[window_perm][:, entry_perm], REVERSE_MAXPOOL_SEED000_PRINTED)
    # Overlapping windows: T is a 16 x 9 selection matrix; the centre entry (1, 1) sits in
    # all four windows, so T^T T has 4 there, and T T^T is not the identity.
    T = pool.T.toarray()
    assert T.shape == (16, 9)
    assert_array_equal(np.diag(T @ T.T), np.ones(16))
    assert_array_equal(np.diag(T.T @ T), vec(np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]])))
    # The entry 7 = V[1, 2] is the maximum of two windows: its sensitivity sums both.
    v = np.array([1.0, 10.0, 100.0, 1000.0])
    x = unvec(pool.backprop(v, vec(V_SEED000)), (3, 3))
    expected = np.zeros((3, 3))
    expected[1, 0] = 1.0  # window (0,0): max 4 at (1,0)
    expected[2, 1] = 10.0  # window (1,0): max 5 at (2,1)
    expected[1, 2] = 100.0 + 1000.0  # windows (0,1) and (1,1): max 7 at (1,2)
    assert_array_equal(x, expected)


# ---------------------------------------------------------------------------
# Ties and the l2 gradient at zero
# ---------------------------------------------------------------------------


def test_max_pool_ties_pick_first_in_region_order():
    """A tie in max pooling goes to the first entry in region order."""
    y = np.array([1.0, 3.0, 3.0, 0.0])
    assert_array_equal(Pooling("max", regions=[[0, 1, 2]], P=4).gradient_vectors(y)[0],
                       [0, 1, 0])
    assert_array_equal(Pooling("max", regions=[[2, 1, 0]], P=4).gradient_vectors(y)[0],
                       [1, 0, 0])
    pool = Pooling("max", in_shape=(2, 2), block=2)
    g = pool.gradient_vectors(np.full(4, 5.0))[0]
    assert_array_equal(g, [1, 0, 0, 0])
    assert_array_equal(pool.backprop(np.array([2.0]), np.full(4, 5.0)), [2, 0, 0, 0])


def test_l2_pool_gradient_at_zero():
    """l2 pooling: t = 0 on an all-zero region, and its gradient vector is 0 there."""
    pool = Pooling("l2", regions=[[0, 1], [2, 3]], P=4)
    y = np.array([0.0, 0.0, 3.0, -4.0])
    assert_array_equal(pool.pool(y), [0.0, 5.0])
    g = pool.gradient_vectors(y)
    assert_array_equal(g[0], [0.0, 0.0])
    assert_allclose(g[1], [0.6, -0.8], **TOL)
    assert np.all(np.isfinite(pool.backprop(np.ones(2), y)))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_pooling_errors():
    with pytest.raises(ValueError, match="does not fit the 3 x 4 feature map"):
        Pooling("max", in_shape=(3, 4), block=(4, 2))
    with pytest.raises(ValueError, match=r"outside 0\.\.P-1 = 0\.\.5"):
        Pooling("max", regions=[[0, 6]], P=6)
    with pytest.raises(ValueError, match=r"outside 0\.\.P-1"):
        Pooling("max", regions=[[-1, 2]], P=6)
    with pytest.raises(ValueError, match="non-empty"):
        Pooling("max", regions=[[0, 1], []], P=6)
    with pytest.raises(ValueError, match="repeats an index"):
        Pooling("max", regions=[[0, 0]], P=6)
    with pytest.raises(ValueError, match="pooling kind must be one of"):
        Pooling("median", in_shape=(4, 4), block=2)
    with pytest.raises(ValueError, match="needs its mask"):
        Pooling("correlation", in_shape=(4, 4), block=2)
    with pytest.raises(ValueError, match=r"\|Omega\| = 4"):
        Pooling("correlation", in_shape=(4, 4), block=2, mask=np.ones(3))
    with pytest.raises(ValueError, match="only used by correlation"):
        Pooling("max", in_shape=(4, 4), block=2, mask=np.ones(4))
    with pytest.raises(ValueError, match="retain must index"):
        Pooling("subsample", in_shape=(4, 4), block=2, retain=4)
    with pytest.raises(ValueError, match="P, the size of the pooled map"):
        Pooling("max", regions=[[0]])
    with pytest.raises(ValueError, match="in_shape and block"):
        Pooling("max", in_shape=(4, 4))
    pool = Pooling("mean", in_shape=(4, 4), block=2)
    y = np.arange(16.0)
    with pytest.raises(ValueError, match="v must have P' = 4 entries"):
        pool.upv(np.ones(3), y)
    with pytest.raises(ValueError, match="16 rows"):
        pool.pool(np.ones(15))
    with pytest.raises(ValueError, match="v must have P' = 4 rows"):
        pool.backprop(np.ones(5), y)
    with pytest.raises(ValueError, match="contains NaN"):
        pool.pool(np.full(16, np.nan))


# ---------------------------------------------------------------------------
# Boundaries and corner cases (each one a mutant the tests above let through)
# ---------------------------------------------------------------------------


def test_a_map_of_one_entry_is_pooled_by_one_region():
    """P = 1 is the smallest map (47.1187); P = 0 is refused. Pooling over regions has no
    block and no stride."""
    pool = Pooling("max", regions=[[0]], P=1)
    assert pool.P == 1 and pool.P_out == 1 and pool.block is None and pool.stride is None
    assert_array_equal(pool.pool([-3.0]), [-3.0])
    with pytest.raises(ValueError, match=r"^P must be a positive integer \(47\.1187\), got 0$"):
        Pooling("max", regions=[[0]], P=0)


def test_max_pooling_over_unequal_regions_of_negative_entries():
    """The padding of a short region never wins a maximum (47.1196b): regions of 3 and 1
    entries, all negative."""
    pool = Pooling("max", regions=[[0, 1, 2], [3]], P=4)
    y = np.array([-3.0, -1.0, -2.0, -5.0])
    assert_array_equal(pool.pool(y), [-1.0, -5.0])
    assert_array_equal(pool.gradient_matrix(y), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert_array_equal(pool.backprop(np.array([2.0, 3.0]), y), [0.0, 2.0, 0.0, 3.0])


def test_l2_gradient_of_a_region_with_a_single_nonzero_entry():
    """g = y / t (47.1196d) is e_1 for y(Omega) = (4, 0, 0, 0): t / s is exactly 1 there."""
    pool = Pooling("l2", in_shape=(2, 2), block=2)
    assert_array_equal(pool.gradient_matrix(np.array([4.0, 0.0, 0.0, 0.0])), [[1, 0, 0, 0]])
    assert_array_equal(pool.gradient_matrix(np.array([0.0, 0.0, -0.25, 0.0])), [[0, 0, -1, 0]])


def test_upv_from_the_gradient_matrix_equals_upv_from_the_map():
    """upv(v) = col{v(p') g_p'} (47.1200), with G given or computed from y (47.1196)."""
    rng = np.random.default_rng(5)
    pool = Pooling("max", in_shape=(4, 4), block=2)
    y, v = rng.standard_normal(16), rng.standard_normal(4)
    G = pool.gradient_matrix(y)
    assert_array_equal(pool.upv(v, G=G), pool.upv(v, y))
    assert_array_equal(pool.upv(v, G=G), (v[:, None] * G).reshape(-1))


def _bad_calls():
    pool = Pooling("max", in_shape=(4, 4), block=2)
    y, v = np.arange(16.0), np.ones(4)
    return [
        (lambda: Pooling("max", in_shape=(0, 4), block=2), ValueError,
         r"^in_shape must be >= 1 along each axis \(47\.1187\), got \(0, 4\)$"),
        (lambda: pool.upv(v.reshape(4, 1), y), ValueError,
         r"^v must be 1-dimensional \(47\.1200\), got shape \(4, 1\)$"),
        (lambda: pool.upv(v), ValueError,
         r"^upv needs the map y \(or its gradient matrix G\) \(47\.1200\)$"),
        (lambda: pool.upv(v, G=np.ones(16)), ValueError,
         r"^G must be 2-dimensional \(47\.1196\), got shape \(16,\)$"),
        (lambda: pool.upv(v, G=np.ones((4, 3))), ValueError,
         r"^G must be P' x R = 4 x 4 \(47\.1196\), got \(4, 3\)$"),
        (lambda: pool.upv(v, G=np.full((4, 4), np.nan)), ValueError,
         r"^G contains NaN \(47\.1196\); all entries must be finite$"),
        (lambda: pool.permute("y"), TypeError,
         r"^y must be a real numeric array \(47\.1202\), got a string$"),
        (lambda: pool.permute_sharp(None), TypeError,
         r"^y_o must be a real numeric array \(47\.1204\), got None$"),
        (lambda: pool.backprop(v, "y"), TypeError,
         r"^y must be a real numeric array \(47\.1244\), got a string$"),
        (lambda: pool.backprop(None, y), TypeError,
         r"^v must be a real numeric array \(47\.1244\), got None$"),
        (lambda: pool.backprop(3.0, y), ValueError,
         r"^v must have P' = 4 rows \(47\.1244\), .*got a scalar$"),
    ]


@pytest.mark.parametrize("call, exc, pattern", _bad_calls())
def test_errors_name_the_quantity_the_expectation_and_the_equation(call, exc, pattern):
    """Each message starts with the quantity's name and gives its equation."""
    with pytest.raises(exc, match=pattern):
        call()


def test_l2_pooling_of_symbols_is_refused_with_the_reason():
    """The symbolic listing cannot take square roots of sympy entries (47.1176)."""
    from sayedcnn.pooling import gradient_matrix, pool_map

    pool = Pooling("l2", in_shape=(2, 2), block=2)
    y = np.array([object() for _ in range(4)], dtype=object)
    why = r"^l2 pooling needs a square root; it is not defined for object arrays$"
    for step in (pool_map, gradient_matrix):
        with pytest.raises(TypeError, match=why):
            step(pool, y)
