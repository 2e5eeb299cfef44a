"""Claim 5: a denoising autoencoder moves corrupted inputs back toward the data manifold (Vincent,
Larochelle, Bengio & Manzagol, ICML 2008; Vincent et al., JMLR 2010, §3-4).

Trained to map a corrupted x̃ ~ q(x̃ | x) back to the clean x, the autoencoder must learn where the
data lie: its reconstruction of x̃ is closer to the clean image than x̃ is. Measured as PSNR against the
clean test images, for three corruptions (additive Gaussian, masking, salt-and-pepper), each at half,
at and at double the level the denoiser was trained on, against two baselines: the corrupted input
itself (the identity; clipped to [0, 1], which only helps it) and the same autoencoder trained on clean
inputs (an undercomplete autoencoder projects onto its manifold too, so this is the harder baseline).
"""

from __future__ import annotations

import numpy as np
import torch

from aekit.analysis.metrics import psnr
from aekit.data.corruption import build_corruption
from aekit.registry import register
from aekit.tour.bench import QUICK_LIMIT, entry, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Setting, decide, mean, mean_sd, one_out, signed

# corruption -> (its level field, the level the denoiser is trained at); fixed before any run
NOISES = {"gaussian": ("std", 0.3), "masking": ("fraction", 0.25), "salt_and_pepper": ("fraction", 0.1)}
FACTORS = (0.5, 1.0, 2.0)  # test levels: half, equal to and double the training level
FULL_EPOCHS, QUICK_EPOCHS = 30, 6
QUICK_TRAIN = ["train.batch_size=32", "train.lr=0.003"]  # quick: more, larger steps on 400 images
TEST_NOISE_SEED = 10_000  # test noise of seed s, noise type t, level i: generator seed 10_000 + 100 s + 10 t + i
EFFECT_DB = 0.5  # the effect of interest: half a decibel


