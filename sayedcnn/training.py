r"""The training listing (47.1275) and the stochastic-gradient listing (47.1276), line for line.

One pure function per step, named after the book's quantity:

* sensitivities: :func:`output_sensitivity` (47.1233), :func:`feedforward_sensitivity`
  (47.1234), :func:`boundary_sensitivity` (47.1245), :func:`conv_sensitivity` (47.1262) with
  :math:`V^{(d,d',c+1)}` of (47.1257) built for every pair of maps, :func:`Delta_matrix`
  (47.1270);
* derivatives of the per-sample loss :math:`Q_n`: :func:`dQ_dW_ff` (47.1263),
  :func:`dQ_dtheta_ff` (47.1264), :func:`dQ_dW_conv` (47.1271) and :func:`dQ_dTheta_conv`
  (47.1274), used by both :func:`gradients_listing` and :func:`sgd_step_listing`.

The public functions (:func:`backward_listing`, :func:`gradients_listing`,
:func:`sgd_step_listing`) validate their input once; the steps below them do not. The same
numbers for a batch at once come from the engine, :func:`sayedcnn.fused.gradients_fused`.

The print's slips are corrected (see :mod:`sayedcnn.fidelity.errata`): :math:`W_1^{(d)}`
(47.1220) in the boundary step (E-1275c), :math:`\mathbb 1_{P'_c}` and
:math:`\mathbb 1_{S_{c+1}}` in :math:`V^{(d,d',c+1)}` (E-1257), the :math:`1/N` of
:math:`J_{emp}` (47.1229) in the derivatives (E-1275b), :math:`\Delta_{n,C}` formed too
(E-1275d), and in (47.1276) :math:`\theta_\ell` gains :math:`+\mu\delta_{\ell+1,n}` (E-1276a)
and ``mu mu`` is ``mu`` (E-1276b). Entries of :math:`W_c, \Theta_c` outside a connection table
(47.1213) do not reach :math:`z`: their data-term derivative is zero (the table's mask).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ._checks import check_mu, check_rho, check_scaling
from .forward import listing
from .losses import risk_weights
from .operators import sparse_apply, vddc_product
from .params import Params
from .pooling import gradient_matrix, permute_sharp, upv
from .symbols import remember

__all__ = [
    "Sensitivities",
    "output_sensitivity",
    "feedforward_sensitivity",
    "boundary_sensitivity",
    "conv_sensitivity",
    "Delta_matrix",
    "dQ_dW_ff",
    "dQ_dtheta_ff",
    "dQ_dW_conv",
    "dQ_dTheta_conv",
    "backward_listing",
    "gradients_listing",
    "sgd_step_listing",
]


@dataclass
class Sensitivities:
    r"""Every sensitivity of the training listing for one sample.

    ``delta_ff[l]`` = :math:`\delta_{\ell,n}` (``l = 2..L``); ``delta_conv[d, c]`` =
    :math:`\delta_n^{(d,c)}`; ``Delta[c]`` = :math:`\Delta_{n,c}` (47.1270, sparse);
    ``V[d, d2, c+1]`` = :math:`V^{(d,d',c+1)}` when kept.

    Implements the record of the sensitivities (47.1233)-(47.1270) of (47.1275).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2), sc.Conv(3, 2)], hidden=[4], outputs=2)
    >>> p = net.init(seed=0)
    >>> sens = net.backward(p, net.forward(p, np.ones((1, 4, 4))), [0.0, 1.0])
    >>> sorted(sens.delta_ff), sorted(sens.delta_conv)
    ([2, 3], [(1, 1), (1, 2), (2, 1), (2, 2), (3, 2)])
    >>> sens.Delta[2].shape, sens.V                  # D_2 P_2 x D_2; V kept only on request
    ((48, 3), {})
    """

    delta_ff: dict = field(default_factory=dict)
    delta_conv: dict = field(default_factory=dict)
    Delta: dict = field(default_factory=dict)
    V: dict = field(default_factory=dict)

    def __post_init__(self):
        remember(self)  # so that show(sens.Delta[c]) finds its symbol (sayedcnn.symbols)


# ---------------------------------------------------------------------------
# Sensitivities (47.1233)-(47.1270)
# ---------------------------------------------------------------------------


def output_sensitivity(loss, act, z_L, y_L, gamma):
    r""":math:`\delta_{L,n} = 2(y_{L,n} - \gamma_n) \odot f'(z_{L,n})` (47.1233); for softmax
    with cross-entropy, :math:`y_{L,n} - \gamma_n` (seed 001).

    Implements (47.1233).

    Examples
    --------
    Sigmoid outputs at :math:`z = 0`: :math:`y = 1/2`, :math:`f'(0) = 1/4`:

    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.training import output_sensitivity
    >>> sig = sc.get_activation("sigmoid")
    >>> output_sensitivity(sc.get_loss("quadratic"), sig, np.zeros(2), np.full(2, 0.5),
    ...                    np.array([1.0, 0.0]))             # 2 (y - gamma) / 4
    array([-0.25,  0.25])
    """
    return loss.delta(z_L, y_L, gamma, act)  # (47.1233)


def feedforward_sensitivity(fprime, z, W, delta_next):
    r""":math:`\delta_{\ell,n} = f'(z_{\ell,n}) \odot (W_\ell^T \delta_{\ell+1,n})` (47.1234).

    Implements (47.1234).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.training import feedforward_sensitivity
    >>> W = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])             # n_{l+1} x n_l = 2 x 3
    >>> feedforward_sensitivity(lambda z: 1 - np.tanh(z) ** 2, np.zeros(3), W,
    ...                         np.array([1.0, -1.0]))            # tanh'(0) = 1: W^T delta
    array([ 1., -1.,  1.])
    """
    return fprime(z) * (W.T @ delta_next)  # (47.1234)


def boundary_sensitivity(fprime, z, pooling, y, W1_d, delta_2):
    r""":math:`\delta_n^{(d,C)} = f'(z_n^{(d,C)}) \odot \mathrm{permute}^\#(\mathrm{upv}(
    (W_1^{(d)})^T \delta_{2,n}))` (47.1245), with :math:`W_1^{(d)}` the columns
    :math:`(d-1)P'_C+1..dP'_C` of :math:`W_1` (47.1220). The listing (47.1275) prints
    :math:`W_1^T`, which has the wrong size (erratum E-1275c).

    Implements (47.1241), (47.1245).

    Examples
    --------
    Max-pooling in 2 x 2 blocks: each entry of :math:`(W_1^{(d)})^T\delta_2` goes back to
    the maximum of its block, the other entries get zero.

    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.training import boundary_sensitivity
    >>> pool = sc.Pooling("max", in_shape=(2, 4), block=2)
    >>> y = np.array([3.0, 0.0, 0.0, 4.0, 1.0, 2.0, 2.0, 0.0])      # block maxima: y[3], y[5]
    >>> boundary_sensitivity(lambda z: np.ones_like(z), np.zeros(8), pool, y, np.eye(2),
    ...                      np.array([10.0, 20.0]))
    array([ 0.,  0.,  0., 10.,  0., 20.,  0.,  0.])
    """
    v = W1_d.T @ delta_2  # (47.1241)
    G = gradient_matrix(pooling, y)  # g_{n,p'}^(d,C) (47.1196)
    return fprime(z) * permute_sharp(pooling, upv(pooling, v, G))  # (47.1245)


def conv_sensitivity(fprime, z, pooling, y, V_list, deltas_next):
    r""":math:`\delta_n^{(d,c)} = \sum_{d'} f'(z_n^{(d,c)}) \odot \mathrm{permute}^\#(
    \mathrm{upv}(V^{(d,d',c+1)}\delta_n^{(d',c+1)}))` (47.1262), with
    :math:`b_n^{(d,d',c)} = V^{(d,d',c+1)}\delta_n^{(d',c+1)}` (47.1258).

    Implements (47.1258), (47.1262).

    Examples
    --------
    The 3 x 3 map and 2 x 2 'valid' windows of (47.1252)-(47.1256), no pooling (1 x 1
    blocks) and :math:`f' = 1`: a sensitivity at the first window of layer ``c+1`` comes
    back as the mask :math:`w` laid over that window.

    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.training import conv_sensitivity
    >>> part = sc.sliding_partition((3, 3), 2, padding="valid")
    >>> V = sc.V_ddc(part.V, np.array([1.0, 2.0, 3.0, 4.0]), part.P, part.S)
    >>> pool = sc.Pooling("mean", in_shape=(3, 3), block=1)
    >>> delta = conv_sensitivity(lambda z: np.ones_like(z), np.zeros(9), pool, np.zeros(9),
    ...                          [V], [np.array([1.0, 0.0, 0.0, 0.0])])
    >>> sc.unvec(delta, (3, 3))
    array([[1., 3., 0.],
           [2., 4., 0.],
           [0., 0., 0.]])
    """
    fz = fprime(z)
    G = gradient_matrix(pooling, y)  # g_{n,p'}^(d,c) of t^(d,c), the same for every d' (47.1261)
    terms = []
    for Vddc, delta in zip(V_list, deltas_next):
        b = sparse_apply(Vddc, delta)  # b = V^(d,d',c+1) delta^(d',c+1) (47.1258)
        terms.append(fz * permute_sharp(pooling, upv(pooling, b, G)))  # (47.1262)
    return sum(terms[1:], terms[0]) if terms else np.zeros_like(z)  # a map that feeds none


def Delta_matrix(deltas):
    r""":math:`\Delta_{n,c} = \mathrm{diag}\{\delta_n^{(1,c)}, \dots, \delta_n^{(D_c,c)}\}`,
    block diagonal, ``D_c P_c x D_c`` (47.1270), CSR (a dense array for symbols).

    Implements (47.1270).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.training import Delta_matrix
    >>> Delta_matrix([np.array([1.0, 2.0]), np.array([3.0, 4.0])]).toarray()
    array([[1., 0.],
           [2., 0.],
           [0., 3.],
           [0., 4.]])
    """
    if any(d.dtype == object for d in deltas):
        P, D = deltas[0].size, len(deltas)
        out = np.zeros((D * P, D), dtype=object)
        for k, d in enumerate(deltas):
            out[k * P:(k + 1) * P, k] = d  # (47.1270)
        return out
    return sp.block_diag([d.reshape(-1, 1) for d in deltas], format="csr")  # (47.1270)


def backward(net, params, res, gamma, keep_V=False):
    r"""The sensitivities of (47.1275) for checked input: ``res`` the :class:`ForwardResult`
    of one sample, ``gamma`` its target. Returns :class:`Sensitivities`.

    Implements (47.1233), (47.1234), (47.1245), (47.1257), (47.1262), (47.1270).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.forward import listing
    >>> from sayedcnn.training import backward
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> sens = backward(net, p, listing(net, p, np.ones((1, 4, 4))), np.array([1.0, 0.0]))
    >>> sens.delta_conv[1, 1].shape, sens.delta_ff[2].shape, sens.Delta[1].shape
    ((16,), (2,), (32, 2))
    """
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
            sens.delta_ff[2])  # (47.1245)
    sens.Delta[C] = Delta_matrix([sens.delta_conv[d, C] for d in range(1, last.D + 1)])
    for c in range(C - 1, 0, -1):  # c = C-1, ..., 1
        ly, nxt = net.layers[c - 1], net.layers[c]
        V_cT = nxt.partition.V.T.tocsr()  # V_c^T, P'_c x P_{c+1} S_{c+1} (47.1252), per layer
        for d in range(1, ly.D + 1):
            V_list, deltas = [], []
            for d2 in range(1, nxt.D + 1):
                if not nxt.conn[d - 1, d2 - 1]:
                    continue  # map d does not feed map d' (47.1213): its term is zero
                w = params.W_conv[c + 1][(d - 1) * nxt.S:d * nxt.S, d2 - 1]  # w_d^(d',c+1)
                Vddc = vddc_product(V_cT, w, nxt.S)  # V^(d,d',c+1) (47.1257)
                if keep_V:
                    sens.V[d, d2, c + 1] = Vddc
                V_list.append(Vddc)
                deltas.append(sens.delta_conv[d2, c + 1])
            sens.delta_conv[d, c] = conv_sensitivity(
                ly.activation.fprime, res.z_conv[d, c], ly.pooling, res.y_conv[d, c], V_list,
                deltas)  # (47.1262)
        sens.Delta[c] = Delta_matrix([sens.delta_conv[d, c] for d in range(1, ly.D + 1)])
    return sens


# ---------------------------------------------------------------------------
# Derivatives of Q_n (47.1263)-(47.1274), shared by (47.1275) and (47.1276)
# ---------------------------------------------------------------------------


def dQ_dW_ff(delta_next, y):
    r""":math:`\partial Q_n/\partial W_\ell = \delta_{\ell+1,n}\, y_{\ell,n}^T` (47.1263).

    Implements (47.1263).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.training import dQ_dW_ff
    >>> dQ_dW_ff(np.array([1.0, -1.0]), np.array([1.0, 2.0, 3.0]))        # n_{l+1} x n_l
    array([[ 1.,  2.,  3.],
           [-1., -2., -3.]])
    """
    return np.outer(delta_next, y)  # (47.1263)


def dQ_dtheta_ff(delta_next):
    r""":math:`\partial Q_n/\partial \theta_\ell = -\delta_{\ell+1,n}` (47.1264).

    Implements (47.1264).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.training import dQ_dtheta_ff
    >>> dQ_dtheta_ff(np.array([1.0, -1.0]))          # theta enters z with a minus sign
    array([-1.,  1.])
    """
    return -delta_next  # (47.1264)


def dQ_dW_conv(H_prev, Delta, W_mask):
    r""":math:`\partial Q_n/\partial W_c = (\mathbb 1_{D_c}^T \otimes H_{n,c-1})\Delta_{n,c}`
    (47.1271), ``S_c D_{c-1} x D_c``, times the connection table's mask ``W_mask`` (47.1213):
    a weight that no table entry uses does not reach :math:`z`.

    Implements (47.1271).

    Examples
    --------
    Column ``d`` is :math:`H_{n,c-1}\delta_n^{(d,c)}`:

    >>> import numpy as np
    >>> from sayedcnn.training import Delta_matrix, dQ_dW_conv
    >>> H = np.arange(6.0).reshape(3, 2)                  # S_c D_{c-1} x P_c = 3 x 2
    >>> Delta = Delta_matrix([np.array([1.0, 1.0]), np.array([1.0, -1.0])])
    >>> dQ_dW_conv(H, Delta, np.ones((3, 2), dtype=bool))
    array([[ 1., -1.],
           [ 5., -1.],
           [ 9., -1.]])
    """
    D = W_mask.shape[1]
    ones_H = np.kron(np.ones((1, D)), H_prev)  # 1^T (x) H_{n,c-1}
    return np.where(W_mask, np.asarray(ones_H @ Delta), 0.0)  # (47.1271): (1^T (x) H) Delta


def dQ_dTheta_conv(Delta, conn, P):
    r""":math:`\partial Q_n/\partial \Theta_c = -(\mathbb 1_{D_c}^T \otimes \mathbb 1_{D_{c-1}}
    \mathbb 1_{P_c}^T)\Delta_{n,c}` (47.1274), ``D_{c-1} x D_c``, times the connection table
    ``conn`` (47.1213).

    Implements (47.1274).

    Examples
    --------
    Entry ``(j, d)`` is minus the sum of :math:`\delta_n^{(d,c)}`:

    >>> import numpy as np
    >>> from sayedcnn.training import Delta_matrix, dQ_dTheta_conv
    >>> Delta = Delta_matrix([np.array([1.0, 2.0]), np.array([3.0, -1.0])])
    >>> dQ_dTheta_conv(Delta, np.ones((2, 2), dtype=bool), 2)        # D_{c-1} = 2, P_c = 2
    array([[-3., -2.],
           [-3., -2.]])
    """
    D_in, D = conn.shape
    ones_block = np.kron(np.ones((1, D)), np.ones((D_in, P)))  # 1^T (x) 1 1^T
    return np.where(conn, -np.asarray(ones_block @ Delta), 0.0)  # (47.1274)


# ---------------------------------------------------------------------------
# The listings, validated at their boundary
# ---------------------------------------------------------------------------


def backward_listing(net, params, res, gamma, keep_V=False):
    r"""The backward pass of (47.1275) for one sample, from its :class:`ForwardResult`.

    Returns :class:`Sensitivities`. ``keep_V=True`` also keeps every
    :math:`V^{(d,d',c+1)}` (47.1257). Implements (47.1233), (47.1234), (47.1245),
    (47.1257), (47.1262), (47.1270).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.forward import forward_listing
    >>> from sayedcnn.training import backward_listing
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2), sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> res = forward_listing(net, p, np.ones((1, 4, 4)))
    >>> sens = backward_listing(net, p, res, [1.0, 0.0], keep_V=True)
    >>> sens.V[1, 2, 2].shape, sens.Delta[1].shape   # P'_1 x P_2, D_1 P_1 x D_1
    ((16, 16), (32, 2))
    """
    params = net.check_params(params)
    gamma = net.check_targets(gamma, 1)[0]
    _check_forward_result(net, res)
    return backward(net, params, res, gamma, keep_V=keep_V)


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

    The printed listing omits the :math:`1/N` (erratum E-1275b). Implements (47.1263),
    (47.1264), (47.1271), (47.1274), (47.1275).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.training import gradients_listing
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> X = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    >>> g = gradients_listing(net, p, X, np.eye(2))
    >>> sorted(g.W_conv), g.W_conv[1].shape, g.theta_ff[1].shape
    ([1], (4, 2), (2,))
    """
    check_rho(rho1, rho2)
    check_scaling(scaling)
    X = net.check_images(X)
    Gamma = net.check_targets(Gamma, X.shape[0])
    params = net.check_params(params)
    N = X.shape[0]
    reg, data = risk_weights(scaling, N)
    acc = params.map(np.zeros_like)
    for n in range(N):
        res = listing(net, params, X[n])  # (47.1216)
        sens = backward(net, params, res, Gamma[n])
        for l in range(1, net.L):
            acc.W_ff[l] += dQ_dW_ff(sens.delta_ff[l + 1], res.y_ff[l])  # (47.1263)
            acc.theta_ff[l] += dQ_dtheta_ff(sens.delta_ff[l + 1])  # (47.1264)
        for ly in net.layers:
            c = ly.c
            acc.W_conv[c] += dQ_dW_conv(res.H_stacked[c - 1], sens.Delta[c], ly.W_mask)
            acc.Theta_conv[c] += dQ_dTheta_conv(sens.Delta[c], ly.conn, ly.P)  # (47.1274)
    grads = Params()
    for l in range(1, net.L):
        grads.W_ff[l] = reg * 2 * rho2 * params.W_ff[l] + data * acc.W_ff[l]  # (47.1275)
        grads.theta_ff[l] = data * acc.theta_ff[l]
    for ly in net.layers:
        c = ly.c
        grads.W_conv[c] = reg * 2 * rho1 * params.W_conv[c] + data * acc.W_conv[c]  # (47.1275)
        grads.Theta_conv[c] = data * acc.Theta_conv[c]
    return grads


