r"""Saving and loading trained parameters, and the network description as plain data.

A parameter file is an ``.npz`` archive written by :func:`numpy.savez` and read with
``allow_pickle=False``: one array per parameter in the book's shapes (47.1221g-h,
47.1224a-b), named ``W_conv_<c>``, ``Theta_conv_<c>``, ``W_ff_<l>``, ``theta_ff_<l>`` after
the book's layer numbers, plus ``network`` (the architecture, a JSON string held in a 0-d
string array) and ``meta`` (a JSON string of anything else worth keeping: the training
settings, the accuracy reached), ``format`` (the string ``"sayedcnn-params"``) and
``format_version`` (:data:`FORMAT_VERSION`). No Python objects are pickled.

Files are written atomically: the archive goes to a temporary file in the same folder,
is flushed to disk, and then replaces ``path`` in one :func:`os.replace`, so a crash or a
Ctrl-C while writing leaves either the old file or the new one, never half of one. The
temporary's name, ``.<name>.<pid>.<random>.tmp``, carries the id of the writing process; a
process killed outright (SIGKILL, a power cut) cannot remove its temporary, so every save and
every load removes, in its folder, the temporaries of processes that no longer run
(:func:`remove_orphan_temporaries`). :func:`atomic_file` gives the same guarantee to any other
file (the training history, the figures).
Reading refuses, with a :class:`ValueError` that names the file and the reason, anything
that is not a complete parameter file of a known version: a truncated or corrupted archive,
a foreign ``.npz``, pickled objects, a newer format version, a description that does not
build a network, or arrays whose shapes differ from those the described network needs
(47.1221g-h, 47.1224a-b).

:func:`network_to_dict` and :func:`network_from_dict` turn a
:class:`~sayedcnn.network.Network` into a JSON-able dict and back.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import zipfile
import zlib
from contextlib import contextmanager

import numpy as np

from ..activations import ACTIVATIONS
from ..network import Conv, Network
from ..params import Params

__all__ = ["network_to_dict", "network_from_dict", "save_params", "load_params",
           "atomic_file", "write_text_atomic", "remove_orphan_temporaries", "FORMAT",
           "FORMAT_VERSION"]

_GROUPS = ("W_conv", "Theta_conv", "W_ff", "theta_ff")

#: The ``format`` entry of every parameter file, and the version of its layout. Files
#: without these entries (written before versioning) are read as version 0.
FORMAT = "sayedcnn-params"
FORMAT_VERSION = 1
_RESERVED = ("network", "meta", "format", "format_version")


def _plain(x):
    """numpy scalars and tuples -> JSON-able ints, floats and lists."""
    if isinstance(x, (tuple, list, np.ndarray)):
        return [_plain(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


def _pool_to_dict(ly):
    if not ly.pooled:
        return None
    pl = ly.pooling
    d = {"kind": pl.kind}
    if pl.block is not None:
        d["block"] = _plain(pl.block)
        d["stride"] = _plain(pl.stride)
    else:
        d["regions"] = [_plain(r) for r in pl.regions]
        d["P"] = int(pl.P)
    if pl.mask is not None:
        d["mask"] = _plain(np.asarray(pl.mask, dtype=float).reshape(-1, order="F"))
    if pl.retain:
        d["retain"] = int(pl.retain)
    return d


def _activation_name(act, where):
    if act.name not in ACTIVATIONS or ACTIVATIONS[act.name] is not act:
        raise ValueError(f"the activation of {where} ({act.name!r}) is not one of the named "
                         f"activations {sorted(ACTIVATIONS)} (47.1154), so it cannot be stored")
    return act.name


def network_to_dict(net):
    r"""A JSON-able description of ``net`` from which :func:`network_from_dict` rebuilds it.

    Keys follow the :class:`~sayedcnn.network.Network` constructor: ``input_shape``,
    ``input_depth`` (:math:`D_0`), ``conv`` (one dict per layer ``c`` with ``depth``
    :math:`D_c`, ``mask``, ``padding``, ``stride``, ``activation``, ``pool`` and
    ``connections`` (47.1213), ``None`` for a full table), ``hidden``
    (:math:`n_2..n_{L-1}`), ``outputs`` (:math:`Q`), ``hidden_activation``,
    ``output_activation`` and ``loss``.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.io import network_to_dict
    >>> d = network_to_dict(sc.Network((6, 6), conv=[sc.Conv(2, mask=3)], outputs=3))
    >>> d["input_shape"], d["conv"][0]["depth"], d["outputs"]
    ([6, 6], 2, 3)
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a sayedcnn.Network, got {type(net).__name__}")
    conv = []
    for ly in net.layers:
        pad = ly.spec.padding
        conn = None
        if not ly.conn.all():
            conn = [np.flatnonzero(ly.conn[:, d]).tolist() for d in range(ly.D)]
        conv.append({
            "depth": int(ly.D),
            "mask": _plain(ly.partition.mask),
            "padding": pad if isinstance(pad, str) else _plain(pad),
            "stride": _plain(ly.partition.stride),
            "activation": _activation_name(ly.activation, f"conv layer c = {ly.c}"),
            "pool": _pool_to_dict(ly),
            "connections": conn,
        })
    return {
        "input_shape": _plain(net.input_shape),
        "input_depth": int(net.input_depth),
        "conv": conv,
        "hidden": [int(n) for n in net.n[2:net.L]],
        "outputs": int(net.Q),
        "hidden_activation": [_activation_name(net.ff_activation[l], f"layer l = {l}")
                              for l in range(2, net.L)],
        "output_activation": _activation_name(net.output_activation, "the output layer"),
        "loss": net.loss.name,
    }


