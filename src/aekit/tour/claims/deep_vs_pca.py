"""Claim 2: non-linear and deep autoencoders beat PCA (Hinton & Salakhutdinov, Science 2006).

PCA is the best a linear map with k components can do (claim 1); a non-linear encoder and decoder with
the same code size k can curve their k-dimensional "subspace" along the data and reconstruct better.
The lecture's evidence is Hinton & Salakhutdinov's 784-1000-500-250-30 autoencoder on MNIST: 3.00
squared error per test image against PCA-30's 13.87. Measured here on the tour's data set (MNIST-5k's
3,500 training images, or full MNIST's 50,000 with ``--data mnist``) for three models, each against
PCA with as many components as its code, fitted on the same training rows:

- aekit's deep recipe (``--preset deep``: two stride-2 convolutions, 32 and 64 channels, code 30);
- the default MLP (``aekit train`` with no options: 784-512-k, k = 32);
- the lecture's MLP 784-1000-500-250-30 (``--preset hinton2006``), trained end to end without RBMs.
"""

from __future__ import annotations

import numpy as np

from aekit.analysis.metrics import reconstruction_error
from aekit.registry import register
from aekit.tour.bench import QUICK_LIMIT, entry, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Published, Setting, decide, mean, mean_sd, one_out

# (label, preset, extra overrides); every model is a library default, nothing is tuned here
MODELS = (
    ("deep recipe (--preset deep, conv 32-64)", "deep", []),
    ("default MLP (aekit train, 784-512-k)", None, []),
    ("lecture MLP (--preset hinton2006, 784-1000-500-250-30)", "hinton2006", []),
)
QUICK = ["train.epochs=5", "train.batch_size=32"]  # a quick claim checks the code path
EFFECT = 0.05  # the effect of interest: 5 % less squared error than PCA-k
PUBLISHED_RATIO = 3.00 / 13.87  # Hinton & Salakhutdinov 2006, Fig. 2B: deep autoencoder vs PCA-30


@register("claim", "deep_vs_pca")
class DeepBeatsPCA(Claim):
    title = "Non-linear and deep autoencoders beat PCA"
    order = 20

    def run(self, setting: Setting) -> Evidence:
        budget = QUICK if setting.quick else []
        splits = {seed: split_of(setting, seed) for seed in setting.seeds}
        pca_errors: dict[tuple[int, int], np.ndarray] = {}  # (seed, k) -> PCA-k's error per test image
        rows, numbers, checks, histories, shown = [], {}, [], {}, {}
        first = splits[setting.seeds[0]]
        x_show = first.x_test[_one_per_class(first.y_test)]  # (10, d): a test image of each digit, for the figure
        shown["PCA, k = 30"] = _pca_reconstruct(first.x_train, x_show, 30)
        for label, preset, overrides in MODELS:
            errors, ratios, epochs, gaps, stops, k, pca_k, outs = [], [], [], [], set(), None, [], []
            key = preset or "default"
            for seed in setting.seeds:
                data, name = splits[seed], f"{key}-seed{seed}"
                result = train_config(setting, name, [*overrides, *budget], seed=seed, preset=preset)
                k = int(result.model.config.code_size)
                if (seed, k) not in pca_errors:  # PCA with as many components, fitted on the same training rows
                    pca_errors[seed, k] = _pca_errors(data.x_train, data.x_test, k)
                per_image = reconstruction_error(result.model, data.x_test).per_image  # (n,)
                ratio, out = one_out(lambda a, b: a / b, per_image, pca_errors[seed, k])
                errors.append(float(per_image.mean()))
                pca_k.append(float(pca_errors[seed, k].mean()))
                ratios.append(ratio)
                outs.append((1 - out[1], 1 - out[0]))
                epochs.append(len(result.history))
                stops.add(str(result.stop_reason))
                best = next((r for r in result.history if r["epoch"] == result.best_epoch), result.history[-1])
                gaps.append(best["val"]["recon"] / best["train"]["recon"])  # validation / training loss, best epoch
                setting.log(f"deep_vs_pca: {key}, seed {seed}: {errors[-1]:.2f} per image, {ratios[-1]:.3f}x PCA-{k}")
                if seed == setting.seeds[0]:
                    histories[key] = _flat(result.run_dir)
                    shown[f"{label.split(' (')[0]}, k = {k}"] = _reconstruct(result.model, x_show)
            numbers.update({f"error_{key}": mean(errors), f"ratio_{key}": mean(ratios), f"max_ratio_{key}": max(ratios),
                            f"pca_error_{key}": mean(pca_k), f"code_{key}": float(k), f"gap_{key}": mean(gaps),
                            f"epochs_{key}": mean(epochs)})
            checks.append(Check(f"{label.split(' (')[0]}: below PCA-{k} (1 − error / PCA's)", [1 - r for r in ratios],
                                EFFECT, image_out=outs))
            rows.append([label, str(k), f"{mean_sd(epochs, '{:.0f}')} ({', '.join(sorted(stops))})",
                         mean_sd(gaps, "{:.2f}"), mean_sd(errors, "{:.2f}"), mean_sd(pca_k, "{:.2f}"),
                         mean_sd(ratios, "{:.3f}")])

        figures = _figures(x_show, shown, histories, first.sample_shape)
        n = (f"{QUICK_LIMIT} training images for 5 epochs, batch 32 (quick)" if setting.quick else
             f"the {len(first.x_train):,} training images until the validation loss stops improving (epochs: auto), "
             f"then the best validation epoch's weights")
        deep, lecture, gap = numbers["ratio_deep"], numbers["ratio_hinton2006"], numbers["gap_hinton2006"]
        return Evidence(
            statement="An autoencoder with non-linear, deep encoder and decoder reconstructs unseen images with less "
                      "squared error than PCA with as many components as its code.",
            protocol=f"{split_protocol(setting)}; each model trained on {n}, with the library's settings for it "
                     f"(Adam, lr 1e-3, batch 128 unless said, cross-entropy loss); PCA fitted on the same training "
                     f"rows with as many components as the model's code. Error: squared error per test image, summed "
                     f"over the 784 pixels, mean over the {len(first.x_test):,} test images. Seeds "
                     f"{list(setting.seeds)} (split, initialisation and batch order). Nothing was selected here: the "
                     f"two presets and the defaults were fixed before this tour; the only choices made on data are "
                     f"the stopping epoch and the plateau learning-rate halvings, both on the validation loss. Where "
                     f"the deep recipe came from: src/aekit/presets/deep.yaml says it was chosen while exploring on "
                     f"the validation split, but that exploration is not recorded in the repository, and "
                     f"the README's table of defaults only measures the finished recipe (on the test split of split "
                     f"seed 0) — a reader should treat the recipe as chosen by its author, not by a recorded "
                     f"selection.",
            header=["model", "code size k", "epochs (stop)", "validation / training loss", "test error per image",
                    "PCA-k test error", "error / PCA's"],
            rows=rows,
            rule=f"one per model: 1 minus its test error over PCA-k's (> 0: below PCA), effect of interest "
                 f"{EFFECT:.0%} less error; the lecture's MLP is one of them because it is the lecture's claim.",
            decision=decide(checks, setting.seeds), numbers=numbers, figures=figures, scale=first.scale,
            published=[Published(
                source="Hinton & Salakhutdinov, Science 313:504 (2006), Fig. 2B and text",
                quantity="squared error per MNIST test image, deep autoencoder / PCA-30",
                value=f"3.00 / 13.87 = {PUBLISHED_RATIO:.3f}",
                ours=f"deep recipe {numbers['error_deep']:.2f} / {numbers['pca_error_deep']:.2f} = {deep:.3f}; "
                     f"lecture MLP {numbers['error_hinton2006']:.2f} / {numbers['pca_error_hinton2006']:.2f} = "
                     f"{lecture:.3f} (mean over seeds)",
                differs=f"They trained on 60,000 images (here {len(first.x_train):,}), tested on 10,000 (here "
                        f"{len(first.x_test):,}); their "
                        "784-1000-500-250-30 used logistic units, RBM pretraining layer by layer and conjugate-"
                        "gradient fine-tuning; ours uses ReLU units, no pretraining, Adam end to end with early "
                        "stopping on a validation split. The deep recipe is a different (convolutional) "
                        f"architecture. Their PCA-30 error is 13.87, ours "
                        f"{numbers['pca_error_hinton2006']:.2f} on these test images.")],
            notes=[
                f"Why the lecture's MLP (about 2.8 million weights for {len(first.x_train):,} training images) "
                f"does {'' if numbers['max_ratio_hinton2006'] < 1 else 'not '}beat PCA here is not established by "
                f"this claim: at the best epoch its validation loss is {gap:.2f}x its training loss, the default "
                f"MLP's {numbers['gap_default']:.2f}x and the deep recipe's {numbers['gap_deep']:.2f}x (the "
                f"training loss is averaged over each epoch while the weights change). With 60,000 images and "
                f"RBM pretraining, Hinton & Salakhutdinov's did beat PCA.",
                "The default MLP's code has 32 units (the default code size), so it is compared with PCA-32, the "
                "two others with PCA-30.",
                "Squared error is measured on the [0, 1] pixel scale; the models are trained with cross-entropy, "
                "PCA minimises squared error itself — the comparison favours PCA.",
            ])


