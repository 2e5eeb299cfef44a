"""The lecture's claim at small scale (Rifai et al., ICML 2011): the contractive penalty makes the
encoder less sensitive to its input at test points — a smaller Jacobian norm ||dh/dx||_F than the same
autoencoder trained without it, and a smaller largest singular value. Runs
``experiments/contractive.py --quick``."""

import pytest
from _experiments import load_experiment



@pytest.fixture(scope="module")
def rows():
    experiment = load_experiment("contractive")
    (results,) = experiment.run(experiment.QUICK, log=lambda message: None).values()  # one architecture
    (plain,) = results["plain"]  # the quick setup has one seed
    (contractive,) = [per_seed for row, (per_seed,) in results.items() if row.startswith("contractive")]
    return plain, contractive


def test_the_contractive_encoder_has_a_smaller_jacobian_at_test_points(rows):
    plain, contractive = rows
    assert contractive["frobenius"] < 0.8 * plain["frobenius"]
    assert contractive["sigma_1"] < plain["sigma_1"]


def test_the_contractive_model_still_reconstructs(rows):
    plain, contractive = rows
    assert contractive["bce"] < 1.25 * plain["bce"]  # nats per test image
