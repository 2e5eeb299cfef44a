"""The Dataset container, train/val/test splits and the checks every loaded data set passes.

A :class:`Dataset` holds the samples ``x`` with shape ``(n, *sample_shape)`` — ``(d,)`` for tables,
``(C, H, W)`` for images — either as float32 in memory, or left on disk and read row by row when
asked (``is_streamed``): a read-only ``np.memmap`` of a large ``.npy`` file, or a :class:`LazyArray`
such as a large image folder decoded on demand. Subsets of a streamed data set share its storage
and keep a vector of row ``indices``, so splitting a 20 GB file copies nothing. Splits follow
scikit-learn's ``train_test_split`` (shuffled with one seed, stratified by label when labels exist).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aekit.errors import DataError
from aekit.params import SEED, Interval, check
from aekit.registry import register

logger = logging.getLogger(__name__)

# Rows read at once when a memory-mapped file is scanned (finiteness) or copied into memory.
_CHUNK_BYTES = 32 * 2**20


class LazyArray:
    """A read-only float32 array ``(n, *sample_shape)`` whose rows are produced only when read.

    ``x[i]``, ``x[start:stop]`` and ``x[rows]`` (a 1-D array of row numbers) give float32 arrays, as
    indexing an ``np.memmap`` would; a subclass says how one row is made (``read_row``) and holds only
    what it needs for that (file names, not values), so it pickles small for DataLoader workers.
    """

    dtype = np.dtype(np.float32)
    shape: tuple[int, ...]
    finite = False  # True when every value is known to be finite (validate then reads nothing)

    def read_row(self, i: int) -> np.ndarray:
        """Row ``i`` (0 <= i < n) as float32 ``sample_shape``."""
        raise NotImplementedError

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, tuple):  # x[rows, ...]: read the rows, then index within them
            rows = self[key[0]]
            return rows[key[1:]] if rows.ndim < self.ndim else rows[(slice(None), *key[1:])]
        rows = np.arange(self.shape[0])[key]  # numpy's own rules for ints, slices, arrays and their errors
        if rows.ndim == 0:
            return self.read_row(int(rows))
        out = np.empty((len(rows), *self.shape[1:]), dtype=np.float32)
        for i, row in enumerate(rows.reshape(-1)):
            out[i] = self.read_row(int(row))
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)


@dataclass(repr=False, eq=False)
class Dataset:
    """Samples ``x`` (and optional class labels ``y``) of one data set, in memory or read from disk."""

    x: np.ndarray | LazyArray  # (n_storage_rows, *sample_shape): float32 in memory, a read-only memmap, a LazyArray
    y: np.ndarray | None = None  # (n_storage_rows,) int64 class indices, or None
    name: str = ""
    classes: list[str] | None = None  # names of the classes, classes[y[i]] is row i's label
    test_start: int | None = None  # rows [test_start:] are an official test set
    indices: np.ndarray | None = None  # storage rows of x in this data set; None = all rows
    val_start: int | None = None  # with test_start: rows [val_start:test_start] are an official validation set
    features: list[str] | None = None  # names of the features of a table (a CSV's header), one per column

    def __post_init__(self) -> None:
        if not isinstance(self.x, (np.ndarray, LazyArray)) or self.x.ndim < 2:
            shape = getattr(self.x, "shape", type(self.x).__name__)
            raise DataError(
                f"Dataset x must be an array of shape (n, *sample_shape) with at least 2 dimensions; "
                f"got {shape}. Reshape a single sample to (1, d)."
            )
        if not self.is_streamed and self.x.dtype != np.float32:
            if not (np.issubdtype(self.x.dtype, np.number) or self.x.dtype == np.bool_):
                raise DataError(f"Dataset x must be numeric; got dtype {self.x.dtype}.")
            self.x = self.x.astype(np.float32)
        if self.y is not None:
            self.y = np.asarray(self.y)
            if self.y.shape != (self.x.shape[0],):
                raise DataError(
                    f"Dataset y must have shape ({self.x.shape[0]},) to match x {self.x.shape}; "
                    f"got {self.y.shape}."
                )
            if not np.issubdtype(self.y.dtype, np.integer):
                raise DataError(f"Dataset y must hold integer class indices; got dtype {self.y.dtype}.")
            self.y = self.y.astype(np.int64, copy=False)
        if self.indices is not None:
            self.indices = np.asarray(self.indices, dtype=np.intp)
        if self.test_start is not None and not 0 <= self.test_start <= len(self):
            raise DataError(
                f"Dataset test_start must be in [0, {len(self)}] (the number of rows); "
                f"got {self.test_start}."
            )
        if self.val_start is not None and (self.test_start is None or not 0 <= self.val_start <= self.test_start):
            raise DataError(
                f"Dataset val_start must be in [0, test_start] and needs test_start (rows [val_start:test_start] "
                f"are the validation set); got val_start={self.val_start}, test_start={self.test_start}."
            )

    # --- shape -----------------------------------------------------------------------------------
    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.x.shape[1:])

    @property
    def n_features(self) -> int:
        return math.prod(self.sample_shape)

    def __len__(self) -> int:
        return int(self.x.shape[0] if self.indices is None else len(self.indices))

    @property
    def fixed_split(self) -> bool:
        """The data set comes with its own train / validation / test rows (full MNIST's 50,000 /
        10,000 / 10,000): :func:`split_dataset` keeps their sizes and the test rows whatever the
        fractions, and returns them all as they are for seed 0."""
        return self.val_start is not None

    @property
    def is_streamed(self) -> bool:
        """The rows stay on disk and are read when asked (a memory-mapped file or a LazyArray); the
        trainer then streams them through a DataLoader instead of holding one tensor in memory."""
        return isinstance(self.x, (np.memmap, LazyArray))

    def __repr__(self) -> str:
        labels = "no labels" if self.y is None else f"{len(self.classes or [])} classes"
        storage = "memmap" if isinstance(self.x, np.memmap) else "read on demand" if self.is_streamed else "in memory"
        return (
            f"Dataset(name={self.name!r}, n={len(self)}, sample_shape={self.sample_shape}, "
            f"{labels}, {storage})"
        )

    # --- rows ------------------------------------------------------------------------------------
    def _storage_rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows of this data set (0..len-1) as rows of the storage ``x``."""
        rows = np.asarray(rows)
        if rows.size == 0:
            rows = rows.astype(np.intp)
        if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
            raise DataError(
                f"rows must be a 1-D array of integer row numbers; got {rows.dtype} {rows.shape}."
            )
        if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
            raise DataError(
                f"rows must be in [0, {len(self) - 1}] for data set {self.name!r} of {len(self)} rows; "
                f"got values from {rows.min()} to {rows.max()}."
            )
        rows = np.where(rows < 0, rows + len(self), rows).astype(np.intp)
        return rows if self.indices is None else self.indices[rows]

    def take(self, rows: np.ndarray) -> Dataset:
        """The subset of ``rows``; in-memory x is copied, streamed x is shared and ``indices`` composed."""
        storage = self._storage_rows(rows)
        if self.is_streamed:
            return Dataset(self.x, self.y, self.name, self.classes, None, storage, features=self.features)
        y = None if self.y is None else self.y[storage]
        return Dataset(self.x[storage], y, self.name, self.classes, features=self.features)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """float32 array ``(len(rows), *sample_shape)`` of the given rows, in the order given."""
        storage = self._storage_rows(rows)
        if not self.is_streamed:
            return self.x[storage].astype(np.float32, copy=False)
        order = np.argsort(storage, kind="stable")  # a file reads fastest front to back
        out = np.empty((len(storage), *self.sample_shape), dtype=np.float32)
        out[order] = self.x[storage[order]]
        return out

    def array(self) -> np.ndarray:
        """The whole data set as one float32 array in memory (x itself when nothing needs copying)."""
        if not self.is_streamed:
            return self.x if self.indices is None else self.x[self.indices]
        if self.indices is not None:
            return self.rows(np.arange(len(self)))
        out = np.empty(self.x.shape, dtype=np.float32)
        for start, stop in _chunks(self.x):
            out[start:stop] = self.x[start:stop]
        return out

    @property
    def labels(self) -> np.ndarray | None:
        """Class indices of this data set's rows (``y`` restricted to ``indices``), or None."""
        if self.y is None:
            return None
        return self.y if self.indices is None else self.y[self.indices]