def _json_default(x):
    """numpy scalars and arrays in ``meta`` -> plain Python values."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"meta holds a {type(x).__name__}, which JSON cannot store")


def _tuple(x):
    return tuple(_tuple(v) for v in x) if isinstance(x, list) else x


def network_from_dict(d):
    r"""Rebuild a :class:`~sayedcnn.network.Network` from :func:`network_to_dict`'s dict.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.io import network_from_dict, network_to_dict
    >>> net = sc.Network((6, 6), conv=[sc.Conv(2, mask=3)], hidden=[4], outputs=3)
    >>> network_to_dict(network_from_dict(network_to_dict(net))) == network_to_dict(net)
    True
    """
    if not isinstance(d, dict):
        raise TypeError(f"a network description must be a dict, got {type(d).__name__}")
    need = ("input_shape", "conv", "outputs")
    missing = [k for k in need if k not in d]
    if missing:
        raise ValueError(f"a network description needs the keys {list(need)}; "
                         f"missing {missing}")
    if isinstance(d["conv"], (str, bytes, dict)) or not isinstance(d["conv"], (list, tuple)):
        raise TypeError(f"a network description's 'conv' must be a list of layer dicts "
                        f"(47.1216), got {type(d['conv']).__name__}")
    conv = []
    for c, spec in enumerate(d["conv"], start=1):
        if not isinstance(spec, dict) or "depth" not in spec:
            raise ValueError(f"conv layer c = {c} must be a dict with at least 'depth' "
                             f"(47.1206), got {spec!r}")
        kw = dict(spec)
        pool = kw.get("pool")
        if isinstance(pool, dict):
            pool = dict(pool)
            for k in ("block", "stride"):
                if k in pool:
                    pool[k] = _tuple(pool[k])
            if "mask" in pool:
                pool["mask"] = np.asarray(pool["mask"], dtype=float)
        elif isinstance(pool, list):
            pool = _tuple(pool)
        kw["pool"] = pool
        for k in ("mask", "stride", "padding"):
            if k in kw:
                kw[k] = _tuple(kw[k])
        conv.append(Conv(**kw))
    return Network(_tuple(d["input_shape"]), input_depth=d.get("input_depth", 1), conv=conv,
                   hidden=d.get("hidden", []), outputs=d["outputs"],
                   hidden_activation=d.get("hidden_activation", "sigmoid"),
                   output_activation=d.get("output_activation"),
                   loss=d.get("loss", "quadratic"))


def _array_name(group, key):
    return f"{group}_{key}"


def save_params(path, net, params, meta=None):
    r"""Write ``params`` of ``net`` to the ``.npz`` file ``path`` (no pickles).

    Arrays are named ``W_conv_<c>``, ``Theta_conv_<c>``, ``W_ff_<l>``, ``theta_ff_<l>``;
    ``network`` holds :func:`network_to_dict` as JSON, ``meta`` the JSON of ``meta``,
    ``format`` and ``format_version`` the layout. The file is written atomically (a
    temporary file in the same folder, then :func:`os.replace`): an existing ``path`` is
    either left as it was or replaced whole. Returns the path written.

    A ``path`` that is a folder raises :class:`IsADirectoryError`, one in a folder that does
    not exist :class:`FileNotFoundError`, both naming ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.io import save_params
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> path = os.path.join(tempfile.mkdtemp(), "params.npz")
    >>> save_params(path, net, net.init(0)) == path
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a sayedcnn.Network, got {type(net).__name__}")
    params = net.check_params(params)
    arrays = {_array_name(g, k): a for g, k, a in params.items()}
    arrays["network"] = np.array(json.dumps(network_to_dict(net)))
    arrays["meta"] = np.array(json.dumps(meta if meta is not None else {},
                                         default=_json_default))
    arrays["format"] = np.array(FORMAT)
    arrays["format_version"] = np.array(FORMAT_VERSION)
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"  # what np.savez would do; return the real name
    _atomic_savez(_target(path), arrays)
    return path


