"""Several processes, one model: PyTorch's ``torch.distributed`` and ``DistributedDataParallel``.

aekit runs on PyTorch's own engine, launched by ``torchrun`` (nothing home-made)::

    torchrun --nproc_per_node=2 -m aekit train my.yaml             # one machine, 2 processes
    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=2 \\
             --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 -m aekit train my.yaml   # on each machine

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; the first
:class:`~aekit.training.trainer.Trainer` of the process (or ``aekit train``) sees them and joins the
process group, or uses the one a script initialised itself. The backend is chosen here: ``gloo`` for
CPU tensors, and ``nccl`` for CUDA tensors where there is a GPU (``cpu:gloo,cuda:nccl``), so the
small messages aekit sends itself (losses, rank 0's checkpoint) always travel as CPU tensors.
Data parallelism, as ``DistributedDataParallel`` does it (Li et al., "PyTorch Distributed:
Experiences on Accelerating Data Parallel Training", VLDB 2020):

- every process holds the whole model and the whole data set; every epoch they all draw the same
  permutation from the run's seed, padded (like ``torch.utils.data.DistributedSampler``) by
  repeating its first rows to a multiple of the number of processes, and process r takes every
  W-th row from r. With ``train.batch_size = B`` per process the global batch is W x B, and its
  rows are exactly those one process with batch W x B takes at that step: the gradients, averaged
  by DDP, are the same up to float rounding (for losses that are means over the batch);
- corruption noise and a model's own sampling draw from generators seeded by (seed, rank), so no
  two processes draw the same noise; their states travel in the checkpoint, one per process;
- losses are summed over processes (``all_reduce``) before they are logged or compared;
- only rank 0 writes (checkpoint, metrics, weights, report); others compute and wait.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from aekit.errors import AekitError, ConfigError

logger = logging.getLogger(__name__)


def launched() -> bool:
    """Whether this process is one of several started by torchrun (or a launcher that sets the same
    environment variables)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that prints and writes."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def rank_seed(seed: int, rank: int, stream: int = 0) -> int:
    """A seed for process ``rank`` derived from the run's seed (numpy's SeedSequence mixes them), so
    ranks draw independent noise that is still one function of the run's seed."""
    words = np.random.SeedSequence([seed, rank, stream, 0xAE]).generate_state(2, dtype=np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


@dataclass(frozen=True)
class Distributed:
    """This process's place in the group: rank, number of processes, the backend; one process when
    ``world_size`` is 1 (then every method is the identity and nothing is communicated).

    ``enabled`` (several processes) and ``is_main`` (rank 0: the process that prints and writes) are plain
    attributes, fixed when the group is made: a caller asks them without calling in here, and a single
    process (:data:`SINGLE`) answers ``enabled=False, is_main=True``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    enabled: bool = field(init=False, repr=False, compare=False)  # world_size > 1
    is_main: bool = field(init=False, repr=False, compare=False)  # rank == 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "enabled", self.world_size > 1)
        object.__setattr__(self, "is_main", self.rank == 0)

    # -- the model --------------------------------------------------------------------------------
    def wrap(self, model: nn.Module) -> nn.Module:
        """The module the forward and backward pass go through: DDP around ``model``, or ``model``.

        Objectives keep the unwrapped model (its hooks, ``encode`` and ``torch.func`` calls see the
        real parameters); only the training forward goes through DDP, whose hooks average gradients
        over processes in the backward pass. ``device_ids=None``: the trainer has already put the
        inputs on the model's device, so DDP passes them through unchanged (the contractive penalty
        recognises the very tensor it was fed)."""
        if not self.enabled:
            return model
        if not any(p.requires_grad for p in model.parameters()):
            return model  # nothing to average
        return nn.parallel.DistributedDataParallel(model, device_ids=None)

    # -- the data ---------------------------------------------------------------------------------
    def shard(self, order: Tensor) -> Tensor:
        """This process's rows of a permutation shared by all: padded with its first rows to a multiple
        of the world size (as DistributedSampler does), then every ``world_size``-th row from ``rank``."""
        if not self.enabled:
            return order
        pad = -len(order) % self.world_size
        if pad:
            order = torch.cat([order, order[:pad].repeat(pad // max(1, len(order)) + 1)[:pad]])
        return order[self.rank :: self.world_size]

    def eval_rows(self, n: int) -> Tensor | None:
        """This process's rows for evaluation (no padding: every row once over all processes); None:
        all rows (one process, or fewer rows than processes)."""
        if not self.enabled or n < self.world_size:
            return None
        return torch.arange(self.rank, n, self.world_size)

    # -- communication (CPU tensors, gloo) --------------------------------------------------------
    def sum(self, sums: dict[str, float], count: float) -> tuple[dict[str, float], float]:
        """Per-term sums and the sample count, summed over processes (float64, one all_reduce)."""
        if not self.enabled:
            return sums, count
        names = list(sums)
        values = torch.tensor([*(sums[name] for name in names), count], dtype=torch.float64)
        dist.all_reduce(values)
        totals = values.tolist()
        return dict(zip(names, totals[:-1])), totals[-1]

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process (pickled: our own processes only)."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        """``obj`` of every process, in rank order, on every process."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def raise_together(self, error: BaseException | None) -> None:
        """Rank 0 found ``error`` (or None) doing what only it does (reading or creating the run folder):
        every process raises it, so none waits forever on the others."""
        if self.enabled:
            found = self.broadcast(None if error is None else (type(error), str(error)))
            if found is not None and error is None:
                kind, message = found
                error = kind(message) if issubclass(kind, AekitError) else ConfigError(message)
        if error is not None:
            raise error

    def on_main(self, work: Callable[[], Any]) -> Any:
        """``work()`` on rank 0 (the only process that touches a run folder), its result on every process;
        an aekit error it raises is raised by every process."""
        result, error = None, None
        if self.is_main:
            try:
                result = work()
            except AekitError as found:
                error = found
        self.raise_together(error)
        return self.broadcast(result)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


