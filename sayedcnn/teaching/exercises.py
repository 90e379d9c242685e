r"""Randomised exercises in the book's notation, with worked solutions:
``python -m sayedcnn exercises --seed S --out DIR [--topic ...]``.

Each topic draws a small problem from ``numpy.random.default_rng(seed)`` and solves it with
the package, keeping every intermediate quantity:

* ``partition``: build the partition matrix :math:`V` (47.1149)-(47.1153) of an image for a
  mask, stride and padding, the patch matrix :math:`H` (47.1157) and the correlation
  :math:`z = H^T w` (47.1133);
* ``pooling``: pool a map, give the regions :math:`\Omega_{p'}`, the gradient vectors
  :math:`g_{p'}` (47.1196) and the matrix :math:`T` (47.1203);
* ``forward``: one correlation layer of (47.1216): :math:`H^{(1,0)}, z, y, t`;
* ``sensitivity``: the sensitivities :math:`\delta_{2,n}` (47.1233) and
  :math:`\delta_n^{(1,1)}` (47.1245) of a one-layer network;
* ``sgd``: one stochastic-gradient step (47.1276).

:func:`write` renders ``exercises.md`` and ``solutions.md`` (LaTeX math in Markdown).

Examples
--------
>>> from sayedcnn.teaching.exercises import make
>>> ex = make(seed=1, topics=["pooling"])
>>> ex[0].topic
'pooling'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .show import show

__all__ = ["Exercise", "TOPICS", "make", "write"]

TOPICS = ("partition", "pooling", "forward", "sensitivity", "sgd")


@dataclass
class Exercise:
    """One generated exercise: ``statement`` and ``solution`` (Markdown with LaTeX), the
    problem's ``data`` and its ``answer`` (every quantity the solution gives, as arrays).

    Examples
    --------
    >>> from sayedcnn.teaching.exercises import make
    >>> ex = make(seed=1, topics=["pooling"])[0]
    >>> ex.topic, "t" in ex.answer
    ('pooling', True)
    """

    topic: str
    title: str
    statement: str
    solution: str
    data: dict = field(default_factory=dict)
    answer: dict = field(default_factory=dict)


def _m(obj, name, **kw):
    kw.setdefault("limit", (48, 48))  # a solution shows every entry
    return show(obj, name, **kw).latex()


def _ints(rng, shape, low=-3, high=3):
    return rng.integers(low, high + 1, size=shape).astype(float)


def _fmt(x):
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.4g}"


# ---------------------------------------------------------------------------
# Topics
# ---------------------------------------------------------------------------


def _partition(rng):
    import sayedcnn as sc

    rows, cols = int(rng.integers(3, 5)), int(rng.integers(3, 5))
    k = 2
    stride = int(rng.integers(1, 3))
    padding = str(rng.choice(["valid", "same"]))
    image = _ints(rng, (rows, cols))
    mask = _ints(rng, (k, k), -2, 2)
    part = sc.sliding_partition((rows, cols), k, stride=stride, padding=padding)
    h = sc.vec(image)  # (47.1127)
    V = part.V
    Vh = V @ h  # (47.1152)
    H = sc.patch_matrix(V, h, part.S)  # (47.1157)
    w = sc.vec(mask)
    z = H.T @ w  # (47.1133) F(r, c) = h_{r,c}^T w, windows column-major
    F = sc.unvec(z, part.out_shape)
    st = (f"Image $\\mathcal I$ ({rows} x {cols}) and mask $W$ ({k} x {k}); stride {stride}, "
          f"padding `{padding}`"
          + (" (the book's: $(k-1)/2$ zeros before, rounded down, the rest after)"
             if padding == "same" else " (no zeros)") + ".\n\n"
          + _m(image, r"\mathcal I") + "\n\n" + _m(mask, "W") + "\n\n"
          "1. Write $h = \\mathrm{vec}(\\mathcal I)$ (columns stacked, (47.1127)) and build the "
          "partition matrix $V$ (47.1149)-(47.1153) whose rows $e_k^T$ read the patches, "
          "output positions and mask offsets both column-major.\n"
          "2. Give the patch matrix $H = [h_1 \\dots h_P]$ with $\\mathrm{vec}(H) = Vh$ "
          "(47.1157).\n"
          "3. Compute the filtered image $F$ with $F(r, c) = h_{r,c}^T w$, "
          "$w = \\mathrm{vec}(W)$ (47.1133).")
    sol = ("$P = " + str(part.P) + "$ patches of $S = " + str(part.S) + "$ entries, $M = "
           + str(part.M) + "$.\n\n" + _m(h, "h") + "\n\n" + _m(part, "V") + "\n\n"
           + _m(Vh, "Vh") + "\n\n" + _m(H, "H") + "\n\n" + _m(w, "w") + "\n\n"
           + _m(z, "z = H^T w") + "\n\n" + _m(F, "F"))
    return Exercise("partition", "partition matrix and correlation", st, sol,
                    {"image": image, "mask": mask, "stride": stride, "padding": padding},
                    {"V": V.toarray(), "H": H, "z": z, "F": F})


def _pooling(rng):
    import sayedcnn as sc

    rows, cols = 4, int(rng.choice([4, 6]))
    kind = str(rng.choice(["max", "mean", "l2", "subsample"]))
    y = rng.permutation(np.arange(1, rows * cols + 1)).astype(float).reshape(rows, cols)
    y = y - rows * cols // 2  # distinct values: no ties for max pooling
    pool = sc.Pooling(kind, in_shape=(rows, cols), block=2)
    yv = sc.vec(y)
    t = pool.pool(yv)  # (47.1187)
    g = pool.gradient_vectors(yv)  # (47.1196)
    T = pool.T  # (47.1203)
    regions = "; ".join(f"$\\Omega_{{{k + 1}}} = \\{{{', '.join(str(int(j) + 1) for j in r)}\\}}$"
                        for k, r in enumerate(pool.regions))
    st = (f"The feature map $Y$ ({rows} x {cols}) is pooled by **{kind}** pooling over "
          f"2 x 2 blocks that tile it from the top-left corner (Table 47.13)"
          + (", keeping the first entry of each block" if kind == "subsample" else "")
          + ".\n\n" + _m(y, "Y") + "\n\n"
          "1. List the regions $\\Omega_{p'}$ as entries of $y = \\mathrm{vec}(Y)$ (1-based, "
          "pooled positions column-major).\n"
          "2. Compute the pooled map $t$ (47.1187).\n"
          "3. Give the gradient vectors $g_{p'} = \\partial t(p')/\\partial y(\\Omega_{p'})$ "
          "(47.1196).\n"
          "4. Build the matrix $T$ that stacks $e_p^T$ region by region (47.1201)-(47.1203) "
          "and give $Ty$.")
    gl = "\n\n".join(_m(gk, f"g_{{{k + 1}}}") for k, gk in enumerate(g))
    sol = (f"Regions: {regions}.\n\n" + _m(yv, "y") + "\n\n" + _m(t, "t") + "\n\n" + gl
           + "\n\n" + _m(pool, "T") + "\n\n" + _m(T @ yv, "Ty"))
    return Exercise("pooling", f"{kind} pooling, gradient vectors and T", st, sol,
                    {"y": y, "kind": kind, "block": (2, 2)},
                    {"t": t, "g": g, "T": T.toarray(), "Ty": T @ yv,
                     "regions": [r.copy() for r in pool.regions]})


def _forward(rng):
    import sayedcnn as sc

    act = str(rng.choice(["relu", "tanh"]))
    net = sc.Network((4, 4), 1, conv=[sc.Conv(1, mask=2, activation=act, pool=("max", 2))],
                     outputs=2)
    p = net.init(0)
    p.W_conv[1] = _ints(rng, (4, 1), -2, 2)
    p.Theta_conv[1] = _ints(rng, (1, 1), -1, 1)
    x = _ints(rng, (1, 4, 4), 0, 4)
    res = net.forward(p, x)
    ly = net.layers[0]
    st = (f"One correlation layer ($c = 1$, $D_0 = D_1 = 1$) with the 2 x 2 mask "
          f"$w_1^{{(1,1)}} = \\mathrm{{vec}}(W)$, bias $\\theta^{{(1,1)}}(1) = "
          f"{_fmt(p.Theta_conv[1][0, 0])}$, activation $f = $ {act}, padding `same` "
          f"(one zero row and column after the image) and 2 x 2 max pooling, on the image "
          f"$\\mathcal I_n$:\n\n" + _m(x[0], r"\mathcal I_n") + "\n\n"
          + _m(sc.unvec(p.W_conv[1][:, 0], (2, 2)), "W") + "\n\n"
          "Run the first step of the forward listing (47.1216): give $H_n^{(1,0)}$, "
          "$z_n^{(1,1)} = [H_n^{(1,0)}]^T w_1^{(1,1)} - \\theta^{(1,1)}(1)\\mathbb 1$, "
          "$y_n^{(1,1)} = f(z_n^{(1,1)})$ and $t_n^{(1,1)} = \\mathrm{pool}(y_n^{(1,1)})$.")
    sol = ("$P_1 = " + str(ly.P) + "$, $S_1 = " + str(ly.S) + "$, $P'_1 = " + str(ly.P_out)
           + "$.\n\n" + _m(res.H[1, 0], r"H_n^{(1,0)}") + "\n\n"
           + _m(p.W_conv[1][:, 0], r"w_1^{(1,1)}") + "\n\n"
           + _m(res.z_conv[1, 1], r"z_n^{(1,1)}") + "\n\n"
           + _m(res.y_conv[1, 1], r"y_n^{(1,1)}") + "\n\n"
           + _m(res.t_conv[1, 1], r"t_n^{(1,1)}"))
    return Exercise("forward", f"one forward step ({act})", st, sol,
                    {"net": net, "params": p, "x": x},
                    {"H": res.H[1, 0], "z": res.z_conv[1, 1], "y": res.y_conv[1, 1],
                     "t": res.t_conv[1, 1]})


def _small_net(kind):
    import sayedcnn as sc

    return sc.Network((3, 3), 1, conv=[sc.Conv(1, mask=2, padding="valid", activation="tanh",
                                               pool=(kind, (2, 1)))],
                      outputs=2, output_activation="sigmoid")


def _params(rng, net):
    p = net.init(int(rng.integers(2**31)))
    p = p.map(lambda a: np.round(a, 1))  # one decimal, readable
    return p


def _draw(rng, kind):
    """Network, parameters, image and target of a one-layer problem, redrawn until every
    pooling region has a clear maximum (max pooling is not differentiable at a tie) and no
    l2 region is zero."""
    net = _small_net(kind)
    for _ in range(100):
        p = _params(rng, net)
        x = _ints(rng, (1, 3, 3), -2, 2)
        gamma = np.eye(2)[int(rng.integers(2))]
        y = net.forward(p, x).y_conv[1, 1]
        ly = net.layers[0]
        gaps = [np.diff(np.sort(y[reg]))[-1] if kind == "max" else np.abs(y[reg]).max()
                for reg in ly.pooling.regions]
        if min(gaps) > 1e-2:
            break
    return net, p, x, gamma


def _sensitivity(rng):
    kind = str(rng.choice(["mean", "max", "l2"]))
    net, p, x, gamma = _draw(rng, kind)
    res = net.forward(p, x)
    sens = net.backward(p, res, gamma)
    ly = net.layers[0]
    W1 = p.W_ff[1]
    v = W1.T @ sens.delta_ff[2]  # (47.1241), D_C = 1
    up = ly.pooling.upv(v, res.y_conv[1, 1])  # (47.1242)
    xs = ly.pooling.permute_sharp(up)  # (47.1244)
    st = (f"A network with one correlation layer ($C = 1$, one map, 2 x 2 mask, no padding, "
          f"tanh, {kind} pooling of 2 x 1 blocks) and a sigmoid output layer with $Q = 2$ "
          f"($L = 2$), loss $\\|\\gamma_n - y_n\\|^2$. Image, target and parameters:\n\n"
          + _m(x[0], r"\mathcal I_n") + "\n\n" + _m(gamma, r"\gamma_n") + "\n\n"
          + _m(p.W_conv[1], r"W_{c=1}") + "\n\n$\\Theta_1 = "
          + _fmt(p.Theta_conv[1][0, 0]) + "$\n\n" + _m(W1, r"W_{\ell=1}") + "\n\n"
          + _m(p.theta_ff[1], r"\theta_{\ell=1}") + "\n\n"
          "Run the forward listing (47.1216), then compute $\\delta_{2,n}$ (47.1233) and "
          "$\\delta_n^{(1,1)} = f'(z_n^{(1,1)}) \\odot \\mathrm{permute}^\\#(\\mathrm{upv}("
          "(W_1^{(1)})^T\\delta_{2,n}))$ (47.1245).")
    sol = (_m(res.z_conv[1, 1], r"z_n^{(1,1)}") + "\n\n" + _m(res.y_conv[1, 1], r"y_n^{(1,1)}")
           + "\n\n" + _m(res.t_conv[1, 1], r"t_n^{(1,1)} = y_{1,n}") + "\n\n"
           + _m(res.z_ff[2], r"z_{2,n}") + "\n\n" + _m(res.y_ff[2], r"y_{2,n}") + "\n\n"
           + _m(sens.delta_ff[2], r"\delta_{2,n} = 2(y_{2,n} - \gamma_n)\odot f'(z_{2,n})")
           + "\n\n" + _m(v, r"v = (W_1^{(1)})^T\delta_{2,n}") + "\n\n"
           + _m(up, r"\mathrm{upv}(v)") + "\n\n"
           + _m(xs, r"\mathrm{permute}^\#(\mathrm{upv}(v))") + "\n\n"
           + _m(sens.delta_conv[1, 1], r"\delta_n^{(1,1)}"))
    return Exercise("sensitivity", f"sensitivities with {kind} pooling", st, sol,
                    {"net": net, "params": p, "x": x, "gamma": gamma},
                    {"delta_2": sens.delta_ff[2], "delta_conv": sens.delta_conv[1, 1],
                     "v": v, "upv": up, "x": xs})


def _sgd(rng):
    from ..training import sgd_step_listing

    kind = str(rng.choice(["mean", "max"]))
    net, p, x, gamma = _draw(rng, kind)
    mu = float(rng.choice([0.1, 0.2, 0.5]))
    res = net.forward(p, x)
    sens = net.backward(p, res, gamma)
    g = net.gradients(p, x[None], gamma[None], method="listing")
    new = sgd_step_listing(net, p, x, gamma, mu)
    st = (f"The network of the sensitivity exercise ({kind} pooling), with image, target and "
          f"parameters below. Take one stochastic-gradient step (47.1276) with "
          f"$\\mu = {mu}$ and $\\rho_1 = \\rho_2 = 0$: give the new $W_1, \\Theta_1$ of the "
          f"correlation layer and $W_1, \\theta_1$ of the feedforward layer.\n\n"
          + _m(x[0], r"\mathcal I_n") + "\n\n" + _m(gamma, r"\gamma_n") + "\n\n"
          + _m(p.W_conv[1], r"W_{c=1,n-1}") + "\n\n$\\Theta_{1,n-1} = "
          + _fmt(p.Theta_conv[1][0, 0]) + "$\n\n" + _m(p.W_ff[1], r"W_{\ell=1,n-1}")
          + "\n\n" + _m(p.theta_ff[1], r"\theta_{\ell=1,n-1}"))
    sol = (_m(res.H_stacked[0], r"H_{n,0}") + "\n\n" + _m(res.y_ff[1], r"y_{1,n}") + "\n\n"
           + _m(sens.delta_ff[2], r"\delta_{2,n}") + "\n\n"
           + _m(sens.Delta[1], r"\Delta_{n,1}") + "\n\n"
           + _m(g.W_conv[1], r"(\mathbb 1^T\otimes H_{n,0})\Delta_{n,1}") + "\n\n"
           + _m(g.W_ff[1], r"\delta_{2,n}y_{1,n}^T") + "\n\n"
           + _m(new.W_conv[1], r"W_{c=1,n}") + "\n\n"
           + _m(new.Theta_conv[1], r"\Theta_{1,n}") + "\n\n"
           + _m(new.W_ff[1], r"W_{\ell=1,n}") + "\n\n"
           + _m(new.theta_ff[1], r"\theta_{\ell=1,n} = \theta_{\ell=1,n-1} + \mu\delta_{2,n}"))
    return Exercise("sgd", f"one stochastic-gradient step ({kind} pooling, mu = {mu})", st, sol,
                    {"net": net, "params": p, "x": x, "gamma": gamma, "mu": mu},
                    {"grads": g, "params": new})


_MAKERS = {"partition": _partition, "pooling": _pooling, "forward": _forward,
           "sensitivity": _sensitivity, "sgd": _sgd}


def make(seed=0, topics=None):
    r"""The exercises for ``seed``, one per topic (default: every topic of :data:`TOPICS`),
    each drawn from its own stream ``default_rng([seed, k])`` so that a topic's problem does
    not depend on which others are asked for.

    Examples
    --------
    >>> [e.topic for e in make(3)]
    ['partition', 'pooling', 'forward', 'sensitivity', 'sgd']
    >>> make(3, ["pooling"])[0].statement == make(4, ["pooling"])[0].statement
    False
    """
    topics = list(TOPICS) if topics is None else list(topics)
    unknown = [t for t in topics if t not in TOPICS]
    if unknown or not topics:
        raise ValueError(f"topics must be some of {list(TOPICS)}, got {topics}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return [_MAKERS[t](np.random.default_rng([int(seed), TOPICS.index(t)])) for t in topics]


def write(out, seed=0, topics=None):
    """Write ``out/exercises.md`` and ``out/solutions.md``; return their paths.

    Examples
    --------
    >>> import tempfile, os
    >>> paths = write(tempfile.mkdtemp(), seed=1, topics=["partition"])
    >>> [os.path.basename(p) for p in paths]
    ['exercises.md', 'solutions.md']
    """
    exs = make(seed, topics)
    os.makedirs(out, exist_ok=True)
    head = (f"Section 47.25 of Sayed, *Inference and Learning from Data*: exercises "
            f"(seed {seed}). Indices are 1-based, as in the book; vectors of images stack "
            f"columns.")
    ex_md = [f"# Exercises\n\n{head}\n"]
    so_md = [f"# Solutions\n\n{head} Every number below is computed by `sayedcnn`.\n"]
    for k, e in enumerate(exs, start=1):
        ex_md.append(f"## Exercise {k}: {e.title}\n\n{e.statement}\n")
        so_md.append(f"## Exercise {k}: {e.title}\n\n{e.solution}\n")
    paths = [os.path.join(out, "exercises.md"), os.path.join(out, "solutions.md")]
    for path, parts in zip(paths, (ex_md, so_md)):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(parts))
    return paths
