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

Slips of the note are listed in :data:`ERRATA`, each with a ``demo_*`` function. The
important one (E-S002a) is the tie rule of BP2: on MNIST the background is exactly zero, so
every 5 x 5 window on the background gives :math:`z^1 = b^1` and whole pooling blocks tie.
"""

from __future__ import annotations

import numpy as np

from ...network import Conv, Network, Params
from ...operators import vec
from ..examples import Example

__all__ = [
    "ERRATA",
    "network",
    "to_nielsen",
    "from_nielsen",
    "nielsen_as_params",
    "finite_difference_b1",
    "train_mnist",
    "examples",
    "demo_E_S002a",
    "demo_E_S002b",
    "demo_E_S002c",
]


def network():
    r"""The note's network in the book's terms: 28 x 28, one 5 x 5 'valid' sigmoid map,
    2 x 2 max-pooling, 10 sigmoid outputs, the quadratic risk (47.1229)."""
    return Network((28, 28), 1, [Conv(1, 5, padding="valid", activation="sigmoid",
                                      pool=("max", 2))],
                   outputs=10, output_activation="sigmoid", loss="quadratic")


def to_nielsen(params):
    r"""The note's ``(w1, b1, w3, b3)`` from the book's :class:`~sayedcnn.Params`."""
    w1 = params.W_conv[1][:, 0].reshape((5, 5), order="F")  # w_{l,m} at vec index l + 5m
    b1 = -float(params.Theta_conv[1][0, 0])  # z = ... - theta
    Q, n1 = params.W_ff[1].shape
    side = int(round(np.sqrt(n1)))
    w3 = np.array([params.W_ff[1][l].reshape((side, side), order="F") for l in range(Q)])
    b3 = -np.asarray(params.theta_ff[1], dtype=float)
    return w1, b1, w3, b3


def from_nielsen(w1, b1, w3, b3):
    r"""The book's :class:`~sayedcnn.Params` from the note's ``(w1, b1, w3, b3)``."""
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
    shifts every :math:`z^1` alike, so tied blocks stay tied and the derivative exists."""
    def J(shift):
        p = params.copy()
        p.Theta_conv[1] = p.Theta_conv[1] - shift  # b1 = -Theta
        return net.risk(p, X, Gamma)

    return (J(h) - J(-h)) / (2 * h)


def train_mnist(epochs=10, mu=0.5, batch_size=1, n_train=None, seed=0, callback=None):
    r"""Train the note's network on MNIST-5k by (47.1276) (4,000 training images, 1,000 test
    images by default) and report the test accuracy.

    Returns ``(params, history, test_accuracy)``.
    """
    from ...data.datasets import load_mnist5k
    from ...training import accuracy

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
    from ...training import one_hot

    data = load_mnist5k(seed=0)
    X = data.X_train[:n]
    Gamma = one_hot(data.y_train[:n], 10)
    net = network()
    params = net.init(seed=seed)
    params.Theta_conv[1] = np.array([[-0.5]])  # b1 = 0.5
    return net, params, X, Gamma


def demo_E_S002a():
    r"""E-S002a: BP2's rule "0 if :math:`a^1_{j,k} \ne \max`, else
    :math:`\sum_l \delta^3_l w^3_{l;j',k'}\sigma'(z^1_{j,k})`" gives the sensitivity to
    *every* entry equal to the maximum. Where a block ties (the whole MNIST background, where
    :math:`z^1 = b^1`), the max moves with each of the tied entries together, not with each
    separately; the book's gradient vector :math:`e_{p^o}` (47.1196b) routes it to one entry.
    Read literally, :math:`\partial C/\partial b^1` (BP3) counts each tied block up to four
    times. Returns ``(printed, corrected)`` for :math:`\partial J/\partial b^1` on one MNIST
    image; ``corrected`` is the book's and matches :func:`finite_difference_b1`."""
    net, params, X, Gamma = _mnist_state()
    printed = -nielsen_as_params(params, X, Gamma, ties="all").Theta_conv[1][0, 0]
    corrected = -net.gradients(params, X, Gamma, method="listing").Theta_conv[1][0, 0]
    return printed, corrected


def demo_E_S002b():
    r"""E-S002b: the ranges "0 <= l <=" of :math:`w^3_{l;j,k}`, :math:`b^3_l`, :math:`z^3_l`,
    :math:`a^3_l` lack their upper bound; the sums of BP2 run to ``l = 9``: ten outputs.
    Returns ``(printed, corrected)`` = ``(None, 9)``, the last output index of the network."""
    return None, network().Q - 1


