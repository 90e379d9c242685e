"""The four shorter derivations in the seed notes, reproduced with the book's matrices."""
