r"""Training: sensitivities, derivatives, the listings (47.1275) and (47.1276), and ``fit``.

The training listing (47.1275) is implemented line for line by :func:`backward_listing` and
:func:`gradients_listing`, with :math:`V^{(d,d',c+1)}` of (47.1257) built for every pair of
maps, the upsampling ``upv`` and ``permute#`` of (47.1200)-(47.1204), and the block-diagonal
:math:`\Delta_{n,c}` (47.1270) with the Kronecker forms (47.1271), (47.1274).

:func:`gradients_fused` computes the same numbers for a whole batch at once: the sum over
:math:`d'` in (47.1262) is taken before :math:`V_c^T` (by linearity,
:math:`\sum_{d'} V^{(d,d',c+1)}\delta^{(d',c+1)} = V_c^T \sum_{d'} \delta^{(d',c+1)}
\otimes w_d^{(d',c+1)}`), so :math:`V^{(d,d',c+1)}` is never formed, and (47.1271) becomes
one matrix product per layer.

The print's slips are corrected (see :mod:`sayedcnn.fidelity.errata`): :math:`W_1^{(d)}` (47.1220)
in the boundary step, :math:`\mathbb 1_{P'_c}` and :math:`\mathbb 1_{S_{c+1}}` in
:math:`V^{(d,d',c+1)}`, the :math:`1/N` of :math:`J_{emp}` (47.1229) in the derivatives,
:math:`\Delta_{n,C}` formed too, and in (47.1276) :math:`\theta_\ell` gains
:math:`+\mu\delta_{\ell+1,n}` and ``mu mu`` is ``mu``.
"""

from __future__ import annotations

import numbers
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ._checks import as_float_array, as_positive_int, check_finite
from .activations import ACTIVATIONS
from .forward import _interleaved, forward_fused, forward_listing
from .network import Params
from .operators import V_ddc, _vddc_plan_for

__all__ = [
    "Sensitivities",
    "output_sensitivity",
    "feedforward_sensitivity",
    "boundary_sensitivity",
    "conv_sensitivity",
    "Delta_matrix",
    "backward_listing",
    "gradients_listing",
    "gradients_fused",
    "gradients",
    "risk",
    "sgd_step",
    "sgd_step_listing",
    "one_hot",
    "fit",
]


@dataclass
class Sensitivities:
    r"""Every sensitivity of the training listing for one sample.

    ``delta_ff[l]`` = :math:`\delta_{\ell,n}` (``l = 2..L``); ``delta_conv[d, c]`` =
    :math:`\delta_n^{(d,c)}`; ``Delta[c]`` = :math:`\Delta_{n,c}` (47.1270, sparse);
    ``V[d, d2, c+1]`` = :math:`V^{(d,d',c+1)}` when kept.
    """

    delta_ff: dict = field(default_factory=dict)
    delta_conv: dict = field(default_factory=dict)
    Delta: dict = field(default_factory=dict)
    V: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# One pure function per step of (47.1275)
# ---------------------------------------------------------------------------


def output_sensitivity(loss, act, z_L, y_L, gamma):
    r""":math:`\delta_{L,n} = 2(y_{L,n} - \gamma_n) \odot f'(z_{L,n})` (47.1233); for softmax
    with cross-entropy, :math:`y_{L,n} - \gamma_n` (seed 001)."""
    return loss.delta(z_L, y_L, gamma, act)


def feedforward_sensitivity(fprime, z, W, delta_next):
    r""":math:`\delta_{\ell,n} = f'(z_{\ell,n}) \odot (W_\ell^T \delta_{\ell+1,n})` (47.1234)."""
    return fprime(z) * (W.T @ delta_next)  # (47.1234)


def boundary_sensitivity(fprime, z, pooling, y, W1_d, delta_2):
    r""":math:`\delta_n^{(d,C)} = f'(z_n^{(d,C)}) \odot \mathrm{permute}^\#(\mathrm{upv}(
    (W_1^{(d)})^T \delta_{2,n}))` (47.1245), with :math:`W_1^{(d)}` the columns
    :math:`(d-1)P'_C+1..dP'_C` of :math:`W_1` (47.1220). The listing (47.1275) prints
    :math:`W_1^T`, which has the wrong size (erratum E-1275c)."""
    v = W1_d.T @ delta_2  # (47.1241)
    G = pooling.gradient_matrix(y)  # g_{n,p'}^(d,C) (47.1196)
    return fprime(z) * pooling._permute_sharp(pooling._upv(v, G))  # (47.1245)


