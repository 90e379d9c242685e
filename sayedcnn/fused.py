r"""The engine: the forward listing (47.1216) and the training listing (47.1275) for a whole
batch at once, reorganised for speed. Equal to the listings to rounding.

The listings in :mod:`sayedcnn.forward` and :mod:`sayedcnn.training` compute sample by sample
and map by map with the book's matrices. This module computes the same numbers with these
reorganisations, each an identity of the chapter:

* **Patches as strided views.** For a sliding partition, :math:`\mathrm{vec}(H_n^{(j,c-1)}) =
  V_{c-1} t_n^{(j,c-1)}` (47.1152) only copies entries of the zero-padded map; the patches of
  every map and sample are read as one strided view (no :math:`V`, no gather).
* **One product per layer.** Stacking the samples, (47.1216) for every ``d`` and ``n`` is one
  matrix product :math:`[H_{n,c-1}^T]_n W_c` (47.1225), minus the column sums
  :math:`\mathbb 1^T\Theta_c`, which are all of :math:`\Theta_c` that reaches :math:`z`.
* **Linearity in (47.1262).** :math:`\sum_{d'} V^{(d,d',c+1)}\delta^{(d',c+1)} = V_c^T
  \sum_{d'} \delta^{(d',c+1)} \otimes w_d^{(d',c+1)}`: the sum over :math:`d'` is one product,
  and one sparse product with :math:`I_N \otimes V_c^T` applies (47.1258) for every ``d`` and
  ``n``; :math:`V^{(d,d',c+1)}` is never formed.
* **Batched (47.1271), (47.1274).** :math:`\sum_n (\mathbb 1^T \otimes H_{n,c-1})\Delta_{n,c}`
  is one product of the stacked patch rows with the stacked sensitivities; (47.1274) is the
  column sums of the sensitivities.
* **Pooling on strided views.** Blocks that tile the map at stride = block are pooled and
  back-propagated (upv and permute#, 47.1200-47.1204) on strided views of the batch; with max
  pooling or subsampling, :math:`f'` is needed only at the retained entry.
* **f' from y.** :math:`f'(z) = y(1-y)` for the logistic function and :math:`1-y^2` for tanh.

Speed devices live here only: threads for large entrywise maps, scratch buffers (the padded
maps, patch rows, z, y and the backward's sensitivities, so that no call maps fresh memory
from the system) and the scatter matrices, which belong to an :class:`Engine` that the
caller owns and passes in (``fit`` makes one per run), with a clock that says where the time
goes. Nothing is kept on the network or on scipy objects.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.lib.stride_tricks import as_strided

from ._checks import check_rho, check_scaling
from .activations import ACTIVATIONS
from .losses import risk_weights
from .params import Params

__all__ = ["Engine", "FusedForward", "forward_fused", "gradients_fused"]


def _no_lap(key="python"):
    """The clock of an engine that is not profiling: does nothing."""


class Engine:
    r"""The engine's work space for one network: the scatter matrices
    :math:`I_N \otimes V_{c-1}^T` (47.1258) for the batch sizes met, and scratch buffers.

    Make one per network and pass it as ``engine=`` to reuse it across calls (``fit`` does);
    without one, each call makes its own. An engine is not shared between threads. Its
    buffers hold the patch rows, :math:`z` and :math:`y` of every layer (and :math:`t` of a
    layer that does not pool), so the :class:`FusedForward` that ``gradients_fused(...,
    return_loss=True)`` returns with an engine keeps those arrays only until the engine's
    next call; its ``output`` and feedforward arrays are its own.

    :meth:`start_profile` turns on a clock that adds the time of every operation to its
    kind of work (``gemm``, ``activation``, ``pool forward``, ``pool backward``,
    ``scatter``, ``patches``, ``alloc``, ``entrywise``; ``python`` between them) until
    :meth:`stop_profile` returns the totals; ``bench --profile`` prints them.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.fused import Engine
    >>> net = sc.Network((6, 6), conv=[sc.Conv(2, 3), sc.Conv(2, 3)], outputs=2)
    >>> Engine(net).scatter(4)[2].shape  # I_4 (x) V_1^T: 4 M x 4 P_2 S_2
    (144, 1296)
    """

    #: scratch arrays larger than this (bytes) are not kept between calls
    WORK_MAX = 1 << 27

    def __init__(self, net):
        self.net = net
        self._scatter = {}
        self._work = {}
        self.lap = _no_lap
        self.profile = None
        self.laps = 0

    def start_profile(self):
        """Attribute the time of the following calls to their kinds of work: each
        :meth:`lap` adds the time since the previous one to ``profile[key]``; ``"python"``
        (the default key) is the time between the timed operations."""
        self.profile = {}
        self.laps = 0
        self._t0 = time.perf_counter()
        self.lap = self._lap

    def stop_profile(self):
        """End the profile and return it (``{kind: seconds}``)."""
        self.lap = _no_lap
        prof, self.profile = self.profile, None
        return prof

    def _lap(self, key="python"):
        t = time.perf_counter()
        self.profile[key] = self.profile.get(key, 0.0) + (t - self._t0)
        self.laps += 1
        self._t0 = t

    def scatter(self, N):
        r""":math:`I_N \otimes V_{c-1}^T` (CSR) for ``c = 2..C``, keyed by ``c``: one sparse
        product then applies :math:`V_{c-1}^T` (47.1258) to the rows ``(n, p, s)`` of every
        sample. Kept for the last four batch sizes."""
        plan = self._scatter.get(N)
        if plan is None:
            if len(self._scatter) >= 4:
                self._scatter.pop(next(iter(self._scatter)))
            plan = {}
            for ly in self.net.layers[1:]:
                VT = ly.partition.V.T.tocsr()  # M x P S, rows e_m^T of the partition (47.1152)
                VT.sort_indices()
                M, PS = VT.shape
                shift = np.arange(N)[:, None]
                indptr = np.append((VT.indptr[:-1][None, :] + VT.nnz * shift).ravel(),
                                   N * VT.nnz)
                indices = (VT.indices[None, :] + PS * shift).ravel()
                plan[ly.c] = sp.csr_matrix((np.tile(VT.data, N), indices, indptr),
                                           shape=(N * M, N * PS))  # I_N (x) V_{c-1}^T
            self._scatter[N] = plan
        return plan

    def buffer(self, key, shape, zero=False):
        """A scratch array of ``shape`` kept between calls, so that large temporaries are not
        mapped afresh from the system at every call. With ``zero`` it is zero when made (the
        caller writes only entries that are not to stay zero, e.g. inside a padding)."""
        a = self._work.get(key)
        if a is None or a.shape != shape:
            a = np.zeros(shape) if zero else np.empty(shape)
            if a.nbytes <= self.WORK_MAX:
                self._work[key] = a
        return a


def _fresh(key, shape, zero=False):
    """The work space of a call without an engine: a new array each time."""
    return np.zeros(shape) if zero else np.empty(shape)


@dataclass
class FusedForward:
    r"""The fused forward pass over a batch of ``N`` samples.

    Arrays are laid out ``(N, P_c, D_c)``: ``z[c][n, p, d-1]`` is :math:`z_n^{(d,c)}(p+1)`.
    ``patches[c]`` is the ``N P_c x S_c D_{c-1}`` matrix whose row ``n P_c + p`` is column
    ``p`` of :math:`H_{n,c-1}` (47.1225) with its entries interleaved map by map: column
    ``s D_{c-1} + j`` holds :math:`h_{n,p}^{(j+1,c-1)}(s)` (the order in which a patch lies
    in memory; :meth:`H` gives the book's :math:`H_{n,c-1}`). ``y_ff[l]``, ``z_ff[l]`` are
    ``N x n_l``; ``S[c]`` is :math:`S_c`.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.fused import forward_fused
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, mask=2, padding="valid")], outputs=2)
    >>> fw = forward_fused(net, net.init(0), np.ones((3, 1, 4, 4)))
    >>> fw.z[1].shape, fw.patches[1].shape          # (N, P_1, D_1) and N P_1 x S_1 D_0
    ((3, 9, 2), (27, 4))
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
# Pooling on batches (K, P, B): strided block kernels and padded gathers
# ---------------------------------------------------------------------------


