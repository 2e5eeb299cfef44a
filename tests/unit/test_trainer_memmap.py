"""Training from a memory-mapped .npy gives the same weights as training from memory."""

import numpy as np
import torch

from aekit.data import load_dataset
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.training.trainer import TrainConfig, Trainer


def test_memmapped_data_trains_exactly_like_in_memory_data(tmp_path, monkeypatch):
    x = np.random.default_rng(0).random((200, 10)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    monkeypatch.setenv("AEKIT_MMAP", "1")
    mapped = load_dataset(str(tmp_path / "x.npy"))
    assert mapped.is_streamed
    monkeypatch.setenv("AEKIT_MMAP", "0")
    in_memory = load_dataset(str(tmp_path / "x.npy"))
    assert not in_memory.is_streamed

    results = []
    for data in (mapped, in_memory):
        torch.manual_seed(0)
        model = build_model(ModelConfig(hidden=[8], code_size=3, output="sigmoid"), (10,))
        trainer = Trainer(model, [CrossEntropy()], TrainConfig(epochs=3, batch_size=32), seed=0)
        history = trainer.fit(data)
        results.append((history, torch.cat([p.flatten() for p in model.parameters()])))
    assert torch.equal(results[0][1], results[1][1])
    assert [r["train"]["loss"] for r in results[0][0]] == [r["train"]["loss"] for r in results[1][0]]
