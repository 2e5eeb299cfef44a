"""The run folder and the machine around it (issue 14): files get the user's mode, run names stay
inside --out, a valid run always gets a report, and every environment fault is one line of error."""

import errno
import os
import re
import stat

import numpy as np
import pytest

from aekit.cli import main

SMALL = ["--quiet", "--data", "digits", "--set", "model.hidden=[8]", "--set", "train.epochs=1",
         "--set", "data.limit=256"]


def assert_one_line_error(code, err, pattern):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("aekit ") and "error:" in lines[0], lines[0]
    assert "Traceback" not in err
    assert re.search(pattern, lines[0], flags=re.IGNORECASE), lines[0]


def train(capsys, out, name, *extra, report=False):
    argv = ["train", *SMALL, "--out", str(out), "--name", name, *extra]
    if not report:
        argv.append("--no-report")
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def umask():
    """Run the test under a chosen umask, restored afterwards."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def contents(folder):
    """The files of a run folder and their bytes (the lock file holds the PID of its last writer)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".aekit.lock"}


def modes(folder):
    return {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode)
            for p in folder.rglob("*") if p.is_file()}


# -- defect 3: files get the mode the umask gives a normal file -----------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_run_files_report_and_encode_output_get_the_umask_mode(mask, umask, tmp_path, capsys):
    umask(mask)
    code, _, err = train(capsys, tmp_path, "r", report=True)
    assert code == 0, err
    run = tmp_path / "r"
    assert main(["encode", str(run), "--out", str(tmp_path / "codes.npy")]) == 0
    written = modes(run)
    assert {"config.yaml", "model.safetensors", "checkpoint.pt", "report.html"} <= set(written)
    assert any(name.startswith("figures/") for name in written)
    written["codes.npy"] = stat.S_IMODE((tmp_path / "codes.npy").stat().st_mode)
    assert written == {name: 0o666 & ~mask for name in written}


def test_estimator_save_gets_the_umask_mode(umask, tmp_path):
    from aekit import Autoencoder

    umask(0o022)
    x = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    folder = Autoencoder(code_size=2, hidden=(4,), epochs=1).fit(x).save(tmp_path / "est")
    assert set(modes(folder).values()) == {0o644}


# -- defect 1: a run name stays inside --out, and no folder is written over -----------------------
@pytest.mark.parametrize("name", ["../../escaped_run", ".", "..", "a/b", ""])
def test_a_run_name_that_leaves_out_is_refused(name, tmp_path, capsys):
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    code, _, err = train(capsys, out, name)
    assert_one_line_error(code, err, r"'name' parameter \(--name\) must be one folder name inside 'out'")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_existing_folder_that_is_not_a_run_is_never_written_over(tmp_path, capsys):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "config.yaml").write_text("mine\n")
    (proj / "notes.txt").write_text("mine too\n")
    code, _, err = train(capsys, tmp_path, "proj")
    assert_one_line_error(code, err, r"proj.*already holds a run")
    (proj / "config.yaml").unlink()
    code, _, err = train(capsys, tmp_path, "proj")
    assert_one_line_error(code, err, r"proj.*already exists and holds files that are not an aekit run")
    assert sorted(p.name for p in proj.iterdir()) == ["notes.txt"]
    assert (proj / "notes.txt").read_text() == "mine too\n"


@pytest.mark.parametrize("name", ["empty", "123"])
def test_an_existing_empty_folder_takes_the_run(name, tmp_path, capsys):
    (tmp_path / name).mkdir()
    code, _, err = train(capsys, tmp_path, name)
    assert code == 0, err
    assert (tmp_path / name / "checkpoint.pt").exists()


# -- defect 7: a valid run always gets a report ---------------------------------------------------
def test_an_integer_corruption_level_gets_its_denoising_figure(tmp_path, capsys):
    code, out, err = train(capsys, tmp_path, "shift", "--set", "corruption.shift=1", report=True)
    assert code == 0, err
    assert "could not be built" not in err
    assert (tmp_path / "shift" / "figures" / "denoising.png").exists()
    page = (tmp_path / "shift" / "report.html").read_text()
    assert "corrupted with pixels 1, 2 " in page  # whole pixels: half of one pixel is no level
    assert "could not be drawn" not in page


