r"""The worked examples of section 47.25, as printed, beside what the package computes.

The printed matrices and index lists of the chapter are kept here as data (``PRINTED_*``,
1-based where the book is); :func:`chapter_examples` builds one
:class:`~sayedcnn.fidelity.examples.Example` per printed example. Where the print is wrong the
example carries the erratum id (see :mod:`sayedcnn.fidelity.errata`) and the computed value is the
corrected one.
"""

from __future__ import annotations

import numpy as np

from ..network import Conv, Network
from ..operators import (
    V_ddc,
    V_ddc_skeleton,
    partition_matrix,
    patch_indicator,
    prewitt_masks,
    reversal_matrix,
    sliding_partition,
    sobel_masks,
    unvec,
    vec,
)
from ..pooling import Pooling
from ..reference import loops
from ..reference.finite_diff import central_differences
from .examples import Example

__all__ = [
    "chapter_examples",
    "listing_examples",
    "PARTITION_1149",
    "PRINTED_1149",
    "PRINTED_1151",
    "PRINTED_1153",
    "REGIONS_1201",
    "LHS_1201",
    "T_PRINTED_1201",
    "PRINTED_1203",
    "PRINTED_1240_W",
    "PRINTED_1240_DT",
    "PRINTED_1251",
    "PRINTED_1252",
    "PRINTED_1253",
    "PRINTED_1254",
    "PRINTED_1255",
    "PRINTED_1259_B",
    "PRINTED_1259_DT",
    "printed_T_1201",
    "substitute",
]

#: The subvectors of Fig. 47.87 (1-based entries of h): {1,4,6}, {2,5,4}, {3,6,1}, {2,4,1}.
PARTITION_1149 = [[1, 4, 6], [2, 5, 4], [3, 6, 1], [2, 4, 1]]
#: The column of the one in each row of V (47.1149); the left side of (47.1149).
PRINTED_1149 = [1, 4, 6, 2, 5, 4, 3, 6, 1, 2, 4, 1]
#: (47.1151), the 4 x 6 matrix (I_P (x) 1_S^T) V.
PRINTED_1151 = [[1, 0, 0, 1, 0, 1], [0, 1, 0, 1, 1, 0], [1, 0, 1, 0, 0, 1], [1, 1, 0, 1, 0, 0]]
#: (47.1153), the indices k of the rows e_k^T of V.
PRINTED_1153 = [1, 4, 6, 2, 5, 4, 3, 6, 1, 2, 4, 1]
#: The regions Omega_1..3 of Fig. 47.95 (1-based), read off the left side of (47.1201).
REGIONS_1201 = [[1, 2, 4, 8], [3, 5, 7, 9, 11], [6, 10, 12]]
#: The left side of (47.1201).
LHS_1201 = [1, 2, 4, 8, 3, 5, 7, 9, 11, 6, 10, 12]
#: The column (1-based) of the one in each row of T as printed in (47.1201): 11 rows.
T_PRINTED_1201 = [1, 2, 4, 8, 3, 5, 7, 8, 10, 11, 12]
#: (47.1203), the indices k of the rows e_k^T of T.
PRINTED_1203 = [1, 2, 4, 8, 3, 5, 7, 9, 11, 6, 10, 12]
#: (47.1240): the index p'' of w_(i_p'') in rows j = 1..12 (the primes vary in print).
PRINTED_1240_W = [1, 1, 2, 1, 2, 3, 2, 1, 2, 3, 2, 3]
#: (47.1240): the index p'' of dt(p'')/dy(j) in rows j = 1..12.
PRINTED_1240_DT = [1, 1, 2, 1, 2, 3, 2, 1, 2, 3, 2, 3]
#: (47.1251) = (47.1256): the 6 x 4 matrix multiplying delta^(d',c+1).
PRINTED_1251 = [["w1", 0, "w2", 0], [0, "w2", 0, "w2"], ["w2", 0, 0, 0], [0, "w1", 0, 0],
                [0, 0, "w1", 0], [0, 0, 0, "w1"]]
#: (47.1252): the column of the one in each row of V_c (8 x 6).
PRINTED_1252 = [1, 3, 4, 2, 5, 1, 6, 2]
#: (47.1253): V_c (1..6).
PRINTED_1253 = [1, 3, 4, 2, 5, 1, 6, 2]
#: (47.1254): (I_4 (x) 1_2)^T V_c.
PRINTED_1254 = [[1, 0, 1, 0, 0, 0], [0, 1, 0, 1, 0, 0], [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 0, 1]]
#: (47.1255): V_c^T (I_4 (x) 1_2).
PRINTED_1255 = [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0],
                [0, 0, 0, 1]]
