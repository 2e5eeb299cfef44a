"""A linear autoencoder against PCA: reconstruction error and the angles between their subspaces.

An autoencoder whose every map is affine (linear activations, identity output) trained with squared
error can do no better than PCA with as many components, and at its optimum its decoder spans PCA's
principal subspace (Baldi & Hornik, Neural Networks 1989; Bourlard & Kamp, Biol. Cybern. 1988). Its
weights need not be the principal directions themselves: any invertible mix of them is as good, so
the comparison is between *subspaces*, by their principal angles (Björck & Golub, Math. Comp. 1973;
``scipy.linalg.subspace_angles``): all near 0 degrees when the two span the same subspace, up to 90
degrees for a direction of one that is orthogonal to the other.

The decoder's column space is read off the network itself: for an affine g(h) = W h + b,
column j of W is g(e_j) - g(0), whatever the layers in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from aekit.analysis.metrics import as_rows, reconstruction_error
from aekit.errors import ConfigError


def is_linear(model: nn.Module) -> bool:
    """True when the encoder and decoder are affine maps: linear (or no) hidden activations, a linear
    code activation, an identity output and a deterministic code."""
    config = getattr(model, "config", None)
    return config is not None and getattr(model, "output", None) == "identity" and config.affine


@torch.no_grad()
def decoder_matrix(model: nn.Module) -> np.ndarray:
    """W of an affine decoder g(h) = W h + b as a (d, k) array: column j is g(e_j) - g(0)."""
    k = model.config.code_size
    weight = next(model.decoder.parameters())
    basis = torch.cat([torch.zeros(1, k), torch.eye(k)]).to(weight)  # (k+1, k): 0, e_1, ..., e_k
    out = model.decode_raw(basis).reshape(k + 1, -1).double().cpu().numpy()  # (k+1, d)
    return (out[1:] - out[0]).T  # (d, k)


@dataclass
class PCAError:
    """Squared error of PCA reconstructions: per image (summed over pixels, averaged) and per pixel."""

    n_components: int
    per_image: float
    mse: float
    pca: object  # the fitted sklearn PCA


def pca_reconstruction_error(x_train: np.ndarray, x_test: np.ndarray, n_components: int) -> PCAError:
    """Fit PCA with ``n_components`` (capped at min(n, d)) on ``x_train``; its error on ``x_test``."""
    from sklearn.decomposition import PCA

    x_train, x_test = as_rows(x_train, "x_train"), as_rows(x_test, "x_test")
    n_components = min(n_components, *x_train.shape)
    pca = PCA(n_components=n_components, random_state=0).fit(x_train)
    x_hat = pca.inverse_transform(pca.transform(x_test))  # (n, d)
    squared = ((x_hat - x_test) ** 2).sum(axis=1)  # (n,)
    return PCAError(n_components, float(squared.mean()), float(squared.mean() / x_test.shape[1]), pca)


@dataclass
class LinearVsPCA:
    """A linear autoencoder beside PCA with as many components, on the same test data."""

    code_size: int
    autoencoder_per_image: float  # mean over test images of sum over pixels (x_hat - x)^2
    autoencoder_mse: float  # the same per pixel
    pca_per_image: float
    pca_mse: float
    angles_deg: np.ndarray  # principal angles between span(W_decoder) and PCA's subspace, largest first

    @property
    def error_ratio(self) -> float:
        """Autoencoder error / PCA error: 1 at best for a linear autoencoder (up to sampling noise)."""
        return self.autoencoder_per_image / self.pca_per_image if self.pca_per_image > 0 else float("inf")


def compare_with_pca(model: nn.Module, x_train: np.ndarray, x_test: np.ndarray) -> LinearVsPCA:
    """Reconstruction error of a linear ``model`` and of PCA (fitted on ``x_train``) on ``x_test``,
    and the principal angles between the decoder's column space and PCA's principal subspace."""
    from scipy.linalg import subspace_angles

    if not is_linear(model):
        raise ConfigError(
            "compare_with_pca needs a linear autoencoder: model.activation 'linear' (or no hidden layer), "
            "model.code_activation 'linear', model.output 'identity' (loss.reconstruction: mse) and "
            "variational false. For any other model use pca_reconstruction_error for the PCA baseline."
        )
    ours = reconstruction_error(model, np.asarray(x_test, dtype=np.float32))
    theirs = pca_reconstruction_error(x_train, x_test, model.config.code_size)
    angles = subspace_angles(decoder_matrix(model), theirs.pca.components_.T)  # radians, largest first
    return LinearVsPCA(model.config.code_size, float(ours.per_image.mean()), ours.mse, theirs.per_image,
                       theirs.mse, np.degrees(angles))


__all__ = ["is_linear", "decoder_matrix", "pca_reconstruction_error", "PCAError", "compare_with_pca", "LinearVsPCA"]