def conv_sensitivity(fprime, z, pooling, y, V_list, deltas_next):
    r""":math:`\delta_n^{(d,c)} = \sum_{d'} f'(z_n^{(d,c)}) \odot \mathrm{permute}^\#(
    \mathrm{upv}(V^{(d,d',c+1)}\delta_n^{(d',c+1)}))` (47.1262), with
    :math:`b_n^{(d,d',c)} = V^{(d,d',c+1)}\delta_n^{(d',c+1)}` (47.1258)."""
    fz = fprime(z)
    G = pooling.gradient_matrix(y)  # g_{n,p'}^(d,c) of t^(d,c), the same for every d' (47.1261)
    out = np.zeros_like(z)
    for Vddc, delta in zip(V_list, deltas_next):
        b = Vddc @ delta  # (47.1258)
        out += fz * pooling._permute_sharp(pooling._upv(b, G))  # (47.1262)
    return out


def Delta_matrix(deltas):
    r""":math:`\Delta_{n,c} = \mathrm{diag}\{\delta_n^{(1,c)}, \dots, \delta_n^{(D_c,c)}\}`,
    block diagonal, ``D_c P_c x D_c`` (47.1270), CSR."""
    return sp.block_diag([d.reshape(-1, 1) for d in deltas], format="csr")


def backward_listing(net, params, res, gamma, keep_V=False):
    r"""The backward pass of (47.1275) for one sample, from its :class:`ForwardResult`.

    Returns :class:`Sensitivities`. ``keep_V=True`` also keeps every
    :math:`V^{(d,d',c+1)}` (47.1257). Implements (47.1233), (47.1234), (47.1245),
    (47.1257), (47.1262), (47.1270).
    """
    params = net.check_params(params)
    gamma = net.check_targets(gamma, 1)[0]
    _check_forward_result(net, res)
    sens = Sensitivities()
    L = net.L
    sens.delta_ff[L] = output_sensitivity(net.loss, net.ff_activation[L], res.z_ff[L],
                                          res.y_ff[L], gamma)  # (47.1233)
    for l in range(L - 1, 1, -1):  # l = L-1, ..., 2
        sens.delta_ff[l] = feedforward_sensitivity(
            net.ff_activation[l].fprime, res.z_ff[l], params.W_ff[l], sens.delta_ff[l + 1])
    last = net.layers[-1]
    C, Pp = net.C, last.P_out
    for d in range(1, last.D + 1):
        W1_d = params.W_ff[1][:, (d - 1) * Pp:d * Pp]  # W_1^(d) (47.1220)
        sens.delta_conv[d, C] = boundary_sensitivity(
            last.activation.fprime, res.z_conv[d, C], last.pooling, res.y_conv[d, C], W1_d,
            sens.delta_ff[2])
    sens.Delta[C] = Delta_matrix([sens.delta_conv[d, C] for d in range(1, last.D + 1)])
    for c in range(C - 1, 0, -1):  # c = C-1, ..., 1
        ly, nxt = net.layers[c - 1], net.layers[c]
        V_c = nxt.partition.V  # P_{c+1} S_{c+1} x P'_c (47.1252)
        plans = net.__dict__.setdefault("_listing_vddc_plans", {})  # structure of (47.1257)
        if c + 1 not in plans or plans[c + 1]["source"] is not V_c:
            plans[c + 1] = _vddc_plan_for(V_c, nxt.P, nxt.S)  # once per architecture
        for d in range(1, ly.D + 1):
            V_list, deltas = [], []
            for d2 in range(1, nxt.D + 1):
                if not nxt.conn[d - 1, d2 - 1]:
                    continue  # map d does not feed map d' (47.1213): its term is zero
                w = params.W_conv[c + 1][(d - 1) * nxt.S:d * nxt.S, d2 - 1]  # w_d^(d',c+1)
                Vddc = V_ddc(V_c, w, nxt.P, nxt.S, plan=plans[c + 1])  # (47.1257)
                if keep_V:
                    sens.V[d, d2, c + 1] = Vddc
                V_list.append(Vddc)
                deltas.append(sens.delta_conv[d2, c + 1])
            sens.delta_conv[d, c] = conv_sensitivity(
                ly.activation.fprime, res.z_conv[d, c], ly.pooling, res.y_conv[d, c], V_list,
                deltas)  # (47.1262)
        sens.Delta[c] = Delta_matrix([sens.delta_conv[d, c] for d in range(1, ly.D + 1)])
    return sens


