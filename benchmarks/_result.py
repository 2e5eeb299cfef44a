"""How a benchmark states its result: the command that reproduces it, and the Markdown file it writes."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def command_of(script: str, argv: list[str] | None) -> str:
    """The command line that ran ``script`` (its ``__file__``) with ``argv`` (``None``: this process's own)."""
    return f".venv/bin/python benchmarks/{Path(script).name} " + " ".join(sys.argv[1:] if argv is None else argv)


def cpu_name() -> str:
    """The processor's model name (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_of(torch_version: str, load_before: float) -> str:
    """The machine a benchmark ran on, with the load average before it started and now."""
    return (f"{cpu_name()}, {os.cpu_count()} CPUs, torch {torch_version}, load average {load_before:.1f} before "
            f"and {os.getloadavg()[0]:.1f} after (1-minute averages: the benchmark's own processes raise the "
            f"second; any other load competes for the cores)")


def write_result(out: str | Path, title: str, script: str, argv: list[str] | None, body: str) -> None:
    """Write ``# title``, the command and ``body`` (Markdown) to ``out``."""
    Path(out).write_text(f"# {title}\n\nCommand: `{command_of(script, argv)}`\n\n{body}")
