r"""Timing of one full derivative of :math:`J_{emp}` (47.1229) by every implementation.

The measured computation is the forward pass (47.1216) and the training listing's derivatives
(47.1275) of every parameter, float64, on a batch of ``N`` images:

* ``loops``: :func:`sayedcnn.reference.loops.gradients`, scalar loops over the book's index
  equations;
* ``listing``: :func:`sayedcnn.training.gradients_listing`, (47.1275) line for line with
  :math:`V^{(d,d',c+1)}` (47.1257) built for every pair of maps, sample by sample;
* ``fused``: :func:`sayedcnn.training.gradients_fused`, the same algebra batched;
* ``torch``: the same network in PyTorch (float64, autograd), built by
  :func:`sayedcnn.interop.torch.to_torch` from the book-shaped parameters, its gradients
  converted back and checked equal to the fused ones before any timing.

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

from ..network import Conv, Network
from ..training import gradients_fused, gradients_listing

__all__ = [
    "WORKLOADS",
    "TARGETS",
    "workload",
    "work",
    "gradient_flops",
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
    "to_json",
]

WORKLOADS = {
    "W1": "28x28x1 -> 20 maps 5x5 'valid', sigmoid -> 2x2 max-pool -> FC 100 sigmoid -> "
          "10 sigmoid (seed 002)",
    "W2": "28x28x1 -> 6 maps 5x5 'same', tanh -> 2x2 max-pool -> 16 maps 5x5 'same', tanh "
          "-> 2x2 max-pool -> FC 64 tanh -> 10 sigmoid (book style)",
}

#: The performance targets: (ratio, workload, batch, bound).
TARGETS = [
    ("fused/torch", "W1", 1, 0.5), ("fused/torch", "W2", 1, 0.5),
    ("fused/torch", "W1", 64, 1.0), ("fused/torch", "W2", 64, 1.0),
    ("listing/fused", "W2", 1, 20.0),
]

#: The largest relative difference accepted between torch's and the fused derivatives.
TORCH_TOL = 1e-9

METHODS = ("fused", "torch", "listing", "loops")


# ---------------------------------------------------------------------------
# Workloads and their sizes
# ---------------------------------------------------------------------------


def workload(name, side=28, depth=1):
    r"""The network of workload ``name`` (``"W1"`` or ``"W2"``) on ``side x side`` images,
    with every number of maps :math:`D_c` multiplied by ``depth``."""
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
    every :math:`z^{(d,c)}` of (47.1216) with full connection tables)."""
    return sum(ly.P * ly.S * ly.D_in * ly.D for ly in net.layers)


def gradient_flops(net, N):
    r"""Floating-point operations of the matrix products of one derivative of
    :math:`J_{emp}` on ``N`` samples: per correlation layer :math:`2NP_cS_c|\mathcal D|`
    for :math:`z` (47.1216), the same for (47.1271) and, for ``c > 1``, for
    :math:`V_{c-1}^T(\dots)` (47.1258); per feedforward layer :math:`2Nn_{\ell+1}n_\ell`
    three times (forward, (47.1263), :math:`W_\ell^T\delta`). Entrywise work is not counted."""
    f = 0
    for ly in net.layers:
        mac = N * ly.P * ly.S * int(ly.conn.sum())
        f += 2 * mac * (3 if ly.c > 1 else 2)
    for l in range(1, net.L):
        f += 3 * 2 * N * net.n[l] * net.n[l + 1]
    return f


# ---------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------


def blas_info():
    """numpy's BLAS as threadpoolctl reports it (library, version, kernel, threads), or what
    numpy's build says when threadpoolctl is missing."""
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
    change BLAS kernels or threads."""
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
    call of ``fn``, by :mod:`tracemalloc`."""
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
    exponent ``a`` in :math:`y \propto x^a`); ``nan`` with fewer than two distinct ``x``."""
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if np.unique(x).size < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def matmul_gflops(shapes=((1024, 1024, 1024),), repeats=5):
    """Measured float64 ``numpy.matmul`` GFLOP/s for ``(m, k, n)`` shapes: a dict keyed
    ``"m x k x n"`` with the median rate."""
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


def _lean_risk(module, rho1, rho2):
    r"""``J(X, Gamma)``: :math:`J_{emp}` (47.1229) of a :class:`~sayedcnn.interop.torch.BookCNN`
    written with plain ``torch.nn.functional`` calls on its parameter tensors (no shape
    checks, padding inside ``conv2d`` where it is symmetric), as one would write the network
    in PyTorch directly."""
    import torch
    import torch.nn.functional as F

    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
            "linear": lambda z: z, "softmax": lambda z: torch.softmax(z, dim=-1)}
    convs = []
    for m in module.conv:
        left, right, top, bottom = m.pad
        symmetric = left == right and top == bottom
        pool = None
        if m.pool_kind == "max":
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
    ones; a ``RuntimeError`` is raised above :data:`TORCH_TOL`, before any timing).
    """
    params, X, Gamma = _problem(net, N, seed)
    params = net.check_params(params)
    X = net.check_images(X)
    Gamma = net.check_targets(Gamma, N)
    fns = {}
    cell = {"N": N}
    for m in methods:
        if m == "fused":
            fns[m] = lambda: gradients_fused(net, params, X, Gamma)
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
        cell["peak_bytes"] = {m: peak_memory(fns[m]) for m in fns if m != "torch"}
    return cell


