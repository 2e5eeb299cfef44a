"""The run config: every section of a run's ``config.yaml``, checked as one, and how it is assembled.

    defaults  <  --preset NAME  <  config.yaml  <  --set key=value

Each section is the config dataclass of the component that reads it (``data``: DataConfig,
``model``: ModelConfig, ``train``: TrainConfig, ``layerwise``: LayerwiseConfig); ``penalties`` and
``corruption`` are open mappings ``{registered name: weight or {field: value}}``, each entry checked
by the component it names. ``plugins`` records your own modules that register components (a
regulariser in ``my_penalty.py``, usable as ``penalties: {my_penalty: 0.1}``); you import them
(``--plugin my_penalty``), a config only names them: reading one never imports anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aekit import config as cfg
from aekit.data.corruption import Compose, build_corruption
from aekit.data.preparation import DataConfig
from aekit.errors import ConfigError
from aekit.models.config import ModelConfig
from aekit.objectives import build_objectives, resolve_penalties
from aekit.params import SEED, AnyOf, InstanceOf, NonEmptyStr, Registered, SequenceOf
from aekit.registry import ModuleName, require_plugins
from aekit.training.layerwise import LayerwiseConfig
from aekit.training.trainer import TrainConfig

param = cfg.param


@dataclass
class LossConfig:
    """The reconstruction term of the loss (penalties are added by their own sections)."""

    reconstruction: str = param("auto", Registered("objective", having="output", extra=("auto",)),
                                "auto (bce for data in [0, 1], else mse), bce (cross-entropy, needs data in [0, 1]) "
                                "or mse (or a registered reconstruction)")


@dataclass
class RunConfig:
    """Everything a run needs; ``config.yaml`` of a run directory is this, fully resolved."""

    seed: int = param(0, SEED, "one seed for initialisation, batch order and noise")
    name: Any = param(None, AnyOf(None, InstanceOf(str)), "run folder name (default: data-kind-code-time)")
    out: str = param("runs", NonEmptyStr(), "folder that holds run folders")
    plugins: list = param([], SequenceOf(ModuleName()),
                          "your modules that register components, imported with --plugin (recorded, never imported "
                          "from a file)")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig.of_kind)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    layerwise: LayerwiseConfig = field(default_factory=LayerwiseConfig)
    corruption: dict = param({}, InstanceOf(dict), "denoising: {name: level} for training inputs, e.g. {masking: 0.25}")
    penalties: dict = param({}, InstanceOf(dict), "regularisers: {name: weight} or {name: {field: value}}, e.g. {l1: 1e-3}")

    def check(self) -> None:
        """Cross-section checks: every penalty and corruption spec (main and per layer-wise stage) is built
        once here, by its own component, which checks its fields; the run builds what it trains with once,
        in :func:`aekit.training.run.prepare`."""
        check_run_name(self.name)
        # resolved here, so that config.yaml lists the KL term (beta = 1) a variational run trains with
        self.penalties = resolve_penalties(self.penalties, variational=self.model.variational)
        # loss.reconstruction: auto is decided by the data (aekit.training.run.prepare); the penalties are
        # checked here beside squared error, which any of them accepts
        recon = "mse" if self.loss.reconstruction == "auto" else None
        self.objectives(reconstruction=recon)
        self.corruptor()
        for i, stage in enumerate(self.layerwise.penalties or []):
            self.objectives(stage, reconstruction=recon, section=f"layerwise.penalties[{i}]")
        for i, stage in enumerate(self.layerwise.corruption or []):
            self.corruptor(stage, section=f"layerwise.corruption[{i}]")

    def objectives(self, penalties: dict | None = None, *, reconstruction: str | None = None,
                   section: str = "penalties") -> list[Any]:
        """The reconstruction term and the penalties (``self.penalties`` unless given), built."""
        recon = reconstruction or self.loss.reconstruction
        if recon == "auto":
            raise ConfigError("loss.reconstruction: auto is decided from the training data; resolve it first "
                              "(aekit.training.run.resolve_data_choices) before building the objectives.")
        spec = self.penalties if penalties is None else penalties
        return build_objectives(recon, spec, variational=self.model.variational, section=section)

    def corruptor(self, corruption: dict | None = None, *, section: str = "corruption") -> Compose | None:
        """The corruption (``self.corruption`` unless given) as one callable, built."""
        return build_corruption(self.corruption if corruption is None else corruption, section=section)


def check_run_name(name: str | None) -> None:
    """A run name is one folder inside ``out``: never a path that leaves it, nor ``out`` itself."""
    if name is None:
        return
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ConfigError(
            f"The 'name' parameter (--name) must be one folder name inside 'out' (--out), without '/' and not "
            f"'.' or '..'. Got {name!r} instead; choose the parent folder with --out."
        )


PRESETS = Path(__file__).resolve().parent.parent / "presets"  # named configs shipped with aekit


def presets() -> list[str]:
    """The names ``--preset`` accepts (``aekit/presets/<name>.yaml``)."""
    return sorted(path.stem for path in PRESETS.glob("*.yaml"))


def preset_path(name: str) -> Path:
    if name not in presets():
        raise ConfigError(f"Unknown preset {name!r}. Available presets: {', '.join(presets())}.")
    return PRESETS / f"{name}.yaml"


def make_config(path: str | Path | Mapping[str, Any] | None = None, overrides: list[str] | tuple[str, ...] = (), *,
                preset: str | None = None, plugins: list[str] | tuple[str, ...] = (),
                source: str | None = None) -> RunConfig:
    """Defaults, then the preset, then the YAML file (or a mapping already read, from ``source``), then
    ``key=value`` overrides; checked as a whole.

    ``plugins`` are modules the caller has imported (``registry.load_plugins``), added to the config's own
    list so that config.yaml records them. Every plugin the config names must be imported already: a file
    names modules, it never imports them (:func:`aekit.registry.require_plugins`)."""
    layers = [cfg.read_yaml(preset_path(preset))] if preset is not None else []
    if path is not None:
        layers.append(path if isinstance(path, Mapping) else cfg.read_yaml(path))
    data = cfg.layered(*layers, overrides=overrides)
    named = data.get("plugins") or []
    if isinstance(named, (list, tuple)):
        data["plugins"] = [*named, *(p for p in plugins if p not in named)]
        where = source or (f"config file {str(path)!r}" if isinstance(path, (str, Path)) else "the config ('plugins')")
        require_plugins(data["plugins"], where)  # before any section names what they register (model.kind, ...)
    return cfg.from_dict(RunConfig, data)


def config_keys(obj: Any = None, prefix: str = "") -> list[tuple[str, Any, str]]:
    """Every settable key with its default and description (for ``aekit train --help-config``)."""
    obj = obj if obj is not None else RunConfig()
    rows = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            rows += _section_keys(value, f"{prefix}{f.name}.")
        else:
            rows.append((prefix + f.name, value, f.metadata.get("doc", "")))
    return rows


def _section_keys(section: Any, prefix: str) -> list[tuple[str, Any, str]]:
    """A section's keys; one whose keys depend on a choice (``model.kind``, ``config_variants``) lists the
    keys every choice shares, then each choice's own as ``model.hidden (mlp)``."""
    variants = getattr(type(section), "config_variants", None)
    if not callable(variants):
        return config_keys(section, prefix)
    choices = {name: cls() for name, cls in variants().items()}
    names = [{f.name for f in dataclasses.fields(choice)} for choice in choices.values()]
    shared = {f.name for f in dataclasses.fields(section) if all(f.name in n for n in names)}
    rows = [row for row in config_keys(section, prefix) if row[0][len(prefix):] in shared]
    for name, choice in choices.items():
        rows += [(f"{key} ({name})", default, doc) for key, default, doc in config_keys(choice, prefix)
                 if key[len(prefix):] not in shared]
    return rows


__all__ = ["RunConfig", "LossConfig", "DataConfig", "make_config", "config_keys", "presets", "check_run_name"]