def sgd_step_listing(net, params, x, gamma, mu, rho1=0.0, rho2=0.0):
    r"""The stochastic-gradient listing (47.1276) line for line on one sample ``(x, gamma)``:

    .. math::
        W_{\ell,n} = (1-2\mu\rho_2)W_{\ell,n-1} - \mu\,\delta_{\ell+1,n}y_{\ell,n}^T,\quad
        \theta_{\ell,n} = \theta_{\ell,n-1} + \mu\,\delta_{\ell+1,n},

        W_{c,n} = (1-2\mu\rho_1)W_{c,n-1} - \mu(\mathbb 1^T\otimes H_{n,c-1})\Delta_{n,c},\quad
        \Theta_{c,n} = \Theta_{c,n-1} + \mu(\mathbb 1^T \otimes \mathbb 1\mathbb 1^T)\Delta_{n,c}

    with the print's slips corrected (E-1276a: :math:`\theta_\ell` gains
    :math:`+\mu\delta_{\ell+1,n}`; E-1276b: ``mu mu`` is ``mu``). Implements (47.1276).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.training import sgd_step_listing
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> x = np.random.default_rng(0).standard_normal((1, 4, 4))
    >>> q = sgd_step_listing(net, p, x, [1.0, 0.0], mu=0.1)
    >>> bool(net.risk(q, x, [1.0, 0.0]) < net.risk(p, x, [1.0, 0.0]))
    True
    """
    check_mu(mu)
    check_rho(rho1, rho2)
    params = net.check_params(params)
    X = net.check_images(x)
    if X.shape[0] != 1:
        raise ValueError(f"sgd_step_listing takes one sample (47.1276), got {X.shape[0]}; "
                         f"use net.sgd_step for a mini-batch")
    gamma = net.check_targets(gamma, 1)[0]
    res = listing(net, params, X[0])  # (47.1216)
    sens = backward(net, params, res, gamma)  # (47.1275)
    new = Params()
    for l in range(1, net.L):
        new.W_ff[l] = ((1 - 2 * mu * rho2) * params.W_ff[l]
                       - mu * dQ_dW_ff(sens.delta_ff[l + 1], res.y_ff[l]))  # (47.1276)
        new.theta_ff[l] = params.theta_ff[l] - mu * dQ_dtheta_ff(
            sens.delta_ff[l + 1])  # (47.1276): + mu delta (E-1276a)
    for ly in net.layers:
        c = ly.c
        new.W_conv[c] = ((1 - 2 * mu * rho1) * params.W_conv[c]
                         - mu * dQ_dW_conv(res.H_stacked[c - 1], sens.Delta[c], ly.W_mask))
        new.Theta_conv[c] = params.Theta_conv[c] - mu * dQ_dTheta_conv(
            sens.Delta[c], ly.conn, ly.P)  # (47.1276): + mu (1^T (x) 1 1^T) Delta
    return new


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
