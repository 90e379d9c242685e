r"""Checkpoints: training by (47.1276) that survives interruption and resumes exactly.

A checkpoint is a parameter file of :mod:`sayedcnn.interop.io` (book-shaped :math:`W_c, \Theta_c,
W_\ell, \theta_\ell`, the architecture, a format version; written atomically, read with
``allow_pickle=False``) whose ``meta`` holds the training state: the number of complete
epochs, the history so far and the settings of the run.

:func:`fit_with_checkpoints` wraps :func:`sayedcnn.training.fit`: it writes a checkpoint
before the first epoch and after every epoch, and on Ctrl-C (:class:`KeyboardInterrupt`)
it stops, leaving the checkpoint of the last complete epoch on disk, and raises
:class:`TrainingInterrupted` (a :class:`KeyboardInterrupt`) that carries that state.
Resuming repeats an uninterrupted run exactly, bit for bit: ``fit`` draws the order of the
samples of epoch ``e`` from ``numpy.random.default_rng([seed, e])`` alone, so after ``k``
complete epochs nothing but the parameters and the history needs to be kept.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..interop.io import load_params, network_from_dict, network_to_dict, save_params
from ..network import Network
from ..params import Params

__all__ = ["Checkpoint", "TrainingInterrupted", "save_checkpoint", "load_checkpoint",
           "fit_with_checkpoints", "data_fingerprint", "RESUME_KEYS"]

_HISTORY_KEYS = ("epoch", "loss", "train_acc", "val_acc", "seconds")

#: Settings that must agree between a checkpoint and the run that resumes it: any change
#: would make the resumed run differ from the uninterrupted one. ``epochs`` may grow.
RESUME_KEYS = ("batch_size", "mu", "rho1", "rho2", "seed", "method", "data")


@dataclass
class Checkpoint:
    """The state stored by :func:`save_checkpoint`.

    Attributes
    ----------
    net : Network
        The architecture, rebuilt from the file.
    params : Params
        Parameters after ``epoch`` complete epochs (the book's shapes).
    history : dict
        ``fit``'s history of those epochs (lists keyed ``epoch``, ``loss``, ``train_acc``,
        ``val_acc``, ``seconds``).
    epoch : int
        Number of complete epochs (0: the initial parameters).
    config : dict
        The settings of the run (JSON-able).
    path : str
        The file read.

    Examples
    --------
    >>> import os, tempfile
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.checkpoint import load_checkpoint, save_checkpoint
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> history = {"epoch": [1], "loss": [0.5], "train_acc": [0.6], "val_acc": [0.5],
    ...            "seconds": [0.1]}
    >>> _ = save_checkpoint(path, net, net.init(0), history, epoch=1)
    >>> ck = load_checkpoint(path)
    >>> ck.epoch, ck.history["loss"]
    (1, [0.5])
    """

    net: Network
    params: Params
    history: dict
    epoch: int
    config: dict
    path: str = ""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`fit_with_checkpoints`; the checkpoint of the last complete epoch
    is on disk at ``path``. ``epoch``, ``params`` and ``history`` are that state.

    Examples
    --------
    >>> from sayedcnn.app.checkpoint import TrainingInterrupted
    >>> err = TrainingInterrupted("ckpt.npz", 3, None, {})
    >>> err.path, err.epoch
    ('ckpt.npz', 3)
    """

    def __init__(self, path, epoch, params, history):
        super().__init__(f"training interrupted; the checkpoint {path} holds the state after "
                         f"epoch {epoch}")
        self.path = path
        self.epoch = epoch
        self.params = params
        self.history = history


