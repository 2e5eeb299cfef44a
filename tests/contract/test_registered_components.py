"""Every registered objective and corruption builds from its defaults and trains.

Parametrised over ``aekit.registry.available(...)`` at collection time, so a component written later
is tested without editing this file. Each is built the way a run config builds it
(``build_component`` with no fields given), put on the first small model that suits it (``bind``
accepts it and one evaluation gives finite terms), trained for a few full-batch Adam steps on a
fixed tiny batch with the Trainer, and must give a finite loss that falls.

Model candidates, in order: an MLP autoencoder with a linear code; with a sigmoid code (for codes
in (0, 1)); a variational one (when ModelConfig has ``variational``); a classifier on the
autoencoder's encoder (with labels). A penalty is trained beside cross-entropy reconstruction, a
reconstruction term alone, and an objective for a classifier alone.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from aekit.errors import ConfigError
from aekit.models.autoencoder import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.registry import available, get
from aekit.registry import build
from aekit.training.trainer import TrainConfig, Trainer

D, N, STEPS = 12, 32, 8
SMALL = dict(hidden=[16], code_size=4)


def tiny_batch(seed=0):
    """32 rank-3 samples in [0, 1] with 3 classes: one fixed full batch."""
    rng = np.random.default_rng(seed)
    x = (rng.random((N, 3)) @ rng.random((3, D)) / 3).astype(np.float32)
    return x, np.arange(N) % 3


def _autoencoder(output: str, shape: tuple[int, ...] = (D,), **settings):
    def make():
        torch.manual_seed(0)
        return build_model(ModelConfig(**SMALL, output=output, **settings), shape)
    return make


def _classifier():
    from aekit.models.classifier import Classifier

    torch.manual_seed(0)
    return Classifier.from_autoencoder(_autoencoder("sigmoid")(), n_classes=3)


def candidates(component):
    """(description, model factory, base objectives, needs labels), in the order they are tried."""
    output = getattr(component, "output", None)  # a reconstruction term says which decoder output it reads
    base = [] if output is not None else [CrossEntropy()]
    output = output or "sigmoid"
    yield "linear code", _autoencoder(output), base, False
    yield "sigmoid code", _autoencoder(output, code_activation="sigmoid"), base, False
    if "variational" in {f.name for f in dataclasses.fields(ModelConfig)}:
        yield "variational", _autoencoder(output, variational=True), base, False
    yield "classifier", _classifier, [], True


def suitable_setup(component, x, y):
    """The first candidate that accepts ``component``: bind passes and one evaluation is finite."""
    refusals = []
    for description, make, base, labelled in candidates(component):
        model = make()
        labels = y if labelled else None
        try:
            trainer = Trainer(model, [*base, component], TrainConfig(epochs=STEPS, batch_size=N, lr=1e-2), seed=0)
            terms = trainer.evaluate(x, labels=labels) if labelled else trainer.evaluate(x)
        except (ConfigError, KeyError) as refusal:
            refusals.append(f"{description}: {refusal!r}")
            continue
        if all(math.isfinite(v) for v in terms.values()):
            return description, trainer, labels
        refusals.append(f"{description}: non-finite terms {terms}")
    pytest.fail("No candidate model suits this component:\n" + "\n".join(refusals))


def test_the_known_components_are_registered():
    assert {"bce", "mse", "l1", "kl_sparsity"} <= set(available("objective"))
    assert {"gaussian", "masking", "salt_and_pepper"} <= set(available("corruption"))


@pytest.mark.parametrize("name", available("objective"))
def test_every_objective_builds_from_defaults_and_its_loss_falls(name):
    component = build("objective", name, section="penalties", spec={})
    assert isinstance(component, get("objective", name))
    x, y = tiny_batch()
    description, trainer, labels = suitable_setup(component, x, y)
    history = trainer.fit(x, labels=labels) if labels is not None else trainer.fit(x)
    losses = [record["train"]["loss"] for record in history]  # one full-batch step per epoch
    assert all(math.isfinite(v) for record in history for v in record["train"].values()), history
    assert losses[-1] < losses[0], f"{name} on a {description} model: loss did not fall: {losses}"


@pytest.mark.parametrize("name", available("corruption"))
def test_every_corruption_builds_from_defaults_feeds_the_model_and_its_loss_falls(name):
    corruption = build("corruption", name, section="corruption", spec={})
    assert isinstance(corruption, get("corruption", name))
    x, _ = tiny_batch()
    shape = (1, 3, 4) if getattr(corruption, "needs_images", False) else (D,)  # a shift moves pixels of images
    x = x.reshape(N, *shape)
    model = _autoencoder("sigmoid", shape)()
    fed = []
    model.encoder.register_forward_pre_hook(lambda module, args: fed.append(args[0].detach().clone()))
    trainer = Trainer(model, [CrossEntropy()], TrainConfig(epochs=STEPS, batch_size=N, lr=1e-2),
                      corruption=corruption, seed=0)
    losses = [record["train"]["loss"] for record in trainer.fit(x)]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0], losses
    assert fed[0].shape == (N, *shape) and fed[0].dtype == torch.float32
    clean = torch.from_numpy(x)
    assert all(not torch.equal(inp.sort(0).values, clean.sort(0).values) for inp in fed)  # corrupted every step
    assert not torch.equal(fed[0], fed[1])  # fresh noise each step
