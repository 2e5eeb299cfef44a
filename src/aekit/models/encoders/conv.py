"""Convolutional encoder and transposed-convolution decoder for images (C, H, W) of any size.

The encoder halves the resolution at each entry of ``channels`` with a stride-2 convolution (the
all-convolutional net of Springenberg et al., ICLR 2015 workshop: strided convolutions instead of
pooling), flattens, and ends on the same code head as the MLP. The decoder mirrors it with stride-2
transposed convolutions (the DCGAN generator of Radford et al., ICLR 2016); each one's
``output_padding`` is computed from the sizes the encoder recorded, so odd sizes such as 5 x 7
come back exactly. The last layer has no activation: the decoder returns raw pre-activations.

Sizes, with padding p = kernel_size // 2 and stride 2:
    conv:            n_out = floor((n_in + 2p - kernel_size) / 2) + 1
    transposed conv: n_out = (n_in - 1) * 2 - 2p + kernel_size + output_padding, output_padding in {0, 1}

Kind ``conv``: ``model: {kind: conv, channels: [16, 32], kernel_size: 3, ...}`` (:class:`ConvConfig`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from aekit.config import param
from aekit.errors import ConfigError
from aekit.models.config import ModelConfig, kind_param
from aekit.models.encoder import CodeHead, Encoder
from aekit.params import SIZE, SequenceOf
from aekit.registry import get, register

STRIDE = 2


def conv_size(n: int, kernel_size: int) -> int:
    """Spatial size after one stride-2 convolution with padding kernel_size // 2."""
    return (n + 2 * (kernel_size // 2) - kernel_size) // STRIDE + 1


def output_padding(n_in: int, target: int, kernel_size: int) -> int:
    """The output_padding that makes a stride-2 transposed convolution map n_in back to target."""
    extra = target - ((n_in - 1) * STRIDE - 2 * (kernel_size // 2) + kernel_size)
    assert 0 <= extra < STRIDE, (n_in, target, kernel_size)  # holds for every n and kernel_size >= 1
    return extra


class ConvBody(nn.Module):
    """Features of an image: strided Conv2d + s per entry of ``channels``, then flatten."""

    def __init__(self, sample_shape: tuple[int, int, int], channels: list[int], kernel_size: int,
                 activation: str) -> None:
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        c, height, width = sample_shape
        self.sizes = [(height, width)]  # spatial size before each conv and after the last one
        layers: list[nn.Module] = []
        for c_out in channels:
            layers += [
                nn.Conv2d(c, c_out, kernel_size, stride=STRIDE, padding=kernel_size // 2),
                get("activation", activation).module(),
            ]
            height, width = conv_size(height, kernel_size), conv_size(width, kernel_size)
            self.sizes.append((height, width))
            c = c_out
        self.convs = nn.Sequential(*layers)
        self.out_shape = (c, height, width)  # (C_last, h, w)
        self.out_features = math.prod(self.out_shape)

    def forward(self, x: Tensor) -> Tensor:
        x = x.reshape(x.shape[0], *self.sample_shape)  # (B, C, H, W), also from flat (B, C*H*W)
        a = self.convs(x)  # (B, C_last, h, w)
        return a.flatten(1)  # (B, C_last*h*w)


class ConvDecoder(nn.Module):
    """g(h): Linear(k, C_last*h*w) + s, reshape, stride-2 ConvTranspose2d back to (C, H, W)."""

    def __init__(self, body: ConvBody, code_size: int, channels: list[int], kernel_size: int,
                 activation: str) -> None:
        super().__init__()
        self.in_shape = body.out_shape  # (C_last, h, w)
        self.linear = nn.Linear(code_size, body.out_features)
        # s after the Linear only when transposed convs follow: the decoder's last op is affine.
        self.act = get("activation", activation).module() if channels else nn.Identity()
        c_in = [body.sample_shape[0], *channels]  # channels entering each encoder conv
        layers: list[nn.Module] = []
        for i in reversed(range(len(channels))):  # mirror: the last encoder conv is undone first
            (h_in, w_in), (h_out, w_out) = body.sizes[i + 1], body.sizes[i]
            layers.append(nn.ConvTranspose2d(
                c_in[i + 1], c_in[i], kernel_size, stride=STRIDE, padding=kernel_size // 2,
                output_padding=(output_padding(h_in, h_out, kernel_size), output_padding(w_in, w_out, kernel_size)),
            ))
            if i > 0:
                layers.append(get("activation", activation).module())
        self.deconvs = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        a = self.act(self.linear(h))  # (B, k) -> (B, C_last*h*w)
        a = a.reshape(h.shape[0], *self.in_shape)  # (B, C_last, h, w)
        return self.deconvs(a)  # (B, C, H, W)


@register("encoder", "conv")
@dataclass
class ConvConfig(ModelConfig):
    """A convolutional encoder for images (C, H, W): stride-2 convolutions, mirrored by transposed ones."""

    kind: str = kind_param("conv")
    channels: list = param([16, 32], SequenceOf(SIZE), "channels of the stride-2 convolutions")
    kernel_size: int = param(3, SIZE, "kernel size of every convolution")

    example: ClassVar[dict[str, Any]] = {"channels": [4, 6]}
    example_shapes: ClassVar[tuple[tuple[int, ...], ...]] = ((1, 6, 6), (1, 5, 7), (3, 8, 8))

    @property
    def hidden_layers(self) -> int:
        return len(self.channels)

    def build(self, sample_shape: tuple[int, ...]) -> tuple[Encoder, ConvDecoder]:
        """Encoder and decoder for images; a sample shape other than (C, H, W) is a ConfigError."""
        if len(sample_shape) != 3:
            raise ConfigError(
                f"kind 'conv' needs image data shaped (C, H, W); got samples of shape {tuple(sample_shape)}. "
                f"Use kind 'mlp' for vectors, or give images with a channel axis (e.g. (1, 28, 28))."
            )
        body = ConvBody(sample_shape, self.channels, self.kernel_size, self.activation)
        head = CodeHead(body.out_features, self.code_size, self.code_activation)  # -> (B, k)
        decoder = ConvDecoder(body, self.code_size, self.channels, self.kernel_size, self.activation)
        return Encoder(body, head), decoder
