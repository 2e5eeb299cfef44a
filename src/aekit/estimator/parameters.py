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


def encoder_fields() -> dict[str, tuple[dataclasses.Field, list[str]]]:
    """Every encoder kind's own fields (``hidden`` and ``tied`` of mlp, ``channels`` and ``kernel_size`` of
    conv, ...), each with the field (of the first kind that declares it) and the kinds that take it: the
    estimators' encoder settings, derived from the configs so a new field is declared once."""
    fields: dict[str, tuple[dataclasses.Field, list[str]]] = {}
    for name in available("encoder"):
        cls = get("encoder", name)
        for field_name in own_fields(cls):
            fields.setdefault(field_name, (cls.__dataclass_fields__[field_name], []))[1].append(name)
    return fields


def _field_default(field: dataclasses.Field) -> Any:
    """A field's default as an estimator parameter holds it: lists as tuples (scikit-learn's defaults are immutable)."""
    value = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    return tuple(value) if isinstance(value, list) else value


def takes_encoder_settings(cls: type) -> type:
    """Give an estimator every encoder kind's own fields as keyword parameters, derived from the configs.

    The class's ``__init__`` declares its own parameters and gathers the encoder settings in ``**encoder``;
    its signature (what ``inspect.signature``, ``get_params``, ``clone`` and ``help`` read) gets one
    keyword parameter per field of :func:`encoder_fields` after ``kind``, with the config's default, and a
    name it does not list is a TypeError as for any Python function. Its docstring's ``**encoder`` entry
    gets one line per field (the config's own description). Kinds registered after the estimators are
    imported (plugins) are not added."""
    import inspect

    written = inspect.signature(cls.__init__)
    own = [p for p in written.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    at = next(i for i, p in enumerate(own) if p.name == "kind") + 1
    fields = encoder_fields()
    derived = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=_field_default(field))
               for name, (field, _) in fields.items()]
    signature = written.replace(parameters=[*own[:at], *derived, *own[at:]])
    init = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)  # an unknown name: a TypeError, as Python's own
        bound.apply_defaults()
        init(**bound.arguments)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__qualname__, __init__.__doc__ = init.__qualname__, init.__doc__
    cls.__init__ = __init__
    lines = (cls.__doc__ or "").split("\n")
    entry = next((i for i, line in enumerate(lines) if line.startswith("    **encoder")), None)
    if entry is not None:  # after the entry's description (its lines indented deeper)
        end = next(i for i in range(entry + 1, len(lines) + 1) if i == len(lines) or not lines[i].startswith("     "))
        lines[end:end] = [""] + [f"        - ``{name}={_field_default(field)!r}`` (kind {' or '.join(map(repr, kinds))}): "
                          f"{field.metadata.get('doc', '')}." for name, (field, kinds) in fields.items()]
        cls.__doc__ = "\n".join(lines)
    return cls


POSITIVE_INT = Interval(int, 1, None)

# Every constructor parameter and what it may hold; fit checks them all before anything else. A config
# field's constraint is the dataclass's; the others are the estimators' own.
PARAMETERS: dict[str, Any] = {
    "code_size": constraint_of(ModelConfig, "code_size"),
    "kind": Registered("encoder"),  # a config reads model.kind to choose its section's class; here it is a name
    # hidden, tied, channels, kernel_size, ...: every encoder kind's own fields, with their configs' constraints
    **{name: field.metadata["constraint"] for name, (field, _) in encoder_fields().items()},
    "activation": Registered("activation"),  # a config checks these names in ModelConfig.check
    "code_activation": Registered("activation"),
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


__all__ = ["PARAMETERS", "POSITIVE_INT", "constraint_of", "encoder_fields", "encoder_settings", "takes_encoder_settings"]
