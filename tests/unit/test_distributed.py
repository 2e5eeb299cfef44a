"""Training on several processes with PyTorch's own engine (torchrun, gloo on 127.0.0.1, CPU).

- two processes with batch B per process end an epoch with the weights one process gets with batch
  2 B on the same permutation (float tolerance), for the plain loss and for penalties that are means
  over the batch: the contractive penalty on both its paths (forward hooks, torch.func), L1; and for
  a memory-mapped .npy streamed through a DataLoader, each process reading only its shard;
- a variational model and a KL-sparsity one (a batch statistic) train with the processes in step;
- ``torchrun -m aekit train`` killed with SIGKILL and resumed ends bitwise where an uninterrupted
  distributed run ends; resumed with another number of processes it says what that changes;
- two ``torchrun --nnodes=2 --node_rank=0/1`` launchers on one machine rendezvous over loopback (and
  pretrain layer-wise before training end to end);
- ``torchrun -m aekit finetune`` with batch B per process ends with the classifier one process gets
  with batch 2 B.

Each launch costs a few seconds of interpreter start-up; the models and data are tiny.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from aekit.training import distributed

sys.path.insert(0, str(Path(__file__).parent))
from _ddp_worker import B, train  # noqa: E402

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def _run(args, *, cwd=None, timeout=300):
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def worker_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    done = _run([*TORCHRUN, "--standalone", "--nproc_per_node=2", str(HERE / "_ddp_worker.py"), str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("name", ["plain", "contractive_layerwise", "contractive_generic", "l1", "streamed"])
def test_two_processes_with_batch_b_match_one_process_with_batch_2b(worker_out, name):
    out, results = worker_out
    result = results[name]
    assert result["world_size"] == 2 and result["global_batch"] == 2 * B
    single, history = train(name, 2 * B)
    assert single.dist.world_size == 1
    weights = load_file(out / f"{name}.safetensors")
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(weights[key], value, rtol=1e-5, atol=1e-6, msg=key)
    # the logged losses are summed over processes: the same numbers one process logs
    for split in ("train", "val"):
        for term, value in history[0][split].items():
            assert result["history"][0][split][term] == pytest.approx(value, rel=1e-5), (split, term)
    if name.startswith("contractive"):
        assert result["path"] == name.split("_")[1].replace("layerwise", "layer-wise")


@pytest.mark.parametrize("name", ["variational", "kl_sparsity"])
def test_sampling_and_batch_statistics_train_with_processes_in_step(worker_out, name):
    _, results = worker_out
    result = results[name]
    assert result["rank_sums"][0] == result["rank_sums"][1]  # DDP keeps every process's weights equal
    losses = [record["train"]["loss"] for record in result["history"]]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    if name == "variational":
        assert "kl" in result["history"][0]["train"]


# -- the command line under torchrun: kill, resume ------------------------------------------------
KILL_PLUGIN = '''\
"""Rank 0 kills itself (SIGKILL) as epoch `epoch` (0-based) starts, once: the marker file remembers."""
import os
import signal
from dataclasses import dataclass

from aekit.config import param, validate
from aekit.params import Interval
from aekit.registry import register


@register("objective", "sigkill")
@dataclass
class SigKill:
    epoch: int = param(2, Interval(int, 0, None), "the epoch at whose start rank 0 dies")

    def __post_init__(self):
        validate(self, prefix="penalties.sigkill.")

    def start_epoch(self, epoch, epochs):
        if epoch == self.epoch and os.environ.get("RANK") == "0" and not os.path.exists("killed"):
            open("killed", "w").close()
            os.kill(os.getpid(), signal.SIGKILL)

    def __call__(self, batch, out, model):
        return {}
'''

TRAIN = ["--data", "digits", "--quiet", "--no-report", "--set", "data.limit=300", "--set", "model.hidden=[16]",
         "--set", "model.code_size=4", "--set", "train.epochs=4", "--set", "train.batch_size=16",
         "--set", "train.device=cpu", "--set", "corruption={masking: 0.2}", "--set", "model.variational=true",
         "--plugin", "sigkill.py", "--set", "penalties={sigkill: {epoch: 2}}"]


def _aekit_torchrun(cwd, *argv, nproc=2, wait=True):
    args = [*TORCHRUN, "--standalone", f"--nproc_per_node={nproc}", "-m", "aekit", *argv]
    if wait:
        return _run(args, cwd=cwd)
    return subprocess.Popen(args, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    work, reference = tmp_path_factory.mktemp("cli"), tmp_path_factory.mktemp("reference")
    for folder in (work, reference):
        (folder / "sigkill.py").write_text(KILL_PLUGIN)
    (reference / "killed").touch()  # the reference run is not killed
    # the uninterrupted reference and the victim at once (each its own rendezvous port)
    launches = [_aekit_torchrun(folder, "train", *TRAIN, "--out", str(work / "runs"), "--name", name, wait=False)
                for folder, name in ((reference, "whole"), (work, "killed"))]
    (whole_out, whole_err), _ = [launch.communicate(timeout=300) for launch in launches]
    whole = subprocess.CompletedProcess(launches[0].args, launches[0].returncode, whole_out, whole_err)
    assert whole.returncode == 0, whole.stderr[-3000:]
    assert launches[1].returncode != 0 and (work / "killed").exists()
    lines = (work / "runs" / "killed" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and not (work / "runs" / "killed" / "summary.json").exists()
    resumed = _aekit_torchrun(work, "train", "--resume", "runs/killed", "--quiet", "--no-report", "--plugin", "sigkill.py")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return work / "runs", whole, resumed


def test_torchrun_cli_killed_and_resumed_ends_bitwise_like_an_uninterrupted_run(killed_and_resumed):
    runs, whole, resumed = killed_and_resumed
    reference, killed = load_file(runs / "whole" / "model.safetensors"), load_file(runs / "killed" / "model.safetensors")
    assert reference.keys() == killed.keys()
    for key in reference:
        assert torch.equal(reference[key], killed[key]), key
    assert (runs / "whole" / "metrics.jsonl").read_text() .count("\n") == 4
    a = [json.loads(line) for line in (runs / "whole" / "metrics.jsonl").read_text().splitlines()]
    b = [json.loads(line) for line in (runs / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["train/loss"] for r in a] == [r["train/loss"] for r in b]
    # the global batch is stated in config.yaml and in the log; rank 0 alone prints the run folder
    recorded = yaml.safe_load((runs / "whole" / "config.yaml").read_text())["distributed"]
    assert recorded == {"processes": 2, "batch_size_per_process": 16, "global_batch_size": 32, "backend": "gloo"}
    assert "2 processes x train.batch_size 16 = global batch 32" in whole.stderr
    assert whole.stdout.count(str(Path("runs") / "whole")) == 1
    assert json.loads((runs / "whole" / "summary.json").read_text())["processes"] == 2


def test_resume_with_another_number_of_processes_says_what_changes(killed_and_resumed, monkeypatch, caplog, request):
    from aekit.registry import load_plugins, unregister
    from aekit.training.run import resume

    runs, _, _ = killed_and_resumed
    monkeypatch.chdir(runs.parent)  # the plugin module lives there
    load_plugins(["sigkill.py"])  # the run's config.yaml names it; the user imports it
    request.addfinalizer(lambda: (unregister("objective", "sigkill"), sys.modules.pop("sigkill", None)))
    with caplog.at_level(logging.WARNING):
        result = resume(runs / "whole", epochs=5)
    assert len(result.history) == 5
    assert "written by 2 processes (global batch 32); this run has 1 (global batch 16" in caplog.text
    assert "distributed" not in yaml.safe_load((runs / "whole" / "config.yaml").read_text())


def test_two_torchrun_launchers_as_two_machines_rendezvous_over_loopback(tmp_path):
    (tmp_path / "sigkill.py").write_text(KILL_PLUGIN)
    (tmp_path / "killed").touch()
    port = _free_port()
    launchers = [
        subprocess.Popen([*TORCHRUN, "--nnodes=2", f"--node_rank={rank}", "--nproc_per_node=1",
                          "--master_addr=127.0.0.1", f"--master_port={port}", "-m", "aekit", "train", *TRAIN,
                          "--set", "train.epochs=2", "--set", "model.variational=false", "--set", "model.hidden=[16, 8]",
                          "--set", "layerwise.enabled=true", "--set", "layerwise.epochs=1", "--out", "runs", "--name", "two"],
                         cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for rank in (0, 1)
    ]
    outputs = [launcher.communicate(timeout=300) for launcher in launchers]
    for launcher, (_, err) in zip(launchers, outputs):
        assert launcher.returncode == 0, err[-3000:]
    run_dir = tmp_path / "runs" / "two"
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["distributed"]["processes"] == 2
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2
    assert (run_dir / "model.safetensors").exists()
    # layer-wise pretraining ran on both "machines", its stages written once
    assert sorted(p.name for p in (run_dir / "layerwise").iterdir()) == ["stage_1.jsonl", "stage_2.jsonl", "stage_3.jsonl"]


def test_finetuning_under_two_processes_matches_one_process_with_twice_the_batch(tmp_path):
    from aekit.cli import main

    assert main(["train", "--data", "digits", "--quiet", "--no-report", "--set", "data.limit=300", "--set",
                 "model.hidden=[16]", "--set", "model.code_size=4", "--set", "train.epochs=2", "--out",
                 str(tmp_path / "runs"), "--name", "ae"]) == 0
    tune = ["finetune", "runs/ae", "--labels", "50", "--freeze-epochs", "1", "--quiet", "--set", "epochs=2",
            "--set", "corruption={}"]
    done = _aekit_torchrun(tmp_path, *tune, "--set", "batch_size=8", "--out", "two")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "global batch 16" in done.stdout + done.stderr
    assert main([*tune[:1], str(tmp_path / "runs" / "ae"), *tune[2:], "--set", "batch_size=16", "--out",
                 str(tmp_path / "one")]) == 0
    two, one = load_file(tmp_path / "two" / "classifier.safetensors"), load_file(tmp_path / "one" / "classifier.safetensors")
    assert two.keys() == one.keys()
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-5, atol=1e-6, msg=key)
    summaries = [json.loads((tmp_path / name / "summary.json").read_text()) for name in ("two", "one")]
    assert summaries[0]["accuracy"] == summaries[1]["accuracy"] and summaries[0]["labels"] == 50


def test_one_process_is_not_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    group = distributed.setup()
    assert not group.enabled and group.is_main
    order = torch.arange(5)
    assert group.shard(order) is order and group.eval_rows(5) is None


def test_shards_pad_like_the_distributed_sampler_and_cover_every_row():
    order = torch.randperm(7, generator=torch.Generator().manual_seed(0))
    shards = [distributed.Distributed(rank, 3).shard(order) for rank in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    padded = torch.stack(shards, 1).flatten()  # global step t holds padded[3 t : 3 t + 3]
    assert padded[:7].tolist() == order.tolist() and padded[7:].tolist() == order[:2].tolist()
    rows = [distributed.Distributed(rank, 3).eval_rows(7) for rank in range(3)]
    assert sorted(torch.cat(rows).tolist()) == list(range(7))
    assert distributed.rank_seed(0, 0) != distributed.rank_seed(0, 1) == distributed.rank_seed(0, 1)
