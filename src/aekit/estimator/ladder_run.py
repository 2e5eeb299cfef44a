"""A ladder run: :class:`~aekit.LadderClassifier` on a labelled data set under the strict label budget,
trained into a run folder (``aekit ladder``; Rasmus et al., NIPS 2015).

    runs/<name>/
      ladder.yaml          the resolved run config: the data section (name, split seed, ...), ``labels`` (the
                           budget), ``label_seed``, ``seed`` and the ``ladder`` section (every setting of the network)
      estimator.json       LadderClassifier.save: its parameters and fitted attributes (LadderClassifier.load reads it)
      ladder.safetensors   the network's weights and statistics, + ladder.json its sizes and variant (no pickle)
      metrics.jsonl        one JSON line per epoch: each cost term (``train/xent``, ``train/denoise<l>``, weighted)
                           and their sum ``train/loss``
      summary.json         what was trained (variant, sizes, noise, weights) on how many labels, the test accuracy,
                           the seconds and why training stopped
      report.html          :func:`aekit.report.ladder.ladder_report`
      checkpoint.pt        while the run trains, and after Ctrl-C: the training state after the last epoch
                           (``aekit ladder --resume RUN`` continues from it); removed when the run finishes

The budget is strict (``shared/DESIGN.md``, "Evidence protocol"): ``labels`` rows of the training split
are labelled, drawn stratified with ``label_seed`` as ``aekit finetune`` draws them
(:func:`~aekit.training.finetune.draw_labelled`); every training row is also unlabelled data; the
validation split is never read (nothing is chosen: the epochs are a budget, not early stopping); the test
split is read once, for the number reported. As ``aekit train`` does, the run holds its folder's lock from
its first write to its last.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import time
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from aekit import config as cfg
from aekit.config import param
from aekit.data.dataset import Dataset
from aekit.data.preparation import DataConfig, prepare_splits
from aekit.errors import ConfigError, DataError
from aekit.estimator.ladder import LadderClassifier
from aekit.io import atomic_write_text, folder_lock, refuse_links_out, write_yaml
from aekit.params import SEED, AnyOf, InstanceOf, Interval, NonEmptyStr
from aekit.training.finetune import check_budget, draw_labelled
from aekit.training.ladder import LadderConfig
from aekit.training.run_config import check_run_name
from aekit.training.run_folder import (
    check_new_run_folder,
    new_default_folder,
    read_metrics,
    read_summary,
    write_metrics,
)

logger = logging.getLogger(__name__)

CONFIG = "ladder.yaml"  # the run config of a ladder run folder (a training run's is config.yaml)
CHECKPOINT = "checkpoint.pt"  # LadderClassifier.fit's checkpoint, while the run is unfinished


@dataclass
class LadderRunConfig:
    """Everything a ladder run needs; ``ladder.yaml`` of its run folder is this, fully resolved."""

    seed: int = param(0, SEED, "one seed for the network's initialisation, the batch order and the noise")
    labels: Any = param(100, AnyOf(None, Interval(int, 1, None)),
                        "labelled training rows in all, drawn stratified (null: every label of the training split)")
    label_seed: int = param(0, SEED, "seed of the labelled draw")
    name: Any = param(None, AnyOf(None, InstanceOf(str)), "run folder name (default: data-ladder-variant-labels-time)")
    out: str = param("runs", NonEmptyStr(), "folder that holds run folders")
    data: DataConfig = field(default_factory=DataConfig)
    ladder: LadderConfig = field(default_factory=LadderConfig)

    def check(self) -> None:
        check_run_name(self.name)


def make_ladder_config(overrides: list[str] | tuple[str, ...] = ()) -> LadderRunConfig:
    """The defaults with ``key=value`` overrides (``ladder.epochs=20``, ``data.name=digits``), checked."""
    return cfg.from_dict(LadderRunConfig, cfg.parse_overrides(overrides))


def estimator_of(config: LadderRunConfig, verbose: int = 0) -> LadderClassifier:
    """The (unfitted) estimator the run config describes."""
    settings = {f.name: getattr(config.ladder, f.name) for f in fields(LadderConfig)}
    return LadderClassifier(**settings, random_state=config.seed, verbose=verbose)


def default_name(config: LadderRunConfig) -> str:
    """``<data>-ladder-<variant>-<labels>-<time>``."""
    data = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(config.data.name).stem or config.data.name)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{data}-ladder-{config.ladder.variant}-{config.labels or 'all'}-{stamp}"


def _array(x: Dataset | np.ndarray) -> np.ndarray:
    return x.array() if isinstance(x, Dataset) else x


@dataclass
class LadderRun:
    run_dir: Path
    summary: dict[str, Any]
    estimator: LadderClassifier


def run_ladder(config: LadderRunConfig, *, verbose: bool = False, resume: str | Path | None = None) -> LadderRun:
    """Train ``config`` into a new run folder (``config.out/config.name``, or a unique default name), or with
    ``resume`` continue the unfinished run in that folder (``config`` is then its ``ladder.yaml``) from its
    checkpoint, to the weights an uninterrupted run has.

    Every check a user can fail (keys and values, labels in the data, the budget against the training
    split's labelled rows) runs before the folder exists. ``verbose`` prints one line per epoch. A
    ``ConvergenceWarning`` (the budget ended while the cost still fell) is logged, and the run's
    ``stop_reason`` says so."""
    data = prepare_splits(config.data)
    y_train, _, y_test = data.labels()
    if y_train is None:
        raise DataError(f"A ladder run needs class labels, and {config.data.name!r} has none. Name the column that "
                        f"holds them (data.label_column for a CSV or .npy file), or learn features without labels "
                        f"with 'aekit train'.")
    check_budget(config.labels, len(y_train), where=f"the training split of {config.data.name!r}")
    rows = draw_labelled(y_train, config.labels, config.label_seed)  # the only labels the estimator sees
    y_semi = np.full_like(y_train, -1)
    y_semi[rows] = y_train[rows]
    estimator = estimator_of(config, verbose=int(verbose))
    x_train, x_test = _array(data.train_x), _array(data.test_x)  # the validation split is not read
    try:  # what only the estimator knows, refused before the folder exists
        estimator._check_params()  # a device this machine lacks
        if config.ladder.denoising_weights != "auto":
            estimator._resolve_weights()  # as many weights as layers
        estimator._check_fits(int(np.prod(x_train.shape[1:])), len(np.unique(y_semi[rows])))  # memory
    except ConfigError as error:
        raise ConfigError(f"{error} (the run config's 'ladder' section: --set ladder.<parameter>=...)") from None

    named = config.name is not None
    run_dir = Path(resume) if resume is not None else Path(config.out) / (config.name or default_name(config))
    with ExitStack() as stack:
        if resume is not None:
            stack.enter_context(folder_lock(run_dir))
            _check_unfinished(run_dir)
        elif named:
            if (run_dir / CONFIG).exists():
                raise ConfigError(f"Run folder {str(run_dir)!r} already holds a ladder run; choose another --name "
                                  f"(or --out).")
            check_new_run_folder(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
        else:  # the default name holds the time: runs started in the same second take -2, -3, ...
            run_dir = new_default_folder(run_dir)
        if resume is None:
            stack.enter_context(folder_lock(run_dir))
            check_new_run_folder(run_dir)  # again, now that it is ours: another process may have filled it
            write_yaml(cfg.to_dict(config), run_dir / CONFIG)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            estimator.fit(x_train, y_semi, checkpoint=run_dir / CHECKPOINT)
        seconds = time.perf_counter() - start
        for warning in caught:
            if issubclass(warning.category, (ConvergenceWarning, UserWarning)):
                logger.warning("warning: %s", warning.message)
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        predicted = estimator.predict(x_test) if len(x_test) else np.empty(0, dtype=y_test.dtype)  # read once
        summary = _summary(config, estimator, data.splits.train.classes, rows, y_train, y_test, predicted, seconds)
        estimator.save(run_dir)
        write_metrics(run_dir, [{"epoch": r["epoch"], "lr": r["lr"], "seconds": r["seconds"], "best_epoch": None,
                                 "train": {"loss": sum(r["train"].values()), **r["train"]}, "val": None}
                                for r in estimator.history_])
        atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2))
        if estimator.stop_reason_ != "interrupted":  # finished: its weights are saved, nothing to resume
            (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return LadderRun(run_dir, summary, estimator)


def _check_unfinished(run_dir: Path) -> None:
    """A folder ``--resume`` can continue: a ladder run killed or interrupted, its checkpoint there."""
    if not (run_dir / CHECKPOINT).is_file():
        finished = (run_dir / "summary.json").is_file()
        raise ConfigError(f"{str(run_dir)!r} holds no {CHECKPOINT} to resume from: "
                          + ("the ladder run finished. Train another with 'aekit ladder'." if finished else
                             "it is not an unfinished ladder run (its first epoch never ended?). Train it again "
                             "with 'aekit ladder'."))


def read_ladder_config(run_dir: str | Path) -> LadderRunConfig:
    """The ``ladder.yaml`` of a ladder run folder, checked (one line of :class:`ConfigError` otherwise)."""
    run_dir = Path(run_dir)
    refuse_links_out(run_dir)  # as a training run's folder: a summary.json -> a file of yours is never read
    path = run_dir / CONFIG
    if not path.is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a ladder run folder: it holds no {CONFIG}.")
    try:
        return cfg.from_dict(LadderRunConfig, cfg.read_yaml(path))
    except ConfigError as error:
        raise ConfigError(f"{str(path)!r}: {error}" if str(path) not in str(error) else str(error)) from None


def _summary(config: LadderRunConfig, estimator: LadderClassifier, classes: list[str] | None, rows: np.ndarray,
             y_train: np.ndarray, y_test: np.ndarray, predicted: np.ndarray, seconds: float) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    n_classes = len(classes or []) or int(y_train.max()) + 1
    accuracy = float((predicted == y_test).mean()) if len(y_test) else float("nan")
    return {"data": config.data.name, "variant": config.ladder.variant,
            "sizes": list(estimator.model_.describe()["sizes"]), "noise_std": float(config.ladder.noise_std),
            "denoising_weights": [float(w) for w in estimator.denoising_weights_],
            "labels": len(rows), "train_labels": len(rows), "val_labels": 0, "n_train": len(y_train),
            "test_size": len(y_test), "accuracy": accuracy, "error": 1 - accuracy,
            "confusion_matrix": confusion_matrix(y_test, predicted, labels=range(n_classes)).tolist(),
            "classes": classes, "epochs": estimator.n_epochs_, "max_epochs": config.ladder.epochs,
            "stop_reason": estimator.stop_reason_, "seconds": round(seconds, 3)}


# -- reading a ladder run folder back -------------------------------------------------------------
# summary.json's fields that a report reads, and what each must be
_NUMBER = (int, float)
SUMMARY_FIELDS: dict[str, tuple[type, ...]] = {
    "data": (str,), "variant": (str,), "sizes": (list,), "noise_std": _NUMBER, "denoising_weights": (list,),
    "labels": (int,), "train_labels": (int,), "n_train": (int,), "test_size": (int,), "accuracy": _NUMBER,
    "error": _NUMBER, "epochs": (int,), "max_epochs": (int,), "stop_reason": (str,), "seconds": _NUMBER}


@dataclass
class LadderRunFolder:
    """A finished ladder run read back: its config, summary and per-epoch metrics (each checked)."""

    run_dir: Path
    config: LadderRunConfig
    summary: dict[str, Any]
    history: list[dict[str, Any]]


def is_ladder_run(run_dir: str | Path) -> bool:
    return (Path(run_dir) / CONFIG).is_file()


def read_ladder_run(run_dir: str | Path) -> LadderRunFolder:
    """``ladder.yaml``, ``summary.json`` and ``metrics.jsonl`` of a ladder run folder, through the run folder's
    readers, every field used checked; anything else is one line of :class:`ConfigError`."""
    run_dir = Path(run_dir)
    config = read_ladder_config(run_dir)
    fix = "Train the run again with 'aekit ladder'."  # a finished ladder run keeps no checkpoint to resume
    summary = read_summary(run_dir, fix)
    if not summary:
        raise ConfigError(f"{str(run_dir)!r} holds no summary.json: the ladder run did not finish. {fix}")
    for key, kinds in SUMMARY_FIELDS.items():
        value = summary.get(key)
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise ConfigError(f"{str(run_dir / 'summary.json')!r}: {key!r} must be a "
                              f"{' or '.join(k.__name__ for k in kinds)}, not {value!r}. {fix}")
    for key in ("sizes", "denoising_weights"):
        if not all(isinstance(v, _NUMBER) and not isinstance(v, bool) for v in summary[key]):
            raise ConfigError(f"{str(run_dir / 'summary.json')!r}: {key!r} must be a list of numbers. {fix}")
    history = read_metrics(run_dir, fix)
    for number, record in enumerate(history, 1):
        values = [v for k, v in record.items() if k.startswith("train/")]
        if (not isinstance(record.get("epoch"), int)
                or not all(isinstance(v, _NUMBER) and not isinstance(v, bool) for v in values)):
            raise ConfigError(f"{str(run_dir / 'metrics.jsonl')!r} line {number}: an epoch record needs an int "
                              f"'epoch' and numbers for its 'train/<term>' values. {fix}")
    return LadderRunFolder(run_dir, config, summary, history)


__all__ = ["CHECKPOINT", "CONFIG", "LadderRun", "LadderRunConfig", "LadderRunFolder", "default_name", "estimator_of",
           "is_ladder_run", "make_ladder_config", "read_ladder_config", "read_ladder_run", "run_ladder"]
