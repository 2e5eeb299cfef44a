"""The tour's claim 2 (deep and non-linear autoencoders against PCA), quick mode through its ``run``:
the evidence is well formed, the ratios are the errors over PCA's, and the verdict follows its rule."""

import math

import pytest

from aekit.tour.bench import QUICK_LIMIT, split

KEYS = ("deep", "default", "hinton2006")


@pytest.fixture(scope="module")
def evidence(quick_tour):
    return quick_tour.evidence("deep_vs_pca")


def test_the_evidence_is_well_formed(evidence):
    assert len(evidence.rows) == len(KEYS)
    assert all(len(row) == len(evidence.header) for row in evidence.rows)
    assert all(math.isfinite(v) for v in evidence.numbers.values())
    assert [f.key for f in evidence.figures] == ["reconstructions", "curves"]
    assert all(f.png.startswith(b"\x89PNG") for f in evidence.figures)
    (published,) = evidence.published
    assert "3.00" in published.value and "60,000" in published.differs


def test_each_model_is_compared_with_pca_of_its_own_code_size(evidence):
    n = evidence.numbers
    assert (n["code_deep"], n["code_default"], n["code_hinton2006"]) == (30, 32, 30)
    data = split("mnist5k", 0, QUICK_LIMIT)
    mean_image = float(((data.x_test - data.x_train.mean(0)) ** 2).sum(1).mean())  # PCA with 0 components
    for key in KEYS:
        assert n[f"ratio_{key}"] == pytest.approx(n[f"error_{key}"] / n[f"pca_error_{key}"])
        assert 0 < n[f"pca_error_{key}"] < 0.5 * mean_image  # 30 components explain most of the variance
        assert 0 < n[f"error_{key}"] < 2 * mean_image


def test_every_model_is_a_check_against_pca(evidence):
    outcomes = evidence.decision.outcomes
    assert len(outcomes) == len(KEYS)  # the lecture's MLP is one of them
    for key, outcome in zip(KEYS, outcomes):
        assert outcome.diffs == [pytest.approx(1 - evidence.numbers[f"ratio_{key}"])]

