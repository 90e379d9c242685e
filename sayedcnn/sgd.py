r"""Stochastic-gradient training: the risk (47.1229), one step (47.1276), ``fit`` and accuracy.

Also the two dispatchers behind :class:`~sayedcnn.network.Network`'s methods:
:func:`forward` and :func:`gradients` run the listings (``method="listing"``, the book line
for line) or the engine (``method="fused"``, the same numbers for a batch at once).
"""

from __future__ import annotations

import time

import numpy as np

from . import fused
from ._checks import (
    as_float_array,
    as_positive_int,
    check_method,
    check_mu,
    check_rho,
    check_scaling,
)
from .forward import BatchForward, listing
from .losses import _check_labels, one_hot, risk_weights
from .training import gradients_listing

__all__ = ["forward", "gradients", "risk", "sgd_step", "fit", "accuracy", "HISTORY_KEYS",
           "FIT_DEFAULTS"]

#: The per-epoch record of :func:`fit`, in this order (also the columns of history.csv).
HISTORY_KEYS = ("epoch", "loss", "train_acc", "val_acc", "seconds")

#: The defaults of :func:`fit`'s training settings, defined once.
FIT_DEFAULTS = {"epochs": 1, "batch_size": 32, "mu": 0.1, "rho1": 0.0, "rho2": 0.0, "seed": 0}


def _check_batch(net, params, X, Gamma):
    X = net.check_images(X)
    Gamma = net.check_targets(Gamma, X.shape[0])
    params = net.check_params(params)
    return params, X, Gamma


def forward(net, params, X, method="listing"):
    r"""Run (47.1216) for one image or a batch, by ``"listing"`` or ``"fused"``.

    Validates the input (images ``(N, D_0, rows, cols)`` or ``(D_0, rows, cols)``; float32 and
    integers are converted to float64) and the parameters against the architecture. The
    listing returns a :class:`~sayedcnn.forward.ForwardResult` for one image and a
    :class:`~sayedcnn.forward.BatchForward` for a batch; the engine a
    :class:`~sayedcnn.fused.FusedForward`. Implements (47.1216).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p, X = net.init(seed=0), np.ones((3, 1, 4, 4))
    >>> a = net.forward(p, X, method="listing").output
    >>> b = net.forward(p, X, method="fused").output
    >>> bool(np.allclose(a, b, rtol=1e-12, atol=0))
    True
    """
    check_method(method)
    X_in = X
    X = net.check_images(X)
    single = np.ndim(X_in) == 3  # X_in is rectangular once check_images accepts it
    params = net.check_params(params)
    if method == "fused":
        return fused._forward(net, params, X)
    results = [listing(net, params, x) for x in X]
    if single:
        return results[0]
    return BatchForward(results, np.vstack([r.output for r in results]))


def gradients(net, params, X, Gamma, rho1=0.0, rho2=0.0, method="fused", scaling="1229"):
    r"""Derivatives of :math:`J_{emp}` (47.1229) for images ``X`` (``N x D_0 x rows x cols``)
    and targets ``Gamma`` (``N x Q``), by ``method="listing"`` (47.1275 line for line) or
    ``"fused"`` (the same algebra, batched). Returns a :class:`~sayedcnn.params.Params` in the
    book's shapes. Implements (47.1275).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> X = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    >>> g1 = net.gradients(p, X, np.eye(2), method="listing")
    >>> g2 = net.gradients(p, X, np.eye(2), method="fused")
    >>> g1.max_rel_diff(g2) < 1e-12
    True
    """
    check_method(method)
    if method == "listing":
        return gradients_listing(net, params, X, Gamma, rho1, rho2, scaling)
    return fused.gradients_fused(net, params, X, Gamma, rho1, rho2, scaling)


