"""Collection of the package's docstring examples (``--doctest-modules``, see setup.cfg).

Modules that cannot be imported for their doctests are left out: ``__main__`` runs the
command line when imported, and the PyTorch bridge needs the optional torch.
"""

import importlib.util

collect_ignore = ["sayedcnn/__main__.py", "docs", "notebooks"]
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("sayedcnn/interop/torch.py")
