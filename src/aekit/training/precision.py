"""Where and in which precision a model trains: ``train.device`` and ``train.precision``, resolved together
by :func:`placement`.

The device is ``auto`` (the best available: CUDA, then Apple's MPS, then the CPU), ``cpu``, ``cuda``
or ``mps``; asking for one this machine does not have is an error that says which it has, never a
silent CPU run. The precision follows PyTorch's automatic mixed precision (``torch.autocast``; see
https://pytorch.org/docs/stable/amp.html), as PyTorch Lightning names it:

    32        float32 everywhere (the default; bit for bit what aekit always did)
    bf16      the forward pass and the loss under autocast to bfloat16; weights, gradients and the
              optimiser stay float32. bfloat16 has float32's range, so no loss scaling is needed.
              CPU, CUDA (Ampere and later) and MPS.
    16-mixed  autocast to float16 with a ``torch.amp.GradScaler``: the loss is scaled up before the
              backward pass so small gradients do not underflow float16's range, the gradients are
              unscaled before clipping and the step, and steps with inf/NaN gradients are skipped
              while the scale adapts. The scaler's state travels in the checkpoint. CUDA and MPS.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import torch
from torch import Tensor, nn

from aekit.errors import ConfigError
from aekit.training.distributed import Distributed

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("32", "bf16", "16-mixed")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """The devices this machine can train on, best first after the CPU: ``['cpu', 'cuda', ...]``."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if _mps_available() else [])


def best_device() -> str:
    """What ``auto`` means here: CUDA when there is a GPU, else MPS, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"


def resolve_device(name: str, local_rank: int | None = None, *, parameter: str = "train.device",
                   owner: str | None = None) -> torch.device:
    """``auto`` is the best device available; a named one must exist. Under torchrun each process of a
    CUDA run takes its own GPU, ``cuda:LOCAL_RANK``. Errors name ``parameter`` (of ``owner``)."""
    what = f"The '{parameter}' parameter" + (f" of {owner}" if owner else "")
    if name == "auto":
        name = best_device()
    if name not in DEVICES:
        raise ConfigError(f"{what} must be one of {', '.join(map(repr, DEVICES))}. Got {name!r} instead.")
    available = available_devices()
    if name not in available:
        raise ConfigError(f"{what} is {name!r} but no {name.upper()} device is available on "
                          f"this machine; available: {', '.join(available)}. Use one of them, or 'auto' to take "
                          f"the best one there is.")
    if name == "cuda" and local_rank is not None:
        return torch.device("cuda", local_rank)
    return torch.device(name)


def available_precisions(device: torch.device) -> list[str]:
    """The values of ``train.precision`` that ``device`` supports."""
    if device.type == "cpu":
        return ["32", "bf16"]  # float16 autocast on a CPU is emulated and slower than float32
    if device.type == "cuda":
        return ["32", *(["bf16"] if torch.cuda.is_bf16_supported() else []), "16-mixed"]
    return ["32", "bf16", "16-mixed"]


def check_precision(value: Any, device: torch.device) -> str:
    """``value`` as one of :data:`PRECISIONS` (YAML reads ``32`` as a number), available on ``device``."""
    name = str(value)
    if name not in PRECISIONS:
        raise ConfigError(f"The 'train.precision' parameter must be one of {', '.join(PRECISIONS)}. Got {value!r} "
                          f"instead.")
    available = available_precisions(device)
    if name not in available:
        raise ConfigError(f"The 'train.precision' parameter is {name!r} but the {device.type} device does not support "
                          f"it; available on {device.type}: {', '.join(available)}."
                          + (" Use bf16 on a CPU (16-mixed needs a GPU)." if name == "16-mixed" else ""))
    return name


class Precision:
    """Autocast and, for float16, loss scaling: the parts of a training step that depend on precision.

    ``autocast()`` wraps the forward pass and the loss; ``backward(loss)`` and ``step(optimizer,
    parameters, clip)`` replace ``loss.backward()``, clipping and ``optimizer.step()``. At ``32`` they
    are exactly those calls.
    """

    def __init__(self, name: Any, device: torch.device) -> None:
        self.name = check_precision(name, device)
        self.device = device
        self.dtype = {"32": None, "bf16": torch.bfloat16, "16-mixed": torch.float16}[self.name]
        self.scaler = torch.amp.GradScaler(device.type) if self.name == "16-mixed" else None

    def autocast(self) -> Any:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer, parameters: Any, clip: float | None) -> None:
        if self.scaler is None:
            if clip is not None:
                nn.utils.clip_grad_norm_(parameters, clip)
            optimizer.step()
            return
        if clip is not None:
            self.scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(parameters, clip)
        self.scaler.step(optimizer)  # skipped when a gradient is inf/NaN
        self.scaler.update()

    def state_dict(self) -> dict[str, Any] | None:
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def placement(config: Any, dist: Distributed, quiet: bool = False) -> tuple[torch.device, Precision]:
    """Where ``config`` (a :class:`~aekit.training.train_config.TrainConfig`) trains and in which precision; an
    error when this machine has neither (a run checks it before its folder is made, so that a refused run leaves
    nothing behind)."""
    device = config.device
    if dist.enabled and device == "auto" and best_device() == "mps":  # no backend for MPS
        if not quiet:
            logger.info("train.device=auto: cpu (distributed training has no backend for MPS)")
        device = "cpu"
    resolved = resolve_device(device, dist.local_rank if dist.enabled else None)
    return resolved, Precision(config.precision, resolved)


__all__ = ["DEVICES", "PRECISIONS", "Precision", "available_devices", "available_precisions", "best_device",
           "check_precision", "placement", "resolve_device"]
