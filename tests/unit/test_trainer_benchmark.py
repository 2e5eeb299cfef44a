"""benchmarks/trainer_throughput.py runs end to end (one repeat of each comparison) and writes the
README's performance block from its own numbers."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_writes_its_readme_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- performance:begin -->\nold\n<!-- performance:end -->\nafter\n")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "trainer_throughput.py"), "--repeats", "2",
                           "--epochs", "1", "--epoch-rounds", "2", "--step-rounds", "2", "--samples", "1536", "--readme", str(readme)],
                          capture_output=True, text=True, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "control, the expert's twin / expert per step" in done.stdout
    block = readme.read_text()
    assert block.startswith("before\n<!-- performance:begin -->\n| loop |") and block.endswith("<!-- performance:end -->\nafter\n")
    assert "| textbook |" in block and "identical twin of the expert loop" in block
    assert "--repeats 2 --epochs 1 --epoch-rounds 2 --step-rounds 2 --samples 1536 --readme" in block
