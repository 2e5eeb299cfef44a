"""What the benchmarks that measure each case in a fresh process share: one child job at a thread count."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def in_fresh_process(arguments: list[str], threads: int) -> dict:
    """Run ``python ARGUMENTS`` (a benchmark's own child job) with OpenMP and MKL at ``threads`` threads, and
    return the JSON object on its last line of output. A failing child ends the benchmark with its exit status,
    after printing the end of its stderr."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, *arguments], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(done.returncode)
    return json.loads(done.stdout.strip().splitlines()[-1])
