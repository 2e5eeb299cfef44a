"""The tour's claim 9 (greedy layer-wise vs end-to-end at equal total epochs), quick mode through its
``run``: both runs get the same number of epochs (the stages' epochs counted), the evidence is well
formed and the rule's two checks are the paired gaps (times are reported, not tested: they depend on the
machine)."""

import math

import pytest

from aekit.tour.claims.layerwise import QUICK


@pytest.fixture(scope="module")
def evidence(quick_tour):
    return quick_tour.evidence("layerwise")


def test_the_evidence_is_well_formed(evidence):
    assert len(evidence.rows) == 4 and all(len(row) == len(evidence.header) for row in evidence.rows)
    assert all(math.isfinite(v) for v in evidence.numbers.values())
    assert [f.key for f in evidence.figures] == ["curves", "stages"]
    assert all(f.png.startswith(b"\x89PNG") for f in evidence.figures)


def test_both_runs_get_the_same_epochs_and_their_codes_carry_the_digit(evidence):
    n = evidence.numbers
    assert n["epochs_e2e"] == n["epochs_greedy"] == QUICK["epochs"]
    assert 1 <= n["epochs_e2e_time"] <= QUICK["epochs"]
    assert n["recon_e2e"] > 0 and n["recon_greedy"] > 0
    assert 0.1 < n["probe_e2e"] <= 1 and 0.1 < n["probe_greedy"] <= 1  # both codes carry the digit


def test_the_rule_checks_both_paired_gaps(evidence):
    n = evidence.numbers
    recon, probe = evidence.decision.outcomes
    assert n["recon_gap"] == pytest.approx(n["recon_e2e"] - n["recon_greedy"]) == recon.diffs[0]
    assert probe.diffs == [pytest.approx(100 * (n["probe_greedy"] - n["probe_e2e"]))]
    assert probe.image_out is not None  # an accuracy: its stability without one test image is computed
