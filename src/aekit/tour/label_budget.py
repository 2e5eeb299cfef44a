"""The strict label budget of the tour's pretraining claim: with n labelled rows and nothing else, every
choice (logistic regression's C; a network's schedule and number of epochs) is made by k-fold
cross-validation inside those rows, then the chosen setting is trained on all of them and scored once
on the test split (Oliver et al., NeurIPS 2018). The claim (:mod:`aekit.tour.claims.pretraining`) says
which methods and budgets; this module fits them."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from aekit.data.corruption import build_corruption
from aekit.models.batched import map_batches
from aekit.models.classifier import Classifier
from aekit.objectives.classification import Classification
from aekit.tour.claim import Setting
from aekit.training.trainer import TrainConfig, Trainer

AUGMENT = {"shift": 2, "masking": 0.2}  # noise on the labelled inputs of both networks (not on the regressions)
CS = (0.01, 0.1, 1.0, 10.0)  # logistic regression's inverse L2 strength, chosen by CV
BATCH = 32


@dataclass(frozen=True)
class Schedule:
    """A network's training, fixed in advance; CV picks how many of its epochs to keep (``every``-th)."""

    frozen: int  # epochs of the head alone at ``head_lr`` (encoder frozen); 0 for a network from scratch
    end_to_end: int  # then epochs of the whole network at ``lr``
    head_lr: float
    lr: float
    every: int  # CV looks at every ``every``-th epoch

    @property
    def epochs(self) -> int:
        return self.frozen + self.end_to_end

    @property
    def checkpoints(self) -> list[int]:
        return list(range(self.every, self.epochs + 1, self.every))


def grid_size(schedules: Sequence[Schedule]) -> int:
    """How many (schedule, checkpoint) settings a network's cross-validation chooses among."""
    return sum(len(schedule.checkpoints) for schedule in schedules)


@dataclass
class Fitted:
    """One method at one budget and seed: what CV inside the labels chose, its CV accuracy, the test error."""

    choice: str
    cv_accuracy: float
    test_error: float
    cv: dict = field(default_factory=dict)  # candidate -> mean fold accuracy


def _best(scores: dict[str, tuple[float, float]]) -> str:
    """The candidate with the best mean fold accuracy; ties go to the lower mean fold log-loss, then the first."""
    return max(scores, key=lambda k: (scores[k][0], -scores[k][1]))


def _error(proba: np.ndarray, y_test: np.ndarray) -> float:
    """Test error of class probabilities (m, C): the one place a test label is read."""
    return float((proba.argmax(1) != y_test).mean())


def _scores(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(accuracy, log-loss) of class probabilities (m, C) against labels (m,)."""
    p = np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0)
    return float((proba.argmax(1) == y).mean()), float(-np.log(p).mean())


# -- logistic regression on fixed features --------------------------------------------------------
def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Every feature set the regressions read (pixels, PCA codes, autoencoder codes) the same way: centred
    and scaled by the mean and standard deviation of all training rows (no label), a constant feature
    left unscaled; the same C grid then means the same strength of regularisation for each."""
    mu, sd = train.mean(0), train.std(0)  # (d,) each
    sd = np.where(sd > 1e-8, sd, 1.0)
    return [(x - mu) / sd for x in (train, *others)]


def _logistic(x: np.ndarray, y: np.ndarray, C: float, n_classes: int) -> Callable[[np.ndarray], np.ndarray]:
    """Fit on labelled rows; returns x -> class probabilities (m, n_classes)."""
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs iteration warnings on tiny separable folds
        model = LogisticRegression(C=C, solver="newton-cg", max_iter=1000).fit(x, y)

    def predict(rows: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(rows), n_classes))
        proba[:, model.classes_] = model.predict_proba(rows)
        return proba

    return predict


def fit_regression(features: np.ndarray, features_test: np.ndarray, y: np.ndarray, y_test: np.ndarray,
                   folds: Sequence[tuple[np.ndarray, np.ndarray]], n_classes: int) -> Fitted:
    """C by CV inside the labelled rows (``features``/``y`` are those rows only), then refit on all of them."""
    scores = {}
    for C in CS:
        per_fold = [_scores(_logistic(features[a], y[a], C, n_classes)(features[b]), y[b]) for a, b in folds]
        scores[f"C={C:g}"] = (float(np.mean([s[0] for s in per_fold])), float(np.mean([s[1] for s in per_fold])))
    choice = _best(scores)
    C = float(choice.split("=")[1])
    proba = _logistic(features, y, C, n_classes)(features_test)
    return Fitted(choice, scores[choice][0], _error(proba, y_test), {k: v[0] for k, v in scores.items()})


# -- networks: the autoencoder's encoder under a softmax head -------------------------------------
def _network(autoencoder: torch.nn.Module, pretrained: bool, n_classes: int, seed: int) -> Classifier:
    source = copy.deepcopy(autoencoder)
    torch.manual_seed(seed)
    if not pretrained:  # the same architecture from random weights
        for module in source.encoder.modules():
            if hasattr(module, "reset_parameters") and module is not source.encoder:
                module.reset_parameters()
    return Classifier.from_autoencoder(source, n_classes, head="softmax")


