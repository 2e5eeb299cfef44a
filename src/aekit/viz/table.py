"""The figures of a table's report: which features the model reconstructs badly, how its reconstructions of
the worst ones compare with the truth, and how unusual each row looks to it (its anomaly score).

A table's rows are not pictures, so its report draws no image strips (:func:`aekit.viz.figure.not_images`
keeps those out); these figures take their place, naming each feature by its column (a CSV's header).
Errors are in the units the model trained in (standard deviations of each feature for a standardised
table, ``data.rescale: standard``, the default for tables), values in the table's own units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from aekit.analysis.run_analysis import RunAnalysis
from aekit.models.batched import map_batches
from aekit.registry import register
from aekit.viz._common import new_figure
from aekit.viz.figure import ReportFigure

MAX_BARS = 30  # features in the error bars: the worst ones beyond that
WORST = 4  # features drawn true against reconstructed


def tables_only(run: RunAnalysis) -> str | None:
    """None when the run's samples are rows of a table; else why a table's figure does not apply."""
    return "the samples are images; the image figures show them." if run.images else None


def _units(run: RunAnalysis) -> str:
    rescaling = run.rescaling
    if rescaling is None:
        return "in the table's own units (data.rescale: none)"
    if rescaling.kind == "standard":
        return "in standard deviations of each feature (the model trains on standardised features)"
    return "in each feature's training range (the model trains on features rescaled to [0, 1])"


def feature_errors(run: RunAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared reconstruction error of each feature on the test split, the model's and PCA's, (d,) each."""
    x = run.x_test.reshape(len(run.x_test), -1).astype(np.float64)
    x_hat = map_batches(run.model.reconstruct, run.x_test, run.model).reshape(len(x), -1)
    x_pca = run.pca.inverse_transform(run.pca.transform(x))
    return ((x_hat - x) ** 2).mean(0), ((x_pca - x) ** 2).mean(0)


@register("figure", "feature_errors")
class FeatureErrorsFigure(ReportFigure):
    title = "Reconstruction error per feature"
    order = 12

    def applies(self, run: RunAnalysis) -> str | None:
        return tables_only(run)

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        ours, pca = feature_errors(run)
        order = np.argsort(-ours, kind="stable")[:MAX_BARS]
        n = len(order)
        fig = new_figure(7.5, 1.2 + 0.28 * n, layout="constrained")
        ax = fig.subplots()
        rows = np.arange(n)
        ax.barh(rows - 0.2, ours[order], height=0.4, color="tab:blue", label="this model")
        ax.barh(rows + 0.2, pca[order], height=0.4, color="tab:gray", label=f"PCA, {run.n_components} components")
        ax.set_yticks(rows, [run.feature_name(int(j)) for j in order], fontsize=8)
        ax.invert_yaxis()  # the worst feature on top
        ax.set_xlabel("mean squared error on the test rows")
        ax.legend(fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        worse = int((ours > pca).sum())
        return fig, {"shown": n, "d": len(ours), "worse": worse, "worst": run.feature_name(int(order[0]))}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        shown = (f"the {facts['shown']} worst of its {facts['d']} features" if facts["shown"] < facts["d"]
                 else f"each of its {facts['d']} features")
        return (f"How well the model reconstructs {shown} on the test rows, {_units(run)}, worst on top, beside PCA "
                f"with as many components as the code. {facts['worst']} is the hardest for the model; it does worse "
                f"than PCA on {facts['worse']} of {facts['d']} features. A feature the model cannot reconstruct is "
                f"one its code does not keep: unrelated to the others (noise, an identifier) or too rare to learn.")


@register("figure", "worst_features")
class WorstFeaturesFigure(ReportFigure):
    title = "True against reconstructed values, worst features"
    order = 14

    def applies(self, run: RunAnalysis) -> str | None:
        return tables_only(run)

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        ours, _ = feature_errors(run)
        worst = [int(j) for j in np.argsort(-ours, kind="stable")[:WORST]]
        x = run.x_test.reshape(len(run.x_test), -1)
        x_hat = map_batches(run.model.reconstruct, run.x_test, run.model).reshape(len(x), -1)
        x, x_hat = run.run.in_data_units(x), run.run.in_data_units(x_hat)  # the table's own units
        fig = new_figure(3.0 * len(worst), 3.2, layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(worst)))
        labels = run.y_test
        for ax, j in zip(axes, worst):
            ax.scatter(x[:, j], x_hat[:, j], s=10, alpha=0.7, c=labels if labels is not None else "tab:blue",
                       cmap="tab10" if labels is not None else None)
            low, high = float(min(x[:, j].min(), x_hat[:, j].min())), float(max(x[:, j].max(), x_hat[:, j].max()))
            ax.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle=":")
            ax.set_title(run.feature_name(j), fontsize=9)
            ax.set_xlabel("true value", fontsize=8)
            ax.set_ylabel("reconstructed", fontsize=8)
            ax.tick_params(labelsize=7)
        return fig, {"features": [run.feature_name(j) for j in worst], "labels": labels is not None}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        colour = " Colours are the rows' labels, which the model never saw." if facts["labels"] else ""
        return (f"Each test row's true value (x) against the model's reconstruction (y) for the "
                f"{len(facts['features'])} features it reconstructs worst ({', '.join(facts['features'])}), in the "
                f"table's own units. Points on the dotted diagonal are reconstructed exactly; a flat cloud means the "
                f"model gives every row about the same value (it learned the feature's mean, not the feature)."
                f"{colour}")


