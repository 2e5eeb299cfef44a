"""Loss curves per term, training and validation, from a run's ``metrics.jsonl``.

The trainer logs every named term of the loss separately (STYLE.md habit 7), so each gets a panel:
the reconstruction, each penalty (sparsity, contraction, the variational KL) and, when there is more
than one term, their sum. Values are per sample (summed over dimensions, averaged over the batch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from aekit.analysis.run_data import RunData
from aekit.registry import register
from aekit.viz._common import new_figure
from aekit.viz.figure import ReportFigure

TERM_TITLES = {"loss": "total loss", "recon": "reconstruction", "kl": "KL(q(h|x) || p(h))", "l1": "L1 sparsity",
               "kl_sparsity": "KL sparsity", "contractive": "contractive ||J_f||²_F",
               "xent": "cross-entropy (labelled rows)"}


def terms_of(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Loss terms logged in ``history``, in first-seen order, the total ``loss`` first when there are others."""
    seen: list[str] = []
    for record in history:
        for key in record:
            split, _, term = key.partition("/")
            if split in ("train", "val") and term and term not in seen:
                seen.append(term)
    others = [t for t in seen if t != "loss"]
    return (["loss"] if "loss" in seen and len(others) > 1 else []) + others


def loss_curves_figure(history: Sequence[Mapping[str, Any]]) -> Figure:
    """One panel per loss term: its training (solid) and validation (dashed) value against the epoch;
    a dotted line marks the best validation epoch, whose weights the run keeps by default."""
    terms = terms_of(history)
    if not terms:
        raise ValueError("The history has no loss terms (keys 'train/<term>' or 'val/<term>'); was any epoch run?")
    cols = min(3, len(terms))
    rows = math.ceil(len(terms) / cols)
    fig = new_figure(4.0 * cols, 2.9 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.15 / rows + 0.05, wspace=0.3, hspace=0.55)
    epochs = [record["epoch"] for record in history]
    best = history[-1].get("best_epoch") if history else None
    for ax in axes.flat[len(terms):]:
        ax.set_visible(False)
    for ax, term in zip(axes.flat, terms):
        for split, style in (("train", "-"), ("val", "--")):
            values = [record.get(f"{split}/{term}") for record in history]
            points = [(e, v) for e, v in zip(epochs, values) if v is not None]
            if points:
                ax.plot(*zip(*points), style, marker="o", markersize=3, label=split)
        if best:
            ax.axvline(best, color="gray", linestyle=":", linewidth=1, label=f"best epoch {best}")
        ax.set_title(TERM_TITLES.get(term, term), fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("per sample")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


@register("figure", "losses")
class LossesFigure(ReportFigure):
    title = "Loss curves per term"
    order = 20

    def applies(self, run: RunData) -> str | None:
        return None if run.history else "metrics.jsonl holds no completed epoch."

    def draw(self, run: RunData) -> tuple[Figure, dict[str, Any]]:
        return loss_curves_figure(run.history), {"several_terms": "loss" in terms_of(run.history)}

    def caption(self, run: RunData, facts: Mapping[str, Any]) -> str:
        config = run.config
        total = " The 'total loss' panel is the sum of the others." if facts.get("several_terms") else ""
        unit = " (the bce reconstruction is in nats)" if config.loss.reconstruction == "bce" else ""
        keep = (" The dotted line marks the best validation epoch, whose weights the run keeps."
                if config.train.restore_best else " The dotted line marks the best validation epoch (this run keeps "
                                                  "its last weights, train.restore_best: false).")
        return (f"One panel per term of the loss as the trainer logged it over {len(run.history)} epoch(s), per "
                f"sample: summed over the dimensions of an image, averaged over the images{unit}. Solid lines are "
                f"the training set, dashed lines the validation set.{total} Look for curves that fall and flatten; a "
                f"validation curve that turns up while the training curve keeps falling is over-fitting.{keep}")


__all__ = ["loss_curves_figure", "terms_of", "LossesFigure"]
