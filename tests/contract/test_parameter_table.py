"""One table of parameter constraints (issue 24): an estimator parameter that is a config field (of
ModelConfig, an encoder kind's config, TrainConfig, DataConfig or LossConfig) carries the dataclass's
constraint and default, so a field is declared once, in its config."""

import dataclasses
import inspect

import pytest

from aekit.data.preparation import DataConfig
from aekit.estimator import Autoencoder, AutoencoderClassifier, AutoencoderOutlierDetector
from aekit.estimator.parameters import encoder_configs
from aekit.models.config import ModelConfig, own_fields
from aekit.training.run_config import LossConfig
from aekit.training.trainer import TrainConfig

# estimator parameters named as a config field but declared on their own, and why
OWN = {
    "kind": "a name checked against the registry at once (a config reads model.kind to choose its class)",
    "activation": "a registered name checked at once (a config checks it in ModelConfig.check)",
    "code_activation": "the same",
    "batch_size": "also 'auto' (about 20 steps an epoch), which a run config does not take",
}
DEFAULTS = {"batch_size": "auto", "device": "cpu"}  # an estimator's own defaults: a small table, this process
RENAMED = {("loss", LossConfig, "reconstruction"), ("rescale", DataConfig, "rescale")}


def _default(field):
    value = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    return list(value) if isinstance(value, (list, tuple)) else value


def _config_fields():
    for cls in (ModelConfig, TrainConfig):
        for field in dataclasses.fields(cls):
            yield field.name, field
    for cls in encoder_configs():
        yield from ((name, cls.__dataclass_fields__[name]) for name in own_fields(cls))
    for name, cls, field_name in RENAMED:
        yield name, next(f for f in dataclasses.fields(cls) if f.name == field_name)


@pytest.mark.parametrize("estimator", [Autoencoder, AutoencoderOutlierDetector, AutoencoderClassifier])
def test_a_parameter_that_is_a_config_field_has_its_constraint_and_default(estimator):
    signature = inspect.signature(estimator).parameters
    assert set(estimator._parameters) == set(signature)  # every parameter is checked by fit
    compared = set()
    for name, field in _config_fields():
        if name not in signature:
            continue
        compared.add(name)
        if name not in OWN:
            assert estimator._parameters[name] == field.metadata["constraint"], name
        default = signature[name].default
        expected = DEFAULTS.get(name, _default(field))
        assert (list(default) if isinstance(default, tuple) else default) == expected, name
    assert {"code_size", "hidden", "channels", "kernel_size", "tied", "epochs", "lr", "loss", "rescale"} <= compared


def test_the_wider_batch_size_still_takes_what_a_config_takes():
    constraint = Autoencoder._parameters["batch_size"]
    assert constraint.accepts("auto") and constraint.accepts(64) and not constraint.accepts(0)
