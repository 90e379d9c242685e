r"""Bridges between the book's matrix formulation and other libraries.

* :mod:`sayedcnn.interop.torch`: a :class:`~sayedcnn.network.Network` with its book-shaped
  parameters as an equivalent ``torch.nn.Module`` and back (needs the ``torch`` extra:
  ``pip install "sayedcnn[torch]"``).

Nothing here is imported by ``import sayedcnn``; the core never needs these libraries.
"""

__all__ = []
