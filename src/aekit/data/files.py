"""Readers for user data files, and ``load_dataset``: the one door from a name or a path to a Dataset.

Accepted files (``FILE_KINDS`` below, also shown by ``aekit datasets``):

- ``.npy``: a 2-D table (n, d) or images (n, H, W) / (n, C, H, W); memory-mapped when large;
- ``.npz``: the array under ``x``/``X``/``data``/``images`` (or the only one), labels under
  ``y``/``labels``/``target``;
- ``.csv``: numbers, an optional header row, optionally a column of class labels;
- MNIST-format IDX images (``*idx3-ubyte``, optionally ``.gz``; LeCun et al.'s format), with the
  labels file beside them;
- a folder of PNG/JPEG images, optionally one subfolder per class (torchvision ``ImageFolder``);
  decoded on demand when large.

Numeric files are returned as they are (float32); images and IDX files are scaled to [0, 1].

Data larger than memory stay on disk (``stream_from_disk``): a large ``.npy`` is memory-mapped and a
large image folder becomes an :class:`ImageFiles` that decodes only the rows read; the trainer streams
either through a DataLoader. ``AEKIT_MMAP=1`` forces this for any size, ``AEKIT_MMAP=0`` forbids it.
"""

from __future__ import annotations

import csv
import gzip
import logging
import math
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from aekit.data.dataset import Dataset, LazyArray, validate
from aekit.errors import DataError, DataFileNotFoundError
from aekit.params import AnyOf, InstanceOf, check
from aekit.registry import available, get

logger = logging.getLogger(__name__)

X_KEYS = ("x", "X", "data", "images")
Y_KEYS = ("y", "labels", "target")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


# --- labels ---------------------------------------------------------------------------------------
def _label_column_index(label_column: int, n_columns: int, source: str) -> int:
    if not -n_columns <= label_column < n_columns:
        raise DataError(
            f"label_column={label_column} is out of range for {source}, which has {n_columns} "
            f"column(s); use 0..{n_columns - 1}, or -1 for the last column."
        )
    return label_column % n_columns


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def encode_labels(values: np.ndarray, source: str) -> tuple[np.ndarray, list[str]]:
    """Class indices (int64) and class names for raw labels (numbers or text).

    Classes are the sorted distinct labels, so ``classes[y[i]]`` gives back row i's label.
    """
    values = np.asarray(values)
    if values.dtype.kind in "US":
        classes, y = np.unique(values.astype(str), return_inverse=True)
        return y.astype(np.int64), [str(c) for c in classes]
    if values.dtype.kind == "b":
        values = values.astype(np.int64)
    if values.dtype.kind not in "iuf":
        raise DataError(f"Labels in {source} must be numbers or text; got dtype {values.dtype}.")
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(
                f"Labels in {source} must be integers or text (class labels); row {row} holds "
                f"{float(values[row])!r}. Pick another label_column, or none for unlabelled data."
            )
    classes, y = np.unique(values, return_inverse=True)
    return y.astype(np.int64).reshape(-1), [_number_text(c) for c in classes]


# --- arrays (.npy / .npz) -------------------------------------------------------------------------
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


def _objects(source: str) -> DataError:
    return DataError(
        f"{source} holds an array of Python objects (dtype object), which aekit never unpickles; save "
        f"numbers instead, e.g. numpy.save(path, x.astype(numpy.float32))."
    )


def _corrupt(source: str, kind: str, error: BaseException, fix: str) -> DataError:
    if "allow_pickle" in str(error):  # numpy's refusal of an object array (.npz): the file is fine, its dtype is not
        return _objects(source)
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return DataError(
        f"Cannot read {source} as {kind} ({reason}). The file may be truncated or corrupt; {fix}."
    )


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
        column = _label_column_index(label_column, x.shape[1], source)
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
        raise _corrupt(source, "a NumPy .npy file", error, fix) from error
    if dtype.hasobject:
        raise _objects(source)
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
        raise _corrupt(source, "a NumPy .npy file", error, "write it again with numpy.save") from error
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
        raise _corrupt(source, "a NumPy .npz archive", error, "write it again with numpy.savez") from error
    if y_raw is not None and y_raw.shape != (x.shape[0],):
        raise DataError(
            f"{source}: labels '{y_key}' have shape {y_raw.shape} but there are {x.shape[0]} samples "
            f"in '{x_key}'; labels must have shape ({x.shape[0]},)."
        )
    return _from_array(x, y_raw, source, path.stem, label_column)


