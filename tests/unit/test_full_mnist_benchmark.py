"""benchmarks/full_mnist_throughput.py runs end to end (MNIST-5k's first 256 images, two steps, the conv
preset at one thread) and writes its results table; the real run uses full MNIST."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_writes_its_table(tmp_path):
    out = tmp_path / "result.md"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "full_mnist_throughput.py"), "--data", "mnist5k",
                           "--samples", "256", "--steps", "2", "--threads", "1", "--models", "deep", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text()
    assert text.startswith("# Training throughput at full scale") and "--models deep --out" in text
    row = next(line for line in text.splitlines() if line.startswith("| conv"))
    assert row.count("|") == 11 and "% / " in row and row.endswith(" GB |")
    assert "load average" in text
