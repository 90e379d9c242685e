r"""The convolutional network of section 47.25.4: architecture, sizes and parameters.

A :class:`Network` has ``C`` correlation/pooling layers ``c = 1..C`` (described by
:class:`Conv`) followed by a feedforward network of ``L`` layers ``l = 1..L`` (input
``l = 1``, output ``l = L``). Parameters live in :class:`Params`, keyed by the book's layer
numbers and in the book's shapes (47.1221g-h, 47.1224a-b):

* ``W_conv[c]``: :math:`W_c`, ``S_c D_{c-1} x D_c``; column ``d`` is
  :math:`W^{(d,c)} = \mathrm{col}\{w_1^{(d,c)}, \dots, w_{D_{c-1}}^{(d,c)}\}`;
* ``Theta_conv[c]``: :math:`\Theta_c`, ``D_{c-1} x D_c``, column ``d`` is
  :math:`\theta^{(d,c)}`;
* ``W_ff[l]``: :math:`W_\ell`, ``n_{l+1} x n_l``; ``theta_ff[l]``: :math:`\theta_\ell`,
  ``n_{l+1}``.

Pre-activations are :math:`z = W y - \theta` (minus). Only the column sums of
:math:`\Theta_c` reach :math:`z` (47.1216): the book's parametrisation is redundant, and
:meth:`Network.parameter_count` reports both counts.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._checks import (
    MAX_ENTRIES,
    as_float_array,
    as_pair,
    as_positive_int,
    as_real,
    check_finite,
)
from .activations import get_activation
from .losses import get_loss
from .operators import sliding_partition
from .params import Params
from .pooling import Pooling

__all__ = ["Conv", "ConvLayer", "Network", "Params"]  # Params re-exported from .params


@dataclass(frozen=True)
class Conv:
    r"""Description of one correlation/pooling layer ``c`` (47.1212)-(47.1213).

    Parameters
    ----------
    depth : int
        :math:`D_c`, the number of feature maps.
    mask : int or (int, int)
        Mask shape; :math:`S_c` is its number of entries.
    padding : {"same", "valid"} or int or (int, int)
        See :func:`sayedcnn.sliding_partition`.
    stride : int or (int, int)
        Step of the sliding mask.
    activation : str
        ``f`` of the layer: ``"tanh"``, ``"relu"``, ``"sigmoid"`` or ``"linear"``.
    pool : None, tuple, dict or Pooling
        ``None`` (no pooling, ``t = y``), ``(kind, block)`` or ``(kind, block, stride)``,
        a dict of :class:`Pooling` keyword arguments (without ``in_shape``), or a ready
        :class:`Pooling` over the ``P_c`` entries of the map.
    connections : None or sequence
        For each output map ``d`` (0-based), the 0-based input maps :math:`\mathcal D` it
        sums over (47.1213); ``None`` connects every input map.

    Implements the description of one layer of (47.1216): its depth :math:`D_c`, mask
    (:math:`S_c` entries, 47.1155), activation and pooling (47.1208).

    Examples
    --------
    >>> import sayedcnn as sc
    >>> sc.Conv(4)
    Conv(depth=4, mask=3, padding='same', stride=1, activation='tanh', pool=None, connections=None)
    >>> sc.Conv(6, mask=5, activation="relu", pool=("max", 2)).pool
    ('max', 2)
    """

    depth: int
    mask: object = 3
    padding: object = "same"
    stride: object = 1
    activation: str = "tanh"
    pool: object = None
    connections: object = None


@dataclass
class ConvLayer:
    r"""A resolved layer ``c`` of a :class:`Network`: sizes, partition and pooling.

    ``partition`` is the sliding partition :math:`V_{c-1}` of the layer's input maps
    (47.1209), ``pooling`` the :class:`Pooling` of its feature maps (47.1208) and ``conn``
    the ``D_{c-1} x D_c`` connection table (47.1213). Implements the sizes
    :math:`D_c, S_c, P_c, P'_c` of (47.1206)-(47.1213).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
    ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
    >>> ly = net.layers[0]
    >>> ly.c, ly.D_in, ly.D, ly.S, ly.P, ly.P_out
    (1, 1, 3, 9, 64, 16)
    >>> ly.map_shape, ly.pooled_shape, ly.pooling.kind
    ((8, 8), (4, 4), 'max')
    """

    c: int
    D_in: int
    D: int
    in_shape: tuple
    partition: object  # SlidingPartition: V_{c-1} of the book (47.1209)
    pooling: Pooling
    pooled: bool
    activation: object
    conn: np.ndarray  # D_{c-1} x D_c booleans (47.1213)
    spec: Conv

    @property
    def S(self):
        r""":math:`S_c`, the number of mask entries, the size of each subvector (47.1155).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> net.layers[1].S
        9
        """
        return self.partition.S

    @property
    def P(self):
        r""":math:`P_c`, the number of entries of each feature map :math:`y_n^{(d,c)}` (47.1206).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> net.layers[1].P
        16
        """
        return self.partition.P

    @property
    def P_out(self):
        r""":math:`P'_c`, the number of entries of each pooled map :math:`t_n^{(d,c)}` (47.1208).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> net.layers[1].P_out
        4
        """
        return self.pooling.P_out

    @property
    def map_shape(self):
        r"""Shape ``rows x cols`` of the feature maps :math:`y_n^{(d,c)}` (47.1206).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> net.layers[1].map_shape
        (4, 4)
        """
        return self.partition.out_shape

    @property
    def pooled_shape(self):
        r"""Shape ``rows x cols`` of the pooled maps :math:`t_n^{(d,c)}` (47.1208).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> net.layers[1].pooled_shape
        (2, 2)
        """
        return self.pooling.out_shape

    @property
    def W_mask(self):
        r"""``S_c D_{c-1} x D_c`` booleans: the entries of ``W_c`` that the table connects.

        Each row of the connection table (47.1213) repeated :math:`S_c` times, in the layout
        of :math:`W_c` (47.1223a).

        Examples
        --------
        Map 1 reads input map 1 only; map 2 reads both:

        >>> import sayedcnn as sc
        >>> net = sc.Network((4, 4), input_depth=2, conv=[sc.Conv(2, 2, connections=[[0], [0, 1]])],
        ...                  outputs=2)
        >>> net.layers[0].W_mask.T.astype(int)
        array([[1, 1, 1, 1, 0, 0, 0, 0],
               [1, 1, 1, 1, 1, 1, 1, 1]])
        """
        return np.repeat(self.conn, self.S, axis=0)


def _too_large(count, what, eq):
    if count > MAX_ENTRIES:
        raise ValueError(f"{what} would have {count:,} entries ({eq}), more than the "
                         f"{MAX_ENTRIES:,} (2**27) a sayedcnn network builds")


def _partition_rows_bound(shape, spec):
    """An upper bound on :math:`P_c S_c`, the rows of the layer's partition matrix, from its
    description alone (``None`` when the description is malformed: the partition itself then
    reports the mistake)."""
    try:
        kr, kc = as_pair(spec.mask, "mask")
        pads = spec.padding
        if isinstance(pads, str):
            pr = pc = 0
        else:
            pr, pc = as_pair(pads, "padding", minimum=0)
    except (TypeError, ValueError):
        return None
    return (shape[0] + 2 * pr) * (shape[1] + 2 * pc) * kr * kc


def _build_pooling(spec, shape, c):
    P = shape[0] * shape[1]
    if spec is None:
        return Pooling("mean", in_shape=shape, block=(1, 1)), False  # identity: t = y
    if isinstance(spec, Pooling):
        if spec.P != P:
            raise ValueError(f"the Pooling of layer c = {c} pools {spec.P} entries but the "
                             f"feature map has P_{c} = {P} (47.1208)")
        if spec.block is not None and tuple(spec.in_shape) != tuple(shape):
            raise ValueError(f"the Pooling of layer c = {c} tiles a {spec.in_shape[0]} x "
                             f"{spec.in_shape[1]} map but the feature map of layer c = {c} is "
                             f"{shape[0]} x {shape[1]} (47.1208)")
        return spec, True
    if isinstance(spec, dict):
        kw = dict(spec)
        kind = kw.pop("kind", None)
        allowed = {"block", "stride", "regions", "P", "mask", "retain"}
        if set(kw) - allowed:
            raise ValueError(f"pool of layer c = {c}: unknown keys {sorted(set(kw) - allowed)}; "
                             f"a pooling dict holds 'kind' and some of {sorted(allowed)} "
                             f"(47.1187)")
        if "regions" in kw:
            given = kw.setdefault("P", P)
            if isinstance(given, bool) or not isinstance(given, numbers.Integral) or given != P:
                raise ValueError(f"pool of layer c = {c}: P = {given!r}, but the regions pool "
                                 f"the feature map of layer c = {c}, {shape[0]} x {shape[1]}, "
                                 f"P_{c} = {P} entries (47.1208)")
            return Pooling(kind, **kw), True
        return Pooling(kind, in_shape=shape, **kw), True
    if isinstance(spec, (tuple, list)) and 2 <= len(spec) <= 3:
        kind, block = spec[0], spec[1]
        stride = spec[2] if len(spec) == 3 else None
        return Pooling(kind, in_shape=shape, block=block, stride=stride), True
    raise ValueError(f"pool of layer c = {c} must be None, (kind, block[, stride]), a dict or a "
                     f"Pooling (47.1208), got {spec!r}")


class Network:
    r"""A convolutional neural network as in section 47.25.4 (Fig. 47.97).

    Parameters
    ----------
    input_shape : (int, int)
        Image size ``rows x cols``; ``M = rows*cols`` (47.1143).
    input_depth : int
        :math:`D_0` (3 for RGB, Example 47.71).
    conv : sequence of Conv
        The layers ``c = 1..C`` (``C >= 1``).
    hidden : sequence of int
        Sizes :math:`n_2, \dots, n_{L-1}` of the hidden feedforward layers.
    outputs : int
        :math:`n_L = Q`.
    hidden_activation : str or sequence of str
        ``f`` of the hidden layers (one name, or one per hidden layer).
    output_activation : str
        ``f`` of the output layer (``"softmax"`` allowed here only).
    loss : {"quadratic", "cross_entropy"}
        The book's :math:`\|\gamma - y\|^2` (47.1229), or cross-entropy with softmax
        outputs (seed 001).

    Implements the architecture of (47.1216) and the sizes of (47.1205)-(47.1225).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
    ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
    >>> net
    Network(input 1x(8, 8), C=2, n=[8, 5, 2], loss='quadratic')
    >>> net.C, net.L, net.n[1:]       # n_1 = D_C P'_C = 2 * 4 (47.1217)
    (2, 3, [8, 5, 2])
    >>> p = net.init(seed=0)
    >>> net.forward(p, np.zeros((3, 1, 8, 8))).output.shape
    (3, 2)
    """

    def __init__(self, input_shape, input_depth=1, conv=(), hidden=(), outputs=10,
                 hidden_activation="sigmoid", output_activation=None, loss="quadratic"):
        self.input_shape = as_pair(input_shape, "input_shape", eq="47.1143")
        self.input_depth = as_positive_int(input_depth, "input_depth D_0", eq="47.1216")
        _too_large(self.input_shape[0] * self.input_shape[1] * self.input_depth,
                   f"an image of D_0 x rows x cols = {self.input_depth} x "
                   f"{self.input_shape[0]} x {self.input_shape[1]}", "47.1216")
        if isinstance(conv, (Conv, str)) or not hasattr(conv, "__iter__"):
            raise TypeError(f"conv must be a sequence of sayedcnn.Conv, one per layer "
                            f"c = 1..C (47.1216), got {conv!r}")
        conv = list(conv)
        if not conv:
            raise ValueError("a convolutional network needs C >= 1 correlation layers (47.1216)")
        self.loss = get_loss(loss)
        if output_activation is None:
            output_activation = "softmax" if self.loss.name == "cross_entropy" else "sigmoid"
        self.output_activation = get_activation(output_activation, allow_softmax=True)
        self.loss.check_output_activation(self.output_activation)
        self.layers = []
        shape, D_prev = self.input_shape, self.input_depth
        for c, spec in enumerate(conv, start=1):
            if not isinstance(spec, Conv):
                raise TypeError(f"conv[{c - 1}] must be a sayedcnn.Conv, got {type(spec).__name__}")
            D = as_positive_int(spec.depth, f"depth D_{c}", eq="47.1206")
            bound = _partition_rows_bound(shape, spec)
            if bound is not None:
                _too_large(bound, f"the partition matrix V_{c} of layer c = {c} (mask "
                           f"{spec.mask!r}, padding {spec.padding!r}, on a {shape[0]} x "
                           f"{shape[1]} map)", "47.1152")
            try:
                part = sliding_partition(shape, spec.mask, spec.stride, spec.padding)
            except (TypeError, ValueError) as exc:  # name the layer whose geometry fails
                raise type(exc)(f"conv layer c = {c} on its {shape[0]} x {shape[1]} input map: "
                                f"{exc}") from None
            _too_large(part.S * D_prev * D, f"W_{c} = W_conv[{c}], S_{c} D_{c - 1} x D_{c} = "
                       f"{part.S * D_prev} x {D},", "47.1224a")
            pooling, pooled = _build_pooling(spec.pool, part.out_shape, c)
            conn = np.ones((D_prev, D), dtype=bool)
            if spec.connections is not None:
                if (isinstance(spec.connections, (str, bytes))
                        or not hasattr(spec.connections, "__iter__")):
                    raise TypeError(f"connections of layer c = {c} must list, for each of the "
                                    f"D_{c} = {D} output maps, its input maps (47.1213); got "
                                    f"{spec.connections!r}")
                table = list(spec.connections)
                if len(table) != D:
                    raise ValueError(f"connections of layer c = {c} must list, for each of the "
                                     f"D_{c} = {D} output maps, its input maps (47.1213); got "
                                     f"{len(table)} entries")
                conn[:] = False
                for d, js in enumerate(table):
                    if isinstance(js, (str, bytes)) or not hasattr(js, "__iter__"):
                        raise TypeError(f"connections of layer c = {c}, map d = {d}: expected "
                                        f"a list of input maps in 0..{D_prev - 1} (47.1213), "
                                        f"got {js!r}")
                    js = list(js)
                    if not js:
                        raise ValueError(f"connections of layer c = {c} leave output map d = {d} "
                                         f"with no input map (47.1213)")
                    for j in js:
                        if isinstance(j, bool) or not isinstance(j, numbers.Integral):
                            raise TypeError(
                                f"connections of layer c = {c}, map d = {d}: input map {j!r} is "
                                f"not an integer in 0..D_{c - 1}-1 = 0..{D_prev - 1} (47.1213)")
                        if not 0 <= j < D_prev:
                            raise ValueError(
                                f"connections of layer c = {c}, map d = {d}: input map {j!r} is "
                                f"not in 0..D_{c - 1}-1 = 0..{D_prev - 1} (47.1213)")
                        conn[j, d] = True
                    if int(conn[:, d].sum()) != len(js):
                        raise ValueError(f"connections of layer c = {c}, map d = {d} repeat an "
                                         f"input map (47.1213): {js!r}")
            act = get_activation(spec.activation)
            self.layers.append(ConvLayer(c, D_prev, D, shape, part, pooling, pooled, act, conn,
                                         spec))
            shape, D_prev = pooling.out_shape, D
        self.C = len(self.layers)
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise TypeError(f"hidden must be a sequence of sizes n_2..n_(L-1) (47.1221f), got "
                            f"{hidden!r}; use [{hidden!r}] for one hidden layer")
        hidden = [as_positive_int(h, f"hidden[{i}]", eq="47.1221f") for i, h in enumerate(hidden)]
        Q = as_positive_int(outputs, "outputs Q", eq="47.1231")
        self.n = [None, D_prev * self.layers[-1].P_out, *hidden, Q]  # n[l], l = 1..L (47.1217)
        self.L = len(self.n) - 1
        total = sum(ly.S * ly.D_in * ly.D + ly.D_in * ly.D for ly in self.layers)
        for l in range(1, self.L):
            _too_large(self.n[l + 1] * self.n[l], f"W_{l} = W_ff[{l}], n_{l + 1} x n_{l} = "
                       f"{self.n[l + 1]} x {self.n[l]},", "47.1221g")
            total += self.n[l + 1] * (self.n[l] + 1)
        _too_large(total, "the parameters all together", "47.1224")
        if isinstance(hidden_activation, (str,)) or hasattr(hidden_activation, "f"):
            hidden_activation = [hidden_activation] * len(hidden)
        if (hidden_activation is None or isinstance(hidden_activation, bytes)
                or not hasattr(hidden_activation, "__iter__")):
            raise TypeError(f"hidden_activation must name the activation f of the hidden layers "
                            f"(47.1216), or give one per hidden layer, got {hidden_activation!r}")
        hidden_activation = list(hidden_activation)
        if len(hidden_activation) != len(hidden):
            raise ValueError(f"hidden_activation must give one activation per hidden layer "
                             f"({len(hidden)}), got {len(hidden_activation)}")
        # ff_activation[l] is f of layer l, l = 2..L
        self.ff_activation = {l: get_activation(a) for l, a in
                              zip(range(2, self.L), hidden_activation)}
        self.ff_activation[self.L] = self.output_activation

    # -- description ----------------------------------------------------------------------

    @property
    def Q(self):
        r""":math:`Q = n_L`, the number of outputs (47.1231).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> net.Q
        2
        """
        return self.n[self.L]

    def sizes(self):
        r"""The book's sizes per layer: a list of dicts, one per conv layer ``c`` (``D_c``,
        ``S_c``, ``P_c``, ``P'_c`` and the map shapes) and one per feedforward layer ``l``
        (``n_l``). Implements the size bookkeeping of (47.1206)-(47.1225).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> rows = net.sizes()
        >>> [r["layer"] for r in rows]
        ['input', 'c=1', 'c=2', 'l=1', 'l=2', 'l=3']
        >>> {k: rows[1][k] for k in ("D", "S", "P", "P'", "map", "pooled")}
        {'D': 3, 'S': 9, 'P': 64, "P'": 16, 'map': (8, 8), 'pooled': (4, 4)}
        """
        rows = [{"layer": "input", "D": self.input_depth, "shape": self.input_shape,
                 "M": self.input_shape[0] * self.input_shape[1]}]
        for ly in self.layers:
            rows.append({"layer": f"c={ly.c}", "D": ly.D, "S": ly.S, "P": ly.P, "P'": ly.P_out,
                         "mask": ly.partition.mask, "stride": ly.partition.stride,
                         "map": ly.map_shape, "pooled": ly.pooled_shape,
                         "pool": ly.pooling.kind if ly.pooled else "none",
                         "f": ly.activation.name, "connections": int(ly.conn.sum())})
        for l in range(1, self.L + 1):
            rows.append({"layer": f"l={l}", "n": self.n[l],
                         "f": self.ff_activation[l].name if l > 1 else "-"})
        return rows

    def size_table(self):
        r"""The table of :meth:`sizes` as printable text.

        Implements the size bookkeeping of (47.1206)-(47.1225), one line per layer.

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> print(net.size_table())
        layer    D_c  S_c    P_c   P_c'       map    pooled        pool        f    n_l
        input      1          64              8x8
        c=1        3    9     64     16       8x8       4x4         max     tanh
        c=2        2    9     16      4       4x4       2x2        mean     tanh
        l=1                                                                    -      8
        l=2                                                              sigmoid      5
        l=3                                                              sigmoid      2
        """
        pc = "P_c'"
        lines = [f"{'layer':<7} {'D_c':>4} {'S_c':>4} {'P_c':>6} {pc:>6} {'map':>9} "
                 f"{'pooled':>9} {'pool':>11} {'f':>8} {'n_l':>6}"]
        for r in self.sizes():
            if r["layer"] == "input":
                lines.append(f"{'input':<7} {r['D']:>4} {'':>4} {r['M']:>6} {'':>6} "
                             f"{'x'.join(map(str, r['shape'])):>9}")
            elif r["layer"].startswith("c="):
                pp = r["P'"]
                lines.append(f"{r['layer']:<7} {r['D']:>4} {r['S']:>4} {r['P']:>6} {pp:>6} "
                             f"{'x'.join(map(str, r['map'])):>9} "
                             f"{'x'.join(map(str, r['pooled'])):>9} {r['pool']:>11} {r['f']:>8}")
            else:
                lines.append(f"{r['layer']:<7} {'':>4} {'':>4} {'':>6} {'':>6} {'':>9} {'':>9} "
                             f"{'':>11} {r['f']:>8} {r['n']:>6}")
        return "\n".join(lines)

    def parameter_count(self):
        r"""Parameter counts: ``book`` counts every entry of :math:`W_c, \Theta_c, W_\ell,
        \theta_\ell` (47.1224); ``effective`` counts connected weights, one bias per map
        (only the column sums of :math:`\Theta_c` reach :math:`z`, 47.1216) and the
        feedforward parameters.

        Implements the count of (47.1224).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> net.parameter_count()         # Theta_2 has 3 x 2 entries but only 2 column sums count
        {'book': 147, 'effective': 143}
        """
        book = eff = 0
        for ly in self.layers:
            book += ly.S * ly.D_in * ly.D + ly.D_in * ly.D
            eff += ly.S * int(ly.conn.sum()) + ly.D
        for l in range(1, self.L):
            ff = self.n[l + 1] * self.n[l] + self.n[l + 1]
            book += ff
            eff += ff
        return {"book": book, "effective": eff}

    def __repr__(self):
        return (f"Network(input {self.input_depth}x{self.input_shape}, C={self.C}, "
                f"n={self.n[1:]}, loss={self.loss.name!r})")

    # -- parameters -----------------------------------------------------------------------

    def param_shapes(self):
        r"""Expected shape of every parameter array, keyed like :class:`Params`.

        :math:`W_c` is ``S_c D_{c-1} x D_c`` (47.1224a), :math:`\Theta_c` ``D_{c-1} x D_c``
        (47.1224b), :math:`W_\ell` ``n_{l+1} x n_l`` (47.1221g), :math:`\theta_\ell` ``n_{l+1}``
        (47.1221h).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", 2)),
        ...                                sc.Conv(2, 3, pool=("mean", 2))], hidden=[5], outputs=2)
        >>> shapes = net.param_shapes()
        >>> shapes["W_conv"], shapes["Theta_conv"]
        ({1: (9, 3), 2: (27, 2)}, {1: (1, 3), 2: (3, 2)})
        >>> shapes["W_ff"], shapes["theta_ff"]
        ({1: (5, 8), 2: (2, 5)}, {1: (5,), 2: (2,)})
        """
        shapes = {"W_conv": {}, "Theta_conv": {}, "W_ff": {}, "theta_ff": {}}
        for ly in self.layers:
            shapes["W_conv"][ly.c] = (ly.S * ly.D_in, ly.D)
            shapes["Theta_conv"][ly.c] = (ly.D_in, ly.D)
        for l in range(1, self.L):
            shapes["W_ff"][l] = (self.n[l + 1], self.n[l])
            shapes["theta_ff"][l] = (self.n[l + 1],)
        return shapes

    def init(self, seed=0, bias_scale=0.0):
        r"""Random parameters in the book's shapes from ``numpy.random.default_rng(seed)``.

        Weights are Gaussian with variance ``1/fan_in`` (fan-in: connected mask entries for
        :math:`W_c`, :math:`n_\ell` for :math:`W_\ell`); entries of :math:`W_c,\Theta_c`
        outside a connection table (47.1213) are zero; biases are
        ``bias_scale * N(0, 1)`` (zero by default).

        Returns
        -------
        Params
            In the shapes of :meth:`param_shapes` (47.1224a-b, 47.1221g-h).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), input_depth=2, conv=[sc.Conv(2, 2, connections=[[0], [0, 1]])],
        ...                  outputs=2)
        >>> p = net.init(seed=0)
        >>> bool((p.W_conv[1][4:, 0] == 0).all())      # map 1 is not connected to input map 2
        True
        >>> bool(p.max_rel_diff(net.init(seed=0)) == 0.0), float(np.abs(p.theta_ff[1]).max())
        (True, 0.0)
        """
        bias_scale = as_real(bias_scale, "bias_scale", eq="47.1224b", minimum=0)
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed of the initial parameters must be an integer >= 0 (for "
                            f"numpy.random.default_rng), got {seed!r}")
        if seed < 0:
            raise ValueError(f"seed of the initial parameters must be >= 0, got {seed}")
        rng = np.random.default_rng(int(seed))
        p = Params()
        for ly in self.layers:
            fan = np.maximum(ly.S * ly.conn.sum(axis=0), 1)
            W = rng.standard_normal((ly.S * ly.D_in, ly.D)) / np.sqrt(fan)[None, :]
            p.W_conv[ly.c] = W * ly.W_mask
            p.Theta_conv[ly.c] = bias_scale * rng.standard_normal((ly.D_in, ly.D)) * ly.conn
        for l in range(1, self.L):
            p.W_ff[l] = rng.standard_normal((self.n[l + 1], self.n[l])) / np.sqrt(self.n[l])
            p.theta_ff[l] = bias_scale * rng.standard_normal(self.n[l + 1])
        return p

    def check_params(self, params):
        r"""Validate a :class:`Params` against the architecture; return it (float64 arrays).

        Every array must have the shape of :meth:`param_shapes` (47.1224a-b, 47.1221g-h) and be
        finite.

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> net.check_params(p).W_ff[1].dtype
        dtype('float64')
        >>> p.W_ff[1] = p.W_ff[1][:, :3]
        >>> net.check_params(p)
        Traceback (most recent call last):
            ...
        ValueError: W_ff[1] must be n_2 x n_1 = 2 x 32 (47.1221g), got 2 x 3
        """
        if not isinstance(params, Params):
            raise TypeError(f"params must be a sayedcnn.Params, got {type(params).__name__}")
        eqs = {"W_conv": ("W_conv[{k}]", "S_{k}*D_{km1} x D_{k}", "47.1224a"),
               "Theta_conv": ("Theta_conv[{k}]", "D_{km1} x D_{k}", "47.1224b"),
               "W_ff": ("W_ff[{k}]", "n_{kp1} x n_{k}", "47.1221g"),
               "theta_ff": ("theta_ff[{k}]", "n_{kp1}", "47.1221h")}
        out = Params()
        for g, want in self.param_shapes().items():
            have = getattr(params, g)
            eq_g = eqs[g][2]
            if not isinstance(have, dict):
                raise TypeError(f"params.{g} must be a dict keyed by the book's layer numbers "
                                f"{sorted(want)} ({eq_g}), got {type(have).__name__}")
            if set(have) != set(want):
                raise ValueError(f"params.{g} must have keys {sorted(want)} (book layer numbers, "
                                 f"{eq_g}), got {sorted(have, key=repr)}")
            conv = {}
            for k, shape in want.items():
                name, label, eq = eqs[g]
                fmt = {"k": k, "km1": k - 1, "kp1": k + 1}
                a = as_float_array(have[k], name.format(**fmt), eq=eq, finite=False)
                if a.shape != shape:
                    got = " x ".join(map(str, a.shape)) if a.ndim else "a scalar"
                    raise ValueError(f"{name.format(**fmt)} must be {label.format(**fmt)} = "
                                     f"{' x '.join(map(str, shape))} ({eq}), got {got}")
                check_finite(a, name.format(**fmt), eq)
                conv[k] = a
            setattr(out, g, conv)
        return out

    # -- data -----------------------------------------------------------------------------

    def check_images(self, X, name="X"):
        r"""Validate images ``(N, D_0, rows, cols)`` (or one ``(D_0, rows, cols)``) for (47.1216).

        Returns a float64 array ``(N, D_0, rows, cols)``: float32 and integer images are
        converted to float64 (every computation of the package runs in float64, so a float32
        input gives the same numbers as its float64 copy); complex, bool, object and string
        data, NaN and inf, a wrong rank or size and ``N = 0`` raise ``TypeError`` or
        ``ValueError`` naming the expected shape.

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> X = net.check_images(np.zeros((1, 4, 4), dtype=np.float32))    # one image
        >>> X.shape, X.dtype
        ((1, 1, 4, 4), dtype('float64'))
        >>> net.check_images(np.zeros((2, 1, 3, 3)))
        Traceback (most recent call last):
            ...
        ValueError: X must be N x D_0 x rows x cols = N x 1 x 4 x 4 ...
        """
        X = as_float_array(X, name, eq="47.1216")
        want = (self.input_depth, *self.input_shape)
        if X.ndim == 3:
            X = X[None]
        if X.ndim != 4 or X.shape[1:] != want or X.shape[0] < 1:
            raise ValueError(f"{name} must be N x D_0 x rows x cols = N x {want[0]} x {want[1]} x "
                             f"{want[2]} (or one D_0 x rows x cols image) (47.1216), got shape "
                             f"{X.shape}")
        return X

    def check_targets(self, Gamma, N, name="Gamma"):
        r"""Validate targets ``(N, Q)`` (or one ``(Q,)``); float64.

        The targets :math:`\gamma_n` of (47.1229), one row per image.

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> net.check_targets([1, 0], 1)
        array([[1., 0.]])
        >>> net.check_targets(np.eye(3), 3)
        Traceback (most recent call last):
            ...
        ValueError: Gamma must be N x Q = 3 x 2 (47.1229), got shape (3, 3)
        """
        G = as_float_array(Gamma, name, eq="47.1229")
        if G.ndim == 1:
            G = G[None]
        if G.shape != (N, self.Q):
            raise ValueError(f"{name} must be N x Q = {N} x {self.Q} (47.1229), got shape "
                             f"{np.shape(Gamma)}")
        return G

    # -- the listings and the engine, dispatched ---------------------------------------------
    # The algorithms sit above this module (they import it); sayedcnn/__init__.py binds them
    # into ALGORITHMS when the package is imported, so this module imports none of them.

    def forward(self, params, h, method="listing"):
        r"""Run (47.1216) on one image ``(D_0, rows, cols)`` or a batch ``(N, D_0, rows, cols)``.

        ``method="listing"`` returns, per sample, every :math:`z, y, t, H` of the listing
        (a :class:`~sayedcnn.forward.ForwardResult`, or a
        :class:`~sayedcnn.forward.BatchForward` holding one per sample); ``"fused"`` runs the
        whole batch at once. ``.output`` is :math:`y_L`. See :func:`sayedcnn.sgd.forward`.

        Implements (47.1216).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> x = np.random.default_rng(0).standard_normal((1, 4, 4))
        >>> res = net.forward(p, x)                 # the listing, one image
        >>> res.z_conv[2, 1].shape, res.y_ff[1].shape, res.output.shape
        ((16,), (32,), (2,))
        >>> fw = net.forward(p, x[None], method="fused")
        >>> bool(np.allclose(fw.output[0], res.output, rtol=1e-12, atol=0))
        True
        """
        return ALGORITHMS["forward"](self, params, h, method=method)

    def backward(self, params, cache, gamma, keep_V=False):
        r"""Every sensitivity of (47.1233)-(47.1262) for one forward result of the listing;
        see :func:`sayedcnn.training.backward_listing`.

        Implements (47.1233)-(47.1262).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2), sc.Conv(3, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> res = net.forward(p, np.ones((1, 4, 4)))
        >>> sens = net.backward(p, res, [1.0, 0.0])
        >>> sens.delta_conv[1, 1].shape, sens.delta_conv[3, 2].shape, sens.delta_ff[2].shape
        ((16,), (16,), (2,))
        """
        return ALGORITHMS["backward"](self, params, cache, gamma, keep_V=keep_V)

    def gradients(self, params, X, Gamma, rho1=0.0, rho2=0.0, method="fused",
                  scaling="1229"):
        r"""Derivatives of :math:`J_{emp}` (47.1229) with respect to every parameter (47.1275);
        see :func:`sayedcnn.sgd.gradients`.

        Implements (47.1275).

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> X = np.random.default_rng(0).standard_normal((3, 1, 4, 4))
        >>> g = net.gradients(p, X, np.eye(2)[[0, 1, 1]])
        >>> g.W_conv[1].shape, g.Theta_conv[1].shape, g.W_ff[1].shape
        ((4, 2), (1, 2), (2, 32))
        """
        return ALGORITHMS["gradients"](self, params, X, Gamma, rho1=rho1, rho2=rho2,
                                       method=method, scaling=scaling)

    def risk(self, params, X, Gamma, rho1=0.0, rho2=0.0, scaling="1229"):
        r""":math:`J_{emp}(W,\theta)` of (47.1229) (or (47.1227) with ``scaling="1227"``); see
        :func:`sayedcnn.sgd.risk`.

        Implements (47.1229).

        Examples
        --------
        With every weight zero the sigmoid outputs are ``1/2`` and each sample costs
        :math:`\|\gamma - y\|^2 = 1/4 + 1/4`:

        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> X = np.random.default_rng(0).standard_normal((3, 1, 4, 4))
        >>> net.risk(p.map(np.zeros_like), X, np.eye(2)[[0, 1, 1]])
        0.5

        The regulariser adds :math:`\rho_1 \|W_1\|_F^2`:

        >>> G = np.eye(2)[[0, 1, 1]]
        >>> extra = net.risk(p, X, G, rho1=0.1) - net.risk(p, X, G)
        >>> bool(np.isclose(extra, 0.1 * np.sum(p.W_conv[1] ** 2), rtol=1e-12))
        True
        """
        return ALGORITHMS["risk"](self, params, X, Gamma, rho1=rho1, rho2=rho2, scaling=scaling)

    def predict(self, params, X):
        r"""Output :math:`y_L` for a batch ``(N, D_0, rows, cols)`` by the engine: ``(N, Q)``.

        Implements (47.1216) for a batch at once.

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> X = np.random.default_rng(0).standard_normal((5, 1, 4, 4))
        >>> Y = net.predict(p, X)
        >>> Y.shape, bool(((Y > 0) & (Y < 1)).all())      # sigmoid outputs
        ((5, 2), True)
        """
        return ALGORITHMS["forward"](self, params, X, method="fused").output

    def sgd_step(self, params, X, Gamma, mu, rho1=0.0, rho2=0.0, method="fused"):
        r"""One step of (47.1276) on a sample or a mini-batch; returns new :class:`Params`; see
        :func:`sayedcnn.sgd.sgd_step`.

        Implements (47.1276).

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
        return ALGORITHMS["sgd_step"](self, params, X, Gamma, mu, rho1=rho1, rho2=rho2,
                                      method=method)

    def fit(self, params, X, labels, **kw):
        r"""Train by (47.1276) over epochs of mini-batches; see :func:`sayedcnn.sgd.fit`.

        Implements (47.1276) with mini-batches.

        Examples
        --------
        >>> import numpy as np, sayedcnn as sc
        >>> net = sc.Network((4, 4), conv=[sc.Conv(2, 2)], outputs=2)
        >>> p = net.init(seed=0)
        >>> rng = np.random.default_rng(0)
        >>> X, labels = rng.standard_normal((16, 1, 4, 4)), rng.integers(0, 2, 16)
        >>> q, hist = net.fit(p, X, labels, epochs=3, batch_size=4, mu=0.5)
        >>> hist["epoch"], bool(hist["loss"][-1] < hist["loss"][0])
        ([1, 2, 3], True)
        """
        return ALGORITHMS["fit"](self, params, X, labels, **kw)


#: The algorithms behind :class:`Network`'s methods, bound by ``sayedcnn/__init__.py``:
#: ``forward``, ``backward``, ``gradients``, ``risk``, ``sgd_step``, ``fit``.
ALGORITHMS = {}
