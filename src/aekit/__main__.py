"""``python -m aekit …`` runs the command line, as the ``aekit`` script does (and ``torchrun -m aekit``)."""

import sys

from aekit.cli import main

sys.exit(main())
