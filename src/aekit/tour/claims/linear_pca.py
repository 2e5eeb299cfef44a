"""Claim 1: a linear autoencoder learns PCA's subspace (Baldi & Hornik 1989; Bourlard & Kamp 1988).

Trained with squared error, an autoencoder whose maps are affine can at best match PCA with as many
components, and then its decoder spans PCA's principal subspace without having to be PCA's basis.
With f(x) = Uᵀ(x − μ), g(h) = U h + μ and UᵀU = I it *is* PCA.
"""

from __future__ import annotations

import numpy as np
import torch

from aekit.analysis.metrics import reconstruction_error
from aekit.analysis.pca import compare_with_pca, decoder_matrix
from aekit.models import build_model
from aekit.registry import register
from aekit.tour.bench import entry, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Setting, decide, mean, mean_sd, one_out

FULL_SIZES, QUICK_SIZES = (2, 10, 30), (2, 10)
WITHIN = 1.01  # the error check: test error at most 1 % above PCA's
ANGLE = 10.0  # the subspace check: the largest principal angle to PCA's subspace below 10 degrees
NEAR = 0.02  # eigenvalues k and k + 1 within 2 % of each other: PCA's k-th direction is barely defined
EFFECT_RATIO, EFFECT_ANGLE = 0.01, 5.0  # effects of interest: a ratio of exactly 1; an angle 5 degrees inside


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


def eigengap(x_train: np.ndarray, k: int) -> float:
    """(λ_k − λ_{k+1}) / λ_k of the training covariance: near 0 when PCA's k-th direction is barely defined
    (any mix of it with the next costs almost no error, so a large angle there means little)."""
    eigenvalues = np.linalg.eigvalsh(np.cov(x_train.astype(np.float64), rowvar=False))[::-1]  # descending
    return float((eigenvalues[k - 1] - eigenvalues[k]) / eigenvalues[k - 1])