def _gather(pool, y3, fill):
    g = y3[:, pool._idx, :]  # (K, P', R, B)
    if not pool._valid.all():
        g = np.where(pool._valid[None, :, :, None], g, fill)
    return g

def _blocks(pool, y3):
    """For blocks that tile the map at stride = block (disjoint regions), the entries of
    every region as ``|Omega|`` strided views ``(K, nc, nr, B)`` of ``y3`` (K, P, B), in
    region order (column-major over the block); ``None`` for other regions."""
    if pool.block is None or pool.stride != pool.block:
        return None
    K, _, B = y3.shape
    rows, cols = pool.in_shape
    br, bc = pool.block
    nr, nc = pool.out_shape
    y4 = y3.reshape(K, cols, rows, B)  # entry p = r + c*rows sits at [:, c, r, :]
    return [y4[:, b:b + bc * nc:bc, a:a + br * nr:br, :]
            for b in range(bc) for a in range(br)]

def _tiles(pool, y3):
    """For blocks at stride = block that cover the whole map, ``y3`` (K, P, B) viewed as
    ``(K, nc, bc, nr, br, B)``: block ``(i, j)``, entry ``(a, b)`` at ``[:, j, b, i, a]``;
    ``None`` otherwise."""
    if pool.block is None or pool.stride != pool.block:
        return None
    (br, bc), (nr, nc) = pool.block, pool.out_shape
    if (br * nr, bc * nc) != tuple(pool.in_shape):
        return None
    return y3.reshape(y3.shape[0], nc, bc, nr, br, y3.shape[2])

