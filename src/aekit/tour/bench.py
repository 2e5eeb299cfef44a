"""What the claims share: the bundled data split as every run splits it, training a config into the
tour's folder, a linear probe, and figures as page entries.

Splits are fixed (``data.split_seed: 0``, stratified): a claim's seeds vary the initialisation, batch
order and noise, never which images are test images, so every number of the tour is on the same test
split and nothing is chosen on it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from aekit.data.preparation import DataConfig, prepare_data
from aekit.report.html import FigureEntry
from aekit.tour.claim import Setting

logger = logging.getLogger(__name__)

QUICK_LIMIT = 400  # training rows of a quick claim (a quarter as many validation and test rows)


@dataclass
class Split:
    """Flat inputs (n, d) in [0, 1] and labels of the three splits of a bundled data set."""

    name: str
    sample_shape: tuple[int, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split(name: str = "mnist5k", limit: int | None = None) -> Split:
    """``name`` split as a run with ``data.name: name`` splits it (70/10/20, stratified, split seed 0);
    the bundled images are in [0, 1] already."""
    data = prepare_data(DataConfig(name=name, limit=limit))
    (x_train, x_val, x_test), (y_train, y_val, y_test) = data.arrays(), data.labels()
    shape = tuple(data.splits.train.sample_shape)
    flat = [np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32) for x in (x_train, x_val, x_test)]
    return Split(name, shape, flat[0], y_train, flat[1], y_val, flat[2], y_test)


def train_config(setting: Setting, name: str, overrides: list[str], *, preset: str | None = None) -> Any:
    """Train ``overrides`` (``--set`` syntax) into ``<workdir>/runs/<name>`` with the library's own
    ``train``; returns its :class:`~aekit.training.run.RunResult`. A run already there (a re-run of the
    tour) is trained again from scratch."""
    import shutil

    from aekit.training.run import train
    from aekit.training.run_config import make_config

    runs = setting.folder("runs")
    shutil.rmtree(runs / name, ignore_errors=True)
    config = make_config(overrides=[*overrides, f"out={runs}", f"name={name}"], preset=preset)
    return train(config)


def probe_accuracy(h_train: np.ndarray, y_train: np.ndarray, h_test: np.ndarray, y_test: np.ndarray,
                   C: float = 1.0) -> float:
    """Test accuracy of a logistic regression (C fixed in advance, standardised features) on codes."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(h_train.reshape(len(h_train), -1), y_train)
    return float(probe.score(h_test.reshape(len(h_test), -1), y_test))


def entry(key: str, title: str, caption: str, fig: Any) -> FigureEntry:
    """A matplotlib figure as a page entry (PNG bytes)."""
    from aekit.viz._common import png_bytes

    return FigureEntry(key, title, caption, png_bytes(fig))


__all__ = ["Split", "split", "train_config", "probe_accuracy", "entry", "QUICK_LIMIT"]
