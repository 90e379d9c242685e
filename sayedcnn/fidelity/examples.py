r"""Worked examples: what the book (or a seed note) prints beside what the package computes.

An :class:`Example` is the unit that ``python -m sayedcnn reproduce`` prints and checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Example"]


@dataclass
class Example:
    r"""One printed example and its reproduction.

    Attributes
    ----------
    key : str
        The equation number (``"47.1149"``) or the seed note (``"seed000"``).
    title : str
        A short description.
    printed : array_like or str
        The example as printed (a matrix, a number, or a symbolic string).
    computed : array_like or str
        What the package computes for it.
    erratum : str or None
        The erratum id when the print is wrong and ``computed`` is the corrected value; then
        ``printed`` and ``computed`` are expected to differ.
    atol : float
        Absolute tolerance for numerical comparison.
    """

    key: str
    title: str
    printed: object
    computed: object
    erratum: str | None = None
    atol: float = 1e-12

    @property
    def agrees(self):
        """Whether ``printed`` equals ``computed`` (entrywise, or as strings)."""
        if isinstance(self.printed, str) or isinstance(self.computed, str):
            return str(self.printed) == str(self.computed)
        a, b = np.asarray(self.printed, dtype=float), np.asarray(self.computed, dtype=float)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=self.atol))

    @property
    def ok(self):
        """A reproduction passes when it agrees, or when it differs by a registered erratum."""
        return self.agrees if self.erratum is None else not self.agrees
