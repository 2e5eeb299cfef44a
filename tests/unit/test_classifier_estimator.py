"""AutoencoderClassifier: rows labelled -1 pretrain the autoencoder and are never used as labels;
the probe's cross-validation and fine-tuning see exactly the labelled rows; where the codes do not
help it falls back to logistic regression on X; save/load and string labels work."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import aekit.training.finetune as finetune_module
import aekit.training.probe as probe_module
import aekit.training.trainer as trainer_module
from aekit import AutoencoderClassifier

FAST = dict(code_size=8, hidden=(32,), epochs=3, freeze_epochs=3, finetune_epochs=3, random_state=0)
FINETUNE = {**FAST, "features": "finetune"}


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype(np.float32)[:400], y[:400]


def semi(y, fraction=0.2, seed=0):
    y_semi = y.copy()
    y_semi[np.random.default_rng(seed).random(len(y)) > fraction] = -1
    return y_semi


def test_unlabelled_rows_pretrain_and_are_never_labels(digits, monkeypatch):
    x, y = digits
    y_semi = semi(y)
    pretrain_rows, finetune_labels = [], []
    original_fit, original_finetune = trainer_module.Trainer.fit, finetune_module.finetune

    def spy_fit(self, train, val=None, **kwargs):
        if kwargs.get("labels") is None:  # the autoencoder's own training
            pretrain_rows.append(len(train) + (0 if val is None else len(val)))
        return original_fit(self, train, val, **kwargs)

    def spy_finetune(autoencoder, x_l, y_l, x_v, y_v, *args, **kwargs):
        finetune_labels.append(np.concatenate([y_l, y_v]))
        return original_finetune(autoencoder, x_l, y_l, x_v, y_v, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "fit", spy_fit)
    monkeypatch.setattr(finetune_module, "finetune", spy_finetune)
    clf = AutoencoderClassifier(**FINETUNE).fit(x, y_semi)
    assert pretrain_rows == [len(x)]  # every row, labelled or not
    labels = finetune_labels[0]
    assert len(labels) == (y_semi != -1).sum() and labels.min() >= 0  # only labelled rows, no -1
    assert np.array_equal(np.sort(clf.classes_[labels]), np.sort(y_semi[y_semi != -1]))
    assert -1 not in clf.classes_


def test_every_choice_of_the_probe_sees_only_the_labelled_rows(digits, monkeypatch):
    """Each logistic regression the cross-validation fits, and the final one, reads labelled rows only,
    with their own labels: a selection that used one more label (or an unlabelled row) fails here."""
    x, y = digits
    y_semi = semi(y, 0.15)
    allowed = {(row.tobytes(), label) for row, label in zip(x[y_semi != -1], y_semi[y_semi != -1])}
    fitted_rows = []
    original = probe_module._logistic

    def spy(C):
        model = original(C)
        fit = model.fit

        def checked_fit(features, labels):
            raw = features[:, -x.shape[1]:]  # "input" and "both" end with the raw pixels
            if features.shape[1] >= x.shape[1]:
                classes = np.unique(y_semi[y_semi != -1])
                assert all((r.astype(np.float32).tobytes(), classes[i]) in allowed for r, i in zip(raw, labels))
            fitted_rows.append(len(labels))
            return fit(features, labels)

        model.fit = checked_fit
        return model

    monkeypatch.setattr(probe_module, "_logistic", spy)
    clf = AutoencoderClassifier(**FAST).fit(x, y_semi)
    n_labelled = int((y_semi != -1).sum())
    assert max(fitted_rows) <= n_labelled and fitted_rows[-1] == n_labelled  # folds, then all labelled rows
    assert len(fitted_rows) > 1 + len(clf.cv_results_)  # every candidate was cross-validated
    assert {r["features"] for r in clf.cv_results_} == {"codes", "input", "both"}


def test_falls_back_to_logistic_regression_on_x_when_codes_do_not_help(digits):
    """Codes of an autoencoder trained for one epoch carry little: the probe keeps the plain baseline,
    logistic regression on X with C = 1, and predicts exactly as scikit-learn's does."""
    from sklearn.linear_model import LogisticRegression

    x, y = digits
    y_semi = semi(y, 0.15)
    clf = AutoencoderClassifier(**{**FAST, "epochs": 1, "lr": 1e-5, "Cs": (1.0,)}).fit(x, y_semi)
    assert (clf.features_, clf.C_) == ("input", 1.0)
    baseline = LogisticRegression(max_iter=2000).fit(x[y_semi != -1], y_semi[y_semi != -1])
    np.testing.assert_allclose(clf.predict_proba(x), baseline.predict_proba(x), atol=1e-4)


