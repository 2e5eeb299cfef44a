"""The tour's one statistical rule (``aekit.tour.claim.RULE``) on synthetic paired differences: with no
true difference it says "holds" at its stated false-alarm rate (5 %, one-sided) and otherwise a close
call or "does not hold"; a true difference of the effect size is detected at the rate its power
computation states; a claim's verdict combines its checks; leaving out one seed or one test image is
decided again, exactly. Seeded simulations, well under a second each."""

import json
import math
import statistics
from dataclasses import asdict

import numpy as np
import pytest

from aekit.tour.claim import CLOSE, FAILS, HOLDS, MIXED, RULE, Check, Decision, accuracy_out, combine, decide, one_out

RUNS = 4000  # simulated claims per rate: a binomial standard error of at most 0.008


def rates(n: int, true_mean: float, sd: float, seed: int = 0) -> dict[str, float]:
    draws = np.random.default_rng(seed).normal(true_mean, sd, size=(RUNS, n))
    outcomes = [RULE.outcome(row.tolist()) for row in draws]
    return {o: outcomes.count(o) / RUNS for o in (HOLDS, FAILS, CLOSE)}


@pytest.mark.parametrize("n", [3, 5, 8])
def test_no_difference_is_called_a_close_call_or_does_not_hold_at_the_stated_rate(n):
    one_sided = (1 - RULE.level) / 2  # 5 %: the rate at which a claim without an effect is said to hold
    found = rates(n, 0.0, 1.0, seed=n)
    assert found[HOLDS] == pytest.approx(one_sided, abs=0.012)
    assert found[CLOSE] + found[FAILS] >= 1 - one_sided - 0.012
    assert found[FAILS] == pytest.approx(one_sided, abs=0.012)  # the interval is symmetric


@pytest.mark.parametrize("n", [3, 5, 8])
def test_a_true_difference_of_the_effect_size_is_detected_at_its_stated_power(n):
    effect = 0.5
    sd = effect / 1.3594  # at 5 seeds this is the sd at which the rule's power is 80 %
    stated = RULE.power_at(effect, sd, n)
    assert rates(n, effect, sd, seed=10 + n)[HOLDS] == pytest.approx(stated, abs=0.025)
    if n == 5:
        assert stated == pytest.approx(RULE.power, abs=0.01)


def test_the_power_and_the_seeds_it_needs_follow_the_observed_sd():
    check = Check("gap", [0.2, 1.4, 0.5, 1.1, 0.3], effect=0.5)
    outcome = RULE.judge(check)
    sd = statistics.stdev(check.diffs)
    assert outcome.n == 5 and outcome.sd == pytest.approx(sd) and outcome.positive == 5
    assert outcome.low < outcome.mean < outcome.high and outcome.outcome == HOLDS
    assert outcome.power == pytest.approx(RULE.power_at(0.5, sd, 5))
    k = outcome.seeds_needed
    assert RULE.power_at(0.5, sd, k) >= RULE.power > RULE.power_at(0.5, sd, k - 1)
    assert RULE.power_at(0.5, sd, 20) > RULE.power_at(0.5, sd, 5) > RULE.power_at(0.5, 2 * sd, 5)


def test_one_seed_gives_no_interval_and_a_close_call():
    outcome = RULE.judge(Check("gap", [3.0], effect=1.0))
    assert outcome.outcome == CLOSE and outcome.low is None and outcome.power is None
    assert outcome.verdict() == "close call (one seed)"
    assert decide([Check("gap", [3.0], effect=1.0)], [0]).seed_out is None


def test_a_close_call_says_whether_the_seeds_were_too_few_or_the_difference_small():
    small = RULE.judge(Check("tight", [0.01, -0.01, 0.02, -0.02, 0.0], effect=1.0))  # sd 0.016: δ = 1 is easy
    noisy = RULE.judge(Check("noisy", [2.0, -1.5, 1.0, -2.0, 0.5], effect=1.0))
    assert small.outcome == noisy.outcome == CLOSE
    assert small.verdict() == "close call (any difference is below δ)"
    assert noisy.verdict() == "close call (too few seeds for δ)" and "seeds would reach" in noisy.detectable()


def test_the_effect_of_interest_must_be_positive():
    with pytest.raises(ValueError, match="effect size of check 'gap' must be > 0"):
        Check("gap", [1.0, 2.0], effect=0.0)


@pytest.mark.parametrize("outcomes, verdict", [
    ([HOLDS, HOLDS], HOLDS), ([HOLDS, FAILS], MIXED), ([HOLDS, CLOSE, FAILS], MIXED), ([FAILS, FAILS], FAILS),
    ([FAILS, CLOSE], FAILS), ([HOLDS, CLOSE], CLOSE), ([CLOSE], CLOSE)])
