r"""Labelled displays of the chapter's matrices and vectors: :func:`show`.

``show(obj, name=None)`` wraps a matrix or vector of section 47.25 (a partition matrix
:math:`V`, a pooling matrix :math:`T`, :math:`V^{(d,d',c+1)}`, :math:`\Delta_{n,c}`,
:math:`H_n^{(d,c)}`, a map, a :class:`~sayedcnn.Params` entry, a whole listing result) in a
:class:`Labelled` object that displays

* in Jupyter (``_repr_latex_``): the book's symbol as caption, 1-based row and column indices
  as in the book, lines between the blocks of Kronecker and block-diagonal structure, zeros
  as dots for sparse matrices, and a cut with ellipses above a size limit;
* in a terminal (``str``/``repr``): the same layout as plain text.

Results of the listings know their symbols (:mod:`sayedcnn.symbols`): while
``res = net.forward(params, x)`` lives, ``show(res.H[d, c])`` is captioned
:math:`H_n^{(d,c)}` without a name, and ``show(res)`` (or ``labelled(res)``) shows every
entry. A :class:`~sayedcnn.Params` is not registered when it is made (the engine makes one
per step); ``show(p)``, ``labelled(p)`` or ``register(p)`` registers it.

Examples
--------
>>> import sayedcnn as sc
>>> from sayedcnn.teaching.show import show
>>> part = sc.sliding_partition((3, 3), 2, padding="valid")
>>> print(show(part.V[:4], "V"))
V  (4 x 9)
     1  2  3  4  5  6  7  8  9
  1  1  .  .  .  .  .  .  .  .
  2  .  1  .  .  .  .  .  .  .
  3  .  .  .  1  .  .  .  .  .
  4  .  .  .  .  1  .  .  .  .
"""

from __future__ import annotations

import numbers
import re
from dataclasses import is_dataclass

import numpy as np

from ..symbols import entries, owner_of, remember

__all__ = ["Labelled", "LabelledGroup", "show", "labelled", "register", "symbol_of", "SYMBOLS",
           "LIMIT"]

#: Rows and columns shown in full; larger matrices are cut with ellipses.
LIMIT = (16, 16)

#: The book's symbol of every entry of the listings' results and of :class:`Params`:
#: field name -> LaTeX template formatted with the key (a tuple of the book's numbers).
SYMBOLS = {
    "H": r"H_n^{{({0},{1})}}",
    "H_stacked": r"H_{{n,{0}}}",
    "z_conv": r"z_n^{{({0},{1})}}",
    "y_conv": r"y_n^{{({0},{1})}}",
    "t_conv": r"t_n^{{({0},{1})}}",
    "z_ff": r"z_{{{0},n}}",
    "y_ff": r"y_{{{0},n}}",
    "output": r"y_n",
    "delta_ff": r"\delta_{{{0},n}}",
    "delta_conv": r"\delta_n^{{({0},{1})}}",
    "Delta": r"\Delta_{{n,{0}}}",
    "V": r"V^{{({0},{1},{2})}}",
    "W_conv": r"W_{{c={0}}}",
    "Theta_conv": r"\Theta_{{c={0}}}",
    "W_ff": r"W_{{\ell={0}}}",
    "theta_ff": r"\theta_{{\ell={0}}}",
}

_TEXT = ((r"\mathbb 1", "1"), (r"\otimes", "(x)"), (r"\odot", "(.)"), (r"\partial ", "d"),
         (r"\partial", "d"), (r"\ell", "l"), (r"\top", "T"), (r"\,", " "), (r"\#", "#"),
         (r"\mathcal I", "I"))


def _text_name(name):
    r"""The plain-text form of a LaTeX symbol: ``H_n^{(1,0)}`` -> ``H_n^(1,0)``."""
    t = name
    for tex, text in _TEXT:
        t = t.replace(tex, text)
    t = re.sub(r"\\mathrm\{([^{}]*)\}", r"\1", t)
    t = re.sub(r"\\([A-Za-z]+)", r"\1", t)
    t = re.sub(r"\{(\([^{}]*\))\}", r"\1", t)  # ^{(d,c)} -> ^(d,c)
    return re.sub(r"\{([^{},]*)\}", r"\1", t)  # _{c=1} -> _c=1; _{n,1} stays


