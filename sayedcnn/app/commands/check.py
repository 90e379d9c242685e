r"""``python -m sayedcnn check``: random architectures through every implementation.

Each trial draws a network (image size, input depth, 1-3 correlation layers with random
masks, padding, strides, pooling kinds, activations and connection tables (47.1213), 0-2
hidden layers, quadratic or cross-entropy loss), random parameters, a small batch and
regularisers :math:`\rho_1, \rho_2`, and computes the derivatives of :math:`J_{emp}`
(47.1229) four ways:

* ``listing``: the training listing (47.1275) line for line, :math:`V^{(d,d',c+1)}` and all;
* ``fused``: the batched path of :mod:`sayedcnn.training`;
* ``loops``: scalar loops over the book's index equations (:mod:`sayedcnn.reference.loops`);
* ``fd``: fourth-order central finite differences of (47.1229).

It also runs the forward listing (47.1216) against the fused forward and the loops. A summary
table lists, per trial, the largest relative difference of each implementation from the
listing; the exit status is 1 when any exceeds its tolerance.
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["random_network", "rel_diff", "fd_diff", "sampled_numerical_gradient",
           "sample_entries", "four_way"]

#: Tolerances on the relative difference: exact reformulations, and finite differences.
TOL_EXACT = 1e-9
TOL_FD = 1e-5


def add_arguments(parser):
    parser.add_argument("--trials", type=int, default=20,
                        help="number of random architectures (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    parser.add_argument("--tol", type=float, default=TOL_EXACT,
                        help=f"tolerance for listing/fused/loops (default {TOL_EXACT:g})")
    parser.add_argument("--tol-fd", type=float, default=TOL_FD,
                        help=f"tolerance for finite differences (default {TOL_FD:g})")
    parser.add_argument("--no-fd", action="store_true", help="skip finite differences")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also print each architecture's size table")


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------


def rel_diff(a, b, floor=None):
    r"""Largest relative difference between two :class:`~sayedcnn.network.Params`, array by
    array: :math:`\max_{\text{arrays}} \|a - b\|_\infty / \max(\|a\|_\infty,
    \|b\|_\infty, s)`, where the floor ``s`` (default :math:`10^{-8}` times the largest
    entry of either) keeps arrays whose derivative is zero from turning rounding noise into
    a large ratio. Used between the exact forms (listing, fused, loops).

    The measure is :func:`sayedcnn.reference.compare.max_rel_diff` with that floor: a NaN,
    an unmatched infinity, a shape mismatch or an array missing on either side gives
    ``inf``.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.commands.check import rel_diff
    >>> a = sc.Params(W_ff={1: np.array([1.0, 2.0])}, theta_ff={1: np.zeros(1)})
    >>> b = sc.Params(W_ff={1: np.array([1.0, 2.2])}, theta_ff={1: np.zeros(1)})
    >>> round(rel_diff(a, b), 12)        # 0.2 / max(2, 2.2)
    0.090909090909
    """
    from ...reference.compare import max_rel_diff

    if floor is None:
        floor = 1e-8 * _top(a, b)
    return max_rel_diff(a, b, floor=max(float(floor), 1e-300))


def _top(*ps):
    """The largest finite magnitude over the arrays of ``ps`` (0 for none)."""
    top = 0.0
    for p in ps:
        for _, _, x in p.items():
            x = np.asarray(x, dtype=float)
            x = np.abs(x[np.isfinite(x)])
            top = max(top, float(np.max(x, initial=0.0)))
    return top


def fd_diff(approx, exact):
    r"""Relative difference of finite differences from exact derivatives, over all
    parameters at once: :math:`\|a - g\|_\infty / \|g\|_\infty`. Finite differences
    carry an absolute rounding error of order :math:`\epsilon J / h`, so one scale for the
    whole gradient is the fair measure (an array whose derivatives are all tiny would
    otherwise magnify that noise). A NaN, an unmatched infinity, a shape mismatch or an
    array missing on either side gives ``inf`` (checked by
    :func:`sayedcnn.reference.compare.max_rel_diff`).

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.commands.check import fd_diff
    >>> g = sc.Params(W_ff={1: np.array([4.0, 2.0])}, theta_ff={1: np.zeros(1)})
    >>> a = sc.Params(W_ff={1: np.array([4.0, 2.0 + 1e-8])}, theta_ff={1: np.zeros(1)})
    >>> bool(abs(fd_diff(a, g) - 2.5e-9) < 1e-15)   # 1e-8 / 4
    True
    """
    from ...reference.compare import array_sets, max_rel_diff

    if max_rel_diff(approx, exact) == float("inf"):
        return float("inf")
    xs, ys = array_sets(approx), array_sets(exact)
    diff = max((float(np.max(np.abs(np.asarray(xs[k], float) - np.asarray(ys[k], float)),
                              initial=0.0)) for k in xs), default=0.0)
    return diff / max(_top(exact), 1e-300)


def _array_rel(x, y):
    from ...reference.compare import rel_diff as compare

    return compare(x, y, floor=1e-300)


def sampled_numerical_gradient(fun, params, entries, h=1e-6):
    r"""Fourth-order central differences of ``fun`` at ``params`` for chosen entries only.

    .. math:: \frac{\partial J}{\partial p} \approx \frac{-J(p+2h) + 8J(p+h) - 8J(p-h)
              + J(p-2h)}{12h}

    ``entries`` is a list of ``(group, key, flat_index)`` (``flat_index`` into the array in
    C order); returns the list of estimates in the same order. Each entry costs four
    evaluations of ``fun``. The small default step keeps a perturbation from carrying a
    pre-activation across the kink of ReLU or two pooled values past each other in a
    network with thousands of them; the rounding error it costs is about
    :math:`10^{-9}` of the derivatives' scale.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.commands.check import sampled_numerical_gradient
    >>> p = sc.Params(W_ff={1: np.array([1.0, 3.0])}, theta_ff={1: np.zeros(1)})
    >>> J = lambda q: float((q.W_ff[1] ** 3).sum())          # dJ/dw = 3 w^2
    >>> [round(g, 6) for g in sampled_numerical_gradient(J, p, [("W_ff", 1, 1)])]
    [27.0]
    """
    from ...reference.finite_diff import central_differences

    out = []
    for g, k, i in entries:
        work = params.copy()
        flat = getattr(work, g)[k].reshape(-1)  # a view: setting it perturbs ``work``

        def along(t, flat=flat, i=i, work=work):
            flat[i] = t[0]
            return float(fun(work))

        x0 = float(flat[i])
        out.append(float(central_differences(along, [x0], h=h, order=4)[0]))  # the stencil
        flat[i] = x0
    return out


def sample_entries(params, n, rng):
    """``n`` entries ``(group, key, flat_index)`` drawn uniformly over all parameters.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.commands.check import sample_entries
    >>> p = sc.Params(W_ff={1: np.ones((2, 3))}, theta_ff={1: np.zeros(2)})
    >>> entries = sample_entries(p, 4, np.random.default_rng(0))
    >>> len(entries), all(group in ("W_ff", "theta_ff") for group, _, _ in entries)
    (4, True)
    """
    items = [(g, k, a.size) for g, k, a in params.items()]
    sizes = np.array([s for *_, s in items])
    total = int(sizes.sum())
    picks = np.sort(rng.choice(total, size=min(n, total), replace=False))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    out = []
    for f in picks:
        j = int(np.searchsorted(starts, f, side="right") - 1)
        g, k, _ = items[j]
        out.append((g, k, int(f - starts[j])))
    return out


def four_way(net, params, X, Gamma, rho1=0.0, rho2=0.0, n_fd=30, seed=0, full_fd=False,
             with_loops=True):
    r"""Derivatives of :math:`J_{emp}` (47.1229) by the training listing (47.1275), the fused
    path, the loops and finite differences, each compared with the listing.

    Returns a dict: ``fused``, ``loops``, ``fd`` hold the largest relative difference from
    the listing (:func:`rel_diff`; ``None`` for a method skipped), ``seconds`` the time each
    took, ``fd_entries`` how many entries finite differences covered, ``grads`` the
    :class:`~sayedcnn.network.Params` of each method. Finite differences run on ``n_fd``
    random entries drawn with ``seed`` (every entry with ``full_fd``, through
    :func:`sayedcnn.reference.finite_diff.numerical_gradient`); their difference is measured
    by :func:`fd_diff`, against the largest derivative of all.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.commands.check import four_way
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2, pool=("mean", 2))], outputs=2)
    >>> X, Gamma = np.random.default_rng(0).random((2, 1, 4, 4)), np.eye(2)
    >>> res = four_way(net, net.init(0), X, Gamma, n_fd=5)
    >>> res["fused"] < 1e-12, res["loops"] < 1e-12, res["fd"] < 1e-7
    (True, True, True)
    """
    secs, grads = {}, {}

    def timed(name, fn):
        t = time.perf_counter()
        grads[name] = fn()
        secs[name] = time.perf_counter() - t
        return grads[name]

    listing = timed("listing", lambda: net.gradients(params, X, Gamma, rho1, rho2,
                                                     method="listing"))
    fused = timed("fused", lambda: net.gradients(params, X, Gamma, rho1, rho2, method="fused"))
    out = {"seconds": secs, "grads": grads, "fused": rel_diff(fused, listing), "loops": None,
           "fd": None, "fd_entries": 0}
    if with_loops:
        from ...reference import loops

        lp = timed("loops", lambda: loops.gradients(net, params, X, Gamma, rho1=rho1,
                                                    rho2=rho2))
        out["loops"] = rel_diff(lp, listing)
    fun = lambda p: net.risk(p, X, Gamma, rho1=rho1, rho2=rho2)
    if full_fd:
        from ...reference import finite_diff

        fd = timed("fd", lambda: finite_diff.numerical_gradient(fun, params, order=4))
        out["fd"] = fd_diff(fd, listing)
        out["fd_entries"] = int(listing.to_vector().size)
    elif n_fd:
        t = time.perf_counter()
        entries = sample_entries(params, n_fd, np.random.default_rng(seed))
        est = sampled_numerical_gradient(fun, params, entries)
        secs["fd"] = time.perf_counter() - t
        diffs = np.array([e - getattr(listing, g)[k].reshape(-1)[i]
                          for (g, k, i), e in zip(entries, est)])
        diff = float(np.max(np.abs(diffs), initial=0.0))  # NaN propagates
        out["fd"] = (diff / max(_top(listing), 1e-300)  # as fd_diff, on the sampled entries
                     if np.isfinite(diff) else float("inf"))
        out["fd_entries"] = len(entries)
    return out


# ---------------------------------------------------------------------------
# Random architectures
# ---------------------------------------------------------------------------

_ACTS = ("tanh", "sigmoid", "relu", "linear")
_POOLS = ("max", "mean", "l2", "subsample", "correlation")


def _random_layer(rng, shape, D_prev):
    from ...network import Conv

    mask = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = ["same", "valid", int(rng.integers(0, 2))][int(rng.integers(0, 3))]
    stride = int(rng.integers(1, 3)) if rng.random() < 0.3 else 1
    D = int(rng.integers(1, 4))
    pool = None
    if rng.random() < 0.7:
        kind = _POOLS[int(rng.integers(0, len(_POOLS)))]
        block = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pstride = None if rng.random() < 0.7 else (1, 1)  # sometimes overlapping blocks
        pool = {"kind": kind, "block": block, "stride": pstride}
        if kind == "correlation":
            pool["mask"] = rng.standard_normal(block[0] * block[1])
    connections = None
    if D_prev > 1 and rng.random() < 0.4:
        connections = [sorted(rng.choice(D_prev, size=int(rng.integers(1, D_prev + 1)),
                                         replace=False).tolist()) for _ in range(D)]
    act = _ACTS[int(rng.integers(0, len(_ACTS)))]
    return Conv(D, mask, padding, stride, act, pool, connections)


def random_network(rng, max_tries=100):
    r"""Draw a small random :class:`~sayedcnn.network.Network`.

    Layers whose sizes do not fit (a pooling block larger than its map) are redrawn.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.commands.check import random_network
    >>> net = random_network(np.random.default_rng(0))
    >>> X = np.zeros((1, net.input_depth, *net.input_shape))
    >>> net.predict(net.init(0), X).shape == (1, net.n[-1])
    True
    """
    from ...network import Network

    for _ in range(max_tries):
        shape = (int(rng.integers(4, 9)), int(rng.integers(4, 9)))
        D0 = int(rng.integers(1, 3))
        C = int(rng.integers(1, 4))
        hidden = [int(rng.integers(2, 6)) for _ in range(int(rng.integers(0, 3)))]
        Q = int(rng.integers(2, 5))
        loss = "quadratic" if rng.random() < 0.5 else "cross_entropy"
        hid_act = [_ACTS[int(rng.integers(0, len(_ACTS)))] for _ in hidden]
        out_act = "softmax" if loss == "cross_entropy" else ["sigmoid", "tanh", "linear"][
            int(rng.integers(0, 3))]
        layers = []
        D_prev = D0
        for _c in range(C):
            layers.append(_random_layer(rng, shape, D_prev))
            D_prev = layers[-1].depth
        try:
            return Network(shape, D0, layers, hidden, Q, hid_act, out_act, loss)
        except ValueError:
            continue
    raise RuntimeError("could not draw a valid random network")  # pragma: no cover


def _describe(net):
    parts = [f"{net.input_shape[0]}x{net.input_shape[1]}x{net.input_depth}"]
    for ly in net.layers:
        m = "x".join(map(str, ly.partition.mask))
        pool = ly.pooling.kind[:4] if ly.pooled else "-"
        tab = "" if ly.conn.all() else "*"
        parts.append(f"{ly.D}{tab}@{m}/{ly.activation.name[:4]}/{pool}")
    ff = "-".join(str(n) for n in net.n[1:])
    return " ".join(parts) + f" | {ff} {net.loss.name[:4]}"


def _fmt(x):
    return "     skip" if x is None else f"{x:9.1e}"


def run(args):
    from ...losses import one_hot

    problems = []
    if args.trials < 1:
        problems.append(f"--trials must be >= 1, got {args.trials}")
    if args.seed < 0:
        problems.append(f"--seed must be >= 0, got {args.seed}")
    for opt, val in (("--tol", args.tol), ("--tol-fd", args.tol_fd)):
        if not (np.isfinite(val) and val > 0):
            problems.append(f"{opt} must be a finite tolerance > 0, got {val}")
    if problems:
        print(f"sayedcnn check: {problems[0]}", file=sys.stderr)
        return 2
    try:
        from ...reference import loops  # noqa: F401
        have_loops = True
    except ImportError:
        have_loops = False
        print("note: sayedcnn.reference.loops is not available; the loops column is skipped")
    rng = np.random.default_rng(args.seed)
    print(f"sayedcnn check: {args.trials} random architectures, seed {args.seed}; largest "
          f"relative difference from the listing (47.1275)")
    print(f"tolerances: exact {args.tol:g}, finite differences {args.tol_fd:g}")
    head = (f"{'trial':>5} {'architecture':<52} {'N':>2} {'params':>6} {'fwd':>9} "
            f"{'fused':>9} {'loops':>9} {'fd':>9}  ok")
    print(head)
    print("-" * len(head))
    failures = 0
    worst = {"fwd": 0.0, "fused": 0.0, "loops": 0.0, "fd": 0.0}
    t0 = time.perf_counter()
    for trial in range(1, args.trials + 1):
        net = random_network(rng)
        params = net.init(int(rng.integers(2**31)), bias_scale=0.5)
        N = int(rng.integers(1, 4))
        X = rng.uniform(-1, 1, (N, net.input_depth, *net.input_shape))
        labels = rng.integers(0, net.Q, N)
        Gamma = one_hot(labels, net.Q)
        rho1, rho2 = (float(rng.uniform(0, 0.1)), float(rng.uniform(0, 0.1))) \
            if rng.random() < 0.5 else (0.0, 0.0)
        if args.verbose:
            print(net.size_table())
        listing_out = net.forward(params, X, method="listing").output
        fused_out = net.forward(params, X, method="fused").output
        fwd = _array_rel(listing_out, fused_out)
        if have_loops:
            from ...reference import loops

            fwd = max(fwd, _array_rel(listing_out, np.asarray(loops.predict(net, params, X))))
        res = four_way(net, params, X, Gamma, rho1, rho2, full_fd=not args.no_fd,
                       n_fd=0, with_loops=have_loops)
        d_fused, d_loops, d_fd = res["fused"], res["loops"], res["fd"]
        ok = (fwd <= args.tol and d_fused <= args.tol
              and (d_loops is None or d_loops <= args.tol)
              and (d_fd is None or d_fd <= args.tol_fd))
        failures += not ok
        worst["fwd"] = max(worst["fwd"], fwd)
        worst["fused"] = max(worst["fused"], d_fused)
        if d_loops is not None:
            worst["loops"] = max(worst["loops"], d_loops)
        if d_fd is not None:
            worst["fd"] = max(worst["fd"], d_fd)
        nparam = net.parameter_count()["book"]
        print(f"{trial:>5} {_describe(net):<52.52} {N:>2} {nparam:>6} {_fmt(fwd)} "
              f"{_fmt(d_fused)} {_fmt(d_loops)} {_fmt(d_fd)}  {'yes' if ok else 'NO'}")
    print("-" * len(head))
    print(f"{'worst':>5} {'':<52} {'':>2} {'':>6} {_fmt(worst['fwd'])} {_fmt(worst['fused'])} "
          f"{_fmt(worst['loops'] if have_loops else None)} "
          f"{_fmt(None if args.no_fd else worst['fd'])}")
    secs = time.perf_counter() - t0
    if failures:
        print(f"DISAGREEMENT in {failures} of {args.trials} trials ({secs:.1f} s)")
        return 1
    print(f"all {args.trials} trials agree ({secs:.1f} s)")
    return 0
