"""Files under hostile conditions: orphaned temporaries of killed writes are cleaned up,
every output is written atomically, and paths that cannot work fail with errors naming the
path the user gave (never a hidden temporary)."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import sayedcnn.interop.io as sio
from sayedcnn import Conv, Network
from sayedcnn.app.commands.train import _save_figure, _write_history
from sayedcnn.interop.io import (
    atomic_file,
    load_params,
    remove_orphan_temporaries,
    save_params,
    write_text_atomic,
)

NET = Network((6, 6), 1, [Conv(2, 3, pool=("max", 2))], [4], 3)


def _dead_pid():
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _orphan(folder, name="params.npz", pid=None, size=1000):
    pid = _dead_pid() if pid is None else pid
    path = folder / f".{name}.{pid}.k3j4h5g6.tmp"
    path.write_bytes(b"PK\x03\x04" + b"\0" * size)
    return path


def test_the_next_save_removes_orphans_of_killed_writes(tmp_path):
    """Temporaries left by dead processes go at the next save in the folder; the saved
    file is complete and the only file left."""
    for name in ("params.npz", "checkpoint.npz", "history.json"):
        _orphan(tmp_path, name)
    save_params(tmp_path / "params.npz", NET, NET.init(0))
    assert sorted(os.listdir(tmp_path)) == ["params.npz"]


def test_the_next_load_removes_orphans_too(tmp_path):
    """Loading a file in the folder also removes the orphans of dead writers."""
    path = save_params(tmp_path / "params.npz", NET, NET.init(0))
    orphan = _orphan(tmp_path)
    load_params(path)
    assert not orphan.exists()
    assert os.listdir(tmp_path) == ["params.npz"]


def test_temporaries_of_running_processes_are_left_alone(tmp_path):
    """A temporary whose writer still runs (this process, or another live one) is kept."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = _orphan(tmp_path, pid=sleeper.pid)
        ours = _orphan(tmp_path, "checkpoint.npz", pid=os.getpid())
        assert remove_orphan_temporaries(tmp_path) == []
        assert live.exists() and ours.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_orphan_temporaries(tmp_path) == [live.name]


def test_temporaries_of_older_releases_go_once_they_are_old(tmp_path):
    """A temporary without a process id is removed only when older than LEGACY_TEMP_AGE."""
    young = tmp_path / ".params.npz.a1b2c3d4.tmp"
    old = tmp_path / ".params.npz.e5f6g7h8.tmp"
    young.write_bytes(b"x")
    old.write_bytes(b"x")
    past = time.time() - 2 * sio.LEGACY_TEMP_AGE
    os.utime(old, (past, past))
    assert remove_orphan_temporaries(tmp_path) == [old.name]
    assert young.exists()


def test_other_files_are_never_removed(tmp_path):
    """Only names of the temporary pattern are candidates: user files stay."""
    keep = [".bashrc", "notes.tmp", ".params.npz", "params.npz.123.tmp", ".x.tmp.bak"]
    for name in keep:
        (tmp_path / name).write_text("mine")
    assert remove_orphan_temporaries(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == sorted(keep)


def test_load_params_on_a_folder_names_the_folder(tmp_path):
    """load_params of a folder: IsADirectoryError naming the user's path."""
    folder = tmp_path / "run.npz"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="it is a folder") as info:
        load_params(folder)
    assert info.value.filename == str(folder)


@pytest.mark.parametrize("where, exc, match", [
    ("missing/p.npz", FileNotFoundError, r"its folder .*missing does not exist"),
    ("afile/p.npz", FileNotFoundError, r"its folder .*afile is not a folder"),
    ("adir", IsADirectoryError, r"it is a folder"),
], ids=["missing-folder", "under-a-file", "onto-a-folder"])
def test_save_params_where_no_file_can_be_names_the_users_path(tmp_path, where, exc, match):
    """save_params into a missing folder, under a file, or onto a folder: the error names
    the path given, not a hidden temporary, and nothing is left behind."""
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.npz").mkdir()
    path = tmp_path / (where + ("" if where.endswith(".npz") else ".npz"))
    with pytest.raises(exc, match=match) as info:
        save_params(path, NET, NET.init(0))
    assert info.value.filename == str(path)
    assert ".tmp" not in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["adir.npz", "afile"]


