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

from aekit.analysis.run_analysis import RunAnalysis
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


# How the two splits are told apart, in every figure of curves per epoch: by the line (solid, dashed)
# and by the marker (filled, open), so that a single epoch (a dot, no line) or a long run (the dashes
# between thinned markers) still shows which is which. ``splits_text`` says so in the caption.
SPLIT_STYLES = {
    "train": {"label": "training", "linestyle": "-", "marker": "o", "color": "tab:blue"},
    "val": {"label": "validation", "linestyle": "--", "marker": "o", "color": "tab:orange",
            "markerfacecolor": "white"},
}
MAX_MARKERS = 12  # markers per curve; beyond that every n-th epoch, so the dashes stay visible


def plot_split(ax: Any, split: str, epochs: Sequence[int], values: Sequence[float | None]) -> bool:
    """Draw one split's curve (``"train"`` or ``"val"``) on ``ax`` in its style, skipping epochs without a
    value; False when there was nothing to draw."""
    points = [(e, v) for e, v in zip(epochs, values) if v is not None]
    if not points:
        return False
    every = max(1, math.ceil(len(points) / MAX_MARKERS))
    ax.plot(*zip(*points), markersize=4, markevery=every, linewidth=1.5, **SPLIT_STYLES[split])
    return True


def epoch_axis(ax: Any) -> None:
    """Whole epochs on the x axis, one tick at least (a single epoch gets the tick '1', not 0.95 ... 1.05)."""
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def splits_text(splits: Sequence[str], n_epochs: int) -> str:
    """The caption's key to the curves: which split is which line, as :data:`SPLIT_STYLES` draws them."""
    if n_epochs == 1:
        key = {"train": "a filled dot the training set", "val": "an open dot the validation set"}
        return ("One epoch: each curve is a single point, " + " and ".join(key[s] for s in splits) + ".")
    key = {"train": "the solid line with filled dots is the training set",
           "val": "the dashed line with open dots the validation set"}
    text = "; ".join(key[s] for s in splits)
    return text[0].upper() + text[1:] + ("" if "val" in splits else " (the run has no validation split)") + "."


DECADES = 10.0  # a panel whose positive values span more than this factor gets a log axis


def spans_decades(values: Sequence[float | None]) -> bool:
    """True when the values are all positive and the largest is more than :data:`DECADES` times the smallest:
    on a linear axis the first epochs would squash the rest into a flat line."""
    found = [v for v in values if v is not None and math.isfinite(v)]
    return bool(found) and min(found) > 0 and max(found) > DECADES * min(found)


def loss_curves_figure(history: Sequence[Mapping[str, Any]]) -> Figure:
    """One panel per loss term: its training (solid, filled dots) and validation (dashed, open dots)
    value against the epoch; a dotted line marks the best epoch, whose weights the run keeps by default.
    A panel whose values span more than a decade is drawn on a log axis (:func:`spans_decades`)."""
    terms = terms_of(history)
    if not terms:
        raise ValueError("The history has no loss terms (keys 'train/<term>' or 'val/<term>'); was any epoch run?")
    cols = min(3, len(terms))
    rows = math.ceil(len(terms) / cols)
    fig = new_figure(4.0 * cols, 2.9 * rows, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    epochs = [record["epoch"] for record in history]
    best = history[-1].get("best_epoch") if history else None
    for ax in axes.flat[len(terms):]:
        ax.set_visible(False)
    for ax, term in zip(axes.flat, terms):
        values = {split: [record.get(f"{split}/{term}") for record in history] for split in ("train", "val")}
        for split in ("train", "val"):
            plot_split(ax, split, epochs, values[split])
        if spans_decades(values["train"] + values["val"]):
            ax.set_yscale("log")
        if best:
            ax.axvline(best, color="gray", linestyle=":", linewidth=1, label=f"best epoch {best}")
        ax.set_title(TERM_TITLES.get(term, term), fontsize=10)
        epoch_axis(ax)
        ax.set_ylabel("loss per sample")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def splits_of(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """The splits (``"train"``, ``"val"``) the history has a value of, in that order."""
    return [split for split in ("train", "val") if any(key.startswith(f"{split}/") for r in history for key in r)]


@register("figure", "losses")
class LossesFigure(ReportFigure):
    title = "Loss curves per term"
    order = 20

    def applies(self, run: RunAnalysis) -> str | None:
        return None if run.history else "metrics.jsonl holds no completed epoch."

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        terms = terms_of(run.history)
        log = [t for t in terms if spans_decades([r.get(f"{s}/{t}") for r in run.history for s in ("train", "val")])]
        return loss_curves_figure(run.history), {"several_terms": "loss" in terms, "splits": splits_of(run.history),
                                                 "log": log}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        config, splits = run.config, facts["splits"]
        total = " The 'total loss' panel is the sum of the others." if facts.get("several_terms") else ""
        unit = " (the bce reconstruction is in nats)" if config.loss.reconstruction == "bce" else ""
        best = "best validation epoch" if "val" in splits else "best training epoch (there is no validation split)"
        keep = (f" The dotted line marks the {best}, whose weights the run keeps." if config.train.restore_best else
                f" The dotted line marks the {best} (this run keeps its last weights, train.restore_best: false).")
        over = (" a validation curve that turns up while the training curve keeps falling is over-fitting."
                if "val" in splits else "")
        log = facts.get("log") or []
        axis = ((" All panels have" if len(log) == len(terms_of(run.history)) else
                 f" The panel{'s' * (len(log) > 1)} of {', '.join(TERM_TITLES.get(t, t) for t in log)} ha"
                 f"{'ve' if len(log) > 1 else 's'}") + " a log axis: the values span more than a decade."
                if log else "")
        sample = run.sample_word
        dims = "pixels of an image" if run.images else "features of a row"
        return (f"One panel per term of the loss as the trainer logged it over {len(run.history)} epoch(s), per "
                f"{sample}: summed over the {dims}, averaged over the {sample}s{unit}.{axis} "
                f"{splits_text(splits, len(run.history))}{total} Look for curves that fall and flatten"
                f"{';' + over if over else '.'}{keep}")


__all__ = ["loss_curves_figure", "terms_of", "splits_of", "plot_split", "epoch_axis", "splits_text", "SPLIT_STYLES",
           "LossesFigure"]