def scaling(name="W2", sides=(16, 32, 64, 128), depths=(1, 2, 4), depth_side=32, N=8,
            repeats=20, budget=0.5):
    r"""Fused time per sample of workload ``name`` against the image side ``L`` (depth 1)
    and against the depth multiplier (side ``depth_side``), batch ``N``. Returns the rows
    (``side``, ``depth``, ``work`` = :math:`\sum_c P_cS_cD_{c-1}D_c`, ``seconds_per_sample``)
    and the fitted exponents of time against ``L``, depth and work."""
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
    """
    if threads is None:
        return _run(workloads, batches, side, torch, listing, loops, slow_batches, repeats,
                    budget, do_scaling, scaling_kw, memory, matmul, progress)
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:  # an optional extra
        raise ValueError("--threads needs threadpoolctl: pip install \".[bench]\"") from exc

    from .. import forward

    saved = forward._SPLIT["threads"]
    forward._SPLIT["threads"] = threads
    try:
        with threadpool_limits(threads, user_api="blas"):
            res = _run(workloads, batches, side, torch, listing, loops, slow_batches, repeats,
                       budget, do_scaling, scaling_kw, memory, matmul, progress)
    finally:
        forward._SPLIT["threads"] = saved
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
            methods = ["fused"]
            if torch:
                methods.append("torch")
            if N in slow_batches:
                methods += (["listing"] if listing else []) + (["loops"] if loops else [])
            cell = bench_cell(net, N, methods, repeats=repeats, budget=budget, memory=memory)
            out["cells"][name][str(N)] = cell
            t = cell["times"]
            out["ratios"][name][str(N)] = {"fused/torch": _ratio(t, "fused", "torch"),
                                           "listing/fused": _ratio(t, "listing", "fused"),
                                           "loops/fused": _ratio(t, "loops", "fused")}
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


def _fmt_ms(t):
    return "-" if t is None else f"{t * 1e3:10.3f}"


def _fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def format_report(res):
    """The benchmark results of :func:`run` as printable text."""
    m = res["machine"]
    b = m["blas"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, load {m.get('loadavg')}, started "
             f"{res['settings'].get('started')}, threads {res['settings'].get('threads')}",
             f"python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, torch "
             f"{m['torch']}",
             f"BLAS: {b.get('library')} {b.get('version')} kernel {b.get('kernel')}, "
             f"{b.get('threads')} threads; env " +
             ", ".join(f"{k}={v}" for k, v in m["env"].items() if v is not None), ""]
    for name, cells in res["cells"].items():
        lines.append(f"{name}: {res['workloads'][name]['description']}")
        lines.append(f"  work sum_c P_c S_c D_(c-1) D_c = {res['workloads'][name]['work']}")
        lines.append(f"  {'N':>4} {'method':>8} {'median ms':>10} {'repeats':>7} "
                     f"{'GFLOP/s':>8} {'peak MiB':>9}")
        for N, cell in cells.items():
            for meth, t in cell["times"].items():
                peak = cell.get("peak_bytes", {}).get(meth)
                pk = "-" if peak is None else f"{peak / 2**20:9.2f}"
                lines.append(f"  {N:>4} {meth:>8} {_fmt_ms(t)} {cell['repeats'][meth]:>7} "
                             f"{cell['gflops'][meth]:8.2f} {pk:>9}")
            if "torch_check" in cell:
                lines.append(f"  {N:>4} torch derivatives vs fused: max relative difference "
                             f"{cell['torch_check']:.2e} ({cell['torch_threads']} threads)")
        lines.append(f"  {'N':>4} {'fused/torch':>12} {'listing/fused':>14} "
                     f"{'loops/fused':>12}")
        for N, r in res["ratios"][name].items():
            lines.append(f"  {N:>4} {_fmt_ratio(r['fused/torch']):>12} "
                         f"{_fmt_ratio(r['listing/fused']):>14} "
                         f"{_fmt_ratio(r['loops/fused']):>12}")
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
    repeats, a short scaling table."""
    return {"batches": (1, 16), "repeats": 30, "budget": 0.2,
            "scaling_kw": {"sides": (16, 32, 64), "depths": (1, 2), "N": 4, "repeats": 5,
                           "budget": 0.1}}


def to_json(obj):
    """``obj`` with numpy scalars made Python numbers, tuples made lists and non-finite
    floats made ``None``, ready for :func:`json.dumps`."""
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
