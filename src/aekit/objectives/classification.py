"""Classification cross-entropy -log p(y|x) for fine-tuning a pretrained encoder with labels.

Used by :mod:`aekit.training.finetune`; needs ``batch["y"]`` (class indices) and the classifier's
``class_logits``. Scale: mean over the batch (one label per sample), in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from aekit.config import param, validate
from aekit.errors import ConfigError
from aekit.objectives.reconstruction import weighted
from aekit.params import Interval
from aekit.registry import register


@register("objective", "classification")
@dataclass
class Classification:
    """-log softmax(logits)[y], averaged over the batch."""

    weight: float = param(1.0, Interval(float, 0, None), "weight of the classification term")

    def __post_init__(self) -> None:
        validate(self)

    def bind(self, model: nn.Module) -> None:
        if not hasattr(model, "head") or not hasattr(model, "n_classes"):
            raise ConfigError("The 'classification' objective needs a classifier (an encoder with a class head), "
                              "e.g. aekit.models.classifier.Classifier; an autoencoder has no class logits.")

    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
        if "y" not in batch:
            raise ConfigError("The 'classification' objective needs labels: pass labels= to Trainer.fit.")
        return {"xent": weighted(self.weight, F.cross_entropy(out["class_logits"], batch["y"]))}
