"""Fully connected encoder and decoder, optionally with tied weights (Vincent et al., JMLR 2010).

The encoder f is ``body`` then ``head``: the body flattens x and applies Linear + s per entry of
``hidden``; the code head is Linear(last, k) + the code activation, h = s_h(W a + b). The two are
separate attributes so a variational Gaussian head (Kingma & Welling, ICLR 2014) can replace the
head alone. The decoder g mirrors the body and ends on a Linear with no activation: it returns raw
pre-activations, and the model (or the loss, as logits) decides what to do with them.

Tied weights (W' = W^T, as in Vincent et al. and Hinton & Salakhutdinov, Science 2006): the
decoder reads the encoder's weight matrices at call time, transposed, and owns only its biases.

:class:`CodeHead` and :class:`Encoder` are the body/head contract every encoder here follows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from aekit.registry import get, register

if TYPE_CHECKING:
    from aekit.models.autoencoder import ModelConfig


class CodeHead(nn.Module):
    """h = s_h(W a + b): the last encoder layer, from features a (B, m) to the code h (B, k)."""

    def __init__(self, in_features: int, code_size: int, activation: str) -> None:
        super().__init__()
        self.activation = activation  # the registered name; get("activation", ...) has s_h'
        self.linear = nn.Linear(in_features, code_size)
        self.act = get("activation", activation).module()

    def pre(self, a: Tensor) -> Tensor:
        """The code pre-activation W a + b, (B, m) -> (B, k)."""
        return self.linear(a)

    def forward(self, a: Tensor) -> Tensor:
        return self.act(self.linear(a))  # (B, m) -> (B, k)


class Encoder(nn.Module):
    """f(x) = head(body(x)): ``body`` maps x to features (B, m), ``head`` maps them to the code."""

    def __init__(self, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))  # (B, *sample_shape) -> (B, m) -> (B, k)

    def affine_layers(self) -> list[tuple[nn.Linear, str]] | None:
        """The encoder as a stack of affine maps, each followed by an elementwise activation.

        ``[(linear_1, activation name), ..., (linear_L, code activation name)]`` from input to code,
        so that f(x) = s_L(W_L ... s_1(W_1 flatten(x) + b_1) ... + b_L); None when the encoder is not
        such a stack (a convolutional body, a Gaussian head). The contractive penalty reads it to
        build the Jacobian J = D_L W_L ... D_1 W_1 layer by layer (``aekit.objectives.contractive``).
        """
        body_layers = getattr(self.body, "affine_layers", None)
        if body_layers is None or type(self.head) is not CodeHead:
            return None
        return [*body_layers(), (self.head.linear, self.head.activation)]


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
        return raw.reshape(h.shape[0], *self.sample_shape)  # (B, *sample_shape)


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
        return a.reshape(h.shape[0], *self.sample_shape)  # (B, d) -> (B, *sample_shape)

    def extra_repr(self) -> str:
        shapes = ", ".join(f"W^T{tuple(layer.weight.shape[::-1])}" for layer in self._tied)
        return f"tied to the encoder: {shapes}"


@register("encoder", "mlp")
def build_mlp(config: ModelConfig, sample_shape: tuple[int, ...]) -> tuple[Encoder, nn.Module]:
    """Encoder and decoder for samples of any shape, flattened to d = prod(sample_shape) features."""
    d = math.prod(sample_shape)
    sizes = [d, *config.hidden]  # d -> hidden[0] -> ... -> hidden[-1]
    body = MLPBody(sizes, config.activation)  # (B, d) -> (B, hidden[-1]), or (B, d) when hidden == []
    linears = [layer for layer, _ in body.affine_layers()]
    head = CodeHead(sizes[-1], config.code_size, config.code_activation)  # -> (B, k)
    encoder = Encoder(body, head)
    if config.tied:
        decoder: nn.Module = TiedMLPDecoder([*linears, head.linear], config.activation, sample_shape)
    else:
        decoder = MLPDecoder([config.code_size, *reversed(sizes)], config.activation, sample_shape)
    return encoder, decoder


build_mlp.supports_tied = True  # ModelConfig.check reads this: tied weights need a mirrored stack
