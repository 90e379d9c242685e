r"""Forward propagation through a convolutional network: the listing (47.1216).

Two forms of the same computation:

* :func:`forward_listing` runs (47.1216) line for line for one sample, map by map, with the
  partition matrices :math:`V` and the pooling functions of Table 47.13, and keeps every
  :math:`H_n^{(d,c)}, z_n^{(d,c)}, y_n^{(d,c)}, t_n^{(d,c)}, H_{n,c}` and the feedforward
  :math:`z_{\ell,n}, y_{\ell,n}`;
* :func:`forward_fused` runs all samples at once: the patches of every map are gathered with
  the index form of :math:`V` and each layer's :math:`z` is one matrix product
  :math:`[H_{n,c-1}^T]_n W_c` (47.1216 summed over ``j`` by stacking, 47.1225).

Quantities are keyed by the book's numbers: ``res.z_conv[d, c]`` is
:math:`z_n^{(d,c)}` with ``d = 1..D_c``, ``c = 1..C``; ``res.H[d, c]`` is
:math:`H_n^{(d,c)}` for ``c = 0..C-1``; ``res.y_ff[l]`` is :math:`y_{\ell,n}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .operators import patch_matrix, vec

__all__ = [
    "ForwardResult",
    "BatchForward",
    "FusedForward",
    "input_patches",
    "correlation_z",
    "feature_map",
    "pooled_map",
    "next_patches",
    "stacked_features",
    "feedforward_input",
    "feedforward_layer",
    "forward_listing",
    "forward_fused",
    "forward",
    "images_to_maps",
]


@dataclass
class ForwardResult:
    r"""Every quantity of (47.1216) for one sample ``n``.

    Attributes
    ----------
    H : dict
        ``H[d, c]`` = :math:`H_n^{(d,c)}` (``S_{c+1} x P_{c+1}``), ``c = 0..C-1`` (47.1211).
    H_stacked : dict
        ``H_stacked[c]`` = :math:`H_{n,c}` (``D_c S_{c+1} x P_{c+1}``) (47.1225).
    z_conv, y_conv, t_conv : dict
        ``[d, c]`` = :math:`z_n^{(d,c)}, y_n^{(d,c)}` (``P_c``), :math:`t_n^{(d,c)}`
        (``P'_c``) (47.1226).
    z_ff, y_ff : dict
        ``z_ff[l]`` = :math:`z_{\ell,n}` (``l = 2..L``), ``y_ff[l]`` = :math:`y_{\ell,n}`
        (``l = 1..L``).
    output : ndarray
        :math:`y_n = y_{L,n}`.
    """

    H: dict = field(default_factory=dict)
    H_stacked: dict = field(default_factory=dict)
    z_conv: dict = field(default_factory=dict)
    y_conv: dict = field(default_factory=dict)
    t_conv: dict = field(default_factory=dict)
    z_ff: dict = field(default_factory=dict)
    y_ff: dict = field(default_factory=dict)
    output: np.ndarray | None = None


@dataclass
class BatchForward:
    """The listing (47.1216) run sample by sample: ``samples[n]`` is a :class:`ForwardResult`;
    ``output`` stacks the :math:`y_{L,n}` as rows (``N x Q``)."""

    samples: list
    output: np.ndarray


@dataclass
class FusedForward:
    r"""The fused forward pass over a batch of ``N`` samples.

    Arrays are laid out ``(N, P_c, D_c)``: ``z[c][n, p, d-1]`` is :math:`z_n^{(d,c)}(p+1)`.
    ``patches[c]`` is the ``N P_c x D_{c-1} S_c`` matrix whose rows are the columns of
    :math:`H_{n,c-1}` (47.1225); ``y_ff[l]``, ``z_ff[l]`` are ``N x n_l``.
    """

    patches: dict
    z: dict
    y: dict
    t: dict
    z_ff: dict
    y_ff: dict
    output: np.ndarray


# ---------------------------------------------------------------------------
# The listing's steps, one pure function each
# ---------------------------------------------------------------------------


def images_to_maps(x):
    r"""The input vectors :math:`h_n^{(d)} = \mathrm{vec}(\mathcal I_n^{(d)})` of one image
    ``(D_0, rows, cols)`` (47.1143), as a list over ``d = 1..D_0``."""
    return [vec(x[d]) for d in range(x.shape[0])]


def input_patches(V0, h, S1):
    r"""``start with`` :math:`H_n^{(d,0)} = [h_{n,1}^{(d)} \dots h_{n,P_1}^{(d)}]` (47.1216),
    with :math:`\mathrm{vec}(H_n^{(d,0)}) = V_0 h_n^{(d)}` (47.1152). The listing indexes
    these to :math:`P_o`; there are :math:`P_1` of them (erratum E-1216a)."""
    return patch_matrix(V0, h, S1)


def correlation_z(H_prev, W_c, Theta_c, d, S, connected):
    r"""Pre-activation of map ``d`` of layer ``c`` (47.1216), (47.1212)-(47.1213):

    .. math:: z_n^{(d,c)} = \sum_{j \in \mathcal D} \Big([H_n^{(j,c-1)}]^T w_j^{(d,c)}
              - \theta^{(d,c)}(j)\,\mathbb 1\Big)

    ``H_prev[j]`` is :math:`H_n^{(j+1,c-1)}`; ``w_j^{(d,c)}`` is rows ``j*S..(j+1)*S-1`` of
    column ``d-1`` of :math:`W_c` (47.1223a); ``connected`` lists the 0-based ``j`` summed.
    """
    P = H_prev[0].shape[1]
    z = np.zeros(P)
    for j in connected:
        w_j = W_c[j * S:(j + 1) * S, d - 1]  # w_j^(d,c) (47.1223a)
        z += H_prev[j].T @ w_j - Theta_c[j, d - 1] * np.ones(P)  # (47.1216)
    return z


def feature_map(z, f):
    r""":math:`y_n^{(d,c)} = f(z_n^{(d,c)})` (47.1216)."""
    return f(z)


def pooled_map(pooling, y):
    r""":math:`t_n^{(d,c)} = \mathrm{pool}(y_n^{(d,c)})` (47.1208), (47.1216)."""
    return pooling.pool(y)


def next_patches(V_c, t, S_next):
    r""":math:`\{h_{n,p}^{(d,c)}\} = \mathrm{partition}(t_n^{(d,c)}, P_{c+1})` and
    :math:`H_n^{(d,c)} = [h_{n,1}^{(d,c)} \dots h_{n,P_{c+1}}^{(d,c)}]` (47.1209)-(47.1211),
    (47.1216), with :math:`\mathrm{vec}(H_n^{(d,c)}) = V_c\, t_n^{(d,c)}`."""
    return patch_matrix(V_c, t, S_next)


def stacked_features(H_list):
    r""":math:`H_{n,c} = \mathrm{col}\{H_n^{(1,c)}, \dots, H_n^{(D_c,c)}\}` (47.1225)."""
    return np.vstack(H_list)


def feedforward_input(t_list):
    r""":math:`y_{1,n} = \mathrm{col}\{t_n^{(1,C)}, \dots, t_n^{(D_C,C)}\}` (47.1215)-(47.1216);
    entry ``p'`` of map ``d`` sits at :math:`(d-1)P'_C + p'` (47.1217)."""
    return np.concatenate(t_list)


def feedforward_layer(W, theta, y, f):
    r""":math:`z_{\ell+1,n} = W_\ell y_{\ell,n} - \theta_\ell`,
    :math:`y_{\ell+1,n} = f(z_{\ell+1,n})` (47.1216); returns ``(z, y)``."""
    z = W @ y - theta  # (47.1216)
    return z, f(z)


def forward_listing(net, params, x):
    r"""Run the forward listing (47.1216) on one image ``x`` (``D_0 x rows x cols``).

    Returns a :class:`ForwardResult` with every intermediate quantity. Implements (47.1216).
    """
    res = ForwardResult()
    first = net.layers[0]
    for d, h in enumerate(images_to_maps(x), start=1):
        res.H[d, 0] = input_patches(first.partition.V, h, first.S)  # start with H^(d,0)
    res.H_stacked[0] = stacked_features([res.H[d, 0] for d in range(1, net.input_depth + 1)])
    for ly in net.layers:  # for c = 1..C
        c = ly.c
        H_prev = [res.H[j, c - 1] for j in range(1, ly.D_in + 1)]
        for d in range(1, ly.D + 1):  # for d = 1..D_c
            connected = np.flatnonzero(ly.conn[:, d - 1])
            z = correlation_z(H_prev, params.W_conv[c], params.Theta_conv[c], d, ly.S, connected)
            res.z_conv[d, c] = z
            res.y_conv[d, c] = feature_map(z, ly.activation.f)
            res.t_conv[d, c] = pooled_map(ly.pooling, res.y_conv[d, c])
            if c < net.C:
                nxt = net.layers[c]  # layer c+1 owns V_c, its input partition
                res.H[d, c] = next_patches(nxt.partition.V, res.t_conv[d, c], nxt.S)
        if c < net.C:
            res.H_stacked[c] = stacked_features([res.H[d, c] for d in range(1, ly.D + 1)])
    last = net.layers[-1]
    res.y_ff[1] = feedforward_input([res.t_conv[d, net.C] for d in range(1, last.D + 1)])
    for l in range(1, net.L):  # for l = 1..L-1
        res.z_ff[l + 1], res.y_ff[l + 1] = feedforward_layer(
            params.W_ff[l], params.theta_ff[l], res.y_ff[l], net.ff_activation[l + 1].f)
    res.output = res.y_ff[net.L]  # y = y_L
    return res


# ---------------------------------------------------------------------------
# The fused batched path
# ---------------------------------------------------------------------------


def _maps(X):
    """(N, D, rows, cols) images -> (N, M, D) with the column-major vec of each map."""
    N, D, rows, cols = X.shape
    return X.transpose(0, 3, 2, 1).reshape(N, rows * cols, D)


def _gather_patches(A, index):
    """Rows of the stacked patch matrices: (N, P, D, S) from maps A (N, M, D), index (P, S)."""
    N, M, D = A.shape
    Apad = np.concatenate([A, np.zeros((N, 1, D))], axis=1)  # index -1 reads the zero row
    G = Apad[:, index, :]  # (N, P, S, D): entry [n, p, s, j] = h_{n,p}^(j)(s)
    return G.transpose(0, 1, 3, 2)  # row order (j, s) as in W^(d,c) = col{w_1..w_D} (47.1223a)


def _effective_conv_params(ly, params):
    W = params.W_conv[ly.c]
    if not ly.conn.all():
        W = W * ly.W_mask  # entries outside the table (47.1213) do not reach z
    bias = (params.Theta_conv[ly.c] * ly.conn).sum(axis=0)  # only column sums reach z (47.1216)
    return W, bias


def forward_fused(net, params, X):
    r"""The forward pass (47.1216) for a batch ``X`` (``N x D_0 x rows x cols``) at once.

    Per layer: gather the patches (the index form of :math:`V_{c-1}`), compute
    :math:`z = [H_{n,c-1}^T]_n W_c - \mathbb 1 (\mathbb 1^T \Theta_c)` with one matrix
    product, apply ``f`` and pool; then the feedforward part with samples as rows. Algebraically
    identical to :func:`forward_listing`. Implements (47.1216).
    """
    N = X.shape[0]
    A = _maps(X)
    patches, Z, Y, T = {}, {}, {}, {}
    for ly in net.layers:
        c = ly.c
        G = _gather_patches(A, ly.partition.index).reshape(N * ly.P, ly.D_in * ly.S)
        W, bias = _effective_conv_params(ly, params)
        z = (G @ W - bias).reshape(N, ly.P, ly.D)  # (47.1216), all d and n at once
        y = ly.activation.f(z)
        t = ly.pooling._pool3(y) if ly.pooled else y  # (47.1208)
        patches[c], Z[c], Y[c], T[c] = G, z, y, t
        A = t
    last = net.layers[-1]
    y_ff = {1: T[net.C].transpose(0, 2, 1).reshape(N, last.D * last.P_out)}  # (47.1215)
    z_ff = {}
    for l in range(1, net.L):
        z_ff[l + 1] = y_ff[l] @ params.W_ff[l].T - params.theta_ff[l]  # (47.1216)
        y_ff[l + 1] = net.ff_activation[l + 1].f(z_ff[l + 1])
    return FusedForward(patches, Z, Y, T, z_ff, y_ff, y_ff[net.L])


def forward(net, params, X, method="listing"):
    r"""Run (47.1216) for one image or a batch, by ``"listing"`` or ``"fused"``.

    Validates the input (images ``(N, D_0, rows, cols)`` or ``(D_0, rows, cols)``; float32 and
    integers are converted to float64) and the parameters against the architecture.
    Implements (47.1216).
    """
    if method not in ("listing", "fused"):
        raise ValueError(f"method must be 'listing' or 'fused', got {method!r}")
    single = np.ndim(X) == 3
    X = net.check_images(X)
    params = net.check_params(params)
    if method == "fused":
        return forward_fused(net, params, X)
    results = [forward_listing(net, params, x) for x in X]
    if single:
        return results[0]
    return BatchForward(results, np.vstack([r.output for r in results]))
