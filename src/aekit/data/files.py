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

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aekit.data.arrays import read_npy, read_npz
from aekit.data.csv_file import read_csv
from aekit.data.dataset import Dataset, validate
from aekit.data.idx import read_idx_images
from aekit.data.image_folder import read_image_folder
from aekit.errors import DataError, DataFileNotFoundError
from aekit.params import AnyOf, InstanceOf, check
from aekit.registry import available, get

logger = logging.getLogger(__name__)

LABEL_COLUMN = AnyOf(InstanceOf(int), None)  # load_dataset's label_column, declared once like a config field's


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
    check("label_column", label_column, LABEL_COLUMN, "load_dataset")
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
