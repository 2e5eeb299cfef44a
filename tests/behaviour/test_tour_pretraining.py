"""The tour's claim 8 (pretraining helps when labels are few), quick mode through its ``run``: the
evidence is well formed and its verdict follows its rule; a pretrained encoder learns from a few
labels faster than the same network from random weights; and no label outside the drawn budget ever
reaches a fit (the strict protocol, checked by poisoning every other label)."""

import math

import numpy as np
import pytest

from aekit.registry import get
from aekit.tour import label_budget
from aekit.tour.claim import CLOSE, Setting
from aekit.tour.claims import pretraining
from aekit.tour.label_budget import Schedule, train_network


def _setting(path):
    return Setting(quick=True, seeds=(0,), workdir=path, log=lambda _: None)


@pytest.fixture(scope="module")
def workdir(quick_tour):
    return quick_tour.out / "work"


@pytest.fixture(scope="module")
def evidence(quick_tour):
    return quick_tour.evidence("pretraining")


def test_the_evidence_is_well_formed(evidence):
    (n,) = pretraining.QUICK["budgets"]
    assert len(evidence.rows) == 10 and all(len(row) == len(evidence.header) for row in evidence.rows)
    for method in ("raw", "pca", "codes", "scratch", "finetune", "baseline", "pretrained", "ladder"):
        assert 0.0 <= evidence.numbers[f"error_{method}_n{n}"] < 0.9  # better than chance on ten digits
    assert all(math.isfinite(v) for v in evidence.numbers.values())
    assert evidence.verdict == CLOSE  # one seed: no interval
    gap, ladder = evidence.decision.outcomes
    assert gap.diffs == [pytest.approx(100 * evidence.numbers[f"gap_n{n}"])]
    assert ladder.diffs == [pytest.approx(100 * evidence.numbers[f"gap_ladder_n{n}"])]
    assert evidence.numbers[f"gap_ladder_n{n}"] == pytest.approx(
        evidence.numbers[f"error_baseline_n{n}"] - evidence.numbers[f"error_ladder_n{n}"])
    low, high = gap.image_out[0]  # one test image more or less moves an error by 1/(n - 1) at most
    assert high - low == pytest.approx(200 / 99) and low < gap.diffs[0] < high
    assert [f.key for f in evidence.figures] == ["labelcurve"] and evidence.figures[0].png.startswith(b"\x89PNG")


def test_a_pretrained_encoder_learns_faster_than_random_weights(evidence, workdir):
    """Fine-tuned vs from scratch at a fixed small budget (50 labels, 6 epochs, no selection), on the
    1,000 test images, over three draws: breaks if the encoder's weights stop reaching the classifier."""
    from aekit.tour.bench import split
    from aekit.training.finetune import draw_labelled
    from aekit.training.run_folder import load_run

    autoencoder = load_run(workdir / "runs" / "pretraining-ae-seed0").model
    data = split("mnist5k", 0)
    images, images_test = (x.reshape(len(x), 1, 28, 28) for x in (data.x_train, data.x_test))
    schedule = Schedule(frozen=3, end_to_end=3, head_lr=1e-2, lr=1e-3, every=3)
    errors = {True: [], False: []}
    for seed in range(3):
        rows = draw_labelled(data.y_train, 50, seed)
        for pretrained in (True, False):
            network = train_network(autoencoder, pretrained, schedule, schedule.epochs, images[rows],
                                    data.y_train[rows], 10, seed)
            errors[pretrained].append(label_budget._error(label_budget._proba(network, images_test), data.y_test))
    assert np.mean(errors[True]) < np.mean(errors[False]) - 0.05, errors


