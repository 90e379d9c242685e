"""Training that survives interruption (:mod:`sayedcnn.app.checkpoint`): a checkpoint after
every epoch of (47.1276), Ctrl-C keeps the last complete epoch, and a resumed run equals an
uninterrupted one with the same seed, bit for bit."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import sayedcnn.app.checkpoint as ckm
import sayedcnn.sgd as training
from sayedcnn import Conv, Network
from sayedcnn.app.checkpoint import (
    TrainingInterrupted,
    fit_with_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from sayedcnn.app.cli import main
from sayedcnn.interop.io import load_params, save_params

KW = dict(batch_size=4, mu=0.2, seed=7)


def _problem(loss="cross_entropy"):
    net = Network((6, 6), 1, [Conv(2, 3, "same", 1, "relu", ("max", 2))], [5], 3, loss=loss)
    rng = np.random.default_rng(0)
    X = rng.random((18, 1, 6, 6))
    y = rng.integers(0, 3, 18)
    return net, net.init(0, bias_scale=0.1), X, y


def _stop_after(k):
    def callback(epoch, params, history):
        if epoch == k:
            raise KeyboardInterrupt
    return callback


def test_fit_draws_each_epoch_order_from_seed_and_epoch_alone():
    """The premise of exact resumption: fit over epochs e..E from the parameters after
    epoch e equals the tail of one run over 1..E (order from default_rng([seed, e]))."""
    net, p, X, y = _problem()
    p2, h2 = training.fit(net, p, X, y, epochs=2, **KW)
    p4, h4 = training.fit(net, p, X, y, epochs=4, **KW)
    q4, g4 = training.fit(net, p2, X, y, epochs=2, start_epoch=2, history=h2, **KW)
    assert q4.max_rel_diff(p4) == 0.0
    assert g4["loss"] == h4["loss"] and g4["epoch"] == [1, 2, 3, 4]


@pytest.mark.parametrize("k", [1, 3])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, k):
    """Ctrl-C after epoch k: the checkpoint holds epoch k; resuming gives the parameters
    and the losses of an uninterrupted 4-epoch run exactly (max_rel_diff == 0)."""
    net, p, X, y = _problem()
    want, hist = training.fit(net, p, X, y, epochs=4, **KW)
    path = tmp_path / "ck.npz"
    with pytest.raises(TrainingInterrupted) as info:
        fit_with_checkpoints(net, p, X, y, path, epochs=4, callback=_stop_after(k), **KW)
    assert info.value.epoch == k and isinstance(info.value, KeyboardInterrupt)
    ck = load_checkpoint(path)
    assert ck.epoch == k and ck.history["epoch"] == list(range(1, k + 1))
    assert ck.params.max_rel_diff(info.value.params) == 0.0
    got, h = fit_with_checkpoints(net, p, X, y, path, resume=True, epochs=4, **KW)
    assert got.max_rel_diff(want) == 0.0
    assert h["loss"] == hist["loss"] and h["train_acc"] == hist["train_acc"]
    assert load_checkpoint(path).epoch == 4


def test_sigint_to_a_training_process_then_resume_equals_uninterrupted(tmp_path):
    """A real SIGINT to a process in the middle of epoch 3 stops it with exit status 130
    and the checkpoint of epoch 2 on disk; resuming it here gives exactly the parameters of
    an uninterrupted run."""
    path = tmp_path / "ck.npz"
    ready = tmp_path / "ready"
    code = textwrap.dedent(f"""
        import signal, sys, time
        import numpy as np
        # as in a terminal, even when the test run itself was started with SIGINT ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from sayedcnn import Conv, Network
        from sayedcnn.app.checkpoint import TrainingInterrupted, fit_with_checkpoints
        net = Network((6, 6), 1, [Conv(2, 3, "same", 1, "relu", ("max", 2))], [5], 3,
                      loss="cross_entropy")
        rng = np.random.default_rng(0)
        X = rng.random((18, 1, 6, 6)); y = rng.integers(0, 3, 18)
        p = net.init(0, bias_scale=0.1)
        def on_batch(epoch, step, steps, loss, correct, size):
            if epoch == 3 and step == 2:
                open({str(ready)!r}, "w").close()
                time.sleep(60)  # the SIGINT arrives here
        try:
            fit_with_checkpoints(net, p, X, y, {str(path)!r}, epochs=4, batch_size=4,
                                 mu=0.2, seed=7, batch_callback=on_batch)
        except TrainingInterrupted as e:
            print("stopped after", e.epoch)
            sys.exit(130)
        sys.exit(1)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the training process never reached epoch 3"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "stopped after 2" in out
    assert load_checkpoint(path).epoch == 2
    net, p, X, y = _problem()
    want, _ = training.fit(net, p, X, y, epochs=4, **KW)
    got, _ = fit_with_checkpoints(net, p, X, y, path, resume=True, epochs=4, **KW)
    assert got.max_rel_diff(want) == 0.0