def test_atomic_file_refuses_an_unknown_mode(tmp_path):
    with pytest.raises(ValueError, match=r"mode must be 'wb', 'w' or None, got 'a'"):
        with atomic_file(tmp_path / "x", "a"):
            pass  # pragma: no cover


def test_write_text_atomic_refuses_bytes(tmp_path):
    with pytest.raises(TypeError, match=r"text must be a str, got bytes"):
        write_text_atomic(tmp_path / "x.json", b"{}")


def test_atomic_file_gives_the_usual_permissions(tmp_path):
    """The temporary is private while written; the final file gets the umask's mode."""
    umask = os.umask(0)
    os.umask(umask)
    write_text_atomic(tmp_path / "h.json", "{}")
    assert os.stat(tmp_path / "h.json").st_mode & 0o777 == 0o666 & ~umask


HIST = {"epoch": [1], "loss": [0.5], "train_acc": [0.4], "val_acc": [0.3], "seconds": [1.0]}


def test_history_interrupted_while_written_keeps_the_previous_files(tmp_path, monkeypatch):
    """A Ctrl-C while history.json is written (the complete file is being flushed) leaves
    the previous history.json and history.csv whole, and no temporary."""
    hj, hc = tmp_path / "history.json", tmp_path / "history.csv"
    _write_history(hj, hc, HIST, {"run": 1})
    before = hj.read_bytes(), hc.read_bytes()

    def ctrl_c(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(sio.os, "fsync", ctrl_c)
    longer = {k: v * 2 for k, v in HIST.items()}
    with pytest.raises(KeyboardInterrupt):
        _write_history(hj, hc, longer, {"run": 2})
    assert (hj.read_bytes(), hc.read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["history.csv", "history.json"]
    monkeypatch.undo()
    _write_history(hj, hc, longer, {"run": 2})
    assert json.loads(hj.read_text())["history"]["epoch"] == [1, 1]
    assert hc.read_text().count("\n") == 3


def test_a_figure_is_written_whole_or_not_at_all(tmp_path):
    """_save_figure hands the writer a temporary ending in .png (so the format is known);
    a failure half-way leaves the previous figure and no temporary."""
    target = tmp_path / "learning_curves.png"
    seen = []

    def draw(path, dpi):
        seen.append((os.path.dirname(path), path.endswith(".png"), dpi))
        with open(path, "wb") as fh:
            fh.write(b"\x89PNG complete")

    _save_figure(draw, str(target), 123)
    assert seen == [(str(tmp_path), True, 123)]
    assert target.read_bytes() == b"\x89PNG complete"

    def broken(path, dpi):
        with open(path, "wb") as fh:
            fh.write(b"\x89PNG half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _save_figure(broken, str(target), 123)
    assert target.read_bytes() == b"\x89PNG complete"
    assert os.listdir(tmp_path) == ["learning_curves.png"]


def test_a_saved_file_still_loads_after_cleanup_of_many_orphans(tmp_path):
    """Thirty orphans (as after thirty SIGKILLs) all go, and the parameters are intact."""
    p = NET.init(4)
    path = save_params(tmp_path / "params.npz", NET, p)
    dead = _dead_pid()
    for i in range(30):
        (tmp_path / f".params.npz.{dead}.r{i:07d}.tmp").write_bytes(b"PK" * 100)
    q = load_params(path)[1]
    assert q.max_rel_diff(p) == 0.0
    assert os.listdir(tmp_path) == ["params.npz"]
    assert np.all(np.isfinite(q.to_vector()))


def test_a_file_claiming_an_absurd_input_is_refused_without_allocating(tmp_path):
    """A parameter file whose network description claims a 10^6 x 10^6 input: ValueError
    naming the file and the size limit (not MemoryError)."""
    path = save_params(tmp_path / "p.npz", NET, NET.init(0))
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    desc = json.loads(str(arrays["network"]))
    desc["input_shape"] = [10**6, 10**6]
    arrays["network"] = np.array(json.dumps(desc))
    bad = tmp_path / "claims.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match=r"claims\.npz: the stored network description does "
                                         r"not build a network: input_shape 1000000 x 1000000 "
                                         r"is beyond the sizes sayedcnn builds"):
        load_params(bad)
