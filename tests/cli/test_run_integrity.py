"""A run is what its config says, and nothing else (issue 23): sizes and seeds are bounded, a checkpoint
resumes only its own run, label budgets fit the data, the tour's arguments are checked before it
starts, and concurrent commands never share a folder."""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from test_hardening import SMALL, assert_one_line_error, contents, train

from aekit.cli import main

HUGE = 10**20  # past int64: torch said "Overflow when unpacking long long", or allocated nothing sensible


# -- N8: integers that size memory or seed a generator are bounded ---------------------------------
@pytest.mark.parametrize("setting, name, allowed", [
    (f"seed={2**64}", "seed", r"\[0, 4294967295\]"),
    (f"data.split_seed={2**64}", "data.split_seed", r"\[0, 4294967295\]"),
    (f"train.batch_size={HUGE}", "train.batch_size", r"\[1, 2147483647\]"),
    (f"train.eval_batch_size={HUGE}", "train.eval_batch_size", r"\[1, 2147483647\]"),
    (f"model.code_size={HUGE}", "model.code_size", r"\[1, 2147483647\]"),
    (f"model.hidden=[{HUGE}]", "model.hidden", r"\[1, 2147483647\]"),
    (f"penalties.contractive.projections={HUGE}", "penalties.contractive.projections", r"\[1, 2147483647\]"),
    (f"corruption.shift={HUGE}", "corruption.shift.pixels", r"\[0, 2147483647\]"),
    # counts that set how many times a loop runs: 10**20 epochs ran without end
    (f"train.epochs={HUGE}", "train.epochs", r"\[1, 1000000\]"),
    (f"train.max_epochs={HUGE}", "train.max_epochs", r"\[1, 1000000\]"),
])
def test_a_huge_integer_is_one_line_naming_it_and_writes_nothing(setting, name, allowed, tmp_path, capsys):
    code, _, err = train(capsys, tmp_path, "r", "--set", setting)
    assert_one_line_error(code, err, rf"The '{name}' parameter must be .*{allowed}\. Got .*{setting.split('=')[1]}")
    assert not (tmp_path / "r").exists()


