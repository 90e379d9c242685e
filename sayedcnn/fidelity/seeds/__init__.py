r"""The seed notes: four short derivations of backpropagation through convolutional layers,
each reproduced with the book's matrices (``s000``, ``s001``, ``s002``, ``s004``).

The notes are not shipped with the package, so :data:`SEED_NOTES` says what each one is (its
author or source, and what it derives) in a sentence; ``reproduce``, ``errata``, ERRATA.md,
the README and the notebooks quote these sentences. All four, like the chapter, were read
from text transcriptions, not from the original documents.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SeedNote", "SEED_NOTES", "describe"]


@dataclass(frozen=True)
class SeedNote:
    """What one seed note is.

    Attributes
    ----------
    key : str
        ``"seed000"``, ... (the key of its examples and the ``source`` of its errata).
    module : str
        The module that reproduces it.
    source : str
        Author or source, as the note states it (or that it states none).
    derives : str
        What it derives, in the book's terms where they differ.

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds import SEED_NOTES
    >>> note = SEED_NOTES["seed004"]
    >>> note.module, note.source.startswith("H. Xu")
    ('sayedcnn.fidelity.seeds.s004', True)
    """

    key: str
    module: str
    source: str
    derives: str

    @property
    def sentence(self):
        """The note in one sentence: its source, then what it derives."""
        return f"{self.source}; {self.derives}."


SEED_NOTES = {
    "seed000": SeedNote(
        "seed000", "sayedcnn.fidelity.seeds.s000",
        "a short unsigned note that names no author or source",
        "it backpropagates by hand through a 4x4 image, one 2x2 filter (a 3x3 map), 2x2 "
        "max-pooling at stride 1 (overlapping windows) and two outputs, with a worked "
        "'reverse max-pool' example, which the book's selection matrix T of (47.1203) and "
        "(47.1244) reproduce"),
    "seed001": SeedNote(
        "seed001", "sayedcnn.fidelity.seeds.s001",
        "lecture 6 of the KTH course DD2424, 'The Convolutional Layer in Convolutional "
        "Networks' (slides dated 19 April 2017)",
        "it writes a convolutional layer as a matrix product (im2col M_X^im and the filter "
        "matrix M_F^filter) and derives the cross-entropy gradients through one and two "
        "layers, which are the book's H^T w (47.1157), V^(d,d',c+1) (47.1257) and H delta "
        "(47.1269)"),
    "seed002": SeedNote(
        "seed002", "sayedcnn.fidelity.seeds.s002",
        "an unsigned note in the BP1-BP4 notation of M. Nielsen's online book Neural "
        "Networks and Deep Learning",
        "it derives BP1-BP4 index by index for a 28x28 MNIST network with one shared 5x5 "
        "filter, 2x2 max-pooling and ten sigmoid outputs, which the training listing "
        "(47.1275) reproduces"),
    "seed004": SeedNote(
        "seed004", "sayedcnn.fidelity.seeds.s004",
        "H. Xu (Sun Yat-sen University, 2014), 'Derivation of Convolutional Neural "
        "Networks', a guide to J. Bouvrie's Notes on Convolutional Neural Networks",
        "it derives LeNet-style connection tables, trainable average pooling with "
        "up(x) = x (x) 1 and the rotated-kernel gradients, which are the book's connection "
        "subsets (47.1213), permute#(upv(.)) (47.1244) and V^(d,d',c+1) (47.1257)"),
}


def describe(key):
    """The one-sentence description of the seed note ``key`` (``"seed000"``, ``"000"``,
    ``"s000"``).

    Examples
    --------
    >>> from sayedcnn.fidelity.seeds import describe
    >>> describe("001").startswith("lecture 6 of the KTH course DD2424")
    True
    """
    k = str(key).strip().lower().replace("seed", "").lstrip("s")
    note = SEED_NOTES.get(f"seed{k}")
    if note is None:
        raise KeyError(f"no seed note {key!r}; notes: {sorted(SEED_NOTES)}")
    return note.sentence
