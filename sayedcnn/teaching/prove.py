r"""The derivation of the training algorithm, (47.1236)-(47.1274), proved with sympy.

A generic small network is written with a symbol for every image entry, weight and bias and
a generic activation :math:`f` (a sympy ``Function``, so :math:`f'` stays symbolic): a
4 x 4 input, two correlation layers of two maps with 2 x 2 masks (mean pooling of 2 x 2
blocks in layer 1, l2 pooling of 2 x 1 blocks in layer 2), one hidden feedforward layer and
two outputs, with the quadratic loss :math:`Q = \|\gamma - y_L\|^2`. Its forward pass
(47.1216) is formed with the package's own partition matrices :math:`V_{c-1}` and pooling
matrices :math:`T` (0/1 matrices, used as exact integers).

Each identity of the derivation is then checked against sympy's differentiation of that
forward pass: the sensitivities :math:`\delta` of the listing (47.1275) against
:math:`\partial Q/\partial z` (with the quantities upstream of :math:`z` replaced by fresh
symbols, so that :math:`Q` is differentiated through everything downstream),
:math:`V^{(d,d',c+1)}` against the Jacobian :math:`\partial z^{(d',c+1)}/\partial
t^{(d,c)}` it stands for, :math:`\mathrm{permute}^\#(\mathrm{upv}(\cdot))` against the
transposed Jacobian of the pooling map, and each derivative (47.1263)-(47.1274) against
sympy's derivative of :math:`Q` with respect to the parameter. An identity is *proven* when
every entry of the difference expands to exactly zero.

``sympy`` is imported inside the functions only (``pip install "sayedcnn[symbolic]"``).

Examples
--------
>>> from sayedcnn.teaching import prove
>>> len(prove.identities()) > 40
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Identity", "ProofReport", "SymbolicNetwork", "identities", "run_proofs",
           "require_sympy"]


def require_sympy():
    """Import sympy, or raise ImportError saying how to install it.

    Examples
    --------
    >>> from sayedcnn.teaching.prove import require_sympy
    >>> require_sympy().__name__
    'sympy'
    """
    try:
        import sympy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the symbolic proof needs sympy: pip install "
                          "'sayedcnn[symbolic]'") from exc
    return sympy


# ---------------------------------------------------------------------------
# The symbolic network
# ---------------------------------------------------------------------------


def _int_matrix(A):
    """A 0/1 matrix of the package (sparse or dense) as an object array of Python ints, so
    that products with sympy expressions stay exact."""
    A = A.toarray() if hasattr(A, "toarray") else np.asarray(A)
    R = np.rint(A)
    if not np.array_equal(R, A):
        raise ValueError("expected an integer (0/1) matrix")
    return R.astype(int).astype(object)


def _unvec(v, shape):
    return np.asarray(v, dtype=object).reshape(shape, order="F")  # (47.1127)


def _col(v):
    return np.asarray(v, dtype=object).reshape(-1)


class SymbolicNetwork:
    r"""A sayedcnn :class:`~sayedcnn.Network` with sympy symbols for its image, parameters
    and targets, a generic activation ``f`` and the book's quadratic loss (47.1229).

    ``forward(cut)`` runs (47.1216) with object arrays; ``cut`` replaces some quantities by
    fresh symbols (``("z_conv", c)``, ``("y_conv", c)``, ``("t_conv", c)``, ``("z_ff", l)``,
    ``("y_ff", l)``), so that the returned ``Q`` depends on them and on what lies downstream.
    ``backward(fw)`` evaluates the sensitivities and derivatives of the listing (47.1275) on
    a forward result.

    Examples
    --------
    >>> from sayedcnn.teaching.prove import SymbolicNetwork
    >>> snet = SymbolicNetwork()
    >>> snet.net.C, len(snet.x[0])              # 16 symbols for the 4 x 4 image
    (2, 16)
    """

    def __init__(self, net=None):
        sympy = require_sympy()
        from ..network import Conv, Network

        if net is None:
            net = Network((4, 4), 1,
                          conv=[Conv(2, mask=2, pool=("mean", 2)),
                                Conv(2, mask=2, pool=("l2", (2, 1)))],
                          hidden=[2], outputs=2)
        for ly in net.layers:
            if ly.pooled and ly.pooling.kind not in ("mean", "l2", "subsample", "correlation"):
                raise ValueError(f"the symbolic proof needs a differentiable pooling function "
                                 f"(mean, l2, subsample, correlation), layer c = {ly.c} has "
                                 f"{ly.pooling.kind!r}")
        self.net = net
        self.sympy = sympy
        fp = sympy.Function("fp")  # f', as generic as f

        def fdiff(self, argindex=1):
            return fp(self.args[0])

        self.f = type("f", (sympy.Function,), {"fdiff": fdiff})  # f with f' = fp
        self.fp = fp
        rows, cols = net.input_shape
        self.x = [_col([sympy.Symbol(f"h^{{({d + 1})}}({m + 1})") for m in range(rows * cols)])
                  for d in range(net.input_depth)]
        self.W_conv, self.Theta_conv, self.W_ff, self.theta_ff = {}, {}, {}, {}
        for ly in net.layers:
            c = ly.c
            self.W_conv[c] = np.array(
                [[sympy.Symbol(f"w_{{{r // ly.S + 1}}}^{{({d + 1},{c})}}({r % ly.S + 1})")
                  for d in range(ly.D)] for r in range(ly.S * ly.D_in)], dtype=object)
            self.Theta_conv[c] = np.array(
                [[sympy.Symbol(f"\\theta^{{({d + 1},{c})}}({j + 1})") for d in range(ly.D)]
                 for j in range(ly.D_in)], dtype=object)
        for l in range(1, net.L):
            self.W_ff[l] = np.array(
                [[sympy.Symbol(f"W_{{{l}}}({i + 1},{k + 1})") for k in range(net.n[l])]
                 for i in range(net.n[l + 1])], dtype=object)
            self.theta_ff[l] = _col([sympy.Symbol(f"\\theta_{{{l}}}({i + 1})")
                                     for i in range(net.n[l + 1])])
        self.gamma = _col([sympy.Symbol(f"\\gamma({q + 1})") for q in range(net.Q)])
        self.V = {ly.c: _int_matrix(ly.partition.V) for ly in net.layers}  # V_{c-1} (47.1152)
        self.T = {}  # id(pooling) -> (pooling, T as integers), filled on demand

    # -- elementary maps ------------------------------------------------------------------

    def fprime(self, e):
        r""":math:`f'(e)`: the derivative of the generic activation at ``e``; sympy's chain
        rule writes the derivative of ``f(u)`` as ``fp(u)`` times that of ``u``."""
        return self.fp(e)

    def apply_f(self, z):
        return _col([self.f(e) for e in z])

    def apply_fprime(self, z):
        return _col([self.fprime(e) for e in z])

    def pool(self, pl, y):
        r""":math:`t(p') = \mathrm{pool}_{p\in\Omega_{p'}} y(p)` (47.1187), Table 47.13, for a
        :class:`~sayedcnn.Pooling` ``pl`` (a layer without pooling has one-entry mean regions,
        so ``t = y``)."""
        sympy = self.sympy
        out = []
        for reg in pl.regions:
            vals = [y[int(p)] for p in reg]
            if pl.kind == "mean":
                out.append(sympy.Add(*vals) / len(vals))
            elif pl.kind == "l2":
                out.append(sympy.sqrt(sympy.Add(*[v**2 for v in vals])))  # (47.1176)
            elif pl.kind == "subsample":
                out.append(vals[pl.retain])  # (47.1179)
            else:
                out.append(sympy.Add(*[sympy.nsimplify(m) * v
                                       for m, v in zip(pl.mask, vals)]))  # (47.1180)
        return _col(out)

    def gradient_vectors(self, pl, y):
        r"""The gradient vectors :math:`g_{p'}` of Table 47.14 (47.1196), written out by
        their formulas (not by differentiation)."""
        sympy = self.sympy
        gs = []
        for reg in pl.regions:
            vals = [y[int(p)] for p in reg]
            n = len(vals)
            if pl.kind == "mean":
                gs.append([sympy.Rational(1, n)] * n)  # (47.1196a)
            elif pl.kind == "l2":
                t = sympy.sqrt(sympy.Add(*[v**2 for v in vals]))
                gs.append([v / t for v in vals])  # (47.1196d)
            elif pl.kind == "subsample":
                gs.append([sympy.Integer(int(k == pl.retain)) for k in range(n)])  # (47.1196c)
            else:
                gs.append([sympy.nsimplify(m) for m in pl.mask])  # (47.1196e)
        return gs

    def upv(self, pl, v, y):
        r""":math:`\mathrm{upv}(v) = \mathrm{col}\{v(p')\,g_{p'}\}` (47.1200)."""
        return _col([v[k] * g for k, gk in enumerate(self.gradient_vectors(pl, y))
                     for g in gk])

    def permute_sharp(self, pl, yo):
        r""":math:`\mathrm{permute}^\#(y_o) = T^T y_o` (47.1204), with the package's T."""
        key = id(pl)
        if key not in self.T:
            self.T[key] = (pl, _int_matrix(pl.T))  # T (47.1203); pl kept alive with it
        return self.T[key][1].T.dot(_col(yo))

    # -- the forward listing (47.1216) ----------------------------------------------------

    def cut_symbols(self, what, k, d=None):
        """Fresh symbols for quantity ``what`` of layer ``k`` (one vector, or one per map)."""
        sympy = self.sympy
        net = self.net
        if what in ("z_conv", "y_conv", "t_conv"):
            ly = net.layers[k - 1]
            size = ly.P_out if what == "t_conv" else ly.P
            letter = what[0]
            return {dd: _col([sympy.Symbol(f"{letter}^{{({dd},{k})}}({p + 1})")
                              for p in range(size)]) for dd in range(1, ly.D + 1)}
        return _col([sympy.Symbol(f"{what[0]}_{{{k}}}({i + 1})") for i in range(net.n[k])])

    def forward(self, cut=None):
        r"""The listing (47.1216) on the symbols; ``cut = (what, k)`` replaces that quantity
        by fresh symbols. Returns a dict of every quantity, ``Q`` the loss and ``cut`` the
        symbols used."""
        net = self.net
        fw = {"H": {}, "H_stacked": {}, "z_conv": {}, "y_conv": {}, "t_conv": {}, "z_ff": {},
              "y_ff": {}, "cut": None}
        cut_vals = self.cut_symbols(*cut) if cut is not None else None
        fw["cut"] = cut_vals
        first = net.layers[0]
        for d in range(1, net.input_depth + 1):
            fw["H"][d, 0] = _unvec(self.V[1].dot(self.x[d - 1]), (first.S, first.P))  # (47.1152)
        fw["H_stacked"][0] = np.vstack([fw["H"][d, 0] for d in range(1, net.input_depth + 1)])
        for ly in net.layers:
            c = ly.c
            for d in range(1, ly.D + 1):
                z = np.zeros(ly.P, dtype=object)
                for j in range(ly.D_in):
                    if not ly.conn[j, d - 1]:
                        continue
                    w_j = self.W_conv[c][j * ly.S:(j + 1) * ly.S, d - 1]  # (47.1223a)
                    z = z + fw["H"][j + 1, c - 1].T.dot(w_j) - self.Theta_conv[c][j, d - 1]
                if cut == ("z_conv", c):
                    z = cut_vals[d]
                fw["z_conv"][d, c] = z  # (47.1216)
                y = self.apply_f(z)
                if cut == ("y_conv", c):
                    y = cut_vals[d]
                fw["y_conv"][d, c] = y
                t = self.pool(ly.pooling, y)  # (47.1208)
                if cut == ("t_conv", c):
                    t = cut_vals[d]
                fw["t_conv"][d, c] = t
                if c < net.C:
                    nxt = net.layers[c]
                    fw["H"][d, c] = _unvec(self.V[c + 1].dot(t), (nxt.S, nxt.P))  # (47.1211)
            if c < net.C:
                fw["H_stacked"][c] = np.vstack([fw["H"][d, c] for d in range(1, ly.D + 1)])
        last = net.layers[-1]
        y1 = np.concatenate([fw["t_conv"][d, net.C] for d in range(1, last.D + 1)])  # (47.1215)
        if cut == ("y_ff", 1):
            y1 = cut_vals
        fw["y_ff"][1] = y1
        for l in range(1, net.L):
            z = self.W_ff[l].dot(fw["y_ff"][l]) - self.theta_ff[l]  # (47.1216)
            if cut == ("z_ff", l + 1):
                z = cut_vals
            fw["z_ff"][l + 1] = z
            y = self.apply_f(z)
            if cut == ("y_ff", l + 1):
                y = cut_vals
            fw["y_ff"][l + 1] = y
        r = self.gamma - fw["y_ff"][net.L]
        fw["Q"] = self.sympy.Add(*[e**2 for e in r])  # ||gamma - y_L||^2 (47.1229)
        return fw

    # -- the listing (47.1275) on a symbolic forward pass -----------------------------------

    def V_ddc(self, c_next, d, d2):
        r""":math:`V^{(d,d',c+1)}` (47.1257) formed literally by
        :func:`sayedcnn.fidelity.symbolic.V_ddc_symbolic` from the package's :math:`V_c`."""
        from ..fidelity.symbolic import V_ddc_symbolic

        nxt = self.net.layers[c_next - 1]
        w = list(self.W_conv[c_next][(d - 1) * nxt.S:d * nxt.S, d2 - 1])  # w_d^(d',c+1)
        M = V_ddc_symbolic(nxt.partition.V, w, nxt.P, nxt.S)
        return np.array(M.tolist(), dtype=object)

    def backward(self, fw):
        r"""Every sensitivity of (47.1233)-(47.1262) and every derivative of
        (47.1263)-(47.1274) by the listing's formulas."""
        sympy = self.sympy
        net = self.net
        L, C = net.L, net.C
        bw = {"delta_ff": {}, "delta_conv": {}, "Delta": {}, "V": {}, "b": {}, "dW_ff": {},
              "dtheta_ff": {}, "dW_conv": {}, "dTheta_conv": {}}
        zL = fw["z_ff"][L]
        bw["delta_ff"][L] = 2 * (fw["y_ff"][L] - self.gamma) * self.apply_fprime(zL)  # (47.1233)
        for l in range(L - 1, 1, -1):
            bw["delta_ff"][l] = self.apply_fprime(fw["z_ff"][l]) * self.W_ff[l].T.dot(
                bw["delta_ff"][l + 1])  # (47.1234)
        last = net.layers[-1]
        Pp = last.P_out
        for d in range(1, last.D + 1):
            W1d = self.W_ff[1][:, (d - 1) * Pp:d * Pp]  # W_1^(d) (47.1220)
            v = W1d.T.dot(bw["delta_ff"][2])  # (47.1241)
            up = self.upv(last.pooling, v, fw["y_conv"][d, C])  # (47.1242)
            x = self.permute_sharp(last.pooling, up)  # (47.1244)
            bw["delta_conv"][d, C] = self.apply_fprime(fw["z_conv"][d, C]) * x  # (47.1245)
        for c in range(C - 1, 0, -1):
            ly, nxt = net.layers[c - 1], net.layers[c]
            for d in range(1, ly.D + 1):
                acc = np.zeros(ly.P, dtype=object)
                fz = self.apply_fprime(fw["z_conv"][d, c])
                for d2 in range(1, nxt.D + 1):
                    if not nxt.conn[d - 1, d2 - 1]:
                        continue
                    Vm = self.V_ddc(c + 1, d, d2)  # (47.1257)
                    bw["V"][d, d2, c + 1] = Vm
                    b = Vm.dot(bw["delta_conv"][d2, c + 1])  # (47.1258)
                    bw["b"][d, d2, c] = b
                    up = self.upv(ly.pooling, b, fw["y_conv"][d, c])  # (47.1261)
                    acc = acc + fz * self.permute_sharp(ly.pooling, up)  # (47.1262)
                bw["delta_conv"][d, c] = acc  # (47.1262)
        for ly in net.layers:
            c = ly.c
            blocks = [sympy.Matrix(list(bw["delta_conv"][d, c])) for d in range(1, ly.D + 1)]
            bw["Delta"][c] = np.array(sympy.diag(*blocks).tolist(), dtype=object)  # (47.1270)
            H = sympy.Matrix(fw["H_stacked"][c - 1].tolist())
            left = sympy.kronecker_product(sympy.ones(1, ly.D), H)  # 1^T (x) H_{n,c-1}
            bw["dW_conv"][c] = np.array((left * sympy.Matrix(bw["Delta"][c].tolist())).tolist(),
                                        dtype=object)  # (47.1271)
            ones = sympy.kronecker_product(sympy.ones(1, ly.D),
                                           sympy.ones(ly.D_in, 1) * sympy.ones(1, ly.P))
            bw["dTheta_conv"][c] = np.array(
                (-ones * sympy.Matrix(bw["Delta"][c].tolist())).tolist(), dtype=object)
            # (47.1274)
        for l in range(1, L):
            bw["dW_ff"][l] = np.outer(bw["delta_ff"][l + 1], fw["y_ff"][l])  # (47.1263)
            bw["dtheta_ff"][l] = -bw["delta_ff"][l + 1]  # (47.1264)
        return bw

    # -- sympy's own derivatives ----------------------------------------------------------

    def grad(self, Q, variables):
        """sympy's derivative of ``Q`` with respect to each of ``variables`` (same shape)."""
        V = np.asarray(variables, dtype=object)
        return np.array([self.sympy.diff(Q, v) for v in V.reshape(-1)],
                        dtype=object).reshape(V.shape)

    def pool_jacobian(self, pl, y):
        r""":math:`\partial t/\partial y` (``P' x P``) of the pooling map ``pl`` by sympy, at
        the values ``y`` (differentiated with respect to fresh symbols, then evaluated)."""
        eta = _col([self.sympy.Dummy(f"y{p + 1}") for p in range(pl.P)])
        J = self.jacobian(self.pool(pl, eta), eta)
        rule = dict(zip(eta, _col(y)))
        return np.array([[e.xreplace(rule) for e in row] for row in J], dtype=object)

    def jacobian(self, outputs, inputs):
        """``J[i, k] = d outputs[i] / d inputs[k]`` by sympy."""
        return np.array([[self.sympy.diff(o, v) for v in _col(inputs)] for o in _col(outputs)],
                        dtype=object)


