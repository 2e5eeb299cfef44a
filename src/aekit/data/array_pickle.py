"""Reading a pickle of numpy arrays without running anything else it names.

A pickle is a program: each global it names is imported and may be called while loading. This
unpickler admits only numpy's array reconstruction (``_reconstruct``, ``ndarray``, ``dtype``), the
three globals numpy's own ``ndarray.__reduce__`` writes, and refuses every other name before
anything is imported or called. aekit reads pickles only behind a pinned SHA-256 (DESIGN: what
aekit reads is data); this is the second lock on that door.
"""

from __future__ import annotations

import pickle
from typing import IO, Any

import numpy as np

try:  # numpy >= 2 keeps it in numpy._core and warns on numpy.core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

# (module, name) as written by numpy 1.x and 2.x pickles -> the object; nothing is imported by name
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class ArrayUnpickler(pickle.Unpickler):
    """An Unpickler whose ``find_class`` admits :data:`ALLOWED` only."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"the global {module}.{name} is not allowed: only numpy arrays are read"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused a persistent id: only numpy arrays are read")


def load_arrays(stream: IO[bytes]) -> Any:
    """The object pickled in ``stream``, built from numpy arrays, tuples, lists, dicts, numbers and
    strings only. Python 2 pickles are read with ``encoding="latin1"``, the way numpy's own array
    bytes survive the move to Python 3. Raises ``pickle.UnpicklingError`` on any other global."""
    return ArrayUnpickler(stream, encoding="latin1").load()
