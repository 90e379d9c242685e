"""Subcommands of ``python -m sayedcnn``, one module each."""
