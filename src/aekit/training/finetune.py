"""Semi-supervised fine-tuning: a pretrained encoder, a new head, few labels (Erhan et al., JMLR 2010).

    1. keep the autoencoder's encoder f, drop its decoder, attach a head (linear softmax or an MLP);
    2. train the head with f frozen (``freeze_epochs``);
    3. unfreeze and train end to end with a smaller learning rate (``finetune_lr``),
       early-stopped on labelled rows held out, keeping the best weights.

A label budget is a budget: ``labels=100`` means 100 labelled rows in all, the rows held out for early
stopping among them (``val_labels``: a fifth by default), as a user with 100 labels would have
(``../shared/DESIGN.md``, "Evidence protocol"); no labelled validation row comes from elsewhere.

The same network trained from a random initialisation (``pretrained=False``) is the baseline that
shows what pretraining buys. Labelled subsets are drawn stratified with ``label_seed``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aekit.config import param
from aekit.data.corruption import build_corruption
from aekit.errors import ConfigError
from aekit.models.batched import map_batches
from aekit.models.classifier import Classifier
from aekit.objectives.classification import Classification
from aekit.params import MAX_REPEATS, SEED, SIZE, AnyOf, InstanceOf, Interval, Options
from aekit.training import distributed
from aekit.training.trainer import TrainConfig, Trainer

logger = logging.getLogger(__name__)


@dataclass
class FinetuneConfig:
    """How to turn a pretrained encoder into a classifier with few labels."""

    labels: Any = param(100, AnyOf(None, Interval(int, 1, None)),
                        "labelled examples in all, early-stopping rows included, stratified (None = every label)")
    val_labels: Any = param("auto", AnyOf(Options(("auto",)), Interval(int, 0, None)),
                            "of the labels, how many stop training early: auto = a fifth when both parts keep a row "
                            "of every class, else 0 (no early stopping: the full epochs)")
    head: str = param("softmax", Options(("softmax", "mlp")), "linear softmax head, or an MLP with one hidden layer")
    head_hidden: int = param(128, SIZE, "hidden units of the mlp head")
    freeze_epochs: int = param(20, Interval(int, 0, MAX_REPEATS), "epochs training the head alone, encoder frozen")
    epochs: int = param(50, Interval(int, 0, MAX_REPEATS), "epochs of end-to-end fine-tuning after unfreezing")
    lr: float = param(1e-2, Interval(float, 0, None, closed="neither"), "learning rate of the frozen phase (and from scratch)")
    finetune_lr: float = param(3e-4, Interval(float, 0, None, closed="neither"), "smaller learning rate end to end")
    batch_size: int = param(32, SIZE, "samples per step")
    patience: Any = param(15, AnyOf(None, Interval(int, 1, None)), "early stopping on validation loss (epochs)")
    corruption: dict = param({}, InstanceOf(dict), "noise on the labelled inputs while training, e.g. {masking: 0.25}")
    label_seed: int = param(0, SEED, "seed of the labelled draw")
    seed: int = param(0, SEED, "seed of the head's initialisation and the batch order")

    def check(self) -> None:
        build_corruption(self.corruption)  # unknown names and bad levels fail here, not mid-training


def check_budget(n: int | None, available: int, parameter: str = "labels", where: str = "the training split") -> None:
    """A label budget is at most the labelled rows there are: more is refused, never quietly made 'all'
    (which also takes the validation split's labels, more than were asked for)."""
    if n is not None and n > available:
        raise ConfigError(f"The {parameter!r} parameter must be at most the {available} labelled rows of {where}, "
                          f"or 'all' for every label. Got {n} instead.")


def draw_labelled(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Indices of ``n`` labelled rows, as even across classes as possible (sorted); all rows if None.
    ``n`` is at most ``len(y)`` (:func:`check_budget`)."""
    y = np.asarray(y)
    check_budget(n, len(y))
    if n is None or n == len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    if n < len(classes):
        raise ConfigError(f"The 'labels' parameter must be at least the number of classes ({len(classes)}) so "
                          f"every class has a labelled example. Got {n} instead.")
    per_class = {c: rng.permutation(np.flatnonzero(y == c)) for c in classes}
    quota = {c: min(n // len(classes), len(per_class[c])) for c in classes}
    chosen = [per_class[c][: quota[c]] for c in classes]
    rest = np.concatenate([per_class[c][quota[c]:] for c in classes])
    extra = rng.permutation(rest)[: n - sum(quota.values())]  # the remainder, drawn at random
    return np.sort(np.concatenate([*chosen, extra]))


def held_out(n: int, val_labels: Any, n_classes: int) -> int:
    """How many of ``n`` labelled rows are held out to stop early (``val_labels``, resolved)."""
    if val_labels == "auto":
        fifth = n // 5
        return fifth if fifth >= n_classes and n - fifth >= n_classes else 0
    if val_labels and not (n_classes <= val_labels <= n - n_classes):
        raise ConfigError(f"The 'val_labels' parameter must be 0 or leave a row of each of the {n_classes} classes on "
                          f"both sides of {n} labels: an int in [{n_classes}, {n - n_classes}] or 'auto'. Got "
                          f"{val_labels} instead.")
    return int(val_labels)


def split_budget(y: np.ndarray, rows: np.ndarray, val_labels: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The labelled ``rows`` (indices into ``y``) as (training rows, early-stopping rows), stratified:
    the early-stopping rows are part of the budget, never added to it."""
    n_val = held_out(len(rows), val_labels, len(np.unique(y[rows])))
    if n_val == 0:
        return rows, rows[:0]
    val = rows[draw_labelled(y[rows], n_val, seed)]
    return np.setdiff1d(rows, val), val


@dataclass
class FinetuneResult:
    classifier: Classifier
    history: list[dict[str, Any]] = field(default_factory=list)  # both phases, "phase" in each record
    train_rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None


def _fit(model: nn.Module, config: FinetuneConfig, lr: float, epochs: int, data: tuple, phase: str,
         on_epoch: Callable | None) -> list[dict[str, Any]]:
    if epochs == 0:
        return []
    x, y, x_val, y_val = data
    train_config = TrainConfig(epochs=epochs, batch_size=config.batch_size, lr=lr, patience=config.patience)
    trainer = Trainer(model, [Classification()], train_config, corruption=build_corruption(config.corruption),
                      seed=config.seed)
    trainer.on_epoch = (lambda record: on_epoch({**record, "phase": phase})) if on_epoch else None
    history = trainer.fit(x, x_val if len(x_val) else None, labels=y, val_labels=y_val if len(x_val) else None)
    return [{**record, "phase": phase} for record in history]


def finetune(autoencoder: nn.Module | None, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
             config: FinetuneConfig | None = None, *, n_classes: int | None = None, pretrained: bool = True,
             template: nn.Module | None = None, on_epoch: Callable | None = None) -> FinetuneResult:
    """Fine-tune a copy of ``autoencoder``'s encoder on the labelled rows (the autoencoder is untouched).

    ``x``/``y`` are the labelled training rows, ``x_val``/``y_val`` the labelled validation rows.
    With ``pretrained=False`` the encoder of ``template`` (an autoencoder of the same architecture)
    is re-initialised and trained from scratch with ``lr`` for ``freeze_epochs + epochs`` epochs.
    """
    config = config or FinetuneConfig()
    n_classes = n_classes or int(max(np.max(y), np.max(y_val) if len(y_val) else 0)) + 1
    source = copy.deepcopy(autoencoder if autoencoder is not None else template)
    head = {"head": config.head, "head_hidden": config.head_hidden}
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        if not pretrained:
            for module in source.encoder.modules():
                if hasattr(module, "reset_parameters") and module is not source.encoder:
                    module.reset_parameters()
        classifier = Classifier.from_autoencoder(source, n_classes, **head)
        data = (x, y, x_val, y_val)
        if not pretrained:
            history = _fit(classifier, config, config.lr, config.freeze_epochs + config.epochs, data, "scratch", on_epoch)
            return FinetuneResult(classifier, history)
        classifier.freeze_encoder(True)
        history = _fit(classifier, config, config.lr, config.freeze_epochs, data, "frozen", on_epoch)
        classifier.freeze_encoder(False)
        history += _fit(classifier, config, config.finetune_lr, config.epochs, data, "finetune", on_epoch)
    return FinetuneResult(classifier, history)


def predict_proba(classifier: Classifier, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities (n, C) for rows x."""
    return map_batches(lambda xb: torch.softmax(classifier(xb)["class_logits"], dim=-1), x, classifier, batch_size)


def check_finetune_folder(out: Path) -> None:
    """Refuse to fine-tune into a folder that holds anything but an earlier fine-tuning (which it replaces): a
    run's own folder (its summary.json and metrics.jsonl would be written over), or files that are not ours."""
    from aekit.io import LOCK_NAME

    if (out / "finetune.yaml").is_file():
        return
    theirs = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)
    if theirs:
        shown = ", ".join(repr(name) for name in theirs[:3]) + (", ..." if len(theirs) > 3 else "")
        raise ConfigError(f"Folder {str(out)!r} holds files that are not a fine-tuning ({shown}); aekit never writes "
                          f"a fine-tuning over them. Give another --out, or leave it out for the run's "
                          f"finetune-<labels>-<head> folder.")


def finetune_run(run_dir: str | Path, config: FinetuneConfig | None = None, out: str | Path | None = None,
                 on_epoch: Callable | None = None) -> dict[str, Any]:
    """Fine-tune the encoder of a trained run on ``config.labels`` labels of its training split.

    The labelled rows are drawn from the run's training split (same seed, same preprocessing), the
    early-stopping rows among them; with ``labels=None`` (every label) the run's validation split stops
    training. Accuracy and the confusion matrix are measured on its test split. Writes
    ``finetune.yaml``, ``classifier.safetensors`` + ``classifier.json``, ``metrics.jsonl`` and
    ``summary.json`` into ``out`` (default ``RUN/finetune-<labels>-<head>``); returns the summary.

    As a training holds its run folder, a fine-tuning holds the lock of ``out`` from before its first epoch
    to its last write (under torchrun rank 0 holds it and writes): a second one into the same folder is
    refused, never mixed with the first.
    """
    import json

    from sklearn.metrics import confusion_matrix

    from aekit import config as cfg
    from aekit.io import LOCK_NAME, atomic_write_text, folder_lock, inside, write_yaml
    from aekit.models.classifier import save_classifier
    from aekit.training.run_folder import load_run, write_metrics

    config = config or FinetuneConfig()
    run = load_run(run_dir)
    (x, x_val, x_test), (y, y_val, y_test), data = run.labelled_arrays("Fine-tuning")
    splits = data.splits
    check_budget(config.labels, len(y), where=f"the training split of {str(run_dir)!r}")
    if out is not None and not str(out):
        raise ConfigError(f"The 'out' of finetune (--out) is empty; give the folder to write the classifier into, or "
                          f"leave it out for {str(Path(run_dir) / 'finetune-<labels>-<head>')!r}.")
    out = Path(out) if out is not None else inside(run_dir, f"finetune-{config.labels or 'all'}-{config.head}")
    rows = draw_labelled(y, config.labels, config.label_seed)  # a budget the data cannot give: before any folder
    if config.labels is None:  # every label: the validation split's labels too
        train_rows, (x_stop, y_stop) = rows, (x_val, y_val)
    else:
        train_rows, stop_rows = split_budget(y, rows, config.val_labels, config.label_seed)
        x_stop, y_stop = x[stop_rows], y[stop_rows]
    group = distributed.setup()
    with ExitStack() as stack:
        def claim() -> None:
            out.mkdir(parents=True, exist_ok=True)
            try:
                stack.enter_context(folder_lock(out))
            except ConfigError:  # held: say by whom, and what to do instead
                holder = (out / LOCK_NAME).read_text().strip() or "unknown"
                raise ConfigError(f"{str(out)!r} is being written by another aekit finetune (PID {holder}); wait "
                                  f"for it to finish, or give this one another --out.") from None
            check_finetune_folder(out)  # now that it is ours

        group.on_main(claim)
        n_classes = len(splits.train.classes or []) or int(y.max()) + 1
        result = finetune(run.model, x[train_rows], y[train_rows], x_stop, y_stop, config,
                          n_classes=n_classes, on_epoch=on_epoch)
        predicted = predict_proba(result.classifier, x_test).argmax(1)
        accuracy = float((predicted == y_test).mean()) if len(y_test) else float("nan")
        summary = {"run": str(run_dir), "labels": len(train_rows) + len(y_stop), "train_labels": len(train_rows),
                   "val_labels": len(y_stop), "test_size": len(y_test),
                   "accuracy": accuracy, "error": 1 - accuracy,
                   "confusion_matrix": confusion_matrix(y_test, predicted, labels=range(n_classes)).tolist(),
                   "classes": splits.train.classes}
        if group.is_main:
            write_yaml(cfg.to_dict(config), out / "finetune.yaml")
            save_classifier(result.classifier, run.model.describe(), out)
            write_metrics(out, result.history)
            atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    summary["out"] = str(out)
    return summary
