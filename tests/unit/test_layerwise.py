"""Greedy layer-wise pretraining: stage shapes, and the unrolled deep autoencoder reproduces the
stacked stage encoders (and decoders, in reverse) before end-to-end fine-tuning."""

import numpy as np
import pytest
import torch

from aekit.errors import ConfigError
from aekit.models import ModelConfig
from aekit.registry import get
from aekit.training.layerwise import LayerwiseConfig, build_stages, linear_layers, pretrain, stage_configs
from aekit.training.run_config import make_config
from aekit.training.trainer import TrainConfig


def data(n=64, d=20, seed=0):
    return np.random.default_rng(seed).random((n, d)).astype(np.float32)


def run_pretrain(config, x, layerwise=None, stages=None):
    kept = []

    def objectives(recon, penalties):
        return [get("objective", recon)()]

    layerwise = layerwise or LayerwiseConfig(enabled=True)
    stages = build_stages(config, (x.shape[1],), layerwise, build_objectives=objectives,
                          build_corruption=lambda c: None)
    deep, histories = pretrain(config, (x.shape[1],), x, None, TrainConfig(epochs=2, batch_size=16), layerwise,
                               stages, seed=0, on_stage=lambda i, h: kept.append(i))
    return deep, histories, kept


def test_stage_shapes_and_losses():
    config = ModelConfig.of_kind(hidden=[16, 8], code_size=4, activation="sigmoid", output="sigmoid")
    stages = stage_configs(config, (20,), "sigmoid")
    assert [(s.code_size, shape, recon) for s, shape, recon in stages] == [
        (16, (20,), "bce"), (8, (16,), "bce"), (4, (8,), "bce")]
    assert [s.code_activation for s, _, _ in stages] == ["sigmoid", "sigmoid", "linear"]
    relu = stage_configs(ModelConfig.of_kind(hidden=[16], code_size=4, output="sigmoid"), (20,), "sigmoid")
    assert [(s.output, recon) for s, _, recon in relu] == [("sigmoid", "bce"), ("identity", "mse")]


@pytest.mark.parametrize("tied", [False, True])
def test_unrolled_network_reproduces_the_stacked_stages(tied, monkeypatch):
    config = ModelConfig.of_kind(hidden=[16, 8], code_size=4, activation="sigmoid", output="sigmoid", tied=tied)
    x = data()
    trained = []
    import aekit.training.layerwise as lw

    original = lw.build_model

    def spy(cfg, shape):
        model = original(cfg, shape)
        trained.append(model)
        return model

    monkeypatch.setattr(lw, "build_model", spy)
    deep, histories, kept = run_pretrain(config, x)
    stages = trained[:3]
    assert kept == [0, 1, 2] and len(histories) == 3 and all(len(h) == 2 for h in histories)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        h = xt
        for stage in stages:
            h = stage.encode(h)
        torch.testing.assert_close(deep.encode(xt), h)
        # the decoder runs the stages backwards: decode each stage's code with its own decoder
        z = h
        for stage in reversed(stages):
            z = stage.decode(z)
        torch.testing.assert_close(deep.decode(h), z)
    enc, dec = linear_layers(deep)
    assert [tuple(m.weight.shape) for m in enc] == [(16, 20), (8, 16), (4, 8)]


def test_layerwise_needs_a_deterministic_mlp():
    with pytest.raises(ConfigError, match="layerwise.enabled: true works for deterministic MLP"):
        stage_configs(ModelConfig.of_kind(kind="conv", output="sigmoid"), (1, 8, 8), "sigmoid")


def test_layerwise_config_section_and_per_stage_entries():
    config = make_config(None, ["layerwise.enabled=true", "layerwise.corruption=[{masking: 0.3}, {}]",
                                "layerwise.penalties=[{l1: 0.001}]"])
    assert config.layerwise.enabled and config.layerwise.corruption[0] == {"masking": 0.3}
    with pytest.raises(ConfigError, match="Unknown corruption 'blur'"):
        make_config(None, ["layerwise.corruption=[{blur: 0.3}]"])
