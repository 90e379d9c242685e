r"""Seed note ``002`` (Nielsen-style BP1-BP4): 28 x 28 -> 24 x 24 -> 12 x 12 -> 10.

The note's network: a 28 x 28 image :math:`a^0`, one shared 5 x 5 mask :math:`w^1` and one
shared bias :math:`b^1` ('valid', a 24 x 24 map :math:`z^1`, :math:`a^1 = \sigma(z^1)`), 2 x 2
max-pooling (:math:`a^2`, 12 x 12), and 10 sigmoid outputs
:math:`z^3_l = b^3_l + \sum_{j,k} w^3_{l;j,k} a^2_{j,k}`. In the book's terms (47.1216):
:math:`C = 1`, :math:`D_0 = D_1 = 1`, :math:`S_1 = 25`, :math:`P_1 = 576`,
:math:`P'_1 = 144`, :math:`L = 2`, :math:`n_1 = 144`, :math:`n_2 = 10`.

The correspondence of parameters (the book subtracts its biases, :math:`z = Wy - \theta`, and
stacks columns):

.. math::
    W_1^{conv} = \mathrm{vec}(w^1),\quad \Theta_1 = -b^1,\quad
    [W_1]_{l,\,j + 12k} = w^3_{l;j,k},\quad \theta_1 = -b^3.

The note's BP1-BP4 are implemented index by index in
:func:`sayedcnn.reference.image.nielsen_gradients` (the independent side); here they are
mapped to the book's shapes (:func:`nielsen_as_params`) and compared with the package's
listing (47.1275). The note's cost :math:`C` is unspecified; both sides use the book's
:math:`\|\gamma - y\|^2` averaged over the batch (47.1229).

The note's slips (E-S002a-c) are registered, with their demonstrations, in
:mod:`sayedcnn.fidelity.errata`. The important one (E-S002a) is the tie rule of BP2: on
MNIST the background is exactly zero, so every 5 x 5 window on the background gives
:math:`z^1 = b^1` and whole pooling blocks tie; the register shows it on a small image with a
blank background, and :func:`nielsen_as_params` (``ties="all"``) reproduces it on MNIST.
"""

from __future__ import annotations

import numpy as np

from ...network import Conv, Network
from ...operators import vec
from ...params import Params
from ..errata import as_example
from ..examples import Example

__all__ = [
    "network",
    "to_nielsen",
    "from_nielsen",
    "nielsen_as_params",
    "finite_difference_b1",
    "train_mnist",
    "examples",
]


def network():
    r"""The note's network in the book's terms: 28 x 28, one 5 x 5 'valid' sigmoid map,
    2 x 2 max-pooling, 10 sigmoid outputs, the quadratic risk (47.1229).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s002 import network
    >>> net = network()
    >>> net.layers[0].P, net.layers[0].P_out, net.n[-1]   # 24 x 24 map, 12 x 12 pooled, 10 outputs
    (576, 144, 10)
    """
    return Network((28, 28), 1, [Conv(1, 5, padding="valid", activation="sigmoid",
                                      pool=("max", 2))],
                   outputs=10, output_activation="sigmoid", loss="quadratic")


def to_nielsen(params):
    r"""The note's ``(w1, b1, w3, b3)`` from the book's :class:`~sayedcnn.Params`.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s002 import network, to_nielsen
    >>> w1, b1, w3, b3 = to_nielsen(network().init(0))
    >>> w1.shape, w3.shape, b3.shape
    ((5, 5), (10, 12, 12), (10,))
    """
    w1 = params.W_conv[1][:, 0].reshape((5, 5), order="F")  # w_{l,m} at vec index l + 5m
    b1 = -float(params.Theta_conv[1][0, 0])  # z = ... - theta
    Q, n1 = params.W_ff[1].shape
    side = int(round(np.sqrt(n1)))
    w3 = np.array([params.W_ff[1][l].reshape((side, side), order="F") for l in range(Q)])
    b3 = -np.asarray(params.theta_ff[1], dtype=float)
    return w1, b1, w3, b3


def from_nielsen(w1, b1, w3, b3):
    r"""The book's :class:`~sayedcnn.Params` from the note's ``(w1, b1, w3, b3)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s002 import from_nielsen, network, to_nielsen
    >>> p = network().init(0)
    >>> p.max_rel_diff(from_nielsen(*to_nielsen(p))) < 1e-15
    True
    """
    w3 = np.asarray(w3, dtype=float)
    return Params(W_conv={1: vec(np.asarray(w1, dtype=float)).reshape(-1, 1)},
                  Theta_conv={1: np.array([[-float(b1)]])},
                  W_ff={1: np.array([vec(w3[l]) for l in range(w3.shape[0])])},
                  theta_ff={1: -np.asarray(b3, dtype=float)})