def test_a_figure_that_cannot_be_drawn_is_left_out_with_the_reason(tmp_path, capsys, monkeypatch):
    import aekit.viz.filters as filters

    code, _, err = train(capsys, tmp_path, "r")
    assert code == 0, err

    def broken(*args, **kwargs):
        raise RuntimeError("the filters cannot be drawn today")

    monkeypatch.setattr(filters, "filters_figure", broken)
    code = main(["report", str(tmp_path / "r")])
    _, err = capsys.readouterr()
    assert code == 0, err
    page = (tmp_path / "r" / "report.html").read_text()
    assert "Figures that could not be drawn" in page
    assert "the filters cannot be drawn today" in page
    assert not (tmp_path / "r" / "figures" / "filters.png").exists()
    assert (tmp_path / "r" / "figures" / "losses.png").exists()


# -- defect 9: the smaller ones -------------------------------------------------------------------
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "inf", "1e999"])
def test_non_finite_floats_are_refused(value, tmp_path, capsys):
    code, _, err = train(capsys, tmp_path, "r", "--set", f"train.lr={value}")
    assert_one_line_error(code, err, r"The 'train.lr' parameter must be .*a float in the range \(0, inf\)")
    assert not (tmp_path / "r").exists()


def test_every_float_constraint_refuses_non_finite_values():
    from aekit.errors import ConfigError
    from aekit.params import Interval, check

    for value in (float("inf"), float("-inf"), float("nan"), np.float32("inf")):
        with pytest.raises(ConfigError, match=r"The 'p' parameter must be a float in the range \(-inf, inf\)"):
            check("p", value, Interval(float, None, None))
    check("p", 10**400, Interval(int, 1, None))  # a huge int is still an int


