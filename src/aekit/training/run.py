"""A run: one config, trained end to end into a self-describing run directory.

    runs/<name>/
      config.yaml         the resolved config (every default written out), seed included
      model.safetensors   weights (no pickle) + model.json, the architecture to rebuild them
      preprocessing.json  the rescaling fitted on the training split, when one was asked for
      metrics.jsonl       one JSON line per epoch: every loss term, train and validation
      checkpoint.pt       the full training state after the last completed epoch (resume)
      summary.json        test-split metrics of the final weights

``train(config)`` makes one; ``resume(run_dir)`` continues one; ``load(run_dir)`` rebuilds the model
in a fresh process.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit import config as cfg
from aekit.data import Dataset, Splits, load_dataset, split_dataset
from aekit.errors import ConfigError, DataError
from aekit.io import LOCK_NAME, atomic_write_text, folder_lock, read_json, read_json_lines
from aekit.models.autoencoder import Autoencoder, ModelConfig, build_model, resolve_config
from aekit.models.batched import map_batches
from aekit.models.serialization import load_model, save_model
from aekit.objectives import RECONSTRUCTIONS
from aekit.params import AnyOf, InstanceOf, Interval, Options
from aekit.registry import get
from aekit.training.layerwise import LayerwiseConfig, pretrain, stage_configs
from aekit.training.trainer import Trainer, TrainConfig

logger = logging.getLogger(__name__)

param = cfg.param


@dataclass
class DataConfig:
    """Which data to train on and how to split it."""

    name: str = param("mnist5k", InstanceOf(str), "a bundled/downloadable data set name or a file/folder path")
    label_column: Any = param(None, AnyOf(None, Interval(int, None, None)), "CSV/npy column holding labels (-1 = last)")
    val_fraction: float = param(0.1, Interval(float, 0, 1, closed="left"), "fraction of the data for validation")
    test_fraction: float = param(0.2, Interval(float, 0, 1, closed="left"), "fraction held out for testing")
    split_seed: int = param(0, Interval(int, 0, None), "seed of the (stratified) split, fixed across runs")
    rescale: str = param("none", Options(("none", "minmax")), "minmax: rescale features to [0, 1] (fitted on train)")
    limit: Any = param(None, AnyOf(None, Interval(int, 1, None)), "use at most this many training rows (quick runs)")

    def check(self) -> None:
        if self.val_fraction + self.test_fraction >= 1:
            raise ConfigError(
                f"data.val_fraction + data.test_fraction must be below 1 to leave training data. "
                f"Got {self.val_fraction} + {self.test_fraction}."
            )


@dataclass
class LossConfig:
    """The reconstruction term of the loss (penalties are added by their own sections)."""

    reconstruction: str = param("bce", Options(RECONSTRUCTIONS), "bce (cross-entropy, needs data in [0, 1]) or mse")


def build_component(kind: str, section: str, name: str, spec: Any) -> Any:
    """The registered ``kind`` called ``name``, configured by ``spec``: a mapping of its fields, or a
    bare number for its first field (an objective's weight, a corruption's level)."""
    import dataclasses

    cls = get(kind, name)
    if not isinstance(spec, dict):
        spec = {dataclasses.fields(cls)[0].name: spec}
    return cfg.from_dict(cls, spec, prefix=f"{section}.{name}.")


def build_corruption(corruption: dict, section: str = "corruption") -> Compose | None:
    """``{name: level or {field: value}}`` as one corruption applying each in turn (None when empty)."""
    parts = [build_component("corruption", section, name, spec) for name, spec in corruption.items()]
    return Compose(parts) if parts else None


class Compose:
    """Corruptions applied one after the other, all drawing from the trainer's generator."""

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for part in self.parts:
            x = part(x, generator)
        return x


