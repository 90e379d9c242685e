"""The errata register (sayedcnn.fidelity.errata): every printed slip fails with numbers, every
correction passes, and the rendered ERRATA.md is the register's."""

import pathlib
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sayedcnn import Conv, Network, Pooling
from sayedcnn.app.cli import main
from sayedcnn.fidelity import errata
from sayedcnn.forward import forward_listing
from sayedcnn.operators import correlate, flip_mask, partition_matrix, patch_matrix, unvec, vec
from sayedcnn.reference.finite_diff import central_differences
from sayedcnn.sgd import risk
from sayedcnn.training import backward_listing

ROOT = pathlib.Path(__file__).resolve().parents[1]
IDS = [e.id for e in errata.ERRATA]
DEP_IDS = [d.id for d in errata.DEPARTURES]
KINDS = {"dimension", "sign", "index", "constant", "scaling", "count", "matrix", "missing step",
         "notation"}


def test_register_entries_are_complete():
    """One record per slip: unique id, equation, location, printed and corrected forms, a
    one-line reason, a kind, a demonstration."""
    assert len(IDS) == len(set(IDS))
    for e in errata.ERRATA:
        assert re.fullmatch(r"E-(\d{4}[a-z]?|S\d{3}[a-z])", e.id), e.id
        assert e.equation and e.location and e.printed and e.corrected
        assert e.printed != e.corrected
        assert e.reason and "\n" not in e.reason
        assert e.kind in KINDS
        assert e.source in {"chapter", "seed000", "seed001", "seed002", "seed004"}
        assert callable(e.demonstrate)
        assert e.origin in errata.ORIGINS
        assert bool(e.doubt) == (e.origin == "transcription?"), e.id
        if e.source == "chapter":
            assert e.id[2:6] == e.equation[3:7]


def test_known_errata_are_registered():
    """The ids cited in the package's docstrings and the issues are in the register."""
    for eid in ["E-1252", "E-1257", "E-1275a", "E-1275b", "E-1275c", "E-1276a", "E-1276b",
                "E-1216a", "E-1223a", "E-1213", "E-1275d", "E-1166", "E-1135", "E-1201",
                "E-1259", "E-1221g", "E-S000a", "E-S000b", "E-S000c", "E-S001a", "E-S001b",
                "E-S004a", "E-S004d", "E-S004g"]:
        assert errata.by_id(eid).id == eid
    with pytest.raises(KeyError, match="no erratum"):
        errata.by_id("E-none")


def test_erratum_ids_cited_anywhere_exist():
    """Every erratum id written in the package or the tests resolves in the register."""
    pattern = re.compile(r"\bE-(?:\d{4}[a-z]?|S\d{3}[a-z])\b|\bS\d{3}-[a-z]\b")
    files = list((ROOT / "sayedcnn").rglob("*.py")) + list((ROOT / "tests").glob("*.py"))
    missing = {}
    for f in files:
        for eid in pattern.findall(f.read_text(encoding="utf-8")):
            try:
                errata.by_id(eid)
            except KeyError:
                missing.setdefault(eid, []).append(f.name)
    assert not missing, missing


def test_normalize_id():
    """Seed ids may be written S004-a or E-S004a."""
    assert errata.normalize_id("S004-a") == "E-S004a"
    assert errata.normalize_id("E-S004a") == "E-S004a"
    assert errata.normalize_id("E-1257") == "E-1257"


@pytest.mark.parametrize("eid", IDS)
def test_demonstration_shows_its_point(eid):
    """The printed form fails with numbers and the corrected form passes."""
    d = errata.by_id(eid).run()
    assert d.printed_fails, d.printed
    assert d.corrected_passes, d.corrected
    assert d.shown


def test_a_failing_demonstration_is_not_shown():
    """A demonstration that raises, or whose correction fails, does not count as shown."""
    def boom():
        raise ValueError("no")

    e = errata.Erratum("E-fake", "47.0000", "nowhere", "a", "b", "r", "sign", boom)
    assert not e.run().shown
    d = errata.Demonstration("p", "c", True, False)
    assert not d.shown


def test_errata_check_exit_status(monkeypatch, capsys):
    """`errata --check` exits 0 when every demonstration shows its point, 1 otherwise."""
    assert main(["errata", "--check", "E-1276a", "E-1149"]) == 0
    out = capsys.readouterr().out
    assert "[shown] E-1276a" in out and "2 shown, 0 not shown" in out
    bad = errata.Erratum("E-1276a", "47.1276", "x", "a", "b", "r", "sign",
                         lambda: errata.Demonstration("p", "c", False, True))
    monkeypatch.setattr(errata, "ERRATA", [bad])
    assert main(["errata", "--check"]) == 1
    assert "NOT SHOWN" in capsys.readouterr().out


