r"""Timing of one full derivative of :math:`J_{emp}` (47.1229) by every implementation.

The measured computation is the forward pass (47.1216) and the training listing's derivatives
(47.1275) of every parameter, float64, on a batch of ``N`` images:

* ``loops``: :func:`sayedcnn.reference.loops.gradients`, scalar loops over the book's index
  equations;
* ``listing``: :func:`sayedcnn.training.gradients_listing`, (47.1275) line for line with
  :math:`V^{(d,d',c+1)}` (47.1257) built for every pair of maps, sample by sample;
* ``fused``: the engine, :func:`sayedcnn.fused.gradients_fused`, the same algebra batched,
  with one :class:`~sayedcnn.fused.Engine` (its work space) kept across the timed calls as
  ``fit`` keeps one per run;
* ``torch``: the same network in PyTorch (float64, autograd), built by
  :func:`sayedcnn.interop.torch.to_torch` from the book-shaped parameters, its gradients
  converted back and checked equal to the fused ones before any timing.

* ``gemm``: the engine's matrix products alone, on arrays of the same shapes and layout
  (:func:`gemm_products`): the GEMM bound, i.e. the products' flop count at the rate numpy
  reaches on them in the same run.

Every method of a cell (workload, batch size) is timed in one process with interleaved
repeats (each round runs every method for a block of 5 timed calls, after one untimed call
that lets the previous method's threads go idle), and the median is reported. Inputs are
validated once, outside the timed calls. PyTorch runs with ``torch.set_num_threads`` equal
to the threads of numpy's BLAS (threadpoolctl). A scaling table times the fused path per
sample against the image side ``L`` and the depth of the maps, and fits the growth exponent
against ``L``, the depth, and the book's work :math:`\sum_c P_c S_c D_{c-1} D_c`.

Workloads:

* ``W1`` (seed 002's network): 28x28x1 -> 20 maps 5x5 'valid', sigmoid -> 2x2 max-pool ->
  FC 100 sigmoid -> 10 sigmoid;
* ``W2`` (book style): 28x28x1 -> 6 maps 5x5 'same', tanh -> 2x2 max-pool -> 16 maps 5x5
  'same', tanh -> 2x2 max-pool -> FC 64 tanh -> 10 sigmoid.

:func:`profile_cell` (``bench --profile``) splits the engine's time into its kinds of work
(GEMM, activations, pooling forward and backward, the scatter of (47.1258), patch copies,
allocation, other entrywise work, Python between the operations) with the clock of
:class:`~sayedcnn.fused.Engine`; :func:`train_bench` (``bench --train``) times one epoch of
the ``train`` command's network on MNIST-5k in the engine and in PyTorch.

PyTorch and threadpoolctl are optional and imported inside the functions that use them.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import statistics
import time
import tracemalloc

import numpy as np

from .. import fused
from ..fused import Engine, gradients_fused
from ..network import Conv, Network
from ..training import gradients_listing

__all__ = [
    "WORKLOADS",
    "TARGETS",
    "workload",
    "work",
    "gradient_flops",
    "gemm_products",
    "machine_info",
    "blas_info",
    "time_interleaved",
    "peak_memory",
    "torch_gradient",
    "matmul_gflops",
    "fit_exponent",
    "bench_cell",
    "scaling",
    "run",
    "format_report",
    "profile_cell",
    "profile",
    "format_profile",
    "train_bench",
    "format_train",
    "to_json",
]

WORKLOADS = {
    "W1": "28x28x1 -> 20 maps 5x5 'valid', sigmoid -> 2x2 max-pool -> FC 100 sigmoid -> "
          "10 sigmoid (seed 002)",
    "W2": "28x28x1 -> 6 maps 5x5 'same', tanh -> 2x2 max-pool -> 16 maps 5x5 'same', tanh "
          "-> 2x2 max-pool -> FC 64 tanh -> 10 sigmoid (book style)",
}

#: The performance targets: (ratio, workload, batch, bound). ``fused/gemm`` is the engine's
#: time over its GEMM bound (the same products alone, timed in the same run).
TARGETS = [
    ("fused/torch", "W1", 1, 0.5), ("fused/torch", "W1", 64, 0.7),
    ("fused/torch", "W2", 1, 0.5), ("fused/torch", "W2", 64, 0.7),
    ("listing/fused", "W2", 1, 20.0), ("fused/gemm", "W2", 64, 2.0),
]

#: The target of ``bench --train``: engine epoch / PyTorch epoch.
TRAIN_TARGET = 0.8

#: The largest relative difference accepted between torch's and the fused derivatives.
TORCH_TOL = 1e-9

METHODS = ("fused", "torch", "listing", "loops", "gemm")


# ---------------------------------------------------------------------------
# Workloads and their sizes
# ---------------------------------------------------------------------------


def workload(name, side=28, depth=1):
    r"""The network of workload ``name`` (``"W1"`` or ``"W2"``) on ``side x side`` images,
    with every number of maps :math:`D_c` multiplied by ``depth``.

    Examples
    --------
    >>> from sayedcnn.app.bench import workload
    >>> net = workload("W2")
    >>> [ly.D for ly in net.layers], net.n[1:]      # n_1 = 16 maps x 7 x 7
    ([6, 16], [784, 64, 10])
    """
    depth = int(depth)
    if depth < 1:
        raise ValueError(f"depth must be a positive integer multiplier of D_c, got {depth}")
    if name == "W1":
        return Network((side, side), 1,
                       [Conv(20 * depth, 5, padding="valid", activation="sigmoid",
                             pool=("max", 2))],
                       hidden=[100], outputs=10, hidden_activation="sigmoid",
                       output_activation="sigmoid")
    if name == "W2":
        return Network((side, side), 1,
                       [Conv(6 * depth, 5, padding="same", activation="tanh", pool=("max", 2)),
                        Conv(16 * depth, 5, padding="same", activation="tanh",
                             pool=("max", 2))],
                       hidden=[64], outputs=10, hidden_activation="tanh",
                       output_activation="sigmoid")
    raise ValueError(f"workload must be one of {sorted(WORKLOADS)}, got {name!r}")


def work(net):
    r"""The book's work per sample, :math:`\sum_c P_c S_c D_{c-1} D_c` (the multiply-adds of
    every :math:`z^{(d,c)}` of (47.1216) with full connection tables).

    Examples
    --------
    >>> from sayedcnn.app.bench import work, workload
    >>> work(workload("W1"))                   # 576 units x 25 weights x 20 maps
    288000
    """
    return sum(ly.P * ly.S * ly.D_in * ly.D for ly in net.layers)


def gradient_flops(net, N):
    r"""Floating-point operations of the matrix products of one derivative of
    :math:`J_{emp}` on ``N`` samples: per correlation layer :math:`2NP_cS_c|\mathcal D|`
    for :math:`z` (47.1216), the same for (47.1271) and, for ``c > 1``, for
    :math:`V_{c-1}^T(\dots)` (47.1258); per feedforward layer :math:`2Nn_{\ell+1}n_\ell`
    three times (forward, (47.1263), :math:`W_\ell^T\delta`). Entrywise work is not counted.

    Examples
    --------
    >>> from sayedcnn.app.bench import gradient_flops, workload
    >>> net = workload("W1")
    >>> gradient_flops(net, 64) == 64 * gradient_flops(net, 1)   # linear in N
    True
    """
    f = 0
    for ly in net.layers:
        mac = N * ly.P * ly.S * int(ly.conn.sum())
        f += 2 * mac * (3 if ly.c > 1 else 2)
    for l in range(1, net.L):
        f += 3 * 2 * N * net.n[l] * net.n[l + 1]
    return f


def gemm_products(net, N, seed=0):
    r"""The dense matrix products of one engine derivative on ``N`` samples, as operand pairs
    of the shapes and memory layouts the engine uses: per correlation layer the patch rows
    times :math:`W_c` for :math:`z` (47.1216), their transpose times :math:`\Delta` for
    (47.1271) and, for ``c > 1``, :math:`\Delta W_c^T` before the scatter of (47.1258); per
    feedforward layer the forward product, (47.1263) (an outer product at ``N = 1``) and
    :math:`W_\ell^T\delta`. Returns ``[(label, A, B), ...]``; ``A @ B`` is the product
    (``np.outer`` for an outer product, marked by ``B`` being 1-D).

    Examples
    --------
    >>> from sayedcnn.app.bench import gemm_products, workload
    >>> pairs = gemm_products(workload("W1"), 1)
    >>> name, A, B = pairs[0]
    >>> name, A.shape, B.shape                 # patch rows times W_1 (47.1216)
    ('z1', (576, 25), (25, 20))
    """
    rng = np.random.default_rng(seed)
    out = []
    for ly in net.layers:
        G = rng.standard_normal((N * ly.P, ly.S * ly.D_in))
        W = rng.standard_normal((ly.S * ly.D_in, ly.D))
        D2 = rng.standard_normal((N * ly.P, ly.D))
        out.append((f"z{ly.c}", G, W))
        out.append((f"dW{ly.c}", G.T, D2))
        if ly.c > 1:
            out.append((f"back{ly.c}", D2, W.T))
    for l in range(1, net.L):
        y = rng.standard_normal((N, net.n[l]))
        Wl = rng.standard_normal((net.n[l + 1], net.n[l]))
        d = rng.standard_normal((N, net.n[l + 1]))
        out.append((f"ff{l}", y, Wl.T))
        out.append((f"dWff{l}", d[0], y[0]) if N == 1 else (f"dWff{l}", d.T, y))
        out.append((f"backff{l}", d, Wl))
    return out


def _gemm_flops(products):
    f = 0
    for _, A, B in products:
        f += 2 * A.size * B.size if B.ndim == 1 else 2 * A.shape[0] * A.shape[1] * B.shape[1]
    return f


def _gemm_fn(products):
    def fn():
        for _, A, B in products:
            np.outer(A, B) if B.ndim == 1 else A @ B
    return fn


# ---------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------


def blas_info():
    """numpy's BLAS as threadpoolctl reports it (library, version, kernel, threads), or what
    numpy's build says when threadpoolctl is missing.

    Examples
    --------
    >>> from sayedcnn.app.bench import blas_info
    >>> isinstance(blas_info(), dict)
    True
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"threadpoolctl": None, "threads": os.cpu_count()}
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"
             and "numpy" in p.get("filepath", "")]
    if not pools:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return {"threadpoolctl": "no BLAS found", "threads": os.cpu_count()}
    p = pools[0]
    return {"library": p.get("internal_api"), "version": p.get("version"),
            "kernel": p.get("architecture"), "threads": p.get("num_threads"),
            "threading_layer": p.get("threading_layer"), "file": os.path.basename(
                p.get("filepath", ""))}


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info():
    """CPU, cores, Python, numpy, scipy, BLAS, torch and the environment variables that
    change BLAS kernels or threads.

    Examples
    --------
    >>> from sayedcnn.app.bench import machine_info
    >>> info = machine_info()
    >>> "numpy" in info and "cpu" in info
    True
    """
    import scipy

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    info = {"cpu": _cpu_model(), "cores": cores, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "blas": blas_info(),
            "env": {k: os.environ.get(k) for k in
                    ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                     "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
            "torch": None}
    try:
        load = os.getloadavg()
        info["loadavg"] = [round(x, 2) for x in load]
    except (AttributeError, OSError):
        info["loadavg"] = None
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    return info


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def time_interleaved(fns, repeats, budget=None, block=1, settle=0.05):
    r"""Time each callable of ``fns`` (a dict) with interleaved repeats: round ``r`` calls
    every method that still needs samples, in turn, ``block`` timed calls at a time. One
    untimed warm-up call each first, and, for methods faster than ``settle`` seconds, one
    untimed call at the start of every block, which absorbs what the previous method left
    behind (its thread pools still spinning, its data in the caches).

    ``repeats`` is the largest number of samples; with ``budget`` (seconds) a method whose
    warm-up took ``w`` gets ``max(3, min(repeats, budget / w))`` (at least 1 if ``repeats``
    is smaller). Returns ``{name: [seconds, ...]}``.

    Examples
    --------
    >>> from sayedcnn.app.bench import time_interleaved
    >>> res = time_interleaved({"sum": lambda: sum(range(100)), "max": lambda: max(range(9))}, 5)
    >>> sorted(res), len(res["sum"])          # five timed calls of each, in seconds
    (['max', 'sum'], 5)
    """
    want, fast = {}, {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        fn()
        w = time.perf_counter() - t0
        fast[name] = w < settle
        n = repeats
        if budget is not None and w > 0:
            n = int(max(min(3, repeats), min(repeats, budget / w)))
        want[name] = max(1, n)
    times = {name: [] for name in fns}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        while any(len(times[n]) < want[n] for n in fns):
            for name, fn in fns.items():
                todo = min(block, want[name] - len(times[name]))
                if todo > 0 and fast[name] and len(fns) > 1:
                    fn()  # settle after the previous method
                for _ in range(todo):
                    t0 = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - t0)
    finally:
        if gc_was:
            gc.enable()
    return times


def peak_memory(fn):
    """Peak bytes allocated through Python's allocators (numpy's arrays included) during one
    call of ``fn``, by :mod:`tracemalloc`.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.bench import peak_memory
    >>> peak_memory(lambda: np.ones(1_000_000)) >= 8_000_000   # one array of 8 MB
    True
    """
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def fit_exponent(x, y):
    r"""The least-squares slope of :math:`\log y` against :math:`\log x` (the growth
    exponent ``a`` in :math:`y \propto x^a`); ``nan`` with fewer than two distinct ``x``.

    Examples
    --------
    >>> from sayedcnn.app.bench import fit_exponent
    >>> round(fit_exponent([1, 2, 4, 8], [3, 12, 48, 192]), 12)   # y = 3 x^2
    2.0
    """
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if np.unique(x).size < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def matmul_gflops(shapes=((1024, 1024, 1024),), repeats=5):
    """Measured float64 ``numpy.matmul`` GFLOP/s for ``(m, k, n)`` shapes: a dict keyed
    ``"m x k x n"`` with the median rate.

    Examples
    --------
    >>> from sayedcnn.app.bench import matmul_gflops
    >>> rates = matmul_gflops(((64, 64, 64),), repeats=2)
    >>> list(rates), rates["64 x 64 x 64"] > 0
    (['64 x 64 x 64'], True)
    """
    rng = np.random.default_rng(0)
    out = {}
    for m, k, n in shapes:
        A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        t = time_interleaved({"mm": lambda A=A, B=B: A @ B}, repeats)["mm"]
        out[f"{m} x {k} x {n}"] = 2.0 * m * k * n / statistics.median(t) / 1e9
    return out


# ---------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------


def _torch_threads():
    b = blas_info()
    n = b.get("threads")
    return int(n) if isinstance(n, int) and n > 0 else (os.cpu_count() or 1)


def _lean_risk(module, rho1, rho2, book_ties=False):
    r"""``J(X, Gamma)``: :math:`J_{emp}` (47.1229) of a :class:`~sayedcnn.interop.torch.BookCNN`
    written with plain ``torch.nn.functional`` calls on its parameter tensors (no shape
    checks, padding inside ``conv2d`` where it is symmetric), as one would write the network
    in PyTorch directly. With ``book_ties`` max pooling keeps the first maximum in the
    book's region order (column-major, 47.1196b) as the bridge does, by pooling the
    transposed map; else in torch's row-major order (the same wherever a block has one
    maximum)."""
    import torch
    import torch.nn.functional as F

    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
            "linear": lambda z: z, "softmax": lambda z: torch.softmax(z, dim=-1)}
    convs = []
    for m in module.conv:
        left, right, top, bottom = m.pad
        symmetric = left == right and top == bottom
        pool = None
        if m.pool_kind == "max" and book_ties:
            pool = (lambda y, blk, st: F.max_pool2d(y.transpose(2, 3), blk[::-1], st[::-1])
                    .transpose(2, 3), m.pool_block, m.pool_stride)
        elif m.pool_kind == "max":
            pool = (F.max_pool2d, m.pool_block, m.pool_stride)
        elif m.pool_kind == "mean":
            pool = (F.avg_pool2d, m.pool_block, m.pool_stride)
        convs.append((m, symmetric, (top, left), acts[m.activation], pool))
    ff = [(lin, acts[a]) for lin, a in zip(module.ff, module.ff_activation)]
    quadratic = module.net.loss.name == "quadratic"

    def J(X, G):
        t = X
        for m, symmetric, pad, f, pool in convs:
            w = m.weight if m.table is None else m.weight * m.table
            if symmetric:
                z = F.conv2d(t, w, m.bias, stride=m.stride, padding=pad)  # (47.1133)
            else:
                z = F.conv2d(F.pad(t, m.pad), w, m.bias, stride=m.stride)
            y = f(z)
            t = m.pool(y) if pool is None else pool[0](y, pool[1], pool[2])  # (47.1208)
        y = t.transpose(2, 3).reshape(t.shape[0], -1)  # (47.1215)
        z = y
        for lin, f in ff:
            z = F.linear(y, lin.weight, lin.bias)  # z = W y - theta (47.1216)
            y = f(z)
        if quadratic:
            J = ((y - G) ** 2).sum() / G.shape[0]  # (47.1229)
        else:
            J = -(G * torch.log_softmax(z, dim=-1)).sum() / G.shape[0]
        if rho1 or rho2:
            J = J + module.regulariser(rho1, rho2)
        return J

    return J


