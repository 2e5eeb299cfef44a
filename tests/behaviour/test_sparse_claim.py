"""The lecture's claim at small scale: the L1 penalty makes a ReLU code sparser (Ranzato et al.,
NIPS 2007), and the KL penalty moves a sigmoid code's mean activation toward the target rho (Ng,
CS294A notes). Runs ``experiments/sparse.py --quick``: the same model with and without the penalty."""

import pytest
from _experiments import load_experiment



@pytest.fixture(scope="module")
def results(tmp_path_factory):
    experiment = load_experiment("sparse")
    out = tmp_path_factory.mktemp("experiment") / "result.md"
    results = experiment.main(["--quick", "--out", str(out)])  # the script's tiny mode, end to end
    assert "--quick" in out.read_text() and "| model |" in out.read_text()
    return results


def measured(results, variant, row, key):
    (value,) = [seed[key] for seed in results[variant][row]]  # the quick setup has one seed
    return value


def test_the_l1_penalised_code_is_sparser_than_the_plain_one(results):
    plain = measured(results, "l1", "ReLU code, no penalty", "near_zero")
    sparse = measured(results, "l1", "L1, lambda 0.3", "near_zero")
    assert sparse > plain + 0.1  # a larger fraction of code entries below 0.01
    assert measured(results, "l1", "L1, lambda 0.3", "mean") < 0.6 * measured(results, "l1", "ReLU code, no penalty", "mean")


def test_the_kl_penalty_moves_the_mean_activation_toward_rho(results):
    rho = 0.05
    plain = measured(results, "kl", "sigmoid code, no penalty", "mean")
    penalised = measured(results, "kl", "KL, rho 0.05, beta 3", "mean")
    assert abs(penalised - rho) < 0.5 * abs(plain - rho)