@register("claim", "linear_pca")
class LinearIsPCA(Claim):
    title = "A linear autoencoder learns PCA's subspace"
    order = 10

    def run(self, setting: Setting) -> Evidence:
        sizes = QUICK_SIZES if setting.quick else FULL_SIZES
        found = {k: {"ratio": [], "angle": [], "skew": [], "exact": [], "gap": [], "ratio_out": []} for k in sizes}
        last = data = None
        for seed in setting.seeds:
            data = split_of(setting, seed)
            for k in sizes:
                overrides = [f"model.code_size={k}", "model.hidden=[]", "model.activation=linear",
                             "loss.reconstruction=mse", *(["train.max_epochs=15"] if setting.quick else [])]
                result = train_config(setting, f"linear-k{k}-seed{seed}", overrides, seed=seed)
                last = compare_with_pca(result.model, data.x_train, data.x_test)
                pca = _pca(data.x_train, k)
                ours = reconstruction_error(result.model, data.x_test).per_image  # (n,)
                theirs = ((pca.inverse_transform(pca.transform(data.x_test)) - data.x_test) ** 2).sum(axis=1)  # (n,)
                ratio, out = one_out(lambda a, b: a / b, ours, theirs)
                w = decoder_matrix(result.model)  # (d, k)
                exact = compare_with_pca(pca_autoencoder(pca, data.sample_shape), data.x_train, data.x_test)
                for key, value in (("ratio", ratio), ("angle", float(last.angles_deg.max())),
                                   ("skew", float(np.linalg.norm(w.T @ w - np.eye(k)) / np.sqrt(k))),  # 0: orthonormal
                                   ("exact", exact.error_ratio), ("gap", eigengap(data.x_train, k)),
                                   ("ratio_out", out)):
                    found[k][key].append(value)
        rows, numbers, checks, notes = [], {}, [], []
        for k in sizes:
            f = found[k]
            numbers.update({f"ratio_k{k}": mean(f["ratio"]), f"max_angle_k{k}": mean(f["angle"]),
                            f"skew_k{k}": mean(f["skew"]), f"exact_ratio_k{k}": mean(f["exact"]),
                            f"eigengap_k{k}": mean(f["gap"])})
            checks.append(Check(f"k = {k}: error within {WITHIN - 1:.0%} of PCA's ({WITHIN:g} − ratio)",
                                [WITHIN - r for r in f["ratio"]], EFFECT_RATIO, fmt="{:.4f}",
                                image_out=[(WITHIN - hi, WITHIN - lo) for lo, hi in f["ratio_out"]]))
            checks.append(Check(f"k = {k}: spans PCA's subspace ({ANGLE:g}° − largest angle)",
                                [ANGLE - a for a in f["angle"]], EFFECT_ANGLE, unit="°", fmt="{:.2f}",
                                image_out=[(ANGLE - a, ANGLE - a) for a in f["angle"]]))  # no test image enters
            rows.append([str(k), mean_sd(f["ratio"], "{:.4f}"), mean_sd(f["angle"], "{:.2f}°"),
                         ", ".join(f"{a:.1f}°" for a in f["angle"]), mean_sd(f["gap"], "{:.4f}"),
                         mean_sd(f["skew"], "{:.2f}"), mean_sd(f["exact"], "{:.6f}")])
            if mean(f["angle"]) > ANGLE and mean(f["gap"]) < NEAR:
                notes.append(f"k = {k}: the {k}th and {k + 1}th eigenvalues of the training covariance are within "
                             f"{mean(f['gap']):.1%} of each other (mean over seeds): PCA's {k}th direction is barely "
                             f"defined, and a subspace that mixes it with the {k + 1}th loses almost no error (ratio "
                             f"{mean(f['ratio']):.4f}) — near-degenerate eigenvalues explain the large angle.")
            elif mean(f["angle"]) > ANGLE:
                notes.append(f"k = {k}: the largest angle ({mean(f['angle']):.1f}° on average) is not explained by "
                             f"near-degenerate eigenvalues: eigenvalues {k} and {k + 1} are {mean(f['gap']):.1%} "
                             f"apart (a likely cause, not tested here: training stopped before "
                             f"the subspace converged on the seeds with a large angle).")
        decision = decide(checks, setting.seeds)
        figures = []
        if last is not None:
            from aekit.viz.linear import ANGLE_ORDER, pca_figure

            figures.append(entry("pca", "The last trained linear autoencoder against PCA",
                                 f"Left: test error per image of the linear autoencoder (k = {last.code_size}, seed "
                                 f"{setting.seeds[-1]}) and of PCA with as many components. Right: the principal "
                                 f"angles between the decoder's column space and PCA's subspace, {ANGLE_ORDER}.",
                                 pca_figure(last)))
        n = f"{len(data.x_train):,} training images" + (" (quick)" if setting.quick else "")
        return Evidence(
            statement="A linear autoencoder trained with squared error reaches PCA's reconstruction error and spans "
                      "PCA's principal subspace, though its weights need not be orthonormal; with f = Uᵀ(x − μ), "
                      "g = U h + μ it is exactly PCA.",
            protocol=f"{split_protocol(setting)}; trained on the {n} with aekit's defaults for a linear model "
                     f"(epochs: auto, lr 1e-2, batch 128, stopping on the validation loss); PCA fitted on the same "
                     f"training rows; errors on the test split; principal angles between the decoder's column "
                     f"space and PCA's k-dimensional subspace. Seeds {list(setting.seeds)}. Nothing was selected.",
            header=["code size k", "test error / PCA's", "largest principal angle", "per seed",
                    "eigengap (λ_k − λ_k+1) / λ_k", "‖WᵀW − I‖ / √k", "PCA as an autoencoder: error / PCA's"],
            rows=rows,
            rule=f"two per code size: the error check ({WITHIN:g} minus the test error ratio: PCA's error within "
                 f"{WITHIN - 1:.0%}) and the subspace check ({ANGLE:g}° minus the largest principal angle between "
                 f"the decoder's column space and PCA's subspace: every direction of one within {ANGLE:g}° of the "
                 f"other); the statement is both. ‖WᵀW − I‖ is reported (the weights need not be orthonormal), "
                 f"and the eigengap says whether PCA's k-th direction is defined well enough for an angle to "
                 f"mean much.",
            decision=decision, numbers=numbers, figures=figures, notes=notes, scale=data.scale)


def _pca(x_train: np.ndarray, k: int):
    from sklearn.decomposition import PCA

    return PCA(n_components=k, random_state=0).fit(x_train)
