"""Several runs side by side: the same test inputs through each model, and their validation curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from aekit.viz._common import as_images, data_limits, labelled_rows, new_figure, numpy
from aekit.viz.losses import TERM_TITLES


def reconstructions_figure(x: np.ndarray, reconstructions: Mapping[str, np.ndarray],
                           sample_shape: Sequence[int]) -> Figure:
    """Row 1: the inputs ``x`` (n, *sample_shape); then one row per run: its reconstructions of them,
    labelled with the mean squared error per image over the row."""
    x = numpy(x)
    rows = [as_images(x, sample_shape)]
    labels = ["input x"]
    for name, x_hat in reconstructions.items():
        x_hat = numpy(x_hat).reshape(x.shape)
        rows.append(as_images(x_hat, sample_shape))
        error = float(((x_hat - x) ** 2).reshape(len(x), -1).sum(axis=1).mean())
        labels.append(f"{name} ({error:.3g})")
    fig = new_figure(0.6 * len(x) + 3.2, 0.65 * len(rows) + 1.0)
    ax = fig.add_axes((0.3, 0.08, 0.67, 0.8))
    labelled_rows(ax, rows, labels, data_limits(x))
    ax.set_title("the same test inputs through each run (squared error per image)", fontsize=10)
    return fig


def validation_curves_figure(histories: Mapping[str, Sequence[Mapping[str, Any]]],
                             terms: Sequence[str] = ("recon", "loss")) -> Figure:
    """One panel per term in ``terms``: each run's validation value against the epoch."""
    fig = new_figure(5.0 * len(terms), 3.6)
    axes = fig.subplots(1, len(terms), squeeze=False)[0]
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.15, wspace=0.3)
    for ax, term in zip(axes, terms):
        for name, history in histories.items():
            points = [(r["epoch"], r[f"val/{term}"]) for r in history if r.get(f"val/{term}") is not None]
            if points:
                ax.plot(*zip(*points), marker="o", markersize=3, label=name)
        ax.set_title(f"validation {TERM_TITLES.get(term, term)}", fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("per sample")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


__all__ = ["reconstructions_figure", "validation_curves_figure"]
