"""Sparsity penalties on the code h: L1 (Ranzato et al., NIPS 2007; Lee et al., NIPS 2007) and the
KL divergence to a target mean activation rho (Ng, CS294A lecture notes "Sparse autoencoder", 2011).

    l1:           lambda * sum_j |h_j|                                   per sample, mean over the batch
    kl_sparsity:  beta * sum_j KL(rho || rho_hat_j),  rho_hat_j = mean_b h_bj    over the batch

Both read the code ``out["h"]`` the model returned, so either composes with any encoder, any
reconstruction loss and any corruption (a sparse denoising autoencoder is a config, not a class)::

    penalties: {l1: 0.03}                                  # lambda
    penalties: {kl_sparsity: {weight: 3, target: 0.05}}    # beta, rho
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from aekit.config import param, validate
from aekit.errors import ConfigError
from aekit.objectives.reconstruction import weighted
from aekit.params import Interval
from aekit.registry import get, register

logger = logging.getLogger(__name__)

# rho_hat is clamped to [EPS, 1 - EPS] before the logs. A float32 sigmoid returns exactly 1.0 for
# pre-activations above about 17 (and 0.0 below about -100); a unit at that limit on every sample of a
# batch would make log(1 - rho_hat) or log(rho_hat) infinite and the loss NaN. The clamp bounds each
# unit's term (at most 12.9 nats for rho = 0.05) and changes nothing while rho_hat is more than 1e-6
# away from 0 and 1; in float32, 1 - 1e-6 is still below 1. Where it acts, its gradient is 0 — as
# the sigmoid's own gradient already is at saturation.
EPS = 1e-6


@register("objective", "l1")
@dataclass
class L1:
    """lambda * sum_j |h_j|, summed over the k code units of a sample, averaged over the batch.

    Any code activation works. With a ReLU code the penalty drives units to exactly 0 (the
    subgradient of |h| pushes positive codes down at a constant rate); with a linear code it acts
    on both signs.
    """

    # what it does, for whoever asks (the report's sparsity figure): it makes the code sparse
    capabilities = frozenset({"sparse_code"})

    # 0.03: chosen on MNIST-5k's validation split for a 784-200-784 ReLU-code model with cross-entropy,
    # as the largest lambda of {0.01, 0.03, 0.1, 0.3, 1} that costs at most 10 % of validation
    # reconstruction; there 51 % of the code entries fall below 0.01 (38 % without the penalty) for
    # +2.3 nats per image. No test split was involved (docs/provenance.md). The right scale depends on
    # the code's magnitude and the loss's: tune it.
    weight: float = param(0.03, Interval(float, 0.0, None), "lambda, the weight of sum_j |h_j| per sample")

    def __post_init__(self) -> None:
        validate(self)

    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
        h = out["h"]  # (B, k)
        penalty = h.abs().sum() / h.shape[0]  # (1/B) sum_b sum_j |h_bj|
        return {"l1": weighted(self.weight, penalty)}


def kl_bernoulli(rho: float, rho_hat: Tensor) -> Tensor:
    """KL(rho || rho_hat_j) between Bernoulli means, elementwise over the units j (Ng, CS294A, p. 15):

        KL(rho || rho_hat_j) = rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j))

    0 when rho_hat_j = rho, positive otherwise. ``rho_hat`` is clamped to [EPS, 1 - EPS] (see EPS).
    """
    rho_hat = rho_hat.clamp(EPS, 1.0 - EPS)  # (k,)
    return rho * torch.log(rho / rho_hat) + (1.0 - rho) * torch.log((1.0 - rho) / (1.0 - rho_hat))


def _code_activation(model: nn.Module) -> str | None:
    """The registered name of the activation that produces the code h, when the model says."""
    head = getattr(getattr(model, "encoder", None), "head", None)
    name = getattr(head, "activation", None)  # CodeHead keeps the registered name
    if isinstance(name, str):
        return name
    name = getattr(getattr(model, "config", None), "code_activation", None)
    return name if isinstance(name, str) else None


@register("objective", "kl_sparsity")
@dataclass
class KLSparsity:
    """beta * sum_j KL(rho || rho_hat_j) with rho_hat_j the mean activation of code unit j over the batch.

    Ng's sparse autoencoder: each code unit should be active (near 1) on a fraction rho of the inputs
    and inactive (near 0) on the rest. rho_hat_j is a Bernoulli mean, so the code must lie in (0, 1):
    ``bind`` refuses any other code activation. The term is a statistic of the whole batch, not a mean
    of per-sample terms; small batches estimate rho_hat_j noisily (Ng averages over the training set).
    The gradient d KL / d rho_hat_j = -rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j) is positive when
    rho_hat_j > rho and negative when rho_hat_j < rho, so descent moves every unit's mean toward rho.
    """

    # it makes the code sparse, aiming each unit's mean activation at ``target`` (the report's sparsity
    # figure draws the target it finds there)
    capabilities = frozenset({"sparse_code"})

    weight: float = param(3.0, Interval(float, 0.0, None), "beta, the weight of the summed KL divergences (Ng uses 3)")
    target: float = param(
        0.05, Interval(float, 0.0, 1.0, closed="neither"), "rho, the target mean activation of each code unit"
    )

    def __post_init__(self) -> None:
        validate(self)

    def bind(self, model: nn.Module) -> None:
        """Refuse a model whose code is not in (0, 1): rho_hat_j must be a mean of Bernoulli probabilities."""
        if getattr(getattr(model, "config", None), "variational", False):
            raise ConfigError(
                "The 'kl_sparsity' penalty needs code activations in (0, 1), but a variational model's "
                "code is a Gaussian sample. Use model.variational: false with model.code_activation: sigmoid, "
                "or the l1 penalty."
            )
        name = _code_activation(model)
        if name is None:
            logger.warning(
                "kl_sparsity cannot tell this model's code activation; it assumes codes in (0, 1). "
                "Codes outside (0, 1) are clamped, and the penalty is then meaningless."
            )
            return
        activation = get("activation", name)
        low, high = activation.range
        if not activation.unit_interval:
            raise ConfigError(
                f"The 'kl_sparsity' penalty needs code activations in (0, 1) (rho_hat_j is the mean "
                f"activation of a unit, compared with the target rho as a Bernoulli mean); the code "
                f"activation {name!r} has range ({low:g}, {high:g}). Set model.code_activation: sigmoid, "
                f"or use the l1 penalty."
            )

    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
        h = out["h"]  # (B, k)
        rho_hat = h.mean(dim=0)  # (k,)  rho_hat_j = (1/B) sum_b h_bj
        penalty = kl_bernoulli(self.target, rho_hat).sum()  # sum_j KL(rho || rho_hat_j)
        return {"kl_sparsity": weighted(self.weight, penalty)}


__all__ = ["L1", "KLSparsity", "kl_bernoulli", "EPS"]
