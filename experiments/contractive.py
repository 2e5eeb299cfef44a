"""A contractive autoencoder is flat in most directions around the data and sensitive in a few
(Rifai, Vincent, Muller, Glorot & Bengio, "Contractive Auto-Encoders", ICML 2011).

The penalty lambda ||J_f(x)||_F^2 shrinks the encoder's Jacobian everywhere; the reconstruction term
keeps it large along the directions the data varies in. So at test points the contractive encoder's
singular value spectrum sigma_1 >= sigma_2 >= ... of J_f(x) = dh/dx is lower and decays faster than a
plain autoencoder's: fewer directions carry a sizeable fraction of sigma_1.

Two architectures, each trained plain (lambda = 0) and contractive, same seed, same everything else:

- shallow: 784 -> 1000, sigmoid code, tied weights — Rifai et al.'s overcomplete CAE (the closed form);
- deep:    784 -> 256 -> 32, ReLU hidden units, linear code, tied weights (the layer-wise exact path).

lambda was chosen so that the test cross-entropy stays within about 8 % of the plain model's (a
10-epoch sweep over lambda in {0.01, 0.1, 0.3, 1} on seed 0: 0.3 for both).

Tied weights (W' = W^T, as in Rifai et al.) matter: with an untied decoder the penalty could be met by
scaling the code down and the decoder up, without changing what the encoder does.

Reported on the MNIST-5k test split (mean ± sd over seeds): test cross-entropy and squared error per
image; at test points ||J||_F, sigma_1, sigma_5, sigma_10, sigma_10 / sigma_1, the number of singular
values above 10 % of the point's largest, and the number above one threshold common to both models
of a seed (10 % of the plain model's mean sigma_1): how many directions the code still follows.

    .venv/bin/python experiments/contractive.py            # 3 seeds, writes experiments/results/contractive.md
    .venv/bin/python experiments/contractive.py --quick    # a tiny version (seconds), prints its table
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _script import script_main  # noqa: E402  (the experiments' shared command line)

from aekit.analysis.jacobian import jacobian_singular_values, spectrum_summary
from aekit.data import load_dataset, split_dataset
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.objectives.contractive import Contractive
from aekit.training.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results" / "contractive.md"


@dataclass
class Arch:
    name: str
    hidden: list[int]
    code_size: int
    activation: str
    code_activation: str
    weight: float  # lambda of the contractive model
    spectrum_points: int | None  # test points whose Jacobian spectrum is computed (None: all)


@dataclass
class Setup:
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 10
    n_train: int | None = None  # None: the whole training split (3500 images)
    n_test: int | None = None  # None: the whole test split (1000 images)
    batch_size: int = 64
    lr: float = 1e-3
    archs: list[Arch] = field(default_factory=lambda: [
        # the spectrum at 100 test points: one SVD of a 1000 x 784 Jacobian per point
        Arch("shallow 784-1000", [], 1000, "sigmoid", "sigmoid", weight=0.3, spectrum_points=100),
        Arch("deep 784-256-32", [256], 32, "relu", "linear", weight=0.3, spectrum_points=None),
    ])


# The tiny version a behaviour test runs: the deep model only, few images, few epochs.
QUICK = Setup(seeds=(0,), epochs=6, n_train=600, n_test=100, batch_size=20, lr=3e-3,
              archs=[Arch("deep 784-64-16", [64], 16, "relu", "linear", weight=0.3, spectrum_points=None)])


def load(setup: Setup) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-5k train and test splits (split seed 0), float32 (n, 1, 28, 28) in [0, 1]."""
    splits = split_dataset(load_dataset("mnist5k"), seed=0)
    return splits.train.array()[: setup.n_train], splits.test.array()[: setup.n_test]


def train(x_train: np.ndarray, arch: Arch, weight: float, setup: Setup, seed: int) -> torch.nn.Module:
    """The tied autoencoder, trained with cross-entropy (+ lambda ||J||_F^2 when weight > 0)."""
    torch.manual_seed(seed)
    config = ModelConfig(hidden=arch.hidden, code_size=arch.code_size, activation=arch.activation,
                         code_activation=arch.code_activation, tied=True, output="sigmoid")
    model = build_model(config, x_train.shape[1:])
    objectives = [CrossEntropy()] + ([Contractive(weight)] if weight > 0 else [])
    train_config = TrainConfig(epochs=setup.epochs, batch_size=setup.batch_size, lr=setup.lr, restore_best=False)
    Trainer(model, objectives, train_config, seed=seed).fit(x_train)
    for objective in objectives:
        getattr(objective, "unbind", lambda: None)()
    return model.eval()


