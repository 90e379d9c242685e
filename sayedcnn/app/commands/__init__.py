"""Subcommands of ``python -m sayedcnn``, one module each.

A command's interface is its command line (``python -m sayedcnn COMMAND --help``): each
module's ``add_arguments(parser)`` declares its options and ``run(args)`` runs it and
returns the exit status. Both are called by :func:`sayedcnn.app.cli.main` only, so they are
not in the modules' ``__all__``; what a module exports besides (``four_way``,
``build_network``, ...) is for use from Python and has its own example.
"""

__all__ = []
