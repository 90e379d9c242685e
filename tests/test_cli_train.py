"""``python -m sayedcnn train`` on tiny settings, its progress bar, its parameter files
(:mod:`sayedcnn.interop.io`) and the README's API example."""

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import sayedcnn.fused as fused
from sayedcnn import Conv, Network, Pooling
from sayedcnn.app.cli import main
from sayedcnn.app.commands.train import build_network, confusion_matrix
from sayedcnn.app.progress import ProgressBar
from sayedcnn.interop.io import load_params, network_from_dict, network_to_dict, save_params

PNG = b"\x89PNG\r\n\x1a\n"
TINY = ["train", "--dataset", "digits", "--epochs", "1", "--train-size", "96",
        "--test-size", "40", "--batch-size", "16", "--check-batch", "1"]
README = Path(__file__).resolve().parents[1] / "README.md"


def _train(tmp_path, *extra):
    return main([*TINY, "--out", str(tmp_path), *extra])


def test_train_tiny_writes_parameters_history_and_figures(tmp_path, capsys):
    """Exit status 0; params.npz, history.json, history.csv and three valid PNGs written."""
    pytest.importorskip("matplotlib")
    assert _train(tmp_path) == 0
    out = capsys.readouterr().out
    assert "largest relative difference" in out
    assert "test accuracy" in out and "confusion matrix" in out
    for name in ("learning_curves.png", "masks_layer1.png", "feature_maps.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG, name
        assert len(data) > 1000, name
    hist = json.loads((tmp_path / "history.json").read_text())
    assert hist["history"]["epoch"] == [1]
    assert hist["n_train"] == 96 and hist["n_test"] == 40
    assert 0.0 <= hist["test_acc"] <= 1.0
    assert np.sum(hist["confusion"]) == 40
    assert hist["check"]["agree"] is True
    rows = list(csv.reader((tmp_path / "history.csv").open()))
    assert rows[0] == ["epoch", "loss", "train_acc", "test_acc", "seconds"]
    assert len(rows) == 2
    desc, params, meta = load_params(tmp_path / "params.npz", with_meta=True)
    net = network_from_dict(desc)
    assert net.C == 2 and net.input_shape == (8, 8) and net.Q == 10
    assert meta["config"]["epochs"] == 1
    assert_allclose(meta["test_acc"], hist["test_acc"], rtol=0, atol=0)


def test_train_progress_is_plain_lines_when_not_a_tty(tmp_path, capsys):
    """Captured output is not a terminal: no carriage returns, one 'done' line per epoch,
    and at most ~10 intermediate lines for the whole run."""
    assert _train(tmp_path, "--no-plots", "--epochs", "2") == 0
    out = capsys.readouterr().out
    assert "\r" not in out
    assert len(re.findall(r"^epoch \d/2 done: loss", out, flags=re.M)) == 2
    partial = re.findall(r"^epoch \d/2 +\d+% \(\d+/\d+ batches\)", out, flags=re.M)
    assert 1 <= len(partial) <= 10


def test_train_is_deterministic_for_a_seed(tmp_path):
    """The same seed gives the same parameters, bit for bit; another seed does not."""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d, seed in ((a, "3"), (b, "3"), (c, "4")):
        assert _train(d, "--no-plots", "--no-check", "--seed", seed) == 0
    pa, pb, pc = (load_params(d / "params.npz")[1] for d in (a, b, c))
    assert_array_equal(pa.to_vector(), pb.to_vector())
    assert np.max(np.abs(pa.to_vector() - pc.to_vector())) > 1e-3


def test_train_by_the_listing_matches_the_fused_path(tmp_path):
    """Training by the listing (47.1275) sample by sample and by the fused path give the same
    parameters after the same mini-batch steps (47.1276), to rounding error."""
    common = ["--train-size", "24", "--no-plots", "--no-check", "--seed", "2"]
    assert _train(tmp_path / "l", "--method", "listing", *common) == 0
    assert _train(tmp_path / "f", "--method", "fused", *common) == 0
    pl = load_params(tmp_path / "l" / "params.npz")[1].to_vector()
    pf = load_params(tmp_path / "f" / "params.npz")[1].to_vector()
    assert_allclose(pl, pf, rtol=0, atol=1e-12 * np.max(np.abs(pf)))


def test_train_without_matplotlib_skips_figures(tmp_path, capsys, monkeypatch):
    """With matplotlib unimportable the run still succeeds and says figures were skipped."""
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert _train(tmp_path, "--no-check") == 0
    assert "figures skipped" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.png"))
    assert (tmp_path / "params.npz").exists()


def test_train_stops_when_the_implementations_disagree(tmp_path, capsys, monkeypatch):
    """A fused path off by 1% fails the pre-training check: exit status 1, no training."""
    real = fused.gradients_fused

    def skewed(*a, **k):
        g = real(*a, **k)
        return g * 1.01 if not isinstance(g, tuple) else (g[0] * 1.01, *g[1:])

    monkeypatch.setattr(fused, "gradients_fused", skewed)
    assert _train(tmp_path) == 1
    captured = capsys.readouterr()
    assert "DISAGREE" in captured.out
    assert "not training" in captured.err
    assert not (tmp_path / "params.npz").exists()


@pytest.mark.parametrize("args, match", [
    (["--mu", "0"], "--mu"),
    (["--rho1", "-1"], "--rho1"),
    (["--batch-size", "0"], "--batch-size"),
    (["--depths", "0"], "--depths"),
])
def test_train_rejects_bad_settings(tmp_path, capsys, args, match):
    """Bad settings: exit status 2 and a message naming the option."""
    assert _train(tmp_path, *args) == 2
    assert match in capsys.readouterr().err


def test_confusion_matrix_counts():
    """M[i, j] counts images of class i predicted as j; the trace counts the hits."""
    M = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert_array_equal(M, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_build_network_pools_while_the_map_allows():
    """8x8 input, two 2x2 max-poolings: maps 8x8 -> 4x4 -> 2x2, n_1 = D_2 * 4 (47.1217)."""
    net = build_network((8, 8), [3, 5], 3, [7], "tanh", "quadratic")
    assert [ly.map_shape for ly in net.layers] == [(8, 8), (4, 4)]
    assert net.n[1:] == [5 * 4, 7, 10]
    assert net.output_activation.name == "sigmoid"


# ---------------------------------------------------------------------------
# progress bar
# ---------------------------------------------------------------------------


def test_progress_tty_redraws_in_place():
    """On a terminal each update starts with a carriage return; the epoch line ends in a
    newline."""
    s = io.StringIO()
    bar = ProgressBar(2, 4, stream=s, tty=True, width=8)
    for k in range(1, 5):
        bar.update(1, k, loss=0.5)
    bar.end_epoch(1, loss=0.25)
    text = s.getvalue()
    assert text.count("\r") == 5
    assert text.count("\n") == 1
    assert "[########]" in text and "epoch 1/2 done: loss 0.2500" in text


def test_progress_plain_prints_one_line_per_tenth():
    """Not a terminal: 100 steps in one epoch give 9 lines at 10%..90% and the epoch line."""
    s = io.StringIO()
    bar = ProgressBar(1, 100, stream=s)  # StringIO is not a TTY
    for k in range(1, 101):
        bar.update(1, k, acc=0.5)
    bar.end_epoch(1, acc=0.5)
    lines = s.getvalue().splitlines()
    assert "\r" not in s.getvalue()
    assert len(lines) == 10
    assert lines[0].startswith("epoch 1/1  10% (10/100 batches) acc 0.5000")
    assert lines[-1].startswith("epoch 1/1 done: acc 0.5000")


# ---------------------------------------------------------------------------
# parameter files
# ---------------------------------------------------------------------------


def _odd_network():
    return Network(
        (7, 6), input_depth=2,
        conv=[Conv(3, (3, 2), "valid", 1, "tanh", {"kind": "correlation", "block": (2, 2),
                                                    "mask": [0.5, -1.0, 2.0, 0.25]}),
              Conv(2, 2, 1, (1, 2), "relu", None, connections=[[0], [1, 2]]),
              Conv(2, 1, "same", 1, "sigmoid",
                   Pooling("max", regions=[[0, 1], [1, 2, 3]], P=6))],
        hidden=[4, 3], outputs=3, hidden_activation=["relu", "tanh"],
        output_activation="linear", loss="quadratic")


def test_network_dict_round_trip_gives_the_same_network():
    """network_from_dict(network_to_dict(net)) has the same sizes and the same forward map
    (47.1216), for masks, padding, strides, connection tables (47.1213) and pooling by
    blocks, by regions and by correlation."""
    net = _odd_network()
    d = network_to_dict(net)
    assert json.loads(json.dumps(d)) == d  # JSON-able
    net2 = network_from_dict(json.loads(json.dumps(d)))
    assert net2.sizes() == net.sizes()
    p = net.init(5, bias_scale=0.3)
    X = np.random.default_rng(0).standard_normal((3, 2, 7, 6))
    assert_allclose(net2.predict(p, X), net.predict(p, X), rtol=0, atol=1e-15)
    assert network_to_dict(net2) == d


def test_save_and_load_params_round_trip(tmp_path):
    """Every array comes back exactly, named by group and book layer number, with no
    pickled objects in the file."""
    net = _odd_network()
    p = net.init(1, bias_scale=0.2)
    path = save_params(tmp_path / "p", net, p, meta={"note": "x", "n": np.int64(3)})
    assert path.endswith(".npz")
    with np.load(path, allow_pickle=False) as z:
        assert {"W_conv_1", "Theta_conv_3", "W_ff_3", "theta_ff_1", "network"} <= set(z.files)
        assert z["W_conv_2"].shape == (4 * 3, 2)  # S_2 D_1 x D_2, 2x2 mask (47.1224a)
    desc, q, meta = load_params(path, with_meta=True)
    assert desc == network_to_dict(net)
    assert meta == {"note": "x", "n": 3}
    assert_array_equal(q.to_vector(), p.to_vector())


def test_load_params_rejects_foreign_files(tmp_path):
    """A plain npz without a network description is refused by name."""
    np.savez(tmp_path / "x.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="no 'network' entry"):
        load_params(tmp_path / "x.npz")


def test_load_params_checks_shapes_against_the_network(tmp_path):
    """A parameter of the wrong shape is reported with the book's size (47.1224a)."""
    net = build_network((8, 8), [2], 3, [], "relu")
    p = net.init(0)
    path = save_params(tmp_path / "p.npz", net, p)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["W_conv_1"] = arrays["W_conv_1"][:-1]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"W_conv\[1\] must be S_1\*D_0 x D_1"):
        load_params(tmp_path / "bad.npz")


# ---------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------


def test_readme_api_example_runs(capsys):
    """The README's python example runs as printed and shows agreement of the listing
    (47.1275) with the loops to rounding error."""
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert float(printed[-1]) < 1e-12
