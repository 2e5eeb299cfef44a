"""``python -m aekit …`` runs the command line, as the ``aekit`` script does (and ``torchrun -m aekit``).

``python -m`` puts the working directory first on ``sys.path`` (Python does this, before aekit runs). A run
folder read from inside it (``cd runs/gift && python -m aekit report .``) could then stand in for numpy,
yaml or torch with a ``numpy.py`` of its own, so the working directory leaves the path before the command
imports anything: ``python -m aekit`` imports what the ``aekit`` script imports. (What Python itself imported
to start the package, ``typing`` or ``re``, it found before this line; ``python -P -m aekit`` or the ``aekit``
script leave the working directory off the path from the start.)
"""

import os
import sys

if sys.path and not sys.flags.safe_path and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd():
    del sys.path[0]

from aekit.cli import main  # noqa: E402 - after the working directory has left the import path

sys.exit(main())