def test_the_estimator_refuses_a_non_finite_learning_rate():
    from aekit import Autoencoder

    x = np.random.default_rng(0).random((32, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"The 'lr' parameter of Autoencoder must be .*Got inf instead"):
        Autoencoder(code_size=2, lr=float("inf"), epochs=1).fit(x)


def test_a_config_path_that_is_a_folder_says_so(tmp_path, capsys):
    (tmp_path / "conf").mkdir()
    code = main(["train", str(tmp_path / "conf"), *SMALL, "--out", str(tmp_path), "--name", "r"])
    assert_one_line_error(code, capsys.readouterr().err, r"conf' is a folder, not a file")


@pytest.mark.parametrize("content, pattern", [(b"model:\n  code_size: \xff\xfe\n", r"is not UTF-8 text"),
                                              (b"model: [1, 2\n", r"is not valid YAML")])
def test_an_unreadable_config_file_is_one_line(content, pattern, tmp_path, capsys):
    (tmp_path / "c.yaml").write_bytes(content)
    code = main(["train", str(tmp_path / "c.yaml"), *SMALL, "--out", str(tmp_path), "--name", "r"])
    assert_one_line_error(code, capsys.readouterr().err, r"c\.yaml' " + pattern)


def test_cross_entropy_on_a_linear_output_is_an_aekit_error():
    import torch

    from aekit.errors import AekitError
    from aekit.objectives import CrossEntropy

    x = torch.rand(4, 3)
    with pytest.raises(AekitError, match=r"Cross-entropy needs a decoder with a sigmoid output .*loss.reconstruction: mse"):
        CrossEntropy()({"x": x}, {"x_hat": x}, torch.nn.Identity())


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", *SMALL, "--no-report", "--out", str(out), "--name", "ok"]) == 0
    return out / "ok"


@pytest.mark.parametrize("command", ["encode", "reconstruct"])
def test_encode_out_that_is_a_folder_is_refused(command, run_folder, tmp_path, capsys):
    for out in (f"{tmp_path}/dir/", str(tmp_path)):
        code = main([command, str(run_folder), "--out", out])
        assert_one_line_error(code, capsys.readouterr().err, r"--out .* is a folder; give the file to write")
    assert list(tmp_path.rglob("*.npy")) == []


def test_resume_to_fewer_epochs_than_done_is_refused_and_changes_nothing(tmp_path, capsys):
    code, _, err = train(capsys, tmp_path, "r", "--set", "train.epochs=2")
    assert code == 0, err
    run = tmp_path / "r"
    before = contents(run)
    code = main(["train", "--resume", str(run), "--epochs", "1", "--quiet", "--no-report"])
    assert_one_line_error(code, capsys.readouterr().err,
                          r"--epochs 1 is fewer than the 2 epochs .* already trained; give a larger total")
    assert contents(run) == before


# -- defect 2: one writer per run folder, and a resumed checkpoint must be the run's own ----------
@pytest.fixture
def held_lock():
    """Another process holding the lock of a folder (as a training writing it would)."""
    import subprocess
    import sys

    procs = []

    def hold(folder):
        code = ("import fcntl, sys, time\n"
                f"f = open({str(folder / '.aekit.lock')!r}, 'a+')\n"
                "fcntl.flock(f.fileno(), fcntl.LOCK_EX)\n"
                "f.seek(0); f.truncate(); f.write('%d\\n' % __import__('os').getpid()); f.flush()\n"
                "print('held', flush=True)\n"
                "time.sleep(60)\n")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "held"
        procs.append(proc)
        return proc.pid

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_second_training_into_a_folder_being_written_is_refused_with_the_holder(held_lock, tmp_path, capsys):
    (tmp_path / "same").mkdir()
    pid = held_lock(tmp_path / "same")
    code, _, err = train(capsys, tmp_path, "same")
    assert_one_line_error(code, err, rf"'.*same' is being written by another aekit process \(PID {pid}\)")
    assert sorted(p.name for p in (tmp_path / "same").iterdir()) == [".aekit.lock"]


def test_resume_of_a_run_being_written_is_refused(held_lock, run_folder, capsys):
    before = (run_folder / "config.yaml").read_bytes()
    pid = held_lock(run_folder)
    code = main(["train", "--resume", str(run_folder), "--epochs", "5", "--quiet", "--no-report"])
    assert_one_line_error(code, capsys.readouterr().err, rf"is being written by another aekit process \(PID {pid}\)")
    assert (run_folder / "config.yaml").read_bytes() == before


def test_the_lock_dies_with_its_holder(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / ".aekit.lock").write_text("999999\n")  # left by a process killed with -9
    code, _, err = train(capsys, tmp_path, "r")
    assert code == 0, err


@pytest.mark.parametrize("other, pattern", [
    (["--set", "model.code_size=3"], r"does not belong to this run: its model differs at '.*' \(checkpoint \(3"),
    (["--set", "seed=7"], r"does not belong to this run: it was trained with seed 7, this run's config.yaml says 0"),
])
def test_resume_refuses_another_runs_checkpoint(other, pattern, run_folder, tmp_path, capsys):
    import shutil

    code, _, err = train(capsys, tmp_path, "other", *other)
    assert code == 0, err
    run = tmp_path / "mine"
    shutil.copytree(run_folder, run)
    shutil.copy(tmp_path / "other" / "checkpoint.pt", run / "checkpoint.pt")
    before = contents(run)
    code = main(["train", "--resume", str(run), "--quiet", "--no-report"])
    assert_one_line_error(code, capsys.readouterr().err, r"checkpoint\.pt' " + pattern)
    assert contents(run) == before


# -- defect 4: the machine's faults are one line, and a run survives them ------------------------
def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def torch_no_space(*args, **kwargs):  # what torch.save says when the disk fills mid-write
    raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file "
                       "data/0: file write failed\nunexpected pos 1536 vs 1472")


def safetensors_no_space(*args, **kwargs):
    from safetensors import SafetensorError

    raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                          'message: "No space left on device" })')


def read_only(*args, **kwargs):
    raise OSError(errno.EROFS, "Read-only file system", kwargs.get("dir"))


def temp_files(folder):
    return sorted(p.name for p in folder.rglob("*.tmp"))


@pytest.mark.parametrize("target, fault", [("torch.save", no_space), ("torch.save", torch_no_space),
                                           ("aekit.models.serialization.save_file", safetensors_no_space)])
