"""The Dataset container (in memory, memory-mapped, or a LazyArray read on demand), validation, splits and the
bundled data sets."""

from __future__ import annotations

import numpy as np
import pytest

from aekit.data import Dataset, Splits, list_datasets, load_dataset, split_dataset
from aekit.data import dataset as dataset_module
from aekit.data.dataset import LazyArray, validate
from aekit.data.files import FILE_KINDS
from aekit.errors import ConfigError, DataError
from aekit.registry import available, get


def make_x(n: int = 40, shape: tuple[int, ...] = (3, 2, 2), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


class Rows(LazyArray):
    """A LazyArray over an array, counting the rows it is asked for (as an image folder decodes them)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.shape, self.reads = values, values.shape, 0

    def read_row(self, i: int) -> np.ndarray:
        self.reads += 1
        return self.values[i].astype(np.float32)


def make_dataset(kind: str, tmp_path, x: np.ndarray, y: np.ndarray | None = None) -> Dataset:
    """The same data in memory, as a read-only memmap of a float64 .npy file, or as a LazyArray."""
    classes = None if y is None else [str(c) for c in range(y.max() + 1)]
    if kind == "memory":
        return Dataset(x.copy(), y, "toy", classes)
    if kind == "lazy":
        return Dataset(Rows(x.copy()), y, "toy", classes)
    path = tmp_path / "x.npy"
    np.save(path, x.astype(np.float64))
    mapped = np.load(path, mmap_mode="r")
    return Dataset(mapped, y, "toy", classes)


STORAGE = ["memory", "memmap", "lazy"]


# --- the container ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", STORAGE)
def test_shape_properties(kind, tmp_path):
    ds = make_dataset(kind, tmp_path, make_x(40, (3, 2, 2)))
    assert len(ds) == 40
    assert ds.sample_shape == (3, 2, 2)
    assert ds.n_features == 12
    assert ds.is_streamed == (kind != "memory")
    assert ds.labels is None


@pytest.mark.parametrize("kind", STORAGE)
def test_take_rows_array_and_labels_agree(kind, tmp_path):
    x, y = make_x(40), np.arange(40) % 4
    ds = make_dataset(kind, tmp_path, x, y)
    rows = np.array([31, 2, 17, 2, 9])  # unsorted, with a repeat
    sub = ds.take(rows)
    assert len(sub) == 5 and sub.is_streamed == ds.is_streamed
    np.testing.assert_array_equal(sub.array(), x[rows])
    np.testing.assert_array_equal(ds.rows(rows), x[rows])
    np.testing.assert_array_equal(sub.labels, y[rows])
    assert ds.rows(rows).dtype == np.float32 and sub.array().dtype == np.float32
    # a subset of a subset composes
    inner = sub.take(np.array([4, 0]))
    np.testing.assert_array_equal(inner.array(), x[[9, 31]])
    np.testing.assert_array_equal(inner.labels, y[[9, 31]])


def test_take_of_memmap_shares_storage(tmp_path):
    ds = make_dataset("memmap", tmp_path, make_x(30))
    sub = ds.take(np.array([5, 1, 3]))
    assert sub.x is ds.x
    np.testing.assert_array_equal(sub.indices, [5, 1, 3])
    np.testing.assert_array_equal(sub.take(np.array([2, 0])).indices, [3, 5])


def test_a_lazy_array_reads_only_the_rows_asked_for():
    x = make_x(30)
    ds = make_dataset("lazy", None, x)
    sub = ds.take(np.array([5, 1, 3])).take(np.array([2, 0]))  # rows 3 and 5 of the storage
    assert sub.x is ds.x and ds.x.reads == 0
    np.testing.assert_array_equal(sub.array(), x[[3, 5]])
    assert ds.x.reads == 2
    np.testing.assert_array_equal(ds.x[4:6, 1], x[4:6, 1])  # numpy's indexing, rows read first
    np.testing.assert_array_equal(ds.x[-1, 2, 0], x[-1, 2, 0])
    np.testing.assert_array_equal(np.asarray(ds.x), x)
    assert repr(ds).endswith("no labels, read on demand)")


def test_take_in_memory_copies():
    x = make_x(10)
    ds = Dataset(x)
    sub = ds.take(np.array([0, 1]))
    sub.x[:] = 7
    assert not np.any(ds.x == 7)
    assert sub.indices is None


def test_array_of_whole_memmap_is_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_module, "_CHUNK_BYTES", 100)  # force several chunks
    x = make_x(25)
    ds = make_dataset("memmap", tmp_path, x)
    whole = ds.array()
    assert not isinstance(whole, np.memmap) and whole.dtype == np.float32
    np.testing.assert_array_equal(whole, x)


def test_in_memory_x_becomes_float32():
    ds = Dataset(np.arange(12, dtype=np.int64).reshape(6, 2), np.array([0, 1] * 3, dtype=np.int32))
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int64


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"x": np.zeros(5)}, r"at least 2 dimensions; got \(5,\)"),
        ({"x": np.zeros((5, 2)), "y": np.zeros(4, dtype=int)}, r"y must have shape \(5,\)"),
        ({"x": np.zeros((5, 2)), "y": np.zeros(5)}, "y must hold integer class indices"),
        ({"x": np.zeros((5, 2)), "test_start": 9}, r"test_start must be in \[0, 5\]"),
        ({"x": np.zeros((5, 2)), "val_start": 2}, r"val_start must be in \[0, test_start\] and needs test_start"),
        ({"x": np.zeros((5, 2)), "val_start": 4, "test_start": 3}, r"got val_start=4, test_start=3"),
    ],
)
def test_dataset_rejects_inconsistent_fields(kwargs, match):
    with pytest.raises(DataError, match=match):
        Dataset(**kwargs)


def test_rows_out_of_range():
    with pytest.raises(DataError, match=r"rows must be in \[0, 9\].*got values from 3 to 10"):
        Dataset(make_x(10)).rows(np.array([3, 10]))


def test_repr_is_short():
    text = repr(Dataset(make_x(10), np.zeros(10, dtype=int), "toy", ["a"]))
    assert text == "Dataset(name='toy', n=10, sample_shape=(3, 2, 2), 1 classes, in memory)"


# --- validation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", STORAGE)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_validate_finds_non_finite_values_chunk_by_chunk(kind, bad, tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_module, "_CHUNK_BYTES", 64)  # 4 rows per chunk below
    x = make_x(40, (4,))
    x[22, 1] = bad
    x[37, 0] = bad
    x[37, 3] = bad
    ds = make_dataset(kind, tmp_path, x)
    with pytest.raises(DataError, match=r"contains 3 NaN or infinite value\(s\), the first in row 22"):
        validate(ds, "'toy'")


def test_validate_rejects_empty():
    with pytest.raises(DataError, match=r"Data set 'toy' is empty \(0 rows\)"):
        validate(Dataset(np.zeros((0, 3))), "'toy'")


# --- splits ----------------------------------------------------------------------------------------
def labelled(n: int = 200, n_classes: int = 4) -> Dataset:
    return Dataset(make_x(n, (5,)), np.arange(n) % n_classes, "toy", [str(c) for c in range(n_classes)])


@pytest.mark.parametrize("kind", STORAGE)
@pytest.mark.parametrize("val_fraction, test_fraction", [(0.1, 0.2), (0.25, 0.25), (0.0, 0.3), (0.2, 0.0)])
def test_split_sizes_cover_and_disjoint(kind, val_fraction, test_fraction, tmp_path):
    x, y = make_x(200, (5,)), np.arange(200) % 4
    ds = make_dataset(kind, tmp_path, x, y)
    splits = split_dataset(ds, val_fraction=val_fraction, test_fraction=test_fraction, seed=3)
    assert isinstance(splits, Splits)
    assert (len(splits.val), len(splits.test)) == (round(200 * val_fraction), round(200 * test_fraction))
    assert len(splits.train) + len(splits.val) + len(splits.test) == 200
    # rows are recognisable by their values: every row lands in exactly one split
    seen = np.concatenate([s.array()[:, 0] for s in (splits.train, splits.val, splits.test)])
    np.testing.assert_array_equal(np.sort(seen), np.sort(x[:, 0]))
    assert splits.train.is_streamed == (kind != "memory")


def test_split_is_stratified():
    splits = split_dataset(labelled(200, 4), val_fraction=0.2, test_fraction=0.2, seed=0)
    for part in (splits.train, splits.val, splits.test):
        counts = np.bincount(part.labels, minlength=4)
        assert counts.max() - counts.min() <= 1


def test_split_is_shuffled():
    splits = split_dataset(labelled(200, 4), seed=0)
    assert not np.all(np.diff(splits.train.labels) >= 0)


def test_same_seed_same_splits_other_seed_differs():
    ds = labelled()
    a, b, c = (split_dataset(ds, seed=s) for s in (7, 7, 8))
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part).array(), getattr(b, part).array())
    assert not np.array_equal(a.test.array(), c.test.array())


def test_official_test_set_is_the_test_split():
    ds = labelled(100, 4)
    ds.test_start = 80
    splits = split_dataset(ds, val_fraction=0.1, test_fraction=0.5, seed=0)
    np.testing.assert_array_equal(splits.test.array(), ds.x[80:])
    assert len(splits.val) == 10 and len(splits.train) == 70
    assert splits.train.test_start is None


def test_fixed_split_is_the_data_sets_own_rows_for_seed_0_and_keeps_its_test_rows_for_any_seed():
    ds = labelled(100, 4)
    ds.val_start, ds.test_start = 60, 80
    assert ds.fixed_split and not labelled(10, 2).fixed_split
    splits = split_dataset(ds, val_fraction=0.3, test_fraction=0.05, seed=0)
    for part, rows in zip((splits.train, splits.val, splits.test), (slice(0, 60), slice(60, 80), slice(80, 100))):
        np.testing.assert_array_equal(part.array(), ds.x[rows])
    assert not splits.train.fixed_split and splits.test.test_start is None
    drawn = [split_dataset(ds, val_fraction=0.3, test_fraction=0.05, seed=seed) for seed in (5, 5, 6)]
    for splits in drawn:  # the file's sizes, the official test rows, training and validation from the rest
        np.testing.assert_array_equal(splits.test.array(), ds.x[80:])
        assert (len(splits.train), len(splits.val)) == (60, 20)
        rows = np.concatenate([splits.train.array(), splits.val.array()])
        np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(ds.x[:80], axis=0))
        assert np.bincount(splits.val.labels, minlength=4).tolist() == [5, 5, 5, 5]  # stratified
    np.testing.assert_array_equal(drawn[0].val.array(), drawn[1].val.array())  # a seed is its rows
    assert not np.array_equal(drawn[0].val.array(), ds.x[60:80])
    assert not np.array_equal(drawn[0].val.array(), drawn[2].val.array())


def test_official_test_set_leaving_no_training_rows():
    ds = labelled(10, 2)
    ds.test_start = 1
    with pytest.raises(DataError, match=r"too few rows \(10\) to split: 1 row\(s\) are left"):
        split_dataset(ds, val_fraction=0.1)


def test_split_without_labels():
    splits = split_dataset(Dataset(make_x(50, (2,))), val_fraction=0.2, test_fraction=0.2)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (30, 10, 10)
    assert splits.train.labels is None


def test_split_falls_back_when_a_class_is_too_small(caplog):
    ds = Dataset(make_x(20, (2,)), np.array([0] * 19 + [1]), "toy", ["a", "b"])
    splits = split_dataset(ds, val_fraction=0.2, test_fraction=0.2)
    assert len(splits.test) == 4
    assert "Cannot stratify" in caplog.text


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"val_fraction": 1.0}, r"'val_fraction' parameter of split_dataset must be a float in the range \[0, 1\)\."),
        ({"test_fraction": -0.1}, r"'test_fraction' parameter of split_dataset .* Got -0.1 instead"),
        ({"seed": -1}, r"'seed' parameter of split_dataset must be an int"),
    ],
)
def test_split_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        split_dataset(labelled(), **kwargs)


@pytest.mark.parametrize(
    "n, kwargs, match",
    [
        (100, {"val_fraction": 0.5, "test_fraction": 0.5}, r"val_fraction \+ test_fraction must be below 1"),
        (2, {"val_fraction": 0.3, "test_fraction": 0.4}, r"too few rows \(2\) to split: 1 row\(s\) are left"),
        (1, {"val_fraction": 0.0, "test_fraction": 0.2}, r"too few rows \(1\) to split: 0 row\(s\) are left"),
    ],
)
def test_split_needs_training_rows(n, kwargs, match):
    with pytest.raises(DataError, match=match):
        split_dataset(Dataset(make_x(n, (2,))), **kwargs)


# --- bundled data sets and the registry -------------------------------------------------------------
def test_mnist5k():
    ds = load_dataset("mnist5k")
    assert ds.x.shape == (5000, 1, 28, 28) and ds.x.dtype == np.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(ds.y), [500] * 10)
    assert ds.classes == [str(d) for d in range(10)] and ds.test_start is None


def test_digits():
    ds = load_dataset("digits")
    assert ds.x.shape == (1797, 1, 8, 8) and ds.x.dtype == np.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.y.shape == (1797,) and ds.classes == [str(d) for d in range(10)]


def test_registered_names():
    assert {"mnist5k", "digits", "mnist", "fashion-mnist"} <= set(available("dataset"))


def test_list_datasets_comes_from_the_registry():
    rows = list_datasets()
    names = available("dataset")
    assert rows[: len(names)] == [(name, get("dataset", name).description) for name in names]
    assert [pattern for pattern, _ in rows[len(names):]] == [kind.pattern for kind in FILE_KINDS]
    assert all(isinstance(text, str) and text and "\n" not in text for _, text in rows)


def test_unknown_name_lists_names_and_file_kinds():
    match = r"Unknown data set 'mnist6k'.*: digits, fashion-mnist, mnist, mnist5k; or .*\*\.csv"
    with pytest.raises(DataError, match=match):
        load_dataset("mnist6k")


def test_label_column_with_a_named_data_set():
    with pytest.raises(DataError, match="label_column applies to files"):
        load_dataset("digits", label_column=0)