def _pool3(pool, y3):
    k = pool.kind
    tiles = _tiles(pool, y3)
    if k == "max" and tiles is not None:
        t = tiles[:, :, 0]
        for b in range(1, tiles.shape[2]):
            t = np.maximum(t, tiles[:, :, b])  # Table 47.13: max over the block's columns
        m = t[:, :, :, 0]
        for a in range(1, t.shape[3]):
            m = np.maximum(m, t[:, :, :, a])  # ... then over its rows
        return m.reshape(y3.shape[0], pool.P_out, y3.shape[2])
    views = _blocks(pool, y3)
    if views is not None:
        K, _, B = y3.shape
        if k == "max":
            t = views[0].copy()
            for v in views[1:]:
                np.maximum(t, v, out=t)  # Table 47.13, max pooling
        elif k == "mean":
            t = views[0].copy()
            for v in views[1:]:
                t += v
            t /= len(views)  # Table 47.13, mean pooling
        elif k == "l2":
            m = np.abs(views[0])
            for v in views[1:]:
                np.maximum(m, np.abs(v), out=m)  # the largest magnitude of each region
            safe = np.where(m > 0, m, 1.0)
            t = (views[0] / safe) ** 2
            for v in views[1:]:
                t += (v / safe) ** 2
            np.sqrt(t, out=t)
            t *= m  # (47.1176), scaled like a robust norm: no underflow or overflow
        elif k == "subsample":
            t = views[pool.retain].copy()  # (47.1179)
        else:
            t = pool.mask[0] * views[0]
            for m, v in zip(pool.mask[1:], views[1:]):
                t += m * v  # (47.1180)
        return t.reshape(K, pool.P_out, B)
    if k == "max":
        return _gather(pool, y3, -np.inf).max(axis=2)  # Table 47.13, max pooling
    if k == "mean":
        s = _gather(pool, y3, 0.0).sum(axis=2)
        return s / pool.sizes[None, :, None]  # Table 47.13, mean pooling
    if k == "l2":
        return _l2_norm(_gather(pool, y3, 0.0), axis=2)  # (47.1176)
    if k == "subsample":
        return y3[:, pool._idx[:, pool.retain], :]  # (47.1179)
    return np.einsum("kprb,r->kpb", _gather(pool, y3, 0.0), pool.mask)  # (47.1180)