@dataclass
class RunConfig:
    """Everything a run needs; ``config.yaml`` of a run directory is this, fully resolved."""

    seed: int = param(0, Interval(int, 0, None), "one seed for initialisation, batch order and noise")
    name: Any = param(None, AnyOf(None, InstanceOf(str)), "run folder name (default: data-kind-code-time)")
    out: str = param("runs", InstanceOf(str), "folder that holds run folders")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    layerwise: LayerwiseConfig = field(default_factory=LayerwiseConfig)
    corruption: dict = param({}, InstanceOf(dict), "denoising: {name: level} for training inputs, e.g. {masking: 0.25}")
    penalties: dict = param({}, InstanceOf(dict), "regularisers: {name: weight} or {name: {field: value}}, e.g. {l1: 1e-3}")

    def check(self) -> None:
        check_run_name(self.name)
        if getattr(self.model, "variational", False) and "kl" not in self.penalties:
            # resolved here, so that config.yaml lists the KL term (beta = 1) the run trains with
            self.penalties = {**self.penalties, "kl": 1.0}
        self.build_penalties()
        self.build_corruption()
        for stage in self.layerwise.penalties or []:
            self.build_penalties(stage)
        for stage in self.layerwise.corruption or []:
            self.build_corruption(stage)

    def build_penalties(self, penalties: dict | None = None) -> list[Any]:
        """The penalty terms; a variational model gets its KL term (beta = 1) unless one is configured."""
        penalties = dict(self.penalties if penalties is None else penalties)
        if getattr(self.model, "variational", False) and "kl" not in penalties:
            penalties["kl"] = 1.0
        return [build_component("objective", "penalties", name, spec) for name, spec in penalties.items()]

    def build_corruption(self, corruption: dict | None = None) -> Compose | None:
        return build_corruption(self.corruption if corruption is None else corruption)


def check_run_name(name: str | None) -> None:
    """A run name is one folder inside ``out``: never a path that leaves it, nor ``out`` itself."""
    if name is None:
        return
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ConfigError(
            f"The 'name' parameter (--name) must be one folder name inside 'out' (--out), without '/' and not "
            f"'.' or '..'. Got {name!r} instead; choose the parent folder with --out."
        )


def check_new_run_folder(run_dir: Path) -> None:
    """Refuse to train into a folder that holds anything: a run (resume it) or files that are not ours."""
    if run_dir.parent.exists() and not run_dir.parent.is_dir():
        raise ConfigError(f"--out {str(run_dir.parent)!r} is a file, not a folder; choose a folder for run folders.")
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise ConfigError(f"Run folder {str(run_dir)!r} is a file, not a folder; choose another --name or --out.")
    if (run_dir / "checkpoint.pt").exists() or (run_dir / "config.yaml").exists():
        raise ConfigError(f"Run folder {str(run_dir)!r} already holds a run. Resume it with "
                          f"'aekit train --resume {run_dir}', or choose another name.")
    if any(p.name != LOCK_NAME for p in run_dir.iterdir()):
        raise ConfigError(f"Folder {str(run_dir)!r} already exists and holds files that are not an aekit run; "
                          f"aekit never writes a run over them. Choose another --name, or empty the folder.")


PRESETS = Path(__file__).resolve().parent.parent / "presets"  # named configs shipped with aekit


def presets() -> list[str]:
    """The names ``--preset`` accepts (``aekit/presets/<name>.yaml``)."""
    return sorted(path.stem for path in PRESETS.glob("*.yaml"))


def preset_path(name: str) -> Path:
    if name not in presets():
        raise ConfigError(f"Unknown preset {name!r}. Available presets: {', '.join(presets())}.")
    return PRESETS / f"{name}.yaml"


def make_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (), *,
                preset: str | None = None) -> RunConfig:
    """Defaults, then the preset, then the YAML file, then ``key=value`` overrides; checked as a whole."""
    data = cfg.read_yaml(preset_path(preset)) if preset is not None else {}
    if path is not None:
        data = cfg.merge(data, cfg.read_yaml(path))
    data = cfg.merge(data, cfg.parse_overrides(overrides))
    return cfg.from_dict(RunConfig, data)


def config_keys(obj: Any = None, prefix: str = "") -> list[tuple[str, Any, str]]:
    """Every settable key with its default and description (for ``aekit train --help-config``)."""
    import dataclasses

    obj = obj if obj is not None else RunConfig()
    rows = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            rows += config_keys(value, f"{prefix}{f.name}.")
        else:
            rows.append((prefix + f.name, value, f.metadata.get("doc", "")))
    return rows


# -- preprocessing -------------------------------------------------------------------------------
@dataclass
class MinMax:
    """Per-feature rescaling to [0, 1], fitted on the training split (constant features map to 0)."""

    low: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> MinMax:
        low, high = x.min(axis=0), x.max(axis=0)
        span = high - low
        return cls(low.astype(np.float32), np.where(span > 0, 1.0 / np.where(span > 0, span, 1), 0).astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.low) * self.scale).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "minmax", "shape": list(self.low.shape), "low": self.low.ravel().tolist(),
                "scale": self.scale.ravel().tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MinMax:
        shape = tuple(data["shape"])
        return cls(np.asarray(data["low"], np.float32).reshape(shape), np.asarray(data["scale"], np.float32).reshape(shape))


def _in_memory(ds: Dataset, pre: MinMax | None) -> Dataset | np.ndarray:
    if pre is None:
        return ds
    return pre.apply(ds.array())


