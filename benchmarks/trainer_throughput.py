"""Trainer throughput against hand-written PyTorch loops, side by side in one process.

All three train the same MLP autoencoder (784-512-128-32, ReLU, batch 256) on bundled MNIST-5k:

- textbook: ``nn.Sequential`` ending in ``nn.Sigmoid``, ``F.binary_cross_entropy``, torch's default
  ``Adam``, batches sliced from a tensor permuted each epoch — what a tutorial writes;
- expert: the same layers without the sigmoid, ``F.binary_cross_entropy_with_logits``, fused Adam,
  ``zero_grad(set_to_none=True)``, the same slicing, and nothing else: no logging, no loss read back,
  no divergence check — the fastest plain loop we know how to write;
- aekit: ``aekit.training.Trainer`` on ``build_model`` (every loss term logged, divergence checked).

The expert gathers each epoch's batches as tutorials do, ``flat[torch.randperm(n)]``; the trainer
gathers with ``index_select``, which copies whole rows and takes about a third of the time on this
data (a few ms an epoch): the same rows, one thing the trainer does better. The per-step comparison
leaves the gather out.

Repeats rotate the three so that a busy neighbour hurts all alike; the report gives the median
samples/s of each, the medians of the per-repeat ratios, in how many repeats aekit was at least as
fast (with the one-sided sign-test p-value of that count under a coin flip) and a bootstrap 90 %
interval of the median ratio: ">= 1.0x with confidence" means the interval's lower end is >= 1.
Whole runs of seconds each are coarse on a shared machine, so two finer comparisons follow, each
pairing the expert with the trainer on the same weights and batches: alternating every epoch (the
gather counted) and every batch (the step alone). Run:

    .venv/bin/python benchmarks/trainer_throughput.py [--threads 1] [--repeats 9] [--epochs 3] [--epoch-rounds 12]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from aekit.data import load_dataset
from aekit.io import write_readme_block
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.training.trainer import TrainConfig, Trainer

HIDDEN = [512, 128]
CODE = 32


def _rates(samples: int, start: float, cpu: float) -> tuple[float, float]:
    """Samples/s of wall-clock time and of this process's CPU time. On a shared machine the CPU time
    leaves out the time the process waited for a core (one thread: it is the compute itself)."""
    return samples / (time.perf_counter() - start), samples / (time.process_time() - cpu)


def confidence(ratios: list[float], resamples: int = 2000) -> tuple[int, float, float, float]:
    """How sure the repeats are that a ratio is >= 1: (how many are, the one-sided sign-test p-value of
    that many or more when each repeat is a coin flip, and a percentile bootstrap 90 % interval of the
    median ratio, seeded). Few repeats give wide intervals; that is the honest answer."""
    n, wins = len(ratios), sum(r >= 1.0 for r in ratios)
    p = sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(ratios, k=n)) for _ in range(resamples))
    return wins, p, medians[int(0.05 * resamples)], medians[int(0.95 * resamples) - 1]


def describe(ratios: list[float]) -> str:
    wins, p, low, high = confidence(ratios)
    verdict = ">= 1.0x with confidence" if low >= 1.0 else "not >= 1.0x with confidence"
    return (f"median {statistics.median(ratios):.3f}x, >= 1 in {wins} of {len(ratios)} (sign test p = {p:.3f}), "
            f"90 % interval of the median [{low:.3f}, {high:.3f}]: {verdict}")


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


def expert_step(model: nn.Module, optimizer: torch.optim.Optimizer, xb: torch.Tensor) -> None:
    """One step of the expert loop on a flat batch (B, 784)."""
    loss = F.binary_cross_entropy_with_logits(model(xb), xb, reduction="sum") / len(xb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def expert_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, flat: torch.Tensor, generator: torch.Generator,
                 batch_size: int) -> None:
    """One epoch of the expert loop: the permuted rows gathered once, then sliced into batches."""
    for xb in flat[torch.randperm(len(flat), generator=generator)].split(batch_size):
        expert_step(model, optimizer, xb)


def run_expert(x: torch.Tensor, epochs: int, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = expert_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    flat = x.flatten(1)
    generator = torch.Generator().manual_seed(seed)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        expert_epoch(model, optimizer, flat, generator, batch_size)
    return _rates(epochs * len(x), start, cpu)


def run_aekit(x: torch.Tensor, epochs: int, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = build_model(ModelConfig.of_kind(hidden=HIDDEN, code_size=CODE, output="sigmoid"), (1, 28, 28))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, restore_best=False, device="cpu")
    trainer = Trainer(model, [CrossEntropy()], config, seed=seed)
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit(x)
    return _rates(epochs * len(x), start, cpu)


def epoch_level(x: torch.Tensor, batch_size: int, rounds: int) -> tuple[dict[str, float], list[float]]:
    """CPU ms per epoch of the expert loop and of ``Trainer.fit`` (one epoch a call: the gather, the steps,
    every loss term read back and checked, the epoch's record), alternating every epoch, who goes first
    alternating by round; and each round's throughput ratio (expert time / aekit time). Both start from
    the same weights and draw the same batch order, so they compute the same steps: at the end their
    weights are checked to be equal. Finer than whole runs (a busy neighbour moves both alike) and,
    unlike the per-step comparison, it counts the epoch's gather."""
    torch.manual_seed(0)
    model = expert_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    generator = torch.Generator().manual_seed(0)
    flat = x.flatten(1)
    torch.manual_seed(0)
    config = TrainConfig(epochs=1, batch_size=batch_size, restore_best=False, device="cpu")
    trainer = Trainer(build_model(ModelConfig.of_kind(hidden=HIDDEN, code_size=CODE, output="sigmoid"), (1, 28, 28)),
                      [CrossEntropy()], config, seed=0)

    def expert() -> None:
        expert_epoch(model, optimizer, flat, generator, batch_size)

    def aekit() -> None:
        config.epochs = trainer.epoch + 1  # fit continues from the epochs done
        trainer.fit(x)

    spent = {"expert": 0.0, "aekit": 0.0}
    ratios = []
    order = (("expert", expert), ("aekit", aekit))
    for round_ in range(rounds):
        this_round = {}
        for name, epoch in order if round_ % 2 == 0 else order[::-1]:
            start = time.process_time()
            epoch()
            this_round[name] = time.process_time() - start
        ratios.append(this_round["expert"] / this_round["aekit"])
        for name in spent:
            spent[name] += this_round[name]
    same = all(torch.equal(a, b) for a, b in zip(model.parameters(), trainer.model.parameters()))
    if not same:
        raise AssertionError("the expert loop and the trainer computed different weights: the comparison is unfair")
    return {name: 1e3 * total / rounds for name, total in spent.items()}, ratios


def step_level(x: torch.Tensor, batch_size: int, rounds: int) -> tuple[dict[str, float], list[float], list[float]]:
    """CPU ms per step of the expert step and of the trainer's step (``Trainer._step`` and the loss
    terms read back, as ``fit`` does each batch), alternating every batch: the finest interleaving,
    so a neighbour's burst hits both alike; and each round's throughput ratio (expert time / aekit
    time). Both start from the same weights and see the same batches, so they compute the same steps.
    What is left of a gap at the epoch level is outside the step (the epoch's gather).

    A control runs alongside: a twin of the expert loop (its own copy of the same weights and its own
    optimizer, so the same computation on other memory). Its ratio to the expert is what this machine
    shows between two identical loops: the resolution of the aekit / expert ratio."""
    torch.manual_seed(0)
    model = expert_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    twin = expert_model()
    twin.load_state_dict(model.state_dict())
    twin_optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3, fused=True)
    torch.manual_seed(0)
    trainer = Trainer(build_model(ModelConfig.of_kind(hidden=HIDDEN, code_size=CODE, output="sigmoid"), (1, 28, 28)),
                      [CrossEntropy()], TrainConfig(batch_size=batch_size, device="cpu"), seed=0)

    def expert(xb: torch.Tensor) -> None:
        expert_step(model, optimizer, xb.flatten(1))

    def expert_twin(xb: torch.Tensor) -> None:
        expert_step(twin, twin_optimizer, xb.flatten(1))

    def aekit(xb: torch.Tensor) -> None:
        {name: value.item() for name, value in trainer._step(xb, None).items()}

    batches = x[: 6 * batch_size].split(batch_size)
    steps = {"expert": expert, "aekit": aekit, "twin": expert_twin}
    spent = dict.fromkeys(steps, 0.0)
    ratios, control = [], []
    for round_ in range(rounds):
        this_round = dict.fromkeys(steps, 0.0)
        names = list(steps)
        order = names[round_ % 3:] + names[: round_ % 3]  # who goes first rotates by round
        for xb in batches:
            for name in order:
                start = time.process_time()
                steps[name](xb)
                this_round[name] += time.process_time() - start
        ratios.append(this_round["expert"] / this_round["aekit"])
        control.append(this_round["expert"] / this_round["twin"])
        for name in spent:
            spent[name] += this_round[name]
    return {name: 1e3 * total / (rounds * len(batches)) for name, total in spent.items()}, ratios, control


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--samples", type=int, default=None, help="the first N images of MNIST-5k (default: all 5000)")
    parser.add_argument("--epoch-rounds", type=int, default=12, help="rounds of the per-epoch comparison (0: skip)")
    parser.add_argument("--step-rounds", type=int, default=6, help="rounds of the per-step comparison (0: skip)")
    parser.add_argument("--readme", default=None, metavar="README.md",
                        help="also write the table between the README's <!-- performance:begin/end --> markers")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.from_numpy(load_dataset("mnist5k").array()[: args.samples])
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
            ratios = [a / t for a, t in zip(results["aekit"], results[other])]
            print(f"aekit / {other} ({clock}, per-repeat ratios): {describe(ratios)}")
    epoch = None
    if args.epoch_rounds:
        ms, ratios = epoch_level(x, args.batch_size, args.epoch_rounds)
        epoch = ratios
        print(f"per epoch, alternating every epoch ({args.epoch_rounds} rounds, CPU time): expert {ms['expert']:.0f} ms, "
              f"aekit {ms['aekit']:.0f} ms (the same weights at the end)")
        print(f"aekit / expert per epoch (per-round ratios): {describe(ratios)}")
    step = None
    if args.step_rounds:
        ms, ratios, control = step_level(x, args.batch_size, args.step_rounds)
        step = (statistics.median(ratios), statistics.median(control))
        print(f"per step, alternating every batch ({args.step_rounds} x 6 batches, CPU time): expert {ms['expert']:.2f} ms, "
              f"aekit {ms['aekit']:.2f} ms, a twin of the expert loop {ms['twin']:.2f} ms")
        print(f"aekit / expert per step (per-round ratios): {describe(ratios)}")
        print(f"control, the expert's twin / expert per step (the machine's resolution): {describe(control)}")
    if args.readme:
        readme_table(args, wall, cpu, epoch, step, load)


