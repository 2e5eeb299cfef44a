"""MNIST-format IDX files (LeCun et al.'s format, optionally ``.gz``): images, with the labels file beside them."""

from __future__ import annotations

import gzip
import logging
import zlib
from pathlib import Path

import numpy as np

from aekit.data.dataset import Dataset
from aekit.data.file_errors import corrupt_file
from aekit.data.labels import encode_labels
from aekit.errors import DataError

logger = logging.getLogger(__name__)


# The IDX format (LeCun et al., https://yann.lecun.com/exdb/mnist/): two zero bytes, a type code, the
# number of dimensions, one big-endian uint32 size per dimension, then the values in C order.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file (gzipped when its name ends in ``.gz``)."""
    source = f"'{path}'"
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise corrupt_file(source, "a gzipped IDX file", error, "download or copy it again") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or data[3] == 0:
        magic = int.from_bytes(data[:4].ljust(4, b"\0"), "big")
        raise DataError(
            f"{source} is not an IDX file: wrong magic number 0x{magic:08X} (expected 0x0000TTDD, "
            "e.g. 0x00000803 for images and 0x00000801 for labels). Check the file is MNIST-format IDX."
        )
    ndim, dtype = data[3], np.dtype(_IDX_TYPES[data[2]])
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{source} is truncated: its header needs {header} bytes, the file holds {len(data)}."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(
            f"{source} does not match its header: shape {'x'.join(map(str, shape))} needs {expected} "
            f"bytes, the file holds {len(data)}. The file is truncated or corrupt; download or copy it again."
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _idx_labels_path(path: Path) -> Path | None:
    """The labels file beside an images file: "train-images-idx3-ubyte" -> "train-labels-idx1-ubyte"."""
    for images, labels in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1")):
        if images in path.name:
            candidate = path.with_name(path.name.replace(images, labels))
            if candidate.exists():
                return candidate
    return None


def idx_images(images: np.ndarray, source: str) -> np.ndarray:
    """IDX images (n, H, W) or (n, H, W, C) as float32 (n, C, H, W), uint8 scaled to [0, 1]."""
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4:
        images = images.transpose(0, 3, 1, 2)
    else:
        raise DataError(f"{source} holds an array of shape {images.shape}; IDX images must be (n, H, W).")
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    return images.astype(np.float32) / np.float32(scale)


def read_idx_images(path: Path, label_column: int | None = None) -> Dataset:
    source = f"'{path}'"
    x = idx_images(read_idx(path), source)
    y, classes = None, None
    labels_path = _idx_labels_path(path)
    if labels_path is not None:
        labels = read_idx(labels_path)
        if labels.shape != (x.shape[0],):
            raise DataError(
                f"'{labels_path}' holds {labels.shape} labels but {source} holds {x.shape[0]} images; "
                "they must match."
            )
        y, classes = encode_labels(labels, f"'{labels_path}'")
        logger.debug("Read labels for %s from %s", source, labels_path)
    name = path.name.split("-images-idx3")[0].split("-idx3")[0]
    return Dataset(x, y, name, classes)
