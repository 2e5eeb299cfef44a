"""Every registered encoder, objective and corruption builds from its defaults and trains.

Parametrised over ``aekit.registry.available(...)`` at collection time, so a component written later
is tested without editing this file. An encoder is built from the small example its config declares
(``example`` settings, ``example_shapes``), trained, saved and loaded back. An objective or a
corruption is built the way a run config builds it (``registry.build`` with no fields given), put on
the first small model of each encoder kind that suits it (``bind`` accepts it and one evaluation gives
finite terms), trained for a few full-batch Adam steps on a fixed tiny batch with the Trainer, and
must give a finite loss that falls.

Model candidates, in order, for each encoder kind: an autoencoder with a linear code; with a sigmoid
code (for codes in (0, 1)); a variational one; a classifier on the autoencoder's encoder (with
labels). A penalty is trained beside cross-entropy reconstruction, a reconstruction term alone, and
an objective for a classifier alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aekit.config import build, from_dict, to_dict
from aekit.errors import ConfigError
from aekit.models import ModelConfig, build_model, load_model, save_model
from aekit.objectives import CrossEntropy
from aekit.registry import available, get
from aekit.training.trainer import TrainConfig, Trainer

N, STEPS = 32, 8
ENCODERS = available("encoder")


def tiny_batch(shape, seed=0):
    """32 rank-3 samples of ``shape`` in [0, 1] with 3 classes: one fixed full batch."""
    rng = np.random.default_rng(seed)
    d = math.prod(shape)
    x = (rng.random((N, 3)) @ rng.random((3, d)) / 3).astype(np.float32)
    return x.reshape(N, *shape), np.arange(N) % 3


def example_shape(kind, images=False):
    """The first sample shape the kind's config declares it builds (an image (C, H, W) if asked)."""
    shapes = get("encoder", kind).example_shapes
    return next((s for s in shapes if len(s) == 3), None) if images else shapes[0]


def _autoencoder(kind: str, output: str, shape: tuple[int, ...] | None = None, **settings):
    def make():
        torch.manual_seed(0)
        config = {"kind": kind, **get("encoder", kind).example, "code_size": 4, "output": output, **settings}
        return build_model(config, shape or example_shape(kind))
    return make


def _classifier(kind: str):
    def make():
        from aekit.models.classifier import Classifier

        return Classifier.from_autoencoder(_autoencoder(kind, "sigmoid")(), n_classes=3)
    return make


def candidates(component, kind):
    """(description, model factory, base objectives, needs labels), in the order they are tried."""
    output = getattr(component, "output", None)  # a reconstruction term says which decoder output it reads
    base = [] if output is not None else [CrossEntropy()]
    output = output or "sigmoid"
    yield "linear code", _autoencoder(kind, output), base, False
    yield "sigmoid code", _autoencoder(kind, output, code_activation="sigmoid"), base, False
    yield "variational", _autoencoder(kind, output, variational=True), base, False
    yield "classifier", _classifier(kind), [], True


def suitable_setup(component, kind, x, y):
    """The first candidate of ``kind`` that accepts ``component``: bind passes and one evaluation is finite."""
    refusals = []
    for description, make, base, labelled in candidates(component, kind):
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
    assert {"mlp", "conv"} <= set(ENCODERS)


@pytest.mark.parametrize("kind", ENCODERS)
def test_every_encoder_builds_its_examples_trains_and_loads_back(kind, tmp_path):
    cls = get("encoder", kind)
    assert issubclass(cls, ModelConfig) and cls.example_shapes, f"{kind}: declare example_shapes on its config"
    for i, shape in enumerate(cls.example_shapes):
        model = _autoencoder(kind, "sigmoid", shape)()
        assert type(model.config) is cls
        assert from_dict(ModelConfig, to_dict(model.config)) == model.config  # its YAML section builds it back
        x, _ = tiny_batch(shape)
        trainer = Trainer(model, [CrossEntropy()], TrainConfig(epochs=STEPS, batch_size=N, lr=1e-2), seed=0)
        losses = [record["train"]["loss"] for record in trainer.fit(x)]
        assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0], (shape, losses)
        save_model(model.eval(), tmp_path / str(i))
        loaded = load_model(tmp_path / str(i))
        assert type(loaded.config) is cls and loaded.describe() == model.describe()
        with torch.no_grad():
            assert torch.equal(loaded.encode(torch.from_numpy(x)), model.encode(torch.from_numpy(x)))


@pytest.mark.parametrize("kind", ENCODERS)
@pytest.mark.parametrize("name", available("objective"))
def test_every_objective_builds_from_defaults_and_its_loss_falls(name, kind):
    component = build("objective", name, section="penalties", spec={})
    assert isinstance(component, get("objective", name))
    x, y = tiny_batch(example_shape(kind))
    description, trainer, labels = suitable_setup(component, kind, x, y)
    history = trainer.fit(x, labels=labels) if labels is not None else trainer.fit(x)
    losses = [record["train"]["loss"] for record in history]  # one full-batch step per epoch
    assert all(math.isfinite(v) for record in history for v in record["train"].values()), history
    assert losses[-1] < losses[0], f"{name} on a {description} {kind} model: loss did not fall: {losses}"


@pytest.mark.parametrize("kind", ENCODERS)
@pytest.mark.parametrize("name", available("corruption"))
def test_every_corruption_builds_from_defaults_feeds_the_model_and_its_loss_falls(name, kind):
    corruption = build("corruption", name, section="corruption", spec={})
    assert isinstance(corruption, get("corruption", name))
    shape = example_shape(kind, images=getattr(corruption, "needs_images", False))  # a shift moves pixels of images
    if shape is None:
        pytest.skip(f"encoder {kind!r} declares no image example shape for {name!r}, which needs images")
    x, _ = tiny_batch(shape)
    model = _autoencoder(kind, "sigmoid", shape)()
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
