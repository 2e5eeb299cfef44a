"""A claim interrupted at full scale (an hour of work) redoes only the piece it was in: a run already in
the tour's folder with the same settings is resumed (at once, when it had finished), and pretraining's
fits of one seed and budget are remembered; other settings mean new work. The time reused is counted."""

import json

import pytest
import torch

from aekit.tour.bench import train_config
from aekit.tour.claim import Setting
from aekit.tour.label_budget import Fitted, digest_of, remembered

TINY = ["model.hidden=[8]", "model.code_size=2", "train.epochs=2", "train.batch_size=64"]


def _weights(result) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in result.model.state_dict().items()}


def test_a_finished_run_is_reused_and_a_changed_one_trained_again(tmp_path, monkeypatch):
    setting = Setting(quick=True, seeds=(0,), workdir=tmp_path, log=lambda _: None)
    first = _weights(train_config(setting, "r", TINY, seed=0))
    assert setting.earlier_seconds == 0.0

    import aekit.training.run as run

    calls = []
    real_train = run.train
    monkeypatch.setattr(run, "train", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    again = train_config(setting, "r", TINY, seed=0)
    assert not calls  # resumed, not trained
    assert all(torch.equal(first[k], v) for k, v in _weights(again).items())
    assert setting.earlier_seconds > 0

    changed = train_config(setting, "r", [*TINY, "train.lr=0.01"], seed=0)
    assert calls == [1]  # other settings: trained from scratch
    assert not all(torch.equal(first[k], v) for k, v in _weights(changed).items())


def test_a_run_interrupted_after_its_first_epoch_goes_on_from_its_checkpoint(tmp_path, monkeypatch):
    import aekit.training.run as run

    setting = Setting(quick=True, seeds=(0,), workdir=tmp_path, log=lambda _: None)
    real_train = run.train

    def stop_after_one(record):
        raise KeyboardInterrupt  # what Ctrl-C or a kill does between epochs: the checkpoint of epoch 1 stays

    monkeypatch.setattr(run, "train", lambda config: real_train(config, on_epoch=stop_after_one))
    cut = train_config(setting, "r", TINY, seed=0)
    assert cut.interrupted and len(cut.history) == 1
    monkeypatch.setattr(run, "train", real_train)
    resumed = train_config(setting, "r", TINY, seed=0)
    assert [r["epoch"] for r in resumed.history] == [1, 2] and not resumed.interrupted
    assert setting.earlier_seconds > 0  # the first epoch's time, spent in the attempt that was cut


def test_pretraining_fits_are_remembered_for_the_same_key_only(tmp_path):
    setting = Setting(quick=True, seeds=(0,), workdir=tmp_path, log=lambda _: None)
    calls = []

    def fit_all():
        calls.append(1)
        return {"raw": Fitted("C=1", 0.5, 0.25, {"C=1": 0.5})}

    first = remembered(setting, "seed0-n50", ["plan", 0, 50, "w"], fit_all)
    again = remembered(setting, "seed0-n50", ["plan", 0, 50, "w"], fit_all)
    assert calls == [1] and again == first and setting.earlier_seconds >= 0
    remembered(setting, "seed0-n50", ["plan", 0, 50, "other weights"], fit_all)
    assert calls == [1, 1]
    path = tmp_path / "pretraining" / "seed0-n50.json"
    path.write_text(json.dumps({"key": "x", "fitted": "not a mapping"}))  # not ours: fitted again
    remembered(setting, "seed0-n50", ["plan", 0, 50, "w"], fit_all)
    assert calls == [1, 1, 1]


def test_the_weights_digest_sees_any_change():
    model = torch.nn.Linear(3, 2)
    before = digest_of(model)
    with torch.no_grad():
        model.weight[0, 0] += 1e-6
    assert digest_of(model) != before and len(before) == 64


@pytest.mark.parametrize("garbage", ["{", "[]", json.dumps({"key": None})])
def test_a_damaged_memo_is_fitted_again(tmp_path, garbage):
    setting = Setting(quick=True, seeds=(0,), workdir=tmp_path, log=lambda _: None)
    (tmp_path / "pretraining").mkdir()
    (tmp_path / "pretraining" / "a.json").write_text(garbage)
    calls = []
    remembered(setting, "a", [1], lambda: calls.append(1) or {})
    assert calls == [1]


def test_a_run_another_process_is_training_is_waited_for_then_resumed(tmp_path):
    """Two parts of a tour (or a run trained ahead in parallel) share the work folder: the second waits for
    the lock, then resumes the finished run instead of failing on the lock."""
    import subprocess
    import sys
    import time

    setting = Setting(quick=True, seeds=(0,), workdir=tmp_path, log=lambda _: None)
    first = _weights(train_config(setting, "r", TINY, seed=0))
    lock = tmp_path / "runs" / "r" / ".aekit.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'r+'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(1.5)"), str(lock)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    start = time.perf_counter()
    from aekit.tour import bench

    bench._wait_for_writer(tmp_path / "runs" / "r", setting, every=0.1)
    assert time.perf_counter() - start > 0.5  # it waited for the holder
    holder.wait()
    again = train_config(setting, "r", TINY, seed=0)
    assert all(torch.equal(first[k], v) for k, v in _weights(again).items())
