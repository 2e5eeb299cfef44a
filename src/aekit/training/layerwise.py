"""Greedy layer-wise pretraining of a deep autoencoder (Bengio et al., NIPS 2007; Vincent et al., JMLR 2010).

For a deep MLP autoencoder with layer sizes d -> n1 -> ... -> k:

    stage 1: a shallow autoencoder d -> n1 -> d on the data x
    stage i: a shallow autoencoder n_{i-1} -> n_i -> n_{i-1} on the codes of stage i-1 (held fixed)
    unroll:  the deep encoder is the stack of the stage encoders, the deep decoder the stack of the
             stage decoders in reverse; then the whole network is fine-tuned end to end.

Each stage is an autoencoder of any family: its own corruption (a denoising stage with its own noise
level, as in stacked denoising autoencoders), its own penalties (sparse, contractive — each stage
is one affine layer, so the contractive penalty takes its closed form). Stage i > 1 reconstructs
codes of the layer below: with sigmoid units those lie in (0, 1) and are reconstructed with
cross-entropy through a sigmoid; otherwise with squared error through a linear output.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from aekit.config import param
from aekit.errors import ConfigError
from aekit.models.autoencoder import AutoencoderModule, build_model
from aekit.models.batched import map_batches
from aekit.models.config import ModelConfig
from aekit.models.encoders.mlp import MLPConfig
from aekit.params import AnyOf, InstanceOf, Interval, Options, SequenceOf
from aekit.registry import get
from aekit.training.trainer import TrainConfig, Trainer

logger = logging.getLogger(__name__)


@dataclass
class LayerwiseConfig:
    """``layerwise`` section of a run: pretrain each layer as a shallow autoencoder before training end to end."""

    enabled: bool = param(False, InstanceOf(bool), "greedy layer-wise pretraining before end-to-end training")
    epochs: Any = param(None, AnyOf(None, Options(("auto",)), Interval(int, 1, None)),
                        "epochs per stage (None = train.epochs; auto = until it converges)")
    corruption: Any = param(None, AnyOf(None, SequenceOf(AnyOf(None, InstanceOf(dict)))),
                            "per-stage corruption, e.g. [{masking: 0.3}, {masking: 0.1}]")
    penalties: Any = param(None, AnyOf(None, SequenceOf(AnyOf(None, InstanceOf(dict)))),
                           "per-stage penalties, e.g. [{contractive: 0.1}, {}]")


def linear_layers(model: AutoencoderModule) -> tuple[list[nn.Linear], list[nn.Linear]]:
    """The encoder's affine layers in order (input to code) and the decoder's (code to output)."""
    encoder = [m for m in model.encoder.body if isinstance(m, nn.Linear)] + [model.encoder.head.linear]
    decoder = list(model.decoder._tied) if model.config.tied else [
        m for m in model.decoder.net if isinstance(m, nn.Linear)]
    return encoder, decoder


def stage_configs(config: ModelConfig, sample_shape: tuple[int, ...], output: str) -> list[tuple[MLPConfig, tuple, str]]:
    """(shallow config, input shape, reconstruction loss) for each stage of a deep MLP autoencoder."""
    if not isinstance(config, MLPConfig) or config.variational:
        raise ConfigError("layerwise.enabled: true works for deterministic MLP autoencoders (model.kind: mlp, "
                          f"model.variational: false). Got kind {config.kind!r}, variational {config.variational}.")
    d = int(np.prod(sample_shape))
    sizes = [d, *config.hidden, config.code_size]
    stages = []
    for i in range(len(sizes) - 1):
        last = i == len(sizes) - 2
        unit = config.code_activation if last else config.activation
        if i == 0:
            shape, out = sample_shape, output
        else:  # reconstruct the codes of the stage below, which went through `activation`
            shape, out = (sizes[i],), "sigmoid" if get("activation", config.activation).unit_interval else "identity"
        shallow = dataclasses.replace(config, hidden=[], code_size=sizes[i + 1], code_activation=unit, output=out)
        stages.append((shallow, shape, "bce" if out == "sigmoid" else "mse"))
    return stages


def unroll(stages: list[AutoencoderModule], deep: AutoencoderModule) -> AutoencoderModule:
    """Copy the stage weights into ``deep``: encoders in order, decoders in reverse."""
    enc, dec = linear_layers(deep)
    with torch.no_grad():
        for i, stage in enumerate(stages):
            (s_enc,), (s_dec,) = linear_layers(stage)
            enc[i].weight.copy_(s_enc.weight)
            enc[i].bias.copy_(s_enc.bias)
            j = len(stages) - 1 - i  # the decoder runs the stages backwards
            if deep.config.tied:
                deep.decoder.biases[j].copy_(stage.decoder.biases[0])
            else:
                dec[j].weight.copy_(s_dec.weight)
                dec[j].bias.copy_(s_dec.bias)
    return deep


def _per_stage(value: list | None, i: int, default: Any) -> Any:
    if value is None:
        return default
    return value[i] if i < len(value) else {}


def _codes(model: AutoencoderModule, x: np.ndarray) -> np.ndarray:
    return map_batches(model.encode, x, model, batch_size=2048)


@dataclass
class Stage:
    """One stage of the pretraining: a shallow autoencoder's config, its input shape, and its terms."""

    config: MLPConfig
    shape: tuple[int, ...]
    objectives: list[Any]
    corruption: Any


