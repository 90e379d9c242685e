r"""One step of the forward listing (47.1216) or of the training listing (47.1233)-(47.1276),
explained on a small network: ``python -m sayedcnn explain EQ [--seed S]``.

For an equation number, :func:`explain` builds a small network (a 4 x 4 input, two
correlation layers with max and mean pooling, one hidden layer, two outputs) with parameters,
image and target drawn from ``numpy.random.default_rng(seed)``, runs the listing, and
returns the step as text: the equation in the book's notation, the size of every operand, the
numbers going in and coming out (labelled by :func:`~sayedcnn.teaching.show.show`), and an
independent check of them: the scalar loops of :mod:`sayedcnn.reference.loops`, central
finite differences (:mod:`sayedcnn.reference.finite_diff`), or the book's printed example.

Examples
--------
>>> from sayedcnn.teaching.explain import explain, STEPS
>>> "47.1257" in STEPS
True
>>> text, ok = explain("47.1264", seed=0)
>>> ok
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .show import show

__all__ = ["Step", "STEPS", "explain", "numbers", "normalise", "Context"]


@dataclass(frozen=True)
class Step:
    """One explainable equation: its title, its form in the book's notation (LaTeX), and
    the function that runs it on a :class:`Context` and returns ``(lines, checks)``;
    ``checks`` are ``(what, difference, tolerance)``.

    Examples
    --------
    >>> from sayedcnn.teaching.explain import STEPS
    >>> step = STEPS["47.1257"]
    >>> step.eq, step.latex.startswith("V^{(d,d',c+1)}")
    ('47.1257', True)
    """

    eq: str
    title: str
    latex: str
    run: object


# ---------------------------------------------------------------------------
# The network and its listing
# ---------------------------------------------------------------------------


class Context:
    """The small network of :func:`explain`, its parameters, a sample and every quantity of
    the listing and of the scalar loops for it.

    Examples
    --------
    >>> from sayedcnn.teaching.explain import Context
    >>> ctx = Context(seed=0)
    >>> ctx.net.C, ctx.x.shape
    (2, (1, 4, 4))
    """

    def __init__(self, seed=0):
        import sayedcnn as sc

        from ..reference import loops

        self.seed = seed
        self.net = sc.Network((4, 4), 1,
                              conv=[sc.Conv(2, mask=2, activation="tanh", pool=("max", 2)),
                                    sc.Conv(2, mask=2, activation="tanh",
                                            pool=("mean", (2, 1)))],
                              hidden=[3], outputs=2)
        rng = np.random.default_rng(seed)
        self.params = self.net.init(seed=int(rng.integers(2**31)), bias_scale=0.3)
        self.x = rng.standard_normal((1, 4, 4))
        self.gamma = np.eye(2)[int(rng.integers(2))]
        self.res = self.net.forward(self.params, self.x)
        self.sens = self.net.backward(self.params, self.res, self.gamma, keep_V=True)
        self.loops_fw = loops.forward(self.net, self.params, self.x)
        self.loops_bw = loops.backward(self.net, self.params, self.x, self.gamma)

    # downstream of a cut, with the package's operators (for finite differences)
    def loss_from_conv_z(self, c, zs):
        r""":math:`Q` as a function of the pre-activations :math:`z^{(d,c)}` of layer ``c``
        (``zs[d]``), the rest of the network run forward from there (47.1216)."""
        from ..operators import unvec

        net, p = self.net, self.params
        ly = net.layers[c - 1]
        t = {d: ly.pooling.pool(ly.activation.f(zs[d])) for d in zs}
        for nxt in net.layers[c:]:
            H = {j: unvec(nxt.partition.V @ t[j], (nxt.S, nxt.P)) for j in t}
            t2 = {}
            for d in range(1, nxt.D + 1):
                z = sum(H[j + 1].T @ p.W_conv[nxt.c][j * nxt.S:(j + 1) * nxt.S, d - 1]
                        - p.Theta_conv[nxt.c][j, d - 1] for j in range(nxt.D_in)
                        if nxt.conn[j, d - 1])
                t2[d] = nxt.pooling.pool(nxt.activation.f(z))
            t = t2
        y = np.concatenate([t[d] for d in sorted(t)])
        return self.loss_from_ff_y(1, y)

    def loss_from_ff_y(self, l, y, W=None, theta=None):
        r""":math:`Q` as a function of :math:`y_\ell` (and optionally of :math:`W_\ell,
        \theta_\ell`), forward through the feedforward layers (47.1216)."""
        from ..reference import loops

        net, p = self.net, self.params
        z = None
        for k in range(l, net.L):
            Wk = W if (k == l and W is not None) else p.W_ff[k]
            tk = theta if (k == l and theta is not None) else p.theta_ff[k]
            z = Wk @ y - tk
            y = net.ff_activation[k + 1].f(z)
        return loops.loss_value(net, list(z), list(y), list(self.gamma))

    def loss_from_ff_z(self, l, z):
        y = self.net.ff_activation[l].f(z)
        if l == self.net.L:
            from ..reference import loops

            return loops.loss_value(self.net, list(z), list(y), list(self.gamma))
        return self.loss_from_ff_y(l, y)


@lru_cache(maxsize=4)
def _context(seed):
    return Context(seed)


def _fd(fun, x):
    """Central differences (order 4) of a scalar function of a vector."""
    from ..reference.finite_diff import central_differences

    return central_differences(fun, x, h=1e-5, order=4)


def _rel(a, b):
    from ..reference.compare import max_rel_diff

    return float(max_rel_diff(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))


def _sizes(**ops):
    out = []
    for name, a in ops.items():
        shape = np.shape(a.toarray() if hasattr(a, "toarray") else a)
        dims = " x ".join(map(str, shape)) if len(shape) == 2 else f"{shape[0]} x 1"
        out.append(f"{name}: {dims}")
    return "sizes: " + ", ".join(out)


def _block(label, obj, name):
    return [f"{label}:"] + ["    " + s for s in show(obj, name).text().splitlines()]
    # (a Labelled passed as obj keeps its blocks; name None keeps its caption)


# ---------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------

TOL_FD = 1e-6  # finite differences of order 4 at h = 1e-5
TOL_LOOPS = 1e-12  # the same sums, in another order


def _forward(ctx):
    res, fw = ctx.res, ctx.loops_fw
    lines = [ctx.net.size_table()]
    lines += _block("in", ctx.x[0], r"\mathcal I_n")
    lines += _block("out (y_n = y_L)", res.output, r"y_n")
    checks = []
    for ly in ctx.net.layers:
        c = ly.c
        z = np.vstack([res.z_conv[d, c] for d in range(1, ly.D + 1)])
        t = np.vstack([res.t_conv[d, c] for d in range(1, ly.D + 1)])
        checks.append((f"z^(d,{c}) against the scalar loops", _rel(z, fw["z_conv"][c]),
                       TOL_LOOPS))
        checks.append((f"t^(d,{c}) against the scalar loops", _rel(t, fw["t_conv"][c]),
                       TOL_LOOPS))
    checks.append(("y_L against the scalar loops", _rel(res.output, fw["output"]), TOL_LOOPS))
    return lines, checks


def _delta_L(ctx):
    L = ctx.net.L
    res, d = ctx.res, ctx.sens.delta_ff[L]
    lines = [_sizes(**{"z_L": res.z_ff[L], "y_L": res.y_ff[L], "gamma": ctx.gamma})]
    lines += _block("in", res.z_ff[L], rf"z_{{{L},n}}") + _block("in", ctx.gamma, r"\gamma_n")
    lines += _block("out", d, rf"\delta_{{{L},n}}")
    fd = _fd(lambda z: ctx.loss_from_ff_z(L, z), res.z_ff[L])
    return lines, [("finite differences of Q in z_L", _rel(d, fd), TOL_FD),
                   ("the scalar loops", _rel(d, ctx.loops_bw["delta_ff"][L]), TOL_LOOPS)]


def _delta_l(ctx):
    l = 2
    res, d = ctx.res, ctx.sens.delta_ff[l]
    W = ctx.params.W_ff[l]
    lines = [_sizes(**{"z_l": res.z_ff[l], "W_l": W, "delta_l+1": ctx.sens.delta_ff[l + 1]})]
    lines += _block("in", ctx.sens.delta_ff[l + 1], rf"\delta_{{{l + 1},n}}")
    lines += _block("in", W, rf"W_{{\ell={l}}}") + _block("out", d, rf"\delta_{{{l},n}}")
    fd = _fd(lambda z: ctx.loss_from_ff_z(l, z), res.z_ff[l])
    return lines, [("finite differences of Q in z_2", _rel(d, fd), TOL_FD),
                   ("the scalar loops", _rel(d, ctx.loops_bw["delta_ff"][l]), TOL_LOOPS)]


def _conv_delta(c):
    def run(ctx):
        net, res, sens = ctx.net, ctx.res, ctx.sens
        ly = net.layers[c - 1]
        lines = []
        checks = []
        zs = {d: res.z_conv[d, c] for d in range(1, ly.D + 1)}
        for d in range(1, ly.D + 1):
            lines += _block("in", res.z_conv[d, c], rf"z_n^{{({d},{c})}}")
            lines += _block("out", sens.delta_conv[d, c], rf"\delta_n^{{({d},{c})}}")

            def q(z, d=d):
                return ctx.loss_from_conv_z(c, {**zs, d: z})

            fd = _fd(q, zs[d])
            checks.append((f"finite differences of Q in z^({d},{c})",
                           _rel(sens.delta_conv[d, c], fd), TOL_FD))
            checks.append((f"delta^({d},{c}) against the scalar loops",
                           _rel(sens.delta_conv[d, c], ctx.loops_bw["delta_conv"][c][d - 1]),
                           TOL_LOOPS))
        head = (f"sizes: D_{c} = {ly.D} maps; z^(d,{c}), delta^(d,{c}): P_{c} = {ly.P} x 1; "
                f"t^(d,{c}): P'_{c} = {ly.P_out} x 1")
        return [head] + lines, checks
    return run


def _boundary_parts(ctx, d=1):
    net, res, sens, p = ctx.net, ctx.res, ctx.sens, ctx.params
    last = net.layers[-1]
    C, Pp = net.C, last.P_out
    W1d = p.W_ff[1][:, (d - 1) * Pp:d * Pp]  # (47.1220)
    v = W1d.T @ sens.delta_ff[2]  # (47.1241)
    y = res.y_conv[d, C]
    up = last.pooling.upv(v, y)  # (47.1242)-(47.1243)
    x = last.pooling.permute_sharp(up)  # (47.1244)
    return last, W1d, v, y, up, x


def _v_1241(ctx):
    last, W1d, v, *_ = _boundary_parts(ctx)
    Pp = last.P_out
    lines = [_sizes(**{"W_1^(1)": W1d, "delta_2": ctx.sens.delta_ff[2]})]
    lines += _block("in", W1d, r"W_1^{(1)}") + _block("out", v, r"v")
    full = ctx.params.W_ff[1].T @ ctx.sens.delta_ff[2]
    return lines, [("v = entries 1..P'_C of W_1^T delta_2 (47.1218)-(47.1220)",
                    _rel(v, full[:Pp]), TOL_LOOPS)]


def _upv(ctx):
    last, W1d, v, y, up, x = _boundary_parts(ctx)
    pl = last.pooling
    lines = [_sizes(v=v, **{"y^(1,C)": y, "upv(v)": up})]
    lines += _block("in", v, "v") + _block("in", y, rf"y_n^{{(1,{ctx.net.C})}}")
    lines += _block("out", up, r"\mathrm{upv}(v)")
    g = pl.gradient_vectors(y)
    # g_p' by finite differences of t(p') in y(Omega_p')
    fd = []
    for k, reg in enumerate(pl.regions):
        def tk(u, k=k, reg=reg):
            yy = y.copy()
            yy[reg] = u
            return pl.pool(yy)[k]
        fd.append(_fd(tk, y[reg]))
    direct = np.concatenate([v[k] * gk for k, gk in enumerate(g)])
    return lines, [("g_p' against finite differences of the pooling (47.1196)",
                    _rel(np.concatenate(g), np.concatenate(fd)), TOL_FD),
                   ("upv(v) = col{v(p') g_p'} entry by entry", _rel(up, direct), TOL_LOOPS)]


def _pool_jacobian_check(pl, y, v, out):
    J = np.array([_fd(lambda u, k=k: pl.pool(u)[k], y) for k in range(pl.P_out)])
    return _rel(out, J.T @ v)


def _permute_1244(ctx):
    last, W1d, v, y, up, x = _boundary_parts(ctx)
    lines = [_sizes(v=v, **{"upv(v)": up, "T": last.pooling.T})]
    lines += _block("in", v, "v") + _block("in", up, r"\mathrm{upv}(v)")
    lines += _block("in", last.pooling, "T") + _block("out", x, "x")
    return lines, [("x = (dt/dy)^T v with dt/dy by finite differences",
                    _pool_jacobian_check(last.pooling, y, v, x), TOL_FD)]


def _boundary_1245(ctx):
    lines, checks = _conv_delta(ctx.net.C)(ctx)
    last, W1d, v, y, up, x = _boundary_parts(ctx)
    lines += ["for d = 1:"] + _block("v = (W_1^(1))^T delta_2", v, "v")
    lines += _block("upv(v)", up, r"\mathrm{upv}(v)") + _block("x = permute#(upv(v))", x, "x")
    fz = last.activation.fprime(ctx.res.z_conv[1, ctx.net.C])
    checks.append(("delta^(1,C) = f'(z) (.) x", _rel(ctx.sens.delta_conv[1, ctx.net.C], fz * x),
                   TOL_LOOPS))
    return lines, checks


def _one_region(c):
    def run(ctx):
        pl = ctx.net.layers[c - 1].pooling
        count = np.zeros(pl.P, int)
        for reg in pl.regions:
            count[reg] += 1
        lines = [f"regions Omega_p' of layer c = {c} (1-based): "
                 + "; ".join("{" + ", ".join(str(int(j) + 1) for j in reg) + "}"
                             for reg in pl.regions)]
        lines += _block("T", pl, "T")
        return lines, [("entries y(j) in more than one region (0 = no overlap)",
                        float(max(0, count.max() - 1)), 0.0)]
    return run


def _jac_2_C(ctx):
    """dz_2/dz^(d,C) by the formula (47.1237) against finite differences."""
    net, res, p = ctx.net, ctx.res, ctx.params
    last, C = net.layers[-1], net.C
    Pp = last.P_out
    d = 1
    y = res.y_conv[d, C]
    Jt = last.pooling.jacobian(y)  # (47.1237) dt/dy, from the gradient vectors
    fz = last.activation.fprime(res.z_conv[d, C])
    J = p.W_ff[1][:, (d - 1) * Pp:d * Pp] @ Jt * fz[None, :]

    def z2(z):
        t = last.pooling.pool(last.activation.f(z))
        y1 = res.y_ff[1].copy()
        y1[(d - 1) * Pp:d * Pp] = t
        return p.W_ff[1] @ y1 - p.theta_ff[1]
    fd = np.array([_fd(lambda z, k=k: z2(z)[k], res.z_conv[d, C]) for k in range(net.n[2])])
    lines = [_sizes(**{"dz_2/dz^(1,C)": J})] + _block("out", J,
                                                      r"\partial z_{2,n}/\partial z_n^{(1,C)}")
    return lines, [("dz_2/dz^(1,C) against finite differences", _rel(J, fd), TOL_FD)]


def _vddc_parts(ctx, d=1, d2=1):
    net, p = ctx.net, ctx.params
    c = 1
    nxt = net.layers[c]
    V = ctx.sens.V[d, d2, c + 1]
    w = p.W_conv[c + 1][(d - 1) * nxt.S:d * nxt.S, d2 - 1]

    def z_next(t):
        from ..operators import unvec

        H = unvec(nxt.partition.V @ t, (nxt.S, nxt.P))
        return H.T @ w  # the part of z^(d',c+1) that depends on t^(d,c) (47.1212)
    t = ctx.res.t_conv[d, c]
    J = np.array([_fd(lambda u, k=k: z_next(u)[k], t) for k in range(nxt.P)])
    return nxt, V, w, t, J


def _vddc_1257(ctx):
    nxt, V, w, t, J = _vddc_parts(ctx)
    lines = [_sizes(**{"V_c": nxt.partition.V, "w_1^(1,2)": w, "V^(1,1,2)": V})]
    lines += _block("in", nxt.partition, "V_1") + _block("in", w, r"w_1^{(1,2)}")
    lines += _block("out", V, r"V^{(1,1,2)}")
    return lines, [("V^(1,1,2) = (dz^(1,2)/dt^(1,1))^T by finite differences",
                    _rel(V.toarray(), J.T), TOL_FD)]


def _b_1258(ctx):
    nxt, V, w, t, J = _vddc_parts(ctx)
    delta = ctx.sens.delta_conv[1, 2]
    b = V @ delta
    lines = [_sizes(**{"V^(1,1,2)": V, "delta^(1,2)": delta})]
    lines += _block("in", delta, r"\delta_n^{(1,2)}") + _block("out", b, r"b_n^{(1,1,1)}")
    return lines, [("b = sum_i delta(i) dz(i)/dt(p'') with dz/dt by finite differences "
                    "(47.1250)", _rel(b, J.T @ delta), TOL_FD)]


def _x_1260(ctx):
    nxt, V, w, t, J = _vddc_parts(ctx)
    ly = ctx.net.layers[0]
    b = V @ ctx.sens.delta_conv[1, 2]
    y = ctx.res.y_conv[1, 1]
    x = ly.pooling.permute_sharp(ly.pooling.upv(b, y))
    lines = [_sizes(b=b, **{"y^(1,1)": y})] + _block("in", b, r"b_n^{(1,1,1)}")
    lines += _block("out", x, "x")
    return lines, [("x = (dt/dy)^T b with dt/dy by finite differences",
                    _pool_jacobian_check(ly.pooling, y, b, x), TOL_FD)]


def _dz_dy_1247(ctx):
    """dz^(1,2)/dy^(1,1) = (dz/dt)(dt/dy), against finite differences through y."""
    nxt, V, w, t, J = _vddc_parts(ctx)
    ly = ctx.net.layers[0]
    y = ctx.res.y_conv[1, 1]
    chain = V.toarray().T @ ly.pooling.jacobian(y)  # sum over p' of dz/dt(p') dt(p')/dy(j)
    from ..operators import unvec

    def z_of_y(u):
        H = unvec(nxt.partition.V @ ly.pooling.pool(u), (nxt.S, nxt.P))
        return H.T @ w
    fd = np.array([_fd(lambda u, k=k: z_of_y(u)[k], y) for k in range(nxt.P)])
    lines = [_sizes(**{"dz^(1,2)/dy^(1,1)": chain})]
    lines += _block("out", chain, r"\partial z_n^{(1,2)}/\partial y_n^{(1,1)}")
    return lines, [("the chain rule against finite differences", _rel(chain, fd), TOL_FD)]


def _Delta_1270(ctx):
    c = 1
    ly = ctx.net.layers[c - 1]
    Delta = ctx.sens.Delta[c]
    A = Delta.toarray()
    expect = np.zeros_like(A)
    for d in range(1, ly.D + 1):
        expect[(d - 1) * ly.P:d * ly.P, d - 1] = ctx.sens.delta_conv[d, c]
    lines = [_sizes(**{"Delta_{n,1}": Delta})] + _block("out", Delta, r"\Delta_{n,1}")
    return lines, [("block d of column d is delta^(d,1), zero elsewhere", _rel(A, expect),
                    0.0)]


def _param_fd(ctx, group, k):
    """Finite differences of the risk by the scalar loops in one parameter array."""
    from ..reference import finite_diff, loops

    def risk(pp):
        return loops.risk(ctx.net, pp, ctx.x[None], ctx.gamma[None])

    full = finite_diff.numerical_gradient(risk, ctx.params)
    return getattr(full, group)[k]


def _grad(group, k, title, sym):
    def run(ctx):
        g = ctx.net.gradients(ctx.params, ctx.x[None], ctx.gamma[None], method="listing")
        val = getattr(g, group)[k]
        lines = _block("out", val, sym)
        if group in ("W_ff", "theta_ff"):
            d = ctx.sens.delta_ff[k + 1]
            lines = [_sizes(**{f"delta_{k + 1}": d, f"y_{k}": ctx.res.y_ff[k]})] + lines
        else:
            H, Delta = ctx.res.H_stacked[k - 1], ctx.sens.Delta[k]
            D = Delta.shape[1]
            kron = np.kron(np.ones((1, D)), H)  # 1_{D_c}^T (x) H_{n,c-1} (47.1271)
            lines = ([_sizes(**{f"H_n,{k - 1}": H, f"1^T (x) H_n,{k - 1}": kron,
                                f"Delta_n,{k}": Delta})]
                     + _block("in", show(kron, rf"\mathbb 1_{{{D}}}^T \otimes H_{{n,{k - 1}}}",
                                         blocks=(None, [H.shape[1]] * D)), None)
                     + _block("in", show(Delta, rf"\Delta_{{n,{k}}}",
                                         blocks=([Delta.shape[0] // D] * D, [1] * D)), None)
                     + lines)
        from ..reference import loops

        lg = getattr(loops.gradients(ctx.net, ctx.params, ctx.x[None], ctx.gamma[None]),
                     group)[k]
        return lines, [(f"finite differences of the risk in {title}",
                        _rel(val, _param_fd(ctx, group, k)), TOL_FD),
                       ("the scalar loops", _rel(val, lg), TOL_LOOPS)]
    return run


def _mask_column(ctx, c=1, d=1, j=1):
    """(47.1265)-(47.1269) for w_j^(d,c): [H^(j,c-1)]_{s,:} delta^(d,c)."""
    ly = ctx.net.layers[c - 1]
    H = ctx.res.H[j, c - 1]
    delta = ctx.sens.delta_conv[d, c]
    g = H @ delta  # (47.1268)
    fd = _param_fd(ctx, "W_conv", c)[(j - 1) * ly.S:j * ly.S, d - 1]
    lines = [_sizes(**{f"H^({j},{c - 1})": H, f"delta^({d},{c})": delta})]
    lines += _block("in", H, rf"H_n^{{({j},{c - 1})}}")
    lines += _block("out", g, rf"\partial Q/\partial w_{j}^{{({d},{c})}}")
    return lines, [("finite differences of the risk in w_1^(1,1)", _rel(g, fd), TOL_FD)]


def _mask_matrix(ctx, c=1, d=1):
    Hs = ctx.res.H_stacked[c - 1]
    g = Hs @ ctx.sens.delta_conv[d, c]  # (47.1269)
    fd = _param_fd(ctx, "W_conv", c)[:, d - 1]
    lines = [_sizes(**{f"H_n,{c - 1}": Hs})] + _block("out", g, r"\partial Q/\partial W^{(1,1)}")
    return lines, [("finite differences of the risk in column 1 of W_1", _rel(g, fd), TOL_FD)]


def _dz_dw_1267(ctx, c=2, d=1, j=1):
    ly = ctx.net.layers[c - 1]
    H = ctx.res.H[j, c - 1]
    w = ctx.params.W_conv[c][(j - 1) * ly.S:j * ly.S, d - 1]
    fd = np.array([_fd(lambda u, p=p: (H.T @ u)[p], w) for p in range(ly.P)])  # (47.1266)
    lines = _block("out", H.T, rf"\partial z_n^{{({d},{c})}}/\partial w_{j}^{{({d},{c})}}")
    return lines, [("dz(p)/dw(s) = [H]_{s,p} against finite differences of (47.1266)",
                    _rel(H.T, fd), TOL_FD)]


def _z_1266(ctx, c=2):
    ly = ctx.net.layers[c - 1]
    lines, checks = [], []
    for d in range(1, ly.D + 1):
        z = sum(ctx.res.H[j + 1, c - 1].T @ ctx.params.W_conv[c][j * ly.S:(j + 1) * ly.S, d - 1]
                - ctx.params.Theta_conv[c][j, d - 1] for j in range(ly.D_in))  # (47.1266)
        lines += _block("out", z, rf"z_n^{{({d},{c})}}")
        checks.append((f"z^({d},{c}) against the scalar loops",
                       _rel(z, ctx.loops_fw["z_conv"][c][d - 1]), TOL_LOOPS))
    return lines, checks


def _theta_col(ctx, c=1, d=1):
    ly = ctx.net.layers[c - 1]
    g = -np.ones(ly.D_in) * np.sum(ctx.sens.delta_conv[d, c])  # (47.1272)-(47.1273)
    fd = _param_fd(ctx, "Theta_conv", c)[:, d - 1]
    return _block("out", g, r"\partial Q/\partial \theta^{(1,1)}"), [
        ("finite differences of the risk in theta^(1,1)", _rel(g, fd), TOL_FD)]


def _sgd_1276(ctx):
    from ..reference import loops
    from ..training import sgd_step_listing

    mu = 0.1
    new = sgd_step_listing(ctx.net, ctx.params, ctx.x, ctx.gamma, mu)
    g = loops.gradients(ctx.net, ctx.params, ctx.x[None], ctx.gamma[None])
    expect = ctx.params.map(lambda a, b: a - mu * b, g)
    lines = [f"step size mu = {mu}, rho_1 = rho_2 = 0"]
    lines += _block("in", ctx.params.W_conv[1], r"W_{c=1,n-1}")
    lines += _block("out", new.W_conv[1], r"W_{c=1,n}")
    return lines, [("every parameter against W - mu dJ/dW by the scalar loops",
                    float(new.max_rel_diff(expect)), TOL_LOOPS)]


def _training_1275(ctx):
    from ..reference import finite_diff, loops

    g = ctx.net.gradients(ctx.params, ctx.x[None], ctx.gamma[None], method="listing")
    lg = loops.gradients(ctx.net, ctx.params, ctx.x[None], ctx.gamma[None])
    fd = finite_diff.numerical_gradient(
        lambda pp: loops.risk(ctx.net, pp, ctx.x[None], ctx.gamma[None]), ctx.params)
    lines = []
    for grp, k, a in g.items():
        lines.append(f"dJ/d{grp}[{k}]: {' x '.join(map(str, a.shape))}")
    lines += _block("out", g.W_conv[1], r"\partial J/\partial W_{c=1}")
    return lines, [("every derivative against the scalar loops", float(g.max_rel_diff(lg)),
                    TOL_LOOPS),
                   ("every derivative against finite differences", float(g.max_rel_diff(fd)),
                    TOL_FD)]


def _book_example(key):
    def run(ctx):
        from ..fidelity.book_examples import chapter_examples

        exs = [e for e in chapter_examples() if e.key == key]
        lines, checks = [f"the book's example of ({key}), as printed and as computed:"], []
        for e in exs:
            mark = "agrees" if e.agrees else f"differs by erratum {e.erratum}"
            lines.append(f"  {e.title}: {mark}")
            if np.ndim(e.computed) in (1, 2):
                lines += ["    " + s for s in show(np.asarray(e.computed, float),
                                                   "computed").text().splitlines()]
            checks.append((f"{e.title}: printed and computed agree"
                           + (f" except for erratum {e.erratum}" if e.erratum else ""),
                           0.0 if e.ok else 1.0, 0.0))
        return lines, checks
    return run


def _steps():
    S = {}

    def add(eq, title, latex, run):
        S[eq] = Step(eq, title, latex, run)

    add("47.1216", "the forward listing", r"z_n^{(d,c)} = \sum_j ([H_n^{(j,c-1)}]^T w_j^{(d,c)} "
        r"- \theta^{(d,c)}(j)\mathbb 1),\ y = f(z),\ t = \mathrm{pool}(y),\ "
        r"z_{\ell+1,n} = W_\ell y_{\ell,n} - \theta_\ell", _forward)
    add("47.1233", "output sensitivity", r"\delta_{L,n} = 2(y_n - \gamma_n) \odot f'(z_{L,n})",
        _delta_L)
    add("47.1234", "feedforward sensitivity",
        r"\delta_{\ell,n} = f'(z_{\ell,n}) \odot (W_\ell^T \delta_{\ell+1,n})", _delta_l)
    C = 2
    for eq, title in (("47.1235", "definition of delta^(d,c)"),
                      ("47.1236", "chain rule at c = C")):
        add(eq, title, r"\delta_n^{(d,C)}(j) = \partial\|\gamma_n - y_n\|^2/\partial "
            r"z_n^{(d,C)}(j) = \sum_k \delta_{2,n}(k)\,\partial z_{2,n}(k)/\partial "
            r"z_n^{(d,C)}(j)", _conv_delta(C))
    add("47.1237", "dz_2(k)/dz^(d,C)(j)", r"\frac{\partial z_{2,n}(k)}{\partial z_n^{(d,C)}(j)}"
        r" = \sum_{p'|j\in\Omega_{p'}} w^{(1)}_{i_{p'},k}\frac{\partial t(p')}{\partial y(j)}"
        r" f'(z(j))", _jac_2_C)
    add("47.1238", "one region per entry (no overlap) at c = C",
        r"\frac{\partial z_{2,n}(k)}{\partial z_n^{(d,C)}(j)} = w^{(1)}_{i_{p''},k}"
        r"\frac{\partial t(p'')}{\partial y(j)} f'(z(j))", _one_region(C))
    add("47.1239", "delta^(d,C) entry by entry",
        r"\delta_n^{(d,C)}(j) = f'(z(j))\,((w^{(1)}_{i_{p''}})^T\delta_{2,n})\,"
        r"\frac{\partial t(p'')}{\partial y(j)}", _conv_delta(C))
    add("47.1240", "the 12-entry example of delta^(d,C)", r"\delta_n^{(d,C)} = f' \odot x "
        r"\odot x", _book_example("47.1240"))
    add("47.1241", "v = (W_1^(d))^T delta_2", r"v = (W_1^{(d)})^T \delta_{2,n}", _v_1241)
    for eq in ("47.1242", "47.1243"):
        add(eq, "upsampling upv(v)", r"\mathrm{upv}(v) = \mathrm{col}\{v(p')\,g_{n,p'}\}",
            _upv)
    add("47.1244", "x = permute#(upv(v))",
        r"x = \mathrm{permute}^\#(\mathrm{upv}((W_1^{(d)})^T\delta_{2,n}))", _permute_1244)
    add("47.1245", "delta^(d,C)", r"\delta_n^{(d,C)} = f'(z_n^{(d,C)}) \odot \mathrm{permute}^\#"
        r"(\mathrm{upv}((W_1^{(d)})^T \delta_{2,n}))", _boundary_1245)
    add("47.1246", "chain rule for c < C", r"\delta_n^{(d,c)}(j) = \sum_i\sum_{d'}"
        r"\delta_n^{(d',c+1)}(i)\frac{\partial z^{(d',c+1)}(i)}{\partial y^{(d,c)}(j)}"
        r" f'(z^{(d,c)}(j))", _conv_delta(1))
    add("47.1247", "dz^(d',c+1)(i)/dy^(d,c)(j)", r"\frac{\partial z^{(d',c+1)}(i)}{\partial "
        r"y^{(d,c)}(j)} = \sum_{p'}\frac{\partial z(i)}{\partial t(p')}\frac{\partial t(p')}"
        r"{\partial y(j)}", _dz_dy_1247)
    add("47.1248", "one region per entry (no overlap) at c < C",
        r"\frac{\partial z(i)}{\partial y(j)} = \frac{\partial z(i)}{\partial t(p'')}"
        r"\frac{\partial t(p'')}{\partial y(j)}", _one_region(1))
    add("47.1249", "delta^(d,c) with the inner sum", r"\delta_n^{(d,c)}(j) = \sum_{d'} f'(z(j))"
        r"\Big(\sum_i \delta^{(d',c+1)}(i)\frac{\partial z(i)}{\partial t(p'')}\Big)"
        r"\frac{\partial t(p'')}{\partial y(j)}", _conv_delta(1))
    add("47.1250", "b^(d,d',c)(p'')", r"b_n^{(d,d',c)}(p'') = \sum_i \delta_n^{(d',c+1)}(i)"
        r"\frac{\partial z_n^{(d',c+1)}(i)}{\partial t_n^{(d,c)}(p'')}", _b_1258)
    for eq in ("47.1251", "47.1252", "47.1253", "47.1254", "47.1255", "47.1256"):
        add(eq, "the book's example of V^(d,d',c+1)", r"\text{see the printed example}",
            _book_example(eq))
    add("47.1257", "V^(d,d',c+1)", r"V^{(d,d',c+1)} = \big(V_c^T \odot (\mathbb 1_{P'_c}"
        r"\mathbb 1_{P_{c+1}}^T \otimes (w_d^{(d',c+1)})^T)\big)(I_{P_{c+1}} \otimes "
        r"\mathbb 1_{S_{c+1}})", _vddc_1257)
    add("47.1258", "b = V^(d,d',c+1) delta^(d',c+1)",
        r"b_n^{(d,d',c)} = V^{(d,d',c+1)}\delta_n^{(d',c+1)}", _b_1258)
    add("47.1259", "the 12-entry example of delta^(d,c)", r"\delta_n^{(d,c)} = \sum_{d'} f' "
        r"\odot x \odot x", _book_example("47.1259"))
    for eq in ("47.1260", "47.1261"):
        add(eq, "x = permute#(upv(b))", r"x = \mathrm{permute}^\#(\mathrm{upv}"
            r"(b_n^{(d,d',c)}))", _x_1260)
    add("47.1262", "delta^(d,c)", r"\delta_n^{(d,c)} = \sum_{d'} f'(z_n^{(d,c)}) \odot "
        r"\mathrm{permute}^\#(\mathrm{upv}(V^{(d,d',c+1)}\delta_n^{(d',c+1)}))", _conv_delta(1))
    add("47.1263", "dQ/dW_l", r"\partial\|\gamma_n - y_n\|^2/\partial W_\ell = "
        r"\delta_{\ell+1,n}y_{\ell,n}^T", _grad("W_ff", 1, "W_1 (l = 1)", r"\partial J/"
                                                  r"\partial W_{\ell=1}"))
    add("47.1264", "dQ/dtheta_l", r"\partial\|\gamma_n - y_n\|^2/\partial\theta_\ell = "
        r"-\delta_{\ell+1,n}", _grad("theta_ff", 1, "theta_1", r"\partial J/\partial "
                                     r"\theta_{\ell=1}"))
    for eq in ("47.1265", "47.1268"):
        add(eq, "dQ/dw_j^(d,c)(s)", r"\frac{\partial\|\gamma_n - y_n\|^2}{\partial "
            r"w_j^{(d,c)}(s)} = [H_n^{(j,c-1)}]_{s,:}\delta_n^{(d,c)}", _mask_column)
    add("47.1266", "z^(d,c) of (47.1216)", r"z_n^{(d,c)} = \sum_j([H_n^{(j,c-1)}]^T "
        r"w_j^{(d,c)} - \theta^{(d,c)}(j)\mathbb 1)", _z_1266)
    add("47.1267", "dz(p)/dw_j(s)", r"\frac{\partial z_n^{(d,c)}(p)}{\partial w_j^{(d,c)}(s)}"
        r" = [H_n^{(j,c-1)}]_{s,p}", _dz_dw_1267)
    add("47.1269", "dQ/dW^(d,c)", r"\partial\|\gamma_n - y_n\|^2/\partial W^{(d,c)} = "
        r"H_{n,c-1}\delta_n^{(d,c)}", _mask_matrix)
    add("47.1270", "Delta_{n,c}", r"\Delta_{n,c} = \mathrm{diag}\{\delta_n^{(1,c)}, \dots, "
        r"\delta_n^{(D_c,c)}\}", _Delta_1270)
    add("47.1271", "dQ/dW_c", r"\partial\|\gamma_n - y_n\|^2/\partial W_c = "
        r"(\mathbb 1_{D_c}^T \otimes H_{n,c-1})\Delta_{n,c}",
        _grad("W_conv", 1, "W_1 (c = 1)", r"\partial J/\partial W_{c=1}"))
    for eq in ("47.1272", "47.1273"):
        add(eq, "dQ/dtheta^(d,c)", r"\partial\|\gamma_n - y_n\|^2/\partial\theta^{(d,c)} = "
            r"-\mathbb 1_{D_{c-1}}\mathbb 1_{P_c}^T\delta_n^{(d,c)}", _theta_col)
    add("47.1274", "dQ/dTheta_c", r"\partial\|\gamma_n - y_n\|^2/\partial\Theta_c = "
        r"-(\mathbb 1_{D_c}^T \otimes \mathbb 1_{D_{c-1}}\mathbb 1_{P_c}^T)\Delta_{n,c}",
        _grad("Theta_conv", 1, "Theta_1", r"\partial J/\partial \Theta_{c=1}"))
    add("47.1275", "the training listing", r"\text{(47.1233)-(47.1274) for every sample, "
        r"averaged over } n", _training_1275)
    add("47.1276", "one stochastic-gradient step", r"W_{c,n} = W_{c,n-1} - \mu(\mathbb 1^T "
        r"\otimes H_{n,c-1})\Delta_{n,c},\ \dots", _sgd_1276)
    return S


#: Every explainable equation number -> its :class:`Step`.
STEPS = dict(sorted(_steps().items()))


def numbers():
    """The equation numbers :func:`explain` knows, in order.

    Examples
    --------
    >>> from sayedcnn.teaching.explain import numbers
    >>> numbers()[0], "47.1276" in numbers()
    ('47.1216', True)
    """
    return list(STEPS)


def normalise(eq):
    """``"1257"``, ``"47.1257"`` or ``"(47.1257)"`` -> ``"47.1257"``; ``ValueError`` for a
    number :func:`explain` does not know.

    Examples
    --------
    >>> from sayedcnn.teaching.explain import normalise
    >>> normalise("1257"), normalise("(47.1257)")
    ('47.1257', '47.1257')
    """
    s = str(eq).strip().strip("()")
    if not s.startswith("47."):
        s = "47." + s
    if s not in STEPS:
        raise ValueError(f"explain knows (47.1216) and (47.1233)-(47.1276), got {eq!r}; "
                         f"see explain --list")
    return s


def explain(eq, seed=0):
    r"""The step ``eq`` of the listings explained on the small network for ``seed``.

    Returns ``(text, ok)``: the explanation and whether every check holds.

    Examples
    --------
    >>> text, ok = explain("1258", seed=2)
    >>> ok, text.splitlines()[0]
    (True, "(47.1258) b = V^(d,d',c+1) delta^(d',c+1)")
    """
    eq = normalise(eq)
    step = STEPS[eq]
    ctx = _context(int(seed))
    body, checks = step.run(ctx)
    lines = [f"({eq}) {step.title}", f"  $$ {step.latex} $$",
             f"network (seed {seed}): 4 x 4 input, C = 2 correlation layers (2 maps, 2 x 2 "
             f"masks; max 2 x 2 and mean 2 x 1 pooling), one hidden layer of 3, Q = 2; "
             f"target {ctx.gamma.tolist()}"]
    lines += body
    ok = True
    for what, diff, tol in checks:
        good = bool(np.isfinite(diff) and diff <= tol)
        ok &= good
        lines.append(f"check: {what}: {diff:.3g} <= {tol:g}  {'ok' if good else 'FAILED'}")
    return "\n".join(lines), ok