def test_a_claim_combines_its_checks(outcomes, verdict):
    assert combine(outcomes) == verdict


def test_a_verdict_that_rests_on_one_seed_is_flagged():
    decision = decide([Check("gap", [1.0, 1.0, 1.0, 1.0, -3.0], effect=1.0)], seeds=[10, 11, 12, 13, 14])
    assert decision.verdict == CLOSE
    assert decision.seed_out == ["without seed 14: holds"] and decision.stable_seeds == "no"
    steady = decide([Check("gap", [1.0, 1.2, 0.9, 1.1, 1.0], effect=1.0)], seeds=range(5))
    assert steady.verdict == HOLDS and steady.seed_out == [] and steady.stable_seeds == "yes"


def test_a_verdict_that_one_test_image_flips_is_flagged_from_the_margin_in_images():
    n_test = 1000
    # each seed's accuracy gap is one image in a thousand: without that image the gap of seed 0 is 0
    gaps = [1 / n_test] * 3
    flips = decide([Check("accuracy", gaps, effect=0.001, image_out=[accuracy_out(g, n_test) for g in gaps])],
                   seeds=[0, 1, 2])
    assert flips.verdict == HOLDS and flips.stable_images == "no"
    assert flips.image_out[0] == "accuracy, seed 0: close call"
    wide = [0.05, 0.06, 0.055]  # 50 to 60 images: one more or less changes nothing
    kept = decide([Check("accuracy", wide, effect=0.01, image_out=[accuracy_out(g, n_test) for g in wide])], [0, 1, 2])
    assert kept.verdict == HOLDS and kept.image_out == [] and kept.stable_images == "yes"
    unmeasured = decide([Check("angle", wide, effect=0.01)], [0, 1, 2])
    assert unmeasured.stable_images == "—" and "not computed" in unmeasured.stability()


def test_accuracy_out_is_the_range_over_the_images_that_can_be_left_out():
    rng = np.random.default_rng(0)
    a, b = ((rng.random(200) < p).astype(float) for p in (0.8, 0.7))
    without = [np.delete(a, i).mean() - np.delete(b, i).mean() for i in range(200)]
    low, high = accuracy_out(a.mean() - b.mean(), 200)
    assert (min(without), max(without)) == pytest.approx((low, high))  # both kinds of disagreement occur here


def test_one_out_leaves_out_each_image_exactly_and_skips_non_finite_rows():
    rng = np.random.default_rng(1)
    a, b = rng.random(50) + 1, rng.random(50) + 1
    value, (low, high) = one_out(lambda u, v: 1 - u / v, a, b)
    without = [1 - np.delete(a, i).mean() / np.delete(b, i).mean() for i in range(50)]
    assert value == pytest.approx(1 - a.mean() / b.mean())
    assert (low, high) == pytest.approx((min(without), max(without)))
    a[3] = math.inf  # an image a corruption left unchanged scores +inf dB: it is left out of both columns
    assert one_out(lambda u, v: u - v, a, b)[0] == pytest.approx(np.delete(a, 3).mean() - np.delete(b, 3).mean())


def test_the_decision_round_trips_through_results_json_and_the_rule_is_printed_from_one_object():
    from aekit.tour.claim import Evidence
    from aekit.tour.page import Section, markdown, render

    decision = decide([Check("gap", [0.3, 0.5, 0.4], effect=0.2, unit=" dB", image_out=[(0.2, 0.4)] * 3),
                       Check("angle", [1.0, -2.0, 0.5], effect=1.0)], seeds=[0, 1, 2])
    assert Decision.from_dict(json.loads(json.dumps(asdict(decision)))) == decision
    evidence = Evidence(statement="s", protocol="p", header=["a"], rows=[["x"]], rule="two checks", decision=decision,
                        scale="MNIST-5k: 3,500 training images")
    assert evidence.verdict == decision.verdict == CLOSE
    facts = {"command": "c", "date": "d", "machine": "m", "seeds": [0, 1, 2], "threads": 1, "seconds": 1.0}
    section = Section("k", "t", 1.0, evidence)
    page, tables = render([section], facts), markdown([section], facts)
    for text in (page, tables):
        assert RULE.text().split(".")[0] in text and "3,500 training images" in text and "+0.4 dB" in text
    assert f"Rule: {RULE.text()}" in tables and f"Stability: {decision.stability()}" in tables
    with pytest.raises(ValueError, match="A verdict is one of"):
        Evidence(statement="s", protocol="p", header=[], rows=[], rule="r", verdict="mostly")
