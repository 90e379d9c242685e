"""python -m sayedcnn explain: every number it lists runs, exits 0 and its checks hold; a
corrupted quantity makes its check fail; unknown numbers exit 2 in one line."""

import numpy as np
import pytest

from sayedcnn.app.cli import main
from sayedcnn.teaching import explain as ex


def test_list_names_the_forward_and_training_listings(capsys):
    assert main(["explain", "--list"]) == 0
    out = capsys.readouterr().out
    want = ["47.1216"] + [f"47.{n}" for n in range(1233, 1277)]
    assert ex.numbers() == want
    for eq in want:
        assert f"({eq})" in out
    assert f"{len(want)} equations" in out


@pytest.mark.parametrize("eq", ex.numbers())
def test_every_listed_number_exits_0_and_its_check_holds(eq, capsys):
    assert main(["explain", eq]) == 0
    out = capsys.readouterr().out
    checks = [line for line in out.splitlines() if line.startswith("check:")]
    assert checks and all(line.endswith(" ok") for line in checks)
    assert "FAILED" not in out
    assert out.startswith(f"({eq})") and "$$" in out


@pytest.mark.parametrize("eq", ["47.1245", "47.1257", "47.1262", "47.1271", "47.1276"])
def test_other_seeds(eq):
    text, ok = ex.explain(eq, seed=5)
    assert ok, text
    assert text != ex.explain(eq, seed=6)[0]


def test_a_wrong_sensitivity_fails_its_check():
    ctx = ex.Context(seed=0)
    ctx.sens.delta_ff[ctx.net.L] = 1.01 * ctx.sens.delta_ff[ctx.net.L]
    _, checks = ex.STEPS["47.1233"].run(ctx)
    assert any(diff > tol for _, diff, tol in checks)
    ctx = ex.Context(seed=0)
    ctx.sens.V[1, 1, 2] = ctx.sens.V[1, 1, 2].T.tocsr()  # the transpose is not (47.1257)
    _, checks = ex.STEPS["47.1257"].run(ctx)
    assert any(diff > tol for _, diff, tol in checks)


@pytest.mark.parametrize("argv, msg", [(["explain", "9999"], "explain knows"),
                                       (["explain"], "give an equation number"),
                                       (["explain", "1257", "--seed", "-1"], "--seed")])
def test_errors_exit_2_in_one_line(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1


def test_normalise():
    assert ex.normalise("(47.1257)") == ex.normalise("1257") == "47.1257"
    with pytest.raises(ValueError, match="explain knows"):
        ex.normalise("47.1200")
    assert np.isfinite(len(ex.STEPS))
