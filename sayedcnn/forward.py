r"""The forward listing (47.1216), line for line, one pure function per line.

:func:`forward_listing` runs (47.1216) for one sample, map by map, with the partition
matrices :math:`V` (47.1152) and the pooling functions of Table 47.13, and keeps every
:math:`H_n^{(d,c)}, z_n^{(d,c)}, y_n^{(d,c)}, t_n^{(d,c)}, H_{n,c}` and the feedforward
:math:`z_{\ell,n}, y_{\ell,n}` in a :class:`ForwardResult`. The same numbers for a whole batch
at once come from the engine, :func:`sayedcnn.fused.forward_fused`.

Quantities are keyed by the book's numbers: ``res.z_conv[d, c]`` is
:math:`z_n^{(d,c)}` with ``d = 1..D_c``, ``c = 1..C``; ``res.H[d, c]`` is
:math:`H_n^{(d,c)}` for ``c = 0..C-1``; ``res.y_ff[l]`` is :math:`y_{\ell,n}`.

Two departures from the print, registered in :mod:`sayedcnn.fidelity.errata`: the input
patches are indexed to :math:`P_1` (the print has :math:`P_o`, E-1216a), and at ``c = C`` the
partition and :math:`H^{(d,C)}` lines are skipped (they would need a :math:`P_{C+1}` that
does not exist: the last pooled maps go to the feedforward part instead, 47.1215).

The step functions take checked input and work for any dtype, object arrays of symbols
included (with pooling that needs no order or square root: mean, subsampling, correlation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .operators import patches
from .pooling import pool_map
from .symbols import remember

__all__ = [
    "ForwardResult",
    "BatchForward",
    "input_patches",
    "correlation_z",
    "feature_map",
    "pooled_map",
    "next_patches",
    "stacked_features",
    "feedforward_input",
    "feedforward_layer",
    "forward_listing",
    "images_to_maps",
]


@dataclass
class ForwardResult:
    r"""Every quantity of (47.1216) for one sample ``n``.

    Attributes
    ----------
    H : dict
        ``H[d, c]`` = :math:`H_n^{(d,c)}` (``S_{c+1} x P_{c+1}``), ``c = 0..C-1`` (47.1211).
    H_stacked : dict
        ``H_stacked[c]`` = :math:`H_{n,c}` (``D_c S_{c+1} x P_{c+1}``) (47.1225).
    z_conv, y_conv, t_conv : dict
        ``[d, c]`` = :math:`z_n^{(d,c)}, y_n^{(d,c)}` (``P_c``), :math:`t_n^{(d,c)}`
        (``P'_c``) (47.1226).
    z_ff, y_ff : dict
        ``z_ff[l]`` = :math:`z_{\ell,n}` (``l = 2..L``), ``y_ff[l]`` = :math:`y_{\ell,n}`
        (``l = 1..L``).
    output : ndarray
        :math:`y_n = y_{L,n}`.

    Implements the record of (47.1216), keyed by the book's numbers.

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 3, pool=("max", 2)), sc.Conv(3, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> res = net.forward(p, np.ones((1, 4, 4)))
    >>> sorted(res.H), sorted(res.t_conv)          # (d, c): H for c = 0..C-1, t for c = 1..C
    ([(1, 0), (1, 1), (2, 1)], [(1, 1), (1, 2), (2, 1), (2, 2), (3, 2)])
    >>> res.H[1, 0].shape, res.H_stacked[1].shape, res.t_conv[1, 1].shape, res.y_ff[1].shape
    ((9, 16), (8, 4), (4,), (12,))
    """

    H: dict = field(default_factory=dict)
    H_stacked: dict = field(default_factory=dict)
    z_conv: dict = field(default_factory=dict)
    y_conv: dict = field(default_factory=dict)
    t_conv: dict = field(default_factory=dict)
    z_ff: dict = field(default_factory=dict)
    y_ff: dict = field(default_factory=dict)
    output: np.ndarray | None = None

    def __post_init__(self):
        remember(self)  # so that show(res.H[d, c]) finds its symbol (sayedcnn.symbols)


@dataclass
class BatchForward:
    r"""The listing (47.1216) run sample by sample: ``samples[n]`` is a :class:`ForwardResult`;
    ``output`` stacks the :math:`y_{L,n}` as rows (``N x Q``).

    Implements (47.1216) for a batch, one sample at a time.

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 3, pool=("max", 2)), sc.Conv(3, 2)], outputs=2)
    >>> p = net.init(seed=0)
    >>> batch = net.forward(p, np.zeros((3, 1, 4, 4)))
    >>> len(batch.samples), batch.output.shape
    (3, (3, 2))
    >>> bool(np.array_equal(batch.output[2], batch.samples[2].output))
    True
    """

    samples: list
    output: np.ndarray


# ---------------------------------------------------------------------------
# The listing's steps, one pure function each
# ---------------------------------------------------------------------------


def images_to_maps(x):
    r"""The input vectors :math:`h_n^{(d)} = \mathrm{vec}(\mathcal I_n^{(d)})` of one image
    ``(D_0, rows, cols)`` (47.1143), as a list over ``d = 1..D_0``.

    Implements (47.1143) with the column-major vec of (47.1127).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.forward import images_to_maps
    >>> images_to_maps(np.arange(8.0).reshape(2, 2, 2))       # two 2 x 2 channels
    [array([0., 2., 1., 3.]), array([4., 6., 5., 7.])]
    """
    return [x[d].reshape(-1, order="F") for d in range(x.shape[0])]  # vec, column-major


def input_patches(V0, h, S1):
    r"""``start with`` :math:`H_n^{(d,0)} = [h_{n,1}^{(d)} \dots h_{n,P_1}^{(d)}]` (47.1216),
    with :math:`\mathrm{vec}(H_n^{(d,0)}) = V_0 h_n^{(d)}` (47.1152). The listing indexes
    these to :math:`P_o`; there are :math:`P_1` of them (erratum E-1216a).

    Implements the first line of (47.1216).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import sliding_partition
    >>> from sayedcnn.forward import input_patches
    >>> part = sliding_partition((3, 3), 2, padding="valid")
    >>> input_patches(part.V, np.arange(9.0), part.S)      # S_1 x P_1 = 4 x 4
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    return patches(V0, h, S1)  # vec(H^(d,0)) = V_0 h^(d) (47.1152)


