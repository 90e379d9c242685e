"""sayedcnn.teaching.show: labelled displays reproduce the entries they display, in LaTeX and
in text, for every printed matrix of the chapter; captions come from the listings' results."""

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sayedcnn as sc
from sayedcnn.fidelity.book_examples import PARTITION_1149, REGIONS_1201, chapter_examples
from sayedcnn.teaching.show import Labelled, labelled, register, show


def parse_latex(tex):
    """{(row, col): value or None (ellipsis)} with the 1-based indices the display prints,
    the caption, and the number of row and column block lines."""
    m = re.search(r"\$\$\n(.*?)\\begin\{array\}\{([^}]*)\}\n(.*)\n\\end\{array\}", tex, re.S)
    assert m, tex
    caption = m.group(1).strip()
    caption = caption[:-1].strip() if caption.endswith("=") else caption
    spec, body = m.group(2), m.group(3)
    rows = [r.strip() for r in body.split(r"\\")]
    rows = [r for r in rows if r and r != r"\hline"]
    head = [c.strip() for c in rows[0].replace(r"\hline", "").split("&")][1:]
    cols = [int(re.search(r"scriptstyle (\d+)", c).group(1)) if c else None for c in head]
    cells, n_hline = {}, 0
    for k, r in enumerate(rows[1:]):
        if r.startswith(r"\hline"):
            n_hline += k > 0  # the first closes the header row
            r = r[len(r"\hline"):]
        parts = [c.strip() for c in r.split("&")]
        lab = re.search(r"scriptstyle (\d+)", parts[0])
        i = int(lab.group(1)) if lab else None
        for j, c in zip(cols, parts[1:]):
            if c in (r"\vdots", r"\cdots", r"\ddots"):
                val = None
            elif c == r"\cdot":
                val = 0.0
            else:
                val = float(c.replace(r"\times 10^{", "e").replace("}", ""))
            cells[i, j] = val
    return caption, cells, n_hline, spec.count("|") - 1


def parse_text(txt):
    """The same from the plain-text form."""
    lines = txt.splitlines()
    caption = lines[0].rsplit("  (", 1)[0] if "  (" in lines[0] else None
    cols = [int(c) for c in lines[1].replace("|", " ").split()]
    cells, rules = {}, 0
    for line in lines[2:]:
        if set(line.strip()) == {"-"}:
            rules += 1
            continue
        parts = line.replace("|", " ").split()
        if parts[0] == ":":
            continue
        i = int(parts[0])
        vals = parts[1:]
        k = 0
        for v in vals:
            if v == "...":
                continue
            while cols[k] is None:
                k += 1
            cells[i, cols[k]] = 0.0 if v == "." else float(v)
            k += 1
    return caption, cells, rules


def assert_reproduces(cells, A, rtol=5e-4):
    A = np.asarray(A, dtype=float).reshape(A.shape[0], -1) if np.ndim(A) == 2 else \
        np.asarray(A, dtype=float).reshape(-1, 1)
    seen = 0
    for (i, j), v in cells.items():
        if v is None or i is None or j is None:
            continue
        assert_allclose(v, A[i - 1, j - 1], rtol=rtol, atol=0)
        seen += 1
    assert seen > 0


def _numeric(ex):
    try:
        a = np.asarray(ex.computed, dtype=float)
    except (TypeError, ValueError):
        return None
    return a if a.ndim in (1, 2) and a.size > 1 else None


EXAMPLES = [e for e in chapter_examples() if _numeric(e) is not None]


@pytest.mark.parametrize("ex", EXAMPLES, ids=[f"{e.key}-{i}" for i, e in enumerate(EXAMPLES)])
def test_show_reproduces_every_printed_matrix(ex):
    """The LaTeX and the text of show(...) give back every entry of the chapter's printed
    matrices (the computed ones; the printed ones too where no erratum separates them)."""
    A = _numeric(ex)
    A2 = A if A.ndim == 2 else A.reshape(-1, 1)
    lab = show(A, r"X", limit=(64, 64))
    caption, cells, _, _ = parse_latex(lab._repr_latex_())
    assert caption == "X"
    assert len(cells) == A2.size  # nothing cut below the limit
    assert_reproduces(cells, A2, rtol=1e-3)
    if ex.erratum is None:
        assert_reproduces(cells, np.asarray(ex.printed, float).reshape(A2.shape), rtol=1e-3)
    tcap, tcells, _ = parse_text(str(lab))
    assert tcap == "X" and len(tcells) == A2.size
    assert_reproduces(tcells, A2, rtol=1e-3)


def test_eq_47_1149_partition_blocks_and_dots():
    """V of Fig. 47.87 (47.1149): zeros as dots, a line after every S = 3 rows, 1-based."""
    V = sc.partition_matrix([[k - 1 for k in r] for r in PARTITION_1149], 6)
    lab = show(V, "V", blocks=([3] * 4, None))
    tex = lab.latex()
    caption, cells, n_hline, n_bar = parse_latex(tex)
    assert caption == "V" and n_hline == 3 and n_bar == 0
    assert r"\cdot" in tex
    assert_reproduces(cells, V.toarray())
    assert cells[1, 1] == 1.0 and cells[2, 4] == 1.0 and cells[12, 1] == 1.0  # 1-based
    _, tcells, rules = parse_text(lab.text())
    assert rules == 3
    assert_reproduces(tcells, V.toarray())


def test_eq_47_1203_T_one_block_per_region():
    """show(Pooling) displays T (47.1203) with a line between the regions Omega_1..3."""
    pool = sc.Pooling("max", regions=[[k - 1 for k in r] for r in REGIONS_1201], P=12)
    lab = show(pool)
    caption, cells, n_hline, _ = parse_latex(lab.latex())
    assert caption == "T" and n_hline == len(REGIONS_1201) - 1
    assert_reproduces(cells, pool.T.toarray())
    assert lab.row_blocks == [4, 5, 3]


