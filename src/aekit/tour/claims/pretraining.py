"""Claim 8: pretraining helps when labels are few (Erhan et al., JMLR 2010), under a strict label budget.

An autoencoder trained on the training split without its labels gives an encoder; with n labels, a
classifier that starts from it (frozen codes + logistic regression, or the encoder fine-tuned) should
err less than one that does not (logistic regression on pixels or on PCA codes, the same network from
random weights).

The protocol is the one of Oliver et al. ("Realistic Evaluation of Deep Semi-Supervised Learning
Algorithms", NeurIPS 2018): with a budget of n labels, **every** choice — logistic regression's C, the
number of epochs, head only or fine-tuned, the network's learning rate, which method to report — is
made by k-fold cross-validation inside those n labelled training rows (the same folds for every
method), or was fixed before any label was looked at. No labelled validation row exists; the
autoencoder stops on the reconstruction loss of the validation split, which uses no label; the test
split is read once per reported number.
"""

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
from aekit.registry import register
from aekit.tour.bench import QUICK_LIMIT, entry, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Published, Setting, accuracy_out, decide, mean, mean_sd, signed
from aekit.training.finetune import draw_labelled
from aekit.training.trainer import TrainConfig, Trainer

# Fixed before this claim ran, but not blind: the recipe came from an exploration that looked at labelled
# validation images outside any budget and, early on, at test error (the protocol text; docs/provenance.md)
AUTOENCODER = ["model.hidden=[512]", "model.code_size=128", "corruption.shift=2", "corruption.masking=0.25",
               "train.epochs=auto", "train.max_epochs=100"]  # stops on the unlabelled validation reconstruction
AUGMENT = {"shift": 2, "masking": 0.2}  # noise on the labelled inputs of both networks (not on the regressions)
CS = (0.01, 0.1, 1.0, 10.0)  # logistic regression's inverse L2 strength, chosen by CV
FOLDS = 5
BATCH = 32
EFFECT = 2.0  # the effect of interest: 2 points less test error than the baseline


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


# Both networks choose among grids of the same size: 2 end-to-end learning rates (a factor of 10 apart) x
# 12 checkpoints. From scratch: the library's Adam rate 1e-3 and ten times it; fine-tuned: the recipe's 3e-4
# and ten times it (its 2 head-only checkpoints are shared by both rates, so 22 of its 24 are distinct).
FULL = {"budgets": (100, 300), "folds": FOLDS, "autoencoder": [],
        "finetune": [Schedule(20, 100, 1e-2, 3e-4, 10), Schedule(20, 100, 1e-2, 3e-3, 10)],
        "scratch": [Schedule(0, 120, 0.0, 1e-3, 10), Schedule(0, 120, 0.0, 1e-2, 10)]}
# at the papers' scale (full MNIST, 50,000 unlabelled images), the budgets of Kingma et al. (2014), Table 1
FULL_SCALE_BUDGETS = {"mnist": (100, 600, 1000, 3000)}
QUICK = {"budgets": (50,), "folds": 3,
         "autoencoder": [f"data.limit={QUICK_LIMIT}", "train.epochs=10", "train.batch_size=32"],
         "finetune": [Schedule(3, 9, 1e-2, 1e-3, 3)], "scratch": [Schedule(0, 12, 0.0, 1e-3, 3)]}


def grid_size(schedules: Sequence[Schedule]) -> int:
    """How many (schedule, checkpoint) settings a network's cross-validation chooses among."""
    return sum(len(schedule.checkpoints) for schedule in schedules)

NAMES = {"raw": "logistic regression, pixels", "pca": "logistic regression, PCA codes",
         "codes": "logistic regression, frozen autoencoder codes", "scratch": "same network from scratch",
         "finetune": "pretrained encoder, fine-tuned"}
PRETRAINED, BASELINES = ("codes", "finetune"), ("raw", "pca", "scratch")


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


def _describe(schedule: Schedule, epochs: int, pretrained: bool) -> str:
    if not pretrained:
        return f"lr {schedule.lr:g}, {epochs} epochs"
    if epochs <= schedule.frozen:
        return f"head only, {epochs} epochs"
    return f"head {schedule.frozen} + fine-tuned {epochs - schedule.frozen} epochs at lr {schedule.lr:g}"