def test_errata_table_and_unknown_id(capsys):
    """The default output is a table of the register; an unknown id exits 2."""
    assert main(["errata"]) == 0
    out = capsys.readouterr().out
    assert all(eid in out for eid in IDS)
    assert main(["errata", "E-none"]) == 2


def test_write_renders_the_register(tmp_path):
    """`errata --write PATH` writes render(check_all()); `--write-equations` the index."""
    from sayedcnn.fidelity import equations

    p, q = tmp_path / "E.md", tmp_path / "Q.md"
    assert main(["errata", "--write", str(p), "--write-equations", str(q)]) == 0
    text = p.read_text(encoding="utf-8")
    assert text.count("*Demonstration (shown):*") == len(IDS) + len(DEP_IDS)
    assert q.read_text(encoding="utf-8") == equations.render()


def test_errata_md_is_generated_from_the_register():
    """ERRATA.md at the repository root carries every erratum's printed and corrected forms,
    every notation slip, and the generated-file header."""
    text = (ROOT / "ERRATA.md").read_text(encoding="utf-8")
    assert text.startswith("# Errata\n\nGenerated by `python -m sayedcnn errata --write")
    for e in errata.ERRATA:
        assert f"## {e.id} ({e.equation})" in text
        assert e.printed in text and e.corrected in text
    for n in errata.NOTATION:
        assert n.printed.replace("|", r"\|") in text
    assert text.count("*Demonstration (shown):*") == len(IDS) + len(DEP_IDS)
    for dep in errata.DEPARTURES:
        assert f"## {dep.id} ({dep.equation})" in text and dep.printed in text
    static = errata.render()
    assert [ln for ln in text.splitlines() if not ln.startswith("*Demonstration")
            and ln] == [ln for ln in static.splitlines() if ln]


# ---------------------------------------------------------------------------
# Candidates checked and found right (errata.VERIFIED)
# ---------------------------------------------------------------------------


def test_verified_entries_name_existing_tests():
    """Every 'checked and found right' entry names a test that exists."""
    import ast

    for v in errata.VERIFIED:
        path, name = v.test.split("::")
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert name in names, v.test


def test_seed000_printed_indicator_is_right():
    """Seed 000: V = [[3,2,5],[4,1,7],[3,5,0]] pools to M = [[4,7],[5,7]] (2x2 max, stride 1)
    and the printed 4x4 'reverse max-pool' rows are the gradient vectors e_(p^o), windows and
    positions read row by row."""
    V = np.array([[3.0, 2, 5], [4, 1, 7], [3, 5, 0]])
    pool = Pooling("max", in_shape=(3, 3), block=2, stride=1)
    assert_allclose(unvec(pool.pool(vec(V)), (2, 2)), [[4, 7], [5, 7]], rtol=0, atol=0)
    g = pool.gradient_vectors(vec(V))
    rows = [g[r + 2 * c][[0, 2, 1, 3]] for r in range(2) for c in range(2)]
    assert_allclose(rows, [[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 1, 0, 0]], rtol=0,
                    atol=0)


