"""Build time of the HTML report of a default MNIST-5k run (target: under 30 s on the 2-core machine).

The run is ``aekit train`` with every default (MLP 784-256-32, cross-entropy, 10 epochs, seed 0;
trained here unless ``--run`` names a run folder). The report is built ``--repeats`` times in this
process; the first build pays for imports (scikit-learn, openTSNE), as ``aekit train`` does, so it is
reported apart from the median of the rest. Each step's share is listed for the last build. Run:

    .venv/bin/python benchmarks/report_time.py [--repeats 3] [--run RUN] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _result import write_result  # noqa: E402  (how a benchmark states its result)

TARGET_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", help="run folder to report on (default: train a default MNIST-5k run)")
    parser.add_argument("--quick", action="store_true", help="tiny version: a 1-epoch run on 400 rows, 1 build")
    parser.add_argument("--out", help="write the Markdown result here (e.g. benchmarks/results/report_time.md)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from aekit.report import build_report
    from aekit.training.run import train
    from aekit.training.run_config import make_config

    run = args.run
    if run is None:
        out = tempfile.mkdtemp(prefix="aekit-report-")
        overrides = [f"out={out}", "name=default"] + (["data.limit=400", "train.epochs=1"] if args.quick else [])
        run = str(train(make_config(overrides=overrides)).run_dir)
    repeats = 1 if args.quick else args.repeats
    seconds, report = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        report = build_report(run)
        seconds.append(time.perf_counter() - start)
    rest = seconds[1:] or seconds
    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with 1 thread, "
             f"report n_jobs=1 (BLAS/OpenMP/openTSNE threads)",
             f"run: {run} ({'given' if args.run else 'default MNIST-5k run trained here'}"
             f"{' (--quick)' if args.quick else ''})",
             f"figures: {', '.join(report.figures)}",
             f"first build (imports included): {seconds[0]:.1f} s",
             f"median of the next {len(rest)} build(s): {statistics.median(rest):.1f} s  (runs: "
             f"{', '.join(f'{s:.1f}' for s in rest)})",
             f"target: < {TARGET_SECONDS:.0f} s -> {'met' if max(seconds) < TARGET_SECONDS else 'NOT met'} "
             f"(slowest build {max(seconds):.1f} s)",
             "steps of the last build:"]
    lines += [f"  {name:<22} {value:6.2f} s" for name, value in report.timings.items()]
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_result(
            args.out, "Build time of a run's HTML report", __file__, argv,
            "Machine: the 2-core development VM, shared with other processes.\n\n"
            f"```text\n{text}\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
