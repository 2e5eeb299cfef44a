"""The architecture's config: what every encoder shares, and one registered subclass per encoder kind.

A model section stays flat in YAML (``model: {kind: conv, channels: [32, 64], code_size: 30}``):
:func:`aekit.config.from_dict` asks the section's class for :meth:`ModelConfig.config_class`, which
reads ``kind`` and returns that kind's registered config, so each kind declares only its own keys
and ``to_dict`` writes only them. A new encoder is one file in :mod:`aekit.models.encoders`::

    @register("encoder", "mlp")
    @dataclass
    class MLPConfig(ModelConfig):
        kind: str = kind_param("mlp")                     # its registered name is its default kind
        hidden: list = param([512], SequenceOf(SIZE), "widths of the hidden layers")

        example: ClassVar = {"hidden": [8, 5]}           # small settings and sample shapes it builds,
        example_shapes: ClassVar = ((12,), (1, 5, 7))    # for the contract tests

        @property
        def hidden_layers(self) -> int: ...               # layers followed by `activation` (for `affine`)

        def build(self, sample_shape): ...                # -> (encoder with body and head, decoder)
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from aekit.config import param
from aekit.errors import ConfigError
from aekit.params import SIZE, AnyOf, InstanceOf, Options, check
from aekit.registry import available, get

logger = logging.getLogger(__name__)



def kind_param(name: str) -> Any:
    """The ``kind`` field of an encoder's config, whose default is the name it registers under."""
    return param(name, InstanceOf(str), "encoder family (mlp, conv or a registered one); each has keys of its own")


@dataclass
class ModelConfig:
    """What every encoder shares: which kind, the code's size, the activations and how the output is read.

    Build a kind's own subclass (``MLPConfig(hidden=[256])``, ``ConvConfig(channels=[8])``), or let the kind's
    name choose it: ``ModelConfig.of_kind("conv", channels=[8])`` and ``from_dict(ModelConfig, {"kind": "conv",
    "channels": [8]})`` are ConvConfigs. ``ModelConfig(...)`` itself is refused: it is no architecture.
    """

    kind: str = kind_param("mlp")
    code_size: Any = param("auto", AnyOf(Options(("auto",)), SIZE),
                           "size k of the code h (k < d undercomplete, k > d overcomplete); auto: min(32, d/4)")
    activation: str = param("relu", InstanceOf(str), "activation of hidden layers (a registered activation)")
    code_activation: str = param("linear", InstanceOf(str), "activation of the code h, e.g. 'sigmoid' for codes in (0, 1)")
    variational: bool = param(
        False, InstanceOf(bool),
        "Gaussian code head h ~ N(mu, sigma^2) with a KL penalty (a VAE, Kingma & Welling 2014)",
    )
    output: str = param(
        "auto", Options(("auto", "sigmoid", "identity")),
        "'sigmoid' for data in [0, 1] (BCE on logits), 'identity' otherwise; 'auto' picks from the data",
    )

    # What each kind declares for the contract tests: small settings of its own fields and the sample
    # shapes (first the smallest) it builds for; every registered kind is built and trained from them.
    example: ClassVar[Mapping[str, Any]] = {}
    example_shapes: ClassVar[tuple[tuple[int, ...], ...]] = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> ModelConfig:
        if cls is ModelConfig:  # what every kind shares is no architecture of its own
            raise TypeError("ModelConfig holds what every encoder kind shares; build a kind's config: "
                            "MLPConfig(...), ConvConfig(...), or ModelConfig.of_kind('conv', ...) for a kind named "
                            "at run time.")
        return super().__new__(cls)

    @classmethod
    def of_kind(cls, kind: str = "mlp", **settings: Any) -> ModelConfig:
        """The config of the kind ``kind`` names, with ``settings``, as a YAML section reads: ``of_kind('conv',
        channels=[8])`` is a ConvConfig; a key only another kind takes is refused naming that kind. The values
        are checked when the model is built (:func:`aekit.config.validate`)."""
        return cls.config_class({"kind": kind, **settings})(kind=kind, **settings)

    @classmethod
    def config_class(cls, data: Mapping[str, Any], prefix: str = "") -> type[ModelConfig]:
        """The config class of the kind ``data`` names (the hook :func:`aekit.config.from_dict` calls).

        A key that only another kind takes is refused here, naming the kind it belongs to and the keys
        this kind takes; keys no kind takes are left to ``from_dict``'s unknown-key message."""
        declared = next(f for f in dataclasses.fields(cls) if f.name == "kind")  # kind_param: its default, its constraint
        kind = data.get("kind", declared.default)
        check(prefix + "kind", kind, declared.metadata["constraint"])
        chosen = _lookup("encoder", kind, "kind")
        if not (isinstance(chosen, type) and issubclass(chosen, ModelConfig)):
            raise ConfigError(f"encoder {kind!r} is registered as {chosen!r}, which is not a ModelConfig subclass; "
                              f"an encoder registers its config class (see aekit.models.encoders).")
        own = field_names(chosen)
        for key in data:
            if key in own:
                continue
            owners = [name for name in available("encoder") if key in field_names(get("encoder", name))]
            if owners:
                kinds = " or ".join(repr(name) for name in owners)
                raise ConfigError(
                    f"The key {prefix + key!r} belongs to kind {kinds}; kind {kind!r} takes "
                    f"{', '.join(prefix + name for name in own)}. Remove {prefix + key!r}, or set "
                    f"{prefix}kind: {owners[0]}."
                )
        return chosen

    @classmethod
    def config_variants(cls) -> dict[str, type[ModelConfig]]:
        """Every kind's config class by its name (``--help-config`` lists each one's own keys)."""
        return {name: get("encoder", name) for name in available("encoder")}

    @property
    def hidden_layers(self) -> int:
        """How many layers followed by ``activation`` lie between the input and the code head (per kind)."""
        raise NotImplementedError(f"{type(self).__name__} does not say how many hidden layers it has")

    @property
    def affine(self) -> bool:
        """True when encoder and decoder are affine maps (a linear autoencoder): linear (or no) hidden
        activations, a linear code, an identity output and a deterministic code."""
        return (not self.variational and self.output == "identity" and self.code_activation == "linear"
                and (self.activation == "linear" or self.hidden_layers == 0))

    def build(self, sample_shape: tuple[int, ...]) -> tuple[Any, Any]:
        """(encoder, decoder) for samples of ``sample_shape``: the encoder has a ``body`` (features, (B, m))
        and a ``head`` (a :class:`~aekit.models.encoder.CodeHead`, (B, m) -> (B, k)); the decoder maps
        (B, k) to raw outputs (B, *sample_shape)."""
        raise NotImplementedError(f"{type(self).__name__} does not build an encoder")

    def check(self) -> None:
        """Cross-field checks, run by :func:`aekit.config.validate` after the per-field ones."""
        for name in ("activation", "code_activation"):
            _lookup("activation", getattr(self, name), name)
        registered = _lookup("encoder", self.kind, "kind")
        if registered is not type(self):
            mine = [name for name in available("encoder") if get("encoder", name) is type(self)]
            build = (f"{registered.__name__}, or from_dict(ModelConfig, {{'kind': {self.kind!r}, ...}})"
                     if isinstance(registered, type) else "its registered config")
            raise ConfigError(
                f"{type(self).__name__} is the config of "
                f"{'kind ' + repr(mine[0]) if mine else 'no registered kind'}; got kind {self.kind!r}. "
                f"Build {build}."
            )
        if self.variational and self.code_activation != "linear":
            raise ConfigError(
                f"A variational model's code is a Gaussian sample around an unconstrained mean mu, so the "
                f"'code_activation' parameter of ModelConfig must be 'linear' with variational: true. Got "
                f"{self.code_activation!r} instead. Set code_activation: linear, or variational: false."
            )