# ---------------------------------------------------------------------------
# The identities
# ---------------------------------------------------------------------------


@dataclass
class Identity:
    """One identity of the derivation: ``build(ctx)`` returns ``(derived, claimed)``, two
    object arrays of the same shape: what sympy derives and what the book's formula says.

    Examples
    --------
    >>> from sayedcnn.teaching.prove import identities
    >>> ident = identities()[0]
    >>> ident.eq
    '47.1233'
    """

    eq: str
    title: str
    build: object
    where: str = ""
    slow: bool = False


@dataclass
class ProofReport:
    """The outcome of :func:`run_proofs`: one ``(identity, proven, entries, seconds, note)``
    per identity, in order.

    Examples
    --------
    >>> from sayedcnn.teaching.prove import run_proofs
    >>> report = run_proofs(only=["47.1233"])
    >>> report.ok, report.n_proven
    (True, 1)
    """

    results: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self):
        return bool(self.results) and all(r[1] for r in self.results)

    @property
    def n_proven(self):
        return sum(1 for r in self.results if r[1])

    def lines(self):
        out = []
        for ident, proven, n, _seconds, note in self.results:
            mark = "proven" if proven else "FAILED"
            where = f" [{ident.where}]" if ident.where else ""
            extra = f": {note}" if note else ""
            out.append(f"[{mark}] ({ident.eq}) {ident.title}{where}, {n} entries{extra}")
        return out