def train_network(autoencoder: torch.nn.Module, pretrained: bool, schedule: Schedule, epochs: int, x: np.ndarray,
                  y: np.ndarray, n_classes: int, seed: int,
                  watch: Callable[[int, Classifier], None] | None = None) -> Classifier:
    """``epochs`` epochs of ``schedule`` on the labelled rows x (m, *sample_shape), y (m,); no validation
    rows, no early stopping, the last weights kept. ``watch(epoch, classifier)`` after every epoch."""
    classifier = _network(autoencoder, pretrained, n_classes, seed)
    phases = [(True, schedule.head_lr, min(epochs, schedule.frozen)),
              (False, schedule.lr, max(0, epochs - schedule.frozen))]
    done = 0
    for frozen, lr, count in phases:
        if count == 0:
            continue
        classifier.freeze_encoder(frozen)
        config = TrainConfig(epochs=count, batch_size=BATCH, lr=lr, restore_best=False)
        trainer = Trainer(classifier, [Classification()], config, corruption=build_corruption(AUGMENT), seed=seed)
        if watch is not None:
            trainer.on_epoch = lambda record, offset=done: watch(offset + record["epoch"], classifier)
        trainer.fit(x, labels=y)
        done += count
    classifier.freeze_encoder(False)
    return classifier.eval()


def _proba(classifier: Classifier, x: np.ndarray) -> np.ndarray:
    return map_batches(lambda xb: torch.softmax(classifier(xb)["class_logits"], dim=-1), x, classifier)


def fit_network(autoencoder: torch.nn.Module, pretrained: bool, schedules: Sequence[Schedule], x: np.ndarray,
                y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                folds: Sequence[tuple[np.ndarray, np.ndarray]], n_classes: int, seed: int) -> Fitted:
    """The schedule and its number of epochs (every ``every``-th, head alone or fine-tuned) by CV inside the
    labelled rows x, y; then the chosen training on all of them."""
    scores: dict[str, tuple[float, float]] = {}
    for s, schedule in enumerate(schedules):
        found: dict[int, list[tuple[float, float]]] = {t: [] for t in schedule.checkpoints}
        for a, b in folds:
            def watch(epoch: int, classifier: Classifier, b=b) -> None:
                if epoch in found:
                    found[epoch].append(_scores(_proba(classifier, x[b]), y[b]))

            train_network(autoencoder, pretrained, schedule, schedule.epochs, x[a], y[a], n_classes, seed, watch)
        for t, per_fold in found.items():
            scores[f"{s}:{t}"] = (float(np.mean([p[0] for p in per_fold])), float(np.mean([p[1] for p in per_fold])))
    choice = _best(scores)
    s, t = (int(v) for v in choice.split(":"))
    schedule = schedules[s]
    classifier = train_network(autoencoder, pretrained, schedule, t, x, y, n_classes, seed)
    error = _error(_proba(classifier, x_test), y_test)
    return Fitted(_describe(schedule, t, pretrained), scores[choice][0], error, {k: v[0] for k, v in scores.items()})


def _describe(schedule: Schedule, epochs: int, pretrained: bool) -> str:
    if not pretrained:
        return f"lr {schedule.lr:g}, {epochs} epochs"
    if epochs <= schedule.frozen:
        return f"head only, {epochs} epochs"
    return f"head {schedule.frozen} + fine-tuned {epochs - schedule.frozen} epochs at lr {schedule.lr:g}"


def digest_of(model: torch.nn.Module) -> str:
    """SHA-256 of a model's weights: the fits remembered for it are the fits of these weights."""
    import hashlib

    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def remembered(setting: Setting, name: str, key: Sequence[object], fit_all: Callable[[], dict[str, Fitted]]
               ) -> dict[str, Fitted]:
    """``fit_all()``, or what it returned in an earlier attempt of this claim with the same ``key`` (the plan,
    seed, budget and autoencoder weights), kept in ``<workdir>/pretraining/<name>.json``: at full scale a seed
    takes most of an hour, and an attempt that was interrupted then redoes only the budget it was in. The
    file is data (numbers and strings, checked on reading); one from other settings is fitted again."""
    import hashlib
    import json
    import time
    from dataclasses import asdict

    from aekit.io import atomic_write_text

    path = setting.folder("pretraining") / f"{name}.json"
    digest = hashlib.sha256(repr([setting.data, setting.quick, *key]).encode()).hexdigest()
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["key"] == digest:
            fitted = {m: Fitted(str(f["choice"]), float(f["cv_accuracy"]), float(f["test_error"]),
                                {str(c): float(a) for c, a in f["cv"].items()}) for m, f in saved["fitted"].items()}
            setting.earlier_seconds += float(saved["seconds"])
            setting.log(f"pretraining: {name}: the fits of an earlier attempt ({float(saved['seconds']):.0f} s)")
            return fitted
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # none yet, or not one this code wrote
        pass
    begin = time.perf_counter()
    fitted = fit_all()
    atomic_write_text(path, json.dumps({"key": digest, "seconds": time.perf_counter() - begin,
                                        "fitted": {m: asdict(f) for m, f in fitted.items()}}))
    return fitted


__all__ = ["Schedule", "Fitted", "grid_size", "standardise", "fit_regression", "train_network", "fit_network",
           "digest_of", "remembered", "AUGMENT", "CS", "BATCH"]
