"""A run's data section: which data set, how it is split, how it is rescaled — and the arrays it gives.

    data:
      name: mnist5k        # a bundled or downloadable data set, or a file/folder path
      rescale: auto        # fitted on the training split only

``data.rescale`` (and the estimators' ``rescale``), decided by :func:`choose_rescale` for both:

- ``auto`` (the default): data whose training split lies in [0, 1] (images, proportions) stay as they
  are; anything else (a table of measurements) is standardised, ``standard``;
- ``standard``: each feature minus its training mean, divided by its training standard deviation;
- ``minmax``: each feature rescaled to [0, 1] by its training minimum and maximum;
- ``none``: as read.

A feature that is constant on the training rows cannot be scaled: it becomes 0 (and is given back as its
constant by :meth:`Rescaling.invert`), logged by name. NaN and infinite values are refused where the data
are read (one line naming the row), non-numeric CSV fields too (naming the line and the field).

``prepare_splits(DataConfig(...))`` loads, splits (stratified, seeded) and rescales; the same config
gives the same rows in any process, which is how a report or a fine-tuning run finds the test
split a model never trained on. A trained run reads its rescaling back from ``preprocessing.json``
(``prepare_splits(config, rescaling=...)``) instead of fitting it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from aekit.config import param
from aekit.data.dataset import Dataset, Splits, split_dataset
from aekit.data.files import load_dataset
from aekit.errors import ConfigError
from aekit.params import SEED, AnyOf, InstanceOf, Interval, Options
from aekit.schema import Items, Record, Where, sample_shape

RESCALES = ("auto", "standard", "minmax", "none")


@dataclass
class DataConfig:
    """Which data to train on and how to split it."""

    name: str = param("mnist5k", InstanceOf(str), "a bundled/downloadable data set name or a file/folder path")
    label_column: Any = param(None, AnyOf(None, Interval(int, None, None)), "CSV/npy column holding labels (-1 = last)")
    val_fraction: float = param(0.1, Interval(float, 0, 1, closed="left"), "fraction of the data for validation")
    test_fraction: float = param(0.2, Interval(float, 0, 1, closed="left"), "fraction held out for testing")
    split_seed: int = param(0, SEED, "seed of the (stratified) split, fixed across runs")
    rescale: str = param("auto", Options(RESCALES), "auto (standard unless the data are in [0, 1]), standard (mean 0, "
                         "sd 1), minmax ([0, 1]) or none; fitted on the training split")
    limit: Any = param(None, AnyOf(None, Interval(int, 1, None)), "use at most this many training rows (quick runs)")

    def check(self) -> None:
        if self.val_fraction + self.test_fraction >= 1:
            raise ConfigError(
                f"data.val_fraction + data.test_fraction must be below 1 to leave training data. "
                f"Got {self.val_fraction} + {self.test_fraction}."
            )


logger = logging.getLogger(__name__)

_SHAPE_FIELDS = {"shape": sample_shape(), "scale": Items(Interval(float, 0, None))}
# preprocessing.json, as Rescaling.to_json writes it: minmax keeps the layout of older runs ('low')
MINMAX_JSON = Where(Record(required={"kind": Options(("minmax",)), "low": Items(Interval(float)), **_SHAPE_FIELDS}),
                    lambda d: len(d["low"]) == len(d["scale"]) == int(np.prod(d["shape"])),
                    "whose 'low' and 'scale' hold one value per element of 'shape'")
STANDARD_JSON = Where(Record(required={"kind": Options(("standard",)), "mean": Items(Interval(float)),
                                       **_SHAPE_FIELDS}),
                      lambda d: len(d["mean"]) == len(d["scale"]) == int(np.prod(d["shape"])),
                      "whose 'mean' and 'scale' hold one value per element of 'shape'")
PREPROCESSING_JSON = AnyOf(MINMAX_JSON, STANDARD_JSON)
_SHIFT_KEY = {"minmax": "low", "standard": "mean"}


def in_unit_interval(x: np.ndarray) -> tuple[bool, float, float]:
    """Whether every value of ``x`` lies in [0, 1], and its range (0, 0 when empty)."""
    low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    return 0.0 <= low and high <= 1.0, low, high


def choose_rescale(rescale: str, x_train: np.ndarray | None, where: str = "data.rescale") -> str:
    """``rescale`` with ``auto`` resolved from the training rows: ``none`` when they lie in [0, 1] (images,
    proportions: cross-entropy applies as they are), else ``standard``. ``x_train`` None: data streamed
    from disk, which ``auto`` leaves as they are (one pass to fit a rescaling is not made). Logged."""
    if rescale != "auto":
        return rescale
    if x_train is None:
        logger.info("%s: auto leaves data streamed from disk as they are (none)", where)
        return "none"
    inside, low, high = in_unit_interval(x_train)
    chosen = "none" if inside else "standard"
    logger.info("%s: auto: the training rows are %s, so %s", where,
                "in [0, 1]" if inside else f"in [{low:.4g}, {high:.4g}], outside [0, 1]",
                "they stay as they are (none)" if inside else "each feature is standardised on them (standard)")
    return chosen


@dataclass
class Rescaling:
    """Per-feature x' = (x - shift) * scale, fitted on the training split: ``standard`` (shift the mean,
    scale 1 / standard deviation) or ``minmax`` (shift the minimum, scale 1 / range). A feature constant
    on the training rows gets scale 0 (it becomes 0, and :meth:`invert` gives its constant back)."""

    kind: str
    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, kind: str, x: np.ndarray, names: list[str] | None = None) -> Rescaling:
        x = np.asarray(x, dtype=np.float64)
        if kind == "standard":
            shift, spread = x.mean(axis=0), x.std(axis=0)
        elif kind == "minmax":
            shift, spread = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
        else:
            raise ConfigError(f"The 'data.rescale' parameter must be one of {', '.join(RESCALES[1:3])} to be fitted; "
                              f"got {kind!r}.")
        # a spread at float32's rounding of the values is no spread: the feature is constant
        constant = spread <= 1e-6 * np.maximum(np.abs(shift), 1e-30)
        if constant.any():
            flat = np.flatnonzero(constant.ravel())
            named = [names[i] if names is not None and i < len(names) else f"#{i}" for i in flat[:10]]
            logger.info("%d feature(s) constant on the training rows (%s%s) are set to 0 by %s rescaling and given "
                        "back as their constant", len(flat), ", ".join(map(str, named)), ", ..." if len(flat) > 10
                        else "", kind)
        scale = np.where(constant, 0.0, 1.0 / np.where(constant, 1.0, spread))
        return cls(kind, shift.astype(np.float32), scale.astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """x in the units the model sees, float32."""
        return ((np.asarray(x, dtype=np.float32) - self.shift) * self.scale).astype(np.float32)

    def invert(self, x: np.ndarray) -> np.ndarray:
        """x back in the data's own units (a constant feature: its constant), float32."""
        safe = np.where(self.scale > 0, self.scale, 1.0)
        return (np.where(self.scale > 0, np.asarray(x, dtype=np.float32) / safe, 0.0) + self.shift).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shift.shape), _SHIFT_KEY[self.kind]: self.shift.ravel().tolist(),
                "scale": self.scale.ravel().tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rescaling:
        """The rescaling of a document that satisfies ``PREPROCESSING_JSON``."""
        shape, kind = tuple(data["shape"]), data["kind"]
        return cls(kind, np.asarray(data[_SHIFT_KEY[kind]], np.float32).reshape(shape),
                   np.asarray(data["scale"], np.float32).reshape(shape))