def torch_gradient(net, params, X, Gamma, rho1=0.0, rho2=0.0):
    r"""A callable that computes the derivatives of :math:`J_{emp}` (47.1229) in PyTorch
    (float64 autograd), and the same derivatives in the book's shapes (a
    :class:`~sayedcnn.network.Params`).

    The parameters are converted by :func:`sayedcnn.interop.torch.to_torch`; the timed
    function writes the network with plain ``torch.nn.functional`` calls on them
    (:func:`_lean_risk`), and its :math:`J_{emp}` is checked equal to the bridge module's.
    Returns ``(fn, grads)``: ``fn()`` runs forward and backward once (what is timed);
    ``grads`` comes from one ``backward()`` of the same function, converted by
    :func:`sayedcnn.interop.torch.grads_from_torch`.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.bench import torch_gradient
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> p, X, Gamma = net.init(0), np.ones((2, 1, 4, 4)), np.eye(2)
    >>> fn, grads = torch_gradient(net, p, X, Gamma)
    >>> grads.max_rel_diff(net.gradients(p, X, Gamma)) < 1e-12
    True
    """
    import torch

    from ..interop.torch import grads_from_torch, to_torch

    module = to_torch(net, params)
    Xt = torch.tensor(np.ascontiguousarray(X), dtype=torch.float64)
    Gt = torch.tensor(np.ascontiguousarray(Gamma), dtype=torch.float64)
    J = _lean_risk(module, rho1, rho2)
    module.zero_grad()
    value = J(Xt, Gt)
    value.backward()
    ref = float(module.risk(Xt, Gt, rho1, rho2).detach())
    if not abs(float(value.detach()) - ref) <= 1e-12 * max(1.0, abs(ref)):
        raise RuntimeError(f"the plain torch J_emp (47.1229) {float(value):.17g} differs from "
                           f"the bridge module's {ref:.17g}")
    grads = grads_from_torch(net, module)
    leaves = list(module.parameters())

    def fn():
        return torch.autograd.grad(J(Xt, Gt), leaves)

    return fn, grads


