"""The run folder: what a run writes, and the one way to read it back.

    runs/<name>/
      config.yaml         the resolved config (every default written out), seed included; under torchrun
                          also a ``distributed`` section (processes, batch per process, global batch)
      model.safetensors   weights (no pickle) + model.json, the architecture to rebuild them
      preprocessing.json  the rescaling fitted on the training split (data.rescale standard or minmax; auto
                          resolves to one of them, or to none for data in [0, 1], which writes no file)
      metrics.jsonl       one JSON line per epoch: every loss term, train and validation
      checkpoint.pt       the full training state after the last completed epoch (resume), with the config
                          that trained it and its digest: a resume refuses another run's checkpoint
      summary.json        test-split metrics of the final weights

``load_run(run_dir)`` rebuilds the model in a fresh process; ``SavedRun.prepared_splits()`` gives the run's splits
exactly as it trained on them (same rows, same rescaling) — what a report, a fine-tuning or a label
curve reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aekit.data.preparation import (
    MINMAX_JSON,
    PREPROCESSING_JSON,
    STANDARD_JSON,
    PreparedSplits,
    Rescaling,
    prepare_splits,
)
from aekit.errors import ConfigError
from aekit.io import LOCK_NAME, atomic_write_text, read_json, read_json_lines, refuse_links_out
from aekit.models.autoencoder import AutoencoderModule
from aekit.models.batched import map_batches
from aekit.models.serialization import load_model
from aekit.params import AnyOf, InstanceOf, Interval
from aekit.schema import Items, Real, Record, Where, check
from aekit.training.run_config import RunConfig, make_config

logger = logging.getLogger(__name__)

COUNT = Interval(int, 0, None)
# one line of metrics.jsonl (and of layerwise/stage_<i>.jsonl), as write_metrics writes it: every loss term
# under 'train/<term>' and 'val/<term>'
METRICS_RECORD = Record(required={"epoch": Interval(int, 1, None), "lr": Interval(float, 0, None),
                                  "seconds": Interval(float, 0, None), "best_epoch": AnyOf(None, COUNT),
                                  "train/loss": Real()},
                        optional={"phase": InstanceOf(str)}, other=AnyOf(None, Real()))
# summary.json of a run, as run.train writes it (every field optional: older runs hold fewer)
SUMMARY = Record(optional={"epochs": COUNT, "best_epoch": AnyOf(None, COUNT), "stopped_early": InstanceOf(bool),
                           "stop_reason": AnyOf(None, InstanceOf(str)), "max_epochs": COUNT,
                           "test": Record(other=Real()), "n_train": COUNT, "n_val": COUNT, "n_test": COUNT,
                           "train_seconds": Interval(float, 0, None), "processes": Interval(int, 1, None)})


def _text_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _text_keys(v) for k, v in value.items())
    return all(_text_keys(v) for v in value) if isinstance(value, list) else True


# config.yaml of a run: sections and keys are checked by RunConfig; YAML also allows keys that are no text
CONFIG_YAML = Where(None, _text_keys, "a mapping of sections whose keys, at every level, are text")
# summary.json of a classifier fine-tuned from the run (aekit finetune: RUN/finetune-<labels>-<head>/)
FINETUNE_SUMMARY = Record(required={"labels": COUNT, "accuracy": Real(), "error": Real(),
                                    "confusion_matrix": Items(Items(COUNT))},
                          optional={"run": InstanceOf(str), "train_labels": COUNT, "val_labels": COUNT,
                                    "test_size": COUNT, "classes": AnyOf(None, Items(InstanceOf(str)))})


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


def new_default_folder(run_dir: Path, tries: int = 1000) -> Path:
    """Create ``run_dir``, or ``run_dir-2``, ``run_dir-3``, ...: the first name no folder has. ``mkdir`` is
    atomic, so runs started in the same second without ``--name`` (whose default names are equal) each get
    a folder of their own, and none is told to resume another's run."""
    for i in range(1, tries + 1):
        folder = run_dir if i == 1 else run_dir.with_name(f"{run_dir.name}-{i}")
        if folder.exists():
            continue
        check_new_run_folder(folder)  # --out is a folder
        try:
            folder.mkdir(parents=True)
        except FileExistsError:  # another process took this name a moment ago
            continue
        return folder
    raise ConfigError(f"{tries} run folders named {str(run_dir)!r}-N already exist; give this run a --name.")


