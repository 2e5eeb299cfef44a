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

The ladder network (Rasmus et al., NeurIPS 2015; issue 20) is the autoencoder family's method built for
this case: a denoising autoencoder at every layer of the classifier, trained with the labels. Nothing of it
is chosen (``LadderClassifier``'s defaults are the published settings, fixed before any run), so it needs
no cross-validation: one fit per seed and budget, with its own row and its own check against the same
CV-chosen baseline. It is not a candidate of "the best pretrained method": putting it there would need
five more fits per seed and budget to score it on the folds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aekit.estimator import LadderClassifier
from aekit.models.batched import map_batches
from aekit.registry import register
from aekit.tour.bench import QUICK_LIMIT, entry, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Published, Setting, accuracy_out, decide, mean, mean_sd, signed
from aekit.tour.label_budget import (
    AUGMENT,
    BATCH,
    CS,
    Fitted,
    Schedule,
    digest_of,
    fit_network,
    fit_regression,
    grid_size,
    remembered,
    standardise,
)
from aekit.training.finetune import draw_labelled

# Fixed before this claim ran, but not blind: the recipe came from an exploration that looked at labelled
# validation images outside any budget and, early on, at test error (the protocol text; docs/provenance.md)
AUTOENCODER = ["model.hidden=[512]", "model.code_size=128", "corruption.shift=2", "corruption.masking=0.25",
               "train.epochs=auto", "train.max_epochs=100"]  # stops on the unlabelled validation reconstruction
FOLDS = 5
EFFECT = 2.0  # the effect of interest: 2 points less test error than the baseline


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

# The ladder network: LadderClassifier's published defaults (150 passes over the training images), apart
# from the plan above so that adding it left the other methods' remembered fits valid. At full scale a fit
# takes about 90 min of one thread, so it runs at the first budget only (100 labels, the papers' case).
LADDER_FULL: dict = {}
LADDER_QUICK = {"epochs": 2, "hidden": (64, 32)}
LADDER_BUDGETS = {"mnist": (100,)}  # data sets whose ladder runs at fewer budgets than the other methods


NAMES = {"raw": "logistic regression, pixels", "pca": "logistic regression, PCA codes",
         "codes": "logistic regression, frozen autoencoder codes", "scratch": "same network from scratch",
         "finetune": "pretrained encoder, fine-tuned",
         "ladder": "ladder network (published settings, nothing chosen)"}
PRETRAINED, BASELINES = ("codes", "finetune"), ("raw", "pca", "scratch")


# -- the claim ------------------------------------------------------------------------------------
@register("claim", "pretraining")
class PretrainingWithFewLabels(Claim):
    title = "Pretraining helps when labels are few (strict label budget)"
    order = 80
    # Decided after the tour's 5 seeds, and said so on the page: at 100 labels they detected the 2-point
    # effect with 37 % power and one seed left out could change the verdict; at that sd 14 seeds give 80 %
    seeds = 14

    def _why_seeds(self, setting: Setting) -> str:
        if len(setting.seeds) != self.seeds:
            return ""
        return (f"; {self.seeds} seeds rather than the tour's 5, decided after a 5-seed run (2026-12-05) gave the "
                f"100-label check 37 % power at the effect of interest and a verdict that one seed could change")

    def run(self, setting: Setting) -> Evidence:
        from sklearn.decomposition import PCA
        from sklearn.model_selection import StratifiedKFold

        plan = QUICK if setting.quick else {**FULL, "budgets": FULL_SCALE_BUDGETS.get(setting.data, FULL["budgets"])}
        ladder_budgets = LADDER_BUDGETS.get(setting.data, plan["budgets"]) if not setting.quick else plan["budgets"]
        ladder_gaps: dict[int, list[float]] = {n: [] for n in ladder_budgets}
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
                if n in ladder_gaps:
                    ladder = _fit_ladder(setting, data, rows, seed, n)
                    results.setdefault((n, "ladder"), []).append(ladder)
                    setting.log(f"pretraining: seed {seed}, {n} labels, ladder: test error {ladder.test_error:.3f}")
                    ladder_gaps[n].append(fitted[base].test_error - ladder.test_error)
        return self._evidence(setting, plan, data, results, selected, gaps, ladder_gaps)

    def _evidence(self, setting: Setting, plan: dict, data, results: dict, selected: dict,
                  gaps: dict[int, list[float]], ladder_gaps: dict[int, list[float]]) -> Evidence:
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
        rows.append([NAMES["ladder"], *[mean_sd([100 * f.test_error for f in results[(n, "ladder")]], pct)
                                        if n in ladder_gaps else "not run" for n in budgets], "nothing (none to choose)"])
        for n in ladder_gaps:
            numbers[f"error_ladder_n{n}"] = mean([f.test_error for f in results[(n, "ladder")]])
        gap_cells = []
        for n in budgets:
            numbers[f"gap_n{n}"] = mean(gaps[n])
            checks.append(Check(f"{n} labels: the baseline's test error − the pretrained method's (points)",
                                [100 * g for g in gaps[n]], EFFECT, " pts", "{:.1f}",
                                [accuracy_out(g, len(data.x_test), 100) for g in gaps[n]]))
            gap_cells.append(signed([100 * g for g in gaps[n]], "{:.1f}", " pts"))
        rows.append(["gap: baseline − pretrained (paired by draw)", *gap_cells, ""])
        for n, found in ladder_gaps.items():
            numbers[f"gap_ladder_n{n}"] = mean(found)
            checks.append(Check(f"{n} labels: the baseline's test error − the ladder network's (points)",
                                [100 * g for g in found], EFFECT, " pts", "{:.1f}",
                                [accuracy_out(g, len(data.x_test), 100) for g in found]))
        rows.append(["gap: baseline − ladder network (paired by draw)",
                     *[signed([100 * g for g in ladder_gaps[n]], "{:.1f}", " pts") if n in ladder_gaps else "—"
                       for n in budgets], ""])

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
        ladder_epochs = (LADDER_QUICK if setting.quick else LADDER_FULL).get("epochs", LadderClassifier().epochs)
        ladder_widths = (LADDER_QUICK if setting.quick else LADDER_FULL).get("hidden", LadderClassifier().hidden)
        unlabelled = f"{len(data.x_train):,} training images" + (" (quick)" if setting.quick else "")
        return Evidence(
            statement="With few labels and many unlabelled images, a classifier that starts from an autoencoder "
                      "trained on the unlabelled images errs less than logistic regression on pixels or PCA codes "
                      "and than the same network trained from random weights — when every choice is made inside "
                      "the label budget. The ladder network, a denoising autoencoder at every layer of the "
                      "classifier trained with the labels, is judged against the same baseline.",
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
                     f"{list(setting.seeds)} (split, labelled rows, folds, initialisation){self._why_seeds(setting)}. Fixed before this run, but not blind: the autoencoder recipe (shifts + "
                     f"masking, 784-512-128), the networks' schedules and noise come from an exploration on "
                     f"MNIST-5k (its split with seed 0) that compared six variants on 400 labelled validation images outside any label budget, "
                     f"after earlier runs had looked at test error (docs/provenance.md). "
                     f"Count the recipe as a prior that once saw more labels and the test split; "
                     f"it was not re-derived inside the budget. The ladder network (Rasmus et al. 2015: "
                     f"LadderClassifier(), widths {'-'.join(map(str, ladder_widths))}-10, Gaussian noise 0.3 at "
                     f"every layer, denoising weights 1000, 10, 0.1, ... from the input up, Adam 0.002 decaying "
                     f"over the last third, {ladder_epochs} passes over the training images, 100 labelled + 100 "
                     f"unlabelled images a step) learns from the same labelled rows and every training image "
                     f"unlabelled, seeded by s; its settings are the published ones, fixed before any run, so "
                     f"nothing of it is chosen and it is fitted once per seed and budget, at budgets "
                     f"{', '.join(map(str, ladder_gaps))}. It is not among the pretrained methods that CV chooses "
                     f"from (scoring it on the folds would take five more fits each): it has its own check.",
            header=["method", *[f"test error, {n} labels" for n in budgets], f"chosen by CV ({n_first} labels)"],
            rows=rows,
            rule=f"one per budget: the test error of the baseline chosen by CV minus that of the pretrained method "
                 f"chosen by CV, paired by seed (the same split, labelled rows and folds); and one per budget the "
                 f"ladder runs at: the same baseline's test error minus the ladder network's; effect of interest "
                 f"{EFFECT:g} points.",
            decision=decide(checks, setting.seeds), numbers=numbers, figures=[figure], scale=data.scale,
            published=[
                *([Published("Rasmus et al., NeurIPS 2015, Table 1 (MNIST, 100 labels, permutation invariant)",
                             "test error, the full ladder network", "1.06 % (± 0.37)",
                             f"{numbers[f'error_ladder_n{n_first}'] * 100:.1f} % (LadderClassifier(), the same "
                             f"published settings)",
                             f"60,000 unlabelled images (we have {len(data.x_train):,}); their settings were chosen "
                             f"on 10,000 labelled validation images, ours were taken from them and none chosen on "
                             f"our labels.")] if n_first in ladder_gaps else []),
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


def _fit_ladder(setting: Setting, data, rows: np.ndarray, seed: int, n: int) -> Fitted:
    """The ladder network on every training image with the budget's ``rows`` labelled, seeded by ``seed``:
    its test error (the test split read once), remembered like the other fits. The fit keeps a checkpoint
    after every epoch, so an attempt killed during a fit of an hour and a half continues it."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    params = {**(LADDER_QUICK if setting.quick else LADDER_FULL), "random_state": seed}
    checkpoint = setting.folder("pretraining") / f"ladder-seed{seed}-n{n}.pt"

    def fit() -> dict[str, Fitted]:
        y = np.full(len(data.y_train), -1, dtype=np.int64)
        y[rows] = data.y_train[rows]  # the only labels it sees; every other training image is unlabelled
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the stop reason goes in the log instead
            model = LadderClassifier(**params).fit(data.x_train, y, checkpoint=checkpoint)
        return {"ladder": Fitted(f"published settings ({model.stop_reason_})", math.nan,
                                 1.0 - model.score(data.x_test, data.y_test))}

    key = ["ladder", sorted(LadderClassifier(**params).get_params().items()), seed, n]
    found = remembered(setting, f"seed{seed}-n{n}-ladder", key, fit)["ladder"]
    checkpoint.unlink(missing_ok=True)  # remembered now: the weights are not needed again
    return found


def _points(results: dict, budgets: Sequence[int]) -> list:
    from aekit.training.labelcurve import Point

    return [Point(method, n, [1.0 - f.test_error for f in results[(n, method)]])
            for method in (*BASELINES, *PRETRAINED, "ladder") for n in budgets if (n, method) in results]


__all__ = ["PretrainingWithFewLabels"]
