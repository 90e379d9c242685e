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
Ctrl-C while writing leaves either the old file or the new one, never half of one.
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
import tempfile
import zipfile
import zlib

import numpy as np

from ..activations import ACTIVATIONS
from ..network import Conv, Network, Params

__all__ = ["network_to_dict", "network_from_dict", "save_params", "load_params",
           "FORMAT", "FORMAT_VERSION"]

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
    r"""Rebuild a :class:`~sayedcnn.network.Network` from :func:`network_to_dict`'s dict."""
    if not isinstance(d, dict):
        raise TypeError(f"a network description must be a dict, got {type(d).__name__}")
    need = ("input_shape", "conv", "outputs")
    missing = [k for k in need if k not in d]
    if missing:
        raise ValueError(f"a network description needs the keys {list(need)}; "
                         f"missing {missing}")
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
    """
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
    _atomic_savez(path, arrays)
    return path


def _atomic_savez(path, arrays):
    """``np.savez(path, **arrays)`` through a temporary file in the same folder and
    :func:`os.replace`, so that ``path`` is never seen half-written."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
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


def _read_arrays(path):
    """Every array of the ``.npz`` at ``path`` (no pickles), with clear errors for files
    that are not complete archives."""
    with open(path, "rb") as fh:  # FileNotFoundError and the like pass through
        head = fh.read(4)
    bad = f"{path} is not a readable sayedcnn parameter file"
    if not head:
        raise ValueError(f"{bad}: it is empty (a truncated write?)")
    if head != b"PK\x03\x04":
        raise ValueError(f"{bad}: it is not an .npz archive (no zip signature at its start)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        reason = str(exc) or type(exc).__name__
        if "allow_pickle" in reason:
            raise ValueError(f"{bad}: it holds pickled Python objects, which are never loaded "
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
    ValueError
        If the file is truncated, corrupted, not an ``.npz`` archive, holds pickled objects,
        is not a sayedcnn parameter file, has a newer ``format_version``, or holds arrays
        that do not fit the network it describes (the message names the array, the book's
        size and the equation).
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
