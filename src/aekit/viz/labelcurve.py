"""Figure: test accuracy against the number of labels, one line per method (mean ± sd over draws).

In the report it applies once ``aekit labelcurve RUN`` has measured the curve (``RUN/labelcurve/labelcurve.json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from aekit.analysis.run_analysis import RunAnalysis
from aekit.registry import register
from aekit.training.labelcurve import Point, read_label_curve
from aekit.viz.figure import ReportFigure

LABELS = {"raw": "logistic regression, raw inputs", "pca": "logistic regression, PCA codes",
          "codes": "logistic regression, frozen AE codes", "scratch": "network from scratch",
          "finetune": "pretrained encoder, fine-tuned"}


def label_curve_figure(points: Sequence[Point]) -> Figure:
    """Accuracy (y) against labels (x, log scale); error bars are one standard deviation over draws."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for method in dict.fromkeys(p.method for p in points):
        series = sorted((p for p in points if p.method == method), key=lambda p: p.labels)
        ax.errorbar([p.labels for p in series], [p.mean for p in series], yerr=[p.sd for p in series],
                    marker="o", capsize=3, label=LABELS.get(method, method))
    ax.set_xscale("log")
    budgets = sorted({p.labels for p in points})
    ax.set_xticks(budgets)  # the budgets themselves, as plain numbers
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("labelled training examples")
    ax.set_ylabel("test accuracy")
    ax.set_title("Label budget: what pretraining buys")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


@register("figure", "labelcurve")
class LabelCurveFigure(ReportFigure):
    title = "Label budget: what pretraining buys"
    order = 140

    def applies(self, run: RunAnalysis) -> str | None:
        if (run.run_dir / "labelcurve" / "labelcurve.json").is_file():
            return None
        return f"no label curve was measured for it (aekit labelcurve {run.run_dir})."

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        points = read_label_curve(run.run_dir / "labelcurve" / "labelcurve.json")
        return label_curve_figure(points), {"budgets": sorted({p.labels for p in points})}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        budgets = ", ".join(str(b) for b in facts["budgets"])
        return (f"The lecture's practical promise, measured: test accuracy against the number of labelled training "
                f"images ({budgets}), each point the mean over seeded draws of that many labels (bars: one standard "
                f"deviation). Logistic regression on the raw pixels, on PCA codes and on this autoencoder's frozen "
                f"codes, the classifier network trained from random weights, and the same network starting from this "
                f"encoder and fine-tuned. The autoencoder and PCA saw every training image without its label. Look "
                f"at the left of the plot: pretraining earns its keep where labels are few, and the curves meet as "
                f"labels grow. Made by 'aekit labelcurve'.")


__all__ = ["label_curve_figure", "LabelCurveFigure", "LABELS"]