def _mean_db(values: np.ndarray) -> float:
    """Mean of per-image PSNRs over the finite ones (an image a corruption leaves unchanged scores +inf)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("inf")


def _make(name: str):
    field = NOISES[name][0]
    return lambda level: build_corruption({name: {field: float(level)}})


def scores(models: dict[str, torch.nn.Module], x: np.ndarray, name: str, levels: list[float],
           seed: int) -> dict[str, list[np.ndarray]]:
    """PSNR (dB) of each test image against the clean ``x`` at each level of corruption ``name``: of the
    corrupted input, of it clipped to [0, 1], and of each model's reconstruction of it (all see the same
    noise); ``_mean_db`` of each is the reported mean."""
    x_t = torch.from_numpy(x)
    out: dict[str, list[np.ndarray]] = {"identity": [], "clipped": [], **{key: [] for key in models}}
    for i, level in enumerate(levels):
        x_tilde = _make(name)(level)(x_t, torch.Generator().manual_seed(seed + i)).numpy()
        out["identity"].append(psnr(x_tilde, x))
        out["clipped"].append(psnr(np.clip(x_tilde, 0.0, 1.0), x))
        for key, model in models.items():
            out[key].append(psnr(_reconstruct(model, x_tilde), x))
    return out


@register("claim", "denoising")
class DenoisingClaim(Claim):
    title = "Denoising moves corrupted inputs back to the manifold"
    order = 50

    def run(self, setting: Setting) -> Evidence:
        quick = setting.quick
        epochs = QUICK_EPOCHS if quick else FULL_EPOCHS
        common = [f"train.epochs={epochs}", "train.restore_best=false", *(QUICK_TRAIN if quick else [])]
        # found[name][row][level index] = per-seed mean PSNR; clean[row] = per-seed PSNR on clean inputs
        found = {name: {row: [[] for _ in FACTORS] for row in ("identity", "clipped", "plain", "denoiser")}
                 for name in NOISES}
        # the paired checks per seed, from per-image PSNRs: (difference, its range without one test image)
        above: dict[tuple[str, int, str], list[tuple[float, tuple[float, float]]]] = {}
        clean: dict[str, list[float]] = {"plain": [], **{name: [] for name in NOISES}}
        last = None
        for seed in setting.seeds:
            data = split_of(setting, seed)
            x = data.x_test
            plain = train_config(setting, f"denoising-plain-seed{seed}", common, seed=seed).model.eval()
            clean["plain"].append(_mean_db(psnr(_reconstruct(plain, x), x)))
            for t, (name, (field, trained)) in enumerate(NOISES.items()):
                denoiser = train_config(setting, f"denoising-{name}-seed{seed}",
                                        [f"corruption.{name}.{field}={trained}", *common], seed=seed).model.eval()
                clean[name].append(_mean_db(psnr(_reconstruct(denoiser, x), x)))
                levels = [trained * f for f in FACTORS]
                values = scores({"plain": plain, "denoiser": denoiser}, x, name, levels,
                                TEST_NOISE_SEED + 100 * seed + 10 * t)
                for row, per_level in values.items():
                    for i, v in enumerate(per_level):
                        found[name][row][i].append(_mean_db(v))
                for i in range(len(FACTORS)):  # paired per image: the denoiser against the better input, and plain
                    best_input = np.maximum(values["identity"][i], values["clipped"][i])
                    above.setdefault((name, i, "input"), []).append(
                        one_out(lambda a, b: a - b, values["denoiser"][i], best_input))
                    above.setdefault((name, i, "plain"), []).append(
                        one_out(lambda a, b: a - b, values["denoiser"][i], values["plain"][i]))
                last = (name, denoiser, x) if name == "masking" else last
            setting.log(f"denoising: seed {seed} done")

        rows, numbers, checks = [], {}, []
        for name, (field, trained) in NOISES.items():
            rows.append([name, "none (clean x)", "∞", "∞", mean_sd(clean["plain"], "{:.2f}"),
                         mean_sd(clean[name], "{:.2f}"), signed(np.subtract(clean[name], clean["plain"]), "{:.2f}")])
            numbers[f"{name}_clean_plain"], numbers[f"{name}_clean_denoiser"] = mean(clean["plain"]), mean(clean[name])
            for i, factor in enumerate(FACTORS):
                level = trained * factor
                cell = {row: found[name][row][i] for row in found[name]}
                gain = np.subtract(cell["denoiser"], cell["plain"])
                tag = f"{name}_{level:g}"
                for row in cell:
                    numbers[f"{tag}_{row}"] = mean(cell[row])
                mark = " (trained)" if factor == 1.0 else ""
                rows.append([name, f"{field} {level:g}{mark}", mean_sd(cell["identity"], "{:.2f}"),
                             mean_sd(cell["clipped"], "{:.2f}"), mean_sd(cell["plain"], "{:.2f}"),
                             mean_sd(cell["denoiser"], "{:.2f}"), signed(gain, "{:.2f}")])
                for key, what in (("input", "the corrupted input"), ("plain", "the plain autoencoder")):
                    pairs = above[name, i, key]
                    checks.append(Check(f"{name} {field} {level:g}: denoiser above {what} (dB)",
                                        [d for d, _ in pairs], EFFECT_DB, unit=" dB", fmt="{:.2f}",
                                        image_out=[r for _, r in pairs]))

        figures = []
        if last is not None:
            from aekit.viz.denoising import denoising_figure

            name, denoiser, x = last
            field, trained = NOISES[name]
            levels = [trained * f for f in FACTORS]
            figures.append(entry("masking", "What the masking denoiser makes of masked test images",
                                 f"The denoising autoencoder trained with masking noise ({field} {trained:g}, seed "
                                 f"{setting.seeds[-1]}) on the first {min(200, len(x))} test images masked at "
                                 f"{', '.join(f'{v:g}' for v in levels)}. Left: clean images, the masked inputs x̃ "
                                 f"and their reconstructions. Right: PSNR against the clean images (dB, higher is "
                                 f"better) of the masked inputs (dashed) and of their reconstructions (solid); the "
                                 f"dotted line is its reconstruction of clean inputs.",
                                 denoising_figure(denoiser, x[:200], _make(name), levels, name=field,
                                                  seed=TEST_NOISE_SEED)))
        figures.append(entry("levels", "PSNR by noise type and level",
                             "Mean PSNR against the clean test images (dB, higher is better; mean over seeds) at "
                             "half, equal to and double each denoiser's training level (vertical line): the "
                             "corrupted input clipped to [0, 1] (grey), the autoencoder trained on clean images "
                             "(orange) and the denoising autoencoder (blue). The denoiser helps where its line is "
                             "above both others.", _levels_figure(found)))

        n = f"{QUICK_LIMIT} training images (quick)" if quick else f"the {len(data.x_train):,} training images"
        notes = [
            "Every model gets the same fixed budget decided in advance (no early stopping, no best-epoch "
            "restore): the trainer's validation loss compares reconstructions of *clean* validation images, "
            "which is not what a denoiser is trained for, so it would be the wrong thing to stop on.",
            "Unclipped Gaussian noise (the paper's form) puts pixels outside [0, 1]; every model's output is a "
            "sigmoid, so part of any model's gain over the raw corrupted input there is only the clipping. The "
            "rule therefore compares with the clipped input.",
            "The price of denoising: the rows 'none (clean x)' give each model's PSNR on clean test images.",
            "No published number is shown: Vincent et al. (2008, 2010) report classification errors of the "
            "learned features, not PSNR on MNIST.",
        ]
        for name, (field, trained) in NOISES.items():  # a denoiser only ever trained on corrupted inputs
            at_level = numbers[f"{name}_{trained:g}_denoiser"]
            if at_level > numbers[f"{name}_clean_denoiser"]:
                notes.append(f"The {name} denoiser reconstructs corrupted inputs ({field} {trained:g}: "
                             f"{at_level:.2f} dB) better than clean ones ({numbers[f'{name}_clean_denoiser']:.2f} dB): "
                             f"it was trained only on corrupted inputs (a likely cause, not tested here).")
        return Evidence(
            statement="A denoising autoencoder reconstructs corrupted test images closer to the clean images than "
                      "the corrupted images are, and closer than the same autoencoder trained on clean images does.",
            protocol=f"{split_protocol(setting)}; trained on {n} with aekit's default model "
                     f"(784-512-32-512-784, ReLU, sigmoid output, cross-entropy, Adam lr 1e-3, batch 128) for "
                     f"{epochs} epochs, every model alike, the last epoch's weights kept; one plain autoencoder and "
                     f"one denoiser per noise type (gaussian std 0.3 unclipped, masking 0.25, salt-and-pepper 0.1; "
                     f"levels fixed in advance). PSNR = 10 log10(1 / MSE) per test image, averaged over the "
                     f"{len(x)} test images; test noise from its own seeds, the same for every model. Seeds "
                     f"{list(setting.seeds)} (split, initialisation, batch order, training and test noise). Nothing "
                     f"was selected.",
            header=["noise", "test level", "corrupted x̃ (dB)", "x̃ clipped to [0, 1] (dB)", "plain autoencoder (dB)",
                    "denoising autoencoder (dB)", "denoiser − plain (dB)"],
            rows=rows,
            rule=f"for every noise type and every level the statement covers (half, equal to and double the "
                 f"training level), two: the denoiser's PSNR minus the corrupted input's (clipped or not, whichever "
                 f"is higher, per image), and minus the plain autoencoder's ({len(checks)} checks, paired per test "
                 f"image within a seed); effect of interest {EFFECT_DB:g} dB.",
            decision=decide(checks, setting.seeds), numbers=numbers, figures=figures, notes=notes,
            scale=data.scale)


def _reconstruct(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    from aekit.viz._common import reconstruct

    return reconstruct(model, x)


def _levels_figure(found: dict):
    from aekit.viz._common import new_figure

    fig = new_figure(12.0, 3.6)
    axes = fig.subplots(1, len(NOISES))
    styles = {"clipped": ("x̃ clipped to [0, 1]", "tab:gray", "o--"), "plain": ("plain autoencoder", "tab:orange", "s-"),
              "denoiser": ("denoising autoencoder", "tab:blue", "o-")}
    for ax, (name, (field, trained)) in zip(np.atleast_1d(axes), NOISES.items()):
        levels = [trained * f for f in FACTORS]
        for row, (label, color, style) in styles.items():
            ax.plot(levels, [mean(v) for v in found[name][row]], style, color=color, label=label)
        ax.axvline(trained, color="black", linewidth=0.8, alpha=0.4)
        ax.set_title(name.replace("_", " "), fontsize=10)
        ax.set_xlabel(field)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("PSNR against clean x (dB)")
    # one legend for the three panels, below them: inside a panel it covers a line wherever it goes
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
