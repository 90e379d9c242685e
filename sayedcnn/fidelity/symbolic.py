r"""Symbolic reproduction of the chapter's symbolic examples (needs the optional ``sympy``).

* (47.1251)/(47.1256): :math:`V^{(d,d',c+1)}` of (47.1257) formed literally with
  :math:`w = (w_1, w_2)` as symbols, from :math:`V_c` of (47.1252);
* (47.1240): :math:`f'(z) \odot \mathrm{permute}^\#(\mathrm{upv}((W_1^{(d)})^T
  \delta_{2,n}))` (47.1245) with symbolic :math:`\delta_{2,n}`, :math:`W_1^{(d)}`,
  :math:`f'` and gradient vectors, against the printed rows;
* (47.1259): :math:`f'(z) \odot \mathrm{permute}^\#(\mathrm{upv}(b))` (47.1260) with
  symbolic :math:`b`, against the printed rows (erratum E-1259).

``sympy`` is imported inside the functions only (``pip install "sayedcnn[symbolic]"``).
"""

from __future__ import annotations

import numpy as np

from ..operators import partition_matrix
from ..pooling import Pooling
from .book_examples import (
    PRINTED_1240_DT,
    PRINTED_1240_W,
    PRINTED_1251,
    PRINTED_1253,
    PRINTED_1259_B,
    PRINTED_1259_DT,
    REGIONS_1201,
)
from .examples import Example

__all__ = [
    "require_sympy",
    "V_ddc_symbolic",
    "example_1251",
    "example_1256",
    "example_1240",
    "example_1259",
    "symbolic_examples",
]


def require_sympy():
    """Import sympy, or raise ImportError saying how to install it.

    Examples
    --------
    >>> from sayedcnn.fidelity.symbolic import require_sympy
    >>> require_sympy().__name__
    'sympy'
    """
    try:
        import sympy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("symbolic reproduction needs sympy: pip install "
                          "'sayedcnn[symbolic]'") from exc
    return sympy


def _to_sympy(A):
    sympy = require_sympy()
    A = A.toarray() if hasattr(A, "toarray") else np.asarray(A)
    return sympy.Matrix(A.shape[0], A.shape[1], [sympy.Integer(int(round(v))) if
                                                 float(v).is_integer() else sympy.Float(v)
                                                 for v in A.reshape(-1)])


def V_ddc_symbolic(V_c, w, P_next, S_next):
    r"""(47.1257) with sympy entries, formed literally:

    .. math:: V^{(d,d',c+1)} = \Big(V_c^T \odot \big(\mathbb 1_{P'_c}\mathbb 1_{P_{c+1}}^T
              \otimes w^T\big)\Big)(I_{P_{c+1}} \otimes \mathbb 1_{S_{c+1}})

    ``V_c`` is a ``P_{c+1} S_{c+1} x P'_c`` 0/1 matrix, ``w`` a list of ``S_{c+1}`` sympy
    expressions. Implements (47.1256)-(47.1257) (with :math:`\mathbb 1_{S_{c+1}}`, erratum
    E-1257).

    Examples
    --------
    >>> import sympy
    >>> import sayedcnn as sc
    >>> from sayedcnn.fidelity.book_examples import PARTITION_1149
    >>> from sayedcnn.fidelity.symbolic import V_ddc_symbolic
    >>> from sayedcnn.fidelity.symbolic import example_1256
    >>> printed, computed = example_1256()
    >>> computed.shape, sympy.simplify(printed - computed) == sympy.zeros(6, 4)
    ((6, 4), True)
    """
    sympy = require_sympy()
    VT = _to_sympy(V_c).T
    Pp = VT.shape[0]
    if len(w) != S_next or VT.shape[1] != P_next * S_next:
        raise ValueError(f"V_c must be P_(c+1) S_(c+1) x P'_c = {P_next * S_next} x {Pp} and w "
                         f"must have S_(c+1) = {S_next} entries (47.1257), got V_c^T "
                         f"{VT.shape[0]} x {VT.shape[1]} and {len(w)} entries")
    wT = sympy.Matrix([list(w)])
    K = sympy.kronecker_product(sympy.ones(Pp, P_next), wT)  # 1 1^T (x) w^T
    had = VT.multiply_elementwise(K)  # V_c^T (.) (...)
    right = sympy.kronecker_product(sympy.eye(P_next), sympy.ones(S_next, 1))
    return had * right  # (47.1257)


def _printed_1251(w1, w2):
    sympy = require_sympy()
    names = {"w1": w1, "w2": w2}
    return sympy.Matrix([[names[e] if isinstance(e, str) else sympy.Integer(e) for e in row]
                         for row in PRINTED_1251])


def _Vc_1252():
    rows = np.array(PRINTED_1253).reshape(4, 2) - 1
    return partition_matrix(rows, 6)


def example_1256():
    r"""(47.1256): ``(printed, computed)`` 6 x 4 sympy matrices in the symbols
    :math:`w_1, w_2`; computed by :func:`V_ddc_symbolic` from :math:`V_c` of (47.1252).

    Examples
    --------
    >>> from sayedcnn.fidelity.symbolic import example_1256
    >>> printed, computed = example_1256()
    >>> printed == computed
    True
    """
    sympy = require_sympy()
    w1, w2 = sympy.symbols("w1 w2")
    return _printed_1251(w1, w2), V_ddc_symbolic(_Vc_1252(), [w1, w2], 4, 2)


