"""Reconstruction terms of the autoencoder loss L = |g(f(x~)) - x|^2 + regularisation.

Scale, the same for every term in aekit: a **sum over the dimensions of one sample, averaged over
the batch** — so the numbers are per-image (nats for cross-entropy) and do not depend on the batch
size. The target is always the clean ``x``, even when the model was fed a corrupted ``x_tilde``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aekit.config import param, validate
from aekit.data.preparation import in_unit_interval
from aekit.errors import ConfigError, DataError
from aekit.params import Interval
from aekit.registry import get, register

_WEIGHT = Interval(float, 0, None)
logger = logging.getLogger(__name__)


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


def choose_reconstruction(loss: str, x_train: np.ndarray | None, *, python: bool = False) -> str:
    """The reconstruction term for ``loss`` on training rows ``x_train`` (as the model sees them, rescaled):
    ``auto`` is cross-entropy (``bce``) when they lie in [0, 1] and squared error (``mse``) otherwise; a
    term whose decoder output is a sigmoid (cross-entropy) on data outside [0, 1] is refused, saying what
    to set. The one decision for ``aekit train`` (``loss.reconstruction``, ``data.rescale``) and the
    estimators (``loss``, ``rescale``; ``python=True`` words the advice that way). ``x_train`` None: data
    streamed from disk, not scanned (``auto`` is then ``bce``, for the images such data are). Logged."""
    loss_name, rescale_name = ("loss", "rescale") if python else ("loss.reconstruction", "data.rescale")

    def setting(name: str, value: str) -> str:
        return f"{name}={value!r}" if python else f"{name}: {value}"

    if x_train is None:
        inside, low, high = True, 0.0, 1.0
    else:
        inside, low, high = in_unit_interval(x_train)
    if loss == "auto":
        name = "bce" if inside else "mse"
        why = "the training data are in [0, 1]" if inside else (f"the training data are in [{low:.4g}, {high:.4g}], "
                                                               f"outside [0, 1]")
        logger.info("%s: auto: %s, so the reconstruction loss is %r", loss_name, why, name)
        return name
    if get("objective", loss).output == "sigmoid" and not inside:
        raise DataError(
            f"The training data have values in [{low:g}, {high:g}] but cross-entropy ({setting(loss_name, loss)}) "
            f"needs data in [0, 1]. Set {setting(rescale_name, 'minmax')} to rescale them, or "
            f"{setting(loss_name, 'mse')} (or {setting(loss_name, 'auto')}, the default, which chooses it)."
        )
    return loss
