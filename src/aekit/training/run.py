"""A run: one config, trained end to end into a self-describing run folder.

``train(config)`` makes one; ``resume(run_dir)`` continues one. The config is
:mod:`aekit.training.run_config`, the folder's layout and its readers (``load_run``, ``SavedRun.prepared_splits``)
are :mod:`aekit.training.run_folder`; this module assembles the pieces (data, model, objectives,
corruption, trainer) and runs them.

Under torchrun every process runs the same function: all load the data and build the model, train
together (:mod:`aekit.training.distributed`), and only rank 0 touches the run folder — it creates and
locks it, writes config.yaml (with a ``distributed`` section: processes, batch per process, global
batch), metrics, weights and summary, and reads config.yaml and the checkpoint of a resumed run for
the others. An error rank 0 meets there is raised by every process.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit import config as cfg
from aekit.data import Dataset
from aekit.data.corruption import Compose
from aekit.data.preparation import PreparedSplits, Rescaling, prepare_splits
from aekit.errors import ConfigError
from aekit.io import atomic_write_text, folder_lock, write_yaml
from aekit.models.autoencoder import AutoencoderModule, build_model
from aekit.models.config import resolve_config
from aekit.models.pca_start import choose_start, start_at_pca
from aekit.models.serialization import save_model
from aekit.objectives import choose_reconstruction
from aekit.registry import get
from aekit.training import distributed
from aekit.training.distributed import Distributed
from aekit.training.layerwise import Stage, build_stages, pretrain
from aekit.training.precision import placement
from aekit.training.progress import epoch_line
from aekit.training.run_config import RunConfig, make_config
from aekit.training.run_folder import (
    check_new_run_folder,
    new_default_folder,
    read_config_data,
    read_preprocessing,
    remove_stale_writes,
    write_metrics,
)
from aekit.training.train_config import choose_batch_size
from aekit.training.trainer import Trainer

logger = logging.getLogger(__name__)


# -- building the pieces of a run ----------------------------------------------------------------
@dataclass
class RunParts:
    """What a run trains with, built once by :func:`prepare`: its config (automatic choices resolved), its data
    split and rescaled, the model (seeded), the objectives, the corruption and the layer-wise stages."""

    config: RunConfig
    data: PreparedSplits
    model: AutoencoderModule
    objectives: list[Any]
    corruption: Compose | None
    stages: list[Stage]  # the layer-wise stages (none unless layerwise.enabled)


def resolve_data_choices(config: RunConfig, rescaling: Rescaling | None | str = "fit"
                         ) -> tuple[RunConfig, PreparedSplits]:
    """The data parts (split, and rescaled as ``data.rescale`` says, or with the ``rescaling`` a run saved),
    and the config with ``data.rescale`` and ``loss.reconstruction`` resolved from them (``auto``: standardised
    squared error for a table, cross-entropy for data in [0, 1]), ``train.batch_size`` (auto: 128, smaller for a
    small table) and ``train.start`` (auto: at PCA for a table the model can start there, else random): what
    config.yaml records. The values resolved are chosen by code among the allowed ones, so the config is not
    checked again."""
    data = prepare_splits(config.data, rescaling)
    streamed = not isinstance(data.train_x, np.ndarray) and data.splits.train.is_streamed
    x_train = None if streamed else (data.train_x if isinstance(data.train_x, np.ndarray) else data.train_x.array())
    recon = choose_reconstruction(config.loss.reconstruction, x_train)
    batch = choose_batch_size(config.train.batch_size, len(data.splits.train), table=data.rescale == "standard")
    if (recon, data.rescale, batch) != (config.loss.reconstruction, config.data.rescale, config.train.batch_size):
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, rescale=data.rescale),
                                     loss=dataclasses.replace(config.loss, reconstruction=recon),
                                     train=dataclasses.replace(config.train, batch_size=batch))
    model_config = model_config_of(config, data.splits.train.sample_shape)
    start = choose_start(config.train.start, data.rescale == "standard" and not config.layerwise.enabled, model_config,
                         data.splits.train.sample_shape, len(data.splits.train))
    if start != config.train.start:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, start=start))
    return config, data


def model_config_of(config: RunConfig, sample_shape: tuple[int, ...]) -> Any:
    """The model's config for samples of ``sample_shape`` (automatic sizes resolved) with ``model.output: auto``
    set to the output its (resolved) reconstruction term expects; an output that term cannot use is refused."""
    output = get("objective", config.loss.reconstruction).output
    model_config = resolve_config(config.model, sample_shape)
    if model_config.output == "auto":
        return dataclasses.replace(model_config, output=output)
    if output == "sigmoid" and model_config.output != "sigmoid":
        raise ConfigError(f"loss.reconstruction: {config.loss.reconstruction} needs model.output: sigmoid (or auto); "
                          f"got {model_config.output}.")
    return model_config


def prepare(config: RunConfig, rescaling: Rescaling | None | str = "fit") -> RunParts:
    """Load and split the data, fit preprocessing (or take the ``rescaling`` a run saved), resolve the automatic
    choices, build the model (seeded), and build the objectives, the corruption and the layer-wise stages: once
    for the run, which passes them down."""
    config, data = resolve_data_choices(config, rescaling)
    splits = data.splits
    objectives = config.objectives()
    model_config = model_config_of(config, splits.train.sample_shape)
    stages = []
    if config.layerwise.enabled:  # built here, so that a bad stage fails before the folder exists
        stages = build_stages(model_config, splits.train.sample_shape, config.layerwise,
                              build_objectives=lambda recon, penalties: config.objectives(penalties, reconstruction=recon),
                              build_corruption=config.corruptor)
    torch.manual_seed(config.seed)
    model = build_model(model_config, splits.train.sample_shape)
    if config.train.start == "pca":  # no random draw: a resumed run builds the same model
        start_at_pca(model, data.arrays()[0])
    return RunParts(config, data, model, objectives, config.corruptor(), stages)


def default_name(config: RunConfig, code_size: int | str | None = None) -> str:
    """``<data>-<kind>-<code size>-<time>``; ``code_size`` is the resolved one when the config says auto."""
    data = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(config.data.name).stem or config.data.name)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{data}-{config.model.kind}-{code_size or config.model.code_size}-{stamp}"


@dataclass
class TrainingOutcome:
    """What :func:`train` and :func:`resume` return: the run folder, the trained model, the epoch history, the
    test metrics of the final weights and why training stopped."""

    run_dir: Path
    model: AutoencoderModule
    history: list[dict[str, Any]]
    test: dict[str, float]
    interrupted: bool = False
    stop_reason: str | None = None  # a key of aekit.training.trainer.STOP_REASONS
    best_epoch: int = 0
    stop_text: str = ""  # why a converged run stopped, in words (Trainer.convergence_text)
    main_process: bool = True  # rank 0 under torchrun (or the only process): the one that prints and writes


def _execute(run_dir: Path, parts: RunParts, trainer: Trainer, on_epoch: Callable | None,
             verbose: bool = False) -> TrainingOutcome:
    def epoch_done(record: dict[str, Any]) -> None:  # rank 0 only (the trainer calls it there)
        write_metrics(run_dir, trainer.history)
        if verbose:
            print(epoch_line(record, parts.config.train), flush=True)
        if on_epoch is not None:
            on_epoch(record)

    main = trainer.dist.is_main
    trainer.on_epoch = epoch_done
    try:
        trainer.fit(parts.data.train_x, parts.data.val_x)
    except KeyboardInterrupt:
        if main:
            save_model(trainer.model, run_dir)
        return TrainingOutcome(run_dir, trainer.model, trainer.history, {}, interrupted=True,
                         stop_reason="interrupted", best_epoch=trainer.best_epoch, main_process=main)
    if main:
        save_model(trainer.model, run_dir)
    test = trainer.evaluate(parts.data.test_x) if len(parts.data.splits.test) else {}  # every process: collective
    stop_text = trainer.convergence_text() if trainer.stop_reason == "converged" else ""
    if not main:
        return TrainingOutcome(run_dir, trainer.model, trainer.history, test, stop_reason=trainer.stop_reason,
                         best_epoch=trainer.best_epoch, stop_text=stop_text, main_process=False)
    summary = {
        "epochs": trainer.epoch,
        "best_epoch": trainer.best_epoch,
        "stopped_early": trainer.stopped_early,
        "stop_reason": trainer.stop_reason,
        "max_epochs": parts.config.train.total_epochs,
        "test": test,
        "n_train": len(parts.data.splits.train),
        "n_val": len(parts.data.splits.val),
        "n_test": len(parts.data.splits.test),
        "train_seconds": round(sum(r["seconds"] for r in trainer.history), 3),
    }
    if trainer.dist.enabled:
        summary["processes"] = trainer.dist.world_size
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2))
    return TrainingOutcome(run_dir, trainer.model, trainer.history, test, stop_reason=trainer.stop_reason,
                     best_epoch=trainer.best_epoch, stop_text=stop_text)


def _trainer(parts: RunParts, run_dir: Path, progress: bool) -> Trainer:
    c = parts.config
    return Trainer(parts.model, parts.objectives, c.train, corruption=parts.corruption, seed=c.seed,
                   checkpoint=run_dir / "checkpoint.pt", progress=progress, run_config=run_identity(c))


def distributed_section(group: Distributed, config: RunConfig) -> dict[str, Any]:
    """What config.yaml records of a run of several processes (nothing for one process)."""
    if not group.enabled:
        return {}
    return {"processes": group.world_size, "batch_size_per_process": config.train.batch_size,
            "global_batch_size": group.world_size * config.train.batch_size, "backend": group.backend}


def _write_config(run_dir: Path, config: RunConfig, group: Distributed) -> None:
    data = cfg.to_dict(config)
    if group.enabled:  # read back by run_folder.read_config_data, which sets it aside
        data["distributed"] = distributed_section(group, config)
    write_yaml(data, run_dir / "config.yaml")


def train(config: RunConfig, *, on_epoch: Callable | None = None, progress: bool = False, verbose: bool = False,
          run_dir: str | Path | None = None) -> TrainingOutcome:
    """Train ``config`` into a new run directory (``config.out/config.name``): ``on_epoch(record)`` after each
    epoch, a progress bar with ``progress``, and one line per epoch on stdout with ``verbose``
    (:func:`aekit.training.progress.epoch_line`)."""
    group = distributed.setup(config.train.device)
    placement(config.train, group, quiet=True)  # a device or precision this machine lacks: refused before the folder exists
    parts = prepare(config)
    config = parts.config  # data.rescale and loss.reconstruction resolved
    named = run_dir is not None or config.name is not None
    if run_dir is None:
        run_dir = Path(config.out) / (config.name or default_name(config, parts.model.config.code_size))
    with ExitStack() as stack:
        def claim() -> str:
            if named:
                check_new_run_folder(run_dir)
                run_dir.mkdir(parents=True, exist_ok=True)
                folder = run_dir
            else:  # the default name holds the time: runs started in the same second take -2, -3, ...
                folder = new_default_folder(run_dir)
            stack.enter_context(folder_lock(folder))  # one process writes a run folder; a second one is told who holds it
            check_new_run_folder(folder)  # again, now that it is ours: another process may have filled it
            _write_config(folder, config, group)
            if parts.data.preprocessing is not None:
                atomic_write_text(folder / "preprocessing.json", json.dumps(parts.data.preprocessing.to_json()))
            return str(folder)

        run_dir = Path(group.on_main(claim))  # rank 0's folder, on every process
        if config.layerwise.enabled:
            _pretrain_layerwise(parts, run_dir)
        return _execute(run_dir, parts, _trainer(parts, run_dir, progress), on_epoch, verbose)


def _pretrain_layerwise(parts: RunParts, run_dir: Path) -> None:
    """Greedy stages first (each stage's metrics in ``layerwise/stage_<i>.jsonl``), then end to end."""
    c = parts.config

    def keep(i: int, history: list[dict[str, Any]]) -> None:
        if not distributed.is_main_process():  # under torchrun every process trains the stages, rank 0 writes
            return
        (run_dir / "layerwise").mkdir(exist_ok=True)
        write_metrics(run_dir / "layerwise", history, name=f"stage_{i + 1}.jsonl")

    x = parts.data.train_x.array() if isinstance(parts.data.train_x, Dataset) else parts.data.train_x
    x_val = parts.data.val_x.array() if isinstance(parts.data.val_x, Dataset) else parts.data.val_x
    deep, _ = pretrain(parts.model.config, parts.model.sample_shape, x, x_val, c.train, c.layerwise,
                       parts.stages, seed=c.seed, on_stage=keep)
    parts.model.load_state_dict(deep.state_dict())


# what a resume may change: the optimiser's settings (a smaller lr after the loss became NaN), never the
# model, the data or the objectives the checkpoint was trained with
RESUMABLE_KEYS = ("train.lr", "train.weight_decay", "train.momentum", "train.clip_grad")
# what a checkpoint's record of its run leaves out: those, the epoch budget (--epochs), where the run lives,
# and where the weights started (the checkpoint holds where they are)
UNRECORDED_KEYS = (*RESUMABLE_KEYS, "train.epochs", "train.max_epochs", "train.start", "name", "out")


def run_identity(config: RunConfig) -> dict[str, Any]:
    """The resolved config less :data:`UNRECORDED_KEYS`: every checkpoint records it (and its digest), and a
    resume refuses a checkpoint whose record differs, naming the first setting that does."""
    data = cfg.to_dict(config)
    for key in UNRECORDED_KEYS:
        section, _, name = key.rpartition(".")
        (data.get(section, {}) if section else data).pop(name, None)
    return data


def resume(run_dir: str | Path, *, epochs: int | None = None, overrides: list[str] | tuple[str, ...] = (),
           on_epoch: Callable | None = None, progress: bool = False, verbose: bool = False) -> TrainingOutcome:
    """Continue a run from its checkpoint, optionally to a new total of ``epochs`` (for ``epochs: auto``,
    a new budget ``max_epochs``: a run that stopped on its budget goes on until it converges), and with
    new optimiser settings (``overrides`` of :data:`RESUMABLE_KEYS`, recorded in ``config.yaml``).

    Every rule of a resume is here: which keys may change, which key ``epochs`` sets, that the total is
    not below what was trained; the config.yaml is read once (by rank 0, holding the folder's lock) and
    the config built once from it and the changes. ``on_epoch``, ``progress`` and ``verbose`` as for
    :func:`train`."""
    run_dir = Path(run_dir)
    for item in overrides:
        key = item.partition("=")[0].strip().lstrip("-")
        if key not in RESUMABLE_KEYS:
            raise ConfigError(f"--resume continues a run with its own config; only --epochs and the optimiser "
                              f"settings ({', '.join(RESUMABLE_KEYS)}) may change. Got --set {item!r}; train a new "
                              f"run for other changes.")
    group = distributed.setup()
    with ExitStack() as stack:
        def claim() -> dict[str, Any]:
            if not (run_dir / "config.yaml").is_file():
                raise ConfigError(f"{str(run_dir)!r} is not a run folder (no config.yaml).")
            stack.enter_context(folder_lock(run_dir))
            return read_config_data(run_dir)

        return _resume(run_dir, group.on_main(claim), group, epochs, list(overrides), on_epoch, progress, verbose)


def _epochs_change(data: dict[str, Any], epochs: int) -> str:
    """``--epochs`` as the key it sets in the recorded config ``data``: the budget ``train.max_epochs`` of a
    run with ``epochs: auto``, else ``train.epochs`` (config.yaml writes every key; auto is the default)."""
    train = data.get("train")
    recorded = train.get("epochs", "auto") if isinstance(train, dict) else "auto"
    return f"train.{'max_epochs' if recorded == 'auto' else 'epochs'}={epochs}"


def _resume(run_dir: Path, data: dict[str, Any], group: Distributed, epochs: int | None, overrides: list[str],
            on_epoch: Callable | None, progress: bool, verbose: bool) -> TrainingOutcome:
    """Continue the run whose config.yaml holds ``data`` (read by rank 0, which holds the folder's lock)."""
    recorded = data.pop("distributed", None) or {}
    changes = [*overrides, *([_epochs_change(data, epochs)] if epochs is not None else [])]
    config = make_config(data, changes, source=f"{str(run_dir / 'config.yaml')!r}")
    parts = prepare(config, read_preprocessing(run_dir, config.data.rescale))  # the rescaling it trained with

    def look() -> bool:
        remove_stale_writes(run_dir)  # a write cut by kill -9: no one else writes here (we hold the lock)
        return (run_dir / "checkpoint.pt").exists()

    checkpoint = run_dir / "checkpoint.pt"
    trainer = _trainer(parts, run_dir, progress) if group.on_main(look) else None
    if trainer is not None:
        trainer.load_checkpoint(checkpoint)  # refuses another run's checkpoint: another model, seed or config
        if epochs is not None and epochs < trainer.epoch:  # config.yaml and summary.json would disagree
            raise ConfigError(f"--epochs {epochs} is fewer than the {trainer.epoch} epochs {str(run_dir)!r} has "
                              f"already trained; give a larger total (e.g. --epochs {2 * trainer.epoch}), or use "
                              f"the run as it is.")
    if trainer is not None and overrides:
        trainer.apply_optimiser_settings()
        logger.info("resuming %s with %s", run_dir, ", ".join(overrides))
    # recorded: config.yaml is what the run trains with from here on (and with how many processes)
    if (changes or recorded != distributed_section(group, config)) and group.is_main:
        _write_config(run_dir, config, group)
    if trainer is None:  # stopped before its first epoch ended (or during layer-wise stages): every step is seeded, so redo it
        logger.info("%s has no checkpoint yet: the run starts again from the beginning", run_dir)
        if config.layerwise.enabled:
            _pretrain_layerwise(parts, run_dir)
        trainer = _trainer(parts, run_dir, progress)
    return _execute(run_dir, parts, trainer, on_epoch, verbose)


__all__ = ["train", "resume", "prepare", "RunParts", "TrainingOutcome", "default_name", "resolve_data_choices", "RESUMABLE_KEYS",
           "UNRECORDED_KEYS", "run_identity"]
