"""The code-space figure: a map coloured by class, and the scores of codes beside PCA codes."""

import numpy as np

from aekit.analysis.embedding import EmbeddingComparison, Scores
from aekit.viz import embedding_figure


def result(method="t-SNE", labels=True):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 10) if labels else None
    return EmbeddingComparison(points=rng.normal(size=(30, 2)), labels=y, method=method,
                               autoencoder=Scores(0.9 if labels else None, 0.95),
                               pca=Scores(0.8 if labels else None, 0.97), code_size=8, pca_size=8, n_points=30,
                               n_total=30, seconds=0.1, backend="opentsne")


def test_map_has_one_colour_per_class_named_in_the_legend():
    fig = embedding_figure(result(), class_names=["zero", "one", "two"])
    ax_map, ax_scores = fig.axes
    assert len(ax_map.collections) == 3
    assert [t.get_text() for t in ax_map.get_legend().get_texts()] == ["zero", "one", "two"]
    assert sum(len(c.get_offsets()) for c in ax_map.collections) == 30
    assert ax_map.get_title() == "t-SNE of 30 test codes (8-D)"
    assert (ax_map.get_xlabel(), ax_map.get_ylabel()) == ("t-SNE 1", "t-SNE 2")


def test_scores_panel_puts_codes_beside_pca_for_each_score():
    fig = embedding_figure(result())
    ax_scores = fig.axes[1]
    assert [t.get_text() for t in ax_scores.get_xticklabels()] == ["1-NN accuracy", "trustworthiness"]
    heights = [p.get_height() for p in ax_scores.patches]
    assert heights == [0.9, 0.95, 0.8, 0.97]  # autoencoder bars, then PCA bars
    assert [t.get_text() for t in ax_scores.get_legend().get_texts()] == ["autoencoder codes (8-D)", "PCA codes (8-D)"]
    assert ax_scores.get_ylabel() == "score (1 = best)"
    assert ax_scores.get_ylim() == (0, 1)  # both scores lie in [0, 1]: the axis ends at the best score
    values = [t.get_text() for t in ax_scores.texts]
    assert values == ["0.900", "0.950", "0.800", "0.970"]  # each bar's value, inside its top


def test_a_2d_code_is_labelled_as_the_code():
    fig = embedding_figure(result(method="code"))
    ax_map = fig.axes[0]
    assert (ax_map.get_xlabel(), ax_map.get_ylabel()) == ("h1", "h2")
    assert "2-D code itself" in ax_map.get_title()


def test_without_labels_one_colour_and_trustworthiness_only():
    fig = embedding_figure(result(labels=False))
    ax_map, ax_scores = fig.axes
    assert len(ax_map.collections) == 1 and ax_map.get_legend() is None
    assert [t.get_text() for t in ax_scores.get_xticklabels()] == ["trustworthiness"]
    assert len(ax_scores.patches) == 2


def test_maps_side_by_side_each_titled_with_one_colour_per_class_and_one_legend():
    from aekit.viz.embedding import maps_figure

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 10)
    fig = maps_figure({"codes": rng.normal(size=(30, 2)), "PCA": rng.normal(size=(30, 2))}, labels, legend="digit")
    left, right = fig.axes
    assert [left.get_title(), right.get_title()] == ["codes", "PCA"]
    assert len(left.collections) == len(right.collections) == 3  # one scatter per class
    assert left.get_legend() is None and right.get_legend().get_title().get_text() == "digit"
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["0", "1", "2"]
