r"""Forward propagation through a convolutional network: the listing (47.1216).

Two forms of the same computation:

* :func:`forward_listing` runs (47.1216) line for line for one sample, map by map, with the
  partition matrices :math:`V` and the pooling functions of Table 47.13, and keeps every
  :math:`H_n^{(d,c)}, z_n^{(d,c)}, y_n^{(d,c)}, t_n^{(d,c)}, H_{n,c}` and the feedforward
  :math:`z_{\ell,n}, y_{\ell,n}`;
* :func:`forward_fused` runs all samples at once: the patches of every map are read as one
  strided view of the zero-padded maps (the same numbers as :math:`V h`) and each layer's
  :math:`z` is one matrix product :math:`[H_{n,c-1}^T]_n W_c` (47.1216 summed over ``j`` by
  stacking, 47.1225).

Quantities are keyed by the book's numbers: ``res.z_conv[d, c]`` is
:math:`z_n^{(d,c)}` with ``d = 1..D_c``, ``c = 1..C``; ``res.H[d, c]`` is
:math:`H_n^{(d,c)}` for ``c = 0..C-1``; ``res.y_ff[l]`` is :math:`y_{\ell,n}`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .activations import ACTIVATIONS
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
    ``patches[c]`` is the ``N P_c x S_c D_{c-1}`` matrix whose row ``n P_c + p`` is column
    ``p`` of :math:`H_{n,c-1}` (47.1225) with its entries interleaved map by map: column
    ``s D_{c-1} + j`` holds :math:`h_{n,p}^{(j+1,c-1)}(s)` (the order in which a patch lies
    in memory; :meth:`H` gives the book's :math:`H_{n,c-1}`). ``y_ff[l]``, ``z_ff[l]`` are
    ``N x n_l``; ``S[c]`` is :math:`S_c`.
    """

    patches: dict
    z: dict
    y: dict
    t: dict
    z_ff: dict
    y_ff: dict
    output: np.ndarray
    S: dict = field(default_factory=dict)

    def H(self, c, n=0):
        r""":math:`H_{n,c-1} = \mathrm{col}\{H_n^{(1,c-1)}, \dots, H_n^{(D_{c-1},c-1)}\}`
        (``D_{c-1} S_c x P_c``, 47.1225) of sample ``n``, rebuilt from ``patches[c]``."""
        P, S = self.z[c].shape[1], self.S[c]
        rows = self.patches[c][n * P:(n + 1) * P]  # row p, column s D + j
        D = rows.shape[1] // S
        return rows.reshape(P, S, D).transpose(2, 1, 0).reshape(D * S, P)


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


def _window_rows(A, part):
    r"""Rows of the stacked patch matrices, ``N P x S D``, from maps ``A`` laid out
    ``(N, cols, rows, D)`` (the column-major vec of each map along axes 1-2).

    The same numbers as :math:`\mathrm{vec}(H_n^{(j)}) = V h_n^{(j)}` (47.1152) for a sliding
    partition, read as one strided view of the zero-padded maps: row ``n P + p`` (``p = i +
    j nr``) holds :math:`h_{n,p}^{(j)}(s)` at column ``s D + j`` (``s = a + b kr``).
    """
    N, cols, rows, D = A.shape
    (pr, pc), (qr, qc) = part.pad_before, part.pad_after
    if pr or pc or qr or qc:
        Ap = np.zeros((N, cols + pc + qc, rows + pr + qr, D))
        Ap[:, pc:pc + cols, pr:pr + rows, :] = A  # the zero extension of (47.1129)
    else:
        Ap = A
    kr, kc = part.mask
    sr, sc = part.stride
    nr, nc = part.out_shape
    s0, s1, s2, s3 = Ap.strides
    if D == 1:  # one map: copy column by column, each a run down the map (Fortran order)
        win = _view(Ap, (kc, kr, D, N, nc, nr), (s1, s2, s3, s0, s1 * sc, s2 * sr))
        return win.reshape(kc * kr * D, N * nr * nc).T
    win = _view(Ap, (N, nc, nr, kc, kr, D), (s0, s1 * sc, s2 * sr, s1, s2, s3))
    # win[n, j, i, b, a, d] = map d at (i sr + a, j sc + b)
    return win.reshape(N * nr * nc, kc * kr * D)


def _view(A, shape, strides):
    """A read-only strided view of ``A`` (windows that stay inside ``A``)."""
    if A.flags.c_contiguous:
        v = np.ndarray(shape, A.dtype, A, 0, strides)
        v.flags.writeable = False
        return v
    return as_strided(A, shape, strides, writeable=False)


def _patch_rows(A, ly):
    """``N P_c x S_c D_{c-1}`` patch rows of layer ``c`` from maps ``A`` (N, P'_{c-1}, D)."""
    rows, cols = ly.in_shape  # every layer's partition is a sliding one: one strided view
    return _window_rows(A.reshape(A.shape[0], cols, rows, A.shape[2]), ly.partition)


def _interleaved(W, S, D_in):
    r"""The rows of :math:`W_c` (``S D_{c-1} x D_c``, 47.1224a) from the book's order
    ``j S + s`` to the patch rows' order ``s D_{c-1} + j``."""
    return W.reshape(D_in, S, -1).transpose(1, 0, 2).reshape(S * D_in, -1)


_SPLIT = {"threads": None, "pool": None, "pid": None}
_SPLIT_MIN = 1 << 15  # entries below which one thread is faster


