"""train.device and train.precision: what is available is chosen or refused clearly; bf16 autocast trains
on a CPU close to float32; the float16 loss scaler's state travels in the checkpoint (CUDA is stood in
for by the CPU, whose float16 autocast and GradScaler run the same code)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _interrupt import fit_until_interrupted

from aekit import Autoencoder
from aekit.errors import ConfigError
from aekit.models import ModelConfig, build_model
from aekit.objectives import build_objectives
from aekit.training import precision
from aekit.training.precision import Precision, resolve_device
from aekit.training.run_config import make_config
from aekit.training.trainer import TrainConfig, Trainer


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "_mps_available", lambda: False)


def test_auto_is_the_best_device_there_is(no_accelerator, monkeypatch):
    assert resolve_device("auto") == torch.device("cpu")
    assert TrainConfig().device == "auto"
    monkeypatch.setattr(precision, "_mps_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)  # a process of torchrun


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_a_device_that_is_not_there_is_refused_naming_what_is(no_accelerator, device):
    with pytest.raises(ConfigError, match=rf"'train.device' parameter is '{device}' but no {device.upper()} device "
                                          r"is available on this machine; available: cpu\."):
        Trainer(build_model(ModelConfig.of_kind(hidden=[4], code_size=2, output="identity"), (6,)), build_objectives("mse"),
                TrainConfig(device=device))


def test_unknown_device_and_precision_are_refused_by_the_config():
    with pytest.raises(ConfigError, match=r"train\.device.*'auto', 'cpu', 'cuda', 'mps'.*Got 'tpu'"):
        make_config(None, ["train.device=tpu"])
    with pytest.raises(ConfigError, match=r"train\.precision.*Got 'fp8'"):
        make_config(None, ["train.precision=fp8"])
    assert make_config(None, ["train.precision=32"]).train.precision == 32  # YAML reads a number


def test_estimator_device_is_checked_like_train_device(no_accelerator):
    x = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    with pytest.raises(ConfigError, match=r"'device' parameter of Autoencoder is 'cuda' but no CUDA device .*"
                                          r"available: cpu"):
        Autoencoder(device="cuda").fit(x)
    with pytest.raises(ConfigError, match=r"'device' parameter of Autoencoder must be"):
        Autoencoder(device="tpu").fit(x)


def test_float16_on_a_cpu_is_refused_naming_what_is_available():
    with pytest.raises(ConfigError, match=r"'train.precision' parameter is '16-mixed' but the cpu device does not "
                                          r"support it; available on cpu: 32, bf16\. Use bf16"):
        Precision("16-mixed", torch.device("cpu"))
    assert Precision(32, torch.device("cpu")).name == "32"


def _fit(precision_name, penalties=None, epochs=3, **kwargs):
    x = np.random.default_rng(0).random((128, 12)).astype(np.float32)
    torch.manual_seed(0)
    model = build_model(ModelConfig.of_kind(hidden=[16], code_size=4, output="sigmoid"), (12,))
    trainer = Trainer(model, build_objectives("bce", penalties or {}),
                      TrainConfig(epochs=epochs, batch_size=32, device="cpu", precision=precision_name, **kwargs), seed=0)
    return trainer, trainer.fit(x[:96], x[96:])


@pytest.mark.parametrize("penalties", [{}, {"contractive": 0.1}, {"l1": 0.01}])
def test_bf16_autocast_trains_on_a_cpu_close_to_float32(penalties):
    _, full = _fit("32", penalties)
    trainer, half = _fit("bf16", penalties)
    assert trainer.precision.dtype == torch.bfloat16 and trainer.precision.scaler is None
    for a, b in zip(full, half):
        for split in ("train", "val"):
            assert np.isfinite(b[split]["loss"])
            assert b[split]["loss"] == pytest.approx(a[split]["loss"], rel=0.02)
    assert next(trainer.model.parameters()).dtype == torch.float32  # weights stay float32


def test_precision_32_from_yaml_or_text_is_the_plain_float32_step():
    (first, a), (second, b) = _fit("32"), _fit(32)
    assert first.precision.dtype is None and first.precision.scaler is None
    assert [(r["train"], r["val"]) for r in a] == [(r["train"], r["val"]) for r in b]
    for p, q in zip(first.model.parameters(), second.model.parameters()):
        assert torch.equal(p, q)


@pytest.fixture
def float16_on_cpu(monkeypatch):
    """Stand the CPU in for a GPU: float16 autocast and torch.amp.GradScaler('cpu') run the same code."""
    monkeypatch.setattr(precision, "available_precisions", lambda device: list(precision.PRECISIONS))


def test_float16_scales_the_loss_and_its_scaler_is_in_the_checkpoint(float16_on_cpu, tmp_path):
    trainer, history = _fit("16-mixed", epochs=2, clip_grad=1.0)
    assert trainer.precision.scaler is not None and all(np.isfinite(r["train"]["loss"]) for r in history)
    trainer.precision.scaler.update(1024.0)  # a scale the run could have reached
    state = trainer.state_dict()
    assert state["precision"] == "16-mixed" and state["scaler"]["scale"] == 1024.0
    fresh, _ = _fit("16-mixed", epochs=1)
    fresh.load_state_dict(state)
    assert fresh.precision.scaler.get_scale() == 1024.0


def test_float16_run_interrupted_and_resumed_ends_like_an_uninterrupted_one(float16_on_cpu, tmp_path):
    x = np.random.default_rng(1).random((96, 12)).astype(np.float32)

    def trainer():
        torch.manual_seed(0)
        model = build_model(ModelConfig.of_kind(hidden=[16], code_size=4, output="sigmoid"), (12,))
        return Trainer(model, build_objectives("bce"), TrainConfig(epochs=4, batch_size=32, device="cpu",
                                                                   precision="16-mixed"), seed=0)

    whole = trainer()
    whole.fit(x)
    first = trainer()
    fit_until_interrupted(first, 2, tmp_path / "checkpoint.pt", x)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["scaler"]["scale"] > 0
    second = trainer()
    second.load_checkpoint(tmp_path / "checkpoint.pt")
    second.fit(x)
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    assert whole.precision.scaler.state_dict() == second.precision.scaler.state_dict()


@pytest.mark.parametrize("config, shape, penalties", [
    (ModelConfig.of_kind(hidden=[8], code_size=2, output="sigmoid", variational=True), (12,), {"kl": 1.0}),
    (ModelConfig.of_kind(kind="conv", channels=[2], code_size=3, output="sigmoid"), (1, 6, 6), {"contractive": 0.1}),
])
def test_bf16_trains_a_variational_and_a_conv_contractive_model(config, shape, penalties):
    x = np.random.default_rng(0).random((64, *shape)).astype(np.float32)
    torch.manual_seed(0)
    model = build_model(config, shape)
    trainer = Trainer(model, build_objectives("bce", penalties, variational=config.variational),
                      TrainConfig(epochs=2, batch_size=32, device="cpu", precision="bf16"), seed=0)
    history = trainer.fit(x)
    assert all(np.isfinite(value) for record in history for value in record["train"].values())
