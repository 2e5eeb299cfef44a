"""The pipeline of an autoencoder, step by step, for a few inputs (DESIGN.md's one idea, drawn):

    x ──corrupt──▶ x̃ ──encoder f──▶ h ──decoder g──▶ x̂

One row per input: the input, the corrupted input (denoising runs only), the code as a bar chart
(for a variational model its mean mu with ±1 posterior standard deviation as error bars) and the
reconstruction, with its squared error against the clean input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from aekit.analysis.run_analysis import SEED, RunAnalysis
from aekit.registry import register
from aekit.viz._common import as_images, data_limits, grid_axes, new_figure, numpy, show
from aekit.viz.figure import ReportFigure, not_images


@torch.no_grad()
def pipeline_figure(model: torch.nn.Module, x: np.ndarray | torch.Tensor,
                    corruption: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                    seed: int = 0) -> Figure:
    """Input → (corrupted input) → code → reconstruction for each row of ``x`` (n, *sample_shape).

    ``corruption`` is called ``(x, generator)`` with a generator seeded by ``seed``; the model is fed
    its output, and the error of the reconstruction is measured against the clean x.
    """
    x = torch.from_numpy(numpy(x))
    x_tilde = corruption(x, torch.Generator().manual_seed(seed)) if corruption is not None else x
    was_training = model.training
    model.eval()
    try:
        h = model.encode(x_tilde)  # (n, k): mu for a variational model
        sigma = torch.exp(0.5 * model.posterior(x_tilde)[1]) if getattr(model, "variational", False) else None
        x_hat = model.decode(h).reshape(x.shape)  # (n, *sample_shape)
    finally:
        model.train(was_training)
    shape = model.sample_shape
    columns = ["input x", *(["corrupted input x̃"] if corruption is not None else []), "code h", "reconstruction x̂"]
    n = x.shape[0]
    fig = new_figure(2.0 * len(columns) + 1.0, 1.6 * n + 0.5)
    axes = grid_axes(fig, n, len(columns), top=1 - 0.45 / (1.6 * n + 0.5), wspace=0.25, hspace=0.35)
    limits = data_limits(numpy(x))
    images = {"x": as_images(x, shape), "x_tilde": as_images(x_tilde, shape), "x_hat": as_images(x_hat, shape)}
    errors = (x_hat - x).pow(2).flatten(1).sum(1)  # (n,) summed over pixels, as the losses are
    k = h.shape[1]
    for row in range(n):
        col = 0
        show(axes[row, col], images["x"][row], limits=limits)
        col += 1
        if corruption is not None:
            show(axes[row, col], images["x_tilde"][row], limits=limits)
            col += 1
        ax = axes[row, col]
        units = np.arange(1, k + 1)
        yerr = None if sigma is None else numpy(sigma[row])
        ax.bar(units, numpy(h[row]), yerr=yerr, color="tab:blue", ecolor="tab:gray", width=0.8)
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.set_xlim(0.4, k + 0.6)
        ax.tick_params(labelsize=7)
        if row == n - 1:
            ax.set_xlabel("code unit j", fontsize=8)
        col += 1
        show(axes[row, col], images["x_hat"][row], limits=limits)
        axes[row, col].set_xlabel(f"|x̂ − x|² = {errors[row]:.3g}", fontsize=8)
    for col, name in enumerate(columns):
        axes[0, col].set_title(name, fontsize=10)
    return fig


def corruption_text(corruption: Mapping[str, Any]) -> str:
    """A run's corruption section in words, e.g. ``masking (0.25) then gaussian (std 0.1)``."""
    return " then ".join(f"{name} ({spec if not isinstance(spec, dict) else ', '.join(f'{k} {v}' for k, v in spec.items())})"
                         for name, spec in corruption.items())


@register("figure", "pipeline")
class PipelineFigure(ReportFigure):
    title = "The pipeline, step by step"
    order = 10
    rows = 6  # test inputs followed through the model

    def applies(self, run: RunAnalysis) -> str | None:
        return not_images(run)

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        return pipeline_figure(run.model, run.x_test[: self.rows], run.corruption, seed=SEED), {}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        config, k = run.config, run.model.config.code_size
        corrupted = (f", then the corrupted copy x̃ the model is fed (this run was trained on "
                     f"{corruption_text(config.corruption)} noise; the figure corrupts with the same settings)"
                     if config.corruption else "")
        mu = ("; for this variational model the bar is the posterior mean μ and the whisker ±1 posterior standard "
              "deviation") if run.variational else ""
        return (f"Each row follows one test image through the model, left to right: the input x{corrupted}, then "
                f"the code h the encoder makes of it — one bar per code unit, {k} in all{mu} — and the decoder's "
                f"reconstruction x̂, with its squared error against the clean x (summed over pixels). Look for "
                f"reconstructions that keep what makes each input itself (for a digit: its shape and strokes) even if "
                f"they are blurrier; a reconstruction that looks like another class, or the same blur on every row, means "
                f"the code has lost that information.")


__all__ = ["pipeline_figure", "corruption_text", "PipelineFigure"]
