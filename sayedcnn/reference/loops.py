r"""The convolutional network of section 47.25 by scalar loops over the book's index equations.

Every quantity is computed entry by entry from its defining sum: the correlation (47.1133),
(47.1155), (47.1212)-(47.1213), the pooling function of Table 47.13 (47.1187), the
feedforward layers of (47.1216), the sensitivities (47.1233)-(47.1249) and the derivatives
(47.1263)-(47.1272). Nothing here builds a matrix of the chapter (no ``V``, no ``T``, no
Kronecker product): every index is derived from the geometry of the layer, so agreement with
the matrix implementation of :mod:`sayedcnn.forward` and :mod:`sayedcnn.training` is a
genuine check. Speed is not a goal; numpy arrays serve only as storage.

Geometry, as in docs/conventions.md (all indices 0-based):

* a map of ``rows x cols`` is the vector ``h`` with ``h[r + c*rows] = map[r, c]`` (vec);
* the window of output position ``(i, j)`` of layer ``c`` covers the input pixels
  ``(i*sr - br + a, j*sc - bc + b)``, ``a < kr``, ``b < kc``, and pixels outside the map
  read as zero; positions are numbered ``p = i + j*nr`` and mask offsets ``s = a + b*kr``;
* a pooling block ``(i, j)`` covers map rows ``i*sr .. i*sr+br-1`` and columns
  ``j*sc .. j*sc+bc-1``; pooled positions are numbered ``p' = i + j*n_pooled_rows``, and the
  entries of a region are listed in ascending map index.

Only the architecture description is read from a :class:`sayedcnn.Network`: sizes, the
connection table, the activation objects, the four geometry tuples of each sliding partition
and the pooling description (kind, block, stride, explicit regions, mask, retain).
"""

from __future__ import annotations

import math

import numpy as np

from ..params import Params

__all__ = ["forward", "backward", "gradients", "risk", "predict", "loss_value",
           "output_sensitivity"]


# ---------------------------------------------------------------------------
# Geometry, derived from the description of each layer
# ---------------------------------------------------------------------------


def _windows(layer):
    r"""``win[p][s]``: the entry of the input map read by mask offset ``s`` of window ``p``
    (``None`` where the window lies on the zero padding).

    Implements the sliding windows of (47.1133) and the partition (47.1148), (47.1209).
    """
    rows, cols = layer.in_shape
    kr, kc = layer.partition.mask
    sr, sc = layer.partition.stride
    br, bc = layer.partition.pad_before
    nr, nc = layer.partition.out_shape
    win = [None] * (nr * nc)
    for j in range(nc):  # output positions column-major, p = i + j*nr (47.1148)
        for i in range(nr):
            patch = [None] * (kr * kc)
            for b in range(kc):  # mask offsets column-major, s = a + b*kr (47.1155)
                for a in range(kr):
                    r = i * sr - br + a  # (47.1133) row of the input pixel
                    c = j * sc - bc + b  # (47.1133) column of the input pixel
                    if 0 <= r < rows and 0 <= c < cols:
                        patch[a + b * kr] = r + c * rows  # vec index (47.1127)
            win[i + j * nr] = patch
    return win


def _mask_size(layer):
    """:math:`S_c`, the number of mask entries of layer ``c`` (47.1155)."""
    kr, kc = layer.partition.mask
    return kr * kc


def _regions(layer):
    r"""The regions :math:`\Omega_{p'}` of the pooling of ``layer`` (47.1187), as lists.

    Without pooling every entry is its own region (``t = y``).
    """
    nr, nc = layer.partition.out_shape
    if not layer.pooled:
        return [[p] for p in range(nr * nc)]
    pool = layer.pooling
    if pool.block is None:
        return [[int(q) for q in reg] for reg in pool.regions]  # explicit regions, as given
    br, bc = pool.block
    sr, sc = pool.stride
    npr, npc = (nr - br) // sr + 1, (nc - bc) // sc + 1  # blocks tiled from the top-left
    if (npr, npc) != tuple(pool.out_shape):
        raise AssertionError(f"layer c = {layer.c}: {br}x{bc} blocks at stride {sr}x{sc} tile "
                             f"a {nr}x{nc} map into {npr}x{npc}, the network says "
                             f"{tuple(pool.out_shape)}")
    regions = [None] * (npr * npc)
    for j in range(npc):  # pooled positions column-major, p' = i + j*npr (47.1187)
        for i in range(npr):
            reg = []
            for b in range(bc):  # ascending map index: column-major within the block
                for a in range(br):
                    reg.append((i * sr + a) + (j * sc + b) * nr)
            regions[i + j * npr] = reg
    return regions