def remove_stale_writes(run_dir: Path) -> None:
    """Delete the temporary files of writes cut short by kill -9 (only the lock holder writes here)."""
    folders = [run_dir, *([] if (run_dir / "layerwise").is_symlink() else [run_dir / "layerwise"])]  # never out of it
    for stale in [path for folder in folders for path in folder.glob(".*.tmp")]:
        logger.info("removing %s, left by a write that was cut short", stale)
        stale.unlink(missing_ok=True)


def write_metrics(folder: Path, history: list[dict[str, Any]], name: str = "metrics.jsonl") -> None:
    """One JSON line per epoch record of ``history`` (a Trainer's), rewritten whole: metrics.jsonl mirrors
    the checkpoint's history, so a resumed run never duplicates an epoch."""
    lines = []
    for record in history:
        flat = {"epoch": record["epoch"], "lr": record["lr"], "seconds": round(record["seconds"], 4),
                "best_epoch": record["best_epoch"]}
        if "phase" in record:  # fine-tuning: frozen, finetune or scratch
            flat["phase"] = record["phase"]
        for split in ("train", "val"):
            for term, value in (record[split] or {}).items():
                flat[f"{split}/{term}"] = value
        lines.append(json.dumps(flat))
    atomic_write_text(folder / name, "\n".join(lines) + ("\n" if lines else ""))


METRICS_FIX = "Rebuild it by resuming the run ('aekit train --resume RUN': metrics.jsonl mirrors the checkpoint), or delete it."
SUMMARY_FIX = "Resume the run ('aekit train --resume RUN') to write it again, or delete it."


def read_metrics(run_dir: str | Path, fix: str = METRICS_FIX) -> list[dict[str, Any]]:
    """The epoch records of a run folder's ``metrics.jsonl`` (empty when there is none yet); ``fix`` says
    what to do with a bad one (a ladder run has no checkpoint to resume)."""
    return read_metrics_file(Path(run_dir) / "metrics.jsonl", fix)


def read_metrics_file(path: str | Path, fix: str = METRICS_FIX) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    return read_json_lines(path, "one JSON object per epoch", fix, METRICS_RECORD)


def read_summary(run_dir: Path, fix: str = SUMMARY_FIX) -> dict[str, Any]:
    """``summary.json`` (the test metrics of the final weights); empty while the run has not finished;
    ``fix`` says what to do with a bad one."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return {}
    return read_json(path, "the test metrics of the run", fix, schema=SUMMARY)


def read_finetuned(folder: Path) -> tuple[dict[str, Any], str] | None:
    """The summary and head kind of the classifier fine-tuned into ``folder`` (a subfolder of a run), or None
    when ``folder/summary.json`` is another kind of summary (it has no confusion matrix)."""
    from aekit.models.classifier import CLASSIFIER_JSON

    fix = "Fine-tune the run again ('aekit finetune RUN'), or delete that folder."
    summary = read_json(folder / "summary.json", "the test metrics of a fine-tuned classifier", fix)
    if "confusion_matrix" not in summary:
        return None
    summary = check(summary, FINETUNE_SUMMARY, repr(str(folder / "summary.json")), fix)
    head = folder / "classifier.json"
    if not head.is_file():
        return summary, "?"
    return summary, read_json(head, "the fine-tuned classifier's description", fix, schema=CLASSIFIER_JSON)["head"]


@dataclass
class SavedRun:
    """A finished (or interrupted) run read back from its folder by :func:`load_run`: its config, its model and
    the rescaling it trained with."""

    run_dir: Path
    config: RunConfig
    model: AutoencoderModule
    preprocessing: Rescaling | None

    def prepare_input(self, x: np.ndarray) -> np.ndarray:
        """New data as the model saw its training data (same rescaling)."""
        x = np.asarray(x, dtype=np.float32)
        return self.preprocessing.apply(x) if self.preprocessing is not None else x

    def in_data_units(self, x: np.ndarray) -> np.ndarray:
        """What the model gives (a reconstruction, in the units it trained in) back in the data's own units."""
        x = np.asarray(x, dtype=np.float32)
        return self.preprocessing.invert(x) if self.preprocessing is not None else x

    def _map(self, x: np.ndarray, fn: Callable) -> np.ndarray:
        return map_batches(fn, self.prepare_input(x), self.model)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self._map(x, self.model.encode)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """Reconstructions of ``x`` (in the data's units), in the data's units: the rescaling inverted."""
        return self.in_data_units(self._map(x, self.model.reconstruct))

    def prepared_splits(self) -> PreparedSplits:
        """The run's train, validation and test splits as it trained on them: the same rows (the config's
        split seed) and the same rescaling (read from preprocessing.json, never fitted again)."""
        return prepare_splits(self.config.data, self.preprocessing)

    def labelled_arrays(self, what: str) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], PreparedSplits]:
        """``(x_train, x_val, x_test), (y_train, y_val, y_test), data`` in memory, for work that needs labels
        (``what`` names it in the error when the data have none)."""
        from aekit.errors import DataError

        data = self.prepared_splits()
        labels = data.labels()
        if labels[0] is None:
            raise DataError(f"{what} needs class labels, and the data of {self.run_dir} ({self.config.data.name!r}) "
                            f"has none. Train on labelled data (e.g. data.label_column for a CSV).")
        return data.arrays(), labels, data


