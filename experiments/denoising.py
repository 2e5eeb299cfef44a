"""An overcomplete autoencoder copies its input; the same model trained to denoise removes the noise
(Vincent et al., ICML 2008; JMLR 2010, §3-4).

Model: one hidden layer, 784 -> 1000 (ReLU) -> 784 (linear output), squared-error loss, Adam. The
code is larger than the input, so with no regularisation the identity is a perfect solution and it is
exactly representable (h = relu(I x) = x for pixels x >= 0, x_hat = I h). Trained on clean images
("plain") it drifts toward copying; trained on corrupted images against the clean target
("denoising", Vincent et al.) it must learn the data's structure to undo the noise.

Two corruptions, used for training the denoiser and, with a separate seed, for the test images:
masking noise nu = 0.25 and additive Gaussian noise sigma = 0.3 (unclipped, the paper's form).

Metric: mean PSNR over the MNIST-5k test split (dB, data range 1), of

- the reconstruction of the clean test image (how well each model reconstructs at all);
- the reconstruction of the corrupted test image against the CLEAN image (denoising);
- the reconstruction of the corrupted test image against the CORRUPTED image (copying: high means
  the output stays close to the noisy input).

Baselines: the identity (the corrupted image itself) and, for Gaussian noise, the corrupted image
clipped to [0, 1] (part of any model's gain there is only that its outputs stay near the valid range).

    .venv/bin/python experiments/denoising.py            # 3 seeds, writes experiments/results/denoising.md
    .venv/bin/python experiments/denoising.py --quick    # a tiny version (seconds), prints its table
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _script import script_main  # noqa: E402  (the experiments' shared command line)

from aekit.analysis.metrics import psnr
from aekit.data import load_dataset, split_dataset
from aekit.data.corruption import Gaussian, Masking
from aekit.models import ModelConfig, build_model
from aekit.objectives import SquaredError
from aekit.training.trainer import TrainConfig, Trainer

NOISES = {"masking 0.25": Masking(0.25), "gaussian 0.3": Gaussian(0.3)}
TEST_NOISE_SEED = 10_000  # test-time noise for seed s is drawn from a generator seeded TEST_NOISE_SEED + s
RESULTS = Path(__file__).parent / "results" / "denoising.md"


@dataclass
class Setup:
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 40
    code_size: int = 1000
    n_train: int | None = None  # None: the whole training split (3500 images)
    n_test: int | None = None  # None: the whole test split (1000 images)
    batch_size: int = 64
    lr: float = 1e-3
    noises: tuple[str, ...] = tuple(NOISES)


# The tiny version a behaviour test runs: masking only (the harder noise to beat the identity on).
QUICK = Setup(seeds=(0,), epochs=8, n_train=800, n_test=200, batch_size=50, lr=2e-3, noises=("masking 0.25",))


def load(setup: Setup) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-5k train and test splits (split seed 0), float32 (n, 1, 28, 28) in [0, 1]."""
    splits = split_dataset(load_dataset("mnist5k"), seed=0)
    return splits.train.array()[: setup.n_train], splits.test.array()[: setup.n_test]


def train(x_train: np.ndarray, corruption, setup: Setup, seed: int) -> torch.nn.Module:
    """The overcomplete autoencoder, trained on clean inputs (corruption None) or as a denoiser."""
    torch.manual_seed(seed)
    config = ModelConfig(hidden=[], code_size=setup.code_size, code_activation="relu", output="identity")
    model = build_model(config, x_train.shape[1:])
    train_config = TrainConfig(epochs=setup.epochs, batch_size=setup.batch_size, lr=setup.lr)
    Trainer(model, [SquaredError()], train_config, corruption=corruption, seed=seed).fit(x_train)
    return model.eval()


