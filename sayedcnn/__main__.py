"""``python -m sayedcnn``: see :mod:`sayedcnn.app.cli`."""

import sys

from .app.cli import main

sys.exit(main())