def _l2_norm(Y, axis):
    """The 2-norm along ``axis``, scaled by the largest magnitude (47.1176): tiny or huge
    entries neither underflow nor overflow."""
    m = np.max(np.abs(Y), axis=axis, keepdims=True)
    safe = np.where(m > 0, m, 1.0)
    return (m * np.sqrt(np.sum((Y / safe) ** 2, axis=axis, keepdims=True))).squeeze(axis)


def _grad3(pool, y3):
    """Padded gradient vectors g[k, p', r, b] of Table 47.14 (zeros in the padding)."""
    K, _, B = y3.shape
    shape = (K, pool.P_out, pool.R, B)
    k = pool.kind
    if k == "mean":
        g = np.broadcast_to((pool._valid / pool.sizes[:, None])[None, :, :, None], shape)
        return np.array(g)  # (47.1196a)
    if k in ("max", "subsample"):
        if k == "max":
            pos = _gather(pool, y3, -np.inf).argmax(axis=2)  # first maximum in region order
        else:
            pos = np.full((K, pool.P_out, B), pool.retain)
        g = np.zeros(shape)
        np.put_along_axis(g, pos[:, :, None, :], 1.0, axis=2)
        return g  # (47.1196b), (47.1196c)
    if k == "l2":
        yy = _gather(pool, y3, 0.0)
        t = _l2_norm(yy, axis=2)[:, :, None, :]
        return yy / np.where(t > 0, t, 1.0)  # (47.1196d); a region with t = 0 has y = 0
    g = np.broadcast_to((pool.mask[None, :] * pool._valid)[None, :, :, None], shape)
    return np.array(g)  # (47.1196e)

def _backprop3(pool, v3, y3, t3=None, out=None):
    """permute#(upv(v)) for (K, P', B) sensitivities v: (K, P, B) (47.1244, 47.1260).
    ``t3`` may pass the pooled map ``pool(y)`` when it is at hand; ``out`` a (K, P, B)
    array to write the result into (blocks at stride = block only)."""
    views = _blocks(pool, y3)
    if views is not None:
        return _backprop_blocks(pool, v3, y3, views, t3, out)
    contrib = _grad3(pool, y3) * v3[:, :, None, :]  # upv (47.1200), padded
    K, _, _, B = contrib.shape
    flat = contrib[:, pool._valid, :]  # (K, sum|Omega|, B) in T's row order
    out = np.zeros((K, pool.P, B))
    if pool.disjoint:
        out[:, pool._flat, :] = flat  # T^T for a (partial) permutation
    else:
        np.add.at(out, (slice(None), pool._flat, slice(None)), flat)  # T^T sums overlaps
    return out

def _backprop_blocks(pool, v3, y3, views, t3=None, out=None):
    """:meth:`_backprop3` for blocks at stride = block: T^T is a (partial) permutation,
    so permute#(upv(v)) writes v(p') g_{p'} into the block of p' (47.1200, 47.1204)."""
    K, P, B = y3.shape
    rows, cols = pool.in_shape
    v4 = v3.reshape(K, *pool.out_shape[::-1], B)  # [:, j, i, :] = v(i + j*nr)
    covered = (pool.block[0] * pool.out_shape[0] == rows
               and pool.block[1] * pool.out_shape[1] == cols and pool.kind != "subsample")
    if out is None:
        out = np.empty((K, P, B)) if covered else np.zeros((K, P, B))
    elif not covered:
        out[...] = 0.0  # entries in no region get no sensitivity
    outs = _blocks(pool, out)  # views of out, entry k of every region
    k = pool.kind
    if k == "max":  # g_{p'} = e at the first maximum in region order (47.1196b)
        t4 = (_pool3(pool, y3) if t3 is None else t3).reshape(v4.shape)
        taken = views[0] == t4
        np.multiply(v4, taken, out=outs[0])
        for view, o in zip(views[1:-1], outs[1:-1]):
            hit = view == t4
            np.greater(hit, taken, out=hit)  # a maximum not preceded by another
            taken |= hit
            np.multiply(v4, hit, out=o)
        if len(views) > 1:
            np.multiply(v4, ~taken, out=outs[-1])
    elif k == "mean":
        for o in outs:
            np.divide(v4, len(outs), out=o)  # (47.1196a)
    elif k == "l2":
        t4 = (_pool3(pool, y3) if t3 is None else t3).reshape(v4.shape)
        t4 = np.where(t4 > 0, t4, 1.0)  # a region with t = 0 has y = 0, hence g = 0
        for view, o in zip(views, outs):
            np.divide(view, t4, out=o)  # (47.1196d): g = y / t, of magnitude <= 1
            o *= v4
    elif k == "subsample":
        outs[pool.retain][...] = v4  # (47.1196c)
    else:
        for m, o in zip(pool.mask, outs):
            np.multiply(v4, m, out=o)  # (47.1196e)
    return out


