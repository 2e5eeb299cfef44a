"""What the experiment scripts share: the command line (--quick, --threads, --out) and the result file.

Each script defines ``run(setup, log) -> results`` and ``report(results, setup, seconds, command) -> str``
(Markdown); :func:`script_main` times the run, prints the report and writes it to the script's
results file (not for ``--quick``, unless ``--out`` is given) with the command that made it. A
hand-written ``## Reading`` section at the end of the previous file is kept, under a line that says
the tables above it were regenerated.

A script that also defines ``readme(results, setup, seconds, command) -> str`` takes ``--readme
README.md``: that text goes between the README's ``<!-- <script name>:begin -->`` and ``:end -->``
markers, so the numbers the README quotes from the script are written by the run that measured them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def script_main(script: str, doc: str, argv: list[str] | None, *, run: Callable, report: Callable, full: Any,
                quick: Any, results: Path, readme: Callable | None = None,
                parts: dict[str, tuple[Any, Path]] | None = None) -> Any:
    """``parts``: named parts of the experiment, ``--part NAME`` runs one (its setup) into its own results file;
    a part writes no README block (the block is the whole experiment's)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny version (seconds); prints, writes only with --out")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help=f"Markdown result (default {results}, not for --quick)")
    key = Path(script).stem
    if readme is not None:
        parser.add_argument("--readme", type=Path, default=None,
                            help=f"also write the README's <!-- {key}:begin/end --> block from this run")
    if parts:
        parser.add_argument("--part", choices=sorted(parts), default=None,
                            help="run one part of the experiment, into its own results file")
    argv = argv if argv is not None else sys.argv[1:]
    args = parser.parse_args(argv)
    part = getattr(args, "part", None)
    if part is not None and getattr(args, "readme", None) is not None:
        parser.error("--part writes no README block: the block is the whole experiment's")
    torch.set_num_threads(args.threads)
    setup = quick if args.quick else (parts[part][0] if part else full)
    results = parts[part][1] if part else results
    start = time.perf_counter()
    outcome = run(setup, log=lambda msg: print(msg, file=sys.stderr))
    seconds = time.perf_counter() - start
    command = " ".join([".venv/bin/python", f"experiments/{Path(script).name}", *argv])
    text = report(outcome, setup, seconds, command)
    print(text)
    out = args.out or (None if args.quick else results)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        reading = hand_written_reading(out.read_text()) if out.exists() else ""
        out.write_text(text + "\n" + reading)
    if readme is not None and args.readme is not None:
        from aekit.io import write_readme_block

        write_readme_block(args.readme, key, readme(outcome, setup, seconds, command))
    return outcome


READING = "## Reading"
KEPT = "_Kept from the previous version of this file when the tables above were regenerated: check the numbers it quotes._"


def hand_written_reading(previous: str) -> str:
    """The ``## Reading`` section that ends a previous result file (from its heading to the end),
    with the line that marks it as kept; empty when there is none."""
    start = previous.find("\n" + READING)
    if start < 0:
        return ""
    heading, _, body = previous[start + 1 :].partition("\n")
    body = body.lstrip("\n")
    if not body.startswith(KEPT):
        body = KEPT + "\n\n" + body
    return "\n" + heading + "\n\n" + body