def correlation_z(H_prev, W_c, Theta_c, d, S, connected):
    r"""Pre-activation of map ``d`` of layer ``c`` (47.1216), (47.1212)-(47.1213):

    .. math:: z_n^{(d,c)} = \sum_{j \in \mathcal D} \Big([H_n^{(j,c-1)}]^T w_j^{(d,c)}
              - \theta^{(d,c)}(j)\,\mathbb 1\Big)

    ``H_prev[j]`` is :math:`H_n^{(j+1,c-1)}`; ``w_j^{(d,c)}`` is rows ``j*S..(j+1)*S-1`` of
    column ``d-1`` of :math:`W_c` (47.1223a); ``connected`` lists the 0-based ``j`` summed.

    Implements (47.1212)-(47.1213) as the line :math:`z_n^{(d,c)}` of (47.1216).

    Examples
    --------
    Two input maps with ``S = 4`` and ``P = 2``, a mask of ones and
    :math:`\theta^{(1,c)} = (1, 2)`: each map contributes its column sums minus its bias.

    >>> import numpy as np
    >>> from sayedcnn.forward import correlation_z
    >>> H_prev = [np.arange(8.0).reshape(4, 2), np.ones((4, 2))]
    >>> W_c, Theta_c = np.ones((8, 1)), np.array([[1.0], [2.0]])
    >>> correlation_z(H_prev, W_c, Theta_c, 1, 4, [0, 1])      # (12 - 1 + 4 - 2, 16 - 1 + 4 - 2)
    array([13., 17.])
    >>> correlation_z(H_prev, W_c, Theta_c, 1, 4, [0])         # map 2 not connected (47.1213)
    array([11., 15.])
    """
    P = H_prev[0].shape[1]
    terms = []
    for j in connected:
        w_j = W_c[j * S:(j + 1) * S, d - 1]  # w_j^(d,c) (47.1223a)
        terms.append(H_prev[j].T @ w_j - Theta_c[j, d - 1] * np.ones(P))  # (47.1216)
    return sum(terms[1:], terms[0])


