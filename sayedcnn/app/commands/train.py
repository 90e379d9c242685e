r"""``python -m sayedcnn train``: the book's training algorithm on real handwritten digits.

The run, in order:

1. load a data set shipped in the package (MNIST-5k by default, or the 8x8 ``digits``);
2. build a network of section 47.25.4 and draw its parameters from a seeded generator;
3. check the derivatives of :math:`J_{emp}` (47.1229) on one small batch four ways: the
   training listing (47.1275) line for line, the fused batched path, scalar loops over the
   book's index equations, and finite differences on a random sample of entries; print the
   largest relative difference (and stop with exit status 1 if they disagree);
4. train by mini-batch stochastic gradient (47.1276) through
   :func:`sayedcnn.app.checkpoint.fit_with_checkpoints` (:func:`sayedcnn.training.fit` writing
   ``checkpoint.npz`` into ``--out`` after every epoch), with a progress bar; Ctrl-C stops
   after the last complete epoch (exit status 130) and ``--resume`` continues from the
   checkpoint to the same result as an uninterrupted run; a risk that stops being finite
   (or grows :data:`DIVERGENCE_FACTOR` times above its first value) stops the run with exit
   status 1, the checkpoint of the last complete epoch kept;
5. print the test accuracy and the confusion matrix, and write the parameters
   (``params.npz``, see :mod:`sayedcnn.interop.io`), the history (``history.json``,
   ``history.csv``) and figures (``learning_curves.png``, ``masks_layer1.png``,
   ``feature_maps.png``) into ``--out``, each file atomically (a temporary file, then one
   rename).

Mistakes on the command line are reported in one line with exit status 2 before any data
are loaded: bad values, an ``--out`` that is a file, lies under a file, is not writable or
holds another run (continue it with ``--resume`` or overwrite it with ``--force``).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time

import numpy as np

from ...interop.io import _json_default

__all__ = ["PRESETS", "build_network", "confusion_matrix"]

#: Defaults per data set: the architecture and the training settings of the default run,
#: chosen by the trials listed in README.md. ``mu`` is per loss: the quadratic risk with
#: sigmoid outputs has smaller output sensitivities (47.1233) than softmax with
#: cross-entropy, yet on MNIST-5k a larger step does not help it: from 0.5 up it stays at
#: chance level and 0.25 stalls near 79%, so both losses use 0.1 there.
PRESETS = {
    "mnist5k": {"depths": [16, 32], "mask": 5, "hidden": [64], "epochs": 15, "batch_size": 32,
                "mu": {"cross_entropy": 0.1, "quadratic": 0.1}},
    "digits": {"depths": [16, 32], "mask": 3, "hidden": [32], "epochs": 20, "batch_size": 32,
               "mu": {"cross_entropy": 0.1, "quadratic": 0.3}},
}

#: Resolution of the figures (``--dpi``) and its allowed range.
DEFAULT_DPI, MIN_DPI, MAX_DPI = 120, 20, 600

#: The largest network ``train`` builds (parameters in the book's shapes, 47.1224).
MAX_PARAMETERS = 10**7

#: Tolerances of the pre-training check (relative differences).
TOL_EXACT = 1e-9
TOL_FD = 1e-5


def add_arguments(parser):
    g = parser.add_argument_group("data and training")
    g.add_argument("--dataset", choices=sorted(PRESETS), default="mnist5k",
                   help="mnist5k: 4,000 train / 1,000 test 28x28 MNIST digits (default); "
                        "digits: 8x8 digits, runs in seconds")
    g.add_argument("--epochs", type=int, default=None,
                   help="passes over the training set (default: per data set, "
                        + ", ".join(f"{k} {v['epochs']}" for k, v in PRESETS.items()) + ")")
    g.add_argument("--batch-size", type=int, default=None,
                   help="mini-batch size B of (47.1276) (default 32)")
    g.add_argument("--mu", "--step-size", dest="mu", type=float, default=None,
                   help="step size mu of (47.1276) (default 0.1; 0.3 for the quadratic "
                        "risk on digits)")
    g.add_argument("--rho1", type=float, default=0.0,
                   help="regulariser rho_1 on the masks W_c (47.1229) (default 0)")
    g.add_argument("--rho2", type=float, default=0.0,
                   help="regulariser rho_2 on the weights W_l (47.1229) (default 0)")
    g.add_argument("--loss", choices=["cross_entropy", "quadratic"], default="cross_entropy",
                   help="cross_entropy with softmax outputs (default) or the book's quadratic "
                        "risk (47.1229) with sigmoid outputs")
    g.add_argument("--method", choices=["fused", "listing"], default="fused",
                   help="fused batched path (default) or the listing (47.1275) sample by "
                        "sample (slow)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of the initial parameters and of the sample order (default 0)")
    g.add_argument("--out", default="sayedcnn-run",
                   help="output folder (default ./sayedcnn-run)")
    a = parser.add_argument_group("architecture")
    a.add_argument("--depths", type=int, nargs="+", default=None,
                   help="D_1 .. D_C, maps per correlation layer (default 16 32)")
    a.add_argument("--mask", type=int, default=None,
                   help="mask size, square, 'same' padding (default 5 for mnist5k, 3 for digits)")
    a.add_argument("--hidden", type=int, nargs="*", default=None,
                   help="hidden feedforward sizes n_2 .. n_{L-1} (default 64; 32 for digits)")
    a.add_argument("--activation", choices=["relu", "tanh", "sigmoid"], default="relu",
                   help="f of the correlation and hidden layers (default relu)")
    o = parser.add_argument_group("run")
    o.add_argument("--train-size", type=int, default=None,
                   help="use only the first N training images")
    o.add_argument("--test-size", type=int, default=None,
                   help="use only the first N test images")
    o.add_argument("--check-batch", type=int, default=2,
                   help="images in the batch of the gradient check (default 2)")
    o.add_argument("--no-check", action="store_true", help="skip the gradient check")
    o.add_argument("--no-plots", action="store_true", help="do not draw figures")
    o.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.npz (written after every epoch) with the "
                        "same settings; the result equals an uninterrupted run")
    o.add_argument("--force", action="store_true",
                   help="start over in an --out folder that holds another run, overwriting "
                        "its checkpoint and results")
    o.add_argument("--dpi", type=int, default=DEFAULT_DPI,
                   help=f"resolution of the figures, dots per inch (default {DEFAULT_DPI}; "
                        f"{MIN_DPI}..{MAX_DPI})")


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------


def build_network(image_shape, depths, mask, hidden, activation="relu", loss="cross_entropy",
                  input_depth=1, n_classes=10):
    r"""The network of the default run: ``C = len(depths)`` correlation layers with square
    ``mask`` masks, 'same' padding, stride 1, ``activation`` and 2x2 max-pooling (while
    the map is at least 2x2), then hidden layers ``hidden`` and ``n_classes`` outputs
    (softmax with ``cross_entropy``, sigmoid with the book's ``quadratic`` risk (47.1229)).

    Examples
    --------
    >>> from sayedcnn.app.commands.train import build_network
    >>> net = build_network((28, 28), depths=(16, 32), mask=5, hidden=(64,))
    >>> [ly.D for ly in net.layers], [ly.P_out for ly in net.layers], net.n[1:]
    ([16, 32], [196, 49], [1568, 64, 10])
    """
    from ...network import Conv, Network

    conv, shape = [], tuple(image_shape)
    for D in depths:
        pool = ("max", (2, 2)) if min(shape) >= 2 else None
        conv.append(Conv(D, mask, "same", 1, activation, pool))
        if pool is not None:
            shape = (shape[0] // 2, shape[1] // 2)
    out_act = "softmax" if loss == "cross_entropy" else "sigmoid"
    return Network(image_shape, input_depth, conv, hidden, n_classes, activation, out_act, loss)


def confusion_matrix(labels, predicted, n_classes):
    """Counts ``M[i, j]`` of images of class ``i`` predicted as ``j``.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.commands.train import confusion_matrix
    >>> confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3)
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    M = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(M, (np.asarray(labels), np.asarray(predicted)), 1)
    return M


