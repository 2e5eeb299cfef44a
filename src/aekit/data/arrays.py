"""NumPy files: ``.npy`` (a table (n, d) or images, memory-mapped when large) and ``.npz`` (samples under
``x``/``X``/``data``/``images``, labels under ``y``/``labels``/``target``), read as data, never unpickled."""

from __future__ import annotations

import logging
import math
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from aekit.data.dataset import Dataset
from aekit.data.file_errors import corrupt_file, pickled_objects
from aekit.data.labels import encode_labels, label_column_index
from aekit.data.memory import available_memory, stream_from_disk
from aekit.errors import DataError

X_KEYS = ("x", "X", "data", "images")
Y_KEYS = ("y", "labels", "target")

logger = logging.getLogger(__name__)


def _from_array(
    x: np.ndarray, y_raw: np.ndarray | None, source: str, name: str, label_column: int | None
) -> Dataset:
    """A Dataset from a table (n, d) or images (n, H, W) / (n, C, H, W), and optional raw labels."""
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
        raise DataError(f"{source} must hold real numbers; got dtype {x.dtype}.")
    if x.ndim not in (2, 3, 4):
        raise DataError(
            f"{source} has shape {x.shape}; expected a table (n, d) or images (n, H, W) or (n, C, H, W)."
        )
    if label_column is not None:
        if x.ndim != 2:
            raise DataError(f"label_column applies to 2-D tables only; {source} has shape {x.shape}.")
        if y_raw is not None:
            raise DataError(f"{source} already holds labels; leave label_column unset (got {label_column}).")
        column = label_column_index(label_column, x.shape[1], source)
        if x.shape[1] < 2:
            raise DataError(
                f"{source} has a single column; with label_column={label_column} no features remain."
            )
        y_raw = np.asarray(x[:, column])
        keep = np.arange(x.shape[1]) != column
        if isinstance(x, np.memmap):
            logger.warning(
                "label_column on memory-mapped %s: reading its features into memory (%.0f MB).",
                source, x.shape[0] * (x.shape[1] - 1) * 4 / 2**20,
            )
        x = np.asarray(x[:, keep], dtype=np.float32)
    if x.ndim == 3:
        x = x.reshape(x.shape[0], 1, *x.shape[1:])  # (n, H, W) -> (n, 1, H, W), a view
    if not isinstance(x, np.memmap):
        x = x.astype(np.float32, copy=False)
    y, classes = (None, None) if y_raw is None else encode_labels(y_raw, source)
    if y is not None and len(y) != x.shape[0]:
        raise DataError(f"{source} has {x.shape[0]} samples but {len(y)} labels; they must match.")
    return Dataset(x, y, name, classes)


def _size(nbytes: float) -> str:
    """``35.5 PiB``: a number of bytes for a person."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} bytes" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return ""  # unreachable


def _check_npy_header(handle: BinaryIO, size: int, source: str, mmap: bool = False) -> None:
    """Read the header of the .npy content in ``handle`` (``size`` bytes in all) and refuse, in one line, what
    ``np.load`` would fail on late or obscurely: no .npy at all, an array of Python objects, or a shape that
    claims more bytes than there are, or than memory holds (numpy would try to allocate them first)."""
    from numpy.lib import format as npy

    fix = "write it again with numpy.save"
    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    try:
        version = npy.read_magic(handle)
        if version not in readers:  # a newer layout: np.load judges it
            return
        shape, _, dtype = readers[version](handle)
        data_bytes = size - handle.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as error:
        raise corrupt_file(source, "a NumPy .npy file", error, fix) from error
    if dtype.hasobject:
        raise pickled_objects(source)
    claimed = math.prod(shape) * dtype.itemsize
    memory = available_memory()
    if claimed > data_bytes:
        beyond = f"; {_size(memory)} of memory is available" if memory is not None and claimed > memory else ""
        raise DataError(f"{source} claims to hold an array of shape {shape} ({dtype}, {_size(claimed)}) but holds "
                        f"{_size(data_bytes)} of data{beyond}: its header is wrong or the file is truncated; {fix}.")
    if not mmap and memory is not None and math.prod(shape) * 4 > memory:
        raise DataError(f"{source} holds an array of shape {shape} ({_size(math.prod(shape) * 4)} as float32), more "
                        f"than the {_size(memory)} of memory available; leave AEKIT_MMAP unset (or set it to 1) so "
                        f"that aekit streams it from disk.")


def read_npy(path: Path, label_column: int | None = None) -> Dataset:
    source = f"'{path}'"
    mmap = stream_from_disk(path.stat().st_size)
    with open(path, "rb") as handle:
        _check_npy_header(handle, path.stat().st_size, source, mmap)
    try:
        x = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except MemoryError:
        raise DataError(f"{source} does not fit in the {_size(available_memory() or 0)} of memory available; set "
                        f"AEKIT_MMAP=1 to stream it from disk.") from None
    except (ValueError, OSError, EOFError) as error:
        raise corrupt_file(source, "a NumPy .npy file", error, "write it again with numpy.save") from error
    if mmap:
        logger.info("Memory-mapping %s (%.0f MB) instead of loading it.", source, path.stat().st_size / 2**20)
    return _from_array(x, None, source, path.stem, label_column)


def read_npz(path: Path, label_column: int | None = None) -> Dataset:
    source = f"'{path}'"
    try:
        # our own handle: np.load leaves its file open when the zip is bad
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            keys = list(archive.files)
            x_key = next((k for k in X_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
            if x_key is None:
                raise DataError(
                    f"{source} holds arrays {keys} but none is named {', '.join(X_KEYS)}; "
                    "save the samples under 'x' (and labels under 'y')."
                )
            y_key = next((k for k in Y_KEYS if k in keys), None)
            for key in (x_key, y_key) if y_key is not None else (x_key,):  # each header, before numpy allocates
                name = f"{key}.npy" if f"{key}.npy" in archive.zip.namelist() else key
                with archive.zip.open(name) as member:
                    _check_npy_header(member, archive.zip.getinfo(name).file_size, f"{source} (array {key!r})")
            x = archive[x_key]
            y_raw = None if y_key is None else archive[y_key]
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as error:
        raise corrupt_file(source, "a NumPy .npz archive", error, "write it again with numpy.savez") from error
    if y_raw is not None and y_raw.shape != (x.shape[0],):
        raise DataError(
            f"{source}: labels '{y_key}' have shape {y_raw.shape} but there are {x.shape[0]} samples "
            f"in '{x_key}'; labels must have shape ({x.shape[0]},)."
        )
    return _from_array(x, y_raw, source, path.stem, label_column)