def _kind(layer):
    return layer.pooling.kind if layer.pooled else "identity"


def _pool_entry(kind, values, mask, retain):
    r"""One pooled value :math:`t(p')` from the entries of its region, Table 47.13 (47.1187)."""
    if kind == "identity":
        return values[0]  # no pooling: t = y
    if kind == "max":
        best = values[0]
        for v in values[1:]:  # Table 47.13, max pooling
            if v > best:
                best = v
        return best
    if kind == "mean":
        total = 0.0
        for v in values:  # Table 47.13, mean pooling
            total += v
        return total / len(values)
    if kind == "l2":
        total = 0.0
        for v in values:  # (47.1176), l2 pooling
            total += v * v
        return math.sqrt(total)
    if kind == "subsample":
        return values[retain]  # (47.1179), the retained entry
    if kind == "correlation":
        total = 0.0
        for k, v in enumerate(values):  # (47.1180), Table 47.13, correlation
            total += mask[k] * v
        return total
    raise ValueError(f"unknown pooling kind {kind!r} (Table 47.13)")


def _pool_entry_gradient(kind, values, t, mask, retain):
    r"""The gradient vector :math:`\partial t(p') / \partial y(\Omega_{p'})` (47.1196),
    Table 47.14, one entry per region entry in region order."""
    R = len(values)
    g = [0.0] * R
    if kind == "identity":
        g[0] = 1.0
    elif kind == "max":
        first = 0
        for k in range(1, R):  # first maximum in region order
            if values[k] > values[first]:
                first = k
        g[first] = 1.0  # (47.1196b)
    elif kind == "mean":
        for k in range(R):
            g[k] = 1.0 / R  # (47.1196a)
    elif kind == "l2":
        if t > 0.0:
            for k in range(R):
                g[k] = values[k] / t  # (47.1196d); zero at t = 0
    elif kind == "subsample":
        g[retain] = 1.0  # (47.1196c)
    elif kind == "correlation":
        for k in range(R):
            g[k] = mask[k]  # (47.1196e)
    else:
        raise ValueError(f"unknown pooling kind {kind!r} (Table 47.14)")
    return g


def _pool_params(layer):
    if not layer.pooled:
        return None, 0
    pool = layer.pooling
    mask = None if pool.mask is None else [float(m) for m in np.asarray(pool.mask).ravel()]
    return mask, int(getattr(pool, "retain", 0))


def _pool_map(layer, y, regions):
    r"""``t = pool(y)`` for one map ``y`` (a list of P entries), (47.1187)-(47.1188)."""
    kind = _kind(layer)
    mask, retain = _pool_params(layer)
    t = []
    for reg in regions:  # (47.1187) t(p') = pool_{p in Omega_p'} y(p)
        t.append(_pool_entry(kind, [y[q] for q in reg], mask, retain))
    return t


def _pool_adjoint(layer, y, t, regions, v):
    r"""``x(j) = sum_{p' | j in Omega_p'} v(p') dt(p')/dy(j)`` for one map: the sum over every
    region that holds ``j`` in (47.1237) and (47.1247)-(47.1249), overlapping regions
    included."""
    kind = _kind(layer)
    mask, retain = _pool_params(layer)
    x = [0.0] * len(y)
    for pp, reg in enumerate(regions):  # (47.1237) sum over p' with j in Omega_p'
        g = _pool_entry_gradient(kind, [y[q] for q in reg], t[pp], mask, retain)
        for k, q in enumerate(reg):
            x[q] += v[pp] * g[k]  # (47.1248) dt(p'')/dy(j) times the upstream factor
    return x


# ---------------------------------------------------------------------------
# Activations and losses
# ---------------------------------------------------------------------------


def _softmax(z):
    """Softmax of a list, shifted by its maximum."""
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


def _log_softmax(z):
    m = max(z)
    lse = m + math.log(sum(math.exp(v - m) for v in z))
    return [v - lse for v in z]