def _is_sympy(v):
    return type(v).__module__.startswith("sympy")


def _as_matrix(obj):
    """``(dense 2-D array, was_sparse)`` from an ndarray, a sparse matrix, a list, a number
    or a sympy matrix; vectors become columns, as in the book."""
    if hasattr(obj, "toarray") and hasattr(obj, "nnz"):
        return np.asarray(obj.toarray()), True
    if _is_sympy(obj) and hasattr(obj, "tolist"):
        return np.array(obj.tolist(), dtype=object), False
    if isinstance(obj, numbers.Number) or _is_sympy(obj):
        return np.array([[obj]], dtype=object if _is_sympy(obj) else None), False
    a = np.asarray(obj)
    if a.ndim == 0:
        a = a.reshape(1, 1)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"show displays a matrix or a vector, got an array of shape {a.shape}")
    if a.dtype.kind not in "biufO":
        raise TypeError(f"show displays numbers, got dtype {a.dtype}")
    return a, False


def _boundaries(sizes, n):
    """Block sizes -> the set of 0-based indices at which a new block starts (not 0)."""
    if sizes is None:
        return set()
    sizes = [int(s) for s in sizes]
    if sum(sizes) != n or any(s < 1 for s in sizes):
        raise ValueError(f"blocks must be positive sizes adding up to {n}, got {sizes}")
    return set(np.cumsum(sizes)[:-1].tolist())


def _visible(n, limit):
    """The 0-based indices shown along an axis of n entries (None marks the ellipsis)."""
    if n <= limit:
        return list(range(n))
    head = max(1, limit - 3)
    return list(range(head)) + [None] + list(range(n - 2, n))


