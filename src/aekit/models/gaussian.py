"""Gaussian code head and the reparameterisation trick of the variational autoencoder
(Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014).

The encoder of a VAE outputs the parameters of a diagonal Gaussian posterior
q(h|x) = N(mu(x), diag(exp(logvar(x)))) instead of a code. :class:`GaussianHead` replaces the
deterministic :class:`~aekit.models.encoder.CodeHead` of any encoder that follows the body/head
contract (MLP and conv alike): one affine map from the features a to 2k numbers, split into mu and
log sigma^2. A code is drawn with the reparameterisation trick (Kingma & Welling, Sec. 2.4)

    h = mu + exp(logvar / 2) * eps,   eps ~ N(0, I)

so that h is a differentiable function of (mu, logvar) and the noise is an input. The KL term of
the loss lives in :mod:`aekit.objectives.variational`, not here: the model only returns mu and logvar.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class GaussianHead(nn.Module):
    """(mu, logvar) = split(W a + b): features a (B, m) to the posterior parameters, (B, k) each.

    mu is unconstrained (no code activation); logvar = log sigma^2 is unconstrained too, so sigma^2 =
    exp(logvar) is positive without a softplus or a clamp.
    """

    activation = "linear"  # mu has no activation: a variational model's code_activation must be linear

    def __init__(self, in_features: int, code_size: int) -> None:
        super().__init__()
        self.code_size = code_size  # k
        self.linear = nn.Linear(in_features, 2 * code_size)  # W: (2k, m), rows [mu | logvar]

    def pre(self, a: Tensor) -> Tensor:
        """The mean's pre-activation, which is the mean itself: (B, m) -> (B, k)."""
        return self(a)[0]

    def forward(self, a: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.linear(a).chunk(2, dim=-1)  # (B, 2k) -> (B, k) each
        return mu, logvar


def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """h = mu + exp(logvar / 2) * eps with eps ~ N(0, I), shape of mu (Kingma & Welling, Eq. 10).

    ``eps`` comes from ``generator`` when one is given, else from torch's global generator (the one
    the Trainer saves and restores in its checkpoints, so a resumed run stays bitwise identical).
    Gradients flow to mu and logvar; eps is a constant.
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)  # (B, k)
    return mu + torch.exp(0.5 * logvar) * eps
