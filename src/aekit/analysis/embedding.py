"""How well codes keep the data's neighbourhoods, and a 2-D map of them to look at.

- t-SNE (van der Maaten & Hinton, JMLR 2008) maps codes to the plane for display, with openTSNE
  (Poličar, Stražar & Zupan, J. Stat. Softw. 2024) or scikit-learn's ``TSNE``. openTSNE is the
  default: on the 1,000 MNIST-5k test codes of a default run it is 1.4x faster at one thread (median
  2.6 s against 4.2 s) for maps of the same quality (``benchmarks/results/tsne.md``).
- 1-NN accuracy: each point is classified by the label of its nearest *other* point (leave-one-out),
  a label-aware score of how well classes stay together (openTSNE's own behavioural tests use it).
- trustworthiness (Venna & Kaski, ICANN 2001; ``sklearn.manifold.trustworthiness``): 1 when the
  ``n_neighbors`` nearest neighbours of each point in code space were also near it in pixel space,
  lower when the code brings in neighbours that were far apart. Needs no labels.

Both scores are given for the autoencoder's codes and, as the baseline a code must beat, for PCA
codes of the same size (PCA fitted on the training split). A t-SNE map is for looking at only:
distances between its clusters mean little, which is why the scores are computed on the codes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from aekit.analysis.metrics import as_rows
from aekit.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

BACKENDS = ("opentsne", "sklearn")
DEFAULT_BACKEND = "opentsne"  # measured: benchmarks/tsne.py
N_NEIGHBORS = 5  # trustworthiness: sklearn's default neighbourhood size
MAX_POINTS = 1000  # test points for the map and its scores: a seeded subsample beyond that


def subsample(n_total: int, max_points: int = MAX_POINTS, random_state: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n_total`` rows: all of them, or a seeded draw."""
    if n_total <= max_points:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(random_state).choice(n_total, max_points, replace=False))


def tsne(h: np.ndarray, *, backend: str = DEFAULT_BACKEND, perplexity: float = 30.0, random_state: int = 0,
         n_jobs: int = 1) -> np.ndarray:
    """A 2-D t-SNE map of codes ``h`` (n, k) -> (n, 2), identical for a fixed ``random_state``.

    A perplexity too high for n points (t-SNE needs perplexity < (n - 1) / 3) is lowered, and the
    correction logged, never silent.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"The 'backend' parameter of tsne must be a str among {set(BACKENDS)}. Got {backend!r} instead.")
    h = as_rows(h, "h")
    n = len(h)
    if n < 4:
        raise DataError(f"t-SNE needs at least 4 points; got {n}.")
    usable = max(1.0, (n - 1) / 3.0 - 1e-6)
    if perplexity > usable:
        logger.info("Perplexity %g too high for %d points, using %.3g instead.", perplexity, n, usable)
        perplexity = usable
    if backend == "opentsne":
        from openTSNE import TSNE

        embedding = TSNE(perplexity=perplexity, random_state=random_state, n_jobs=n_jobs, verbose=False).fit(h)
        return np.asarray(embedding, dtype=np.float64)
    from sklearn.manifold import TSNE

    return TSNE(perplexity=perplexity, random_state=random_state, n_jobs=n_jobs, init="pca").fit_transform(h)


def one_nn_accuracy(h: np.ndarray, labels: np.ndarray) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy of ``labels`` in the space of ``h`` (n, k)."""
    from sklearn.metrics import pairwise_distances

    h = as_rows(h, "h")
    labels = np.asarray(labels)
    if labels.shape != (len(h),):
        raise DataError(f"labels must have shape ({len(h)},) to match h; got {labels.shape}.")
    if len(h) < 2:
        raise DataError("1-NN accuracy needs at least 2 points.")
    distances = pairwise_distances(h)  # (n, n), Euclidean
    np.fill_diagonal(distances, np.inf)  # a point is not its own neighbour
    return float((labels[distances.argmin(axis=1)] == labels).mean())


