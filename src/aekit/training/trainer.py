"""The training loop: batches, optimiser, schedule, validation, early stopping, checkpoints, resume.

The trainer knows no autoencoder family by name. Each step it

    x ──corruption──▶ x_tilde ──model──▶ out;   loss = Σ objective(batch, out, model)

and logs every named term separately. It is written to cost nothing over a hand-written loop
(``benchmarks/trainer_throughput.py``): in-memory data is batched by slicing one permuted tensor
(no per-sample Python work, no DataLoader), Adam runs fused, losses come from logits.

Reproducibility: one seed drives a single ``torch.Generator`` used for the batch order and for any
corruption noise; its state (and torch's global generator, which a model's own sampling draws from)
is saved in every checkpoint, so a run interrupted at any point and resumed ends with bitwise the
same weights as an uninterrupted one (same machine, CPU).

Device and precision (``train.device``, ``train.precision``) are :mod:`aekit.training.precision`;
under torchrun the trainer joins the process group and trains with ``DistributedDataParallel``
(:mod:`aekit.training.distributed`): each process its shard of every epoch's permutation, losses
summed over processes, only rank 0 writing checkpoints and calling ``on_epoch``. With one process
and ``precision: 32`` every step is exactly the single-process float32 step.

An objective may define ``bind(model)`` (called once, here), ``start_epoch(epoch, epochs)``
(called before each epoch; a KL warm-up uses it) and ``state_dict()``/``load_state_dict(state)``
(saved in checkpoints: a random-projection generator). Objectives stay plain callables otherwise.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from aekit.config import param
from aekit.errors import ConfigError, TrainingDiverged
from aekit.params import SIZE, AnyOf, InstanceOf, Interval, Options, shown
from aekit.training import distributed
from aekit.training.distributed import rank_seed
from aekit.training.precision import DEVICES, PRECISIONS, Precision, best_device, resolve_device

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "aekit.checkpoint/1"


DEFAULT_LR = 1e-3  # lr: auto, for every model but an affine one
# lr: auto for a linear autoencoder: Adam at 1e-3 needs ~800 epochs to come within 1 % of PCA on
# scikit-learn's digits; 1e-2 with the plateau schedule gets there in 40-90 (chosen on validation
# splits of digits and MNIST-5k, no test split; docs/provenance.md)
AFFINE_LR = 1e-2
AUTO_PATIENCE = 10  # epochs without improvement that end an ``epochs: auto`` run when patience is None

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

    epochs: Any = param("auto", AnyOf(Options(("auto",)), Interval(int, 1, None)),
                        "passes over the training data; auto: until the validation loss converges")
    max_epochs: int = param(200, Interval(int, 1, None), "the budget of epochs: auto (a warning says when it ends first)")
    tol: float = param(1e-3, Interval(float, 0, 1, closed="left"),
                       "an epoch improves when the loss falls below (1 - tol) x the best so far")
    batch_size: int = param(128, SIZE, "samples per optimiser step")
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


def stop_reason_text(reason: str | None, config: TrainConfig, validation: bool = True) -> str:
    """Why a fit ended, in words, with the tol, patience and budget of ``config`` (a run's ``train``
    section); ``validation``: whether a validation loss was monitored (else the training loss). An
    unknown or missing reason is ''."""
    if reason not in STOP_REASONS:
        return ""
    return STOP_REASONS[reason].format(monitored="validation" if validation else "training", tol=config.tol,
                                       patience=config.stop_patience, max_epochs=config.max_epochs,
                                       epochs=config.total_epochs)


Batches = Callable[[Tensor], Sequence[Tensor]]


def config_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 of ``config`` as canonical JSON (keys sorted, no spaces): what a checkpoint records of the
    run that wrote it."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _settings(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{dotted key: value}`` (an empty section has no keys)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_settings(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def placement(config: TrainConfig, dist: distributed.Distributed, quiet: bool = False) -> tuple[torch.device, Precision]:
    """Where ``config`` trains and in which precision; an error when this machine has neither (a run
    checks it before its folder is made, so that a refused run leaves nothing behind)."""
    device = config.device
    if dist.enabled and device == "auto" and best_device() == "mps":  # no backend for MPS
        if not quiet:
            logger.info("train.device=auto: cpu (distributed training has no backend for MPS)")
        device = "cpu"
    resolved = resolve_device(device, dist.local_rank if dist.enabled else None)
    return resolved, Precision(config.precision, resolved)


def _total(terms: dict[str, Tensor]) -> Tensor:
    """The sum of the terms, first + second + ...: ``sum()`` would start from ``0 +``, one more op and
    autograd node per step for the same value (0 + t is exactly t)."""
    values = iter(terms.values())
    total = next(values)
    for value in values:
        total = total + value
    return total


class _Source:
    """Training data as batches: one permuted in-memory tensor sliced, or, for a data set kept on disk
    (larger than memory: a memory-mapped .npy, an image folder decoded on demand), rows streamed through
    a DataLoader (:mod:`aekit.data.loader`).

    Optional class labels (for fine-tuning a classifier) travel with the rows, in the same order.
    """

    def __init__(self, data: Any, device: torch.device, labels: Any = None) -> None:
        self.dataset = None
        if isinstance(data, Tensor):
            self.x = data.to(device=device, dtype=torch.float32)
        elif isinstance(data, np.ndarray):
            self.x = torch.as_tensor(np.asarray(data, dtype=np.float32), device=device)
        elif getattr(data, "is_streamed", False):
            self.dataset, self.x = data, None
            self.stream: Any = None  # the DataLoader and its workers, started on the first pass
        else:  # an aekit Dataset held in memory
            self.x = torch.from_numpy(data.array()).to(device)
        self.device = device
        self.n = len(self.x) if self.x is not None else len(self.dataset)
        self.y = None if labels is None else torch.as_tensor(np.asarray(labels), dtype=torch.long, device=device)
        if self.y is not None and len(self.y) != self.n:
            raise ConfigError(f"Got {len(self.y)} labels for {self.n} samples; give one label per sample.")

    def __len__(self) -> int:
        return self.n

    def batches(self, batch_size: int, order: Tensor | None) -> Any:
        """(x, y) batches in ``order`` (a permutation) or in storage order; y is None without labels."""
        y = self.y if self.y is None or order is None else self.y.index_select(0, order.to(self.device))
        ys = y.split(batch_size) if y is not None else None
        if self.x is not None:
            # one gather per epoch; index_select copies whole rows, 2x faster than x[order] on (n, C, H, W)
            x = self.x if order is None else self.x.index_select(0, order.to(self.device))
            xs = x.split(batch_size)  # views: no copy, no Python work per sample
        else:
            from aekit.data.loader import StreamedBatches

            if self.stream is None:
                self.stream = StreamedBatches(self.dataset, self.device)
            rows = np.arange(self.n) if order is None else order.numpy()
            xs = self.stream(rows, batch_size)  # workers read the rows of the coming batches
        return zip(xs, ys) if ys is not None else ((xb, None) for xb in xs)


class Trainer:
    """Fit an autoencoder with named objectives; checkpoint, resume, stop early, survive Ctrl-C.

    Parameters
    ----------
    model : nn.Module returning a dict of named outputs.
    objectives : callables ``(batch, out, model) -> {term: scalar}``; the loss is the sum of all terms.
    config : TrainConfig.
    corruption : optional callable ``(x, generator) -> x_tilde`` applied to training batches only.
    seed : drives the batch order and the corruption noise (model initialisation is the caller's).
    checkpoint : path of the resumable checkpoint, rewritten atomically after every epoch.
    on_epoch : called with each epoch's record (the CLI prints it; the run writes metrics.jsonl);
        under torchrun on rank 0 only, which alone writes the checkpoint too.
    progress : show a progress bar over the batches of each epoch (tqdm; hidden when not a terminal).
    run_config : the config of the run this trainer continues (a mapping, as config.yaml holds it, less what a
        resume may change); recorded in every checkpoint with its :func:`config_digest`, and a checkpoint
        written with another one (or another seed) is refused on load. None: checkpoints are not tied to a run.

    Under torchrun (``WORLD_SIZE > 1``) ``fit``, ``evaluate`` and ``save_checkpoint`` are collective:
    every process calls them.
    """

    def __init__(
        self,
        model: nn.Module,
        objectives: Sequence[Callable[..., dict[str, Tensor]]],
        config: TrainConfig | None = None,
        *,
        corruption: Callable[[Tensor, torch.Generator], Tensor] | None = None,
        seed: int = 0,
        checkpoint: str | Path | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        progress: bool = False,
        run_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        self.dist = distributed.setup(self.config.device)  # one process unless launched by torchrun
        self.device, self.precision = placement(self.config, self.dist)
        self.model = model.to(self.device)
        self.objectives = list(objectives)
        if not self.objectives:
            raise ConfigError("Trainer needs at least one objective (e.g. a reconstruction loss).")
        for objective in self.objectives:  # let each term check the model suits it (and pick a fast path)
            bind = getattr(objective, "bind", None)
            if bind is not None:
                bind(self.model)
        self.corruption = corruption
        self.seed = seed
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.on_epoch = on_epoch
        self.progress = progress
        self.run_config = None if run_config is None else copy.deepcopy(dict(run_config))
        self.generator = torch.Generator().manual_seed(seed)  # the batch order (the same on every process)
        self.noise_generator = self.generator  # corruption noise: one process draws both from one generator
        self.net = self.dist.wrap(self.model)  # what the training forward goes through (DDP under torchrun)
        if self.dist.enabled:
            self._seed_rank(epoch=0)
        if self.dist.enabled and self.dist.is_main:
            logger.info("%d processes x train.batch_size %d = global batch %d (precision %s)", self.dist.world_size,
                        self.config.batch_size, self.global_batch_size, self.precision.name)
        self.lr = self._resolve_lr()
        self.optimizer = self._make_optimizer()
        self.scheduler = self._make_scheduler()
        self.history: list[dict[str, Any]] = []
        self.epoch = 0  # epochs completed
        self.best_score = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, Tensor] | None = None
        self.reference = math.inf  # the loss of the last epoch that improved by more than tol
        self.bad_epochs = 0  # epochs since then
        self.stopped_early = False
        self.stop_reason: str | None = None  # a key of STOP_REASONS once fit returns

    # -- construction -------------------------------------------------------------------------
    @property
    def global_batch_size(self) -> int:
        """Samples per optimiser step over all processes: ``train.batch_size`` x the number of processes."""
        return self.config.batch_size * self.dist.world_size

    def _seed_rank(self, epoch: int) -> None:
        """Per-process noise from the run's seed: the corruption's generator and torch's global one (a
        model's own sampling) are seeded by (seed, rank), and by the epoch when a resume cannot restore
        them (another number of processes)."""
        rank = self.dist.rank
        self.noise_generator = torch.Generator().manual_seed(rank_seed(self.seed, rank, 2 * epoch))
        torch.manual_seed(rank_seed(self.seed, rank, 2 * epoch + 1))

    def _resolve_lr(self) -> float:
        if self.config.lr != "auto":
            return float(self.config.lr)
        affine = bool(getattr(getattr(self.model, "config", None), "affine", False))
        lr = AFFINE_LR if affine else DEFAULT_LR
        logger.info("train.lr=auto: %g (%s)", lr, "a linear autoencoder" if affine else "the default")
        return lr

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c, params = self.config, self.model.parameters()
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        # Fused Adam: one kernel over all parameters, +17-23 % throughput on this CPU for a 784-512-128-32 MLP.
        return torch.optim.Adam(params, lr=self.lr, weight_decay=c.weight_decay, fused=True)

    def _make_scheduler(self) -> Any:
        c, schedule = self.config, self.config.lr_schedule
        if schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=c.total_epochs)
        if schedule == "plateau":  # halve after half the patience, so the lower rate gets the other half
            half = max(1, (c.stop_patience or AUTO_PATIENCE) // 2)
            return torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=c.plateau_factor, patience=half - 1, threshold=c.tol, threshold_mode="rel")
        if schedule == "step":
            return torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=c.step_epochs, gamma=c.gamma)
        return None

    # -- one step and one pass ----------------------------------------------------------------
    def _terms(self, x: Tensor, x_tilde: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        batch = {"x": x, "x_tilde": x_tilde}
        if y is not None:
            batch["y"] = y
        # the training forward goes through DDP when distributed; objectives see the model itself
        out = (self.net if self.model.training else self.model)(x_tilde)
        terms: dict[str, Tensor] = {}
        for objective in self.objectives:
            for name, value in objective(batch, out, self.model).items():
                terms[name] = terms[name] + value if name in terms else value
        return terms

    def _step(self, x: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        x_tilde = self.corruption(x, self.noise_generator) if self.corruption is not None else x
        if self.precision.scaler is None and self.precision.dtype is None:  # float32: the plain step
            terms = self._terms(x, x_tilde, y)
            loss = _total(terms)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.clip_grad is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_grad)
            self.optimizer.step()
            terms["loss"] = loss
            return terms
        with self.precision.autocast():
            terms = self._terms(x, x_tilde, y)
            loss = _total(terms)
        self.optimizer.zero_grad(set_to_none=True)
        self.precision.backward(loss)
        self.precision.step(self.optimizer, self.model.parameters(), self.config.clip_grad)
        terms["loss"] = loss
        return terms

    def _train_epoch(self, source: _Source) -> dict[str, float]:
        self.model.train()
        for objective in self.objectives:  # e.g. a KL warm-up needs to know where training stands
            start_epoch = getattr(objective, "start_epoch", None)
            if start_epoch is not None:
                start_epoch(self.epoch, self.config.total_epochs)
        order = self.dist.shard(torch.randperm(len(source), generator=self.generator))  # this process's rows
        batches = source.batches(self.config.batch_size, order)
        n_batches = math.ceil(len(order) / self.config.batch_size)
        bar = None
        if self.progress and self.dist.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_batches, desc=f"epoch {self.epoch + 1}/{self.config.total_epochs}", leave=False, unit="batch",
                       disable=None)  # None: shown on a terminal, hidden when the output is a file or a pipe
            if bar.disable:  # hidden: no calls into it per step (set_postfix formats even then, ~6 us)
                bar = None
        sums: dict[str, float] = {}
        seen = 0
        for index, (x, y) in enumerate(batches):
            terms = self._step(x, y)
            values = {name: value.item() for name, value in terms.items()}
            if not math.isfinite(values["loss"]):
                self._diverged(values, index)
            b = x.shape[0]
            seen += b
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + value * b
            if bar is not None:
                bar.update(1)
                if index % 10 == 0:
                    bar.set_postfix(loss=f"{values['loss']:.4g}")
        if bar is not None:
            bar.close()
        sums, seen = self.dist.sum(sums, seen)  # over all processes
        return {name: total / seen for name, total in sums.items()}

    def _diverged(self, values: dict[str, float], index: int) -> None:
        bad = [name for name, value in values.items() if name != "loss" and not math.isfinite(value)]
        term = f" (term {bad[0]!r})" if bad else ""
        kept = (
            f"The last good checkpoint (epoch {self.epoch}) is kept in {self.checkpoint}."
            if self.checkpoint is not None and self.epoch > 0
            else "No epoch had completed, so no checkpoint was written."
        )
        raise TrainingDiverged(
            f"The loss became {values['loss']} at epoch {self.epoch + 1}, batch {index + 1}{term}. "
            f"Likely causes: a learning rate too high (train.lr={self.lr:g}; try 10x smaller or set "
            f"train.clip_grad), or data outside [0, 1] with cross-entropy (set data.rescale: minmax "
            f"or loss.reconstruction: mse). {kept}"
        )

    @torch.no_grad()
    def evaluate(self, data: Any, labels: Any = None) -> dict[str, float]:
        """Mean of every term over ``data`` (clean inputs: corruption is for training only)."""
        source = data if isinstance(data, _Source) else _Source(data, self.device, labels)
        was_training = self.model.training
        self.model.eval()
        sums: dict[str, float] = {}
        rows = self.dist.eval_rows(len(source))  # under torchrun each process its share, summed below
        with self.precision.autocast():
            for x, y in source.batches(self.config.eval_batch_size, rows):
                terms = self._terms(x, x, y)
                terms["loss"] = sum(terms.values())
                for name, value in terms.items():
                    sums[name] = sums.get(name, 0.0) + float(value) * x.shape[0]
        self.model.train(was_training)
        if rows is not None:
            sums, _ = self.dist.sum(sums, 0.0)
        return {name: total / len(source) for name, total in sums.items()}

    # -- the loop -----------------------------------------------------------------------------
    def fit(self, train: Any, val: Any = None, *, labels: Any = None, val_labels: Any = None) -> list[dict[str, Any]]:
        """Train until convergence or the epoch count (``config.epochs``); returns the epoch records.

        Why it stopped is in ``stop_reason`` (a key of :data:`STOP_REASONS`), logged as it stops.

        ``train``/``val`` are aekit Datasets, numpy arrays or tensors of shape (n, *sample_shape);
        ``labels``/``val_labels`` (class indices) reach the objectives as ``batch["y"]``.
        On Ctrl-C the last completed epoch's checkpoint is on disk; the model keeps the best weights
        seen so far and ``KeyboardInterrupt`` propagates for the caller to report.
        """
        source = _Source(train, self.device, labels)
        if len(source) == 0:
            raise ConfigError("The training data is empty: there is nothing to fit.")
        val_source = _Source(val, self.device, val_labels) if val is not None and len(val) > 0 else None
        try:
            while self.epoch < self.config.total_epochs and not self.stopped_early:
                start = time.perf_counter()
                train_terms = self._train_epoch(source)
                val_terms = self.evaluate(val_source) if val_source is not None else None
                lr = self.optimizer.param_groups[0]["lr"]
                monitored = val_terms if val_terms is not None else train_terms
                if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    self.scheduler.step(monitored["loss"])
                elif self.scheduler is not None:
                    self.scheduler.step()
                self.epoch += 1
                record = {
                    "epoch": self.epoch,
                    "train": train_terms,
                    "val": val_terms,
                    "lr": lr,
                    "seconds": time.perf_counter() - start,
                }
                self._track_best(monitored)
                record["best_epoch"] = self.best_epoch
                self.history.append(record)
                if self.checkpoint is not None:
                    self.save_checkpoint(self.checkpoint)
                if self.on_epoch is not None and self.dist.is_main:
                    self.on_epoch(record)
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            self._restore_best()
            raise
        self.stop_reason = self._why_stopped()
        self._restore_best()
        return self.history

    def _why_stopped(self) -> str:
        c = self.config
        if self.stopped_early:
            logger.info("Converged at epoch %d: %s", self.epoch, self.convergence_text())
            return "converged"
        if c.auto:
            # info, not warning: the CLI and the estimators say it their own way (a line with the resume
            # command, a ConvergenceWarning); the caller reads stop_reason
            logger.info("Stopped on the budget of max_epochs=%d with the loss still improving (best epoch %d): "
                           "the model has not converged. Raise train.max_epochs (or the learning rate).",
                           c.max_epochs, self.best_epoch)
            return "budget"
        return "completed"

    def convergence_text(self) -> str:
        """Why a converged fit stopped, in words that hold when the best epoch is the last one too: the last
        epoch that improved the loss by more than tol, and the best epoch (a smaller gain may come later)."""
        gain = self.epoch - self.bad_epochs  # the last epoch that improved by more than tol
        text = (f"no epoch after epoch {gain} improved the loss by more than tol = {self.config.tol:g} (relative), "
                f"for {self.bad_epochs} epochs")
        if self.best_epoch > gain:
            return text + f"; epoch {self.best_epoch} has the lowest loss, by a smaller gain, and its weights are kept"
        return text + f"; the weights of epoch {self.best_epoch}, the lowest loss, are kept"

    def _track_best(self, terms: dict[str, float]) -> None:
        """Keep the best weights (any improvement); count epochs since the last one by more than tol."""
        score = terms["loss"]
        if score < self.best_score:
            self.best_score, self.best_epoch = score, self.epoch
            if self.config.restore_best:
                self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if math.isinf(self.reference) or score < self.reference - self.config.tol * abs(self.reference):
            self.reference, self.bad_epochs = score, 0
        else:
            self.bad_epochs += 1
            patience = self.config.stop_patience
            if patience is not None and self.bad_epochs >= patience:
                self.stopped_early = True

    def _restore_best(self) -> None:
        if self.config.restore_best and self.best_state is not None and self.best_epoch != self.epoch:
            self.model.load_state_dict(self.best_state)
            logger.info("Restored the weights of epoch %d (best validation loss %.6g)", self.best_epoch, self.best_score)

    # -- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),  # model-internal sampling (a VAE's reparameterisation)
            "history": copy.deepcopy(self.history),
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "reference": self.reference,
            "bad_epochs": self.bad_epochs,
            "stopped_early": self.stopped_early,
            "seed": self.seed,
            # objectives with state of their own (a random-projection generator) save it here
            "objectives": [o.state_dict() if hasattr(o, "state_dict") else None for o in self.objectives],
            "precision": self.precision.name,
            "scaler": self.precision.state_dict(),  # 16-mixed: the loss scale and its growth tracker
            "world_size": self.dist.world_size,
            "global_batch_size": self.global_batch_size,
            # the run that wrote it (check_belongs compares them before anything is loaded)
            "run_config": self.run_config,
            "run_config_digest": None if self.run_config is None else config_digest(self.run_config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ConfigError(f"Not an aekit checkpoint (format {state.get('format')!r}, expected {CHECKPOINT_FORMAT!r}).")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch = state["epoch"]
        self.history = list(state["history"])
        self.best_score = state["best_score"]
        self.best_epoch = state["best_epoch"]
        self.best_state = state["best_state"]
        self.reference = state.get("reference", state["best_score"])  # checkpoints before tol: the best
        self.bad_epochs = state["bad_epochs"]
        self.stopped_early = state["stopped_early"]
        self.seed = state["seed"]
        for objective, objective_state in zip(self.objectives, state.get("objectives", [])):
            if objective_state is not None and hasattr(objective, "load_state_dict"):
                objective.load_state_dict(objective_state)
        if state.get("precision", "32") == self.precision.name:
            self.precision.load_state_dict(state.get("scaler"))
        self._restore_processes(state)

    def _restore_processes(self, state: dict[str, Any]) -> None:
        """Each process's own noise generators, when the checkpoint was written by as many processes;
        with another number, say what changes."""
        world = int(state.get("world_size", 1))
        ranks = state.get("ranks")
        if world == self.dist.world_size:
            if self.dist.enabled and ranks is not None:
                mine = ranks[self.dist.rank]
                self.noise_generator.set_state(mine["noise"])
                torch.set_rng_state(mine["torch_rng"])
            return
        was = int(state.get("global_batch_size", self.config.batch_size * world))
        if self.dist.is_main:
            logger.warning(
                "The checkpoint was written by %d process%s (global batch %d); this run has %d (global batch %d = "
                "%d x train.batch_size %d). The epochs left take steps of the new global batch and draw new noise "
                "per process (seeded by the run's seed, the rank and the epoch), so the run goes on as a different "
                "one: not bitwise, nor within float error, what an uninterrupted run would give. Resume with %d "
                "process%s to continue it exactly.", world, "es" * (world > 1), was, self.dist.world_size,
                self.global_batch_size, self.dist.world_size, self.config.batch_size, world, "es" * (world > 1))
        if self.dist.enabled:
            self._seed_rank(epoch=self.epoch)

    def save_checkpoint(self, path: str | Path) -> None:
        """Write the full training state atomically (a SIGKILL leaves the previous checkpoint intact)."""
        from aekit.io import atomic_write

        state = self.state_dict()
        if self.dist.enabled:  # collective: every process's generators, written by rank 0
            ranks = self.dist.gather({"noise": self.noise_generator.get_state(), "torch_rng": torch.get_rng_state()})
            if not self.dist.is_main:
                return
            state["ranks"] = ranks
        atomic_write(Path(path), lambda tmp: torch.save(state, tmp))

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue from a checkpoint (loaded with ``weights_only=True``: tensors and plain data only).

        Under torchrun rank 0 reads the file and sends it to the others (the run folder need not be on
        every machine)."""
        if self.dist.enabled:
            state, error = None, None
            if self.dist.is_main:
                try:
                    state = self._read_checkpoint(path)
                except ConfigError as found:
                    error = found
            self.dist.raise_together(error)
            state = self.dist.broadcast(state)
        else:
            state = self._read_checkpoint(path)
        try:
            self.load_state_dict(state)
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as error:
            raise ConfigError(f"Checkpoint {str(path)!r} is not a complete aekit checkpoint of this run "
                              f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                              f"delete it to train the run again from the beginning.") from None

    def _read_checkpoint(self, path: str | Path) -> dict[str, Any]:
        import pickle
        import warnings

        try:
            with warnings.catch_warnings():  # torch's note on a foreign file's pickle protocol: the error says it
                warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
                state = torch.load(path, map_location="cpu", weights_only=True)  # generator states stay CPU tensors
        except FileNotFoundError:
            raise ConfigError(f"No checkpoint at {str(path)!r} to resume from.") from None
        except Exception as error:  # a corrupt or foreign file
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if isinstance(error, pickle.UnpicklingError):  # not torch's advice to load it with weights_only=False
                found = str(error).partition("WeightsUnpickler error:")[2].strip().splitlines()
                first = ("it holds Python objects beyond tensors and plain data, which aekit never unpickles"
                         + (f": {found[0]}" if found else ""))
            raise ConfigError(f"Cannot read checkpoint {str(path)!r} ({first}); restore the run's own "
                              f"checkpoint.pt, or delete it to train the run again from the beginning.") from None
        self.check_belongs(state, path)
        return state

    def apply_optimiser_settings(self) -> None:
        """Give the optimiser this config's lr, weight decay and momentum, over those a checkpoint restored
        (a resume that changes them, e.g. a smaller lr after the loss became NaN); the schedule restarts
        from the new rate."""
        self.lr = self._resolve_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] = self.lr
            group["weight_decay"] = self.config.weight_decay
            if "momentum" in group:
                group["momentum"] = self.config.momentum
        if self.scheduler is not None and hasattr(self.scheduler, "base_lrs"):
            self.scheduler.base_lrs = [self.lr for _ in self.optimizer.param_groups]
        if self.scheduler is not None and hasattr(self.scheduler, "_last_lr"):
            self.scheduler._last_lr = [self.lr for _ in self.optimizer.param_groups]

    def check_belongs(self, state: Any, path: str | Path) -> None:
        """Refuse a checkpoint that is not this run's: not a checkpoint at all, or another model's weights
        (names or shapes differ), before anything of it is loaded."""
        fix = "restore the run's own checkpoint.pt, or delete it to train the run again from the beginning"
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            what = f"format {state.get('format')!r}" if isinstance(state, dict) else f"a {type(state).__name__}"
            raise ConfigError(f"{str(path)!r} is not an aekit checkpoint ({what}, expected format "
                              f"{CHECKPOINT_FORMAT!r}); {fix}.")
        weights = state.get("model")
        if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise ConfigError(f"Checkpoint {str(path)!r} holds no model weights; {fix}.")
        expected = {k: tuple(v.shape) for k, v in self.model.state_dict().items()}
        found = {k: tuple(v.shape) for k, v in weights.items()}
        if found != expected:
            diff = sorted(set(expected) ^ set(found)) or [k for k in expected if expected[k] != found[k]]
            key = diff[0]
            raise ConfigError(f"Checkpoint {str(path)!r} does not belong to this run: its model differs at {key!r} "
                              f"(checkpoint {found.get(key, 'none')}, run {expected.get(key, 'none')}); {fix}.")
        if self.run_config is not None:
            self._check_run(state, path, fix)

    def _check_run(self, state: dict[str, Any], path: str | Path, fix: str) -> None:
        """The checkpoint was written by this run: the same config (its digest), so the same data, objectives
        and corruption; a checkpoint written before digests were recorded is taken on its seed, with a warning."""
        digest = state.get("run_config_digest")
        if digest is None:
            if state.get("seed") != self.seed:
                raise ConfigError(f"Checkpoint {str(path)!r} does not belong to this run: it was trained with seed "
                                  f"{shown(state.get('seed'))}, this run's config.yaml says {self.seed!r}; {fix}.")
            logger.warning("Checkpoint %s records no config (it was written before checkpoints did): it is resumed "
                           "because its model and seed match this run's, but it may come from a run with other "
                           "data, objectives or corruption; if so, delete it to train the run again.", path)
            return
        if digest == config_digest(self.run_config):
            return
        theirs = state.get("run_config")
        ours, found = _settings(self.run_config), _settings(theirs) if isinstance(theirs, Mapping) else {}
        differ = sorted(key for key in set(ours) | set(found) if ours.get(key, ...) != found.get(key, ...))
        if not differ:  # the recorded config is missing, or is not the one its digest was taken of
            raise ConfigError(f"Checkpoint {str(path)!r} does not belong to this run: its config digest "
                              f"{shown(digest, 24)} is not this run's config.yaml's; {fix}.")
        key = differ[0]
        was = f"{key} {shown(found[key])}" if key in found else f"no {key}"
        now = f"says {shown(ours[key])}" if key in ours else f"has no {key}"
        more = f" (and {len(differ) - 1} more setting{'s' * (len(differ) > 2)})" if len(differ) > 1 else ""
        raise ConfigError(f"Checkpoint {str(path)!r} does not belong to this run: it was trained with {was}, this "
                          f"run's config.yaml {now}{more}; {fix}.")
