"""Claim 3: an overcomplete autoencoder without regularisation copies its input; denoising makes it
useful (Vincent et al., ICML 2008; JMLR 2010, §3-4).

With a code larger than the input (784 -> 1000 -> 784, ReLU code, affine decoder) the identity is an
exact solution — h = relu(x) = x for pixels x >= 0, x_hat = h — so nothing forces the plain model to
learn anything about digits. Trained to reconstruct the clean x from a masked x̃ (a quarter of the
pixels set to 0), the same model cannot copy: it has to fill in what is missing from what it knows
about the data. Three measurements tell copying from denoising:

- how much of the ink the mask removed the reconstruction of a masked test image puts back (hole
  filling: 0 for a copy, which reproduces the noise, 1 for a perfect restoration), and its PSNR
  against the clean image (denoising) and against the masked image itself (copying);
- the PSNR of the reconstruction of a clean test image (any good autoencoder, a copy best of all);
- a linear probe on the codes (logistic regression, C fixed in advance) beside the same probe on raw
  pixels: a code that merely copies its input carries no more than the pixels do.
"""

from __future__ import annotations

import numpy as np
import torch

from aekit.analysis.metrics import psnr
from aekit.data.corruption import Masking
from aekit.registry import register
from aekit.tour.bench import entry, probe_hits, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Setting, decide, mean_sd, one_out

CODE = 1000  # code units for 784 pixels: overcomplete
MASKING = 0.25  # fraction of pixels set to 0, for training the denoiser and for the test images
EPOCHS = 30  # the same fixed budget for both models; the last epoch's weights are kept
QUICK = ["train.epochs=5", "train.batch_size=32"]  # a quick claim checks the code path
GAIN_DB = 1.0  # the rule: the denoiser is at least this much above the corrupted input itself
HALF = 0.5  # the rule: a copy puts back less than half of the removed ink, a denoiser more
EFFECTS = {"fill": 0.1, "db": 0.5, "pts": 1.0}  # effects of interest: a tenth of the ink, half a dB, a point
TEST_NOISE_SEED = 10_000  # the masks of the test images for seed s come from seed TEST_NOISE_SEED + s
MODEL = ["model.hidden=[]", f"model.code_size={CODE}", "model.code_activation=relu", "model.output=identity",
         "loss.reconstruction=mse", "train.restore_best=false"]