def test_a_device_this_machine_lacks_is_refused_before_the_run_folder_exists(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    code, _, err = train(capsys, tmp_path, "r", "--set", "train.device=cuda")
    assert_one_line_error(code, err, r"'train.device' parameter is 'cuda' but no CUDA device is available")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("params, name", [
    (dict(batch_size=HUGE), "batch_size"), (dict(code_size=HUGE), "code_size"), (dict(hidden=(8, HUGE)), "hidden"),
    (dict(random_state=2**64), "random_state"),
    (dict(max_epochs=HUGE), "max_epochs"),  # a count of epochs: 10**20 ran without end
])
def test_the_estimator_bounds_its_sizes(params, name):
    from aekit import Autoencoder
    from aekit.errors import ConfigError

    x = np.random.default_rng(0).random((32, 4)).astype(np.float32)
    with pytest.raises(ConfigError, match=rf"^The '{name}' parameter of Autoencoder must be .*\[\d+, \d+\].* Got "):
        Autoencoder(**params, epochs=1).fit(x)


@pytest.mark.parametrize("make", [lambda: "x" * 10**6, lambda: 10**10000, lambda: list(range(10**6)),
                                  lambda: {"a": ["b" * 10**6]}], ids=["str", "int", "list", "nested"])
def test_a_huge_value_is_shown_short_in_the_error(make):
    from aekit.errors import ConfigError
    from aekit.params import SIZE, check

    value = make()
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        check("batch_size", value, SIZE, owner="Autoencoder")
    assert len(str(info.value)) < 400, str(info.value)[:400]
    assert str(info.value).startswith("The 'batch_size' parameter of Autoencoder must be an int in the range ")
    assert time.perf_counter() - start < 1


# -- N14: an empty list of Cs is a parameter error ------------------------------------------------
def test_an_empty_cs_is_a_parameter_error():
    from aekit import AutoencoderClassifier
    from aekit.errors import ConfigError

    x = np.random.default_rng(0).random((40, 4)).astype(np.float32)
    with pytest.raises(ConfigError, match=r"^The 'Cs' parameter of AutoencoderClassifier must be a non-empty list "
                                          r"of floats in the range \(0, inf\)\. Got \(\) instead\.$"):
        AutoencoderClassifier(Cs=(), epochs=1, hidden=(4,)).fit(x, np.arange(40) % 2)


# -- N11: the tour's arguments are checked before any claim runs ----------------------------------
@pytest.mark.parametrize("argv, pattern", [
    (["--only", ""], r"--only names no claim; give one or more of: .*linear_pca"),
    (["--only", " , "], r"--only names no claim"),
    (["--seeds", "-1"], r"The 'seeds' parameter must be a non-empty list of ints in the range \[0, 4294967295\]\. "
                        r"Got \[-1\] instead"),
    (["--threads", "0"], r"The 'threads' parameter must be an int in the range \[1, 1024\]\. Got 0 instead"),
    (["--readme", "{tmp}/nonexistent/README.md"], r"--readme '.*nonexistent/README\.md' cannot be read \(No such file"),
    (["--readme", "{tmp}/plain.md"], r"--readme '.*plain\.md' needs exactly one <!-- tour:begin --> \.\.\. "
                                     r"<!-- tour:end --> block"),
])
def test_bad_tour_arguments_are_refused_before_any_claim_runs(argv, pattern, tmp_path, capsys, monkeypatch):
    def no_claim_may_run(*args, **kwargs):
        raise AssertionError("the tour started running claims")

    monkeypatch.setattr("aekit.tour.runner.Setting", no_claim_may_run)
    (tmp_path / "plain.md").write_text("# a README without the tour's markers\n")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code = main(["tour", "--quick", "--out", str(tmp_path / "tour"), *argv])
    assert_one_line_error(code, capsys.readouterr().err, pattern)
    assert not (tmp_path / "tour").exists()


# -- N12: a label budget is at most the labelled rows there are -----------------------------------
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", *SMALL, "--no-report", "--out", str(out), "--name", "small"]) == 0
    return out / "small"


def n_train(run):
    import json

    return json.loads((run / "summary.json").read_text())["n_train"]


@pytest.mark.parametrize("argv, pattern", [
    (["finetune", "{run}", "--labels", "100000"], r"The 'labels' parameter must be at most the {n} labelled rows of the "
                                                   r"training split of '.*small', or 'all' for every label\. Got 100000"),
    (["labelcurve", "{run}", "--budgets", "20", "100000"], r"The 'budgets' parameter must be at most the {n} labelled "
                                                            r"rows of the training split .* Got 100000"),
    (["labelcurve", "{run}", "--budgets", "20", "--draws", "0"], r"The 'draws' parameter must be an int in the range "
                                                                  r"\[1, 1000000\]\. Got 0 instead"),
    # a count of draws or epochs that never ends (--draws 10**20 ran without end), or a budget twice
    (["labelcurve", "{run}", "--budgets", "20", "--draws", str(HUGE)], r"The 'draws' parameter must be an int in the "
                                                                      rf"range \[1, 1000000\]\. Got {HUGE} instead"),
    (["labelcurve", "{run}", "--budgets", "20", "20"], r"The 'budgets' parameter must be distinct label budgets .*Got "
                                                        r"\[20, 20\] instead"),
    (["finetune", "{run}", "--freeze-epochs", str(HUGE)], r"'freeze_epochs' parameter must be an int in the range "
                                                          r"\[0, 1000000\]"),
    (["finetune", "{run}", "--set", f"epochs={HUGE}"], r"'epochs' parameter must be an int in the range \[0, 1000000\]"),
    # refused by the draw itself: it left an empty RUN/finetune-3-softmax behind
    (["finetune", "{run}", "--labels", "3"], r"The 'labels' parameter must be at least the number of classes \(10\)"),
    (["finetune", "{run}", "--labels", "30", "--set", "val_labels=25"], r"The 'val_labels' parameter must be 0 or leave"),
])
def test_a_label_budget_beyond_the_data_is_one_line_and_writes_nothing(argv, pattern, small_run, capsys):
    before = sorted(p.name for p in small_run.iterdir())
    code = main([a.replace("{run}", str(small_run)) for a in argv])
    assert_one_line_error(code, capsys.readouterr().err, pattern.replace("{n}", str(n_train(small_run))))
    assert sorted(p.name for p in small_run.iterdir()) == before


def test_finetune_never_writes_over_a_folder_that_is_not_a_fine_tuning(small_run, tmp_path, capsys):
    """--out a training run's folder wrote its summary.json and metrics.jsonl over (N13's lost result, in one
    process); --out '' wrote into the working directory. An earlier fine-tuning's folder is replaced."""
    other = tmp_path / "other"
    shutil.copytree(small_run, other)
    def theirs():
        return {p.name: p.read_bytes() for p in other.iterdir() if p.is_file() and p.name != ".aekit.lock"}

    before = theirs()
    code = main(["finetune", str(small_run), "--labels", "30", "--quiet", "--out", str(other)])
    assert_one_line_error(code, capsys.readouterr().err, r"Folder '.*other' holds files that are not a fine-tuning "
                                                         r"\('checkpoint\.pt', 'config\.yaml', 'metrics\.jsonl', \.\.\.\); "
                                                         r"aekit never writes a fine-tuning over them")
    assert theirs() == before
    code = main(["finetune", str(small_run), "--labels", "30", "--quiet", "--out", ""])
    assert_one_line_error(code, capsys.readouterr().err, r"The 'out' of finetune \(--out\) is empty")
    again = ["finetune", str(small_run), "--labels", "30", "--quiet", "--set", "epochs=1", "--set", "freeze_epochs=1",
             "--out", str(tmp_path / "ft")]
    assert main(again) == 0 and main(again) == 0, capsys.readouterr().err  # an earlier fine-tuning is replaced


def test_a_budget_of_every_training_row_is_a_budget_not_all_labels(small_run, tmp_path, capsys):
    import json

    n = n_train(small_run)
    code = main(["finetune", str(small_run), "--labels", str(n), "--quiet", "--set", "epochs=1", "--set",
                 "freeze_epochs=1", "--out", str(tmp_path / "ft")])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "ft" / "summary.json").read_text())
    assert summary["labels"] == n  # not n + the validation split's labels
    assert summary["train_labels"] + summary["val_labels"] == n