@dataclass(repr=False)
class Splits:
    """Train, validation and test subsets of one data set."""

    train: Dataset
    val: Dataset
    test: Dataset

    def __repr__(self) -> str:
        return f"Splits(train={len(self.train)}, val={len(self.val)}, test={len(self.test)})"


# --- registry of named data sets ------------------------------------------------------------------
def register_dataset(
    name: str,
    description: str,
    *,
    origin: str = "",
    fixed_split: bool = False,
    local: Callable[..., str] | None = None,
) -> Callable:
    """Register a loader ``(cache_dir=None, download=True) -> Dataset`` under ``name``.

    Kept on the function, for ``aekit datasets`` and for callers that must know before loading:
    ``description`` (one line), ``origin`` (who made the data, where from, its licence),
    ``fixed_split`` (the data set brings its own train / validation / test rows, see
    :attr:`Dataset.fixed_split`), ``local`` (``(cache_dir=None) -> str``: where the local copy is and
    where it came from, for data sets fetched once).
    """

    def decorator(loader: Callable[..., Dataset]) -> Callable[..., Dataset]:
        loader.description = description
        loader.origin = origin
        loader.fixed_split = fixed_split
        loader.local = local
        return register("dataset", name)(loader)

    return decorator


# --- checks ------------------------------------------------------------------------------------
def _chunks(x: np.ndarray | LazyArray):
    """(start, stop) row ranges of about ``_CHUNK_BYTES`` each."""
    row_bytes = max(1, math.prod(x.shape[1:]) * x.dtype.itemsize)
    step = max(1, _CHUNK_BYTES // row_bytes)
    for start in range(0, x.shape[0], step):
        yield start, min(start + step, x.shape[0])


def validate(ds: Dataset, source: str) -> Dataset:
    """Check ``ds`` (read from ``source``) is not empty and holds only finite values; return it.

    A memory-mapped x is scanned chunk by chunk, so the check never loads the whole file; a LazyArray
    whose values are finite by construction (decoded 8- or 16-bit pixels) is not read at all.
    """
    if len(ds) == 0:
        raise DataError(
            f"Data set {source} is empty (0 rows). Give a file or folder with at least one sample."
        )
    if ds.n_features == 0:
        raise DataError(
            f"Data set {source} has samples of shape {ds.sample_shape}, with no values. "
            "Each sample needs at least one feature."
        )
    if not np.issubdtype(ds.x.dtype, np.inexact) or getattr(ds.x, "finite", False):
        return ds  # integers are always finite
    bad_count, first_row = 0, None
    for start, stop in _chunks(ds.x):
        bad = ~np.isfinite(ds.x[start:stop]).reshape(stop - start, -1).all(axis=1)
        if bad.any():
            if first_row is None:
                first_row = start + int(np.argmax(bad))
            bad_count += int((~np.isfinite(ds.x[start:stop][bad])).sum())
    if bad_count:
        raise DataError(
            f"Data set {source} contains {bad_count} NaN or infinite value(s), the first in row "
            f"{first_row}. Remove or impute them before training."
        )
    return ds


# --- splits --------------------------------------------------------------------------------------
def _split_off(rows: np.ndarray, labels: np.ndarray | None, size: int, seed: int, what: str):
    """Shuffle ``rows`` with ``seed`` and cut off ``size`` of them, stratified when possible."""
    from sklearn.model_selection import train_test_split

    if size == 0:
        rng = np.random.default_rng(seed)
        return rng.permutation(rows), rows[:0]
    if labels is not None:
        try:
            rest, cut = train_test_split(rows, test_size=size, random_state=seed, stratify=labels)
            return rest, cut
        except ValueError as error:  # a class too small to appear on both sides
            logger.warning(
                "Cannot stratify the %s split (%s); splitting without stratification.", what, error
            )
    rest, cut = train_test_split(rows, test_size=size, random_state=seed)
    return rest, cut


def _count(fraction: float, n: int) -> int:
    """Rows for ``fraction`` of ``n``: rounded, but at least 1 when the fraction is positive."""
    return 0 if fraction == 0 else max(1, round(fraction * n))


def _check_rows_left(ds: Dataset, pool: int, n_val: int, val_fraction: float) -> None:
    """At least one training row must remain once the test and validation rows are taken."""
    if n_val >= pool:
        raise DataError(
            f"Data set {ds.name!r} has too few rows ({len(ds)}) to split: {pool} row(s) are left after "
            f"the test split and val_fraction={val_fraction} asks for {n_val}, leaving none for "
            "training. Use smaller fractions or more data."
        )


def split_dataset(
    ds: Dataset, *, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0
) -> Splits:
    """Split ``ds`` into train, validation and test sets; the same seed gives the same splits.

    Fractions are of the whole data set. When ``ds.test_start`` marks an official test set
    (Fashion-MNIST) those rows are the test split and ``test_fraction`` is ignored. When the data set
    has a fixed split (``ds.fixed_split``: full MNIST) the fractions are ignored: seed 0 returns its own
    rows in file order, and any other seed keeps its test rows and draws training and validation rows of
    the file's own sizes from the rows before them (stratified), so seeds can vary the training rows
    while the official test set stays fixed.
    """
    check("val_fraction", val_fraction, Interval(float, 0, 1, closed="left"), "split_dataset")
    check("test_fraction", test_fraction, Interval(float, 0, 1, closed="left"), "split_dataset")
    check("seed", seed, SEED, "split_dataset")
    n = len(ds)
    labels = ds.labels
    all_rows = np.arange(n)

    if ds.fixed_split:
        train_rows, val_rows, test_rows = np.split(all_rows, [ds.val_start, ds.test_start])
        if seed != 0:  # the same sizes, drawn by the seed from the rows before the official test set
            pool = all_rows[: ds.test_start]
            train_rows, val_rows = _split_off(pool, None if labels is None else labels[pool], len(val_rows),
                                              seed, "validation")
            train_rows, val_rows = np.sort(train_rows), np.sort(val_rows)
        logger.info(
            "%s has a fixed split: %d train, %d validation, %d test rows (%s; val_fraction and test_fraction "
            "do not apply).", ds.name, len(train_rows), len(val_rows), len(test_rows),
            "the file's own" if seed == 0 else f"training and validation rows drawn by seed {seed}",
        )
        return Splits(ds.take(train_rows), ds.take(val_rows), ds.take(test_rows))

    if ds.test_start is not None:
        if test_fraction != 0.2:
            logger.info(
                "%s has an official test set (rows %d..%d); ignoring test_fraction=%s.",
                ds.name, ds.test_start, n - 1, test_fraction,
            )
        pool, test_rows = all_rows[: ds.test_start], all_rows[ds.test_start :]
    else:
        if val_fraction + test_fraction >= 1:
            raise DataError(
                f"val_fraction + test_fraction must be below 1 to leave rows for training; "
                f"got {val_fraction} + {test_fraction} = {val_fraction + test_fraction:g}."
            )
        n_test = _count(test_fraction, n)
        _check_rows_left(ds, n - n_test, _count(val_fraction, n), val_fraction)
        pool, test_rows = _split_off(all_rows, labels, n_test, seed, "test")
    n_val = _count(val_fraction, n)
    _check_rows_left(ds, len(pool), n_val, val_fraction)
    pool_labels = None if labels is None else labels[pool]
    train_rows, val_rows = _split_off(pool, pool_labels, n_val, seed, "validation")
    logger.info(
        "Split %s: %d train, %d validation, %d test rows (seed %d).",
        ds.name or "data", len(train_rows), len(val_rows), len(test_rows), seed,
    )
    return Splits(ds.take(train_rows), ds.take(val_rows), ds.take(test_rows))
