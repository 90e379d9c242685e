r"""Which record of the chapter an array belongs to, so that its book symbol can be found.

The listings' records (:class:`~sayedcnn.forward.ForwardResult` of (47.1216),
:class:`~sayedcnn.training.Sensitivities` of (47.1275)) put themselves here when they are
made, and :func:`sayedcnn.show` (or :func:`~sayedcnn.teaching.show.register`) puts a
:class:`~sayedcnn.Params` here on request. Only a weak reference is kept: nothing is kept
alive and nothing is computed. :func:`owner_of` looks an array up, by identity, among the
entries of the live records, newest first; :func:`sayedcnn.show` uses it to caption
``show(res.H[d, c])`` with :math:`H_n^{(d,c)}` and reads the entry's field and key.

:func:`entries` is the one walk over a record: every array field, and every entry of a
field that is a dict keyed like the book's superscripts, ``H[d, c]`` for :math:`H^{(d,c)}`.

Examples
--------
>>> import numpy as np
>>> from sayedcnn.symbols import remember, owner_of
>>> class Record:
...     def __init__(self):
...         self.H = {(1, 0): np.zeros((2, 2))}
>>> r = remember(Record())
>>> owner_of(r.H[1, 0]) == ("H", (1, 0), r)
True
"""

from __future__ import annotations

import weakref
from dataclasses import fields, is_dataclass

__all__ = ["remember", "entries", "owner_of"]

_LIVE = {}  # id(record) -> weak reference to it


def remember(record):
    r"""Note ``record`` (weakly) as a holder of the chapter's quantities; returns ``record``.

    The listings call it on their records, so that an entry such as :math:`H_n^{(d,c)}` of
    (47.1216) can be named later from the array alone. The reference is dropped when the
    record is collected.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.symbols import remember, owner_of
    >>> class Record:
    ...     pass
    >>> r = remember(Record())
    >>> r.z = np.zeros(3)
    >>> owner_of(r.z)[:2]
    ('z', ())
    >>> z = r.z
    >>> del r
    >>> owner_of(z) is None                 # the record is gone, so is its entry's name
    True
    """
    key = id(record)

    def drop(ref, key=key):
        if _LIVE.get(key) is ref:
            del _LIVE[key]

    _LIVE[key] = weakref.ref(record, drop)
    return record


def _key_tuple(k):
    return k if isinstance(k, tuple) else (k,)


def entries(record):
    r"""``(field, key, value)`` for every entry of ``record``, keys as tuples in sorted order.

    A field that is a dict gives one entry per key (``H[(d, c)]`` is :math:`H^{(d,c)}` of
    (47.1216), ``W_ff[l]`` is :math:`W_\ell` with key ``(l,)``); any other field that is not
    ``None`` gives one entry with key ``()``. Dataclass fields come in their declared order.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.symbols import entries
    >>> p = sc.Params(W_ff={2: np.ones(1), 1: np.zeros(1)}, theta_ff={1: np.zeros(1)})
    >>> [(f, k) for f, k, v in entries(p)]
    [('W_ff', (1,)), ('W_ff', (2,)), ('theta_ff', (1,))]
    """
    names = [f.name for f in fields(record)] if is_dataclass(record) else list(vars(record))
    for fname in names:
        val = getattr(record, fname)
        if isinstance(val, dict):
            for k in sorted(val, key=_key_tuple):
                yield fname, _key_tuple(k), val[k]
        elif val is not None:
            yield fname, (), val


def owner_of(arr):
    r"""``(field, key, record)`` of the newest live record holding ``arr`` itself, or ``None``.

    The match is by identity (``is``): a copy of an entry, or a slice of it, has no owner.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.symbols import owner_of
    >>> net = sc.Network((4, 4), conv=[sc.Conv(1, mask=2)], outputs=2)
    >>> res = net.forward(net.init(0), np.ones((1, 4, 4)))   # (47.1216) remembers res
    >>> field, key, record = owner_of(res.H[1, 0])
    >>> field, key, record is res
    ('H', (1, 0), True)
    >>> owner_of(res.H[1, 0].copy()) is None
    True
    """
    for ref in reversed(list(_LIVE.values())):
        record = ref()
        if record is None:
            continue
        for fname, key, value in entries(record):
            if value is arr:
                return fname, key, record
    return None