# ---------------------------------------------------------------------------
# One cell and the scaling table
# ---------------------------------------------------------------------------


def _problem(net, N, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((N, net.input_depth, *net.input_shape))
    labels = rng.integers(0, net.Q, N)
    Gamma = np.eye(net.Q)[labels]
    params = net.init(seed, bias_scale=0.1)
    return params, X, Gamma


def bench_cell(net, N, methods=METHODS, repeats=200, budget=1.0, memory=True, seed=0,
               block=5):
    r"""Time the methods on one network and batch size ``N``.

    The methods are timed by :func:`time_interleaved` in blocks of ``block`` calls.
    Returns a dict: ``times`` (median seconds per method), ``repeats``, ``peak_bytes``
    (numpy methods, by :func:`peak_memory`), ``flops`` (:func:`gradient_flops`),
    ``gflops`` (achieved, per method) and, when ``"torch"`` is among the methods,
    ``torch_check`` (largest relative difference of torch's derivatives from the fused
    ones; a ``RuntimeError`` is raised above :data:`TORCH_TOL`, before any timing). With
    ``"gemm"`` among the methods, its time is the GEMM bound (:func:`gemm_products`) and
    ``gemm_flops`` their flop count.

    Examples
    --------
    >>> from sayedcnn.app.bench import bench_cell, workload
    >>> cell = bench_cell(workload("W1", side=8), 1, methods=("fused", "listing"), repeats=3,
    ...                   budget=0.01, memory=False)
    >>> sorted(cell["times"])
    ['fused', 'listing']
    """
    params, X, Gamma = _problem(net, N, seed)
    params = net.check_params(params)
    X = net.check_images(X)
    Gamma = net.check_targets(Gamma, N)
    engine = Engine(net)
    fns = {}
    cell = {"N": N}
    for m in methods:
        if m == "fused":
            fns[m] = lambda: fused._gradients(net, params, X, Gamma, 0.0, 0.0, "1229", engine)
        elif m == "gemm":
            products = gemm_products(net, N, seed)
            cell["gemm_flops"] = _gemm_flops(products)
            fns[m] = _gemm_fn(products)
        elif m == "listing":
            fns[m] = lambda: gradients_listing(net, params, X, Gamma)
        elif m == "loops":
            from ..reference import loops

            fns[m] = lambda: loops.gradients(net, params, X, Gamma)
        elif m == "torch":
            import torch

            torch.set_num_threads(_torch_threads())
            fn, g_torch = torch_gradient(net, params, X, Gamma)
            diff = gradients_fused(net, params, X, Gamma).max_rel_diff(g_torch)
            cell["torch_check"] = diff
            cell["torch_threads"] = torch.get_num_threads()
            if not diff <= TORCH_TOL:
                raise RuntimeError(f"torch's derivatives of J_emp (47.1229) differ from the "
                                   f"fused ones by {diff:.3g} relative (> {TORCH_TOL:g}); "
                                   f"not timing")
            fns[m] = fn
        else:
            raise ValueError(f"method must be one of {METHODS}, got {m!r}")
    times = time_interleaved(fns, repeats, budget, block=block)
    cell["times"] = {m: statistics.median(t) for m, t in times.items()}
    cell["repeats"] = {m: len(t) for m, t in times.items()}
    flops = gradient_flops(net, N)
    cell["flops"] = flops
    cell["gflops"] = {m: flops / t / 1e9 for m, t in cell["times"].items()}
    if memory:
        cell["peak_bytes"] = {m: peak_memory(fns[m]) for m in fns if m not in ("torch", "gemm")}
    return cell


def scaling(name="W2", sides=(16, 32, 64, 128), depths=(1, 2, 4), depth_side=32, N=8,
            repeats=20, budget=0.5):
    r"""Fused time per sample of workload ``name`` against the image side ``L`` (depth 1)
    and against the depth multiplier (side ``depth_side``), batch ``N``. Returns the rows
    (``side``, ``depth``, ``work`` = :math:`\sum_c P_cS_cD_{c-1}D_c`, ``seconds_per_sample``)
    and the fitted exponents of time against ``L``, depth and work.

    Examples
    --------
    >>> from sayedcnn.app.bench import scaling
    >>> rows = scaling(sides=(8, 16), depths=(1,), depth_side=8, N=1, repeats=2, budget=0.01)
    >>> [(r["series"], r["side"]) for r in rows["rows"]], round(rows["work_exponent_side"], 12)
    ([('side', 8), ('side', 16), ('depth', 8)], 2.0)
    """
    rows = []
    for series, pts in (("side", [(s, 1) for s in sides]),
                        ("depth", [(depth_side, d) for d in depths])):
        for side, depth in pts:
            net = workload(name, side, depth)
            cell = bench_cell(net, N, methods=("fused",), repeats=repeats, budget=budget,
                              memory=False)
            rows.append({"series": series, "side": side, "depth": depth, "work": work(net),
                         "seconds_per_sample": cell["times"]["fused"] / N})
    side_rows = [r for r in rows if r["series"] == "side"]
    depth_rows = [r for r in rows if r["series"] == "depth"]
    return {
        "workload": name, "N": N, "rows": rows,
        "exponent_side": fit_exponent([r["side"] for r in side_rows],
                                      [r["seconds_per_sample"] for r in side_rows]),
        "exponent_depth": fit_exponent([r["depth"] for r in depth_rows],
                                       [r["seconds_per_sample"] for r in depth_rows]),
        "exponent_work": fit_exponent([r["work"] for r in rows],
                                      [r["seconds_per_sample"] for r in rows]),
        "work_exponent_side": fit_exponent([r["side"] for r in side_rows],
                                           [r["work"] for r in side_rows]),
        "work_exponent_depth": fit_exponent([r["depth"] for r in depth_rows],
                                            [r["work"] for r in depth_rows]),
    }


# ---------------------------------------------------------------------------
# The whole benchmark
# ---------------------------------------------------------------------------


def _have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _ratio(times, a, b):
    if a in times and b in times and times[b] > 0:
        return times[a] / times[b]
    return None


def run(workloads=("W1", "W2"), batches=(1, 64), side=28, torch=None, listing=True,
        loops=True, slow_batches=(1,), repeats=200, budget=1.0, do_scaling=True,
        scaling_kw=None, memory=True, matmul=True, progress=None, threads=None):
    r"""Run the benchmark; returns a dict (JSON-ready) with ``machine``, ``cells``
    (per workload and batch: times, repeats, peak memory, FLOPs, the torch check),
    ``ratios`` (``fused/torch``, ``listing/fused``, ``loops/fused``), ``targets`` (each
    target of :data:`TARGETS` with its measured value and whether it is met), ``scaling``
    and ``matmul`` (measured GFLOP/s).

    ``torch=None`` uses PyTorch when it is installed. ``listing`` and ``loops`` run only at
    the batch sizes in ``slow_batches``. ``progress`` is called with a line of text as each
    cell finishes. ``threads`` limits numpy's BLAS (threadpoolctl), the fused path's
    entrywise threads and PyTorch to that many threads for the run.

    Examples
    --------
    >>> from sayedcnn.app.bench import format_report, run
    >>> res = run(workloads=("W1",), batches=(1,), side=8, torch=False, listing=False,
    ...           loops=False, repeats=3, budget=0.01, do_scaling=False, memory=False,
    ...           matmul=False)
    >>> list(res["cells"]["W1"])
    ['1']
    """
    return _limited(threads, lambda: _run(workloads, batches, side, torch, listing, loops,
                                          slow_batches, repeats, budget, do_scaling,
                                          scaling_kw, memory, matmul, progress))


def _limited(threads, fn):
    """``fn()`` with numpy's BLAS, the engine's entrywise threads (and so PyTorch, which
    follows numpy's BLAS) limited to ``threads``; ``settings["threads"]`` of the result
    records it."""
    if threads is None:
        return fn()
    if isinstance(threads, bool) or int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    threads = int(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:  # an optional extra
        raise ValueError("--threads needs threadpoolctl: pip install \".[bench]\"") from exc

    saved = fused._SPLIT["threads"]
    fused._SPLIT["threads"] = threads
    try:
        with threadpool_limits(threads, user_api="blas"):
            res = fn()
    finally:
        fused._SPLIT["threads"] = saved
    res["settings"]["threads"] = threads
    return res


def _run(workloads, batches, side, torch, listing, loops, slow_batches, repeats, budget,
         do_scaling, scaling_kw, memory, matmul, progress):
    if torch is None:
        torch = _have_torch()
    say = progress or (lambda s: None)
    out = {"machine": machine_info(),
           "settings": {"workloads": list(workloads), "batches": list(batches), "side": side,
                        "repeats": repeats, "budget_seconds": budget, "torch": bool(torch),
                        "listing": listing, "loops": loops, "slow_batches": list(slow_batches),
                        "rho1": 0.0, "rho2": 0.0, "dtype": "float64", "threads": None,
                        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")},
           "workloads": {}, "cells": {}, "ratios": {}, "targets": []}
    for name in workloads:
        net = workload(name, side)
        out["workloads"][name] = {"description": WORKLOADS[name], "work": work(net),
                                  "parameters": net.parameter_count()}
        out["cells"][name], out["ratios"][name] = {}, {}
        for N in batches:
            methods = ["fused", "gemm"]
            if torch:
                methods.append("torch")
            if N in slow_batches:
                methods += (["listing"] if listing else []) + (["loops"] if loops else [])
            cell = bench_cell(net, N, methods, repeats=repeats, budget=budget, memory=memory)
            out["cells"][name][str(N)] = cell
            t = cell["times"]
            out["ratios"][name][str(N)] = {"fused/torch": _ratio(t, "fused", "torch"),
                                           "listing/fused": _ratio(t, "listing", "fused"),
                                           "loops/fused": _ratio(t, "loops", "fused"),
                                           "fused/gemm": _ratio(t, "fused", "gemm")}
            say(f"{name} N={N}: " + ", ".join(f"{m} {t[m] * 1e3:.3f} ms" for m in t))
    for ratio, name, N, bound in TARGETS:
        value = out["ratios"].get(name, {}).get(str(N), {}).get(ratio)
        out["targets"].append({"ratio": ratio, "workload": name, "N": N, "bound": bound,
                               "value": value, "met": None if value is None else value <= bound})
    if do_scaling:
        out["scaling"] = scaling(**(scaling_kw or {}))
        say("scaling done")
    if matmul:
        W2 = workload("W2", side)
        ly = W2.layers[-1]
        big = max(batches)
        out["matmul"] = matmul_gflops(((1024, 1024, 1024),
                                       (big * ly.P, ly.S * ly.D_in, ly.D)))
    return out


# ---------------------------------------------------------------------------
# Where the engine's time goes
# ---------------------------------------------------------------------------

#: The kinds of work of :meth:`sayedcnn.fused.Engine.lap`, in the order they are printed.
PROFILE_KINDS = ("gemm", "activation", "pool forward", "pool backward", "scatter", "patches",
                 "alloc", "entrywise", "python")


def _minor_faults():
    try:
        import resource
    except ImportError:  # not on every platform
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def profile_cell(net, N, repeats=100, budget=1.0, seed=0):
    r"""Where one engine derivative of :math:`J_{emp}` on ``N`` samples spends its time.

    Calls with the engine's clock on (:meth:`~sayedcnn.fused.Engine.start_profile`: every
    operation's time goes to its kind of work, :data:`PROFILE_KINDS`; ``python`` is the time
    between the operations) are interleaved with plain calls and with the engine's GEMMs
    alone (:func:`gemm_products`). Returns a dict: ``total`` (median plain call),
    ``profiled`` (median of the profiled calls' sums), ``kinds`` (median seconds per kind),
    ``laps`` (clock readings per call) and ``lap_cost`` (seconds per reading, included in
    ``python``), ``gemm_bound`` and ``faults`` (minor page faults per plain call: fresh
    memory touched, whose cost is inside the kinds that touched it).

    Examples
    --------
    >>> from sayedcnn.app.bench import profile_cell, workload
    >>> prof = profile_cell(workload("W1", side=8), 1, repeats=3, budget=0.01)
    >>> "gemm" in prof["kinds"]
    True
    """
    params, X, Gamma = _problem(net, N, seed)
    params = net.check_params(params)
    X = net.check_images(X)
    Gamma = net.check_targets(Gamma, N)
    engine = Engine(net)
    profs = []

    def plain():
        fused._gradients(net, params, X, Gamma, 0.0, 0.0, "1229", engine)

    def profiled():
        engine.start_profile()
        fused._gradients(net, params, X, Gamma, 0.0, 0.0, "1229", engine)
        profs.append((engine.laps, engine.stop_profile()))

    products = gemm_products(net, N, seed)
    times = time_interleaved({"plain": plain, "profiled": profiled,
                              "gemm": _gemm_fn(products)}, repeats, budget, block=5)
    profs = profs[1:]  # the warm-up call
    kinds = {k: statistics.median(p.get(k, 0.0) for _, p in profs) for k in PROFILE_KINDS}
    other = {k for _, p in profs for k in p} - set(PROFILE_KINDS)
    for k in sorted(other):
        kinds[k] = statistics.median(p.get(k, 0.0) for _, p in profs)
    engine.start_profile()
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        engine.lap()
    lap_cost = (time.perf_counter() - t0) / n
    engine.stop_profile()
    f0, k = _minor_faults(), 20
    for _ in range(k):
        plain()
    f1 = _minor_faults()
    faults = None if f0 is None else (f1 - f0) / k
    return {"N": N, "total": statistics.median(times["plain"]),
            "profiled": statistics.median(sum(p.values()) for _, p in profs),
            "kinds": kinds, "laps": profs[0][0] if profs else 0, "lap_cost": lap_cost,
            "gemm_bound": statistics.median(times["gemm"]),
            "gemm_flops": _gemm_flops(products), "faults": faults, "repeats": len(profs)}


def profile(workloads=("W1", "W2"), batches=(1, 64), side=28, repeats=100, budget=1.0,
            threads=None, progress=None):
    """:func:`profile_cell` for every workload and batch size; a dict with ``machine``,
    ``settings`` and ``profiles[workload][N]``.

    Examples
    --------
    >>> from sayedcnn.app.bench import profile
    >>> res = profile(workloads=("W1",), batches=(1,), side=8, repeats=3, budget=0.01)
    >>> list(res["profiles"]["W1"])
    ['1']
    """
    def go():
        say = progress or (lambda s: None)
        out = {"machine": machine_info(),
               "settings": {"workloads": list(workloads), "batches": list(batches),
                            "side": side, "repeats": repeats, "budget_seconds": budget,
                            "threads": None, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")},
               "profiles": {}}
        for name in workloads:
            net = workload(name, side)
            out["profiles"][name] = {}
            for N in batches:
                out["profiles"][name][str(N)] = profile_cell(net, N, repeats, budget)
                say(f"{name} N={N} profiled")
        return out

    return _limited(threads, go)


def format_profile(res):
    """The profiles of :func:`profile` as a table: milliseconds and share of each kind of
    work per workload and batch size.

    Examples
    --------
    >>> from sayedcnn.app.bench import format_profile, profile
    >>> res = profile(workloads=("W1",), batches=(1,), side=8, repeats=3, budget=0.01)
    >>> "gemm" in format_profile(res)
    True
    """
    lines = _header(res["machine"], res["settings"])
    cells = [(name, N, p) for name, ps in res["profiles"].items() for N, p in ps.items()]
    kinds = list(PROFILE_KINDS) + sorted({k for _, _, p in cells for k in p["kinds"]}
                                         - set(PROFILE_KINDS))
    head = f"  {'kind of work':<22}" + "".join(f"{name + ' N=' + N:>16}" for name, N, _ in cells)
    lines += ["where the engine's time goes (median ms per call, share of the profiled sum)",
              head]
    for k in kinds:
        row = f"  {k:<22}"
        for _, _, p in cells:
            v = p["kinds"].get(k, 0.0)
            row += f"{v * 1e3:9.3f} {100 * v / p['profiled']:4.0f}% "
        lines.append(row)
    rows = [("profiled sum", lambda p: f"{p['profiled'] * 1e3:9.3f}      "),
            ("plain call", lambda p: f"{p['total'] * 1e3:9.3f}      "),
            ("GEMM bound", lambda p: f"{p['gemm_bound'] * 1e3:9.3f}      "),
            ("plain / GEMM bound", lambda p: f"{p['total'] / p['gemm_bound']:9.2f}      "),
            ("clock readings", lambda p: f"{p['laps']:9d}      "),
            ("  cost (in python)", lambda p: f"{p['laps'] * p['lap_cost'] * 1e3:9.3f}      "),
            ("page faults", lambda p: "        -       " if p["faults"] is None
             else f"{p['faults']:9.1f}      ")]
    for label, f in rows:
        lines.append(f"  {label:<22}" + "".join(f(p) for _, _, p in cells))
    lines += ["",
              "gemm: the matrix products; activation: f (47.1154); pool forward: Table 47.13;",
              "pool backward: f' and permute#(upv(.)) (47.1245, 47.1262); scatter: V_(c-1)^T of",
              "(47.1258); patches: the strided copies of the patch rows (47.1225) and the",
              "flattening (47.1215); alloc: the work space's buffers; entrywise: the rest",
              "(biases, delta_L, f' of the feedforward layers, scaling); python: between the",
              "operations, with the clock's own cost. Page faults: fresh memory touched per",
              "call; their time is inside the kinds above."]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# One epoch of training
# ---------------------------------------------------------------------------


def _torch_trainer(net, params, mu, rho1=0.0, rho2=0.0):
    r"""``(step, get)``: one plain SGD step (47.1276) of the same network in PyTorch (float64
    autograd through the bridge's parameters, max pooling with the book's ties) and the
    current parameters in the book's shapes.

    The book's :math:`\Theta_c` has one entry per connected pair of maps, and only its column
    sums reach :math:`z` (47.1216); each entry's derivative is the whole bias derivative
    (47.1274), so a step on :math:`\Theta_c` moves the column sum of map ``d`` by
    :math:`|\mathcal D_d|` times :math:`\mu` times that derivative. The torch bias ``b_d``
    takes the same step: :math:`\mu |\mathcal D_d|`, the number of maps of layer ``c-1``
    the table (47.1213) connects to ``d``."""
    import torch

    from ..interop.torch import params_from_torch, to_torch

    module = to_torch(net, params)
    J = _lean_risk(module, rho1, rho2, book_ties=True)
    leaves = list(module.parameters())
    steps = [mu] * len(leaves)
    for ly, m in zip(net.layers, module.conv):
        k = next(i for i, p in enumerate(leaves) if p is m.bias)
        steps[k] = mu * torch.as_tensor(ly.conn.sum(axis=0), dtype=torch.float64)

    def step(Xb, Gb):
        grads = torch.autograd.grad(J(Xb, Gb), leaves)
        with torch.no_grad():
            for p, g, s in zip(leaves, grads, steps):
                p.sub_(s * g)  # (47.1276)

    def get():
        return params_from_torch(net, module)

    return step, get


def train_bench(epochs=3, batch_size=32, mu=0.1, check_steps=3, n_train=None, seed=0,
                torch=None, threads=None, progress=None):
    r"""Time one epoch of the ``train`` command's default run: its network (MNIST-5k preset:
    maps 16 and 32, 5x5 'same', relu, 2x2 max pooling, 64 hidden, softmax and
    cross-entropy), batch ``batch_size``, plain SGD (47.1276) with step ``mu`` over the
    4,000 training images (``n_train`` takes the first ones only), in the engine (one
    :class:`~sayedcnn.fused.Engine` for the run, as ``fit`` has) and in PyTorch (the same
    network through :mod:`sayedcnn.interop.torch`, its gradients by autograd).

    First ``check_steps`` steps are made on both from the same parameters and the parameters
    compared (largest relative difference, ``param_check``; a ``RuntimeError`` above
    :data:`TORCH_TOL`). Then ``epochs`` epochs of each are timed, interleaved (engine,
    torch, engine, ...), every one from the initial parameters in the same batch order
    (``default_rng([seed, 0])``, as ``fit``'s first epoch); the median epoch is reported,
    with the ratio engine/torch (target :data:`TRAIN_TARGET`).

    Examples
    --------
    >>> from sayedcnn.app.bench import train_bench
    >>> res = train_bench(epochs=1, n_train=64, torch=False)
    >>> list(res["times"]), res["ratio"]      # no torch: no ratio
    (['engine'], None)
    """
    def go():
        from ..app.commands.train import PRESETS, build_network
        from ..data.datasets import load_mnist5k
        from ..losses import one_hot

        use_torch = _have_torch() if torch is None else torch
        say = progress or (lambda s: None)
        pre = PRESETS["mnist5k"]
        data = load_mnist5k()
        X, y = data.X_train, data.y_train
        if n_train is not None:
            X, y = X[:n_train], y[:n_train]
        net = build_network(X.shape[2:], pre["depths"], pre["mask"], pre["hidden"])
        p0 = net.check_params(net.init(seed))
        X = net.check_images(X)
        Gamma = one_hot(y, net.Q)
        N = X.shape[0]
        order = np.random.default_rng([seed, 0]).permutation(N)
        batches = [order[s:s + batch_size] for s in range(0, N, batch_size)]
        out = {"machine": machine_info(),
               "settings": {"network": f"maps {pre['depths']}, mask {pre['mask']}, 'same', "
                                       f"relu, 2x2 max pool, hidden {pre['hidden']}, softmax, "
                                       f"cross-entropy", "N_train": N,
                            "batch_size": batch_size, "mu": mu, "epochs_timed": epochs,
                            "steps_per_epoch": len(batches), "threads": None,
                            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")},
               "times": {}, "target": TRAIN_TARGET}

        def engine_epoch(steps=None):
            engine, p = Engine(net), p0
            for idx in batches[:steps]:
                g = fused._gradients(net, p, X[idx], Gamma[idx], 0.0, 0.0, "1229", engine)
                p = p.map(lambda a, ga: a - mu * ga, g)  # (47.1276)
            return p

        fns = {"engine": engine_epoch}
        if use_torch:
            import torch as th

            th.set_num_threads(_torch_threads())
            Xt = th.tensor(X, dtype=th.float64)
            Gt = th.tensor(Gamma, dtype=th.float64)
            tb = [th.as_tensor(idx) for idx in batches]

            def torch_epoch(steps=None):
                step, get = _torch_trainer(net, p0, mu)
                for idx in tb[:steps]:
                    step(Xt[idx], Gt[idx])
                return get

            from ..interop.torch import params_from_torch, to_torch

            # only the column sums of Theta_c reach z (47.1216): compare both in the bridge's
            # form, the whole bias of map d on its first connected input map
            a = params_from_torch(net, to_torch(net, engine_epoch(check_steps)))
            b = torch_epoch(check_steps)()
            diff = a.max_rel_diff(b)
            out["param_check"] = diff
            out["check_steps"] = check_steps
            out["torch_threads"] = th.get_num_threads()
            if not diff <= TORCH_TOL:
                raise RuntimeError(f"after {check_steps} SGD steps (47.1276) the torch "
                                   f"parameters differ from the engine's by {diff:.3g} "
                                   f"relative (> {TORCH_TOL:g}); not timing")
            say(f"parameters after {check_steps} steps agree: {diff:.2e}")
            fns["torch"] = torch_epoch
        t = {k: [] for k in fns}
        for _ in range(epochs):
            for k, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                t[k].append(time.perf_counter() - t0)
                say(f"{k} epoch: {t[k][-1]:.2f} s")
        out["epoch_seconds"] = t
        out["times"] = {k: statistics.median(v) for k, v in t.items()}
        out["ratio"] = _ratio(out["times"], "engine", "torch")
        out["met"] = None if out["ratio"] is None else out["ratio"] <= TRAIN_TARGET
        return out

    return _limited(threads, go)


def format_train(res):
    """The result of :func:`train_bench` as text.

    Examples
    --------
    >>> from sayedcnn.app.bench import format_train, train_bench
    >>> text = format_train(train_bench(epochs=1, n_train=64, torch=False))
    >>> "engine" in text
    True
    """
    s = res["settings"]
    lines = _header(res["machine"], s)
    lines.append(f"one epoch: {s['network']}; {s['N_train']} MNIST-5k training images, batch "
                 f"{s['batch_size']} ({s['steps_per_epoch']} steps), SGD step {s['mu']}")
    if "param_check" in res:
        lines.append(f"parameters after {res['check_steps']} steps, torch vs engine: max "
                     f"relative difference {res['param_check']:.2e} ({res['torch_threads']} "
                     f"torch threads)")
    for k, v in res["times"].items():
        runs = ", ".join(f"{x:.2f}" for x in res["epoch_seconds"][k])
        lines.append(f"  {k:<7} median {v:7.3f} s per epoch  (runs: {runs})")
    if res.get("ratio") is not None:
        status = "met" if res["met"] else "NOT met"
        lines.append(f"  engine/torch {res['ratio']:.2f}  (target <= {res['target']}: "
                     f"{status})")
    return "\n".join(lines)


def _fmt_ms(t):
    return "-" if t is None else f"{t * 1e3:10.3f}"


def _fmt_ratio(r):
    return "-" if r is None else f"{r:.3g}"


def _header(m, settings):
    """The lines saying which machine, BLAS kernel and environment a run measured."""
    b = m["blas"]
    env = m["env"]
    return [f"machine: {m['cpu']}, {m['cores']} cores, load {m.get('loadavg')}, started "
            f"{settings.get('started')}, threads {settings.get('threads')}",
            f"python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, torch "
            f"{m['torch']}",
            f"BLAS: {b.get('library')} {b.get('version')} kernel {b.get('kernel')}, "
            f"{b.get('threads')} threads",
            "env: " + ", ".join(f"{k}={'unset' if env.get(k) is None else env[k]}"
                                for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) +
            "".join(f", {k}={v}" for k, v in env.items()
                    if v is not None and not k.startswith("OPENBLAS_C")
                    and k != "OPENBLAS_L2_SIZE"), ""]


def format_report(res):
    """The benchmark results of :func:`run` as printable text.

    Examples
    --------
    >>> from sayedcnn.app.bench import format_report, run
    >>> res = run(workloads=("W1",), batches=(1,), side=8, torch=False, listing=False,
    ...           loops=False, repeats=3, budget=0.01, do_scaling=False, memory=False,
    ...           matmul=False)
    >>> format_report(res).splitlines()[0].startswith("machine:")
    True
    """
    lines = _header(res["machine"], res["settings"])
    for name, cells in res["cells"].items():
        lines.append(f"{name}: {res['workloads'][name]['description']}")
        lines.append(f"  work sum_c P_c S_c D_(c-1) D_c = {res['workloads'][name]['work']}")
        lines.append(f"  {'N':>4} {'method':>8} {'median ms':>10} {'repeats':>7} "
                     f"{'GFLOP/s':>8} {'peak MiB':>9}")
        for N, cell in cells.items():
            for meth, t in cell["times"].items():
                if meth == "gemm":
                    continue
                peak = cell.get("peak_bytes", {}).get(meth)
                pk = "-" if peak is None else f"{peak / 2**20:9.2f}"
                lines.append(f"  {N:>4} {meth:>8} {_fmt_ms(t)} {cell['repeats'][meth]:>7} "
                             f"{cell['gflops'][meth]:8.2f} {pk:>9}")
            if "torch_check" in cell:
                lines.append(f"  {N:>4} torch derivatives vs fused: max relative difference "
                             f"{cell['torch_check']:.2e} ({cell['torch_threads']} threads)")
            if "gemm" in cell["times"]:
                g = cell["times"]["gemm"]
                lines.append(f"  {N:>4} GEMM bound: {cell['gemm_flops'] / 1e6:.1f} MFLOP of "
                             f"products in {g * 1e3:.3f} ms ({cell['gemm_flops'] / g / 1e9:.1f} "
                             f"GFLOP/s, numpy in this run)")
        lines.append(f"  {'N':>4} {'fused/torch':>12} {'listing/fused':>14} "
                     f"{'loops/fused':>12} {'fused/gemm':>11}")
        for N, r in res["ratios"][name].items():
            lines.append(f"  {N:>4} {_fmt_ratio(r['fused/torch']):>12} "
                         f"{_fmt_ratio(r['listing/fused']):>14} "
                         f"{_fmt_ratio(r['loops/fused']):>12} "
                         f"{_fmt_ratio(r.get('fused/gemm')):>11}")
        lines.append("")
    lines.append("targets:")
    for t in res["targets"]:
        status = "n/a" if t["met"] is None else ("met" if t["met"] else "NOT met")
        lines.append(f"  {t['ratio']:<14} {t['workload']} N={t['N']:<3} <= {t['bound']:<5} "
                     f"measured {_fmt_ratio(t['value']):>6}  {status}")
    if "scaling" in res:
        s = res["scaling"]
        lines += ["", f"scaling of the fused path ({s['workload']}, batch {s['N']}): time per "
                      f"sample", f"  {'side L':>6} {'depth':>5} {'work':>10} {'us/sample':>10}"]
        for r in s["rows"]:
            lines.append(f"  {r['side']:>6} {r['depth']:>5} {r['work']:>10} "
                         f"{r['seconds_per_sample'] * 1e6:10.1f}")
        lines.append(f"  fitted exponent: time ~ L^{s['exponent_side']:.2f} (work ~ "
                     f"L^{s['work_exponent_side']:.2f}), time ~ depth^"
                     f"{s['exponent_depth']:.2f} (work ~ depth^"
                     f"{s['work_exponent_depth']:.2f}), time ~ work^{s['exponent_work']:.2f}")
    if "matmul" in res:
        lines += ["", "numpy float64 matmul: " + ", ".join(
            f"{k}: {v:.1f} GFLOP/s" for k, v in res["matmul"].items())]
    return "\n".join(lines)


def quick_settings():
    """Keyword arguments of :func:`run` for a fast run (``--quick``): smaller batches and
    repeats, a short scaling table.

    Examples
    --------
    >>> from sayedcnn.app.bench import quick_settings
    >>> quick_settings()["batches"]
    (1, 16)
    """
    return {"batches": (1, 16), "repeats": 30, "budget": 0.2,
            "scaling_kw": {"sides": (16, 32, 64), "depths": (1, 2), "N": 4, "repeats": 5,
                           "budget": 0.1}}


def to_json(obj):
    """``obj`` with numpy scalars made Python numbers, tuples made lists and non-finite
    floats made ``None``, ready for :func:`json.dumps`.

    Examples
    --------
    >>> import json
    >>> import numpy as np
    >>> from sayedcnn.app.bench import to_json
    >>> json.dumps(to_json({"t": (np.float64(0.5), float("nan")), "n": np.int64(3)}))
    '{"t": [0.5, null], "n": 3}'
    """
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj
