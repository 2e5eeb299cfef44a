"""Sparse autoencoders: the L1 penalty (Ranzato et al., NIPS 2007) and the KL penalty toward a target
mean activation rho (Ng, CS294A lecture notes "Sparse autoencoder") make the code sparse, at a cost
in reconstruction.

Model: one hidden layer, 784 -> 200 -> 784 (sigmoid output), cross-entropy loss, Adam; the same model
and budget with and without the penalty:

- KL variant: sigmoid code (the KL term needs codes in (0, 1)); rho in {0.05, 0.1, 0.2} at beta = 3
  (Ng's exercise value), and rho = 0.05 at beta = 10; against the same sigmoid model without penalty;
- L1 variant: ReLU code; lambda in {0.03, 0.1, 0.3}; against the same ReLU model without penalty.

Measured on the MNIST-5k test split: the mean code activation (the data-set rho_hat), the spread of
the units' mean activations, the fraction of code entries near zero (|h| < 0.01), units never above
0.01 ("dead"), and the reconstruction error (squared error per image, and cross-entropy per image).

    .venv/bin/python experiments/sparse.py            # 3 seeds, writes experiments/results/sparse.md
    .venv/bin/python experiments/sparse.py --quick    # a tiny version (seconds), prints its table
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

from aekit.analysis.metrics import NEAR_ZERO, reconstruction_error, sparsity_stats
from aekit.data import load_dataset, split_dataset
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.objectives.sparse import L1, KLSparsity
from aekit.training.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results" / "sparse.md"

# (row label, code activation, penalty or None)
VARIANTS = {
    "kl": [
        ("sigmoid code, no penalty", "sigmoid", None),
        ("KL, rho 0.05, beta 3", "sigmoid", KLSparsity(weight=3.0, target=0.05)),
        ("KL, rho 0.1, beta 3", "sigmoid", KLSparsity(weight=3.0, target=0.1)),
        ("KL, rho 0.2, beta 3", "sigmoid", KLSparsity(weight=3.0, target=0.2)),
        ("KL, rho 0.05, beta 10", "sigmoid", KLSparsity(weight=10.0, target=0.05)),
    ],
    "l1": [
        ("ReLU code, no penalty", "relu", None),
        ("L1, lambda 0.03", "relu", L1(0.03)),
        ("L1, lambda 0.1", "relu", L1(0.1)),
        ("L1, lambda 0.3", "relu", L1(0.3)),
    ],
}


@dataclass
class Setup:
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 30
    code_size: int = 200
    n_train: int | None = None  # None: the whole training split (3500 images)
    batch_size: int = 64
    lr: float = 3e-3
    variants: dict | None = None  # None: VARIANTS


# The tiny version a behaviour test runs: one penalty against no penalty, per variant.
QUICK = Setup(
    seeds=(0,), epochs=5, code_size=100, n_train=800, batch_size=50,
    variants={"kl": [VARIANTS["kl"][0], VARIANTS["kl"][1]], "l1": [VARIANTS["l1"][0], VARIANTS["l1"][3]]},
)


def load(setup: Setup) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-5k train and test splits (split seed 0), float32 (n, 1, 28, 28) in [0, 1]."""
    splits = split_dataset(load_dataset("mnist5k"), seed=0)
    return splits.train.array()[: setup.n_train], splits.test.array()


