"""Elementwise activations s(.) of encoder and decoder layers, with their derivatives and ranges.

Each entry registers under kind ``"activation"`` and gives three things:

- ``module()``: a fresh ``nn.Module`` (``nn.Identity`` for ``"linear"``) to put in a network;
- ``derivative(pre)``: s'(pre) elementwise, in closed form. The contractive penalty of Rifai et al.
  (ICML 2011) needs it: for one layer h = s(W x + b), ||dh/dx||_F^2 = sum_j s'(a_j)^2 ||W_j||^2;
- ``range``: the open interval ``(low, high)`` the outputs lie in, so that code which needs codes in
  (0, 1) (the KL sparsity target of Ng's sparse autoencoder) can check ``unit_interval``.

A new activation is one ``_define(...)`` call below; nothing else is edited.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from aekit.registry import register

LEAKY_SLOPE = 0.01  # PyTorch's default negative slope for LeakyReLU
ELU_ALPHA = 1.0  # PyTorch's default alpha for ELU


@dataclass(frozen=True)
class Activation:
    """One elementwise activation: a module factory, the function, its derivative and its range."""

    name: str
    make: Callable[[], nn.Module]  # a fresh module each call (modules are not shared)
    fn: Callable[[Tensor], Tensor]  # s(pre)
    grad: Callable[[Tensor], Tensor]  # s'(pre), closed form
    range: tuple[float, float]  # outputs lie in the open interval (low, high)

    def module(self) -> nn.Module:
        """A fresh ``nn.Module`` applying this activation."""
        return self.make()

    def __call__(self, pre: Tensor) -> Tensor:
        """s(pre), elementwise."""
        return self.fn(pre)

    def derivative(self, pre: Tensor) -> Tensor:
        """s'(pre), elementwise, same shape as ``pre`` (matches autograd, also at pre == 0)."""
        return self.grad(pre)

    @property
    def unit_interval(self) -> bool:
        """True when every output lies in (0, 1), as a Bernoulli mean or a KL sparsity target needs."""
        low, high = self.range
        return low >= 0.0 and high <= 1.0


def _define(name: str, make, fn, grad, range: tuple[float, float]) -> Activation:
    activation = Activation(name, make, fn, grad, range)
    register("activation", name)(activation)
    return activation


def _sigmoid_grad(pre: Tensor) -> Tensor:
    s = torch.sigmoid(pre)
    return s * (1.0 - s)  # s' = s (1 - s)


def _tanh_grad(pre: Tensor) -> Tensor:
    t = torch.tanh(pre)
    return 1.0 - t * t  # tanh' = 1 - tanh^2


LINEAR = _define("linear", nn.Identity, lambda pre: pre, torch.ones_like, (-math.inf, math.inf))
SIGMOID = _define("sigmoid", nn.Sigmoid, torch.sigmoid, _sigmoid_grad, (0.0, 1.0))
TANH = _define("tanh", nn.Tanh, torch.tanh, _tanh_grad, (-1.0, 1.0))
RELU = _define(
    "relu",
    nn.ReLU,
    torch.relu,
    lambda pre: (pre > 0).to(pre.dtype),  # autograd's convention: relu'(0) = 0
    (0.0, math.inf),
)
LEAKY_RELU = _define(
    "leaky_relu",
    lambda: nn.LeakyReLU(LEAKY_SLOPE),
    lambda pre: nn.functional.leaky_relu(pre, LEAKY_SLOPE),
    lambda pre: torch.where(pre > 0, torch.ones_like(pre), torch.full_like(pre, LEAKY_SLOPE)),
    (-math.inf, math.inf),
)
ELU = _define(
    "elu",
    lambda: nn.ELU(ELU_ALPHA),
    lambda pre: nn.functional.elu(pre, ELU_ALPHA),
    # elu'(a) = 1 for a > 0, alpha * exp(a) otherwise (autograd takes the second branch at 0);
    # the clamp keeps exp finite in the unused branch, so gradients through s' never become NaN
    lambda pre: torch.where(pre > 0, torch.ones_like(pre), ELU_ALPHA * torch.exp(pre.clamp(max=0))),
    (-ELU_ALPHA, math.inf),
)
