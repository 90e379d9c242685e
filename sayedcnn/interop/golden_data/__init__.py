"""Golden traces shipped with the package (see :mod:`sayedcnn.interop.golden`)."""

__all__ = []