@torch.no_grad()
def scores(model: torch.nn.Module | None, x: torch.Tensor, x_tilde: torch.Tensor) -> dict[str, float]:
    """Mean PSNR of the three comparisons; ``model`` None is the identity (x_hat = input)."""
    rebuild = (lambda v: v) if model is None else model.reconstruct
    x_hat_clean, x_hat_noisy = rebuild(x), rebuild(x_tilde)
    return {
        "clean": float(np.mean(psnr(x_hat_clean, x))),
        "denoise": float(np.mean(psnr(x_hat_noisy, x))),
        "copy": float(np.mean(psnr(x_hat_noisy, x_tilde))),
    }


def run(setup: Setup, log=print) -> dict[str, dict[str, list[dict[str, float]]]]:
    """results[noise][row] = one dict of mean PSNRs per seed."""
    x_train, x_test = load(setup)
    x = torch.from_numpy(x_test)
    results: dict[str, dict[str, list[dict[str, float]]]] = {noise: {} for noise in setup.noises}

    def add(noise: str, row: str, value: dict[str, float]) -> None:
        results[noise].setdefault(row, []).append(value)

    for seed in setup.seeds:
        start = time.perf_counter()
        plain = train(x_train, None, setup, seed)
        for noise in setup.noises:
            corruption = NOISES[noise]
            x_tilde = corruption(x, torch.Generator().manual_seed(TEST_NOISE_SEED + seed))
            add(noise, "identity (the corrupted input)", scores(None, x, x_tilde))
            if isinstance(corruption, Gaussian):
                clipped = x_tilde.clamp(0, 1)
                copy = float(np.mean(psnr(clipped, x_tilde)))
                add(noise, "identity, clipped to [0, 1]", {**scores(None, x, clipped), "copy": copy})
            add(noise, "plain overcomplete AE", scores(plain, x, x_tilde))
            denoiser = train(x_train, corruption, setup, seed)
            add(noise, f"denoising AE ({noise})", scores(denoiser, x, x_tilde))
        log(f"seed {seed}: {time.perf_counter() - start:.0f} s")
    return results


def mean_sd(values: list[float]) -> str:
    if any(np.isinf(values)):
        return "∞"
    mean = statistics.fmean(values)
    return f"{mean:.2f} ± {statistics.stdev(values):.2f}" if len(values) > 1 else f"{mean:.2f}"


def table(results: dict[str, dict[str, list[dict[str, float]]]]) -> str:
    lines = []
    for noise, rows in results.items():
        lines += [
            f"**{noise}** (mean PSNR in dB over the test images; mean ± sd over seeds)",
            "",
            "| model | clean input vs clean | corrupted input vs clean (denoising) "
            "| corrupted input vs corrupted (copying) |",
            "|---|---|---|---|",
        ]
        for row, per_seed in rows.items():
            cells = [mean_sd([s[key] for s in per_seed]) for key in ("clean", "denoise", "copy")]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def report(results, setup: Setup, seconds: float, command: str) -> str:
    x_train, x_test = load(setup)
    return "\n".join([
        "# Denoising: an overcomplete autoencoder copies, a denoising one removes the noise",
        "",
        f"Command: `{command}`",
        "",
        f"MNIST-5k (bundled), split seed 0: {len(x_train)} training images, {len(x_test)} test images (all numbers "
        f"below are on the test split). Model 784 → {setup.code_size} (ReLU) → 784 (linear), squared-error loss, "
        f"Adam lr {setup.lr:g}, batch {setup.batch_size}, {setup.epochs} epochs for every model; seeds "
        f"{', '.join(map(str, setup.seeds))} (seed s: initialisation, batch order and training noise; the test "
        f"noise is drawn from seed {TEST_NOISE_SEED} + s). torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread, {platform.machine()}; {seconds:.0f} s in all.",
        "",
        table(results),
    ])


def main(argv: list[str] | None = None) -> dict:
    return script_main(__file__, __doc__, argv, run=run, report=report, full=Setup(), quick=QUICK, results=RESULTS)


if __name__ == "__main__":
    main()
