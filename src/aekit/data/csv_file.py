"""CSV files: numbers, an optional header row, optionally a column of class labels."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from aekit.data.dataset import Dataset
from aekit.data.file_errors import corrupt_file
from aekit.data.labels import encode_labels, label_column_index
from aekit.errors import DataError

logger = logging.getLogger(__name__)


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
        raise corrupt_file(source, "a CSV text file", error, "save it as UTF-8 CSV") from error
    if not rows:
        raise DataError(
            f"Data set {source} is empty (0 rows). Give a file or folder with at least one sample."
        )

    n_columns = len(rows[0])
    column = None if label_column is None else label_column_index(label_column, n_columns, source)
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
