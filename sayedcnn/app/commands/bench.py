r"""``python -m sayedcnn bench``: time one derivative of :math:`J_{emp}` (47.1229) by the
scalar loops, the training listing (47.1275), the fused path and PyTorch (when installed),
on the workloads W1 (seed 002's network) and W2 (book style), batch 1 and 64.

Prints the medians of interleaved repeats, the ratios fused/torch, listing/fused and
loops/fused against the targets, peak memory, a scaling table of the fused path (time per
sample against the image side and the depth, with fitted exponents) and numpy's measured
matmul rate and the GEMM bound of every cell (the engine's products alone, timed in the same
run); ``--json`` prints the same as JSON. ``--profile`` prints instead where the engine's time
goes, per workload and batch size; ``--train`` times one epoch of the ``train`` command's
network on MNIST-5k in the engine and in PyTorch. See :mod:`sayedcnn.app.bench`.
"""

from __future__ import annotations

import json
import sys

__all__ = []


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="a fast run: batches 1 and 16, fewer repeats, short scaling table")
    parser.add_argument("--workloads", nargs="+", default=None, choices=["W1", "W2"],
                        help="workloads to time (default W1 W2)")
    parser.add_argument("--side", type=int, default=None,
                        help="image side of the workloads (default 28; W2 needs a multiple of 4)")
    parser.add_argument("--batches", nargs="+", type=int, default=None,
                        help="batch sizes N (default 1 64)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="largest number of timed repeats per method (default 200)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timing per method and cell (default 1.0)")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit numpy's BLAS, the fused path and PyTorch to this many "
                             "threads (default: numpy's BLAS threads, torch set to match)")
    parser.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    parser.add_argument("--no-listing", action="store_true", help="do not time the listing")
    parser.add_argument("--no-loops", action="store_true", help="do not time the loops")
    parser.add_argument("--slow-batches", nargs="+", type=int, default=None,
                        help="batch sizes at which the listing and the loops run (default 1)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory tracing")
    parser.add_argument("--no-matmul", action="store_true",
                        help="skip the measurement of numpy's matmul rate")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--profile", action="store_true",
                      help="print where the engine's time goes (GEMM, activations, pooling, "
                           "scatter, copies, allocation, Python) per workload and batch size")
    mode.add_argument("--train", action="store_true",
                      help="time one epoch of the train command's network (batch 32, "
                           "MNIST-5k) in the engine and in PyTorch")
    parser.add_argument("--epochs", type=int, default=None,
                        help="--train: epochs timed per side, interleaved (default 3)")


def _print(res, args, fmt):
    from ..bench import to_json

    if args.json:
        print(json.dumps(to_json(res), indent=1))
    else:
        print(fmt(res))
    return 0


def _other_mode(args, say):
    from .. import bench

    try:
        if args.profile:
            kw = {k: getattr(args, k) for k in ("side", "repeats", "budget", "threads")
                  if getattr(args, k) is not None}
            if args.workloads:
                kw["workloads"] = tuple(args.workloads)
            if args.batches:
                kw["batches"] = tuple(args.batches)
            if args.repeats is None:
                kw["repeats"] = 100
            return _print(bench.profile(progress=say, **kw), args, bench.format_profile)
        if args.epochs is not None and args.epochs < 1:
            print("sayedcnn bench: --epochs must be >= 1", file=sys.stderr)
            return 2
        kw = {"threads": args.threads, "progress": say}
        if args.epochs is not None:
            kw["epochs"] = args.epochs
        if args.no_torch:
            kw["torch"] = False
        return _print(bench.train_bench(**kw), args, bench.format_train)
    except ValueError as exc:
        print(f"sayedcnn bench: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"sayedcnn bench: {exc}", file=sys.stderr)
        return 1


def run(args):
    from ..bench import format_report, quick_settings, to_json
    from ..bench import run as run_bench

    if args.repeats is not None and args.repeats < 1:
        print("sayedcnn bench: --repeats must be >= 1", file=sys.stderr)
        return 2
    if args.profile or args.train:
        say = None if args.json else (lambda text: print(text, file=sys.stderr, flush=True))
        return _other_mode(args, say)

    kw = quick_settings() if args.quick else {}
    if args.workloads:
        kw["workloads"] = tuple(args.workloads)
    if args.batches:
        kw["batches"] = tuple(args.batches)
    for name in ("side", "repeats", "budget", "threads"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if args.slow_batches:
        kw["slow_batches"] = tuple(args.slow_batches)
    if args.no_torch:
        kw["torch"] = False
    kw["listing"] = not args.no_listing
    kw["loops"] = not args.no_loops
    kw["do_scaling"] = not args.no_scaling
    kw["memory"] = not args.no_memory
    kw["matmul"] = not args.no_matmul
    if args.repeats is not None and args.repeats < 1:
        print("sayedcnn bench: --repeats must be >= 1", file=sys.stderr)
        return 2
    if not args.json:
        kw["progress"] = lambda text: print(text, file=sys.stderr, flush=True)
    try:
        res = run_bench(**kw)
    except ValueError as exc:
        print(f"sayedcnn bench: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"sayedcnn bench: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(to_json(res), indent=1))
    else:
        print(format_report(res))
    return 0
