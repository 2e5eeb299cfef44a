"""Fully connected encoder and decoder, optionally with tied weights (Vincent et al., JMLR 2010).

The encoder f is ``body`` then ``head``: the body flattens x and applies Linear + s per entry of
``hidden``; the code head is Linear(last, k) + the code activation, h = s_h(W a + b). The two are
separate attributes so a variational Gaussian head (Kingma & Welling, ICLR 2014) can replace the
head alone. The decoder g mirrors the body and ends on a Linear with no activation: it returns raw
pre-activations, and the model (or the loss, as logits) decides what to do with them.

Tied weights (W' = W^T, as in Vincent et al. and Hinton & Salakhutdinov, Science 2006): the
decoder reads the encoder's weight matrices at call time, transposed, and owns only its biases.

Kind ``mlp``: ``model: {kind: mlp, hidden: [512], tied: false, ...}`` (:class:`MLPConfig`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from aekit.config import param
from aekit.errors import ConfigError
from aekit.models.config import ModelConfig, kind_param
from aekit.models.encoder import CodeHead, Encoder, in_layout
from aekit.params import SIZE, InstanceOf, SequenceOf
from aekit.registry import get, register


class MLPBody(nn.Sequential):
    """Flatten, then Linear + s per hidden width: (B, *sample_shape) or (B, d) -> (B, sizes[-1]).

    A plain ``nn.Sequential`` (same parameter names: ``1.weight``, ``3.weight``, ...) that remembers
    its activation's registered name, so :meth:`affine_layers` can list the stack.
    """

    def __init__(self, sizes: list[int], activation: str) -> None:
        layers: list[nn.Module] = [nn.Flatten()]  # (B, *sample_shape) or (B, d) -> (B, d)
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), get("activation", activation).module()]
        super().__init__(*layers)
        self.activation = activation

    def affine_layers(self) -> list[tuple[nn.Linear, str]]:
        """``[(linear, activation name), ...]`` in order; empty when ``sizes`` has one entry."""
        return [(layer, self.activation) for layer in self if isinstance(layer, nn.Linear)]


class MLPDecoder(nn.Module):
    """g(h) = Linear(k, hidden[-1]), s, ..., Linear(hidden[0], d); raw output, reshaped to x's shape."""

    def __init__(self, sizes: list[int], activation: str, sample_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i > 0:
                layers.append(get("activation", activation).module())
            layers.append(nn.Linear(n_in, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        raw = self.net(h)  # (B, k) -> (B, d)
        return in_layout(raw, (h.shape[0], *self.sample_shape))  # (B, *sample_shape)


class TiedMLPDecoder(nn.Module):
    """The mirror of the encoder with W' = W^T: each layer is F.linear(a, W.t(), own_bias)."""

    def __init__(self, encoder_linears: list[nn.Linear], activation: str, sample_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        # A tuple is invisible to nn.Module: the shared weights stay owned by the encoder alone, so
        # parameters() and state_dict() list each once (safetensors refuses shared tensors), and
        # load_state_dict / functional_call / .to() on the encoder reach the decoder too.
        self._tied = tuple(reversed(encoder_linears))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.empty(layer.in_features)) for layer in self._tied
        )
        for layer, bias in zip(self._tied, self.biases):
            bound = 1.0 / math.sqrt(layer.out_features)  # nn.Linear's bias init for fan_in = out_features
            nn.init.uniform_(bias, -bound, bound)
        self.act = get("activation", activation).module()

    def forward(self, h: Tensor) -> Tensor:
        a = h  # (B, k)
        for i, (layer, bias) in enumerate(zip(self._tied, self.biases)):
            if i > 0:
                a = self.act(a)
            a = F.linear(a, layer.weight.t(), bias)  # (B, out_features) -> (B, in_features)
        return in_layout(a, (h.shape[0], *self.sample_shape))  # (B, d) -> (B, *sample_shape)

    def extra_repr(self) -> str:
        shapes = ", ".join(f"W^T{tuple(layer.weight.shape[::-1])}" for layer in self._tied)
        return f"tied to the encoder: {shapes}"


@register("encoder", "mlp")
@dataclass
class MLPConfig(ModelConfig):
    """A fully connected encoder and its mirror: ``hidden`` widths from the input to the code, optionally tied."""

    kind: str = kind_param("mlp")
    hidden: list = param([512], SequenceOf(SIZE), "widths of the hidden layers; [] is one affine layer")
    tied: bool = param(False, InstanceOf(bool), "decoder weights are the transposed encoder weights")

    example: ClassVar[dict[str, Any]] = {"hidden": [8, 5]}
    example_shapes: ClassVar[tuple[tuple[int, ...], ...]] = ((12,), (1, 5, 7), (3, 4, 4))

    @property
    def hidden_layers(self) -> int:
        return len(self.hidden)

    def check(self) -> None:
        super().check()
        if self.variational and self.tied:
            raise ConfigError(
                "tied weights and variational: true cannot be combined: the Gaussian head maps features to "
                "2k numbers (mu and logvar), which has no transpose for the decoder to share. Set tied: false."
            )

    def build(self, sample_shape: tuple[int, ...]) -> tuple[Encoder, nn.Module]:
        """Encoder and decoder for samples of any shape, flattened to d = prod(sample_shape) features."""
        d = math.prod(sample_shape)
        sizes = [d, *self.hidden]  # d -> hidden[0] -> ... -> hidden[-1]
        body = MLPBody(sizes, self.activation)  # (B, d) -> (B, hidden[-1]), or (B, d) when hidden == []
        linears = [layer for layer, _ in body.affine_layers()]
        head = CodeHead(sizes[-1], self.code_size, self.code_activation)  # -> (B, k)
        if self.tied:
            decoder: nn.Module = TiedMLPDecoder([*linears, head.linear], self.activation, sample_shape)
        else:
            decoder = MLPDecoder([self.code_size, *reversed(sizes)], self.activation, sample_shape)
        return Encoder(body, head), decoder