def read_config(run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """The run's ``config.yaml`` (with ``overrides``), checked as a whole."""
    data = read_config_data(run_dir)
    data.pop("distributed", None)
    return make_config(data, overrides, source=f"{str(Path(run_dir) / 'config.yaml')!r}")


def read_config_data(run_dir: str | Path) -> dict[str, Any]:
    """The mapping of the run's ``config.yaml`` as :func:`make_config` takes it, with the ``distributed``
    section (how many processes trained the run, written by rank 0 under torchrun: a record, not a
    setting) left in for the caller to read or drop."""
    from aekit import config as cfg

    refuse_links_out(run_dir)
    path = Path(run_dir) / "config.yaml"
    return check(cfg.read_yaml(path), CONFIG_YAML, repr(str(path)), "Restore the config.yaml that 'aekit train' "
                 "wrote for the run.")


def load_run(run_dir: str | Path) -> SavedRun:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"Run folder {str(run_dir)!r} does not exist.")
    config = read_config(run_dir)
    model = load_model(run_dir)
    pre = read_preprocessing(run_dir, config.data.rescale)
    if pre is not None and pre.shift.shape != tuple(model.sample_shape):
        raise ConfigError(f"{str(run_dir / 'preprocessing.json')!r} rescales samples of shape {pre.shift.shape}, but "
                          f"the model of the run takes samples of shape {tuple(model.sample_shape)}. {_PRE_FIX}")
    return SavedRun(run_dir, config, model, pre)


_PRE_FIX = "It is written by 'aekit train' (data.rescale: standard or minmax); train the run again to get it back."


def read_preprocessing(run_dir: str | Path, rescale: str) -> Rescaling | None:
    """The rescaling a run fitted on its training split (``preprocessing.json``), checked against its schema
    and against the run's ``data.rescale`` (``rescale``); None for a run that rescaled nothing."""
    path = Path(run_dir) / "preprocessing.json"
    if not path.exists():
        if rescale in ("standard", "minmax"):
            raise ConfigError(f"{str(path)!r} is missing, but the run's config.yaml says data.rescale: {rescale}: the "
                              f"model cannot be given data as it trained on them without it. {_PRE_FIX}")
        return None
    document = read_json(path, "the rescaling fitted on the training split", _PRE_FIX)
    # the kind it names (else the run's) picks the one layout to check: a damaged file's error names the field
    kind = document.get("kind") if document.get("kind") in ("minmax", "standard") else rescale
    schema = {"minmax": MINMAX_JSON, "standard": STANDARD_JSON}.get(kind, PREPROCESSING_JSON)
    pre = Rescaling.from_json(check(document, schema, repr(str(path)), _PRE_FIX, ConfigError))
    if pre.kind != rescale:
        raise ConfigError(f"{str(path)!r} holds a {pre.kind} rescaling, but the run's config.yaml says data.rescale: "
                          f"{rescale}. {_PRE_FIX}")
    return pre


__all__ = ["SavedRun", "load_run", "read_config", "read_preprocessing", "read_config_data", "read_metrics", "read_metrics_file", "read_summary",
           "read_finetuned", "write_metrics", "check_new_run_folder", "new_default_folder", "remove_stale_writes"]