@dataclass
class PreparedSplits:
    """The splits of a data section and what the model sees of each: a rescaled array, or the split's
    own Dataset (streamed from disk when ``is_streamed``) when there is no rescaling."""

    splits: Splits
    train_x: Dataset | np.ndarray
    val_x: Dataset | np.ndarray
    test_x: Dataset | np.ndarray
    preprocessing: Rescaling | None
    rescale: str = "none"  # data.rescale resolved: standard, minmax or none

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Train, validation and test inputs as in-memory arrays (read from disk when streamed)."""
        return tuple(x.array() if isinstance(x, Dataset) else x for x in (self.train_x, self.val_x, self.test_x))

    def labels(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        return self.splits.train.labels, self.splits.val.labels, self.splits.test.labels


def _limit(ds: Dataset, n: int | None) -> Dataset:
    return ds if n is None or len(ds) <= n else ds.take(np.arange(n))


def prepare_splits(config: DataConfig, rescaling: Rescaling | None | str = "fit") -> PreparedSplits:
    """Load and split the data set, keep ``limit`` training rows (a quarter as many validation and test
    rows), and rescale as ``data.rescale`` says, fitted on the training split; a trained run passes the
    ``rescaling`` it saved (None: it had none) instead of fitting it again."""
    ds = load_dataset(config.name, label_column=config.label_column)
    splits = split_dataset(ds, val_fraction=config.val_fraction, test_fraction=config.test_fraction,
                           seed=config.split_seed)
    if config.limit is not None:
        small = max(1, config.limit // 4)
        splits = Splits(_limit(splits.train, config.limit), _limit(splits.val, small), _limit(splits.test, small))
    if isinstance(rescaling, str):
        streamed = splits.train.is_streamed
        kind = choose_rescale(config.rescale, None if streamed else splits.train.array())
        if kind != "none" and streamed:
            raise ConfigError(
                f"data.rescale: {kind} is not available for data streamed from disk ({config.name!r} is larger than "
                f"a quarter of the available memory, or AEKIT_MMAP=1); allowed: none (or auto, which leaves them as "
                f"they are). Rescale a .npy file before training; images are read in [0, 1] already, so a folder "
                f"needs data.rescale: none."
            )
        rescaling = None if kind == "none" else Rescaling.fit(kind, splits.train.array(), ds.features)
    pre = rescaling
    if pre is not None and pre.shift.shape != splits.train.sample_shape:
        raise ConfigError(f"The rescaling given is for samples of shape {pre.shift.shape}; the data set {config.name!r} "
                          f"has samples of shape {splits.train.sample_shape}.")
    train_x, val_x, test_x = (s if pre is None else pre.apply(s.array()) for s in (splits.train, splits.val, splits.test))
    return PreparedSplits(splits, train_x, val_x, test_x, pre, "none" if pre is None else pre.kind)


__all__ = ["DataConfig", "Rescaling", "MINMAX_JSON", "STANDARD_JSON", "PREPROCESSING_JSON", "PreparedSplits",
           "prepare_splits", "choose_rescale", "in_unit_interval", "RESCALES"]