def _one_per_class(y: np.ndarray) -> np.ndarray:
    return np.array([int(np.flatnonzero(y == c)[0]) for c in np.unique(y)])


def _reconstruct(model, x: np.ndarray) -> np.ndarray:
    from aekit.viz._common import reconstruct

    return reconstruct(model, x).reshape(len(x), -1)


def _pca_errors(x_train: np.ndarray, x_test: np.ndarray, k: int) -> np.ndarray:
    """Squared error of PCA-k (fitted on ``x_train``) per test image, summed over pixels: (n,)."""
    x_hat = _pca_reconstruct(x_train, x_test, k)
    return ((x_hat.astype(np.float64) - x_test) ** 2).sum(axis=1)


def _pca_reconstruct(x_train: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, random_state=0).fit(x_train)
    return pca.inverse_transform(pca.transform(x)).astype(np.float32)


def _flat(run_dir) -> list[dict]:
    """The run's epoch records as metrics.jsonl holds them (``val/recon``, ``train/recon``, ...)."""
    import json

    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _figures(x_show, shown, histories, sample_shape) -> list:
    from aekit.viz.compare import reconstructions_figure
    from aekit.viz.losses import loss_curves_figure

    figures = [entry("reconstructions", "One test image of each digit through PCA and each model",
                     "Top row: test images the models never saw. Each row below: the reconstruction by PCA with 30 "
                     "components and by each autoencoder (first seed), with its mean squared error per image over "
                     "these ten. Lower is better; the deep recipe keeps strokes PCA blurs.",
                     reconstructions_figure(x_show, shown, sample_shape))]
    figures.append(entry("curves", "The lecture's MLP while training (first seed)",
                         "Cross-entropy per image on the training images and on the validation images after each "
                         "epoch, for the 784-1000-500-250-30 MLP. Where the training curve keeps falling and the "
                         "validation curve does not, the network fits its training images rather than digits; the "
                         "run keeps its best validation epoch (dotted line).",
                         loss_curves_figure(histories["hinton2006"])))
    return figures