SINGLE = Distributed()


def setup(device: str = "auto") -> Distributed:
    """The process group this process belongs to: the one already initialised (by a script, or by an
    earlier Trainer), the one torchrun's environment describes (joined here: ``gloo``, with ``nccl`` for
    CUDA tensors where there is a GPU), or none (one process). ``device`` (``train.device``) only
    refuses MPS, which has no backend."""
    if dist.is_available() and dist.is_initialized():
        world = dist.get_world_size()
        if world == 1:
            return SINGLE
        return Distributed(dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0")), dist.get_backend())
    if not launched():
        return SINGLE
    if not dist.is_available():
        raise ConfigError("WORLD_SIZE > 1 asks for distributed training, but this build of PyTorch has no "
                          "torch.distributed; run a single process (without torchrun).")
    if device == "mps":
        raise ConfigError("Distributed training (torchrun) runs on CPUs (gloo) or CUDA GPUs (nccl); PyTorch has "
                          "no backend for MPS. Set train.device: cpu, or run one process.")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "cpu:gloo,cuda:nccl"
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend)
    atexit.register(shutdown)
    group = Distributed(dist.get_rank(), dist.get_world_size(), local_rank, backend)
    if group.is_main:
        logger.info("Distributed training: %d processes, backend %s", group.world_size, backend)
    return group


def shutdown(wait: bool = False) -> None:
    """Leave the process group (aekit's CLI does it when a command ends, with ``wait``; atexit otherwise).

    ``wait`` first meets every process at a barrier: a process that tears its group down while another
    still has messages in flight can be aborted by gloo ("terminate called without an active
    exception", seen when a resumed run's rank 1 finished first). Not at exit after an error, where the
    other processes may never arrive."""
    if dist.is_available() and dist.is_initialized():
        try:
            if wait and dist.get_world_size() > 1:
                dist.barrier()
        finally:
            dist.destroy_process_group()


__all__ = ["Distributed", "SINGLE", "setup", "shutdown", "launched", "is_main_process", "rank_seed"]
