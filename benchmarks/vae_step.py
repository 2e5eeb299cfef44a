"""Cost of a variational autoencoder's training step (Kingma & Welling, ICLR 2014) over a plain one.

Both train the same MLP encoder and decoder (784-512-128-32, ReLU, batch 128, Adam) on bundled
MNIST-5k through ``aekit.training.Trainer``:

- plain: deterministic code head, loss = cross-entropy;
- vae:   Gaussian code head (features -> mu, logvar), reparameterised sample, loss = cross-entropy
         + analytic KL(q(h|x) || N(0, I)).

Each repeat builds a fresh model and trainer for each variant (outside the timer) and times
``fit`` over a few epochs; the variants alternate (in ABBA order) so that a busy neighbour hurts
both alike. The report gives the median milliseconds per step and the median per-repeat ratio.
Target: vae / plain <= 1.15. Run:

    .venv/bin/python benchmarks/vae_step.py [--threads 1] [--repeats 9] [--epochs 2] [--quick]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import torch

from aekit.data import load_dataset
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.objectives.variational import KLDivergence
from aekit.training.trainer import TrainConfig, Trainer

HIDDEN = [512, 128]
CODE = 32
TARGET = 1.15


def seconds_per_step(x: torch.Tensor, variational: bool, epochs: int, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    config = ModelConfig.of_kind(hidden=HIDDEN, code_size=CODE, output="sigmoid", variational=variational)
    model = build_model(config, (1, 28, 28))
    objectives = [CrossEntropy(), KLDivergence()] if variational else [CrossEntropy()]
    trainer = Trainer(model, objectives, TrainConfig(epochs=epochs, batch_size=batch_size, restore_best=False), seed=seed)
    start = time.perf_counter()
    trainer.fit(x)
    elapsed = time.perf_counter() - start
    return elapsed / (epochs * math.ceil(len(x) / batch_size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="512 samples, 1 epoch, 2 repeats (a smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.from_numpy(load_dataset("mnist5k").array())
    if args.quick:
        x, args.epochs, args.repeats = x[:512], 1, 2
    times: dict[str, list[float]] = {"plain": [], "vae": []}
    for variational in (False, True):  # warm-up both paths once
        seconds_per_step(x[:512], variational, 1, args.batch_size, 0)
    for repeat in range(args.repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)  # ABBA: no variant always runs first
        for variational in order:
            name = "vae" if variational else "plain"
            times[name].append(seconds_per_step(x, variational, args.epochs, args.batch_size, repeat))
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, {len(x)} samples x {args.epochs} epochs x {args.repeats} repeats, "
          f"batch {args.batch_size}, MLP 784-{'-'.join(map(str, HIDDEN))}-{CODE}")
    for name, values in times.items():
        print(f"{name:>6}: median {1e3 * statistics.median(values):6.3f} ms/step  "
              f"(runs: {', '.join(f'{1e3 * v:.3f}' for v in values)})")
    ratio = statistics.median(v / p for v, p in zip(times["vae"], times["plain"]))
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"vae / plain: {ratio:.3f}x (median of per-repeat ratios; target <= {TARGET}: {verdict})")


if __name__ == "__main__":
    main()
