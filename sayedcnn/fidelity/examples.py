r"""Worked examples: what the book (or a seed note) prints beside what the package computes.

An :class:`Example` is the unit that ``python -m sayedcnn reproduce`` prints and checks. Its
``basis`` says what the left column is:

* ``"printed"``: numbers (or a symbolic expression) that the source prints, copied here;
* ``"evaluated"``: the source's own formula, evaluated here on an input of the package's
  choosing, because the source prints no numbers for it (an erratum's printed form, a seed
  note's recursion);
* ``"independent"``: an independent computation (scalar loops, finite differences) of what a
  listing computes; the listings print no worked numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Example", "BASES"]

#: The bases of an example's left column, with the label ``reproduce`` prints.
BASES = {"printed": "printed", "evaluated": "as printed, evaluated",
         "independent": "independent"}


@dataclass
class Example:
    r"""One printed example and its reproduction.

    Attributes
    ----------
    key : str
        The equation number (``"47.1149"``) or the seed note (``"seed000"``).
    title : str
        A short description; the equation numbers it cites (``(47.1187)``) are also
        selectable in ``reproduce``.
    printed : array_like or str
        The example as printed (a matrix, a number, or a symbolic string), or, by
        ``basis``, the printed formula evaluated, or an independent computation.
    computed : array_like or str
        What the package computes for it.
    erratum : str or None
        The erratum id when the print is wrong and ``computed`` is the corrected value; then
        ``printed`` and ``computed`` are expected to differ.
    atol : float
        Absolute tolerance for numerical comparison.
    basis : str
        ``"printed"``, ``"evaluated"`` or ``"independent"`` (:data:`BASES`).

    Examples
    --------
    >>> from sayedcnn.fidelity.examples import Example
    >>> Example("47.1165", "M = 64^2", 4096, 64 ** 2).ok
    True
    >>> Example("47.1166", "count", 300, 2460, erratum="E-1166").ok  # differs by its erratum
    True
    """

    key: str
    title: str
    printed: object
    computed: object
    erratum: str | None = None
    atol: float = 1e-12
    basis: str = "printed"

    def __post_init__(self):
        if self.basis not in BASES:
            raise ValueError(f"basis must be one of {sorted(BASES)}, got {self.basis!r}")

    @property
    def label(self):
        """The label of the left column: ``printed``, ``as printed, evaluated`` or
        ``independent``."""
        return BASES[self.basis]

    @property
    def agrees(self):
        """Whether ``printed`` equals ``computed`` (entrywise, or as strings)."""
        if isinstance(self.printed, str) or isinstance(self.computed, str):
            return str(self.printed) == str(self.computed)
        if self.printed is None or self.computed is None:
            return False
        a, b = np.asarray(self.printed, dtype=float), np.asarray(self.computed, dtype=float)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=self.atol))

    @property
    def ok(self):
        """A reproduction passes when it agrees, or when it differs by a registered erratum."""
        return self.agrees if self.erratum is None else not self.agrees