def test_seed001_matrix_sizes():
    """Seed 001: M_X^im is (w-f+1)(h-f+1) x 3f^2 (16 x 9 for one 6x6 channel), M_F^filter for a
    6x6x4 image and a 3x3x4 filter is 16 x 144, and vec(S) = M_F vec(X)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 6, 6))
    F = rng.standard_normal((4, 3, 3))
    V = partition_matrix(
        [[r + a + (c + b) * 6 for b in range(3) for a in range(3)]
         for c in range(4) for r in range(4)], 36)
    M_im = patch_matrix(V, vec(X[0]), 9).T
    assert M_im.shape == (16, 9)
    M_F = np.hstack([np.kron(np.eye(16), vec(F[j])[None, :]) @ V.toarray() for j in range(4)])
    assert M_F.shape == (16, 144)
    S = sum(correlate(X[j], F[j], padding="valid") for j in range(4))
    assert_allclose(M_F @ np.concatenate([vec(X[j]) for j in range(4)]), vec(S), rtol=1e-12)
    w, f = 8, 3
    wp = w - f + 1
    assert ((wp - f + 1) ** 2, 3 * wp * wp) == (16, 108)


def test_seed002_conv_gradients():
    """Seed 002: BP2 through max-pooling (no ties), dC/db^1 = sum delta^1 and dC/dw^1_(l,m) =
    sum_(j,k) delta^1_(j,k) a^0_(j+l,k+m) equal the book's derivatives (z = b + sum w a, so
    dC/db = -dC/dtheta)."""
    net = Network((10, 10), 1, conv=[Conv(1, mask=5, padding="valid", activation="sigmoid",
                                          pool=("max", 2))], outputs=10,
                  output_activation="sigmoid")
    params = net.init(2, bias_scale=0.3)
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, (1, 1, 10, 10))
    Gamma = np.eye(10)[[3]]
    res = forward_listing(net, params, X[0])
    sens = backward_listing(net, params, res, Gamma[0])
    z1 = unvec(res.z_conv[1, 1], (6, 6))
    a1 = 1 / (1 + np.exp(-z1))
    W3, d3 = params.W_ff[1], sens.delta_ff[2]
    d1 = np.zeros((6, 6))
    for j in range(6):
        for k in range(6):
            jp, kp = j // 2, k // 2
            block = a1[2 * jp:2 * jp + 2, 2 * kp:2 * kp + 2]
            if a1[j, k] == block.max():
                d1[j, k] = sum(d3[l] * W3[l, jp + 3 * kp] for l in range(10)) * a1[j, k] * (
                    1 - a1[j, k])
    assert_allclose(vec(d1), sens.delta_conv[1, 1], rtol=1e-12, atol=1e-15)
    a0 = X[0, 0]
    dw = np.array([[sum(d1[j, k] * a0[j + l, k + m] for j in range(6) for k in range(6))
                    for m in range(5)] for l in range(5)])
    v0 = params.to_vector()
    fd = params.from_vector(central_differences(lambda v: risk(net, params.from_vector(v), X, Gamma), v0))
    assert_allclose(vec(dw), fd.W_conv[1][:, 0], rtol=1e-6, atol=1e-9)
    assert_allclose(d1.sum(), -fd.Theta_conv[1][0, 0], rtol=1e-6)


LENET_S2_C3 = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5], [0, 1, 2, 3],
               [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
               [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]]


def test_seed004_full_convolution():
    """Seed 004: the S2-C3 table has 60 connections, 60 x 5 x 5 + 16 = 1516 parameters; S2
    map 0 feeds C3 maps 0,4,5,6,9,10,11,12,14,15; dE/dx_i = sum_(j in M_i) delta~_j * (J k_ij
    J) (16)-(18) with delta~ zero-padded, against finite differences."""
    net = Network((14, 14), 6, conv=[Conv(16, mask=5, padding="valid",
                                          connections=LENET_S2_C3)], outputs=2)
    ly = net.layers[0]
    assert int(ly.conn.sum()) == 60
    assert ly.S * int(ly.conn.sum()) + ly.D == 1516
    assert [j for j, ins in enumerate(LENET_S2_C3) if 0 in ins] == [0, 4, 5, 6, 9, 10, 11, 12,
                                                                    14, 15]
    table = [[0], [0, 1], [1, 2], [0, 2]]
    small = Network((6, 6), 3, conv=[Conv(4, mask=3, padding="valid", activation="linear",
                                          connections=table)], outputs=2)
    params = small.init(4, bias_scale=0.3)
    x = np.random.default_rng(4).standard_normal((3, 6, 6))
    A = np.random.default_rng(5).standard_normal((4, 16))
    W = params.W_conv[1]

    def E(xv, i):
        xx = x.copy()
        xx[i] = unvec(xv, (6, 6))
        res = forward_listing(small, params, xx)
        return float(sum(A[j] @ res.z_conv[j + 1, 1] for j in range(4)))

    for i in range(3):
        M_i = [j for j, ins in enumerate(table) if i in ins]
        grad = sum(correlate(unvec(A[j], (4, 4)), flip_mask(unvec(W[9 * i:9 * (i + 1), j],
                                                                    (3, 3))), padding=2)
                   for j in M_i)
        fd = unvec(central_differences(lambda v, i=i: E(v, i), vec(x[i])), (6, 6))
        assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("note", ["000", "001", "002", "004"])
def test_seed_errata_are_defined_once(note):
    """A seed note's slips are defined in the register only: its module keeps no list of them
    and no demonstration of its own, and the register has at least one slip per note."""
    mod = pytest.importorskip(f"sayedcnn.fidelity.seeds.s{note}")
    assert not hasattr(mod, "ERRATA")
    assert not [n for n in dir(mod) if n.startswith("demo_")]
    assert [e.id for e in errata.ERRATA if e.source == f"seed{note}"]


# ---------------------------------------------------------------------------
# Where the printed forms come from; departures; demonstrations that demonstrate
# ---------------------------------------------------------------------------


def test_the_source_is_named_everywhere(capsys):
    """ERRATA.md and `errata` say the printed column was read from an OCR transcription, and
    every entry's origin is shown."""
    text = (ROOT / "ERRATA.md").read_text(encoding="utf-8")
    assert "OCR transcription" in text and errata.SOURCE in text
    assert main(["errata"]) == 0
    out = capsys.readouterr().out
    assert "OCR transcription" in out.splitlines()[0]
    for e in errata.ERRATA:
        row = next(ln for ln in out.splitlines() if ln.startswith(e.id + " "))
        assert e.origin in row, row
    for e in errata.ERRATA:
        if e.doubt:
            assert f"*Possibly transcription:* {e.doubt}." in text