# Temporaries: ".<name>.<pid>.<random>.tmp", optionally followed by the target's extension
# (figures need it to pick their format). Older releases wrote ".<name>.<random>.tmp".
_TEMP = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[A-Za-z0-9_]+\.tmp"
                   r"(?:\.[A-Za-z0-9]+)?$")
#: Age after which a temporary without a process id (written by an older release) counts
#: as orphaned, in seconds.
LEGACY_TEMP_AGE = 600.0


def _pid_alive(pid):
    if pid == os.getpid():
        return True  # ours: possibly being written by another thread right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell): leave it
    return True


def remove_orphan_temporaries(folder):
    r"""Remove, in ``folder``, the temporaries of atomic writes whose process no longer runs.

    A write by :func:`save_params` or :func:`atomic_file` that is killed outright leaves its
    temporary ``.<name>.<pid>.<random>.tmp`` behind. This removes every such file whose
    process ``pid`` is gone (and those of older releases, without a pid, once they are
    :data:`LEGACY_TEMP_AGE` seconds old); files of running processes are left alone.
    :func:`save_params` and :func:`load_params` call it for their folder. Returns the
    names removed; a folder that cannot be listed gives ``[]``.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> open(os.path.join(d, ".params.npz.999999999.abc123.tmp"), "w").close()
    >>> remove_orphan_temporaries(d)
    ['.params.npz.999999999.abc123.tmp']
    """
    folder = os.fspath(folder) or "."
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    now = time.time()
    for name in sorted(names):
        m = _TEMP.match(name)
        if m is None:
            continue
        full = os.path.join(folder, name)
        if m.group("pid") is not None:
            if _pid_alive(int(m.group("pid"))):
                continue
        else:
            try:
                if now - os.stat(full).st_mtime < LEGACY_TEMP_AGE:
                    continue
            except OSError:
                continue
        try:
            if os.path.isfile(full) and not os.path.islink(full):
                os.unlink(full)
                removed.append(name)
        except OSError:
            pass
    return removed


