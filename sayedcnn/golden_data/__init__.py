"""Golden traces shipped with the package (see :mod:`sayedcnn.golden`)."""