# -- the claim ------------------------------------------------------------------------------------
@register("claim", "pretraining")
class PretrainingWithFewLabels(Claim):
    title = "Pretraining helps when labels are few (strict label budget)"
    order = 80

    def run(self, setting: Setting) -> Evidence:
        from sklearn.decomposition import PCA
        from sklearn.model_selection import StratifiedKFold

        plan = QUICK if setting.quick else {**FULL, "budgets": FULL_SCALE_BUDGETS.get(setting.data, FULL["budgets"])}
        results: dict[tuple[int, str], list[Fitted]] = {}
        selected: dict[tuple[int, str], list[Fitted]] = {}
        gaps: dict[int, list[float]] = {n: [] for n in plan["budgets"]}
        for seed in setting.seeds:
            data = split_of(setting, seed)
            images, images_test = (x.reshape(len(x), *data.sample_shape) for x in (data.x_train, data.x_test))
            # unsupervised: the autoencoder and PCA see the training images, never a label
            overrides = [*AUTOENCODER, *plan["autoencoder"]]
            autoencoder = train_config(setting, f"pretraining-ae-seed{seed}", overrides, seed=seed).model
            weights = digest_of(autoencoder)  # what every fit of this seed starts from
            codes, codes_test = standardise(*(map_batches(autoencoder.encode, a, autoencoder)
                                              for a in (images, images_test)))
            pca = PCA(n_components=autoencoder.config.code_size, svd_solver="full").fit(data.x_train)
            pcs, pcs_test = standardise(pca.transform(data.x_train), pca.transform(data.x_test))
            pixels, pixels_test = standardise(data.x_train, data.x_test)
            for n in plan["budgets"]:
                rows = draw_labelled(data.y_train, n, seed)  # the n labelled rows; every label used comes from here
                y = np.asarray(data.y_train[rows])
                n_classes = int(y.max()) + 1
                k = min(plan["folds"], int(np.unique(y, return_counts=True)[1].min()))
                folds = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(rows, y))
                def fit_all() -> dict[str, Fitted]:
                    return {
                        "raw": fit_regression(pixels[rows], pixels_test, y, data.y_test, folds, n_classes),
                        "pca": fit_regression(pcs[rows], pcs_test, y, data.y_test, folds, n_classes),
                        "codes": fit_regression(codes[rows], codes_test, y, data.y_test, folds, n_classes),
                        "scratch": fit_network(autoencoder, False, plan["scratch"], images[rows], y, images_test,
                                               data.y_test, folds, n_classes, seed),
                        "finetune": fit_network(autoencoder, True, plan["finetune"], images[rows], y, images_test,
                                                data.y_test, folds, n_classes, seed),
                    }

                fitted = remembered(setting, f"seed{seed}-n{n}", [plan, seed, n, weights], fit_all)
                for method, found in fitted.items():
                    results.setdefault((n, method), []).append(found)
                    setting.log(f"pretraining: seed {seed}, {n} labels, {method}: CV accuracy "
                                f"{found.cv_accuracy:.3f} ({found.choice}), test error {found.test_error:.3f}")
                # which method to report is chosen the same way: the best CV accuracy inside the labels
                pre = max(PRETRAINED, key=lambda m: fitted[m].cv_accuracy)
                base = max(BASELINES, key=lambda m: fitted[m].cv_accuracy)
                selected.setdefault((n, "pretrained"), []).append(Fitted(NAMES[pre], fitted[pre].cv_accuracy,
                                                                         fitted[pre].test_error))
                selected.setdefault((n, "baseline"), []).append(Fitted(NAMES[base], fitted[base].cv_accuracy,
                                                                       fitted[base].test_error))
                gaps[n].append(fitted[base].test_error - fitted[pre].test_error)  # paired: same draw, same seed
        return self._evidence(setting, plan, data, results, selected, gaps)

    def _evidence(self, setting: Setting, plan: dict, data, results: dict, selected: dict,
                  gaps: dict[int, list[float]]) -> Evidence:
        budgets = plan["budgets"]
        pct = "{:.1f} %"
        rows, numbers, checks = [], {}, []

        def chosen(fits: list[Fitted]) -> str:
            counts: dict[str, int] = {}
            for f in fits:
                counts[f.choice] = counts.get(f.choice, 0) + 1
            return "; ".join(f"{c} ({k}×)" if len(fits) > 1 else c for c, k in counts.items())

        for method in (*BASELINES, *PRETRAINED):
            cells = [mean_sd([100 * f.test_error for f in results[(n, method)]], pct) for n in budgets]
            rows.append([NAMES[method], *cells, chosen(results[(budgets[0], method)])])
            for n in budgets:
                numbers[f"error_{method}_n{n}"] = mean([f.test_error for f in results[(n, method)]])
                numbers[f"cv_accuracy_{method}_n{n}"] = mean([f.cv_accuracy for f in results[(n, method)]])
        for which, label in (("baseline", "best baseline, chosen by CV inside the labels"),
                             ("pretrained", "best pretrained method, chosen by CV inside the labels")):
            cells = [mean_sd([100 * f.test_error for f in selected[(n, which)]], pct) for n in budgets]
            rows.append([f"**{label}**", *cells, chosen(selected[(budgets[0], which)])])
            for n in budgets:
                numbers[f"error_{which}_n{n}"] = mean([f.test_error for f in selected[(n, which)]])
        gap_cells = []
        for n in budgets:
            numbers[f"gap_n{n}"] = mean(gaps[n])
            checks.append(Check(f"{n} labels: the baseline's test error − the pretrained method's (points)",
                                [100 * g for g in gaps[n]], EFFECT, " pts", "{:.1f}",
                                [accuracy_out(g, len(data.x_test), 100) for g in gaps[n]]))
            gap_cells.append(signed([100 * g for g in gaps[n]], "{:.1f}", " pts"))
        rows.append(["gap: baseline − pretrained (paired by draw)", *gap_cells, ""])

        points = _points(results, budgets)
        from aekit.viz.labelcurve import label_curve_figure

        figure = entry("labelcurve", "Test accuracy against the label budget, every choice made inside the labels",
                       f"Each point: test accuracy with that many labelled training images (10 per class at 100), "
                       f"mean over {len(setting.seeds)} seed(s) (bars: one standard deviation). Every method chose "
                       f"its settings (C; epochs; head only or fine-tuned; learning rate) by {plan['folds']}-fold "
                       f"cross-validation inside those labels only — no labelled validation set. The autoencoder and "
                       f"PCA saw the {len(data.x_train):,} training images without labels. Look at the gap between the "
                       f"pretrained lines (frozen codes, fine-tuned) and the rest: it is what pretraining buys under "
                       f"a budget a user really has.", label_curve_figure(points))
        n_first = budgets[0]
        unlabelled = f"{len(data.x_train):,} training images" + (" (quick)" if setting.quick else "")
        return Evidence(
            statement="With few labels and many unlabelled images, a classifier that starts from an autoencoder "
                      "trained on the unlabelled images errs less than logistic regression on pixels or PCA codes "
                      "and than the same network trained from random weights — when every choice is made inside "
                      "the label budget.",
            protocol=f"{split_protocol(setting)}. The autoencoder (784-512-128, ReLU, denoising "
                     f"with shifts of up to 2 pixels and masking 0.25) trains on the {unlabelled} without labels, "
                     f"stopping on the validation split's reconstruction loss (no label); PCA "
                     f"({128 if not setting.quick else 'as many'} components) is fitted on the same images. Label "
                     f"budgets {', '.join(map(str, budgets))}: seed s draws the labelled training rows (as many per "
                     f"class as possible), initialises the autoencoder and the networks, and makes the "
                     f"{plan['folds']}-fold stratified split of those labelled rows that every method uses. Chosen "
                     f"by that "
                     f"cross-validation (mean fold accuracy, ties by log-loss) and nothing else: logistic "
                     f"regression's C in {list(CS)}, on pixels, PCA codes or autoencoder codes standardised alike "
                     f"(mean and sd of all training rows, no label); for the networks (softmax head on the "
                     f"784-512-128 encoder, batch {BATCH}, noise {AUGMENT} on the labelled inputs) the end-to-end "
                     f"learning rate and the number of epochs, every {plan['finetune'][0].every}th, a grid of "
                     f"{grid_size(plan['scratch'])} settings each — from scratch: lr "
                     f"{' or '.join(f'{s.lr:g}' for s in plan['scratch'])}; pretrained: the head alone "
                     f"{plan['finetune'][0].frozen} epochs (lr {plan['finetune'][0].head_lr:g}) then end to end at lr "
                     f"{' or '.join(f'{s.lr:g}' for s in plan['finetune'])}, so 'head only' vs 'fine-tuned' is one "
                     f"of the choices; and which pretrained method and which baseline to report (the bold rows; a "
                     f"tie goes to the method listed first, a regression before a network). The chosen setting is "
                     f"then trained on all n labelled rows and scored once on the test split "
                     f"({len(data.x_test):,} images). No labelled validation row is used anywhere. Seeds "
                     f"{list(setting.seeds)} (split, labelled rows, folds, initialisation). Fixed before this run, but not blind: the autoencoder recipe (shifts + "
                     f"masking, 784-512-128), the networks' schedules and noise come from an exploration on this "
                     f"split that compared six variants on 400 labelled validation images outside any label budget, "
                     f"after earlier runs had looked at test error (experiments/results/pretraining.md, "
                     f"docs/provenance.md). Count the recipe as a prior that once saw more labels and the test split; "
                     f"it was not re-derived inside the budget.",
            header=["method", *[f"test error, {n} labels" for n in budgets], f"chosen by CV ({n_first} labels)"],
            rows=rows,
            rule=f"one per budget: the test error of the baseline chosen by CV minus that of the pretrained method "
                 f"chosen by CV, paired by seed (the same split, labelled rows and folds); effect of interest "
                 f"{EFFECT:g} points.",
            decision=decide(checks, setting.seeds), numbers=numbers, figures=[figure], scale=data.scale,
            published=[
                Published("Kingma et al., NeurIPS 2014, Table 1 (MNIST, 100 labels)",
                          "test error, M1+M2 (VAE-based semi-supervised)", "3.33 % (± 0.14)",
                          f"{numbers[f'error_pretrained_n{n_first}'] * 100:.1f} % at {n_first} labels (best "
                          f"pretrained, chosen by CV)",
                          f"60,000 unlabelled images (we have {len(data.x_train):,}), a generative model trained "
                          f"jointly with the labels (we pretrain, then fine-tune), hyper-parameters not chosen inside "
                          f"the 100 labels (Oliver et al. 2018 on such validation sets)."),
                Published("Kingma et al., NeurIPS 2014, Table 1 (MNIST, 100 labels)",
                          "test error, M1+TSVM (VAE codes, then a transductive SVM)", "11.82 % (± 0.25)",
                          f"{numbers[f'error_codes_n{n_first}'] * 100:.1f} % (frozen autoencoder codes, logistic "
                          f"regression)",
                          f"their codes come from a VAE trained on 60,000 images (ours: a denoising autoencoder on "
                          f"{len(data.x_train):,}), and a TSVM also learns from the unlabelled test images; ours "
                          f"is a logistic regression on the labelled rows alone."),
                Published("Rasmus et al., NeurIPS 2015, Table 1 (MNIST, 100 labels, permutation invariant)",
                          "test error, the MLP 784-1000-500-250-250-250-10 trained on the labels alone",
                          "21.74 % (± 1.77)",
                          f"{numbers[f'error_scratch_n{n_first}'] * 100:.1f} % (our network from scratch)",
                          "a larger MLP with batch normalization and its own tuning, on 100 labels out of 60,000 "
                          "images; ours is the autoencoder's encoder with a softmax head, its schedule chosen by "
                          "CV inside the labels."),
                Published("Kingma et al., NeurIPS 2014, Table 1 (MNIST, 100 labels)",
                          "test error, a neural network on the labels only ('NN')", "25.81 %",
                          f"{numbers[f'error_scratch_n{n_first}'] * 100:.1f} % (same network from scratch)",
                          f"a different network and training; selection not within the 100 labels; 10,000 test "
                          f"images (we have {len(data.x_test):,})."),
            ],
            notes=[
                "The README once quoted 14.4 % error with 100 labels for the fine-tuned encoder. That number early-"
                "stopped on 100 extra labelled validation images and picked its configuration among six on 400 "
                "more, while its baselines saw only the 100 labels. The bold rows above are the number under the "
                "strict protocol, whatever it is.",
                "Not entirely clean (see the protocol): the autoencoder recipe and the networks' schedules come "
                "from an exploration that looked at labelled validation images and, early on, at test error. "
                "Nothing in this run chooses on them.",
                "Cross-validation scores the chosen setting on the same folds that chose it, so every CV accuracy "
                f"is optimistic; each network chooses among more settings ({grid_size(plan['scratch'])}) than the "
                f"regressions ({len(CS)}), which favours the networks in the choice of method, on both sides of the "
                f"comparison alike. Test errors are not affected: the test split is read once per method, seed and "
                f"budget.",
                "The networks see noisy (shifted, masked) copies of the labelled images; the regressions see the "
                "images as they are (standardised). The stratified draw of labelled rows uses the labels of the training split "
                "to pick as many rows per class (a user labelling 10 images per class); no fit sees them.",
            ],
        )


def _points(results: dict, budgets: Sequence[int]) -> list:
    from aekit.training.labelcurve import Point

    return [Point(method, n, [1.0 - f.test_error for f in results[(n, method)]])
            for method in (*BASELINES, *PRETRAINED) for n in budgets if (n, method) in results]


__all__ = ["PretrainingWithFewLabels", "fit_regression", "fit_network", "train_network", "Schedule"]