class _Context:
    """Symbolic forward passes, each cut once, and the listing on each, built on demand."""

    def __init__(self, snet):
        self.s = snet
        self._fw = {}
        self._bw = {}

    def fw(self, cut=None):
        if cut not in self._fw:
            self._fw[cut] = self.s.forward(cut)
        return self._fw[cut]

    def bw(self, cut=None):
        if cut not in self._bw:
            self._bw[cut] = self.s.backward(self.fw(cut))
        return self._bw[cut]


def _stack(parts):
    return np.concatenate([np.asarray(p, dtype=object).reshape(-1) for p in parts])


def _pool_jacobian_identity(kind, block, stride=None, title=""):
    """permute#(upv(v)) = (dt/dy)^T v on a 4 x 4 map with symbolic y and v."""

    def build(ctx):
        from ..pooling import Pooling

        s = ctx.s
        sympy = s.sympy
        pl = Pooling(kind, in_shape=(4, 4), block=block, stride=stride)
        y = _col(sympy.symbols("y1:17"))
        v = _col(sympy.symbols(f"v1:{pl.P_out + 1}"))
        J = s.jacobian(s.pool(pl, y), y)  # dt/dy by sympy, P' x P
        derived = J.T.dot(v)
        claimed = s.permute_sharp(pl, s.upv(pl, v, y))  # (47.1244), (47.1260)
        return derived, claimed

    return build