def _target(path, what="write"):
    """``path`` as a string after checking that it can be a file in an existing folder;
    errors name ``path`` (never the hidden temporary)."""
    path = os.fspath(path)
    if not path:
        raise ValueError(f"cannot {what} a file with an empty path")
    if os.path.isdir(path):
        raise IsADirectoryError(21, f"cannot {what} the file: it is a folder", path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        what_is = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise FileNotFoundError(2, f"cannot {what} the file: its folder {folder} {what_is}",
                                path)
    return path


@contextmanager
def atomic_file(path, mode="wb"):
    r"""Write ``path`` atomically: yields an open temporary file (``mode`` ``"wb"`` or
    ``"w"``) in the same folder; on success it is flushed to disk and moved onto ``path`` in
    one :func:`os.replace`, on any exception (Ctrl-C included) it is removed and ``path``
    is left as it was. With ``mode=None`` it yields the temporary's *name* instead (ending
    in ``path``'s extension, for writers that pick a format from it) and the writer must
    create that file. Orphaned temporaries of killed processes in the folder are removed
    first (:func:`remove_orphan_temporaries`).

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_file(target, "w") as f:
    ...     _ = f.write("hello")
    >>> open(target).read()
    'hello'
    """
    if mode not in ("wb", "w", None):
        raise ValueError(f"mode must be 'wb', 'w' or None, got {mode!r}")
    path = _target(path)
    folder = os.path.dirname(os.path.abspath(path))
    remove_orphan_temporaries(folder)
    ext = os.path.splitext(path)[1] if mode is None else ""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp" + ext,
                                   prefix=f".{os.path.basename(path)}.{os.getpid()}.")
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write the file: {exc.strerror}", path) from None
    try:
        if mode is None:
            os.close(fd)
            yield tmp
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            with os.fdopen(fd, mode, **({"newline": ""} if mode == "w" else {})) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it the usual mode
        os.replace(tmp, path)
    except BaseException:  # also KeyboardInterrupt: never leave the temporary file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path, text):
    r"""Write the string ``text`` to ``path`` atomically (see :func:`atomic_file`); returns
    the path.

    Examples
    --------
    >>> import os, tempfile
    >>> p = write_text_atomic(os.path.join(tempfile.mkdtemp(), "h.json"), "{}")
    >>> open(p).read()
    '{}'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    with atomic_file(path, "w") as fh:
        fh.write(text)
    return os.fspath(path)


def _atomic_savez(path, arrays):
    """``np.savez(path, **arrays)`` through a temporary file in the same folder and
    :func:`os.replace`, so that ``path`` is never seen half-written."""
    with atomic_file(path, "wb") as fh:
        np.savez(fh, **arrays)


def _read_arrays(path):
    """Every array of the ``.npz`` at ``path`` (no pickles), with clear errors for files
    that are not complete archives."""
    if os.path.isdir(path):
        raise IsADirectoryError(21, "cannot read a parameter file: it is a folder", path)
    remove_orphan_temporaries(os.path.dirname(os.path.abspath(path)))
    return read_npz(path, "sayedcnn parameter file", "which are never loaded")


def read_npz(path, what, pickles):
    """Every entry of the ``.npz`` at ``path``, loaded with ``allow_pickle=False``; anything
    that is not a complete archive raises a ValueError naming the file as ``what`` (``pickles``
    says why pickled objects are refused). Shared by parameter files and golden traces.

    Examples
    --------
    >>> import os, tempfile
    >>> from sayedcnn.interop.io import read_npz
    >>> path = os.path.join(tempfile.mkdtemp(), "empty.npz")
    >>> open(path, "wb").close()
    >>> try:
    ...     read_npz(path, "golden trace", "which golden traces never contain")
    ... except ValueError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    it is empty (a truncated write?)
    """
    with open(path, "rb") as fh:  # FileNotFoundError and the like pass through
        head = fh.read(4)
    bad = f"{path} is not a readable {what}"
    if not head:
        raise ValueError(f"{bad}: it is empty (a truncated write?)")
    if head != b"PK\x03\x04":
        raise ValueError(f"{bad}: it is not an .npz archive (no zip signature at its start)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        reason = str(exc) or type(exc).__name__
        if "pickle" in reason:
            raise ValueError(f"{bad}: it holds pickled Python objects, {pickles} "
                             f"(allow_pickle=False)") from exc
        raise ValueError(f"{bad}: the archive is truncated or corrupted ({reason})") from exc


def _json_entry(arrays, key, path):
    a = arrays[key]
    if a.shape != () or a.dtype.kind != "U":
        raise ValueError(f"{path}: the {key!r} entry must be a JSON string, got an array of "
                         f"dtype {a.dtype} and shape {a.shape}")
    try:
        return json.loads(str(a))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the {key!r} entry is not valid JSON ({exc})") from exc


def load_params(path, with_meta=False):
    r"""Read a file written by :func:`save_params`.

    Returns ``(network_description_dict, params)`` (and ``meta`` as a third item with
    ``with_meta=True``); ``network_from_dict`` of the first item rebuilds the network, and
    every array is checked against the shapes that network needs (47.1221g-h,
    47.1224a-b). The file is read with ``allow_pickle=False``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder.
    ValueError
        If the file is truncated, corrupted, not an ``.npz`` archive, holds pickled objects,
        is not a sayedcnn parameter file, has a newer ``format_version``, or holds arrays
        that do not fit the network it describes (the message names the array, the book's
        size and the equation).

    Examples
    --------
    >>> import os, tempfile
    >>> import sayedcnn as sc
    >>> from sayedcnn.interop.io import load_params, network_from_dict, save_params
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> p = net.init(0)
    >>> path = save_params(os.path.join(tempfile.mkdtemp(), "params.npz"), net, p)
    >>> d, q = load_params(path)
    >>> network_from_dict(d).parameter_count() == net.parameter_count(), p.max_rel_diff(q)
    (True, 0.0)
    """
    path = os.fspath(path)
    arrays = _read_arrays(path)
    names = set(arrays)
    if "network" not in names:
        raise ValueError(f"{path} holds no 'network' entry: not a sayedcnn parameter file")
    if "format" in names and str(arrays["format"]) != FORMAT:
        raise ValueError(f"{path}: format {str(arrays['format'])!r} is not {FORMAT!r}")
    version = 0
    if "format_version" in names:
        v = arrays["format_version"]
        if v.shape != () or v.dtype.kind not in "iu":
            raise ValueError(f"{path}: format_version must be an integer, got {v!r}")
        version = int(v)
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} has format_version {version}; this sayedcnn reads versions "
                         f"0..{FORMAT_VERSION} (a newer release wrote it)")
    desc = _json_entry(arrays, "network", path)
    meta = _json_entry(arrays, "meta", path) if "meta" in names else {}
    params = Params()
    for name in sorted(names - set(_RESERVED)):
        group, _, key = name.rpartition("_")
        if group not in _GROUPS or not key.isdigit():
            raise ValueError(f"{path}: unexpected array {name!r}; expected names like "
                             f"W_conv_1, Theta_conv_1, W_ff_1, theta_ff_1")
        getattr(params, group)[int(key)] = arrays[name]
    try:
        net = network_from_dict(desc)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the stored network description does not build a network: "
                         f"{exc}") from exc
    try:
        params = net.check_params(params)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from exc
    return (desc, params, meta) if with_meta else (desc, params)
