"""Neighbourhood scores of codes (1-NN accuracy, trustworthiness), PCA codes and the t-SNE map."""

import logging

import numpy as np
import pytest

from aekit.analysis.embedding import compare_embeddings, one_nn_accuracy, pca_codes, trustworthiness, tsne


def clusters(n_per=20, k=5, classes=3, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, k)) * 5
    labels = np.repeat(np.arange(classes), n_per)
    return centres[labels] + spread * rng.normal(size=(len(labels), k)), labels


def test_one_nn_accuracy_is_one_on_separated_clusters_and_chance_on_shuffled_labels():
    h, y = clusters()
    assert one_nn_accuracy(h, y) == 1.0
    shuffled = np.random.default_rng(1).permutation(y)
    assert one_nn_accuracy(h, shuffled) < 0.6


def test_one_nn_accuracy_never_counts_a_point_as_its_own_neighbour():
    h = np.array([[0.0], [10.0], [10.1], [0.1]])
    assert one_nn_accuracy(h, np.array([0, 1, 1, 0])) == 1.0
    assert one_nn_accuracy(h, np.array([0, 1, 0, 1])) == 0.0  # a self-match would have scored 1.0


def test_trustworthiness_is_one_for_a_rotation_and_lower_for_noise():
    x, _ = clusters(k=6)
    rotation, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(6, 6)))
    assert trustworthiness(x, x @ rotation) == pytest.approx(1.0)
    noise = np.random.default_rng(3).normal(size=(len(x), 2))
    assert trustworthiness(x, noise) < 0.8


def test_pca_codes_have_the_requested_size_capped_by_the_data():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(30, 8)), rng.normal(size=(10, 8))
    assert pca_codes(train, test, 3).shape == (10, 3)
    assert pca_codes(train, test, 50).shape == (10, 8)


@pytest.mark.parametrize("backend", ["opentsne", "sklearn"])
def test_tsne_keeps_clusters_apart_and_is_reproducible(backend):
    h, y = clusters(n_per=15)
    rng = np.random.default_rng(5)
    scrambled = rng.normal(size=(len(y), 2))
    assert one_nn_accuracy(scrambled, y) < 0.7  # before: a random map mixes the classes
    points = tsne(h, backend=backend, random_state=0)
    assert points.shape == (len(y), 2)
    assert one_nn_accuracy(points, y) == 1.0  # after: t-SNE keeps them apart
    np.testing.assert_array_equal(points, tsne(h, backend=backend, random_state=0))


def test_tsne_lowers_a_perplexity_too_high_and_says_so(caplog):
    h, _ = clusters(n_per=5)  # 15 points: perplexity must be below 14/3
    with caplog.at_level(logging.INFO, logger="aekit.analysis.embedding"):
        points = tsne(h, perplexity=30)
    assert points.shape == (15, 2)
    assert "Perplexity 30 too high for 15 points, using 4.67 instead" in caplog.text


def test_tsne_rejects_an_unknown_backend():
    with pytest.raises(ValueError, match="'backend' parameter of tsne must be .* Got 'umap' instead"):
        tsne(np.zeros((10, 3)), backend="umap")


def test_a_2d_code_is_shown_as_itself_and_scored_beside_pca():
    h, y = clusters(n_per=10, k=2)
    x = np.concatenate([h, np.zeros((len(h), 3))], axis=1)  # inputs whose PCA recovers the code plane
    result = compare_embeddings(h, x, y, x)
    assert result.method == "code" and result.backend is None
    np.testing.assert_array_equal(result.points, h)
    assert result.autoencoder.one_nn == 1.0 and result.pca.one_nn == 1.0
    assert result.pca_size == 2 and result.n_points == result.n_total == 30


def test_more_points_than_allowed_are_subsampled_with_a_seed():
    h, y = clusters(n_per=20, k=2)
    first = compare_embeddings(h, h, y, h, max_points=25, random_state=3)
    second = compare_embeddings(h, h, y, h, max_points=25, random_state=3)
    assert first.n_points == 25 and first.n_total == 60
    np.testing.assert_array_equal(first.points, second.points)


def test_without_labels_only_trustworthiness_is_scored():
    h, _ = clusters(n_per=10, k=2)
    result = compare_embeddings(h, h, None, h)
    assert result.autoencoder.one_nn is None and result.labels is None
    assert 0 < result.autoencoder.trustworthiness <= 1
