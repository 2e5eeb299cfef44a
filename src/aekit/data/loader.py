"""Data larger than memory: batches of a data set kept on disk (``Dataset.is_streamed``: a memory-mapped
``.npy``, or an image folder decoded on demand) streamed through PyTorch's
``torch.utils.data.DataLoader`` (worker processes read ahead, pinned memory for a GPU).

The trainer decides the rows of every batch (its permutation, or under torchrun this process's shard
of it, like ``DistributedSampler``); the loader's workers read those rows — one sorted, front-to-back
read of the memmap, or the batch's images decoded, per batch (``Dataset.rows``) — while the main
process trains on the previous batch. The batches hold exactly the values an in-memory array would give, in the same
order, so a streamed run ends with the weights of an in-memory one. Data that fit in memory never
come here: slicing one permuted tensor costs nothing per sample.

Workers: ``default_workers()`` — the CPUs this process may use, minus the one that trains, at most 4
(none on a single CPU: the main process then reads between steps).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Sampler
from torch.utils.data import Dataset as TorchDataset

MAX_WORKERS = 4


def default_workers() -> int:
    """Reader processes for a streamed data set: the CPUs left once one trains, at most 4."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(MAX_WORKERS, cpus - 1))


class _Rows(TorchDataset):
    """Item ``rows`` (an index array) is the float32 batch of those rows, ``(len(rows), *sample_shape)``.

    Picklable without copying the data: a worker started by ``spawn`` reopens the memmap, and an image
    folder travels as its list of file names."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, rows: np.ndarray) -> Tensor:
        return torch.from_numpy(self.dataset.rows(np.asarray(rows)))

    def __getstate__(self) -> dict[str, Any]:
        x = self.dataset.x
        if isinstance(x, np.memmap) and x.filename is not None:
            dataset = _Reopen(self.dataset, str(x.filename), int(x.offset), x.dtype.str, tuple(x.shape),
                              bool(x.flags.f_contiguous and not x.flags.c_contiguous))
            return {"dataset": dataset}
        return {"dataset": self.dataset}

    def __setstate__(self, state: dict[str, Any]) -> None:
        dataset = state["dataset"]
        self.dataset = dataset.open() if isinstance(dataset, _Reopen) else dataset


class _Reopen:
    """A memory-mapped aekit Dataset as its file's coordinates, for a worker to map it again."""

    def __init__(self, dataset: Any, filename: str, offset: int, dtype: str, shape: tuple, fortran: bool) -> None:
        self.fields = {k: v for k, v in vars(dataset).items() if k != "x"}
        self.cls = type(dataset)
        self.file = (filename, offset, dtype, shape, fortran)

    def open(self) -> Any:
        filename, offset, dtype, shape, fortran = self.file
        x = np.memmap(filename, dtype=np.dtype(dtype), mode="r", offset=offset, shape=shape,
                      order="F" if fortran else "C")
        dataset = self.cls.__new__(self.cls)
        vars(dataset).update(self.fields, x=x)
        return dataset


class _Plan(Sampler):
    """The batches (index arrays) of the coming pass, set by the trainer before each one."""

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class StreamedBatches:
    """``stream(rows, batch_size)`` yields the batches of ``rows`` (in that order) on ``device``.

    One DataLoader, its workers kept between passes (``persistent_workers``)."""

    def __init__(self, dataset: Any, device: torch.device, workers: int | None = None) -> None:
        self.device = device
        self.workers = default_workers() if workers is None else workers
        self.plan = _Plan()
        self.loader = DataLoader(
            _Rows(dataset), batch_size=None, sampler=self.plan, num_workers=self.workers,
            pin_memory=device.type == "cuda",  # page-locked host memory: the copy to the GPU overlaps compute
            persistent_workers=self.workers > 0, prefetch_factor=2 if self.workers > 0 else None,
        )

    def __call__(self, rows: np.ndarray, batch_size: int) -> Iterator[Tensor]:
        self.plan.batches = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
        non_blocking = self.device.type == "cuda"
        for x in self.loader:
            yield x.to(self.device, non_blocking=non_blocking)


__all__ = ["StreamedBatches", "default_workers", "MAX_WORKERS"]
