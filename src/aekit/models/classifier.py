"""A classifier on top of a pretrained encoder: drop the decoder, attach a head, fine-tune.

The lecture's semi-supervised recipe (Hinton & Salakhutdinov, Science 2006; Erhan et al., JMLR 2010
"Why does unsupervised pre-training help deep learning?"): train an autoencoder on all the
(unlabelled) data, keep its encoder f, and learn p(y|x) = softmax(head(f(x))) on the few labels —
first with f frozen, then end to end with a smaller learning rate.

For a variational encoder the code is the posterior mean mu (no sampling when classifying).

A linear probe (``standardize=True``) reads the code, the flattened input or both (``features``)
through the buffers ``shift`` and ``scale`` (codes standardised, input as it is): where the codes do
not help a classifier on few labels, the raw features still can (the choice is made in
:mod:`aekit.training.probe`).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn

from aekit.models.serialization import MODEL_JSON
from aekit.params import InstanceOf, Interval, Options, Registered
from aekit.registry import get
from aekit.schema import Record, check

FEATURES = ("codes", "input", "both")  # what the head reads: h, the flattened x, or [h, x]


class Classifier(nn.Module):
    """logits = head(features(x)) for ``n_classes``; ``head`` is "softmax" (linear) or "mlp" (one hidden
    layer); ``features`` is "codes" (h = f(x)), "input" (x itself) or "both" ([h, x])."""

    def __init__(self, encoder: nn.Module, code_size: int, n_classes: int, head: str = "softmax",
                 head_hidden: int = 128, activation: str = "relu", features: str = "codes",
                 n_inputs: int = 0, standardize: bool = False) -> None:
        super().__init__()
        self.encoder = encoder  # the autoencoder's f: (B, *sample_shape) -> (B, k) or (mu, logvar)
        self.code_size = code_size
        self.n_classes = n_classes
        self.head_kind = head
        self.head_hidden = head_hidden
        self.activation = activation
        self.features = features
        self.n_inputs = n_inputs
        self.standardize = standardize
        width = {"codes": code_size, "input": n_inputs, "both": code_size + n_inputs}[features]
        if standardize:  # a probe's feature scaling (a fine-tuned head reads h as it is)
            self.register_buffer("shift", torch.zeros(width))
            self.register_buffer("scale", torch.ones(width))
        if head == "softmax":
            self.head: nn.Module = nn.Linear(width, n_classes)  # (B, width) -> (B, C)
        else:
            self.head = nn.Sequential(nn.Linear(width, head_hidden), get("activation", activation).module(),
                                      nn.Linear(head_hidden, n_classes))

    @classmethod
    def from_autoencoder(cls, autoencoder: nn.Module, n_classes: int, **head: object) -> Classifier:
        """The autoencoder's encoder (shared, not copied) under a new head; its decoder is not kept."""
        return cls(autoencoder.encoder, autoencoder.config.code_size, n_classes,
                   n_inputs=math.prod(autoencoder.sample_shape), **head)

    def code(self, x: Tensor) -> Tensor:
        h = self.encoder(x)
        return h[0] if isinstance(h, tuple) else h  # a Gaussian head gives (mu, logvar): use mu

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = self.code(x)  # (B, k)
        z = {"codes": h, "input": x.flatten(1)}.get(self.features)
        z = torch.cat([h, x.flatten(1)], dim=1) if z is None else z  # (B, width)
        if self.standardize:
            z = (z - self.shift) / self.scale
        return {"h": h, "class_logits": self.head(z)}  # (B, C)

    def freeze_encoder(self, frozen: bool = True) -> None:
        """Stop (or restart) gradient flow into the encoder; the head always trains."""
        for p in self.encoder.parameters():
            p.requires_grad_(not frozen)


CLASSIFIER_FORMAT = "aekit.classifier/1"
# classifier.json, as save_classifier writes it; the head's sizes are checked against its weights before building
CLASSIFIER_JSON = Record(required={"format": InstanceOf(str), "autoencoder": MODEL_JSON,
                                   "n_classes": Interval(int, 1, 2**24), "head": Options(("softmax", "mlp")),
                                   "head_hidden": Interval(int, 1, 2**24), "activation": Registered("activation")},
                         optional={"features": Options(FEATURES), "standardize": InstanceOf(bool)})


def save_classifier(classifier: Classifier, autoencoder_description: dict, directory: str | Path) -> Path:
    """``classifier.safetensors`` + ``classifier.json`` (the autoencoder's description and the head)."""
    import json

    from safetensors.torch import save_file

    from aekit.io import atomic_write, atomic_write_text

    directory = Path(directory)
    tensors = {name: t.detach().cpu().contiguous() for name, t in classifier.state_dict().items()}
    atomic_write(directory / "classifier.safetensors", lambda tmp: save_file(tensors, tmp))
    description = {"format": CLASSIFIER_FORMAT, "autoencoder": autoencoder_description,
                   "n_classes": classifier.n_classes, "head": classifier.head_kind,
                   "head_hidden": classifier.head_hidden, "activation": classifier.activation,
                   "features": classifier.features, "standardize": classifier.standardize}
    atomic_write_text(directory / "classifier.json", json.dumps(description, indent=2) + "\n")
    return directory


def load_classifier(directory: str | Path) -> Classifier:
    """The classifier saved by :func:`save_classifier`, in eval mode (no pickle)."""
    from aekit.errors import WeightsError
    from aekit.models.serialization import FIX, build_checked, build_described, load_weights, read_description

    directory = Path(directory)
    json_path = directory / "classifier.json"
    if not json_path.is_file():
        raise WeightsError(f"{str(directory)!r} holds no classifier.json; save_classifier writes it.")
    description = check(read_description(json_path, CLASSIFIER_FORMAT), CLASSIFIER_JSON, str(json_path), FIX,
                        WeightsError)

    def build() -> Classifier:
        autoencoder = build_described(description["autoencoder"], json_path)
        return Classifier.from_autoencoder(autoencoder, description["n_classes"], head=description["head"],
                                           head_hidden=description["head_hidden"],
                                           activation=description["activation"],
                                           features=description.get("features", "codes"),
                                           standardize=description.get("standardize", False))

    weights = directory / "classifier.safetensors"
    classifier = build_checked(build, weights, "classifier.json")
    load_weights(classifier, weights, "classifier.json")
    return classifier.eval()
