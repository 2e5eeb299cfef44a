"""The estimators' parameter table, taken from the config dataclasses that declare each setting.

An estimator parameter that is a config field (``code_size`` of ModelConfig, ``hidden`` of MLPConfig,
``lr`` of TrainConfig, ...) carries that field's constraint, read from the dataclass, so the command
line and Python say the same thing about the same value; only what an estimator takes differently is
declared here (names are checked against the registry at once).
The encoder settings reach the model config generically (:func:`encoder_settings`): a setting of an
encoder kind is whatever field that kind's config declares. tests/contract/test_parameter_table.py
checks the table and the estimators' defaults against the dataclasses.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np

from aekit.data.preparation import DataConfig
from aekit.models.config import ModelConfig, field_names, own_fields, settings_for
from aekit.params import SEED, AnyOf, InstanceOf, Interval, Registered
from aekit.registry import available, get
from aekit.training.run_config import LossConfig
from aekit.training.trainer import TrainConfig


class _Noise:
    """A constraint: None, a (name, level) pair, or a dict {name: level or {field: value}}."""

    def accepts(self, value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, dict):
            return all(isinstance(name, str) for name in value)
        return isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], str)

    def __str__(self) -> str:
        return "None, a (name, level) pair such as ('masking', 0.25), or a dict {name: level or {field: value}}"


class _Penalties:
    """A constraint: None or a dict {registered penalty: weight or {field: value}}; each entry's fields
    are checked by the objective itself when it is built."""

    @staticmethod
    def names() -> list[str]:
        """Registered objectives that are not reconstructions (those declare the ``output`` they expect)."""
        return [n for n in available("objective") if not hasattr(get("objective", n), "output")]

    def accepts(self, value: Any) -> bool:
        if value is None:
            return True
        return isinstance(value, dict) and all(isinstance(name, str) and name in self.names() for name in value)

    def __str__(self) -> str:
        return ("None or a dict {name: weight or {field: value}} whose names are registered penalties among {"
                + ", ".join(repr(n) for n in self.names()) + "}, e.g. {'l1': 1e-4}")


def constraint_of(config: type, name: str) -> Any:
    """The constraint ``config`` (a config dataclass) declares for its field ``name``."""
    return next(f.metadata["constraint"] for f in dataclasses.fields(config) if f.name == name)


def encoder_configs() -> list[type]:
    """The config class of every registered encoder kind."""
    return [get("encoder", name) for name in available("encoder")]


def _encoder_field(name: str) -> Any:
    """The constraint of an encoder kind's own field ``name`` (the first kind that declares it)."""
    return next(constraint_of(cls, name) for cls in encoder_configs() if name in own_fields(cls))


POSITIVE_INT = Interval(int, 1, None)

# Every constructor parameter and what it may hold; fit checks them all before anything else. A config
# field's constraint is the dataclass's; the others are the estimators' own.
PARAMETERS: dict[str, Any] = {
    "code_size": constraint_of(ModelConfig, "code_size"),
    "hidden": _encoder_field("hidden"),
    "kind": Registered("encoder"),  # a config reads model.kind to choose its section's class; here it is a name
    "channels": _encoder_field("channels"),
    "kernel_size": _encoder_field("kernel_size"),
    "activation": Registered("activation"),  # a config checks these names in ModelConfig.check
    "code_activation": Registered("activation"),
    "tied": _encoder_field("tied"),
    "variational": constraint_of(ModelConfig, "variational"),
    "loss": constraint_of(LossConfig, "reconstruction"),
    "rescale": constraint_of(DataConfig, "rescale"),  # auto, standard, minmax or none, fitted on the training rows
    "noise": _Noise(),  # names and levels are checked by the corruptions themselves
    "penalties": _Penalties(),  # and fields by the objectives
    "epochs": constraint_of(TrainConfig, "epochs"),
    "max_epochs": constraint_of(TrainConfig, "max_epochs"),
    "tol": constraint_of(TrainConfig, "tol"),
    "n_iter_no_change": POSITIVE_INT,  # train.patience, which an estimator always sets with epochs="auto"
    "early_stopping": InstanceOf(bool),
    "batch_size": constraint_of(TrainConfig, "batch_size"),  # auto, or an int
    "lr": constraint_of(TrainConfig, "lr"),
    "optimizer": constraint_of(TrainConfig, "optimizer"),
    "weight_decay": constraint_of(TrainConfig, "weight_decay"),
    "validation_fraction": Interval(float, 0, 1, closed="left"),
    "random_state": AnyOf(None, SEED, InstanceOf(np.random.RandomState)),
    "verbose": AnyOf(InstanceOf(bool), Interval(int, 0, None)),
    "start": constraint_of(TrainConfig, "start"),  # auto is pca for a table when the model can, else random
    "device": constraint_of(TrainConfig, "device"),  # auto is the best available (CUDA, then MPS, then the CPU)
}


def _plain(value: Any) -> Any:
    """Plain Python numbers (a grid search may hand numpy ints), so model.json stays JSON."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def encoder_settings(estimator: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """The settings of the estimator's ``kind`` among its parameters: every encoder kind's own fields that
    the estimator takes; one that another kind takes, set away from its default, is refused by name
    (:func:`aekit.models.config.settings_for`)."""
    shared = set(field_names(ModelConfig))
    names = {name for cls in encoder_configs() for name in field_names(cls) if name not in shared}
    settings = {name: _plain(getattr(estimator, name)) for name in defaults if name in names}
    return settings_for(estimator.kind, settings, defaults, type(estimator).__name__)


__all__ = ["PARAMETERS", "POSITIVE_INT", "constraint_of", "encoder_settings"]
