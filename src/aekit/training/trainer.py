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
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from aekit.errors import ConfigError, TrainingDiverged
from aekit.training import distributed
from aekit.training.batches import BatchSource
from aekit.training.checkpoint import CHECKPOINT_FORMAT, Checkpoints, config_digest
from aekit.training.distributed import rank_seed
from aekit.training.optimisation import apply_settings, make_optimiser
from aekit.training.precision import placement
from aekit.training.train_config import STOP_REASONS, TrainConfig, choose_batch_size, stop_reason_text

logger = logging.getLogger(__name__)

Batches = Callable[[Tensor], Sequence[Tensor]]


def _total(terms: dict[str, Tensor]) -> Tensor:
    """The sum of the terms, first + second + ...: ``sum()`` would start from ``0 +``, one more op and
    autograd node per step for the same value (0 + t is exactly t)."""
    values = iter(terms.values())
    total = next(values)
    for value in values:
        total = total + value
    return total


class Trainer(Checkpoints):
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

    Notes
    -----
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
        if self.config.batch_size == "auto":  # no data kind known here: a run or an estimator resolves it first
            self.config = dataclasses.replace(self.config, batch_size=choose_batch_size("auto", 0, table=False))
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
        self.net = self.model  # what the training forward goes through: DDP under torchrun
        # samples per optimiser step over all processes: train.batch_size x the number of processes
        self.global_batch_size = self.config.batch_size * self.dist.world_size
        if self.dist.enabled:  # under torchrun: DDP averages the gradients, each process draws its own noise
            self.net = self.dist.wrap(self.model)
            self._seed_rank(epoch=0)
            if self.dist.is_main:
                logger.info("%d processes x train.batch_size %d = global batch %d (precision %s)",
                            self.dist.world_size, self.config.batch_size, self.global_batch_size, self.precision.name)
        self.lr, self.optimizer, self.scheduler = make_optimiser(self.config, self.model)
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
    def _seed_rank(self, epoch: int) -> None:
        """Per-process noise from the run's seed: the corruption's generator and torch's global one (a
        model's own sampling) are seeded by (seed, rank), and by the epoch when a resume cannot restore
        them (another number of processes)."""
        rank = self.dist.rank
        self.noise_generator = torch.Generator().manual_seed(rank_seed(self.seed, rank, 2 * epoch))
        torch.manual_seed(rank_seed(self.seed, rank, 2 * epoch + 1))

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

    def _train_epoch(self, source: BatchSource) -> dict[str, float]:
        self.model.train()
        for objective in self.objectives:  # e.g. a KL warm-up needs to know where training stands
            start_epoch = getattr(objective, "start_epoch", None)
            if start_epoch is not None:
                start_epoch(self.epoch, self.config.total_epochs)
        order = torch.randperm(len(source), generator=self.generator)
        if self.dist.enabled:
            order = self.dist.shard(order)  # this process's rows
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
        if self.dist.enabled:
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
        source = data if isinstance(data, BatchSource) else BatchSource(data, self.device, labels)
        was_training = self.model.training
        self.model.eval()
        sums: dict[str, float] = {}
        rows = self.dist.eval_rows(len(source)) if self.dist.enabled else None  # under torchrun: this process's share
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
        source = BatchSource(train, self.device, labels)
        if len(source) == 0:
            raise ConfigError("The training data is empty: there is nothing to fit.")
        val_source = BatchSource(val, self.device, val_labels) if val is not None and len(val) > 0 else None
        if self.epoch == 0 and val_source is not None and self.config.start == "pca":
            self._track_start(self.evaluate(val_source))
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
            # info, not warning, and no advice: what to do depends on the caller, which reads stop_reason and
            # says it in its own terms (the CLI: a line with the resume command; the estimators: a
            # ConvergenceWarning naming max_epochs; the tour: its claims' budgets are their protocol)
            logger.info("Stopped on the budget of max_epochs=%d with the loss still improving (best epoch %d): "
                        "the model has not converged.", c.max_epochs, self.best_epoch)
            return "budget"
        return "completed"

    def convergence_text(self) -> str:
        """Why a converged fit stopped, in words that hold when the best epoch is the last one too: the last
        epoch that improved the loss by more than tol, and the best epoch (a smaller gain may come later)."""
        gain = self.epoch - self.bad_epochs  # the last epoch that improved by more than tol
        text = (f"no epoch after epoch {gain} improved the loss by more than tol = {self.config.tol:g} (relative), "
                f"for {self.bad_epochs} epochs")
        if self.best_epoch == 0:
            return text + "; no epoch had a lower loss than the start at PCA, whose weights are kept"
        if self.best_epoch > gain:
            return text + f"; epoch {self.best_epoch} has the lowest loss, by a smaller gain, and its weights are kept"
        return text + f"; the weights of epoch {self.best_epoch}, the lowest loss, are kept"

    def _track_start(self, terms: dict[str, float]) -> None:
        """A model that starts at PCA starts where its baseline is: those weights are a candidate for the ones
        kept (epoch 0), so training never ends worse on the validation rows than PCA. Convergence is still
        counted from the first epoch, as for any start."""
        self.best_score, self.best_epoch = terms["loss"], 0
        if self.config.restore_best:
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

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

    def apply_optimiser_settings(self) -> None:
        """Give the optimiser this config's lr, weight decay and momentum, over those a checkpoint restored
        (a resume that changes them); the schedule restarts from the new rate."""
        self.lr = apply_settings(self.config, self.model, self.optimizer, self.scheduler)


__all__ = ["Trainer", "TrainConfig", "STOP_REASONS", "stop_reason_text", "placement", "CHECKPOINT_FORMAT",
           "config_digest"]
