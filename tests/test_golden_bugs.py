"""The golden traces catch the bugs an outside implementation typically has.

``Conventional`` below is a CNN written the way an outside user writes one, from the
conventions of ``index.json`` alone: maps ``N x C x H x W``, weights ``D_out x D_in x kr x
kc``, one bias per map, ``z = W y + b``, the backward pass by the chain rule. It reads the
network description (``sayedcnn.interop.io.network_to_dict``) and the parameters of a trace
and converts to and from the trace's layout only at its boundary (``_from_trace`` and
``_to_trace``); none of sayedcnn's numerical code runs inside it.

The clean implementation reproduces every array of every shipped trace (all but
V^(d,d',c+1), the book's own construction). Each of the bug switches in ``BUGS`` puts in
one typical mistake; every one of them must make at least one trace fail.
"""

import numpy as np
import pytest

from sayedcnn.interop import golden
from sayedcnn.interop.io import network_to_dict

#: Bug switches: name -> what the switch does.
BUGS = {
    "bwd_ignores_table": "the backward pass ignores the connection table",
    "bwd_unpad_after": "the backward pass removes the padding with the 'after' pads",
    "max_tie_last": "max ties broken to the last maximal entry",
    "max_grad_last_entry": "the max-pool gradient goes to the last entry of each block",
    "flatten_row_major": "y_1 flattens each pooled map row-major",
    "max_tie_row_major": "max ties broken to the first maximal entry in row-major order",
    "l2_sqrt_mean": "l2 pooling as sqrt(mean(y^2))",
    "mean_no_divide": "mean pooling without the 1/|Omega|",
    "no_1_over_N": "derivatives of the summed loss, without 1/N",
    "rho_not_2rho": "the regulariser's derivative rho W instead of 2 rho W",
    "plus_theta": "z = W y + theta instead of W y - theta",
    "convolution": "correlation computed as a convolution (the mask flipped)",
    "stride_ignored_bwd": "the stride ignored in the backward pass",
    "fprime_at_y": "f' evaluated at the activation y = f(z) instead of z",
    "fprime_missing_conv": "f' left out at the correlation layers",
    "fprime_missing_ff": "f' left out at the hidden feedforward layers",
    "leftover_pooled": "leftover rows and columns pooled into the last block",
    "subsample_off_by_one": "subsampling keeps entry retain + 1",
    "subsample_row_major": "subsampling counts retain in row-major order",
    "W1_interleaved": "the blocks of W_1 interleaved (y_1 map-minor)",
    "theta_step_one_entry": "the Theta step put on one entry of each column",
    "print_theta_minus": "the print's theta_l <- theta_l - mu delta (E-1276a)",
    "quadratic_no_2": "delta_L of the quadratic loss without the factor 2",
    "same_pad_swapped": "'same' with an even mask puts the extra zero before",
    "relu_prime_at_zero": "relu'(0) = 1",
    "l2_zero_subgradient": "l2 pooling of an all-zero region with gradient 1/sqrt(|Omega|)",
    "overlap_assign": "overlapping pooling regions overwrite instead of adding up",
    "theta_grad_sign": "dJ/dTheta = +dJ/db (the sign of the bias derivative dropped)",
    "mask_row_major": "W_c's rows read as mask entries row-major (s = a*kc + b)",
    "reg_on_biases": "the regularisers also act on the biases",
    "reg_only_connected": "rho_1 acts only on the connected entries of W_c",
    "step_batch_gradient": "the step of (47.1276) with the mini-batch gradient",
    "softmax_batch_axis": "softmax normalised over the batch instead of the classes",
    "ce_mean_over_classes": "cross-entropy averaged over the classes",
    "J_without_1_over_N": "J_emp with the summed loss",
}

