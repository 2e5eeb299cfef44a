"""The label-budget curve: test accuracy against the number of labels, with and without pretraining.

The lecture's practical promise, measured: with many unlabelled images and few labels, does an
autoencoder's encoder make a better classifier? For each label budget and each seeded stratified
draw of labelled training rows, five methods are scored on the run's test split:

    raw       logistic regression on the raw inputs
    pca       logistic regression on PCA codes of the code size (PCA fitted on all training rows)
    codes     logistic regression on the autoencoder's frozen codes
    scratch   the classifier network (encoder architecture + head) trained from random weights
    finetune  the pretrained encoder + head, head first (encoder frozen), then end to end

PCA and the autoencoder both see every training row without its label; only the classifiers see
labels, and every method sees the same n labelled rows of a budget n: the networks stop early on a
part of them (``FinetuneConfig.val_labels``), never on further labelled rows. Logistic regression is scikit-learn's (L2, C=1; autoencoder codes are standardised, PCA codes
keep their pixel units so that small components are not blown up).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aekit.errors import ConfigError
from aekit.models.batched import map_batches
from aekit.params import REPEATS, InstanceOf, Interval, check, message
from aekit.schema import Items, Real, Record
from aekit.training.finetune import FinetuneConfig, check_budget, draw_labelled, finetune, predict_proba, split_budget
from aekit.training.probe import linear_probe

logger = logging.getLogger(__name__)

METHODS = ("raw", "pca", "codes", "scratch", "finetune")


@dataclass
class Point:
    method: str
    labels: int
    accuracies: list[float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0


def _logreg(train: np.ndarray, y: np.ndarray, test: np.ndarray, y_test: np.ndarray, scale: bool) -> float:
    return linear_probe(train, y, test, y_test, scale=scale, max_iter=3000).accuracy


def label_curve(run_dir: str | Path, budgets: Sequence[int | None] = (10, 100, 300, 1000, None), draws: int = 3,
                methods: Sequence[str] = METHODS, config: FinetuneConfig | None = None,
                progress: Callable[[str], None] | None = None) -> list[Point]:
    """Accuracy of each method at each label budget (``None`` = every training label), ``draws`` draws each;
    a budget beyond the labelled training rows is refused before any work."""
    from sklearn.decomposition import PCA

    from aekit.training.run_folder import load_run

    check("draws", draws, REPEATS)
    if len(set(budgets)) != len(budgets):  # each budget once: the count of fits is bounded by the labelled rows
        raise ConfigError(message("budgets", None, "distinct label budgets (numbers, or 'all' once)", list(budgets)))
    config = config or FinetuneConfig()
    run = load_run(run_dir)
    (x, x_val, x_test), (y, y_val, y_test), data = run.labelled_arrays("A label curve")
    for budget in budgets:
        check_budget(budget, len(y), parameter="budgets", where=f"the training split of {str(run_dir)!r}")
    s = data.splits
    flat, flat_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    k = run.model.config.code_size
    codes, codes_test = (map_batches(run.model.encode, a, run.model) for a in (x, x_test))
    pca = PCA(n_components=min(k, flat.shape[1]), random_state=0).fit(flat)
    pcs, pcs_test = pca.transform(flat), pca.transform(flat_test)
    n_classes = len(s.train.classes or []) or int(y.max()) + 1

    points = []
    for budget in budgets:
        every = budget is None
        n = len(y) if every else int(budget)
        scores: dict[str, list[float]] = {m: [] for m in methods}
        for draw in range(1 if every else draws):
            rows = draw_labelled(y, n, draw)
            if not every:  # a budget: the early-stopping rows are among the n
                fit_rows, stop_rows = split_budget(y, rows, config.val_labels, draw)
                x_stop, y_stop = x[stop_rows], y[stop_rows]
            else:  # every label: the validation split's labels too
                fit_rows, x_stop, y_stop = rows, x_val, y_val
            run_config = dataclasses.replace(config, label_seed=draw, seed=draw)
            for method in methods:
                if method == "raw":
                    acc = _logreg(flat[rows], y[rows], flat_test, y_test, scale=False)
                elif method == "pca":
                    acc = _logreg(pcs[rows], y[rows], pcs_test, y_test, scale=False)
                elif method == "codes":
                    acc = _logreg(codes[rows], y[rows], codes_test, y_test, scale=True)
                else:
                    pretrained = method == "finetune"
                    result = finetune(run.model if pretrained else None, x[fit_rows], y[fit_rows], x_stop, y_stop,
                                      run_config, n_classes=n_classes, pretrained=pretrained, template=run.model)
                    acc = float((predict_proba(result.classifier, x_test).argmax(1) == y_test).mean())
                scores[method].append(acc)
                if progress is not None:
                    progress(f"{n:>5} labels, draw {draw + 1}: {method:<8} accuracy {acc:.3f}")
        points += [Point(m, n, scores[m]) for m in methods]
    return points


def table(points: Sequence[Point]) -> str:
    """Markdown: one row per label budget, one column per method, test accuracy mean ± sd."""
    methods = list(dict.fromkeys(p.method for p in points))
    budgets = list(dict.fromkeys(p.labels for p in points))
    by = {(p.method, p.labels): p for p in points}
    lines = ["| labels | " + " | ".join(methods) + " |", "|---:|" + "---:|" * len(methods)]
    for n in budgets:
        cells = []
        for m in methods:
            p = by[(m, n)]
            cells.append(f"{p.mean:.3f} ± {p.sd:.3f}" if len(p.accuracies) > 1 else f"{p.mean:.3f}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_json(points: Sequence[Point]) -> list[dict[str, Any]]:
    return [{"method": p.method, "labels": p.labels, "mean": p.mean, "sd": p.sd, "accuracies": p.accuracies}
            for p in points if not math.isnan(p.mean)]


# labelcurve.json, as to_json writes it: one object per method and budget
LABEL_CURVE_JSON = Items(Record(required={"method": InstanceOf(str), "labels": Interval(int, 1, None),
                                          "accuracies": Items(Interval(float, 0, 1), 1)},
                                optional={"mean": Real(), "sd": Real()}), 1)


def read_label_curve(path: str | Path) -> list[Point]:
    """The points of a ``labelcurve.json`` that ``aekit labelcurve`` wrote, checked before use."""
    from aekit.io import read_json

    rows = read_json(path, "the points of a label curve", "Measure it again with 'aekit labelcurve RUN', or delete "
                     "it.", kind=list, schema=LABEL_CURVE_JSON)
    return [Point(r["method"], r["labels"], r["accuracies"]) for r in rows]