def train_and_measure(x_train, x_test, activation: str, penalty, setup: Setup, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    config = ModelConfig(hidden=[], code_size=setup.code_size, code_activation=activation, output="sigmoid")
    model = build_model(config, x_train.shape[1:])
    objectives = [CrossEntropy(), *([penalty] if penalty is not None else [])]
    train_config = TrainConfig(epochs=setup.epochs, batch_size=setup.batch_size, lr=setup.lr)
    trainer = Trainer(model, objectives, train_config, seed=seed)
    trainer.fit(x_train)
    model.eval()
    with torch.no_grad():
        h = model.encode(torch.from_numpy(x_test))  # (n, k)
    stats = sparsity_stats(h)
    unit_max = h.max(dim=0).values.numpy()  # (k,)
    return {
        "mean": stats.mean_activation,
        "unit_min": float(stats.per_unit_mean.min()),
        "unit_max": float(stats.per_unit_mean.max()),
        "near_zero": stats.near_zero_fraction,
        "dead": float((unit_max < NEAR_ZERO).mean()),
        "squared_error": float(reconstruction_error(model, x_test).per_image.mean()),
        "bce": trainer.evaluate(x_test)["recon"],
    }


def run(setup: Setup, log=print) -> dict[str, dict[str, list[dict[str, float]]]]:
    """results[variant][row] = one dict of test measurements per seed."""
    x_train, x_test = load(setup)
    variants = setup.variants or VARIANTS
    results: dict[str, dict[str, list[dict[str, float]]]] = {v: {} for v in variants}
    for seed in setup.seeds:
        start = time.perf_counter()
        for variant, rows in variants.items():
            for label, activation, penalty in rows:
                measured = train_and_measure(x_train, x_test, activation, penalty, setup, seed)
                results[variant].setdefault(label, []).append(measured)
        log(f"seed {seed}: {time.perf_counter() - start:.0f} s")
    return results


def mean_sd(values: list[float], fmt: str) -> str:
    mean = statistics.fmean(values)
    return f"{mean:{fmt}} ± {statistics.stdev(values):{fmt}}" if len(values) > 1 else f"{mean:{fmt}}"


COLUMNS = [
    ("mean activation", "mean", ".3f"),
    ("units' mean activation, min – max", None, ".3f"),
    (f"entries with abs(h) < {NEAR_ZERO:g}", "near_zero", ".3f"),
    ("dead units", "dead", ".3f"),
    ("squared error / image", "squared_error", ".2f"),
    ("cross-entropy / image (nats)", "bce", ".1f"),
]


def table(results: dict[str, dict[str, list[dict[str, float]]]]) -> str:
    titles = {"kl": "KL sparsity (sigmoid code)", "l1": "L1 (ReLU code)"}
    lines = []
    for variant, rows in results.items():
        lines += [
            f"**{titles.get(variant, variant)}** (test split; mean ± sd over seeds)",
            "",
            "| model | " + " | ".join(name for name, _, _ in COLUMNS) + " |",
            "|---|" + "---|" * len(COLUMNS),
        ]
        for label, per_seed in rows.items():
            cells = []
            for _, key, fmt in COLUMNS:
                if key is None:
                    low = statistics.fmean(s["unit_min"] for s in per_seed)
                    high = statistics.fmean(s["unit_max"] for s in per_seed)
                    cells.append(f"{low:{fmt}} – {high:{fmt}}")
                else:
                    cells.append(mean_sd([s[key] for s in per_seed], fmt))
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def report(results, setup: Setup, seconds: float, command: str) -> str:
    x_train, x_test = load(setup)
    return "\n".join([
        "# Sparse autoencoders: L1 and KL penalties make the code sparse",
        "",
        f"Command: `{command}`",
        "",
        f"MNIST-5k (bundled), split seed 0: {len(x_train)} training images, {len(x_test)} test images (all numbers "
        f"below are on the test split). Model 784 → {setup.code_size} → 784 (sigmoid output), cross-entropy loss, "
        f"Adam lr {setup.lr:g}, batch {setup.batch_size}, {setup.epochs} epochs for every model; seeds "
        f"{', '.join(map(str, setup.seeds))} (initialisation and batch order). 'Mean activation' is the mean of h "
        f"over test images and units; a unit is dead when it stays below {NEAR_ZERO:g} on every test image. "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread, {platform.machine()}; {seconds:.0f} s in all.",
        "",
        table(results),
    ])


def main(argv: list[str] | None = None) -> dict:
    return script_main(__file__, __doc__, argv, run=run, report=report, full=Setup(), quick=QUICK, results=RESULTS)


if __name__ == "__main__":
    main()