# ---------------------------------------------------------------------------
# Forward
# ---------------------------------------------------------------------------


def _maps(X):
    """(N, D, rows, cols) images -> (N, M, D) with the column-major vec of each map."""
    N, D, rows, cols = X.shape
    return X.transpose(0, 3, 2, 1).reshape(N, rows * cols, D)


def _window_rows(A, part, work=_fresh, key=None):
    r"""Rows of the stacked patch matrices, ``N P x S D``, from maps ``A`` laid out
    ``(N, cols, rows, D)`` (the column-major vec of each map along axes 1-2).

    The same numbers as :math:`\mathrm{vec}(H_n^{(j)}) = V h_n^{(j)}` (47.1152) for a sliding
    partition, read as one strided view of the zero-padded maps: row ``n P + p`` (``p = i +
    j nr``) holds :math:`h_{n,p}^{(j)}(s)` at column ``s D + j`` (``s = a + b kr``).
    ``work(key, shape, zero)`` gives the arrays written (the padded maps and the rows).
    """
    N, cols, rows, D = A.shape
    (pr, pc), (qr, qc) = part.pad_before, part.pad_after
    if pr or pc or qr or qc:
        Ap = work(("padded", key), (N, cols + pc + qc, rows + pr + qr, D), zero=True)
        Ap[:, pc:pc + cols, pr:pr + rows, :] = A  # the zero extension of (47.1129)
    else:
        Ap = A
    kr, kc = part.mask
    sr, sc = part.stride
    nr, nc = part.out_shape
    s0, s1, s2, s3 = Ap.strides
    if D == 1:  # one map: copy column by column, each a run down the map (Fortran order)
        win = _view(Ap, (kc, kr, D, N, nc, nr), (s1, s2, s3, s0, s1 * sc, s2 * sr))
        out = work(("rows", key), (kc * kr * D, N * nr * nc))
        np.copyto(out.reshape(win.shape), win)
        return out.T
    win = _view(Ap, (N, nc, nr, kc, kr, D), (s0, s1 * sc, s2 * sr, s1, s2, s3))
    # win[n, j, i, b, a, d] = map d at (i sr + a, j sc + b)
    out = work(("rows", key), (N * nr * nc, kc * kr * D))
    np.copyto(out.reshape(win.shape), win)
    return out


def _view(A, shape, strides):
    """A read-only strided view of ``A`` (windows that stay inside ``A``)."""
    if A.flags.c_contiguous:
        v = np.ndarray(shape, A.dtype, A, 0, strides)
        v.flags.writeable = False
        return v
    return as_strided(A, shape, strides, writeable=False)


def _patch_rows(A, ly, work=_fresh):
    """``N P_c x S_c D_{c-1}`` patch rows of layer ``c`` from maps ``A`` (N, P'_{c-1}, D)."""
    rows, cols = ly.in_shape  # every layer's partition is a sliding one: one strided view
    return _window_rows(A.reshape(A.shape[0], cols, rows, A.shape[2]), ly.partition, work,
                        ly.c)


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


def _entrywise(kernel, z, out=None):
    """``kernel(z_part, out_part)`` over ``z`` into ``out`` (a new array by default); large
    arrays are cut into one contiguous part per thread (numpy releases the GIL inside its
    loops)."""
    z = np.ascontiguousarray(z)
    out = np.empty_like(z) if out is None else out
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