def demo_E_S002c():
    r"""E-S002c: BP4 for the shared weights sums over ":math:`0 \le i,k \le 23`" a summand in
    ``j, k``; read literally the sum over ``i`` repeats one row ``j`` 24 times. The sum is over
    ``j, k``. Returns ``(printed, corrected)`` as 5 x 5 matrices for one MNIST image (the
    literal reading with ``j = 0``; the correct sum over ``j, k``, equal to the book's)."""
    from ...reference.image import nielsen_gradients

    net, params, X, Gamma = _mnist_state()
    w1, b1, w3, b3 = to_nielsen(params)
    g = nielsen_gradients(X[0, 0], Gamma[0], w1, b1, w3, b3)
    d1, a0 = g["delta1"], X[0, 0]
    printed = np.zeros((5, 5))
    for l in range(5):
        for m in range(5):
            printed[l, m] = 24 * sum(d1[0, k] * a0[0 + l, k + m] for k in range(24))
    return printed, g["w1"]


ERRATA = (
    {"id": "E-S002a", "note": "002", "location": "BP2, the case rule for d a^2 / d a^1 "
                                                 "(and hence BP3 for b^1)",
     "printed": "d a^2_{j',k'} / d a^1_{j,k} = 1 if a^1_{j,k} = max(block), else 0",
     "corrected": "1 for one maximal entry of the block (the book's g = e_{p^o}, (47.1196b)); "
                  "0 for the others, tied or not",
     "reason": "at a tie the max is not differentiable entry by entry; giving 1 to every tied "
               "entry makes the tied entries' sensitivities sum to a multiple of the true "
               "one. On MNIST whole blocks of the background tie (z^1 = b^1 there), and "
               "dC/db^1 is wrong while finite differences along b^1 agree with the book",
     "demo": "demo_E_S002a"},
    {"id": "E-S002b", "note": "002", "location": "definitions of w^3, b^3, z^3, a^3",
     "printed": "0 <= l <=  (no upper bound)",
     "corrected": "0 <= l <= 9",
     "reason": "ten outputs; the sums of BP2 run over l = 0..9",
     "demo": "demo_E_S002b"},
    {"id": "E-S002c", "note": "002",
     "location": "BP4 for w^1_{l,m} (three lines); also the generic BP3/BP4 and the BP1 "
                 "derivation mix the letters i and j",
     "printed": "sum_{0 <= i,k <= 23} delta^1_{j,k} a^0_{j+l,k+m};  dC/db^l_i = delta^l_j;  "
                "dC/dw^l_{ik} = a^{l-1}_k delta^l_j",
     "corrected": "sum_{0 <= j,k <= 23} delta^1_{j,k} a^0_{j+l,k+m};  dC/db^l_j = delta^l_j; "
                  " dC/dw^l_{jk} = a^{l-1}_k delta^l_j",
     "reason": "the summation (or free) index must be the one in the summand",
     "demo": "demo_E_S002c"},
)


def examples():
    r"""The note's sizes and its BP1-BP4 beside the package, for ``reproduce``."""
    net = network()
    ly = net.layers[0]
    net_, params, X, Gamma = _mnist_state(n=2)
    note = nielsen_as_params(params, X, Gamma, ties="first")
    book = net.gradients(params, X, Gamma, method="listing")
    a, b = demo_E_S002a()
    return [
        Example("seed002", "conv map 0 <= j,k <= 23 (24 x 24), pooled 0 <= j,k <= 11 "
                "(12 x 12), outputs l = 0..9", [24, 24, 12, 12, 10],
                [*ly.map_shape, *ly.pooled_shape, net.Q]),
        Example("seed002", "25 shared weights and one shared bias b^1 (S_1, D_0 D_1)",
                [25, 1], [ly.S, ly.D_in * ly.D]),
        Example("seed002", "BP1-BP4 by the note's index formulas = listing (47.1275) on two "
                "MNIST images (all derivatives stacked)", note.to_vector(), book.to_vector(),
                atol=1e-12),
        Example("seed002", "dJ/db^1 on an MNIST image: BP2's tie rule read literally",
                a, b, erratum="E-S002a"),
    ]
