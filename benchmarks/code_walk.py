"""The walk of ``aekit train`` from its arguments to the written run folder: how far a reader goes (issue 24).

A reader who follows one ``aekit train`` through the code starts at ``aekit.cli.main`` and opens each aekit
function the first time the run enters it. This script traces that path in a fresh process (``sys.setprofile``,
aekit's own frames only: named functions in ``src/aekit``; module bodies, lambdas and comprehensions belong to
the function that holds them) for a tiny run (bundled digits, 64 training rows, one epoch, no report) and counts:

- the **walk**: each aekit function, once, in the order the run first enters it, with the aekit frame it was
  entered from (its nearest aekit caller);
- **stops**: the functions of the walk entered from another file (``main`` counts as the first): each one is a
  file the reader has to open at that function; a function entered from its own file is read along, not a stop;
- **climbs back**: the functions of the walk whose file is already on the call stack, in an outer aekit frame
  left for another file (the run went from file A into B and B calls back into A: a callback, a hook, a base
  class reached again): the reader, deep in B, has to climb back into A;
- **returns**: the functions of the walk entered from a file other than the one the reader is in (the file of the
  function before it in the walk): to go on, the reader returns up into a file left earlier. A call tree that
  fans out (an orchestrator calling five modules in turn) returns once per branch; reported, not a target;
- **revisits**: the functions of the walk in a file other than the previous one's and visited before;
- **files**: the distinct files of the walk.

Target (issue 24): at most 60 stops and 10 climbs back. Run (writes benchmarks/results/code_walk.md):

    PYTHONPATH=src .venv/bin/python benchmarks/code_walk.py [--out benchmarks/results/code_walk.md]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_STOPS, TARGET_CLIMBS = 60, 10
ARGUMENTS = ["train", "--data", "digits", "--set", "data.limit=64", "--set", "train.epochs=1", "--no-report"]


@dataclass(frozen=True)
class Step:
    file: str  # relative to src/aekit
    function: str  # qualified name
    caller: str | None  # the file of its nearest aekit caller (None for main)
    climb: bool = False  # its file is on the stack above the caller's, left for another file


def trace_train(out: Path) -> list[Step]:
    """The walk of one ``aekit train`` into ``out``: each aekit function once, in first-entry order."""
    import aekit
    from aekit.cli import main

    package = str(Path(aekit.__file__).resolve().parent) + "/"
    seen: set[tuple[str, int, str]] = set()
    walk: list[Step] = []

    def own(code) -> bool:
        return code.co_filename.startswith(package)

    def profile(frame, event, arg) -> None:
        if event != "call":
            return
        code = frame.f_code
        if not own(code) or code.co_name.startswith("<"):
            return
        key = (code.co_filename, code.co_firstlineno, code.co_qualname)
        if key in seen:
            return
        caller = frame.f_back
        while caller is not None and not own(caller.f_code):
            caller = caller.f_back
        outer, above = [], caller
        while above is not None:  # a call made while a module is imported (a decorator, a field) is no step
            if own(above.f_code):
                if above.f_code.co_name == "<module>":
                    return
                outer.append(above.f_code.co_filename)
            above = above.f_back
        seen.add(key)
        climb = bool(outer) and code.co_filename != outer[0] and code.co_filename in outer[1:]
        walk.append(Step(code.co_filename[len(package):], code.co_qualname,
                         None if caller is None else caller.f_code.co_filename[len(package):], climb))

    import torch

    torch.set_num_threads(1)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        sys.setprofile(profile)
        try:
            code = main([*ARGUMENTS, "--out", str(out), "--name", "walk"])
        finally:
            sys.setprofile(None)
    if code != 0 or not (out / "walk" / "summary.json").is_file():
        raise SystemExit(f"aekit train exited {code} without a finished run folder in {out / 'walk'}")
    return walk


def measure(walk: list[Step]) -> dict:
    """Stops, climbs back, returns, revisits and files of a walk, and which files the climbs go back into."""
    stops = [s for s in walk if s.caller != s.file]
    climbs = [s for s in walk if s.climb]
    returns, revisits, visited = [], [], set()
    for before, step in zip([None, *walk], walk):
        if before is not None and step.caller is not None and step.caller != before.file:
            returns.append(step)
        if before is not None and step.file != before.file and step.file in visited:
            revisits.append(step)
        visited.add(step.file)
    return {"functions": len(walk), "stops": len(stops), "climbs": len(climbs), "returns": len(returns),
            "revisits": len(revisits), "files": len(visited), "climbs_into": collections.Counter(s.file for s in climbs),
            "returns_into": collections.Counter(s.caller for s in returns),
            "stops_into": collections.Counter(s.file for s in stops), "return_steps": returns}


def render(walk: list[Step], m: dict) -> str:
    met = m["stops"] <= TARGET_STOPS and m["climbs"] <= TARGET_CLIMBS
    lines = [
        "# The walk of `aekit train` (issue 24)",
        "",
        "Written by `benchmarks/code_walk.py` (its docstring defines each count). Command:",
        "",
        "    PYTHONPATH=src .venv/bin/python benchmarks/code_walk.py",
        "",
        f"which traces, in a fresh process, `aekit {' '.join(ARGUMENTS)} --out TMP --name walk`"
        f" (Python {platform.python_version()}).",
        "",
        "| | measured | target |",
        "|---|---:|---:|",
        f"| stops (functions entered from another file) | {m['stops']} | at most {TARGET_STOPS} |",
        f"| climbs back (entering a file already on the stack, left for another) | {m['climbs']} | at most "
        f"{TARGET_CLIMBS} |",
        f"| returns (going on from a file left earlier) | {m['returns']} | |",
        f"| revisits (entering a file seen before) | {m['revisits']} | |",
        f"| files | {m['files']} | |",
        f"| functions of the walk | {m['functions']} | |",
        "",
        f"Target {'met' if met else 'not met'}: stops {'met' if m['stops'] <= TARGET_STOPS else 'not met'}, climbs back "
        f"{'met' if m['climbs'] <= TARGET_CLIMBS else 'not met'}. The issue's first count (116 stops, 30 climbs back) "
        "was taken by another method, not recorded; these definitions are the script's, so compare runs of it.",
        "",
        "## Where the walk goes",
        "",
        "Per file: the stops into it, the climbs back into it, and the returns into it (the walk going on there):",
        "",
        "| file | stops | climbs back | returns |",
        "|---|---:|---:|---:|",
    ]
    files = sorted(set(m["stops_into"]) | set(m["returns_into"]),
                   key=lambda f: (-m["stops_into"][f] - m["climbs_into"][f] - m["returns_into"][f], f))
    lines += [f"| {f} | {m['stops_into'][f]} | {m['climbs_into'][f]} | {m['returns_into'][f]} |" for f in files]
    lines += ["", "## The walk", "", "Each function once, in first-entry order, with the file it was entered from; "
              "**stop**: from another file, **climb**: back into a file on the stack, **return**: the walk goes on "
              "from a file left earlier.", "", "```"]
    returns = {id(s) for s in m["return_steps"]}
    for step in walk:
        marks = [m for m, on in (("stop", step.caller != step.file), ("climb", step.climb),
                                 ("return", id(step) in returns)) if on]
        origin = f"  <- {step.caller}" if step.caller not in (None, step.file) else ""
        lines.append(f"{step.file}:{step.function}{origin}{'  [' + ', '.join(marks) + ']' if marks else ''}")
    lines += ["```", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "code_walk.md")
    parser.add_argument("--print", action="store_true", help="print the numbers only, write nothing")
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)  # the fresh process's side
    args = parser.parse_args()
    if args.traced:  # in the fresh process: the walk as lines 'file<TAB>function<TAB>caller'
        with tempfile.TemporaryDirectory() as tmp:
            for step in trace_train(Path(tmp)):
                print(f"{step.file}\t{step.function}\t{step.caller or ''}\t{int(step.climb)}")
        return 0
    # a fresh interpreter, so that every import and first call of the run is part of the walk
    done = subprocess.run([sys.executable, __file__, "--traced"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr or done.stdout)
    walk = [Step(f, fn, c or None, climb == "1")
            for f, fn, c, climb in (line.split("\t") for line in done.stdout.splitlines() if line)]
    m = measure(walk)
    print(f"stops {m['stops']} (target {TARGET_STOPS}), climbs back {m['climbs']} (target {TARGET_CLIMBS}), "
          f"returns {m['returns']}, revisits {m['revisits']}, files {m['files']}, functions {m['functions']}")
    if not args.print:
        args.out.write_text(render(walk, m))
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
