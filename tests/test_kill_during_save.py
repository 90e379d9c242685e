"""SIGKILL during a save: the destination is never half-written, and the temporary the killed
process could not remove is cleaned up by the next save or load in that folder.

A child process saves two parameter sets (about 13 MB each) into the same file over and
over; the parent kills it with SIGKILL while a temporary is being written, then checks that
the destination loads and holds exactly one of the two sets, and that the orphan goes at
the next load (odd trials) or save (even trials).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from sayedcnn import Conv, Network
from sayedcnn.interop.io import load_params, save_params

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

CHILD = r"""
import sys
from sayedcnn import Conv, Network
from sayedcnn.interop.io import save_params
net = Network((28, 28), 1, [Conv(4, 5, pool=("max", 2))], [2000], 10)
a, b = net.init(1), net.init(2)
save_params(sys.argv[1], net, a)
print("ready", flush=True)
while True:
    save_params(sys.argv[1], net, b)
    save_params(sys.argv[1], net, a)
"""

NET = Network((28, 28), 1, [Conv(4, 5, pool=("max", 2))], [2000], 10)
TRIALS = 4


def _temporaries(folder, pid):
    pat = re.compile(rf"^\.params\.npz\.{pid}\.[A-Za-z0-9_]+\.tmp$")
    return [n for n in os.listdir(folder) if pat.match(n)]


def _kill_while_writing(folder, delay):
    dest = folder / "params.npz"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(dest)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while not _temporaries(folder, child.pid):
            assert time.monotonic() < deadline, "the child never wrote a temporary"
            time.sleep(0.0005)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return dest, child.pid


def test_sigkill_during_save_leaves_the_destination_whole_and_the_orphan_is_cleaned(tmp_path):
    want = [NET.init(1).to_vector(), NET.init(2).to_vector()]
    orphans_seen = 0
    for trial in range(TRIALS):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        dest, pid = _kill_while_writing(folder, delay=0.004 * trial)
        orphans = _temporaries(folder, pid)
        orphans_seen += bool(orphans)
        # the destination is always a complete file holding one of the two sets (read
        # from a copy elsewhere, so that this read cleans nothing in the folder)
        copy = tmp_path / f"copy{trial}.npz"
        shutil.copyfile(dest, copy)
        got = load_params(copy)[1].to_vector()
        assert any(np.array_equal(got, w) for w in want)
        assert _temporaries(folder, pid) == orphans
        if trial % 2:
            load_params(dest)  # the next load cleans up ...
        else:
            save_params(dest, NET, NET.init(1))  # ... and so does the next save
        assert _temporaries(folder, pid) == []
        assert sorted(os.listdir(folder)) == ["params.npz"]
    # the kills did land inside writes (else the test would prove nothing)
    assert orphans_seen >= TRIALS // 2