def _activate(act, z, out=None):
    r""":math:`y = f(z)` entrywise (47.1154). The logistic function is evaluated as
    :math:`1/(1 + e^{-z})` and tanh by numpy, both split over threads for large arrays and
    written into ``out`` when given (a C-contiguous array of ``z``'s shape); other
    activations by their own ``f``."""
    if act.f is ACTIVATIONS["sigmoid"].f:
        return _entrywise(_logistic_kernel, z, out)
    if act.f is ACTIVATIONS["tanh"].f:
        return _entrywise(_tanh_kernel, z, out)
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


def _forward(net, params, X, lap=_no_lap, work=_fresh):
    r"""The engine's forward pass for checked input (see :func:`forward_fused`); ``lap`` is
    an :class:`Engine`'s clock when it profiles, ``work`` its :meth:`Engine.buffer` (the
    patch rows, ``z`` and ``y`` are then the engine's, valid until its next call)."""
    N = X.shape[0]
    A = _maps(X)
    patches, Z, Y, T = {}, {}, {}, {}
    for ly in net.layers:
        c = ly.c
        lap()
        G = _patch_rows(A, ly, work)  # rows: the columns of H_{n,c-1} (47.1225)
        lap("patches")
        W, bias = _effective_conv_params(ly, params)
        W = _interleaved(W, ly.S, ly.D_in)
        lap()
        z = np.matmul(G, W, out=work(("z", c), (N * ly.P, ly.D)))
        lap("gemm")
        z -= bias  # (47.1216), all d and n at once
        z = z.reshape(N, ly.P, ly.D)
        lap("entrywise")
        y = _activate(ly.activation, z, out=work(("y", c), z.shape))
        lap("activation")
        t = _pool3(ly.pooling, y) if ly.pooled else y  # (47.1208)
        lap("pool forward")
        patches[c], Z[c], Y[c], T[c] = G, z, y, t
        A = t
    last = net.layers[-1]
    y1 = np.empty((N, last.D * last.P_out))  # its own array, not the engine's
    np.copyto(y1.reshape(N, last.D, last.P_out), T[net.C].transpose(0, 2, 1))
    y_ff = {1: y1}  # (47.1215)
    lap("patches")
    z_ff = {}
    for l in range(1, net.L):
        z_ff[l + 1] = y_ff[l] @ params.W_ff[l].T
        lap("gemm")
        z_ff[l + 1] -= params.theta_ff[l]  # (47.1216)
        lap("entrywise")
        y_ff[l + 1] = _activate(net.ff_activation[l + 1], z_ff[l + 1])
        lap("activation")
    return FusedForward(patches, Z, Y, T, z_ff, y_ff, y_ff[net.L],
                        {ly.c: ly.S for ly in net.layers})


# ---------------------------------------------------------------------------
# Backward
# ---------------------------------------------------------------------------


def _fprime_from_output(act):
    r""":math:`f'` written in terms of :math:`y = f(z)` where the activation allows it
    (47.1154): :math:`y(1-y)` for the logistic function, :math:`1-y^2` for tanh; ``None``
    otherwise."""
    if act.f is ACTIVATIONS["sigmoid"].f:
        return _logistic_prime
    if act.f is ACTIVATIONS["tanh"].f:
        return _tanh_prime
    return None


def _logistic_prime(y):
    out = np.subtract(1.0, y)
    out *= y  # y (1 - y)
    return out


def _tanh_prime(y):
    out = np.multiply(y, y)
    np.subtract(1.0, out, out=out)  # 1 - y^2
    return out


def _fprime(act, z, y):
    """f'(z) (47.1154), from y = f(z) when the activation allows."""
    fy = _fprime_from_output(act)
    return act.fprime(z) if fy is None else fy(y)