class Labelled:
    r"""A matrix or vector of the chapter with its symbol, for display.

    Parameters
    ----------
    value : array_like, sparse matrix or sympy Matrix
        The entries; a vector is shown as a column.
    name : str, optional
        The book's symbol in LaTeX (``r"H_n^{(1,0)}"``); plain text is derived from it.
    row_blocks, col_blocks : sequence of int, optional
        Sizes of the row and column blocks (Kronecker or block-diagonal structure); lines are
        drawn between blocks.
    sparse : bool, optional
        Show zeros as dots; by default true for scipy.sparse input and for 0/1 matrices.
    limit : (int, int), optional
        Rows and columns shown in full (:data:`LIMIT`); beyond, the middle is cut.
    digits : int
        Significant digits of non-integer entries.

    Attributes
    ----------
    entries : ndarray
        The 2-D array of entries (a vector as ``n x 1``).

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.teaching.show import Labelled
    >>> D = Labelled(np.diag([1.5, 2.0, 0.5]), r"\Delta_{n,1}", row_blocks=[2, 1],
    ...              col_blocks=[2, 1], sparse=True)
    >>> print(D)                             # the rows of the two blocks separated
    Delta_{n,1}  (3 x 3)
         1  2 |    3
    1  1.5  . |    .
    2    .  2 |    .
    ----------------
    3    .  . |  0.5
    """

    def __init__(self, value, name=None, row_blocks=None, col_blocks=None, sparse=None,
                 limit=None, digits=4):
        self.entries, was_sparse = _as_matrix(value)
        self.name = name
        n, m = self.entries.shape
        self.row_blocks = None if row_blocks is None else [int(s) for s in row_blocks]
        self.col_blocks = None if col_blocks is None else [int(s) for s in col_blocks]
        self._rb = _boundaries(self.row_blocks, n)
        self._cb = _boundaries(self.col_blocks, m)
        if sparse is None:
            sparse = was_sparse or (self.entries.dtype != object and self.entries.size > 1
                                    and bool(np.isin(self.entries, (0, 1)).all()))
        self.sparse = bool(sparse)
        self.limit = tuple(LIMIT if limit is None else limit)
        if not isinstance(digits, numbers.Integral) or isinstance(digits, bool) or digits < 1:
            raise ValueError(f"digits must be a positive integer, got {digits!r}")
        self.digits = int(digits)

    # -- numbers --------------------------------------------------------------------------

    @property
    def shape(self):
        return self.entries.shape

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.entries, dtype=dtype)

    def _cell(self, v, latex):
        if _is_sympy(v):
            if v == 0 and self.sparse:
                return r"\cdot" if latex else "."
            if latex:
                import sympy

                return sympy.latex(v)
            return str(v)
        if isinstance(v, (bool, np.bool_)):
            v = int(v)
        if v == 0:
            return (r"\cdot" if latex else ".") if self.sparse else "0"
        if isinstance(v, numbers.Integral) or float(v).is_integer() and abs(v) < 1e15:
            return str(int(v))
        s = f"{float(v):.{self.digits}g}"
        if latex and "e" in s:
            mant, ex = s.split("e")
            s = rf"{mant}\times 10^{{{int(ex)}}}"
        return s

    def _grid(self, latex):
        n, m = self.shape
        rows = _visible(n, self.limit[0])
        cols = _visible(m, self.limit[1])
        dots = (r"\vdots", r"\cdots", r"\ddots") if latex else (":", "...", "...")
        grid = []
        for i in rows:
            line = []
            for j in cols:
                if i is None and j is None:
                    line.append(dots[2])
                elif i is None:
                    line.append(dots[0])
                elif j is None:
                    line.append(dots[1])
                else:
                    line.append(self._cell(self.entries[i, j], latex))
            grid.append(line)
        return rows, cols, grid

    @staticmethod
    def _bars(idx, bounds):
        """Positions k (in the visible list) before which a block line goes."""
        return {k for k in range(1, len(idx)) if idx[k] is not None and idx[k - 1] is not None
                and idx[k] in bounds}

    def caption(self, latex=True):
        """The symbol, in LaTeX or as plain text (``None`` when there is none)."""
        if self.name is None:
            return None
        return self.name if latex else _text_name(self.name)

    # -- LaTeX ----------------------------------------------------------------------------

    def latex(self):
        r"""The display as LaTeX: ``$$ symbol = \begin{array} ... \end{array} (n x m) $$``,
        with the 1-based column indices in the first row and the row indices in the first
        column."""
        n, m = self.shape
        rows, cols, grid = self._grid(True)
        rbar, cbar = self._bars(rows, self._rb), self._bars(cols, self._cb)
        spec = "r|" + "".join(("|" if k in cbar else "") + "c" for k in range(len(cols)))

        def idx(i):
            return "" if i is None else rf"{{\scriptstyle {i + 1}}}"

        lines = [" & ".join([""] + [idx(j) for j in cols]) + r" \\ \hline"]
        for k, (i, line) in enumerate(zip(rows, grid)):
            pre = r"\hline " if k in rbar else ""
            lines.append(pre + " & ".join([idx(i)] + line) + r" \\")
        body = "\n".join(lines)
        cap = self.caption(True)
        lhs = f"{cap} = " if cap else ""
        return (f"$$\n{lhs}\\begin{{array}}{{{spec}}}\n{body}\n\\end{{array}}"
                f"\\quad ({n} \\times {m})\n$$")

    def _repr_latex_(self):
        return self.latex()

    # -- text -----------------------------------------------------------------------------

    def text(self):
        """The display as plain text: the symbol and size, then the indexed entries."""
        n, m = self.shape
        rows, cols, grid = self._grid(False)
        rbar, cbar = self._bars(rows, self._rb), self._bars(cols, self._cb)
        head = ["" if j is None else str(j + 1) for j in cols]
        labels = ["" if i is None else str(i + 1) for i in rows]
        widths = [max([len(head[k])] + [len(g[k]) for g in grid]) for k in range(len(cols))]
        lw = max(len(s) for s in labels)

        def join(cells):
            out = ""
            for k, (c, w) in enumerate(zip(cells, widths)):
                out += (" |" if k in cbar else "") + "  " + c.rjust(w)
            return out

        cap = self.caption(False)
        lines = [f"{cap}  ({n} x {m})" if cap else f"({n} x {m})",
                 " " * lw + join(head)]
        rule = "-" * len(lines[-1])
        for k, (lab, line) in enumerate(zip(labels, grid)):
            if k in rbar:
                lines.append(rule)
            lines.append(lab.rjust(lw) + join(line))
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self):
        return self.text()

    def __repr__(self):
        return self.text()