def format_confusion(M):
    """The confusion matrix as text, rows the true class, columns the predicted one.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.commands.train import format_confusion
    >>> print(format_confusion(np.array([[2, 0], [1, 3]])))   # doctest: +NORMALIZE_WHITESPACE
             0   1   recall
       0     2   0   100.0%
       1     1   3    75.0%
    """
    Q = M.shape[0]
    w = max(4, len(str(int(M.max()))) + 1)
    lines = [" " * 6 + "".join(f"{j:>{w}}" for j in range(Q)) + "   recall"]
    for i in range(Q):
        tot = M[i].sum()
        rec = f"{100 * M[i, i] / tot:6.1f}%" if tot else "     -"
        lines.append(f"{i:>4}  " + "".join(f"{M[i, j]:>{w}}" for j in range(Q)) + "  " + rec)
    return "\n".join(lines)


def _load(name):
    from ...data import datasets

    if name == "mnist5k":
        return datasets.load_mnist5k()
    return datasets.load_digits()


def _resolve(args):
    pre = PRESETS[args.dataset]
    cfg = {
        "dataset": args.dataset,
        "epochs": pre["epochs"] if args.epochs is None else args.epochs,
        "batch_size": pre["batch_size"] if args.batch_size is None else args.batch_size,
        "mu": pre["mu"][args.loss] if args.mu is None else args.mu,
        "rho1": args.rho1, "rho2": args.rho2, "loss": args.loss, "method": args.method,
        "seed": args.seed,
        "depths": pre["depths"] if args.depths is None else args.depths,
        "mask": pre["mask"] if args.mask is None else args.mask,
        "hidden": pre["hidden"] if args.hidden is None else args.hidden,
        "activation": args.activation,
    }
    for key, low in (("epochs", 0), ("batch_size", 1)):
        if cfg[key] < low:
            raise ValueError(f"--{key.replace('_', '-')} must be >= {low}, got {cfg[key]}")
    if not (np.isfinite(cfg["mu"]) and cfg["mu"] > 0):
        raise ValueError(f"--mu, the step size of (47.1276), must be > 0, got {cfg['mu']}")
    for key in ("rho1", "rho2"):
        if not (np.isfinite(cfg[key]) and cfg[key] >= 0):
            raise ValueError(f"--{key} of (47.1229) must be >= 0, got {cfg[key]}")
    if not cfg["depths"] or min(cfg["depths"]) < 1:
        raise ValueError(f"--depths must list C >= 1 positive depths D_c, got {cfg['depths']}")
    if cfg["mask"] < 1:
        raise ValueError(f"--mask must be >= 1, got {cfg['mask']}")
    if cfg["seed"] < 0:
        raise ValueError(f"--seed must be >= 0, got {cfg['seed']}")
    bad = [n for n in cfg["hidden"] if n < 1]
    if bad:
        raise ValueError(f"--hidden sizes n_2 .. n_(L-1) (47.1221f) must be >= 1, got "
                         f"{' '.join(map(str, cfg['hidden']))}")
    for key, group in (("rho1", "the masks W_c"), ("rho2", "the weights W_l")):
        if cfg["mu"] * cfg[key] >= 1:
            raise ValueError(
                f"--{key} {cfg[key]:g} with --mu {cfg['mu']:g}: every step (47.1276) multiplies "
                f"{group} by 1 - 2 mu {key[:3]}_{key[3]} = {1 - 2 * cfg['mu'] * cfg[key]:.3g}, "
                f"so they grow without bound; mu * {key[:3]}_{key[3]} must be < 1")
    dpi = getattr(args, "dpi", DEFAULT_DPI)
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ValueError(f"--dpi must lie in {MIN_DPI}..{MAX_DPI}, got {dpi}")
    for key in ("train_size", "test_size", "check_batch"):
        val = getattr(args, key, None)
        if val is not None and val < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 1, got {val}")
    return cfg


