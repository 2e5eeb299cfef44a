"""The code space: a t-SNE map of test codes coloured by label (the code itself when it is 2-D),
beside the neighbourhood scores of the codes and of PCA codes of the same size
(:func:`aekit.analysis.embedding.compare_embeddings`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from aekit.analysis.embedding import MAX_POINTS, N_NEIGHBORS, EmbeddingComparison, compare_embeddings
from aekit.analysis.run_analysis import SEED, RunAnalysis
from aekit.registry import register
from aekit.viz._common import new_figure
from aekit.viz.figure import ReportFigure


def _scatter_classes(ax: Any, points: np.ndarray, labels: np.ndarray | None,
                     class_names: Sequence[str] | None = None) -> None:
    """``points`` (n, 2) as dots, one colour per class of ``labels`` (one colour when there are none)."""
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=4, color="tab:blue", alpha=0.7)
        return
    classes = np.unique(labels)
    colours = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for i, c in enumerate(classes):
        keep = labels == c
        name = class_names[c] if class_names is not None and 0 <= c < len(class_names) else str(c)
        ax.scatter(points[keep, 0], points[keep, 1], s=4, color=colours(i % colours.N), label=name)


def maps_figure(maps: Mapping[str, np.ndarray], labels: np.ndarray | None, legend: str = "class",
                class_names: Sequence[str] | None = None) -> Figure:
    """2-D maps of the same points side by side (e.g. t-SNE of two kinds of codes), one colour per class,
    each titled by its key: ``{title: points (n, 2)}``."""
    fig = new_figure(5.5 * len(maps), 5.0)
    axes = np.atleast_1d(fig.subplots(1, len(maps)))
    fig.subplots_adjust(left=0.02, right=0.9, top=0.88, bottom=0.03, wspace=0.06)
    for ax, (title, points) in zip(axes, maps.items()):
        _scatter_classes(ax, points, labels, class_names)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if labels is not None:
        axes[-1].legend(fontsize=8, markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
                        title=legend)
    return fig


def embedding_figure(result: EmbeddingComparison, class_names: Sequence[str] | None = None) -> Figure:
    """Left: the map, one colour per class; right: 1-NN accuracy and trustworthiness, codes vs PCA."""
    fig = new_figure(11.0, 4.6, layout="constrained")
    ax_map, ax_scores = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    _scatter_classes(ax_map, result.points, result.labels, class_names)
    if result.labels is not None:
        ax_map.legend(fontsize=7, markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    if result.method == "code":
        ax_map.set_title(f"the 2-D code itself ({result.n_points} test points)", fontsize=10)
        ax_map.set_xlabel("h1")
        ax_map.set_ylabel("h2")
    else:
        ax_map.set_title(f"t-SNE of {result.n_points} test codes ({result.code_size}-D)", fontsize=10)
        ax_map.set_xlabel("t-SNE 1")
        ax_map.set_ylabel("t-SNE 2")
        ax_map.set_xticks([])
        ax_map.set_yticks([])
    names, ours, theirs = [], [], []
    if result.autoencoder.one_nn is not None:
        names.append("1-NN accuracy")
        ours.append(result.autoencoder.one_nn)
        theirs.append(result.pca.one_nn)
    names.append("trustworthiness")
    ours.append(result.autoencoder.trustworthiness)
    theirs.append(result.pca.trustworthiness)
    where = np.arange(len(names))
    for offset, values, label, colour in ((-0.2, ours, f"autoencoder codes ({result.code_size}-D)", "tab:blue"),
                                          (0.2, theirs, f"PCA codes ({result.pca_size}-D)", "tab:orange")):
        bars = ax_scores.bar(where + offset, values, width=0.38, label=label, color=colour)
        for bar, value in zip(bars, values):  # inside the bar's top: the axis ends at 1, the best score
            inside = value > 0.15
            ax_scores.annotate(f"{value:.3f}", (bar.get_x() + bar.get_width() / 2, value), ha="center",
                               va="top" if inside else "bottom", fontsize=8, color="white" if inside else "black",
                               xytext=(0, -3 if inside else 2), textcoords="offset points")
    ax_scores.set_xticks(where, names)
    ax_scores.set_ylim(0, 1)  # both scores lie in [0, 1]
    ax_scores.set_ylabel("score (1 = best)")
    ax_scores.set_title("neighbourhoods kept: codes vs PCA", fontsize=10)
    ax_scores.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
    return fig


@register("figure", "embedding")
class EmbeddingFigure(ReportFigure):
    title = "The code space: t-SNE of test codes"
    order = 30
    max_points = MAX_POINTS  # test points in the map and its scores (a seeded subsample beyond that)

    def applies(self, run: RunAnalysis) -> str | None:
        n_test = len(run.x_test)
        return None if n_test >= 10 else f"the test split has {n_test} rows; a map needs at least 10."

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        flat_test = run.x_test.reshape(len(run.x_test), -1)
        result = compare_embeddings(run.h_test, run.x_test, run.y_test, run.x_train, max_points=self.max_points,
                                    backend=run.tsne_backend, random_state=SEED, n_jobs=run.n_jobs,
                                    pca_test=run.pca.transform(flat_test))
        return embedding_figure(result, run.class_names), {"embedding": result}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        e = facts["embedding"]
        samples, space = f"{run.sample_word}s", f"{run.feature_word} space" if run.images else "the input space"
        subsample = f" (a seeded subsample of the {e.n_total} in the test split)" if e.n_points < e.n_total else ""
        if e.method == "code":
            left = (f"Left: the code itself — this model's code is 2-D, so each of {e.n_points} test {samples}{subsample} "
                    f"is drawn at its code (h1, h2), no t-SNE needed")
        else:
            left = (f"Left: a t-SNE map (perplexity 30, seed {SEED}, {e.backend}, {e.seconds:.1f} s) of the "
                    f"{run.model.config.code_size}-D codes of {e.n_points} test {samples}{subsample}, placed so that "
                    f"{samples} with similar codes are close. t-SNE distorts the sizes of clusters and the distances "
                    f"between them: read only which points are neighbours")
        colour = (", coloured by the true label, which the autoencoder never saw. Well-separated islands of one "
                  "colour mean the code groups the classes without being told"
                  if e.labels is not None else " (the data have no labels, so there is one colour)")
        nn_text = ("1-NN accuracy is how often a point's nearest other point has the same label; "
                   if e.labels is not None else "")
        return (f"{left}{colour}. Right: scores computed on the codes themselves, not on the map, for the same test "
                f"{samples}, beside PCA codes of the same size ({e.pca_size} components fitted on the training split): "
                f"{nn_text}trustworthiness ({N_NEIGHBORS} neighbours) is 1 when each point's nearest neighbours in "
                f"code space were also among its nearest in {space}. A learned code should at least match PCA.")


__all__ = ["embedding_figure", "maps_figure", "EmbeddingFigure"]