def readme_table(args: argparse.Namespace, wall: dict, cpu: dict, epoch: list[float] | None,
                 step: tuple[float, float] | None,
                 load: float) -> None:
    """The README's performance table, between its markers: every number from this run."""
    import datetime

    def ratio(results: dict, other: str) -> float:
        return statistics.median(a / t for a, t in zip(results["aekit"], results[other]))

    step_text = (f"; {step[0]:.3f}× per step, alternating every batch, where an identical twin of the expert "
                 f"loop gives {step[1]:.3f}×" if step else "")
    if epoch:
        wins, _, low, high = confidence(epoch)
        step_text = (f"; **{statistics.median(epoch):.3f}×** per epoch, alternating every epoch, 90 % interval "
                     f"{low:.3f}–{high:.3f}, ≥ 1 in {wins} of {len(epoch)}{step_text}")
    wins, _, low, high = confidence([a / t for a, t in zip(wall["aekit"], wall["expert"])])
    rows = [
        f"| loop | samples/s (median of {args.repeats} rotated repeats, wall clock) | aekit / loop (median of "
        f"per-repeat ratios) |", "|---|---|---|",
        f"| textbook | {statistics.median(wall['textbook']):,.0f} | **{ratio(wall, 'textbook'):.2f}×** |",
        f"| expert | {statistics.median(wall['expert']):,.0f} | **{ratio(wall, 'expert'):.2f}×** (90 % interval "
        f"{low:.3f}–{high:.3f}, ≥ 1 in {wins} of {args.repeats} repeats; {ratio(cpu, 'expert'):.2f}× in CPU time{step_text}) |",
        f"| aekit `Trainer` | {statistics.median(wall['aekit']):,.0f} | — |", "",
        f"Measured with `.venv/bin/python benchmarks/trainer_throughput.py --threads {args.threads} --repeats "
        f"{args.repeats} --epochs {args.epochs} --epoch-rounds {args.epoch_rounds} --step-rounds {args.step_rounds} "
        f"{'' if args.samples is None else f'--samples {args.samples} '}--readme README.md` on {datetime.date.today().isoformat()}, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), torch {torch.__version__}, load "
        f"average {load:.1f} at the end.", ""]
    write_readme_block(Path(args.readme), "performance", "\n".join(rows))


if __name__ == "__main__":
    main()
