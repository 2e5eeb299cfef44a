"""Learned filters: the first layer's weights drawn as images, one tile per unit.

Each hidden unit of an MLP's first layer computes a weighted sum of the pixels, w_j · x; drawing w_j
in the shape of an image shows what it responds to (strokes and blobs for a trained MNIST model,
noise for an untrained one — the visual check of Hinton & Salakhutdinov, Science 2006, and of
Vincent et al., JMLR 2010, Fig. 6, where denoising turns blobs into stroke detectors). A
convolutional encoder's first layer is drawn kernel by kernel. Each tile is scaled to its own
largest absolute weight: red positive, blue negative, white zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from aekit.analysis.run_analysis import RunAnalysis
from aekit.registry import register
from aekit.viz._common import SIGNED_CMAP, as_images, new_figure, numpy, tile
from aekit.viz.figure import ReportFigure, not_images


def first_layer_weights(model: nn.Module) -> tuple[np.ndarray, tuple[int, ...], str]:
    """The first layer's weights as (units, *input shape of a unit), that input shape, and a description.

    MLP: the first Linear of the encoder body, else the code head's (the mean's rows for a Gaussian
    head); conv: the first Conv2d's kernels (c_out, c_in, kh, kw).
    """
    encoder = model.encoder
    for module in encoder.body.modules():
        if isinstance(module, nn.Conv2d):
            weight = numpy(module.weight)  # (c_out, c_in, kh, kw)
            return weight, tuple(weight.shape[1:]), f"first convolution, {weight.shape[2]}x{weight.shape[3]} kernels"
        if isinstance(module, nn.Linear):
            return numpy(module.weight), tuple(model.sample_shape), "first hidden layer"
    weight = numpy(encoder.head.linear.weight)[: model.config.code_size]  # (k, d): mu's rows for a Gaussian head
    return weight, tuple(model.sample_shape), "code layer (the encoder has no hidden layer)"


@torch.no_grad()
def filters_figure(model: nn.Module, max_filters: int = 100) -> Figure:
    """A mosaic of the first ``max_filters`` first-layer filters, each scaled to its own range."""
    weight, unit_shape, where = first_layer_weights(model)
    total = weight.shape[0]
    weight = weight[:max_filters]
    scale = np.abs(weight.reshape(len(weight), -1)).max(axis=1)  # (n,)
    scale[scale == 0] = 1.0
    scaled = weight / scale.reshape(-1, *([1] * (weight.ndim - 1)))
    if len(unit_shape) == 3 and unit_shape[0] == 3:  # colour kernels: signed values shown around grey
        images = as_images(0.5 + 0.5 * scaled, unit_shape)
    else:
        images = as_images(scaled, unit_shape)
    n = len(images)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    mosaic = tile(images, rows, cols, pad=1)
    side = min(9.0, max(5.0, 0.45 * cols + 1.0))  # wide enough for the title, at most 9 inches
    fig = new_figure(side, side * rows / cols + 0.6)
    ax = fig.add_axes((0.03, 0.03, 0.94, 0.87))
    if images.ndim == 4:
        ax.imshow(np.clip(mosaic, 0, 1), interpolation="nearest")
    else:
        ax.imshow(mosaic, cmap=SIGNED_CMAP, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_facecolor("black")
    ax.set_xticks([])
    ax.set_yticks([])
    shown = f"{n} of {total}" if n < total else f"all {total}"
    ax.set_title(f"{where}: {shown} filters, each scaled to its own range", fontsize=10)
    return fig


@register("figure", "filters")
class FiltersFigure(ReportFigure):
    title = "Learned filters"
    order = 80

    def applies(self, run: RunAnalysis) -> str | None:
        return not_images(run)

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        return filters_figure(run.model), {"where": first_layer_weights(run.model)[2]}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        return (f"The weights of the {facts['where']}, one tile per unit, drawn in the shape of its input (red "
                f"positive, blue negative, white zero; each tile scaled to its own largest weight). A unit responds "
                f"most to inputs that look like its tile. Trained filters show localised strokes, blobs or edges; "
                f"tiles of uniform speckle have hardly moved from their random start (too few epochs, or units the "
                f"model does not use).")


__all__ = ["filters_figure", "first_layer_weights", "FiltersFigure"]
