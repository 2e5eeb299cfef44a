"""Claim 1: a linear autoencoder learns PCA's subspace (Baldi & Hornik 1989; Bourlard & Kamp 1988).

Trained with squared error, an autoencoder whose maps are affine can at best match PCA with as many
components, and then its decoder spans PCA's principal subspace without having to be PCA's basis.
With f(x) = Uᵀ(x − μ), g(h) = U h + μ and UᵀU = I it *is* PCA.
"""

from __future__ import annotations

import numpy as np
import torch

from aekit.analysis.pca import compare_with_pca, decoder_matrix
from aekit.models import build_model
from aekit.registry import register
from aekit.tour.bench import QUICK_LIMIT, entry, split, train_config
from aekit.tour.claim import Claim, Evidence, Setting, mean, mean_sd, verdict

FULL_SIZES, QUICK_SIZES = (2, 10, 30), (2, 10)
WITHIN = 1.01  # the rule: test error at most 1 % above PCA's


def pca_autoencoder(pca, sample_shape: tuple[int, ...]) -> torch.nn.Module:
    """The linear autoencoder with f(x) = Uᵀ(x − μ), g(h) = U h + μ from a fitted sklearn PCA."""
    k = pca.n_components_
    model = build_model({"hidden": [], "code_size": int(k), "activation": "linear", "output": "identity"},
                        sample_shape, training=False)
    u = torch.from_numpy(pca.components_.T.astype(np.float32))  # (d, k), orthonormal columns
    mu = torch.from_numpy(pca.mean_.astype(np.float32))  # (d,)
    with torch.no_grad():
        head = model.encoder.head.linear
        head.weight.copy_(u.T)
        head.bias.copy_(-(u.T @ mu))
        (linear,) = [m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)]
        linear.weight.copy_(u)
        linear.bias.copy_(mu)
    return model.eval()


@register("claim", "linear_pca")
class LinearIsPCA(Claim):
    title = "A linear autoencoder learns PCA's subspace"
    order = 10

    def run(self, setting: Setting) -> Evidence:
        data = split("mnist5k", QUICK_LIMIT if setting.quick else None)
        sizes = QUICK_SIZES if setting.quick else FULL_SIZES
        rows, numbers, checks = [], {}, []
        last = None
        for k in sizes:
            ratios, angles, skew = [], [], []
            for seed in setting.seeds:
                overrides = [f"seed={seed}", f"model.code_size={k}", "model.hidden=[]", "model.activation=linear",
                             "loss.reconstruction=mse", *( [f"data.limit={QUICK_LIMIT}", "train.max_epochs=15"]
                                                           if setting.quick else [])]
                result = train_config(setting, f"linear-k{k}-seed{seed}", overrides)
                found = compare_with_pca(result.model, data.x_train, data.x_test)
                w = decoder_matrix(result.model)  # (d, k)
                ratios.append(found.error_ratio)
                angles.append(float(found.angles_deg.max()))
                skew.append(float(np.linalg.norm(w.T @ w - np.eye(k)) / np.sqrt(k)))  # 0 for orthonormal columns
                last = found
            exact = compare_with_pca(pca_autoencoder(_pca(data.x_train, k), data.sample_shape), data.x_train,
                                     data.x_test)
            numbers.update({f"ratio_k{k}": mean(ratios), f"max_angle_k{k}": mean(angles), f"skew_k{k}": mean(skew),
                            f"exact_ratio_k{k}": exact.error_ratio})
            checks.append(mean(ratios) <= WITHIN)
            rows.append([str(k), mean_sd(ratios, "{:.4f}"), mean_sd(angles, "{:.2f}°"), mean_sd(skew, "{:.2f}"),
                         f"{exact.error_ratio:.6f}"])
        figures = []
        if last is not None:
            from aekit.viz.linear import pca_figure

            figures.append(entry("pca", "The last trained linear autoencoder against PCA",
                                 f"Left: test error per image of the linear autoencoder (k = {last.code_size}) and "
                                 f"of PCA with as many components. Right: the principal angles between the "
                                 f"decoder's column space and PCA's subspace, largest first.", pca_figure(last)))
        n = "400 training images (quick)" if setting.quick else "the 3,500 training images"
        return Evidence(
            statement="A linear autoencoder trained with squared error reaches PCA's reconstruction error and spans "
                      "PCA's principal subspace, though its weights need not be orthonormal; with f = Uᵀ(x − μ), "
                      "g = U h + μ it is exactly PCA.",
            protocol=f"MNIST-5k, split seed 0 (70/10/20, stratified); trained on {n} with aekit's defaults for a "
                     f"linear model (epochs: auto, lr 1e-2, batch 128, stopping on the validation loss); PCA fitted "
                     f"on the same training rows; errors on the test split. Seeds {list(setting.seeds)}. Nothing "
                     f"was selected.",
            header=["code size k", "test error / PCA's", "largest principal angle", "‖WᵀW − I‖ / √k",
                    "PCA as an autoencoder: error / PCA's"],
            rows=rows,
            rule=f"holds when the mean error ratio is at most {WITHIN} at every code size; the angles say whether "
                 f"the subspace is PCA's, ‖WᵀW − I‖ whether the weights are orthonormal (they need not be).",
            verdict=verdict(checks), numbers=numbers, figures=figures)


def _pca(x_train: np.ndarray, k: int):
    from sklearn.decomposition import PCA

    return PCA(n_components=k, random_state=0).fit(x_train)
