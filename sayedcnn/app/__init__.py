r"""The command line and its tools: ``python -m sayedcnn COMMAND`` (:mod:`~sayedcnn.app.cli`),
the commands in :mod:`~sayedcnn.app.commands`, benchmarks, checkpoints, progress and figures.

Nothing in the core imports this package.
"""

__all__ = []