@contextmanager
def _defer_sigint():
    """Hold a Ctrl-C that arrives while a checkpoint is being written until it is complete
    (main thread only; elsewhere signals do not arrive anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    try:
        old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:  # not settable here (e.g. an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught:
            if callable(old):
                old(signal.SIGINT, None)
            elif old != signal.SIG_IGN:
                raise KeyboardInterrupt


def _check_history(history):
    if not isinstance(history, dict) or any(not isinstance(history.get(k), list)
                                            for k in _HISTORY_KEYS):
        raise TypeError(f"history must be a dict of lists with the keys {list(_HISTORY_KEYS)} "
                        f"(as sayedcnn.training.fit returns it), got {history!r:.200}")
    lengths = {k: len(history[k]) for k in _HISTORY_KEYS}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"history lists must have one entry per epoch, got lengths {lengths}")
    return {k: [float(v) if k != "epoch" else int(v) for v in history[k]]
            for k in _HISTORY_KEYS}


def save_checkpoint(path, net, params, history, epoch, config=None):
    r"""Write the training state after ``epoch`` complete epochs to the ``.npz`` ``path``.

    The file is a parameter file of :func:`sayedcnn.interop.io.save_params` (so
    :func:`sayedcnn.interop.io.load_params` reads its parameters) with ``meta["checkpoint"]`` =
    ``{"epoch", "history", "config"}``. It is written atomically (temporary file, then
    :func:`os.replace`), and a Ctrl-C that arrives meanwhile is held until the file is
    complete. Returns the path written.

    Examples
    --------
    >>> import os, tempfile
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.checkpoint import save_checkpoint
    >>> from sayedcnn.interop.io import load_params
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> history = {k: [] for k in ("epoch", "loss", "train_acc", "val_acc", "seconds")}
    >>> path = os.path.join(tempfile.mkdtemp(), "c.npz")
    >>> path = save_checkpoint(path, net, net.init(0), history, epoch=0)
    >>> load_params(path, with_meta=True)[2]["checkpoint"]["epoch"]
    0
    """
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch must be the number of complete epochs, an integer >= 0, "
                         f"got {epoch!r}")
    history = _check_history(history)
    n = len(history["epoch"])
    if n > epoch:
        raise ValueError(f"history holds {n} epochs but epoch = {epoch}")
    config = {} if config is None else dict(config)
    state = {"epoch": int(epoch), "history": history, "config": config}
    with _defer_sigint():
        return save_params(path, net, params, meta={"checkpoint": state})


def load_checkpoint(path):
    r"""Read a checkpoint written by :func:`save_checkpoint`; returns a :class:`Checkpoint`.

    Raises ``ValueError`` (via :func:`sayedcnn.interop.io.load_params`) for truncated, corrupted or
    foreign files and for parameters that do not fit the stored architecture, and for a
    parameter file that holds no training state.

    Examples
    --------
    >>> import os, tempfile
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.checkpoint import load_checkpoint
    >>> from sayedcnn.interop.io import save_params
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> path = save_params(os.path.join(tempfile.mkdtemp(), "p.npz"), net, net.init(0))
    >>> load_checkpoint(path)
    Traceback (most recent call last):
    ...
    ValueError: ...
    """
    path = os.fspath(path)
    desc, params, meta = load_params(path, with_meta=True)
    state = meta.get("checkpoint") if isinstance(meta, dict) else None
    if not isinstance(state, dict) or not {"epoch", "history", "config"} <= set(state):
        raise ValueError(f"{path} is a parameter file without training state (no "
                         f"meta['checkpoint'] with epoch, history and config): not a checkpoint")
    epoch = state["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"{path}: the checkpoint's epoch must be an integer >= 0, got "
                         f"{epoch!r}")
    try:
        history = _check_history(state["history"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return Checkpoint(network_from_dict(desc), params, history, epoch, dict(state["config"]),
                      path)


def data_fingerprint(X, labels):
    """A short SHA-256 of the training images and labels (their float64 / int64 bytes), kept
    in a checkpoint so that a run is not resumed on other data.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.checkpoint import data_fingerprint
    >>> X, y = np.zeros((2, 1, 4, 4)), np.array([0, 1])
    >>> key = data_fingerprint(X, y)
    >>> key == data_fingerprint(X.copy(), y), key == data_fingerprint(X, y[::-1])
    (True, False)
    """
    h = hashlib.sha256()
    for a, dtype in ((X, np.float64), (labels, None)):
        a = np.ascontiguousarray(a if dtype is None else np.asarray(a, dtype=dtype))
        if dtype is None and np.issubdtype(a.dtype, np.integer):
            a = a.astype(np.int64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def fit_with_checkpoints(net, params, X, labels, checkpoint_path, resume=False, config=None,
                         **fit_kwargs):
    r"""Train by (47.1276) with :func:`sayedcnn.training.fit`, writing a checkpoint to
    ``checkpoint_path`` before the first epoch and after every epoch.

    Parameters
    ----------
    net, params, X, labels
        As for :func:`sayedcnn.training.fit`.
    checkpoint_path : str or path
        The checkpoint file (``.npz``).
    resume : bool
        Continue from ``checkpoint_path`` when it exists: its parameters and history replace
        ``params`` and the run goes on from the epoch after the last complete one until
        ``epochs`` epochs in all are done. The architecture, the data and the settings of
        :data:`RESUME_KEYS` (and any key of ``config`` that both runs give) must agree with
        the checkpoint's, else ``ValueError``; ``epochs`` may be larger. Without a file the
        run starts from ``params``.
    config : dict, optional
        Extra JSON-able settings kept in the checkpoint (and compared on resume).
    **fit_kwargs
        ``epochs`` (the total, default 1), ``batch_size``, ``mu``, ``rho1``, ``rho2``,
        ``seed``, ``method``, ``X_val``, ``y_val``, ``callback``, ``batch_callback``.
        ``start_epoch`` and ``history`` are managed here and may not be given.

    Returns
    -------
    (Params, dict)
        The parameters after the last epoch and the whole history, as ``fit`` returns them;
        the same numbers as one uninterrupted call of ``fit`` with the same seed.

    Raises
    ------
    TrainingInterrupted
        On Ctrl-C: the checkpoint holds the last complete epoch, which the exception carries.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.checkpoint import fit_with_checkpoints, load_checkpoint
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> X, labels = np.random.default_rng(0).random((6, 1, 4, 4)), np.array([0, 1] * 3)
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> params, history = fit_with_checkpoints(net, net.init(0), X, labels, path, epochs=2,
    ...                                        batch_size=3, seed=0)
    >>> load_checkpoint(path).epoch, len(history["loss"])
    (2, 2)
    """
    from ..sgd import fit

    for k in ("start_epoch", "history"):
        if k in fit_kwargs:
            raise TypeError(f"fit_with_checkpoints manages {k!r} itself; resume with "
                            f"resume=True instead")
    epochs = fit_kwargs.pop("epochs", 1)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0 (the total number of epochs), got "
                         f"{epochs!r}")
    epochs = int(epochs)
    user_callback = fit_kwargs.pop("callback", None)
    if user_callback is not None and not callable(user_callback):
        raise TypeError(f"callback must be callable or None, got {user_callback!r}")
    X = net.check_images(X)
    params = net.check_params(params)
    settings = {"batch_size": fit_kwargs.get("batch_size", 32), "mu": fit_kwargs.get("mu", 0.1),
                "rho1": fit_kwargs.get("rho1", 0.0), "rho2": fit_kwargs.get("rho2", 0.0),
                "seed": fit_kwargs.get("seed", 0), "method": fit_kwargs.get("method", "fused"),
                "data": data_fingerprint(X, labels)}
    settings = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in settings.items()}
    extra = {} if config is None else dict(config)
    overlap = set(extra) & set(settings)
    if overlap:
        raise ValueError(f"config may not redefine the training settings {sorted(overlap)}; "
                         f"pass them as keyword arguments")
    cfg = {**extra, **settings, "epochs": epochs}
    path = os.fspath(checkpoint_path)
    if not path.endswith(".npz"):
        path += ".npz"
    start, history = 0, None
    if resume and os.path.exists(path):
        ck = load_checkpoint(path)
        if network_to_dict(ck.net) != network_to_dict(net):
            raise ValueError(f"{path} was written for another architecture: "
                             f"{ck.net!r}, not {net!r}")
        keys = [k for k in RESUME_KEYS if k in ck.config]
        keys += [k for k in extra if k in ck.config and k not in keys]
        differ = {k: (ck.config[k], cfg[k]) for k in keys if not _same(ck.config[k], cfg[k])}
        if differ:
            detail = ", ".join(f"{k}: checkpoint {a!r}, now {b!r}" for k, (a, b) in
                               differ.items())
            raise ValueError(f"cannot resume {path}: the run differs from the checkpoint's "
                             f"({detail}); a resumed run must repeat the interrupted one")
        params, history, start = ck.params, ck.history, ck.epoch
    if history is None:
        history = {k: [] for k in _HISTORY_KEYS}
        save_checkpoint(path, net, params, history, 0, cfg)
    last = {"epoch": start, "params": params, "history": _copy_history(history)}
    if start >= epochs:
        return params, history

    def on_epoch(epoch, p, hist):
        # a Ctrl-C during the write is held until the file is complete *and* recorded here,
        # so the interruption always reports the epoch that is on disk
        with _defer_sigint():
            save_checkpoint(path, net, p, hist, epoch, cfg)
            last.update(epoch=epoch, params=p, history=_copy_history(hist))
        if user_callback is not None:
            return user_callback(epoch, p, hist)
        return None

    try:
        return fit(net, params, X, labels, epochs=epochs - start, start_epoch=start,
                   history=history, callback=on_epoch, **fit_kwargs)
    except TrainingInterrupted:
        raise
    except KeyboardInterrupt:
        raise TrainingInterrupted(path, last["epoch"], last["params"], last["history"]) \
            from None


def _copy_history(history):
    return {k: list(v) for k, v in history.items()}