def run_check(net, params, X, Gamma, rho1, rho2, seed, out=print):
    r"""The pre-training check: derivatives of (47.1229) on ``X`` four ways (see
    :func:`sayedcnn.app.commands.check.four_way`); prints a small table; returns
    ``(ok, result)``."""
    from .check import four_way

    try:
        from ...reference import loops  # noqa: F401
        with_loops = True
    except ImportError:
        with_loops = False
    res = four_way(net, params, X, Gamma, rho1, rho2, n_fd=30, seed=seed, with_loops=with_loops)
    secs = res["seconds"]
    out(f"gradient check: derivatives of J_emp (47.1229) on {X.shape[0]} training images at")
    out("the initial parameters; relative difference from the listing (47.1275):")
    rows = [("listing (47.1275), line for line", None, "listing"),
            ("fused batched path (used to train)", res["fused"], "fused"),
            ("scalar loops over the index equations", res["loops"], "loops"),
            (f"finite differences, {res['fd_entries']} random entries", res["fd"], "fd")]
    for label, val, key in rows:
        v = "reference" if key == "listing" else ("not available" if val is None
                                                   else f"{val:.1e}")
        t = f"{secs[key]:.2f} s" if key in secs else ""
        out(f"  {label:<42} {v:>13} {t:>9}")
    exact = [v for v in (res["fused"], res["loops"]) if v is not None]
    worst = max(exact + ([res["fd"]] if res["fd"] is not None else []))
    ok = max(exact) <= TOL_EXACT and (res["fd"] is None or res["fd"] <= TOL_FD)
    out(f"  largest relative difference: {worst:.1e}, {'agree' if ok else 'DISAGREE'}")
    out(f"  (tolerances: {TOL_EXACT:g} between the exact forms, {TOL_FD:g} for finite "
        f"differences)")
    return ok, res