# --- CSV --------------------------------------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv(path: Path, label_column: int | None = None) -> Dataset:
    """Numbers separated by commas; a first row that is not numeric is a header."""
    source = f"'{path}'"
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows, lines = [], []
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue  # blank line
                rows.append([cell.strip() for cell in row])
                lines.append(reader.line_num)
    except (UnicodeDecodeError, csv.Error, OSError) as error:
        raise _corrupt(source, "a CSV text file", error, "save it as UTF-8 CSV") from error
    if not rows:
        raise DataError(
            f"Data set {source} is empty (0 rows). Give a file or folder with at least one sample."
        )

    n_columns = len(rows[0])
    column = None if label_column is None else _label_column_index(label_column, n_columns, source)
    features = [j for j in range(n_columns) if j != column]
    if not features:
        raise DataError(f"{source} has a single column; with label_column={label_column} no features remain.")
    first, first_line = rows[0], lines[0]
    names = None
    if any(not _is_number(first[j]) for j in features) or all(not _is_number(c) for c in first):
        logger.debug("Treating line %d of %s as a header: %s", lines[0], source, first)
        names = [first[j] or f"column {j + 1}" for j in features]
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise DataError(f"Data set {source} is empty (0 rows): it holds only a header line.")

    for row, line in zip(rows, lines):
        if len(row) != n_columns:
            raise DataError(
                f"{source} is ragged: line {line} has {len(row)} field(s) but line {first_line} has "
                f"{n_columns}. Every row needs the same number of comma-separated fields."
            )
    table = [[row[j] for j in features] for row in rows] if column is not None else rows
    try:
        x = np.array(table, dtype=np.float64)
    except ValueError:
        for row, line in zip(rows, lines):
            for j in features:
                if not _is_number(row[j]):
                    raise DataError(
                        f"{source}: line {line}, column {j + 1} is not a number: {row[j]!r}. Every "
                        "cell must be numeric (use label_column for a column of class labels)."
                    ) from None
        raise
    y_raw = None
    if column is not None:
        labels = [row[column] for row in rows]
        if all(_is_number(v) for v in labels):
            y_raw = np.array(labels, dtype=np.float64)
        else:
            y_raw = np.array(labels, dtype=str)
    y, classes = (None, None) if y_raw is None else encode_labels(y_raw, source)
    return Dataset(x.astype(np.float32), y, path.stem, classes, features=names)


# --- IDX (MNIST format) -------------------------------------------------------------------------------
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
        raise _corrupt(source, "a gzipped IDX file", error, "download or copy it again") from error
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


# --- image folders ------------------------------------------------------------------------------------
def _image_files(folder: Path) -> list[tuple[Path, str | None]]:
    """(file, class) pairs: top-level images (no class) or images in one subfolder per class."""
    top = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    labelled = [
        (p, sub.name)
        for sub in subfolders
        for p in sorted(sub.iterdir())
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    ]
    if top and labelled:
        raise DataError(
            f"Folder '{folder}' has images both at its top level ({top[0].name}) and in class "
            f"subfolders ({labelled[0][1]}/{labelled[0][0].name}); put every image in a class "
            "subfolder, or all of them at the top level."
        )
    return [(p, None) for p in top] if top else labelled


def _pixels(image, color: bool) -> np.ndarray:
    """One image as float32 (C, H, W) in [0, 1]: 8-bit scaled by 255, 16-bit grayscale by 65535."""
    if color:
        return np.asarray(image.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0
    if image.mode.startswith("I"):
        return np.asarray(image, dtype=np.float32)[None] / 65535.0
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)[None]
    return np.asarray(image.convert("L"), dtype=np.float32)[None] / 255.0