def identities(snet=None):
    r"""The identities of (47.1236)-(47.1274) for the network of ``snet`` (a
    :class:`SymbolicNetwork`; by default the generic small network), in the order of the
    derivation.

    Examples
    --------
    >>> from sayedcnn.teaching.prove import identities
    >>> [i.eq for i in identities()][:3]
    ['47.1233', '47.1234', '47.1237']
    """
    s = snet or SymbolicNetwork()
    net = s.net
    C, L = net.C, net.L
    out = []

    def add(eq, title, build, where="", slow=False):
        out.append(Identity(eq, title, build, where, slow))

    # Feedforward sensitivities (47.1233)-(47.1234): delta_l = dQ/dz_l.
    for l in range(L, 1, -1):
        def b(ctx, l=l):
            fw = ctx.fw(("z_ff", l))
            return ctx.s.grad(fw["Q"], fw["cut"]), ctx.bw(("z_ff", l))["delta_ff"][l]
        add("47.1233" if l == L else "47.1234",
            "delta_L = 2(y_L - gamma) (.) f'(z_L) = dQ/dz_L" if l == L else
            "delta_l = f'(z_l) (.) W_l^T delta_{l+1} = dQ/dz_l", b, f"l = {l}")

    # The last correlation layer (47.1236)-(47.1245).
    last = net.layers[-1]

    def b1237(ctx):
        fw = ctx.fw(("z_conv", C))
        s = ctx.s
        Pp = last.P_out
        derived, claimed = [], []
        for d in range(1, last.D + 1):
            zeta = fw["cut"][d]
            derived.append(s.jacobian(fw["z_ff"][2], zeta))  # dz_2(k)/dz^(d,C)(j)
            fz = s.apply_fprime(zeta)
            g = s.gradient_vectors(last.pooling, fw["y_conv"][d, C])
            J = np.zeros((net.n[2], last.P), dtype=object)
            for k in range(net.n[2]):
                for pp, reg in enumerate(last.pooling.regions):  # sum over p' | j in Omega_p'
                    for gi, j in zip(g[pp], reg):
                        J[k, int(j)] += s.W_ff[1][k, (d - 1) * Pp + pp] * gi * fz[int(j)]
            claimed.append(J)
        return _stack(derived), _stack(claimed)

    add("47.1237", "dz_2(k)/dz^(d,C)(j) = sum_{p'|j in Omega_p'} w^(1)_{i_p',k} "
        "dt(p')/dy(j) f'(z(j))", b1237, f"c = C = {C}")

    def b1238(ctx):
        # each y(j) enters one region only (no overlap): the sum over p' has one term p''
        regions = last.pooling.regions
        owners = [[pp for pp, reg in enumerate(regions) if j in set(map(int, reg))]
                  for j in range(last.P)]
        derived = _col([len(o) <= 1 for o in owners])
        return derived, _col([True] * last.P)

    add("47.1238", "each y^(d,C)(j) lies in at most one region Omega_p'' (no overlap)", b1238,
        f"c = C = {C}")

    def b_delta_C(ctx):
        fw = ctx.fw(("z_conv", C))
        bw = ctx.bw(("z_conv", C))
        derived = _stack([ctx.s.grad(fw["Q"], fw["cut"][d]) for d in range(1, last.D + 1)])
        claimed = _stack([bw["delta_conv"][d, C] for d in range(1, last.D + 1)])
        return derived, claimed

    add("47.1236", "delta^(d,C)(j) = sum_k delta_2(k) dz_2(k)/dz^(d,C)(j) = dQ/dz^(d,C)(j)",
        b_delta_C, f"d = 1..{last.D}")

    def b1239(ctx):
        fw = ctx.fw(("z_conv", C))
        s = ctx.s
        fw2 = ctx.fw(("z_ff", 2))
        d2 = s.grad(fw2["Q"], fw2["cut"])  # delta_2 = dQ/dz_2, by sympy
        d2 = _col([e.subs(dict(zip(fw2["cut"], fw["z_ff"][2])), simultaneous=True)
                   for e in d2])
        Pp = last.P_out
        derived, claimed = [], []
        for d in range(1, last.D + 1):
            derived.append(s.grad(fw["Q"], fw["cut"][d]))
            fz = s.apply_fprime(fw["cut"][d])
            g = s.gradient_vectors(last.pooling, fw["y_conv"][d, C])
            x = np.zeros(last.P, dtype=object)
            for pp, reg in enumerate(last.pooling.regions):
                w = s.W_ff[1][:, (d - 1) * Pp + pp]  # w^(1)_{i_p''}, column i = (d-1)P' + p''
                for gi, j in zip(g[pp], reg):
                    x[int(j)] = fz[int(j)] * w.dot(d2) * gi
            claimed.append(x)
        return _stack(derived), _stack(claimed)

    add("47.1239", "delta^(d,C)(j) = f'(z(j)) (w^(1)_{i_p''})^T delta_2 dt(p'')/dy(j)", b1239,
        f"d = 1..{last.D}")

    def b1243(ctx):
        # the gradient vectors of Table 47.14, written by their formulas, against sympy's
        # derivative of t(p') with respect to the entries of its region, for three kinds
        from ..pooling import Pooling

        s = ctx.s
        y = _col(s.sympy.symbols("y1:17"))
        derived, claimed = [], []
        for kind in ("mean", "l2", "subsample"):
            pl = Pooling(kind, in_shape=(4, 4), block=2)
            t = s.pool(pl, y)
            for k, (reg, g) in enumerate(zip(pl.regions, s.gradient_vectors(pl, y))):
                derived.append(s.grad(t[k], y[reg]))
                claimed.append(_col(g))
        return _stack(derived), _stack(claimed)

    add("47.1243", "g_p' of Table 47.14 = dt(p')/dy(Omega_p'), so upv(v) = col{v(p') g_p'}",
        b1243, "mean, l2, subsample pooling of a 4 x 4 map")

    for kind, block in (("mean", 2), ("l2", 2), ("subsample", 2)):
        add("47.1244", f"permute#(upv(v)) = (dt/dy)^T v, {kind} pooling of 2 x 2 blocks",
            _pool_jacobian_identity(kind, block), "4 x 4 map")
    add("47.1244", "permute#(upv(v)) = (dt/dy)^T v, overlapping 2 x 2 mean pooling at stride 1",
        _pool_jacobian_identity("mean", 2, 1), "4 x 4 map, T^T sums overlaps")

    def b1245(ctx):
        fw = ctx.fw(("z_conv", C))
        s = ctx.s
        derived, claimed = [], []
        for d in range(1, last.D + 1):
            y = fw["y_conv"][d, C]
            J = s.pool_jacobian(last.pooling, y)  # dt/dy by sympy
            W1d = s.W_ff[1][:, (d - 1) * last.P_out:d * last.P_out]
            v = W1d.T.dot(ctx.bw(("z_conv", C))["delta_ff"][2])  # (47.1241)
            derived.append(s.apply_fprime(fw["cut"][d]) * J.T.dot(v))
            claimed.append(ctx.bw(("z_conv", C))["delta_conv"][d, C])
        return _stack(derived), _stack(claimed)

    add("47.1245", "delta^(d,C) = f'(z^(d,C)) (.) permute#(upv((W_1^(d))^T delta_2))", b1245,
        f"d = 1..{last.D}, pooling {last.pooling.kind}")

    # Earlier correlation layers (47.1246)-(47.1262).
    for c in range(C - 1, 0, -1):
        ly, nxt = net.layers[c - 1], net.layers[c]

        def b1247(ctx, c=c, ly=ly, nxt=nxt):
            fw = ctx.fw(("y_conv", c))
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                eta = fw["cut"][d]
                t = s.pool(ly.pooling, eta)
                Jt = s.jacobian(t, eta)  # dt^(d,c)/dy^(d,c)
                fwt = ctx.fw(("t_conv", c))
                for d2 in range(1, nxt.D + 1):
                    derived.append(s.jacobian(fw["z_conv"][d2, c + 1], eta))
                    Jz = s.jacobian(fwt["z_conv"][d2, c + 1], fwt["cut"][d])  # dz/dt
                    claimed.append(Jz.dot(Jt))  # sum over p' of dz/dt(p') dt(p')/dy(j)
            return _stack(derived), _stack(claimed)

        add("47.1247", "dz^(d',c+1)(i)/dy^(d,c)(j) = sum_p' dz(i)/dt(p') dt(p')/dy(j)", b1247,
            f"c = {c}, d, d' = 1..{ly.D}, {nxt.D}")

        def b1248(ctx, ly=ly):
            owners = [sum(j in set(map(int, reg)) for reg in ly.pooling.regions)
                      for j in range(ly.P)]
            return _col([o <= 1 for o in owners]), _col([True] * ly.P)

        add("47.1248", "each y^(d,c)(j) lies in at most one region Omega_p'' (no overlap)",
            b1248, f"c = {c}")

        def _chain_delta(ctx, c=c, ly=ly, nxt=nxt):
            """sympy's chain rule for dQ/dz^(d,c) through z^(., c+1), and the forward pass."""
            fw = ctx.fw(("z_conv", c))
            fw2 = ctx.fw(("z_conv", c + 1))
            s = ctx.s
            rule = {sym: val for d2 in range(1, nxt.D + 1)
                    for sym, val in zip(fw2["cut"][d2], fw["z_conv"][d2, c + 1])}
            g2 = {d2: _col([e.xreplace(rule) for e in s.grad(fw2["Q"], fw2["cut"][d2])])
                  for d2 in range(1, nxt.D + 1)}
            out = {}
            for d in range(1, ly.D + 1):
                tot = np.zeros(ly.P, dtype=object)
                for d2 in range(1, nxt.D + 1):
                    J = s.jacobian(fw["z_conv"][d2, c + 1], fw["cut"][d])  # P_{c+1} x P_c
                    tot = tot + J.T.dot(g2[d2])
                out[d] = tot
            return fw, out

        def b1246(ctx, c=c, ly=ly, nxt=nxt):
            fw, chain = _chain_delta(ctx)
            fwy = ctx.fw(("y_conv", c))
            bw = ctx.bw(("z_conv", c))
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                fz = s.apply_fprime(fw["cut"][d])
                rule = dict(zip(fwy["cut"][d], fw["y_conv"][d, c]))
                x = np.zeros(ly.P, dtype=object)
                for d2 in range(1, nxt.D + 1):
                    Jy = s.jacobian(fwy["z_conv"][d2, c + 1], fwy["cut"][d])  # dz(i)/dy(j)
                    Jy = np.array([[e.xreplace(rule) for e in row] for row in Jy], dtype=object)
                    x = x + Jy.T.dot(bw["delta_conv"][d2, c + 1])
                derived.append(chain[d])
                claimed.append(fz * x)  # sum_i sum_d' delta(i) dz(i)/dy(j) f'(z(j))
            return _stack(derived), _stack(claimed)

        add("47.1246", "delta^(d,c)(j) = sum_i sum_d' delta^(d',c+1)(i) dz^(d',c+1)(i)/dy^(d,c)(j)"
            " f'(z^(d,c)(j))", b1246, f"c = {c}, d = 1..{ly.D}")

        def b1249(ctx, c=c, ly=ly, nxt=nxt):
            fw, chain = _chain_delta(ctx)
            fwt = ctx.fw(("t_conv", c))
            bw = ctx.bw(("z_conv", c))
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                fz = s.apply_fprime(fw["cut"][d])
                y = fw["y_conv"][d, c]
                Jt = s.pool_jacobian(ly.pooling, y)  # dt(p'')/dy(j), P'_c x P_c
                x = np.zeros(ly.P, dtype=object)
                for d2 in range(1, nxt.D + 1):
                    Jz = s.jacobian(fwt["z_conv"][d2, c + 1], fwt["cut"][d])  # dz(i)/dt(p'')
                    inner = Jz.T.dot(bw["delta_conv"][d2, c + 1])  # sum_i delta(i) dz/dt(p'')
                    for pp, reg in enumerate(ly.pooling.regions):  # p'' = the region of j
                        for j in reg:
                            x[int(j)] = x[int(j)] + inner[pp] * Jt[pp, int(j)]
                derived.append(chain[d])
                claimed.append(fz * x)
            return _stack(derived), _stack(claimed)

        add("47.1249", "delta^(d,c)(j) = sum_d' f'(z(j)) (sum_i delta^(d',c+1)(i) dz(i)/dt(p'')) "
            "dt(p'')/dy(j)", b1249, f"c = {c}, d = 1..{ly.D}")

        def b1257(ctx, c=c, ly=ly, nxt=nxt):
            fwt = ctx.fw(("t_conv", c))
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                for d2 in range(1, nxt.D + 1):
                    J = s.jacobian(fwt["z_conv"][d2, c + 1], fwt["cut"][d])  # P_{c+1} x P'_c
                    derived.append(J.T)
                    claimed.append(s.V_ddc(c + 1, d, d2))  # (47.1257)
            return _stack(derived), _stack(claimed)

        add("47.1257", "V^(d,d',c+1) = (dz^(d',c+1)/dt^(d,c))^T, formed by Kronecker and "
            "Hadamard products from V_c", b1257, f"c + 1 = {c + 1}, d, d' = 1..{ly.D}, {nxt.D}")

        def b1250(ctx, c=c, ly=ly, nxt=nxt):
            fwt = ctx.fw(("t_conv", c))
            bwt = ctx.bw(("t_conv", c))
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                for d2 in range(1, nxt.D + 1):
                    J = s.jacobian(fwt["z_conv"][d2, c + 1], fwt["cut"][d])
                    delta = bwt["delta_conv"][d2, c + 1]
                    derived.append(J.T.dot(delta))  # sum_i delta(i) dz(i)/dt(p'') (47.1250)
                    claimed.append(bwt["b"][d, d2, c])  # V^(d,d',c+1) delta (47.1258)
            return _stack(derived), _stack(claimed)

        add("47.1258", "b^(d,d',c) = sum_i delta^(d',c+1)(i) dz(i)/dt(p'') = "
            "V^(d,d',c+1) delta^(d',c+1)", b1250, f"c = {c}")

        def b1261(ctx, c=c, ly=ly):
            fw = ctx.fw(("y_conv", c))
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                y = fw["cut"][d]
                t = s.pool(ly.pooling, y)
                for k, (reg, g) in enumerate(zip(ly.pooling.regions,
                                                 s.gradient_vectors(ly.pooling, y))):
                    derived.append(s.grad(t[k], y[reg]))
                    claimed.append(_col(g))
            return _stack(derived), _stack(claimed)

        add("47.1261", "g_{n,p'}^(d,c) = dt^(d,c)(p')/dy^(d,c)(Omega_p') in upv(v) = "
            "col{v(p') g_p'}", b1261, f"c = {c}, pooling {ly.pooling.kind}")

        def b1260(ctx, c=c, ly=ly, nxt=nxt):
            fw = ctx.fw(("z_conv", c))
            bw = ctx.bw(("z_conv", c))
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                y = fw["y_conv"][d, c]
                J = s.pool_jacobian(ly.pooling, y)
                for d2 in range(1, nxt.D + 1):
                    b = bw["b"][d, d2, c]
                    derived.append(J.T.dot(b))
                    up = s.upv(ly.pooling, b, y)
                    claimed.append(s.permute_sharp(ly.pooling, up))  # (47.1260)
            return _stack(derived), _stack(claimed)

        add("47.1260", "x = permute#(upv(b^(d,d',c))) = (dt^(d,c)/dy^(d,c))^T b", b1260,
            f"c = {c}, pooling {ly.pooling.kind}")

        def b1262(ctx, c=c, ly=ly):
            fw = ctx.fw(("z_conv", c))
            bw = ctx.bw(("z_conv", c))
            derived = _stack([ctx.s.grad(fw["Q"], fw["cut"][d]) for d in range(1, ly.D + 1)])
            claimed = _stack([bw["delta_conv"][d, c] for d in range(1, ly.D + 1)])
            return derived, claimed

        def b1262_chain(ctx, c=c, ly=ly, nxt=nxt):
            # sympy's chain rule through z^(., c+1), which separates layer c from the rest:
            # dQ/dz^(d,c) = sum_d' (dz^(d',c+1)/dz^(d,c))^T dQ/dz^(d',c+1), both by sympy
            fw, bw = ctx.fw(("z_conv", c)), ctx.bw(("z_conv", c))
            fw2 = ctx.fw(("z_conv", c + 1))
            s = ctx.s
            rule = {sym: val for d2 in range(1, nxt.D + 1)
                    for sym, val in zip(fw2["cut"][d2], fw["z_conv"][d2, c + 1])}
            g2 = {d2: _col([e.xreplace(rule) for e in s.grad(fw2["Q"], fw2["cut"][d2])])
                  for d2 in range(1, nxt.D + 1)}
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                tot = np.zeros(ly.P, dtype=object)
                for d2 in range(1, nxt.D + 1):
                    J = s.jacobian(fw["z_conv"][d2, c + 1], fw["cut"][d])  # P_{c+1} x P_c
                    tot = tot + J.T.dot(g2[d2])
                derived.append(tot)
                claimed.append(bw["delta_conv"][d, c])
            return _stack(derived), _stack(claimed)

        add("47.1262", "delta^(d,c) = sum_d' f'(z^(d,c)) (.) permute#(upv(V^(d,d',c+1) "
            "delta^(d',c+1))) = sum_d' (dz^(d',c+1)/dz^(d,c))^T dQ/dz^(d',c+1)", b1262_chain,
            f"c = {c}, d = 1..{ly.D}, chain rule by sympy")
        add("47.1262", "delta^(d,c) = sum_d' f'(z^(d,c)) (.) permute#(upv(V^(d,d',c+1) "
            "delta^(d',c+1))) = dQ/dz^(d,c)", b1262, f"c = {c}, d = 1..{ly.D}, Q "
            "differentiated through the whole network", slow=True)

    # The book's worked examples of the derivation, with symbols.
    def b1251(ctx):
        # the printed 6 x 4 matrix is the transposed Jacobian of z^(d',c+1) = H^T w with
        # vec(H) = V_c t, for V_c of (47.1252) and symbolic t, w
        from ..fidelity import symbolic

        s = ctx.s
        sympy = s.sympy
        w1, w2 = sympy.symbols("w1 w2")
        printed = np.array(symbolic._printed_1251(w1, w2).tolist(), dtype=object)
        Vc = _int_matrix(symbolic._Vc_1252())
        t = _col(sympy.symbols("t1:7"))
        H = _unvec(Vc.dot(t), (2, 4))  # vec(H) = V_c t (47.1252)
        z = H.T.dot(_col([w1, w2]))  # z^(d',c+1) = H^T w_d^(d',c+1)
        return s.jacobian(z, t).T, printed

    add("47.1251", "the printed 6 x 4 matrix of b = (.) delta is (dz^(d',c+1)/dt^(d,c))^T",
        b1251, "V_c of (47.1252), symbols w1, w2, t")

    def b1256(ctx):
        from ..fidelity import symbolic

        printed, computed = symbolic.example_1256()
        return np.array(computed.tolist(), dtype=object), np.array(printed.tolist(), dtype=object)

    add("47.1256", "(V_c^T (.) (1 1^T (x) w^T))(I (x) 1) is the printed 6 x 4 matrix", b1256,
        "symbols w1, w2")

    def b1240(ctx):
        from ..fidelity import symbolic

        printed, computed = symbolic.example_1240()
        return np.array(computed.tolist(), dtype=object), np.array(printed.tolist(), dtype=object)

    add("47.1240", "the printed 12-entry delta^(d,C) = f' (.) permute#(upv(W_1^(d)T delta_2))",
        b1240, "Fig. 47.95 regions, symbolic gradients")

    def b1259(ctx):
        from ..fidelity import symbolic
        from ..fidelity.book_examples import PRINTED_1259_DT

        printed, computed = symbolic.example_1259(printed_pattern=PRINTED_1259_DT)
        return np.array(computed.tolist(), dtype=object), np.array(printed.tolist(), dtype=object)

    add("47.1259", "the 12-entry delta^(d,c) = f' (.) permute#(upv(b)), b-indices corrected "
        "(erratum E-1259)", b1259, "Fig. 47.95 regions, symbolic b")

    # Derivatives with respect to the parameters (47.1263)-(47.1274).
    for l in range(1, L):
        def b1263(ctx, l=l):
            fw = ctx.fw(("y_ff", l))  # W_l does not reach y_l: cut there
            return ctx.s.grad(fw["Q"], ctx.s.W_ff[l]), ctx.bw(("y_ff", l))["dW_ff"][l]

        add("47.1263", "dQ/dW_l = delta_{l+1} y_l^T", b1263, f"l = {l}")

        def b1264(ctx, l=l):
            fw = ctx.fw(("y_ff", l))
            return ctx.s.grad(fw["Q"], ctx.s.theta_ff[l]), ctx.bw(("y_ff", l))["dtheta_ff"][l]

        add("47.1264", "dQ/dtheta_l = -delta_{l+1}", b1264, f"l = {l}")

    for ly in net.layers:
        c = ly.c
        cut = ("t_conv", c - 1) if c > 1 else None  # W_c does not reach t^(., c-1): cut there

        def b1267(ctx, ly=ly, c=c, cut=cut):
            fw = ctx.fw(cut)
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                for j in range(ly.D_in):
                    w_j = s.W_conv[c][j * ly.S:(j + 1) * ly.S, d - 1]
                    derived.append(s.jacobian(fw["z_conv"][d, c], w_j))  # P x S
                    claimed.append(fw["H"][j + 1, c - 1].T)  # [H^(j,c-1)]_{s,p} (47.1267)
            return _stack(derived), _stack(claimed)

        add("47.1267", "dz^(d,c)(p)/dw_j^(d,c)(s) = [H^(j,c-1)]_{s,p}", b1267, f"c = {c}")

        def b1265(ctx, ly=ly, c=c):
            fw = ctx.fw(("z_conv", c))
            bw = ctx.bw(("z_conv", c))
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                dQdz = s.grad(fw["Q"], fw["cut"][d])  # sympy's dQ/dz^(d,c)
                for j in range(ly.D_in):
                    w_j = s.W_conv[c][j * ly.S:(j + 1) * ly.S, d - 1]
                    # z^(d,c) as the forward pass forms it, before the cut (47.1266)
                    z = sum((fw["H"][jj + 1, c - 1].T.dot(
                        s.W_conv[c][jj * ly.S:(jj + 1) * ly.S, d - 1])
                        - s.Theta_conv[c][jj, d - 1] for jj in range(ly.D_in)
                        if ly.conn[jj, d - 1]), np.zeros(ly.P, dtype=object))
                    J = s.jacobian(z, w_j)  # dz(p)/dw_j(s)
                    derived.append(J.T.dot(dQdz))  # sum_p dQ/dz(p) dz(p)/dw_j(s)
                    claimed.append(fw["H"][j + 1, c - 1].dot(bw["delta_conv"][d, c]))
            return _stack(derived), _stack(claimed)

        add("47.1265", "dQ/dw_j^(d,c)(s) = sum_p delta^(d,c)(p) dz^(d,c)(p)/dw_j^(d,c)(s)",
            b1265, f"c = {c}, with z^(d,c) of (47.1266)", slow=c < C)

        def b1268(ctx, ly=ly, c=c, cut=cut):
            fw, bw = ctx.fw(cut), ctx.bw(cut)
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                for j in range(ly.D_in):
                    w_j = s.W_conv[c][j * ly.S:(j + 1) * ly.S, d - 1]
                    derived.append(s.grad(fw["Q"], w_j))
                    claimed.append(fw["H"][j + 1, c - 1].dot(bw["delta_conv"][d, c]))
            return _stack(derived), _stack(claimed)

        add("47.1268", "dQ/dw_j^(d,c)(s) = [H^(j,c-1)]_{s,:} delta^(d,c)", b1268, f"c = {c}",
            slow=c == 1)

        def b1269(ctx, ly=ly, c=c, cut=cut):
            fw, bw = ctx.fw(cut), ctx.bw(cut)
            s = ctx.s
            derived = _stack([s.grad(fw["Q"], s.W_conv[c][:, d - 1]) for d in range(1, ly.D + 1)])
            claimed = _stack([fw["H_stacked"][c - 1].dot(bw["delta_conv"][d, c])
                              for d in range(1, ly.D + 1)])
            return derived, claimed

        add("47.1269", "dQ/dW^(d,c) = H_{n,c-1} delta^(d,c)", b1269, f"c = {c}", slow=c == 1)

        def b1271(ctx, c=c, cut=cut):
            fw, bw = ctx.fw(cut), ctx.bw(cut)
            return ctx.s.grad(fw["Q"], ctx.s.W_conv[c]), bw["dW_conv"][c]

        add("47.1271", "dQ/dW_c = (1_{D_c}^T (x) H_{n,c-1}) Delta_{n,c}, Delta block diagonal "
            "(47.1270)", b1271, f"c = {c}", slow=c == 1)

        def b1272(ctx, ly=ly, c=c, cut=cut):
            fw, bw = ctx.fw(cut), ctx.bw(cut)
            s = ctx.s
            derived, claimed = [], []
            for d in range(1, ly.D + 1):
                one = _col([1] * ly.P)
                derived.append(s.grad(fw["Q"], s.Theta_conv[c][:, d - 1]))
                claimed.append(_col([-one.dot(bw["delta_conv"][d, c])] * ly.D_in))  # (47.1273)
            return _stack(derived), _stack(claimed)

        add("47.1273", "dQ/dtheta^(d,c) = -1_{D_{c-1}} 1_{P_c}^T delta^(d,c)", b1272,
            f"c = {c}", slow=c == 1)

        def b1274(ctx, c=c, cut=cut):
            fw, bw = ctx.fw(cut), ctx.bw(cut)
            return ctx.s.grad(fw["Q"], ctx.s.Theta_conv[c]), bw["dTheta_conv"][c]

        add("47.1274", "dQ/dTheta_c = -(1_{D_c}^T (x) 1_{D_{c-1}} 1_{P_c}^T) Delta_{n,c}",
            b1274, f"c = {c}", slow=c == 1)
    return out


