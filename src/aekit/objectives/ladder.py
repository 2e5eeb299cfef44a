"""The ladder network's cost: cross-entropy on the corrupted path plus a denoising cost per layer.

Rasmus, Valpola, Honkala, Berglund & Raiko, NIPS 2015, Algorithm 1 and eq. (3)::

    C = -log P(y~ = t | x)  +  sum_l lambda_l / n_l * || z(l) - z^(l)_BN ||^2

summed over a batch's labelled rows for the first term and its unlabelled rows for the second, each
averaged over its rows; dividing by the width n_l (a mean over units) is the authors' code, for
which the published weights lambda_l (1000, 10, 0.1, ... from the input up on MNIST) were chosen.
z(l) is the clean path's normalised layer, z^(l)_BN the decoder's reconstruction normalised by the
clean batch statistics (:meth:`aekit.models.ladder.LadderNetwork.ladder`).

Not a registered objective: it reads the paired outputs only a ladder network returns, so no
autoencoder could train with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class LadderCost:
    """``weights``: lambda_0 (the input) ... lambda_L (the top); a weight of 0 drops its term."""

    weights: Sequence[float]

    def __call__(self, batch: dict[str, Tensor], out: dict, model: nn.Module) -> dict[str, Tensor]:
        terms = {"xent": F.cross_entropy(out["class_logits"], batch["y"])}  # -log P(y~ = t | x), batch mean
        for l, weight in enumerate(self.weights):
            z_hat = out["z_hat_bn"][l] if "z_hat_bn" in out else None
            if weight > 0 and z_hat is not None:
                # lambda_l * mean over rows and units of (z(l) - z^(l)_BN)^2
                terms[f"denoise{l}"] = weight * (out["z"][l] - z_hat).pow(2).mean()
        return terms


__all__ = ["LadderCost"]
