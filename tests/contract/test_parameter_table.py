"""One table of parameter constraints (issue 24): an estimator parameter that is a config field (of
ModelConfig, an encoder kind's config, TrainConfig, DataConfig or LossConfig) carries the dataclass's
constraint and default, so a field is declared once, in its config."""

import dataclasses
import inspect

import pytest

from aekit.data.preparation import DataConfig
from aekit.estimator import Autoencoder, AutoencoderClassifier, AutoencoderOutlierDetector
from aekit.estimator.parameters import encoder_configs, encoder_fields
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


# Config fields an estimator does not take, and why. A field added to ModelConfig or TrainConfig fails the test
# below, naming it, until the estimators take it (a parameter, its default and its line in fit) or it is listed here.
# An encoder kind's own fields (MLPConfig's, ConvConfig's) are never listed: the estimators take them all, derived.
LEFT_OUT = {
    "output": "decided from the loss (sigmoid for cross-entropy), as aekit train decides model.output: auto",
    "patience": "taken as n_iter_no_change, scikit-learn's name",
    "momentum": "the estimators' optimisers are adam (and plain sgd); a run config sets sgd's momentum",
    "schedule": "epochs='auto' halves the learning rate on plateaus (scikit-learn's MLP convention); fixed otherwise",
    "plateau_factor": "the same",
    "step_epochs": "the same",
    "gamma": "the same",
    "restore_best": "always: the estimators keep the best validation epoch",
    "clip_grad": "a run config's setting for unstable runs",
    "precision": "float32: the estimators' outputs are float32 (scikit-learn's preserves_dtype)",
    "eval_batch_size": "the estimators evaluate in batches of EVAL_BATCH",
}


@pytest.mark.parametrize("estimator", [Autoencoder, AutoencoderOutlierDetector, AutoencoderClassifier])
def test_every_config_field_is_a_parameter_or_said_to_be_left_out(estimator):
    signature = inspect.signature(estimator).parameters
    fields = [*encoder_fields(), *(f.name for cls in (ModelConfig, TrainConfig) for f in dataclasses.fields(cls))]
    missing = [name for name in fields if name not in signature and name not in LEFT_OUT]
    assert not missing, (f"{estimator.__name__} takes no parameter {', '.join(missing)}: add it to the estimators "
                         f"(aekit/estimator/) or say in LEFT_OUT why they leave it out")
    assert not set(encoder_fields()) & set(LEFT_OUT)
    assert not [name for name in LEFT_OUT if name in signature]  # a stale entry


def test_an_encoder_field_is_a_parameter_with_its_default_and_documented():
    fields = encoder_fields()
    assert {"hidden", "tied", "channels", "kernel_size"} <= set(fields)
    for estimator in (Autoencoder, AutoencoderOutlierDetector, AutoencoderClassifier):
        estimator_parameters = inspect.signature(estimator).parameters
        for name, (field, _) in fields.items():
            default = _default(field)
            assert estimator_parameters[name].default == (tuple(default) if isinstance(default, list) else default)
            assert estimator._parameters[name] == field.metadata["constraint"]
    for name in fields:
        assert f"- ``{name}=" in Autoencoder.__doc__, name  # one line each, from the config's description
    assert Autoencoder(hidden=(8,)).get_params()["hidden"] == (8,)
    with pytest.raises(TypeError, match="unexpected keyword argument 'hiden'"):
        Autoencoder(hiden=(8,))