class _Atoms:
    r"""Replaces every application of a function (``f(.)``, ``f'(.)``, ``sqrt``, ...) in an
    expression by a symbol, the same symbol for the same application, so that the
    difference of two expressions built from one forward pass becomes a polynomial in
    those symbols and the parameters. A polynomial that expands to zero proves the
    difference zero (equal applications were replaced by equal symbols)."""

    def __init__(self, sympy):
        self.sympy = sympy
        self.table = {}
        self.memo = {}

    def atom(self, e):
        a = self.table.get(e)
        if a is None:
            a = self.table[e] = self.sympy.Dummy(f"a{len(self.table)}")
        return a

    def __call__(self, e):
        hit = self.memo.get(e)
        if hit is not None:
            return hit
        sympy = self.sympy
        if e.is_Atom:
            out = e
        elif e.is_Add or e.is_Mul:
            out = e.func(*[self(a) for a in e.args])
        elif e.is_Pow:
            base, ex = e.args
            if ex.is_Integer:
                out = self(base) ** ex
            elif ex.is_Rational:
                out = self.atom(sympy.Pow(base, sympy.Rational(1, ex.q))) ** ex.p
            else:
                out = self.atom(e)
        else:
            out = self.atom(e)
        self.memo[e] = out
        return out


def _zero(sympy, e, atoms=None):
    if isinstance(e, (bool, np.bool_)):
        return bool(e)
    e = sympy.sympify(e)
    if e == 0:
        return True
    atoms = atoms or _Atoms(sympy)
    return sympy.expand(atoms(e)) == 0