def _conv_delta(ly, z, y, t, v, out=None):
    r""":math:`\delta^{(d,c)} = f'(z^{(d,c)}) \odot \mathrm{permute}^\#(\mathrm{upv}(v))`
    (47.1245), (47.1262) for every map and sample: ``(N, P_c, D_c)`` from ``v``
    ``(N, P'_c, D_c)``. For max pooling and subsampling every gradient vector (47.1196b-c)
    is one-hot at an entry whose :math:`y` is the pooled :math:`t`, so :math:`f'` is needed
    only there: :math:`\mathrm{permute}^\#(\mathrm{upv}(v \odot f'|_{y=t}))`. ``out``
    may give a scratch array for the result."""
    if not ly.pooled:
        return _fprime(ly.activation, z, y) * v
    pool = ly.pooling
    act = ly.activation
    fy = _fprime_from_output(act)
    if pool.kind in ("max", "subsample") and (fy is not None or act.name in ("relu", "linear")):
        u = fy(t) if fy is not None else act.fprime(t)  # relu'(z) = 1{y > 0}; linear: 1
        u *= v
        return _backprop3(pool, u, y, t, out=out)
    return _fprime(act, z, y) * _backprop3(pool, v, y, t)


def _gradients(net, params, X, Gamma, rho1, rho2, scaling, engine, return_loss=False):
    r"""The engine's derivatives of :math:`J_{emp}` for checked input (see
    :func:`gradients_fused`)."""
    N = X.shape[0]
    lap = engine.lap
    reg, data = risk_weights(scaling, N)
    fw = _forward(net, params, X, lap, engine.buffer)
    L = net.L
    grads = Params()
    lap()
    delta = net.loss.delta(fw.z_ff[L], fw.y_ff[L], Gamma,
                           net.ff_activation[L])  # (47.1233), rows are samples
    lap("entrywise")
    for l in range(L - 1, 0, -1):
        dl = data * delta
        lap("entrywise")
        gW = np.outer(dl[0], fw.y_ff[l][0]) if N == 1 else dl.T @ fw.y_ff[l]
        lap("gemm")
        if rho2:
            gW += reg * 2 * rho2 * params.W_ff[l]
        grads.W_ff[l] = gW  # (47.1263)
        grads.theta_ff[l] = -dl.sum(axis=0)  # (47.1264)
        lap("entrywise")
        back = delta @ params.W_ff[l]  # W_l^T delta_{l+1}, per sample
        lap("gemm")
        if l > 1:
            delta = _fprime(net.ff_activation[l], fw.z_ff[l], fw.y_ff[l]) * back  # (47.1234)
            lap("entrywise")
    last = net.layers[-1]
    v = back.reshape(N, last.D, last.P_out).transpose(0, 2, 1)  # (W_1^(d))^T delta_2 (47.1241)
    lap()
    VT = engine.scatter(N) if net.C > 1 else {}
    lap("scatter")
    for ly in reversed(net.layers):
        c = ly.c
        out = engine.buffer(("dz", c), (N, ly.P, ly.D))
        lap("alloc")
        dz = _conv_delta(ly, fw.z[c], fw.y[c], fw.t[c], v, out=out)  # (47.1245), (47.1262)
        lap("pool backward")
        D2 = dz.reshape(N * ly.P, ly.D)
        gW = fw.patches[c].T @ D2  # (47.1271) summed over n, rows s D_{c-1} + j
        lap("gemm")
        gW *= data
        gW = gW.reshape(ly.S, ly.D_in, ly.D).transpose(1, 0, 2).reshape(ly.D_in * ly.S, ly.D)
        full = ly.conn.all()
        if not full:
            gW *= ly.W_mask
        if rho1:
            gW += reg * 2 * rho1 * params.W_conv[c]
        grads.W_conv[c] = gW
        grads.Theta_conv[c] = -data * np.outer(np.ones(ly.D_in), D2.sum(axis=0)) * ly.conn
        # (47.1274)
        lap("entrywise")
        if c > 1:
            W = params.W_conv[c] if full else params.W_conv[c] * ly.W_mask
            W = _interleaved(W, ly.S, ly.D_in)  # rows s D_{c-1} + j
            B = engine.buffer(("B", c), (N * ly.P, ly.S * ly.D_in))
            lap("alloc")
            # sum_d' delta^(d',c) (x) w_d^(d',c): row (n, p), column (s, d) for map d of c-1
            B = np.matmul(D2, W.T, out=B)
            lap("gemm")
            b = VT[c] @ B.reshape(N * ly.P * ly.S, ly.D_in)  # (47.1258) V_{c-1}^T (...)
            lap("scatter")
            v = b.reshape(N, -1, ly.D_in)  # (N, P'_{c-1}, D_{c-1})
    if return_loss:
        losses = net.loss.value(fw.z_ff[L], fw.y_ff[L], Gamma)
        lap("entrywise")
        return grads, float(losses.mean()), fw
    lap()
    return grads


