"""A trainer's checkpoint: everything a resume needs to end with bitwise the same weights (the model, the
optimiser and schedule, every generator, the history, the best epoch), written atomically, read with
``weights_only=True``, and refused before anything is loaded when it is not this run's (another model,
or another config: its digest).

:class:`Checkpoints` is the part of :class:`~aekit.training.trainer.Trainer` that does this; it reads and
sets the trainer's attributes and nothing else."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from aekit.errors import ConfigError
from aekit.params import shown

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "aekit.checkpoint/1"
RESTORE = "restore the run's own checkpoint.pt, or delete it to train the run again from the beginning"


def config_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 of ``config`` as canonical JSON (keys sorted, no spaces): what a checkpoint records of the
    run that wrote it."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _settings(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{dotted key: value}`` (an empty section has no keys)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_settings(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def refuse_foreign(state: Any, path: str | Path | None, fix: str) -> None:
    """Not an aekit checkpoint at all (another format, or not a mapping): a clear error."""
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        what = f"format {state.get('format')!r}" if isinstance(state, dict) else f"a {type(state).__name__}"
        where = f"{str(path)!r} is" if path is not None else "This is"
        raise ConfigError(f"{where} not an aekit checkpoint ({what}, expected format {CHECKPOINT_FORMAT!r}); {fix}.")


class Checkpoints:
    """Saving, loading and checking a :class:`~aekit.training.trainer.Trainer`'s full state."""

    def state_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),  # model-internal sampling (a VAE's reparameterisation)
            "history": copy.deepcopy(self.history),
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "reference": self.reference,
            "bad_epochs": self.bad_epochs,
            "stopped_early": self.stopped_early,
            "seed": self.seed,
            # objectives with state of their own (a random-projection generator) save it here
            "objectives": [o.state_dict() if hasattr(o, "state_dict") else None for o in self.objectives],
            "precision": self.precision.name,
            "scaler": self.precision.state_dict(),  # 16-mixed: the loss scale and its growth tracker
            "world_size": self.dist.world_size,
            "global_batch_size": self.global_batch_size,
            # the run that wrote it (check_belongs compares them before anything is loaded)
            "run_config": self.run_config,
            "run_config_digest": None if self.run_config is None else config_digest(self.run_config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        refuse_foreign(state, None, "give a state_dict() of a Trainer")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch = state["epoch"]
        self.history = list(state["history"])
        self.best_score = state["best_score"]
        self.best_epoch = state["best_epoch"]
        self.best_state = state["best_state"]
        self.reference = state["reference"]
        self.bad_epochs = state["bad_epochs"]
        self.stopped_early = state["stopped_early"]
        self.seed = state["seed"]
        for objective, objective_state in zip(self.objectives, state.get("objectives", [])):
            if objective_state is not None and hasattr(objective, "load_state_dict"):
                objective.load_state_dict(objective_state)
        if state.get("precision", "32") == self.precision.name:
            self.precision.load_state_dict(state.get("scaler"))
        self._restore_processes(state)

    def _restore_processes(self, state: dict[str, Any]) -> None:
        """Each process's own noise generators, when the checkpoint was written by as many processes;
        with another number, say what changes."""
        world = int(state.get("world_size", 1))
        ranks = state.get("ranks")
        if world == self.dist.world_size:
            if self.dist.enabled and ranks is not None:
                mine = ranks[self.dist.rank]
                self.noise_generator.set_state(mine["noise"])
                torch.set_rng_state(mine["torch_rng"])
            return
        was = int(state.get("global_batch_size", self.config.batch_size * world))
        if self.dist.is_main:
            logger.warning(
                "The checkpoint was written by %d process%s (global batch %d); this run has %d (global batch %d = "
                "%d x train.batch_size %d). The epochs left take steps of the new global batch and draw new noise "
                "per process (seeded by the run's seed, the rank and the epoch), so the run goes on as a different "
                "one: not bitwise, nor within float error, what an uninterrupted run would give. Resume with %d "
                "process%s to continue it exactly.", world, "es" * (world > 1), was, self.dist.world_size,
                self.global_batch_size, self.dist.world_size, self.config.batch_size, world, "es" * (world > 1))
        if self.dist.enabled:
            self._seed_rank(epoch=self.epoch)

    def save_checkpoint(self, path: str | Path) -> None:
        """Write the full training state atomically (a SIGKILL leaves the previous checkpoint intact)."""
        from aekit.io import atomic_write

        state = self.state_dict()
        if self.dist.enabled:  # collective: every process's generators, written by rank 0
            ranks = self.dist.gather({"noise": self.noise_generator.get_state(), "torch_rng": torch.get_rng_state()})
            if not self.dist.is_main:
                return
            state["ranks"] = ranks
        atomic_write(Path(path), lambda tmp: torch.save(state, tmp))

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue from a checkpoint (loaded with ``weights_only=True``: tensors and plain data only).

        Under torchrun rank 0 reads the file and sends it to the others (the run folder need not be on
        every machine)."""
        if self.dist.enabled:
            state, error = None, None
            if self.dist.is_main:
                try:
                    state = self._read_checkpoint(path)
                except ConfigError as found:
                    error = found
            self.dist.raise_together(error)
            state = self.dist.broadcast(state)
        else:
            state = self._read_checkpoint(path)
        try:
            self.load_state_dict(state)
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as error:
            raise ConfigError(f"Checkpoint {str(path)!r} is not a complete aekit checkpoint of this run "
                              f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                              f"delete it to train the run again from the beginning.") from None

    def _read_checkpoint(self, path: str | Path) -> dict[str, Any]:
        state = read_state(path, RESTORE)
        self.check_belongs(state, path)
        return state

    def check_belongs(self, state: Any, path: str | Path) -> None:
        """Refuse a checkpoint that is not this run's: not a checkpoint at all, or another model's weights
        (names or shapes differ), before anything of it is loaded."""
        fix = RESTORE
        refuse_foreign(state, path, fix)
        weights = state.get("model")
        if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise ConfigError(f"Checkpoint {str(path)!r} holds no model weights; {fix}.")
        expected = {k: tuple(v.shape) for k, v in self.model.state_dict().items()}
        found = {k: tuple(v.shape) for k, v in weights.items()}
        if found != expected:
            diff = sorted(set(expected) ^ set(found)) or [k for k in expected if expected[k] != found[k]]
            key = diff[0]
            raise ConfigError(f"Checkpoint {str(path)!r} does not belong to this run: its model differs at {key!r} "
                              f"(checkpoint {found.get(key, 'none')}, run {expected.get(key, 'none')}); {fix}.")
        if self.run_config is not None:
            self._check_run(state, path, fix)

    def _check_run(self, state: dict[str, Any], path: str | Path, fix: str) -> None:
        """The checkpoint was written by this run: the same config (its digest), so the same data, objectives
        and corruption; a checkpoint written before digests were recorded is taken on its seed, with a warning."""
        digest = state.get("run_config_digest")
        if digest is None:
            if state.get("seed") != self.seed:
                raise ConfigError(f"Checkpoint {str(path)!r} does not belong to this run: it was trained with seed "
                                  f"{shown(state.get('seed'))}, this run's config.yaml says {self.seed!r}; {fix}.")
            logger.warning("Checkpoint %s records no config (it was written before checkpoints did): it is resumed "
                           "because its model and seed match this run's, but it may come from a run with other "
                           "data, objectives or corruption; if so, delete it to train the run again.", path)
            return
        if digest == config_digest(self.run_config):
            return
        theirs = state.get("run_config")
        ours, found = _settings(self.run_config), _settings(theirs) if isinstance(theirs, Mapping) else {}
        differ = sorted(key for key in set(ours) | set(found) if ours.get(key, ...) != found.get(key, ...))
        if not differ:  # the recorded config is missing, or is not the one its digest was taken of
            raise ConfigError(f"Checkpoint {str(path)!r} does not belong to this run: its config digest "
                              f"{shown(digest, 24)} is not this run's config.yaml's; {fix}.")
        key = differ[0]
        was = f"{key} {shown(found[key])}" if key in found else f"no {key}"
        now = f"says {shown(ours[key])}" if key in ours else f"has no {key}"
        more = f" (and {len(differ) - 1} more setting{'s' * (len(differ) > 2)})" if len(differ) > 1 else ""
        raise ConfigError(f"Checkpoint {str(path)!r} does not belong to this run: it was trained with {was}, this "
                          f"run's config.yaml {now}{more}; {fix}.")


__all__ = ["Checkpoints", "CHECKPOINT_FORMAT", "config_digest", "read_state", "refuse_foreign"]


def read_state(path: str | Path, fix: str) -> dict[str, Any]:
    """A checkpoint's state, loaded with ``weights_only=True`` (tensors and plain data only), or one
    ConfigError saying what the file is and, last, ``fix``."""
    import pickle
    import warnings

    try:
        with warnings.catch_warnings():  # torch's note on a foreign file's pickle protocol: the error says it
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)  # generator states stay CPU tensors
    except FileNotFoundError:
        raise ConfigError(f"No checkpoint at {str(path)!r} to resume from.") from None
    except Exception as error:  # a corrupt or foreign file
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if isinstance(error, pickle.UnpicklingError):  # not torch's advice to load it with weights_only=False
            found = str(error).partition("WeightsUnpickler error:")[2].strip().splitlines()
            first = found[0] if found else type(error).__name__
        if isinstance(error, pickle.UnpicklingError) and _is_pickle(path):
            first = f"it holds Python objects beyond tensors and plain data, which aekit never unpickles: {first}"
        elif not isinstance(error, OSError):  # random bytes are no "Python objects"
            first = f"it is not a checkpoint aekit wrote: a corrupt file, or another format: {first}"
        raise ConfigError(f"Cannot read checkpoint {str(path)!r} ({first}); {fix}.") from None
    return state


def _is_pickle(path: str | Path) -> bool:
    """Whether ``path`` starts as a pickle does (PROTO 2 to 5): a pickle of objects beyond tensors, not a
    torch.save archive (a zip) or a corrupt file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5