def _split_threads():
    """Threads for large entrywise maps: the cores this process may use, unless
    ``OMP_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS`` asks for fewer."""
    if _SPLIT["threads"] is None:
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            v = os.environ.get(var, "")
            if v.isdigit() and int(v) > 0:
                n = min(n, int(v))
        _SPLIT["threads"] = max(1, n or 1)
    return _SPLIT["threads"]


def _entrywise(kernel, z):
    """``kernel(z_part, out_part)`` over ``z`` into a new array; large arrays are cut into
    one contiguous part per thread (numpy releases the GIL inside its loops)."""
    z = np.ascontiguousarray(z)
    out = np.empty_like(z)
    n = _split_threads() if z.size >= _SPLIT_MIN else 1
    if n == 1:
        kernel(z, out)
        return out
    if _SPLIT["pool"] is None or _SPLIT["pid"] != os.getpid():  # none yet, or forked
        from concurrent.futures import ThreadPoolExecutor

        _SPLIT["pool"] = ThreadPoolExecutor(n - 1, thread_name_prefix="sayedcnn")
        _SPLIT["pid"] = os.getpid()
    zf, of = z.reshape(-1), out.reshape(-1)
    cuts = np.linspace(0, zf.size, n + 1).astype(int)
    jobs = [_SPLIT["pool"].submit(kernel, zf[a:b], of[a:b])
            for a, b in zip(cuts[1:-1], cuts[2:])]
    kernel(zf[:cuts[1]], of[:cuts[1]])
    for j in jobs:
        j.result()
    return out


def _logistic_kernel(z, out):
    np.negative(z, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)  # e^{-z}; an overflow gives the limit 0 below
    out += 1.0
    np.reciprocal(out, out=out)  # 1 / (1 + e^{-z})


def _tanh_kernel(z, out):
    np.tanh(z, out=out)


def _activate(act, z):
    r""":math:`y = f(z)` entrywise (47.1154). The logistic function is evaluated as
    :math:`1/(1 + e^{-z})` and tanh by numpy, both split over threads for large arrays;
    other activations by their own ``f``."""
    if act.f is ACTIVATIONS["sigmoid"].f:
        return _entrywise(_logistic_kernel, z)
    if act.f is ACTIVATIONS["tanh"].f:
        return _entrywise(_tanh_kernel, z)
    return act.f(z)


def _effective_conv_params(ly, params):
    W = params.W_conv[ly.c]
    full = ly.conn.all()
    if not full:
        W = W * ly.W_mask  # entries outside the table (47.1213) do not reach z
    Theta = params.Theta_conv[ly.c]
    bias = (Theta if full else Theta * ly.conn).sum(axis=0)
    # only the column sums reach z (47.1216)
    return W, bias


def forward_fused(net, params, X):
    r"""The forward pass (47.1216) for a batch ``X`` (``N x D_0 x rows x cols``) at once.

    Per layer: read the patches as a strided view (the numbers of :math:`V_{c-1} t`), compute
    :math:`z = [H_{n,c-1}^T]_n W_c - \mathbb 1 (\mathbb 1^T \Theta_c)` with one matrix
    product, apply ``f`` and pool; then the feedforward part with samples as rows. Algebraically
    identical to :func:`forward_listing`. Implements (47.1216).
    """
    N = X.shape[0]
    A = _maps(X)
    patches, Z, Y, T = {}, {}, {}, {}
    for ly in net.layers:
        c = ly.c
        G = _patch_rows(A, ly)  # rows: the columns of H_{n,c-1} (47.1225)
        W, bias = _effective_conv_params(ly, params)
        z = G @ _interleaved(W, ly.S, ly.D_in)
        z -= bias  # (47.1216), all d and n at once
        z = z.reshape(N, ly.P, ly.D)
        y = _activate(ly.activation, z)
        t = ly.pooling._pool3(y) if ly.pooled else y  # (47.1208)
        patches[c], Z[c], Y[c], T[c] = G, z, y, t
        A = t
    last = net.layers[-1]
    y_ff = {1: T[net.C].transpose(0, 2, 1).reshape(N, last.D * last.P_out)}  # (47.1215)
    z_ff = {}
    for l in range(1, net.L):
        z_ff[l + 1] = y_ff[l] @ params.W_ff[l].T - params.theta_ff[l]  # (47.1216)
        y_ff[l + 1] = _activate(net.ff_activation[l + 1], z_ff[l + 1])
    return FusedForward(patches, Z, Y, T, z_ff, y_ff, y_ff[net.L],
                        {ly.c: ly.S for ly in net.layers})


def forward(net, params, X, method="listing"):
    r"""Run (47.1216) for one image or a batch, by ``"listing"`` or ``"fused"``.

    Validates the input (images ``(N, D_0, rows, cols)`` or ``(D_0, rows, cols)``; float32 and
    integers are converted to float64) and the parameters against the architecture.
    Implements (47.1216).
    """
    if method not in ("listing", "fused"):
        raise ValueError(f"method must be 'listing' or 'fused', got {method!r}")
    X_in = X
    X = net.check_images(X)
    single = np.ndim(X_in) == 3  # X_in is rectangular once check_images accepts it
    params = net.check_params(params)
    if method == "fused":
        return forward_fused(net, params, X)
    results = [forward_listing(net, params, x) for x in X]
    if single:
        return results[0]
    return BatchForward(results, np.vstack([r.output for r in results]))
