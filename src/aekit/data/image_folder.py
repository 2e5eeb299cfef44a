"""A folder of PNG/JPEG images of one size, optionally one subfolder per class (torchvision ``ImageFolder``);
decoded on demand (:class:`ImageFiles`) when decoded it would not fit the memory policy."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from aekit.data.dataset import Dataset, LazyArray
from aekit.data.file_errors import corrupt_file
from aekit.data.memory import stream_from_disk
from aekit.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

logger = logging.getLogger(__name__)


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
            raise corrupt_file(f"'{path}'", "an image", error, "remove or replace it") from error

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
            raise corrupt_file(f"'{path}'", "an image", error, "remove or replace it") from error
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