class ImageFiles(LazyArray):
    """Image files of one size as a read-only float32 array (n, C, H, W) in [0, 1], each image decoded
    when its row is read (with ``_pixels``: the values of the in-memory reader, bit for bit).

    Holds the file names only, so a DataLoader worker gets a list of paths, not pixels."""

    def __init__(self, files: list[Path], size: tuple[int, int], color: bool, finite: bool = True) -> None:
        width, height = size
        self.files = [os.fspath(p) for p in files]
        self.color = color
        self.finite = finite  # 8- and 16-bit pixels scaled to [0, 1]; float images (mode F) may hold NaN
        self.shape = (len(self.files), 3 if color else 1, height, width)  # (n, C, H, W)

    def read_row(self, i: int) -> np.ndarray:
        from PIL import Image

        path = self.files[i]
        try:
            with Image.open(path) as image:
                if image.size != (self.shape[3], self.shape[2]):  # replaced since the folder was read
                    raise ValueError(f"it is {image.size[0]}x{image.size[1]} now, {self.shape[3]}x{self.shape[2]} "
                                     "when the folder was first read")
                return _pixels(image, self.color)  # (C, H, W)
        except (OSError, ValueError) as error:
            raise _corrupt(f"'{path}'", "an image", error, "remove or replace it") from error

    def __repr__(self) -> str:
        return f"ImageFiles({len(self.files)} files, shape={self.shape})"


def read_image_folder(folder: Path, label_column: int | None = None) -> Dataset:
    """PNG/JPEG images of one size as float32 (n, C, H, W) in [0, 1]; subfolder names are classes.

    Decoded into memory, or, when that would take more than a quarter of the available memory
    (``stream_from_disk``), left on disk as :class:`ImageFiles` and decoded batch by batch."""
    from PIL import Image, UnidentifiedImageError

    if label_column is not None:
        raise DataError(
            f"label_column applies to tables (.csv, .npy); folder '{folder}' takes its labels from "
            f"class subfolders (got label_column={label_column})."
        )
    files = _image_files(folder)
    if not files:
        raise DataError(
            f"Data set '{folder}' is empty: no PNG or JPEG images at its top level or in its "
            "subfolders. Put the images there (one subfolder per class for labels)."
        )
    first_size, first_file, color, finite = None, None, False, True
    for path, _ in files:  # pass 1: headers only, so a wrong size fails before any pixel is read
        try:
            with Image.open(path) as image:
                size, mode = image.size, image.mode
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise _corrupt(f"'{path}'", "an image", error, "remove or replace it") from error
        if first_size is None:
            first_size, first_file = size, path
        elif size != first_size:
            raise DataError(
                f"Images in '{folder}' differ in size: {first_file.relative_to(folder)} is "
                f"{first_size[0]}x{first_size[1]} but {path.relative_to(folder)} is {size[0]}x{size[1]} "
                "(width x height). Resize them to one size first."
            )
        color = color or mode not in ("1", "L", "LA", "I", "I;16", "F")
        finite = finite and mode != "F"
    images = ImageFiles([path for path, _ in files], first_size, color, finite)
    kind, (width, height) = "RGB" if color else "grayscale", first_size
    decoded = math.prod(images.shape) * 4  # bytes as float32
    if stream_from_disk(decoded):
        x = images
        logger.info("Decoding the %d %s images of %dx%d in '%s' on demand (%.0f MB decoded) instead of "
                    "loading them.", len(files), kind, width, height, folder, decoded / 2**20)
    else:
        x = images[:]  # (n, C, H, W), every image decoded now
        logger.info("Read %d %s images of %dx%d from '%s'.", len(files), kind, width, height, folder)
    y, classes = None, None
    if files[0][1] is not None:
        classes = sorted({label for _, label in files})
        y = np.array([classes.index(label) for _, label in files], dtype=np.int64)
    return Dataset(x, y, folder.resolve().name, classes)


# --- dispatch -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileKind:
    """One kind of accepted path: how ``aekit datasets`` names it, and how it is recognised and read."""

    pattern: str
    description: str
    matches: Callable[[Path], bool]
    read: Callable[[Path, int | None], Dataset]


