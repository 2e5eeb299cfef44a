"""A decoder written out as a short list of plain operations with their weights, for a runtime that
has no torch: the explorer page decodes codes with it in JavaScript (:mod:`aekit.report.explore`).

    ops = decoder_program(model)      # [{"op": "linear", "weight": (out, in), "bias": (out,)},
                                      #  {"op": "activation", "name": "relu"}, ...]
    x_hat = run_program(ops, h)       # (B, k) -> (B, d), float64 NumPy: the reference the page must match

Four operations cover the MLP decoders (plain and tied, W' = W^T written out) and the transposed-
convolution decoder (Radford et al., ICLR 2016): ``linear``, ``activation`` (every registered
elementwise activation, and the output sigmoid), ``reshape`` (to the (C, h, w) a transposed convolution
reads) and ``conv_transpose`` (stride s, padding p, output padding):

    out[o, y, x] = b[o] + sum_{c, i, j} a[c, (y + p - i) / s, (x + p - j) / s] * W[c, o, i, j],

the sum over the (y + p - i, x + p - j) that s divides, inside the input. The program is checked against
``model.decode`` on random codes when it is written, so a decoder it misreads is refused, never shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.models.activations import ELU_ALPHA, LEAKY_SLOPE
from aekit.models.autoencoder import AutoencoderModule
from aekit.models.encoders.conv import ConvDecoder
from aekit.models.encoders.mlp import MLPDecoder, TiedMLPDecoder

TOLERANCE = 1e-4  # max abs difference to model.decode a program must keep (the page is held to the same)
ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}  # and Identity, LeakyReLU, ELU below


def _array(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).contiguous().numpy()


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> dict[str, Any]:
    weight = _array(weight)  # (out, in)
    return {"op": "linear", "weight": weight,
            "bias": np.zeros(weight.shape[0], np.float32) if bias is None else _array(bias)}


def _activation(module: nn.Module) -> list[dict[str, Any]]:
    if isinstance(module, nn.Identity):
        return []
    if isinstance(module, nn.LeakyReLU):
        return [{"op": "activation", "name": "leaky_relu", "slope": float(module.negative_slope)}]
    if isinstance(module, nn.ELU):
        return [{"op": "activation", "name": "elu", "alpha": float(module.alpha)}]
    return [{"op": "activation", "name": ACTIVATIONS[type(module)]}]


def _conv_transpose(layer: nn.ConvTranspose2d, in_shape: tuple[int, int, int]) -> dict[str, Any]:
    if layer.groups != 1 or tuple(layer.dilation) != (1, 1) or layer.padding_mode != "zeros":
        raise ConfigError("The explorer decodes transposed convolutions with groups 1, dilation 1 and zero padding; "
                          f"this decoder has {layer}.")
    c, height, width = in_shape
    (sh, sw), (ph, pw), (kh, kw), (oh, ow) = layer.stride, layer.padding, layer.kernel_size, layer.output_padding
    out_shape = (layer.out_channels, (height - 1) * sh - 2 * ph + kh + oh, (width - 1) * sw - 2 * pw + kw + ow)
    return {"op": "conv_transpose", "weight": _array(layer.weight),  # (C_in, C_out, kh, kw)
            "bias": np.zeros(layer.out_channels, np.float32) if layer.bias is None else _array(layer.bias),
            "stride": [sh, sw], "padding": [ph, pw], "in_shape": list(in_shape), "out_shape": list(out_shape)}


def _ops(module: nn.Module, shape: tuple[int, ...] | None) -> tuple[list[dict[str, Any]], tuple[int, ...] | None]:
    """The operations of ``module`` and the (C, h, w) shape after them (None while the data is flat)."""
    if isinstance(module, MLPDecoder):
        return _ops(module.net, None)
    if isinstance(module, TiedMLPDecoder):  # W' = W^T, written out: the page needs no transpose
        ops: list[dict[str, Any]] = []
        for i, (layer, bias) in enumerate(zip(module._tied, module.biases)):
            ops += _activation(module.act) if i > 0 else []
            ops.append(_linear(layer.weight.t(), bias))
        return ops, None
    if isinstance(module, ConvDecoder):
        ops = [_linear(module.linear.weight, module.linear.bias), *_activation(module.act),
               {"op": "reshape", "shape": list(module.in_shape)}]
        more, shape = _ops(module.deconvs, tuple(module.in_shape))
        return ops + more, shape
    if isinstance(module, nn.Sequential):
        ops = []
        for child in module:
            more, shape = _ops(child, shape)
            ops += more
        return ops, shape
    if isinstance(module, nn.Linear):
        return [_linear(module.weight, module.bias)], None
    if isinstance(module, nn.Flatten):  # the data is flat already (C, h, w order)
        return [], None
    if isinstance(module, nn.Unflatten) and module.dim == 1 and shape is None:  # (B, d) -> (B, *size)
        size = tuple(module.unflattened_size)
        return ([{"op": "reshape", "shape": list(size)}], size) if len(size) == 3 else ([], None)
    if isinstance(module, nn.ConvTranspose2d) and shape is not None:
        op = _conv_transpose(module, shape)
        return [op], tuple(op["out_shape"])
    if isinstance(module, (nn.Identity, nn.LeakyReLU, nn.ELU, *ACTIVATIONS)):
        return _activation(module), shape
    raise ConfigError(f"The explorer page decodes MLP decoders (plain or tied) and transposed-convolution decoders in "
                      f"JavaScript; this model's decoder holds a {type(module).__name__}, which it cannot run.")


def decoder_program(model: AutoencoderModule, check_codes: int = 8) -> list[dict[str, Any]]:
    """``model``'s decoder as plain operations, the output sigmoid included when the model has one; checked
    against ``model.decode`` on ``check_codes`` random codes (seeded) before it is returned."""
    ops, _ = _ops(model.decoder, None)
    if model.output == "sigmoid":
        ops.append({"op": "activation", "name": "sigmoid"})
    if check_codes:
        generator = torch.Generator().manual_seed(0)
        weight = next(model.decoder.parameters())
        h = torch.randn(check_codes, model.config.code_size, generator=generator) * 2
        with torch.no_grad():
            expected = _array(model.decode(h.to(weight.device, weight.dtype))).reshape(check_codes, -1)
        gap = float(np.abs(run_program(ops, h.numpy()) - expected).max())
        if not gap <= TOLERANCE:
            raise ConfigError(f"The explorer cannot write this decoder ({type(model.decoder).__name__}) as plain "
                              f"operations: its program differs from model.decode by {gap:.3g} (at most "
                              f"{TOLERANCE:g} allowed).")
    return ops


def _act(name: str, a: np.ndarray, op: dict[str, Any]) -> np.ndarray:
    if name == "relu":
        return np.maximum(a, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-a))
    if name == "tanh":
        return np.tanh(a)
    if name == "leaky_relu":
        return np.where(a > 0, a, op.get("slope", LEAKY_SLOPE) * a)
    if name == "elu":
        alpha = op.get("alpha", ELU_ALPHA)
        return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0)))
    raise ConfigError(f"Unknown activation {name!r} in a decoder program.")


def run_program(ops: list[dict[str, Any]], h: np.ndarray) -> np.ndarray:
    """Decode codes ``h`` (B, k) with a program, in float64: (B, d), d the features of one sample."""
    a = np.asarray(h, np.float64)  # (B, k)
    for op in ops:
        if op["op"] == "linear":
            a = a.reshape(len(a), -1) @ op["weight"].T.astype(np.float64) + op["bias"]  # (B, in) -> (B, out)
        elif op["op"] == "activation":
            a = _act(op["name"], a, op)
        elif op["op"] == "reshape":
            a = a.reshape(len(a), *op["shape"])  # (B, C, h, w)
        elif op["op"] == "conv_transpose":
            a = _conv_transpose_np(a, op)
        else:
            raise ConfigError(f"Unknown operation {op['op']!r} in a decoder program.")
    return a.reshape(len(a), -1)


def _conv_transpose_np(a: np.ndarray, op: dict[str, Any]) -> np.ndarray:
    """(B, C_in, h, w) -> (B, C_out, H, W): each input pixel adds its kernel, scaled, at (y*s - p, x*s - p)."""
    w = op["weight"].astype(np.float64)  # (C_in, C_out, kh, kw)
    (sh, sw), (ph, pw) = op["stride"], op["padding"]
    _, c_out, kh, kw = w.shape
    _, height, width = op["out_shape"]
    batch, _, h_in, w_in = a.shape
    # a full-size canvas with room for the padding on each side, cropped at the end
    full = np.zeros((batch, c_out, (h_in - 1) * sh + kh + ph + 1 + height, (w_in - 1) * sw + kw + pw + 1 + width))
    contribution = np.einsum("bcyx,coij->boyxij", a, w)  # (B, C_out, h, w, kh, kw)
    for i in range(kh):
        for j in range(kw):
            full[:, :, i:i + (h_in - 1) * sh + 1:sh, j:j + (w_in - 1) * sw + 1:sw] += contribution[..., i, j]
    return full[:, :, ph:ph + height, pw:pw + width] + op["bias"][None, :, None, None]


__all__ = ["decoder_program", "run_program", "TOLERANCE"]
