"""Objectives: small callables ``(batch, out, model) -> {term name: weighted scalar}``.

The loss lives outside the model: the model returns named outputs (``h``, ``logits`` or ``x_hat``,
and ``mu``/``logvar`` when variational); each objective returns named terms; the trainer sums them
and logs each one. ``batch`` holds ``x`` (the clean input, the target) and ``x_tilde`` (what the
model was fed: a corrupted copy when denoising, else ``x`` itself).

An objective is a dataclass registered with ``@register("objective", name)``; its fields are
declared with :func:`aekit.config.param`, so a config's ``penalties: {name: weight}`` or
``penalties: {name: {field: value}}`` is checked like any other section. Two optional methods:
``bind(model)`` (called once by the trainer: check the model fits, e.g. codes in (0, 1), and pick a
fast path) and ``start_epoch(epoch, epochs)`` (called before each epoch, e.g. for a KL warm-up).

Every module in this package is imported here, so a new regulariser is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Protocol

from torch import Tensor, nn

from aekit.objectives.reconstruction import RECONSTRUCTIONS, CrossEntropy, SquaredError, x_hat_of


class Objective(Protocol):
    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]: ...


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Objective", "CrossEntropy", "SquaredError", "RECONSTRUCTIONS", "x_hat_of"]
