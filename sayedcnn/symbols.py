r"""Which listing result an array belongs to, so that its book symbol can be found.

The listings' records (:class:`~sayedcnn.forward.ForwardResult`,
:class:`~sayedcnn.training.Sensitivities`) put themselves here when they are made, by a weak
reference only: nothing is kept alive and nothing is computed. :func:`owner_of` looks an array
up among the live records, newest first; :func:`sayedcnn.show` uses it to caption
``show(res.H[d, c])`` with :math:`H_n^{(d,c)}`.

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

__all__ = ["remember", "owner_of"]

_LIVE = {}  # id(record) -> weak reference to it


def remember(record):
    """Note ``record`` (weakly) as a source of labelled arrays; returns ``record``."""
    key = id(record)

    def drop(ref, key=key):
        if _LIVE.get(key) is ref:
            del _LIVE[key]

    _LIVE[key] = weakref.ref(record, drop)
    return record


def owner_of(arr):
    """``(field, key, record)`` of the newest live record holding ``arr`` itself, or ``None``."""
    for ref in reversed(list(_LIVE.values())):
        record = ref()
        if record is None:
            continue
        for fname, val in vars(record).items():
            if isinstance(val, dict):
                for k, v in val.items():
                    if v is arr:
                        return fname, k if isinstance(k, tuple) else (k,), record
            elif val is arr:
                return fname, (), record
    return None