def _reg_scale(scaling, N):
    if scaling == "1229":
        return 1.0, 1.0 / N  # regulariser as is, data term averaged (47.1229)
    if scaling == "1227":
        return 1.0 / N, 1.0 / N  # everything divided by N (47.1227)
    raise ValueError(f"scaling must be '1229' (47.1229) or '1227' (47.1227), got {scaling!r}")


def gradients_listing(net, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229"):
    r"""The training listing (47.1275), sample by sample, returning the derivatives of
    :math:`J_{emp}` (47.1229) as a :class:`Params`:

    .. math::
        \frac{\partial J}{\partial W_\ell} = 2\rho_2 W_\ell + \frac1N\sum_n
            \delta_{\ell+1,n} y_{\ell,n}^T, \quad
        \frac{\partial J}{\partial \theta_\ell} = -\frac1N\sum_n \delta_{\ell+1,n},

        \frac{\partial J}{\partial W_c} = 2\rho_1 W_c + \frac1N\sum_n
            (\mathbb 1_{D_c}^T \otimes H_{n,c-1})\Delta_{n,c}, \quad
        \frac{\partial J}{\partial \Theta_c} = -\frac1N\sum_n (\mathbb 1_{D_c}^T \otimes
            \mathbb 1_{D_{c-1}}\mathbb 1_{P_c}^T)\Delta_{n,c}.

    The printed listing omits the :math:`1/N` (erratum E-1275b). Entries of
    :math:`W_c, \Theta_c` outside a connection table (47.1213) do not reach :math:`z`; their
    data-term derivative is set to zero. Implements (47.1263), (47.1264), (47.1271),
    (47.1274), (47.1275).
    """
    N = X.shape[0]
    reg, data = _reg_scale(scaling, N)
    acc = params.map(np.zeros_like)
    for n in range(N):
        res = forward_listing(net, params, X[n])
        sens = backward_listing(net, params, res, Gamma[n])
        for l in range(1, net.L):
            acc.W_ff[l] += np.outer(sens.delta_ff[l + 1], res.y_ff[l])  # (47.1263)
            acc.theta_ff[l] += -sens.delta_ff[l + 1]  # (47.1264)
        for ly in net.layers:
            c = ly.c
            H = res.H_stacked[c - 1]  # H_{n,c-1} (47.1225)
            ones_D = np.ones((1, ly.D))
            acc.W_conv[c] += np.asarray(np.kron(ones_D, H) @ sens.Delta[c])  # dense @ sparse
            # (47.1271) (1^T (x) H_{n,c-1}) Delta_{n,c}
            ones_block = np.kron(ones_D, np.ones((ly.D_in, 1)) @ np.ones((1, ly.P)))
            acc.Theta_conv[c] += -np.asarray(ones_block @ sens.Delta[c])
            # (47.1274) -(1^T (x) 1 1^T) Delta_{n,c}
    grads = Params()
    for l in range(1, net.L):
        grads.W_ff[l] = reg * 2 * rho2 * params.W_ff[l] + data * acc.W_ff[l]
        grads.theta_ff[l] = data * acc.theta_ff[l]
    for ly in net.layers:
        c = ly.c
        grads.W_conv[c] = reg * 2 * rho1 * params.W_conv[c] + data * acc.W_conv[c] * ly.W_mask
        grads.Theta_conv[c] = data * acc.Theta_conv[c] * ly.conn
    return grads


# ---------------------------------------------------------------------------
# Fused path
# ---------------------------------------------------------------------------


def _scatter_plan(net, N):
    r"""Per-architecture :math:`I_N \otimes V_{c-1}^T` (CSR) for ``c = 2..C``: one sparse
    product then applies :math:`V_{c-1}^T` (47.1258) to the rows ``(n, p, s)`` of every sample.
    Cached on the network for the last few batch sizes."""
    cache = net.__dict__.setdefault("_scatter_VT", {})
    plan = cache.get(N)
    if plan is None:
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        plan = {}
        for ly in net.layers[1:]:
            VT = ly.partition.V.T.tocsr()  # M x P S, rows e_m^T of the partition (47.1152)
            VT.sort_indices()
            M, PS = VT.shape
            shift = np.arange(N)[:, None]
            indptr = np.append((VT.indptr[:-1][None, :] + VT.nnz * shift).ravel(), N * VT.nnz)
            indices = (VT.indices[None, :] + PS * shift).ravel()
            plan[ly.c] = sp.csr_matrix((np.tile(VT.data, N), indices, indptr),
                                       shape=(N * M, N * PS))  # I_N (x) V_{c-1}^T
        cache[N] = plan
    return plan


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
        return pool._backprop3(u, y, t, out=out)
    return _fprime(act, z, y) * pool._backprop3(v, y, t)


_WORK_MAX = 1 << 27  # bytes: larger scratch arrays are not kept between calls


def _buffer(net, key, shape):
    """A scratch array of ``shape`` kept on the network between calls (one set per thread),
    so that large temporaries are not mapped afresh from the system at every call."""
    work = net.__dict__.setdefault("_fused_work", {}).setdefault(threading.get_ident(), {})
    a = work.get(key)
    if a is None or a.shape != shape:
        a = np.empty(shape)
        if a.nbytes <= _WORK_MAX:
            work[key] = a
    return a


def gradients_fused(net, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229",
                    return_loss=False):
    r"""The derivatives of :math:`J_{emp}` (47.1229) for a whole batch at once.

    Same equations as :func:`gradients_listing` (47.1275), reorganised: samples are stacked,
    (47.1271) is one product :math:`\sum_n H_{n,c-1}[\delta_n^{(1,c)} \dots] =
    G_c^T \Delta_c` of the patch rows :math:`G_c` with the stacked sensitivities, and
    (47.1262) sums over :math:`d'` before applying :math:`V_c^T` (linearity), so
    :math:`V^{(d,d',c+1)}` is never formed: one product gives
    :math:`\sum_{d'}\delta^{(d',c+1)} \otimes w_d^{(d',c+1)}` for every ``d`` and ``n``, one
    sparse product with :math:`I_N \otimes V_c^T` applies (47.1258). With ``return_loss`` the
    data term :math:`\frac1N\sum_n Q_n` is returned too.
    """
    N = X.shape[0]
    reg, data = _reg_scale(scaling, N)
    fw = forward_fused(net, params, X)
    L = net.L
    grads = Params()
    delta = output_sensitivity(net.loss, net.ff_activation[L], fw.z_ff[L], fw.y_ff[L],
                               Gamma)  # (47.1233), rows are samples
    for l in range(L - 1, 0, -1):
        dl = data * delta
        gW = np.outer(dl[0], fw.y_ff[l][0]) if N == 1 else dl.T @ fw.y_ff[l]
        if rho2:
            gW += reg * 2 * rho2 * params.W_ff[l]
        grads.W_ff[l] = gW  # (47.1263)
        grads.theta_ff[l] = -dl.sum(axis=0)  # (47.1264)
        back = delta @ params.W_ff[l]  # W_l^T delta_{l+1}, per sample
        if l > 1:
            delta = _fprime(net.ff_activation[l], fw.z_ff[l], fw.y_ff[l]) * back  # (47.1234)
    last = net.layers[-1]
    v = back.reshape(N, last.D, last.P_out).transpose(0, 2, 1)  # (W_1^(d))^T delta_2 (47.1241)
    VT = _scatter_plan(net, N) if net.C > 1 else {}
    for ly in reversed(net.layers):
        c = ly.c
        dz = _conv_delta(ly, fw.z[c], fw.y[c], fw.t[c], v,
                         out=_buffer(net, ("dz", c), (N, ly.P, ly.D)))  # (47.1245), (47.1262)
        D2 = dz.reshape(N * ly.P, ly.D)
        gW = fw.patches[c].T @ D2  # (47.1271) summed over n, rows s D_{c-1} + j
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
        if c > 1:
            W = params.W_conv[c] if full else params.W_conv[c] * ly.W_mask
            W = _interleaved(W, ly.S, ly.D_in)  # rows s D_{c-1} + j
            # sum_d' delta^(d',c) (x) w_d^(d',c): row (n, p), column (s, d) for map d of c-1
            B = np.matmul(D2, W.T, out=_buffer(net, ("B", c), (N * ly.P, ly.S * ly.D_in)))
            b = VT[c] @ B.reshape(N * ly.P * ly.S, ly.D_in)  # (47.1258) V_{c-1}^T (...)
            v = b.reshape(N, -1, ly.D_in)  # (N, P'_{c-1}, D_{c-1})
    if return_loss:
        losses = net.loss.value(fw.z_ff[L], fw.y_ff[L], Gamma)
        return grads, float(losses.mean()), fw
    return grads


def _check_forward_result(net, res):
    """``res`` must be the listing's result for one sample of ``net`` (47.1216)."""
    if hasattr(res, "samples") and not hasattr(res, "z_ff"):
        raise TypeError(f"backward takes the forward result of one sample (47.1216); got a "
                        f"batch of {len(res.samples)}: pass res.samples[n]")
    if not all(hasattr(res, k) for k in ("z_ff", "y_ff", "z_conv", "y_conv", "H_stacked")):
        raise TypeError(f"backward needs the listing's forward result of one sample "
                        f"(net.forward(params, x, method='listing'), 47.1216), got "
                        f"{type(res).__name__}")
    want = {l: (net.n[l],) for l in range(2, net.L + 1)}
    have = {l: np.shape(res.z_ff.get(l)) for l in want}
    if have != want:
        raise ValueError(f"the forward result does not belong to this network: z_l must have "
                         f"n_l entries {want} (47.1216), got {have}")


def _check_batch(net, params, X, Gamma):
    X = net.check_images(X)
    Gamma = net.check_targets(Gamma, X.shape[0])
    params = net.check_params(params)
    return params, X, Gamma


def _check_rho(rho1, rho2):
    for name, r in (("rho1", rho1), ("rho2", rho2)):
        if not isinstance(r, (int, float, np.floating, np.integer)) or isinstance(r, bool):
            raise TypeError(f"{name} must be a real number (47.1229), got {r!r}")
        if not np.isfinite(r) or r < 0:
            raise ValueError(f"{name} must be finite and >= 0 (47.1229), got {r}")


def gradients(net, params, X, Gamma, rho1=0.0, rho2=0.0, method="fused", scaling="1229"):
    r"""Derivatives of :math:`J_{emp}` (47.1229) for images ``X`` (``N x D_0 x rows x cols``)
    and targets ``Gamma`` (``N x Q``), by ``method="listing"`` (47.1275 line for line) or
    ``"fused"`` (the same algebra, batched). Returns a :class:`Params` in the book's shapes.
    Implements (47.1275).
    """
    _check_rho(rho1, rho2)
    params, X, Gamma = _check_batch(net, params, X, Gamma)
    if method == "listing":
        return gradients_listing(net, params, X, Gamma, rho1, rho2, scaling)
    if method == "fused":
        return gradients_fused(net, params, X, Gamma, rho1, rho2, scaling)
    raise ValueError(f"method must be 'listing' or 'fused', got {method!r}")


def risk(net, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229"):
    r"""The empirical risk (47.1229)

    .. math:: J_{emp} = \rho_1\sum_c \|W_c\|_F^2 + \rho_2\sum_\ell \|W_\ell\|_F^2
              + \frac1N \sum_n Q(\gamma_n, y_n),

    with :math:`Q = \|\gamma_n - y_n\|^2` or cross-entropy; ``scaling="1227"`` divides the
    regularisers by :math:`N` too (47.1227). Implements (47.1227), (47.1229).
    """
    _check_rho(rho1, rho2)
    params, X, Gamma = _check_batch(net, params, X, Gamma)
    N = X.shape[0]
    reg, data = _reg_scale(scaling, N)
    fw = forward_fused(net, params, X)
    L = net.L
    J = data * float(np.sum(net.loss.value(fw.z_ff[L], fw.y_ff[L], Gamma)))
    J += reg * rho1 * sum(float(np.sum(W**2)) for W in params.W_conv.values())
    J += reg * rho2 * sum(float(np.sum(W**2)) for W in params.W_ff.values())
    return J


def _check_mu(mu):
    if not isinstance(mu, (int, float, np.floating, np.integer)) or isinstance(mu, bool):
        raise TypeError(f"the step size mu must be a real number (47.1276), got {mu!r}")
    if not np.isfinite(mu) or mu <= 0:
        raise ValueError(f"the step size mu must be finite and > 0 (47.1276), got {mu}")


def sgd_step(net, params, X, Gamma, mu, rho1=0.0, rho2=0.0, method="fused"):
    r"""One stochastic-gradient step (47.1276) on one sample or a mini-batch of ``B``:
    every parameter moves by :math:`-\mu` times the derivative of :math:`J_{emp}` over the
    batch (47.1229 with ``N = B``). With one sample this is (47.1276) exactly:

    .. math::
        W_{\ell,n} = (1-2\mu\rho_2)W_{\ell,n-1} - \mu\,\delta_{\ell+1,n}y_{\ell,n}^T,\quad
        \theta_{\ell,n} = \theta_{\ell,n-1} + \mu\,\delta_{\ell+1,n},

        W_{c,n} = (1-2\mu\rho_1)W_{c,n-1} - \mu(\mathbb 1^T\otimes H_{n,c-1})\Delta_{n,c},\quad
        \Theta_{c,n} = \Theta_{c,n-1} + \mu(\mathbb 1^T \otimes \mathbb 1\mathbb 1^T)\Delta_{n,c}

    (the print has :math:`-\mu\delta` for :math:`\theta_\ell` and ``mu mu``: errata
    E-1276a, E-1276b). Returns new :class:`Params`. Implements (47.1276).
    """
    _check_mu(mu)
    X = net.check_images(X)  # one image (D_0, rows, cols) becomes a batch of one
    g = gradients(net, params, X, Gamma, rho1=rho1, rho2=rho2, method=method)
    params = net.check_params(params)
    return params.map(lambda p, gp: p - mu * gp, g)


def sgd_step_listing(net, params, x, gamma, mu, rho1=0.0, rho2=0.0):
    r"""The stochastic-gradient listing (47.1276) line for line on one sample ``(x, gamma)``,
    with the print's slips corrected (E-1276a: :math:`\theta_\ell` gains
    :math:`+\mu\delta_{\ell+1,n}`; E-1276b: ``mu mu`` is ``mu``). Implements (47.1276)."""
    _check_mu(mu)
    _check_rho(rho1, rho2)
    params = net.check_params(params)
    x = net.check_images(x)[0]
    gamma = net.check_targets(gamma, 1)[0]
    res = forward_listing(net, params, x)
    sens = backward_listing(net, params, res, gamma)
    new = Params()
    for l in range(1, net.L):
        new.W_ff[l] = (1 - 2 * mu * rho2) * params.W_ff[l] - mu * np.outer(
            sens.delta_ff[l + 1], res.y_ff[l])  # (47.1276)
        new.theta_ff[l] = params.theta_ff[l] + mu * sens.delta_ff[l + 1]  # (47.1276), corrected
    for ly in net.layers:
        c = ly.c
        ones_D = np.ones((1, ly.D))
        dW = (sp.csr_matrix(np.kron(ones_D, res.H_stacked[c - 1])) @ sens.Delta[c]).toarray()
        new.W_conv[c] = (1 - 2 * mu * rho1) * params.W_conv[c] - mu * dW * ly.W_mask
        ones_block = np.kron(ones_D, np.ones((ly.D_in, 1)) @ np.ones((1, ly.P)))
        dT = (sp.csr_matrix(ones_block) @ sens.Delta[c]).toarray()
        new.Theta_conv[c] = params.Theta_conv[c] + mu * dT * ly.conn  # (47.1276)
    return new


# ---------------------------------------------------------------------------
# Training loop
# ---------------------------------------------------------------------------


def _check_labels(labels):
    arr = np.asarray(labels)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"labels must be integers (class numbers 0..Q-1), got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1-dimensional (N,), got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"labels must be non-negative class numbers, got minimum {arr.min()}")
    return arr.astype(np.int64)


def one_hot(labels, Q=None, low=0.0, high=1.0):
    r"""Target vectors :math:`\gamma_n` of the empirical risk (47.1229), one row per label.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Class numbers in ``0 .. Q - 1``.
    Q : int, optional
        Number of classes (size of the output layer :math:`n_L`); default ``max(labels) + 1``.
    low, high : float
        Entries off and at the label: ``0, 1`` for sigmoid or softmax outputs, ``-1, 1`` for
        tanh outputs.

    Returns
    -------
    Gamma : ndarray of float64, shape (N, Q)
        Row ``n`` is :math:`\gamma_n^T`, with ``Gamma[n, labels[n]] = high`` and ``low``
        elsewhere.

    Raises
    ------
    TypeError
        If ``labels`` are not integers, ``Q`` is not an integer, or ``low``/``high`` are not
        real numbers.
    ValueError
        If ``labels`` is not 1-dimensional, holds a negative class or one ``>= Q``, or
        ``Q < 1``, or ``low``/``high`` are not finite.
    """
    labels = _check_labels(labels)
    if Q is None:
        if labels.size == 0:
            raise ValueError("Q must be given when labels is empty (it is max(labels) + 1 "
                             "otherwise)")
        Q = int(labels.max()) + 1
    if not (isinstance(Q, numbers.Integral) and not isinstance(Q, bool)):
        raise TypeError(f"Q (number of classes) must be an integer, got {Q!r}")
    if Q < 1:
        raise ValueError(f"Q (number of classes) must be >= 1, got {Q}")
    if labels.size and labels.max() >= Q:
        raise ValueError(f"labels must lie in 0..Q-1 = 0..{Q - 1}, got maximum {labels.max()}")
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {v!r}")
        if not np.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")
    Gamma = np.full((labels.size, int(Q)), float(low))
    Gamma[np.arange(labels.size), labels] = float(high)
    return Gamma


def _targets(net, labels):
    labels = np.asarray(labels)
    if labels.ndim not in (1, 2):
        raise ValueError(f"labels must be N class numbers or an N x Q = N x {net.Q} matrix of "
                         f"targets (47.1229), got shape {labels.shape}")
    if labels.ndim == 2:
        return None, as_float_array(labels, "Gamma", eq="47.1229")
    low = -1.0 if net.output_activation.name == "tanh" else 0.0
    return labels, one_hot(labels, net.Q, low=low)


def _check_class_labels(net, labels, N, name="labels"):
    """Class numbers in 0..Q-1, one per image."""
    try:
        labels = _check_labels(labels)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None
    if labels.shape != (N,):
        raise ValueError(f"{name} must hold one class number per image, N = {N} (47.1229), got "
                         f"{labels.shape[0]}")
    if labels.size and labels.max() >= net.Q:
        raise ValueError(f"{name} must lie in 0..Q-1 = 0..{net.Q - 1} (47.1231), got maximum "
                         f"{labels.max()}")
    return labels


def accuracy(net, params, X, labels, batch=500):
    """Fraction of images whose largest output is at the label."""
    X = net.check_images(X)
    labels = _check_class_labels(net, labels, X.shape[0])
    batch = as_positive_int(batch, "batch")
    hits = 0
    for s in range(0, X.shape[0], batch):
        out = net.predict(params, X[s:s + batch])
        hits += int(np.sum(np.argmax(out, axis=1) == labels[s:s + batch]))
    return hits / X.shape[0]


def fit(net, params, X, labels, epochs=1, batch_size=32, mu=0.1, rho1=0.0, rho2=0.0, seed=0,
        method="fused", X_val=None, y_val=None, callback=None, start_epoch=0, history=None,
        batch_callback=None):
    r"""Train by mini-batch stochastic gradient (47.1276) for ``epochs`` passes.

    Each epoch visits the samples in an order drawn from
    ``numpy.random.default_rng([seed, epoch])`` (so a run resumed at ``start_epoch`` repeats
    an uninterrupted one exactly) in batches of ``batch_size`` and applies
    :func:`sgd_step`. ``labels`` are integer classes (made one-hot, with ``-1`` as the low
    value for tanh outputs) or targets ``N x Q``.

    Returns ``(params, history)``; ``history`` holds per-epoch ``loss`` (mean of the batch
    risks of the epoch), ``train_acc``, ``val_acc`` (when ``X_val`` is given) and ``seconds``.
    ``callback(epoch, params, history)`` runs after each epoch; returning ``False`` stops.
    ``batch_callback(epoch, step, steps, loss, correct, size)`` runs after each mini-batch
    (``step`` of ``steps``, 1-based) with the batch's data risk and, when ``labels`` are
    classes, how many of its ``size`` samples the parameters before the step classified
    correctly (else ``None``). Implements (47.1276) with mini-batches.
    """
    epochs = as_positive_int(epochs, "epochs", minimum=0)
    batch_size = as_positive_int(batch_size, "batch_size B", eq="47.1276")
    seed = as_positive_int(seed, "seed", minimum=0)
    start_epoch = as_positive_int(start_epoch, "start_epoch", minimum=0)
    if method not in ("fused", "listing"):
        raise ValueError(f"method must be 'listing' or 'fused', got {method!r}")
    for name, fn in (("callback", callback), ("batch_callback", batch_callback)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable or None, got {fn!r}")
    _check_mu(mu)
    _check_rho(rho1, rho2)
    params = net.check_params(params)
    X = net.check_images(X)
    labels, Gamma = _targets(net, labels)
    if Gamma.shape != (X.shape[0], net.Q):
        raise ValueError(f"labels must give one target per image: N x Q = {X.shape[0]} x "
                         f"{net.Q} (47.1229), got {Gamma.shape}")
    check_finite(Gamma, "Gamma", "47.1229")
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val go together: give both (validation images and their "
                         "class numbers) or neither")
    if X_val is not None:
        X_val = net.check_images(X_val, "X_val")
        y_val = _check_class_labels(net, y_val, X_val.shape[0], "y_val")
    keys = ("epoch", "loss", "train_acc", "val_acc", "seconds")
    if history is not None and (not isinstance(history, dict) or any(
            not isinstance(history.get(k), list) for k in keys)):
        raise TypeError(f"history must be a dict of lists with the keys {list(keys)} (as fit "
                        f"returns it), got {history!r:.200}")
    history = {k: [] for k in keys} if history is None else history
    N = X.shape[0]
    for epoch in range(start_epoch, start_epoch + epochs):
        t0 = time.perf_counter()
        order = np.random.default_rng([seed, epoch]).permutation(N)
        total = 0.0
        for s in range(0, N, batch_size):
            idx = order[s:s + batch_size]
            if method == "fused":
                g, loss, fw = gradients_fused(net, params, X[idx], Gamma[idx], rho1, rho2,
                                              return_loss=True)
            else:
                g = gradients(net, params, X[idx], Gamma[idx], rho1, rho2, method=method)
                loss = net.risk(params, X[idx], Gamma[idx])
            correct = None
            if batch_callback is not None and labels is not None:
                out = fw.output if method == "fused" else net.predict(params, X[idx])
                correct = int(np.sum(np.argmax(out, axis=1) == labels[idx]))
            params = params.map(lambda p, gp: p - mu * gp, g)  # (47.1276)
            total += loss * idx.size
            if batch_callback is not None:
                batch_callback(epoch + 1, s // batch_size + 1, -(-N // batch_size), loss,
                               correct, idx.size)
        history["epoch"].append(epoch + 1)
        history["loss"].append(total / N)
        history["train_acc"].append(accuracy(net, params, X, labels) if labels is not None
                                    else float("nan"))
        history["val_acc"].append(accuracy(net, params, X_val, np.asarray(y_val))
                                  if X_val is not None else float("nan"))
        history["seconds"].append(time.perf_counter() - t0)
        if callback is not None and callback(epoch + 1, params, history) is False:
            break
    return params, history