def feature_map(z, f):
    r""":math:`y_n^{(d,c)} = f(z_n^{(d,c)})` (47.1216).

    Implements the line :math:`y = f(z)` of (47.1216).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.forward import feature_map
    >>> feature_map(np.array([-1.0, 0.0, 2.0]), np.tanh).round(4)
    array([-0.7616,  0.    ,  0.964 ])
    """
    return f(z)


def pooled_map(pooling, y):
    r""":math:`t_n^{(d,c)} = \mathrm{pool}(y_n^{(d,c)})` (47.1208), (47.1216).

    Implements the line :math:`t = \mathrm{pool}(y)` of (47.1216).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import Pooling
    >>> from sayedcnn.forward import pooled_map
    >>> pooled_map(Pooling("mean", in_shape=(4, 4), block=2), np.arange(16.0))
    array([ 2.5,  4.5, 10.5, 12.5])
    """
    return pool_map(pooling, y)  # Table 47.13, region by region


def next_patches(V_c, t, S_next):
    r""":math:`\{h_{n,p}^{(d,c)}\} = \mathrm{partition}(t_n^{(d,c)}, P_{c+1})` and
    :math:`H_n^{(d,c)} = [h_{n,1}^{(d,c)} \dots h_{n,P_{c+1}}^{(d,c)}]` (47.1209)-(47.1211),
    (47.1216), with :math:`\mathrm{vec}(H_n^{(d,c)}) = V_c\, t_n^{(d,c)}`.

    Implements the partition lines of (47.1216).

    Examples
    --------
    The pooled 2 x 2 map of layer ``c`` cut by the 2 x 2 'same' windows of layer ``c+1``:

    >>> import numpy as np
    >>> from sayedcnn import sliding_partition
    >>> from sayedcnn.forward import next_patches
    >>> part = sliding_partition((2, 2), 2)                     # V_c, P_{c+1} = 4
    >>> next_patches(part.V, np.array([1.0, 2.0, 3.0, 4.0]), part.S)
    array([[1., 2., 3., 4.],
           [2., 0., 4., 0.],
           [3., 4., 0., 0.],
           [4., 0., 0., 0.]])
    """
    return patches(V_c, t, S_next)  # vec(H^(d,c)) = V_c t^(d,c) (47.1152)


def stacked_features(H_list):
    r""":math:`H_{n,c} = \mathrm{col}\{H_n^{(1,c)}, \dots, H_n^{(D_c,c)}\}` (47.1225).

    Implements (47.1225).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.forward import stacked_features
    >>> stacked_features([np.zeros((4, 3)), np.ones((4, 3))]).shape      # D_c S_{c+1} x P_{c+1}
    (8, 3)
    """
    return np.vstack(H_list)


def feedforward_input(t_list):
    r""":math:`y_{1,n} = \mathrm{col}\{t_n^{(1,C)}, \dots, t_n^{(D_C,C)}\}` (47.1215)-(47.1216);
    entry ``p'`` of map ``d`` sits at :math:`(d-1)P'_C + p'` (47.1217).

    Implements (47.1215), (47.1217).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.forward import feedforward_input
    >>> feedforward_input([np.array([1.0, 2.0]), np.array([3.0, 4.0])])       # D_C = 2, P'_C = 2
    array([1., 2., 3., 4.])
    """
    return np.concatenate(t_list)


