"""Trainer throughput against hand-written PyTorch loops, side by side in one process.

All three train the same MLP autoencoder (784-512-128-32, ReLU, batch 256) on bundled MNIST-5k:

- textbook: ``nn.Sequential`` ending in ``nn.Sigmoid``, ``F.binary_cross_entropy``, torch's default
  ``Adam``, batches sliced from a tensor permuted each epoch — what a tutorial writes;
- expert: the same layers without the sigmoid, ``F.binary_cross_entropy_with_logits``, fused Adam,
  ``zero_grad(set_to_none=True)``, the same slicing, and nothing else: no logging, no loss read back,
  no divergence check — the fastest plain loop we know how to write;
- aekit: ``aekit.training.Trainer`` on ``build_model`` (every loss term logged, divergence checked).

Repeats rotate the three so that a busy neighbour hurts all alike; the report gives the median
samples/s of each and the medians of the per-repeat ratios. Run:

    .venv/bin/python benchmarks/trainer_throughput.py [--threads 1] [--repeats 5] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
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


def _rates(samples: int, start: float, cpu: float) -> tuple[float, float]:
    """Samples/s of wall-clock time and of this process's CPU time. On a shared machine the CPU time
    leaves out the time the process waited for a core (one thread: it is the compute itself)."""
    return samples / (time.perf_counter() - start), samples / (time.process_time() - cpu)


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
    start, cpu = time.perf_counter(), time.process_time()
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
    return _rates(epochs * len(x), start, cpu)


def expert_model() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, CODE),
        nn.Linear(CODE, 128), nn.ReLU(), nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, 784),
    )


def run_expert(x: torch.Tensor, epochs: int, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = expert_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    flat = x.flatten(1)
    generator = torch.Generator().manual_seed(seed)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        xs = flat[torch.randperm(len(x), generator=generator)]
        for xb in xs.split(batch_size):
            loss = F.binary_cross_entropy_with_logits(model(xb), xb, reduction="sum") / len(xb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return _rates(epochs * len(x), start, cpu)


def run_aekit(x: torch.Tensor, epochs: int, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = build_model(ModelConfig(hidden=HIDDEN, code_size=CODE, output="sigmoid"), (1, 28, 28))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, restore_best=False, device="cpu")
    trainer = Trainer(model, [CrossEntropy()], config, seed=seed)
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit(x)
    return _rates(epochs * len(x), start, cpu)


def step_level(x: torch.Tensor, batch_size: int, rounds: int) -> dict[str, float]:
    """CPU ms per step of the expert step and of the trainer's step (``Trainer._step`` and the loss
    terms read back, as ``fit`` does each batch), alternating every batch: the finest interleaving,
    so a neighbour's burst hits both alike. What is left of a gap at the epoch level is outside the step."""
    torch.manual_seed(0)
    model = expert_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    torch.manual_seed(0)
    trainer = Trainer(build_model(ModelConfig(hidden=HIDDEN, code_size=CODE, output="sigmoid"), (1, 28, 28)),
                      [CrossEntropy()], TrainConfig(batch_size=batch_size, device="cpu"), seed=0)

    def expert(xb: torch.Tensor) -> None:
        xf = xb.flatten(1)
        loss = F.binary_cross_entropy_with_logits(model(xf), xf, reduction="sum") / len(xf)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def aekit(xb: torch.Tensor) -> None:
        {name: value.item() for name, value in trainer._step(xb, None).items()}

    batches = x[: 6 * batch_size].split(batch_size)
    spent = {"expert": 0.0, "aekit": 0.0}
    for _ in range(rounds):
        for xb in batches:
            for name, step in (("expert", expert), ("aekit", aekit)):
                start = time.process_time()
                step(xb)
                spent[name] += time.process_time() - start
    return {name: 1e3 * total / (rounds * len(batches)) for name, total in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--step-rounds", type=int, default=6, help="rounds of the per-step comparison (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.from_numpy(load_dataset("mnist5k").array())
    loops = {"textbook": run_textbook, "expert": run_expert, "aekit": run_aekit}
    wall: dict[str, list[float]] = {name: [] for name in loops}
    cpu: dict[str, list[float]] = {name: [] for name in loops}
    for loop in loops.values():  # warm-up every path once
        loop(x, 1, args.batch_size, 0)
    names = list(loops)
    for repeat in range(args.repeats):
        for name in names[repeat % 3:] + names[: repeat % 3]:  # rotate who goes first
            rate, cpu_rate = loops[name](x, args.epochs, args.batch_size, repeat)
            wall[name].append(rate)
            cpu[name].append(cpu_rate)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, {len(x)} samples x {args.epochs} epochs x {args.repeats} repeats, "
          f"batch {args.batch_size}, load average {load:.1f} at the end")
    for clock, results in (("wall-clock", wall), ("CPU time", cpu)):
        print(f"samples/s of {clock}:")
        for name, values in results.items():
            print(f"{name:>9}: median {statistics.median(values):8.0f}  (runs: {', '.join(f'{v:.0f}' for v in values)})")
        for other in ("textbook", "expert"):
            ratio = statistics.median(a / t for a, t in zip(results["aekit"], results[other]))
            print(f"aekit / {other}: {ratio:.3f}x (median of per-repeat ratios, {clock})")
    if args.step_rounds:
        ms = step_level(x, args.batch_size, args.step_rounds)
        print(f"per step, alternating every batch ({args.step_rounds} x 6 batches, CPU time): expert {ms['expert']:.2f} ms, "
              f"aekit {ms['aekit']:.2f} ms, aekit / expert {ms['expert'] / ms['aekit']:.3f}x (throughput ratio)")

if __name__ == "__main__":
    main()