def test_resume_can_extend_a_finished_run(tmp_path):
    """A run of 2 epochs resumed with epochs=5 equals one run of 5 epochs."""
    net, p, X, y = _problem("quadratic")
    path = tmp_path / "ck.npz"
    fit_with_checkpoints(net, p, X, y, path, epochs=2, **KW)
    got, h = fit_with_checkpoints(net, p, X, y, path, resume=True, epochs=5, **KW)
    want, hw = training.fit(net, p, X, y, epochs=5, **KW)
    assert got.max_rel_diff(want) == 0.0 and h["loss"] == hw["loss"]


def test_resume_without_a_checkpoint_starts_from_the_given_parameters(tmp_path):
    """resume=True and no file: the run starts from params (the same as fit) and writes a
    checkpoint after its last epoch."""
    net, p, X, y = _problem()
    got, _ = fit_with_checkpoints(net, p, X, y, tmp_path / "ck", resume=True, epochs=2, **KW)
    want, _ = training.fit(net, p, X, y, epochs=2, **KW)
    assert got.max_rel_diff(want) == 0.0
    assert load_checkpoint(tmp_path / "ck.npz").epoch == 2


def test_checkpoint_is_written_before_the_first_epoch(tmp_path):
    """Interrupted in epoch 1, the checkpoint holds epoch 0: the initial parameters."""
    net, p, X, y = _problem()

    def stop_at_once(epoch, step, steps, loss, correct, size):
        raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as info:
        fit_with_checkpoints(net, p, X, y, tmp_path / "ck.npz", epochs=3,
                             batch_callback=stop_at_once, **KW)
    assert info.value.epoch == 0
    ck = load_checkpoint(tmp_path / "ck.npz")
    assert ck.epoch == 0 and ck.history["epoch"] == []
    assert ck.params.max_rel_diff(p) == 0.0


@pytest.mark.parametrize("change, match", [
    (dict(batch_size=5), r"batch_size: checkpoint 4, now 5"),
    (dict(mu=0.3), r"mu: checkpoint 0\.2, now 0\.3"),
    (dict(seed=8), r"seed: checkpoint 7, now 8"),
    (dict(method="listing"), r"method: checkpoint 'fused', now 'listing'"),
], ids=["batch_size", "mu", "seed", "method"])
def test_resume_with_other_settings_is_refused(tmp_path, change, match):
    """A resumed run must repeat the interrupted one: changed settings are named."""
    net, p, X, y = _problem()
    fit_with_checkpoints(net, p, X, y, tmp_path / "ck.npz", epochs=1, **KW)
    with pytest.raises(ValueError, match=r"cannot resume .*" + match):
        fit_with_checkpoints(net, p, X, y, tmp_path / "ck.npz", resume=True, epochs=2,
                             **{**KW, **change})


def test_resume_with_other_data_or_architecture_is_refused(tmp_path):
    """Other training images, or another network, cannot continue a checkpoint."""
    net, p, X, y = _problem()
    fit_with_checkpoints(net, p, X, y, tmp_path / "ck.npz", epochs=1, **KW)
    with pytest.raises(ValueError, match=r"cannot resume .*data: checkpoint"):
        fit_with_checkpoints(net, p, X[::-1], y, tmp_path / "ck.npz", resume=True,
                             epochs=2, **KW)
    other = Network((6, 6), 1, [Conv(3, 3, "same", 1, "relu", ("max", 2))], [5], 3,
                    loss="cross_entropy")
    with pytest.raises(ValueError, match=r"written for another architecture"):
        fit_with_checkpoints(other, other.init(0), X, y, tmp_path / "ck.npz", resume=True,
                             epochs=2, **KW)


def test_fit_with_checkpoints_rejects_arguments_it_manages(tmp_path):
    """start_epoch and history come from the checkpoint, never from the caller."""
    net, p, X, y = _problem()
    for kw in (dict(start_epoch=1), dict(history={})):
        with pytest.raises(TypeError, match=r"manages '(start_epoch|history)' itself"):
            fit_with_checkpoints(net, p, X, y, tmp_path / "ck.npz", **kw)


