"""A run's data section: which data set, how it is split, how it is rescaled — and the arrays it gives.

    data:
      name: mnist5k        # a bundled or downloadable data set, or a file/folder path
      rescale: minmax      # fitted on the training split only

``prepare_data(DataConfig(...))`` loads, splits (stratified, seeded) and rescales; the same config
gives the same rows in any process, which is how a report or a fine-tuning run finds the test
split a model never trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aekit.config import param
from aekit.data.dataset import Dataset, Splits, split_dataset
from aekit.data.files import load_dataset
from aekit.errors import ConfigError
from aekit.params import SEED, AnyOf, InstanceOf, Interval, Options
from aekit.schema import Items, Record, Where, sample_shape


@dataclass
class DataConfig:
    """Which data to train on and how to split it."""

    name: str = param("mnist5k", InstanceOf(str), "a bundled/downloadable data set name or a file/folder path")
    label_column: Any = param(None, AnyOf(None, Interval(int, None, None)), "CSV/npy column holding labels (-1 = last)")
    val_fraction: float = param(0.1, Interval(float, 0, 1, closed="left"), "fraction of the data for validation")
    test_fraction: float = param(0.2, Interval(float, 0, 1, closed="left"), "fraction held out for testing")
    split_seed: int = param(0, SEED, "seed of the (stratified) split, fixed across runs")
    rescale: str = param("none", Options(("none", "minmax")), "minmax: rescale features to [0, 1] (fitted on train)")
    limit: Any = param(None, AnyOf(None, Interval(int, 1, None)), "use at most this many training rows (quick runs)")

    def check(self) -> None:
        if self.val_fraction + self.test_fraction >= 1:
            raise ConfigError(
                f"data.val_fraction + data.test_fraction must be below 1 to leave training data. "
                f"Got {self.val_fraction} + {self.test_fraction}."
            )


# preprocessing.json, as MinMax.to_json writes it
MINMAX_JSON = Where(Record(required={"kind": Options(("minmax",)), "shape": sample_shape(),
                                     "low": Items(Interval(float)), "scale": Items(Interval(float, 0, None))}),
                    lambda d: len(d["low"]) == len(d["scale"]) == int(np.prod(d["shape"])),
                    "whose 'low' and 'scale' hold one value per element of 'shape'")


@dataclass
class MinMax:
    """Per-feature rescaling to [0, 1], fitted on the training split (constant features map to 0)."""

    low: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> MinMax:
        low, high = x.min(axis=0), x.max(axis=0)
        span = high - low
        return cls(low.astype(np.float32), np.where(span > 0, 1.0 / np.where(span > 0, span, 1), 0).astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.low) * self.scale).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "minmax", "shape": list(self.low.shape), "low": self.low.ravel().tolist(),
                "scale": self.scale.ravel().tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MinMax:
        """The rescaling of a document that satisfies ``MINMAX_JSON``."""
        shape = tuple(data["shape"])
        return cls(np.asarray(data["low"], np.float32).reshape(shape), np.asarray(data["scale"], np.float32).reshape(shape))


@dataclass
class PreparedData:
    """The splits of a data section and what the model sees of each: a rescaled array, or the split's
    own Dataset (streamed from disk when ``is_streamed``) when there is no rescaling."""

    splits: Splits
    train_x: Dataset | np.ndarray
    val_x: Dataset | np.ndarray
    test_x: Dataset | np.ndarray
    preprocessing: MinMax | None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Train, validation and test inputs as in-memory arrays (read from disk when streamed)."""
        return tuple(x.array() if isinstance(x, Dataset) else x for x in (self.train_x, self.val_x, self.test_x))

    def labels(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        return self.splits.train.labels, self.splits.val.labels, self.splits.test.labels


def _limit(ds: Dataset, n: int | None) -> Dataset:
    return ds if n is None or len(ds) <= n else ds.take(np.arange(n))


def prepare_data(config: DataConfig) -> PreparedData:
    """Load and split the data set, keep ``limit`` training rows (a quarter as many validation and test
    rows), and fit the rescaling on the training split."""
    ds = load_dataset(config.name, label_column=config.label_column)
    splits = split_dataset(ds, val_fraction=config.val_fraction, test_fraction=config.test_fraction,
                           seed=config.split_seed)
    if config.limit is not None:
        small = max(1, config.limit // 4)
        splits = Splits(_limit(splits.train, config.limit), _limit(splits.val, small), _limit(splits.test, small))
    pre = None
    if config.rescale == "minmax":
        if splits.train.is_streamed:
            raise ConfigError(
                f"data.rescale: minmax is not available for data streamed from disk ({config.name!r} is larger than "
                f"a quarter of the available memory, or AEKIT_MMAP=1); allowed: none. Rescale a .npy file before "
                f"training; images are read in [0, 1] already, so a folder needs data.rescale: none."
            )
        pre = MinMax.fit(splits.train.array())
    train_x, val_x, test_x = (s if pre is None else pre.apply(s.array()) for s in (splits.train, splits.val, splits.test))
    return PreparedData(splits, train_x, val_x, test_x, pre)


__all__ = ["DataConfig", "MinMax", "MINMAX_JSON", "PreparedData", "prepare_data"]
