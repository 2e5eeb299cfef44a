"""The memory a model needs, known before one byte of it is allocated: the model is first built on
PyTorch's ``meta`` device (shapes only, no storage), its parameters counted, and the total compared
with the memory the machine has free.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from aekit.errors import ConfigError

logger = logging.getLogger(__name__)

# copies of the parameters alive at once: training holds the weights, their gradients, Adam's two
# moments, the best weights so far and the checkpoint being written; using a model, the weights and
# the file being read into them
COPIES_TRAINING = 6
COPIES_LOADING = 2


def parameter_bytes(build: Any) -> int:
    """Bytes of the parameters of the module ``build()`` returns, built on the meta device."""
    with torch.device("meta"):
        module = build()
    return sum(p.numel() * p.element_size() for p in module.parameters())


def check_fits(build: Any, config: Any, sample_shape: Sequence[int], copies: int) -> None:
    """Refuse, in one line, an autoencoder whose ``copies`` copies of parameters exceed the free memory."""
    short = _shortfall(build, copies)
    if short is None:
        return
    from aekit.models.config import own_fields

    own = [name for name in own_fields(config) if not isinstance(getattr(config, name), bool)]  # hidden, channels
    layers = "".join(f", {name} {getattr(config, name)!r}" for name in own)
    raise ConfigError(_too_large(f"The model (model.kind {config.kind}{layers}, code_size {config.code_size}, "
                                 f"samples of shape {tuple(sample_shape)})", *short, copies,
                                 ", ".join(f"model.{name}" for name in ["code_size", *own])))


def check_fits_as(build: Any, copies: int, what: str, smaller: str) -> None:
    """Refuse, in one line, the module ``build()`` returns (``what`` names it) when ``copies`` copies of its
    parameters exceed the free memory; ``smaller`` names the settings that size it."""
    short = _shortfall(build, copies)
    if short is not None:
        raise ConfigError(_too_large(what, *short, copies, smaller))


def _shortfall(build: Any, copies: int) -> tuple[int, int] | None:
    """(bytes needed, bytes free) when ``copies`` copies of the parameters of ``build()`` exceed the free
    memory; None when they fit, or when the free memory is unknown."""
    from aekit.data.memory import available_memory

    available = available_memory()
    if available is None:
        return None
    need = parameter_bytes(build) * copies
    return (need, available) if need > available else None


def _too_large(what: str, need: int, available: int, copies: int, smaller: str) -> str:
    return (f"{what} needs about {_gb(need)} of memory to {'train' if copies > 2 else 'use'} "
            f"({need // (copies * 4):,} parameters, {copies} copies), but {_gb(available)} is free. Make it smaller "
            f"({smaller}).")


def _gb(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"
