"""What the claims share: the data split of a seed as every run of that seed splits it, training a
config into the tour's folder, a linear probe, and figures as page entries.

A seed draws the split too (``data.split_seed`` = the seed, stratified 70/10/20): each seed of a claim
trains, selects and tests on its own rows, so the spread over seeds includes which images happen to be
test images, and nothing of a seed is chosen on its own test rows. A data set whose split is its
file's own (an official test set: :func:`split_is_fixed`) keeps its test rows for every seed; there seed 0
trains on the file's own training rows and every other seed draws training and validation rows of the same
sizes from the rows before the test set, so the seeds vary the training rows as well as the initialisation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from aekit.data.preparation import DataConfig, prepare_splits
from aekit.errors import ConfigError
from aekit.report.html import FigureEntry
from aekit.tour.claim import Setting
from aekit.training.probe import linear_probe

logger = logging.getLogger(__name__)

QUICK_LIMIT = 400  # training rows of a quick claim (a quarter as many validation and test rows)
NAMES = {"mnist5k": "MNIST-5k", "mnist": "MNIST"}


def split_is_fixed(name: str) -> bool:
    """True when data set ``name`` keeps its official test set for every seed (its file's own split at seed
    0): the data set says so where it is registered (``register_dataset(..., fixed_split=True)``: full MNIST)."""
    from aekit.registry import get

    try:
        return bool(getattr(get("dataset", name), "fixed_split", False))
    except ConfigError:  # a file path, not a registered name: split by the seed
        return False


@dataclass
class Split:
    """Flat inputs (n, d) in [0, 1] and labels of the three splits of a data set, as split for one seed."""

    name: str
    sample_shape: tuple[int, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    split_seed: int = 0

    @property
    def scale(self) -> str:
        """The data set and its numbers of images, for the page and results.json."""
        return (f"{NAMES.get(self.name, self.name)}: {len(self.x_train):,} training, {len(self.x_val):,} "
                f"validation and {len(self.x_test):,} test images")


def split(name: str, seed: int, limit: int | None = None) -> Split:
    """``name`` split as a run with ``data.name: name`` and ``seed`` splits it (70/10/20, stratified, split
    seed ``seed``; where the split is fixed, the seed draws the training rows and keeps the official test
    set); with ``limit``, that many training rows and a quarter as many validation and test rows. The
    bundled images are in [0, 1] already."""
    data = prepare_splits(DataConfig(name=name, limit=limit, split_seed=seed))
    (x_train, x_val, x_test), (y_train, y_val, y_test) = data.arrays(), data.labels()
    shape = tuple(data.splits.train.sample_shape)
    flat = [np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32) for x in (x_train, x_val, x_test)]
    return Split(name, shape, flat[0], y_train, flat[1], y_val, flat[2], y_test, seed)


def split_of(setting: Setting, seed: int) -> Split:
    """The split of ``seed`` at the setting's scale (its data set; QUICK_LIMIT training rows when quick)."""
    return split(setting.data, seed, QUICK_LIMIT if setting.quick else None)


def data_overrides(setting: Setting, seed: int) -> list[str]:
    """The data section of a run of ``seed`` (``--set`` syntax): the rows :func:`split_of` gives."""
    return [f"data.name={setting.data}", f"data.split_seed={seed}",
            *([f"data.limit={QUICK_LIMIT}"] if setting.quick else [])]


def split_protocol(setting: Setting) -> str:
    """How the seeds split the data, for a claim's protocol."""
    name = NAMES.get(setting.data, setting.data)
    if split_is_fixed(setting.data):
        return (f"{name}, the official test set for every seed; seed 0 trains on the file's own training rows "
                f"and selects on its validation rows, and seed s > 0 draws training and validation rows of the "
                f"same sizes from the images before the test set (stratified, split seed s)")
    return (f"{name}, split 70/10/20 (stratified) by each seed: seed s draws its own training, validation and "
            f"test rows (split seed s)")