def nielsen_as_params(params, X, Gamma, ties="first"):
    r"""The note's BP1-BP4 (by index loops) averaged over the images ``X`` and mapped to the
    book's shapes: the derivatives of :math:`J_{emp}` (47.1229) by the note's formulas.

    ``ties`` as in :func:`sayedcnn.reference.image.nielsen_gradients`. Derivatives with
    respect to the book's subtracted biases are minus those with respect to ``b``.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s002 import network, nielsen_as_params
    >>> net = network()
    >>> p = net.init(0)
    >>> X = np.random.default_rng(0).random((2, 1, 28, 28))
    >>> Gamma = np.eye(10)[[3, 7]]
    >>> nielsen_as_params(p, X, Gamma).max_rel_diff(net.gradients(p, X, Gamma)) < 1e-12
    True
    """
    from ...reference.image import nielsen_gradients

    w1, b1, w3, b3 = to_nielsen(params)
    N = X.shape[0]
    acc = None
    for n in range(N):
        g = nielsen_gradients(X[n, 0], Gamma[n], w1, b1, w3, b3, ties=ties)
        term = np.concatenate([g["w1"].ravel(), [g["b1"]], g["w3"].ravel(), g["b3"]])
        acc = term if acc is None else acc + term
    acc /= N
    f = w1.size
    gw1 = acc[:f].reshape(w1.shape)
    gb1 = acc[f]
    gw3 = acc[f + 1:f + 1 + w3.size].reshape(w3.shape)
    gb3 = acc[f + 1 + w3.size:]
    return from_nielsen(gw1, gb1, gw3, gb3)  # negated biases: d/d(theta) = -d/d(b)


def finite_difference_b1(net, params, X, Gamma, h=1e-6):
    r"""Central difference of :math:`J_{emp}` (47.1229) along the shared bias :math:`b^1`
    (i.e. :math:`-\Theta_1`): :math:`(J(b^1+h) - J(b^1-h))/2h`. Shifting :math:`b^1`
    shifts every :math:`z^1` alike, so tied blocks stay tied and the derivative exists.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.fidelity.seeds.s002 import finite_difference_b1, network
    >>> net = network()
    >>> p = net.init(0)
    >>> X, Gamma = np.random.default_rng(0).random((1, 1, 28, 28)), np.eye(10)[[3]]
    >>> dTheta = net.gradients(p, X, Gamma).Theta_conv[1][0, 0]   # b^1 = -Theta_1
    >>> bool(abs(finite_difference_b1(net, p, X, Gamma) + dTheta) < 1e-8)
    True
    """
    def J(shift):
        p = params.copy()
        p.Theta_conv[1] = p.Theta_conv[1] - shift  # b1 = -Theta
        return net.risk(p, X, Gamma)

    return (J(h) - J(-h)) / (2 * h)


def train_mnist(epochs=10, mu=0.5, batch_size=1, n_train=None, seed=0, callback=None):
    r"""Train the note's network on MNIST-5k by (47.1276) (4,000 training images, 1,000 test
    images by default) and report the test accuracy.

    Returns ``(params, history, test_accuracy)``.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s002 import train_mnist
    >>> params, history, acc = train_mnist(epochs=1, n_train=50)
    >>> len(history["loss"]), 0.0 <= acc <= 1.0
    (1, True)
    """
    from ...data.datasets import load_mnist5k
    from ...sgd import accuracy

    data = load_mnist5k(seed=seed)
    X, y = data.X_train, data.y_train
    if n_train is not None:
        X, y = X[:n_train], y[:n_train]
    net = network()
    params = net.init(seed=seed)
    params, hist = net.fit(params, X, y, epochs=epochs, batch_size=batch_size, mu=mu,
                           seed=seed, X_val=data.X_test, y_val=data.y_test, callback=callback)
    return params, hist, accuracy(net, params, data.X_test, data.y_test)


# ---------------------------------------------------------------------------
# Slips
# ---------------------------------------------------------------------------


def _mnist_state(n=1, seed=0):
    """A few MNIST images, their targets and parameters with a non-zero shared bias."""
    from ...data.datasets import load_mnist5k
    from ...losses import one_hot

    data = load_mnist5k(seed=0)
    X = data.X_train[:n]
    Gamma = one_hot(data.y_train[:n], 10)
    net = network()
    params = net.init(seed=seed)
    params.Theta_conv[1] = np.array([[-0.5]])  # b1 = 0.5
    return net, params, X, Gamma


def examples():
    r"""The note's sizes and its BP1-BP4 beside the package, for ``reproduce``; the row of
    its tie slip comes from the register (:mod:`sayedcnn.fidelity.errata`).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds.s002 import examples
    >>> rows = examples()
    >>> all(r.ok for r in rows), [r.erratum for r in rows if r.erratum]
    (True, ['E-S002a'])
    """
    net = network()
    ly = net.layers[0]
    net_, params, X, Gamma = _mnist_state(n=2)
    note = nielsen_as_params(params, X, Gamma, ties="first")
    book = net.gradients(params, X, Gamma, method="listing")
    return [
        Example("seed002", "conv map 0 <= j,k <= 23 (24 x 24), pooled 0 <= j,k <= 11 "
                "(12 x 12), outputs l = 0..9", [24, 24, 12, 12, 10],
                [*ly.map_shape, *ly.pooled_shape, net.Q]),
        Example("seed002", "25 shared weights and one shared bias b^1 (S_1, D_0 D_1)",
                [25, 1], [ly.S, ly.D_in * ly.D]),
        Example("seed002", "BP1-BP4 by the note's index formulas = listing (47.1275) on two "
                "MNIST images (all derivatives stacked)", note.to_vector(), book.to_vector(),
                atol=1e-12, basis="evaluated"),
        as_example("seed002", "dJ/db^1 with BP2's tie rule read literally, on an image "
                      "with a blank background (whole pooling blocks tie), against e_(p^o) "
                      "(47.1196b)", "E-S002a"),
    ]