# -- N13: concurrent commands never share a folder ------------------------------------------------
def aekit(*argv, prelude=""):
    """``aekit ARGV`` in a process of its own (``prelude``: Python run first, e.g. a patch)."""
    code = f"import sys\n{prelude}\nfrom aekit.cli import main\nsys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


@pytest.mark.slow  # three interpreters import torch at once: ~10 s on an idle machine
def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path):
    # the default name holds the time to the second: make all three the same, as in one second
    same_second = "from aekit.training import run\nrun.default_name = lambda config, code_size=None: 'digits-mlp-16-now'"
    procs = [aekit("train", *SMALL, "--no-report", "--out", str(tmp_path), prelude=same_second) for _ in range(3)]
    outcomes = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [code for code, _, _ in outcomes] == [0, 0, 0], [err[-2000:] for _, _, err in outcomes]
    folders = sorted(out.strip().splitlines()[-1] for _, out, _ in outcomes)
    assert folders == [str(tmp_path / name) for name in ("digits-mlp-16-now", "digits-mlp-16-now-2", "digits-mlp-16-now-3")]
    for folder in folders:
        assert {"config.yaml", "checkpoint.pt", "model.safetensors", "summary.json"} <= set(os.listdir(folder))


def test_a_default_name_that_is_taken_moves_on_and_a_given_name_does_not(tmp_path, capsys):
    from aekit.training.run_folder import new_default_folder

    (tmp_path / "a").mkdir()  # an empty folder is someone's too: never shared
    (tmp_path / "a-2").mkdir()
    assert new_default_folder(tmp_path / "a") == tmp_path / "a-3" and (tmp_path / "a-3").is_dir()
    assert new_default_folder(tmp_path / "b") == tmp_path / "b"
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match=r"--out .*file' is a file, not a folder"):
        new_default_folder(tmp_path / "file" / "c")


def test_a_second_finetune_into_a_folder_being_written_is_refused(small_run, tmp_path, capsys):
    out = tmp_path / "ft"
    slow = aekit("finetune", str(small_run), "--labels", "20", "--quiet", "--out", str(out), "--set",
                 "freeze_epochs=1000000", "--set", "patience=null")
    try:
        deadline = time.monotonic() + 60
        while not ((out / ".aekit.lock").exists() and (out / ".aekit.lock").read_text().strip() == str(slow.pid)):
            assert slow.poll() is None, slow.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the first finetune never took the lock"
            time.sleep(0.05)
        code = main(["finetune", str(small_run), "--labels", "20", "--quiet", "--out", str(out), "--set", "epochs=1",
                     "--freeze-epochs", "1"])
        assert_one_line_error(code, capsys.readouterr().err, rf"'.*ft' is being written by another aekit finetune "
                                                             rf"\(PID {slow.pid}\); wait for it to finish, or give "
                                                             rf"this one another --out")
        assert not (out / "summary.json").exists()
    finally:
        slow.kill()
        slow.wait()


# -- N5: a checkpoint resumes only the run whose config wrote it ----------------------------------
def swap_checkpoint(capsys, tmp_path, mine, theirs):
    """Runs 'mine' and 'other' trained with the given settings; 'mine' gets the checkpoint of 'other'."""
    for name, settings in (("mine", mine), ("other", theirs)):
        code, _, err = train(capsys, tmp_path, name, *[a for s in settings for a in ("--set", s)])
        assert code == 0, err
    (tmp_path / "mine" / "checkpoint.pt").write_bytes((tmp_path / "other" / "checkpoint.pt").read_bytes())
    return tmp_path / "mine"


