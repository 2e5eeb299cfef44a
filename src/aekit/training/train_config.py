"""How a fit is optimised and when it stops (``train:`` in a config): :class:`TrainConfig`, the learning
rates ``lr: auto`` picks and the reasons a fit ends in words; where it trains is
:func:`aekit.training.precision.placement`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aekit.config import param
from aekit.models.pca_start import STARTS
from aekit.params import REPEATS, SIZE, AnyOf, InstanceOf, Interval, Options
from aekit.training.precision import DEVICES, PRECISIONS

DEFAULT_LR = 1e-3  # lr: auto, for every model but an affine one
# lr: auto for a linear autoencoder: Adam at 1e-3 needs ~800 epochs to come within 1 % of PCA on
# scikit-learn's digits; 1e-2 with the plateau schedule gets there in 40-90 (chosen on validation
# splits of digits and MNIST-5k, no test split; docs/provenance.md)
AFFINE_LR = 1e-2
AUTO_PATIENCE = 10  # epochs without improvement that end an ``epochs: auto`` run when patience is None
DEFAULT_BATCH = 128  # batch_size: auto, for images (aekit train)
# batch_size: auto in the estimators: about STEPS_PER_EPOCH optimiser steps an epoch, batches of MIN_BATCH to
# MAX_BATCH (a linear autoencoder on digits needs ~800 epochs at batch 256 and 40-90 at 64). A table (data
# standardised, in aekit train too) may go down to TABLE_MIN_BATCH: at 128 iris's 105 training rows are one step
# an epoch (patience 10 = ten steps). Chosen with train.start: pca on validation rows of scikit-learn's four
# tables, never their test split (docs/provenance.md)
STEPS_PER_EPOCH, MIN_BATCH, MAX_BATCH, TABLE_MIN_BATCH = 20, 32, 256, 16

# Why a fit ended (``Trainer.stop_reason``, ``summary.json``, the report, the estimators' ``stop_reason_``),
# in words with the run's own settings filled in by ``stop_reason_text``
STOP_REASONS = {
    "converged": "the {monitored} loss did not improve by more than tol = {tol:g} (relative) for patience = "
                 "{patience} epochs",
    "budget": "the epoch budget (max_epochs = {max_epochs}) ran out while the loss was still improving",
    "completed": "the fixed number of epochs ({epochs}) ran",
    "interrupted": "interrupted by the user",
}


@dataclass
class TrainConfig:
    """How to optimise; every field can be set as ``train.<field>`` in a config or with ``--set``.

    ``epochs: auto`` (the default) trains until the monitored loss (validation, else training) has not
    improved by a relative ``tol`` for ``patience`` epochs, within ``max_epochs``, halving the learning
    rate on plateaus; a whole number trains exactly that many epochs (unless ``patience`` is set).
    """

    epochs: Any = param("auto", AnyOf(Options(("auto",)), REPEATS),
                        "passes over the training data; auto: until the validation loss converges")
    max_epochs: int = param(200, REPEATS, "the budget of epochs: auto (a warning says when it ends first)")
    tol: float = param(1e-3, Interval(float, 0, 1, closed="left"),
                       "an epoch improves when the loss falls below (1 - tol) x the best so far")
    batch_size: Any = param("auto", AnyOf(Options(("auto",)), SIZE),
                            f"samples per optimiser step; auto: {DEFAULT_BATCH}, for a table (data standardised) "
                            f"n_train // {STEPS_PER_EPOCH} within {TABLE_MIN_BATCH}..{MAX_BATCH}")
    optimizer: str = param("adam", Options(("adam", "sgd")), "adam (fused when the device allows) or sgd")
    lr: Any = param("auto", AnyOf(Options(("auto",)), Interval(float, 0, None, closed="neither")),
                    f"learning rate; auto: {AFFINE_LR:g} for a linear (affine) autoencoder, else {DEFAULT_LR:g}")
    momentum: float = param(0.9, Interval(float, 0, 1, closed="left"), "momentum (sgd only)")
    weight_decay: float = param(0.0, Interval(float, 0, None), "L2 weight decay")
    schedule: str = param("auto", Options(("auto", "constant", "plateau", "cosine", "step")),
                          "learning-rate schedule; auto: plateau with epochs: auto, else constant")
    plateau_factor: float = param(0.5, Interval(float, 0, 1, closed="neither"),
                                  "lr factor when the loss plateaus for patience/2 epochs (schedule: plateau)")
    step_epochs: int = param(10, Interval(int, 1, None), "epochs between lr drops (schedule: step)")
    gamma: float = param(0.1, Interval(float, 0, 1, closed="right"), "lr factor at each drop (schedule: step)")
    patience: Any = param(
        None, AnyOf(None, Interval(int, 1, None)),
        f"stop after this many epochs without improvement (None: {AUTO_PATIENCE} with epochs: auto, off otherwise)",
    )
    restore_best: bool = param(True, InstanceOf(bool), "end with the weights of the best validation epoch")
    clip_grad: Any = param(None, AnyOf(None, Interval(float, 0, None, closed="neither")), "max gradient norm")
    device: str = param("auto", Options(DEVICES), "where to train; auto: a CUDA GPU, else MPS, else the CPU")
    precision: Any = param("32", Options((*PRECISIONS, 32)),
                           "32 (float32), bf16 (autocast to bfloat16) or 16-mixed (float16 with loss scaling, GPUs)")
    eval_batch_size: int = param(1024, SIZE, "samples per batch when evaluating")
    start: str = param("auto", Options(STARTS), "where the weights start: pca (the model reconstructs as PCA-k of the "
                       "training rows, then learns a correction), random; auto: pca for a table when the model can")

    @property
    def auto(self) -> bool:
        return self.epochs == "auto"

    @property
    def total_epochs(self) -> int:
        """The most epochs this config trains: the fixed count, or the budget of ``epochs: auto``."""
        return self.max_epochs if self.auto else int(self.epochs)

    @property
    def stop_patience(self) -> int | None:
        """Epochs without improvement that stop training (None: never)."""
        return self.patience if self.patience is not None else (AUTO_PATIENCE if self.auto else None)

    @property
    def lr_schedule(self) -> str:
        return ("plateau" if self.auto else "constant") if self.schedule == "auto" else self.schedule


def auto_batch_size(n_train: int, table: bool = False) -> int:
    """About ``STEPS_PER_EPOCH`` optimiser steps an epoch, batches of ``MIN_BATCH`` (a ``table``:
    ``TABLE_MIN_BATCH``) to ``MAX_BATCH``, never more than the rows."""
    low = TABLE_MIN_BATCH if table else MIN_BATCH
    return max(1, min(n_train, MAX_BATCH, max(low, n_train // STEPS_PER_EPOCH)))


def choose_batch_size(batch_size: Any, n_train: int, table: bool) -> int:
    """``train.batch_size`` with ``auto`` resolved for ``n_train`` training rows: a table (data standardised)
    :func:`auto_batch_size`, as the estimators choose a table's; anything else ``DEFAULT_BATCH``."""
    if batch_size != "auto":
        return int(batch_size)
    return auto_batch_size(n_train, table=True) if table else DEFAULT_BATCH


def stop_reason_text(reason: str | None, config: TrainConfig, validation: bool = True) -> str:
    """Why a fit ended, in words, with the tol, patience and budget of ``config`` (a run's ``train``
    section); ``validation``: whether a validation loss was monitored (else the training loss). An
    unknown or missing reason is ''."""
    if reason not in STOP_REASONS:
        return ""
    return STOP_REASONS[reason].format(monitored="validation" if validation else "training", tol=config.tol,
                                       patience=config.stop_patience, max_epochs=config.max_epochs,
                                       epochs=config.total_epochs)


__all__ = ["TrainConfig", "stop_reason_text", "STOP_REASONS", "DEFAULT_LR", "AFFINE_LR", "AUTO_PATIENCE",
           "DEFAULT_BATCH", "auto_batch_size", "choose_batch_size"]