class LabelledGroup:
    r"""Several :class:`Labelled` displays shown one after the other (a listing result, a
    :class:`~sayedcnn.Params`); indexable by position or by caption.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.teaching.show import labelled
    >>> p = sc.Params(W_ff={1: np.ones((2, 3))}, theta_ff={1: np.zeros(2)})
    >>> group = labelled(p)
    >>> len(group), group[r"\theta_{\ell=1}"].shape
    (2, (2, 1))
    """

    def __init__(self, items, title=None):
        self.items = list(items)
        self.title = title

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __getitem__(self, k):
        if isinstance(k, str):
            for it in self.items:
                if it.name == k or (it.name and _text_name(it.name) == k):
                    return it
            raise KeyError(f"no entry captioned {k!r}; captions: "
                           f"{[_text_name(i.name or '') for i in self.items]}")
        return self.items[k]

    def _repr_latex_(self):
        head = f"\\text{{{self.title}}}\n" if self.title else ""
        return head + "\n".join(it.latex() for it in self.items)

    def text(self):
        parts = ([self.title] if self.title else []) + [it.text() for it in self.items]
        return "\n\n".join(parts)

    def __str__(self):
        return self.text()

    def __repr__(self):
        return self.text()


# ---------------------------------------------------------------------------
# Symbols of the listings' results
# ---------------------------------------------------------------------------


