"""``python -m sayedcnn``: see :mod:`sayedcnn.cli`."""

import sys

from .cli import main

sys.exit(main())