def train_config(setting: Setting, name: str, overrides: list[str], *, seed: int, preset: str | None = None,
                 init_seed: int | None = None) -> Any:
    """Train ``overrides`` (``--set`` syntax) on the split of ``seed`` into ``<workdir>/runs/<name>`` with the
    library's own ``train``; the run's seed is ``seed`` (``init_seed`` when given: a selection run on this
    seed's rows with another initialisation). Returns its :class:`~aekit.training.run.TrainingOutcome`.

    A run already there with the same settings (an earlier attempt of the tour, killed or finished) is
    resumed from its checkpoint, which returns at once when it had finished: a claim of an hour at full
    scale that was interrupted redoes only the run it was in. Its earlier epochs' time is added to
    ``setting.earlier_seconds``. A run there with other settings is trained again from scratch."""
    import shutil

    from aekit.training.run import resume, train
    from aekit.training.run_config import make_config

    runs = setting.folder("runs")
    run_seed = seed if init_seed is None else init_seed
    config = make_config(overrides=[*data_overrides(setting, seed), f"seed={run_seed}", *overrides, f"out={runs}",
                                    f"name={name}"], preset=preset)
    _wait_for_writer(runs / name, setting)
    if _same_run(runs / name, config):
        from aekit.training.run_folder import read_metrics

        earlier = sum(float(r.get("seconds", 0.0)) for r in read_metrics(runs / name))
        setting.earlier_seconds += earlier
        setting.log(f"{name}: resuming the run already in {runs / name} ({earlier:.0f} s trained earlier)")
        return resume(runs / name)
    shutil.rmtree(runs / name, ignore_errors=True)
    return train(config)


def _wait_for_writer(run_dir: Any, setting: Setting, every: float = 10.0) -> None:
    """Wait while another process trains this run (its folder's lock is held): two parts of a tour, or a
    run trained ahead in parallel, share the work folder, and the run is then resumed, finished."""
    import fcntl
    import time

    from aekit.io import LOCK_NAME

    path = run_dir / LOCK_NAME
    said = False
    while path.is_file() and not path.is_symlink():
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not said:
                    setting.log(f"{run_dir.name}: another process is training it; waiting for it to finish")
                    said = True
                time.sleep(every)
                continue
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return


def _same_run(run_dir: Any, config: Any) -> bool:
    """True when ``run_dir`` holds a checkpoint of a run with exactly ``config``'s settings, so that resuming
    it is the run ``config`` asks for: its config.yaml (read as data) against ``config``, both with their
    automatic choices resolved as training resolves them (config.yaml records what ``auto`` became, and a
    run written before a setting existed has its default)."""
    from aekit.config import to_dict
    from aekit.errors import AekitError
    from aekit.training.run import resolve_data_choices
    from aekit.training.run_config import make_config
    from aekit.training.run_folder import read_config_data

    if not (run_dir / "checkpoint.pt").is_file():
        return False
    try:
        data = read_config_data(run_dir)
        data.pop("distributed", None)
        # both resolved: a field the recorded run predates (its default, auto) resolves as it did then
        return to_dict(resolve_data_choices(make_config(data))[0]) == to_dict(resolve_data_choices(config)[0])
    except (AekitError, OSError):  # unreadable or from another version: train again
        return False


def probe_accuracy(h_train: np.ndarray, y_train: np.ndarray, h_test: np.ndarray, y_test: np.ndarray,
                   C: float = 1.0) -> float:
    """Test accuracy of a logistic regression (C fixed in advance, standardised features) on codes."""
    return float(probe_hits(h_train, y_train, h_test, y_test, C).mean())


def probe_hits(h_train: np.ndarray, y_train: np.ndarray, h_test: np.ndarray, y_test: np.ndarray,
               C: float = 1.0) -> np.ndarray:
    """Per test image, 1.0 where that probe (:func:`aekit.training.probe.linear_probe`) classifies it right."""
    return linear_probe(h_train, y_train, h_test, y_test, C=C, max_iter=1000).hits


def entry(key: str, title: str, caption: str, fig: Any) -> FigureEntry:
    """A matplotlib figure as a page entry (PNG bytes)."""
    from aekit.viz._common import png_bytes

    return FigureEntry(key, title, caption, png_bytes(fig))


__all__ = ["Split", "split", "split_of", "split_is_fixed", "split_protocol", "data_overrides",
           "train_config", "probe_accuracy", "probe_hits", "entry", "QUICK_LIMIT"]