def feedforward_layer(W, theta, y, f):
    r""":math:`z_{\ell+1,n} = W_\ell y_{\ell,n} - \theta_\ell`,
    :math:`y_{\ell+1,n} = f(z_{\ell+1,n})` (47.1216); returns ``(z, y)``.

    Implements the feedforward lines of (47.1216) (minus :math:`\theta_\ell`).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.forward import feedforward_layer
    >>> W, theta = np.array([[1.0, 2.0], [3.0, -4.0]]), np.array([1.0, 1.0])
    >>> feedforward_layer(W, theta, np.array([1.0, 1.0]), lambda z: np.maximum(z, 0.0))
    (array([ 2., -2.]), array([2., 0.]))
    """
    z = W @ y - theta  # (47.1216)
    return z, f(z)


def forward_listing(net, params, x):
    r"""Run the forward listing (47.1216) on one image ``x`` (``D_0 x rows x cols``).

    Validates ``params`` and ``x`` against ``net``, then runs :func:`listing`.

    Returns
    -------
    ForwardResult
        Every intermediate quantity of (47.1216), keyed by the book's numbers.

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.forward import forward_listing
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 3, pool=("mean", 2))], outputs=2)
    >>> res = forward_listing(net, net.init(seed=0), np.ones((1, 4, 4)))
    >>> res.z_conv[1, 1].shape, res.t_conv[2, 1].shape, res.output.shape
    ((16,), (4,), (2,))

    Implements (47.1216).
    """
    params = net.check_params(params)
    X = net.check_images(x)
    if X.shape[0] != 1:
        raise ValueError(f"forward_listing runs one image D_0 x rows x cols (47.1216); got a "
                         f"batch of {X.shape[0]}: use net.forward(params, X, method='listing')")
    return listing(net, params, X[0])


def listing(net, params, x):
    r"""The lines of (47.1216) for checked input: ``x`` one image ``D_0 x rows x cols`` of any
    dtype (object arrays of symbols included). Returns a :class:`ForwardResult`.

    Implements (47.1216).

    Examples
    --------
    The listing agrees with the engine's batched pass:

    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.forward import listing
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("mean", 2))], outputs=2)
    >>> p, x = net.init(seed=0), np.random.default_rng(0).standard_normal((1, 4, 4))
    >>> res = listing(net, p, x)
    >>> fused = net.forward(p, x[None], method="fused").output[0]
    >>> res.output.shape, bool(np.allclose(res.output, fused, rtol=1e-12, atol=0))
    ((2,), True)
    """
    res = ForwardResult()
    first = net.layers[0]
    for d, h in enumerate(images_to_maps(x), start=1):
        res.H[d, 0] = input_patches(first.partition.V, h, first.S)  # start with H^(d,0)
    res.H_stacked[0] = stacked_features([res.H[d, 0] for d in range(1, net.input_depth + 1)])
    for ly in net.layers:  # for c = 1..C
        c = ly.c
        H_prev = [res.H[j, c - 1] for j in range(1, ly.D_in + 1)]
        for d in range(1, ly.D + 1):  # for d = 1..D_c
            connected = np.flatnonzero(ly.conn[:, d - 1])
            z = correlation_z(H_prev, params.W_conv[c], params.Theta_conv[c], d, ly.S, connected)
            res.z_conv[d, c] = z
            res.y_conv[d, c] = feature_map(z, ly.activation.f)  # y = f(z)
            res.t_conv[d, c] = (pooled_map(ly.pooling, res.y_conv[d, c]) if ly.pooled
                                else res.y_conv[d, c])  # t = pool(y); no pooling: t = y
            if c < net.C:
                nxt = net.layers[c]  # layer c+1 owns V_c, its input partition
                res.H[d, c] = next_patches(nxt.partition.V, res.t_conv[d, c], nxt.S)
        if c < net.C:
            res.H_stacked[c] = stacked_features([res.H[d, c] for d in range(1, ly.D + 1)])
    last = net.layers[-1]
    res.y_ff[1] = feedforward_input([res.t_conv[d, net.C] for d in range(1, last.D + 1)])
    for l in range(1, net.L):  # for l = 1..L-1
        res.z_ff[l + 1], res.y_ff[l + 1] = feedforward_layer(
            params.W_ff[l], params.theta_ff[l], res.y_ff[l], net.ff_activation[l + 1].f)
    res.output = res.y_ff[net.L]  # y = y_L
    return res