def test_checkpoint_round_trip_and_plain_parameter_files(tmp_path):
    """save_checkpoint / load_checkpoint keep epoch, history (NaN included) and config; a
    checkpoint is a parameter file too; a plain parameter file is not a checkpoint."""
    net, p, X, y = _problem()
    hist = {"epoch": [1, 2], "loss": [1.25, 0.5], "train_acc": [0.5, 0.75],
            "val_acc": [float("nan")] * 2, "seconds": [0.1, 0.2]}
    path = save_checkpoint(tmp_path / "ck", net, p, hist, 2, {"dataset": "digits"})
    ck = load_checkpoint(path)
    assert ck.epoch == 2 and ck.config == {"dataset": "digits"}
    assert ck.history["loss"] == hist["loss"] and np.isnan(ck.history["val_acc"]).all()
    assert_array_equal(load_params(path)[1].to_vector(), p.to_vector())
    plain = save_params(tmp_path / "plain.npz", net, p)
    with pytest.raises(ValueError, match=r"without training state .*not a checkpoint"):
        load_checkpoint(plain)
    with pytest.raises(ValueError, match=r"history holds 2 epochs but epoch = 1"):
        save_checkpoint(tmp_path / "x", net, p, hist, 1)


def test_ctrl_c_while_a_checkpoint_is_written_waits_for_the_complete_file(tmp_path,
                                                                        monkeypatch):
    """A SIGINT that arrives during the write is held until the file is whole, then raised:
    the file on disk is the new, complete checkpoint."""
    # Ctrl-C as in a terminal, even when the test run was started with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupted_write(tmp_path, monkeypatch)
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted_write(tmp_path, monkeypatch):
    net, p, X, y = _problem()
    real = ckm.save_params

    def interrupted_save(*args, **kw):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the signal is delivered here, inside the write
        return real(*args, **kw)

    monkeypatch.setattr(ckm, "save_params", interrupted_save)
    hist = {"epoch": [1], "loss": [1.0], "train_acc": [0.5], "val_acc": [0.5],
            "seconds": [0.1]}
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "ck.npz", net, p, hist, 1)
    assert load_checkpoint(tmp_path / "ck.npz").epoch == 1
    assert os.listdir(tmp_path) == ["ck.npz"]


# ---------------------------------------------------------------------------
# python -m sayedcnn train --resume
# ---------------------------------------------------------------------------

TINY = ["train", "--dataset", "digits", "--train-size", "64", "--test-size", "20",
        "--batch-size", "16", "--no-check", "--no-plots", "--seed", "3"]


def test_train_command_resume_equals_an_uninterrupted_run(tmp_path, capsys):
    """`train --epochs 1`, then `train --epochs 3 --resume` on the same folder, gives the
    parameters of `train --epochs 3` exactly; checkpoint.npz is written."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert main([*TINY, "--epochs", "1", "--out", str(a)]) == 0
    assert load_checkpoint(a / "checkpoint.npz").epoch == 1
    assert main([*TINY, "--epochs", "3", "--out", str(a), "--resume"]) == 0
    assert main([*TINY, "--epochs", "3", "--out", str(b)]) == 0
    pa, pb = (load_params(d / "params.npz")[1] for d in (a, b))
    assert pa.max_rel_diff(pb) == 0.0
    hist = json.loads((a / "history.json").read_text())["history"]
    assert hist["epoch"] == [1, 2, 3]


def test_train_command_ctrl_c_keeps_the_last_epoch_and_exits_130(tmp_path, capsys,
                                                                 monkeypatch):
    """Ctrl-C after epoch 1 of 3: exit status 130, a message that says how to resume, the
    checkpoint of epoch 1; then --resume finishes with the uninterrupted result."""
    real_fit = training.fit

    def fit_with_ctrl_c(*args, callback=None, **kw):
        def cb(epoch, params, history):
            out = callback(epoch, params, history)
            if epoch == 1:
                raise KeyboardInterrupt
            return out
        return real_fit(*args, callback=cb, **kw)

    monkeypatch.setattr(training, "fit", fit_with_ctrl_c)
    out = tmp_path / "run"
    assert main([*TINY, "--epochs", "3", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "holds the state after epoch 1 of 3" in err and "--resume" in err
    assert not (out / "params.npz").exists()
    monkeypatch.setattr(training, "fit", real_fit)
    assert main([*TINY, "--epochs", "3", "--out", str(out), "--resume"]) == 0
    assert main([*TINY, "--epochs", "3", "--out", str(tmp_path / "ref")]) == 0
    got, want = (load_params(d / "params.npz")[1] for d in (out, tmp_path / "ref"))
    assert got.max_rel_diff(want) == 0.0


def test_train_command_refuses_to_resume_other_settings(tmp_path, capsys):
    """--resume with another step size exits with status 2 and names the difference."""
    assert main([*TINY, "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert main([*TINY, "--epochs", "2", "--mu", "0.05", "--out", str(tmp_path),
                 "--resume"]) == 2
    assert "mu: checkpoint 0.1, now 0.05" in capsys.readouterr().err
