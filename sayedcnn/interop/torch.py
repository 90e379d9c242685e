r"""The book's network as a ``torch.nn.Module``, and back (the ``torch`` extra).

:func:`to_torch` turns a :class:`~sayedcnn.network.Network` and its parameters in the book's
shapes into a :class:`BookCNN` module that computes the same function with PyTorch's own
layers; :func:`params_from_torch` and :func:`grads_from_torch` bring parameters and
``.grad`` arrays back to the book's shapes; :func:`golden_arrays` computes the arrays of a
golden trace (:mod:`sayedcnn.interop.golden`) with the module, so that PyTorch can be tested against
the book and the book against PyTorch.

Every change of layout sits in one adapter, :class:`Layout`, whose methods check the shapes
they receive and return. The correspondences (docs/conventions.md, sections 1-6):

* **Images.** ``X`` is ``(N, D_0, rows, cols)`` in both: entry ``(r, c)`` of map ``d`` is
  ``X[n, d-1, r, c]`` and entry ``r + c*rows`` of :math:`h_n^{(d)}` (47.1143). A map vector
  of the book (column-major, :math:`P_c` entries) is a torch map ``(rows, cols)`` read with
  its last two axes swapped.
* **Correlation.** ``torch.nn.functional.conv2d`` is a cross-correlation, like (47.1133).
  Row ``j*S + s`` of column ``d`` of :math:`W_c`, with ``s = a + b*kr`` column-major over
  the mask, is ``weight[d, j, a, b]``. Padding: the book's ``(k-1)//2`` zeros before and the
  rest after ('same'; asymmetric for even masks) are added with ``F.pad``, then ``conv2d``
  runs unpadded at the layer's stride.
* **Biases.** The book subtracts :math:`\theta^{(d,c)}(j)` for every connected ``j``
  (47.1216): the torch bias of map ``d`` is :math:`b_d = -\sum_{j} \Theta_c[j, d]` over the
  connected ``j``. Only these column sums exist in torch, so converting back puts the whole
  :math:`-b_d` on the first connected ``j`` and zeros elsewhere (the function is the same);
  gradients come back as :math:`\partial J/\partial\Theta_c[j, d] = -\partial J/\partial b_d`
  for every connected ``j``, zero outside the table, exactly as (47.1274).
* **Connection tables** (47.1213) multiply the weight by a fixed 0/1 mask, so the weights
  outside the table have zero data-term gradient.
* **Pooling** (Table 47.13) on blocks at a stride, leftover rows and columns dropped:
  max -> ``F.max_pool2d``; mean -> ``F.avg_pool2d``; l2 -> :math:`\sqrt{\sum y^2}` over the
  block from ``F.avg_pool2d`` of :math:`y^2`, the root taken only where the sum is positive
  (gradient 0 on an all-zero block, like the book, instead of relying on how a torch
  version of ``F.lp_pool2d`` evaluates the 0 * inf of its chain rule there); subsampling
  -> slicing at the retained offset; correlation pooling -> a depthwise ``conv2d`` with
  the fixed mask. Overlapping
  blocks work the same way. Pooling over explicit region lists has no torch counterpart
  and is refused with a ``ValueError``. Ties follow the book: ``max_pool2d`` keeps the
  first maximum of a block in row-major order, the book the first in region order
  (column-major, 47.1196b), so the bridge pools the transposed map (whose row-major order is
  the block's column-major order) and transposes back; subsampling keeps entry ``retain``
  of the block in column-major order, i.e. block row ``retain % br``, column
  ``retain // br``.
* **Flatten.** :math:`y_1 = \mathrm{col}\{t^{(1,C)}, \dots, t^{(D_C,C)}\}` (47.1215) is
  map-major then column-major within a map; ``x.flatten(1)`` of ``(N, D, rows, cols)`` is
  map-major then row-major, so the last two axes are swapped first.
* **Feedforward.** :math:`z = W_\ell y - \theta_\ell` (47.1216) is ``nn.Linear`` with
  ``weight = W_l`` and ``bias = -theta_l``; activations sigmoid, tanh, relu, linear and a
  softmax output; cross-entropy uses ``log_softmax`` of :math:`z_L`.
"""

