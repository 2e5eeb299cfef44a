"""The encoder's Jacobian J_f(x) = dh/dx at data points: its singular values and leading right singular
vectors (the spectrum of Rifai et al., "Contractive Auto-Encoders", ICML 2011; the tangents of Rifai
et al., "The Manifold Tangent Classifier", NIPS 2011).

A contractive encoder is flat in most directions around a training point and sensitive in a few: its
spectrum sigma_1 >= sigma_2 >= ... decays faster than a plain autoencoder's, and the right singular
vectors of the largest sigma_i are the input directions the code follows — tangents of the data
manifold, which look like small deformations of the digit::

    sv = jacobian_singular_values(model, x)                    # (n, min(k, d)), descending
    t = jacobian_tangents(model, x, n_directions=5)            # (n, 5, *sample_shape), unit norm
    spectrum_summary(sv)                                       # {"sigma_1": ..., "n_above_10pct": ...}

Exact and batched: J comes from torch.func (vmap of jacrev, or jacfwd when k > d) on ``model.encode``
(the posterior mean for a variational model), in chunks of ``batch_size`` samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from aekit.errors import ConfigError
from aekit.objectives.jacobian_norm import jacobian_mode


def _as_tensor(model: nn.Module, x: np.ndarray | Tensor) -> Tensor:
    parameter = next(model.parameters())
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
    return x.to(device=parameter.device, dtype=parameter.dtype)


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(
            f"The 'batch_size' parameter must be an int in the range [1, inf). Got {batch_size!r} instead."
        )


def encoder_jacobian(model: nn.Module, x: np.ndarray | Tensor, batch_size: int = 256) -> Tensor:
    """dh/dx for each sample of ``x`` (n, *sample_shape): a tensor (n, k, d), d = prod(sample_shape).

    Computed in eval mode and without a graph (the model's weights are not differentiated).
    """
    from torch.func import jacfwd, jacrev, vmap

    _check_batch_size(batch_size)
    x = _as_tensor(model, x)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            k = model.encode(x[:1]).shape[-1]
        d = x[0].numel()
        transform = {"jacrev": jacrev, "jacfwd": jacfwd}[jacobian_mode(k, d)]
        jac_one = vmap(transform(lambda xi: model.encode(xi.unsqueeze(0)).squeeze(0)))
        with torch.no_grad():
            parts = [jac_one(chunk).reshape(chunk.shape[0], k, d) for chunk in x.split(batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(parts)  # (n, k, d)


def jacobian_singular_values(model: nn.Module, x: np.ndarray | Tensor, batch_size: int = 256) -> np.ndarray:
    """Singular values of J_f at each sample, descending: an array (n, min(k, d)) (float64)."""
    _check_batch_size(batch_size)
    x = _as_tensor(model, x)
    out = [torch.linalg.svdvals(encoder_jacobian(model, chunk, batch_size).double()) for chunk in x.split(batch_size)]
    return torch.cat(out).cpu().numpy()


def jacobian_tangents(model: nn.Module, x: np.ndarray | Tensor, n_directions: int = 5,
                      batch_size: int = 256) -> np.ndarray:
    """The ``n_directions`` leading right singular vectors of J_f at each sample — the input directions
    the code is most sensitive to (tangents of the learned manifold): (n, n_directions, *sample_shape).

    Each has unit norm; its sign is fixed so that its largest-magnitude entry is positive (a singular
    vector is defined up to sign; this makes figures reproducible).
    """
    _check_batch_size(batch_size)
    x = _as_tensor(model, x)
    sample_shape = tuple(x.shape[1:])
    k = None
    out = []
    for chunk in x.split(batch_size):
        jac = encoder_jacobian(model, chunk, batch_size).double()  # (b, k, d)
        k = jac.shape[1]
        limit = min(jac.shape[1], jac.shape[2])
        if isinstance(n_directions, bool) or not isinstance(n_directions, int) or not 1 <= n_directions <= limit:
            raise ConfigError(
                f"The 'n_directions' parameter must be an int in the range [1, {limit}] (min(k, d) = "
                f"min({k}, {jac.shape[2]})). Got {n_directions!r} instead."
            )
        _, _, vh = torch.linalg.svd(jac, full_matrices=False)  # vh: (b, min(k, d), d), rows descending
        v = vh[:, :n_directions]  # (b, r, d)
        peak = v.gather(2, v.abs().argmax(2, keepdim=True))  # (b, r, 1)
        out.append(v * torch.sign(peak))
    return torch.cat(out).reshape(x.shape[0], n_directions, *sample_shape).cpu().numpy()


def spectrum_summary(singular_values: np.ndarray, ranks: Sequence[int] = (1, 5, 10),
                     relative: float = 0.1) -> dict[str, float]:
    """Mean over samples of: ||J||_F, sigma_r for each rank r in ``ranks`` (1-based), sigma_r / sigma_1,
    and the number of singular values above ``relative`` times that sample's largest one."""
    sv = np.asarray(singular_values, dtype=np.float64)
    if sv.ndim != 2 or sv.shape[1] == 0:
        raise ConfigError(f"singular_values must be an array (n, m) with m >= 1. Got shape {sv.shape}.")
    top = sv[:, :1]
    summary = {"frobenius": float(np.sqrt((sv**2).sum(1)).mean())}
    for r in ranks:
        if r <= sv.shape[1]:
            summary[f"sigma_{r}"] = float(sv[:, r - 1].mean())
            summary[f"sigma_{r}/sigma_1"] = float((sv[:, r - 1] / np.maximum(top[:, 0], 1e-300)).mean())
    summary[f"n_above_{relative:g}"] = float((sv > relative * top).sum(1).mean())
    return summary
