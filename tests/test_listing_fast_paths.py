"""The listing's shortcuts compute the book's quantities exactly.

V^(d,d',c+1) of (47.1257) from a plan made once per V_c equals the literal Kronecker form;
the unchecked ``_upv``/``_permute_sharp`` of (47.1200)/(47.1204) equal the public methods
and fall back to their checks for anything that is not a float64 vector of the right size.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from sayedcnn import V_ddc, partition_matrix, sliding_partition
from sayedcnn.operators import _vddc_plan_for
from sayedcnn.pooling import Pooling


@pytest.mark.parametrize("padding, stride", [("same", 1), ("valid", 1), ("valid", 2)])
def test_eq_47_1257_V_ddc_plan_equals_literal(padding, stride):
    """V^(d,d',c+1) = (V_c^T (.) (1 1^T (x) w^T))(I (x) 1_S) (47.1257): the planned CSR equals
    the literal product bit for bit and is a valid, sorted CSR matrix."""
    part = sliding_partition((7, 6), (3, 2), stride=stride, padding=padding)
    rng = np.random.default_rng(1257)
    plan = _vddc_plan_for(part.V, part.P, part.S)
    for _ in range(3):
        w = rng.standard_normal(part.S)
        got = V_ddc(part.V, w, part.P, part.S, plan=plan)
        want = V_ddc(part.V, w, part.P, part.S, literal=True)
        assert isinstance(got, sp.csr_matrix)
        assert got.shape == (part.M, part.P)
        got.check_format(full_check=True)
        assert got.has_sorted_indices
        assert_array_equal(got.toarray(), want.toarray())
        assert_array_equal(V_ddc(part.V, w, part.P, part.S).toarray(), want.toarray())


def test_eq_47_1257_V_ddc_plan_sums_repeated_entries():
    """With an index listed twice in one subvector, entry (p'', p) of (47.1257) is the sum
    over s of V_c(pS+s, p'') w(s); the planned and literal forms agree."""
    V = partition_matrix([[0, 2, 0], [1, -1, 1], [2, 2, 2]], 3)  # P = 3, S = 3, M = 3
    w = np.array([0.5, -2.0, 3.0])
    want = np.array([[0.5 + 3.0, 0.0, 0.0],
                     [0.0, 0.5 + 3.0, 0.0],
                     [-2.0, 0.0, 0.5 - 2.0 + 3.0]])
    plan = _vddc_plan_for(V, 3, 3)
    assert_allclose(V_ddc(V, w, 3, 3, plan=plan).toarray(), want, rtol=0, atol=1e-15)
    assert_allclose(V_ddc(V, w, 3, 3, literal=True).toarray(), want, rtol=0, atol=1e-15)


def test_V_ddc_plan_for_another_matrix_is_rejected():
    """A plan describes one V_c object, P_(c+1) and S_(c+1) (47.1257); any other raises."""
    part = sliding_partition((5, 5), 3)
    plan = _vddc_plan_for(part.V, part.P, part.S)
    w = np.ones(part.S)
    with pytest.raises(ValueError, match=r"plan was made for another V_c.*47\.1257"):
        V_ddc(part.V.copy(), w, part.P, part.S, plan=plan)
    with pytest.raises(ValueError, match=r"plan was made for another V_c.*47\.1257"):
        V_ddc(part.V, np.ones(part.S * part.P), 1, part.S * part.P, plan=plan)
    with pytest.raises(ValueError, match=r"w must have S_\(c\+1\) = 9 entries \(47\.1257\)"):
        V_ddc(part.V, np.ones(8), part.P, part.S, plan=plan)
    with pytest.raises(ValueError, match=r"w contains NaN \(47\.1257\)"):
        V_ddc(part.V, np.full(part.S, np.nan), part.P, part.S, plan=plan)


def test_eq_47_1200_1204_unchecked_paths_match_public():
    """permute#(upv(v)) = T^T col{v(p') g_p'} (47.1200), (47.1204): the unchecked methods give
    the public methods' values, and delegate to their checks for other input."""
    pool = Pooling("max", in_shape=(6, 4), block=2)
    rng = np.random.default_rng(1200)
    y = rng.standard_normal(pool.P)
    v = rng.standard_normal(pool.P_out)
    G = pool.gradient_matrix(y)
    up = pool._upv(v, G)
    assert_array_equal(up, pool.upv(v, y))
    assert_array_equal(pool._permute_sharp(up), pool.permute_sharp(up))
    Y = rng.standard_normal((up.size, 2))
    assert_array_equal(pool._permute_sharp(Y), pool.T.T @ Y)  # 2-D goes the public way
    assert_array_equal(pool._upv(list(v), G), up)  # a list is converted by upv
    with pytest.raises(ValueError, match=r"v must have P' = 6 entries \(47\.1200\)"):
        pool._upv(np.ones(5), G)
    with pytest.raises(ValueError, match=r"y_o must have sum\|Omega\| = 24 rows \(47\.1204\)"):
        pool._permute_sharp(np.ones(23))