def risk(net, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229"):
    r"""The empirical risk (47.1229)

    .. math:: J_{emp} = \rho_1\sum_c \|W_c\|_F^2 + \rho_2\sum_\ell \|W_\ell\|_F^2
              + \frac1N \sum_n Q(\gamma_n, y_n),

    with :math:`Q = \|\gamma_n - y_n\|^2` or cross-entropy; ``scaling="1227"`` divides the
    regularisers by :math:`N` too (47.1227). Implements (47.1227), (47.1229).

    Examples
    --------
    With every weight zero the sigmoid outputs are ``1/2``: each sample costs
    :math:`1/4 + 1/4`, and the regulariser adds :math:`\rho_1\|W_1\|_F^2`.

    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn import sgd
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> X = np.random.default_rng(0).standard_normal((4, 1, 4, 4))
    >>> G = np.eye(2)[[0, 1, 1, 0]]
    >>> sgd.risk(net, p.map(np.zeros_like), X, G)
    0.5
    >>> J0, J1 = sgd.risk(net, p, X, G), sgd.risk(net, p, X, G, rho1=0.1)
    >>> bool(np.isclose(J1 - J0, 0.1 * np.sum(p.W_conv[1] ** 2), rtol=1e-12))
    True
    >>> J2 = sgd.risk(net, p, X, G, rho1=0.1, scaling="1227")     # (47.1227): all over N
    >>> bool(np.isclose(J2 - J0, 0.1 * np.sum(p.W_conv[1] ** 2) / 4, rtol=1e-12))
    True
    """
    check_rho(rho1, rho2)
    check_scaling(scaling)
    params, X, Gamma = _check_batch(net, params, X, Gamma)
    N = X.shape[0]
    reg, data = risk_weights(scaling, N)
    fw = fused._forward(net, params, X)
    L = net.L
    J = data * float(np.sum(net.loss.value(fw.z_ff[L], fw.y_ff[L], Gamma)))
    J += reg * rho1 * sum(float(np.sum(W**2)) for W in params.W_conv.values())
    J += reg * rho2 * sum(float(np.sum(W**2)) for W in params.W_ff.values())
    return J


def sgd_step(net, params, X, Gamma, mu, rho1=0.0, rho2=0.0, method="fused"):
    r"""One stochastic-gradient step (47.1276) on one sample or a mini-batch of ``B``:
    every parameter moves by :math:`-\mu` times the derivative of :math:`J_{emp}` over the
    batch (47.1229 with ``N = B``). With one sample this is (47.1276) exactly:

    .. math::
        W_{\ell,n} = (1-2\mu\rho_2)W_{\ell,n-1} - \mu\,\delta_{\ell+1,n}y_{\ell,n}^T,\quad
        \theta_{\ell,n} = \theta_{\ell,n-1} + \mu\,\delta_{\ell+1,n},

        W_{c,n} = (1-2\mu\rho_1)W_{c,n-1} - \mu(\mathbb 1^T\otimes H_{n,c-1})\Delta_{n,c},\quad
        \Theta_{c,n} = \Theta_{c,n-1} + \mu(\mathbb 1^T \otimes \mathbb 1\mathbb 1^T)\Delta_{n,c}

    (the print has :math:`-\mu\delta` for :math:`\theta_\ell` and ``mu mu``: errata
    E-1276a, E-1276b). Returns new :class:`~sayedcnn.params.Params`. Implements (47.1276).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> X = np.random.default_rng(0).standard_normal((4, 1, 4, 4))
    >>> G = np.eye(2)[[0, 1, 1, 0]]
    >>> q = net.sgd_step(p, X, G, mu=0.5)
    >>> bool(net.risk(q, X, G) < net.risk(p, X, G))
    True
    """
    check_mu(mu)
    check_rho(rho1, rho2)
    check_method(method)
    params, X, Gamma = _check_batch(net, params, X, Gamma)
    if method == "listing":
        g = gradients_listing(net, params, X, Gamma, rho1, rho2)
    else:
        g = fused._gradients(net, params, X, Gamma, rho1, rho2, "1229", fused.Engine(net))
    return params.map(lambda p, gp: p - mu * gp, g)  # (47.1276)


# ---------------------------------------------------------------------------
# Training loop
# ---------------------------------------------------------------------------


def _targets(net, labels):
    labels = np.asarray(labels)
    if labels.ndim not in (1, 2):
        raise ValueError(f"labels must be N class numbers or an N x Q = N x {net.Q} matrix of "
                         f"targets (47.1229), got shape {labels.shape}")
    if labels.ndim == 2:
        return None, as_float_array(labels, "Gamma", eq="47.1229")
    low = -1.0 if net.output_activation.name == "tanh" else 0.0
    return labels, one_hot(labels, net.Q, low=low)


def _check_class_labels(net, labels, N, name="labels"):
    """Class numbers in 0..Q-1, one per image."""
    try:
        labels = _check_labels(labels)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None
    if labels.shape != (N,):
        raise ValueError(f"{name} must hold one class number per image, N = {N} (47.1229), got "
                         f"{labels.shape[0]}")
    if labels.size and labels.max() >= net.Q:
        raise ValueError(f"{name} must lie in 0..Q-1 = 0..{net.Q - 1} (47.1231), got maximum "
                         f"{labels.max()}")
    return labels


def accuracy(net, params, X, labels, batch=500):
    r"""Fraction of images whose largest output is at the label.

    The predicted class of image ``n`` is :math:`\arg\max_q y_{L,n}(q)` of (47.1216),
    computed ``batch`` images at a time.

    Parameters
    ----------
    net : Network
    params : Params
    X : array, shape (N, D_0, rows, cols)
    labels : array of int, shape (N,)
        Class numbers in ``0..Q-1``.
    batch : int
        Images per pass of the engine.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn import sgd
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> X = np.random.default_rng(0).standard_normal((6, 1, 4, 4))
    >>> guess = np.argmax(net.predict(p, X), axis=1)
    >>> sgd.accuracy(net, p, X, guess), sgd.accuracy(net, p, X, 1 - guess)
    (1.0, 0.0)
    """
    X = net.check_images(X)
    labels = _check_class_labels(net, labels, X.shape[0])
    batch = as_positive_int(batch, "batch")
    hits = 0
    for s in range(0, X.shape[0], batch):
        out = net.predict(params, X[s:s + batch])
        hits += int(np.sum(np.argmax(out, axis=1) == labels[s:s + batch]))
    return hits / X.shape[0]


def fit(net, params, X, labels, epochs=FIT_DEFAULTS["epochs"],
        batch_size=FIT_DEFAULTS["batch_size"], mu=FIT_DEFAULTS["mu"], rho1=FIT_DEFAULTS["rho1"],
        rho2=FIT_DEFAULTS["rho2"], seed=FIT_DEFAULTS["seed"], method="fused", X_val=None,
        y_val=None, callback=None, start_epoch=0, history=None, batch_callback=None):
    r"""Train by mini-batch stochastic gradient (47.1276) for ``epochs`` passes.

    Each epoch visits the samples in an order drawn from
    ``numpy.random.default_rng([seed, epoch])`` (so a run resumed at ``start_epoch`` repeats
    an uninterrupted one exactly) in batches of ``batch_size`` and applies
    :func:`sgd_step`. ``labels`` are integer classes (made one-hot, with ``-1`` as the low
    value for tanh outputs) or targets ``N x Q``.

    Returns ``(params, history)``; ``history`` holds per-epoch ``loss`` (mean of the batch
    risks of the epoch), ``train_acc``, ``val_acc`` (when ``X_val`` is given) and ``seconds``.
    ``callback(epoch, params, history)`` runs after each epoch; returning ``False`` stops.
    ``batch_callback(epoch, step, steps, loss, correct, size)`` runs after each mini-batch
    (``step`` of ``steps``, 1-based) with the batch's data risk and, when ``labels`` are
    classes, how many of its ``size`` samples the parameters before the step classified
    correctly (else ``None``). Implements (47.1276) with mini-batches.

    Examples
    --------
    Three epochs on a separable toy set (the class is the sign of the image's mean):

    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn import sgd
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((32, 1, 4, 4)) + rng.choice([-1.0, 1.0], (32, 1, 1, 1))
    >>> labels = (X.mean(axis=(1, 2, 3)) > 0).astype(int)
    >>> q, hist = sgd.fit(net, p, X, labels, epochs=3, batch_size=8, mu=0.5, seed=1)
    >>> sorted(hist), hist["epoch"]
    (['epoch', 'loss', 'seconds', 'train_acc', 'val_acc'], [1, 2, 3])
    >>> bool(hist["loss"][-1] < hist["loss"][0]), bool(np.isnan(hist["val_acc"][0]))
    (True, True)
    >>> q2, _ = sgd.fit(net, p, X, labels, epochs=3, batch_size=8, mu=0.5, seed=1)
    >>> bool(q.max_rel_diff(q2) < 1e-12)       # the same seed repeats the run
    True
    """
    epochs = as_positive_int(epochs, "epochs", minimum=0)
    batch_size = as_positive_int(batch_size, "batch_size B", eq="47.1276")
    seed = as_positive_int(seed, "seed", minimum=0)
    start_epoch = as_positive_int(start_epoch, "start_epoch", minimum=0)
    check_method(method)
    for name, fn in (("callback", callback), ("batch_callback", batch_callback)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable or None, got {fn!r}")
    check_mu(mu)
    check_rho(rho1, rho2)
    params = net.check_params(params)
    X = net.check_images(X)
    labels, Gamma = _targets(net, labels)
    if Gamma.shape != (X.shape[0], net.Q):
        raise ValueError(f"labels must give one target per image: N x Q = {X.shape[0]} x "
                         f"{net.Q} (47.1229), got {Gamma.shape}")
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val go together: give both (validation images and their "
                         "class numbers) or neither")
    if X_val is not None:
        X_val = net.check_images(X_val, "X_val")
        y_val = _check_class_labels(net, y_val, X_val.shape[0], "y_val")
    keys = HISTORY_KEYS
    if history is not None and (not isinstance(history, dict) or any(
            not isinstance(history.get(k), list) for k in keys)):
        raise TypeError(f"history must be a dict of lists with the keys {list(keys)} (as fit "
                        f"returns it), got {history!r:.200}")
    history = {k: [] for k in keys} if history is None else history
    N = X.shape[0]
    engine = fused.Engine(net)  # the engine's work space for this run
    for epoch in range(start_epoch, start_epoch + epochs):
        t0 = time.perf_counter()
        order = np.random.default_rng([seed, epoch]).permutation(N)
        total = 0.0
        for s in range(0, N, batch_size):
            idx = order[s:s + batch_size]
            if method == "fused":
                g, loss, fw = fused._gradients(net, params, X[idx], Gamma[idx], rho1, rho2,
                                               "1229", engine, return_loss=True)
            else:
                g = gradients(net, params, X[idx], Gamma[idx], rho1, rho2, method=method)
                loss = net.risk(params, X[idx], Gamma[idx])
            correct = None
            if batch_callback is not None and labels is not None:
                out = fw.output if method == "fused" else net.predict(params, X[idx])
                correct = int(np.sum(np.argmax(out, axis=1) == labels[idx]))
            params = params.map(lambda p, gp: p - mu * gp, g)  # (47.1276)
            total += loss * idx.size
            if batch_callback is not None:
                batch_callback(epoch + 1, s // batch_size + 1, -(-N // batch_size), loss,
                               correct, idx.size)
        history["epoch"].append(epoch + 1)
        history["loss"].append(total / N)
        history["train_acc"].append(accuracy(net, params, X, labels) if labels is not None
                                    else float("nan"))
        history["val_acc"].append(accuracy(net, params, X_val, np.asarray(y_val))
                                  if X_val is not None else float("nan"))
        history["seconds"].append(time.perf_counter() - t0)
        if callback is not None and callback(epoch + 1, params, history) is False:
            break
    return params, history