def _is_softmax(act):
    return not act.elementwise


def _apply(act, z):
    """``f(z)`` of a list of pre-activations (softmax acts on the whole list)."""
    if _is_softmax(act):
        return _softmax(z)
    return [float(v) for v in act.f(np.array(z, dtype=float))]


def _deriv(act, z):
    """``f'(z)`` of a list of pre-activations (entrywise activations only)."""
    return [float(v) for v in act.fprime(np.array(z, dtype=float))]


def loss_value(net, z_L, y_L, gamma):
    r"""The loss of one sample: :math:`\|\gamma - y\|^2` (47.1229), or
    :math:`-\sum_q \gamma(q) \ln \mathrm{softmax}(z)(q)` for cross-entropy (seed 001).

    Implements the per-sample term of (47.1229), by a loop over the outputs.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.reference import loops
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> loops.loss_value(net, [0.0, 0.0], [0.5, 0.5], [1.0, 0.0])      # 1/4 + 1/4
    0.5
    """
    Q = len(z_L)
    if net.loss.name == "quadratic":
        total = 0.0
        for q in range(Q):  # (47.1229) ||gamma - y||^2
            total += (gamma[q] - y_L[q]) ** 2
        return total
    if net.loss.name == "cross_entropy":
        ls = _log_softmax(list(z_L))
        total = 0.0
        for q in range(Q):  # cross-entropy of softmax outputs (seed 001)
            total -= gamma[q] * ls[q]
        return total
    raise ValueError(f"unknown loss {net.loss.name!r}")


def output_sensitivity(net, z_L, y_L, gamma):
    r"""The output sensitivity :math:`\delta_L(k) = \partial\, \mathrm{loss} / \partial z_L(k)`.

    Quadratic: :math:`2(y - \gamma) \odot f'(z_L)` (47.1233), through the softmax Jacobian
    :math:`\partial y(q)/\partial z(k) = y(q)(\mathbb 1[q = k] - y(k))` when the output is
    softmax; cross-entropy with softmax: :math:`\mathrm{softmax}(z)\,\mathbb 1^T\gamma - \gamma`.

    Implements (47.1233), entry by entry.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.reference import loops
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)        # sigmoid outputs
    >>> loops.output_sensitivity(net, [0.0, 0.0], [0.5, 0.5], [1.0, 0.0])
    [-0.25, 0.25]
    """
    act = net.ff_activation[net.L]
    Q = len(z_L)
    if net.loss.name == "cross_entropy":
        s = _softmax(list(z_L))
        gsum = 0.0
        for q in range(Q):
            gsum += gamma[q]
        return [s[k] * gsum - gamma[k] for k in range(Q)]
    if _is_softmax(act):
        y = _softmax(list(z_L))
        delta = [0.0] * Q
        for k in range(Q):
            for q in range(Q):  # chain rule through the softmax Jacobian
                jac = y[q] * ((1.0 if q == k else 0.0) - y[k])
                delta[k] += 2.0 * (y[q] - gamma[q]) * jac
        return delta
    fp = _deriv(act, list(z_L))
    return [2.0 * (y_L[k] - gamma[k]) * fp[k] for k in range(Q)]  # (47.1233)


# ---------------------------------------------------------------------------
# Forward propagation (47.1216)
# ---------------------------------------------------------------------------


def _check_image(net, x):
    x = np.asarray(x, dtype=float)
    want = (net.input_depth, *net.input_shape)
    if x.shape != want:
        raise ValueError(f"one image must be D_0 x rows x cols = {want} (47.1216), got {x.shape}")
    return x


