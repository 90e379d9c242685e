r"""Pooling, gradient vectors, upsampling and the permutation matrix T (47.1168-47.1204).

A :class:`Pooling` reduces a feature map of ``P`` entries to ``P'`` entries, entry
:math:`p'` pooling the region :math:`\Omega_{p'}` (47.1187, Table 47.13). Regions come from
blocks tiled over a 2-D map or from any list of index sets, overlapping ones included.

Conventions (DESIGN.md, point 3): regions are enumerated column-major over the pooled grid;
the entries of a region are listed in ascending ``p`` (for a block, column-major over the
block); ``T`` stacks :math:`e_p^T` region by region (47.1203). Max-pooling and subsampling
ties go to the first entry in region order; l2-pooling at ``t = 0`` has gradient 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._checks import as_float_array, as_pair, as_positive_int, check_finite

__all__ = ["Pooling", "POOL_KINDS"]

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
    """

    def __init__(self, kind, in_shape=None, block=None, stride=None, regions=None, P=None,
                 mask=None, retain=0):
        if kind not in POOL_KINDS:
            raise ValueError(f"pooling kind must be one of {POOL_KINDS} (Table 47.13), "
                             f"got {kind!r}")
        self.kind = kind
        if regions is not None:
            if in_shape is not None or block is not None:
                raise ValueError("give either regions (with P) or in_shape with block, not both")
            if P is None:
                raise ValueError("P, the size of the pooled map y (47.1187), is required with "
                                 "regions")
            if isinstance(P, bool) or int(P) != P or P < 1:
                raise ValueError(f"P must be a positive integer (47.1187), got {P!r}")
            self.P = int(P)
            if isinstance(regions, (str, bytes)) or not hasattr(regions, "__iter__"):
                raise TypeError(f"regions must be a sequence of index lists Omega_p' (47.1187), "
                                f"got {regions!r}")
            regs = []
            for k, reg in enumerate(regions):
                r = np.asarray(reg)
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
        self.retain = as_positive_int(retain, "retain, the position kept by subsampling",
                                      minimum=0, eq="47.1179")
        if kind == "subsample" and not (0 <= self.retain < int(self.sizes.min())):
            raise ValueError(f"retain must index an entry of every region, "
                             f"0..{self.sizes.min() - 1} (47.1179), got {retain}")
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
        r"""The matrix ``T`` that stacks :math:`e_p^T` region by region (47.1201)-(47.1203)
        (a fresh copy of one built once per operator)."""
        return self._T_built()[0].copy()

    def _T_built(self):
        """``(T, T^T)`` as CSR, built once per operator and shared (read only)."""
        built = self.__dict__.get("_T_pair")
        if built is None:
            n = self._flat.size
            T = sp.csr_matrix((np.ones(n), (np.arange(n), self._flat)), shape=(n, self.P))
            built = self._T_pair = (T, T.T.tocsr())  # (47.1201)-(47.1203)
        return built

    # -- batched kernels on axis 1 of (K, P, B) arrays -------------------------------------

    def _gather(self, y3, fill):
        g = y3[:, self._idx, :]  # (K, P', R, B)
        if not self._valid.all():
            g = np.where(self._valid[None, :, :, None], g, fill)
        return g

    def _blocks(self, y3):
        """For blocks that tile the map at stride = block (disjoint regions), the entries of
        every region as ``|Omega|`` strided views ``(K, nc, nr, B)`` of ``y3`` (K, P, B), in
        region order (column-major over the block); ``None`` for other regions."""
        if self.block is None or self.stride != self.block:
            return None
        K, _, B = y3.shape
        rows, cols = self.in_shape
        br, bc = self.block
        nr, nc = self.out_shape
        y4 = y3.reshape(K, cols, rows, B)  # entry p = r + c*rows sits at [:, c, r, :]
        return [y4[:, b:b + bc * nc:bc, a:a + br * nr:br, :]
                for b in range(bc) for a in range(br)]

    def _tiles(self, y3):
        """For blocks at stride = block that cover the whole map, ``y3`` (K, P, B) viewed as
        ``(K, nc, bc, nr, br, B)``: block ``(i, j)``, entry ``(a, b)`` at ``[:, j, b, i, a]``;
        ``None`` otherwise."""
        if self.block is None or self.stride != self.block:
            return None
        (br, bc), (nr, nc) = self.block, self.out_shape
        if (br * nr, bc * nc) != tuple(self.in_shape):
            return None
        return y3.reshape(y3.shape[0], nc, bc, nr, br, y3.shape[2])

    def _pool3(self, y3):
        k = self.kind
        tiles = self._tiles(y3)
        if k == "max" and tiles is not None:
            t = tiles[:, :, 0]
            for b in range(1, tiles.shape[2]):
                t = np.maximum(t, tiles[:, :, b])  # Table 47.13: max over the block's columns
            m = t[:, :, :, 0]
            for a in range(1, t.shape[3]):
                m = np.maximum(m, t[:, :, :, a])  # ... then over its rows
            return m.reshape(y3.shape[0], self.P_out, y3.shape[2])
        views = self._blocks(y3)
        if views is not None:
            K, _, B = y3.shape
            if k == "max":
                t = views[0].copy()
                for v in views[1:]:
                    np.maximum(t, v, out=t)  # Table 47.13, max pooling
            elif k == "mean":
                t = views[0].copy()
                for v in views[1:]:
                    t += v
                t /= len(views)  # Table 47.13, mean pooling
            elif k == "l2":
                t = views[0] ** 2
                for v in views[1:]:
                    t += v ** 2
                np.sqrt(t, out=t)  # (47.1176)
            elif k == "subsample":
                t = views[self.retain].copy()  # (47.1179)
            else:
                t = self.mask[0] * views[0]
                for m, v in zip(self.mask[1:], views[1:]):
                    t += m * v  # (47.1180)
            return t.reshape(K, self.P_out, B)
        if k == "max":
            return self._gather(y3, -np.inf).max(axis=2)  # Table 47.13, max pooling
        if k == "mean":
            s = self._gather(y3, 0.0).sum(axis=2)
            return s / self.sizes[None, :, None]  # Table 47.13, mean pooling
        if k == "l2":
            return np.sqrt((self._gather(y3, 0.0) ** 2).sum(axis=2))  # (47.1176)
        if k == "subsample":
            return y3[:, self._idx[:, self.retain], :]  # (47.1179)
        return np.einsum("kprb,r->kpb", self._gather(y3, 0.0), self.mask)  # (47.1180)

    def _grad3(self, y3):
        """Padded gradient vectors g[k, p', r, b] of Table 47.14 (zeros in the padding)."""
        K, _, B = y3.shape
        shape = (K, self.P_out, self.R, B)
        k = self.kind
        if k == "mean":
            g = np.broadcast_to((self._valid / self.sizes[:, None])[None, :, :, None], shape)
            return np.array(g)  # (47.1196a)
        if k in ("max", "subsample"):
            if k == "max":
                pos = self._gather(y3, -np.inf).argmax(axis=2)  # first maximum in region order
            else:
                pos = np.full((K, self.P_out, B), self.retain)
            g = np.zeros(shape)
            np.put_along_axis(g, pos[:, :, None, :], 1.0, axis=2)
            return g  # (47.1196b), (47.1196c)
        if k == "l2":
            yy = self._gather(y3, 0.0)
            t = np.sqrt((yy**2).sum(axis=2, keepdims=True))
            with np.errstate(invalid="ignore", divide="ignore"):
                g = np.where(t > 0, yy / np.where(t > 0, t, 1.0), 0.0)  # (47.1196d); 0 at t = 0
            return g
        g = np.broadcast_to((self.mask[None, :] * self._valid)[None, :, :, None], shape)
        return np.array(g)  # (47.1196e)

    def _backprop3(self, v3, y3, t3=None, out=None):
        """permute#(upv(v)) for (K, P', B) sensitivities v: (K, P, B) (47.1244, 47.1260).
        ``t3`` may pass the pooled map ``pool(y)`` when it is at hand; ``out`` a (K, P, B)
        array to write the result into (blocks at stride = block only)."""
        views = self._blocks(y3)
        if views is not None:
            return self._backprop_blocks(v3, y3, views, t3, out)
        contrib = self._grad3(y3) * v3[:, :, None, :]  # upv (47.1200), padded
        K, _, _, B = contrib.shape
        flat = contrib[:, self._valid, :]  # (K, sum|Omega|, B) in T's row order
        out = np.zeros((K, self.P, B))
        if self.disjoint:
            out[:, self._flat, :] = flat  # T^T for a (partial) permutation
        else:
            np.add.at(out, (slice(None), self._flat, slice(None)), flat)  # T^T sums overlaps
        return out

    def _backprop_blocks(self, v3, y3, views, t3=None, out=None):
        """:meth:`_backprop3` for blocks at stride = block: T^T is a (partial) permutation,
        so permute#(upv(v)) writes v(p') g_{p'} into the block of p' (47.1200, 47.1204)."""
        K, P, B = y3.shape
        rows, cols = self.in_shape
        v4 = v3.reshape(K, *self.out_shape[::-1], B)  # [:, j, i, :] = v(i + j*nr)
        covered = (self.block[0] * self.out_shape[0] == rows
                   and self.block[1] * self.out_shape[1] == cols and self.kind != "subsample")
        if out is None:
            out = np.empty((K, P, B)) if covered else np.zeros((K, P, B))
        elif not covered:
            out[...] = 0.0  # entries in no region get no sensitivity
        outs = self._blocks(out)  # views of out, entry k of every region
        k = self.kind
        if k == "max":  # g_{p'} = e at the first maximum in region order (47.1196b)
            t4 = (self._pool3(y3) if t3 is None else t3).reshape(v4.shape)
            taken = views[0] == t4
            np.multiply(v4, taken, out=outs[0])
            for view, o in zip(views[1:-1], outs[1:-1]):
                hit = view == t4
                np.greater(hit, taken, out=hit)  # a maximum not preceded by another
                taken |= hit
                np.multiply(v4, hit, out=o)
            if len(views) > 1:
                np.multiply(v4, ~taken, out=outs[-1])
        elif k == "mean":
            for o in outs:
                np.divide(v4, len(outs), out=o)  # (47.1196a)
        elif k == "l2":
            t4 = (self._pool3(y3) if t3 is None else t3).reshape(v4.shape)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.where(t4 > 0, v4 / np.where(t4 > 0, t4, 1.0), 0.0)
            for view, o in zip(views, outs):
                np.multiply(view, r, out=o)  # (47.1196d): y / t, 0 at t = 0
        elif k == "subsample":
            outs[self.retain][...] = v4  # (47.1196c)
        else:
            for m, o in zip(self.mask, outs):
                np.multiply(v4, m, out=o)  # (47.1196e)
        return out

    # -- public, book-shaped ------------------------------------------------------------

    def _as3(self, y, name, n, eq):
        y = as_float_array(y, name, eq=eq)
        if y.ndim not in (1, 2) or y.shape[0] != n:
            raise ValueError(f"{name} must be a vector of P = {n} entries or a P x K array with "
                             f"P = {n} rows ({eq}), got shape {y.shape}")
        return y.reshape(1, n, -1), y.ndim

    def pool(self, y):
        r"""Pool a map (or the columns of a ``P x K`` array): :math:`t(p') =
        \mathrm{pool}_{p \in \Omega_{p'}}\{y(p)\}` (47.1187)-(47.1188), Table 47.13."""
        y3, nd = self._as3(y, "y", self.P, "47.1187")
        t = self._pool3(y3)[0]
        return t[:, 0] if nd == 1 else t

    def gradient_vectors(self, y):
        r"""The gradient vectors :math:`g_{p'} = \partial t(p') / \partial y(\Omega_{p'})`
        (47.1195)-(47.1196), Table 47.14, one array per region, for a map ``y`` of P entries."""
        y3, nd = self._as3(y, "y", self.P, "47.1196")
        if nd != 1:
            raise ValueError(f"y must be a vector of P = {self.P} entries (47.1196)")
        g = self._grad3(y3)[0, :, :, 0]
        return [g[p, : self.sizes[p]].copy() for p in range(self.P_out)]

    def jacobian(self, y):
        r"""The ``P' x P`` matrix :math:`\partial t / \partial y`; row ``p'`` carries
        :math:`g_{p'}` at the columns :math:`\Omega_{p'}` (47.1237)."""
        J = np.zeros((self.P_out, self.P))
        for p, (reg, g) in enumerate(zip(self.regions, self.gradient_vectors(y))):
            J[p, reg] += g
        return J

    def gradient_matrix(self, y):
        r"""The gradient vectors :math:`g_{p'}` (47.1196) as the rows of a ``P' x R`` array
        (``R`` the largest region), zero past :math:`|\Omega_{p'}|`; computed once per map
        and reused by :meth:`upv`."""
        y3, nd = self._as3(y, "y", self.P, "47.1196")
        if nd != 1:
            raise ValueError(f"y must be a vector of P = {self.P} entries (47.1196)")
        return self._grad3(y3)[0, :, :, 0]

    def upv(self, v, y=None, G=None):
        r"""Upsample ``v`` (P' entries) by the gradient vectors at ``y``:
        :math:`\mathrm{upv}(v) = \mathrm{col}\{v(p')\, g_{p'}\}` (47.1197)-(47.1200), a vector
        of :math:`\sum_{p'} |\Omega_{p'}|` entries. ``G`` (from :meth:`gradient_matrix`) may
        be given instead of ``y`` when the same map is upsampled many times."""
        v = as_float_array(v, "v", ndim=1, eq="47.1200")
        if v.size != self.P_out:
            raise ValueError(f"v must have P' = {self.P_out} entries (47.1200), got {v.size}")
        if G is None:
            if y is None:
                raise ValueError("upv needs the map y (or its gradient matrix G) (47.1200)")
            G = self.gradient_matrix(y)  # g_{p'} in row p', zero past |Omega_p'| (47.1196)
        elif np.shape(G) != (self.P_out, self.R):
            raise ValueError(f"G must be P' x R = {self.P_out} x {self.R} (47.1196), got "
                             f"{np.shape(G)}")
        return (v[:, None] * G)[self._valid]  # (47.1200) col{v(p') g_p'}, region by region

    def _upv(self, v, G):
        r""":meth:`upv` without its checks, for a float64 vector ``v`` of P' entries computed
        from checked data and a gradient matrix ``G`` from :meth:`gradient_matrix` (47.1200).
        Anything else goes through :meth:`upv`; finiteness is the caller's to ensure."""
        if not (type(v) is np.ndarray and v.dtype == np.float64 and v.shape == (self.P_out,)):
            return self.upv(v, G=G)
        return (v[:, None] * G)[self._valid]  # (47.1200) col{v(p') g_p'}, region by region

    def permute(self, y):
        r"""``permute(y) = T y`` (47.1202)."""
        y = as_float_array(y, "y", eq="47.1202")
        if y.ndim not in (1, 2) or y.shape[0] != self.P:
            raise ValueError(f"y must have P = {self.P} rows (47.1202), got shape {y.shape}")
        return self._T_built()[0] @ y  # (47.1202)

    def permute_sharp(self, y_o):
        r"""``permute#(y_o) = T^T y_o`` (47.1204); with overlapping regions ``T^T`` sums the
        contributions of every region that holds an entry."""
        y_o = as_float_array(y_o, "y_o", eq="47.1204")
        n = self._flat.size
        if y_o.ndim not in (1, 2) or y_o.shape[0] != n:
            raise ValueError(f"y_o must have sum|Omega| = {n} rows (47.1204), got shape "
                             f"{y_o.shape}")
        return self._T_built()[1] @ y_o  # (47.1204)

    def _permute_sharp(self, y_o):
        r""":meth:`permute_sharp` without its checks, for a float64 vector ``y_o`` of
        :math:`\sum_{p'} |\Omega_{p'}|` entries (e.g. from :meth:`_upv`) (47.1204).
        Anything else goes through :meth:`permute_sharp`; finiteness is the caller's."""
        if not (type(y_o) is np.ndarray and y_o.dtype == np.float64
                and y_o.shape == self._flat.shape):
            return self.permute_sharp(y_o)
        return self._T_built()[1] @ y_o  # (47.1204)

    def backprop(self, v, y):
        r"""``permute#(upv(v))`` = :math:`(\partial t/\partial y)^T v` (47.1244), (47.1260)."""
        y3, nd = self._as3(y, "y", self.P, "47.1244")
        v = as_float_array(v, "v", eq="47.1244")
        check_finite(v, "v", "47.1244")
        want = (self.P_out,) if nd == 1 else (self.P_out, y3.shape[2])
        if v.shape != want:
            raise ValueError(f"v must have P' = {self.P_out} rows (47.1244), shaped "
                             f"{' x '.join(map(str, want))} like y's {nd}-D layout, got "
                             f"{' x '.join(map(str, v.shape)) or 'a scalar'}")
        out = self._backprop3(v.reshape(1, self.P_out, -1), y3)[0]
        return out[:, 0] if nd == 1 else out