def run_proofs(only=None, wrong=None, snet=None, out=None, quick=False):
    r"""Check every identity (or those whose equation number is in ``only``); print one line
    per identity to ``out`` (a callable, e.g. ``print``) if given. ``quick`` leaves out the
    identities whose sympy derivatives run through the whole network (the sensitivities of
    layer 1 and the derivatives with respect to its masks and biases), which take most of
    the time; the same identities are proven for the layers after it. ``wrong`` names an
    equation whose claimed side is deliberately altered (its first entry plus one), to show
    that a false identity is reported as failing. Returns a :class:`ProofReport`.

    Examples
    --------
    >>> report = run_proofs(only=["47.1257"])
    >>> report.ok, report.n_proven
    (True, 1)
    >>> run_proofs(only=["47.1257"], wrong="47.1257").ok
    False
    """
    sympy = require_sympy()
    s = snet or SymbolicNetwork()
    ctx = s.__dict__.get("_proof_context")
    if ctx is None:
        ctx = s.__dict__["_proof_context"] = _Context(s)  # forward passes kept for reuse
    chosen = [i for i in identities(s) if (only is None or i.eq in only)
              and not (quick and i.slow)]
    if only is not None:
        missing = sorted(set(only) - {i.eq for i in identities(s)})
        if missing:
            raise ValueError(f"no identity of the derivation carries {missing}; known: "
                             f"{sorted({i.eq for i in identities(s)})}")
    report = ProofReport()
    t_all = time.perf_counter()
    for ident in chosen:
        t0 = time.perf_counter()
        derived, claimed = ident.build(ctx)
        derived, claimed = _col(derived), _col(claimed)
        if wrong is not None and ident.eq == wrong:
            claimed = claimed.copy()
            claimed[0] = (not claimed[0]) if isinstance(claimed[0], (bool, np.bool_)) \
                else claimed[0] + 1  # a deliberately wrong claim
        note = ""
        if derived.shape != claimed.shape:
            proven = False
            note = f"shapes differ: {derived.shape} derived, {claimed.shape} claimed"
        else:
            atoms = _Atoms(sympy)
            bad = [k for k, (a, b) in enumerate(zip(derived, claimed))
                   if not (_zero(sympy, a == b) if isinstance(a, (bool, np.bool_))
                           else _zero(sympy, a - b, atoms))]
            proven = not bad
            if bad:
                note = f"{len(bad)} entries differ, first at {bad[0] + 1}"
        report.results.append((ident, proven, derived.size, time.perf_counter() - t0, note))
        if out is not None:
            out(report.lines()[-1])
    report.seconds = time.perf_counter() - t_all
    return report