@register("claim", "overcomplete")
class OvercompleteCopies(Claim):
    title = "An overcomplete autoencoder copies its input; denoising makes it useful"
    order = 30

    def run(self, setting: Setting) -> Evidence:
        budget = QUICK if setting.quick else [f"train.epochs={EPOCHS}"]
        found: dict[str, list[dict[str, float]]] = {"identity": [], "plain": [], "denoising": [], "pixels": []}
        per_image: dict[str, list[dict[str, np.ndarray]]] = {"identity": [], "plain": [], "denoising": [], "pixels": []}
        last = {}
        for seed in setting.seeds:
            data = split_of(setting, seed)
            x = torch.from_numpy(data.x_test)  # (n, 784) clean test images
            x_tilde = Masking(MASKING)(x, torch.Generator().manual_seed(TEST_NOISE_SEED + seed))  # (n, 784)
            per_image["identity"].append(_scores(None, x, x_tilde))
            hits = probe_hits(data.x_train, data.y_train, data.x_test, data.y_test)
            per_image["pixels"].append({"probe": hits})
            for name, extra in (("plain", []), ("denoising", [f"corruption.masking={MASKING}"])):
                result = train_config(setting, f"{name}-seed{seed}", [*MODEL, *budget, *extra], seed=seed)
                model = result.model.eval()
                scores = _scores(model, x, x_tilde)
                scores["probe"] = probe_hits(_encode(model, data.x_train), data.y_train,
                                             _encode(model, data.x_test), data.y_test)
                per_image[name].append(scores)
                last[name] = model
                setting.log(f"overcomplete: {name}, seed {seed}: "
                            + ", ".join(f"{k} {np.nanmean(v):.3f}" for k, v in scores.items()))
            last["x_tilde"], last["data"] = x_tilde, data
            for name in found:
                found[name].append({k: float(np.nanmean(v)) for k, v in per_image[name][-1].items()})

        def column(name: str, key: str) -> list[float]:
            return [s[key] for s in found[name]]

        def check(name: str, stat, key: str, first: str, second: str | None, effect: float, unit: str = "",
                  fmt: str = "{:.3g}") -> Check:
            pairs = [one_out(stat, a[key], *([b[key]] if second else []))
                     for a, b in zip(per_image[first], per_image[second or first])]
            return Check(name, [d for d, _ in pairs], effect, unit=unit, fmt=fmt, image_out=[r for _, r in pairs])

        checks = [
            check(f"(1) the plain model reproduces the noise ({HALF:g} − its hole filling)", lambda f: HALF - f,
                  "fill", "plain", None, EFFECTS["fill"]),
            check(f"(2) the denoiser fills the holes (its hole filling − {HALF:g})", lambda f: f - HALF, "fill",
                  "denoising", None, EFFECTS["fill"]),
            check(f"(2) the denoiser gains at least {GAIN_DB:g} dB on the masked input (PSNR − input's − "
                  f"{GAIN_DB:g} dB)", lambda a, b: a - b - GAIN_DB, "denoise", "denoising", "identity",
                  EFFECTS["db"], " dB", "{:.2f}"),
            check("(3) the denoiser's code is more useful than the plain model's (probe accuracy)",
                  lambda a, b: 100 * (a - b), "probe", "denoising", "plain", EFFECTS["pts"], " pts", "{:.2f}"),
            check("(3) … and than raw pixels (probe accuracy)", lambda a, b: 100 * (a - b), "probe",
                  "denoising", "pixels", EFFECTS["pts"], " pts", "{:.2f}"),
        ]
        numbers = {f"{key}_{name}": float(np.mean(column(name, key))) for name in ("plain", "denoising")
                   for key in ("clean", "denoise", "copy", "fill", "probe")}
        numbers.update({"denoise_identity": float(np.mean(column("identity", "denoise"))),
                        "probe_pixels": float(np.mean(column("pixels", "probe")))})
        db = "{:.2f}"
        rows = [["the masked input itself (identity)", "∞", mean_sd(column("identity", "denoise"), db), "∞",
                 mean_sd(column("identity", "fill")), "—"],
                ["raw pixels (probe only)", "—", "—", "—", "—", mean_sd(column("pixels", "probe"))]]
        for name, label in (("plain", "plain overcomplete AE"), ("denoising", f"denoising AE (masking {MASKING:g})")):
            rows.append([label, mean_sd(column(name, "clean"), db), mean_sd(column(name, "denoise"), db),
                         mean_sd(column(name, "copy"), db), mean_sd(column(name, "fill")),
                         mean_sd(column(name, "probe"))])
        data = last["data"]
        pixels = numbers["probe_pixels"]

        training = ("batch 32, exactly 5 epochs on 400 training images (quick)" if setting.quick else
                    f"batch 128, exactly {EPOCHS} epochs on the {len(data.x_train):,} training images")
        plain, denoiser = numbers["clean_plain"], numbers["clean_denoising"]
        price = ("pays for denoising on clean ones (a likely cause, not tested here: it fills in strokes that are "
                 "not missing)" if denoiser < plain else "is not worse on clean ones")
        return Evidence(
            statement="With a code larger than its input and no regularisation, an autoencoder learns to copy: it "
                      "reproduces the noise of a corrupted input. Trained to remove masking noise, the same model "
                      "restores the clean image and its code becomes more useful to a linear classifier.",
            protocol=f"{split_protocol(setting)}; 784 → {CODE} (ReLU) → 784 (affine), squared "
                     f"error, Adam lr 1e-3, {training}, the same for both models, last weights kept. The "
                     f"denoiser sees each training image with a fresh {MASKING:.0%} of its pixels set to 0 and is "
                     f"scored against the clean image. Test images are masked the same way with noise seed "
                     f"{TEST_NOISE_SEED} + s. Hole filling: over the pixels the mask set to 0 that had ink, the sum "
                     f"of the reconstruction over the sum of the clean image, per image, mean over the test images "
                     f"(0: the holes are kept, as a copy keeps them; 1: the ink is back). PSNR = 10 log10(1 / MSE) "
                     f"per image, mean over the {len(data.x_test):,} test images. Probe: logistic regression (C = 1, "
                     f"standardised features, fixed in advance) trained on the codes of the training images with "
                     f"their labels, accuracy on the test images. Seeds {list(setting.seeds)} (split, initialisation, "
                     f"batch order, training and test masks). Nothing was selected: the architecture, noise level, "
                     f"epochs and C were fixed before measuring.",
            header=["model", "clean input: PSNR (dB) vs clean", "masked input: PSNR (dB) vs clean (denoising)",
                    "masked input: PSNR (dB) vs masked (copying)", "masked input: hole filling", "probe accuracy"],
            rows=rows,
            rule=f"(1) the plain model copies, reproducing the noise: it puts back less than half of the ink the "
                 f"mask removed (hole filling below {HALF:g}); (2) the denoiser denoises: it puts back more than "
                 f"half, and its PSNR against the clean image is at least {GAIN_DB:g} dB above the masked image's; "
                 f"(3) the denoiser's code is more useful: its probe accuracy is above the plain model's and above "
                 f"the raw pixels' (a code that only copies carries no more than the pixels). Clean-input PSNR and "
                 f"PSNR against the masked image are reported, not part of the rule.",
            decision=decide(checks, setting.seeds), numbers=numbers, scale=data.scale,
            figures=_figures(data, last),
            notes=[f"Clean inputs: the plain model reconstructs them at {plain:.1f} dB, the denoiser at "
                   f"{denoiser:.1f} dB. The copy is not exact after {EPOCHS} epochs of Adam; the denoiser, trained "
                   f"only on masked images, {price}.",
                   f"Probe accuracy: the plain model's code {numbers['probe_plain']:.3f}, raw pixels {pixels:.3f}, "
                   f"the denoiser's code {numbers['probe_denoising']:.3f} (means over the seeds' splits, C fixed).",
                   "One noise type and level (masking, 25 %); the denoising claim of the tour measures others."])