@pytest.mark.parametrize("mine, theirs, pattern", [
    ([], ["corruption.masking=0.25"], r"it was trained with corruption\.masking 0\.25, this run's config\.yaml "
                                      r"has no corruption\.masking"),
    ([], ["penalties.l1=0.001"], r"it was trained with penalties\.l1 0\.001, this run's config\.yaml has no "
                                 r"penalties\.l1"),
    (["penalties.l1=0.001"], [], r"it was trained with no penalties\.l1, this run's config\.yaml says 0\.001"),
    ([], ["data.split_seed=1"], r"it was trained with data\.split_seed 1, this run's config\.yaml says 0"),
])
def test_resume_refuses_a_checkpoint_written_by_another_config(mine, theirs, pattern, tmp_path, capsys):
    run = swap_checkpoint(capsys, tmp_path, mine, theirs)
    before = contents(run)
    code = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--no-report"])
    assert_one_line_error(code, capsys.readouterr().err, r"checkpoint\.pt' does not belong to this run: " + pattern
                          + r"; restore the run's own checkpoint\.pt, or delete it")
    assert contents(run) == before  # metrics.jsonl never mixes in the other run's terms


def test_resume_may_change_what_a_resume_may_change(tmp_path, capsys):
    import json

    code, _, err = train(capsys, tmp_path, "r")
    assert code == 0, err
    code = main(["train", "--resume", str(tmp_path / "r"), "--epochs", "2", "--set", "train.lr=1e-4", "--set",
                 "train.clip_grad=1.0", "--quiet", "--no-report"])
    assert code == 0, capsys.readouterr().err
    assert len((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) == 2
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["epochs"] == 2


def test_a_checkpoint_without_a_config_record_resumes_with_a_warning(tmp_path, capsys, caplog):
    import torch

    code, _, err = train(capsys, tmp_path, "r")
    assert code == 0, err
    path = tmp_path / "r" / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    del state["run_config"], state["run_config_digest"]  # as aekit wrote checkpoints before issue 23
    torch.save(state, path)
    with caplog.at_level("WARNING"):
        code = main(["train", "--resume", str(tmp_path / "r"), "--epochs", "2", "--quiet", "--no-report"])
    assert code == 0, capsys.readouterr().err
    assert "records no config (it was written before checkpoints did)" in caplog.text
    state["seed"] = 7  # and one of another seed is still refused
    torch.save(state, path)
    code = main(["train", "--resume", str(tmp_path / "r"), "--epochs", "3", "--quiet", "--no-report"])
    assert_one_line_error(code, capsys.readouterr().err, r"it was trained with seed 7, this run's config\.yaml says 0")


def test_the_config_digest_ignores_key_order_and_sees_every_value():
    from aekit.training.trainer import config_digest

    a = {"seed": 0, "train": {"batch_size": 128, "tol": 0.001}, "penalties": {"l1": {"weight": 0.001}}}
    b = {"penalties": {"l1": {"weight": 0.001}}, "train": {"tol": 0.001, "batch_size": 128}, "seed": 0}
    assert config_digest(a) == config_digest(b)
    assert config_digest(a) != config_digest({**a, "penalties": {"l1": {"weight": 0.002}}})
    assert config_digest(a) != config_digest({**a, "seed": 0.0 + 1})


def test_tour_data_picks_the_scale_its_folder_and_its_readme_block(tmp_path, monkeypatch, capsys):
    """``aekit tour --data mnist`` runs the claims on full MNIST into docs/tour-mnist, and --readme writes
    the block ``tour_mnist`` (beside MNIST-5k's ``tour``), which must be there before anything runs."""
    from aekit.tour import runner

    seen = {}

    def fake_run_tour(out, **kwargs):
        seen.update(kwargs, out=out)
        return runner.Tour(tmp_path, [], 0.0)

    monkeypatch.setattr(runner, "run_tour", fake_run_tour)
    monkeypatch.chdir(tmp_path)
    assert main(["tour", "--data", "mnist", "--only", "deep_vs_pca"]) == 0
    assert seen["data"] == "mnist" and seen["out"] == "docs/tour-mnist" and "--data mnist" in seen["command"]
    assert runner.readme_key("mnist") == "tour_mnist" and runner.readme_key("mnist5k") == "tour"
    (tmp_path / "README.md").write_text("<!-- tour:begin -->\n<!-- tour:end -->\n")
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("aekit.tour.runner.Setting", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran")))
    code = main(["tour", "--data", "mnist", "--readme", "README.md"])
    assert_one_line_error(code, capsys.readouterr().err, r"needs exactly one <!-- tour_mnist:begin -->")
