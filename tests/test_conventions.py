"""Each convention of docs/conventions.md, tested once, by a test named after its section.

The expected values are written out by hand from the convention's words, not computed by the
package.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import sayedcnn as sc
from sayedcnn.reference.compare import max_rel_diff, rel_diff


def test_1_vec_stacks_columns():
    A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # entry (r, c) lands at r + 2 c
    assert_array_equal(sc.vec(A), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0])
    assert_array_equal(sc.unvec(sc.vec(A), (2, 3)), A)


def test_2_patches_column_major_and_same_padding_of_an_even_mask():
    """Positions p = i + j*out_rows; entries s = a + b*mask_rows; 'same' with an even mask of 2
    puts (2-1)//2 = 0 zeros before and 1 after, and gives ceil(3/1) = 3 outputs per axis."""
    part = sc.sliding_partition((3, 3), 2, padding="same")
    assert part.out_shape == (3, 3)
    H = sc.patch_matrix(part.V, sc.vec(np.arange(9.0).reshape(3, 3, order="F")), part.S)
    # image entries m = r + 3c hold the value m; patch p = 1 is position (1, 0):
    # entries (1,0), (2,0), (1,1), (2,1) -> 1, 2, 4, 5
    assert_array_equal(H[:, 1], [1.0, 2.0, 4.0, 5.0])
    # patch p = 2, position (2, 0): the row below the image is zero padding (after)
    assert_array_equal(H[:, 2], [2.0, 0.0, 5.0, 0.0])


def test_3_pooling_regions_column_major_and_leftovers():
    """A 3 x 5 map in 2 x 2 blocks: two regions (row 2 and column 4 are left out), region 2 is
    the block of columns 2-3, listed in ascending p; T stacks e_p^T region by region."""
    pool = sc.Pooling("max", in_shape=(3, 5), block=2)
    assert [r.tolist() for r in pool.regions] == [[0, 1, 3, 4], [6, 7, 9, 10]]
    T = pool.T.toarray()
    assert T.shape == (8, 15)
    assert [int(np.flatnonzero(row)[0]) for row in T] == [0, 1, 3, 4, 6, 7, 9, 10]


def test_4_ties_and_kinks():
    """Max ties: the first entry in region order; l2 at t = 0: gradient 0; relu'(0) = 0."""
    pool = sc.Pooling("max", in_shape=(2, 2), block=2)
    assert_array_equal(pool.gradient_vectors(np.array([1.0, 3.0, 3.0, 0.0]))[0], [0, 1, 0, 0])
    l2 = sc.Pooling("l2", in_shape=(2, 2), block=2)
    assert_array_equal(l2.gradient_vectors(np.zeros(4))[0], np.zeros(4))
    assert_array_equal(sc.get_activation("relu").fprime(np.array([-1.0, 0.0, 1.0])), [0, 0, 1])


def test_5_book_numbers_key_the_layers():
    net = sc.Network((4, 4), conv=[sc.Conv(2, 2), sc.Conv(3, 2)], hidden=[5], outputs=2)
    p = net.init(seed=0)
    assert sorted(p.W_conv) == [1, 2] and sorted(p.W_ff) == [1, 2]
    res = net.forward(p, np.ones((1, 4, 4)))
    assert sorted(res.z_conv) == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 2)]
    assert sorted(res.y_ff) == [1, 2, 3]


def test_6_shapes_are_the_books():
    net = sc.Network((5, 5), input_depth=2, conv=[sc.Conv(3, (2, 3))], hidden=[4], outputs=2)
    shapes = net.param_shapes()
    assert shapes["W_conv"][1] == (6 * 2, 3)  # S_1 D_0 x D_1
    assert shapes["Theta_conv"][1] == (2, 3)  # D_0 x D_1
    assert shapes["W_ff"][1] == (4, 75) and shapes["theta_ff"][1] == (4,)  # n_2 x n_1


def test_7_minus_theta():
    """z = W y - theta: raising theta_1 by 1 lowers z_2 by 1."""
    net = sc.Network((2, 2), conv=[sc.Conv(1, 1, activation="linear")], outputs=1,
                     output_activation="linear")
    p = net.init(seed=0)
    x = np.ones((1, 2, 2))
    z0 = net.forward(p, x).z_ff[2]
    p.theta_ff[1] = p.theta_ff[1] + 1.0
    assert_allclose(net.forward(p, x).z_ff[2], z0 - 1.0, rtol=0, atol=1e-15)


def test_8_arrays_in_float64_out():
    net = sc.Network((2, 2), conv=[sc.Conv(1, 1)], outputs=1)
    out = net.predict(net.init(seed=0), np.ones((3, 1, 2, 2), dtype=np.float32))
    assert out.dtype == np.float64 and out.shape == (3, 1)


def test_9_connection_tables_mask_the_unused_weights():
    """Map 0 of layer 2 sums input map 1 only: the rows of W_2 for input map 0 in column 0 have
    zero data-term derivative, whatever their values."""
    net = sc.Network((4, 4), conv=[sc.Conv(2, 2), sc.Conv(2, 2, connections=[[1], [0, 1]])],
                     outputs=2)
    p = net.init(seed=1)
    p.W_conv[2] = np.random.default_rng(9).standard_normal(p.W_conv[2].shape)
    X = np.random.default_rng(10).standard_normal((2, 1, 4, 4))
    for method in ("listing", "fused"):
        g = net.gradients(p, X, np.eye(2), method=method)
        assert_array_equal(g.W_conv[2][0:4, 0], 0.0)
        assert np.all(g.W_conv[2][4:8, 0] != 0.0)


@pytest.mark.parametrize("b, expect", [
    ([1.0, np.nan], np.inf), ([1.0, 2.0, 3.0], np.inf), ([1.0, np.inf], np.inf),
    ([1.0, 2.0], 0.0)])
def test_10_comparisons_see_nan_shapes_and_missing_arrays(b, expect):
    assert rel_diff([1.0, 2.0], b) == expect
    assert max_rel_diff({"a": np.ones(1)}, {"a": np.ones(1), "b": np.ones(1)}) == np.inf
