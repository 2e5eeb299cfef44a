"""benchmarks/ladder_throughput.py runs end to end (small widths, three steps, one thread) and writes its
table, whose minutes per fit are the fit's steps times the measured seconds per step."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_writes_its_table(tmp_path):
    out = tmp_path / "result.md"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ladder_throughput.py"), "--steps", "3",
                           "--threads", "1", "--hidden", "32", "16", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text()
    assert text.startswith("# Ladder network: time per fit") and "784-32-16-10" in text and "load average" in text
    assert ("Command: `.venv/bin/python benchmarks/ladder_throughput.py --steps 3 --threads 1 --hidden 32 16 --out "
            in text)  # the command that reproduces it, whatever folder it ran from
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith(("| full", "| gamma"))]
    assert [row[0].strip() for row in rows] == ["full", "gamma"]
    for row in rows:
        wall = float(row[2])
        assert float(row[4]) == pytest.approx(5_250 * wall / 60, abs=0.5)
        assert float(row[5]) == pytest.approx(75_000 * wall / 60, abs=0.5)