from __future__ import annotations

import numpy as np

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError("sayedcnn.interop.torch needs PyTorch: pip install \"sayedcnn[torch]\" "
                      "(torch>=2.1,<3)") from exc

from ..network import Network
from ..params import Params

__all__ = ["Layout", "BookConv", "BookCNN", "to_torch", "params_from_torch",
           "grads_from_torch", "golden_arrays"]

_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "linear": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}


def _shape_text(shape):
    return " x ".join(str(int(s)) for s in shape) if len(shape) else "a scalar"


def _expect(x, shape, what, eq):
    """Raise ``ValueError`` unless ``x`` has ``shape``, naming the quantity and equation."""
    if tuple(x.shape) != tuple(int(s) for s in shape):
        raise ValueError(f"{what} must be {_shape_text(shape)} ({eq}), got "
                         f"{_shape_text(tuple(x.shape))}")
    return x


def _np(t):
    return t.detach().cpu().numpy().astype(np.float64)


class Layout:
    r"""The one adapter between the book's shapes and torch's; every method checks the
    shapes it receives.

    Weights: book ``W_c`` (``S_c D_{c-1} x D_c``) <-> torch ``(D_c, D_{c-1}, kr, kc)``;
    biases: book ``Theta_c`` (``D_{c-1} x D_c``) <-> torch ``(D_c,)``; maps: book
    ``(N, D, P)`` column-major vectors <-> torch ``(N, D, rows, cols)``; patches: torch
    ``F.unfold`` output <-> book ``H_n^{(j,c-1)}`` (``S_c x P_c``); feedforward ``W_l``,
    ``theta_l`` <-> ``nn.Linear`` weight and bias.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.torch import Layout
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, mask=2)], outputs=2)
    >>> W = np.arange(8.0).reshape(4, 2)      # W_1: S_1 D_0 x D_1, one column per map
    >>> weight = Layout.conv_weight_to_torch(net.layers[0], W)
    >>> tuple(weight.shape), weight[1, 0].tolist()   # (D_1, D_0, kr, kc); column 2 of W_1
    ((2, 1, 2, 2), [[1.0, 5.0], [3.0, 7.0]])
    """

    # -- conv weights and biases ----------------------------------------------------------

    @staticmethod
    def conv_weight_to_torch(ly, W):
        r"""``W_c`` -> ``weight[d, j, a, b] = W_c[j*S + a + b*kr, d]`` (47.1223a, 47.1133)."""
        kr, kc = ly.partition.mask
        W = np.asarray(W, dtype=float)
        _expect(W, (ly.S * ly.D_in, ly.D), f"W_conv[{ly.c}] (S_{ly.c}*D_{ly.c - 1} x D_{ly.c})",
                "47.1224a")
        # rows j*S + b*kr + a: C-order axes (j, b, a)
        w = W.reshape(ly.D_in, kc, kr, ly.D).transpose(3, 0, 2, 1)
        return _expect(np.ascontiguousarray(w), (ly.D, ly.D_in, kr, kc),
                       f"torch weight of conv layer c = {ly.c}", "47.1133")

    @staticmethod
    def conv_weight_from_torch(ly, weight):
        r"""torch ``(D_c, D_{c-1}, kr, kc)`` -> ``W_c`` (``S_c D_{c-1} x D_c``)."""
        kr, kc = ly.partition.mask
        w = _np(weight) if isinstance(weight, torch.Tensor) else np.asarray(weight, float)
        _expect(w, (ly.D, ly.D_in, kr, kc), f"torch weight of conv layer c = {ly.c}",
                "47.1133")
        W = w.transpose(1, 3, 2, 0).reshape(ly.D_in * ly.S, ly.D)
        return _expect(W, (ly.S * ly.D_in, ly.D), f"W_conv[{ly.c}]", "47.1224a")

    @staticmethod
    def conv_bias_to_torch(ly, Theta):
        r"""``Theta_c`` -> ``b_d = -\sum_{j \in \mathcal D} \Theta_c[j, d]`` (47.1216)."""
        Theta = np.asarray(Theta, dtype=float)
        _expect(Theta, (ly.D_in, ly.D), f"Theta_conv[{ly.c}] (D_{ly.c - 1} x D_{ly.c})",
                "47.1224b")
        return -(Theta * ly.conn).sum(axis=0)  # only the column sums reach z (47.1216)

    @staticmethod
    def conv_bias_from_torch(ly, bias):
        r"""torch ``(D_c,)`` -> a ``Theta_c`` with the same column sums: the whole ``-b_d``
        on the first connected ``j`` of column ``d``, zeros elsewhere."""
        b = _np(bias) if isinstance(bias, torch.Tensor) else np.asarray(bias, float)
        _expect(b, (ly.D,), f"torch bias of conv layer c = {ly.c}", "47.1216")
        Theta = np.zeros((ly.D_in, ly.D))
        first = np.argmax(ly.conn, axis=0)  # every map has a connected input (47.1213)
        Theta[first, np.arange(ly.D)] = -b
        return Theta

    @staticmethod
    def conv_bias_grad_from_torch(ly, grad):
        r"""``dJ/db`` -> ``dJ/dTheta_c[j, d] = -dJ/db_d`` for connected ``j`` (47.1274)."""
        g = _np(grad) if isinstance(grad, torch.Tensor) else np.asarray(grad, float)
        _expect(g, (ly.D,), f"gradient of the torch bias of conv layer c = {ly.c}", "47.1274")
        return -np.outer(np.ones(ly.D_in), g) * ly.conn

    # -- feedforward ----------------------------------------------------------------------

    @staticmethod
    def ff_to_torch(net, l, W, theta):
        r"""``(W_l, theta_l)`` -> ``nn.Linear`` ``(weight, bias) = (W_l, -theta_l)``."""
        W = np.asarray(W, dtype=float)
        theta = np.asarray(theta, dtype=float)
        _expect(W, (net.n[l + 1], net.n[l]), f"W_ff[{l}] (n_{l + 1} x n_{l})", "47.1221g")
        _expect(theta, (net.n[l + 1],), f"theta_ff[{l}] (n_{l + 1})", "47.1221h")
        return W, -theta  # z = W y - theta (47.1216)

    @staticmethod
    def ff_from_torch(net, l, weight, bias):
        r"""``nn.Linear`` ``(weight, bias)`` -> ``(W_l, theta_l) = (weight, -bias)``."""
        W, b = _np(weight), _np(bias)
        _expect(W, (net.n[l + 1], net.n[l]), f"torch weight of linear layer l = {l}",
                "47.1221g")
        _expect(b, (net.n[l + 1],), f"torch bias of linear layer l = {l}", "47.1221h")
        return W, -b

    # -- maps, patches, flatten -----------------------------------------------------------

    @staticmethod
    def map_to_book(t, shape):
        r"""torch maps ``(N, D, rows, cols)`` -> book vectors ``(N, D, rows*cols)``,
        column-major (47.1127)."""
        N, D = t.shape[0], t.shape[1]
        _expect(t, (N, D, *shape), "feature maps", "47.1216")
        return t.transpose(2, 3).reshape(N, D, shape[0] * shape[1])

    @staticmethod
    def map_from_book(v, shape):
        r"""book vectors ``(N, D, rows*cols)`` -> torch maps ``(N, D, rows, cols)``."""
        N, D = v.shape[0], v.shape[1]
        _expect(v, (N, D, shape[0] * shape[1]), "map vectors", "47.1127")
        return v.reshape(N, D, shape[1], shape[0]).transpose(2, 3)

    @staticmethod
    def patches_to_book(cols, ly):
        r"""``F.unfold`` of the padded input of layer ``c`` (``(N, D_{c-1} kr kc, P_c)``,
        kernel offsets and positions row-major) -> :math:`H_n^{(j,c-1)}` as
        ``(N, D_{c-1}, S_c, P_c)``, offsets ``s = a + b*kr`` and positions
        ``p = i + j*out_rows`` column-major (47.1211)."""
        kr, kc = ly.partition.mask
        nr, nc = ly.map_shape
        N = cols.shape[0]
        _expect(cols, (N, ly.D_in * kr * kc, nr * nc), f"patches of layer c = {ly.c}",
                "47.1211")
        H = cols.reshape(N, ly.D_in, kr, kc, nr, nc).permute(0, 1, 3, 2, 5, 4)
        return H.reshape(N, ly.D_in, ly.S, ly.P)

    @staticmethod
    def flatten(t, net):
        r""":math:`y_1 = \mathrm{col}\{t^{(1,C)}, \dots, t^{(D_C,C)}\}` (47.1215) from torch
        maps ``(N, D_C, rows', cols')``: map-major, column-major within a map."""
        last = net.layers[-1]
        N = t.shape[0]
        _expect(t, (N, last.D, *last.pooled_shape), f"pooled maps of layer c = {net.C}",
                "47.1215")
        y = t.transpose(2, 3).reshape(N, -1)
        return _expect(y, (N, net.n[1]), "y_1", "47.1217")


