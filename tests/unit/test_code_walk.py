"""benchmarks/code_walk.py: its counts follow the definitions in its docstring, and it traces a real
``aekit train`` to the written run folder."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("code_walk", ROOT / "benchmarks" / "code_walk.py")
code_walk = sys.modules["code_walk"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(code_walk)
Step = code_walk.Step


def test_stops_climbs_returns_and_revisits_follow_their_definitions():
    walk = [Step("cli.py", "main", None),                  # stop (the first)
            Step("run.py", "train", "cli.py"),             # stop
            Step("run.py", "prepare", "run.py"),           # read along: no stop
            Step("data.py", "load", "run.py"),             # stop
            Step("run.py", "hook", "data.py", climb=True),  # stop, climb back (run.py is on the stack), revisit
            Step("model.py", "build", "run.py"),           # stop (the walk is in run.py: no return)
            Step("data.py", "more", "run.py")]             # stop, return (from model.py back up to run.py), revisit
    m = code_walk.measure(walk)
    assert (m["functions"], m["stops"], m["climbs"], m["files"]) == (7, 6, 1, 4)
    assert m["returns"] == 1 and m["returns_into"] == {"run.py": 1}
    assert m["revisits"] == 2  # hook (run.py again) and more (data.py again)


def test_the_walk_of_a_tiny_train_run(tmp_path):
    out = tmp_path / "walk.md"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "code_walk.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "",
                                                                          "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text()
    assert "cli/__init__.py:main  [stop]" in text and "training/trainer.py:Trainer.fit" in text
    assert "models/serialization.py:save_model" in text  # the weights written: the walk reaches the run folder
    assert "| stops (functions entered from another file) |" in text
