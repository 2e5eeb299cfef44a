"""A memory-mapped data set streams through a DataLoader (worker processes) and trains exactly as the same
data held in memory; the in-memory fast path stays the default when data fit."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from aekit.data import load_dataset, loader
from aekit.data.loader import StreamedBatches, _Rows
from aekit.models import ModelConfig, build_model
from aekit.objectives import build_objectives
from aekit.training.batches import BatchSource
from aekit.training.trainer import TrainConfig, Trainer


@pytest.fixture
def saved(tmp_path, monkeypatch):
    x = np.random.default_rng(0).random((150, 3, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    monkeypatch.setenv("AEKIT_MMAP", "1")
    mapped = load_dataset(str(tmp_path / "x.npy"))
    monkeypatch.setenv("AEKIT_MMAP", "0")
    return x, mapped, load_dataset(str(tmp_path / "x.npy"))


def test_workers_leave_one_cpu_to_train():
    assert 0 <= loader.default_workers() <= loader.MAX_WORKERS


def test_streamed_batches_hold_the_rows_asked_for_in_order(saved):
    x, mapped, _ = saved
    stream = StreamedBatches(mapped, torch.device("cpu"), workers=2)
    order = np.random.default_rng(1).permutation(150)
    for _ in range(2):  # the workers persist from one pass to the next
        batches = list(stream(order, 64))
        assert [len(b) for b in batches] == [64, 64, 22]
        np.testing.assert_array_equal(torch.cat(batches).numpy(), x.reshape(150, 1, 3, 4)[order])


def test_a_worker_started_by_spawn_maps_the_file_again_instead_of_copying_it(saved):
    _, mapped, _ = saved
    text = pickle.dumps(_Rows(mapped))
    assert len(text) < 2000  # coordinates of the file, not its 7 kB of data
    rows = np.array([5, 1, 99])
    np.testing.assert_array_equal(pickle.loads(text)[rows].numpy(), _Rows(mapped)[rows].numpy())


@pytest.mark.parametrize("workers", [0, 2])
def test_a_streamed_run_ends_with_the_weights_of_an_in_memory_run(saved, monkeypatch, workers):
    _, mapped, in_memory = saved
    monkeypatch.setattr(loader, "default_workers", lambda: workers)
    results = []
    for data in (mapped, in_memory):
        torch.manual_seed(0)
        model = build_model(ModelConfig.of_kind(hidden=[8], code_size=3, output="sigmoid"), data.sample_shape)
        trainer = Trainer(model, build_objectives("bce", {"l1": 0.01}), TrainConfig(epochs=2, batch_size=32, device="cpu"),
                          corruption=None, seed=3)
        history = trainer.fit(data.take(np.arange(120)), data.take(np.arange(120, 150)))
        results.append((history, [p.detach().clone() for p in model.parameters()]))
    for a, b in zip(results[0][1], results[1][1]):
        assert torch.equal(a, b)
    assert [r["val"] for r in results[0][0]] == [r["val"] for r in results[1][0]]


def test_data_in_memory_take_the_fast_path(saved):
    x, mapped, in_memory = saved
    assert BatchSource(in_memory, torch.device("cpu")).x is not None
    assert BatchSource(x, torch.device("cpu")).x is not None
    assert BatchSource(mapped, torch.device("cpu")).x is None  # streamed
