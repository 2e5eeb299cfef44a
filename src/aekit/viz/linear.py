"""The linear autoencoder against PCA (:func:`aekit.analysis.pca.compare_with_pca`): reconstruction
error side by side, and the principal angles between the decoder's column space and PCA's subspace.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from aekit.analysis.pca import LinearVsPCA
from aekit.viz._common import new_figure


def pca_figure(result: LinearVsPCA) -> Figure:
    """Left: test reconstruction error per image, linear autoencoder vs PCA with as many components;
    right: the principal angles between the two k-dimensional subspaces, in degrees (0 = shared)."""
    fig = new_figure(11.0, 3.8)
    ax_err, ax_angles = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    fig.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=0.15, wspace=0.3)
    names = ["linear autoencoder", "PCA"]
    values = [result.autoencoder_per_image, result.pca_per_image]
    bars = ax_err.bar(names, values, color=["tab:blue", "tab:orange"], width=0.6)
    for bar, value in zip(bars, values):
        ax_err.annotate(f"{value:.4g}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                        fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax_err.set_ylabel("squared error per test image")
    ax_err.set_title(f"k = {result.code_size}: error ratio {result.error_ratio:.3f}", fontsize=10)
    angles = np.sort(result.angles_deg)
    index = np.arange(1, len(angles) + 1)
    ax_angles.bar(index, angles, color="tab:purple", width=0.8)
    ax_angles.set_ylim(0, 90)
    ax_angles.set_xlabel("principal angle index (smallest first)")
    ax_angles.set_ylabel("angle (degrees)")
    ax_angles.set_title(f"decoder column space vs PCA subspace: largest angle {angles.max():.1f}°", fontsize=10)
    ax_angles.grid(alpha=0.3, axis="y")
    return fig


__all__ = ["pca_figure"]