def check_range(x: np.ndarray | Dataset, what: str) -> None:
    """Cross-entropy needs targets in [0, 1]: say so, with the range found and the two fixes."""
    arr = x.array() if isinstance(x, Dataset) else x
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 1:
        raise DataError(
            f"{what} has values in [{low:g}, {high:g}] but cross-entropy (loss.reconstruction: bce) needs "
            f"data in [0, 1]. Set data.rescale: minmax to rescale it, or use loss.reconstruction: mse."
        )


# -- building the pieces of a run ----------------------------------------------------------------
@dataclass
class Prepared:
    config: RunConfig
    splits: Splits
    train_x: Any
    val_x: Any
    test_x: Any
    preprocessing: MinMax | None
    model: Autoencoder
    objectives: list[Any]
    corruption: Compose | None


def _limit(ds: Dataset, n: int | None) -> Dataset:
    return ds if n is None or len(ds) <= n else ds.take(np.arange(n))


def prepare(config: RunConfig) -> Prepared:
    """Load and split the data, fit preprocessing, build the model and objectives (seeded)."""
    ds = load_dataset(config.data.name, label_column=config.data.label_column)
    splits = split_dataset(ds, val_fraction=config.data.val_fraction, test_fraction=config.data.test_fraction,
                           seed=config.data.split_seed)
    limit = config.data.limit
    if limit is not None:
        small = max(1, limit // 4)
        splits = Splits(_limit(splits.train, limit), _limit(splits.val, small), _limit(splits.test, small))
    pre = None
    if config.data.rescale == "minmax":
        if splits.train.is_memmap:
            raise ConfigError("data.rescale: minmax is not available for memory-mapped data; rescale the file first.")
        pre = MinMax.fit(splits.train.array())
    train_x, val_x, test_x = (_in_memory(s, pre) for s in (splits.train, splits.val, splits.test))
    recon_cls = get("objective", config.loss.reconstruction)
    if recon_cls.output == "sigmoid" and not splits.train.is_memmap:
        check_range(train_x, f"The training data ({config.data.name})")
    model_config = resolve_config(config.model, splits.train.sample_shape)
    if model_config.output == "auto":
        import dataclasses

        model_config = dataclasses.replace(model_config, output=recon_cls.output)
    elif recon_cls.output == "sigmoid" and model_config.output != "sigmoid":
        raise ConfigError("loss.reconstruction: bce needs model.output: sigmoid (or auto); got identity.")
    if config.layerwise.enabled:  # fail before anything is written, not after the folder exists
        stage_configs(model_config, splits.train.sample_shape, model_config.output)
    torch.manual_seed(config.seed)
    model = build_model(model_config, splits.train.sample_shape)
    objectives = [recon_cls(), *config.build_penalties()]
    return Prepared(config, splits, train_x, val_x, test_x, pre, model, objectives, config.build_corruption())


def default_name(config: RunConfig, code_size: int | str | None = None) -> str:
    """``<data>-<kind>-<code size>-<time>``; ``code_size`` is the resolved one when the config says auto."""
    data = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(config.data.name).stem or config.data.name)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{data}-{config.model.kind}-{code_size or config.model.code_size}-{stamp}"


def _write_metrics(run_dir: Path, history: list[dict[str, Any]], name: str = "metrics.jsonl") -> None:
    """metrics.jsonl mirrors the checkpoint's history, so a resumed run never duplicates an epoch."""
    lines = []
    for record in history:
        flat = {"epoch": record["epoch"], "lr": record["lr"], "seconds": round(record["seconds"], 4),
                "best_epoch": record["best_epoch"]}
        for split in ("train", "val"):
            for term, value in (record[split] or {}).items():
                flat[f"{split}/{term}"] = value
        lines.append(json.dumps(flat))
    atomic_write_text(run_dir / name, "\n".join(lines) + ("\n" if lines else ""))


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The epoch records of a run folder's ``metrics.jsonl`` (empty when there is none yet)."""
    return read_metrics_file(Path(run_dir) / "metrics.jsonl")


