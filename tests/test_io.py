"""Parameter files (:mod:`sayedcnn.interop.io`): round trips of the book-shaped parameters
(47.1221g-h, 47.1224a-b) with the architecture, a format version, atomic writes, and clear
errors for truncated, corrupted and foreign files."""

import json
import os

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import sayedcnn.interop.io as sio
from sayedcnn import Conv, Network, Pooling
from sayedcnn.interop.io import FORMAT, FORMAT_VERSION, load_params, network_to_dict, save_params


def _nets():
    """Architectures that exercise every part of the description: masks, padding, strides,
    connection tables (47.1213), block, strided, region and correlation pooling, several
    hidden layers and both losses."""
    return {
        "plain": Network((6, 6), 1, [Conv(2, 3, "same", 1, "relu", ("max", 2))], [4], 3),
        "table": Network((7, 6), 2, [
            Conv(3, (3, 2), "valid", (1, 2), "tanh", ("mean", (2, 1), (1, 1))),
            Conv(2, 2, 1, 1, "sigmoid", {"kind": "correlation", "block": (2, 2),
                                         "mask": np.array([[0.5, -1.0], [2.0, 0.25]])},
                 connections=[[0, 2], [1]])],
            [5, 4], 2, hidden_activation=["tanh", "relu"], loss="cross_entropy"),
        "regions": Network((4, 4), 1, [
            Conv(2, 3, "same", 1, "linear", {"kind": "l2", "regions": [[0, 1, 5], [5, 6, 7],
                                                                      [15, 3]]})], [], 2),
    }


def _arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("name", ["plain", "table", "regions"])
def test_round_trip_gives_every_array_and_the_network_back(tmp_path, name):
    """save_params then load_params returns the same description, the same arrays bit for
    bit, in the book's shapes, and the same forward map (47.1216)."""
    net = _nets()[name]
    p = net.init(3, bias_scale=0.4)
    path = save_params(tmp_path / "p.npz", net, p, meta={"epochs": 2, "acc": np.float64(0.5)})
    desc, q, meta = load_params(path, with_meta=True)
    assert desc == network_to_dict(net)
    assert meta == {"epochs": 2, "acc": 0.5}
    for (g, k, a), (g2, k2, b) in zip(p.items(), q.items()):
        assert (g, k) == (g2, k2)
        assert b.dtype == np.float64 and b.shape == a.shape
        assert_array_equal(b, a)
    net2 = sio.network_from_dict(desc)
    X = np.random.default_rng(0).random((2, net.input_depth, *net.input_shape))
    assert_array_equal(net2.predict(q, X), net.predict(p, X))


def test_file_names_the_format_and_its_version(tmp_path):
    """Every file holds format = 'sayedcnn-params' and format_version = FORMAT_VERSION,
    and no object arrays (it loads with allow_pickle=False)."""
    net = _nets()["plain"]
    path = save_params(tmp_path / "p", net, net.init(0))
    assert path.endswith("p.npz")
    z = _arrays(path)
    assert str(z["format"]) == FORMAT == "sayedcnn-params"
    assert int(z["format_version"]) == FORMAT_VERSION >= 1
    assert all(a.dtype != object for a in z.values())
    assert z["W_conv_1"].shape == (9, 2)  # S_1 D_0 x D_1 (47.1224a)


def test_files_without_a_version_still_load(tmp_path):
    """A file written before versioning (no format entries) is read as version 0."""
    net = _nets()["plain"]
    p = net.init(1)
    z = _arrays(save_params(tmp_path / "p.npz", net, p))
    del z["format"], z["format_version"]
    np.savez(tmp_path / "old.npz", **z)
    assert_array_equal(load_params(tmp_path / "old.npz")[1].to_vector(), p.to_vector())


def test_newer_format_version_is_refused(tmp_path):
    """A file of a later layout is refused by name, not misread."""
    net = _nets()["plain"]
    z = _arrays(save_params(tmp_path / "p.npz", net, net.init(0)))
    z["format_version"] = np.array(FORMAT_VERSION + 1)
    np.savez(tmp_path / "new.npz", **z)
    with pytest.raises(ValueError, match=rf"format_version {FORMAT_VERSION + 1}; this sayedcnn "
                                         rf"reads versions 0\.\.{FORMAT_VERSION}"):
        load_params(tmp_path / "new.npz")


