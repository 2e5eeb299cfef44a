"""The lecture's claim at small scale (Rifai et al., ICML 2011): the contractive penalty makes the
encoder less sensitive to its input at test points — a smaller Jacobian norm ||dh/dx||_F than the same
autoencoder trained without it, and a smaller largest singular value. Runs
``experiments/contractive.py --quick``."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "experiments" / "contractive.py"


@pytest.fixture(scope="module")
def rows():
    spec = importlib.util.spec_from_file_location("contractive_experiment", SCRIPT)
    experiment = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = experiment  # dataclasses look their module up there
    spec.loader.exec_module(experiment)
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
