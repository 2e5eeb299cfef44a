"""The claim at small scale: an autoencoder trained without one digit reconstructs that digit worse,
so ``score_samples`` ranks its test images below the trained digits' (anomaly detection by
reconstruction). Runs ``experiments/anomaly.py --quick``: digits 0 and 6 held out in turn of 1400
training images, 5 epochs, scored on the 1000-image test split; the control is the same model
trained on every digit, so the held-out effect is measured apart from how the digit looks."""

import numpy as np
import pytest
from _experiments import load_experiment

from aekit.training.trainer import Trainer


@pytest.fixture(scope="module")
def spied():
    """The quick run, with every autoencoder's training rows and every PCA's fitting rows recorded."""
    experiment = load_experiment("anomaly")
    seen = {"autoencoder": [], "pca": []}
    fit = Trainer.fit

    def trainer_fit(self, train, *args, **kwargs):
        seen["autoencoder"].append(np.asarray(train).reshape(len(train), -1).copy())
        return fit(self, train, *args, **kwargs)

    class SpyPCA(experiment.PCA):
        def fit(self, X, y=None):
            seen["pca"].append(np.asarray(X).copy())
            return super().fit(X, y)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "fit", trainer_fit)
        patch.setattr(experiment, "PCA", SpyPCA)
        results = experiment.run(experiment.QUICK, log=lambda message: None)
    return results, seen


@pytest.fixture(scope="module")
def results(spied):
    return spied[0]


def test_pca_fits_on_exactly_the_rows_the_autoencoder_trains_on(spied):
    """Not on every training row: fit holds 10 % out to validate, so PCA must leave the same rows out."""
    results, seen = spied
    quick = load_experiment("anomaly").QUICK
    held_out = seen["autoencoder"][len(quick.seeds):]  # the first fits are the controls (every digit)
    assert len(seen["pca"]) == len(held_out) == len(quick.classes) * len(quick.seeds)
    sizes = [results[digit]["n_train"] for digit in quick.classes for _ in quick.seeds]
    for pca_rows, ae_rows, n in zip(seen["pca"], held_out, sizes):  # one PCA per held-out digit and seed, in turn
        assert len(ae_rows) == n - int(0.1 * n)  # the digit's images and the validation rows are left out
        assert np.array_equal(pca_rows, ae_rows)


def test_both_models_are_compared_by_the_same_score(results):
    """The autoencoder is scored by squared error too, and the comparison with PCA reads that score."""
    experiment = load_experiment("anomaly")
    counts = experiment.counts(results)
    for digit in (0, 6):
        assert len(results[digit]["autoencoder_se"]) == len(results[digit]["pca"]) == 1  # one per seed
    ae_wins = [d for d in (0, 6) if results[d]["autoencoder_se"][0] > results[d]["pca"][0]]
    assert counts["beats_pca"] == ae_wins
    text = experiment.readme(results, experiment.QUICK, 3.0, "cmd")
    assert "fitted on the same training rows, both scored by squared error" in text


def test_a_held_out_digit_scores_lower_than_the_trained_digits(results):
    (auc,) = results[0]["autoencoder"]  # one seed
    assert auc > 0.7  # chance is 0.5 (measured 0.815 here, 0.912 in the full experiment)


@pytest.mark.parametrize("digit", [0, 6])
def test_holding_a_digit_out_lowers_its_scores_relative_to_the_control(results, digit):
    (held_out,) = results[digit]["autoencoder"]
    (control,) = results[digit]["control"]
    assert held_out > 0.5
    assert held_out > control + 0.03  # measured +0.07 and +0.08 here; +0.26 and +0.32 in the full experiment


def test_the_readme_paragraph_is_counted_from_the_run_and_compares_with_pca(results):
    experiment = load_experiment("anomaly")
    text = experiment.readme(results, experiment.QUICK, 3.0, "cmd")
    counts = experiment.counts(results)
    assert text.startswith("<!-- written by: cmd (") and "`cmd`" in text
    assert f"for {len(counts['raised'])} of 2 digits" in text
    assert f"{counts['pca']:.3f} against {counts['overall_se']:.3f} mean ROC-AUC" in text
    worse = {**results, 0: {**results[0], "pca": [0.0]}, 6: {**results[6], "pca": [0.0]}}  # PCA at its worst
    assert "does worse on average" in experiment.readme(worse, experiment.QUICK, 3.0, "cmd")