def test_the_probe_takes_the_codes_where_they_carry_the_classes_and_the_input_does_not():
    """select_probe leaves the reference (the input, C = 1) only for a candidate that is clearly better
    in cross-validation: codes that hold the class win; noise does not."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 8)
    informative = (y[:, None] + rng.normal(0, 0.2, (len(y), 2))).astype(np.float32)
    noise = rng.normal(size=(len(y), 50)).astype(np.float32)
    choice = probe_module.select_probe({"codes": informative, "input": noise}, y, [0.1, 1.0, 10.0], seed=0)
    assert choice.features == "codes" and choice.accuracy > 0.9 and choice.reference == ("input", 1.0)
    choice = probe_module.select_probe({"codes": noise[:, :2], "input": informative}, y, [0.1, 1.0, 10.0], seed=0)
    assert (choice.features, choice.C) == ("input", 1.0)
    one_row_of_class_0 = np.r_[0, np.ones(len(y) - 1, int)]
    few = probe_module.select_probe({"codes": informative, "input": noise}, one_row_of_class_0, [0.1, 1.0], seed=0)
    assert few.accuracy is None and few.features == "input"  # a class with one row: nothing to cross-validate


def test_predictions_probabilities_and_accuracy(digits):
    x, y = digits
    clf = AutoencoderClassifier(**{**FINETUNE, "epochs": 30, "lr": 1e-2, "freeze_epochs": 30,
                                   "finetune_epochs": 10}).fit(x, semi(y, 0.5))
    proba = clf.predict_proba(x)
    assert proba.shape == (len(x), 10) and np.allclose(proba.sum(1), 1)
    assert set(clf.predict(x)) <= set(clf.classes_)
    assert clf.score(x, y) > 0.6  # well above chance (0.1) on the training digits


def test_string_labels_and_save_load(digits, tmp_path):
    x, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"], dtype=object)
    y_text = names[y].astype(object)
    y_text[semi(y) == -1] = "-1"
    clf = AutoencoderClassifier(**FAST).fit(x, y_text)
    assert clf.features_ in ("codes", "input", "both")
    assert "-1" not in clf.classes_ and set(clf.predict(x[:20])) <= set(names)
    clf.save(tmp_path / "clf")
    back = AutoencoderClassifier.load(tmp_path / "clf")
    np.testing.assert_array_equal(back.predict_proba(x[:50]), clf.predict_proba(x[:50]))
    np.testing.assert_array_equal(back.classes_, clf.classes_)


def test_no_labelled_row_is_an_error(digits):
    x, _ = digits
    with pytest.raises(ValueError, match="y has no labelled row: every label is -1"):
        AutoencoderClassifier(**FAST).fit(x, np.full(len(x), -1))


def test_bad_fine_tuning_parameter_message(digits):
    x, y = digits
    with pytest.raises(ValueError, match=r"The 'head' parameter of AutoencoderClassifier must be a str among"):
        AutoencoderClassifier(head="svm").fit(x, y)


def test_fit_is_reproducible_and_leaves_torch_rng_alone(digits):
    x, y = digits
    state = torch.get_rng_state()
    a = AutoencoderClassifier(**FAST).fit(x, semi(y)).predict_proba(x)
    b = AutoencoderClassifier(**FAST).fit(x, semi(y)).predict_proba(x)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("features", ["auto", "finetune"])
def test_verbose_shows_every_stage_of_the_fit(digits, capsys, features):
    x, y = digits
    AutoencoderClassifier(**{**FAST, "features": features}, verbose=1).fit(x[:120], y[:120])
    out = capsys.readouterr().out
    assert out.startswith("AutoencoderClassifier: training the autoencoder on 108 rows, 12 held out")
    assert out.count("\nepoch ") == 3 and "AutoencoderClassifier: trained 3 epochs in " in out
    if features == "auto":
        assert ("AutoencoderClassifier: choosing the logistic regression's features (codes, input, both) and C "
                "(among 4) by cross-validation on the 120 labelled rows") in out
        assert "AutoencoderClassifier: chose features=" in out and "cross-validated accuracy" in out
    else:
        assert "AutoencoderClassifier: fine-tuning on " in out
        lines = out.splitlines()
        assert sum(line.startswith("  frozen epoch") for line in lines) == 3
        assert sum(line.startswith("finetune epoch") for line in lines) == 3