def _write_history(path_json, path_csv, history, extra):
    """``history.json`` and ``history.csv``, each written atomically (a temporary file in
    the folder, then one rename), so an interrupted write leaves the previous file whole."""
    import io as _io

    from ...interop.io import write_text_atomic

    data = dict(extra)
    data["history"] = history
    write_text_atomic(path_json, json.dumps(data, indent=1, default=_json_default))
    keys = ["epoch", "loss", "train_acc", "val_acc", "seconds"]
    buf = _io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["epoch", "loss", "train_acc", "test_acc", "seconds"])
    for i in range(len(history["epoch"])):
        w.writerow([history[k][i] for k in keys])
    write_text_atomic(path_csv, buf.getvalue())


#: Files a run writes into ``--out``.
OUTPUTS = ("checkpoint.npz", "params.npz", "history.json", "history.csv",
           "learning_curves.png", "masks_layer1.png", "feature_maps.png")

#: A batch loss this many times the first one means the steps (47.1276) diverge: the run
#: stops (as it does for a loss that is not finite).
DIVERGENCE_FACTOR = 1e6


class UsageError(ValueError):
    """A setting of the command line that cannot work; reported in one line, exit status 2."""


class Diverged(RuntimeError):
    """The risk of (47.1229) stopped being finite (or exploded) during training."""


def check_out(out, resume=False, force=False):
    r"""Check ``--out`` before anything is loaded or computed: a folder that exists or can be
    created, that is writable, in which none of :data:`OUTPUTS` is a folder, and that does
    not hold another run unless ``resume`` (continue it) or ``force`` (overwrite it).
    Raises :class:`UsageError` naming the problem; returns the folder."""
    import tempfile

    if not isinstance(out, str) or not out.strip():
        raise UsageError(f"--out must name a folder, got {out!r}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out} is a file, not a folder")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") \
            from None
    try:
        fd, probe = tempfile.mkstemp(dir=out, prefix=f".write-test.{os.getpid()}.",
                                     suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write into the folder "
                         f"({exc.strerror or exc})") from None
    for name in OUTPUTS:
        if os.path.isdir(os.path.join(out, name)):
            raise UsageError(f"--out {out}: {name} there is a folder, but the run writes a "
                             f"file of that name")
    previous = [n for n in ("checkpoint.npz", "params.npz")
                if os.path.exists(os.path.join(out, n))]
    if previous and not resume and not force:
        raise UsageError(f"--out {out} holds another run ({', '.join(previous)}); add "
                         f"--resume to continue it or --force to start over and overwrite it")
    return out


def _save_figure(draw, path, dpi):
    """Draw a figure into a temporary file and move it onto ``path`` in one rename."""
    from ...interop.io import atomic_file

    with atomic_file(path, mode=None) as tmp:
        draw(tmp, dpi)
    return path


def _core(name):
    """A function of the core by name, wherever the current layout keeps it."""
    import importlib

    for mod in ("sayedcnn.losses", "sayedcnn.sgd", "sayedcnn.training"):
        try:
            fn = getattr(importlib.import_module(mod), name, None)
        except ImportError:
            continue
        if fn is not None:
            return fn
    raise ImportError(f"sayedcnn has no {name}")  # pragma: no cover


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def run(args):
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("\nsayedcnn train: interrupted before training began; nothing was written",
              file=sys.stderr)
        return 130
    except UsageError as exc:
        print(f"sayedcnn train: {exc}", file=sys.stderr)
        return 2