def forward(net, params, x):
    r"""Propagate ONE image through the network by scalar loops.

    Implements (47.1216) entry by entry: the windows of (47.1133)/(47.1155), the sums
    (47.1212)-(47.1213)

    .. math:: z^{(d,c)}(p) = \sum_{j \in \mathcal D} \Big(\sum_s H^{(j,c-1)}[s, p]\,
              w_j^{(d,c)}(s) - \theta^{(d,c)}(j)\Big),

    the pooling (47.1187) with Table 47.13, the concatenation (47.1215), (47.1217) and the
    feedforward layers :math:`z_{\ell+1} = W_\ell y_\ell - \theta_\ell`.

    Parameters
    ----------
    net : sayedcnn.Network
        The architecture (only its description is read).
    params : sayedcnn.Params
        Parameters in the book's shapes.
    x : array, shape (D_0, rows, cols)
        One image, ``x[d, r, c]``; the book's input map is :math:`h^{(d)} = \mathrm{vec}(x[d])`.

    Returns
    -------
    dict
        ``z_conv[c]``, ``y_conv[c]`` (``D_c x P_c``), ``t_conv[c]`` (``D_c x P'_c``), row
        ``d-1`` holding map ``d``; ``H_conv[c]`` (``D_{c-1} x S_c x P_c``), the matrices
        :math:`H^{(j,c-1)}` of (47.1211); ``z_ff[l]`` (``l = 2..L``), ``y_ff[l]``
        (``l = 1..L``); ``output`` (:math:`y_L`).

    Examples
    --------
    The loops give the numbers of the matrix listing:

    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.reference import loops
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("max", 2))], outputs=2)
    >>> p = net.init(seed=0)
    >>> x = np.random.default_rng(0).standard_normal((1, 4, 4))
    >>> fw = loops.forward(net, p, x)
    >>> fw["z_conv"][1].shape, fw["t_conv"][1].shape, fw["H_conv"][1].shape
    ((2, 16), (2, 4), (1, 4, 16))
    >>> bool(np.allclose(fw["output"], net.forward(p, x).output, rtol=1e-12, atol=0))
    True
    """
    x = _check_image(net, x)
    D0 = net.input_depth
    rows, cols = net.input_shape
    # h^(d) = vec(image_d): entry r + c*rows (47.1127), the input maps of (47.1216)
    maps = []
    for d in range(D0):
        h = [0.0] * (rows * cols)
        for c in range(cols):
            for r in range(rows):
                h[r + c * rows] = float(x[d, r, c])  # (47.1127)
        maps.append(h)

    out = {"z_conv": {}, "y_conv": {}, "t_conv": {}, "H_conv": {}, "z_ff": {}, "y_ff": {}}
    for layer in net.layers:
        c = layer.c
        win = _windows(layer)
        P, S = len(win), len(win[0])
        if len(maps) != layer.D_in or len(maps[0]) != layer.in_shape[0] * layer.in_shape[1]:
            raise AssertionError(f"layer c = {c} expects {layer.D_in} maps of "
                                 f"{layer.in_shape}, the previous layer gives {len(maps)} of "
                                 f"{len(maps[0])} entries")
        W = np.asarray(params.W_conv[c], dtype=float).tolist()
        Theta = np.asarray(params.Theta_conv[c], dtype=float).tolist()
        conn = np.asarray(layer.conn, dtype=bool).tolist()
        # H^(j,c-1)[s, p] = entry of map j read by offset s of window p (47.1209)-(47.1211)
        H = []
        for j in range(layer.D_in):
            Hj = [[0.0] * P for _ in range(S)]
            for p in range(P):
                for s in range(S):
                    q = win[p][s]
                    if q is not None:
                        Hj[s][p] = maps[j][q]  # (47.1211); zero on the padding
            H.append(Hj)
        regions = _regions(layer)
        Z, Y, T = [], [], []
        for d in range(layer.D):
            z = [0.0] * P
            for p in range(P):
                acc = 0.0
                for j in range(layer.D_in):
                    if not conn[j][d]:
                        continue  # (47.1213) only the connected input maps
                    for s in range(S):  # (47.1212) [H^(j,c-1)]^T w_j^(d,c)
                        acc += H[j][s][p] * W[j * S + s][d]
                    acc -= Theta[j][d]  # (47.1212) - theta^(d,c)(j)
                z[p] = acc
            y = _apply(layer.activation, z)  # (47.1216) y = f(z)
            t = _pool_map(layer, y, regions)  # (47.1208) t = pool(y)
            Z.append(z)
            Y.append(y)
            T.append(t)
        out["z_conv"][c] = np.array(Z, dtype=float).reshape(layer.D, P)
        out["y_conv"][c] = np.array(Y, dtype=float).reshape(layer.D, P)
        out["t_conv"][c] = np.array(T, dtype=float).reshape(layer.D, len(regions))
        out["H_conv"][c] = np.array(H, dtype=float).reshape(layer.D_in, S, P)
        maps = T  # the pooled maps feed layer c + 1 (47.1209)

    # y_1 = col{t^(1,C), ..., t^(D_C,C)}: entry (d-1) P'_C + p' (47.1215), (47.1217)
    y1 = []
    for t in maps:
        for v in t:
            y1.append(v)
    out["y_ff"][1] = np.array(y1, dtype=float)
    y_prev = y1
    for l in range(1, net.L):
        Wl = np.asarray(params.W_ff[l], dtype=float).tolist()
        th = np.asarray(params.theta_ff[l], dtype=float).tolist()
        z = [0.0] * len(th)
        for i in range(len(th)):
            acc = 0.0
            for k in range(len(y_prev)):  # (47.1216) z_{l+1} = W_l y_l - theta_l
                acc += Wl[i][k] * y_prev[k]
            z[i] = acc - th[i]
        y = _apply(net.ff_activation[l + 1], z)  # (47.1216) y_{l+1} = f(z_{l+1})
        out["z_ff"][l + 1] = np.array(z, dtype=float)
        out["y_ff"][l + 1] = np.array(y, dtype=float)
        y_prev = y
    out["output"] = out["y_ff"][net.L]
    return out