# ---------------------------------------------------------------------------
# The engine's public entry points: validate once, then compute
# ---------------------------------------------------------------------------


def forward_fused(net, params, X):
    r"""The forward pass (47.1216) for a batch ``X`` (``N x D_0 x rows x cols``) at once.

    Per layer: read the patches as a strided view (the numbers of :math:`V_{c-1} t`), compute
    :math:`z = [H_{n,c-1}^T]_n W_c - \mathbb 1 (\mathbb 1^T \Theta_c)` with one matrix
    product, apply ``f`` and pool; then the feedforward part with samples as rows. Equal to
    :func:`sayedcnn.forward.forward_listing` to rounding. Implements (47.1216).

    Parameters
    ----------
    net : Network
    params : Params
        Checked against ``net`` (47.1221g-h, 47.1224a-b).
    X : array_like
        ``N x D_0 x rows x cols`` images, or one ``D_0 x rows x cols`` image.

    Returns
    -------
    FusedForward

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.fused import forward_fused
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("max", 2))], outputs=3)
    >>> p = net.init(seed=0)
    >>> X = np.random.default_rng(0).standard_normal((5, 1, 4, 4))
    >>> forward_fused(net, p, X).output.shape
    (5, 3)
    """
    X = net.check_images(X)
    params = net.check_params(params)
    return _forward(net, params, X)


def gradients_fused(net, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229", engine=None,
                    return_loss=False):
    r"""The derivatives of :math:`J_{emp}` (47.1229) for a whole batch at once.

    The same equations as :func:`sayedcnn.training.gradients_listing` (47.1275), reorganised
    as the module docstring says: (47.1271) is one product of the patch rows with the stacked
    sensitivities, and (47.1262) sums over :math:`d'` before applying :math:`V_c^T`, so
    :math:`V^{(d,d',c+1)}` is never formed. Implements (47.1263), (47.1264), (47.1271),
    (47.1274), (47.1275).

    Parameters
    ----------
    net : Network
    params : Params
    X : array_like, ``N x D_0 x rows x cols``
    Gamma : array_like, ``N x Q``
        Targets :math:`\gamma_n` as rows.
    rho1, rho2 : float
        Regularisation of :math:`W_c` and :math:`W_\ell` (47.1229), ``>= 0``.
    scaling : {"1229", "1227"}
        ``"1227"`` divides the regularisers by ``N`` too.
    engine : Engine, optional
        Work space to reuse between calls.
    return_loss : bool
        Also return the data term :math:`\frac1N\sum_n Q_n` and the :class:`FusedForward`.

    Returns
    -------
    Params, or (Params, float, FusedForward) with ``return_loss``

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.fused import gradients_fused
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=1)
    >>> X = np.random.default_rng(1).standard_normal((3, 1, 4, 4))
    >>> g = gradients_fused(net, p, X, np.eye(2)[[0, 1, 0]])
    >>> g.W_conv[1].shape == p.W_conv[1].shape
    True
    """
    check_rho(rho1, rho2)
    check_scaling(scaling)
    X = net.check_images(X)
    Gamma = net.check_targets(Gamma, X.shape[0])
    params = net.check_params(params)
    if engine is None:
        engine = Engine(net)
    elif not isinstance(engine, Engine) or engine.net is not net:
        raise TypeError("engine must be a sayedcnn.fused.Engine made for this network "
                        "(Engine(net))")
    return _gradients(net, params, X, Gamma, rho1, rho2, scaling, engine, return_loss)
