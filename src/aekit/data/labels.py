"""Class labels read from a data file: a column picked by index, and labels of any kind encoded as 0..C-1."""

from __future__ import annotations

import numpy as np

from aekit.errors import DataError


def label_column_index(label_column: int, n_columns: int, source: str) -> int:
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
