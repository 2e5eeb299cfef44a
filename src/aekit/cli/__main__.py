"""``python -m aekit.cli``: the ``aekit`` command."""

import sys

from aekit.cli import main

sys.exit(main())
