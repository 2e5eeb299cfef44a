"""Training throughput at the papers' scale: full MNIST (50,000 training images in memory), on this CPU.

For each model — the default MLP (``aekit train --data mnist``), the lecture's 784-1000-500-250-30
(``--preset hinton2006``) and the convolutional one (``--preset deep``) — and each thread count, a
fresh process builds the run exactly as ``aekit train`` does (``prepare``: the full data set loaded,
split and the model built; the trainer with the config's batch size, objectives and corruption), then
times ``--steps`` optimiser steps on batches drawn from the whole training split after a short
warm-up. It reports

- images/s (wall clock, and of the process's CPU time, which on a shared machine leaves out the
  time spent waiting for a core) and the epoch time it implies for 50,000 images;
- the FLOP/s of those steps (matmuls and convolutions, forward and backward, counted once by
  ``torch.utils.flop_counter``) as a fraction of this CPU's float32 matmul peak at the same thread
  count, measured in the same process with a large ``torch.mm`` (the best of a few);
- the process's peak resident memory (``resource.getrusage``), data set included.

Issue 19 asks for each full-scale claim within about 60 minutes on 2 cores and peak memory under 4 GB.
The per-step time leaves out the per-epoch gather and validation pass (a few per cent of an epoch,
benchmarks/trainer_throughput.py). Run:

    .venv/bin/python benchmarks/full_mnist_throughput.py [--threads 1 2] [--steps 100] \
        [--models default hinton2006 deep] [--out benchmarks/results/full_mnist_throughput.md]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _fresh import in_fresh_process  # noqa: E402  (the benchmarks' child runs)
from _result import machine_of, write_result  # noqa: E402

PRESETS = {"default": None, "hinton2006": "hinton2006", "deep": "deep"}
LABELS = {"default": "default MLP", "hinton2006": "lecture MLP (`--preset hinton2006`)", "deep": "conv (`--preset deep`)"}


def matmul_peak(n: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """FLOP/s of the best of ``repeats`` float32 (n, n) @ (n, n) products at the current thread count,
    per second of wall clock and per second of this process's CPU time (summed over its threads)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        torch.mm(a, b)
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return 2 * n**3 / wall, 2 * n**3 / cpu