def read_metrics_file(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    return read_json_lines(path, "one JSON object per epoch", "Rebuild it by resuming the run ('aekit train "
                           "--resume RUN': metrics.jsonl mirrors the checkpoint), or delete it.")


@dataclass
class RunResult:
    run_dir: Path
    model: Autoencoder
    history: list[dict[str, Any]]
    test: dict[str, float]
    interrupted: bool = False
    stop_reason: str | None = None  # a key of aekit.training.trainer.STOP_REASONS
    best_epoch: int = 0


def _execute(run_dir: Path, prepared: Prepared, trainer: Trainer, on_epoch: Callable | None) -> RunResult:
    def epoch_done(record: dict[str, Any]) -> None:
        _write_metrics(run_dir, trainer.history)
        if on_epoch is not None:
            on_epoch(record)

    trainer.on_epoch = epoch_done
    try:
        trainer.fit(prepared.train_x, prepared.val_x)
    except KeyboardInterrupt:
        save_model(trainer.model, run_dir)
        return RunResult(run_dir, trainer.model, trainer.history, {}, interrupted=True,
                         stop_reason="interrupted", best_epoch=trainer.best_epoch)
    save_model(trainer.model, run_dir)
    test = trainer.evaluate(prepared.test_x) if len(prepared.splits.test) else {}
    summary = {
        "epochs": trainer.epoch,
        "best_epoch": trainer.best_epoch,
        "stopped_early": trainer.stopped_early,
        "stop_reason": trainer.stop_reason,
        "max_epochs": prepared.config.train.total_epochs,
        "test": test,
        "n_train": len(prepared.splits.train),
        "n_val": len(prepared.splits.val),
        "n_test": len(prepared.splits.test),
        "train_seconds": round(sum(r["seconds"] for r in trainer.history), 3),
    }
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2))
    return RunResult(run_dir, trainer.model, trainer.history, test, stop_reason=trainer.stop_reason,
                     best_epoch=trainer.best_epoch)


def _trainer(prepared: Prepared, run_dir: Path, progress: bool) -> Trainer:
    c = prepared.config
    return Trainer(prepared.model, prepared.objectives, c.train, corruption=prepared.corruption, seed=c.seed,
                   checkpoint=run_dir / "checkpoint.pt", progress=progress)


