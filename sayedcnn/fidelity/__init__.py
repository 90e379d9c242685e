r"""Fidelity to the printed chapter: the errata register (:mod:`~sayedcnn.fidelity.errata`),
the equation index (:mod:`~sayedcnn.fidelity.equations`), the chapter's worked examples
(:mod:`~sayedcnn.fidelity.book_examples`), symbolic forms and the seed notes
(:mod:`~sayedcnn.fidelity.seeds`).
"""

__all__ = []