def trustworthiness(x: np.ndarray, h: np.ndarray, n_neighbors: int = N_NEIGHBORS) -> float:
    """sklearn's trustworthiness of the codes ``h`` as a map of the inputs ``x`` (both row-aligned)."""
    from sklearn.manifold import trustworthiness as _trustworthiness

    x, h = as_rows(x, "x"), as_rows(h, "h")
    n_neighbors = min(n_neighbors, max(1, len(x) // 2 - 1))  # sklearn needs n_neighbors < n / 2
    return float(_trustworthiness(x, h, n_neighbors=n_neighbors))


def pca_codes(x_train: np.ndarray, x_test: np.ndarray, n_components: int, random_state: int = 0) -> np.ndarray:
    """Codes of ``x_test`` from a PCA with ``n_components`` fitted on ``x_train`` (capped at what PCA allows)."""
    from sklearn.decomposition import PCA

    x_train, x_test = as_rows(x_train, "x_train"), as_rows(x_test, "x_test")
    n_components = min(n_components, *x_train.shape)
    return PCA(n_components=n_components, random_state=random_state).fit(x_train).transform(x_test)


@dataclass
class Scores:
    """Neighbourhood scores of one set of codes: 1-NN accuracy (None without labels) and trustworthiness."""

    one_nn: float | None
    trustworthiness: float


def scores(x: np.ndarray, h: np.ndarray, labels: np.ndarray | None, n_neighbors: int = N_NEIGHBORS) -> Scores:
    """1-NN accuracy (when there are labels) and trustworthiness of codes ``h`` of inputs ``x``."""
    return Scores(None if labels is None else one_nn_accuracy(h, labels), trustworthiness(x, h, n_neighbors))


@dataclass
class EmbeddingComparison:
    """A 2-D map of test codes and the scores of the codes beside those of PCA codes of the same size."""

    points: np.ndarray  # (n, 2): the t-SNE map, or the code itself when the code is 2-D
    labels: np.ndarray | None  # (n,) class of each point, or None
    method: str  # "t-SNE" or "code"
    autoencoder: Scores
    pca: Scores
    code_size: int
    pca_size: int
    n_points: int  # test points used (a seeded subsample when there were more than max_points)
    n_total: int  # test points available
    seconds: float  # time of the t-SNE step
    backend: str | None


def compare_embeddings(h_test: np.ndarray, x_test: np.ndarray, labels: np.ndarray | None, x_train: np.ndarray, *,
                       max_points: int = MAX_POINTS, backend: str = DEFAULT_BACKEND, random_state: int = 0,
                       n_jobs: int = 1, pca_test: np.ndarray | None = None) -> EmbeddingComparison:
    """t-SNE of the test codes (the code itself when it is 2-D) and the scores of both kinds of codes.

    At most ``max_points`` test points are used (a seeded subsample), for the map and the scores alike.
    ``pca_test``: PCA codes of all of ``x_test`` when the caller has them already (else PCA is fitted
    on ``x_train`` here, with as many components as the code has).
    """
    h_test, x_test = as_rows(h_test, "h_test"), as_rows(x_test, "x_test")
    n_total = len(h_test)
    rows = subsample(n_total, max_points, random_state)
    h, x = h_test[rows], x_test[rows]
    y = None if labels is None else np.asarray(labels)[rows]
    code_size = h.shape[1]
    z = pca_codes(x_train, x, code_size, random_state) if pca_test is None else as_rows(pca_test, "pca_test")[rows]
    start = time.perf_counter()
    if code_size == 2:
        points, method, used = h, "code", None
    else:
        points, method, used = tsne(h, backend=backend, random_state=random_state, n_jobs=n_jobs), "t-SNE", backend
    seconds = time.perf_counter() - start
    return EmbeddingComparison(points, y, method, scores(x, h, y), scores(x, z, y), code_size, z.shape[1],
                               len(rows), n_total, seconds, used)


__all__ = ["tsne", "subsample", "MAX_POINTS", "one_nn_accuracy", "trustworthiness", "pca_codes", "scores", "Scores", "compare_embeddings",
           "EmbeddingComparison", "BACKENDS", "DEFAULT_BACKEND"]
