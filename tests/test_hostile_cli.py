"""The command line under a user's mistakes, interruptions and diverging runs: one line naming
the problem and exit status 2 (never a traceback), nothing overwritten by accident, and
messages that say what is really on disk."""

import os
import re
import signal
import struct
import subprocess
import sys

import numpy as np
import pytest

import sayedcnn.app.checkpoint as ckpt
import sayedcnn.app.commands.train as train_cmd
from sayedcnn.app.checkpoint import load_checkpoint
from sayedcnn.app.cli import main
from sayedcnn.interop.io import load_params

TINY = ["train", "--dataset", "digits", "--train-size", "64", "--test-size", "20",
        "--batch-size", "16", "--no-plots", "--no-check", "--seed", "3"]


def _status(argv):
    """Exit status of ``main(argv)``, counting argparse's SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _one_line_error(capsys, status, want=2):
    err = capsys.readouterr().err
    assert status == want, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def _bad_outs(tmp_path):
    (tmp_path / "file").write_text("x")
    for name in ("checkpoint.npz", "params.npz", "history.json"):
        (tmp_path / f"has-{name}" / name).mkdir(parents=True)
    return {
        "out-is-a-file": (str(tmp_path / "file"), r"--out .*file is a file, not a folder"),
        "out-under-a-file": (str(tmp_path / "file" / "run"),
                             r"--out .*run: cannot create the folder \(Not a directory\)"),
        "out-empty": ("", r"--out must name a folder, got ''"),
        "out-on-proc": ("/proc/sayedcnn-run", r"--out /proc/sayedcnn-run: cannot create"),
        **{f"{name}-is-a-folder": (str(tmp_path / f"has-{name}"),
                                   rf"{re.escape(name)} there is a folder, but the run writes "
                                   rf"a file of that name")
           for name in ("checkpoint.npz", "params.npz", "history.json")},
    }


OUT_CASES = ["out-is-a-file", "out-under-a-file", "out-empty", "out-on-proc",
             "checkpoint.npz-is-a-folder", "params.npz-is-a-folder",
             "history.json-is-a-folder"]


@pytest.mark.parametrize("case", OUT_CASES)
def test_a_bad_out_is_one_line_exit_2_before_the_data_are_loaded(tmp_path, capsys,
                                                                  monkeypatch, case):
    """--out that cannot hold the run is refused in one line before anything is loaded."""
    out, match = _bad_outs(tmp_path)[case]
    loaded = []
    monkeypatch.setattr(train_cmd, "_load", lambda name: loaded.append(name))
    line = _one_line_error(capsys, _status([*TINY, "--out", out]))
    assert re.search(match, line), line
    assert loaded == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        line = _one_line_error(capsys, _status([*TINY, "--out", str(ro)]))
    finally:
        ro.chmod(0o755)
    assert "cannot write into the folder" in line


@pytest.mark.parametrize("extra, match", [
    (["--hidden", "0"], r"--hidden sizes n_2 \.\. n_\(L-1\) \(47\.1221f\) must be >= 1, got 0"),
    (["--hidden", "-1"], r"--hidden sizes .* must be >= 1, got -1"),
    (["--seed", "-1"], r"--seed must be >= 0, got -1"),
    (["--mask", "100"], r"--mask 100 is larger than the 8 x 8 images of digits; it must be "
                        r"at most 8"),
    (["--hidden", "100000"], r"network of [\d,]+ parameters \(47\.1224\); train builds at "
                                r"most 10,000,000"),
    (["--rho1", "1e308"], r"--rho1 1e\+308 with --mu 0\.1: every step \(47\.1276\) multiplies "
                          r"the masks W_c by 1 - 2 mu rho_1 = .*mu \* rho_1 must be < 1"),
    (["--rho2", "20"], r"--rho2 20 .* the weights W_l .* mu \* rho_2 must be < 1"),
    (["--dpi", "5"], r"--dpi must lie in 20\.\.600, got 5"),
    (["--epochs", "abc"], r"argument --epochs: invalid int value: 'abc'"),
    (["--loss", "hinge"], r"argument --loss: invalid choice: 'hinge'"),
], ids=["hidden-0", "hidden-negative", "seed-negative", "mask-100", "hidden-huge",
        "rho1-huge", "rho2-unstable", "dpi", "epochs-not-a-number", "loss-unknown"])
def test_bad_train_settings_are_one_line_exit_2(tmp_path, capsys, extra, match):
    """Each bad setting: one line naming the option (and the equation), exit status 2,
    nothing written."""
    line = _one_line_error(capsys, _status([*TINY, "--out", str(tmp_path / "o"), *extra]))
    assert re.search(match, line), line
    assert not (tmp_path / "o" / "params.npz").exists()


@pytest.mark.parametrize("argv, match", [
    (["check", "--seed", "-1"], r"--seed must be >= 0, got -1"),
    (["check", "--tol", "nan"], r"--tol must be a finite tolerance > 0, got nan"),
    (["check", "--tol-fd", "0"], r"--tol-fd must be a finite tolerance > 0"),
    (["errata", "--write", "/proc/sayedcnn-x"], r"sayedcnn errata: /proc/sayedcnn-x: "),
    (["nosuchcommand"], r"invalid choice: 'nosuchcommand'"),
], ids=["check-seed", "check-tol-nan", "check-tol-fd-zero", "errata-write-proc", "command"])
def test_other_commands_report_mistakes_in_one_line(capsys, argv, match):
    line = _one_line_error(capsys, _status(argv))
    assert re.search(match, line), line


def test_golden_out_that_is_a_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "traces"
    f.write_text("x")
    line = _one_line_error(capsys, _status(["golden", "--out", str(f)]))
    assert str(f) in line and line.startswith("sayedcnn golden: ")


def test_ctrl_c_during_start_up_is_one_line_exit_130(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the data load: exit 130, one line, nothing written."""
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_cmd, "_load", interrupted)
    line = _one_line_error(capsys, _status([*TINY, "--out", str(tmp_path)]), want=130)
    assert "interrupted before training began" in line
    assert not (tmp_path / "checkpoint.npz").exists()


