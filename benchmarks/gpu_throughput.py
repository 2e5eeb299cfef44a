"""Training throughput on an accelerator: samples/s of the default MLP and conv autoencoders on
MNIST-5k, in float32 and bf16 (and 16-mixed), and with 2 processes (DistributedDataParallel under
torchrun) where the machine has 2 GPUs or more.

Each setting trains ``--epochs`` epochs with ``aekit.training.Trainer`` (the default model of
``aekit train``, fixed epochs, batch ``--batch-size``); the rate is the training rows over the median
epoch time, the first epoch left out (warm-up: kernels chosen, memory allocated). The results file
records the date, the device, torch's version and the table. On a machine without CUDA or MPS it says
so and writes nothing. Run:

    .venv/bin/python benchmarks/gpu_throughput.py [--epochs 5] [--batch-size 256] [--out benchmarks/results/gpu_throughput.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from aekit.training.precision import available_precisions, best_device

KINDS = ("mlp", "conv")


def measure(kind: str, precision: str, epochs: int, batch_size: int) -> dict:
    """Samples/s of one setting (under torchrun: of all processes together)."""
    from aekit.training.run import prepare
    from aekit.training.run_config import make_config
    from aekit.training.trainer import Trainer

    config = make_config(None, [f"model.kind={kind}", f"train.epochs={epochs}", f"train.batch_size={batch_size}",
                                f"train.precision={precision}", "train.restore_best=false"])
    prepared = prepare(config)
    trainer = Trainer(prepared.model, prepared.objectives, prepared.config.train, seed=config.seed)
    history = trainer.fit(prepared.data.train_x)
    seconds = statistics.median(record["seconds"] for record in history[1:])
    return {"kind": kind, "precision": precision, "processes": trainer.dist.world_size,
            "global_batch": trainer.global_batch_size, "samples_per_s": len(prepared.data.splits.train) / seconds,
            "epoch_seconds": seconds}


def worker(out: str, epochs: int, batch_size: int, precisions: list[str]) -> None:
    """Run by torchrun: every setting with 2 processes; rank 0 writes the rows to ``out``."""
    rows = [measure(kind, precision, epochs, batch_size) for kind in KINDS for precision in precisions]
    if int(os.environ.get("RANK", "0")) == 0:
        Path(out).write_text(json.dumps(rows))


def table(rows: list[dict]) -> str:
    lines = ["| model | precision | processes | global batch | samples/s | epoch (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['kind']} | {r['precision']} | {r['processes']} | {r['global_batch']} | "
                     f"{r['samples_per_s']:,.0f} | {r['epoch_seconds']:.3f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", default="benchmarks/results/gpu_throughput.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # the 2-process run, under torchrun
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is warm-up)")
    kind = best_device()
    if kind == "cpu":
        print("gpu_throughput: no accelerator here (torch sees no CUDA or MPS device): nothing measured, nothing "
              f"written to {args.out}. Run it on a machine with a GPU; benchmarks/trainer_throughput.py measures the CPU.",
              file=sys.stderr)
        return 2
    device = torch.device(kind)
    precisions = [p for p in ("32", "bf16", "16-mixed") if p in available_precisions(device)]
    if args.worker:
        worker(args.worker, args.epochs, args.batch_size, precisions)
        return 0
    rows = [measure(k, p, args.epochs, args.batch_size) for k in KINDS for p in precisions]
    gpus = torch.cuda.device_count() if kind == "cuda" else 1
    if gpus >= 2:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "rows.json"
            done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                                   __file__, "--worker", str(out), "--epochs", str(args.epochs),
                                   "--batch-size", str(args.batch_size)], text=True)
            if done.returncode != 0 or not out.exists():
                print("gpu_throughput: the 2-process run failed; its rows are missing.", file=sys.stderr)
            else:
                rows += json.loads(out.read_text())
    name = torch.cuda.get_device_name(0) if kind == "cuda" else "Apple MPS"
    text = (f"# Training throughput on an accelerator\n\nCommand: `.venv/bin/python benchmarks/gpu_throughput.py "
            f"--epochs {args.epochs} --batch-size {args.batch_size}`\n\nDate: {dt.date.today().isoformat()}. Device: "
            f"{name} ({gpus} visible), torch {torch.__version__}. Default models of `aekit train` on MNIST-5k "
            f"(training split); rate = training rows / median epoch time, first epoch left out; train.batch_size "
            f"is per process.\n\n{table(rows)}\n")
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
