"""Whether data stay on disk: the memory policy of every reader; the memory available, which the model size
check (:func:`aekit.models.memory.check_fits`) reads too.

Data larger than a quarter of the available memory stay on disk (``stream_from_disk``): a large
``.npy`` is memory-mapped and a large image folder decodes only the rows read; the trainer streams
either through a DataLoader. ``AEKIT_MMAP=1`` forces this for any size, ``AEKIT_MMAP=0`` forbids it.
"""

from __future__ import annotations

import os

from aekit.errors import DataError


def available_memory() -> int | None:
    """Bytes of RAM available now (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def stream_from_disk(nbytes: int) -> bool:
    """Whether data of ``nbytes`` (as float32 in memory) stay on disk, read row by row when asked:
    always when ``AEKIT_MMAP=1``, never when ``AEKIT_MMAP=0``, else when they exceed a quarter of the
    available memory (training needs room for more than one copy of a batch, the model and the rest)."""
    setting = os.environ.get("AEKIT_MMAP", "").strip()
    if setting in ("1", "0"):
        return setting == "1"
    if setting:
        raise DataError(
            f"The environment variable AEKIT_MMAP must be 1 (keep data on disk and stream them), 0 (load "
            f"them into memory) or unset (stream when larger than a quarter of the available memory); "
            f"got {setting!r}."
        )
    memory = available_memory()
    return memory is not None and nbytes > memory / 4