def _encode(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    from aekit.viz._common import encode

    return encode(model, x)


@torch.no_grad()
def _scores(model: torch.nn.Module | None, x: torch.Tensor, x_tilde: torch.Tensor) -> dict[str, np.ndarray]:
    """Per test image: PSNR (dB) of the reconstructions of clean and masked inputs, and the hole filling of
    the masked one (NaN for an image the mask took no ink from); ``model`` None is the identity."""
    rebuild = (lambda v: v) if model is None else model.reconstruct
    x_hat_clean, x_hat_tilde = rebuild(x), rebuild(x_tilde)  # (n, 784) each
    holes = (x_tilde != x).double()  # (n, 784): ink the mask removed
    ink = (holes * x.double()).sum(1)  # (n,)
    filled = (holes * x_hat_tilde.reshape(x.shape).double()).sum(1) / ink.where(ink > 0, torch.tensor(float("nan")))
    return {"clean": np.asarray(psnr(x_hat_clean, x)), "denoise": np.asarray(psnr(x_hat_tilde, x)),
            "copy": np.asarray(psnr(x_hat_tilde, x_tilde)), "fill": filled.numpy()}


def _figures(data, last: dict) -> list:
    from aekit.viz.compare import reconstructions_figure

    rows = np.array([int(np.flatnonzero(data.y_test == c)[0]) for c in np.unique(data.y_test)])  # one per digit
    x, x_tilde = data.x_test[rows], last["x_tilde"][rows].numpy()
    with torch.no_grad():
        shown = {"masked input x̃": x_tilde,
                 "plain AE, g(f(x̃))": last["plain"].reconstruct(torch.from_numpy(x_tilde)).numpy(),
                 "denoising AE, g(f(x̃))": last["denoising"].reconstruct(torch.from_numpy(x_tilde)).numpy()}
    return [
        entry("masked", "Masked test images through both models",
              f"Top row: clean test images. Second row: the same with {MASKING:.0%} of the pixels set to 0 (the models "
              f"never saw these images). Below: what the plain overcomplete autoencoder and the denoising one make of "
              f"the masked images, with the squared error per image against the clean images. The plain model keeps "
              f"the holes; the denoiser fills them in.", reconstructions_figure(x, shown, data.sample_shape)),
    ]