def _run(args):
    from ...interop.io import save_params
    from ..checkpoint import TrainingInterrupted, fit_with_checkpoints, load_checkpoint
    from ..progress import ProgressBar

    accuracy, one_hot = _core("accuracy"), _core("one_hot")
    t_start = time.perf_counter()
    try:
        cfg = _resolve(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = check_out(args.out, getattr(args, "resume", False), getattr(args, "force", False))
    data = _load(cfg["dataset"])
    Xtr, ytr, Xte, yte = data.X_train, data.y_train, data.X_test, data.y_test
    if args.train_size is not None:
        Xtr, ytr = Xtr[:args.train_size], ytr[:args.train_size]
    if args.test_size is not None:
        Xte, yte = Xte[:args.test_size], yte[:args.test_size]
    if Xtr.shape[0] < 1 or Xte.shape[0] < 1:
        raise UsageError("--train-size and --test-size must keep at least one image")
    side = min(Xtr.shape[2:])
    if cfg["mask"] > side:
        raise UsageError(f"--mask {cfg['mask']} is larger than the {Xtr.shape[2]} x "
                         f"{Xtr.shape[3]} images of {cfg['dataset']}; it must be at most {side}")
    try:
        net = build_network(Xtr.shape[2:], cfg["depths"], cfg["mask"], cfg["hidden"],
                            cfg["activation"], cfg["loss"], Xtr.shape[1], int(data.n_classes))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"the network cannot be built: {exc}") from None
    n_par = net.parameter_count()["book"]
    if n_par > MAX_PARAMETERS:
        raise UsageError(f"--depths, --mask and --hidden give a network of {n_par:,} "
                         f"parameters (47.1224); train builds at most {MAX_PARAMETERS:,}")
    print(f"sayedcnn train: {data.name}, {Xtr.shape[0]} training / {Xte.shape[0]} test "
          f"images; loss {cfg['loss']}, method {cfg['method']}, seed {cfg['seed']}")
    print(f"network: C = {net.C} correlation layers, L = {net.L} feedforward layers")
    print(net.size_table())
    counts = net.parameter_count()
    print(f"parameters: {counts['book']} in the book's shapes (47.1224), {counts['effective']} "
          f"that reach the output")
    # small nonzero biases keep every pre-activation off ReLU's kink at the start, where
    # one-sided finite differences would disagree with any derivative convention
    params = net.init(cfg["seed"], bias_scale=0.01)
    check = None
    if not args.no_check:
        nb = max(1, min(args.check_batch, Xtr.shape[0]))
        Gb = one_hot(ytr[:nb], net.Q)
        ok, res = run_check(net, params, Xtr[:nb], Gb, cfg["rho1"], cfg["rho2"], cfg["seed"])
        check = {k: res[k] for k in ("fused", "loops", "fd", "fd_entries")}
        check["seconds"] = res["seconds"]
        check["agree"] = bool(ok)
        if not ok:
            print("sayedcnn train: the implementations disagree; not training (run "
                  "`python -m sayedcnn check` for details)", file=sys.stderr)
            return 1
    ck_path = os.path.join(out, "checkpoint.npz")
    done = 0
    if getattr(args, "resume", False) and os.path.exists(ck_path):
        try:
            done = load_checkpoint(ck_path).epoch
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot resume: {exc}") from None
        if done >= cfg["epochs"]:
            print(f"resume: {ck_path} already holds {done} complete epochs, as many as or "
                  f"more than --epochs {cfg['epochs']}: nothing to train; the results below "
                  f"are those of the checkpoint's parameters after epoch {done}")
        else:
            print(f"resume: {ck_path} holds {done} complete epochs; training epochs "
                  f"{done + 1}..{cfg['epochs']}")
    steps = -(-Xtr.shape[0] // cfg["batch_size"])
    if done < cfg["epochs"]:
        print(f"training by (47.1276): {cfg['epochs'] - done} epochs of {steps} mini-batches "
              f"of {cfg['batch_size']}, mu = {cfg['mu']:g}, rho_1 = {cfg['rho1']:g}, "
              f"rho_2 = {cfg['rho2']:g}")
    bar = ProgressBar(cfg["epochs"], steps)
    running = {"loss": 0.0, "correct": 0, "seen": 0, "first": None, "started": False}
    trace = ([], [])

    def on_batch(epoch, step, n_steps, loss, correct, size):
        running["started"] = True
        loss = float(loss)
        if running["first"] is None:
            running["first"] = loss
        limit = DIVERGENCE_FACTOR * max(abs(running["first"]), 1e-12)
        if not np.isfinite(loss) or loss > limit:
            ratio = loss / max(abs(running["first"]), 1e-12)
            raise Diverged(f"the risk (47.1229) of mini-batch {step} of epoch {epoch} is "
                           f"{loss:.3g}" + ("" if not np.isfinite(loss) else
                                            f", {ratio:.1e} times that of the first"))
        if step == 1:
            running.update(loss=0.0, correct=0, seen=0)
        running["loss"] += loss * size
        running["correct"] += correct or 0
        running["seen"] += size
        trace[0].append(epoch - 1 + step / n_steps)
        trace[1].append(loss)
        bar.update(epoch, step, loss=running["loss"] / running["seen"],
                   acc=running["correct"] / running["seen"])

    def on_epoch(epoch, params, history):
        bar.end_epoch(epoch, loss=history["loss"][-1], train_acc=history["train_acc"][-1],
                      test_acc=history["val_acc"][-1])

    def on_disk():
        try:
            return load_checkpoint(ck_path).epoch
        except (OSError, ValueError):
            return None

    t_train = time.perf_counter()
    same = ("epochs", "batch_size", "mu", "rho1", "rho2", "seed", "method")
    try:
        params, history = fit_with_checkpoints(
            net, params, Xtr, ytr, ck_path, resume=getattr(args, "resume", False),
            config={k: v for k, v in cfg.items() if k not in same},
            epochs=cfg["epochs"], batch_size=cfg["batch_size"], mu=cfg["mu"],
            rho1=cfg["rho1"], rho2=cfg["rho2"], seed=cfg["seed"], method=cfg["method"],
            X_val=Xte, y_val=yte, callback=on_epoch, batch_callback=on_batch)
    except TrainingInterrupted as stop:
        kept = on_disk()
        kept = stop.epoch if kept is None else kept
        print(f"\ninterrupted: {stop.path} holds the state after epoch {kept} of "
              f"{cfg['epochs']}; run the same command with --resume to continue",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # before the first checkpoint was complete
        print("\ninterrupted before the first checkpoint was written; nothing to resume",
              file=sys.stderr)
        return 130
    except (Diverged, ValueError, FloatingPointError) as exc:
        if not running["started"]:  # a checkpoint that does not match this run
            raise UsageError(str(exc)) from None
        kept = on_disk()
        where = (f"{ck_path} keeps the parameters after epoch {kept}, the last complete one"
                 if kept is not None else "no checkpoint was kept")
        print(f"\nsayedcnn train: training diverged: {exc}; {where}. Try a smaller --mu "
              f"than {cfg['mu']:g}", file=sys.stderr)
        return 1
    train_seconds = time.perf_counter() - t_train
    pred = np.argmax(net.predict(params, Xte), axis=1)
    test_acc = accuracy(net, params, Xte, yte)
    M = confusion_matrix(yte, pred, net.Q)
    print(f"test accuracy: {100 * test_acc:.1f}% ({int(np.trace(M))} of {Xte.shape[0]} "
          f"held-out images)")
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(format_confusion(M))

    from ... import __version__

    summary = {"sayedcnn": __version__, "config": cfg, "dataset": data.name,
               "n_train": int(Xtr.shape[0]), "n_test": int(Xte.shape[0]),
               "test_acc": test_acc, "confusion": M.tolist(), "check": check,
               "train_seconds": train_seconds}
    written = [save_params(os.path.join(out, "params.npz"), net, params,
                           meta={k: v for k, v in summary.items() if k != "confusion"})]
    _write_history(os.path.join(out, "history.json"), os.path.join(out, "history.csv"),
                   history, dict(summary, batch_loss=trace[1]))
    written += [os.path.join(out, "history.json"), os.path.join(out, "history.csv")]
    if not args.no_plots:
        from .. import plots

        if not plots.have_matplotlib():
            print("matplotlib is not installed: figures skipped "
                  "(pip install \"sayedcnn[plots]\" to draw them)")
        else:
            dpi = getattr(args, "dpi", DEFAULT_DPI)
            title = (f"{data.name}: C = {net.C}, {cfg['loss']}, mu = {cfg['mu']:g}, "
                     f"B = {cfg['batch_size']}; test accuracy {100 * test_acc:.1f}%")
            written.append(_save_figure(
                lambda p, d: plots.learning_curves(history, p, trace, title, dpi=d),
                os.path.join(out, "learning_curves.png"), dpi))
            written.append(_save_figure(
                lambda p, d: plots.layer1_masks(net, params, p, dpi=d),
                os.path.join(out, "masks_layer1.png"), dpi))
            written.append(_save_figure(
                lambda p, d: plots.feature_maps(net, params, Xte[0], p, label=int(yte[0]),
                                                dpi=d),
                os.path.join(out, "feature_maps.png"), dpi))
    print("wrote " + ", ".join(written))
    total = time.perf_counter() - t_start
    print(f"total time {total:.1f} s (training {train_seconds:.1f} s)")
    return 0
