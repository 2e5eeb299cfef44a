"""Figure: the loss of each greedy layer-wise stage (Bengio et al., NIPS 2007), one panel per stage.

In the report it applies to a run pretrained layer by layer: its folder holds ``layerwise/stage_*.jsonl``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from aekit.analysis.run_analysis import RunAnalysis
from aekit.registry import register
from aekit.training.run_folder import read_metrics_file
from aekit.viz._common import new_figure
from aekit.viz.figure import ReportFigure
from aekit.viz.losses import epoch_axis, plot_split, splits_of, splits_text


def stage_curves_figure(stages: Sequence[Sequence[dict[str, Any]]]) -> Figure:
    """One panel per stage: its total training loss (solid, filled dots) and validation loss (dashed, open
    dots) per epoch, styled as the loss curves (:data:`aekit.viz.losses.SPLIT_STYLES`).

    ``stages`` holds each stage's records as ``metrics.jsonl`` lines (``train/loss``, ``val/loss``).
    """
    fig = new_figure(3.2 * max(1, len(stages)), 3.0, layout="constrained")
    axes = fig.subplots(1, max(1, len(stages)), squeeze=False)[0]
    for i, (ax, records) in enumerate(zip(axes, stages)):
        epochs = [r["epoch"] for r in records]
        for split in ("train", "val"):
            plot_split(ax, split, epochs, [r.get(f"{split}/loss") for r in records])
        ax.set_title(f"stage {i + 1}")
        epoch_axis(ax)
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

    def applies(self, run: RunAnalysis) -> str | None:
        return None if stage_files(run.run_dir) else "the run was trained end to end only (layerwise.enabled: false)."

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        stages = [read_metrics_file(path) for path in stage_files(run.run_dir)]
        return stage_curves_figure(stages), {"stages": len(stages), "splits": splits_of(stages[0]),
                                             "epochs": max(len(stage) for stage in stages)}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        return (f"Before training end to end, this deep autoencoder was built greedily (Bengio et al., 2007): stage 1 is "
                f"a shallow autoencoder on the images, each later stage a shallow autoencoder on the codes of the stage "
                f"below, {facts['stages']} stages in all, then the stages were stacked into the deep network whose "
                f"loss curves are shown above. One panel per stage, its loss per epoch. "
                f"{splits_text(facts['splits'], facts['epochs'])} Later stages reconstruct codes, not pixels, so their "
                f"losses are on another scale. Look for each stage's curve falling and flattening: a stage that learned nothing passes "
                f"noise up the stack.")


__all__ = ["stage_curves_figure", "stage_files", "LayerwiseFigure"]