def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(target, fault, tmp_path, capsys, monkeypatch):
    code, _, err = train(capsys, tmp_path, "r")
    assert code == 0, err
    run = tmp_path / "r"
    before = (run / "checkpoint.pt").read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(target, fault)
        code = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--no-report"])
    assert_one_line_error(code, capsys.readouterr().err,
                          r"Cannot write '.*r/(checkpoint\.pt|model\.safetensors)': No space left on device; free some "
                          r"space .*aekit train --resume RUN")
    assert temp_files(run) == []
    if target == "torch.save":
        assert (run / "checkpoint.pt").read_bytes() == before
    code = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--no-report"])  # space is back
    assert code == 0, capsys.readouterr().err
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2


def test_a_read_only_folder_is_one_line_for_every_command(run_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("aekit.io.tempfile.mkstemp", read_only)
    pattern = r"Cannot write '.*': Read-only file system; .*another folder"
    code, _, err = train(capsys, tmp_path, "r")
    assert_one_line_error(code, err, pattern)
    for argv in (["report", str(run_folder)], ["encode", str(run_folder), "--out", str(tmp_path / "c.npy")]):
        code = main(argv)
        assert_one_line_error(code, capsys.readouterr().err, pattern)
    # a resume writes into the run folder itself: --out cannot help it (it was told to use --out)
    code = main(["train", "--resume", str(run_folder), "--epochs", "2", "--quiet", "--no-report"])
    err = capsys.readouterr().err
    assert_one_line_error(code, err, r"Cannot write '.*': Read-only file system; the run folder must be writable to "
                                     r"resume it")
    assert "--out" not in err


@pytest.mark.parametrize("command", ["report", "explore", "export", "ladder", "encode"])
def test_a_full_disk_advises_what_fits_the_command(command, run_folder, tmp_path, capsys, monkeypatch):
    """Only a training run resumes from its checkpoint: report, explore, export and ladder were told to run
    'aekit train --resume RUN' on a full disk."""
    monkeypatch.setattr("aekit.io.tempfile.mkstemp", no_space)
    argv = {"report": ["report", str(run_folder), "--out", str(tmp_path / "r.html")],
            "explore": ["explore", str(run_folder), "--map", "pca", "--out", str(tmp_path / "e.html")],
            "export": ["export", str(run_folder), "--format", "pt2", "--out", str(tmp_path / "x")],
            "ladder": ["ladder", "--data", "digits", "--dry-run", "--quiet", "--out", str(tmp_path / "runs")],
            "encode": ["encode", str(run_folder), "--out", str(tmp_path / "c.npy")]}[command]
    code = main(argv)
    err = capsys.readouterr().err
    assert_one_line_error(code, err, r"Cannot write '.*': No space left on device; free some space and run it again\.$")
    assert "resume" not in err


@pytest.mark.parametrize("command", ["train", "ladder"])
def test_an_empty_out_is_refused_by_train_and_ladder_alike(command, tmp_path, capsys, monkeypatch):
    """aekit ladder --out '' wrote ./NAME while aekit train --out '' wrote into runs/: both refuse it now, as
    finetune and export do."""
    monkeypatch.chdir(tmp_path)
    argv = {"train": ["train", *SMALL, "--no-report"], "ladder": ["ladder", "--data", "digits", "--dry-run", "--quiet"]}
    code = main([*argv[command], "--out", "", "--name", "r"])
    assert_one_line_error(code, capsys.readouterr().err, r"The 'out' parameter must be a non-empty str\. Got '' instead")
    assert list(tmp_path.iterdir()) == []


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("mine\n")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        code, _, err = train(capsys, out, "r")
        assert_one_line_error(code, err, r"'.*file' is a file, not a folder|a part of that path is a file")
    assert (tmp_path / "file").read_text() == "mine\n"


def test_resume_removes_temporary_files_left_by_a_killed_write(run_folder, capsys):
    (run_folder / ".checkpoint.pt.k1ll3d.tmp").write_bytes(b"half a checkpoint")
    (run_folder / ".metrics.jsonl.x9.tmp").write_bytes(b"{")
    code = main(["train", "--resume", str(run_folder), "--quiet", "--no-report"])
    assert code == 0, capsys.readouterr().err
    assert temp_files(run_folder) == []


# -- defect 5: files in a run or estimator folder that load but are wrong -------------------------
def _tensor_checkpoint(path):
    import torch

    torch.save(torch.zeros(3), path)


def _modelless_checkpoint(path):
    import torch

    from aekit.training.trainer import CHECKPOINT_FORMAT

    torch.save({"format": CHECKPOINT_FORMAT, "epoch": 1}, path)


def _model_json_config_list(path):
    import json

    description = json.loads(path.read_text())
    description["config"] = [1, 2]
    path.write_text(json.dumps(description))


WRONG_FILES = {  # file -> (how to spoil it, the command that reads it, the error)
    "checkpoint.pt": (_tensor_checkpoint, "resume", r"checkpoint\.pt' is not an aekit checkpoint \(a Tensor"),
    "checkpoint.pt ": (_modelless_checkpoint, "resume", r"checkpoint\.pt' holds no model weights; .*delete it"),
    "preprocessing.json": (lambda p: p.write_text("{not json"), "encode",
                           r"preprocessing\.json' is not valid JSON .*train the run again"),
    "preprocessing.json ": (lambda p: p.write_text('{"kind": "minmax"}'), "encode",
                            r"preprocessing\.json' has no 'low', which must be a list of items"),
    "metrics.jsonl": (lambda p: p.write_text(p.read_text().splitlines()[0] + '\n[oops\n'), "report",
                      r"metrics\.jsonl' line 2 is not valid JSON .*--resume"),
    "summary.json": (lambda p: p.write_text("\x00\x01garbage"), "report", r"summary\.json' is not valid JSON"),
    "summary.json ": (lambda p: p.write_text("[1, 2]"), "report", r"summary\.json' holds a JSON list"),
    "config.yaml": (lambda p: p.write_bytes(b"seed: 0\nname: \xff\xfe\n"), "encode", r"config\.yaml' is not UTF-8 text"),
    "model.json": (_model_json_config_list, "encode", r"model\.json: 'config' must be a JSON object, not \[1, 2\]"),
}


@pytest.mark.parametrize("name", sorted(WRONG_FILES))
def test_a_wrong_file_in_a_run_folder_is_one_line(name, run_folder, tmp_path, capsys):
    import shutil

    spoil, command, pattern = WRONG_FILES[name]
    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    spoil(run / name.strip())
    argv = {"resume": ["train", "--resume", str(run), "--quiet", "--no-report"], "report": ["report", str(run)],
            "encode": ["encode", str(run), "--out", str(tmp_path / "c.npy")]}[command]
    assert_one_line_error(main(argv), capsys.readouterr().err, pattern)


@pytest.fixture(scope="module")
def saved_estimator(tmp_path_factory):
    from aekit import Autoencoder

    x = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    return Autoencoder(code_size=2, hidden=(4,), epochs=1).fit(x).save(tmp_path_factory.mktemp("est") / "ae")


@pytest.mark.parametrize("edit, pattern", [
    (lambda d: d["params"].update(colour="red"), r"sets 'colour', which is not a parameter of Autoencoder"),
    (lambda d: d.pop("params"), r"needs the mappings 'params' and 'fitted'"),
    (lambda d: d["fitted"].update(transform="pwned"), r"'transform' under 'fitted', which is not a fitted attribute"),
])
def test_an_edited_estimator_json_is_refused(edit, pattern, saved_estimator, tmp_path):
    import json
    import shutil

    from aekit import Autoencoder
    from aekit.errors import AekitError

    folder = tmp_path / "ae"
    shutil.copytree(saved_estimator, folder)
    document = json.loads((folder / "estimator.json").read_text())
    edit(document)
    (folder / "estimator.json").write_text(json.dumps(document))
    with pytest.raises(AekitError, match=r"estimator\.json.*" + pattern):
        Autoencoder.load(folder)
    Autoencoder.load(saved_estimator).transform(np.zeros((2, 6), np.float32))  # the original still loads


# -- defect 6: sizes are checked before anything is allocated ------------------------------------
def test_a_model_too_large_for_memory_is_refused_before_allocating(tmp_path, capsys):
    import time

    start = time.perf_counter()
    code, _, err = train(capsys, tmp_path, "huge", "--set", "model.code_size=1000000000")
    assert_one_line_error(code, err, r"The model \(model.kind mlp, hidden \[8\], code_size 1000000000, .*\) needs "
                                     r"about \d+\.\d GiB of memory to train .* is free\. Make it smaller")
    assert time.perf_counter() - start < 5
    assert not (tmp_path / "huge").exists()


def test_the_estimator_refuses_a_model_too_large_for_memory():
    from aekit import Autoencoder
    from aekit.errors import ConfigError

    x = np.random.default_rng(0).random((32, 4)).astype(np.float32)
    with pytest.raises(ConfigError, match=r"needs about \d+\.\d GiB of memory to train"):
        Autoencoder(code_size=10**9, hidden=(8,), epochs=1).fit(x)


def test_model_json_is_checked_against_the_weights_before_building(run_folder, tmp_path, capsys, monkeypatch):
    import json
    import shutil

    import torch

    import aekit.models.autoencoder as autoencoder

    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    description = json.loads((run / "model.json").read_text())
    description["sample_shape"] = [1000000]
    (run / "model.json").write_text(json.dumps(description))
    built_on = []
    init = autoencoder.AutoencoderModule.__init__

    def spy(self, *args, **kwargs):
        built_on.append(torch.empty(0).device.type)
        init(self, *args, **kwargs)

    monkeypatch.setattr(autoencoder.AutoencoderModule, "__init__", spy)
    code = main(["encode", str(run), "--out", str(tmp_path / "c.npy")])
    assert_one_line_error(code, capsys.readouterr().err, r"model\.safetensors does not fit the architecture in model\.json")
    assert built_on and set(built_on) == {"meta"}


# -- defect 8: CI cannot go green without the browser test ----------------------------------------
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("apt, pattern", [("exit 100", r"'apt-get update' failed"),
                                          ("exit 0", r"chromium was installed but .* is missing")])
def test_the_browser_install_fails_loudly(apt, pattern, tmp_path):
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in (("apt-get", apt), ("sudo", 'exec "$@"')):
        (bin_dir / tool).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "AEKIT_CHROMIUM": str(tmp_path / "chromium")}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "install_browser.sh")], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert re.search(pattern, done.stderr), done.stderr


