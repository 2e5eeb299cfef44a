"""The encoder's Jacobian J_f(x) = dh/dx at test points: its singular values and leading directions.

A contractive autoencoder (Rifai et al., ICML 2011) penalises ||J_f(x)||²_F, so the encoder becomes
insensitive to most input directions; the few directions it stays sensitive to — large singular
values, whose right singular vectors are input-space images — are the tangents of the data manifold
the code keeps (Rifai et al., "The Manifold Tangent Classifier", NIPS 2011, Fig. 2). A sharply
falling spectrum means a contracted code; a flat one means every direction passes.

The Jacobian is exact, from :mod:`aekit.analysis.jacobian` (torch.func, batched): the singular values
at every point with ``jacobian_singular_values``, the leading right singular vectors of the examples
with ``jacobian_tangents`` (signs fixed so the largest entry is positive). In the report the figure
applies when an objective of the run declares the ``contractive`` capability.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from aekit.analysis.jacobian import jacobian_singular_values, jacobian_tangents
from aekit.analysis.run_analysis import RunAnalysis
from aekit.registry import register
from aekit.viz._common import as_images, data_limits, new_figure, numpy, show
from aekit.viz.figure import ReportFigure, declaring, registered_declaring


def jacobian_figure(model: nn.Module, x: np.ndarray | torch.Tensor, n_examples: int = 3, n_directions: int = 5) -> Figure:
    """Left: singular values of J_f(x) over the rows of ``x`` (median and 10-90 % band, log scale);
    right: for ``n_examples`` inputs, the input and its ``n_directions`` leading right singular vectors."""
    x = numpy(x)
    values = jacobian_singular_values(model, x)  # (n, r), descending, r = min(k, d)
    n, r = values.shape
    n_examples = min(n_examples, n)
    n_directions = min(n_directions, r)
    tangents = jacobian_tangents(model, x[:n_examples], n_directions)  # (e, m, *sample_shape)
    fig = new_figure(12.0, 1.5 * n_examples + 1.6)
    # columns: the spectrum, a gap, the input, then one per direction
    grid = fig.add_gridspec(n_examples, 3 + n_directions, width_ratios=[3.2, 0.25, 1] + [1] * n_directions,
                            left=0.06, right=0.99, top=0.84, bottom=0.14, wspace=0.12, hspace=0.3)
    ax_spec = fig.add_subplot(grid[:, 0])
    index = np.arange(1, r + 1)
    low, median, high = np.percentile(values, [10, 50, 90], axis=0)
    ax_spec.fill_between(index, np.maximum(low, 1e-12), np.maximum(high, 1e-12), color="tab:blue", alpha=0.25,
                         label="10-90 % of points")
    ax_spec.plot(index, np.maximum(median, 1e-12), marker="o", markersize=3, color="tab:blue", label="median")
    ax_spec.set_yscale("log")
    ax_spec.set_xlabel("singular value index i")
    ax_spec.set_ylabel("singular value σ_i of J_f(x)")
    ax_spec.set_title(f"Jacobian spectrum at {n} test points", fontsize=10)
    ax_spec.legend(fontsize=8)
    ax_spec.grid(alpha=0.3)
    inputs = as_images(x[:n_examples], model.sample_shape)
    limits = data_limits(x)
    for row in range(n_examples):
        show(fig.add_subplot(grid[row, 2]), inputs[row], limits=limits, title="input x" if row == 0 else None)
        directions = as_images(tangents[row], model.sample_shape)
        for i in range(n_directions):
            show(fig.add_subplot(grid[row, 3 + i]), directions[i], signed=True, title=f"σ{i + 1} = {values[row, i]:.2g}")
    fig.suptitle("leading tangent directions (right singular vectors, red +, blue −)", x=0.66, y=0.97, fontsize=10)
    return fig


@register("figure", "jacobian")
class JacobianFigure(ReportFigure):
    title = "Contraction: the encoder's Jacobian"
    order = 100
    max_points = 100  # test points whose Jacobian is computed (the first of the test split)

    def applies(self, run: RunAnalysis) -> str | None:
        if declaring(run, "contractive"):
            return None
        names = " or ".join(registered_declaring("contractive")) or "none is registered"
        return f"the run has no contractive penalty (penalties: {names})."

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        points = run.x_test[: self.max_points]
        return jacobian_figure(run.model, points), {"points": len(points)}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        return (f"The encoder's Jacobian J_f(x) = ∂h/∂x, computed exactly (torch.func, aekit.analysis.jacobian) at "
                f"{facts['points']} test points (the first of the test split). Left: its singular values, "
                f"largest first (median over the points and the band from the 10th to the 90th percentile, log scale): "
                f"the encoder stretches a small input change along direction i by σ_i. A contractive penalty makes most "
                f"singular values tiny — the code ignores most ways an input can change — and leaves a few large ones. "
                f"Right: for three test inputs, the right singular vectors of the largest singular values, drawn as "
                f"images (red +, blue −): the input changes the code is most sensitive to. For a well-trained "
                f"contractive model they look like local deformations of the input (strokes moving or thickening), "
                f"tangents to the data manifold.")


__all__ = ["jacobian_figure", "JacobianFigure"]
