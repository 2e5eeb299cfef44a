"""Start an MLP autoencoder at PCA: weights whose reconstruction is exactly PCA-k's, fitted on the training
rows, from which training learns a non-linear correction (a PCA warm start, as in Seuret et al., "PCA-
initialized deep neural networks applied to document image analysis", ICDAR 2017).

Why it works with ReLU: relu(z) - relu(-z) = z, so 2n hidden units [relu(z); relu(-z)] carry any n numbers
through a layer unchanged. With V (d, k) the first k principal axes of the training rows and mu their mean:

    encoder  x -> [relu(x); relu(-x); other units] -> h = V^T (x - mu)          (every hidden layer >= 2d wide)
    decoder  h -> [relu(h); relu(-h); other units] -> x_hat = V h + mu          (every hidden layer >= 2k wide)

The other hidden units keep their random initialisation; what the code and the output read from them starts
at 0 (their gradients do not), so the network starts as PCA and training moves it only where the loss falls.
Nothing random is drawn: the start is a function of the training rows, and a resumed run is unchanged.

``start`` (``train.start`` in a run config, ``start`` of the estimators) is decided by :func:`choose_start`:
``auto`` is ``pca`` for a table (data standardised) when the model can start there, else ``random``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from aekit.errors import ConfigError

logger = logging.getLogger(__name__)

STARTS = ("auto", "pca", "random")


def why_not_pca(config: Any, sample_shape: Sequence[int], n_train: int) -> str | None:
    """Why a model of ``config`` (code size resolved) cannot start at PCA on ``n_train`` rows of
    ``sample_shape``; None when it can."""
    d, k = math.prod(sample_shape), config.code_size
    hidden = list(getattr(config, "hidden", []))
    if config.kind != "mlp" or getattr(config, "tied", False):
        return "only an untied MLP (model.kind: mlp, tied: false) starts at PCA"
    if config.variational or config.code_activation != "linear" or config.output != "identity":
        return "the code must be linear and deterministic and the output linear (squared error)"
    if hidden and config.activation != "relu":
        return f"the hidden layers pass PCA's values through ReLU pairs (activation: relu); got {config.activation!r}"
    if not k <= min(d, n_train):
        return f"PCA has at most min(d, rows) = {min(d, n_train)} axes; the code has {k}"
    if hidden and min(hidden) < 2 * d:
        return f"every hidden layer must be at least 2d = {2 * d} wide to carry the input through; got {hidden}"
    return None


def choose_start(start: str, table: bool, config: Any, sample_shape: Sequence[int], n_train: int,
                 where: str = "train.start") -> str:
    """``start`` with ``auto`` resolved: ``pca`` for a ``table`` (data standardised, squared error) when the model
    can start there (:func:`why_not_pca`), else ``random``; ``pca`` for a model that cannot is refused. Logged."""
    if start not in STARTS:
        raise ConfigError(f"The {where!r} parameter must be one of {', '.join(STARTS)}; got {start!r}.")
    reason = why_not_pca(config, sample_shape, n_train)
    if start == "pca" and reason is not None:
        raise ConfigError(f"{where}: pca is not available for this model: {reason}. Set {where} to random (or auto).")
    if start != "auto":
        return start
    if not table:
        return "random"
    if reason is not None:
        logger.info("%s: auto: random (a table, but %s)", where, reason)
        return "random"
    logger.info("%s: auto: pca (a table: the model starts as PCA-%d of the training rows)", where, config.code_size)
    return "pca"


def _pass_through(layers: list[nn.Linear], n: int) -> None:
    """The first 2n units of each layer carry [relu(z); relu(-z)] of the stack's n inputs z."""
    eye = torch.eye(n)
    for i, layer in enumerate(layers):
        layer.weight[: 2 * n] = 0
        layer.bias[: 2 * n] = 0
        if i == 0:  # from z itself
            layer.weight[:n, :n], layer.weight[n : 2 * n, :n] = eye, -eye
        else:  # from [relu(z); relu(-z)]: z = relu(z) - relu(-z)
            layer.weight[:n, :n], layer.weight[:n, n : 2 * n] = eye, -eye
            layer.weight[n : 2 * n, :n], layer.weight[n : 2 * n, n : 2 * n] = -eye, eye


def _read_out(layer: nn.Linear, m: np.ndarray, shift: np.ndarray, n: int, hidden: bool) -> None:
    """``layer`` computes m z + shift from the pass-through units of z (n numbers), or from z itself."""
    w = torch.as_tensor(m, dtype=layer.weight.dtype)
    layer.weight.zero_()
    layer.weight[:, :n] = w
    if hidden:
        layer.weight[:, n : 2 * n] = -w
    layer.bias.copy_(torch.as_tensor(shift, dtype=layer.bias.dtype))


@torch.no_grad()
def start_at_pca(model: nn.Module, x_train: np.ndarray) -> None:
    """Set ``model`` (an MLP autoencoder that :func:`why_not_pca` accepts) to reconstruct as PCA-k fitted on
    ``x_train`` (n, *sample_shape), as the model sees the data."""
    x = np.asarray(x_train, dtype=np.float64).reshape(len(x_train), -1)  # (n, d)
    mu = x.mean(axis=0)
    k = model.config.code_size
    v = np.linalg.svd(x - mu, full_matrices=False)[2][:k].T  # (d, k): the first k principal axes
    d = x.shape[1]
    encoder = [m for m in model.encoder.body if isinstance(m, nn.Linear)]
    decoder = [m for m in model.decoder.net if isinstance(m, nn.Linear)]
    _pass_through(encoder, d)
    _read_out(model.encoder.head.linear, v.T, -v.T @ mu, d, bool(encoder))  # h = V^T (x - mu)
    _pass_through(decoder[:-1], k)
    _read_out(decoder[-1], v, mu, k, len(decoder) > 1)  # x_hat = V h + mu


__all__ = ["STARTS", "choose_start", "start_at_pca", "why_not_pca"]
