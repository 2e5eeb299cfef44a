"""Trainer throughput against a textbook hand-written PyTorch loop, side by side in one process.

Both train the same MLP autoencoder (784-512-128-32, ReLU, batch 256) on bundled MNIST-5k:

- textbook: ``nn.Sequential`` ending in ``nn.Sigmoid``, ``F.binary_cross_entropy``, torch's default
  ``Adam``, batches sliced from a tensor permuted each epoch — what a tutorial writes;
- aekit: ``aekit.training.Trainer`` on ``build_model`` (loss from logits, fused Adam).

Repeats alternate between the two so that a busy neighbour hurts both alike; the report gives the
median samples/s of each and their ratio. Run:

    .venv/bin/python benchmarks/trainer_throughput.py [--threads 1] [--repeats 5] [--epochs 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from aekit.data import load_dataset
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.training.trainer import TrainConfig, Trainer

HIDDEN = [512, 128]
CODE = 32


def textbook_model() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, CODE),
        nn.Linear(CODE, 128), nn.ReLU(), nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid(),
    )


def run_textbook(x: torch.Tensor, epochs: int, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = textbook_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    flat = x.flatten(1)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        xs = flat[perm]
        for i in range(0, len(xs), batch_size):
            xb = xs[i : i + batch_size]
            x_hat = model(xb)
            loss = F.binary_cross_entropy(x_hat, xb, reduction="sum") / len(xb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return epochs * len(x) / (time.perf_counter() - start)


def run_aekit(x: torch.Tensor, epochs: int, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = build_model(ModelConfig(hidden=HIDDEN, code_size=CODE, output="sigmoid"), (1, 28, 28))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, restore_best=False)
    trainer = Trainer(model, [CrossEntropy()], config, seed=seed)
    start = time.perf_counter()
    trainer.fit(x)
    return epochs * len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.from_numpy(load_dataset("mnist5k").array())
    results: dict[str, list[float]] = {"textbook": [], "aekit": []}
    run_textbook(x, 1, args.batch_size, 0)  # warm-up both paths once
    run_aekit(x, 1, args.batch_size, 0)
    for repeat in range(args.repeats):
        results["textbook"].append(run_textbook(x, args.epochs, args.batch_size, repeat))
        results["aekit"].append(run_aekit(x, args.epochs, args.batch_size, repeat))
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, {len(x)} samples x {args.epochs} epochs x {args.repeats} repeats, "
          f"batch {args.batch_size}")
    for name, values in results.items():
        print(f"{name:>9}: median {statistics.median(values):8.0f} samples/s  "
              f"(runs: {', '.join(f'{v:.0f}' for v in values)})")
    ratio = statistics.median(a / t for a, t in zip(results["aekit"], results["textbook"]))
    print(f"aekit / textbook: {ratio:.2f}x (median of per-repeat ratios)")


if __name__ == "__main__":
    main()