def _pool_spec(ly):
    if not ly.pooled:
        return None
    pl = ly.pooling
    if pl.block is None:
        raise ValueError(f"pooling of layer c = {ly.c} over explicit regions (47.1187) has no "
                         f"torch counterpart; only block pooling converts (kind, block, "
                         f"stride)")
    return pl


class BookConv(nn.Module):
    r"""Correlation layer ``c`` of (47.1216) with its activation and pooling, in torch.

    ``weight`` is ``(D_c, D_{c-1}, kr, kc)``, ``bias`` is ``(D_c,)`` (minus the column sums
    of :math:`\Theta_c`); a connection table (47.1213) is a fixed 0/1 buffer ``table``.

    Examples
    --------
    >>> import torch
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.torch import to_torch
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, mask=2, pool=("max", 3))], outputs=2)
    >>> conv = to_torch(net, net.init(0)).conv[0]
    >>> tuple(conv.weight.shape), tuple(conv(torch.ones(1, 1, 4, 4, dtype=torch.float64)).shape)
    ((2, 1, 2, 2), (1, 2, 1, 1))
    """

    def __init__(self, ly, W, Theta, dtype=torch.float64):
        super().__init__()
        self.c, self.D_in, self.D = ly.c, ly.D_in, ly.D
        self.layer = ly
        pb, pa = ly.partition.pad_before, ly.partition.pad_after
        self.pad = (pb[1], pa[1], pb[0], pa[0])  # F.pad: (left, right, top, bottom)
        self.stride = tuple(ly.partition.stride)
        self.mask_shape = tuple(ly.partition.mask)
        self.activation = ly.activation.name
        self.weight = nn.Parameter(torch.tensor(Layout.conv_weight_to_torch(ly, W), dtype=dtype))
        self.bias = nn.Parameter(torch.tensor(Layout.conv_bias_to_torch(ly, Theta), dtype=dtype))
        if ly.conn.all():
            self.table = None
        else:
            self.register_buffer("table", torch.tensor(ly.conn.T[:, :, None, None], dtype=dtype))
        pl = _pool_spec(ly)
        self.pool_kind = None if pl is None else pl.kind
        self.register_buffer("pool_corr", None)
        if pl is not None:
            self.pool_block, self.pool_stride = tuple(pl.block), tuple(pl.stride)
            br = pl.block[0]
            self.retain_offset = (pl.retain % br, pl.retain // br)  # region order column-major
            if pl.kind == "correlation":
                m = np.asarray(pl.mask, dtype=float).reshape(pl.block, order="F")
                corr = np.broadcast_to(m, (ly.D, 1, *pl.block)).copy()
                self.pool_corr = torch.tensor(corr, dtype=dtype)

    def extra_repr(self):
        ly = self.layer
        pool = "none" if self.pool_kind is None else (
            f"{self.pool_kind} {self.pool_block} stride {self.pool_stride}")
        table = "" if self.table is None else f", table {int(ly.conn.sum())}/{ly.conn.size}"
        return (f"c={self.c}, {self.D_in}->{self.D} maps, mask {self.mask_shape}, "
                f"pad (l, r, t, b) {self.pad}, stride {self.stride}, {self.activation}, "
                f"pool {pool}{table}")

    def padded(self, x):
        """The input with the book's zero padding (47.1133)."""
        return F.pad(x, self.pad) if any(self.pad) else x

    def correlate(self, x):
        r""":math:`z^{(d,c)} = \sum_j ([H^{(j,c-1)}]^T w_j^{(d,c)} - \theta^{(d,c)}(j)\mathbb 1)`
        (47.1216) as ``conv2d`` (cross-correlation, 47.1133) of the padded input."""
        w = self.weight if self.table is None else self.weight * self.table
        return F.conv2d(self.padded(x), w, self.bias, stride=self.stride)

    def pool(self, y):
        r""":math:`t^{(d,c)} = \mathrm{pool}(y^{(d,c)})` (47.1208), Table 47.13."""
        k = self.pool_kind
        if k is None:
            return y
        blk, st = self.pool_block, self.pool_stride
        if k == "max":
            # torch keeps the first maximum of a block in row-major order, the book the first
            # in region order, column-major (47.1196b): pool the transposed map, whose
            # row-major order is the block's column-major order.
            return F.max_pool2d(y.transpose(2, 3), blk[::-1], st[::-1]).transpose(2, 3)
        if k == "mean":
            return F.avg_pool2d(y, blk, st)
        if k == "l2":
            # sqrt(sum y^2) over the block (47.1176); the square root is taken only where the
            # sum is positive, so that an all-zero block has t = 0 and gradient 0 (the book's
            # rule) in every torch version, not 0 * inf = NaN
            s2 = F.avg_pool2d(y * y, blk, st) * float(blk[0] * blk[1])
            pos = s2 > 0
            return torch.where(pos, torch.sqrt(torch.where(pos, s2, torch.ones_like(s2))),
                               torch.zeros_like(s2))
        if k == "subsample":
            nr, nc = self.layer.pooled_shape
            a, b = self.retain_offset
            return y[:, :, a::st[0], b::st[1]][:, :, :nr, :nc]  # (47.1179)
        return F.conv2d(y, self.pool_corr, stride=st, groups=self.D)  # (47.1180)

    def forward(self, x, record=None):
        ly = self.layer
        N = x.shape[0]
        _expect(x, (N, ly.D_in, *ly.in_shape), f"input of conv layer c = {ly.c}", "47.1216")
        z = _expect(self.correlate(x), (N, ly.D, *ly.map_shape),
                    f"z of conv layer c = {ly.c}", "47.1216")
        y = _ACTIVATIONS[self.activation](z)
        t = _expect(self.pool(y), (N, ly.D, *ly.pooled_shape), f"t of conv layer c = {ly.c}",
                    "47.1208")
        if record is not None:
            if z.requires_grad:
                z.retain_grad()
            cols = F.unfold(self.padded(x), self.mask_shape, stride=self.stride)
            record[f"H_{ly.c - 1}"] = Layout.patches_to_book(cols, ly)
            record[f"z_conv_{ly.c}"] = z
            record[f"y_conv_{ly.c}"] = y
            record[f"t_conv_{ly.c}"] = t
        return t


class BookCNN(nn.Module):
    r"""The network of (47.1216) in torch: :class:`BookConv` layers ``c = 1..C``, the
    column-major flatten (47.1215), and ``nn.Linear`` layers ``l = 1..L-1``.

    ``forward(X)`` returns :math:`y_L` (``N x Q``) for images ``(N, D_0, rows, cols)``;
    :meth:`losses` the per-sample :math:`Q_n`, :meth:`risk` :math:`J_{emp}` (47.1229).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.torch import to_torch
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, mask=2)], outputs=2)
    >>> p = net.init(0)
    >>> x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    >>> y = to_torch(net, p)(torch.from_numpy(x)).detach().numpy()
    >>> np.allclose(y, net.predict(p, x), rtol=1e-13)
    True
    """

    def __init__(self, net, params, dtype=torch.float64):
        super().__init__()
        if not isinstance(net, Network):
            raise TypeError(f"net must be a sayedcnn.Network, got {type(net).__name__}")
        params = net.check_params(params)
        self.net = net
        self.dtype = dtype
        for name, act in [(f"conv layer c = {ly.c}", ly.activation) for ly in net.layers] + \
                [(f"layer l = {l}", net.ff_activation[l]) for l in range(2, net.L + 1)]:
            if act.name not in _ACTIVATIONS or (act.name == "softmax" and name != f"layer l = "
                                                f"{net.L}"):
                raise ValueError(f"the activation {act.name!r} of {name} has no torch "
                                 f"counterpart here; known: {sorted(_ACTIVATIONS)} (47.1154)")
        self.conv = nn.ModuleList(
            BookConv(ly, params.W_conv[ly.c], params.Theta_conv[ly.c], dtype)
            for ly in net.layers)
        self.ff = nn.ModuleList()
        for l in range(1, net.L):
            W, b = Layout.ff_to_torch(net, l, params.W_ff[l], params.theta_ff[l])
            lin = nn.Linear(net.n[l], net.n[l + 1], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(W, dtype=dtype))
                lin.bias.copy_(torch.tensor(b, dtype=dtype))
            self.ff.append(lin)
        self.ff_activation = [net.ff_activation[l].name for l in range(2, net.L + 1)]

    def as_tensor(self, a):
        """``a`` as a tensor of the module's dtype."""
        return a.to(self.dtype) if isinstance(a, torch.Tensor) else torch.tensor(
            np.asarray(a, dtype=float), dtype=self.dtype)

    def run(self, X, record=None):
        r"""The forward pass (47.1216); returns ``(z_L, y_L)``. With a dict ``record``, it
        is filled with every intermediate (torch layouts for maps, book names), and the
        pre-activations keep their gradients (``retain_grad``)."""
        net = self.net
        X = self.as_tensor(X)
        if X.ndim == 3:
            X = X[None]
        N = X.shape[0]
        _expect(X, (N, net.input_depth, *net.input_shape), "X (N x D_0 x rows x cols)",
                "47.1216")
        t = X
        for m in self.conv:
            t = m(t, record)
        y = Layout.flatten(t, net)  # (47.1215)
        z = y
        if record is not None:
            record["y_ff_1"] = y
        for l, (lin, act) in enumerate(zip(self.ff, self.ff_activation), start=1):
            z = lin(y)  # z_{l+1} = W_l y_l - theta_l (47.1216)
            y = _ACTIVATIONS[act](z)
            if record is not None:
                if z.requires_grad:
                    z.retain_grad()
                record[f"z_ff_{l + 1}"] = z
                record[f"y_ff_{l + 1}"] = y
        return z, y

    def forward(self, X):
        return self.run(X)[1]

    def losses_of(self, z_L, y_L, Gamma):
        r"""Per-sample losses :math:`Q_n` (47.1229): :math:`\|\gamma_n - y_n\|^2`, or
        :math:`-\gamma_n^T \log\mathrm{softmax}(z_{L,n})` for cross-entropy."""
        G = self.as_tensor(Gamma)
        _expect(G, tuple(y_L.shape), "Gamma (N x Q)", "47.1229")
        if self.net.loss.name == "quadratic":
            return ((G - y_L) ** 2).sum(dim=-1)  # (47.1229)
        return -(G * torch.log_softmax(z_L, dim=-1)).sum(dim=-1)

    def losses(self, X, Gamma):
        """Per-sample losses :math:`Q_n` of a batch (47.1229)."""
        z, y = self.run(X)
        return self.losses_of(z, y, Gamma)

    def regulariser(self, rho1=0.0, rho2=0.0):
        r""":math:`\rho_1 \sum_c \|W_c\|_F^2 + \rho_2 \sum_\ell \|W_\ell\|_F^2` (47.1229), on
        every entry of the weights (connected or not, as the book)."""
        r = 0.0
        if rho1:
            r = r + rho1 * sum((m.weight ** 2).sum() for m in self.conv)
        if rho2:
            r = r + rho2 * sum((lin.weight ** 2).sum() for lin in self.ff)
        return r

    def risk(self, X, Gamma, rho1=0.0, rho2=0.0):
        r""":math:`J_{emp} = \rho_1\sum_c\|W_c\|_F^2 + \rho_2\sum_\ell\|W_\ell\|_F^2 +
        \frac1N\sum_n Q_n` (47.1229), a scalar tensor."""
        return self.losses(X, Gamma).mean() + self.regulariser(rho1, rho2)


def to_torch(net, params, dtype=torch.float64):
    r"""A :class:`BookCNN` computing the same function as ``net`` with ``params``
    (book shapes, 47.1221g-h, 47.1224a-b). Raises ``ValueError`` for pooling over explicit
    region lists, which torch has no layer for.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.torch import to_torch
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, mask=2)], hidden=[3], outputs=2)
    >>> module = to_torch(net, net.init(0))
    >>> [name for name, _ in module.named_children()]   # c = 1..C, then l = 1..L-1
    ['conv', 'ff']
    """
    return BookCNN(net, params, dtype=dtype)


def _check_module(net, module):
    if not isinstance(module, BookCNN):
        raise TypeError(f"module must be a BookCNN made by to_torch, got "
                        f"{type(module).__name__}")
    if len(module.conv) != net.C or len(module.ff) != net.L - 1:
        raise ValueError(f"module has {len(module.conv)} conv and {len(module.ff)} linear "
                         f"layers; the network has C = {net.C} and L-1 = {net.L - 1}")


def params_from_torch(net, module):
    r"""The module's parameters in the book's shapes, as a :class:`~sayedcnn.params.Params`.

    Each :math:`\Theta_c` gets the whole :math:`-b_d` of map ``d`` on its first connected
    input map and zeros elsewhere: the module only has the column sums (47.1216).

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.torch import params_from_torch, to_torch
    >>> net = sc.Network((4, 4), conv=[sc.Conv(2, mask=2)], outputs=2)
    >>> p = net.init(0)
    >>> q = params_from_torch(net, to_torch(net, p))
    >>> x = np.ones((1, 1, 4, 4))
    >>> np.allclose(net.predict(q, x), net.predict(p, x), rtol=1e-14)
    True
    """
    _check_module(net, module)
    p = Params()
    for ly, m in zip(net.layers, module.conv):
        p.W_conv[ly.c] = Layout.conv_weight_from_torch(ly, m.weight)
        p.Theta_conv[ly.c] = Layout.conv_bias_from_torch(ly, m.bias)
    for l, lin in enumerate(module.ff, start=1):
        p.W_ff[l], p.theta_ff[l] = Layout.ff_from_torch(net, l, lin.weight, lin.bias)
    return net.check_params(p)


def grads_from_torch(net, module):
    r"""The ``.grad`` of every module parameter in the book's shapes (a
    :class:`~sayedcnn.params.Params`): :math:`\partial J/\partial W_c`,
    :math:`\partial J/\partial\Theta_c = -\partial J/\partial b` on connected entries
    (47.1274), :math:`\partial J/\partial W_\ell`, :math:`\partial J/\partial\theta_\ell =
    -\partial J/\partial b_\ell`.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.torch import grads_from_torch, to_torch
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> p = net.init(0)
    >>> X, Gamma = np.ones((1, 1, 4, 4)), np.array([[1.0, 0.0]])
    >>> module = to_torch(net, p)
    >>> module.risk(torch.from_numpy(X), torch.from_numpy(Gamma)).backward()
    >>> grads_from_torch(net, module).max_rel_diff(net.gradients(p, X, Gamma)) < 1e-12
    True
    """
    _check_module(net, module)

    def grad(p, what):
        if p.grad is None:
            raise ValueError(f"{what} has no gradient: call backward() on a loss first")
        return p.grad

    g = Params()
    for ly, m in zip(net.layers, module.conv):
        g.W_conv[ly.c] = Layout.conv_weight_from_torch(ly, grad(m.weight, f"conv c = {ly.c}"))
        g.Theta_conv[ly.c] = Layout.conv_bias_grad_from_torch(ly, grad(m.bias,
                                                                       f"conv c = {ly.c}"))
    for l, lin in enumerate(module.ff, start=1):
        W, th = Layout.ff_from_torch(net, l, grad(lin.weight, f"linear l = {l}"),
                                     grad(lin.bias, f"linear l = {l}"))
        g.W_ff[l], g.theta_ff[l] = W, th
    return g


def golden_arrays(net, params, X, Gamma, rho1=0.0, rho2=0.0, mu=0.1):
    r"""The arrays of a golden trace (:func:`sayedcnn.interop.golden.array_specs`) computed with
    torch: the intermediates of (47.1216) (patches by ``F.unfold``), :math:`Q_n` and
    :math:`J_{emp}` (47.1229), the sensitivities :math:`\delta = \partial Q_n/\partial z` by
    autograd and :math:`\Delta_{n,c}` (47.1270) from them, the derivatives of
    :math:`J_{emp}`, and the parameters after one step of (47.1276) on the first sample.
    (:math:`V^{(d,d',c+1)}` (47.1257) is the book's own construction and is not produced.)

    Its signature is the ``compute`` of :func:`sayedcnn.interop.golden.verify_trace`.

    Examples
    --------
    >>> from sayedcnn.interop.golden import PROBLEMS, problem_data
    >>> from sayedcnn.interop.torch import golden_arrays
    >>> net, params, X, Gamma = problem_data(PROBLEMS[0])
    >>> golden_arrays(net, params, X, Gamma)["y_ff_2"].shape   # y_L, one row per sample
    (2, 3)
    """
    params = net.check_params(params)
    X = net.check_images(X)
    N = X.shape[0]
    Gamma = net.check_targets(Gamma, N)
    module = to_torch(net, params)
    out = {}
    # forward with every intermediate, and per-sample sensitivities d(sum_n Q_n)/dz
    rec = {}
    z_L, y_L = module.run(X, rec)
    Q = module.losses_of(z_L, y_L, Gamma)
    Q.sum().backward()
    for ly in net.layers:
        c = ly.c
        out[f"H_{c - 1}"] = _np(rec[f"H_{c - 1}"])
        out[f"z_conv_{c}"] = _np(Layout.map_to_book(rec[f"z_conv_{c}"], ly.map_shape))
        out[f"y_conv_{c}"] = _np(Layout.map_to_book(rec[f"y_conv_{c}"], ly.map_shape))
        out[f"t_conv_{c}"] = _np(Layout.map_to_book(rec[f"t_conv_{c}"], ly.pooled_shape))
        delta = _np(Layout.map_to_book(rec[f"z_conv_{c}"].grad, ly.map_shape))
        out[f"delta_conv_{c}"] = delta
        Delta = np.zeros((N, ly.D * ly.P, ly.D))
        for d in range(ly.D):
            Delta[:, d * ly.P:(d + 1) * ly.P, d] = delta[:, d]  # (47.1270)
        out[f"Delta_{c}"] = Delta
    out["y_ff_1"] = _np(rec["y_ff_1"])
    for l in range(2, net.L + 1):
        out[f"z_ff_{l}"] = _np(rec[f"z_ff_{l}"])
        out[f"y_ff_{l}"] = _np(rec[f"y_ff_{l}"])
        out[f"delta_ff_{l}"] = _np(rec[f"z_ff_{l}"].grad)
    out["Q_n"] = _np(Q)
    # derivatives of J_emp (47.1229)
    module.zero_grad()
    J = module.risk(X, Gamma, rho1, rho2)
    J.backward()
    out["J_emp"] = np.array(float(J.detach()))
    for g, k, a in grads_from_torch(net, module).items():
        out[f"dJ_d{g}_{k}"] = a
    # one step of (47.1276) on the first sample
    module.zero_grad()
    module.risk(X[:1], Gamma[:1], rho1, rho2).backward()
    step = grads_from_torch(net, module)
    for (g, k, a), (_, _, da) in zip(params.items(), step.items()):
        out[f"{g}_{k}_after"] = a - mu * da  # (47.1276)
    return out
