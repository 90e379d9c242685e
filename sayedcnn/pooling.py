r"""Pooling, gradient vectors, upsampling and the permutation matrix T (47.1168-47.1204).

A :class:`Pooling` reduces a feature map of ``P`` entries to ``P'`` entries, entry
:math:`p'` pooling the region :math:`\Omega_{p'}` (47.1187, Table 47.13). Regions come from
blocks tiled over a 2-D map or from any list of index sets, overlapping ones included.

Conventions (docs/conventions.md, *Pooling regions* and *Ties and kinks*): regions are
enumerated column-major over the pooled grid; the entries of a region are listed in
ascending ``p`` (for a block, column-major over the block); ``T`` stacks :math:`e_p^T`
region by region (47.1203). Max-pooling and subsampling ties go to the first entry in
region order; l2-pooling at ``t = 0`` has gradient 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._checks import as_float_array, as_pair, as_positive_int
from .operators import sparse_apply

__all__ = ["Pooling", "POOL_KINDS", "region_entries", "pool_map", "gradient_matrix", "upv",
           "permute", "permute_sharp"]

POOL_KINDS = ("max", "mean", "l2", "subsample", "correlation")


class Pooling:
    r"""A pooling operator with its gradient vectors, ``upv``, ``T``, permute and permute#.

    Parameters
    ----------
    kind : {"max", "mean", "l2", "subsample", "correlation"}
        The pooling function of Table 47.13.
    in_shape : (int, int), optional
        Shape ``rows x cols`` of the map to tile with blocks (``P = rows*cols``).
    block : int or (int, int), optional
        Block shape; required with ``in_shape``.
    stride : int or (int, int), optional
        Step between blocks; defaults to the block (no overlap). Rows or columns that no
        block covers are left out of every region.
    regions : sequence of sequences of int, optional
        Explicit 0-based regions :math:`\Omega_{p'}` (instead of ``in_shape``/``block``).
        Entries are used in the order given.
    P : int, optional
        Length of the map pooled by ``regions``.
    mask : array, optional
        Filter coefficients :math:`m^{(d)}` of correlation pooling (47.1180), one per entry
        of a region (a block-shaped array is read column-major).
    retain : int
        For subsampling, the position within each region of the retained sample (47.1179);
        default 0, the first.

    Attributes
    ----------
    regions : list of ndarray
        :math:`\Omega_{p'}`, ``p' = 0..P'-1``.
    T : scipy.sparse.csr_matrix
        ``(sum |Omega|) x P``: a square permutation when the regions partition 0..P-1, a
        partial permutation when entries are left out, a selection matrix when regions
        overlap (47.1201-47.1203).
    P, P_out : int
        Sizes of the map and of the pooled map.
    out_shape : (int, int)
        Shape of the pooled map (``(P', 1)`` for explicit regions).

    Notes
    -----
    Numerical edges, where the pooling function is not differentiable:

    * max-pooling ties (47.1196b): :math:`g_{p'}` is one at the *first* maximal entry of
      :math:`\Omega_{p'}` in region order (explicit regions: the order given; blocks:
      ascending ``p``, column-major over the block) and zero at the other maximal entries;
      subsampling keeps entry ``retain``;
    * l2-pooling at :math:`t(p') = 0` (47.1196d): :math:`y/t` is 0/0 there; the gradient
      vector is taken as 0 (the subgradient of the norm at the origin of least size);
    * any pooling kind accepts overlapping regions: ``permute#`` sums over every region that
      holds an entry (47.1204).

    Implements Tables 47.12-47.14 and (47.1187)-(47.1204).

    Examples
    --------
    Max-pooling a 4 x 4 map in 2 x 2 blocks (Fig. 47.90): the regions are listed
    column-major over the pooled grid, each region's entries in ascending ``p``:

    >>> import numpy as np
    >>> from sayedcnn import Pooling, vec
    >>> pool = Pooling("max", in_shape=(4, 4), block=2)
    >>> pool
    Pooling('max', block=(2, 2), stride=(2, 2), in_shape=(4, 4), P'=4)
    >>> [r.tolist() for r in pool.regions]
    [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    >>> Y = np.array([[1, 5, 2, 0], [7, 3, 8, 6], [4, 4, 1, 9], [0, 2, 3, 3]], dtype=float)
    >>> pool.pool(vec(Y))                  # block maxima, column-major: 7, 4, 8, 9
    array([7., 4., 8., 9.])

    The regions of Fig. 47.95 and (47.1201), given explicitly (0-based):

    >>> fig = Pooling("mean", regions=[[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], P=12)
    >>> fig.P, fig.P_out, fig.T.shape
    (12, 3, (12, 12))
    """

    def __init__(self, kind, in_shape=None, block=None, stride=None, regions=None, P=None,
                 mask=None, retain=0):
        if not isinstance(kind, str) or kind not in POOL_KINDS:
            raise ValueError(f"pooling kind must be one of {POOL_KINDS} (Table 47.13), "
                             f"got {kind!r}")
        self.kind = kind
        if regions is not None:
            if in_shape is not None or block is not None:
                raise ValueError("give either regions (with P) or in_shape with block, not both")
            if P is None:
                raise ValueError("P, the size of the pooled map y (47.1187), is required with "
                                 "regions")
            whole = isinstance(P, (int, np.integer)) or (
                isinstance(P, (float, np.floating)) and np.isfinite(P) and float(P).is_integer())
            if isinstance(P, (bool, np.bool_)) or not whole or P < 1:
                raise ValueError(f"P must be a positive integer (47.1187), got {P!r}")
            self.P = int(P)
            if isinstance(regions, (str, bytes)) or not hasattr(regions, "__iter__"):
                raise TypeError(f"regions must be a sequence of index lists Omega_p' (47.1187), "
                                f"got {regions!r}")
            regs = []
            for k, reg in enumerate(regions):
                try:
                    r = np.asarray(reg)
                except (ValueError, TypeError):  # ragged nesting, e.g. [0, [1, 2]]
                    r = np.zeros((0, 0))
                if r.ndim != 1 or r.size == 0 or not np.issubdtype(r.dtype, np.integer):
                    raise ValueError(f"region Omega_{k + 1} must be a non-empty list of integer "
                                     f"indices (47.1187), got {reg!r}")
                if r.min() < 0 or r.max() >= self.P:
                    raise ValueError(
                        f"region Omega_{k + 1} has indices outside 0..P-1 = 0..{self.P - 1} "
                        f"(47.1187): {r.tolist()}")
                if np.unique(r).size != r.size:
                    raise ValueError(f"region Omega_{k + 1} repeats an index (47.1187): "
                                     f"{r.tolist()}")
                regs.append(r.astype(np.intp))
            if not regs:
                raise ValueError("regions must hold at least one region (47.1187)")
            self.in_shape = (self.P, 1)
            self.out_shape = (len(regs), 1)
            self.block = None
            self.stride = None
        else:
            if in_shape is None or block is None:
                raise ValueError("Pooling needs in_shape and block, or regions and P (47.1187)")
            rows, cols = as_pair(in_shape, "in_shape", eq="47.1187")
            br, bc = as_pair(block, "pooling block", eq="47.1169")
            sr, sc = (br, bc) if stride is None else as_pair(stride, "pooling stride",
                                                             eq="47.1169")
            if br > rows or bc > cols:
                raise ValueError(
                    f"pooling block {br} x {bc} does not fit the {rows} x {cols} feature map "
                    f"(47.1169)")
            nr, nc = (rows - br) // sr + 1, (cols - bc) // sc + 1
            a = np.arange(br)
            b = np.arange(bc)
            regs = []
            for j in range(nc):  # pooled positions column-major: p' = i + j*nr
                for i in range(nr):
                    r = i * sr + a[:, None] + 0 * b[None, :]
                    c = j * sc + b[None, :] + 0 * a[:, None]
                    regs.append(np.sort((r + c * rows).reshape(-1, order="F")).astype(np.intp))
            self.P = rows * cols
            self.in_shape = (rows, cols)
            self.out_shape = (nr, nc)
            self.block = (br, bc)
            self.stride = (sr, sc)
        self.regions = regs
        self.P_out = len(regs)
        self.sizes = np.array([r.size for r in regs])
        self.R = int(self.sizes.max())
        # Padded layout: _idx[p', k] = k-th entry of Omega_p' (0 where k >= |Omega_p'|).
        self._valid = np.arange(self.R)[None, :] < self.sizes[:, None]
        self._idx = np.zeros((self.P_out, self.R), dtype=np.intp)
        self._idx[self._valid] = np.concatenate(regs)
        self._flat = np.concatenate(regs)  # row k of T is e_{_flat[k]}^T
        self.disjoint = np.unique(self._flat).size == self._flat.size
        n = self._flat.size
        self._T = sp.csr_matrix((np.ones(n), (np.arange(n), self._flat)),
                                shape=(n, self.P))  # (47.1201)-(47.1203), e_p^T region by region
        self._TT = self._T.T.tocsr()
        self.retain = as_positive_int(retain, "retain, the position kept by subsampling",
                                      minimum=0, eq="47.1179")
        if kind == "subsample" and not (0 <= self.retain < int(self.sizes.min())):
            raise ValueError(f"retain must index an entry of every region, "
                             f"0..{self.sizes.min() - 1} (47.1179), got {retain}")
        if kind != "subsample" and self.retain != 0:
            raise ValueError(f"retain, the position kept by subsampling (47.1179), is not used "
                             f"by {kind!r} pooling; got retain = {retain}")
        self.mask = None
        if kind == "correlation":
            if mask is None:
                raise ValueError("correlation pooling needs its mask m^(d) (47.1180)")
            m = as_float_array(mask, "pooling mask m", eq="47.1180")
            m = m.reshape(-1, order="F") if m.ndim == 2 else m
            if m.ndim != 1 or m.size != self.R or np.any(self.sizes != self.R):
                raise ValueError(f"pooling mask m must have one entry per region entry, "
                                 f"|Omega| = {self.R} (47.1180), got shape {np.shape(mask)}")
            self.mask = m
        elif mask is not None:
            raise ValueError(f"a mask is only used by correlation pooling, not {kind!r}")

    # -- description -------------------------------------------------------------------

    def __repr__(self):
        where = (f"block={self.block}, stride={self.stride}, in_shape={self.in_shape}"
                 if self.block else f"regions={len(self.regions)}, P={self.P}")
        return f"Pooling({self.kind!r}, {where}, P'={self.P_out})"

    @property
    def T(self):
        r"""The matrix ``T`` that stacks :math:`e_p^T` region by region (47.1201)-(47.1203),
        ``(sum |Omega|) x P`` (a copy: the operator keeps its own).

        Implements (47.1201)-(47.1203).

        Examples
        --------
        ``T`` for a 4 x 4 map in 2 x 2 blocks: rows ``e_1, e_2, e_5, e_6`` for the first block,
        and so on (0-based below):

        >>> import numpy as np
        >>> from sayedcnn import Pooling
        >>> Pooling("max", in_shape=(4, 4), block=2).T.toarray().astype(int)
        array([[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
               [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
               [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
               [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
               [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]])

        The left side of (47.1201), from the regions of Fig. 47.95 (the 1-based entries
        ``1..12``):

        >>> fig = Pooling("mean", regions=[[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], P=12)
        >>> (fig.T @ np.arange(1, 13)).astype(int)
        array([ 1,  2,  4,  8,  3,  5,  7,  9, 11,  6, 10, 12])
        """
        return self._T.copy()

    # -- public, book-shaped ------------------------------------------------------------

    def _checked(self, y, name, n, eq, vector=False):
        y = as_float_array(y, name, eq=eq)
        if vector and y.shape != (n,):
            raise ValueError(f"{name} must be a vector of P = {n} entries ({eq}), got shape "
                             f"{y.shape}")
        if y.ndim not in (1, 2) or y.shape[0] != n:
            raise ValueError(f"{name} must be a vector of P = {n} entries or a P x K array with "
                             f"P = {n} rows ({eq}), got shape {y.shape}")
        return y

    def pool(self, y):
        r"""Pool a map (or each column of a ``P x K`` array), region by region:
        :math:`t(p') = \mathrm{pool}_{p \in \Omega_{p'}}\{y(p)\}` (47.1187)-(47.1188),
        Table 47.13. Validates ``y``, then :func:`pool_map`.

        Parameters
        ----------
        y : array_like, shape (P,) or (P, K)
            The map :math:`y`, or ``K`` maps as columns.

        Returns
        -------
        ndarray, shape (P',) or (P', K)

        Implements (47.1187)-(47.1188) with Table 47.13.

        Examples
        --------
        >>> import numpy as np
        >>> from sayedcnn import Pooling
        >>> y = np.arange(1.0, 13.0)
        >>> regions = [[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]]       # Fig. 47.95
        >>> Pooling("max", regions=regions, P=12).pool(y)
        array([ 8., 11., 12.])
        >>> Pooling("mean", regions=regions, P=12).pool(y).round(4)
        array([3.75  , 7.    , 9.3333])
        >>> Pooling("l2", in_shape=(2, 2), block=2).pool([3.0, 0.0, 0.0, 4.0])
        array([5.])
        >>> Pooling("subsample", in_shape=(2, 4), block=2).pool(np.arange(8.0))   # retain=0
        array([0., 4.])
        >>> Pooling("correlation", in_shape=(2, 4), block=2, mask=[1.0, 3.0, 2.0, 4.0]).pool(
        ...     np.arange(8.0))
        array([19., 59.])
        """
        y = self._checked(y, "y", self.P, "47.1187")
        if y.ndim == 1:
            return pool_map(self, y)
        return np.stack([pool_map(self, col) for col in y.T], axis=1)

    def gradient_vectors(self, y):
        r"""The gradient vectors :math:`g_{p'} = \partial t(p') / \partial y(\Omega_{p'})`
        (47.1195)-(47.1196), Table 47.14, one array per region, for a map ``y`` of P entries.

        Implements (47.1195)-(47.1196).

        Examples
        --------
        >>> import numpy as np
        >>> from sayedcnn import Pooling
        >>> y = np.array([3.0, 0.0, 0.0, 4.0, 1.0, 2.0, 2.0, 0.0])
        >>> l2 = Pooling("l2", in_shape=(2, 4), block=2)
        >>> [g.round(4).tolist() for g in l2.gradient_vectors(y)]
        [[0.6, 0.0, 0.0, 0.8], [0.3333, 0.6667, 0.6667, 0.0]]
        >>> [g.tolist() for g in Pooling("max", in_shape=(2, 4), block=2).gradient_vectors(y)]
        [[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]]

        A tie goes to the first maximal entry in region order (47.1196b): in the second region
        ``y[5] = y[6] = 2`` (0-based).
        """
        G = self.gradient_matrix(y)
        return [G[p, : self.sizes[p]].copy() for p in range(self.P_out)]

    def jacobian(self, y):
        r"""The ``P' x P`` matrix :math:`\partial t / \partial y`; row ``p'`` carries
        :math:`g_{p'}` at the columns :math:`\Omega_{p'}` (47.1237).

        Implements (47.1237).

        Examples
        --------
        >>> import numpy as np
        >>> from sayedcnn import Pooling
        >>> pool = Pooling("mean", regions=[[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], P=12)
        >>> (pool.jacobian(np.zeros(12)) * 60).astype(int)      # 1/4, 1/5, 1/3 on the regions
        array([[15, 15,  0, 15,  0,  0,  0, 15,  0,  0,  0,  0],
               [ 0,  0, 12,  0, 12,  0, 12,  0, 12,  0, 12,  0],
               [ 0,  0,  0,  0,  0, 20,  0,  0,  0, 20,  0, 20]])
        """
        J = np.zeros((self.P_out, self.P))
        for p, (reg, g) in enumerate(zip(self.regions, self.gradient_vectors(y))):
            J[p, reg] += g
        return J

    def gradient_matrix(self, y):
        r"""The gradient vectors :math:`g_{p'}` (47.1196) as the rows of a ``P' x R`` array
        (``R`` the largest region), zero past :math:`|\Omega_{p'}|`. Validates ``y``, then
        :func:`gradient_matrix`.

        Implements (47.1196), Table 47.14.

        Examples
        --------
        >>> import numpy as np
        >>> from sayedcnn import Pooling, vec
        >>> Y = np.array([[1, 5, 2, 0], [7, 3, 8, 6], [4, 4, 1, 9], [0, 2, 3, 3]], dtype=float)
        >>> Pooling("max", in_shape=(4, 4), block=2).gradient_matrix(vec(Y))
        array([[0., 1., 0., 0.],
               [1., 0., 0., 0.],
               [0., 1., 0., 0.],
               [0., 0., 1., 0.]])

        The second block holds ``4, 0, 4, 2``: the tie goes to its first maximum (47.1196b).
        """
        return gradient_matrix(self, self._checked(y, "y", self.P, "47.1196", vector=True))

    def upv(self, v, y=None, G=None):
        r"""Upsample ``v`` (P' entries) by the gradient vectors at ``y``:
        :math:`\mathrm{upv}(v) = \mathrm{col}\{v(p')\, g_{p'}\}` (47.1197)-(47.1200), a vector
        of :math:`\sum_{p'} |\Omega_{p'}|` entries. ``G`` (from :meth:`gradient_matrix`) may
        be given instead of ``y``.

        Implements (47.1200).

        Examples
        --------
        Each entry of ``v`` becomes a block, scaled by its region's gradient vector (Fig. 47.94):

        >>> import numpy as np
        >>> from sayedcnn import Pooling, vec
        >>> Y = np.array([[1, 5, 2, 0], [7, 3, 8, 6], [4, 4, 1, 9], [0, 2, 3, 3]], dtype=float)
        >>> pool = Pooling("max", in_shape=(4, 4), block=2)
        >>> pool.upv(np.array([10.0, 20.0, 30.0, 40.0]), vec(Y))
        array([ 0., 10.,  0.,  0., 20.,  0.,  0.,  0.,  0., 30.,  0.,  0.,  0.,
                0., 40.,  0.])
        """
        v = as_float_array(v, "v", ndim=1, eq="47.1200")
        if v.size != self.P_out:
            raise ValueError(f"v must have P' = {self.P_out} entries (47.1200), got {v.size}")
        if G is None:
            if y is None:
                raise ValueError("upv needs the map y (or its gradient matrix G) (47.1200)")
            G = self.gradient_matrix(y)
        else:
            G = as_float_array(G, "G", ndim=2, eq="47.1196")
            if G.shape != (self.P_out, self.R):
                raise ValueError(f"G must be P' x R = {self.P_out} x {self.R} (47.1196), got "
                                 f"{G.shape}")
        return upv(self, v, G)

    def permute(self, y):
        r"""``permute(y) = T y`` (47.1202): the entries of ``y`` grouped region by region.

        Implements (47.1202).

        Examples
        --------
        >>> import numpy as np
        >>> from sayedcnn import Pooling
        >>> pool = Pooling("max", in_shape=(4, 4), block=2)
        >>> pool.permute(np.arange(16.0)).astype(int)
        array([ 0,  1,  4,  5,  2,  3,  6,  7,  8,  9, 12, 13, 10, 11, 14, 15])
        """
        y = as_float_array(y, "y", eq="47.1202")
        if y.ndim not in (1, 2) or y.shape[0] != self.P:
            raise ValueError(f"y must have P = {self.P} rows (47.1202), got shape {y.shape}")
        return permute(self, y)

    def permute_sharp(self, y_o):
        r"""``permute#(y_o) = T^T y_o`` (47.1204); with overlapping regions ``T^T`` sums the
        contributions of every region that holds an entry.

        Implements (47.1204).

        Examples
        --------
        ``permute#`` undoes ``permute`` when the regions partition the map:

        >>> import numpy as np
        >>> from sayedcnn import Pooling
        >>> pool = Pooling("max", in_shape=(4, 4), block=2)
        >>> y = np.random.default_rng(0).standard_normal(16)
        >>> bool(np.array_equal(pool.permute_sharp(pool.permute(y)), y))
        True

        With overlapping regions an entry collects from every region that holds it:

        >>> Pooling("mean", regions=[[0, 1], [1, 2]], P=3).permute_sharp(np.ones(4))
        array([1., 2., 1.])
        """
        y_o = as_float_array(y_o, "y_o", eq="47.1204")
        n = self._flat.size
        if y_o.ndim not in (1, 2) or y_o.shape[0] != n:
            raise ValueError(f"y_o must have sum|Omega| = {n} rows (47.1204), got shape "
                             f"{y_o.shape}")
        return permute_sharp(self, y_o)

    def backprop(self, v, y):
        r"""``permute#(upv(v))`` = :math:`(\partial t/\partial y)^T v` (47.1244), (47.1260),
        for a map ``y`` (P) and ``v`` (P'), or column by column for ``P x K`` and ``P' x K``.

        Implements (47.1244).

        Examples
        --------
        The result is the transposed Jacobian times ``v``:

        >>> import numpy as np
        >>> from sayedcnn import Pooling
        >>> pool = Pooling("l2", in_shape=(4, 4), block=2)
        >>> rng = np.random.default_rng(0)
        >>> y, v = rng.standard_normal(16), rng.standard_normal(4)
        >>> bool(np.allclose(pool.backprop(v, y), pool.jacobian(y).T @ v, rtol=1e-12, atol=0))
        True
        """
        y = self._checked(y, "y", self.P, "47.1244")
        v = as_float_array(v, "v", eq="47.1244")
        want = (self.P_out,) if y.ndim == 1 else (self.P_out, y.shape[1])
        if v.shape != want:
            raise ValueError(f"v must have P' = {self.P_out} rows (47.1244), shaped "
                             f"{' x '.join(map(str, want))} like y's {y.ndim}-D layout, got "
                             f"{' x '.join(map(str, v.shape)) or 'a scalar'}")
        if y.ndim == 1:
            return permute_sharp(self, upv(self, v, gradient_matrix(self, y)))  # (47.1244)
        return np.stack([permute_sharp(self, upv(self, vk, gradient_matrix(self, yk)))
                         for vk, yk in zip(v.T, y.T)], axis=1)


# ---------------------------------------------------------------------------
# The pooling steps of the listings, region by region (Tables 47.13-47.14). Pure functions
# of a Pooling and an already checked map: no validation here. They work for any numeric
# dtype, object arrays (symbols) included, except max (needs an order) and l2 (a square root).
# ---------------------------------------------------------------------------


def region_entries(pooling, y, fill=0):
    r"""The entries of every region as the rows of a ``P' x R`` array: row ``p'`` holds
    :math:`y(\Omega_{p'})` in region order, padded with ``fill`` past :math:`|\Omega_{p'}|`
    (47.1187).

    Implements the grouping of (47.1187) (the blocks of (47.1201)), for checked input.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import Pooling
    >>> from sayedcnn.pooling import region_entries
    >>> pool = Pooling("mean", regions=[[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], P=12)
    >>> region_entries(pool, np.arange(1, 13))
    array([[ 1,  2,  4,  8,  0],
           [ 3,  5,  7,  9, 11],
           [ 6, 10, 12,  0,  0]])
    """
    Y = y[pooling._idx]
    if not pooling._valid.all():
        Y = np.where(pooling._valid, Y, fill)
    return Y


def _l2(Y):
    r""":math:`\|Y_{p'}\|` of each row, scaled by the row's largest magnitude so that tiny or
    huge entries neither underflow nor overflow (47.1176)."""
    if Y.dtype == object:
        raise TypeError("l2 pooling needs a square root; it is not defined for object arrays")
    a = np.abs(Y)
    m = a.max(axis=1)
    safe = np.where(m > 0, m, 1.0)
    return m * np.sqrt(((a / safe[:, None]) ** 2).sum(axis=1))


def pool_map(pooling, y):
    r""":math:`t = \mathrm{pool}(y)`: :math:`t(p')` pools the entries of region
    :math:`\Omega_{p'}` by the function of Table 47.13 (47.1187)-(47.1188).

    The step of the listings, for a checked map ``y`` of ``P`` entries (see
    :meth:`Pooling.pool`). Implements (47.1187)-(47.1188) and Table 47.13.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import Pooling
    >>> from sayedcnn.pooling import pool_map
    >>> pool = Pooling("max", in_shape=(4, 4), block=2)
    >>> pool_map(pool, np.arange(16.0))          # the last entry of every block
    array([ 5.,  7., 13., 15.])
    """
    kind = pooling.kind
    if kind == "max":
        return region_entries(pooling, y, -np.inf).max(axis=1)  # Table 47.13, max
    if kind == "mean":
        # Table 47.13, mean: each entry divided first, so that a sum of entries near the
        # largest float cannot overflow when the mean itself is representable
        return (region_entries(pooling, y) / pooling.sizes[:, None]).sum(axis=1)
    if kind == "l2":
        return _l2(region_entries(pooling, y))  # (47.1176)
    if kind == "subsample":
        return y[pooling._idx[:, pooling.retain]]  # (47.1179), entry `retain` of each region
    return region_entries(pooling, y) @ pooling.mask  # (47.1180), sum_k m(k) y(Omega_p'(k))


def gradient_matrix(pooling, y):
    r"""The gradient vectors :math:`g_{p'}` of Table 47.14 (47.1196a-e) as the rows of a
    ``P' x R`` array, zero past :math:`|\Omega_{p'}|`. Max ties go to the first entry in
    region order; l2 pooling at :math:`t(p') = 0` has :math:`g_{p'} = 0`.

    Implements (47.1196a)-(47.1196e), for checked input (see :meth:`Pooling.gradient_matrix`).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import Pooling
    >>> from sayedcnn.pooling import gradient_matrix
    >>> pool = Pooling("mean", regions=[[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], P=12)
    >>> gradient_matrix(pool, np.zeros(12)).round(3)          # 1/|Omega| on each region
    array([[0.25 , 0.25 , 0.25 , 0.25 , 0.   ],
           [0.2  , 0.2  , 0.2  , 0.2  , 0.2  ],
           [0.333, 0.333, 0.333, 0.   , 0.   ]])
    >>> gradient_matrix(Pooling("l2", in_shape=(2, 2), block=2), np.zeros(4))   # t = 0
    array([[0., 0., 0., 0.]])
    """
    kind, valid = pooling.kind, pooling._valid
    if kind == "mean":
        return valid / pooling.sizes[:, None]  # (47.1196a): 1/|Omega| on the region
    if kind in ("max", "subsample"):
        G = np.zeros(valid.shape)
        if kind == "max":
            first = region_entries(pooling, y, -np.inf).argmax(axis=1)  # first maximum
        else:
            first = np.full(pooling.P_out, pooling.retain)
        G[np.arange(pooling.P_out), first] = 1.0  # (47.1196b), (47.1196c): one-hot
        return G
    if kind == "l2":
        Y = region_entries(pooling, y)
        if Y.dtype == object:
            _l2(Y)  # raises: no square root of symbols
        # y / t with both divided by a power of two s within a factor 2 of the region's
        # largest magnitude: exact in the normal range, and representable (|g| <= 1) even
        # where t itself underflows or overflows
        s = np.ldexp(1.0, np.frexp(np.abs(Y).max(axis=1))[1] - 1)[:, None]
        Ys = Y / s
        ts = np.sqrt((Ys**2).sum(axis=1, keepdims=True))  # t / s
        safe = np.where(ts > 0, ts, 1.0)
        return np.where(ts > 0, Ys / safe, 0.0)  # (47.1196d): y / t, 0 at t = 0
    return pooling.mask[None, :] * valid  # (47.1196e): the mask on every region


def upv(pooling, v, G):
    r""":math:`\mathrm{upv}(v) = \mathrm{col}\{v(p')\, g_{p'}\}_{p'=1}^{P'}` (47.1200), region
    by region, from the gradient matrix ``G`` of :func:`gradient_matrix`.

    Implements (47.1200), for checked input (see :meth:`Pooling.upv`).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import Pooling
    >>> from sayedcnn.pooling import gradient_matrix, upv
    >>> pool = Pooling("mean", regions=[[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], P=12)
    >>> upv(pool, np.array([4.0, 5.0, 3.0]), gradient_matrix(pool, np.zeros(12)))
    array([1., 1., 1., 1., 1., 1., 1., 1., 1., 1., 1., 1.])
    """
    return (v[:, None] * G)[pooling._valid]  # (47.1200)


def permute(pooling, y):
    r""":math:`\mathrm{permute}(y) = T y` (47.1202).

    Implements (47.1202), for checked input (see :meth:`Pooling.permute`).

    Examples
    --------
    The left side of (47.1201) from the right side ``1..12``:

    >>> import numpy as np
    >>> from sayedcnn import Pooling
    >>> from sayedcnn.pooling import permute
    >>> pool = Pooling("mean", regions=[[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], P=12)
    >>> permute(pool, np.arange(1.0, 13.0))
    array([ 1.,  2.,  4.,  8.,  3.,  5.,  7.,  9., 11.,  6., 10., 12.])
    """
    return sparse_apply(pooling._T, y)  # (47.1202)


def permute_sharp(pooling, y_o):
    r""":math:`\mathrm{permute}^\#(y_o) = T^T y_o` (47.1204).

    Implements (47.1204), for checked input (see :meth:`Pooling.permute_sharp`).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn import Pooling
    >>> from sayedcnn.pooling import permute_sharp
    >>> pool = Pooling("mean", regions=[[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], P=12)
    >>> y_o = np.array([1.0, 2, 4, 8, 3, 5, 7, 9, 11, 6, 10, 12])
    >>> permute_sharp(pool, y_o)                      # back to the order 1..12
    array([ 1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.])
    """
    return sparse_apply(pooling._TT, y_o)  # (47.1204)