def _is_idx(path: Path) -> bool:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return name.endswith("idx3-ubyte")


FILE_KINDS = (
    FileKind(
        "*.npy",
        "NumPy array: a table (n, d) or images (n, H, W) / (n, C, H, W); memory-mapped when large",
        lambda p: p.suffix.lower() == ".npy",
        read_npy,
    ),
    FileKind(
        "*.npz",
        "NumPy archive: samples under 'x'/'X'/'data'/'images', labels under 'y'/'labels'/'target'",
        lambda p: p.suffix.lower() == ".npz",
        read_npz,
    ),
    FileKind(
        "*.csv",
        "numeric CSV with an optional header row; label_column picks a column of class labels",
        lambda p: p.suffix.lower() == ".csv",
        read_csv,
    ),
    FileKind(
        "*idx3-ubyte[.gz]",
        "MNIST-format IDX images, with the *labels-idx1-ubyte file beside them used as labels",
        _is_idx,
        read_idx_images,
    ),
    FileKind(
        "folder/",
        "a folder of PNG/JPEG images of one size; one subfolder per class gives labels; decoded on demand when large",
        lambda p: p.is_dir(),
        read_image_folder,
    ),
)


def _kinds_text() -> str:
    return ", ".join(kind.pattern for kind in FILE_KINDS)


def _looks_like_path(spec: str) -> bool:
    path = Path(spec)
    return (
        os.sep in spec
        or "/" in spec
        or spec.startswith((".", "~"))
        or any(kind.matches(path) for kind in FILE_KINDS[:-1])
    )


def read_path(spec: str | os.PathLike, label_column: int | None = None) -> Dataset:
    """Read a user file or folder; which reader is picked depends on the suffix (see FILE_KINDS)."""
    path = Path(spec).expanduser()
    if not path.exists():
        what = "folder" if os.fspath(spec).endswith(("/", os.sep)) else "file"
        raise DataFileNotFoundError(
            f"Data {what} '{path}' does not exist. Check the path, or name a registered data set: "
            f"{', '.join(available('dataset'))}."
        )
    for kind in FILE_KINDS if not path.is_dir() else FILE_KINDS[-1:]:
        if kind.matches(path):
            return kind.read(path, label_column)
    raise DataError(
        f"Cannot read '{path}': unknown file kind {path.suffix or '(no suffix)'!r}. "
        f"Accepted: {_kinds_text()}."
    )


def load_dataset(
    spec: str,
    *,
    label_column: int | None = None,
    cache_dir: str | None = None,
    download: bool = True,
) -> Dataset:
    """A registered data set by name ("mnist5k", "digits", "mnist", ...) or a file or folder by path."""
    check("label_column", label_column, AnyOf(InstanceOf(int), None), "load_dataset")
    spec = os.fspath(spec)
    names = available("dataset")
    if spec in names:
        if label_column is not None:
            raise DataError(
                f"label_column applies to files; data set {spec!r} has its own labels "
                f"(got label_column={label_column})."
            )
        ds = get("dataset", spec)(cache_dir=cache_dir, download=download)
        source = f"'{spec}'"
    elif Path(spec).expanduser().exists() or _looks_like_path(spec):
        ds = read_path(spec, label_column)
        source = f"'{spec}'"
    else:
        raise DataError(
            f"Unknown data set {spec!r}, and no such file or folder. Registered data sets: "
            f"{', '.join(names)}; or give a path to one of: {_kinds_text()}."
        )
    validate(ds, source)
    logger.info(
        "Loaded %s: %d rows of shape %s%s.",
        spec, len(ds), ds.sample_shape, "" if ds.classes is None else f", {len(ds.classes)} classes",
    )
    return ds


def list_datasets() -> list[tuple[str, str]]:
    """(name, one-line description) of every registered data set, then of each accepted file kind."""
    named = [(name, get("dataset", name).description) for name in available("dataset")]
    return named + [(kind.pattern, kind.description) for kind in FILE_KINDS]