_F = {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "tanh": np.tanh,
      "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z * 1.0}


def _fprime(name, z, bugs):
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "relu":
        return (z >= 0) * 1.0 if "relu_prime_at_zero" in bugs else (z > 0) * 1.0
    return np.ones_like(z)


def _axis(L, k, s, pad, bugs):
    """(before, after, outputs) of one axis: the 'patch_order' convention."""
    if pad == "same":
        before = k // 2 if "same_pad_swapped" in bugs else (k - 1) // 2
        n = -(-L // s)
        return before, max(0, (n - 1) * s + k - before - L), n
    if pad == "valid":
        return 0, 0, (L - k) // s + 1
    return int(pad), int(pad), (L + 2 * int(pad) - k) // s + 1


class Layer:
    """One correlation layer in the conventional layout, built from its description."""

    def __init__(self, spec, in_shape, D_in, bugs):
        self.D, self.D_in = spec["depth"], D_in
        self.kr, self.kc = spec["mask"]
        self.sr, self.sc = spec["stride"]
        pad = spec["padding"]
        pr, pc = (pad, pad) if not isinstance(pad, list) else pad
        self.pt, self.pb, self.nr = _axis(in_shape[0], self.kr, self.sr, pr, bugs)
        self.pl, self.pr, self.nc = _axis(in_shape[1], self.kc, self.sc, pc, bugs)
        self.in_shape = tuple(in_shape)
        self.act = spec["activation"]
        self.table = np.ones((self.D, D_in), dtype=bool)  # table[d, j]
        if spec["connections"] is not None:
            self.table[:] = False
            for d, js in enumerate(spec["connections"]):
                self.table[d, js] = True
        self.pool = spec["pool"]
        self.regions = self._regions(bugs)

    def _regions(self, bugs):
        """Blocks of the pooling: a list of ((i, j), [(r, c), ...] column-major)."""
        rows, cols = self.nr, self.nc
        if self.pool is None:
            return None
        br, bc = self.pool["block"]
        sr, sc = self.pool.get("stride", [br, bc])
        n_i, n_j = (rows - br) // sr + 1, (cols - bc) // sc + 1
        out = []
        for j in range(n_j):
            for i in range(n_i):
                r1 = i * sr + br
                c1 = j * sc + bc
                if "leftover_pooled" in bugs:
                    r1 = rows if i == n_i - 1 else r1
                    c1 = cols if j == n_j - 1 else c1
                out.append(((i, j), [(r, c) for c in range(j * sc, c1)
                                     for r in range(i * sr, r1)]))
        self.pooled_shape = (n_i, n_j)
        return out


def _gvec(kind, u, pool, bugs, shape):
    """Values t and gradient vectors g of one region for every (n, d): u is (N, D, R)."""
    R = u.shape[-1]
    if kind == "max":
        g = np.zeros_like(u)
        top = u == u.max(axis=-1, keepdims=True)
        if "max_tie_last" in bugs:
            k = R - 1 - np.argmax(top[..., ::-1], axis=-1)
        elif "max_tie_row_major" in bugs:
            br = shape[0]
            order = sorted(range(R), key=lambda k: (k % br, k // br))
            k = np.array(order)[np.argmax(top[..., order], axis=-1)]
        else:
            k = np.argmax(top, axis=-1)
        if "max_grad_last_entry" in bugs:
            k = np.full_like(k, R - 1)
        np.put_along_axis(g, k[..., None], 1.0, axis=-1)
        return u.max(axis=-1), g
    if kind == "mean":
        if "mean_no_divide" in bugs:
            return u.sum(axis=-1), np.ones_like(u)
        return u.mean(axis=-1), np.full_like(u, 1.0 / R)
    if kind == "l2":
        scale = R if "l2_sqrt_mean" in bugs else 1
        t = np.sqrt(np.sum(u ** 2, axis=-1) / scale)
        safe = np.where(t > 0, t, 1.0)[..., None]
        zero_g = 1.0 / np.sqrt(R) if "l2_zero_subgradient" in bugs else 0.0
        g = np.where(t[..., None] > 0, u / (scale * safe), zero_g)
        return t, g
    if kind == "subsample":
        k = pool.get("retain", 0)
        if "subsample_off_by_one" in bugs:
            k = (k + 1) % R
        if "subsample_row_major" in bugs:
            br, bc = shape
            k = (k // bc) + (k % bc) * br  # entry k counted along rows
        g = np.zeros_like(u)
        g[..., k] = 1.0
        return u[..., k], g
    m = np.asarray(pool["mask"], dtype=float)
    return u @ m, np.broadcast_to(m, u.shape)


class Conventional:
    """A CNN in the conventional layout with optional bugs; ``compute`` for verify_trace."""

    def __init__(self, *bugs):
        unknown = set(bugs) - set(BUGS)
        assert not unknown, unknown
        self.bugs = set(bugs)

    # -- the boundary: trace layout <-> conventional layout ------------------------------

    def _from_trace(self, net, params):
        desc = network_to_dict(net)
        layers, shape, D = [], desc["input_shape"], desc["input_depth"]
        for spec in desc["conv"]:
            ly = Layer(spec, shape, D, self.bugs)
            layers.append(ly)
            shape, D = ((ly.nr, ly.nc) if ly.pool is None else ly.pooled_shape), ly.D
        w, b = [], []
        for c, ly in enumerate(layers, start=1):
            W = np.asarray(params.W_conv[c], dtype=float)  # (S*D_in, D)
            if "mask_row_major" in self.bugs:
                w.append(W.reshape(ly.D_in, ly.kr, ly.kc, ly.D).transpose(3, 0, 1, 2))
            else:  # row j*S + a + b*kr (column-major over the mask)
                w.append(W.reshape(ly.D_in, ly.kc, ly.kr, ly.D).transpose(3, 0, 2, 1))
            Th = np.asarray(params.Theta_conv[c], dtype=float)  # (D_in, D)
            sign = 1.0 if "plus_theta" in self.bugs else -1.0
            b.append(sign * np.sum(Th * ly.table.T, axis=0))
        ff = [(np.asarray(params.W_ff[l], dtype=float),
               (1.0 if "plus_theta" in self.bugs else -1.0) * np.asarray(params.theta_ff[l]))
              for l in sorted(params.W_ff)]
        acts = desc["hidden_activation"] + [desc["output_activation"]]
        return desc, layers, w, b, ff, acts

    @staticmethod
    def _vec(maps):
        """(N, D, H, W) -> (N, D, H*W) column-major: the trace's map vectors."""
        return maps.transpose(0, 1, 3, 2).reshape(maps.shape[0], maps.shape[1], -1)

    def _weight_to_trace(self, ly, g):
        if "mask_row_major" in self.bugs:
            return g.transpose(1, 2, 3, 0).reshape(ly.D_in * ly.kr * ly.kc, ly.D)
        return g.transpose(1, 3, 2, 0).reshape(ly.D_in * ly.kr * ly.kc, ly.D)

    # -- forward and backward in the conventional layout ---------------------------------

    def _forward(self, layers, w, b, ff, acts, X):
        bugs = self.bugs
        N = X.shape[0]
        x, cache = X, []
        for ly, wc, bc in zip(layers, w, b):
            wm = wc * ly.table[:, :, None, None]
            if "convolution" in bugs:
                wm = wm[:, :, ::-1, ::-1]
            xp = np.pad(x, ((0, 0), (0, 0), (ly.pt, ly.pb), (ly.pl, ly.pr)))
            z = np.zeros((N, ly.D, ly.nr, ly.nc)) + bc[None, :, None, None]
            for a in range(ly.kr):
                for bb in range(ly.kc):
                    win = xp[:, :, a:a + ly.sr * (ly.nr - 1) + 1:ly.sr,
                             bb:bb + ly.sc * (ly.nc - 1) + 1:ly.sc]
                    z += np.einsum("dj,njhw->ndhw", wm[:, :, a, bb], win)
            y = _F[ly.act](z)
            if ly.pool is None:
                t, gs = y, None
            else:
                t = np.zeros((N, ly.D, *ly.pooled_shape))
                gs = []
                for (i, j), ents in ly.regions:
                    u = np.stack([y[:, :, r, c] for r, c in ents], axis=-1)
                    bs = (max(r for r, _ in ents) - min(r for r, _ in ents) + 1,
                          max(c for _, c in ents) - min(c for _, c in ents) + 1)
                    t[:, :, i, j], g = _gvec(ly.pool["kind"], u, ly.pool, bugs, bs)
                    gs.append(g)
            cache.append((xp, wm, z, y, t, gs))
            x = t
        if "flatten_row_major" in bugs:
            yl = x.reshape(N, -1)
        elif "W1_interleaved" in bugs:
            yl = self._vec(x).transpose(0, 2, 1).reshape(N, -1)
        else:
            yl = self._vec(x).reshape(N, -1)  # col{t^(1,C), ..., t^(D_C,C)} (47.1215)
        ys, zs = [yl], [None]
        for (W, bias), act in zip(ff, acts):
            z = ys[-1] @ W.T + bias
            if act == "softmax":
                axis = 0 if "softmax_batch_axis" in bugs else 1
                e = np.exp(z - z.max(axis=axis, keepdims=True))
                y = e / e.sum(axis=axis, keepdims=True)
            else:
                y = _F[act](z)
            zs.append(z)
            ys.append(y)
        return cache, ys, zs

    def _losses(self, desc, y, Gamma):
        if desc["loss"] == "quadratic":
            return np.sum((Gamma - y) ** 2, axis=1)
        Q = -np.sum(Gamma * np.log(y), axis=1)
        return Q / y.shape[1] if "ce_mean_over_classes" in self.bugs else Q

    def _backward(self, desc, layers, w, ff, acts, cache, ys, zs, Gamma):
        """Per-sample sensitivities dQ_n/dz and the summed data-term derivatives."""
        bugs = self.bugs
        N = Gamma.shape[0]
        y, z = ys[-1], zs[-1]
        if desc["loss"] == "quadratic":
            two = 1.0 if "quadratic_no_2" in bugs else 2.0
            dz = two * (y - Gamma) * _fprime(acts[-1], z, bugs)
        else:
            dz = y - Gamma
        d_ff, gW_ff, gb_ff = {len(ys): dz}, {}, {}
        for l in range(len(ff), 0, -1):  # layer l maps y_l to z_{l+1}
            W, _ = ff[l - 1]
            gW_ff[l] = dz.T @ ys[l - 1]
            gb_ff[l] = dz.sum(axis=0)
            dy = dz @ W
            if l > 1:
                fp = 1.0 if "fprime_missing_ff" in bugs else _fprime(acts[l - 2], zs[l - 1], bugs)
                dz = dy * fp
                d_ff[l] = dz
        last = layers[-1]
        shape = last.pooled_shape if last.pool is not None else (last.nr, last.nc)
        if "flatten_row_major" in bugs:
            dt = dy.reshape(N, last.D, *shape)
        elif "W1_interleaved" in bugs:
            dt = dy.reshape(N, shape[1] * shape[0], last.D).transpose(0, 2, 1)
            dt = dt.reshape(N, last.D, shape[1], shape[0]).transpose(0, 1, 3, 2)
        else:
            dt = dy.reshape(N, last.D, shape[1], shape[0]).transpose(0, 1, 3, 2)
        d_conv, gw, gb = {}, {}, {}
        for c in range(len(layers), 0, -1):
            ly = layers[c - 1]
            xp, wm, z, y, t, gs = cache[c - 1]
            if ly.pool is None:
                dy = dt
            else:
                dy = np.zeros_like(y)
                for ((i, j), ents), g in zip(ly.regions, gs):
                    for k, (r, cc) in enumerate(ents):
                        part = dt[:, :, i, j] * g[..., k]
                        if "overlap_assign" in bugs:
                            dy[:, :, r, cc] = part
                        else:
                            dy[:, :, r, cc] += part  # permute# sums over regions (47.1204)
            if "fprime_missing_conv" in bugs:
                dzc = dy
            elif "fprime_at_y" in bugs:
                dzc = dy * _fprime(ly.act, y, bugs)
            else:
                dzc = dy * _fprime(ly.act, z, bugs)
            d_conv[c] = dzc
            sr, sc = (1, 1) if "stride_ignored_bwd" in bugs else (ly.sr, ly.sc)
            gwc = np.zeros((ly.D, ly.D_in, ly.kr, ly.kc))
            dxp = np.zeros_like(xp)
            for a in range(ly.kr):
                for bb in range(ly.kc):
                    rs = slice(a, a + sr * (ly.nr - 1) + 1, sr)
                    cs = slice(bb, bb + sc * (ly.nc - 1) + 1, sc)
                    win = xp[:, :, rs, cs]
                    if win.shape[2:] != dzc.shape[2:]:  # the ignored stride runs off the map
                        win = np.pad(win, ((0, 0), (0, 0), (0, ly.nr - win.shape[2]),
                                           (0, ly.nc - win.shape[3])))
                    gwc[:, :, a, bb] = np.einsum("ndhw,njhw->dj", dzc, win)
                    part = np.einsum("dj,ndhw->njhw", wm[:, :, a, bb], dzc)
                    dxp[:, :, rs, cs] += part[:, :, :dxp[:, :, rs, cs].shape[2],
                                              :dxp[:, :, rs, cs].shape[3]]
            if "convolution" in bugs:
                gwc = gwc[:, :, ::-1, ::-1]
            if "bwd_ignores_table" not in bugs:
                gwc = gwc * ly.table[:, :, None, None]
            gw[c] = gwc
            gb[c] = dzc.sum(axis=(0, 2, 3))
            if c > 1:
                H, W_ = ly.in_shape
                if "bwd_unpad_after" in bugs:
                    dt = dxp[:, :, ly.pb:ly.pb + H, ly.pr:ly.pr + W_]
                    if dt.shape[2:] != (H, W_):
                        dt = np.pad(dt, ((0, 0), (0, 0), (0, H - dt.shape[2]),
                                         (0, W_ - dt.shape[3])))
                else:
                    dt = dxp[:, :, ly.pt:ly.pt + H, ly.pl:ly.pl + W_]
                if "bwd_ignores_table" in bugs:  # the input gradient through every weight
                    wfull = w[c - 1][:, :, ::-1, ::-1] if "convolution" in bugs else w[c - 1]
                    extra = np.zeros_like(xp)
                    off = wfull * (~ly.table)[:, :, None, None]
                    for a in range(ly.kr):
                        for bb in range(ly.kc):
                            rs = slice(a, a + ly.sr * (ly.nr - 1) + 1, ly.sr)
                            cs = slice(bb, bb + ly.sc * (ly.nc - 1) + 1, ly.sc)
                            extra[:, :, rs, cs] += np.einsum("dj,ndhw->njhw",
                                                             off[:, :, a, bb], dzc)
                    dt = dt + extra[:, :, ly.pt:ly.pt + H, ly.pl:ly.pl + W_]
        return d_ff, d_conv, gw, gb, gW_ff, gb_ff

    def _derivatives(self, net, params, X, Gamma, rho1, rho2):
        """Everything of the trace except the step, for the batch (X, Gamma)."""
        bugs = self.bugs
        desc, layers, w, b, ff, acts = self._from_trace(net, params)
        N = X.shape[0]
        cache, ys, zs = self._forward(layers, w, b, ff, acts, X)
        Q = self._losses(desc, ys[-1], Gamma)
        conv_reg = [wc * ly.table[:, :, None, None] if "reg_only_connected" in bugs else wc
                    for wc, ly in zip(w, layers)]
        J = (np.sum(Q) if "J_without_1_over_N" in bugs else np.mean(Q)) \
            + rho1 * sum(np.sum(v ** 2) for v in conv_reg) \
            + rho2 * sum(np.sum(W ** 2) for W, _ in ff)
        if "reg_on_biases" in bugs:
            J += rho1 * sum(np.sum(np.asarray(params.Theta_conv[c]) ** 2)
                            for c in params.Theta_conv)
            J += rho2 * sum(np.sum(np.asarray(params.theta_ff[l]) ** 2) for l in params.theta_ff)
        d_ff, d_conv, gw, gb, gW_ff, gb_ff = self._backward(desc, layers, w, ff, acts, cache,
                                                            ys, zs, Gamma)
        scale = 1.0 if "no_1_over_N" in bugs else 1.0 / N
        two = 1.0 if "rho_not_2rho" in bugs else 2.0
        out = {"Q_n": Q, "J_emp": np.array(J)}
        grads = {}
        for c, ly in enumerate(layers, start=1):
            xp, wm, z, y, t, gs = cache[c - 1]
            out[f"z_conv_{c}"], out[f"y_conv_{c}"] = self._vec(z), self._vec(y)
            out[f"t_conv_{c}"] = self._vec(t)
            out[f"delta_conv_{c}"] = delta = self._vec(d_conv[c])
            P = ly.nr * ly.nc
            Delta = np.zeros((N, ly.D * P, ly.D))
            for d in range(ly.D):
                Delta[:, d * P:(d + 1) * P, d] = delta[:, d]  # (47.1270)
            out[f"Delta_{c}"] = Delta
            H = np.zeros((N, ly.D_in, ly.kr * ly.kc, P))  # patches, s = a + b*kr, p = i + j*nr
            for a in range(ly.kr):
                for bb in range(ly.kc):
                    win = xp[:, :, a:a + ly.sr * (ly.nr - 1) + 1:ly.sr,
                             bb:bb + ly.sc * (ly.nc - 1) + 1:ly.sc]
                    H[:, :, a + bb * ly.kr] = self._vec(win)
            out[f"H_{c - 1}"] = H
            Wc = np.asarray(params.W_conv[c], dtype=float)
            reg = Wc * np.repeat(ly.table.T, ly.kr * ly.kc, axis=0) \
                if "reg_only_connected" in bugs else Wc
            grads["W_conv", c] = scale * self._weight_to_trace(ly, gw[c]) + two * rho1 * reg
            sign = 1.0 if ("theta_grad_sign" in bugs) != ("plus_theta" in bugs) else -1.0
            gT = sign * scale * np.outer(np.ones(ly.D_in), gb[c])
            if "bwd_ignores_table" not in bugs:
                gT = gT * ly.table.T
            if "reg_on_biases" in bugs:
                gT = gT + two * rho1 * np.asarray(params.Theta_conv[c])
            grads["Theta_conv", c] = gT
        out["y_ff_1"] = ys[0]
        for l in range(2, len(ys) + 1):
            out[f"z_ff_{l}"], out[f"y_ff_{l}"] = zs[l - 1], ys[l - 1]
            out[f"delta_ff_{l}"] = d_ff[l]
        for l, (W, _) in enumerate(ff, start=1):
            grads["W_ff", l] = scale * gW_ff[l] + two * rho2 * W
            sign = 1.0 if "plus_theta" in bugs else -1.0
            gt = sign * scale * gb_ff[l]
            if "reg_on_biases" in bugs:
                gt = gt + two * rho2 * np.asarray(params.theta_ff[l])
            grads["theta_ff", l] = gt
        for (g, k), a in grads.items():
            out[f"dJ_d{g}_{k}"] = a
        return out, grads, layers

    def __call__(self, net, params, X, Gamma, rho1, rho2, mu):
        X = np.asarray(X, dtype=float)
        Gamma = np.asarray(Gamma, dtype=float)
        out, grads, layers = self._derivatives(net, params, X, Gamma, rho1, rho2)
        if "step_batch_gradient" in self.bugs:
            step, g0 = out, grads
        else:
            step, g0, _ = self._derivatives(net, params, X[:1], Gamma[:1], rho1, rho2)
        for (g, k), d in g0.items():  # (47.1276): p - mu dJ_0/dp
            p = np.asarray(getattr(params, g)[k], dtype=float)
            if g == "Theta_conv" and "theta_step_one_entry" in self.bugs:
                ly = layers[k - 1]
                new = p.copy()
                first = np.argmax(ly.table, axis=1)  # first connected input map of each d
                new[first, np.arange(ly.D)] -= mu * d[first, np.arange(ly.D)]
            elif g == "theta_ff" and "print_theta_minus" in self.bugs:
                new = p - mu * step[f"delta_ff_{k + 1}"][0]
            else:
                new = p - mu * d
            out[f"{g}_{k}_after"] = new
        return out


def _required(tr):
    """Every computed array of the trace but V^(d,d',c+1)."""
    return [n for n in golden.required_arrays(tr.net, tr.X.shape[0], "all")
            if not n.startswith("V_ddc_")]


@pytest.fixture(scope="module")
def shipped():
    return golden.load_traces()


@pytest.fixture(scope="module")
def caught(shipped):
    """For every bug, the traces that fail with it."""
    out = {}
    for bug in BUGS:
        out[bug] = [name for name, tr in shipped.items()
                    if not golden.verify_trace(tr, compute=Conventional(bug),
                                               require=_required(tr)).ok]
    return out


def test_the_clean_conventional_implementation_matches_every_trace(shipped):
    """Written from the conventions alone, the clean implementation reproduces every array
    of every trace (but V^(d,d',c+1)) to 1e-12 relative."""
    for tr in shipped.values():
        rep = golden.verify_trace(tr, compute=Conventional(), require=_required(tr))
        assert rep.ok, rep.summary()
        assert [n for n in rep.not_compared] == [n for n in tr.arrays if n.startswith("V_ddc_")]


def test_at_least_25_bugs_are_catalogued():
    assert len(BUGS) >= 25


@pytest.mark.parametrize("bug", list(BUGS))
def test_every_bug_fails_at_least_one_trace(caught, bug):
    """Each typical bug makes at least one trace fail."""
    assert caught[bug], f"no trace catches {bug}: {BUGS[bug]}"


def test_the_bugs_of_the_first_report_are_caught_by_the_backward_pass(caught):
    """The four bugs that the first traces missed (a dead relu in two_layer_overlap_table)
    fail in the traces made for them."""
    assert "two_layer_overlap_table" in caught["bwd_ignores_table"]
    assert "two_layer_overlap_table" in caught["bwd_unpad_after"]
    assert "edge_max_ties" in caught["max_tie_last"]
    assert "edge_max_ties" in caught["max_tie_row_major"]
    assert len(caught["max_grad_last_entry"]) >= 3


def test_the_readme_states_how_many_bugs_the_traces_catch(caught):
    """README's golden section gives the number of catalogued bugs, all caught."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    n = sum(1 for v in caught.values() if v)
    assert n == len(BUGS)
    assert f"all {n} bugs" in text