def test_ctrl_c_while_the_commands_are_imported_is_one_line(capsys, monkeypatch):
    import sayedcnn.app.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    line = _one_line_error(capsys, _status(["train"]), want=130)
    assert "interrupted during start-up" in line


def test_a_real_process_never_prints_a_traceback_for_a_bad_out(tmp_path):
    """The console entry point itself (a subprocess): one line, exit status 2."""
    f = tmp_path / "file"
    f.write_text("x")
    res = subprocess.run([sys.executable, "-m", "sayedcnn", *TINY, "--out", str(f)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------
# Runs that meet other runs, resume, stop, diverge
# ---------------------------------------------------------------------------


def test_another_runs_folder_is_refused_without_resume_or_force(tmp_path, capsys):
    """A second run into a folder holding a run: refused (exit 2), the first checkpoint
    untouched; --force starts over."""
    out = tmp_path / "run"
    assert main([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    before = (out / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    line = _one_line_error(capsys, _status([*TINY, "--epochs", "1", "--out", str(out)]))
    assert "holds another run (checkpoint.npz, params.npz)" in line
    assert "--resume" in line and "--force" in line
    assert (out / "checkpoint.npz").read_bytes() == before
    assert main([*TINY, "--epochs", "1", "--out", str(out), "--force"]) == 0
    assert load_checkpoint(out / "checkpoint.npz").epoch == 1


def test_resume_with_fewer_epochs_than_the_checkpoint_says_what_it_did(tmp_path, capsys):
    """--resume --epochs 1 on a 3-epoch checkpoint trains nothing, says so, and reports the
    checkpoint's parameters (epoch 3)."""
    out = tmp_path / "run"
    assert main([*TINY, "--epochs", "3", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main([*TINY, "--epochs", "1", "--out", str(out), "--resume"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"already holds 3 complete epochs, as many as or more than --epochs 1: "
                     r"nothing to train", text)
    assert "training by (47.1276)" not in text
    ck = load_checkpoint(out / "checkpoint.npz")
    assert ck.epoch == 3
    assert load_params(out / "params.npz")[1].max_rel_diff(ck.params) == 0.0


def test_resume_says_which_epochs_it_trains(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main([*TINY, "--epochs", "3", "--out", str(out), "--resume"]) == 0
    assert "holds 1 complete epochs; training epochs 2..3" in capsys.readouterr().out


def test_ctrl_c_while_a_checkpoint_is_written_names_the_epoch_on_disk(tmp_path, capsys,
                                                                      monkeypatch):
    """SIGINT arrives while the checkpoint of epoch 2 is being written: the write completes,
    and the message names epoch 2, the state really on disk (not epoch 1)."""
    real = ckpt.save_params

    def save_with_sigint(path, net, params, meta=None):
        if meta["checkpoint"]["epoch"] == 2:
            os.kill(os.getpid(), signal.SIGINT)  # held until the file is complete
        return real(path, net, params, meta=meta)

    monkeypatch.setattr(ckpt, "save_params", save_with_sigint)
    out = tmp_path / "run"
    status = main([*TINY, "--epochs", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 130, err
    assert "holds the state after epoch 2 of 3" in err
    assert load_checkpoint(out / "checkpoint.npz").epoch == 2


def test_a_diverging_run_stops_non_zero_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    """--mu 1e6: the risk explodes in the first epoch; exit status 1, a message naming the
    risk (47.1229) and --mu, and the checkpoint of the initial parameters kept (finite)."""
    out = tmp_path / "run"
    status = main([*TINY, "--epochs", "3", "--mu", "1e6", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1, err
    assert re.search(r"training diverged: the risk \(47\.1229\) of mini-batch \d+ of epoch 1", err)
    assert "keeps the parameters after epoch 0" in err and "smaller --mu" in err
    assert "Traceback" not in err
    ck = load_checkpoint(out / "checkpoint.npz")
    assert ck.epoch == 0 and np.all(np.isfinite(ck.params.to_vector()))
    assert not (out / "params.npz").exists()


def test_a_loss_that_stops_being_finite_stops_the_run(tmp_path, capsys, monkeypatch):
    """A non-finite batch risk (here injected into the second mini-batch of epoch 2) stops
    the run with exit 1 and keeps the checkpoint of epoch 1."""
    real = ckpt.fit_with_checkpoints

    def nan_second_epoch(*args, batch_callback=None, **kw):
        def cb(epoch, step, steps, loss, correct, size):
            if (epoch, step) == (2, 2):
                loss = float("nan")
            return batch_callback(epoch, step, steps, loss, correct, size)
        return real(*args, batch_callback=cb, **kw)

    monkeypatch.setattr(ckpt, "fit_with_checkpoints", nan_second_epoch)
    out = tmp_path / "run"
    status = main([*TINY, "--epochs", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "of mini-batch 2 of epoch 2 is nan" in err
    assert load_checkpoint(out / "checkpoint.npz").epoch == 1


# ---------------------------------------------------------------------------
# What a newcomer sees: --dpi, the gradient-check lines
# ---------------------------------------------------------------------------


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_dpi_sets_the_resolution_of_the_figures(tmp_path):
    """--dpi 20 and --dpi 40 draw the same figures at half and full pixel size."""
    pytest.importorskip("matplotlib")
    small, large = tmp_path / "s", tmp_path / "l"
    base = [a for a in TINY if a != "--no-plots"] + ["--epochs", "1"]
    assert main([*base, "--out", str(small), "--dpi", "20"]) == 0
    assert main([*base, "--out", str(large), "--dpi", "40"]) == 0
    for name in ("learning_curves.png", "masks_layer1.png", "feature_maps.png"):
        (ws, hs), (wl, hl) = _png_size(small / name), _png_size(large / name)
        assert abs(wl - 2 * ws) <= 2 and abs(hl - 2 * hs) <= 2, name
        assert not [n for n in os.listdir(large) if n.endswith(".tmp")]


def test_the_gradient_check_fits_80_columns(tmp_path, capsys):
    """Every line of the pre-training check is at most 80 characters wide."""
    argv = [a for a in TINY if a != "--no-check"]
    assert main([*argv, "--epochs", "0", "--check-batch", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    start = next(i for i, ln in enumerate(out) if ln.startswith("gradient check"))
    end = next(i for i, ln in enumerate(out) if "(tolerances:" in ln)
    block = out[start:end + 1]
    assert len(block) >= 6
    assert max(len(ln) for ln in block) <= 80, block