def example_1251():
    r"""(47.1251): ``(printed, computed)`` vectors :math:`b_n^{(d,d',c)}` (6 entries) in the
    symbols :math:`w_1, w_2, \delta(1..4)`: the printed matrix times :math:`\delta`, and
    :math:`V^{(d,d',c+1)}\delta` (47.1258).

    Examples
    --------
    >>> from sayedcnn.fidelity.symbolic import example_1251
    >>> printed, computed = example_1251()
    >>> printed == computed, printed.shape
    (True, (6, 1))
    """
    sympy = require_sympy()
    printed, V = example_1256()
    delta = sympy.Matrix(sympy.symbols("delta1:5"))
    return printed * delta, V * delta


def _pooling_1201():
    return Pooling("max", regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)


def _fprime_and_grads(sympy, pool):
    fp = sympy.Matrix(sympy.symbols("fp1:13"))  # f'(z(j)), j = 1..12
    # dt(p')/dy(j) for j in Omega_p': the gradient vectors g_p' of (47.1196)
    g = {(p + 1, int(j) + 1): sympy.Symbol(f"dt{p + 1}_{int(j) + 1}")
         for p, reg in enumerate(pool.regions) for j in reg}
    return fp, g


def _permute_sharp_upv(sympy, pool, v, g):
    """permute#(upv(v)) = T^T col{v(p') g_p'} (47.1200), (47.1204) with sympy entries."""
    up = [v[p] * g[p + 1, int(j) + 1] for p, reg in enumerate(pool.regions) for j in reg]
    return _to_sympy(pool.T).T * sympy.Matrix(up)


def example_1240():
    r"""(47.1240): ``(printed, computed)`` 12-vectors
    :math:`\delta_n^{(d,C)}(j) = f'(z(j))\,(w_{i_{p''}}^{(1)})^T\delta_{2,n}\,
    \partial t(p'')/\partial y(j)`, with symbols for :math:`\delta_{2,n}` (2 entries),
    :math:`W_1^{(d)}` (2 x 3), :math:`f'` and the gradients; computed by (47.1245) with
    ``permute#`` of :math:`T` (47.1203).

    Examples
    --------
    >>> from sayedcnn.fidelity.symbolic import example_1240
    >>> printed, computed = example_1240()
    >>> printed == computed, printed.shape
    (True, (12, 1))
    """
    sympy = require_sympy()
    pool = _pooling_1201()
    fp, g = _fprime_and_grads(sympy, pool)
    d2 = sympy.Matrix(sympy.symbols("d2_1:3"))
    W = sympy.Matrix(2, 3, lambda k, p: sympy.Symbol(f"w{k + 1}_{p + 1}"))  # W_1^(d)
    v = W.T * d2  # (47.1241)
    printed = sympy.Matrix([fp[j] * v[PRINTED_1240_W[j] - 1] * g[PRINTED_1240_DT[j], j + 1]
                            for j in range(12)])
    computed = fp.multiply_elementwise(_permute_sharp_upv(sympy, pool, v, g))  # (47.1245)
    return printed, computed


def example_1259(printed_pattern=None):
    r"""(47.1259): ``(printed, computed)`` 12-vectors
    :math:`f'(z(j))\, b(p'')\, \partial t(p'')/\partial y(j)` for one :math:`d'`, with
    symbolic :math:`b` (3 entries); computed by (47.1260). The printed b-indices differ in
    rows 4-12 (erratum E-1259); ``printed_pattern`` replaces them (e.g. by the corrected
    ones).

    Examples
    --------
    >>> from sayedcnn.fidelity.symbolic import example_1259
    >>> printed, computed = example_1259()
    >>> printed == computed                  # rows 4-12 differ as transcribed (E-1259)
    False
    """
    sympy = require_sympy()
    pool = _pooling_1201()
    fp, g = _fprime_and_grads(sympy, pool)
    b = sympy.Matrix(sympy.symbols("b1:4"))
    pattern = PRINTED_1259_B if printed_pattern is None else printed_pattern
    printed = sympy.Matrix([fp[j] * b[pattern[j] - 1] * g[PRINTED_1259_DT[j], j + 1]
                            for j in range(12)])
    computed = fp.multiply_elementwise(_permute_sharp_upv(sympy, pool, b, g))  # (47.1260)
    return printed, computed


def _text(M):
    return str(list(M)) if M.shape[1] == 1 else str(M.tolist())


def _same(sympy, A, B):
    return A.shape == B.shape and all(sympy.expand(a - b) == 0 for a, b in zip(A, B))


def symbolic_examples():
    """The symbolic examples as :class:`~sayedcnn.fidelity.examples.Example` records (strings).

    Examples
    --------
    >>> from sayedcnn.fidelity.symbolic import symbolic_examples
    >>> all(r.ok for r in symbolic_examples())
    True
    """
    sympy = require_sympy()
    out = []
    for key, title, fn, err in (
            ("47.1251", "b = V delta with symbols w1, w2, delta1..4", example_1251, None),
            ("47.1256", "V^(d,d',c+1) with symbols w1, w2", example_1256, None),
            ("47.1240", "delta^(d,C) with symbolic delta_2, W_1^(d), f', gradients",
             example_1240, None),
            ("47.1259", "delta^(d,c) with symbolic b, f', gradients", example_1259, "E-1259")):
        printed, computed = fn()
        if _same(sympy, printed, computed) != (_text(printed) == _text(computed)):
            raise RuntimeError(f"({key}): sympy's printing disagrees with expand(a - b)")
        out.append(Example(key, f"{title} (symbolic)", _text(printed), _text(computed),
                           erratum=err))
    return out