def test_listing_results_know_their_symbols():
    """After labelled(res), show(res.H[d, c]) is captioned H_n^(d,c) with no name, Delta is
    block diagonal with D_c column blocks, and every entry is in the group."""
    net = sc.Network((4, 4), conv=[sc.Conv(2, mask=2, pool=("mean", 2)),
                                   sc.Conv(2, mask=2)], hidden=[3], outputs=2)
    p = net.init(1, bias_scale=0.2)
    x = np.random.default_rng(0).standard_normal((1, 4, 4))
    res = net.forward(p, x)
    assert show(res.H[1, 0]).name == "H_n^{(1,0)}"  # results know their symbols
    group = labelled(res)
    assert show(res.H[2, 1]).name == "H_n^{(2,1)}"
    assert show(res.z_conv[1, 2]).text().startswith("z_n^(1,2)  (4 x 1)")
    assert show(res.y_ff[1]).row_blocks == [4, 4]  # y_1 = col{t^(1,2), t^(2,2)} (47.1215)
    assert show(res.H_stacked[1]).row_blocks == [4, 4]
    assert group["y_{3,n}"].shape == (2, 1)
    sens = net.backward(p, res, np.array([1.0, 0.0]), keep_V=True)
    labelled(sens)
    D = show(sens.Delta[1])
    assert D.name == r"\Delta_{n,1}" and D.col_blocks == [1, 1] and D.sparse
    _, cells, n_hline, n_bar = parse_latex(D.latex())
    assert n_bar == 1  # one line between the two column blocks
    assert_reproduces(cells, sens.Delta[1].toarray())
    assert show(sens.V[1, 2, 2]).name == "V^{(1,2,2)}"
    pg = show(p)
    assert len(pg) == 8 and pg[r"W_{c=1}"].shape == (4, 2)
    assert pg[r"W_{c=2}"].row_blocks == [4, 4]  # col{w_1^(d,2), w_2^(d,2)} (47.1223)
    assert show(res.H[2, 1], "G").name == "G"  # an explicit name wins
    res2 = register(net.forward(p, x))
    assert show(res2.t_conv[2, 1]).name == "t_n^{(2,1)}"
    assert show(res2.t_conv[2, 1].copy()).name is None  # a new array has no symbol


def test_large_matrices_are_cut_with_ellipses():
    A = np.arange(1.0, 41 * 37 + 1).reshape(41, 37)
    lab = show(A, "A", limit=(10, 12))
    tex = lab.latex()
    for dots in (r"\vdots", r"\cdots", r"\ddots"):
        assert dots in tex
    _, cells, _, _ = parse_latex(tex)
    assert_reproduces(cells, A)
    assert (41, 37) in cells and (1, 1) in cells and (20, 20) not in cells
    assert "(41 x 37)" in lab.text()
    _, tcells, _ = parse_text(lab.text())
    assert_reproduces(tcells, A)
    assert (41, 37) in tcells


def test_symbolic_entries():
    sympy = pytest.importorskip("sympy")
    w1, w2 = sympy.symbols("w1 w2")
    lab = show(sympy.Matrix([[w1, 0], [0, w2]]), r"V^{(d,d',c+1)}", sparse=True)
    assert "w_{1}" in lab.latex() and r"\cdot" in lab.latex()
    assert "w2" in lab.text()


def test_bad_input():
    with pytest.raises(ValueError, match="matrix or a vector"):
        show(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="blocks must be positive sizes adding up to 3"):
        Labelled(np.zeros((3, 3)), "A", row_blocks=[1, 1])
    with pytest.raises(TypeError, match="numbers"):
        show(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="digits"):
        show(np.zeros(3), digits=0)


def test_listing_results_caption_their_entries_without_a_name():
    net = sc.Network((4, 4), conv=[sc.Conv(2, 2, pool=("mean", 2))], hidden=[3], outputs=2)
    p = net.init(0)
    x = np.random.default_rng(0).standard_normal((1, 4, 4))
    res = net.forward(p, x)
    sens = net.backward(p, res, [0.0, 1.0])
    assert show(res.H[1, 0]).name == "H_n^{(1,0)}"
    assert show(res.t_conv[2, 1]).name == "t_n^{(2,1)}"
    assert show(sens.delta_ff[2]).name == r"\delta_{2,n}"
    assert show(np.array(res.H[1, 0])).name is None  # a copy is not the result's entry


def test_one_lookup_holds_a_record_weakly_for_as_long_as_it_lives():
    """Params become owners only when registered; the caption lasts while the record lives,
    newest record first, and a record that is gone names nothing (sayedcnn.symbols)."""
    import gc

    from sayedcnn import symbols
    from sayedcnn.teaching.show import symbol_of

    W = np.ones((2, 3))
    p = sc.Params(W_ff={1: W}, theta_ff={1: np.zeros(2)})
    assert symbol_of(W) is None  # a Params is not registered when it is made
    gc.collect()
    before = len(symbols._LIVE)
    assert register(p) is p and len(symbols._LIVE) == before + 1  # one weak reference
    assert symbol_of(W) == (r"W_{\ell=1}", (None, None))
    q = register(sc.Params(W_ff={2: W}, theta_ff={2: np.zeros(2)}))
    assert symbol_of(W)[0] == r"W_{\ell=2}"  # the newest record holding W names it
    del q
    gc.collect()
    assert symbol_of(W)[0] == r"W_{\ell=1}"
    del p
    gc.collect()
    assert symbol_of(W) is None and len(symbols._LIVE) == before