def test_no_label_outside_the_budget_reaches_a_fit(monkeypatch, tmp_path):
    """Every label the claim may not use is replaced by an impossible class (10 + row): the validation
    and test labels entirely, the training labels of every row that the budget's draw did not pick.
    Every fit (scikit-learn's logistic regression, aekit's trainer) must see only classes 0-9, and never
    more rows than the budget."""
    from sklearn.linear_model import LogisticRegression

    from aekit.training.trainer import Trainer

    real_split, real_draw = pretraining.split_of, pretraining.draw_labelled
    pristine = {}

    def poisoned_split(*args, **kwargs):
        data = real_split(*args, **kwargs)
        data.y_train, data.y_val, data.y_test = (np.array(y, copy=True) for y in (data.y_train, data.y_val,
                                                                                    data.y_test))
        pristine["y_train"] = data.y_train.copy()
        data.y_val[:] = 10 + np.arange(len(data.y_val))
        data.y_test[:] = 10 + np.arange(len(data.y_test))
        return data

    def poisoning_draw(y, n, seed):
        y[:] = pristine["y_train"]  # the draw itself may stratify on the training labels
        rows = real_draw(y, n, seed)
        others = np.setdiff1d(np.arange(len(y)), rows)
        y[others] = 10 + others  # from here on, a label outside the budget is an impossible class
        return rows

    from aekit.estimator import LadderClassifier

    seen = []
    real_logistic_fit, real_trainer_fit, real_ladder_fit = LogisticRegression.fit, Trainer.fit, LadderClassifier.fit

    def logistic_fit(self, x, y, *args, **kwargs):
        seen.append(("logistic", np.asarray(y)))
        return real_logistic_fit(self, x, y, *args, **kwargs)

    def trainer_fit(self, train, val=None, *, labels=None, val_labels=None):
        for y in (labels, val_labels):
            if y is not None:
                seen.append(("trainer", np.asarray(y)))
        return real_trainer_fit(self, train, val, labels=labels, val_labels=val_labels)

    def ladder_fit(self, x, y, *args, **kwargs):
        seen.append(("ladder", np.asarray(y)[np.asarray(y) != -1]))  # -1: unlabelled, as scikit-learn marks it
        return real_ladder_fit(self, x, y, *args, **kwargs)

    monkeypatch.setattr(pretraining, "split_of", poisoned_split)
    monkeypatch.setattr(pretraining, "draw_labelled", poisoning_draw)
    monkeypatch.setattr(LogisticRegression, "fit", logistic_fit)
    monkeypatch.setattr(Trainer, "fit", trainer_fit)
    monkeypatch.setattr(LadderClassifier, "fit", ladder_fit)
    get("claim", "pretraining")().run(_setting(tmp_path))

    (budget,) = pretraining.QUICK["budgets"]
    assert pristine, "the claim no longer loads its data through split_of: the poisoning did not happen"
    assert {kind for kind, _ in seen} == {"logistic", "trainer", "ladder"}  # every kind of fit ran and was watched
    for kind, y in seen:
        assert y.min() >= 0 and y.max() <= 9, f"a {kind} fit saw a label outside the budget"
        assert len(y) <= budget


def test_both_networks_choose_among_grids_of_the_same_size():
    """From scratch and fine-tuned, each network's CV picks among as many (learning rate, epochs) settings."""
    for plan in (pretraining.FULL, pretraining.QUICK):
        scratch, finetune = (sum(len(s.checkpoints) for s in plan[key]) for key in ("scratch", "finetune"))
        assert scratch == finetune, plan


def test_every_regression_reads_features_standardised_alike(monkeypatch, tmp_path):
    """Pixels, PCA codes and autoencoder codes go through one standardisation (statistics of all training
    rows) before the same C grid; before, raw pixels went in as they were."""
    from aekit.tour.bench import split

    calls, outputs = [], []
    real_standardise = pretraining.standardise

    def standardise(train, *others):
        out = real_standardise(train, *others)
        outputs.append((train, out))
        return out

    def fit_regression(features, features_test, *args):
        calls.append((features, features_test))
        return pretraining.Fitted("C=1", 0.5, 0.5)

    def fit_network(*args):  # the networks are not what this test is about
        return pretraining.Fitted("lr 0.001, 3 epochs", 0.5, 0.5)

    monkeypatch.setattr(pretraining, "standardise", standardise)
    monkeypatch.setattr(pretraining, "fit_regression", fit_regression)
    monkeypatch.setattr(pretraining, "fit_network", fit_network)
    get("claim", "pretraining")().run(_setting(tmp_path))

    assert len(calls) == 3 and len(outputs) == 3  # pixels, PCA codes, autoencoder codes: one budget, one seed
    for _, features_test in calls:  # every regression's test features come out of the standardisation
        assert any(features_test is out[1] for _, out in outputs)
    pixels = split("mnist5k", 0, pretraining.QUICK_LIMIT).x_train
    assert any(train.shape == pixels.shape and np.array_equal(train, pixels) for train, _ in outputs)
    for train, (standardised, _) in outputs:
        moving = train.std(0) > 1e-8
        np.testing.assert_allclose(standardised.mean(0), 0.0, atol=1e-4)
        np.testing.assert_allclose(standardised.std(0)[moving], 1.0, rtol=1e-3)


def test_the_ladder_fit_is_remembered_and_its_checkpoint_removed(evidence, workdir):
    (n,) = pretraining.QUICK["budgets"]
    assert (workdir / "pretraining" / f"seed0-n{n}-ladder.json").is_file()
    assert not list((workdir / "pretraining").glob("*.pt"))
    assert any("ladder network" in row[0] and "nothing" in row[-1] for row in evidence.rows)
    assert "Rasmus et al." in evidence.protocol and "its own check" in evidence.protocol
