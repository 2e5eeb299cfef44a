"""Figure: test accuracy against the number of labels, one line per method (mean ± sd over draws)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from aekit.analysis.labelcurve import Point

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
