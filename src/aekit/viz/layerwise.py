"""Figure: the loss of each greedy layer-wise stage (Bengio et al., NIPS 2007), one panel per stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def stage_curves_figure(stages: Sequence[Sequence[dict[str, Any]]]) -> Figure:
    """One panel per stage: its total training loss (solid) and validation loss (dashed) per epoch.

    ``stages`` holds each stage's records as ``metrics.jsonl`` lines (``train/loss``, ``val/loss``).
    """
    fig = Figure(figsize=(3.2 * max(1, len(stages)), 3.0), layout="constrained")
    axes = fig.subplots(1, max(1, len(stages)), squeeze=False)[0]
    for i, (ax, records) in enumerate(zip(axes, stages)):
        epochs = [r["epoch"] for r in records]
        ax.plot(epochs, [r["train/loss"] for r in records], label="train")
        if records and "val/loss" in records[0]:
            ax.plot(epochs, [r["val/loss"] for r in records], linestyle="--", label="validation")
        ax.set_title(f"stage {i + 1}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if i == 0:
            ax.set_ylabel("loss per sample")
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return fig
