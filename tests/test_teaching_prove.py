"""python -m sayedcnn prove: the identities (47.1236)-(47.1274) proven with sympy on the generic
network (the quick subset in the tests); a deliberately wrong identity is reported as failing."""

import subprocess
import sys

import numpy as np
import pytest

from sayedcnn.app.cli import main

sympy = pytest.importorskip("sympy")

from sayedcnn.teaching import prove  # noqa: E402


def test_quick_proof_passes(capsys):
    assert main(["prove", "--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith("[")]
    assert lines and all(line.startswith("[proven]") for line in lines)
    n = len(lines)
    assert out[-1].startswith(f"{n} identities proven")
    eqs = {line.split()[1] for line in lines}
    for eq in ("47.1233", "47.1234", "47.1236", "47.1237", "47.1238", "47.1239", "47.1240",
               "47.1243", "47.1244", "47.1245", "47.1246", "47.1247", "47.1248", "47.1249",
               "47.1251", "47.1256", "47.1257", "47.1258", "47.1259", "47.1260", "47.1261",
               "47.1262", "47.1263", "47.1264", "47.1265", "47.1267", "47.1268", "47.1269",
               "47.1271", "47.1273", "47.1274"):
        assert f"({eq})" in eqs
    full = prove.identities()
    assert len(full) > n  # the quick subset leaves the slowest out


def test_a_deliberately_wrong_identity_fails(capsys):
    assert main(["prove", "1257", "1233", "--wrong", "1257"]) == 1
    out = capsys.readouterr().out
    assert "[FAILED] (47.1257)" in out and "[proven] (47.1233)" in out
    assert "1 identities proven, 1 FAILED" in out


class _TransposedV(prove.SymbolicNetwork):
    """V^(d,d',c+1) replaced by its transpose: the same size here (P'_1 = P_2 = 4), wrong."""

    def V_ddc(self, c_next, d, d2):
        return super().V_ddc(c_next, d, d2).T.copy()


def test_a_wrong_formula_is_caught():
    report = prove.run_proofs(only=["47.1257", "47.1258"], snet=_TransposedV())
    assert not report.ok and report.n_proven == 0
    assert "differ" in report.lines()[0]


def test_max_pooling_is_refused():
    import sayedcnn as sc

    net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2, pool=("max", 2))], outputs=2)
    with pytest.raises(ValueError, match="differentiable pooling"):
        prove.SymbolicNetwork(net)


def test_unknown_number_exits_2(capsys):
    assert main(["prove", "1200"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_without_sympy_exit_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sympy", None)
    assert main(["prove"]) == 2
    err = capsys.readouterr().err
    assert "sympy" in err and len(err.strip().splitlines()) == 1


def test_import_needs_no_sympy():
    code = ("import sys, sayedcnn, sayedcnn.teaching.show, sayedcnn.teaching.explain, "
            "sayedcnn.teaching.exercises, sayedcnn.teaching.prove; "
            "assert 'sympy' not in sys.modules, 'sympy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert np.isfinite(1.0)