def measure(model: torch.nn.Module, x_test: np.ndarray, points: int | None) -> tuple[dict[str, float], np.ndarray]:
    """Test reconstruction error (per image) and the Jacobian spectrum at the first ``points`` test
    images: (measures, singular values (points, min(k, d)))."""
    x = torch.from_numpy(x_test)
    with torch.no_grad():
        logits = model(x)["logits"]
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum").item() / len(x)
        mse = (torch.sigmoid(logits) - x).pow(2).sum().item() / len(x)
    sv = jacobian_singular_values(model, x[:points])
    return {"bce": bce, "mse": mse, **spectrum_summary(sv, ranks=(1, 5, 10), relative=0.1), "rank": sv.shape[1]}, sv


def run(setup: Setup, log=print) -> dict[str, dict[str, list[dict[str, float]]]]:
    """results[arch name]["plain" | "contractive (lambda = ...)"] = one dict of measures per seed."""
    x_train, x_test = load(setup)
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for arch in setup.archs:
        rows = results.setdefault(arch.name, {"plain": [], f"contractive (lambda = {arch.weight:g})": []})
        for seed in setup.seeds:
            start = time.perf_counter()
            measured = [measure(train(x_train, arch, weight, setup, seed), x_test, arch.spectrum_points)
                        for weight in (0.0, arch.weight)]
            threshold = 0.1 * measured[0][0]["sigma_1"]  # 10 % of the plain encoder's mean sigma_1
            for row, (values, sv) in zip(rows, measured):
                rows[row].append({**values, "n_above_common": float((sv > threshold).sum(1).mean())})
            log(f"{arch.name}, seed {seed}: {time.perf_counter() - start:.0f} s")
    return results


COLUMNS = [
    ("bce", "test cross-entropy (nats / image)", 1),
    ("mse", "test squared error / image", 2),
    ("frobenius", "‖J‖_F", 2),
    ("sigma_1", "σ₁", 3),
    ("sigma_5", "σ₅", 3),
    ("sigma_10", "σ₁₀", 3),
    ("sigma_10/sigma_1", "σ₁₀ / σ₁", 3),
    ("n_above_0.1", "# σ > 0.1 σ₁", 1),
    ("n_above_common", "# σ > 0.1 σ₁(plain)", 1),
]


def mean_sd(values: list[float], digits: int) -> str:
    mean = statistics.fmean(values)
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def table(results: dict[str, dict[str, list[dict[str, float]]]], setup: Setup) -> str:
    lines = []
    for arch in setup.archs:
        rows = results[arch.name]
        first = next(iter(rows.values()))[0]
        points = arch.spectrum_points or "all"
        units = f"{arch.activation} hidden units, " if arch.hidden else "one layer, "
        lines += [
            f"**{arch.name}** ({units}{arch.code_activation} code, tied weights; "
            f"Jacobian at {points} test points, "
            f"min(k, d) = {first['rank']} singular values each; mean ± sd over seeds)",
            "",
            "| model | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
            "|---|" + "---|" * len(COLUMNS),
        ]
        for row, per_seed in rows.items():
            cells = [mean_sd([s[key] for s in per_seed], digits) for key, _, digits in COLUMNS]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def report(results, setup: Setup, seconds: float, command: str) -> str:
    x_train, x_test = load(setup)
    return "\n".join([
        "# Contractive autoencoder: a flatter encoder at test points",
        "",
        f"Command: `{command}`",
        "",
        f"MNIST-5k (bundled), split seed 0: {len(x_train)} training images, {len(x_test)} test images (all numbers "
        f"below are on the test split). Tied decoder weights, sigmoid output, "
        f"cross-entropy loss (+ lambda ||dh/dx||_F^2 per image for the contractive model), Adam lr {setup.lr:g}, "
        f"batch {setup.batch_size}, {setup.epochs} epochs for every model; seeds {', '.join(map(str, setup.seeds))} "
        f"(seed s: initialisation and batch order, the same for the plain and the contractive model). "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread, {platform.machine()}; {seconds:.0f} s in all.",
        "",
        "σ_i is the i-th largest singular value of J_f(x) = dh/dx (mean over test points). The last two columns "
        "count, per test point (then averaged), the singular values above 10 % of that point's largest one, and "
        "those above one threshold shared by both models of a seed, 10 % of the plain encoder's mean σ₁: the "
        "directions in which the code still follows the input.",
        "",
        table(results, setup),
    ])


def main(argv: list[str] | None = None) -> dict:
    return script_main(__file__, __doc__, argv, run=run, report=report, full=Setup(), quick=QUICK, results=RESULTS)


if __name__ == "__main__":
    main()