def test_transcription_candidates_are_flagged():
    """The entries that look like transcription damage carry the flag and a reason, and their
    'why' does not call the page wrong outright."""
    for eid in ["E-1135", "E-1201", "E-1259", "E-1275a", "E-1276b"]:
        e = errata.by_id(eid)
        assert e.origin == "transcription?" and e.doubt, eid
    assert "as transcribed" in errata.by_id("E-1201").reason
    assert "as transcribed" in errata.by_id("E-1135").reason
    assert errata.counts()["transcription?"] == sum(e.origin != "print" for e in errata.ERRATA)


def test_notation_level_entries_are_classified_and_break_a_computation():
    """E-1180, E-1189, E-1216a are of kind notation; read literally, E-1180 and E-1189 cannot
    fill their map (the computation they break)."""
    for eid in ["E-1180", "E-1189", "E-1216a"]:
        assert errata.by_id(eid).kind == "notation"
    for eid in ["E-1180", "E-1189"]:
        d = errata.by_id(eid).run()
        assert d.shown and "ValueError" in d.printed


def test_E_1216a_rests_on_the_books_definition():
    """P_o is counted as the number of input subvectors (the text's definition), not assumed
    to be M: it changes with layer 1's geometry and equals P_1 every time."""
    d = errata.by_id("E-1216a").run()
    assert d.shown
    rows = d.values["rows"]
    assert len({r[1] for r in rows}) == len(rows)  # three geometries, three counts
    assert all(r[1] == r[2] == r[3] == r[4] for r in rows)
    assert "= M" not in d.printed


def test_E_1275d_shows_what_is_undefined():
    """The printed listings never define Delta_(n,C) (for C = 1 they define none); the
    demonstration says so, rather than failing on a missing key, and covers (47.1276)."""
    e = errata.by_id("E-1275d")
    assert "47.1276" in e.location
    d = e.run()
    assert d.shown and "KeyError" not in d.printed and "never defined" in d.printed
    assert d.values == {"formed": [1], "used": [1, 2]}


@pytest.mark.parametrize("did", DEP_IDS)
def test_departure_is_demonstrated(did):
    """Each departure: the print followed literally fails (undefined or wrong), the package's
    choice passes."""
    d = errata.by_id(did).run()
    assert d.printed_fails, d.printed
    assert d.corrected_passes, d.corrected


def test_departures_cover_the_known_places():
    """The departures named in the register's review are there: the last layer's partition,
    one subset per map, the connection-table masks of (47.1262)/(47.1271)/(47.1274), the l2
    gradient at t = 0, and permute# against the text's 'permute'."""
    text = " ".join(f"{d.equation} {d.location}" for d in errata.DEPARTURES)
    for num in ["47.1216", "47.1213", "47.1262", "47.1271", "47.1274", "47.1185d", "47.1196d",
                "47.1275"]:
        assert num in text, num
    for d in errata.DEPARTURES:
        assert re.fullmatch(r"D-\d{4}[a-z]?", d.id) and d.reason and d.package


def test_a_wrong_departure_demonstration_is_not_shown():
    """A departure whose demonstration raises is reported as not shown."""
    def boom():
        raise IndexError("no")

    dep = errata.Departure("D-0000", "47.0000", "x", "a", "b", "r", boom)
    assert not dep.run().shown


def test_check_runs_the_departures(capsys):
    """`errata --check D-1216 E-1166` runs both; the table lists departures."""
    assert main(["errata", "--check", "D-1216", "E-1166"]) == 0
    out = capsys.readouterr().out
    assert "[shown] D-1216" in out and "[shown] E-1166" in out
    assert main(["errata"]) == 0
    out = capsys.readouterr().out
    assert all(d in out for d in DEP_IDS)


def test_register_uses_the_one_comparison_helper():
    """The register measures agreement with sayedcnn.reference.compare (NaN-aware), and keeps
    no private copy."""
    from sayedcnn.reference import compare

    assert not hasattr(errata, "_rel")
    assert errata.rel_diff is compare.rel_diff and errata.max_rel_diff is compare.max_rel_diff
    assert errata.rel_diff([1.0, np.nan], [1.0, np.nan]) == np.inf
