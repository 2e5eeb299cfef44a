"""The tour's claim 4 (sparse codes are sparse and still reconstruct), quick mode through its ``run``:
the evidence is well formed, the L1 code has more zeros than its unpenalised twin, the KL code's mean
activation moves toward rho, and the rule's five checks are the paired differences of the statement."""

import math

import pytest

from aekit.tour.claims.sparse import RHO, SPARSER


@pytest.fixture(scope="module")
def evidence(quick_tour):
    return quick_tour.evidence("sparse")


def test_the_evidence_is_well_formed(evidence):
    assert len(evidence.rows) == 4 and all(len(row) == len(evidence.header) for row in evidence.rows)
    assert all(math.isfinite(v) for v in evidence.numbers.values())
    assert [f.key for f in evidence.figures] == ["l1", "kl"]
    assert all(f.png.startswith(b"\x89PNG") for f in evidence.figures)


def test_the_penalties_make_the_codes_sparser(evidence):
    n = evidence.numbers
    # quick: 5 epochs on 400 images at the default lambda (0.03), so the L1 effect is small but one-sided
    # (measured +0.045 near-zero and 0.79x the mean activation)
    assert n["near_zero_l1"] > n["near_zero_relu"] + 0.02
    assert n["mean_l1"] < 0.9 * n["mean_relu"]
    assert abs(n["mean_kl"] - RHO) < 0.5 * abs(n["mean_sigmoid"] - RHO)


def test_the_rule_checks_sparsity_and_reconstruction_of_both_codes(evidence):
    n = evidence.numbers
    sparse_l1, rebuilds_l1, sparse_kl, rho_kl, rebuilds_kl = evidence.decision.outcomes
    assert sparse_l1.diffs == [pytest.approx(n["near_zero_l1"] - n["near_zero_relu"] - SPARSER)]
    assert rebuilds_kl.diffs == [pytest.approx(1 - n["error_kl"] / n["pca_error_kl"])]
    assert rho_kl.diffs == [pytest.approx(min(n["mean_kl"] - RHO / 2, 2 * RHO - n["mean_kl"]))]
    for key in ("l1", "kl"):  # m is a count of active entries; PCA-m's error is a number to beat
        assert 1 <= n[f"active_{key}"] <= 200 and n[f"pca_error_{key}"] > 0
