"""Defaults give models worth keeping: the default autoencoder beats PCA with as many components on
held-out digits, training stops by itself, and experiments/defaults.py --quick runs end to end."""

import warnings

import numpy as np
import pytest
from _experiments import load_experiment
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from aekit import Autoencoder, AutoencoderClassifier


def test_the_default_autoencoder_beats_pca_on_held_out_digits():
    x, y = load_digits(return_X_y=True)
    x_train, x_test = train_test_split((x / 16.0).astype(np.float32), test_size=0.25, stratify=y, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: the default converges within its budget
        ae = Autoencoder(random_state=0).fit(x_train)
    k = ae.model_.config.code_size
    assert k == 16 and ae.stop_reason_ == "converged"  # code_size auto: 64 pixels // 4
    pca = PCA(n_components=k).fit(x_train)
    error = ((ae.inverse_transform(ae.transform(x_test)) - x_test) ** 2).sum(1).mean()
    pca_error = ((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2).sum(1).mean()
    assert error < 0.8 * pca_error, (error, pca_error)  # measured: about 0.57x (experiments/defaults.py)


@pytest.mark.slow
def test_the_defaults_experiment_runs_in_its_quick_mode(tmp_path):
    out, readme = tmp_path / "defaults.md", tmp_path / "README.md"
    readme.write_text("before\n<!-- defaults:begin -->\nold\n<!-- defaults:end -->\nafter\n")
    results = load_experiment("defaults").main(["--quick", "--out", str(out), "--readme", str(readme)])
    text = out.read_text()
    table = readme.read_text()
    assert table.startswith("before\n<!-- defaults:begin -->\n<!-- written by: .venv/bin/python experiments/defaults.py")
    assert "old" not in table and table.endswith("<!-- defaults:end -->\nafter\n")
    # quick mode trains 3 epochs: the verdicts are computed, so they say the targets are not met
    assert "| `aekit train --data digits`: 64-512-16, 3 epochs (budget)" in table and "< 1×: **not met**" in table
    assert "`AutoencoderClassifier()`, digits, 50 labels" in table and "C by the same cross-validation" in table
    for section in ("## 1. `aekit train` with its defaults", "## 2. A linear autoencoder",
                    "## 4. `AutoencoderClassifier()` against logistic regression"):
        assert section in text
    assert {row["data"] for row in results["runs"]} == {"digits"} and len(results["deep"]) == 1
    assert results["semi"] and all(0 <= row["accuracy"] <= 1 for row in results["semi"])


def test_each_seed_of_the_defaults_experiment_draws_its_own_split(tmp_path, monkeypatch):
    defaults = load_experiment("defaults")
    first, again, other = (defaults._flat_split("digits", seed) for seed in (0, 0, 1))
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1]) and len(first[1]) == len(other[1])
    seen = []
    monkeypatch.setattr(defaults, "train", lambda config: seen.append(config.data.split_seed) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        defaults.cli_runs([("digits", None, ["data.name=digits"])], defaults.Setup(seeds=(3,)), tmp_path, print)
    assert seen == [3]


def test_a_linear_autoencoder_with_default_settings_comes_within_1_percent_of_pca():
    """lr and batch size 'auto' (1e-2 for an affine model, about 20 steps an epoch) and epochs 'auto':
    no tuning, and the held-out error is PCA's to 1 % (Baldi & Hornik 1989: PCA is its optimum)."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test = train_test_split((x / 16.0).astype(np.float32), test_size=0.25, stratify=y, random_state=0)
    pca = PCA(n_components=10).fit(x_train)
    pca_error = ((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2).sum(1).mean()
    ae = Autoencoder(code_size=10, hidden=(), activation="linear", loss="mse", random_state=0).fit(x_train)
    error = ((ae.inverse_transform(ae.transform(x_test)) - x_test) ** 2).sum(1).mean()
    assert ae.stop_reason_ == "converged" and error < 1.01 * pca_error, (error, pca_error)


def test_the_classifier_is_judged_against_logistic_regression_tuned_by_the_same_cv():
    """The baseline's C comes from the classifier's own cross-validation inside the labels (the same rows in
    the same order, so the same folds; the same Cs, seed and rule); the README's verdict reads that tuned
    baseline, not LogisticRegression() with C = 1."""
    import aekit.training.probe as probe

    experiment = load_experiment("defaults")
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rows = experiment._labelled(y, 5, draw=1)
    y_semi = np.full(len(y), -1)
    y_semi[rows] = y[rows]
    calls = []

    def spy(candidates, labels, Cs, **kwargs):
        calls.append((candidates["input"], np.unique(labels, return_inverse=True)[1], list(Cs), kwargs))
        return real(candidates, labels, Cs, **kwargs)

    real = probe.select_probe
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch: the autoencoder plays no part here
        patch.setattr(probe, "select_probe", spy)
        patch.setattr(experiment, "select_probe", spy)
        clf = AutoencoderClassifier(features="input", hidden=(16,), max_epochs=1, random_state=1).fit(x, y_semi)
        tuned_C = experiment.tuned_baseline_C(x, y_semi, clf)
    (ours, theirs) = calls  # the classifier's choice, then the baseline's
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])  # same rows, same order
    assert ours[2:] == theirs[2:] and tuned_C == clf.C_

    row = {"data": "digits", "labels": 50, "features": "codes", "C": 0.1, "logreg_C": 10.0}
    beats_untuned_only = [{**row, "accuracy": 0.80, "logreg": 0.75, "logreg_tuned": 0.85}]
    text = experiment._semi_row(beats_untuned_only)
    assert "C by the same cross-validation: 0.850" in text and "≥: **not met**" in text
    assert "≥: met" in experiment._semi_row([{**row, "accuracy": 0.86, "logreg": 0.90, "logreg_tuned": 0.85}])
    chose_the_baseline = [{**row, "features": "input", "C": 10.0, "accuracy": 0.85, "logreg": 0.8,
                           "logreg_tuned": 0.85}]
    assert "it chose that baseline" in experiment._semi_row(chose_the_baseline)
