"""Figure: the loss of each greedy layer-wise stage (Bengio et al., NIPS 2007), one panel per stage.

In the report it applies to a run pretrained layer by layer: its folder holds ``layerwise/stage_*.jsonl``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from aekit.analysis.run_data import RunData
from aekit.registry import register
from aekit.training.run_folder import read_metrics_file
from aekit.viz.figure import ReportFigure


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


def stage_files(run_dir: Path) -> list[Path]:
    """The metrics files of a run's layer-wise stages, stage 1 first (none for a run trained end to end)."""
    return sorted((run_dir / "layerwise").glob("stage_*.jsonl"), key=lambda p: int(p.stem.split("_")[1]))


@register("figure", "layerwise")
class LayerwiseFigure(ReportFigure):
    title = "Greedy layer-wise pretraining, stage by stage"
    order = 130

    def applies(self, run: RunData) -> str | None:
        return None if stage_files(run.run_dir) else "the run was trained end to end only (layerwise.enabled: false)."

    def draw(self, run: RunData) -> tuple[Figure, dict[str, Any]]:
        stages = [read_metrics_file(path) for path in stage_files(run.run_dir)]
        return stage_curves_figure(stages), {"stages": len(stages)}

    def caption(self, run: RunData, facts: Mapping[str, Any]) -> str:
        return (f"Before training end to end, this deep autoencoder was built greedily (Bengio et al., 2007): stage 1 is "
                f"a shallow autoencoder on the images, each later stage a shallow autoencoder on the codes of the stage "
                f"below, {facts['stages']} stages in all, then the stages were stacked into the deep network whose "
                f"loss curves are shown above. One panel per stage: training loss (solid) and validation loss "
                f"(dashed) per epoch. Later stages reconstruct codes, not pixels, so their losses are on another "
                f"scale. Look for each stage's curve falling and flattening: a stage that learned nothing passes "
                f"noise up the stack.")


__all__ = ["stage_curves_figure", "stage_files", "LayerwiseFigure"]
