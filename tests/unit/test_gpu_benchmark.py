"""benchmarks/gpu_throughput.py: without an accelerator it says so and writes nothing; its measurement
and table work (run here on the CPU)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_throughput.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_throughput"] = module
    spec.loader.exec_module(module)
    return module


def test_without_an_accelerator_it_says_so_and_writes_nothing(tmp_path):
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        return  # on a GPU machine the script measures for real
    out = tmp_path / "gpu.md"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 2
    assert "no accelerator here" in done.stderr and "nothing written" in done.stderr
    assert not out.exists()


def test_a_measurement_and_its_table():
    module = _module()
    row = module.measure("mlp", "32", epochs=2, batch_size=512)
    assert row["processes"] == 1 and row["global_batch"] == 512 and row["samples_per_s"] > 0
    assert "| mlp | 32 | 1 | 512 |" in module.table([row])
