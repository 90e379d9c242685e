r"""Golden traces: every number of the listings (47.1216), (47.1275) and (47.1276) on small
seeded problems, written to ``.npz`` files for testing any other implementation.

A trace holds, for one small network and a batch of ``N`` images,

* the inputs :math:`\mathcal I_n^{(d)}`, :math:`h_n^{(d)}` (47.1143) and targets
  :math:`\gamma_n` (47.1229), and the parameters :math:`W_c, \Theta_c, W_\ell, \theta_\ell`
  (47.1221g-h, 47.1224a-b);
* the structure: the index form of every partition matrix :math:`V_{c-1}` (47.1153), every
  pooling region :math:`\Omega_{p'}` (47.1187) and connection table (47.1213);
* every intermediate of the forward listing (47.1216): :math:`H_n^{(d,c)}, z_n^{(d,c)},
  y_n^{(d,c)}, t_n^{(d,c)}, y_{\ell,n}, z_{\ell,n}`, the losses :math:`Q_n` and the risk
  :math:`J_{emp}` (47.1229);
* every sensitivity of the training listing (47.1275): :math:`\delta_{\ell,n}`,
  :math:`\delta_n^{(d,c)}`, :math:`\Delta_{n,c}` (47.1270) and :math:`V^{(d,d',c+1)}`
  (47.1257), and the derivatives of :math:`J_{emp}`;
* the parameters after one step of (47.1276) on the first sample.

Each trace is one ``.npz`` file (read with ``allow_pickle=False``; the network description
and the problem's settings are JSON strings in 0-d string arrays), and a directory of traces
has one ``index.json`` that names every array by the book's symbol and equation and states
the conventions (:data:`CONVENTIONS`) and the edge rules (:data:`RULES`) with the traces
where each decides the numbers. A copy ships in ``sayedcnn/interop/golden_data/``; the tests
check that the package still reproduces it, so the traces double as regression fixtures.

Every trace is live in the backward pass (every map of every layer and sample has a nonzero
sensitivity, every connected weight a nonzero data-term derivative, every pooled map a path
to the output), and three edge problems are built on exact multiples of 1/4 or 1/2 so that
ties, relu at 0 and all-zero l2 regions are exact in any implementation. The tests check
both from the stored numbers, and check that a conventional-layout implementation written
from the conventions alone matches every trace while each of its 35 typical bugs fails at
least one.

:func:`write_traces` writes a directory, :func:`load_trace` reads one file,
:func:`verify_trace` recomputes a trace (with the package, or with any function that maps the
inputs to arrays named as in the trace) and compares; it is ok only when the output and every
derivative were compared (:func:`required_arrays`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..network import Network
from ..params import Params
from ..reference.compare import rel_diff
from .io import network_from_dict, network_to_dict, read_npz

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CONVENTIONS",
    "RULES",
    "DATA_DIR",
    "Problem",
    "PROBLEMS",
    "Trace",
    "VerifyReport",
    "problem_data",
    "compute_trace",
    "array_specs",
    "trace_arrays",
    "write_traces",
    "load_trace",
    "load_traces",
    "required_arrays",
    "verify_trace",
    "verify_directory",
]

FORMAT = "sayedcnn-golden"
FORMAT_VERSION = 1

#: The shipped copy of the traces.
DATA_DIR = Path(__file__).with_name("golden_data")

#: Default relative tolerance of :func:`verify_trace`.
RTOL = 1e-12

CONVENTIONS = {
    "numbering": (
        "Layers keep the book's numbers: correlation/pooling layers c = 1..C, feedforward "
        "layers l = 1..L (input l = 1, output l = L), samples n = 0..N-1 as in (47.1275). "
        "Positions inside arrays are 0-based: axis 'd-1' holds the book's map d = 1..D_c at "
        "index d-1, axis 'p' holds entry p+1 of a book vector."),
    "vec": (
        "vec stacks columns (47.1127): entry (r, c) of a rows x cols map is entry r + c*rows "
        "of its vector, i.e. numpy's reshape(-1, order='F'). X[n, d-1] is the image "
        "I_n^(d) with rows first; h[n, d-1] = vec(X[n, d-1]) (47.1143)."),
    "patch_order": (
        "A sliding mask of kr x kc at stride (sr, sc) visits output positions column-major, "
        "p = i + j*out_rows, and reads each patch column-major over the mask offsets, "
        "s = a + b*kr; the patch of position (i, j) covers rows i*sr - pad_top + a and "
        "columns j*sc - pad_left + b. Zero padding 'same' puts (k-1)//2 zeros before and the "
        "rest after each axis (ceil(L/s) outputs); 'valid' none; an integer that many on "
        "each side. V_index_{c-1}[p, s] is the entry read into row s of column p of "
        "H_n^(j,c-1) (-1 = a padding zero): vec(H) = V_{c-1} h (47.1152)."),
    "weights": (
        "W_c is S_c D_{c-1} x D_c; column d-1 is W^(d,c) = col{w_1^(d,c), ..., "
        "w_{D_{c-1}}^(d,c)} (47.1223a): row j*S_c + s of column d-1 multiplies entry s of "
        "the patches of input map j+1. As a correlation mask (47.1133), entry (a, b) of the "
        "mask of input map j+1 for output map d is W_c[j*S_c + a + b*kr, d-1]."),
    "region_order": (
        "Pooling blocks tile the map from the top-left corner at the pooling stride; rows "
        "or columns that no block covers are left out. Regions Omega_p' are enumerated "
        "column-major over the pooled grid, and the entries of a region in ascending p "
        "(column-major over the block). Omega_c[p', k] is the k-th entry of region p'. "
        "Overlapping blocks are allowed; permute# = T^T then sums over every region "
        "holding an entry (47.1204). Correlation pooling's mask is read in the same order. "
        "Max-pooling and subsampling ties go to the first entry in region order; l2 pooling "
        "has gradient 0 where t = 0; relu'(0) = 0."),
    "bias_sign": (
        "Every pre-activation subtracts its bias: z = W y - theta (47.1216), and "
        "z^(d,c) = sum_j ([H^(j,c-1)]^T w_j^(d,c) - theta^(d,c)(j) 1). Only the column sums "
        "of Theta_c (over the connected j) reach z: an implementation with one bias b_d per "
        "map has b_d = -sum_j Theta_c[j, d-1], and dJ/dTheta_c[j, d-1] = -dJ/db_d for every "
        "connected j."),
    "connection_table": (
        "conn_c[j, d-1] = 1 when input map j+1 feeds output map d (47.1213). Entries of "
        "W_c and Theta_c outside the table do not reach z; their data-term derivatives are "
        "zero (the rho_1 term still acts on W_c)."),
    "feedforward_input": (
        "y_{1,n} = col{t_n^(1,C), ..., t_n^(D_C,C)} (47.1215): map-major, then the pooled "
        "map column-major. From (N, D_C, rows', cols') maps this is "
        "t.transpose(0, 1, 3, 2).reshape(N, -1)."),
    "sensitivities": (
        "delta_{l,n} = dQ_n/dz_{l,n} and delta_n^(d,c) = dQ_n/dz_n^(d,c) per sample: the "
        "derivatives of that sample's loss Q_n, without 1/N. Quadratic loss Q_n = "
        "||gamma_n - y_n||^2 gives delta_L = 2(y_L - gamma) . f'(z_L) (47.1233); "
        "cross-entropy with softmax gives delta_L = y_L (1^T gamma) - gamma."),
    "gradients": (
        "dJ_d* are the derivatives of J_emp = rho_1 sum_c ||W_c||_F^2 + rho_2 sum_l "
        "||W_l||_F^2 + (1/N) sum_n Q_n (47.1229), i.e. (47.1275) with the 1/N that the "
        "printed listing omits (erratum E-1275b)."),
    "step": (
        "*_after are the parameters after one step of the stochastic-gradient listing "
        "(47.1276) on the first sample (gamma_0, h_0) with the problem's mu, rho_1, rho_2; "
        "the print's slips are corrected: theta_l gains +mu delta_{l+1,0} (E-1276a) and "
        "'mu mu' is mu (E-1276b). A mini-batch step is params - mu * dJ_d*."),
    "files": (
        "One .npz per problem, read with numpy.load(path, allow_pickle=False); 'network' "
        "(the architecture as JSON, sayedcnn.interop.io.network_to_dict) and 'meta' (name, "
        "description, seed, N, rho1, rho2, mu, bias_scale, covers, rules, setup) are JSON "
        "strings in 0-d string arrays. float64 throughout; index arrays are int64 and "
        "tables int8."),
    "network_schema": (
        "'network' = {input_shape: [rows, cols], input_depth: D_0, conv: [one dict per layer "
        "c = 1..C], hidden: [n_2, ..., n_{L-1}] (the hidden feedforward widths; [] for none), "
        "outputs: Q, hidden_activation: [one name per hidden layer], output_activation, "
        "loss: 'quadratic' | 'cross_entropy'}. A conv dict is {depth: D_c, mask: [kr, kc], "
        "padding: 'same' | 'valid' | p | [pr, pc] (p zeros on each side), stride: [sr, sc], "
        "activation, pool, connections}. pool is null (no pooling: t = y, P'_c = P_c) or "
        "{kind: 'max' | 'mean' | 'l2' | 'subsample' | 'correlation', block: [br, bc], "
        "stride: [sr, sc] (absent = block: disjoint blocks), retain: k (subsample only, "
        "absent = 0: the 0-based position kept, in the region's column-major order), mask: "
        "[m_0, ..., m_{|Omega|-1}] (correlation only, in region order)}. connections is null "
        "(every input map feeds every output map) or a list with one entry per output map "
        "d = 1..D_c: the 0-based indices j of the input maps that feed it (47.1213), e.g. "
        "[[0, 1], [1, 2]] is {1,2} -> 1, {2,3} -> 2. Activations: sigmoid 1/(1+e^-z), tanh, "
        "relu max(z, 0), linear z, softmax (output layer only, with cross-entropy)."),
    "pooling": (
        "Over a region Omega = (o_0, ..., o_{R-1}) (a row of Omega_c, -1 entries dropped) "
        "with values u_k = y(o_k) (Table 47.13) and gradient vectors g (Table 47.14): max: "
        "t = max_k u_k, g = e_k at the first maximal k; mean: t = (1/R) sum_k u_k, g = 1/R; "
        "l2: t = sqrt(sum_k u_k^2) (no 1/R), g = u/t, and g = 0 when t = 0; subsample: "
        "t = u_retain, g = e_retain; correlation: t = sum_k m_k u_k, g = m. Backward "
        "(permute#, 47.1204): entry o_k of dQ/dy receives v(p') g_k from every region p' "
        "holding it (a sum when regions overlap), where v = dQ/dt."),
    "loss": (
        "quadratic: Q_n = ||gamma_n - y_{L,n}||^2 (no 1/2); cross_entropy: Q_n = "
        "-sum_q gamma_n(q) log y_{L,n}(q) with y_L = softmax(z_L) = exp(z_L) / 1^T exp(z_L) "
        "(47.1229)."),
    "Delta": (
        "Delta_c[n] is the D_c P_c x D_c block-diagonal matrix of (47.1270): column d-1 holds "
        "delta_n^(d,c) in rows (d-1)*P_c .. d*P_c - 1 and zeros elsewhere, so that "
        "H_{n,c-1}-products give every column of dJ/dW_c at once (47.1271)."),
    "V_ddc": (
        "V_ddc_{c+1}[d-1, d'-1] is the P'_c x P_{c+1} matrix V^(d,d',c+1) of (47.1257): entry "
        "[p'', p] is the sum of w_d^(d',c+1)(s) = W_{c+1}[(d-1)*S_{c+1} + s, d'-1] over the "
        "s with V_index_c[p, s] = p'' (the weight with which pooled entry p'' of map d "
        "enters z^(d',c+1)(p)); zero for pairs outside the table. b^(d,d',c) = "
        "V^(d,d',c+1) delta^(d',c+1) (47.1258) is the part of dQ_n/dt^(d,c) that comes "
        "through output map d'; v^(d,c) = sum_d' b^(d,d',c) and delta^(d,c) = "
        "f'(z^(d,c)) . permute#(upv(v^(d,c))) (47.1262). For c = C, v^(d,C) is the block "
        "d of W_1^T delta_2, entries (d-1)*P'_C .. d*P'_C - 1 (47.1241)."),
    "step_formulas": (
        "With n = 0 only (no 1/N), per (47.1276): W_l <- (1 - 2 mu rho_2) W_l - "
        "mu delta_{l+1,0} y_{l,0}^T; theta_l <- theta_l + mu delta_{l+1,0}; "
        "W_c[j*S_c + s, d-1] <- (1 - 2 mu rho_1) W_c[j*S_c + s, d-1] - mu conn_c[j, d-1] "
        "sum_p H_0^(j,c-1)[s, p] delta_0^(d,c)(p); Theta_c[j, d-1] <- Theta_c[j, d-1] + "
        "mu conn_c[j, d-1] sum_p delta_0^(d,c)(p). Equivalently p_after = p - mu dJ_0/dp "
        "with J_0 the risk of sample 0 alone (regularisers included)."),
    "compute": (
        "sayedcnn.interop.golden.verify_trace(trace, compute) calls compute(net, params, X, "
        "Gamma, rho1, rho2, mu): net is a sayedcnn.Network (sayedcnn.interop.io."
        "network_to_dict(net) is the 'network' dict above), params a sayedcnn.Params whose "
        "dicts W_conv[c], Theta_conv[c] (c = 1..C) and W_ff[l], theta_ff[l] (l = 1..L-1) "
        "are keyed by the book's 1-based layer numbers and hold the trace's arrays "
        "W_conv_c, ...; X is (N, D_0, rows, cols) and Gamma (N, Q). It returns a dict of "
        "arrays named and shaped as in the trace. The report is ok only when every array "
        "named by require= was returned and agrees (default: the output y_ff_L and every "
        "dJ_d*); the arrays not returned are listed."),
}

#: The rules that decide the numbers at the edges, each with the traces where it matters
#: (the ``rules`` of a :class:`Problem`; ``index.json`` lists them under ``rules``).
RULES = {
    "max_ties": (
        "Max pooling with an exact tie: the gradient goes to the first maximal entry in the "
        "region's column-major order (Omega order), and the tied entries come from different "
        "patches, so the choice changes dJ/dW_c."),
    "subsample_order": (
        "Subsampling keeps entry 'retain' of each region in column-major order: retain = 1 "
        "of a 2 x 2 block is row 1, column 0 of the block (row-major order would give row 0, "
        "column 1)."),
    "relu_at_zero": (
        "relu'(0) = 0: an entry with z exactly 0 gets sensitivity 0 although dQ/dy there is "
        "not 0."),
    "l2_zero_region": (
        "l2 pooling over a region whose entries are all exactly 0: t = 0 and the gradient "
        "vector is 0 (not 0/0, not 1/sqrt(|Omega|)), with f' = 1 there (linear activation)."),
    "even_same": (
        "'same' with masks even in both axes: (k-1)//2 zeros before and k//2 after, so the "
        "backward pass must remove the padding with the 'before' pads."),
    "stride_leftover": (
        "A correlation stride that leaves the last rows or columns of the padded map unread "
        "('valid': (L - k) % s != 0); 'same' at stride s gives ceil(L/s) outputs."),
    "pool_leftover": (
        "Pooling blocks that do not fit are dropped: the last rows or columns of the map "
        "belong to no region and get sensitivity 0."),
    "overlap_sum": (
        "Overlapping pooling regions: an entry in several regions receives the sum of their "
        "contributions (47.1204)."),
    "connection_table": (
        "A connection table (47.1213): entries of W_c outside it (nonzero here) do not reach "
        "z, their derivative is the rho_1 term alone, and b^(d,d',c) = 0 for pairs outside."),
    "bias_split": (
        "Several connected input maps: only the column sums of Theta_c reach z, each "
        "connected entry has derivative -dJ/db_d, and the step (47.1276) moves every "
        "connected entry by the same amount."),
}


# ---------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    r"""A small seeded problem: a network description (the dict of
    :func:`sayedcnn.interop.io.network_to_dict`), the batch size ``N``, the seed of its data and
    parameters, the regularisers :math:`\rho_1, \rho_2` (47.1229) and the step size
    :math:`\mu` (47.1276).

    ``rules`` names the entries of :data:`RULES` whose choice the trace's numbers depend
    on; ``setup`` adjusts the seeded data (see :func:`problem_data`): ``quantum: q`` rounds
    the images, the masks and the biases of layer 1 to multiples of ``1/q`` (so that every
    sum of layer 1 is exact in any order and ties are exact), ``zero: [r0, r1, c0, c1]``
    sets the pixels ``X[:, :, r0:r1, c0:c1]`` to 0, ``balanced_bias: true`` makes every
    column of :math:`\Theta_1` sum to 0, ``outside_table: true`` gives the weights outside
    a connection table nonzero values.

    Examples
    --------
    >>> from sayedcnn.interop.golden import PROBLEMS
    >>> prob = PROBLEMS[0]
    >>> prob.name, prob.N, prob.network["conv"][0]["pool"]["kind"]
    ('one_layer_same_max', 2, 'max')
    """

    name: str
    description: str
    network: dict
    N: int = 2
    seed: int = 0
    rho1: float = 0.0
    rho2: float = 0.0
    mu: float = 0.1
    bias_scale: float = 0.5
    covers: tuple = ()
    rules: tuple = ()
    setup: dict | None = None

    def build(self):
        """The :class:`~sayedcnn.network.Network` of the problem."""
        return network_from_dict(json.loads(json.dumps(self.network)))


def _conv(depth, mask, padding="same", stride=1, activation="tanh", pool=None,
          connections=None):
    return {"depth": depth, "mask": mask, "padding": padding, "stride": stride,
            "activation": activation, "pool": pool, "connections": connections}


def _net(shape, D0, conv, hidden, Q, hid_act, out_act, loss):
    return {"input_shape": list(shape), "input_depth": D0, "conv": conv, "hidden": hidden,
            "outputs": Q, "hidden_activation": [hid_act] * len(hidden),
            "output_activation": out_act, "loss": loss}


#: Seeds of the problems whose first seeds left a map without sensitivity (a dead relu) or
#: the rule a problem is about without effect on the numbers; chosen by the liveness and
#: rule checks of the tests.
SEEDS = {"one_layer_valid_mean_cross_entropy": 107, "two_layer_overlap_table": 107,
         "edge_max_ties": 202, "edge_l2_zero_region": 300, "edge_subsample_relu_zero": 400}

PROBLEMS = (
    Problem(
        "one_layer_same_max",
        "One layer: 6x6 image, two 3x3 masks with 'same' padding, tanh, 2x2 max pooling; "
        "sigmoid outputs with the quadratic loss.",
        _net((6, 6), 1, [_conv(2, [3, 3], "same", 1, "tanh", {"kind": "max", "block": [2, 2]})],
             [], 3, "sigmoid", "sigmoid", "quadratic"),
        N=2, seed=101, covers=("one layer", "same", "max", "quadratic")),
    Problem(
        "one_layer_valid_mean_cross_entropy",
        "One layer on a 3-channel 6x5 image: three 2x3 masks (even, rectangular) 'valid', "
        "relu, 2x2 mean pooling that leaves the last row out; a sigmoid hidden layer; softmax "
        "outputs with cross-entropy; rho_1, rho_2 > 0.",
        _net((6, 5), 3, [_conv(3, [2, 3], "valid", 1, "relu", {"kind": "mean", "block": [2, 2]})],
             [4], 3, "sigmoid", "softmax", "cross_entropy"),
        N=3, seed=SEEDS["one_layer_valid_mean_cross_entropy"], rho1=0.01, rho2=0.02,
        covers=("one layer", "valid", "D_0 = 3", "even mask", "mean", "hidden layer",
                "cross_entropy", "regularisers"),
        rules=("pool_leftover", "bias_split")),
    Problem(
        "one_layer_stride2_l2",
        "One layer: 7x7 image, two 3x3 masks 'same' at stride 2 (4x4 maps), sigmoid, 2x2 "
        "l2 pooling; tanh outputs with targets in {-1, 1}, quadratic loss.",
        _net((7, 7), 1, [_conv(2, [3, 3], "same", 2, "sigmoid", {"kind": "l2", "block": [2, 2]})],
             [], 2, "sigmoid", "tanh", "quadratic"),
        N=2, seed=103, covers=("one layer", "stride 2", "l2", "quadratic")),
    Problem(
        "two_layer_overlap_table",
        "Two layers: 6x6 image; three 3x3 masks 'same', tanh, overlapping 2x2 max pooling "
        "at stride 1; then two 2x2 (even) masks 'same' with the connection table "
        "{1,2} -> 1, {2,3} -> 2 (the weights outside it nonzero), relu, 2x2 mean pooling; "
        "a tanh hidden layer; softmax with cross-entropy; rho_1 > 0.",
        _net((6, 6), 1,
             [_conv(3, [3, 3], "same", 1, "tanh",
                    {"kind": "max", "block": [2, 2], "stride": [1, 1]}),
              _conv(2, [2, 2], "same", 1, "relu", {"kind": "mean", "block": [2, 2]},
                    [[0, 1], [1, 2]])],
             [3], 2, "tanh", "softmax", "cross_entropy"),
        N=2, seed=SEEDS["two_layer_overlap_table"], rho1=0.005,
        covers=("two layers", "same", "even mask", "overlapping pooling", "max", "mean",
                "connection table", "cross_entropy"),
        rules=("even_same", "overlap_sum", "connection_table", "bias_split"),
        setup={"outside_table": True}),
    Problem(
        "two_layer_valid_stride2_subsample_correlation",
        "Two layers on a 2-channel 7x6 image: two 3x2 masks 'valid', linear, subsampling "
        "that keeps the last entry of each 2x2 block; then two 2x2 masks with one zero of "
        "padding on each side at stride 2, sigmoid, correlation pooling with a 1x2 mask; "
        "linear outputs, quadratic loss.",
        _net((7, 6), 2,
             [_conv(2, [3, 2], "valid", 1, "linear",
                    {"kind": "subsample", "block": [2, 2], "retain": 3}),
              _conv(2, [2, 2], 1, 2, "sigmoid",
                    {"kind": "correlation", "block": [1, 2], "mask": [0.75, -1.25]})],
             [], 2, "sigmoid", "linear", "quadratic"),
        N=2, seed=105, rho2=0.01,
        covers=("two layers", "valid", "integer padding", "stride 2", "subsample",
                "correlation pooling", "quadratic"),
        rules=("pool_leftover", "bias_split")),
    Problem(
        "seed000_hand_note",
        "The hand note's network (seed 000): 4x4 image, one 2x2 mask 'valid' (3x3 map), "
        "sigmoid, 2x2 max pooling at stride 1 (overlapping, 2x2 pooled map), two sigmoid "
        "outputs, quadratic loss.",
        _net((4, 4), 1,
             [_conv(1, [2, 2], "valid", 1, "sigmoid",
                    {"kind": "max", "block": [2, 2], "stride": [1, 1]})],
             [], 2, "sigmoid", "sigmoid", "quadratic"),
        N=1, seed=100, covers=("one layer", "valid", "overlapping pooling", "max",
                               "quadratic")),
    Problem(
        "edge_max_ties",
        "Edge case, exact max ties: 8x6 image and two 2x4 masks (even in both axes) 'same', "
        "all multiples of 1/4, so every z of layer 1 is exact and 2x2 max-pooling blocks hold "
        "exact ties between entries of different patches; relu; sigmoid outputs, quadratic "
        "loss.",
        _net((8, 6), 1, [_conv(2, [2, 4], "same", 1, "relu", {"kind": "max", "block": [2, 2]})],
             [], 3, "sigmoid", "sigmoid", "quadratic"),
        N=2, seed=SEEDS["edge_max_ties"], covers=("one layer", "same", "even mask", "max"),
        rules=("max_ties", "even_same"), setup={"quantum": 4}),
    Problem(
        "edge_l2_zero_region",
        "Edge case, l2 pooling of an all-zero region: 2-channel 10x9 image whose top-left "
        "5x4 corner is 0, two 3x2 masks 'valid' at stride 2 (the last row and column unread), "
        "biases that cancel (each column of Theta_1 sums to 0), linear, 2x2 l2 pooling; "
        "softmax with cross-entropy.",
        _net((10, 9), 2,
             [_conv(2, [3, 2], "valid", 2, "linear", {"kind": "l2", "block": [2, 2]})],
             [], 2, "sigmoid", "softmax", "cross_entropy"),
        N=2, seed=SEEDS["edge_l2_zero_region"], covers=("one layer", "valid", "stride 2", "l2"),
        rules=("l2_zero_region", "stride_leftover", "bias_split"),
        setup={"quantum": 4, "zero": [0, 5, 0, 4], "balanced_bias": True}),
    Problem(
        "edge_subsample_relu_zero",
        "Edge case, subsampling order and relu at 0: 11x11 image, two 2x2 masks 'valid' at "
        "stride 2 (5x5 maps, the last row and column unread), all multiples of 1/2, relu "
        "with some z exactly 0 at retained entries, subsampling that keeps entry 1 (row 1, "
        "column 0) of each 2x2 block, the last row and column of the map left out; tanh "
        "outputs with targets in {-1, 1}, quadratic loss.",
        _net((11, 11), 1,
             [_conv(2, [2, 2], "valid", 2, "relu",
                    {"kind": "subsample", "block": [2, 2], "retain": 1})],
             [], 2, "sigmoid", "tanh", "quadratic"),
        N=3, seed=SEEDS["edge_subsample_relu_zero"],
        covers=("one layer", "valid", "stride 2", "subsample"),
        rules=("subsample_order", "relu_at_zero", "stride_leftover", "pool_leftover"),
        setup={"quantum": 2}),
)

_BY_NAME = {p.name: p for p in PROBLEMS}


def problem_data(problem, net=None):
    r"""The parameters, images and targets of ``problem``, from
    ``numpy.random.default_rng(problem.seed)``.

    Weights are Gaussian with variance ``1/fan_in``; entries outside a connection table
    (47.1213) are zero (unless ``setup`` has ``outside_table``); biases are
    ``bias_scale * N(0, 1)``. Images are uniform on ``[-1, 1]``; targets are one-hot (with
    ``-1`` as the low value for tanh outputs). The problem's ``setup`` is applied last (see
    :class:`Problem`). Returns ``(net, params, X, Gamma)``.

    Examples
    --------
    >>> from sayedcnn.interop.golden import PROBLEMS, problem_data
    >>> net, params, X, Gamma = problem_data(PROBLEMS[0])
    >>> X.shape, Gamma.shape
    ((2, 1, 6, 6), (2, 3))
    """
    net = problem.build() if net is None else net
    setup = dict(problem.setup or {})
    unknown = set(setup) - {"quantum", "zero", "balanced_bias", "outside_table"}
    if unknown:
        raise ValueError(f"problem {problem.name}: unknown setup keys {sorted(unknown)}")
    rng = np.random.default_rng(problem.seed)
    p = Params()
    for ly in net.layers:
        fan = np.maximum(ly.S * ly.conn.sum(axis=0), 1)
        W = rng.standard_normal((ly.S * ly.D_in, ly.D)) / np.sqrt(fan)[None, :]
        p.W_conv[ly.c] = W if setup.get("outside_table") else W * ly.W_mask
        p.Theta_conv[ly.c] = problem.bias_scale * rng.standard_normal((ly.D_in, ly.D)) * ly.conn
    for l in range(1, net.L):
        p.W_ff[l] = rng.standard_normal((net.n[l + 1], net.n[l])) / np.sqrt(net.n[l])
        p.theta_ff[l] = problem.bias_scale * rng.standard_normal(net.n[l + 1])
    X = rng.uniform(-1.0, 1.0, (problem.N, net.input_depth, *net.input_shape))
    labels = rng.integers(0, net.Q, problem.N)
    low = -1.0 if net.output_activation.name == "tanh" else 0.0
    Gamma = np.full((problem.N, net.Q), low)
    Gamma[np.arange(problem.N), labels] = 1.0
    q = setup.get("quantum")
    if q:  # multiples of 1/q: every sum of layer 1 is exact, whatever its order
        X = np.round(X * q) / q
        p.W_conv[1] = np.round(p.W_conv[1] * q) / q
        p.Theta_conv[1] = np.round(p.Theta_conv[1] * q) / q
    if setup.get("zero"):
        r0, r1, c0, c1 = setup["zero"]
        X[:, :, r0:r1, c0:c1] = 0.0
    if setup.get("balanced_bias"):
        ly = net.layers[0]
        T = p.Theta_conv[1]
        for d in range(ly.D):
            js = np.flatnonzero(ly.conn[:, d])
            T[js[-1], d] = -np.sum(T[js[:-1], d])  # the column sums to 0 exactly
    return net, p, X, Gamma


# ---------------------------------------------------------------------------
# What a trace holds
# ---------------------------------------------------------------------------


def _spec(symbol, equation, shape, axes, group, meaning, dtype="float64"):
    return {"symbol": symbol, "equation": equation, "shape": [int(s) for s in shape],
            "axes": list(axes), "group": group, "dtype": dtype, "meaning": meaning}


def array_specs(net, N):
    r"""The arrays of a trace of ``net`` on ``N`` samples: a dict from array name to its
    book symbol (LaTeX), equation, shape, axes, group, dtype and meaning, in file order.

    Groups: ``input``, ``parameter``, ``structure``, ``forward`` (47.1216), ``risk``
    (47.1229), ``sensitivity`` and ``gradient`` (47.1275), ``step`` (47.1276).

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.golden import array_specs
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> spec = array_specs(net, 2)
    >>> spec["X"]["shape"], spec["X"]["group"]
    ([2, 1, 4, 4], 'input')
    """
    s = {}
    D0, (rows, cols) = net.input_depth, net.input_shape
    s["X"] = _spec(r"\mathcal I_n^{(d)}", "47.1143", (N, D0, rows, cols),
                   ("n", "d-1", "row", "col"), "input", "input images, one map per channel")
    s["h"] = _spec(r"h_n^{(d)} = \mathrm{vec}(\mathcal I_n^{(d)})", "47.1143",
                   (N, D0, rows * cols), ("n", "d-1", "m"), "input",
                   "the images as column-stacked vectors")
    s["Gamma"] = _spec(r"\gamma_n", "47.1229", (N, net.Q), ("n", "q"), "input", "targets")
    shapes = net.param_shapes()
    for ly in net.layers:
        c = ly.c
        s[f"W_conv_{c}"] = _spec(f"W_{{{c}}}", "47.1224a", shapes["W_conv"][c],
                                 (f"j*S_{c}+s", "d-1"), "parameter",
                                 f"correlation masks of layer c = {c}: column d-1 is "
                                 f"col{{w_1^(d,{c}), ..., w_D^(d,{c})}}")
        s[f"Theta_conv_{c}"] = _spec(fr"\Theta_{{{c}}}", "47.1224b", shapes["Theta_conv"][c],
                                     ("j", "d-1"), "parameter",
                                     f"biases theta^(d,{c})(j) of layer c = {c}")
    for l in range(1, net.L):
        s[f"W_ff_{l}"] = _spec(fr"W_{{\ell={l}}}", "47.1221g", shapes["W_ff"][l],
                               ("row", "col"), "parameter", f"feedforward weights W_{l}")
        s[f"theta_ff_{l}"] = _spec(fr"\theta_{{\ell={l}}}", "47.1221h", shapes["theta_ff"][l],
                                   ("row",), "parameter", f"feedforward biases theta_{l}")
    for ly in net.layers:
        c = ly.c
        s[f"V_index_{c - 1}"] = _spec(
            f"V_{{{c - 1}}}", "47.1153", (ly.P, ly.S), ("p", "s"), "structure",
            f"index form of the partition matrix V_{c - 1} (47.1152): entry [p, s] is the "
            f"entry of t^(j,{c - 1}) (h^(j) for c = 1) read into H^(j,{c - 1})[s, p]; -1 "
            f"is a padding zero", dtype="int64")
        s[f"conn_{c}"] = _spec(r"\mathcal D", "47.1213", (ly.D_in, ly.D), ("j", "d-1"),
                               "structure", f"connection table of layer c = {c}",
                               dtype="int8")
        if ly.pooled:
            s[f"Omega_{c}"] = _spec(r"\Omega_{p'}", "47.1187", (ly.P_out, ly.pooling.R),
                                    ("p'", "k"), "structure",
                                    f"pooling regions of layer c = {c} ({ly.pooling.kind})",
                                    dtype="int64")
    for c in range(net.C):
        ly_next = net.layers[c]
        D = net.input_depth if c == 0 else net.layers[c - 1].D
        s[f"H_{c}"] = _spec(f"H_n^{{(d,{c})}}", "47.1216", (N, D, ly_next.S, ly_next.P),
                            ("n", "d-1", "s", "p"), "forward",
                            f"patch matrices fed to layer c = {c + 1} (47.1211); "
                            f"H_{{n,{c}}} (47.1225) is H_{c}[n].reshape(-1, P_{c + 1})")
    for ly in net.layers:
        c = ly.c
        for name, sym, what in (("z", "z", "pre-activations"), ("y", "y", "feature maps")):
            s[f"{name}_conv_{c}"] = _spec(f"{sym}_n^{{(d,{c})}}", "47.1216", (N, ly.D, ly.P),
                                          ("n", "d-1", "p"), "forward",
                                          f"{what} of layer c = {c}")
        s[f"t_conv_{c}"] = _spec(f"t_n^{{(d,{c})}}", "47.1216", (N, ly.D, ly.P_out),
                                 ("n", "d-1", "p'"), "forward",
                                 f"pooled maps of layer c = {c}")
    s["y_ff_1"] = _spec(r"y_{1,n}", "47.1215", (N, net.n[1]), ("n", "i"), "forward",
                        "input of the feedforward part")
    for l in range(2, net.L + 1):
        s[f"z_ff_{l}"] = _spec(fr"z_{{{l},n}}", "47.1216", (N, net.n[l]), ("n", "i"),
                               "forward", f"pre-activations of layer l = {l}")
        s[f"y_ff_{l}"] = _spec(fr"y_{{{l},n}}", "47.1216", (N, net.n[l]), ("n", "i"),
                               "forward", f"activations of layer l = {l}" +
                               (" (the output y_n)" if l == net.L else ""))
    s["Q_n"] = _spec(r"Q(\gamma_n, y_n)", "47.1229", (N,), ("n",), "risk",
                     "loss of each sample")
    s["J_emp"] = _spec(r"J_{emp}", "47.1229", (), (), "risk",
                       "empirical risk with the regularisers")
    for l in range(net.L, 1, -1):
        s[f"delta_ff_{l}"] = _spec(fr"\delta_{{{l},n}}", "47.1233" if l == net.L else "47.1234",
                                   (N, net.n[l]), ("n", "i"), "sensitivity",
                                   f"sensitivities of layer l = {l}")
    for ly in reversed(net.layers):
        c = ly.c
        s[f"delta_conv_{c}"] = _spec(f"\\delta_n^{{(d,{c})}}",
                                     "47.1245" if c == net.C else "47.1262",
                                     (N, ly.D, ly.P), ("n", "d-1", "p"), "sensitivity",
                                     f"sensitivities of layer c = {c}")
        s[f"Delta_{c}"] = _spec(fr"\Delta_{{n,{c}}}", "47.1270", (N, ly.D * ly.P, ly.D),
                                ("n", "row", "col"), "sensitivity",
                                "block-diagonal matrix of the sensitivities")
    for c in range(1, net.C):
        ly, nxt = net.layers[c - 1], net.layers[c]
        s[f"V_ddc_{c + 1}"] = _spec(
            f"V^{{(d,d',{c + 1})}}", "47.1257", (ly.D, nxt.D, ly.P_out, nxt.P),
            ("d-1", "d'-1", "p'", "p"), "sensitivity",
            f"b^(d,d',{c}) = V^(d,d',{c + 1}) delta^(d',{c + 1}) (47.1258); zero for pairs "
            f"outside the connection table")
    for g, k, _ in _param_items(net):
        base = s[f"{g}_{k}"]
        s[f"dJ_d{g}_{k}"] = _spec(fr"\partial J_{{emp}} / \partial {base['symbol']}",
                                  "47.1275", base["shape"], base["axes"], "gradient",
                                  f"derivative of J_emp with respect to {g}_{k}")
    for g, k, _ in _param_items(net):
        base = s[f"{g}_{k}"]
        s[f"{g}_{k}_after"] = _spec(base["symbol"] + r"\ \text{after}", "47.1276",
                                    base["shape"], base["axes"], "step",
                                    f"{g}_{k} after one step of (47.1276) on sample n = 0")
    return s


def _param_items(net):
    for g in Params.GROUPS:
        keys = [ly.c for ly in net.layers] if g.endswith("conv") else list(range(1, net.L))
        for k in keys:
            yield g, k, None


def _stack(per_sample):
    return np.array(per_sample, dtype=float)


def compute_trace(net, params, X, Gamma, rho1=0.0, rho2=0.0, mu=0.1):
    r"""Every computed array of a trace, by the package's listings.

    Runs the forward listing (47.1216) and the backward pass of (47.1275) sample by sample
    (keeping :math:`V^{(d,d',c+1)}`), the derivatives of :math:`J_{emp}` (47.1229) by the
    training listing (47.1275), and one step of the stochastic-gradient listing (47.1276) on
    the first sample. Returns a dict named as in :func:`array_specs` (groups ``forward``,
    ``risk``, ``sensitivity``, ``gradient``, ``step``). This is the default ``compute`` of
    :func:`verify_trace`; any function with this signature can take its place.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.golden import compute_trace
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> arrays = compute_trace(net, net.init(0), np.ones((1, 1, 4, 4)), np.array([[1.0, 0.0]]))
    >>> arrays["y_ff_2"].shape, arrays["dJ_dW_conv_1"].shape   # y_L (47.1216), dJ/dW_1 (47.1275)
    ((1, 2), (4, 1))
    """
    from ..forward import forward_listing
    from ..sgd import risk
    from ..training import backward_listing, gradients_listing, sgd_step_listing

    params = net.check_params(params)
    X = net.check_images(X)
    N = X.shape[0]
    Gamma = net.check_targets(Gamma, N)
    fw = [forward_listing(net, params, x) for x in X]  # (47.1216)
    bw = [backward_listing(net, params, r, g, keep_V=True) for r, g in zip(fw, Gamma)]
    out = {}
    for c in range(net.C):
        D = net.input_depth if c == 0 else net.layers[c - 1].D
        out[f"H_{c}"] = _stack([[r.H[d, c] for d in range(1, D + 1)] for r in fw])
    for ly in net.layers:
        c = ly.c
        for name in ("z", "y", "t"):
            out[f"{name}_conv_{c}"] = _stack(
                [[getattr(r, f"{name}_conv")[d, c] for d in range(1, ly.D + 1)] for r in fw])
    out["y_ff_1"] = _stack([r.y_ff[1] for r in fw])
    for l in range(2, net.L + 1):
        out[f"z_ff_{l}"] = _stack([r.z_ff[l] for r in fw])
        out[f"y_ff_{l}"] = _stack([r.y_ff[l] for r in fw])
    out["Q_n"] = np.asarray(net.loss.value(out[f"z_ff_{net.L}"], out[f"y_ff_{net.L}"], Gamma),
                            dtype=float)  # (47.1229)
    out["J_emp"] = np.array(risk(net, params, X, Gamma, rho1=rho1, rho2=rho2))  # (47.1229)
    for l in range(net.L, 1, -1):
        out[f"delta_ff_{l}"] = _stack([b.delta_ff[l] for b in bw])
    for ly in reversed(net.layers):
        c = ly.c
        out[f"delta_conv_{c}"] = _stack(
            [[b.delta_conv[d, c] for d in range(1, ly.D + 1)] for b in bw])
        out[f"Delta_{c}"] = _stack([b.Delta[c].toarray() for b in bw])  # (47.1270)
    for c in range(1, net.C):
        ly, nxt = net.layers[c - 1], net.layers[c]
        V = np.zeros((ly.D, nxt.D, ly.P_out, nxt.P))
        for (d, d2, cc), M in bw[0].V.items():  # V^(d,d',c+1) does not depend on n
            if cc == c + 1:
                V[d - 1, d2 - 1] = M.toarray()  # (47.1257)
        out[f"V_ddc_{c + 1}"] = V
    grads = gradients_listing(net, params, X, Gamma, rho1, rho2)  # (47.1275)
    for g, k, a in grads.items():
        out[f"dJ_d{g}_{k}"] = np.asarray(a, dtype=float)
    new = sgd_step_listing(net, params, X[0], Gamma[0], mu, rho1, rho2)  # (47.1276)
    for g, k, a in new.items():
        out[f"{g}_{k}_after"] = np.asarray(a, dtype=float)
    return out


def _structure_arrays(net):
    out = {}
    for ly in net.layers:
        c = ly.c
        out[f"V_index_{c - 1}"] = np.asarray(ly.partition.index, dtype=np.int64)
        out[f"conn_{c}"] = ly.conn.astype(np.int8)
        if ly.pooled:
            pl = ly.pooling
            om = np.full((pl.P_out, pl.R), -1, dtype=np.int64)
            for p, reg in enumerate(pl.regions):
                om[p, :reg.size] = reg
            out[f"Omega_{c}"] = om
    return out


def trace_arrays(problem):
    r"""Every array of the trace of ``problem`` (a :class:`Problem` or its name), in the order
    of :func:`array_specs`; returns ``(net, arrays)``.

    Examples
    --------
    >>> from sayedcnn.interop.golden import trace_arrays
    >>> net, arrays = trace_arrays("one_layer_same_max")
    >>> net.C, arrays["X"].shape
    (1, (2, 1, 6, 6))
    """
    problem = _problem(problem)
    net, params, X, Gamma = problem_data(problem)
    arrays = {"X": X, "h": X.transpose(0, 1, 3, 2).reshape(X.shape[0], X.shape[1], -1),
              "Gamma": Gamma}  # h = vec(I) column-major (47.1143)
    for g, k, a in params.items():
        arrays[f"{g}_{k}"] = a
    arrays.update(_structure_arrays(net))
    arrays.update(compute_trace(net, params, X, Gamma, problem.rho1, problem.rho2, problem.mu))
    specs = array_specs(net, problem.N)
    missing = set(specs) ^ set(arrays)
    if missing:  # pragma: no cover - guards the two lists against drifting apart
        raise RuntimeError(f"trace arrays and specs differ: {sorted(missing)}")
    return net, {name: arrays[name] for name in specs}


def _problem(problem):
    if isinstance(problem, Problem):
        return problem
    if isinstance(problem, str) and problem in _BY_NAME:
        return _BY_NAME[problem]
    raise ValueError(f"unknown golden problem {problem!r}; the problems are "
                     f"{sorted(_BY_NAME)}")


def _meta(problem):
    return {"name": problem.name, "description": problem.description, "seed": problem.seed,
            "N": problem.N, "rho1": problem.rho1, "rho2": problem.rho2, "mu": problem.mu,
            "bias_scale": problem.bias_scale, "covers": list(problem.covers),
            "rules": list(problem.rules), "setup": problem.setup}


# ---------------------------------------------------------------------------
# Writing and reading
# ---------------------------------------------------------------------------


def write_traces(out_dir, problems=None):
    r"""Write the traces of ``problems`` (default: all of :data:`PROBLEMS`; names or
    :class:`Problem` objects) to ``out_dir``: one ``<name>.npz`` each and ``index.json``.

    The index names every array by its book symbol and equation (:func:`array_specs`) and
    holds :data:`CONVENTIONS`. Returns the list of paths written (the index last).

    Examples
    --------
    >>> import os, tempfile
    >>> from sayedcnn.interop.golden import write_traces
    >>> paths = write_traces(tempfile.mkdtemp(), ["one_layer_same_max"])
    >>> [os.path.basename(p) for p in paths]
    ['one_layer_same_max.npz', 'index.json']
    """
    problems = PROBLEMS if problems is None else [_problem(p) for p in problems]
    names = [p.name for p in problems]
    if len(set(names)) != len(names):
        raise ValueError(f"problem names must be unique, got {names}")
    for prob in problems:
        unknown = sorted(set(prob.rules) - set(RULES))
        if unknown:
            raise ValueError(f"problem {prob.name} names rules {unknown} that RULES does not "
                             f"hold; the rules are {sorted(RULES)}")
    out_dir = Path(os.fspath(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    from .. import __version__

    index = {"format": FORMAT, "version": FORMAT_VERSION, "package_version": __version__,
             "source": "A. H. Sayed, Inference and Learning from Data, section 47.25: the "
                       "forward listing (47.1216), the training listing (47.1275) and the "
                       "stochastic-gradient listing (47.1276)",
             "conventions": CONVENTIONS,
             "rules": {k: {"rule": text, "traces": [p.name for p in problems if k in p.rules]}
                       for k, text in RULES.items()},
             "problems": []}
    paths = []
    for prob in problems:
        net, arrays = trace_arrays(prob)
        path = out_dir / f"{prob.name}.npz"
        store = dict(arrays)
        store["network"] = np.array(json.dumps(network_to_dict(net)))
        store["meta"] = np.array(json.dumps(_meta(prob)))
        np.savez_compressed(path, **store)
        paths.append(path)
        entry = dict(_meta(prob))
        entry.update({"file": path.name, "network": network_to_dict(net),
                      "sizes": _sizes(net), "arrays": array_specs(net, prob.N)})
        index["problems"].append(entry)
    ipath = out_dir / "index.json"
    ipath.write_text(json.dumps(index, indent=1) + "\n")
    paths.append(ipath)
    return paths


def _sizes(net):
    out = []
    for r in net.sizes():
        out.append({k: (list(v) if isinstance(v, tuple) else v) for k, v in r.items()})
    return out


@dataclass
class Trace:
    r"""One golden trace read by :func:`load_trace`.

    ``arrays`` maps names to arrays (every array of the file), ``net`` is the rebuilt
    :class:`~sayedcnn.network.Network`, ``params`` the parameters as a
    :class:`~sayedcnn.params.Params`, ``X`` and ``Gamma`` the inputs and ``meta`` the
    problem's settings (``name``, ``seed``, ``N``, ``rho1``, ``rho2``, ``mu``).

    Examples
    --------
    >>> from sayedcnn.interop.golden import load_traces
    >>> trace = load_traces()["one_layer_same_max"]
    >>> trace.X.shape, trace.meta["N"]
    ((2, 1, 6, 6), 2)
    """

    path: str
    net: Network
    arrays: dict
    meta: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.meta.get("name", Path(self.path).stem)

    @property
    def X(self):
        return self.arrays["X"]

    @property
    def Gamma(self):
        return self.arrays["Gamma"]

    @property
    def params(self):
        p = Params()
        for g, k, _ in _param_items(self.net):
            getattr(p, g)[k] = np.array(self.arrays[f"{g}_{k}"], dtype=float)
        return p

    @property
    def settings(self):
        """``(rho1, rho2, mu)`` of the problem."""
        return (float(self.meta.get("rho1", 0.0)), float(self.meta.get("rho2", 0.0)),
                float(self.meta.get("mu", 0.1)))


def _read_npz(path):
    """Every entry of the ``.npz`` at ``path`` (no pickles), with a ValueError naming the
    file for anything that is not a complete archive (the reader of parameter files)."""
    return read_npz(path, "golden trace", "which golden traces never contain")


def _json_entry(entries, key, path):
    a = entries[key]
    if a.shape != () or a.dtype.kind != "U":
        raise ValueError(f"{path}: the {key!r} entry must be a JSON string in a 0-d string "
                         f"array, got dtype {a.dtype} and shape {a.shape}")
    try:
        value = json.loads(str(a))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the {key!r} entry is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{path}: the {key!r} entry must be a JSON object, got "
                         f"{type(value).__name__}")
    return value


def _check_meta(meta, path):
    def number(key, minimum, strict=False, integer=False):
        v = meta.get(key)
        kind = int if integer else (int, float)
        if isinstance(v, bool) or not isinstance(v, kind) or not np.isfinite(v) or \
                v < minimum or (strict and v == minimum):
            what = "an integer" if integer else "a finite number"
            raise ValueError(f"{path}: meta[{key!r}] must be {what} "
                             f"{'>' if strict else '>='} {minimum}, got {v!r}")
        return v

    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ValueError(f"{path}: meta['name'] must be the problem's name (a string), got "
                         f"{meta.get('name')!r}")
    number("N", 1, integer=True)
    number("rho1", 0.0)  # (47.1229)
    number("rho2", 0.0)
    number("mu", 0.0, strict=True)  # (47.1276)
    for key in ("rules", "covers"):
        if key in meta and not (isinstance(meta[key], list)
                                and all(isinstance(r, str) for r in meta[key])):
            raise ValueError(f"{path}: meta[{key!r}] must be a list of strings, got "
                             f"{meta[key]!r}")


def load_trace(path):
    r"""Read one trace file written by :func:`write_traces` (``allow_pickle=False``).

    As strict as :func:`sayedcnn.interop.io.load_params`: every array named by
    :func:`array_specs` for its network must be present with the documented shape and
    dtype, and nothing else; ``network`` must build a network and ``meta`` must hold the
    problem's ``name``, ``N``, ``rho1``, ``rho2`` and ``mu``. Returns a :class:`Trace`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file, if it is empty, truncated or corrupted, not an ``.npz`` archive,
        holds pickled objects, lacks ``network`` or ``meta`` or holds a bad one, or an array
        is missing, unexpected, misshapen, of the wrong dtype or (inputs and parameters)
        not finite.

    Examples
    --------
    >>> from sayedcnn.interop import golden
    >>> tr = golden.load_trace(golden.DATA_DIR / "seed000_hand_note.npz")
    >>> tr.name, tr.X.shape, tr.settings
    ('seed000_hand_note', (1, 1, 4, 4), (0.0, 0.0, 0.1))
    """
    path = os.fspath(path)
    entries = _read_npz(path)
    if "network" not in entries or "meta" not in entries:
        raise ValueError(f"{path}: a golden trace needs 'network' and 'meta' entries; "
                         f"found {sorted(entries)}")
    desc = _json_entry(entries, "network", path)
    meta = _json_entry(entries, "meta", path)
    _check_meta(meta, path)
    try:
        net = network_from_dict(desc)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: the stored network description does not build a network: "
                         f"{exc}") from exc
    arrays = {k: v for k, v in entries.items() if k not in ("network", "meta")}
    N = int(meta["N"])
    specs = array_specs(net, N)
    missing = [n for n in specs if n not in arrays]
    if missing:
        raise ValueError(f"{path}: missing arrays {missing} of the trace of this network")
    extra = sorted(set(arrays) - set(specs))
    if extra:
        raise ValueError(f"{path}: unexpected arrays {extra}; a trace of this network holds "
                         f"exactly {list(specs)}")
    for name, spec in specs.items():
        a = arrays[name]
        if list(a.shape) != spec["shape"]:
            raise ValueError(f"{path}: array {name} ({spec['symbol']}, {spec['equation']}) "
                             f"must have shape {tuple(spec['shape'])}, got {a.shape}")
        if str(a.dtype) != spec["dtype"]:
            raise ValueError(f"{path}: array {name} ({spec['symbol']}, {spec['equation']}) "
                             f"must be {spec['dtype']}, got {a.dtype}")
        if spec["group"] in ("input", "parameter") and not np.all(np.isfinite(a)):
            raise ValueError(f"{path}: array {name} ({spec['symbol']}, {spec['equation']}) "
                             f"holds NaN or infinite entries")
    return Trace(path, net, arrays, meta)


def load_traces(directory=None):
    r"""Every trace of ``directory`` (default: the shipped copy :data:`DATA_DIR`), as a dict
    from problem name to :class:`Trace`, in the order of its ``index.json``.

    Examples
    --------
    >>> from sayedcnn.interop.golden import PROBLEMS, load_traces
    >>> list(load_traces()) == [p.name for p in PROBLEMS]
    True
    """
    directory = DATA_DIR if directory is None else Path(os.fspath(directory))
    ipath = directory / "index.json"
    if not ipath.is_file():
        raise ValueError(f"{directory} holds no index.json: not a directory of golden traces")
    try:
        index = json.loads(ipath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{ipath} is not valid JSON ({exc})") from exc
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        got = index.get("format") if isinstance(index, dict) else type(index).__name__
        raise ValueError(f"{ipath}: format must be {FORMAT!r}, got {got!r}")
    entries = index.get("problems")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{ipath} lists no traces: a directory of golden traces needs at "
                         f"least one")
    out = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise ValueError(f"{ipath}: every entry of 'problems' needs a 'file', got "
                             f"{entry!r}")
        tr = load_trace(directory / entry["file"])
        out[tr.name] = tr
    return out


# ---------------------------------------------------------------------------
# Verifying
# ---------------------------------------------------------------------------


@dataclass
class VerifyReport:
    r"""Result of :func:`verify_trace`.

    ``diffs[name]`` is the largest relative difference
    :math:`\|a - b\|_\infty / \max(\|a\|_\infty, \|b\|_\infty)` of each compared array
    (:func:`sayedcnn.reference.compare.rel_diff`: ``inf`` for a NaN, an unmatched
    infinity or a wrong shape); ``failed`` lists the arrays above ``rtol`` (or of the wrong
    shape), ``errors`` says why; ``not_compared`` lists the trace's computed arrays that the
    computation did not give, ``missing`` those of them that ``require`` asked for;
    ``inputs`` tells whether the stored inputs and parameters equal the ones regenerated
    from the problem's seed (``None`` when not checked).

    ``ok`` holds only when something was compared, nothing failed, nothing required is
    missing and the inputs (when checked) match.

    Examples
    --------
    >>> from sayedcnn.interop.golden import load_traces, verify_trace
    >>> report = verify_trace(load_traces()["one_layer_same_max"])
    >>> report.ok, report.failed
    (True, [])
    """

    name: str
    rtol: float
    diffs: dict = field(default_factory=dict)
    failed: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    not_compared: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    inputs: bool | None = None

    @property
    def ok(self):
        return (not self.failed and not self.missing and self.inputs is not False
                and bool(self.diffs))

    @property
    def worst(self):
        return max(self.diffs.values(), default=0.0)

    def summary(self):
        status = "ok" if self.ok else "FAILED"
        exact = sum(1 for v in self.diffs.values() if v == 0.0)
        line = (f"{self.name}: {status}; {len(self.diffs)} arrays compared ({exact} "
                f"bit-identical), worst relative difference {self.worst:.1e} "
                f"(tolerance {self.rtol:g})")
        if self.inputs is not None:
            line += "; inputs " + ("regenerated exactly" if self.inputs else "DIFFER")
        if not self.diffs:
            line += "\n  nothing was compared"
        for name in self.failed:
            line += f"\n  {name}: {self.errors.get(name, '')}"
        if self.missing:
            line += f"\n  required but not given: {', '.join(self.missing)}"
        rest = [n for n in self.not_compared if n not in self.missing]
        if rest:
            line += f"\n  not compared: {', '.join(rest)}"
        return line


_COMPUTED = ("forward", "risk", "sensitivity", "gradient", "step")


def required_arrays(net, N, require=None):
    r"""The arrays :func:`verify_trace` insists on for a trace of ``net`` on ``N`` samples.

    ``require=None`` (the default) gives the output :math:`y_L` (``y_ff_L``) and every
    derivative ``dJ_d*`` (47.1275); ``"all"`` every computed array of the trace (groups
    forward, risk, sensitivity, gradient, step); any other value is a list of names, checked
    against the trace (an empty list requires nothing: only what is given is compared).

    Examples
    --------
    >>> from sayedcnn.interop import golden
    >>> tr = golden.load_trace(golden.DATA_DIR / "seed000_hand_note.npz")
    >>> golden.required_arrays(tr.net, 1)
    ['y_ff_2', 'dJ_dW_conv_1', 'dJ_dTheta_conv_1', 'dJ_dW_ff_1', 'dJ_dtheta_ff_1']
    """
    specs = array_specs(net, N)
    if require is None:
        return [f"y_ff_{net.L}"] + [n for n, sp in specs.items() if sp["group"] == "gradient"]
    if isinstance(require, str):
        if require != "all":
            raise ValueError(f"require must be None, 'all' or a list of array names, got "
                             f"{require!r}")
        return [n for n, sp in specs.items() if sp["group"] in _COMPUTED]
    names = list(require)
    bad = [n for n in names if n not in specs or specs[n]["group"] not in _COMPUTED]
    if bad:
        raise ValueError(f"require names arrays that a trace of this network does not compute: "
                         f"{bad}; computed arrays are "
                         f"{[n for n, sp in specs.items() if sp['group'] in _COMPUTED]}")
    return names


def verify_trace(trace, compute=None, rtol=RTOL, regenerate=None, require=None):
    r"""Recompute a trace and compare it array by array.

    Parameters
    ----------
    trace : Trace or path
        A trace (or the path of one) written by :func:`write_traces`.
    compute : callable, optional
        ``compute(net, params, X, Gamma, rho1, rho2, mu) -> dict`` of arrays named as in
        :func:`array_specs` (see the convention ``compute`` of :data:`CONVENTIONS`); the
        default, :func:`compute_trace`, runs the package's listings. Pass your own to test
        another implementation, e.g. :func:`sayedcnn.interop.torch.golden_arrays`.
    rtol : float
        Largest allowed relative difference per array (default :math:`10^{-12}`).
    regenerate : bool, optional
        Also check that the stored inputs and parameters are exactly those the problem's
        seed gives (default: when the trace's problem is one of :data:`PROBLEMS` and
        ``compute`` is the package's).
    require : None, "all" or list of str, optional
        The arrays that must be given for the report to be ok (:func:`required_arrays`;
        default the output and every derivative). Pass a shorter list on purpose, e.g.
        ``require=[]`` to compare the forward pass alone.

    Returns
    -------
    VerifyReport
        Not ok when a required array is missing, when any given array differs by more than
        ``rtol`` (NaN and shape mismatches always do), or when nothing was compared.

    Examples
    --------
    >>> from sayedcnn.interop import golden
    >>> tr = golden.load_trace(golden.DATA_DIR / "seed000_hand_note.npz")
    >>> golden.verify_trace(tr).ok
    True
    >>> forward_only = lambda net, params, X, *rest: {"z_ff_2": tr.arrays["z_ff_2"]}
    >>> rep = golden.verify_trace(tr, compute=forward_only)
    >>> rep.ok, rep.missing[:2]
    (False, ['y_ff_2', 'dJ_dW_conv_1'])
    >>> golden.verify_trace(tr, compute=forward_only, require=["z_ff_2"]).ok
    True
    """
    tr = trace if isinstance(trace, Trace) else load_trace(trace)
    default = compute is None
    compute = compute_trace if default else compute
    rho1, rho2, mu = tr.settings
    specs = array_specs(tr.net, tr.X.shape[0])
    required = required_arrays(tr.net, tr.X.shape[0], require)
    report = VerifyReport(tr.name, float(rtol))
    got = compute(tr.net, tr.params, np.array(tr.X), np.array(tr.Gamma), rho1, rho2, mu)
    if not isinstance(got, dict):
        raise TypeError(f"compute must return a dict of arrays named as in the trace, got "
                        f"{type(got).__name__}")
    unknown = sorted(set(got) - set(specs))
    if unknown:
        raise ValueError(f"compute returned arrays that a trace does not hold: {unknown}; "
                         f"known names are {list(specs)}")
    for name in specs:
        if name not in got:
            if specs[name]["group"] in _COMPUTED:
                report.not_compared.append(name)
            continue
        want = tr.arrays[name]
        have = np.asarray(got[name])
        if have.shape != want.shape:
            report.failed.append(name)
            report.errors[name] = (f"shape {have.shape}, expected {want.shape} "
                                   f"({specs[name]['symbol']}, {specs[name]['equation']})")
            report.diffs[name] = float("inf")
            continue
        d = rel_diff(have, want)  # NaN, unmatched infinities -> inf
        report.diffs[name] = d
        if not d <= rtol:
            report.failed.append(name)
            report.errors[name] = (f"relative difference {d:.3e} > {rtol:g} "
                                   f"({specs[name]['symbol']}, {specs[name]['equation']})")
    report.missing = [n for n in required if n not in got]
    if regenerate is None:
        regenerate = default and tr.name in _BY_NAME
    if regenerate:
        report.inputs = _inputs_match(tr)
    return report


def _inputs_match(tr):
    prob = _problem(tr.name)
    net, params, X, Gamma = problem_data(prob)
    want = {"X": X, "Gamma": Gamma}
    for g, k, a in params.items():
        want[f"{g}_{k}"] = a
    want.update(_structure_arrays(net))
    return all(np.array_equal(tr.arrays[n], a) and tr.arrays[n].dtype == np.asarray(a).dtype
               for n, a in want.items())


def verify_directory(directory=None, compute=None, rtol=RTOL, skip=None, require=None):
    r""":func:`verify_trace` on every trace of ``directory`` (default: the shipped copy).

    ``skip(trace)`` may return a reason (a string) to leave a trace out, e.g. a pooling kind
    another implementation does not have; ``require`` is passed to :func:`verify_trace`.
    Returns a dict from problem name to :class:`VerifyReport` (or the reason it was
    skipped). Raises ``ValueError`` for a directory without traces (see
    :func:`load_traces`).

    Examples
    --------
    >>> from sayedcnn.interop.golden import verify_directory
    >>> reports = verify_directory()
    >>> all(r.ok for r in reports.values())
    True
    """
    out = {}
    for name, tr in load_traces(directory).items():
        reason = skip(tr) if skip is not None else None
        out[name] = reason if reason else verify_trace(tr, compute=compute, rtol=rtol,
                                                       require=require)
    return out