#: (47.1259): the index p'' of b(p'') in rows j = 1..12, as printed (erratum E-1259).
PRINTED_1259_B = [1, 1, 2, 2, 1, 2, 3, 2, 1, 2, 3, 2]
#: (47.1259): the index p'' of dt(p'')/dy(j) in rows j = 1..12.
PRINTED_1259_DT = [1, 1, 2, 1, 2, 3, 2, 1, 2, 3, 2, 3]


def printed_T_1201():
    """The matrix T as printed in (47.1201): 11 x 12 (erratum E-1201).

    Examples
    --------
    >>> from sayedcnn.fidelity.book_examples import printed_T_1201
    >>> printed_T_1201().shape                 # 11 x 12 as transcribed (E-1201)
    (11, 12)
    """
    T = np.zeros((len(T_PRINTED_1201), 12))
    T[np.arange(len(T_PRINTED_1201)), np.array(T_PRINTED_1201) - 1] = 1.0
    return T


def substitute(pattern, **values):
    """A numeric matrix from a printed pattern of numbers and symbol names.

    Examples
    --------
    >>> from sayedcnn.fidelity.book_examples import substitute
    >>> substitute([["w1", 0], [0, "w2"]], w1=2.0, w2=3.0)
    array([[2., 0.],
           [0., 3.]])
    """
    return np.array([[values[e] if isinstance(e, str) else float(e) for e in row]
                     for row in pattern], dtype=float)


def _zero_based(lists):
    return [[k - 1 for k in row] for row in lists]


def _pooling_1201():
    return Pooling("max", regions=_zero_based(REGIONS_1201), P=12)


def _Vc_1252():
    """V_c of (47.1252) built from the subvectors read off (47.1253) (S = 2, P_(c+1) = 4)."""
    rows = np.array(PRINTED_1253).reshape(4, 2) - 1
    return partition_matrix(rows, 6)


def _region_of(pool):
    """p'' (1-based) of every entry j: the region that holds it, via permute#."""
    labels = np.repeat(np.arange(1.0, pool.P_out + 1), pool.sizes)
    return pool.permute_sharp(labels).astype(int)


def _gradient_block(kind, H, **kw):
    pool = Pooling(kind, in_shape=H.shape, block=H.shape, **kw)
    return unvec(pool.gradient_vectors(vec(H))[0], H.shape)