def train(config: RunConfig, *, on_epoch: Callable | None = None, progress: bool = False,
          run_dir: str | Path | None = None) -> RunResult:
    """Train ``config`` into a new run directory (``config.out/config.name``)."""
    prepared = prepare(config)
    if run_dir is None:
        run_dir = Path(config.out) / (config.name or default_name(config, prepared.model.config.code_size))
    run_dir = Path(run_dir)
    check_new_run_folder(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(run_dir):  # one process writes a run folder; a second one is told who holds it
        check_new_run_folder(run_dir)  # again, now that it is ours: another process may have filled it
        cfg.write_yaml(cfg.to_dict(config), run_dir / "config.yaml")
        if prepared.preprocessing is not None:
            atomic_write_text(run_dir / "preprocessing.json", json.dumps(prepared.preprocessing.to_json()))
        if config.layerwise.enabled:
            _pretrain_layerwise(prepared, run_dir)
        return _execute(run_dir, prepared, _trainer(prepared, run_dir, progress), on_epoch)


def _pretrain_layerwise(prepared: Prepared, run_dir: Path) -> None:
    """Greedy stages first (each stage's metrics in ``layerwise/stage_<i>.jsonl``), then end to end."""
    c = prepared.config

    def objectives(recon: str, penalties: dict | None) -> list[Any]:
        return [get("objective", recon)(), *c.build_penalties(penalties)]

    def keep(i: int, history: list[dict[str, Any]]) -> None:
        (run_dir / "layerwise").mkdir(exist_ok=True)
        _write_metrics(run_dir / "layerwise", history, name=f"stage_{i + 1}.jsonl")

    x = prepared.train_x.array() if isinstance(prepared.train_x, Dataset) else prepared.train_x
    x_val = prepared.val_x.array() if isinstance(prepared.val_x, Dataset) else prepared.val_x
    deep, _ = pretrain(prepared.model.config, prepared.model.sample_shape, x, x_val, c.train, c.layerwise,
                       build_objectives=objectives, build_corruption=c.build_corruption, seed=c.seed, on_stage=keep)
    prepared.model.load_state_dict(deep.state_dict())


# what a resume may change: the optimiser's settings (a smaller lr after the loss became NaN), never the
# model, the data or the objectives the checkpoint was trained with
RESUMABLE_KEYS = ("train.lr", "train.weight_decay", "train.momentum", "train.clip_grad")


def resume(run_dir: str | Path, *, epochs: int | None = None, overrides: list[str] | tuple[str, ...] = (),
           on_epoch: Callable | None = None, progress: bool = False) -> RunResult:
    """Continue a run from its checkpoint, optionally to a new total of ``epochs`` (for ``epochs: auto``,
    a new budget ``max_epochs``: a run that stopped on its budget goes on until it converges), and with
    new optimiser settings (``overrides`` of :data:`RESUMABLE_KEYS`, recorded in ``config.yaml``)."""
    run_dir = Path(run_dir)
    for item in overrides:
        key = item.partition("=")[0].strip().lstrip("-")
        if key not in RESUMABLE_KEYS:
            raise ConfigError(f"--resume continues a run with its own config; only --epochs and the optimiser "
                              f"settings ({', '.join(RESUMABLE_KEYS)}) may change. Got --set {item!r}; train a new "
                              f"run for other changes.")
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a run folder (no config.yaml).")
    with folder_lock(run_dir):
        return _resume(run_dir, epochs, list(overrides), on_epoch, progress)


def _resume(run_dir: Path, epochs: int | None, overrides: list[str], on_epoch: Callable | None,
            progress: bool) -> RunResult:
    config = make_config(run_dir / "config.yaml")
    changes = list(overrides)
    if epochs is not None:
        key = "max_epochs" if config.train.auto else "epochs"
        changes.append(f"train.{key}={epochs}")
    if changes:
        config = make_config(run_dir / "config.yaml", changes)
    prepared = prepare(config)
    for stale in [*run_dir.glob(".*.tmp"), *run_dir.glob("layerwise/.*.tmp")]:  # a write cut by kill -9:
        logger.info("removing %s, left by a write that was cut short", stale)  # no one else writes here (lock)
        stale.unlink(missing_ok=True)
    checkpoint = run_dir / "checkpoint.pt"
    trainer = _trainer(prepared, run_dir, progress) if checkpoint.exists() else None
    if trainer is not None:
        trainer.load_checkpoint(checkpoint)  # refuses another model's checkpoint
        if trainer.seed != config.seed:
            raise ConfigError(f"Checkpoint {str(checkpoint)!r} does not belong to this run: it was trained with seed "
                              f"{trainer.seed!r}, {str(run_dir / 'config.yaml')!r} says {config.seed!r}; restore the "
                              f"run's own checkpoint.pt, or delete it to train the run again from the beginning.")
        if epochs is not None and epochs < trainer.epoch:  # config.yaml and summary.json would disagree
            raise ConfigError(f"--epochs {epochs} is fewer than the {trainer.epoch} epochs {str(run_dir)!r} has "
                              f"already trained; give a larger total (e.g. --epochs {2 * trainer.epoch}), or use "
                              f"the run as it is.")
    if trainer is not None and overrides:
        trainer.apply_optimiser_settings()
        logger.info("resuming %s with %s", run_dir, ", ".join(overrides))
    if changes:  # recorded: config.yaml is what the run trains with from here on
        cfg.write_yaml(cfg.to_dict(config), run_dir / "config.yaml")
    if trainer is None:  # stopped before its first epoch ended (or during layer-wise stages): every step is seeded, so redo it
        logger.info("%s has no checkpoint yet: the run starts again from the beginning", run_dir)
        if config.layerwise.enabled:
            _pretrain_layerwise(prepared, run_dir)
        trainer = _trainer(prepared, run_dir, progress)
    return _execute(run_dir, prepared, trainer, on_epoch)


# -- using a finished run ------------------------------------------------------------------------
@dataclass
class Run:
    """A finished (or interrupted) run read back from its folder."""

    run_dir: Path
    config: RunConfig
    model: Autoencoder
    preprocessing: MinMax | None

    def prepare_input(self, x: np.ndarray) -> np.ndarray:
        """New data as the model saw its training data (same rescaling)."""
        x = np.asarray(x, dtype=np.float32)
        return self.preprocessing.apply(x) if self.preprocessing is not None else x

    def _map(self, x: np.ndarray, fn: Callable) -> np.ndarray:
        return map_batches(fn, self.prepare_input(x), self.model)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self._map(x, self.model.encode)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self._map(x, self.model.reconstruct)


def load_run(run_dir: str | Path) -> Run:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"Run folder {str(run_dir)!r} does not exist.")
    config = make_config(run_dir / "config.yaml")
    model = load_model(run_dir)
    pre_path = run_dir / "preprocessing.json"
    pre = None
    if pre_path.exists():
        fix = "It is written by 'aekit train' (data.rescale: minmax); train the run again to get it back."
        try:
            pre = MinMax.from_json(read_json(pre_path, "the rescaling fitted on the training split", fix))
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, ConfigError):
                raise
            raise ConfigError(f"{str(pre_path)!r} is not a valid rescaling (the 'kind', 'shape', 'low' and 'scale' "
                              f"of MinMax: {type(error).__name__} {error}). {fix}") from None
    return Run(run_dir, config, model, pre)


def load(run_dir: str | Path) -> Autoencoder:
    """The trained model of a run folder, rebuilt from ``model.json`` + ``model.safetensors``."""
    return load_model(Path(run_dir))