def build_stages(config: ModelConfig, sample_shape: tuple[int, ...], layerwise: LayerwiseConfig, *,
                 build_objectives: Callable[[str, dict | None], list],
                 build_corruption: Callable[[dict | None], Any]) -> list[Stage]:
    """Every stage of a deep MLP autoencoder (:func:`stage_configs`) with its objectives and corruption,
    built once: ``build_objectives(reconstruction, penalties)`` and ``build_corruption(corruption)`` turn
    a stage's entries of ``layerwise`` into its terms (the run's registry-based builders)."""
    return [Stage(shallow, shape, build_objectives(recon, _per_stage(layerwise.penalties, i, None)),
                  build_corruption(_per_stage(layerwise.corruption, i, None)))
            for i, (shallow, shape, recon) in enumerate(stage_configs(config, sample_shape, config.output))]


def pretrain(config: MLPConfig, sample_shape: tuple[int, ...], x: np.ndarray, x_val: np.ndarray | None,
             train: TrainConfig, layerwise: LayerwiseConfig, stages: list[Stage], *, seed: int = 0,
             on_stage: Callable[[int, list[dict[str, Any]]], None] | None = None) -> tuple[AutoencoderModule, list]:
    """Train the ``stages`` (:func:`build_stages`) one after the other and unroll them into a deep
    autoencoder. Returns the unrolled model (before end-to-end fine-tuning) and each stage's history.
    """
    trained, histories = [], []
    stage_train = dataclasses.replace(train, epochs=layerwise.epochs or train.epochs)
    for i, stage in enumerate(stages):
        torch.manual_seed(seed + i)
        model = build_model(stage.config, stage.shape)
        trainer = Trainer(model, stage.objectives, stage_train, corruption=stage.corruption, seed=seed + i)
        history = trainer.fit(x, x_val)
        logger.info("Layer-wise stage %d/%d (%s -> %d): %s loss %.4g", i + 1, len(stages),
                    "x" if i == 0 else stage.shape[0], stage.config.code_size,
                    "val" if history[-1]["val"] else "train", (history[-1]["val"] or history[-1]["train"])["loss"])
        trained.append(model)
        histories.append(history)
        if on_stage is not None:
            on_stage(i, history)
        x = _codes(model, x)
        x_val = _codes(model, x_val) if x_val is not None and len(x_val) else None
    torch.manual_seed(seed)
    return unroll(trained, build_model(config, sample_shape)), histories
