"""Likelihoods of a variational autoencoder in nats: the ELBO (Kingma & Welling, ICLR 2014) and the
importance-sampled negative log-likelihood (Burda, Grosse & Salakhutdinov, "Importance Weighted
Autoencoders", ICLR 2016; Rezende et al., ICML 2014, Appendix E).

For one sample x with posterior q(h|x) = N(mu, diag(sigma^2)), prior p(h) = N(0, I):

    ELBO(x)   = E_q[log p(x|h)] - KL(q(h|x) || p(h))                      <= log p(x)
    log p(x) ~= logmeanexp_{i=1..k} [log p(x|h_i) + log p(h_i) - log q(h_i|x)],   h_i ~ q(h|x)

The second is a lower bound of log p(x) too, but tighter: its expectation never decreases with k
and reaches log p(x) as k -> infinity (Burda et al., Theorem 1). Both are returned per sample.

The decoder p(x|h) follows ``model.output``:

- ``"sigmoid"``: Bernoulli with means sigmoid(logits), log p(x|h) = -BCE(logits, x) summed over
  pixels. This is a probability only for **binary** x: binarize grey-level images first with
  :func:`binarize` (a fixed threshold, 0.5 by default — deterministic, the same pixels every run;
  not the stochastic binarisation of Salakhutdinov & Murray, ICML 2008, so numbers are not directly
  comparable with papers that use it).
- ``"identity"``: Gaussian N(x_hat, variance * I) with a fixed variance. The default 1/2 is the one
  the ``mse`` loss trains: -log N(x; x_hat, 1/2 I) = |x - x_hat|^2 + (d/2) log(pi).
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from aekit.errors import ConfigError
from aekit.models.gaussian import reparameterize
from aekit.objectives.variational import gaussian_kl
from aekit.params import SIZE, check

logger = logging.getLogger(__name__)

LOG_2PI = math.log(2.0 * math.pi)
GAUSSIAN_VARIANCE = 0.5  # the decoder variance that makes the mse loss an exact negative log-likelihood


def binarize(x: Tensor, threshold: float = 0.5) -> Tensor:
    """Binary images for a Bernoulli likelihood: 1 where x > threshold, else 0 (same dtype as x)."""
    return (x > threshold).to(x.dtype)


def log_likelihood(model: torch.nn.Module, raw: Tensor, x: Tensor, variance: float = GAUSSIAN_VARIANCE) -> Tensor:
    """log p(x|h) per sample from the decoder's raw output for that h: (N, *shape), (N, *shape) -> (N,)."""
    raw, x = raw.flatten(1), x.flatten(1)  # (N, d)
    if model.output == "sigmoid":
        # log Bernoulli(x; sigmoid(raw)) = -BCE(raw, x), summed over the d pixels
        return -F.binary_cross_entropy_with_logits(raw, x, reduction="none").sum(dim=1)
    # log N(x; x_hat, variance I) = -0.5 * sum((x - x_hat)^2 / variance + log(2 pi variance))
    return -0.5 * ((x - raw).pow(2) / variance + math.log(2.0 * math.pi * variance)).sum(dim=1)


def _log_standard_normal(h: Tensor) -> Tensor:
    """log N(h; 0, I) summed over code units: (..., k) -> (...)."""
    return -0.5 * (LOG_2PI + h.pow(2)).sum(dim=-1)


def _check(model: torch.nn.Module, x: Tensor, variance: float) -> None:
    if not getattr(model, "variational", False):
        raise ConfigError("Likelihoods need a variational model (model.variational: true): a deterministic "
                          "autoencoder defines no p(x). Train one with model.variational: true.")
    if not variance > 0:
        raise ConfigError(f"The 'variance' parameter must be a float in the range (0, inf). Got {variance!r} instead.")
    if model.output == "sigmoid" and x.numel() and not bool(((x == 0) | (x == 1)).all()):
        logger.warning("The Bernoulli likelihood is a probability only for binary data; x has values strictly "
                       "between 0 and 1. Binarize it first (aekit.analysis.likelihood.binarize).")


def _positive_int(name: str, value: int) -> None:
    check(name, value, SIZE)


@torch.no_grad()
def elbo(model: torch.nn.Module, x: Tensor, *, samples: int = 1, generator: torch.Generator | None = None,
         variance: float = GAUSSIAN_VARIANCE) -> Tensor:
    """The evidence lower bound per sample in nats, (B, *shape) -> (B,).

    E_q[log p(x|h)] is averaged over ``samples`` reparameterised draws (from ``generator``, else
    torch's global generator); the KL to the prior is exact. Works in train or eval mode alike.
    """
    _positive_int("samples", samples)
    _check(model, x, variance)
    mu, logvar = model.posterior(x)  # (B, k) each
    total = torch.zeros(x.shape[0], dtype=mu.dtype, device=mu.device)  # (B,)
    for _ in range(samples):
        h = reparameterize(mu, logvar, generator)  # (B, k)
        total += log_likelihood(model, model.decode_raw(h), x, variance)
    return total / samples - gaussian_kl(mu, logvar)  # ELBO = E_q[log p(x|h)] - KL(q || p)


@torch.no_grad()
def importance_sampled_nll(model: torch.nn.Module, x: Tensor, k: int = 1000, *, batch_size: int = 8192,
                           generator: torch.Generator | None = None,
                           variance: float = GAUSSIAN_VARIANCE) -> Tensor:
    """-log p(x) per sample in nats, estimated with ``k`` importance samples from q(h|x): (B, *shape) -> (B,).

    Memory is bounded by ``batch_size``, the number of decoded samples (rows x importance samples)
    held at once: k is processed in chunks and their log-sum-exps combined, so k = 5000 costs time,
    not memory. Draws come from ``generator`` (else torch's global generator), in a fixed order.
    """
    _positive_int("k", k)
    _positive_int("batch_size", batch_size)
    _check(model, x, variance)
    rows = max(1, batch_size // k)  # samples x per pass, each with min(k, batch_size) draws
    chunk = min(k, batch_size)
    nll = []
    for start in range(0, x.shape[0], rows):
        xb = x[start : start + rows]  # (b, *shape)
        b = xb.shape[0]
        mu, logvar = model.posterior(xb)  # (b, k_code) each
        std = torch.exp(0.5 * logvar)
        parts = []  # logsumexp of the log-weights of each chunk of draws, (b,) each
        for done in range(0, k, chunk):
            n = min(chunk, k - done)
            eps = torch.randn((n, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)  # (n, b, k_code)
            h = mu + std * eps  # (n, b, k_code)
            raw = model.decode_raw(h.reshape(n * b, -1))  # (n*b, *shape)
            target = xb.unsqueeze(0).expand(n, *xb.shape).reshape(n * b, *xb.shape[1:])  # (n*b, *shape)
            log_px_h = log_likelihood(model, raw, target, variance).reshape(n, b)  # log p(x|h_i)
            log_ph = _log_standard_normal(h)  # log p(h_i), (n, b)
            log_qh = -0.5 * (LOG_2PI + logvar + eps.pow(2)).sum(dim=-1)  # log q(h_i|x), (h - mu)/sigma = eps
            parts.append(torch.logsumexp(log_px_h + log_ph - log_qh, dim=0))  # (b,)
        log_px = torch.logsumexp(torch.stack(parts), dim=0) - math.log(k)  # logmeanexp over all k draws
        nll.append(-log_px)
    return torch.cat(nll)
