"""The linear probe: a logistic regression on features, with C fixed in advance (:func:`linear_probe`, what the
report, the tour and the label curve measure), or on few labels with every choice made by cross-validation
inside those labels (:func:`select_probe`, the semi-supervised classifier's).

A semi-supervised classifier has n labelled rows and many unlabelled ones. Which features a
logistic regression should read — the autoencoder's codes h, the raw input x, or both — and how
strongly to regularise it (the inverse strength C) are chosen here by stratified k-fold
cross-validation repeated over reshuffles of the n labelled rows, and nothing else: no validation
set beside them, no test data (Oliver et al., "Realistic Evaluation of Deep Semi-Supervised Learning
Algorithms", NeurIPS 2018, on validation sets larger than the labelled set). Where the codes do not
help, the raw input wins; and since a choice made on n rows is noisy, a candidate replaces the
reference (logistic regression on the raw input with scikit-learn's default C = 1) only when its
accuracy beats the reference's, split for split, by more than two standard errors of the paired
difference (in the spirit of the "one standard error" rule of Breiman et al., *Classification and
Regression Trees*, 1984, turned towards the plain baseline).

    accuracy = linear_probe(H_train, y_train, H_test, y_test).accuracy   # a probe with C fixed in advance
    choice = select_probe({"codes": H, "input": X, "both": np.hstack([H, X])}, y, Cs=(0.1, 1, 10), seed=0)
    weight, bias = fit_logistic(candidates[choice.features], y, choice.C, n_classes)   # (C, d), (C,)

Features come scaled by the caller (codes standardised with statistics of all rows, labelled or
not, which uses no label; the raw input as it is, so that logistic regression on X with C = 1 is
one of the candidates).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

MAX_FOLDS = 5
REPEAT_BELOW = 300  # labelled rows under which the folds are repeated over reshuffles (3 repeats)
SE_MARGIN = 2.0  # standard errors by which a candidate must beat the reference


@dataclass
class ProbeChoice:
    """The chosen features and C, their mean cross-validated accuracy, and every candidate's score."""

    features: str
    C: float
    accuracy: float | None  # None when the labels were too few to cross-validate
    results: list[dict[str, Any]] = field(default_factory=list)  # {"features", "C", "accuracy", "log_loss"}
    reference: tuple[str, float] | None = None  # the candidate kept unless another is clearly better


def _logistic(C: float, max_iter: int = 2000) -> Any:
    """The one logistic regression of every linear probe (lbfgs, multinomial), with ``C`` fixed by the caller."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter)


@dataclass
class Probe:
    """What a linear probe got right on its test rows (1.0 or 0.0 per row), and whether its fit converged."""

    hits: np.ndarray
    converged: bool

    @property
    def accuracy(self) -> float:
        return float(self.hits.mean())


def linear_probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
                 C: float = 1.0, scale: bool = True, max_iter: int = 1000) -> Probe:
    """The linear probe of the report, the tour and the label curve: a logistic regression with ``C`` fixed
    in advance, fitted on the training features (flattened; standardised on the training rows with
    ``scale``), scored on the test rows. Nothing is chosen here, so the test rows are read once."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(*([StandardScaler()] if scale else []), _logistic(C, max_iter))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x_train.reshape(len(x_train), -1), y_train)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    hits = (model.predict(x_test.reshape(len(x_test), -1)) == np.asarray(y_test)).astype(np.float64)
    return Probe(hits, converged)


def fit_logistic(x: np.ndarray, y: np.ndarray, C: float, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression as the (n_classes, d) weight and (n_classes,) bias of a softmax
    layer; ``y`` holds class indices 0..n_classes-1 (a class missing from ``y`` gets -inf-like logits)."""
    weight = np.zeros((n_classes, x.shape[1]), dtype=np.float32)
    bias = np.full(n_classes, -30.0, dtype=np.float32)  # classes never seen: probability ~ 0
    present = np.unique(y)
    if len(present) == 1:  # one class: it is always the answer
        bias[present[0]] = 0.0
        return weight, bias
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs iteration warnings on tiny, separable folds
        model = _logistic(C).fit(x, y)
    coef, intercept = model.coef_, model.intercept_
    if len(present) == 2:  # binary: sklearn keeps one row, w for class 1; softmax([0, z]) = sigmoid(z)
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    weight[present], bias[present] = coef, intercept
    return weight, bias


def select_probe(candidates: Mapping[str, np.ndarray], y: np.ndarray, Cs: Sequence[float], *, cv: int = MAX_FOLDS,
                 seed: int = 0) -> ProbeChoice:
    """The (features, C) with the best mean accuracy over repeated stratified k-fold splits of the
    labelled rows (ties: the lower log-loss, then the earlier candidate), if it beats the reference —
    "input" (else the first candidate) with the C nearest 1 — by more than two standard errors of the
    paired per-split difference; else the reference. k = min(cv, rows of the rarest class). With
    fewer than 2 rows in some class nothing can be cross-validated: the reference is taken, and the
    log says so."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import RepeatedStratifiedKFold

    y = np.asarray(y)
    names = list(candidates)
    reference = ("input" if "input" in candidates else names[0], min(Cs, key=lambda C: abs(np.log(C))))
    counts = np.unique(y, return_counts=True)[1]
    folds = min(cv, int(counts.min()))
    if folds < 2 or len(counts) < 2:
        logger.info("Too few labels to cross-validate (a class has %d labelled row(s)): features=%r, C=%g",
                    counts.min(), *reference)
        return ProbeChoice(*reference, None, reference=reference)
    repeats = 3 if len(y) < REPEAT_BELOW else 1
    splits = list(RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed).split(y, y))
    labels = np.unique(y)
    results = []
    for name in names:
        x = candidates[name]
        for C in Cs:
            correct, losses = [], []
            for train, test in splits:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = _logistic(C).fit(x[train], y[train])
                proba = model.predict_proba(x[test]).astype(np.float64)
                proba /= proba.sum(axis=1, keepdims=True)
                correct.append(float((model.classes_[proba.argmax(1)] == y[test]).mean()))
                full = np.zeros((len(test), len(labels)))
                full[:, np.searchsorted(labels, model.classes_)] = proba
                losses.append(log_loss(y[test], full, labels=labels))
            results.append({"features": name, "C": float(C), "accuracy": float(np.mean(correct)),
                            "log_loss": float(np.mean(losses)), "per_split": correct})
    best = max(results, key=lambda r: (r["accuracy"], -r["log_loss"]))  # max keeps the first of equals
    ref = next(r for r in results if (r["features"], r["C"]) == reference)
    gain = np.subtract(best["per_split"], ref["per_split"])  # paired: the same splits
    if gain.mean() <= SE_MARGIN * gain.std(ddof=1) / np.sqrt(len(gain)):
        best = ref
    logger.info("Probe chosen by %d-fold cross-validation (x%d) on %d labelled rows: features=%r, C=%g "
                "(accuracy %.3f; reference %r, C=%g: %.3f)", folds, repeats, len(y), best["features"], best["C"],
                best["accuracy"], *reference, ref["accuracy"])
    return ProbeChoice(best["features"], best["C"], best["accuracy"], results, reference)
