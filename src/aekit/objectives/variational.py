"""The KL term of the variational autoencoder's loss (Kingma & Welling, ICLR 2014), with beta
(Higgins et al., "beta-VAE", ICLR 2017) and a linear warm-up (Sønderby et al., "Ladder Variational
Autoencoders", NIPS 2016; Bowman et al., CoNLL 2016).

The negative ELBO of one sample is  -E_q[log p(x|h)] + KL(q(h|x) || p(h)):  the first part is the
reconstruction objective (``bce``: a Bernoulli decoder; ``mse``: a Gaussian decoder with fixed
variance sigma^2 = 1/2, since -log N(x; x_hat, 1/2 I) = |x - x_hat|^2 + (d/2) log(pi), i.e. squared
error up to a constant), the second is this term, for the prior p(h) = N(0, I) in closed form.
A model with ``variational: true`` gets it automatically (beta = 1); ``penalties: {kl: 4}`` is a
beta-VAE, ``penalties: {kl: {weight: 1, warmup_epochs: 10}}`` anneals it in.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from aekit.config import param, validate
from aekit.errors import ConfigError
from aekit.objectives.reconstruction import weighted
from aekit.params import Interval
from aekit.registry import register

_NOT_VARIATIONAL = (
    "penalties.kl needs model.variational: true (a Gaussian code head that outputs mu and logvar); "
    "this model's code is deterministic. Set model.variational: true, or remove penalties.kl."
)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per sample, summed over code units: (B, k) -> (B,)."""
    # KL(q||p) = -0.5 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))   (Kingma & Welling, Appendix B)
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)


@register("objective", "kl")
@dataclass
class KLDivergence:
    """beta * KL(q(h|x) || N(0, I)), summed over code units, averaged over the batch (nats per sample).

    With ``warmup_epochs > 0`` the weight rises linearly from 0 (first epoch) to beta (epoch
    ``warmup_epochs`` onwards): beta * min(1, epoch / warmup_epochs), set by ``start_epoch``.
    """

    weight: float = param(1.0, Interval(float, 0, None), "beta: 1 is the VAE's ELBO, > 1 a beta-VAE")
    warmup_epochs: int = param(0, Interval(int, 0, None), "epochs over which the weight rises linearly from 0 to beta")

    def __post_init__(self) -> None:
        validate(self)
        self.scale = 0.0 if self.warmup_epochs else 1.0  # the warm-up factor at epoch 0

    @property
    def current_weight(self) -> float:
        """The weight applied now: beta times the warm-up factor."""
        return self.weight * self.scale

    def bind(self, model: nn.Module) -> None:
        if not getattr(model, "variational", False):
            raise ConfigError(_NOT_VARIATIONAL)

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """Set the warm-up factor for ``epoch`` (0-based) of ``epochs``."""
        self.scale = min(1.0, epoch / self.warmup_epochs) if self.warmup_epochs else 1.0

    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
        if "mu" not in out or "logvar" not in out:
            raise ConfigError(_NOT_VARIATIONAL)
        kl = gaussian_kl(out["mu"], out["logvar"])  # (B,)
        return {"kl": weighted(self.current_weight, kl.mean())}
