"""Data: the Dataset container, splits, bundled and downloadable data sets, and user files.

    from aekit.data import load_dataset, split_dataset
    ds = load_dataset("mnist5k")            # or "digits", "mnist", "fashion-mnist", or a path
    splits = split_dataset(ds, seed=0)      # train / val / test, stratified by label

Importing this package registers every named data set (kind "dataset" of :mod:`aekit.registry`).
"""

from __future__ import annotations

from aekit.data import bundled, download, mnist  # noqa: F401  (register "mnist5k", "digits", "mnist", ...)
from aekit.data.dataset import Dataset, Splits, split_dataset
from aekit.data.files import list_datasets, load_dataset

__all__ = ["Dataset", "Splits", "load_dataset", "split_dataset", "list_datasets"]