# ---------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------


def _crash_mid_write(monkeypatch, exc):
    """np.savez writes part of an archive, then fails with ``exc``."""
    real = np.savez

    def broken(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise exc

    monkeypatch.setattr(sio.np, "savez", broken)
    return real


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_a_crash_while_writing_leaves_the_old_file_intact_and_no_temporary(tmp_path,
                                                                           monkeypatch, exc):
    """A failure in the middle of writing (disk full, Ctrl-C) leaves the previous file
    byte for byte and no temporary file in the folder."""
    net = _nets()["plain"]
    path = save_params(tmp_path / "p.npz", net, net.init(0))
    before = open(path, "rb").read()
    _crash_mid_write(monkeypatch, exc)
    with pytest.raises(type(exc)):
        save_params(path, net, net.init(1))
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["p.npz"]
    monkeypatch.undo()
    assert_array_equal(load_params(path)[1].to_vector(), net.init(0).to_vector())


def test_a_crash_before_the_rename_leaves_no_file_and_no_temporary(tmp_path, monkeypatch):
    """If the final os.replace fails, nothing is left behind: neither a partial file at
    the target nor the temporary."""
    net = _nets()["plain"]

    def fail(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(sio.os, "replace", fail)
    with pytest.raises(OSError, match="rename failed"):
        save_params(tmp_path / "p.npz", net, net.init(0))
    assert os.listdir(tmp_path) == []


def test_the_file_appears_whole_in_one_rename(tmp_path, monkeypatch):
    """The archive is complete (loadable) at the moment os.replace moves it into place, and
    the temporary lives in the target's folder (so the rename is atomic)."""
    net = _nets()["plain"]
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), load_params(src)[1]))
        real(src, dst)

    monkeypatch.setattr(sio.os, "replace", spy)
    p = net.init(2)
    save_params(tmp_path / "p.npz", net, p)
    assert len(seen) == 1
    assert seen[0][0] == str(tmp_path)
    assert_array_equal(seen[0][1].to_vector(), p.to_vector())


def test_bad_parameters_are_refused_before_anything_is_written(tmp_path):
    """save_params checks the parameters against the architecture first (47.1224a)."""
    net = _nets()["plain"]
    p = net.init(0)
    p.W_conv[1] = np.zeros((8, 2))
    with pytest.raises(ValueError, match=r"W_conv\[1\] must be S_1\*D_0 x D_1 = 9 x 2 "
                                         r"\(47\.1224a\), got 8 x 2"):
        save_params(tmp_path / "p.npz", net, p)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------
# Truncated, corrupted and foreign files
# ---------------------------------------------------------------------------


@pytest.fixture
def good(tmp_path):
    net = _nets()["table"]
    return save_params(tmp_path / "good.npz", net, net.init(0, bias_scale=0.1))


