"""Training from data kept on disk (a memory-mapped .npy, an image folder decoded on demand) gives the same
weights as training from memory, and ``aekit train --data FOLDER`` streams a large folder with no other setting."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from aekit.analysis.run_analysis import load_run_analysis
from aekit.cli import main
from aekit.data import load_dataset, loader
from aekit.data.image_folder import ImageFiles
from aekit.data.preparation import DataConfig, prepare_splits
from aekit.errors import ConfigError
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
        model = build_model(ModelConfig.of_kind(hidden=[8], code_size=3, output="sigmoid"), (10,))
        trainer = Trainer(model, [CrossEntropy()], TrainConfig(epochs=3, batch_size=32), seed=0)
        history = trainer.fit(data)
        results.append((history, torch.cat([p.flatten() for p in model.parameters()])))
    assert torch.equal(results[0][1], results[1][1])
    assert [r["train"]["loss"] for r in results[0][0]] == [r["train"]["loss"] for r in results[1][0]]


def write_noise_folder(folder, n: int = 40) -> None:
    """``n`` 6x6 PNGs of random pixels in two class subfolders, every fifth one RGB (so all read as RGB)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = rng.integers(0, 256, (6, 6, 3) if i % 5 == 0 else (6, 6), dtype=np.uint8)
        path = folder / ("cat", "dog")[i % 2] / f"{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)


@pytest.mark.parametrize("workers", [0, 1])
def test_an_image_folder_decoded_on_demand_trains_exactly_like_the_same_folder_in_memory(
    tmp_path, monkeypatch, workers
):
    write_noise_folder(tmp_path / "pics")
    monkeypatch.setenv("AEKIT_MMAP", "1")
    lazy = load_dataset(tmp_path / "pics")
    assert isinstance(lazy.x, ImageFiles)
    monkeypatch.setenv("AEKIT_MMAP", "0")
    in_memory = load_dataset(tmp_path / "pics")
    monkeypatch.setattr(loader, "default_workers", lambda: workers)

    results = []
    for data in (lazy, in_memory):
        torch.manual_seed(0)
        model = build_model(ModelConfig.of_kind(hidden=[8], code_size=3, output="sigmoid"), data.sample_shape)
        trainer = Trainer(model, [CrossEntropy()], TrainConfig(epochs=2, batch_size=8, device="cpu"), seed=1)
        history = trainer.fit(data.take(np.arange(32)), data.take(np.arange(32, 40)))
        results.append((history, torch.cat([p.detach().flatten() for p in model.parameters()])))
    assert torch.equal(results[0][1], results[1][1])
    assert [r["val"] for r in results[0][0]] == [r["val"] for r in results[1][0]]


def test_aekit_train_streams_a_large_image_folder_with_no_other_setting(tmp_path, monkeypatch, capsys):
    write_noise_folder(tmp_path / "pics")
    monkeypatch.setenv("AEKIT_MMAP", "1")  # as if the folder were larger than a quarter of the memory
    streams = []  # default_workers is asked once by each DataLoader the trainer starts
    monkeypatch.setattr(loader, "default_workers", lambda: streams.append(1) or 0)
    code = main(["train", "--data", str(tmp_path / "pics"), "--out", str(tmp_path / "runs"), "--name", "f",
                 "--quiet", "--no-report", "--set", "train.epochs=2", "--set", "model.hidden=[8]",
                 "--set", "model.code_size=2"])
    assert code == 0 and streams  # train, validation and test rows came through a DataLoader
    summary = json.loads((tmp_path / "runs" / "f" / "summary.json").read_text())
    assert summary["n_train"] == 28 and np.isfinite(summary["test"]["recon"])
    data = load_run_analysis(tmp_path / "runs" / "f")  # what the report reads: the test split, decoded
    assert data.x_test.shape == (8, 3, 6, 6) and data.y_test is not None


def test_minmax_rescaling_of_data_kept_on_disk_is_refused_with_what_to_do(tmp_path, monkeypatch):
    write_noise_folder(tmp_path / "pics", n=10)
    monkeypatch.setenv("AEKIT_MMAP", "1")
    with pytest.raises(ConfigError, match=r"data.rescale: minmax is not available for data streamed from disk .*"
                                          r"allowed: none.*a folder needs data.rescale: none"):
        prepare_splits(DataConfig(name=str(tmp_path / "pics"), rescale="minmax"))