@register("figure", "scores")
class ScoresFigure(ReportFigure):
    title = "Anomaly scores: how unusual each row looks to the model"
    order = 16
    bins = 40

    def applies(self, run: RunAnalysis) -> str | None:
        return tables_only(run)

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        def errors(x: np.ndarray) -> np.ndarray:
            x_hat = map_batches(run.model.reconstruct, x, run.model).reshape(len(x), -1)
            return ((x_hat - x.reshape(len(x), -1)) ** 2).sum(1)

        train, test = errors(run.x_train), errors(run.x_test)
        q1, q3 = np.percentile(train, [25.0, 75.0])
        fence = float(q3 + 1.5 * (q3 - q1))  # Tukey's upper fence: AutoencoderOutlierDetector's default threshold
        both = np.concatenate([train, test])
        # a long right tail (a few rows far worse than the typical one) is read on a log axis
        log = float(both.min()) > 0 and float(both.max()) > 20 * float(np.median(both))
        edges = np.geomspace(both.min(), both.max(), self.bins + 1) if log else np.histogram_bin_edges(both, self.bins)
        fig = new_figure(7.5, 3.4, layout="constrained")
        ax = fig.subplots()
        ax.hist(train, bins=edges, alpha=0.5, color="tab:blue", label=f"{len(train)} training rows", density=True)
        ax.hist(test, bins=edges, alpha=0.5, color="tab:orange", label=f"{len(test)} test rows", density=True)
        ax.axvline(fence, color="tab:red", linestyle="--", linewidth=1, label="Tukey's fence on the training rows")
        if log:
            ax.set_xscale("log")
        ax.set_xlabel("squared reconstruction error of a row (its anomaly score)")
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
        beyond = int((test > fence).sum())
        return fig, {"fence": fence, "beyond": beyond, "n_test": len(test), "log": log}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        axis = " The error axis is logarithmic: the largest errors are more than 20 times the median one." if facts["log"] else ""
        return (f"Each row's squared reconstruction error, summed over its features {_units(run)}: the higher, the "
                f"less the row looks like the rows the model trained on. The dashed line is Tukey's upper fence "
                f"(Q3 + 1.5 IQR of the training rows' errors, {facts['fence']:.3g}), the threshold "
                f"aekit.AutoencoderOutlierDetector() flags outliers beyond by default; "
                f"{facts['beyond']} of {facts['n_test']} test rows lie beyond it. A test histogram shifted right of the "
                f"training one means the model fits its training rows better than new ones.{axis}")


__all__ = ["FeatureErrorsFigure", "WorstFeaturesFigure", "ScoresFigure", "feature_errors", "tables_only"]
