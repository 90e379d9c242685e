r"""The register of the print's slips in section 47.25 and in the seed notes, each with its proof,
and of the places where the package departs from what the print says.

Every :class:`Erratum` names the equation, the place, the form as printed, the corrected
form, a one-line reason and a ``demonstrate()`` callable. A demonstration computes with the
package and returns a :class:`Demonstration`: the numbers for which the printed form fails
(a dimension error, a risk that rises, a gradient that disagrees with finite differences, a
matrix that does not reproduce) and the corrected form passes. ``python -m sayedcnn errata``
prints the register; ``--check`` runs every demonstration; ``--write ERRATA.md`` renders it.

**What "printed" means.** The printed forms were read from :data:`SOURCE`: an OCR
transcription of the chapter (and text transcriptions of the seed notes), not the printed page.
Each erratum therefore carries an :attr:`Erratum.origin`: ``"print"``, a slip in the
mathematics as printed (the text around it, or the book's own conventions, contradict it), or
``"transcription?"``, possibly an artefact of the transcription (a shifted row, a lost bracket,
a dropped prime), with the reason in :attr:`Erratum.doubt`. Either way the corrected form is
what the package computes.

Where the package does something the print does not say (a line it skips, a mask it applies,
a value it chooses where the printed formula is undefined) the register lists a
:class:`Departure` in :data:`DEPARTURES`, with a demonstration of the same kind.

Slips that change no meaning are listed in :data:`NOTATION`; candidate slips that were
checked and found right are listed in :data:`VERIFIED`.

This module may import the core; the core never imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..forward import feedforward_input, forward_listing
from ..network import Conv, Network
from ..operators import (
    V_ddc,
    correlate,
    flip_mask,
    gaussian_mask,
    partition_matrix,
    patch_matrix,
    unvec,
    vec,
)
from ..pooling import Pooling
from ..reference.compare import max_rel_diff, rel_diff
from ..reference.finite_diff import central_differences
from ..reference.loops import forward as loops_forward
from ..training import backward_listing
from .book_examples import (
    LHS_1201,
    PARTITION_1149,
    PRINTED_1149,
    PRINTED_1259_B,
    PRINTED_1259_DT,
    REGIONS_1201,
    printed_T_1201,
)

__all__ = [
    "Demonstration",
    "Erratum",
    "Departure",
    "Notation",
    "Verified",
    "SOURCE",
    "ORIGINS",
    "ERRATA",
    "DEPARTURES",
    "NOTATION",
    "VERIFIED",
    "by_id",
    "normalize_id",
    "as_example",
    "check_all",
    "render",
]


@dataclass
class Demonstration:
    r"""The numbers of one erratum's demonstration.

    Attributes
    ----------
    printed : str
        What the printed form gives, in numbers.
    corrected : str
        What the corrected form gives.
    printed_fails : bool
        Whether the printed form fails (wrong size, wrong value, rising risk, ...).
    corrected_passes : bool
        Whether the corrected form passes the same test.
    values : dict
        The raw numbers behind the two sentences.

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import by_id
    >>> demo = by_id("E-1276a").demonstrate()
    >>> demo.printed_fails, demo.corrected_passes
    (True, True)
    """

    printed: str
    corrected: str
    printed_fails: bool
    corrected_passes: bool
    values: dict = field(default_factory=dict)

    @property
    def shown(self):
        """The demonstration makes its point: the print fails and the correction passes."""
        return bool(self.printed_fails) and bool(self.corrected_passes)


@dataclass(frozen=True)
class Erratum:
    r"""One printed slip.

    Attributes
    ----------
    id : str
        ``E-<equation>[letter]`` for the chapter, ``E-S<seed>[letter]`` for the seed notes.
    equation : str
        The equation number (``"47.1257"``) or the seed's own label.
    location : str
        Where the slip is printed.
    printed, corrected : str
        The printed and the corrected form (LaTeX or text).
    reason : str
        One line: why the printed form is wrong.
    kind : str
        ``dimension``, ``sign``, ``index``, ``constant``, ``scaling``, ``count``, ``matrix``,
        ``missing step`` or ``notation`` (a slip of type or naming: read literally the
        expression is not the quantity meant, but no reader's computation changes).
    demonstrate : callable
        Returns a :class:`Demonstration`.
    source : str
        ``"chapter"`` or ``"seed000"``, ``"seed001"``, ``"seed002"``, ``"seed004"``.
    origin : str
        ``"print"`` (a slip in the mathematics as printed) or ``"transcription?"`` (possibly
        an artefact of the transcription the register was read from, :data:`SOURCE`).
    doubt : str
        For ``origin="transcription?"``: why the slip may be the transcription's.

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import by_id
    >>> e = by_id("E-1257")
    >>> e.equation, e.kind, e.origin
    ('47.1257', 'dimension', 'print')
    """

    id: str
    equation: str
    location: str
    printed: str
    corrected: str
    reason: str
    kind: str
    demonstrate: object
    source: str = "chapter"
    origin: str = "print"
    doubt: str = ""

    def run(self):
        """Run the demonstration; an exception inside it counts as not shown."""
        try:
            return self.demonstrate()
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            return Demonstration(f"demonstration raised {type(exc).__name__}: {exc}", "",
                                 False, False)


@dataclass(frozen=True)
class Departure:
    r"""A place where the package does something the print does not say.

    Attributes
    ----------
    id : str
        ``D-<equation>[letter]``.
    equation : str
        The equation number(s) concerned (``"47.1216"``).
    location : str
        Where in the print.
    printed : str
        What the print says (LaTeX or text).
    package : str
        What the package does instead, and where.
    reason : str
        One line: why.
    demonstrate : callable
        Returns a :class:`Demonstration`: ``printed_fails`` when the print, followed
        literally, leaves a quantity undefined or computes a wrong one, ``corrected_passes``
        when the package's choice computes the right one.

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import by_id
    >>> d = by_id("D-1216")
    >>> d.equation, d.demonstrate().corrected_passes
    ('47.1216', True)
    """

    id: str
    equation: str
    location: str
    printed: str
    package: str
    reason: str
    demonstrate: object
    source: str = "chapter"

    def run(self):
        """Run the demonstration; an exception inside it counts as not shown."""
        return Erratum.run(self)


@dataclass(frozen=True)
class Notation:
    """A slip that changes no meaning (no demonstration).

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import NOTATION
    >>> all(n.printed and n.corrected for n in NOTATION)
    True
    """

    equation: str
    location: str
    printed: str
    corrected: str
    source: str = "chapter"


@dataclass(frozen=True)
class Verified:
    """A candidate slip that was checked and found right, with the check that shows it.

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import VERIFIED
    >>> all(v.test.startswith("tests/") for v in VERIFIED)
    True
    """

    equation: str
    claim: str
    finding: str
    test: str
    source: str = "chapter"


#: What the "printed" forms of the register were read from.
SOURCE = ("an OCR transcription of section 47.25 (the chapter text 003_ace7bfd62140cd64.txt of "
          "the seed material, with its equation numbers), and text transcriptions of the four "
          "seed notes; not the printed page")

#: The two origins an erratum may have.
ORIGINS = {
    "print": "a slip in the mathematics as printed: the surrounding text, the book's own "
             "conventions or its other equations contradict it",
    "transcription?": "possibly an artefact of the transcription (a shifted row, a lost "
                      "bracket, a dropped prime or subscript): the page may be right",
}


# ---------------------------------------------------------------------------
# Small helpers for the demonstrations
# ---------------------------------------------------------------------------


def _raises(fn):
    """Run ``fn``; return the message of the ValueError/IndexError/KeyError it raises, or None."""
    try:
        fn()
    except (ValueError, IndexError, KeyError) as exc:
        text = str(exc).split(", with gufunc")[0]
        return f"{type(exc).__name__}: {text}"
    return None


def _fmt(x):
    return f"{x:.3g}"


def demo_network():
    r"""The small network of most demonstrations: 6x6 input, ``C = 2``, ``L = 3``.

    Layer 1: 2 maps, 3x3 mask ('same'), tanh, 2x2 max-pooling (``P_1 = 36``, ``P'_1 = 9``,
    ``S_1 = 9``); layer 2: 3 maps, 2x2 mask ('same'), tanh, no pooling (``P_2 = P'_2 = 9``,
    ``S_2 = 4``); feedforward ``n = (27, 4, 2)``, tanh hidden, sigmoid output. So
    :math:`S_1 \ne S_2`, :math:`P_1 \ne P'_1`, :math:`D_1 \ne D_2` and :math:`n_1 \ne n_2`.
    """
    return Network((6, 6), 1,
                   conv=[Conv(2, mask=3, activation="tanh", pool=("max", 2)),
                         Conv(3, mask=2, activation="tanh")],
                   hidden=[4], outputs=2, hidden_activation="tanh",
                   output_activation="sigmoid")


def _demo_data(net, N=3, seed=7):
    rng = np.random.default_rng(seed)
    params = net.init(seed, bias_scale=0.3)
    X = rng.uniform(-1, 1, (N, net.input_depth, *net.input_shape))
    Gamma = rng.uniform(0.1, 0.9, (N, net.Q))
    return params, X, Gamma


def _fd_params(net, params, X, Gamma, rho1=0.0, rho2=0.0):
    """Finite-difference derivatives of J_emp (47.1229) as a Params."""
    v0 = params.to_vector()
    g = central_differences(lambda v: net.risk(params.from_vector(v), X, Gamma, rho1, rho2), v0)
    return params.from_vector(g)


# ---------------------------------------------------------------------------
# Demonstrations: the chapter
# ---------------------------------------------------------------------------


def _d1135():
    K, sigma2 = 20, 4.0
    k = np.arange(-K, K + 1, dtype=float)
    e = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * sigma2))
    printed = gaussian_mask(K, sigma2, printed=True)  # the constant as printed
    corrected = gaussian_mask(K, sigma2)
    assert np.allclose(corrected, e / (2 * np.pi * sigma2), rtol=1e-14)
    sp_, sc = float(printed.sum()), float(corrected.sum())
    return Demonstration(
        f"mask entries sum to {sp_:.4f} (= sqrt(2 pi) = {np.sqrt(2 * np.pi):.4f}) for K = {K}, "
        f"sigma^2 = {sigma2:g}",
        f"mask entries sum to {sc:.6f}",
        abs(sp_ - 1) > 0.1, abs(sc - 1) < 1e-6, {"printed_sum": sp_, "corrected_sum": sc})


def _d1149():
    lists = [[k - 1 for k in row] for row in PARTITION_1149]  # the subvectors of Fig. 47.87
    P, S, M = 4, 3, 6
    V = partition_matrix(lists, M)
    stacked = V @ np.arange(1.0, M + 1)
    book = np.array(PRINTED_1149, dtype=float)  # left side of (47.1149)
    return Demonstration(
        f"label P x M = {P} x {M}, but V maps h to the {V.shape[0]} stacked entries",
        f"PS x M = {P * S} x {M} = V.shape {V.shape}, V (1..6) reproduces the left side",
        V.shape != (P, M), V.shape == (P * S, M) and np.array_equal(stacked, book),
        {"V_shape": V.shape})


def _d1166():
    D, side = 30, 9  # "depth D = 30 and mask size 2K + 1 = 9"
    K = (side - 1) // 2
    net = Network((64, 64), 1, conv=[Conv(D, mask=side)], outputs=1)
    ly = net.layers[0]
    count = ly.S * ly.D_in * ly.D + ly.D_in * ly.D  # W_1 and Theta_1 (47.1224)
    printed = D * (2 * K + 2)
    corrected = D * ((2 * K + 1) ** 2 + 1)
    net3 = Network((64, 64), 1, conv=[Conv(D, mask=3)], outputs=1)
    l3 = net3.layers[0]
    count3 = l3.S * l3.D_in * l3.D + l3.D_in * l3.D
    return Demonstration(
        f"30 x (2K+2) = {printed}, but a 9x9 mask layer of depth 30 has {count} weights and "
        f"biases (the printed 300 is the count for a 3x3 mask: {count3})",
        f"30 x ((2K+1)^2 + 1) = {corrected}",
        printed != count, corrected == count and count3 == 300,
        {"printed": printed, "corrected": corrected, "network": count, "network_3x3": count3})


def _d1180():
    rng = np.random.default_rng(1180)
    y = rng.standard_normal(36)  # a 6 x 6 map, pooled by 3 x 3 blocks into 2 x 2
    Mk = rng.standard_normal((3, 3))
    pool = Pooling("correlation", in_shape=(6, 6), block=3, mask=Mk)
    Y = unvec(y, (6, 6))
    blocks = [Y[r:r + 3, c:c + 3] for c in (0, 3) for r in (0, 3)]  # column-major regions

    def literal():  # t(r, c) = H_(r,c) (.) M, stored entry by entry into the pooled map t
        t = np.zeros(pool.P_out)
        for k, H in enumerate(blocks):
            t[k] = H * Mk
        return t

    msg = _raises(literal)
    t = np.array([float(np.sum(H * Mk)) for H in blocks])  # 1^T (H (.) M) 1
    ref = pool.pool(y)
    return Demonstration(
        f"read literally, each pooled entry t(r,c) is the 3x3 matrix H (.) M and the pooled "
        f"map cannot be formed: {msg}",
        f"1^T (H (.) M) 1 per region = {np.round(t, 6).tolist()} = correlation pooling "
        f"(47.1180) of the package (rel. diff {_fmt(rel_diff(t, ref))})",
        msg is not None, rel_diff(t, ref) < 1e-14,
        {"error": msg, "printed": None, "corrected": t})


def _d1189():
    net = Network((5, 5), 3, conv=[Conv(1, mask=3)], outputs=2)
    params = net.init(1189, bias_scale=1.0)
    x = np.random.default_rng(1189).uniform(-1, 1, (3, 5, 5))
    res = forward_listing(net, params, x)
    P, S = net.layers[0].P, net.layers[0].S
    W, Th = params.W_conv[1], params.Theta_conv[1]

    def literal():  # y(p) = f(sum_j [h_p^(j)]^T w_j - theta(j) 1), stored entry by entry
        y = np.zeros(P)
        for p in range(P):
            y[p] = np.tanh(sum(res.H[j + 1, 0][:, p] @ W[j * S:(j + 1) * S, 0]
                               - Th[j, 0] * np.ones(P) for j in range(3)))
        return y

    msg = _raises(literal)
    y = np.tanh([sum(res.H[j + 1, 0][:, p] @ W[j * S:(j + 1) * S, 0] - Th[j, 0]
                     for j in range(3)) for p in range(P)])
    err = rel_diff(y, res.y_conv[1, 1])
    return Demonstration(
        f"read literally, the argument of f for the scalar y(p) is a vector of {P} entries "
        f"and the map cannot be formed: {msg}",
        f"without the 1 each y(p) is a scalar; the map equals y^(1,1) of the forward listing "
        f"(rel. diff {_fmt(err)})",
        msg is not None, err < 1e-14, {"error": msg})


def _d1201():
    Tp = printed_T_1201()
    y = np.arange(1.0, 13)
    pool = Pooling("max", regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)
    T = pool.T.toarray()
    out_p = Tp @ y
    lhs = np.array(LHS_1201, dtype=float)
    p_ok = out_p.shape == lhs.shape and np.array_equal(out_p, lhs)
    p_orth = np.array_equal(Tp @ Tp.T, np.eye(Tp.shape[0]))
    c_ok = (np.array_equal(T @ y, lhs) and np.array_equal(T @ T.T, np.eye(12))
            and np.array_equal(T.T @ T, np.eye(12)))
    return Demonstration(
        f"printed T is {Tp.shape[0]}x{Tp.shape[1]}, T(1..12) = {out_p.astype(int).tolist()} "
        f"(not the left side), T T^T = I: {p_orth}",
        f"T of (47.1203) is 12x12, T(1..12) = {(T @ y).astype(int).tolist()}, T T^T = I",
        not p_ok, c_ok, {"printed_rows": Tp.shape[0]})


def _d1213():

    net = Network((6, 6), 1,
                  conv=[Conv(2, mask=3, pool=("max", 2)),
                        Conv(3, mask=2, connections=[[0], [1], [0, 1]])],
                  hidden=[4], outputs=2)
    params = net.init(1213, bias_scale=0.3)
    x = np.random.default_rng(1213).uniform(-1, 1, (1, 6, 6))
    res = forward_listing(net, params, x)
    D1, D2 = net.layers[0].D, net.layers[1].D
    y1_printed = feedforward_input([res.t_conv[d, 2] for d in range(1, D1 + 1)])
    msg = _raises(lambda: params.W_ff[1] @ y1_printed - params.theta_ff[1])
    if msg is None and y1_printed.size != net.n[1]:
        msg = f"y_1 has {y1_printed.size} entries, W_1 needs {net.n[1]}"
    y1 = feedforward_input([res.t_conv[d, 2] for d in range(1, D2 + 1)])
    return Demonstration(
        f"d = 1..D_1 = {D1} builds {D1} of the {D2} maps of layer 2; then "
        f"y_1 has {y1_printed.size} entries and W_1 ({net.n[2]}x{net.n[1]}) fails: {msg}",
        f"d = 1..D_2 = {D2}: y_1 has {y1.size} entries, as in the forward listing",
        msg is not None, np.array_equal(y1, res.y_ff[1]), {"D_c": D1, "D_c+1": D2})


def _count_windows(n, k, stride, padding):
    """Positions of a k-wide window along n entries (independent of the package's partition)."""
    pad = (k - 1) // 2 if padding == "same" else 0
    return len(range(0, n + 2 * pad - k + 1, stride))


def _d1216a():
    # The text before (47.1216) defines P_o: the input layer has subvectors h_(n,p)^(d),
    # p = 1..P_o. Count them for one 6 x 6 input and three first layers.
    rows = []
    for mask, stride, padding in ((3, 1, "same"), (3, 1, "valid"), (2, 2, "valid")):
        net = Network((6, 6), 2, conv=[Conv(1, mask=mask, stride=stride, padding=padding)],
                      outputs=2)
        params = net.init(1216)
        x = np.random.default_rng(1216).uniform(-1, 1, (2, 6, 6))
        res = forward_listing(net, params, x)
        P_o = _count_windows(6, mask, stride, padding) ** 2  # number of input subvectors
        rows.append((f"{mask}x{mask}/{stride}/{padding}", P_o, net.layers[0].P,
                     res.H[1, 0].shape[1], res.z_conv[1, 1].size))
    P_os = [r[1] for r in rows]
    return Demonstration(
        "for the same 6x6 input, the number P_o of input subvectors is "
        + ", ".join(f"{r[1]} ({r[0]})" for r in rows)
        + ": it is set by layer 1's mask, stride and padding, so the subscript o (as in D_o, "
        "the input's own depth) names it as a quantity of the input that it is not",
        "in each case P_o = P_1 = the columns of H_n^(d,0) = the units of z^(d,1): "
        + ", ".join(f"{r[2]} = {r[3]} = {r[4]}" for r in rows),
        len(set(P_os)) > 1, all(r[1] == r[2] == r[3] == r[4] for r in rows),
        {"rows": rows})


def _d1221g():
    net = demo_network()
    params = net.init(1221)
    W1 = params.W_ff[1]
    n1, n2 = net.n[1], net.n[2]
    last = net.layers[-1]
    return Demonstration(
        f"[w_1 | ... | w_(n_2)] has n_2 = {n2} columns, but W_1 is {W1.shape[0]}x{W1.shape[1]}",
        f"[w_1 | ... | w_(n_1)] has n_1 = {n1} = D_C P'_C = {last.D * last.P_out} columns "
        f"(47.1218)",
        n2 != W1.shape[1], n1 == W1.shape[1] == last.D * last.P_out, {"n_1": n1, "n_2": n2})


def _d1223a():
    net = demo_network()
    params = net.init(1223)
    W2 = params.W_conv[2]
    ly = net.layers[1]
    cols = [W2[:, d] for d in range(ly.D)]  # W^(d,2) = col{w_1, ..., w_{D_1}}
    rows = np.hstack([c.reshape(1, -1) for c in cols])  # as printed: 1 x S_c D_{c-1} each
    stacked = np.hstack([c.reshape(-1, 1) for c in cols])
    want = (ly.S * ly.D_in, ly.D)
    return Demonstration(
        f"1 x S_c D_(c-1) blocks give [W^(1,c) ... W^(D_c,c)] of shape {rows.shape}, "
        f"not S_c D_(c-1) x D_c = {want}",
        f"S_c D_(c-1) x 1 columns give {stacked.shape} = W_c of (47.1224a)",
        rows.shape != want, stacked.shape == want and np.array_equal(stacked, W2),
        {"printed_shape": rows.shape, "corrected_shape": stacked.shape})


def _d1252():
    net = demo_network()
    l1, l2 = net.layers
    V1 = l2.partition.V  # V_1 partitions the pooled maps of layer 1
    printed = (l2.P * l1.S, l1.P_out)
    corrected = (l2.P * l2.S, l1.P_out)
    return Demonstration(
        f"P_2 S_1 x P'_1 = {printed[0]} x {printed[1]}, but V_1 is {V1.shape[0]} x "
        f"{V1.shape[1]} (S_1 = {l1.S}, S_2 = {l2.S})",
        f"P_2 S_2 x P'_1 = {corrected[0]} x {corrected[1]}",
        printed != V1.shape, corrected == V1.shape, {"S_c": l1.S, "S_c+1": l2.S})


def _literal_V(V_c, w, ones_rows, S_right, P_next):
    """(47.1257) with the sizes given: (V_c^T (.) (1 1^T (x) w^T)) (I (x) 1_S)."""
    VT = V_c.T.toarray()
    kron = np.kron(np.ones((ones_rows, P_next)), w.reshape(1, -1))
    had = VT * kron  # Hadamard product
    return had @ np.kron(np.eye(P_next), np.ones((S_right, 1)))


def _jacobian_next(V_c, w, S_next):
    """d z^(d',c+1) / d t^(d,c) for z = H^T w, vec(H) = V_c t (47.1209-47.1212), by columns."""
    Pp = V_c.shape[1]
    J = np.column_stack([patch_matrix(V_c, e, S_next).T @ w for e in np.eye(Pp)])
    return J  # P_{c+1} x P'_c (the map is linear: columns are exact)


def _d1257():
    net = demo_network()
    l1, l2 = net.layers
    w = net.init(1257).W_conv[2][:l2.S, 0]  # w_1^(1,2)
    V1 = l2.partition.V
    msg = _raises(lambda: _literal_V(V1, w, l1.P_out, l1.S, l2.P))
    Vc = _literal_V(V1, w, l1.P_out, l2.S, l2.P)
    J = _jacobian_next(V1, w, l2.S)
    ok = np.allclose(Vc, J.T, rtol=0, atol=1e-12) and np.allclose(
        Vc, V_ddc(V1, w, l2.P, l2.S).toarray(), rtol=0, atol=1e-12)
    return Demonstration(
        f"I_(P_2) (x) 1_(S_1) is {l2.P * l1.S} x {l2.P}; the product fails: {msg}",
        f"I_(P_2) (x) 1_(S_2) is {l2.P * l2.S} x {l2.P}; V^(1,1,2) ({Vc.shape[0]}x{Vc.shape[1]}) "
        f"equals (dz^(1,2)/dt^(1,1))^T",
        msg is not None, ok, {"error": msg})


def _d1259():
    pool = Pooling("max", regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)
    b = np.array([1.0, 2.0, 3.0])
    x = pool.permute_sharp(np.repeat(b, pool.sizes))  # permute#(upv(b)) with unit g
    computed = x.astype(int)
    printed_b = np.array(PRINTED_1259_B)
    printed_dt = np.array(PRINTED_1259_DT)
    wrong = np.flatnonzero(printed_b != computed) + 1
    return Demonstration(
        f"printed b-indices {printed_b.tolist()} differ from permute#(upv(b)) in rows "
        f"{wrong.tolist()} and from the printed dt(p'')/dy(j) column beside them",
        f"b-indices {computed.tolist()} = permute#(upv(b)) = the printed dt column",
        wrong.size > 0, np.array_equal(computed, printed_dt), {"rows_wrong": wrong.tolist()})


def _d1275a():
    net = demo_network()
    l1, l2 = net.layers
    w = net.init(1275).W_conv[2][:l2.S, 0]
    V1 = l2.partition.V
    msg = _raises(lambda: _literal_V(V1, w, l1.P, l2.S, l2.P))
    Vc = _literal_V(V1, w, l1.P_out, l2.S, l2.P)
    ok = np.allclose(Vc, V_ddc(V1, w, l2.P, l2.S).toarray(), rtol=0, atol=1e-12)
    return Demonstration(
        f"1_(P_1) 1_(P_2)^T (x) w^T is {l1.P} x {l2.P * l2.S} but V_1^T is "
        f"{V1.shape[1]} x {V1.shape[0]}: {msg}",
        f"1_(P'_1) 1_(P_2)^T (x) w^T is {l1.P_out} x {l2.P * l2.S}; the Hadamard product forms "
        f"V^(d,d',2) of (47.1257)",
        msg is not None, ok, {"P_c": l1.P, "P'_c": l1.P_out})


def _d1275b():
    net = demo_network()
    params, X, Gamma = _demo_data(net, N=3, seed=12751)
    rho1, rho2 = 0.01, 0.02
    N = X.shape[0]
    zero = params.map(np.zeros_like)
    per_sample = [net.gradients(params, X[n:n + 1], Gamma[n:n + 1], method="listing")
                  for n in range(N)]
    summed = zero
    for g in per_sample:
        summed = summed + g
    reg = zero.copy()
    for c in params.W_conv:
        reg.W_conv[c] = 2 * rho1 * params.W_conv[c]
    for l in params.W_ff:
        reg.W_ff[l] = 2 * rho2 * params.W_ff[l]
    printed = reg + summed  # 2 rho W + sum_n (...), as listed
    corrected = net.gradients(params, X, Gamma, rho1, rho2, method="listing")
    fd = _fd_params(net, params, X, Gamma, rho1, rho2)
    ep, ec = max_rel_diff(printed, fd), max_rel_diff(corrected, fd)
    ratio = rel_diff(summed.W_ff[1], (corrected - reg).W_ff[1] * N)
    return Demonstration(
        f"sums without 1/N: largest relative difference from finite differences of J_emp "
        f"(N = {N}) {_fmt(ep)}",
        f"with 1/N: {_fmt(ec)} (the printed data term is exactly N times it: rel. diff "
        f"{_fmt(ratio)})",
        ep > 0.1, ec < 1e-5 and ratio < 1e-12, {"printed_vs_fd": ep, "corrected_vs_fd": ec})


def _d1275c():

    net = demo_network()
    params, X, Gamma = _demo_data(net, N=1, seed=12753)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    last = net.layers[-1]
    C = net.C
    v = params.W_ff[1].T @ sens.delta_ff[2]  # W_1^T delta_2, as printed
    msg = _raises(lambda: last.pooling.upv(v, res.y_conv[1, C]))
    # Corrected delta^(d,C) against finite differences: dQ/dTheta_C(0, d) = -1^T delta (47.1272)
    th = params.Theta_conv[C]

    def q_of(val, d):
        p = params.copy()
        p.Theta_conv[C] = th.copy()
        p.Theta_conv[C][0, d] = val
        return net.risk(p, X, Gamma)

    fd = np.array([central_differences(lambda s, d=d: q_of(s[0], d), [th[0, d]])[0]
                   for d in range(last.D)])
    an = np.array([-np.sum(sens.delta_conv[d + 1, C]) for d in range(last.D)])
    return Demonstration(
        f"W_1^T delta_2 has n_1 = D_C P'_C = {v.size} entries; upv needs P'_C = "
        f"{last.P_out}: {msg}",
        f"W_1^(d)T delta_2 per map: -1^T delta^(d,C) = {np.round(an, 6).tolist()} matches "
        f"finite differences (rel. diff {_fmt(rel_diff(an, fd))})",
        msg is not None, rel_diff(an, fd) < 1e-6, {"error": msg})


def _d1275d():
    net = demo_network()
    params, X, Gamma = _demo_data(net, N=1, seed=12754)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    C = net.C
    formed = set(range(C - 1, 0, -1))  # "repeat for c = C-1, ..., 2, 1": Delta_(n,c) formed
    used = set(range(1, C + 1))  # "(derivatives) compute for ... c = 1, 2, ..., C"
    one = Network((6, 6), 1, conv=[Conv(2, mask=3, pool=("max", 2))], outputs=2)
    formed1, used1 = set(range(one.C - 1, 0, -1)), set(range(1, one.C + 1))
    ly = net.layers[-1]
    H = res.H_stacked[C - 1]
    dW_C = (sp.csr_matrix(np.kron(np.ones((1, ly.D)), H)) @ sens.Delta[C]).toarray()  # (47.1271)
    fd = _fd_params(net, params, X, Gamma).W_conv[C]
    err = rel_diff(dW_C, fd)
    return Demonstration(
        f"with C = {C} the listings form Delta_(n,c) for c in {sorted(formed)} only, but their "
        f"derivative and update lines read it for c in {sorted(used)}: Delta_(n,"
        f"{sorted(used - formed)[0]}) is used and never defined; with C = 1 the loop is empty "
        f"and no Delta_(n,c) is formed at all ({sorted(used1 - formed1)} undefined)",
        f"with Delta_(n,C) = diag{{delta^(d,C)}} formed after (47.1245), dJ/dW_C = (1^T (x) "
        f"H_(n,C-1)) Delta_(n,C) matches finite differences (rel. diff {_fmt(err)})",
        bool(used - formed) and bool(used1 - formed1), err < 1e-6,
        {"formed": sorted(formed), "used": sorted(used)})


def _d1276a():

    net = demo_network()
    params, X, Gamma = _demo_data(net, N=1, seed=12761)
    mu = 1e-2
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    J0 = net.risk(params, X, Gamma)
    pm, pp = params.copy(), params.copy()
    for l in params.theta_ff:
        pm.theta_ff[l] = params.theta_ff[l] - mu * sens.delta_ff[l + 1]  # as printed
        pp.theta_ff[l] = params.theta_ff[l] + mu * sens.delta_ff[l + 1]  # corrected
    Jm, Jp = net.risk(pm, X, Gamma), net.risk(pp, X, Gamma)
    return Demonstration(
        f"theta_l - mu delta (mu = {mu:g}): risk {J0:.6f} -> {Jm:.6f} (rises)",
        f"theta_l + mu delta: risk {J0:.6f} -> {Jp:.6f} (falls)",
        Jm > J0, Jp < J0, {"J0": J0, "printed": Jm, "corrected": Jp})


def _d1276b():

    net = demo_network()
    params, X, Gamma = _demo_data(net, N=1, seed=12762)
    mu = 0.1
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    l = 2
    step_printed = -mu * mu * np.outer(sens.delta_ff[l + 1], res.y_ff[l])
    step_corrected = -mu * np.outer(sens.delta_ff[l + 1], res.y_ff[l])
    fd = _fd_params(net, params, X, Gamma).W_ff[l]
    ep, ec = rel_diff(step_printed, -mu * fd), rel_diff(step_corrected, -mu * fd)
    return Demonstration(
        f"W_2 moves by -mu^2 delta y^T: relative difference from -mu dJ/dW_2 (finite "
        f"differences) {_fmt(ep)}",
        f"W_2 moves by -mu delta y^T: relative difference {_fmt(ec)}",
        ep > 0.5, ec < 1e-6, {"printed_vs_fd": ep, "corrected_vs_fd": ec})


# ---------------------------------------------------------------------------
# Demonstrations: the seed notes
# ---------------------------------------------------------------------------


def _pool_seed000():
    V = np.array([[3.0, 2, 5], [4, 1, 7], [3, 5, 0]])
    return V, Pooling("max", in_shape=(3, 3), block=2, stride=1)


def _dS000a():
    V, pool = _pool_seed000()
    y = vec(V)
    # pooled entries column-major: p' = i + 2j; the note lists windows row by row
    d_pool = np.array([1.0, 10.0, 100.0, 1000.0])  # delta^pool, column-major windows
    row_major = np.array([0, 2, 1, 3])  # window order of the note: (0,0), (0,1), (1,0), (1,1)
    w_pool = np.array([[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 1, 0, 0]], dtype=float)
    sig = np.ones(9)  # sigma'(z^conv), one per unit of the 3x3 conv layer
    msg = _raises(lambda: (w_pool.T @ d_pool[row_major]) * sig)
    J = np.column_stack([central_differences(lambda s, k=k: pool.pool(s)[k], y)
                         for k in range(4)]).T
    x = pool.backprop(d_pool, y)
    seven = x[1 + 2 * 3]  # entry V(1, 2) = 7 lies in two windows
    return Demonstration(
        f"(w_pool)^T delta^pool has 4 entries; delta^conv needs one per conv unit (9): {msg}",
        f"T^T upv(delta^pool) has 9 entries = (dt/dy)^T delta^pool (finite differences); "
        f"the 7 at V(2,3) collects {seven:g} = 10 + 1000 from its two windows",
        msg is not None, x.size == 9 and np.allclose(x, J.T @ d_pool, atol=1e-8),
        {"error": msg, "printed": w_pool.T @ d_pool[row_major], "corrected": x})


def _seed000_network():
    return Network((4, 4), 1,
                   conv=[Conv(1, mask=2, padding="valid", activation="sigmoid",
                              pool=("max", 2, 1))],
                   outputs=2, output_activation="sigmoid")


def _dS000b():

    net = _seed000_network()
    params = net.init(2000, bias_scale=0.5)
    rng = np.random.default_rng(2000)
    X = rng.uniform(0, 1, (1, 1, 4, 4))
    Gamma = np.array([[1.0, 0.0]])
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    ly = net.layers[0]
    f = ly.activation
    t = res.t_conv[1, 1]
    d_pool_printed = (params.W_ff[1].T @ sens.delta_ff[2]) * f.fprime(t)  # (.) sigma'(z^pool)
    d_conv_printed = f.fprime(res.z_conv[1, 1]) * ly.pooling.backprop(d_pool_printed,
                                                                      res.y_conv[1, 1])
    g_printed = res.H[1, 0] @ d_conv_printed  # dQ/dw = H delta (47.1269)
    g_corrected = res.H[1, 0] @ sens.delta_conv[1, 1]
    fd = _fd_params(net, params, X, Gamma).W_conv[1][:, 0]
    ep, ec = rel_diff(g_printed, fd), rel_diff(g_corrected, fd)
    return Demonstration(
        f"with sigma'(z^pool): mask gradient differs from finite differences by {_fmt(ep)}",
        f"without it (max-pooling has no weights): {_fmt(ec)}",
        ep > 0.1, ec < 1e-6, {"printed": g_printed, "corrected": g_corrected, "fd": fd,
                              "printed_vs_fd": ep, "corrected_vs_fd": ec})


def _dS000c():
    net = _seed000_network()
    params = net.init(2001)
    W_book = params.W_ff[1]  # n_2 x n_1 = 2 x 4
    W_note = W_book.T  # "# rows in W^L = 4, # cols = 2"
    dL = np.array([0.3, -0.7])
    msg = _raises(lambda: W_note.T @ dL)
    out = W_book.T @ dL
    return Demonstration(
        f"W^L with 4 rows and 2 columns: (W^L)^T delta^L is (2x4)(2x1): {msg}",
        f"W^L is 2 x 4 (n_(l+1) x n_l, 47.1221g): (W^L)^T delta^L has {out.size} entries",
        msg is not None, out.shape == (4,), {"error": msg})


def _cross_entropy_net(D0, D1):
    return Network((6, 6), D0, conv=[Conv(D1, mask=3, padding="valid", activation="relu")],
                   outputs=4, loss="cross_entropy")


def _ce_data(net, seed):
    rng = np.random.default_rng(seed)
    params = net.init(seed, bias_scale=0.1)
    X = rng.uniform(0, 1, (1, net.input_depth, 6, 6))
    Gamma = np.eye(net.Q)[[1]]
    return params, X, Gamma


def _dS001a():

    net = _cross_entropy_net(1, 3)
    params, X, Gamma = _ce_data(net, 3001)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    M_im = res.H[1, 0].T  # vec(S_i) = M_X^im vec(F_i): 16 x 9
    G = [sens.delta_conv[i, 1] for i in range(1, 4)]  # dl/dvec(S_i)
    printed = np.column_stack([sum(G) @ M_im] * 3)  # sum_i dl/dvec(S_i) M_X^im, every filter
    corrected = np.column_stack([g @ M_im for g in G])
    fd = _fd_params(net, params, X, Gamma).W_conv[1]
    ep, ec = rel_diff(printed, fd), rel_diff(corrected, fd)
    return Demonstration(
        f"sum_i dl/dvec(S_i) M_X^im gives all three filters the same gradient; rel. diff from "
        f"finite differences {_fmt(ep)}",
        f"dl/dvec(F_i) = dl/dvec(S_i) M_X^im: {_fmt(ec)}",
        ep > 0.1, ec < 1e-6, {"printed": printed, "corrected": corrected, "fd": fd,
                              "printed_vs_fd": ep, "corrected_vs_fd": ec})


def _dS001b():

    net = _cross_entropy_net(3, 1)
    params, X, Gamma = _ce_data(net, 3002)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    G = unvec(sens.delta_conv[1, 1], net.layers[0].map_shape)  # dl/dS as a 4x4 matrix
    per_channel = [correlate(X[0, j], G, padding="valid") for j in range(3)]  # X_j * G
    printed = sum(per_channel)  # sum_j X_j * dl/dS_i: one 3x3 matrix
    corrected = np.concatenate([vec(Fj) for Fj in per_channel])  # dl/dF_(i,j) stacked
    fd = _fd_params(net, params, X, Gamma).W_conv[1][:, 0]
    ec = rel_diff(corrected, fd)
    return Demonstration(
        f"sum_j X_j * dl/dS_i is one {printed.shape[0]}x{printed.shape[1]} matrix "
        f"({printed.size} entries) for a filter of {fd.size} entries (3x3x3)",
        f"dl/dF_(i,j) = X_j * dl/dS_i per channel, stacked: rel. diff from finite differences "
        f"{_fmt(ec)}",
        printed.size != fd.size, ec < 1e-6, {"printed": printed, "corrected": corrected,
                                             "fd": fd, "corrected_vs_fd": ec})


def _dS001c():

    net = _cross_entropy_net(1, 3)
    params, X, Gamma = _ce_data(net, 3003)
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    t = net.layers[0].P
    dl_dS = np.concatenate([sens.delta_conv[i, 1] for i in range(1, 4)])  # dl/dvec(S), 1 x 3t
    zero = np.zeros((t, t))
    msg = _raises(lambda: dl_dS @ np.vstack([np.eye(1), zero, zero]))
    J = np.vstack([np.eye(t), zero, zero])  # dvec(S)/dvec(S_1), 3t x t
    out = dl_dS @ J
    return Demonstration(
        f"(I_1; 0; 0) with t x t zero blocks cannot be stacked (t = {t}): {msg}",
        f"(I_t; 0; 0) is 3t x t = {J.shape[0]} x {J.shape[1]} and selects dl/dvec(S_1)",
        msg is not None, np.array_equal(out, sens.delta_conv[1, 1]), {"t": t})


def _dS002a():

    net = Network((6, 6), 1, conv=[Conv(1, mask=3, padding="valid", activation="sigmoid",
                                        pool=("max", 2))],
                  outputs=2, output_activation="sigmoid")
    params = net.init(2002, bias_scale=0.5)
    X = np.zeros((1, 1, 6, 6))
    X[0, 0, 4:, 4:] = np.random.default_rng(2002).uniform(0, 1, (2, 2))  # a blank background
    Gamma = np.array([[1.0, 0.0]])
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    ly = net.layers[0]
    y, z = res.y_conv[1, 1], res.z_conv[1, 1]
    v = params.W_ff[1].T @ sens.delta_ff[2]
    up = np.zeros(ly.P)
    for q, reg in enumerate(ly.pooling.regions):  # BP2 read literally: every maximal entry
        up[reg] += v[q] * (y[reg] == y[reg].max())
    d_printed = ly.activation.fprime(z) * up
    ties = sum(int(np.sum(y[reg] == y[reg].max()) > 1) for reg in ly.pooling.regions)
    printed = -float(np.sum(d_printed))  # dJ/dtheta^(1,1) = -1^T delta (47.1272)
    corrected = -float(np.sum(sens.delta_conv[1, 1]))
    th = params.Theta_conv[1][0, 0]

    def J(val):
        p = params.copy()
        p.Theta_conv[1][0, 0] = val
        return net.risk(p, X, Gamma)

    fd = float(central_differences(lambda s: J(s[0]), [th])[0])
    return Demonstration(
        f"{ties} of the 4 pooling blocks tie on the blank background; giving 1 to every "
        f"maximal entry: dJ/db = {printed:.6g}, finite differences {fd:.6g}",
        f"one maximal entry per block (e_(p^o), 47.1196b): {corrected:.6g}",
        abs(printed - fd) > 1e-3 * max(1.0, abs(fd)), abs(corrected - fd) < 1e-7,
        {"printed": printed, "corrected": corrected, "fd": fd, "tied_blocks": ties})


def _seed002_network():
    return Network((28, 28), 1, conv=[Conv(1, mask=5, padding="valid", activation="sigmoid",
                                           pool=("max", 2))],
                   outputs=10, output_activation="sigmoid")


def _dS002b():
    net = _seed002_network()
    params = net.init(2003)
    delta3 = np.random.default_rng(2003).standard_normal(net.Q)
    W = params.W_ff[1]
    last = None  # "0 <= l <=" prints no upper bound
    bp2 = np.array([sum(delta3[l] * W[l, i] for l in range(0, 9 + 1)) for i in range(W.shape[1])])
    return Demonstration(
        f"0 <= l <= {last}: the sums over the output neurons l have no upper bound",
        f"0 <= l <= 9 = Q - 1 = {net.Q - 1}: sum_l delta^3_l w^3_(l;j,k) = (W^T delta^3)_(j,k)",
        last is None, net.Q - 1 == 9 and np.allclose(bp2, W.T @ delta3, rtol=1e-13, atol=0),
        {"Q": net.Q})


def _dS002c():

    net = Network((8, 8), 1, conv=[Conv(1, mask=3, padding="valid", activation="sigmoid")],
                  outputs=2, output_activation="sigmoid")
    params = net.init(2004, bias_scale=0.2)
    X = np.random.default_rng(2004).uniform(0, 1, (1, 1, 8, 8))
    Gamma = np.array([[0.0, 1.0]])
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    d1 = unvec(sens.delta_conv[1, 1], (6, 6))  # delta^1_(j,k)
    a0 = X[0, 0]
    j = 0  # read literally, j is free and the sum over i repeats one row 6 times
    printed = np.array([[sum(d1[j, k] * a0[j + l, k + m] for i in range(6) for k in range(6))
                         for m in range(3)] for l in range(3)])
    corrected = np.array([[sum(d1[jj, k] * a0[jj + l, k + m] for jj in range(6)
                               for k in range(6)) for m in range(3)] for l in range(3)])
    fd = unvec(_fd_params(net, params, X, Gamma).W_conv[1][:, 0], (3, 3))
    ep, ec = rel_diff(printed, fd), rel_diff(corrected, fd)
    return Demonstration(
        f"sum over 0 <= i,k with delta^1_(j,k): dC/dw^1 differs from finite differences by "
        f"{_fmt(ep)}",
        f"sum over 0 <= j,k: {_fmt(ec)}",
        ep > 0.1, ec < 1e-6, {"printed_vs_fd": ep, "corrected_vs_fd": ec})


def _avg_pool_setting(seed):
    rng = np.random.default_rng(seed)
    n, beta, b = 2, 0.7, 0.1
    Z = rng.standard_normal((8, 8))
    A = rng.standard_normal((4, 4))  # E = sum(A (.) z^(l+1)), so delta^(l+1) = A
    pool = Pooling("mean", in_shape=(8, 8), block=n)

    def E(zv):
        x = np.tanh(zv)
        down = n * n * unvec(pool.pool(x), (4, 4))  # sums over n x n blocks
        return float(np.sum(A * (beta * down + b)))

    fd = unvec(central_differences(E, vec(Z)), (8, 8))
    fp = 1 - np.tanh(Z) ** 2
    return n, beta, A, fp, fd


def _dS004a():
    n, beta, A, fp, fd = _avg_pool_setting(4001)
    up_I = beta * np.kron(A, np.eye(n)) * fp  # up(x) = x (x) I
    up_1 = beta * np.kron(A, np.ones((n, n))) * fp  # up(x) = x (x) 1 1^T
    ep, ec = rel_diff(up_I, fd), rel_diff(up_1, fd)
    return Demonstration(
        f"with I: delta^l = beta up(delta^(l+1)) (.) f' differs from finite differences by "
        f"{_fmt(ep)}",
        f"with 1 1^T: {_fmt(ec)}",
        ep > 0.1, ec < 1e-6, {"printed": up_I, "corrected": up_1, "fd": fd,
                              "printed_vs_fd": ep, "corrected_vs_fd": ec})


def _dS004b_bias():
    rng = np.random.default_rng(4002)
    x, k = rng.standard_normal((4, 4)), rng.standard_normal((2, 2))
    D = rng.standard_normal((3, 3))  # delta_j^l of a conv layer
    base = correlate(x, k, padding="valid")
    rule = float(D.sum())  # (10): dE/db = sum of the entries of delta

    def E(b, bias):
        return float(np.sum(D * (base + b * bias)))

    fd_I = float(central_differences(lambda s: E(s[0], np.eye(3)), [0.2])[0])
    fd_1 = float(central_differences(lambda s: E(s[0], np.ones((3, 3))), [0.2])[0])
    return Demonstration(
        f"bias b I: dE/db = {fd_I:.6g} (the trace of delta), but (10) says sum(delta) = "
        f"{rule:.6g}",
        f"bias b 1 1^T: dE/db = {fd_1:.6g} = sum(delta)",
        abs(fd_I - rule) > 1e-3, abs(fd_1 - rule) < 1e-6, {"I": fd_I, "ones": fd_1})


def _dS004c_sizes():
    n, M_prev = 2, 8
    pool = Pooling("mean", in_shape=(M_prev, M_prev), block=n)
    M_l = pool.out_shape[0]
    printed = M_l // n
    return Demonstration(
        f"x^(l-1) of size (M_l/n) = {printed}, but pooling {M_prev}x{M_prev} by n = {n} gives "
        f"M_l = {M_l}",
        f"x^(l-1) of size n M_l = {n * M_l} = {M_prev}",
        printed != M_prev, n * M_l == M_prev, {"M_l": M_l})


def _dS004e_ranges():
    n, beta, A, fp, fd = _avg_pool_setting(4003)
    M_next = A.shape[0]
    A_printed = np.zeros_like(A)
    r = M_next // n  # p, q = 1..M_(l+1)/n
    A_printed[:r, :r] = A[:r, :r]
    printed = beta * np.kron(A_printed, np.ones((n, n))) * fp
    corrected = beta * np.kron(A, np.ones((n, n))) * fp
    ep, ec = rel_diff(printed, fd), rel_diff(corrected, fd)
    return Demonstration(
        f"p, q = 1..M_(l+1)/n = {r} fills {r * r} of the {M_next * M_next} blocks: delta^l "
        f"differs from finite differences by {_fmt(ep)}",
        f"p, q = 1..M_(l+1) = {M_next}: {_fmt(ec)}",
        ep > 0.1, ec < 1e-6, {"printed_vs_fd": ep, "corrected_vs_fd": ec})


_TABLE_004 = [[0], [0, 1], [1, 2], [0, 2]]  # input maps M_j of each output map j


def _table_net():
    return Network((6, 6), 3, conv=[Conv(4, mask=3, padding="valid", activation="linear",
                                         connections=_TABLE_004)], outputs=2)


def _kernels(net, params):
    W, S = params.W_conv[1], net.layers[0].S
    return {(i, j): unvec(W[i * S:(i + 1) * S, j], (3, 3))
            for j, ins in enumerate(_TABLE_004) for i in ins}


def _dS004f_table():

    net = _table_net()
    params = net.init(4004, bias_scale=0.3)
    x = np.random.default_rng(4004).standard_normal((3, 6, 6))
    res = forward_listing(net, params, x)
    k = _kernels(net, params)
    Th = params.Theta_conv[1]
    M_out = {i: [j for j, ins in enumerate(_TABLE_004) if i in ins] for i in range(3)}
    j = 0
    msg = _raises(lambda: sum(correlate(x[i], k[i, j], padding="valid") for i in M_out[j]))
    z = [sum(correlate(x[i], k[i, j], padding="valid") - Th[i, j] for i in _TABLE_004[j])
         for j in range(4)]
    ok = all(np.allclose(vec(z[j]), res.z_conv[j + 1, 1], rtol=1e-12, atol=1e-12)
             for j in range(4))
    return Demonstration(
        f"map j = 0 summed over the note's M_i = {M_out[j]} (the outputs that input 0 feeds) "
        f"asks for kernels outside the table: {msg}",
        "sum over M_j, the inputs of map j: equals z^(j,1) of the forward listing for all 4 "
        "maps",
        msg is not None, ok, {"error": msg})


def _dS004d_x22():
    rng = np.random.default_rng(4004)
    x, k, D = rng.standard_normal((3, 3)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2))

    def E(xv):
        return float(np.sum(D * correlate(unvec(xv, (3, 3)), k, padding="valid")))

    fd = unvec(central_differences(E, vec(x)), (3, 3))[1, 1]  # dE/d[x]_(2,2)
    printed = D[0, 0] * k[0, 1] + D[0, 1] * k[1, 0] + D[1, 0] * k[0, 1] + D[1, 1] * k[0, 0]
    corrected = D[0, 0] * k[1, 1] + D[0, 1] * k[1, 0] + D[1, 0] * k[0, 1] + D[1, 1] * k[0, 0]
    return Demonstration(
        f"printed dE/d[x]_(2,2) = {printed:.6g}; finite differences {fd:.6g}",
        f"with [k]_(2,2) in the first term: {corrected:.6g}",
        abs(printed - fd) > 1e-6, abs(corrected - fd) < 1e-8,
        {"printed": printed, "corrected": corrected, "fd": fd})


def _dS004g_sum():

    net = _table_net()
    params = net.init(4005, bias_scale=0.3)
    x = np.random.default_rng(4005).standard_normal((3, 6, 6))
    A = np.random.default_rng(4006).standard_normal((4, 16))  # delta_j, E = sum_j A_j . z_j
    k = _kernels(net, params)

    def E(xv):
        xx = x.copy()
        xx[0] = unvec(xv, (6, 6))
        res = forward_listing(net, params, xx)
        return float(sum(A[j] @ res.z_conv[j + 1, 1] for j in range(4)))

    fd = unvec(central_differences(E, vec(x[0])), (6, 6))
    M_0 = [j for j, ins in enumerate(_TABLE_004) if 0 in ins]  # outputs fed by input 0

    def grad(js):  # (17): sum_j  delta~_j * (J k_0j J), full correlation
        return sum(correlate(unvec(A[j], (4, 4)), flip_mask(k[0, j]), padding=2) for j in js)

    msg = _raises(lambda: grad(range(0, len(M_0) + 1)))
    err = rel_diff(grad(M_0), fd)
    return Demonstration(
        f"j = 0..|M_0| = 0..{len(M_0)} reaches output {sorted(set(range(len(M_0) + 1)) - set(M_0))}"
        f", which input 0 does not feed (no kernel k_0j): {msg}",
        f"j in M_0 = {M_0}: dE/dx_0 matches finite differences (rel. diff {_fmt(err)})",
        msg is not None, err < 1e-6, {"error": msg})


# ---------------------------------------------------------------------------
# Demonstrations: where the package departs from the print
# ---------------------------------------------------------------------------


def _dep1216():
    net = demo_network()
    params, X, Gamma = _demo_data(net, N=1, seed=12160)
    C = net.C
    res = forward_listing(net, params, X[0])
    # The print's lines at c = C: partition t^(d,C) into P_(C+1) subvectors of S_(C+1) entries
    # by V_C; those belong to a layer C+1, which the network does not have.
    msg = _raises(lambda: net.layers[C].partition.V)
    formed = sorted({c for (_, c) in res.H})
    y1 = feedforward_input([res.t_conv[d, C] for d in range(1, net.layers[-1].D + 1)])
    ref = loops_forward(net, params, X[0])
    err = max(rel_diff(y1, ref["y_ff"][1]), rel_diff(res.output, ref["output"]))
    return Demonstration(
        f"partition(t^(d,C), P_(C+1)) and H^(d,C) at c = C = {C} need P_(C+1), S_(C+1) and "
        f"V_C of a layer C+1 that does not exist: {msg}",
        f"the package forms H^(d,c) for c = {formed} only (c < C) and feeds t^(d,C) straight "
        f"into y_1 = col{{t^(d,C)}} (47.1215); y_1 and the output equal the loops "
        f"(rel. diff {_fmt(err)})",
        msg is not None, formed == list(range(C)) and err < 1e-12, {"error": msg})


_TABLE_1213 = [[0], [0, 1], [1, 2], [0, 2]]  # the inputs D of each of four maps


def _dep1213():
    net = Network((6, 6), 3, conv=[Conv(4, mask=3, padding="valid", activation="linear",
                                        connections=_TABLE_1213)], outputs=2)
    params = net.init(1213, bias_scale=0.3)
    rng = np.random.default_rng(1213)
    x = rng.standard_normal((3, 6, 6))
    ly = net.layers[0]
    # entries outside the table need not be zero (a parameter file, from_vector)
    params.W_conv[1] = np.where(ly.W_mask == 0, rng.standard_normal(ly.W_mask.shape),
                                params.W_conv[1])
    params.Theta_conv[1] = np.where(ly.conn == 0, rng.standard_normal(ly.conn.shape),
                                    params.Theta_conv[1])
    W, Th, S = params.W_conv[1], params.Theta_conv[1], ly.S

    def z_of(d, inputs):  # (47.1213) for map d over the inputs given, by correlation
        return sum(vec(correlate(x[j], unvec(W[j * S:(j + 1) * S, d], (3, 3)),
                                 padding="valid")) - Th[j, d] for j in inputs)

    target = [z_of(d, ins) for d, ins in enumerate(_TABLE_1213)]
    res = forward_listing(net, params, x)
    subsets = [[j for j in range(3) if m >> j & 1] for m in range(1, 8)]
    one_set = [s for s in subsets  # a single D_c shared by every map d, as printed
               if all(rel_diff(z_of(d, s), target[d]) < 1e-12 for d in range(4))]
    per_map = max(rel_diff(res.z_conv[d + 1, 1], target[d]) for d in range(4))
    return Demonstration(
        f"one subset D_c for every map: with the entries outside the table "
        f"{_TABLE_1213} nonzero, {len(one_set)} of the {len(subsets)} subsets of the 3 inputs "
        f"give all 4 maps",
        f"one subset per map (Conv(connections=...)): every z^(d,1) of the forward listing "
        f"equals the correlations over its own inputs (rel. diff {_fmt(per_map)})",
        not one_set, per_map < 1e-12, {"matching_single_sets": one_set})


def _table_demo_network():
    return Network((6, 6), 1,
                   conv=[Conv(2, mask=3, activation="tanh", pool=("max", 2)),
                         Conv(3, mask=2, activation="tanh", connections=[[0], [1], [0, 1]])],
                   hidden=[4], outputs=2, hidden_activation="tanh",
                   output_activation="sigmoid")


def _dep1271():
    net = _table_demo_network()
    params, X, Gamma = _demo_data(net, N=1, seed=12710)
    l1, l2 = net.layers
    rng = np.random.default_rng(12711)
    outside_W = l2.W_mask == 0
    params.W_conv[2] = np.where(outside_W, rng.standard_normal(outside_W.shape),
                                params.W_conv[2])  # as a parameter file may hold them
    outside_T = l2.conn == 0
    params.Theta_conv[2] = np.where(outside_T, rng.standard_normal(outside_T.shape),
                                    params.Theta_conv[2])
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    fd = _fd_params(net, params, X, Gamma)
    # (47.1271), (47.1274) as printed: no mask
    dW2 = np.kron(np.ones((1, l2.D)), res.H_stacked[1]) @ sens.Delta[2].toarray()
    blk = np.kron(np.ones((1, l2.D)), np.ones((l2.D_in, 1)) @ np.ones((1, l2.P)))
    dT2 = -(blk @ sens.Delta[2].toarray())
    out_W = float(np.max(np.abs(dW2[outside_W])))
    out_T = float(np.max(np.abs(dT2[outside_T])))
    fd_out = max(float(np.max(np.abs(fd.W_conv[2][outside_W]))),
                 float(np.max(np.abs(fd.Theta_conv[2][outside_T]))))
    # (47.1262) as printed: the sum runs over every d' = 1..D_2, fed by map d or not
    V1 = l2.partition.V
    deltas1 = []
    for d in range(1, l1.D + 1):
        acc = np.zeros(l1.P)
        for d2 in range(1, l2.D + 1):
            w = params.W_conv[2][(d - 1) * l2.S:d * l2.S, d2 - 1]
            b = V_ddc(V1, w, l2.P, l2.S) @ sens.delta_conv[d2, 2]  # (47.1258)
            acc += l1.activation.fprime(res.z_conv[d, 1]) * l1.pooling.backprop(
                b, res.y_conv[d, 1])  # (47.1262)
        deltas1.append(acc)
    dW1 = np.kron(np.ones((1, l1.D)), res.H_stacked[0]) @ np.column_stack(
        [np.concatenate([dd if k == i else np.zeros(l1.P) for k in range(l1.D)])
         for i, dd in enumerate(deltas1)])  # (47.1271) with the unmasked delta^(d,1)
    e1 = rel_diff(dW1, fd.W_conv[1])
    got = net.gradients(params, X, Gamma, method="listing")
    ec = max_rel_diff(got, fd)
    return Demonstration(
        f"with entries outside the table {[[0], [1], [0, 1]]} of layer 2 nonzero, unmasked "
        f"(47.1271) and (47.1274) give them derivatives up to {out_W:.3g} and {out_T:.3g} "
        f"(finite differences: {fd_out:.1g}, they never reach z), and (47.1262) summed over "
        f"every d' gives dJ/dW_1 off by {_fmt(e1)}",
        f"the package skips the pairs (d, d') outside the table in (47.1262) and masks "
        f"(47.1271), (47.1274) by it: every derivative matches finite differences "
        f"(rel. diff {_fmt(ec)})",
        out_W > 1e-3 and out_T > 1e-3 and e1 > 1e-2 and fd_out < 1e-8, ec < 1e-6,
        {"outside_W": out_W, "outside_Theta": out_T, "dW1_printed_vs_fd": e1,
         "package_vs_fd": ec})


def _dep1185():
    y = np.zeros(4)  # a region whose entries are all 0: t = ||y|| = 0
    pool = Pooling("l2", in_shape=(2, 2), block=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        printed = y / np.sqrt(np.sum(y ** 2))  # (47.1196d) y / t, and (47.1185d) H / t
    g = pool.gradient_vectors(y)[0]
    rng = np.random.default_rng(1185)
    u = rng.standard_normal((200, 4))  # subgradient inequality t(u) >= t(0) + g^T u
    sub = all(float(pool.pool(v)[0]) >= float(g @ v) - 1e-15 for v in u)
    return Demonstration(
        f"at t = 0 the printed gradient y / t is 0/0: {printed.tolist()}",
        f"the package takes g = {g.tolist()}, a subgradient of t = ||y|| at 0 "
        f"(t(u) >= g^T u for 200 random u: {sub}), so backpropagation stays finite",
        bool(np.isnan(printed).any()), bool(np.all(g == 0)) and sub, {"printed": printed})


def _dep1275():
    pool = Pooling("max", regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)
    rng = np.random.default_rng(1275)
    y = rng.standard_normal(12)
    alpha = rng.standard_normal(pool.P_out)
    G = pool.gradient_matrix(y)
    v = pool.upv(alpha, G=G)  # upv(alpha), in region order
    T = pool.T.toarray()
    fd = central_differences(lambda yy: float(alpha @ pool.pool(yy)), y)  # (dt/dy)^T alpha
    by_T, by_TT = T @ v, T.T @ v
    ep, ec = rel_diff(by_T, fd), rel_diff(by_TT, fd)
    return Demonstration(
        f"'permute' as the text describes it, T upv(alpha), differs from (dt/dy)^T alpha "
        f"(finite differences) by {_fmt(ep)} for the T of (47.1203)",
        f"permute#(upv(alpha)) = T^T upv(alpha), as the listing and the package have it "
        f"(47.1204): {_fmt(ec)}",
        ep > 0.1, ec < 1e-6, {"printed_vs_fd": ep, "corrected_vs_fd": ec})


# ---------------------------------------------------------------------------
# The register
# ---------------------------------------------------------------------------

ERRATA = [
    Erratum(
        "E-1135", "47.1135", "(47.1135), the Gaussian mask",
        r"\frac{1}{\sqrt{2\pi}\,\sigma^2} e^{-(k^2+\ell^2)/2\sigma^2}",
        r"\frac{1}{2\pi\sigma^2} e^{-(k^2+\ell^2)/2\sigma^2}",
        "a two-dimensional Gaussian is normalised by 2 pi sigma^2; the constant as transcribed "
        "makes the mask sum to sqrt(2 pi)", "constant", _d1135,
        origin="transcription?",
        doubt="brackets lost around sqrt(2 pi) sigma give exactly the right constant: "
              "1/(sqrt(2 pi) sigma)^2 = 1/(2 pi sigma^2)"),
    Erratum(
        "E-1149", "47.1149", "(47.1149), the label under the brace",
        r"\text{partition matrix, } V\ (P \times M)",
        r"\text{partition matrix, } V\ (PS \times M)",
        "V stacks the P subvectors of S entries each: 12 x 6 in the example, as the text after "
        "(47.1151) and (47.1153) say", "dimension", _d1149),
    Erratum(
        "E-1166", "47.1166", "text before (47.1166)",
        r"\text{mask size } 2K+1 = 9,\ 2K+2 \text{ coefficients};\ 30 \times (9+1) = 300",
        r"(2K+1)^2 + 1 \text{ coefficients: } 30 \times (81+1) = 2460 "
        r"\text{ for a } 9\times 9 \text{ mask (300 holds for } 2K+1 = 3)",
        "with '2K+1 = 9' the mask is 9 x 9 and has (2K+1)^2 = 81 weights; the printed 30 x "
        "(9+1) = 300 and '2K+2 coefficients' count 2K+1 = 9 weights per unit, which is right "
        "only for a mask of 9 entries (a 3x3 mask)", "count", _d1166),
    Erratum(
        "E-1180", "47.1180", "(47.1180), last expression",
        r"t(r,c) = \mathcal H_{r,c} \odot \mathcal M",
        r"t(r,c) = \mathbb 1^T (\mathcal H_{r,c} \odot \mathcal M)\, \mathbb 1",
        "the Hadamard product is a matrix; the pooled value is the sum of its entries (a slip "
        "of type: no reader would pool a matrix, but the expression as written cannot be "
        "stored in t)", "notation", _d1180),
    Erratum(
        "E-1189", "47.1189", "(47.1189), the bias term",
        r"y_n^{(d)}(p) = f\Big(\sum_j [h_{n,p}^{(j)}]^T w_j^{(d)} - \theta^{(d)}(j)\,"
        r"\mathbb 1\Big)",
        r"y_n^{(d)}(p) = f\Big(\sum_j [h_{n,p}^{(j)}]^T w_j^{(d)} - \theta^{(d)}(j)\Big)",
        "y(p) is a scalar; the vector 1 belongs to the vector form (47.1191a) (a slip of "
        "type carried over from it)", "notation", _d1189),
    Erratum(
        "E-1201", "47.1201", "(47.1201), the matrix T",
        r"T \text{ with rows } e_1,e_2,e_4,e_8 \mid e_3,e_5,e_7,e_8 \mid e_{10},e_{11},e_{12} "
        r"(11 \times 12)",
        r"T \text{ with rows } e_1,e_2,e_4,e_8 \mid e_3,e_5,e_7,e_9,e_{11} \mid e_6,e_{10},"
        r"e_{12} (12 \times 12), \text{ as in } (47.1203)",
        "the matrix as transcribed has 11 rows (e_8 twice, no e_6, e_9) and does not produce "
        "the left side of (47.1201); (47.1203) gives the right 12 x 12 T", "matrix", _d1201,
        origin="transcription?",
        doubt="a 'square' matrix with a row lost and the ones of rows 8-9 one column left of "
              "where (47.1203) puts them is typical of OCR damage to a large array, while "
              "(47.1203), the same T written as rows e_k^T, is right"),
    Erratum(
        "E-1213", "47.1213", "(47.1213), the range of d",
        r"d = 1, 2, \dots, D_c", r"d = 1, 2, \dots, D_{c+1}",
        "the maps y^(d,c+1) of layer c+1 number D_(c+1), as in (47.1212)", "index", _d1213),
    Erratum(
        "E-1216a", "47.1216", "(47.1216), the 'start with' line and the text before it",
        r"H_n^{(d,0)} = [h_{n,1}^{(d)} \dots h_{n,P_o}^{(d)}]",
        r"H_n^{(d,0)} = [h_{n,1}^{(d)} \dots h_{n,P_1}^{(d)}]",
        "the text defines P_o as the number of input subvectors; that number is set by layer "
        "1's mask, stride and padding and is P_1 in the section's own convention (H^(d,c) has "
        "P_(c+1) columns, (47.1211)), while the subscript o, as in D_o, makes it look like a "
        "property of the input", "notation", _d1216a),
    Erratum(
        "E-1221g", "47.1221g", "(47.1221g), the last column",
        r"W_\ell = [w_1^{(\ell)} | \dots | w_{n_{\ell+1}}^{(\ell)}]",
        r"W_\ell = [w_1^{(\ell)} | \dots | w_{n_\ell}^{(\ell)}]",
        "w_i^(l) emanates from node i of layer l (47.1221b), so there are n_l columns, as the "
        "size n_(l+1) x n_l and (47.1218) say", "index", _d1221g),
    Erratum(
        "E-1223a", "47.1223a", "(47.1223a), the size label",
        r"W^{(d,c)} = \mathrm{col}\{\dots\},\ (1 \times S_c D_{c-1})",
        r"W^{(d,c)} = \mathrm{col}\{\dots\},\ (S_c D_{c-1} \times 1)",
        "col{.} stacks D_(c-1) vectors of S_c entries into a column; W_c of (47.1224a) has them "
        "as columns", "dimension", _d1223a),
    Erratum(
        "E-1252", "47.1252", "text after (47.1251), the size of V_c",
        r"V_c \text{ of size } P_{c+1} S_c \times P'_c",
        r"V_c \text{ of size } P_{c+1} S_{c+1} \times P'_c",
        "V_c cuts t^(d,c) into the P_(c+1) subvectors of size S_(c+1) of layer c+1 (47.1210); "
        "the book's example hides it since S_c = S_(c+1) = 2", "dimension", _d1252),
    Erratum(
        "E-1257", "47.1257", "(47.1257), and the V lines of (47.1275) and (47.1276)",
        r"(\dots)(I_{P_{c+1}} \otimes \mathbb 1_{S_c})",
        r"(\dots)(I_{P_{c+1}} \otimes \mathbb 1_{S_{c+1}})",
        "the Kronecker factor must match the P_(c+1) S_(c+1) columns of V_c^T (E-1252)",
        "dimension", _d1257),
    Erratum(
        "E-1259", "47.1259", "(47.1259), the vector of b's",
        r"b(1),b(1),b(2),b(2),b(1),b(2),b(3),b(2),b(1),b(2),b(3),b(2)",
        r"b(1),b(1),b(2),b(1),b(2),b(3),b(2),b(1),b(2),b(3),b(2),b(3)",
        "row j must hold b(p''_j) for the region of j in (47.1201), as the dt(p'')/dy(j) "
        "column beside it does; as transcribed, rows 4-12 do not", "matrix", _d1259,
        origin="transcription?",
        doubt="the transcribed column is the right one with row 3 repeated and the last row "
              "dropped, a one-row slip of the kind OCR makes in a tall array"),
    Erratum(
        "E-1275a", "47.1275", "(47.1275), the V^(d,d',c+1) line",
        r"\mathbb 1_{P_c} \mathbb 1_{P_{c+1}}^T \otimes (w_d^{(d',c+1)})^T",
        r"\mathbb 1_{P'_c} \mathbb 1_{P_{c+1}}^T \otimes (w_d^{(d',c+1)})^T",
        "V_c^T has P'_c rows (47.1257); P_c, the size before pooling, does not fit",
        "dimension", _d1275a, origin="transcription?",
        doubt="a dropped prime: the same line in (47.1276) reads 1_(P'_c)"),
    Erratum(
        "E-1275b", "47.1275", "(47.1275), the four derivative lines",
        r"\frac{\partial J_{emp}}{\partial W_\ell} = 2\rho_2 W_\ell + \sum_{n} "
        r"\delta_{\ell+1,n} y_{\ell,n}^T \ (\text{and the other three})",
        r"\frac{\partial J_{emp}}{\partial W_\ell} = 2\rho_2 W_\ell + \frac1N\sum_{n} "
        r"\delta_{\ell+1,n} y_{\ell,n}^T \ (\text{and the other three})",
        "J_emp (47.1229) averages the data term over N samples", "scaling", _d1275b),
    Erratum(
        "E-1275c", "47.1275", "(47.1275), the 'set delta^(d,C)' line (also in (47.1276))",
        r"\delta_n^{(d,C)} = f'(z_n^{(d,C)}) \odot \mathrm{permute}^\#(\mathrm{upv}(W_1^T "
        r"\delta_{2,n}))",
        r"\delta_n^{(d,C)} = f'(z_n^{(d,C)}) \odot \mathrm{permute}^\#(\mathrm{upv}("
        r"(W_1^{(d)})^T \delta_{2,n}))",
        "map d uses only the P'_C columns of W_1 fed by t^(d,C) (47.1220), as (47.1245) has",
        "dimension", _d1275c),
    Erratum(
        "E-1275d", "47.1275", "(47.1275) and (47.1276), the convolutional backward pass",
        r"\Delta_{n,c} \text{ formed for } c = C-1, \dots, 1",
        r"\Delta_{n,c} \text{ formed for } c = C, C-1, \dots, 1",
        "the derivatives (and the updates of (47.1276)) for c = 1..C use Delta_(n,C), which "
        "neither listing forms", "missing step", _d1275d),
    Erratum(
        "E-1276a", "47.1276", "(47.1276), the theta_l update",
        r"\theta_{\ell,n} = \theta_{\ell,n-1} - \mu\,\delta_{\ell+1,n}",
        r"\theta_{\ell,n} = \theta_{\ell,n-1} + \mu\,\delta_{\ell+1,n}",
        "the derivative is -delta (47.1264), so descent adds mu delta, as the Theta_c line does",
        "sign", _d1276a),
    Erratum(
        "E-1276b", "47.1276", "(47.1276), the W_l update",
        r"W_{\ell,n} = (1-2\mu\rho_2)W_{\ell,n-1} - \mu\mu\,\delta_{\ell+1,n} y_{\ell,n}^T",
        r"W_{\ell,n} = (1-2\mu\rho_2)W_{\ell,n-1} - \mu\,\delta_{\ell+1,n} y_{\ell,n}^T",
        "a gradient step has one factor mu", "constant", _d1276b, origin="transcription?",
        doubt="a doubled symbol ('mu mu') is a common transcription artefact; the other three "
              "updates of the listing have one mu"),
    # -- seed notes ------------------------------------------------------------------------
    Erratum(
        "E-S000a", "seed 000", "Convolutional error: delta^conv and its size annotations, and "
        "the closing NOTE",
        r"\delta^{conv} = [(w_{pool})^T \delta^{pool}] \odot \sigma'(z^{conv}),\ "
        r"4\times1 = (4\times4)(4\times1) \odot 4\times1",
        r"\delta^{conv} = T^T \mathrm{upv}(\delta^{pool}) \odot \sigma'(z^{conv}),\ "
        r"9\times1 = (9\times4)(4\times1) \odot 9\times1",
        "the conv layer has 3x3 = 9 units; the 4x4 indicator maps windows to positions within "
        "windows, not pooled entries to conv units (and the filter gradient is 2x2 by "
        "correlating the 4x4 input with the 3x3 delta^conv, not by delta^conv being 4x1)",
        "dimension", _dS000a, "seed000"),
    Erratum(
        "E-S000b", "seed 000", "Max-Pool Error: delta^pool",
        r"\delta^{pool} = [(W^L)^T \delta^L] \odot \sigma'(z^{pool})",
        r"\delta^{pool} = (W^L)^T \delta^L",
        "max-pooling has no weights and no activation (the note says so for seed 002's "
        "network too); there is no z^pool to differentiate", "missing step", _dS000b,
        "seed000"),
    Erratum(
        "E-S000c", "seed 000", "Max-Pool Error: the shape of W^L",
        r"\#\text{rows in } W^L = 4,\ \#\text{cols} = 2",
        r"\#\text{rows in } W^L = 2,\ \#\text{cols} = 4 \ (n_{\ell+1} \times n_\ell)",
        "the annotation (W^L)^T: 4x2 needs W^L to be 2 x 4; with 4 rows the product "
        "(W^L)^T delta^L is undefined", "dimension", _dS000c, "seed000"),
    Erratum(
        "E-S001a", "seed 001", "Gradient for one convolutional layer, the last line",
        r"\frac{\partial l}{\partial \mathrm{vec}(F_i)} = \sum_{i=1}^3 "
        r"\frac{\partial l}{\partial \mathrm{vec}(S_i)} M_X^{im}",
        r"\frac{\partial l}{\partial \mathrm{vec}(F_i)} = "
        r"\frac{\partial l}{\partial \mathrm{vec}(S_i)} M_X^{im}",
        "filter i reaches l only through S_i; the block row [I_t 0 0] selects dl/dvec(S_i) "
        "alone", "index", _dS001a, "seed001"),
    Erratum(
        "E-S001b", "seed 001", "Gradient for two convolutional layers, 'Know ... but our simple "
        "example =>'",
        r"\frac{\partial l}{\partial F_i} = \sum_{j=1}^3 X_j * "
        r"\frac{\partial l}{\partial S_i}",
        r"\frac{\partial l}{\partial F_{i,j}} = X_j * \frac{\partial l}{\partial S_i},\ "
        r"j = 1,2,3 \ (\text{stacked, not summed})",
        "F_i has one f x f slice per input channel; each slice gets its own gradient, and "
        "vec(F_i) has 3f^2 entries, not f^2", "dimension", _dS001b, "seed001"),
    Erratum(
        "E-S001c", "seed 001", "dl/dvec(F_i), the first line of the derivation",
        r"\frac{\partial \mathrm{vec}(S)}{\partial \mathrm{vec}(S_1)} = "
        r"\begin{pmatrix} I_1 \\ 0 \\ 0 \end{pmatrix}",
        r"\frac{\partial \mathrm{vec}(S)}{\partial \mathrm{vec}(S_1)} = "
        r"\begin{pmatrix} I_t \\ 0 \\ 0 \end{pmatrix},\ t = (w-f+1)(h-f+1)",
        "the note itself gives the 3t x t size and t x t zero blocks a few lines earlier",
        "dimension", _dS001c, "seed001", origin="transcription?",
        doubt="a subscript t read as 1 is a common transcription slip"),
    Erratum(
        "E-S002a", "seed 002", "BP2, the case rule for d a^2/d a^1 (and so BP3 for b^1)",
        r"\frac{\partial a^2_{j',k'}}{\partial a^1_{j,k}} = 1 \text{ if } a^1_{j,k} = "
        r"\max(\text{block}),\ 0 \text{ otherwise}",
        r"1 \text{ for one maximal entry of the block } (e_{p^o},\ 47.1196b),\ 0 "
        r"\text{ for the others, tied or not}",
        "where a block ties (a blank background gives z^1 = b^1 on whole blocks) the rule "
        "routes the sensitivity to every tied entry, and dC/db^1 counts each tied block "
        "several times", "index", _dS002a, "seed002"),
    Erratum(
        "E-S002b", "seed 002", "definitions of w^3, b^3, z^3, a^3",
        r"0 \le l \le \ (\text{no upper bound})", r"0 \le l \le 9",
        "ten outputs; the sums of BP2 run over l = 0..9", "index", _dS002b, "seed002",
        origin="transcription?",
        doubt="the bound is missing in all four places alike, as a symbol the transcription "
              "could not read would be"),
    Erratum(
        "E-S002c", "seed 002", "BP4 for w^1_(l,m) (three lines); the generic BP3, BP4 and the "
        "BP1 derivation also mix i and j",
        r"\frac{\partial C}{\partial w^1_{l,m}} = \sum_{0 \le i,k \le 23} \delta^1_{j,k}\, "
        r"a^0_{j+l,k+m};\ \frac{\partial C}{\partial b^l_i} = \delta^l_j;\ "
        r"\frac{\partial C}{\partial w^l_{ik}} = a^{l-1}_k \delta^l_j",
        r"\frac{\partial C}{\partial w^1_{l,m}} = \sum_{0 \le j,k \le 23} \delta^1_{j,k}\, "
        r"a^0_{j+l,k+m};\ \frac{\partial C}{\partial b^l_j} = \delta^l_j;\ "
        r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j",
        "the summation (or free) index must be the one in the summand", "index", _dS002c,
        "seed002"),
    Erratum(
        "E-S004a", "seed 004", "(4) and (6): dz^(l+1)/dx^l and up(.)",
        r"\frac{dz^{l+1}}{dx^l} = \beta I_{n\times n};\ up(x) = x \otimes I_{n\times n}",
        r"\frac{dz^{l+1}}{dx^l} = \beta\, \mathbb 1_{n\times n};\ up(x) = x \otimes "
        r"\mathbb 1_{n\times n} \ (\text{all ones})",
        "every entry of an n x n block enters its sum and receives the block's error; up(.) "
        "'copies every unit n times in both directions'", "matrix", _dS004a, "seed004"),
    Erratum(
        "E-S004b", "seed 004", "(1), (2), (9), (10), (20): the bias term",
        r"b_j^l\, I_{(M_{l-1}-K_l+1)\times(M_{l-1}-K_l+1)}",
        r"b_j^l\, \mathbb 1 \mathbb 1^T \ (\text{all ones})",
        "a shared bias is added to every unit; (10) (dE/db = sum of delta) holds only then",
        "matrix", _dS004b_bias, "seed004"),
    Erratum(
        "E-S004c", "seed 004", "2.2.1, the sentence after (2)",
        r"x_j^l \in R^{M_l\times M_l} \Rightarrow x_j^{l-1} \in R^{(M_l/n)\times(M_l/n)};\ "
        r"(2) \text{ adds } b\, I_{(M_l/n)\times(M_l/n)}",
        r"x_j^{l-1} \in R^{nM_l\times nM_l};\ (2) \text{ adds } b\, \mathbb 1_{M_l\times M_l}",
        "down-sampling by n makes the output n times smaller, so the input is n times larger",
        "dimension", _dS004c_sizes, "seed004"),
    Erratum(
        "E-S004d", "seed 004", "3.2, dE/d[x_i^l]_(2,2) in the text under Fig. 4",
        r"[\delta]_{1,1}[k]_{1,2} + [\delta]_{1,2}[k]_{2,1} + [\delta]_{2,1}[k]_{1,2} + "
        r"[\delta]_{2,2}[k]_{1,1}",
        r"[\delta]_{1,1}[k]_{2,2} + [\delta]_{1,2}[k]_{2,1} + [\delta]_{2,1}[k]_{1,2} + "
        r"[\delta]_{2,2}[k]_{1,1}",
        "x(2,2) meets k(2,2) in the first window, k(2,1), k(1,2), k(1,1) in the others",
        "index", _dS004d_x22, "seed004"),
    Erratum(
        "E-S004e", "seed 004", "(5) and (8), the index ranges",
        r"[\delta_j^{l+1}]_{p,q},\ p, q = 1..\frac{M_{l+1}}{n}",
        r"[\delta_j^{l+1}]_{p,q},\ p, q = 1..M_{l+1} \ (\text{each entry times an } n\times n "
        r"\text{ block of } f'(z_j^l))",
        "delta_j^(l+1) has the pooled size M_(l+1) x M_(l+1)", "index", _dS004e_ranges,
        "seed004"),
    Erratum(
        "E-S004f", "seed 004", "(9)",
        r"z_j^l = \sum_{i \in M_i} x_i^{l-1} * k_{ij}^l + \dots",
        r"z_j^l = \sum_{i \in M_j} x_i^{l-1} * k_{ij}^l + \dots",
        "the sum is over the input maps of map j, as in (1); M_i is the note's later name for "
        "the outputs that input map i feeds", "index", _dS004f_table, "seed004"),
    Erratum(
        "E-S004g", "seed 004", "(17) (and (18))",
        r"\frac{dE}{dx_i^l} = \sum_{j=0}^{M_i} \tilde\delta_j^{l+1} * (J k_{ij}^{l+1} J)",
        r"\frac{dE}{dx_i^l} = \sum_{j \in M_i} \tilde\delta_j^{l+1} * (J k_{ij}^{l+1} J)",
        "M_i is a set of map indices, as (16) says ('for all j in M_i'), not an upper bound",
        "index", _dS004g_sum, "seed004"),
]


DEPARTURES = [
    Departure(
        "D-1216", "47.1216", "(47.1216), the partition and H^(d,c) lines of the last layer c = C",
        r"\{h_{n,p}^{(d,c)}\}_{p=1}^{P_{c+1}} = \mathrm{partition}(t_n^{(d,c)}, P_{c+1}),\ "
        r"H_n^{(d,c)} = [\dots],\ c = 1, \dots, C",
        "the lines run for c < C only (forward.forward_listing, and the fused path); t^(d,C) "
        "goes straight into y_1 = col{t^(d,C)}",
        "at c = C they need P_(C+1), S_(C+1) and V_C of a layer C+1 that does not exist, and "
        "nothing reads their result", _dep1216),
    Departure(
        "D-1213", "47.1213", "(47.1213), the subset D_c",
        r"\sum_{j \in \mathcal D_c} \dots,\ d = 1, \dots, D_c \ (\text{one subset for "
        r"every map } d)",
        "one subset per map d: Conv(connections=[D^(1), ..., D^(D_c)]), the layer's "
        "connection table (as LeNet-5's S2-C3 table, seed note 004)",
        "one shared subset cannot express a table in which maps read different inputs; "
        "D_c = all inputs does only while every weight and bias outside the table is zero, "
        "which parameters from a file need not be", _dep1213),
    Departure(
        "D-1271", "47.1271", "(47.1262), (47.1271), (47.1274) and the same lines of (47.1275), "
        "(47.1276), with a connection table",
        r"\delta_n^{(d,c)} = \sum_{d'=1}^{D_{c+1}} \dots;\ (\mathbb 1^T \otimes "
        r"H_{n,c-1})\Delta_{n,c};\ -(\mathbb 1^T \otimes \mathbb 1 \mathbb 1^T)\Delta_{n,c}",
        "the sum over d' skips the maps d' that map d does not feed, and the derivatives of "
        "W_c and Theta_c are multiplied by the connection-table mask (training.backward_listing, "
        "gradients_listing and the fused path)",
        "the printed formulas assume every map feeds every map; with a table, weights and biases "
        "outside it never reach z, yet the unmasked formulas give them nonzero derivatives, and "
        "if they are nonzero (a parameter file, from_vector) the sum over every d' is wrong",
        _dep1271),
    Departure(
        "D-1185", "47.1185", "(47.1185d) and (47.1196d), the l2-pooling gradient at t = 0",
        r"\frac{\partial t}{\partial y(\Omega_{p'})} = \frac{1}{t(p')}\, y(\Omega_{p'})",
        "at t(p') = 0 the gradient vector is 0 (pooling.gradient_matrix)",
        "y / t is 0/0 where a region is all zeros (t = ||y|| is not differentiable there); 0 is "
        "a subgradient and keeps backpropagation finite", _dep1185),
    Departure(
        "D-1275", "47.1275", "the text before (47.1275), on the listing's 'permute'",
        r"\text{``the permute operation ... amounts to multiplying its vector argument by the "
        r"permutation matrix'' } T \ (47.1202)",
        "the listing's permute# is applied as T^T (47.1204), as its lines print it "
        "(pooling.Pooling.backprop)",
        "the backward pass needs (dt/dy)^T = T^T upv(.); multiplying by T, as the sentence says, "
        "does not give it", _dep1275),
]


NOTATION = [
    Notation("47.1147d", "(47.1147d)", "K = square dimension of the mask",
             "2K + 1 = side of the (2K+1) x (2K+1) mask"),
    Notation("47.1138", "(47.1138)", r"w^\# = \tilde I w",
             r"\tilde I \text{ here is the } (2K+1)^2 \text{ reversal, } \tilde I \otimes "
             r"\tilde I, \text{ not the } (2K+1) \text{ one of } \tilde I \mathcal W \tilde I"),
    Notation("47.1185", "Table 47.12, max pooling and subsampling",
             r"e_k \circ e_\ell^T", r"e_{k^o} e_{\ell^o}^T \text{ as in (47.1185b-c)}"),
    Notation("47.1196e", "(47.1196e)", r"m_d = \mathrm{col}\{m_d(p)\}",
             r"m^{(d)}(\Omega_{p'}) \text{ as in Tables 47.13-47.14}"),
    Notation("47.1200", "(47.1200)", r"\mathrm{col}\{\alpha'_p g_{n,p'}^{(d)}\}",
             r"\mathrm{col}\{\alpha_{p'} g_{n,p'}^{(d)}\}"),
    Notation("47.1211", "(47.1211)", "a stray '&=' before d = 1, 2, ..., D_c",
             "d = 1, 2, ..., D_c"),
    Notation("47.1216", "text before (47.1216)", r"p = 1 = 2, \dots, P_o",
             r"p = 1, 2, \dots \ (\text{the range itself is E-1216a})"),
    Notation("47.1220", "text before (47.1220)", r"\text{Likewise for } W_2^{(2)}",
             r"W_1^{(2)}"),
    Notation("47.1221e", "(47.1221e)", r"z_\ell(n) = \text{output of node } j",
             r"z_\ell(j)"),
    Notation("47.1226", "text before (47.1226)", r"\{z_{n,d}^{(c)}, y_{n,d}^{(c)}, "
             r"t_{n,d}^{(c)}\}", r"\{z_n^{(d,c)}, y_n^{(d,c)}, t_n^{(d,c)}\}"),
    Notation("47.1227", "(47.1227)-(47.1229) and the text", r"\theta_c",
             r"\Theta_c \ (\text{the bias matrix of layer } c)"),
    Notation("47.1235", "text after (47.1235)", r"z_n^{(d,C)}(j) \text{ for } c = 1..C",
             r"z_n^{(d,c)}(j)"),
    Notation("47.1236", "(47.1237), both sums", r"\sum_{p'=1}^{P'_c}",
             r"\sum_{p'=1}^{P'_C} \ (\text{the boundary layer } c = C)"),
    Notation("47.1237", "(47.1237)-(47.1240)", r"w_{i_p',k}^{(1)},\ w_{i_p''}^{(1)}",
             r"w_{i_{p'},k}^{(1)},\ w_{i_{p''}}^{(1)} \ (\text{in (47.1240) the primes vary "
             r"from row to row; the subscripts are right})"),
    Notation("47.1240", "(47.1240) and (47.1259)", r"\text{both factor vectors labelled } x",
             r"x \text{ is their Hadamard product}"),
    Notation("47.1256", "text after (47.1256)", r"z_n^{(d',c)} \ (4 \times 1)",
             r"z_n^{(d',c+1)}"),
    Notation("47.1275", "(47.1275)", r"\text{the loop over } n \text{ ends before the backward "
             r"passes that use } n;\ W_\ell^T \delta_{\ell+1}",
             r"\text{the backward passes run for each } n;\ W_\ell^T \delta_{\ell+1,n}"),
    Notation("seed 001", "simple example", r"M_X^{in}", r"M_X^{im}", "seed001"),
    Notation("seed 001", "6x6x4 example", r"S_1 \text{ has size } 4\times4",
             r"S \text{ has size } 4\times 4 \ (\text{one filter})", "seed001"),
    Notation("seed 002", "output activation and list", r"a_I^3 = \sigma(z_I^3);\ RP4",
             r"a_l^3 = \sigma(z_l^3);\ BP4", "seed002"),
    Notation("seed 004", "section 3", r"\delta^1 = \partial E/\partial z^I",
             r"\delta^l = \partial E/\partial z^l", "seed004"),
    Notation("seed 004", "after (14)", r"J vec(\delta) \text{ inverses the order of } "
             r"J vec(\delta)", r"\dots \text{ of } vec(\delta)", "seed004"),
]


VERIFIED = [
    Verified("47.1227", "(47.1227) divides the regularisers by N, the derivatives follow "
             "(47.1229)",
             "not a slip: the text introduces (47.1228) and says it continues with (47.1229); "
             "both scalings are available (scaling='1227' or '1229')",
             "tests/test_chapter_equations.py::test_eq_47_1227_1229_risk_scalings"),
    Verified("47.1240", "the index pattern of (47.1240)",
             "every row j holds w_(i_p''), dt(p'')/dy(j) with p'' the region of j in (47.1201): "
             "right in all 12 rows (only the primes vary, see the notation list)",
             "tests/test_chapter_equations.py::test_eq_47_1240_index_pattern"),
    Verified("47.1251", "every entry of (47.1251) and (47.1256) against V_c of (47.1252)",
             "all 24 entries agree",
             "tests/test_chapter_equations.py::test_eq_47_1251_1256_example"),
    Verified("47.1185", "the l2 gradient matrix of Table 47.12 and (47.1185d)",
             "H / t(r,c) is the gradient of the Frobenius norm: agrees with finite differences",
             "tests/test_chapter_equations.py::test_eq_47_1185_gradient_matrices"),
    Verified("47.1151", "(47.1151) and (47.1253)-(47.1255) against (47.1149) and (47.1252)",
             "all entries agree",
             "tests/test_chapter_equations.py::test_eq_47_1151_patch_indicator_example"),
    Verified("47.1174", "M_max = e_1 e_2^T with the one at (1,2)", "right",
             "tests/test_chapter_equations.py::test_eq_47_1174_1178_masks"),
    Verified("seed 000", "M = [[4,7],[5,7]] and the 4x4 reverse max-pool matrix",
             "right (windows and positions read row by row)",
             "tests/test_errata.py::test_seed000_printed_indicator_is_right", "seed000"),
    Verified("seed 001", "the sizes of M_X^im ((w-f+1)(h-f+1) x 3f^2, 16 x 9) and of "
             "M_F^filter (16 x 144, (w'-f+1)(h'-f+1) x 3w'h')", "right",
             "tests/test_errata.py::test_seed001_matrix_sizes", "seed001"),
    Verified("seed 002", "BP2 through the max-pooling layer, dC/db^1 and dC/dw^1_(l,m)",
             "right away from ties (E-S002a) with the sums over j, k (E-S002c), for the note's "
             "z = b + sum w a",
             "tests/test_errata.py::test_seed002_conv_gradients", "seed002"),
    Verified("seed 004", "60 x 5 x 5 + 16 = 1516; (16)-(18) with zero padding and J k J",
             "right", "tests/test_errata.py::test_seed004_full_convolution", "seed004"),
]


def normalize_id(eid):
    """The register's spelling of an erratum id: ``"S004-a"`` and ``"E-S004a"`` are both
    ``"E-S004a"``; chapter ids (``"E-1257"``) and departures (``"D-1216"``) are unchanged.

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import normalize_id
    >>> normalize_id("S004-a"), normalize_id("E-1257")
    ('E-S004a', 'E-1257')
    """
    m = re.fullmatch(r"(?:E-)?S(\d{3})-?([a-z])", str(eid).strip())
    return f"E-S{m.group(1)}{m.group(2)}" if m else str(eid).strip()


def by_id(eid):
    """The :class:`Erratum` (or :class:`Departure`) with id ``eid`` (seed ids also as
    ``"S004-a"``).

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import by_id
    >>> by_id("S002-a").id
    'E-S002a'
    """
    eid = normalize_id(eid)
    for e in [*ERRATA, *DEPARTURES]:
        if e.id == eid:
            return e
    raise KeyError(f"no erratum {eid!r} in the register; ids: "
                   f"{[e.id for e in [*ERRATA, *DEPARTURES]]}")


def as_example(key, title, eid):
    r"""The worked example of erratum ``eid`` for ``reproduce``, taken from its demonstration:
    the printed form evaluated beside the corrected one, the same numbers ``errata --check``
    reports (``basis="evaluated"``).

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import as_example
    >>> ex = as_example("seed004", "Fig. 4 text", "E-S004d")
    >>> ex.label, ex.erratum, ex.ok
    ('as printed, evaluated', 'E-S004d', True)
    """
    from .examples import Example

    d = by_id(eid).run()
    if "printed" not in d.values or "corrected" not in d.values:
        raise KeyError(f"the demonstration of {eid} keeps no printed/corrected values")
    return Example(key, title, d.values["printed"], d.values["corrected"], erratum=eid,
                   basis="evaluated")


def check_all(departures=False):
    """Run every demonstration: a list of ``(erratum, Demonstration)``; with
    ``departures=True`` those of :data:`DEPARTURES` follow.

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import ERRATA, check_all
    >>> results = check_all()
    >>> len(results) == len(ERRATA), all(d.printed_fails and d.corrected_passes for _, d in results)
    (True, True)
    """
    return [(e, e.run()) for e in [*ERRATA, *(DEPARTURES if departures else [])]]


def counts():
    """The register in numbers: errata (chapter, seed notes), flagged as possibly
    transcription, notation-kind, departures, notation slips, checked and found right.

    Examples
    --------
    >>> from sayedcnn.fidelity import errata
    >>> n = errata.counts()
    >>> n["errata"] == n["chapter"] + n["seed"], n["departures"] == len(errata.DEPARTURES)
    (True, True)
    >>> errata.by_id("E-1201").origin, errata.by_id("D-1216").equation
    ('transcription?', '47.1216')
    """
    return {"errata": len(ERRATA),
            "chapter": sum(e.source == "chapter" for e in ERRATA),
            "seed": sum(e.source != "chapter" for e in ERRATA),
            "transcription?": sum(e.origin == "transcription?" for e in ERRATA),
            "notation-kind": sum(e.kind == "notation" for e in ERRATA),
            "departures": len(DEPARTURES),
            "notation": len(NOTATION),
            "verified": len(VERIFIED)}


def _md(s):
    return s.replace("|", r"\|")


def _math(s):
    return f"${_md(s)}$" if "\\" in s else _md(s)


def _origin(e):
    return "print" if e.origin == "print" else "transcription?"


def render(results=None):
    """The register as markdown (ERRATA.md). ``results`` from :func:`check_all` (with
    ``departures=True``) adds the numbers of each demonstration.

    Examples
    --------
    >>> from sayedcnn.fidelity.errata import render
    >>> render().splitlines()[0]
    '# Errata'
    """
    from .seeds import SEED_NOTES

    res = dict((e.id, d) for e, d in results) if results is not None else {}
    n = counts()
    out = ["# Errata", "",
           "Generated by `python -m sayedcnn errata --write ERRATA.md` from "
           "`sayedcnn/fidelity/errata.py`; do not edit by hand.", "",
           "Slips in section 47.25 of A. H. Sayed, *Inference and Learning from Data*, and in "
           "the seed notes, and the places where the package departs from the print. Each "
           "entry has a demonstration that computes with the package: the printed form fails "
           "with numbers and the corrected form passes (`python -m sayedcnn errata --check`).",
           "",
           f"**What \"printed\" means here.** The printed forms were read from {SOURCE}. "
           "So each erratum says where it may come from: *print*, "
           f"{ORIGINS['print']}; or *transcription?*, {ORIGINS['transcription?']}. Either "
           "way the corrected form is what the package computes.", "",
           f"{n['errata']} errata ({n['chapter']} in the chapter, {n['seed']} in the seed "
           f"notes), {n['transcription?']} of them possibly transcription, {n['notation-kind']} "
           f"of kind notation (a slip of type or naming that no computation follows); "
           f"{n['departures']} departures; {n['notation']} notation slips without a "
           f"demonstration; {n['verified']} candidates checked and found right.", "",
           "| id | equation | kind | origin | reason |", "| --- | --- | --- | --- | --- |"]
    for e in ERRATA:
        out.append(f"| {e.id} | {e.equation} | {e.kind} | {_origin(e)} | {_md(e.reason)} |")
    out.append("")
    last_source = None
    for e in ERRATA:
        if e.source != last_source and e.source in SEED_NOTES:
            out += [f"## Seed note {e.source[4:]}", "",
                    f"*The note:* {SEED_NOTES[e.source].sentence}", ""]
        last_source = e.source
        out += [f"## {e.id} ({e.equation})", "", f"*Where:* {e.location}. *Kind:* {e.kind}. "
                f"*Origin:* {_origin(e)}.", "", "Printed:", "", f"$${e.printed}$$", "",
                "Corrected:", "", f"$${e.corrected}$$", "", f"*Why:* {e.reason}.", ""]
        if e.doubt:
            out += [f"*Possibly transcription:* {e.doubt}.", ""]
        d = res.get(e.id)
        if d is not None:
            mark = "shown" if d.shown else "NOT SHOWN"
            out += [f"*Demonstration ({mark}):* printed: {d.printed}; corrected: "
                    f"{d.corrected}.", ""]
    out += ["## Departures from the print", "",
            "Where the package does something the print does not say. Each demonstration "
            "shows what the print, followed literally, leaves undefined or gets wrong, and "
            "that the package's choice computes the right quantity.", "",
            "| id | equation | what the package does | why |", "| --- | --- | --- | --- |"]
    for dep in DEPARTURES:
        out.append(f"| {dep.id} | {dep.equation} | {_md(dep.package)} | {_md(dep.reason)} |")
    out.append("")
    for dep in DEPARTURES:
        out += [f"## {dep.id} ({dep.equation})", "", f"*Where:* {dep.location}.", "",
                "The print:", "", f"$${dep.printed}$$", "", f"*The package:* {dep.package}.",
                "", f"*Why:* {dep.reason}.", ""]
        d = res.get(dep.id)
        if d is not None:
            mark = "shown" if d.shown else "NOT SHOWN"
            out += [f"*Demonstration ({mark}):* as printed: {d.printed}; the package: "
                    f"{d.corrected}.", ""]
    out += ["## Notation", "", "Slips that change no meaning (no demonstration).", "",
            "| where | printed | read |", "| --- | --- | --- |"]
    for n_ in NOTATION:
        where = n_.location if n_.equation in n_.location else f"{n_.location} ({n_.equation})"
        out.append(f"| {_md(where)} | {_math(n_.printed)} | {_math(n_.corrected)} |")
    out += ["", "## Checked and found right", "",
            "| equation | claim | finding | test |", "| --- | --- | --- | --- |"]
    for v in VERIFIED:
        out.append(f"| {v.equation} | {_md(v.claim)} | {_md(v.finding)} | `{v.test}` |")
    out += ["", "## The seed notes", "",
            "The notes are not shipped; each is reproduced by a module of "
            "`sayedcnn.fidelity.seeds`.", "", "| note | module | what it is |",
            "| --- | --- | --- |"]
    for key, note in SEED_NOTES.items():
        out.append(f"| {key[4:]} | `{note.module}` | {_md(note.sentence)} |")
    out.append("")
    return "\n".join(out)
