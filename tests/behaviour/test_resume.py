"""A run killed with SIGKILL mid-way and resumed ends with bitwise the same weights as one that was
never interrupted (same seed, CPU, one thread)."""

import os
import signal
import subprocess
import sys
import time

from safetensors.numpy import load_file

ARGS = ["--data", "digits", "--quiet", "--set", "train.epochs=12", "--set", "model.hidden=[256, 128]",
        "--set", "train.batch_size=16", "--set", "model.code_size=8", "--set", "train.schedule=cosine"]


def _default_sigint():
    """The child takes Ctrl-C as a terminal would deliver it, even when pytest itself was started in the
    background by a shell (``cmd &`` sets SIGINT to ignored, which every child inherits)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def aekit(*argv, **kwargs):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "aekit.cli", *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint, **kwargs)


def epochs_done(run_dir):
    path = run_dir / "metrics.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path):
    reference = aekit("train", *ARGS, "--out", str(tmp_path), "--name", "whole")
    assert reference.wait(timeout=300) == 0, reference.stderr.read()

    victim_dir = tmp_path / "killed"
    victim = aekit("train", *ARGS, "--out", str(tmp_path), "--name", "killed")
    deadline = time.time() + 300
    while epochs_done(victim_dir) < 3 and time.time() < deadline and victim.poll() is None:
        time.sleep(0.02)
    time.sleep(0.05)  # land somewhere inside the next epoch
    assert victim.poll() is None, "training finished before it could be killed; make it longer"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    done = epochs_done(victim_dir)
    assert 3 <= done < 12
    assert not (victim_dir / "summary.json").exists()

    resumed = aekit("train", "--resume", str(victim_dir))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert epochs_done(victim_dir) == 12
    whole, killed = load_file(tmp_path / "whole" / "model.safetensors"), load_file(victim_dir / "model.safetensors")
    assert whole.keys() == killed.keys()
    for name in whole:
        assert (whole[name] == killed[name]).all(), name
    assert (tmp_path / "whole" / "metrics.jsonl").read_text().count("\n") == 12


def test_ctrl_c_saves_and_says_how_to_resume(tmp_path):
    run_dir = tmp_path / "int"
    proc = aekit("train", *ARGS, "--out", str(tmp_path), "--name", "int")
    deadline = time.time() + 300
    while epochs_done(run_dir) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "training finished before it could be interrupted; make it longer"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"Resume with: aekit train --resume {run_dir}" in err
    assert "Traceback" not in err
    assert (run_dir / "model.safetensors").exists() and (run_dir / "checkpoint.pt").exists()
    resumed = aekit("train", "--resume", str(run_dir))
    assert resumed.wait(timeout=300) == 0
    assert epochs_done(run_dir) == 12
