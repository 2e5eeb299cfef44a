"""Reconstruction terms of the autoencoder loss L = |g(f(x~)) - x|^2 + regularisation.

Scale, the same for every term in aekit: a **sum over the dimensions of one sample, averaged over
the batch** — so the numbers are per-image (nats for cross-entropy) and do not depend on the batch
size. The target is always the clean ``x``, even when the model was fed a corrupted ``x_tilde``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aekit.config import param, validate
from aekit.errors import ConfigError, DataError
from aekit.params import Interval
from aekit.registry import register

_WEIGHT = Interval(float, 0, None)


def weighted(weight: float, term: Tensor) -> Tensor:
    """``weight * term``, and ``term`` itself at weight 1: the product is then exactly ``term`` in value
    and gradient, and skipping it saves an op and an autograd node per step (every default weight is 1)."""
    return term if weight == 1 else weight * term


def x_hat_of(out: dict[str, Tensor]) -> Tensor:
    """The reconstruction in data space, from whichever form the model returned."""
    return out["x_hat"] if "x_hat" in out else torch.sigmoid(out["logits"])


@register("objective", "mse")
@dataclass
class SquaredError:
    """Squared error |x_hat - x|^2, summed over dimensions, averaged over the batch."""

    weight: float = param(1.0, _WEIGHT, "weight of the reconstruction term")
    output = "identity"  # the decoder output this loss expects when the config says "auto"

    def __post_init__(self) -> None:
        validate(self)

    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
        x = batch["x"]
        diff = x_hat_of(out) - x  # (B, *sample_shape)
        return {"recon": weighted(self.weight, diff.pow(2).sum()) / x.shape[0]}


@register("objective", "bce")
@dataclass
class CrossEntropy:
    """Bernoulli cross-entropy -sum[x log x_hat + (1-x) log(1-x_hat)] from logits, in nats per sample.

    Computed from the decoder's logits (``binary_cross_entropy_with_logits``): stable for saturated
    units, and faster than a sigmoid followed by ``binary_cross_entropy``. Needs x in [0, 1].
    """

    weight: float = param(1.0, _WEIGHT, "weight of the reconstruction term")
    output = "sigmoid"

    def __post_init__(self) -> None:
        validate(self)

    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
        x = batch["x"]
        if "logits" not in out:
            raise ConfigError(
                "Cross-entropy needs a decoder with a sigmoid output (model.output: sigmoid or auto); "
                "this model's output is linear. Use loss.reconstruction: mse, or model.output: sigmoid."
            )
        if out["logits"].shape != x.shape:  # torch's own ValueError would reach the user as a traceback
            raise DataError(f"Cross-entropy compares the decoder's logits with their target x sample by sample; "
                            f"got logits of shape {tuple(out['logits'].shape)} and x of shape {tuple(x.shape)}.")
        total = F.binary_cross_entropy_with_logits(out["logits"], x, reduction="sum")
        return {"recon": weighted(self.weight, total) / x.shape[0]}


