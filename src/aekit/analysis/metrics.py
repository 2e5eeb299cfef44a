"""Metrics of a trained autoencoder: reconstruction error, PSNR and code sparsity.

- PSNR, the image-restoration score used for denoisers (e.g. Xie et al., NIPS 2012, on denoising
  autoencoders): PSNR_i = 10 log10(R^2 / MSE_i) dB per image, with R the data range;
- reconstruction error |x_hat - x|^2 per image and its per-pixel mean (Hinton & Salakhutdinov,
  Science 2006, report the per-image squared error);
- sparsity of a code: mean activation (the rho_hat of Ng's CS294A notes), the fraction of code
  entries near zero, and each unit's mean activation.

Inputs may be numpy arrays or torch tensors; outputs are Python floats and numpy arrays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from aekit.errors import ConfigError, DataError

NEAR_ZERO = 1e-2  # default threshold of sparsity_stats: |h| below 0.01 counts as "near zero"


def _numpy(a: Any, name: str) -> np.ndarray:
    """float64 numpy copy of an array or tensor (detached, on the CPU)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be an array or tensor of numbers; got {type(a).__name__}.") from None


def as_rows(a: Any, name: str) -> np.ndarray:
    """A non-empty batch (n, ...) as float64 rows (n, d), one flattened sample per row."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim < 2 or len(a) == 0:
        raise DataError(f"{name} must be a non-empty batch shaped (n, ...); got shape {a.shape}.")
    return a.reshape(len(a), -1)


def _per_image_mse(x_hat: np.ndarray, x: np.ndarray) -> np.ndarray:
    if x_hat.shape != x.shape:
        raise DataError(f"x_hat and x must have the same shape; got {x_hat.shape} and {x.shape}.")
    if x.ndim < 2:
        raise DataError(f"Expected a batch of images shaped (n, ...) with n first; got shape {x.shape}. "
                        f"Add a batch axis to a single image (x[None]).")
    return ((x_hat - x) ** 2).reshape(len(x), -1).mean(axis=1)  # (n,)


def psnr(x_hat: Any, x: Any, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio of each image, in dB: 10 log10(data_range^2 / MSE_i), shape (n,).

    ``x_hat`` and ``x`` are batches of the same shape (n, ...); MSE_i is the mean over the pixels of
    image i. A perfect reconstruction (MSE_i = 0) scores +inf. Average the returned values to
    report a data set's PSNR (the mean of per-image dB, the usual convention for denoising).
    """
    if not (isinstance(data_range, (int, float)) and not isinstance(data_range, bool) and data_range > 0):
        raise ConfigError(f"The 'data_range' parameter of psnr must be a float in the range (0, inf). "
                          f"Got {data_range!r} instead.")
    mse = _per_image_mse(_numpy(x_hat, "x_hat"), _numpy(x, "x"))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(float(data_range) ** 2 / mse)


class ReconstructionError(NamedTuple):
    """``per_image``: sum over pixels of (x_hat - x)^2 for each image, shape (n,);
    ``mse``: the mean over all images and pixels (per-pixel MSE), a float."""

    per_image: np.ndarray
    mse: float


@torch.no_grad()
def reconstruction_error(model: nn.Module, x: Any, batch_size: int = 1024) -> ReconstructionError:
    """Squared error of ``model.reconstruct(x)`` against ``x``: per image (summed over pixels) and per pixel.

    The model is evaluated in eval mode (a variational model reconstructs from its mean code) and
    left in the mode it was in; ``x`` (n, ...) is fed in batches on the model's device.
    """
    x_np = _numpy(x, "x").astype(np.float32)
    if x_np.ndim < 2 or len(x_np) == 0:
        raise DataError(f"Expected a non-empty batch shaped (n, ...); got shape {x_np.shape}.")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        per_image = []
        for start in range(0, len(x_np), batch_size):
            xb = torch.from_numpy(x_np[start : start + batch_size]).to(device)
            x_hat = model.reconstruct(xb)  # same shape as xb
            per_image.append((x_hat - xb).pow(2).flatten(1).sum(1).double().cpu().numpy())  # (b,)
    finally:
        model.train(was_training)
    errors = np.concatenate(per_image)  # (n,)
    n_pixels = int(np.prod(x_np.shape[1:]))
    return ReconstructionError(errors, float(errors.mean() / n_pixels))


class SparsityStats(NamedTuple):
    """Sparsity of codes h (n, k): see :func:`sparsity_stats`."""

    mean_activation: float  # mean of h over samples and units
    near_zero_fraction: float  # fraction of entries h_bj with |h_bj| < threshold
    per_unit_mean: np.ndarray  # (k,) mean activation of each unit, Ng's rho_hat_j over the data
    threshold: float


def sparsity_stats(h: Any, threshold: float = NEAR_ZERO) -> SparsityStats:
    """Mean activation, fraction of near-zero code entries (|h| < ``threshold``, 0.01 by default) and
    the mean activation of each unit, for codes ``h`` of shape (n, k).

    The threshold is absolute: 0.01 suits codes of order 1 (sigmoid codes, ReLU codes of MNIST
    autoencoders); a ReLU's exact zeros count for any positive threshold.
    """
    if not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold >= 0):
        raise ConfigError(f"The 'threshold' parameter of sparsity_stats must be a float in the range [0, inf). "
                          f"Got {threshold!r} instead.")
    h = _numpy(h, "h")
    if h.ndim != 2 or h.size == 0:
        raise DataError(f"Expected codes shaped (n, k) with n, k >= 1; got shape {h.shape}.")
    return SparsityStats(
        mean_activation=float(h.mean()),
        near_zero_fraction=float((np.abs(h) < threshold).mean()),
        per_unit_mean=h.mean(axis=0),  # (k,)
        threshold=float(threshold),
    )


__all__ = ["as_rows", "psnr", "reconstruction_error", "ReconstructionError", "sparsity_stats", "SparsityStats", "NEAR_ZERO"]
