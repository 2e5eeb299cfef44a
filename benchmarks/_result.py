"""How a benchmark states its result: the command that reproduces it, and the Markdown file it writes."""

from __future__ import annotations

import sys
from pathlib import Path


def command_of(script: str, argv: list[str] | None) -> str:
    """The command line that ran ``script`` (its ``__file__``) with ``argv`` (``None``: this process's own)."""
    return f".venv/bin/python benchmarks/{Path(script).name} " + " ".join(sys.argv[1:] if argv is None else argv)


def write_result(out: str | Path, title: str, script: str, argv: list[str] | None, body: str) -> None:
    """Write ``# title``, the command and ``body`` (Markdown) to ``out``."""
    Path(out).write_text(f"# {title}\n\nCommand: `{command_of(script, argv)}`\n\n{body}")