def field_names(config: Any) -> list[str]:
    """The keys a config class (or instance) takes, in order."""
    return [f.name for f in dataclasses.fields(config)]


def own_fields(config: Any) -> list[str]:
    """The keys a kind adds to what every encoder shares (``['hidden', 'tied']`` for mlp)."""
    shared = set(field_names(ModelConfig))
    return [name for name in field_names(config) if name not in shared]


def _lookup(kind: str, name: str, parameter: str) -> Any:
    """``registry.get`` whose error also names the config parameter that holds the name."""
    try:
        return get(kind, name)
    except ConfigError as error:
        raise ConfigError(f"{error} (parameter {parameter!r} of ModelConfig)") from None


# -- settings given for every kind at once ------------------------------------------------------------
def settings_for(kind: str, settings: Mapping[str, Any], defaults: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """The entries of ``settings`` that ``kind`` takes, from parameters that exist for every kind at once
    (an estimator's ``hidden``, ``channels``, ...); one another kind takes, set away from its entry in
    ``defaults``, is a ConfigError naming the parameter."""
    own = set(field_names(_lookup("encoder", kind, "kind")))
    for name, value in settings.items():
        if name not in own and _differs(value, defaults.get(name)):
            owners = [k for k in available("encoder") if name in field_names(get("encoder", k))]
            raise ConfigError(
                f"The {name!r} parameter of {owner} applies to kind {' or '.join(map(repr, owners))}, not to "
                f"kind={kind!r}, which takes {', '.join(own_fields(get('encoder', kind))) or 'no settings of its own'}. "
                f"Leave {name} at its default ({defaults.get(name)!r}), or set kind={owners[0]!r}."
            )
    return {name: value for name, value in settings.items() if name in own}


def _differs(value: Any, default: Any) -> bool:
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return list(value) != list(default)
    return value != default


# -- automatic choices ------------------------------------------------------------------------------------
AUTO_CODE_MAX = 32  # code_size: auto is a quarter of the input's dimension, at most this, at least 2


def auto_code_size(sample_shape: Sequence[int]) -> int:
    """``code_size: auto``: min(32, d // 4), at least 2 — undercomplete, and small enough that a
    nonlinear code has something to beat (PCA with 32 of 64 digit pixels is nearly lossless)."""
    return min(AUTO_CODE_MAX, max(2, math.prod(sample_shape) // 4))


def resolve_config(config: ModelConfig, sample_shape: Sequence[int]) -> ModelConfig:
    """``config`` with its automatic choices made for data of ``sample_shape`` (and logged)."""
    if config.code_size != "auto":
        return config
    k = auto_code_size(sample_shape)
    logger.info("model.code_size=auto: %d for samples of %d values (min(%d, d // 4))", k,
                math.prod(sample_shape), AUTO_CODE_MAX)
    return dataclasses.replace(config, code_size=k)