def measure(model_key: str, threads: int, steps: int, data: str, samples: int | None) -> dict:
    """One model at one thread count, in this process: images/s, FLOP/s, the matmul peak, peak memory."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from aekit.training.run import prepare
    from aekit.training.run_config import make_config
    from aekit.training.trainer import Trainer

    torch.set_num_threads(threads)
    overrides = [f"data.name={data}", "seed=0"] + ([f"data.limit={samples}"] if samples else [])
    config = make_config(overrides=overrides, preset=PRESETS[model_key])
    start = time.perf_counter()
    prepared = prepare(config)
    load_seconds = time.perf_counter() - start
    x = prepared.data.train_x
    x = torch.as_tensor(x.array() if hasattr(x, "array") else x)  # (n_train, *sample_shape) float32
    train = prepared.config.train  # batch_size: auto resolved, as aekit train resolves it
    trainer = Trainer(prepared.model, prepared.objectives, train, corruption=prepared.corruption, seed=0)
    batch = train.batch_size
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(x), generator=generator)

    def batch_at(i: int) -> torch.Tensor:
        rows = order[(i * batch) % len(x):][:batch]
        return x.index_select(0, rows if len(rows) == batch else order[:batch])  # (B, *sample_shape)

    with FlopCounterMode(display=False) as counter:
        trainer._step(batch_at(0), None)
    flops_per_step = counter.get_total_flops()
    for i in range(3):  # warm-up
        {name: value.item() for name, value in trainer._step(batch_at(i), None).items()}
    batches = [batch_at(i) for i in range(steps)]
    wall, cpu = time.perf_counter(), time.process_time()
    for xb in batches:
        {name: value.item() for name, value in trainer._step(xb, None).items()}  # the trainer reads its terms
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak, peak_cpu = matmul_peak()
    images = steps * batch
    return {
        "model": model_key, "threads": threads, "steps": steps, "batch": batch, "n_train": len(x),
        "parameters": sum(p.numel() for p in prepared.model.parameters()),
        "images_per_s": images / wall, "images_per_cpu_s": images / cpu,
        "flop_per_image": flops_per_step / batch, "flops": flops_per_step * steps / wall, "peak_flops": peak,
        "cpu_flops": flops_per_step * steps / cpu, "peak_cpu_flops": peak_cpu,
        "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,  # KiB on Linux
        "load_seconds": load_seconds, "torch": torch.__version__,
    }


def table(results: list[dict]) -> str:
    rows = ["| model | threads | images/s (wall) | images/s (CPU time) | s per epoch of 50,000 (wall) | MFLOP/image | "
            "GFLOP/s (wall) | matmul peak GFLOP/s | fraction of peak (wall / CPU time) | peak memory |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        cpu_fraction = r["cpu_flops"] / r["peak_cpu_flops"]  # both per second of CPU time, summed over threads
        rows.append(f"| {LABELS[r['model']]} | {r['threads']} | {r['images_per_s']:,.0f} | {r['images_per_cpu_s']:,.0f} | "
                    f"{50_000 / r['images_per_s']:,.1f} | {r['flop_per_image'] / 1e6:.1f} | {r['flops'] / 1e9:.1f} | "
                    f"{r['peak_flops'] / 1e9:.1f} | {r['flops'] / r['peak_flops']:.0%} / {cpu_fraction:.0%} | "
                    f"{r['max_rss_gb']:.2f} GB |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(PRESETS), default=list(PRESETS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=100, help="timed optimiser steps per model and thread count")
    parser.add_argument("--data", default="mnist", help="data set (default: full MNIST; the smoke test uses mnist5k)")
    parser.add_argument("--samples", type=int, default=None, help="data.limit: at most this many training images")
    parser.add_argument("--out", default=None, help="write the Markdown result here")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "THREADS"), help=argparse.SUPPRESS)  # a child's job
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.steps, args.data, args.samples)))
        return 0
    load_before = os.getloadavg()[0]
    results = []
    for threads in args.threads:
        for model in args.models:  # a fresh process each: its own thread pool and its own peak memory
            child = [__file__, "--one", model, str(threads), "--steps", str(args.steps), "--data", args.data]
            results.append(in_fresh_process(child + (["--samples", str(args.samples)] if args.samples else []),
                                            threads))
            r = results[-1]
            print(f"{model:>10}, {threads} thread(s): {r['images_per_s']:,.0f} images/s, "
                  f"{r['flops'] / r['peak_flops']:.0%} of the matmul peak, {r['max_rss_gb']:.2f} GB", flush=True)
    machine = machine_of(results[0]["torch"], load_before)
    data = f"{args.data}" + (f", the first {args.samples} training images" if args.samples else "")
    text = table(results)
    print(text)
    print(machine)
    if args.out:
        write_result(
            args.out, "Training throughput at full scale (full MNIST)", __file__, argv,
            f"Data: {data} ({results[0]['n_train']:,} training images in memory); batch {results[0]['batch']} "
            f"(the default); {args.steps} timed steps per row after 3 warm-up steps.\n\n"
            f"Machine: {machine}.\n\n{text}\n\n"
            "FLOP counted by `torch.utils.flop_counter` (matmuls and convolutions, forward and backward; the "
            "optimiser's element-wise work is not counted); the peak is the best of 5 float32 2048 x 2048 "
            "`torch.mm` at the same thread count. The CPU-time columns leave out the time the process waited for "
            "a core on this shared machine: at one thread they are the compute itself; that fraction of the peak "
            "divides FLOP per CPU-second of the steps by FLOP per CPU-second of the matmul. Peak memory is the process's "
            "maximum resident set (the data set included).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
