"""Training a ladder network: paired labelled and unlabelled batches, Adam on the published schedule.

Rasmus, Valpola, Honkala, Berglund & Raiko, NIPS 2015, section 4.1 (MNIST) and the authors' code:
every step takes a batch of unlabelled rows and a batch of labelled rows; the labelled rows cycle (a
new permutation each time they run out) while the unlabelled rows make the epoch, one pass over them;
Adam at ``lr`` for the first two thirds of the epochs, then decaying linearly towards 0 over the last
third (per epoch: lr * (E - e) / (E - E0) at epoch e >= E0). Every row of the data is an unlabelled
row, labelled or not (the published 100-label runs use all 60,000 images as unlabelled data).

Randomness: one seed; a numpy generator orders the batches and a torch generator draws the noise.

:class:`LadderConfig` is the one table of the ladder's settings and their constraints: the ``ladder``
section of ``aekit ladder``'s run config, from which :class:`aekit.LadderClassifier` takes its parameter
check.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.config import param
from aekit.errors import ConfigError, TrainingDiverged
from aekit.io import atomic_write
from aekit.models.ladder import VARIANTS, LadderNetwork
from aekit.objectives.ladder import LadderCost
from aekit.params import REPEATS, SIZE, AnyOf, Interval, Options, SequenceOf
from aekit.training.checkpoint import read_state
from aekit.training.precision import DEVICES

POSITIVE_INT = Interval(int, 1, None)


@dataclass
class LadderConfig:
    """A ladder network and how it trains: the published defaults for MNIST with 100 labels (Rasmus et al.)."""

    hidden: tuple = param((1000, 500, 250, 250, 250), SequenceOf(SIZE),
                          "widths of the hidden layers; the top layer has one unit per class")
    variant: str = param("full", Options(VARIANTS), "full: a denoising cost at every layer; gamma: at the top only")
    noise_std: float = param(0.3, Interval(float, 0, None), "std of the Gaussian noise at the input and every layer")
    denoising_weights: Any = param("auto", AnyOf(Options(("auto",)), SequenceOf(Interval(float, 0, None))),
                                   "lambda_0 (input) .. lambda_L (top), len(hidden) + 2 values; auto: the published "
                                   "1000, 10, 0.1, ... (gamma: 0.5 at the top)")
    epochs: int = param(150, REPEATS, "passes over the unlabelled rows (the budget; no early stopping)")
    batch_size: int = param(100, POSITIVE_INT, "unlabelled rows per step, and labelled rows per step")
    lr: float = param(0.002, Interval(float, 0, None, closed="neither"),
                      "Adam's learning rate, decaying linearly to 0 over the last third of the epochs")
    tol: float = param(0.05, Interval(float, 0, None),
                       "a ConvergenceWarning when the cost still fell by more than this before the decay")
    n_iter_no_change: int = param(10, POSITIVE_INT, "epochs per window of that convergence check")
    device: str = param("cpu", Options(DEVICES), "where to train: cpu, cuda, mps or auto")


@dataclass
class LadderSchedule:
    """How a ladder network trains (the estimator's parameters, resolved)."""

    epochs: int = 150  # passes over the unlabelled rows
    batch_size: int = 100  # unlabelled rows and labelled rows per step (each)
    lr: float = 0.002
    noise_std: float = 0.3
    weights: Sequence[float] = (1000.0, 10.0, 0.1, 0.1, 0.1, 0.1, 0.1)  # lambda_0 (input) .. lambda_L (top)

    @property
    def decay_start(self) -> int:
        """The first epoch (0-based) of the linear decay: the last third of the epochs decays."""
        return self.epochs - self.epochs // 3

    def lr_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (0-based)."""
        start = self.decay_start
        return self.lr if epoch < start else self.lr * (self.epochs - epoch) / (self.epochs - start)


def batches(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A permutation of range(n) in ceil(n / size) batches of near-equal sizes (none smaller than size - 1
    unless n < size: every row once, and no tiny last batch for batch normalisation)."""
    return np.array_split(rng.permutation(n), max(1, math.ceil(n / size)))


def fit_ladder(model: LadderNetwork, x_labelled: np.ndarray, y_labelled: np.ndarray, x_unlabelled: np.ndarray,
               schedule: LadderSchedule, *, seed: int, history: list[dict[str, Any]] | None = None,
               on_epoch: Callable[[dict[str, Any]], None] | None = None,
               checkpoint: str | Path | None = None) -> list[dict[str, Any]]:
    """Train ``model`` in place; returns the history, one record per epoch: ``{"epoch", "lr", "train": {term:
    mean over the epoch's steps}, "seconds"}``. ``x_labelled`` (n_l, d) with class indices ``y_labelled``
    (n_l,); ``x_unlabelled`` (n_u, d) is every row. Records are appended to ``history`` when given, so a
    caller that catches a KeyboardInterrupt keeps the epochs done.

    ``checkpoint``: a file written atomically after every epoch (the weights, Adam's state, both generators,
    the labelled batches left, the history). When it exists, training continues from it and ends with
    bitwise the weights of an uninterrupted fit; a file of other data, another network or another schedule
    is refused."""
    device = next(model.parameters()).device
    cost = LadderCost(schedule.weights)
    decode = any(w > 0 for w in schedule.weights)  # no denoising cost: a supervised MLP step
    rng = np.random.default_rng(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    x_l = torch.as_tensor(x_labelled, dtype=torch.float32, device=device)
    y_l = torch.as_tensor(y_labelled, dtype=torch.long, device=device)
    x_u = torch.as_tensor(x_unlabelled, dtype=torch.float32, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=schedule.lr)
    labelled: list[np.ndarray] = []  # the labelled batches left in the current cycle
    history = [] if history is None else history
    key = _fit_key(model, x_labelled, y_labelled, x_unlabelled, schedule, seed)
    if checkpoint is not None and Path(checkpoint).exists():
        labelled = _resume(checkpoint, key, model, optimizer, rng, generator, history)
    model.train()
    for epoch in range(len(history), schedule.epochs):
        start, lr = time.perf_counter(), schedule.lr_at(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        sums: dict[str, torch.Tensor] = {}
        steps = batches(len(x_u), schedule.batch_size, rng)
        for rows in steps:
            if not labelled:
                labelled = batches(len(x_l), schedule.batch_size, rng)
            take = torch.from_numpy(labelled.pop()).to(device)
            out = model.ladder(x_l[take], x_u[torch.from_numpy(rows).to(device)], noise_std=schedule.noise_std,
                               generator=generator, decode=decode)
            terms = cost({"y": y_l[take]}, out, model)
            loss = sum(terms.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0) + value.detach()
        means = {name: float(total) / len(steps) for name, total in sums.items()}
        if not all(math.isfinite(v) for v in means.values()):
            raise TrainingDiverged(f"The ladder network's cost became {means} at epoch {epoch + 1}. Likely causes: a "
                                   f"learning rate too high (lr={schedule.lr:g}; try 10x smaller) or inputs on a "
                                   f"large scale (standardise X, e.g. with sklearn's StandardScaler).")
        record = {"epoch": epoch + 1, "lr": lr, "train": means, "seconds": time.perf_counter() - start}
        history.append(record)
        if checkpoint is not None:
            state = {"key": key, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "rng": json.dumps(rng.bit_generator.state), "generator": generator.get_state(),
                     "labelled": [torch.from_numpy(rows) for rows in labelled], "history": history}
            atomic_write(Path(checkpoint), lambda tmp: torch.save(state, tmp))
        if on_epoch is not None:
            on_epoch(record)
    return history


def _fit_key(model: LadderNetwork, x_labelled: np.ndarray, y_labelled: np.ndarray, x_unlabelled: np.ndarray,
             schedule: LadderSchedule, seed: int) -> str:
    """What a checkpoint must have been written for: the network's shapes, the data, the schedule, the seed."""
    digest = hashlib.sha256()
    for array in (x_labelled, y_labelled, x_unlabelled):
        digest.update(np.ascontiguousarray(array).tobytes())
    shapes = [(name, tuple(value.shape)) for name, value in model.state_dict().items()]
    return json.dumps({"data": digest.hexdigest(), "shapes": repr(shapes), "schedule": repr(schedule), "seed": seed})


def _resume(path: str | Path, key: str, model: LadderNetwork, optimizer: torch.optim.Optimizer,
            rng: np.random.Generator, generator: torch.Generator, history: list[dict[str, Any]]) -> list[np.ndarray]:
    """Load a ladder checkpoint into the training state; returns the labelled batches left in the cycle."""
    state = read_state(path, "delete it to fit from the beginning")
    if not isinstance(state, dict) or state.get("key") != key:
        raise ConfigError(f"Checkpoint {str(path)!r} was written for other data, another network, another schedule "
                          f"or another seed than this fit; give this fit another checkpoint file, or delete it to "
                          f"fit from the beginning.")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    rng.bit_generator.state = json.loads(state["rng"])
    generator.set_state(state["generator"])
    history.extend(state["history"])
    return [rows.numpy() for rows in state["labelled"]]


def still_falling(history: list[dict[str, Any]], decay_start: int, window: int) -> float | None:
    """The relative fall of the mean total training cost between the ``window`` epochs before the decay
    began and the ``window`` epochs before those; None when there are not that many epochs."""
    if decay_start < 2 * window:
        return None
    total = [sum(record["train"].values()) for record in history[:decay_start]]
    before, last = np.mean(total[-2 * window : -window]), np.mean(total[-window:])
    return float((before - last) / abs(before)) if before else 0.0


__all__ = ["LadderConfig", "LadderSchedule", "batches", "fit_ladder", "still_falling"]