def _blocks_for(field_name, key, value, owner):
    """Block structure of an entry of a result, from the result itself."""
    a = np.asarray(value.toarray() if hasattr(value, "toarray") else value)
    if a.ndim != 2:
        if field_name == "y_ff" and key == (1,) and hasattr(owner, "t_conv"):
            C = max((c for _, c in owner.t_conv), default=None)
            if C is not None:
                sizes = [np.size(owner.t_conv[d, C]) for d in sorted(
                    d for d, c in owner.t_conv if c == C)]
                if sum(sizes) == a.size:
                    return sizes, None  # y_1 = col{t^(d,C)} (47.1215)
        return None, None
    n, m = a.shape
    if field_name == "Delta" and m and n % m == 0:
        return [n // m] * m, [1] * m  # block diagonal (47.1270)
    if field_name == "H_stacked" and hasattr(owner, "H"):
        D = sum(1 for _, c in owner.H if c == key[0])
        if D and n % D == 0:
            return [n // D] * D, None  # col{H^(1,c), ..., H^(D_c,c)} (47.1225)
    if field_name in ("W_conv", "Theta_conv") and hasattr(owner, "Theta_conv"):
        D_in = np.shape(owner.Theta_conv[key[0]])[0]
        if field_name == "W_conv" and D_in and n % D_in == 0:
            return [n // D_in] * D_in, None  # col{w_1^(d,c), ..., w_{D_{c-1}}^(d,c)} (47.1223)
    return None, None


def symbol_of(arr):
    """The ``(name, (row_blocks, col_blocks))`` of an entry of a live listing result, or of a
    Params passed to :func:`register`, :func:`labelled` or :func:`show`; else ``None``.

    The record is found by :func:`sayedcnn.symbols.owner_of`, the symbol in :data:`SYMBOLS`.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> res = net.forward(net.init(0), np.ones((1, 4, 4)))
    >>> symbol_of(res.z_conv[1, 1])
    ('z_n^{(1,1)}', (None, None))
    >>> symbol_of(np.ones(3)) is None
    True
    """
    owner = owner_of(arr)
    if owner is None or owner[0] not in SYMBOLS:
        return None
    fname, key, record = owner
    return SYMBOLS[fname].format(*key), _blocks_for(fname, key, arr, record)


def _entries(obj):
    """``(field, key, value)`` for every entry of a listing result or Params with a symbol."""
    return [(f, k, v) for f, k, v in entries(obj) if f in SYMBOLS]


def register(res):
    r"""Remember a listing result (or Params) as the owner of its entries, so that
    ``show(res.W_ff[l])`` is captioned with the book's symbol; returns ``res``. The listings'
    own results do this when they are made; a :class:`~sayedcnn.Params` is registered by
    :func:`labelled`, :func:`show` or this function. Costs one weak reference to ``res``.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> p = sc.Params(W_ff={1: np.ones((2, 3))}, theta_ff={1: np.zeros(2)})
    >>> show(register(p).W_ff[1]).name
    'W_{\\ell=1}'
    """
    return remember(res)


def labelled(res):
    r"""Every entry of a listing result (:class:`~sayedcnn.forward.ForwardResult`,
    :class:`~sayedcnn.training.Sensitivities`) or of a :class:`~sayedcnn.Params`, as a
    :class:`LabelledGroup` captioned with the book's symbols; the entries are also registered
    so that ``show(res.H[d, c])`` finds its symbol :math:`H_n^{(d,c)}` by itself.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2, pool=("mean", 2))], outputs=2)
    >>> p = net.init(0)
    >>> res = net.forward(p, np.ones((1, 4, 4)))
    >>> group = labelled(res)
    >>> show(res.t_conv[1, 1]).name
    't_n^{(1,1)}'
    """
    remember(res)
    items = [Labelled(value, SYMBOLS[fname].format(*key), *_blocks_for(fname, key, value, res))
             for fname, key, value in _entries(res)]
    return LabelledGroup(items, type(res).__name__)


def show(obj, name=None, *, blocks=None, sparse=None, limit=None, digits=4):
    r"""A labelled display of a matrix or vector of the chapter (see the module docstring).

    Parameters
    ----------
    obj : array_like, sparse matrix, sympy Matrix, Pooling, SlidingPartition, Params, or a
        listing result
        A :class:`~sayedcnn.Pooling` shows its :math:`T` (47.1203) with one block per region,
        a :class:`~sayedcnn.SlidingPartition` its :math:`V` (47.1152) with one block of
        :math:`S` rows per subvector; a Params or a result shows every entry.
    name : str, optional
        The symbol in LaTeX; by default the registered symbol of an entry of a result passed
        to :func:`labelled`, or ``T``/``V`` for the operators.
    blocks : (row_sizes, col_sizes), optional
        Block structure to draw (either may be ``None``).
    sparse, limit, digits
        See :class:`Labelled`.

    Returns
    -------
    Labelled or LabelledGroup

    Examples
    --------
    >>> import sayedcnn as sc
    >>> pool = sc.Pooling("mean", in_shape=(2, 4), block=2)
    >>> print(show(pool))                      # T (47.1203), one block per region
    T  (8 x 8)
       1  2  3  4  5  6  7  8
    1  1  .  .  .  .  .  .  .
    2  .  1  .  .  .  .  .  .
    3  .  .  1  .  .  .  .  .
    4  .  .  .  1  .  .  .  .
    -------------------------
    5  .  .  .  .  1  .  .  .
    6  .  .  .  .  .  1  .  .
    7  .  .  .  .  .  .  1  .
    8  .  .  .  .  .  .  .  1
    >>> show(np.array([[1.5, 0.0], [0.0, 2.0]]), r"\Delta").latex().splitlines()[1]
    '\\Delta = \\begin{array}{r|cc}'
    """
    from ..operators import SlidingPartition
    from ..pooling import Pooling

    rb, cb = (None, None) if blocks is None else blocks
    if isinstance(obj, Labelled):
        return Labelled(obj.entries, name or obj.name, rb or obj.row_blocks,
                        cb or obj.col_blocks, obj.sparse if sparse is None else sparse,
                        limit or obj.limit, digits)
    if isinstance(obj, Pooling):
        return Labelled(obj.T, name or "T", rb or obj.sizes.tolist(), cb, sparse=True,
                        limit=limit, digits=digits)  # rows e_p^T region by region (47.1203)
    if isinstance(obj, SlidingPartition):
        return Labelled(obj.V, name or "V", rb or [obj.S] * obj.P, cb, sparse=True,
                        limit=limit, digits=digits)  # S rows per subvector (47.1152)
    if not isinstance(obj, (np.ndarray, list, tuple, numbers.Number)) and (
            is_dataclass(obj) or hasattr(obj, "W_conv")) and not hasattr(obj, "nnz"):
        group = labelled(obj)
        if name:
            group.title = name
        return group
    if name is None:
        hit = symbol_of(obj)
        if hit is not None:
            name, (hrb, hcb) = hit
            rb, cb = rb or hrb, cb or hcb
    return Labelled(obj, name, rb, cb, sparse=sparse, limit=limit, digits=digits)
