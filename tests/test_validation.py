"""Bad input at every public entry point gives a ValueError or TypeError that names the
quantity, the expected and the actual value, and the equation it comes from; never a numpy
broadcast error or a silently wrong number.

One case per bad-input class and entry point; each ``match`` pins the quantity and, where
the quantity comes from an equation, its number.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import sayedcnn as sc
from sayedcnn import Conv, Network, Params, Pooling, one_hot, sgd
from sayedcnn.app.cli import main
from sayedcnn.data import datasets

NAN, INF = np.nan, np.inf


def _net():
    """C = 2: 6x6 -> D_1 = 2 maps (3x3 masks, 'same', tanh, 2x2 max-pool) -> 3x3 -> D_2 = 3
    maps (relu) -> n_1 = 27 -> n_2 = 4 -> Q = 3. W_conv[2] is S_2 D_1 x D_2 = 18 x 3."""
    return Network((6, 6), 1, [Conv(2, 3, "same", 1, "tanh", ("max", 2)),
                               Conv(3, 3, "same", 1, "relu")], [4], 3)


NET = _net()
P0 = NET.init(0, bias_scale=0.1)
X = np.random.default_rng(0).random((2, 1, 6, 6))
G = np.eye(3)[[0, 2]]
V9 = sc.sliding_partition((3, 3), 3).V  # 81 x 9: P = 9, S = 9, M = 9
POOL = Pooling("max", (4, 4), 2)


def _with(group, key, value):
    p = P0.copy()
    getattr(p, group)[key] = value
    return p


def _nan_at(group, key):
    a = getattr(P0, group)[key].copy()
    a.flat[0] = NAN
    return _with(group, key, a)


def _img(**kw):
    A = X.copy()
    for k, v in kw.items():
        if k == "nan":
            A[0, 0, 0, 0] = v
    return A


def _pool_net(pool):
    return lambda: Network((6, 6), 1, [Conv(2, 3, "same", 1, "tanh", pool)], [], 3)


def _conn_net(table):
    return lambda: Network((6, 6), 1, [Conv(2), Conv(2, connections=table)], [], 3)


def _no_params_key():
    p = P0.copy()
    del p.theta_ff[2]
    return p


def _str_key():
    p = P0.copy()
    p.W_ff["1"] = p.W_ff.pop(1)
    return p


# (id, call, exception, match)
CASES = [
    # -- operators: vec, unvec (47.1127) --------------------------------------------------
    ("vec-rank", lambda: sc.vec(np.zeros((2, 2, 2))), ValueError, r"2-D matrix \(47\.1127\)"),
    ("vec-complex", lambda: sc.vec(np.zeros((2, 2), complex)), TypeError,
     r"matrix A of vec must be real \(47\.1127\), got complex"),
    ("vec-object", lambda: sc.vec(np.array([[None, 1]])), TypeError,
     r"matrix A of vec .*\(47\.1127\), got dtype object"),
    ("vec-bool", lambda: sc.vec(np.ones((2, 2), bool)), TypeError,
     r"matrix A of vec .*\(47\.1127\), got dtype bool"),
    ("vec-nan", lambda: sc.vec(np.array([[NAN, 1.0]])), ValueError,
     r"matrix A of vec contains NaN \(47\.1127\)"),
    ("unvec-size", lambda: sc.unvec(np.zeros(5), (2, 3)), ValueError,
     r"rows\*cols = 6 entries \(47\.1127\), got shape \(5,\)"),
    ("unvec-zero-shape", lambda: sc.unvec(np.zeros(0), (0, 3)), ValueError,
     r"shape must be >= 1 along each axis \(47\.1127\), got \(0, 3\)"),
    ("unvec-inf", lambda: sc.unvec(np.array([INF, 0.0]), (1, 2)), ValueError,
     r"vector v of unvec contains inf \(47\.1127\)"),
    ("commutation-zero", lambda: sc.commutation_matrix(0, 3), ValueError,
     r"rows of X must be >= 1 \(47\.1127\), got 0"),
    ("commutation-float", lambda: sc.commutation_matrix(2.5, 3), TypeError,
     r"rows of X must be an integer \(47\.1127\), got 2\.5"),
    # -- reversal, flip, correlate, convolve, Gaussian, edges (47.1133-47.1142) ------------
    ("reversal-zero", lambda: sc.reversal_matrix(0), ValueError,
     r"size n of the reversal matrix must be >= 1 \(47\.1137\), got 0"),
    ("reversal-float", lambda: sc.reversal_matrix(2.5), TypeError,
     r"size n of the reversal matrix must be an integer \(47\.1137\)"),
    ("flip-rank", lambda: sc.flip_mask(np.zeros(3)), ValueError,
     r"mask W must be 2-dimensional \(47\.1136\), got shape \(3,\)"),
    ("flip-empty", lambda: sc.flip_mask(np.zeros((0, 3))), ValueError,
     r"mask W must have at least one entry \(47\.1136\), got shape \(0, 3\)"),
    ("flip-nan", lambda: sc.flip_mask(np.full((2, 2), NAN)), ValueError,
     r"mask W contains NaN \(47\.1136\)"),
    ("correlate-complex", lambda: sc.correlate(np.zeros((4, 4), complex), np.ones((3, 3))),
     TypeError, r"image must be real \(47\.1133\), got complex"),
    ("correlate-inf", lambda: sc.correlate(np.full((4, 4), INF), np.ones((3, 3))), ValueError,
     r"image contains inf \(47\.1133\)"),
    ("correlate-mask-larger-than-padded", lambda: sc.correlate(np.zeros((2, 2)), np.ones((5, 5)),
                                                               padding=1),
     ValueError, r"mask size 5 along axis 0 is larger than the padded map 2 \+ 2\*1 = 4 "
                 r"\(47\.1133\)"),
    ("correlate-mask-larger-valid", lambda: sc.correlate(np.zeros((2, 2)), np.ones((3, 3)),
                                                         padding="valid"),
     ValueError, r"mask size 3 along axis 0 is larger than the map size 2 .*\(47\.1133\)"),
    ("correlate-stride-zero", lambda: sc.correlate(np.zeros((4, 4)), np.ones((3, 3)), stride=0),
     ValueError, r"stride must be >= 1 along each axis \(47\.1133\), got 0"),
    ("correlate-padding-negative", lambda: sc.correlate(np.zeros((4, 4)), np.ones((3, 3)),
                                                        padding=-1),
     ValueError, r"padding must be >= 0 along each axis \(47\.1129\), got -1"),
    ("correlate-padding-name", lambda: sc.correlate(np.zeros((4, 4)), np.ones((3, 3)),
                                                    padding="full"),
     ValueError, r"padding must be 'same', 'valid' or an integer \(47\.1129\), got 'full'"),
    ("convolve-padding", lambda: sc.convolve(np.zeros((4, 4)), np.ones((3, 3)), padding="valid"),
     ValueError, r"'same' form \(47\.1139\), got 'valid'"),
    ("convolve-empty-mask", lambda: sc.convolve(np.zeros((4, 4)), np.ones((0, 3))), ValueError,
     r"image and mask must each have at least one entry \(47\.1139\)"),
    ("gaussian-K-negative", lambda: sc.gaussian_mask(-1, 1.0), ValueError,
     r"K, the half-width of the Gaussian mask must be >= 0 \(47\.1135\), got -1"),
    ("gaussian-K-float", lambda: sc.gaussian_mask(1.5, 1.0), TypeError,
     r"K, the half-width .* must be an integer \(47\.1135\), got 1\.5"),
    ("gaussian-sigma-zero", lambda: sc.gaussian_mask(1, 0.0), ValueError,
     r"sigma2 of the Gaussian mask must be > 0 \(47\.1135\), got 0\.0"),
    ("gaussian-sigma-string", lambda: sc.gaussian_mask(1, "1"), TypeError,
     r"sigma2 of the Gaussian mask must be a real number \(47\.1135\)"),
    ("gaussian-sigma-nan", lambda: sc.gaussian_mask(1, NAN), ValueError,
     r"sigma2 of the Gaussian mask must be finite \(47\.1135\)"),
    ("edge-masks-not-a-pair", lambda: sc.edge_magnitude(np.zeros((4, 4)), masks=np.ones((3, 3))),
     ValueError, r"masks must be a pair \(W_x, W_y\) of 2-D masks \(47\.1141\)"),
    # -- partition matrices (47.1148-47.1153) ---------------------------------------------
    ("partition-out-of-range", lambda: sc.partition_matrix([[0, 5]], 3), ValueError,
     r"0\.\.M-1 = 0\.\.2 \(or -1 for padding\) \(47\.1153\), got range 0\.\.5"),
    ("partition-float-indices", lambda: sc.partition_matrix([[0.0, 1.0]], 3), TypeError,
     r"index_lists must hold integers \(47\.1153\), got dtype float64"),
    ("partition-ragged", lambda: sc.partition_matrix([[0, 1], [2]], 3), ValueError,
     r"P lists of the same size S \(47\.1148\)"),
    ("partition-M-zero", lambda: sc.partition_matrix([[0]], 0), ValueError,
     r"M, the length of h \(47\.1148\), must be >= 1, got 0"),
    ("partition-M-float", lambda: sc.partition_matrix([[0]], 3.5), TypeError,
     r"M, the length of h \(47\.1148\), must be an integer, got 3\.5"),
    ("sliding-in-shape-zero", lambda: sc.sliding_partition((0, 3), 3), ValueError,
     r"in_shape must be >= 1 along each axis \(47\.1148\), got \(0, 3\)"),
    ("sliding-mask-zero", lambda: sc.sliding_partition((3, 3), 0), ValueError,
     r"mask must be >= 1 along each axis \(47\.1133\), got 0"),
    ("sliding-stride-zero", lambda: sc.sliding_partition((3, 3), 3, 0), ValueError,
     r"stride must be >= 1 along each axis \(47\.1133\), got 0"),
    ("sliding-mask-larger-than-padded", lambda: sc.sliding_partition((3, 3), 6, 1, 1), ValueError,
     r"mask size 6 along axis 0 is larger than the padded map 3 \+ 2\*1 = 5 \(47\.1133\)"),
    ("sliding-padding-float", lambda: sc.sliding_partition((3, 3), 3, 1, 1.5), TypeError,
     r"padding must be an int or a pair of ints \(47\.1129\), got 1\.5"),
    ("patch-indicator-rows", lambda: sc.patch_indicator(V9, 9, 8), ValueError,
     r"V must have P\*S = 72 rows \(47\.1151\), got 81"),
    ("patch-indicator-P-string", lambda: sc.patch_indicator(V9, "9", 9), TypeError,
     r"P, the number of subvectors must be an integer \(47\.1151\), got '9'"),
    ("patch-matrix-h-size", lambda: sc.patch_matrix(V9, np.zeros(8), 9), ValueError,
     r"h must be a vector of M = 9 entries \(47\.1152\), got shape \(8,\)"),
    ("patch-matrix-h-complex", lambda: sc.patch_matrix(V9, np.zeros(9, complex), 9), TypeError,
     r"h must be real \(47\.1152\)"),
    ("patch-matrix-h-nan", lambda: sc.patch_matrix(V9, np.full(9, NAN), 9), ValueError,
     r"h contains NaN \(47\.1152\)"),
    ("patch-matrix-S-zero", lambda: sc.patch_matrix(V9, np.zeros(9), 0), ValueError,
     r"S, the size of each subvector must be >= 1 \(47\.1152\), got 0"),
    # -- V^(d,d',c+1) (47.1252-47.1257) ----------------------------------------------------
    ("Vddc-rows", lambda: sc.V_ddc(V9, np.ones(9), 9, 8), ValueError,
     r"V_c must be P_\(c\+1\) S_\(c\+1\) x P'_c .* = 72 rows \(47\.1252, erratum E-1252\), "
     r"got 81 x 9"),
    ("Vddc-w-size", lambda: sc.V_ddc(V9, np.ones(8), 9, 9), ValueError,
     r"w must have S_\(c\+1\) = 9 entries \(47\.1257\), got 8"),
    ("Vddc-w-nan", lambda: sc.V_ddc(V9, np.full(9, NAN), 9, 9), ValueError,
     r"w contains NaN \(47\.1257\)"),
    ("Vddc-V-nan", lambda: sc.V_ddc(np.full((9, 1), NAN), np.ones(9), 1, 9), ValueError,
     r"V_c contains NaN \(47\.1252\)"),
    ("Vddc-P-string", lambda: sc.V_ddc(V9, np.ones(9), "9", 9), TypeError,
     r"P_\(c\+1\) must be an integer \(47\.1252\), got '9'"),
    ("Vddc-V-list", lambda: sc.V_ddc([[1.0]], np.ones(1), 1, 1), TypeError,
     r"V_c must be a scipy\.sparse matrix or ndarray, got list"),
    ("skeleton-P-zero", lambda: sc.V_ddc_skeleton(V9, 0, 9), ValueError,
     r"P_\(c\+1\) and S_\(c\+1\) must be >= 1 \(47\.1252\), got 0, 9"),
    # -- Pooling: construction (47.1169, 47.1179, 47.1180, 47.1187, Table 47.13) ----------
    ("pool-kind", lambda: Pooling("median", (4, 4), 2), ValueError,
     r"pooling kind must be one of .* \(Table 47\.13\), got 'median'"),
    ("pool-block-larger-than-map", lambda: Pooling("max", (4, 4), 5), ValueError,
     r"pooling block 5 x 5 does not fit the 4 x 4 feature map \(47\.1169\)"),
    ("pool-block-zero", lambda: Pooling("max", (4, 4), 0), ValueError,
     r"pooling block must be >= 1 along each axis \(47\.1169\), got 0"),
    ("pool-stride-zero", lambda: Pooling("max", (4, 4), 2, 0), ValueError,
     r"pooling stride must be >= 1 along each axis \(47\.1169\), got 0"),
    ("pool-region-out-of-range", lambda: Pooling("max", regions=[[0, 9]], P=4), ValueError,
     r"region Omega_1 has indices outside 0\.\.P-1 = 0\.\.3 \(47\.1187\): \[0, 9\]"),
    ("pool-region-negative", lambda: Pooling("max", regions=[[-1, 0]], P=4), ValueError,
     r"region Omega_1 has indices outside 0\.\.P-1 = 0\.\.3 \(47\.1187\)"),
    ("pool-region-repeats", lambda: Pooling("mean", regions=[[0, 1], [2, 2]], P=4), ValueError,
     r"region Omega_2 repeats an index \(47\.1187\): \[2, 2\]"),
    ("pool-region-empty", lambda: Pooling("max", regions=[[0], []], P=4), ValueError,
     r"region Omega_2 must be a non-empty list of integer indices \(47\.1187\)"),
    ("pool-region-float", lambda: Pooling("max", regions=[[0.0, 1.0]], P=4), ValueError,
     r"region Omega_1 must be a non-empty list of integer indices \(47\.1187\)"),
    ("pool-regions-none-given", lambda: Pooling("max", regions=[], P=4), ValueError,
     r"regions must hold at least one region \(47\.1187\)"),
    ("pool-regions-not-a-sequence", lambda: Pooling("max", regions=5, P=4), TypeError,
     r"regions must be a sequence of index lists Omega_p' \(47\.1187\), got 5"),
    ("pool-P-zero", lambda: Pooling("max", regions=[[0]], P=0), ValueError,
     r"P must be a positive integer \(47\.1187\), got 0"),
    ("pool-retain-out-of-range", lambda: Pooling("subsample", (4, 4), 2, retain=4), ValueError,
     r"retain must index an entry of every region, 0\.\.3 \(47\.1179\), got 4"),
    ("pool-retain-float", lambda: Pooling("subsample", (4, 4), 2, retain=1.5), TypeError,
     r"retain, the position kept by subsampling must be an integer \(47\.1179\), got 1\.5"),
    ("pool-mask-size", lambda: Pooling("correlation", (4, 4), 2, mask=[1.0, 2.0, 3.0]),
     ValueError, r"pooling mask m must have one entry per region entry, \|Omega\| = 4 "
                 r"\(47\.1180\), got shape \(3,\)"),
    ("pool-mask-nan", lambda: Pooling("correlation", (4, 4), 2, mask=[1, 2, 3, NAN]), ValueError,
     r"pooling mask m contains NaN \(47\.1180\)"),
    ("pool-mask-missing", lambda: Pooling("correlation", (4, 4), 2), ValueError,
     r"correlation pooling needs its mask m\^\(d\) \(47\.1180\)"),
    # -- Pooling: applying it (47.1187-47.1204) -------------------------------------------
    ("pool-y-size", lambda: POOL.pool(np.zeros(15)), ValueError,
     r"y must be a vector of P = 16 entries or a P x K array .*\(47\.1187\), got shape \(15,\)"),
    ("pool-y-rank", lambda: POOL.pool(np.zeros((16, 1, 1))), ValueError,
     r"y must be a vector of P = 16 entries .*\(47\.1187\), got shape \(16, 1, 1\)"),
    ("pool-y-complex", lambda: POOL.pool(np.zeros(16, complex)), TypeError,
     r"y must be real \(47\.1187\)"),
    ("pool-y-bool", lambda: POOL.pool(np.zeros(16, bool)), TypeError,
     r"y must be a real numeric array \(47\.1187\), got dtype bool"),
    ("pool-y-nan", lambda: POOL.pool(np.full(16, NAN)), ValueError,
     r"y contains NaN \(47\.1187\)"),
    ("gradient-vectors-2d", lambda: POOL.gradient_vectors(np.zeros((16, 2))), ValueError,
     r"y must be a vector of P = 16 entries \(47\.1196\)"),
    ("upv-v-size", lambda: POOL.upv(np.zeros(3), np.zeros(16)), ValueError,
     r"v must have P' = 4 entries \(47\.1200\), got 3"),
    ("upv-v-nan", lambda: POOL.upv(np.full(4, NAN), np.zeros(16)), ValueError,
     r"v contains NaN \(47\.1200\)"),
    ("permute-rows", lambda: POOL.permute(np.zeros(15)), ValueError,
     r"y must have P = 16 rows \(47\.1202\), got shape \(15,\)"),
    ("permute-scalar", lambda: POOL.permute(3.0), ValueError,
     r"y must have P = 16 rows \(47\.1202\), got shape \(\)"),
    ("permute-sharp-rows", lambda: POOL.permute_sharp(np.zeros(15)), ValueError,
     r"y_o must have sum\|Omega\| = 16 rows \(47\.1204\), got shape \(15,\)"),
    ("backprop-v-rows", lambda: POOL.backprop(np.zeros(3), np.zeros(16)), ValueError,
     r"v must have P' = 4 rows \(47\.1244\), shaped 4 like y's 1-D layout, got 3"),
    ("backprop-v-columns", lambda: POOL.backprop(np.zeros((4, 3)), np.zeros((16, 2))),
     ValueError, r"v must have P' = 4 rows \(47\.1244\), shaped 4 x 2 .*, got 4 x 3"),
    # -- activations and losses (47.1154, 47.1229, seed 001) ------------------------------
    ("activation-name", lambda: sc.get_activation("swish"), ValueError,
     r"activation must be one of .* \(47\.1154\), got 'swish'"),
    ("activation-softmax-inner", lambda: sc.get_activation("softmax"), ValueError,
     r"softmax .* allowed only as the output activation \(seed 001\)"),
    ("softmax-nan", lambda: sc.softmax(np.array([NAN, 0.0])), ValueError,
     r"logits z of softmax contains NaN \(seed 001\)"),
    ("softmax-complex", lambda: sc.softmax(np.zeros(3, complex)), TypeError,
     r"logits z of softmax must be real \(seed 001\)"),
    ("softmax-empty", lambda: sc.softmax(np.zeros((2, 0))), ValueError,
     r"logits z of softmax need at least one entry on the last axis \(seed 001\), got shape "
     r"\(2, 0\)"),
    ("loss-name", lambda: sc.get_loss("hinge"), ValueError,
     r"loss must be one of \['cross_entropy', 'quadratic'\] \(47\.1229\), got 'hinge'"),
    ("loss-type", lambda: sc.get_loss(["quadratic"]), ValueError,
     r"loss must be one of .* \(47\.1229\), got \['quadratic'\]"),
    # -- Network: architecture (47.1143, 47.1206-47.1231) ---------------------------------
    ("network-no-conv", lambda: Network((6, 6), 1, [], [], 3), ValueError,
     r"needs C >= 1 correlation layers \(47\.1216\)"),
    ("network-conv-none", lambda: Network((6, 6), 1, None, [], 3), TypeError,
     r"conv must be a sequence of sayedcnn\.Conv, one per layer c = 1\.\.C \(47\.1216\)"),
    ("network-conv-not-Conv", lambda: Network((6, 6), 1, [2], [], 3), TypeError,
     r"conv\[0\] must be a sayedcnn\.Conv, got int"),
    ("network-input-shape-zero", lambda: Network((0, 6), 1, [Conv(2)], [], 3), ValueError,
     r"input_shape must be >= 1 along each axis \(47\.1143\), got \(0, 6\)"),
    ("network-input-depth-zero", lambda: Network((6, 6), 0, [Conv(2)], [], 3), ValueError,
     r"input_depth D_0 must be >= 1 \(47\.1216\), got 0"),
    ("network-depth-zero", lambda: Network((6, 6), 1, [Conv(0)], [], 3), ValueError,
     r"depth D_1 must be >= 1 \(47\.1206\), got 0"),
    ("network-depth-float", lambda: Network((6, 6), 1, [Conv(2.0)], [], 3), TypeError,
     r"depth D_1 must be an integer \(47\.1206\), got 2\.0"),
    ("network-mask-larger-than-map", lambda: Network((6, 6), 1, [Conv(2, 7, "valid")], [], 3),
     ValueError, r"mask size 7 along axis 0 is larger than the map size 6 .*\(47\.1133\)"),
    ("network-stride-zero", lambda: Network((6, 6), 1, [Conv(2, 3, "same", 0)], [], 3),
     ValueError, r"stride must be >= 1 along each axis \(47\.1133\), got 0"),
    ("network-pool-larger-than-map", _pool_net(("max", 7)), ValueError,
     r"pooling block 7 x 7 does not fit the 6 x 6 feature map \(47\.1169\)"),
    ("network-pool-shrinks-to-nothing",
     lambda: Network((2, 2), 1, [Conv(1, 1, "same", 1, "tanh", ("max", 2)),
                                 Conv(1, 1, "same", 1, "tanh", ("max", 2))], [], 3),
     ValueError, r"pooling block 2 x 2 does not fit the 1 x 1 feature map \(47\.1169\)"),
    ("network-pool-malformed", _pool_net(("max",)), ValueError,
     r"pool of layer c = 1 must be None, \(kind, block\[, stride\]\), a dict or a Pooling "
     r"\(47\.1208\)"),
    ("network-pool-dict-key", _pool_net({"kind": "max", "blok": 2}), ValueError,
     r"pool of layer c = 1: unknown keys \['blok'\].*\(47\.1187\)"),
    ("network-pool-wrong-P", _pool_net(Pooling("max", (4, 4), 2)), ValueError,
     r"the Pooling of layer c = 1 pools 16 entries but the feature map has P_1 = 36 "
     r"\(47\.1208\)"),
    ("network-pool-regions-out-of-range", _pool_net({"kind": "max", "regions": [[0, 99]]}),
     ValueError, r"region Omega_1 has indices outside 0\.\.P-1 = 0\.\.35 \(47\.1187\)"),
    ("network-connections-empty-map", _conn_net([[0], []]), ValueError,
     r"connections of layer c = 2 leave output map d = 1 with no input map \(47\.1213\)"),
    ("network-connections-out-of-range", _conn_net([[0], [2]]), ValueError,
     r"connections of layer c = 2, map d = 1: input map 2 is not in 0\.\.D_1-1 = 0\.\.1 "
     r"\(47\.1213\)"),
    ("network-connections-count", _conn_net([[0]]), ValueError,
     r"connections of layer c = 2 must list, for each of the D_2 = 2 output maps, its input "
     r"maps \(47\.1213\); got 1 entries"),
    ("network-connections-repeat", _conn_net([[0, 0], [1]]), ValueError,
     r"connections of layer c = 2, map d = 0 repeat an input map \(47\.1213\)"),
    ("network-connections-not-integer", _conn_net([[0], [1.0]]), TypeError,
     r"connections of layer c = 2, map d = 1: input map 1\.0 is not an integer .*\(47\.1213\)"),
    ("network-connections-flat", _conn_net([0, 1]), TypeError,
     r"connections of layer c = 2, map d = 0: expected a list of input maps in 0\.\.1 "
     r"\(47\.1213\), got 0"),
    ("network-hidden-int", lambda: Network((6, 6), 1, [Conv(2)], 4, 3), TypeError,
     r"hidden must be a sequence of sizes n_2\.\.n_\(L-1\) \(47\.1221f\), got 4"),
    ("network-hidden-zero", lambda: Network((6, 6), 1, [Conv(2)], [0], 3), ValueError,
     r"hidden\[0\] must be >= 1 \(47\.1221f\), got 0"),
    ("network-outputs-zero", lambda: Network((6, 6), 1, [Conv(2)], [], 0), ValueError,
     r"outputs Q must be >= 1 \(47\.1231\), got 0"),
    ("network-cross-entropy-sigmoid",
     lambda: Network((6, 6), 1, [Conv(2)], [], 3, output_activation="sigmoid",
                     loss="cross_entropy"),
     ValueError, r"loss 'cross_entropy' needs output_activation 'softmax' \(seed 001\)"),
    ("network-softmax-conv", lambda: Network((6, 6), 1, [Conv(2, activation="softmax")], [], 3),
     ValueError, r"softmax .* allowed only as the output activation \(seed 001\)"),
    ("init-bias-scale-nan", lambda: NET.init(0, bias_scale=NAN), ValueError,
     r"bias_scale must be finite \(47\.1224b\)"),
    ("init-bias-scale-negative", lambda: NET.init(0, bias_scale=-1.0), ValueError,
     r"bias_scale must be >= 0 \(47\.1224b\), got -1\.0"),
    # -- parameters against the architecture (47.1221g-h, 47.1224a-b) ----------------------
    ("params-W-conv-shape", lambda: NET.check_params(_with("W_conv", 2, np.zeros((18, 2)))),
     ValueError, r"W_conv\[2\] must be S_2\*D_1 x D_2 = 18 x 3 \(47\.1224a\), got 18 x 2"),
    ("params-Theta-conv-shape",
     lambda: NET.check_params(_with("Theta_conv", 1, np.zeros((2, 1)))),
     ValueError, r"Theta_conv\[1\] must be D_0 x D_1 = 1 x 2 \(47\.1224b\), got 2 x 1"),
    ("params-W-ff-shape", lambda: NET.check_params(_with("W_ff", 1, np.zeros((4, 26)))),
     ValueError, r"W_ff\[1\] must be n_2 x n_1 = 4 x 27 \(47\.1221g\), got 4 x 26"),
    ("params-theta-ff-column", lambda: NET.check_params(_with("theta_ff", 1, np.zeros((4, 1)))),
     ValueError, r"theta_ff\[1\] must be n_2 = 4 \(47\.1221h\), got 4 x 1"),
    ("params-missing-layer", lambda: NET.check_params(_no_params_key()), ValueError,
     r"params\.theta_ff must have keys \[1, 2\] \(book layer numbers, 47\.1221h\), got \[1\]"),
    ("params-string-key", lambda: NET.check_params(_str_key()), ValueError,
     r"params\.W_ff must have keys \[1, 2\] \(book layer numbers, 47\.1221g\), got \['1', 2\]"),
    ("params-complex", lambda: NET.check_params(_with("W_conv", 1, P0.W_conv[1] + 0j)),
     TypeError, r"W_conv\[1\] must be real \(47\.1224a\), got complex"),
    ("params-object", lambda: NET.check_params(_with("W_ff", 2, np.array([[None] * 4] * 3))),
     TypeError, r"W_ff\[2\] must be a real numeric array \(47\.1221g\), got dtype object"),
    ("params-bool", lambda: NET.check_params(_with("theta_ff", 2, np.ones(3, bool))),
     TypeError, r"theta_ff\[2\] must be a real numeric array \(47\.1221h\), got dtype bool"),
    ("params-nan", lambda: NET.check_params(_nan_at("W_ff", 1)), ValueError,
     r"W_ff\[1\] contains NaN \(47\.1221g\)"),
    ("params-inf", lambda: NET.check_params(_with("Theta_conv", 2, np.full((2, 3), INF))),
     ValueError, r"Theta_conv\[2\] contains inf \(47\.1224b\)"),
    ("params-not-Params", lambda: NET.check_params({"W_conv": {}}), TypeError,
     r"params must be a sayedcnn\.Params, got dict"),
    ("params-group-not-dict", lambda: NET.check_params(Params(W_conv=[1])), TypeError,
     r"params\.W_conv must be a dict keyed by the book's layer numbers \[1, 2\] \(47\.1224a\), "
     r"got list"),
    # -- images (47.1216) -------------------------------------------------------------------
    ("forward-X-shape", lambda: NET.forward(P0, np.zeros((2, 1, 5, 6))), ValueError,
     r"X must be N x D_0 x rows x cols = N x 1 x 6 x 6 .*\(47\.1216\), got shape \(2, 1, 5, 6\)"),
    ("forward-X-depth", lambda: NET.forward(P0, np.zeros((2, 2, 6, 6))), ValueError,
     r"X must be N x D_0 x rows x cols = N x 1 x 6 x 6 .*\(47\.1216\), got shape \(2, 2, 6, 6\)"),
    ("forward-X-rank", lambda: NET.forward(P0, np.zeros((6, 6))), ValueError,
     r"X must be N x D_0 x rows x cols .*\(47\.1216\), got shape \(6, 6\)"),
    ("forward-X-empty-batch", lambda: NET.forward(P0, np.zeros((0, 1, 6, 6))), ValueError,
     r"X must be N x D_0 x rows x cols .*\(47\.1216\), got shape \(0, 1, 6, 6\)"),
    ("forward-X-complex", lambda: NET.forward(P0, X + 0j), TypeError,
     r"X must be real \(47\.1216\), got complex dtype"),
    ("forward-X-bool", lambda: NET.forward(P0, X > 0.5), TypeError,
     r"X must be a real numeric array \(47\.1216\), got dtype bool"),
    ("forward-X-object", lambda: NET.forward(P0, X.astype(object)), TypeError,
     r"X must be a real numeric array \(47\.1216\), got dtype object"),
    ("forward-X-none", lambda: NET.forward(P0, None), TypeError,
     r"X must be a real numeric array \(47\.1216\), got None"),
    ("forward-X-ragged", lambda: NET.forward(P0, [[1.0, 2.0], [3.0]]), ValueError,
     r"X must be a rectangular numeric array \(47\.1216\)"),
    ("forward-X-nan", lambda: NET.forward(P0, _img(nan=NAN)), ValueError,
     r"X contains NaN \(47\.1216\)"),
    ("forward-X-inf", lambda: NET.forward(P0, _img(nan=-INF), method="fused"), ValueError,
     r"X contains inf \(47\.1216\)"),
    ("forward-method", lambda: NET.forward(P0, X, method="loops"), ValueError,
     r"method must be 'listing' or 'fused', got 'loops'"),
    ("forward-params-shape", lambda: NET.forward(_with("W_conv", 2, np.zeros((18, 2))), X),
     ValueError, r"W_conv\[2\] must be S_2\*D_1 x D_2 = 18 x 3 \(47\.1224a\)"),
    ("predict-X-shape", lambda: NET.predict(P0, np.zeros((2, 1, 6, 5))), ValueError,
     r"X must be N x D_0 x rows x cols = N x 1 x 6 x 6 .*\(47\.1216\)"),
    ("predict-params-nan", lambda: NET.predict(_nan_at("W_conv", 1), X), ValueError,
     r"W_conv\[1\] contains NaN \(47\.1224a\)"),
    # -- targets and the risk (47.1227, 47.1229) ----------------------------------------------
    ("gradients-Gamma-width", lambda: NET.gradients(P0, X, np.zeros((2, 4))), ValueError,
     r"Gamma must be N x Q = 2 x 3 \(47\.1229\), got shape \(2, 4\)"),
    ("gradients-Gamma-count", lambda: NET.gradients(P0, X, np.zeros((3, 3))), ValueError,
     r"Gamma must be N x Q = 2 x 3 \(47\.1229\), got shape \(3, 3\)"),
    ("gradients-Gamma-rank", lambda: NET.gradients(P0, X, np.zeros((2, 3, 1))), ValueError,
     r"Gamma must be N x Q = 2 x 3 \(47\.1229\), got shape \(2, 3, 1\)"),
    ("gradients-Gamma-nan", lambda: NET.gradients(P0, X, np.full((2, 3), NAN)), ValueError,
     r"Gamma contains NaN \(47\.1229\)"),
    ("gradients-Gamma-complex", lambda: NET.gradients(P0, X, G + 0j), TypeError,
     r"Gamma must be real \(47\.1229\)"),
    ("gradients-rho-negative", lambda: NET.gradients(P0, X, G, rho1=-1.0), ValueError,
     r"rho1 must be finite and >= 0 \(47\.1229\), got -1\.0"),
    ("gradients-rho-nan", lambda: NET.gradients(P0, X, G, rho2=NAN), ValueError,
     r"rho2 must be finite and >= 0 \(47\.1229\), got nan"),
    ("gradients-rho-string", lambda: NET.gradients(P0, X, G, rho2="0.1"), TypeError,
     r"rho2 must be a real number \(47\.1229\), got '0\.1'"),
    ("gradients-method", lambda: NET.gradients(P0, X, G, method="loops"), ValueError,
     r"method must be 'listing' or 'fused', got 'loops'"),
    ("gradients-scaling", lambda: NET.gradients(P0, X, G, scaling="1228"), ValueError,
     r"scaling must be '1229' \(47\.1229\) or '1227' \(47\.1227\), got '1228'"),
    ("gradients-X-nan", lambda: NET.gradients(P0, _img(nan=NAN), G), ValueError,
     r"X contains NaN \(47\.1216\)"),
    ("risk-Gamma-width", lambda: NET.risk(P0, X, np.zeros((2, 4))), ValueError,
     r"Gamma must be N x Q = 2 x 3 \(47\.1229\), got shape \(2, 4\)"),
    ("risk-scaling", lambda: NET.risk(P0, X, G, scaling="x"), ValueError,
     r"scaling must be '1229' \(47\.1229\) or '1227' \(47\.1227\)"),
    # -- one step of (47.1276) --------------------------------------------------------------
    ("sgd-mu-zero", lambda: NET.sgd_step(P0, X, G, 0.0), ValueError,
     r"the step size mu must be finite and > 0 \(47\.1276\), got 0\.0"),
    ("sgd-mu-nan", lambda: NET.sgd_step(P0, X, G, NAN), ValueError,
     r"the step size mu must be finite and > 0 \(47\.1276\), got nan"),
    ("sgd-mu-string", lambda: NET.sgd_step(P0, X, G, "0.1"), TypeError,
     r"the step size mu must be a real number \(47\.1276\), got '0\.1'"),
    ("sgd-Gamma-width", lambda: NET.sgd_step(P0, X, np.zeros((2, 4)), 0.1), ValueError,
     r"Gamma must be N x Q = 2 x 3 \(47\.1229\), got shape \(2, 4\)"),
    ("sgd-one-image-Gamma-width", lambda: NET.sgd_step(P0, X[0], np.zeros(4), 0.1), ValueError,
     r"Gamma must be N x Q = 1 x 3 \(47\.1229\), got shape \(4,\)"),
    ("sgd-X-ragged", lambda: NET.sgd_step(P0, [[1.0], [1.0, 2.0]], G, 0.1), ValueError,
     r"X must be a rectangular numeric array \(47\.1216\)"),
    ("sgd-listing-gamma-width", lambda: sc.training.sgd_step_listing(NET, P0, X[0], np.zeros(4), 0.1),
     ValueError, r"Gamma must be N x Q = 1 x 3 \(47\.1229\), got shape \(4,\)"),
    ("sgd-listing-batch", lambda: sc.training.sgd_step_listing(NET, P0, X, G, 0.1), ValueError,
     r"sgd_step_listing takes one sample \(47\.1276\), got 2"),
    # -- sensitivities (47.1233-47.1262) -----------------------------------------------------
    ("backward-gamma-width", lambda: NET.backward(P0, NET.forward(P0, X[0]), np.zeros(4)),
     ValueError, r"Gamma must be N x Q = 1 x 3 \(47\.1229\), got shape \(4,\)"),
    ("backward-result-missing", lambda: NET.backward(P0, None, G[0]), TypeError,
     r"backward needs the listing's forward result of one sample .*47\.1216\), got NoneType"),
    ("backward-result-batch", lambda: NET.backward(P0, NET.forward(P0, X), G[0]), TypeError,
     r"backward takes the forward result of one sample \(47\.1216\); got a batch of 2"),
    ("backward-result-other-network",
     lambda: NET.backward(P0, Network((6, 6), 1, [Conv(2)], [], 3).forward(
         Network((6, 6), 1, [Conv(2)], [], 3).init(0), X[0]), G[0]),
     ValueError, r"the forward result does not belong to this network: z_l must have n_l "
                 r"entries .*\(47\.1216\)"),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_message_that_names_quantity_shape_and_equation(call, exc, match):
    """Each bad input raises the documented exception with the quantity, the expected and
    the actual value, and the equation."""
    with pytest.raises(exc, match=match):
        call()


def test_case_ids_are_unique():
    """Every bad-input case has its own id (so each reads as its own test)."""
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------
# fit and accuracy
# ---------------------------------------------------------------------------

LABELS = np.array([0, 2])

FIT_CASES = [
    ("epochs-negative", dict(epochs=-1), ValueError, r"epochs must be >= 0, got -1"),
    ("epochs-float", dict(epochs=1.5), TypeError, r"epochs must be an integer, got 1\.5"),
    ("batch-size-zero", dict(batch_size=0), ValueError,
     r"batch_size B must be >= 1 \(47\.1276\), got 0"),
    ("mu-negative", dict(mu=-0.1), ValueError,
     r"the step size mu must be finite and > 0 \(47\.1276\), got -0\.1"),
    ("rho-inf", dict(rho1=INF), ValueError, r"rho1 must be finite and >= 0 \(47\.1229\)"),
    ("seed-negative", dict(seed=-1), ValueError, r"seed must be >= 0, got -1"),
    ("seed-string", dict(seed="0"), TypeError, r"seed must be an integer, got '0'"),
    ("start-epoch-negative", dict(start_epoch=-1), ValueError,
     r"start_epoch must be >= 0, got -1"),
    ("method", dict(method="loops"), ValueError,
     r"method must be 'listing' or 'fused', got 'loops'"),
    ("callback-not-callable", dict(callback=3), TypeError,
     r"callback must be callable or None, got 3"),
    ("batch-callback-not-callable", dict(batch_callback="x"), TypeError,
     r"batch_callback must be callable or None"),
    ("history-malformed", dict(history={"loss": []}), TypeError,
     r"history must be a dict of lists with the keys \['epoch', 'loss', 'train_acc', "
     r"'val_acc', 'seconds'\]"),
    ("X-val-without-y-val", dict(X_val=X), ValueError, r"X_val and y_val go together"),
    ("X-val-shape", dict(X_val=np.zeros((2, 1, 5, 6)), y_val=LABELS), ValueError,
     r"X_val must be N x D_0 x rows x cols = N x 1 x 6 x 6 .*\(47\.1216\)"),
    ("y-val-count", dict(X_val=X, y_val=[0, 1, 2]), ValueError,
     r"y_val must hold one class number per image, N = 2 \(47\.1229\), got 3"),
    ("y-val-range", dict(X_val=X, y_val=[0, 3]), ValueError,
     r"y_val must lie in 0\.\.Q-1 = 0\.\.2 \(47\.1231\), got maximum 3"),
    ("y-val-float", dict(X_val=X, y_val=[0.0, 1.0]), TypeError,
     r"y_val: labels must be integers"),
    ("params-shape", dict(params=_with("W_ff", 2, np.zeros((3, 5)))), ValueError,
     r"W_ff\[2\] must be n_3 x n_2 = 3 x 4 \(47\.1221g\), got 3 x 5"),
    ("X-nan", dict(X=_img(nan=NAN)), ValueError, r"X contains NaN \(47\.1216\)"),
    ("labels-count", dict(labels=[0, 1, 2]), ValueError,
     r"labels must give one target per image: N x Q = 2 x 3 \(47\.1229\), got \(3, 3\)"),
    ("labels-range", dict(labels=[0, 3]), ValueError, r"labels must lie in 0\.\.Q-1 = 0\.\.2"),
    ("labels-negative", dict(labels=[0, -1]), ValueError,
     r"labels must be non-negative class numbers"),
    ("labels-float", dict(labels=[0.0, 1.0]), TypeError, r"labels must be integers"),
    ("labels-bool", dict(labels=[True, False]), TypeError, r"labels must be integers"),
    ("labels-rank", dict(labels=np.zeros((2, 3, 1), int)), ValueError,
     r"labels must be N class numbers or an N x Q = N x 3 matrix of targets \(47\.1229\), got "
     r"shape \(2, 3, 1\)"),
    ("targets-width", dict(labels=np.zeros((2, 4))), ValueError,
     r"labels must give one target per image: N x Q = 2 x 3 \(47\.1229\), got \(2, 4\)"),
    ("targets-nan", dict(labels=np.full((2, 3), NAN)), ValueError,
     r"Gamma contains NaN \(47\.1229\)"),
]


@pytest.mark.parametrize("kw, exc, match", [c[1:] for c in FIT_CASES],
                         ids=[c[0] for c in FIT_CASES])
def test_fit_rejects_bad_input_before_training(kw, exc, match):
    """fit (47.1276 over epochs) checks every argument before the first step."""
    kw = dict(kw)  # the parametrize dict is shared: never change it
    args = {"params": P0, "X": X, "labels": LABELS}
    for k in ("params", "X", "labels"):
        if k in kw:
            args[k] = kw.pop(k)
    with pytest.raises(exc, match=match):
        NET.fit(args["params"], args["X"], args["labels"], **kw)


@pytest.mark.parametrize("kw, exc, match", [
    (dict(labels=[0]), ValueError, r"labels must hold one class number per image, N = 2"),
    (dict(labels=[0, 5]), ValueError, r"labels must lie in 0\.\.Q-1 = 0\.\.2 \(47\.1231\)"),
    (dict(batch=0), ValueError, r"batch must be >= 1, got 0"),
    (dict(X=np.zeros((2, 1, 6, 5))), ValueError, r"X must be N x D_0 x rows x cols"),
], ids=["labels-count", "labels-range", "batch-zero", "X-shape"])
def test_accuracy_rejects_bad_input(kw, exc, match):
    """accuracy refuses labels that do not pair with the images (no silent broadcast)."""
    kw = dict(kw)  # the parametrize dict is shared: never change it
    args = {"X": X, "labels": LABELS}
    args.update({k: kw.pop(k) for k in ("X", "labels") if k in kw})
    with pytest.raises(exc, match=match):
        sgd.accuracy(NET, P0, args["X"], args["labels"], **kw)


def test_one_hot_rejects_an_empty_class_set():
    """Q < 1 classes is refused by name."""
    with pytest.raises(ValueError, match=r"Q \(number of classes\) must be >= 1, got 0"):
        one_hot([0], 0)


# ---------------------------------------------------------------------------
# Loaders and the command line
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("call, exc, match", [
    (lambda: datasets.load_digits(split="yes"), TypeError, r"split must be True or False"),
    (lambda: datasets.load_digits(seed=-1), ValueError, r"seed must be a non-negative"),
    (lambda: datasets.load_digits(test_fraction=1.5), ValueError,
     r"test_fraction must lie in the open interval \(0, 1\)"),
    (lambda: datasets.load_digits(n_test=0), ValueError, r"n_test must lie in 1\.\.1796"),
    (lambda: datasets.load_mnist5k(seed="0"), TypeError, r"seed must be a non-negative"),
], ids=["digits-split", "digits-seed", "digits-fraction", "digits-n-test", "mnist-seed"])
def test_loaders_reject_bad_arguments(call, exc, match):
    """The data loaders name the bad argument and its allowed range."""
    import sayedcnn.data.datasets  # noqa: F401

    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("extra, match", [
    (["--epochs", "-1"], r"--epochs must be >= 0, got -1"),
    (["--batch-size", "0"], r"--batch-size must be >= 1, got 0"),
    (["--mu", "0"], r"--mu, the step size of \(47\.1276\), must be > 0"),
    (["--rho1", "-1"], r"--rho1 of \(47\.1229\) must be >= 0"),
    (["--depths", "0"], r"--depths must list C >= 1 positive depths D_c"),
    (["--mask", "0"], r"--mask must be >= 1"),
    (["--train-size", "-5"], r"--train-size must be >= 1, got -5"),
    (["--test-size", "0"], r"--test-size must be >= 1, got 0"),
], ids=["epochs", "batch-size", "mu", "rho1", "depths", "mask", "train-size", "test-size"])
def test_train_command_rejects_bad_settings(tmp_path, capsys, extra, match):
    """``python -m sayedcnn train`` exits with status 2 and names the bad option."""
    status = main(["train", "--dataset", "digits", "--no-check", "--no-plots",
                   "--out", str(tmp_path), *extra])
    assert status == 2
    import re

    assert re.search(match, capsys.readouterr().err)
    assert not (tmp_path / "params.npz").exists()


def test_sparse_input_to_vec_is_validated_too():
    """A sparse matrix holding NaN is refused like a dense one (47.1127)."""
    A = sp.csr_matrix(np.array([[1.0, NAN]]))
    with pytest.raises(ValueError, match=r"matrix A of vec contains NaN \(47\.1127\)"):
        sc.vec(A)