def chapter_examples():
    r"""Every worked example of section 47.25: a list of
    :class:`~sayedcnn.fidelity.examples.Example`.

    Covers (47.1137), (47.1140), (47.1149)-(47.1153), (47.1165)-(47.1167), (47.1170),
    (47.1174), (47.1177), (47.1178), (47.1201), (47.1203), (47.1240), (47.1251)-(47.1257)
    and (47.1259).

    Examples
    --------
    >>> from sayedcnn.fidelity.book_examples import chapter_examples
    >>> rows = chapter_examples()
    >>> all(r.ok for r in rows), "E-1201" in {r.erratum for r in rows}
    (True, True)
    """
    ex = []
    ex.append(Example("47.1137", "reversal matrix I~ (3 x 3)",
                      [[0, 0, 1], [0, 1, 0], [1, 0, 0]], reversal_matrix(3).toarray()))
    sx, sy = sobel_masks()
    ex.append(Example("47.1140", "Sobel masks W_x, W_y (47.1140a)",
                      [[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
                       [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]], [sx, sy]))
    px, py = prewitt_masks()
    ex.append(Example("47.1140", "Prewitt masks W_x, W_y (47.1140b)",
                      [[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
                       [[-1, -1, -1], [0, 0, 0], [1, 1, 1]]], [px, py]))
    V = partition_matrix(_zero_based(PARTITION_1149), 6)
    printed_V = np.zeros((12, 6))
    printed_V[np.arange(12), np.array(PRINTED_1149) - 1] = 1
    ex.append(Example("47.1149", "partition matrix V of Fig. 47.87 (12 x 6)", printed_V,
                      V.toarray()))
    ex.append(Example("47.1149", "size label under V: (P x M) printed, PS x M computed",
                      [4, 6], list(V.shape), erratum="E-1149"))
    ex.append(Example("47.1149", "left side: V (1..6)", PRINTED_1149, V @ np.arange(1.0, 7)))
    ex.append(Example("47.1151", "(I_P (x) 1_S^T) V", PRINTED_1151,
                      patch_indicator(V, 4, 3).toarray()))
    ex.append(Example("47.1153", "V = col{e_k^T}: the indices k", PRINTED_1153,
                      V.indices + 1))
    net64 = Network((64, 64), 1, conv=[Conv(30, mask=9)], outputs=1)
    ex.append(Example("47.1165", "M = 64^2", 4096, net64.sizes()[0]["M"]))
    ly = net64.layers[0]
    net3 = Network((64, 64), 1, conv=[Conv(30, mask=3)], outputs=1)
    l3 = net3.layers[0]
    ex.append(Example("47.1166", "coefficients of a depth-30 layer whose mask has 9 entries "
                      "(a 3x3 mask: the count the print's 30 x (9+1) makes)", 300,
                      l3.S * l3.D_in * l3.D + l3.D_in * l3.D))
    ex.append(Example("47.1166", "coefficients of a depth-30 layer with mask size 2K+1 = 9, "
                      "as the text says (a 9x9 mask: 30 x (81+1))", 300,
                      ly.S * ly.D_in * ly.D + ly.D_in * ly.D, erratum="E-1166"))
    ex.append(Example("47.1167", "P = L^2 (stride 1, zero padding)", 4096,
                      sliding_partition((64, 64), 9).P))
    H = np.arange(9.0).reshape(3, 3)
    ex.append(Example("47.1170", "M_mean for 3x3 patches", np.full((3, 3), 1 / 9),
                      _gradient_block("mean", H), atol=1e-15))
    Hmax = np.array([[1.0, 9, 2], [3, 4, 5], [0, 6, 7]])  # maximum at (1, 2)
    ex.append(Example("47.1174", "M_max = e_1 e_2^T (maximum at (1,2))",
                      [[0, 1, 0], [0, 0, 0], [0, 0, 0]], _gradient_block("max", Hmax)))
    ex.append(Example("47.1178", "M_sub = e_1 e_1^T", [[1, 0, 0], [0, 0, 0], [0, 0, 0]],
                      _gradient_block("subsample", Hmax)))
    F = 10 * np.arange(1, 8)[:, None] + np.arange(1, 10)[None, :]  # entry (r, c) = 10r + c
    sub = Pooling("subsample", in_shape=(7, 9), block=1, stride=3)
    ex.append(Example("47.1177", "subsampling by 3: boxed entries a..i of the 7 x 9 map",
                      [[11, 14, 17], [41, 44, 47], [71, 74, 77]],
                      unvec(sub.pool(vec(F)), sub.out_shape)))
    pool = _pooling_1201()
    T = pool.T.toarray()
    ex.append(Example("47.1201", "permutation matrix T as printed (11 x 12) vs 12 x 12",
                      printed_T_1201(), T, erratum="E-1201"))
    ex.append(Example("47.1201", "left side: T (1..12)", LHS_1201, T @ np.arange(1.0, 13)))
    ex.append(Example("47.1203", "T = col{e_k^T}: the indices k", PRINTED_1203,
                      pool.T.indices + 1))
    region = _region_of(pool)
    ex.append(Example("47.1240", "index p'' of w_(i_p'') in rows j = 1..12", PRINTED_1240_W,
                      region))
    ex.append(Example("47.1240", "index p'' of dt(p'')/dy(j) in rows j = 1..12",
                      PRINTED_1240_DT, region))
    Vc = _Vc_1252()
    printed_Vc = np.zeros((8, 6))
    printed_Vc[np.arange(8), np.array(PRINTED_1252) - 1] = 1
    ex.append(Example("47.1252", "V_c of Fig. 47.99 (8 x 6)", printed_Vc, Vc.toarray()))
    ex.append(Example("47.1253", "V_c (1..6)", PRINTED_1253, Vc @ np.arange(1.0, 7)))
    ex.append(Example("47.1254", "(I_4 (x) 1_2)^T V_c", PRINTED_1254,
                      patch_indicator(Vc, 4, 2).toarray()))
    ex.append(Example("47.1255", "skeleton V_c^T (I_4 (x) 1_2)", PRINTED_1255,
                      V_ddc_skeleton(Vc, 4, 2).toarray()))
    w1, w2 = 2.0, 3.0
    w = np.array([w1, w2])
    B = V_ddc(Vc, w, 4, 2, literal=True).toarray()
    ex.append(Example("47.1251", "the 6 x 4 matrix of b = (.) delta at w = (2, 3)",
                      substitute(PRINTED_1251, w1=w1, w2=w2), B))
    ex.append(Example("47.1256", "(V_c^T (.) (1_6 1_4^T (x) w^T))(I_4 (x) 1_2) at w = (2, 3)",
                      substitute(PRINTED_1251, w1=w1, w2=w2), B))
    ex.append(Example("47.1257", "size P'_c x P_(c+1) of V^(d,d',c+1)", [6, 4], list(B.shape)))
    ex.append(Example("47.1259", "index p'' of b(p'') in rows j = 1..12", PRINTED_1259_B,
                      region, erratum="E-1259"))
    ex.append(Example("47.1259", "index p'' of dt(p'')/dy(j) in rows j = 1..12",
                      PRINTED_1259_DT, region))
    return ex


def _listing_network():
    """A small network for the listings' worked examples: 6x6 input, two conv layers (the
    second with a connection table), max-pooling, one hidden layer."""
    return Network((6, 6), 1,
                   conv=[Conv(2, mask=3, activation="tanh", pool=("max", 2)),
                         Conv(3, mask=2, activation="tanh", connections=[[0], [1], [0, 1]])],
                   hidden=[4], outputs=2, hidden_activation="tanh",
                   output_activation="sigmoid")


def listing_examples():
    r"""The listings' worked examples: the listings print no numbers, so each runs on a small
    network and is set beside an independent computation (``basis="independent"``).

    * (47.1216): the forward listing against scalar loops (:mod:`sayedcnn.reference.loops`);
    * (47.1275): the training listing's derivatives against central differences of
      :math:`J_{emp}` (47.1229), with regularisers;
    * (47.1276): one stochastic-gradient step of the listing against
      :math:`W - \mu\,\partial J/\partial W` by central differences.

    Examples
    --------
    >>> from sayedcnn.fidelity.book_examples import listing_examples
    >>> [(r.key, r.ok) for r in listing_examples()][:2]
    [('47.1216', True), ('47.1216', True)]
    """
    from ..forward import forward_listing
    from ..training import gradients_listing, sgd_step_listing

    net = _listing_network()
    rng = np.random.default_rng(1216)
    params = net.init(1216, bias_scale=0.3)
    X = rng.uniform(-1, 1, (2, 1, 6, 6))
    Gamma = rng.uniform(0.1, 0.9, (2, net.Q))
    res = forward_listing(net, params, X[0])
    ref = loops.forward(net, params, X[0])
    out = [Example("47.1216", "forward listing on a 6x6 image, C = 2 (a connection table), "
                   "L = 3: y_1 = col{t^(d,C)} (47.1215) against scalar loops",
                   ref["y_ff"][1], res.y_ff[1], atol=1e-12, basis="independent"),
           Example("47.1216", "forward listing: the output y_L against scalar loops",
                   ref["output"], res.output, atol=1e-12, basis="independent")]
    rho1, rho2 = 0.01, 0.02
    v0 = params.to_vector()
    fd = central_differences(
        lambda v: net.risk(params.from_vector(v), X, Gamma, rho1, rho2), v0)
    g = gradients_listing(net, params, X, Gamma, rho1, rho2)
    out.append(Example("47.1275", "training listing, N = 2 with rho_1, rho_2: every "
                       "derivative (stacked) against central differences of J_emp (47.1229)",
                       fd, g.to_vector(), atol=1e-7, basis="independent"))
    mu = 0.05
    fd1 = central_differences(
        lambda v: net.risk(params.from_vector(v), X[:1], Gamma[:1], rho1, rho2), v0)
    step = sgd_step_listing(net, params, X[0], Gamma[0], mu, rho1, rho2)
    out.append(Example("47.1276", "one step of the stochastic-gradient listing (mu = 0.05): "
                       "the new parameters against theta - mu dJ/dtheta by central "
                       "differences", v0 - mu * fd1, step.to_vector(), atol=1e-8,
                       basis="independent"))
    return out
