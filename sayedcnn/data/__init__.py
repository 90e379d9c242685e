"""Handwritten-digit images shipped with the package (see ``DATA.md`` in this folder)."""

__all__ = []