@pytest.mark.parametrize("keep", [0, 0.001, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_refused(tmp_path, good, keep):
    """A file cut anywhere (a write that never finished) raises ValueError naming it."""
    data = open(good, "rb").read()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[:int(keep * len(data))])
    with pytest.raises(ValueError, match=r"cut\.npz is not a readable sayedcnn parameter file: "
                                         r"(it is empty|the archive is truncated or corrupted)"):
        load_params(bad)


def test_corrupted_array_data_is_refused(tmp_path, good):
    """A flipped byte inside a stored array fails the archive's CRC: ValueError."""
    data = bytearray(open(good, "rb").read())
    start = data.index(b"W_ff_1.npy") + 200  # inside the array's bytes
    data[start] ^= 0xFF
    bad = tmp_path / "flip.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"truncated or corrupted \(Bad CRC-32"):
        load_params(bad)


@pytest.mark.parametrize("content, match", [
    (b"", r"it is empty"),
    (b"W_conv_1,0.5\n", r"it is not an \.npz archive"),
    (b"\x93NUMPY\x01\x00", r"it is not an \.npz archive"),
], ids=["empty", "text", "npy"])
def test_foreign_bytes_are_refused(tmp_path, content, match):
    """Files that are not zip archives are named as such."""
    bad = tmp_path / "x.npz"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_params(bad)


def test_foreign_npz_is_refused(tmp_path):
    """An .npz of other arrays is not a parameter file."""
    np.savez(tmp_path / "x.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match=r"no 'network' entry: not a sayedcnn parameter file"):
        load_params(tmp_path / "x.npz")


def test_pickled_objects_are_never_loaded(tmp_path):
    """An object array (which only pickle can read) is refused, not unpickled."""
    np.savez(tmp_path / "x.npz", network=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"pickled Python objects, which are never loaded"):
        load_params(tmp_path / "x.npz")


def _tamper(tmp_path, good, **changes):
    z = _arrays(good)
    for k, v in changes.items():
        if v is None:
            del z[k]
        else:
            z[k] = v
    np.savez(tmp_path / "t.npz", **z)
    return tmp_path / "t.npz"


@pytest.mark.parametrize("changes, exc, match", [
    (dict(format=np.array("other-tool")), ValueError,
     r"format 'other-tool' is not 'sayedcnn-params'"),
    (dict(format_version=np.array(1.5)), ValueError, r"format_version must be an integer"),
    (dict(network=np.array("{not json")), ValueError, r"'network' entry is not valid JSON"),
    (dict(network=np.zeros(3)), ValueError, r"'network' entry must be a JSON string"),
    (dict(meta=np.array("[1, 2")), ValueError, r"'meta' entry is not valid JSON"),
    (dict(network=np.array(json.dumps({"input_shape": [6, 6]}))), ValueError,
     r"the stored network description does not build a network: .*keys"),
    (dict(network=np.array(json.dumps({"input_shape": [6, 6], "outputs": 2,
                                       "conv": [{"depth": 2, "colour": 1}]}))),
     ValueError, r"does not build a network: .*colour"),
    (dict(extra_1=np.zeros(2)), ValueError, r"unexpected array 'extra_1'"),
    (dict(W_ff_2=None), ValueError,
     r"t\.npz: params\.W_ff must have keys \[1, 2, 3\] \(book layer numbers, 47\.1221g\), "
     r"got \[1, 3\]"),
    (dict(W_conv_2=np.zeros((5, 2))), ValueError,
     r"t\.npz: W_conv\[2\] must be S_2\*D_1 x D_2 = 12 x 2 \(47\.1224a\), got 5 x 2"),
    (dict(theta_ff_3=np.zeros((2, 1))), ValueError,
     r"theta_ff\[3\] must be n_4 = 2 \(47\.1221h\), got 2 x 1"),
    (dict(Theta_conv_1=np.full((2, 3), np.nan)), ValueError,
     r"Theta_conv\[1\] contains NaN \(47\.1224b\)"),
    (dict(W_ff_1=np.array([["a"] * 3] * 5)), TypeError,
     r"W_ff\[1\] must be a real numeric array \(47\.1221g\)"),
], ids=["format", "version-type", "network-json", "network-array", "meta-json",
        "network-keys", "conv-keys", "extra-array", "missing-array", "W-conv-shape",
        "theta-ff-shape", "nan", "strings"])
def test_inconsistent_contents_are_refused_by_name(tmp_path, good, changes, exc, match):
    """Every array is checked against the network rebuilt from the stored description, with
    the book's size and equation in the message."""
    with pytest.raises(exc, match=match):
        load_params(_tamper(tmp_path, good, **changes))


def test_missing_file_raises_file_not_found(tmp_path):
    """A path that does not exist is the usual FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        load_params(tmp_path / "nope.npz")


def test_regions_pooling_survives_the_round_trip(tmp_path):
    """Explicit overlapping regions (47.1187) are stored as lists and rebuild the same T."""
    net = _nets()["regions"]
    desc = load_params(save_params(tmp_path / "r.npz", net, net.init(0)))[0]
    pool = sio.network_from_dict(desc).layers[0].pooling
    want = Pooling("l2", regions=[[0, 1, 5], [5, 6, 7], [15, 3]], P=16)
    assert_array_equal(pool.T.toarray(), want.T.toarray())



def test_parameter_file_has_the_usual_permissions(tmp_path):
    """The atomic write goes through a private temporary file; the result gets the mode
    any new file would (0666 less the umask)."""
    net = Network((6, 6), 1, [Conv(2, 3, pool=("max", 2))], hidden=[3], outputs=2)
    path = save_params(tmp_path / "p.npz", net, net.init(0))
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