def predict(net, params, X):
    r"""Outputs :math:`y_L` of (47.1216) for a batch ``(N, D_0, rows, cols)`` (or one image)
    by the loops of :func:`forward`: an ``(N, Q)`` array.

    Implements (47.1216) for a batch, by loops.

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.reference import loops
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("max", 2))], outputs=2)
    >>> p = net.init(seed=0)
    >>> x = np.random.default_rng(0).standard_normal((1, 4, 4))
    >>> X = np.concatenate([x[None], -x[None]])
    >>> Y = loops.predict(net, p, X)
    >>> Y.shape, bool(np.allclose(Y, net.predict(p, X), rtol=1e-12, atol=0))
    ((2, 2), True)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 3:
        X = X[None]
    return np.array([forward(net, params, X[n])["output"] for n in range(X.shape[0])])


# ---------------------------------------------------------------------------
# Backward propagation (47.1233)-(47.1249)
# ---------------------------------------------------------------------------


def backward(net, params, x, gamma):
    r"""Every sensitivity of one sample by the index equations.

    Implements (47.1233)-(47.1234) for the feedforward layers, (47.1236)-(47.1239) for the
    last correlation layer

    .. math:: \delta^{(d,C)}(j) = f'(z^{(d,C)}(j)) \sum_{p' \mid j \in \Omega_{p'}}
              \Big(\sum_k \delta_2(k)\, [W_1]_{k,\,(d-1)P'_C + p'}\Big)
              \frac{\partial t^{(d,C)}(p')}{\partial y^{(d,C)}(j)},

    summed over every region that holds ``j`` (so overlapping regions are covered), and
    (47.1246)-(47.1249) for ``c < C``

    .. math:: \delta^{(d,c)}(j) = f'(z^{(d,c)}(j)) \sum_{d'} \sum_{p' \mid j \in \Omega_{p'}}
              \Big(\sum_i \delta^{(d',c+1)}(i)
              \frac{\partial z^{(d',c+1)}(i)}{\partial t^{(d,c)}(p')}\Big)
              \frac{\partial t^{(d,c)}(p')}{\partial y^{(d,c)}(j)},

    where :math:`\partial z^{(d',c+1)}(i) / \partial t^{(d,c)}(p')` is the sum of
    :math:`w_d^{(d',c+1)}(s)` over the mask offsets ``s`` whose window ``i`` reads entry
    ``p'`` (zero when map ``d`` is not connected to ``d'``, (47.1213)): the inner sum is
    :math:`b^{(d,d',c)}(p')` of (47.1250).

    Parameters
    ----------
    net, params : as in :func:`forward`
    x : array, shape (D_0, rows, cols)
        One image.
    gamma : array, shape (Q,)
        Its target.

    Returns
    -------
    dict
        ``delta_conv[c]`` (``D_c x P_c``, row ``d-1`` is :math:`\delta^{(d,c)}`),
        ``delta_ff[l]`` (``l = 2..L``), ``loss`` (the sample's loss) and ``forward`` (the
        dict of :func:`forward`).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.reference import loops
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("max", 2))], outputs=2)
    >>> p = net.init(seed=0)
    >>> x = np.random.default_rng(0).standard_normal((1, 4, 4))
    >>> bw = loops.backward(net, p, x, [1.0, 0.0])
    >>> bw["delta_conv"][1].shape, bw["delta_ff"][2].shape
    ((2, 16), (2,))
    >>> sens = net.backward(p, net.forward(p, x), [1.0, 0.0])
    >>> bool(np.allclose(bw["delta_conv"][1][1], sens.delta_conv[2, 1], rtol=1e-10, atol=1e-15))
    True
    """
    fw = forward(net, params, x)
    gamma = [float(g) for g in np.asarray(gamma, dtype=float).reshape(-1)]
    L = net.L
    if len(gamma) != net.n[L]:
        raise ValueError(f"gamma must have Q = {net.n[L]} entries (47.1229), got {len(gamma)}")
    z_L = fw["z_ff"][L].tolist()
    y_L = fw["y_ff"][L].tolist()
    delta_ff = {L: output_sensitivity(net, z_L, y_L, gamma)}  # (47.1233)
    for l in range(L - 1, 1, -1):
        Wl = np.asarray(params.W_ff[l], dtype=float).tolist()
        fp = _deriv(net.ff_activation[l], fw["z_ff"][l].tolist())
        nxt = delta_ff[l + 1]
        dl = [0.0] * net.n[l]
        for j in range(net.n[l]):
            acc = 0.0
            for k in range(net.n[l + 1]):  # (47.1234) W_l^T delta_{l+1}
                acc += Wl[k][j] * nxt[k]
            dl[j] = fp[j] * acc  # (47.1234) f'(z_l) . (...)
        delta_ff[l] = dl

    delta_conv = {}
    C = net.C
    # Last correlation layer (47.1236)-(47.1239).
    layer = net.layers[C - 1]
    regions = _regions(layer)
    Pp = len(regions)
    W1 = np.asarray(params.W_ff[1], dtype=float).tolist()
    delta2 = delta_ff[2]
    rows_delta = []
    for d in range(layer.D):
        v = [0.0] * Pp
        for pp in range(Pp):
            ip = d * Pp + pp  # (47.1217) i'_p = (d-1)P'_C + p'
            acc = 0.0
            for k in range(net.n[2]):  # (47.1239) (w_{i'_p}^(1))^T delta_2
                acc += delta2[k] * W1[k][ip]
            v[pp] = acc
        y = fw["y_conv"][C][d].tolist()
        t = fw["t_conv"][C][d].tolist()
        x_d = _pool_adjoint(layer, y, t, regions, v)  # (47.1237) sum over p' | j in Omega_p'
        fp = _deriv(layer.activation, fw["z_conv"][C][d].tolist())
        rows_delta.append([fp[j] * x_d[j] for j in range(len(y))])  # (47.1239)
    delta_conv[C] = rows_delta

    # Earlier correlation layers (47.1246)-(47.1249).
    for c in range(C - 1, 0, -1):
        layer = net.layers[c - 1]
        nxt_layer = net.layers[c]
        regions = _regions(layer)
        win = _windows(nxt_layer)  # windows of layer c+1 over the pooled maps of layer c
        P_next, S_next = len(win), len(win[0])
        W_next = np.asarray(params.W_conv[c + 1], dtype=float).tolist()
        conn_next = np.asarray(nxt_layer.conn, dtype=bool).tolist()
        Pp = len(regions)
        rows_delta = []
        for d in range(layer.D):
            y = fw["y_conv"][c][d].tolist()
            t = fw["t_conv"][c][d].tolist()
            P = len(y)
            x_d = [0.0] * P
            for dn in range(nxt_layer.D):
                if not conn_next[d][dn]:
                    continue  # (47.1213) map d does not feed map d' of layer c+1
                dn_delta = delta_conv[c + 1][dn]
                # b^(d,d',c)(p') = sum_i delta^(d',c+1)(i) dz^(d',c+1)(i)/dt^(d,c)(p') (47.1250)
                b = [0.0] * Pp
                for i in range(P_next):
                    for s in range(S_next):
                        q = win[i][s]
                        if q is not None:  # offset s of window i reads t^(d,c)(q) (47.1248)
                            b[q] += dn_delta[i] * W_next[d * S_next + s][dn]
                xb = _pool_adjoint(layer, y, t, regions, b)  # (47.1249) times dt(p'')/dy(j)
                for j in range(P):  # (47.1249) sum over d'
                    x_d[j] += xb[j]
            fp = _deriv(layer.activation, fw["z_conv"][c][d].tolist())
            rows_delta.append([fp[j] * x_d[j] for j in range(P)])  # (47.1246) f'(z(j)) factor
        delta_conv[c] = rows_delta

    return {
        "delta_conv": {c: np.array(v, dtype=float).reshape(net.layers[c - 1].D, -1)
                       for c, v in delta_conv.items()},
        "delta_ff": {l: np.array(v, dtype=float) for l, v in delta_ff.items()},
        "loss": loss_value(net, z_L, y_L, gamma),
        "forward": fw,
    }


# ---------------------------------------------------------------------------
# Derivatives of the empirical risk (47.1263)-(47.1272) and the risk (47.1229)
# ---------------------------------------------------------------------------


def _scales(scaling, N):
    """(factor of the regularisers, factor of the data term) for (47.1229) or (47.1227)."""
    if scaling == "1229":
        return 1.0, 1.0 / N
    if scaling == "1227":
        return 1.0 / N, 1.0 / N
    raise ValueError(f"scaling must be '1229' (47.1229) or '1227' (47.1227), got {scaling!r}")


def _check_batch(net, X, Gamma):
    X = np.asarray(X, dtype=float)
    if X.ndim == 3:
        X = X[None]
    want = (net.input_depth, *net.input_shape)
    if X.ndim != 4 or X.shape[1:] != want:
        raise ValueError(f"X must be N x {want[0]} x {want[1]} x {want[2]} (47.1216), got "
                         f"{X.shape}")
    G = np.asarray(Gamma, dtype=float)
    if G.ndim == 1:
        G = G[None]
    if G.shape != (X.shape[0], net.n[net.L]):
        raise ValueError(f"Gamma must be N x Q = {X.shape[0]} x {net.n[net.L]} (47.1229), got "
                         f"{np.shape(Gamma)}")
    return X, G


def gradients(net, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229"):
    r"""Derivatives of :math:`J_{emp}` (47.1229) with respect to every parameter, by loops.

    Implements (47.1263)-(47.1264) for the feedforward layers,

    .. math:: \frac{\partial}{\partial w_j^{(d,c)}(s)} = \sum_p \delta^{(d,c)}(p)\,
              H^{(j,c-1)}[s, p], \qquad
              \frac{\partial}{\partial \theta^{(d,c)}(j)} = -\sum_p \delta^{(d,c)}(p)

    (47.1265)-(47.1268), (47.1272) for connected pairs ``(j, d)`` (zero otherwise,
    (47.1213)), averaged over the batch, plus the regularisers :math:`2\rho_1 W_c` and
    :math:`2\rho_2 W_\ell`. ``scaling="1227"`` divides the regularisers by ``N`` too
    (47.1227).

    Parameters
    ----------
    net : sayedcnn.Network
    params : sayedcnn.Params
    X : array, shape (N, D_0, rows, cols)
    Gamma : array, shape (N, Q)
    rho1, rho2 : float
        Regularisation of the correlation and feedforward weights.
    scaling : {"1229", "1227"}

    Returns
    -------
    sayedcnn.Params
        The derivatives, in the shapes of ``params``.

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.reference import loops
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("max", 2))], outputs=2)
    >>> p = net.init(seed=0)
    >>> x = np.random.default_rng(0).standard_normal((1, 4, 4))
    >>> X, G = np.concatenate([x[None], -x[None]]), np.eye(2)
    >>> g = loops.gradients(net, p, X, G, rho1=0.01)
    >>> bool(g.max_rel_diff(net.gradients(p, X, G, rho1=0.01)) < 1e-12)
    True
    """
    X, G = _check_batch(net, X, Gamma)
    N = X.shape[0]
    reg, data = _scales(scaling, N)
    acc_Wc = {ly.c: [[0.0] * ly.D for _ in range(_mask_size(ly) * ly.D_in)]
              for ly in net.layers}
    acc_Th = {ly.c: [[0.0] * ly.D for _ in range(ly.D_in)] for ly in net.layers}
    acc_Wl = {l: [[0.0] * net.n[l] for _ in range(net.n[l + 1])] for l in range(1, net.L)}
    acc_tl = {l: [0.0] * net.n[l + 1] for l in range(1, net.L)}
    for n in range(N):
        bw = backward(net, params, X[n], G[n])
        fw = bw["forward"]
        for l in range(1, net.L):
            dl = bw["delta_ff"][l + 1].tolist()
            yl = fw["y_ff"][l].tolist()
            for i in range(net.n[l + 1]):
                for k in range(net.n[l]):
                    acc_Wl[l][i][k] += dl[i] * yl[k]  # (47.1263) delta_{l+1} y_l^T
                acc_tl[l][i] -= dl[i]  # (47.1264) -delta_{l+1}
        for ly in net.layers:
            c = ly.c
            S, P = fw["H_conv"][c].shape[1:]
            H = fw["H_conv"][c].tolist()
            delta = bw["delta_conv"][c].tolist()
            conn = np.asarray(ly.conn, dtype=bool).tolist()
            for d in range(ly.D):
                for j in range(ly.D_in):
                    if not conn[j][d]:
                        continue  # (47.1213) z^(d,c) does not depend on w_j^(d,c), theta^(d,c)(j)
                    for s in range(S):
                        g = 0.0
                        for p in range(P):  # (47.1268) sum_p delta^(d,c)(p) H^(j,c-1)[s,p]
                            g += delta[d][p] * H[j][s][p]
                        acc_Wc[c][j * S + s][d] += g
                    g = 0.0
                    for p in range(P):  # (47.1272) -sum_p delta^(d,c)(p)
                        g -= delta[d][p]
                    acc_Th[c][j][d] += g
    out = Params()
    for ly in net.layers:
        c = ly.c
        Wc = np.asarray(params.W_conv[c], dtype=float)
        out.W_conv[c] = reg * 2.0 * rho1 * Wc + data * np.array(acc_Wc[c]).reshape(Wc.shape)
        out.Theta_conv[c] = data * np.array(acc_Th[c]).reshape(ly.D_in, ly.D)
    for l in range(1, net.L):
        Wl = np.asarray(params.W_ff[l], dtype=float)
        out.W_ff[l] = reg * 2.0 * rho2 * Wl + data * np.array(acc_Wl[l]).reshape(Wl.shape)
        out.theta_ff[l] = data * np.array(acc_tl[l], dtype=float)
    return out


def risk(net, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229"):
    r"""The empirical risk :math:`J_{emp}` of (47.1229) by the loops of :func:`forward`.

    .. math:: J_{emp} = \rho_1 \sum_c \|W_c\|_F^2 + \rho_2 \sum_\ell \|W_\ell\|_F^2
              + \frac1N \sum_n \mathrm{loss}_n

    with every term divided by ``N`` for ``scaling="1227"`` (47.1227). The loss is
    :math:`\|\gamma_n - y_n\|^2` or softmax cross-entropy, per ``net.loss.name``.

    Implements (47.1227), (47.1229) by loops.

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.reference import loops
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("max", 2))], outputs=2)
    >>> p = net.init(seed=0)
    >>> x = np.random.default_rng(0).standard_normal((1, 4, 4))
    >>> X, G = np.concatenate([x[None], -x[None]]), np.eye(2)
    >>> J = loops.risk(net, p, X, G, rho2=0.1)
    >>> bool(np.isclose(J, net.risk(p, X, G, rho2=0.1), rtol=1e-12))
    True
    """
    X, G = _check_batch(net, X, Gamma)
    N = X.shape[0]
    reg, data = _scales(scaling, N)
    total = 0.0
    for n in range(N):
        fw = forward(net, params, X[n])
        total += loss_value(net, fw["z_ff"][net.L].tolist(), fw["y_ff"][net.L].tolist(),
                            G[n].tolist())
    penalty = 0.0
    for c in range(1, net.C + 1):
        for v in np.asarray(params.W_conv[c], dtype=float).ravel():  # ||W_c||_F^2
            penalty += rho1 * v * v
    for l in range(1, net.L):
        for v in np.asarray(params.W_ff[l], dtype=float).ravel():  # ||W_l||_F^2
            penalty += rho2 * v * v
    return reg * penalty + data * total  # (47.1229) / (47.1227)
