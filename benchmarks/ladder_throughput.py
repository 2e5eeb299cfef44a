"""The ladder network's training time per fit, at MNIST-5k and at full MNIST, with 1 and 2 threads (issue 20).

A ladder fit is a fixed number of steps (no early stopping): ``epochs`` passes over the unlabelled rows in
batches of 100 unlabelled + 100 labelled rows, so 150 x 3,500 / 100 = 5,250 steps on MNIST-5k and 150 x 50,000
/ 100 = 75,000 on full MNIST. The time of a step does not depend on the data set (the widths do not), so for
each variant and thread count a fresh process times ``--steps`` steps of ``fit_ladder`` with the published
widths on random images (one epoch over ``steps`` x 100 rows, 100 of them labelled, after a warm-up epoch),
and the time per fit is steps x seconds per step. Wall clock and the process's CPU time are both reported:
on a shared machine they differ by the time spent waiting for a core.

    .venv/bin/python benchmarks/ladder_throughput.py [--threads 1 2] [--steps 100] \
        [--out benchmarks/results/ladder_throughput.md]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _fresh import in_fresh_process  # noqa: E402  (the benchmarks' child runs)
from _result import machine_of, write_result  # noqa: E402

VARIANTS = ("full", "gamma")
FIT_STEPS = {"MNIST-5k (3,500 training images)": 150 * 3_500 // 100,
             "full MNIST (50,000 training images)": 150 * 50_000 // 100}


def measure(variant: str, threads: int, steps: int, hidden: tuple[int, ...]) -> dict:
    """Seconds per step of one variant at one thread count, in this process (wall and CPU time)."""
    import numpy as np
    import torch

    from aekit.models.ladder import LadderNetwork
    from aekit.training.ladder import LadderSchedule, fit_ladder

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((steps * 100, 784), dtype=np.float32)  # (n, 784): timing does not depend on the pixels
    y = np.arange(100) % 10
    weights = (1000.0, 10.0, *(0.1,) * len(hidden)) if variant == "full" else (0.0,) * (len(hidden) + 1) + (0.5,)
    model = LadderNetwork([784, *hidden, 10], variant)

    def epoch() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        fit_ladder(model, x[:100], y, x, LadderSchedule(epochs=1, weights=weights), seed=0)
        return time.perf_counter() - wall, time.process_time() - cpu

    epoch()  # warm-up
    wall, cpu = epoch()
    return {"variant": variant, "threads": threads, "steps": steps, "wall": wall / steps, "cpu": cpu / steps,
            "torch": torch.__version__}


def table(results: list[dict]) -> str:
    scales = list(FIT_STEPS)
    rows = ["| variant | threads | s per step (wall) | s per step (CPU time) | "
            + " | ".join(f"min per fit, {scale} ({FIT_STEPS[scale]:,} steps)" for scale in scales) + " |",
            "|---|---|---:|---:|" + "---:|" * len(scales)]
    for r in results:
        rows.append(f"| {r['variant']} | {r['threads']} | {r['wall']:.4f} | {r['cpu']:.4f} | "
                    + " | ".join(f"{FIT_STEPS[scale] * r['wall'] / 60:.0f}" for scale in scales) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=100, help="timed steps per variant and thread count")
    parser.add_argument("--hidden", nargs="+", type=int, default=[1000, 500, 250, 250, 250])
    parser.add_argument("--out", default=None, help="write the Markdown result here")
    parser.add_argument("--one", nargs=2, metavar=("VARIANT", "THREADS"), help=argparse.SUPPRESS)  # a child's job
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.steps, tuple(args.hidden))))
        return 0
    load_before = os.getloadavg()[0]
    results = []
    for threads in args.threads:
        for variant in VARIANTS:  # a fresh process each: its own thread pool
            results.append(in_fresh_process([__file__, "--one", variant, str(threads), "--steps", str(args.steps),
                                             "--hidden", *map(str, args.hidden)], threads))
            print(f"{variant:>6}, {threads} thread(s): {results[-1]['wall']:.4f} s per step", flush=True)
    machine = machine_of(results[0]["torch"], load_before)
    text = table(results)
    print(text)
    print(machine)
    if args.out:
        write_result(
            args.out, "Ladder network: time per fit", __file__, argv,
            f"Widths 784-{'-'.join(map(str, args.hidden))}-10, 100 labelled + 100 unlabelled images a step, "
            f"{args.steps} timed steps per row after a warm-up epoch; seed 0 for the weights, the noise and the "
            f"random images.\n\nMachine: {machine}.\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