def test_ci_demands_the_browser_test(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("browser_test", ROOT / "tests" / "behaviour" / "_browser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("AEKIT_REQUIRE_BROWSER", raising=False)
    assert not module.browser_required()
    monkeypatch.setenv("AEKIT_REQUIRE_BROWSER", "1")
    assert module.browser_required()
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^export AEKIT_REQUIRE_BROWSER=1$", ci, flags=re.MULTILINE)
    assert "scripts/setup.sh --test" in ci and "install_browser.sh" in (ROOT / "scripts" / "setup.sh").read_text()


# -- the fuzz test: corrupt run folders and random --set values ----------------------------------
FUZZ_FILES = ["config.yaml", "model.json", "model.safetensors", "metrics.jsonl", "summary.json", "checkpoint.pt"]
FUZZ_VALUES = ["-1", "0", "0.5", "1000000000", ".inf", "-.inf", ".nan", "''", "[]", "{}", "abc", "[1, -2]", "true",
               "null", "1e-300", "{a: 1}", "[[1]]", "!!binary aGk=", "x" * 300]


@pytest.fixture(scope="module")
def other_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("other")
    assert main(["train", *SMALL, "--no-report", "--out", str(out), "--name", "other",
                 "--set", "model.code_size=3", "--set", "train.epochs=2"]) == 0
    return out / "other"


def snapshot(folder, skip):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and skip not in p.parents}


def assert_clean_outcome(code, err, argv):
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("aekit ") and "error:" in lines[0], (argv, err)


@pytest.mark.parametrize("seed", range(40))
def test_fuzz_corrupt_run_folders(seed, run_folder, other_run, tmp_path, capsys):
    import shutil

    rng = np.random.default_rng(seed)
    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    name = FUZZ_FILES[rng.integers(len(FUZZ_FILES))]
    target, how = run / name, ["truncate", "random", "other"][rng.integers(3)]
    if how == "truncate":
        data = target.read_bytes()
        target.write_bytes(data[: rng.integers(len(data))])
    elif how == "random":
        target.write_bytes(rng.bytes(int(rng.integers(1, 2000))))
    else:
        shutil.copy(other_run / name, target)
    out = tmp_path / "codes.npy"
    argv = [["encode", str(run), "--out", str(out)], ["report", str(run)],
            ["train", "--resume", str(run), "--quiet", "--no-report", "--epochs", "2"]][rng.integers(3)]
    before = snapshot(tmp_path, run)
    code = main(argv)
    err = capsys.readouterr().err
    assert_clean_outcome(code, err, (name, how, argv))
    after = snapshot(tmp_path, run)
    if code == 0 and argv[0] == "encode":
        after.pop(out)
    assert after == before, (name, how, argv)


@pytest.mark.parametrize("seed", range(24))
def test_fuzz_random_set_values(seed, tmp_path, capsys):
    from aekit.training.run_config import config_keys

    rng = np.random.default_rng(1000 + seed)
    keys = [key for key, _, _ in config_keys() if key not in ("out", "name")]
    sets = []
    for _ in range(int(rng.integers(1, 3))):
        sets += ["--set", f"{keys[rng.integers(len(keys))]}={FUZZ_VALUES[rng.integers(len(FUZZ_VALUES))]}"]
    (tmp_path / "out").mkdir()
    argv = ["train", *SMALL, "--dry-run", "--no-report", "--out", str(tmp_path / "out"), "--name", "r", *sets]
    code = main(argv)
    assert_clean_outcome(code, capsys.readouterr().err, argv)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    if code == 2:
        assert not (tmp_path / "out" / "r").exists() or not (tmp_path / "out" / "r" / "checkpoint.pt").exists()


class _Payload:
    """A pickle that would run code when unpickled (it creates the file ``marker``)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_malicious_pickle_in_a_run_folder_is_never_unpickled(run_folder, tmp_path, capsys):
    import pickle
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    marker = tmp_path / "pwned"
    (run / "checkpoint.pt").write_bytes(pickle.dumps({"format": _Payload(marker)}))
    code = main(["train", "--resume", str(run), "--quiet", "--no-report"])
    assert_one_line_error(code, capsys.readouterr().err, r"Cannot read checkpoint .*checkpoint\.pt")
    assert not marker.exists()


def test_every_test_the_guarantees_page_names_exists():
    import ast

    text = (ROOT / "docs" / "guarantees.md").read_text()
    named = set(re.findall(r"`(?:tests/[\w/]+\.py::|test_hardening\.py::)?(test_\w+)`", text))
    defined = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        defined |= {node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)}
    assert len(named) >= 12 and named <= defined, named - defined


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_an_object_array_is_not_called_corrupt(suffix, tmp_path, capsys):
    x = np.empty((40, 3), dtype=object)
    x[:] = 0.5
    path = tmp_path / f"objects{suffix}"
    np.save(path, x, allow_pickle=True) if suffix == ".npy" else np.savez(path, x=x)
    code, _, err = train(capsys, tmp_path / "runs", "r", "--data", str(path))
    assert_one_line_error(code, err, r"objects\.np[yz]'( \(array 'x'\))? holds an array of Python objects \(dtype object\), which "
                                     r"aekit never unpickles")
    assert "corrupt" not in err


def test_resume_may_change_the_learning_rate_and_records_it(tmp_path, capsys):
    import json

    import yaml

    code, _, err = train(capsys, tmp_path, "r", "--set", "train.lr=0.5", "--set", "train.optimizer=sgd")
    assert code == 0, err
    run = tmp_path / "r"
    code = main(["train", "--resume", str(run), "--epochs", "2", "--set", "train.lr=1e-4", "--quiet", "--no-report"])
    assert code == 0, capsys.readouterr().err
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["lr"] == 1e-4
    rates = [json.loads(line)["lr"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rates == [0.5, 1e-4]
    code = main(["train", "--resume", str(run), "--set", "model.code_size=3"])
    assert_one_line_error(code, capsys.readouterr().err, r"only --epochs and the optimiser settings \(train\.lr, .*\)")
