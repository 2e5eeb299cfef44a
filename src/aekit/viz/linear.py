"""The linear autoencoder against PCA (:func:`aekit.analysis.pca.compare_with_pca`): reconstruction
error side by side, and the principal angles between the decoder's column space and PCA's subspace.
In the report the figure applies to a model whose encoder and decoder are affine maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from aekit.analysis.pca import LinearVsPCA, compare_with_pca, is_linear
from aekit.analysis.run_analysis import RunAnalysis
from aekit.registry import register
from aekit.viz._common import new_figure
from aekit.viz.figure import ReportFigure

ANGLE_ORDER = "smallest first"  # the bars of the angles, as the axis and every caption say


def pca_figure(result: LinearVsPCA) -> Figure:
    """Left: test reconstruction error per image, linear autoencoder vs PCA with as many components;
    right: the principal angles between the two k-dimensional subspaces, in degrees (0 = shared)."""
    fig = new_figure(11.0, 3.8)
    ax_err, ax_angles = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    fig.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=0.15, wspace=0.3)
    names = ["linear autoencoder", "PCA"]
    values = [result.autoencoder_per_image, result.pca_per_image]
    bars = ax_err.bar(names, values, color=["tab:blue", "tab:orange"], width=0.6)
    ax_err.set_ylim(0, 1.15 * max(max(values), 1e-12))  # room above the bars for their labels, off the frame
    for bar, value in zip(bars, values):
        ax_err.annotate(f"{value:.4g}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                        fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax_err.set_ylabel("squared error per test image")
    ax_err.set_title(f"k = {result.code_size}: error ratio {result.error_ratio:.3f}", fontsize=10)
    angles = np.sort(result.angles_deg)
    index = np.arange(1, len(angles) + 1)
    ax_angles.bar(index, angles, color="tab:purple", width=0.8)
    ax_angles.set_ylim(0, 90)
    ax_angles.set_xlabel(f"principal angle index ({ANGLE_ORDER})")
    ax_angles.set_ylabel("angle (degrees)")
    ax_angles.set_title(f"decoder column space vs PCA subspace: largest angle {angles.max():.1f}°", fontsize=10)
    ax_angles.grid(alpha=0.3, axis="y")
    return fig


@register("figure", "pca")
class PCAFigure(ReportFigure):
    title = "The linear autoencoder against PCA"
    order = 120

    def applies(self, run: RunAnalysis) -> str | None:
        if is_linear(run.model):
            return None
        return ("the model is not linear (it needs linear activations or no hidden layer, a linear code, "
                "an identity output with loss.reconstruction: mse, and no variational head).")

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        result = compare_with_pca(run.model, run.x_train, run.x_test)
        return pca_figure(result), {"pca": result}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        return (f"This model is linear (every layer affine), the case where an autoencoder trained with squared error "
                f"can at best match PCA with as many components, and its decoder then spans PCA's principal subspace "
                f"without having to be PCA's basis (Baldi & Hornik, 1989). Left: test reconstruction error per image "
                f"of this model and of PCA with k = {run.model.config.code_size} components fitted on the training "
                f"split; a ratio near 1 means training reached that optimum. Right: the principal angles between the "
                f"decoder's column space and PCA's subspace (scipy.linalg.subspace_angles): all near 0° means the same "
                f"subspace; large angles mean training has not converged (or the learning rate or epochs are too "
                f"small).")


__all__ = ["ANGLE_ORDER", "pca_figure", "PCAFigure"]
