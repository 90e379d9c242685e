r"""Teaching tools: labelled matrices (:func:`show`), step-by-step explanations of the
listings (:mod:`.explain`), generated exercises with worked solutions (:mod:`.exercises`)
and the derivation of the training algorithm proved symbolically (:mod:`.prove`).

Nothing here is imported by ``import sayedcnn`` except :func:`show`, which needs numpy only;
sympy is imported by :mod:`.prove` when it runs.
"""

__all__ = []
