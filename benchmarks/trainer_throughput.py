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
from pathlib import Path

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
    parser.add_argument("--readme", default=None, metavar="README.md",
                        help="also write the table between the README's <!-- performance:begin/end --> markers")
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
    step = None
    if args.step_rounds:
        ms = step_level(x, args.batch_size, args.step_rounds)
        step = ms["expert"] / ms["aekit"]
        print(f"per step, alternating every batch ({args.step_rounds} x 6 batches, CPU time): expert {ms['expert']:.2f} ms, "
              f"aekit {ms['aekit']:.2f} ms, aekit / expert {step:.3f}x (throughput ratio)")
    if args.readme:
        readme_table(args, wall, cpu, step, load)


def readme_table(args: argparse.Namespace, wall: dict, cpu: dict, step: float | None, load: float) -> None:
    """The README's performance table, between its markers: every number from this run."""
    import datetime

    from aekit.tour.runner import update_readme

    def ratio(results: dict, other: str) -> float:
        return statistics.median(a / t for a, t in zip(results["aekit"], results[other]))

    step_text = f"; {step:.2f}× per step, alternating every batch" if step else ""
    rows = [
        f"| loop | samples/s (median of {args.repeats} rotated repeats, wall clock) | aekit / loop (median of "
        f"per-repeat ratios) |", "|---|---|---|",
        f"| textbook | {statistics.median(wall['textbook']):,.0f} | **{ratio(wall, 'textbook'):.2f}×** |",
        f"| expert | {statistics.median(wall['expert']):,.0f} | **{ratio(wall, 'expert'):.2f}×** "
        f"({ratio(cpu, 'expert'):.2f}× in CPU time{step_text}) |",
        f"| aekit `Trainer` | {statistics.median(wall['aekit']):,.0f} | — |", "",
        f"Measured with `.venv/bin/python benchmarks/trainer_throughput.py --threads {args.threads} --repeats "
        f"{args.repeats} --epochs {args.epochs} --readme README.md` on {datetime.date.today().isoformat()}, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), torch {torch.__version__}, load "
        f"average {load:.1f} at the end.", ""]
    update_readme(Path(args.readme), "\n".join(rows), "<!-- performance:begin -->", "<!-- performance:end -->")

if __name__ == "__main__":
    main()
