"""``aekit ladder``: a ladder network on few labels into a run folder (issue 20's command line).

A dry run on digits end to end (its folder, read back through the run folder's readers; its summary
against the saved estimator's score on the same split; the saved estimator predicting as at the end of
the run), the label budget counted strictly, and one-line errors that name the parameter."""

import dataclasses
import json
import shutil

import numpy as np
import pytest

from aekit import LadderClassifier
from aekit.cli import main
from aekit.data.preparation import prepare_splits
from aekit.estimator.ladder_run import read_ladder_run
from aekit.training.ladder import LadderConfig

FILES = {"ladder.yaml", "estimator.json", "ladder.safetensors", "ladder.json", "metrics.jsonl", "summary.json",
         "report.html"}


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def dry(tmp_path_factory):
    """``aekit ladder --data digits --dry-run``, with every fit's (X, y) and the fitted estimator recorded."""
    out = tmp_path_factory.mktemp("runs")
    seen, fit = [], LadderClassifier.fit

    def spy(self, X, y, **kwargs):
        seen.append((np.asarray(X).reshape(len(X), -1).copy(), np.asarray(y).copy(), self))
        return fit(self, X, y, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LadderClassifier, "fit", spy)
        code = main(["ladder", "--data", "digits", "--dry-run", "--quiet", "--out", str(out), "--name", "dry"])
    assert code == 0
    return out / "dry", seen


def _splits(run):
    """The run's splits as it trained on them (its data section: name, split seed, limit), flattened."""
    data = prepare_splits(run.config.data)
    return [(np.asarray(x).reshape(len(x), -1), y) for x, y in zip(data.arrays(), data.labels())]


def test_dry_run_writes_a_ladder_run_folder_that_reads_back(dry):
    run_dir, _ = dry
    names = {p.name for p in run_dir.iterdir() if p.name != ".aekit.lock"}
    assert names == FILES
    run = read_ladder_run(run_dir)  # ladder.yaml, summary.json and metrics.jsonl through the run folder's readers
    c, s = run.config, run.summary
    assert (c.data.name, c.data.split_seed, c.data.limit) == ("digits", 0, 512)
    assert (c.labels, c.label_seed, c.seed, c.ladder.epochs) == (100, 0, 0, 1)
    assert (s["labels"], s["train_labels"], s["val_labels"], s["variant"]) == (100, 100, 0, "full")
    assert s["sizes"] == [64, *LadderConfig().hidden, 10] and s["denoising_weights"][:2] == [1000.0, 10.0]
    assert s["stop_reason"] == "completed" and s["epochs"] == 1 and s["seconds"] > 0
    assert s["classes"] == [str(d) for d in range(10)]
    [record] = run.history  # one epoch: each cost term, and their sum
    terms = {f"train/{t}" for t in ["xent", *(f"denoise{l}" for l in range(7))]}
    assert terms <= set(record)
    assert record["train/loss"] == pytest.approx(sum(record[t] for t in terms))
    page = (run_dir / "report.html").read_text()
    assert 'data-figure="losses"' in page and "100 labels" in page and "64-1000-500-250-250-250-10" in page


def test_summary_is_the_saved_estimator_on_the_runs_test_split(dry):
    run_dir, _ = dry
    run = read_ladder_run(run_dir)
    _, _, (x_test, y_test) = _splits(run)
    matrix = np.array(run.summary["confusion_matrix"])
    assert run.summary["test_size"] == len(y_test) == matrix.sum()
    saved = LadderClassifier.load(run_dir)
    assert run.summary["accuracy"] == pytest.approx(saved.score(x_test, y_test))
    assert run.summary["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert run.summary["error"] == pytest.approx(1 - run.summary["accuracy"])


def test_the_saved_estimator_predicts_as_at_the_end_of_the_run(dry):
    run_dir, seen = dry
    [(_, _, fitted)] = seen
    run = read_ladder_run(run_dir)
    _, (x_val, _), (x_test, _) = _splits(run)
    x = np.concatenate([x_val, x_test])
    saved = LadderClassifier.load(run_dir)
    np.testing.assert_array_equal(saved.predict_proba(x), fitted.predict_proba(x))
    assert saved.get_params() == fitted.get_params()


def test_the_estimator_sees_exactly_the_budget_of_training_labels(dry):
    run_dir, seen = dry
    [(x, y, _)] = seen
    (x_train, y_train), (x_val, _), (x_test, _) = _splits(read_ladder_run(run_dir))
    np.testing.assert_array_equal(x, x_train)  # every training row unlabelled, no other row at all
    labelled = y != -1
    assert labelled.sum() == 100
    np.testing.assert_array_equal(y[labelled], y_train[labelled])
    assert np.bincount(y[labelled], minlength=10).tolist() == [10] * 10  # stratified
    others = {row.tobytes() for row in np.concatenate([x_val, x_test])}
    assert not {row.tobytes() for row in x[labelled]} & others  # none from the validation or test split


def test_settings_have_one_table_shared_with_the_estimator():
    defaults = LadderClassifier().get_params()
    for f in dataclasses.fields(LadderConfig):
        assert defaults[f.name] == getattr(LadderConfig(), f.name), f.name
        assert LadderClassifier._parameters[f.name] is f.metadata["constraint"]


def test_report_rebuilds_a_ladder_runs_page(dry, tmp_path, capsys):
    run_dir, _ = dry
    code, out, err = run_cli(capsys, "report", str(run_dir), "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    assert 'data-figure="losses"' in (tmp_path / "r.html").read_text()


@pytest.fixture
def unlabelled(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random((200, 5), dtype=np.float32))
    return path


@pytest.mark.parametrize("argv, words", [
    (["--labels", "5000"], "'labels' parameter must be at most the 512 labelled rows of the training split"),
    (["--labels", "3"], "'labels' parameter must be at least the number of classes (10)"),
    (["--set", "ladder.epochs=1", "--set", "ladder.depth=3"],
     "Unknown config key 'ladder.depth' in section 'ladder'. Valid keys: ladder.hidden, ladder.variant"),
    (["--set", "epochs=3"], "Unknown config key 'epochs' at the top level. Valid keys: seed, labels, label_seed"),
    (["--set", "ladder.noise_std=-1"], "'ladder.noise_std' parameter must be a float in the range [0, inf). Got -1"),
    (["--variant", "beta"], "'ladder.variant' parameter must be a str among {'full', 'gamma'}. Got 'beta'"),
    # --out '' wrote the run into the working directory; aekit train --out '' is refused the same way
    (["--out", ""], "The 'out' parameter must be a non-empty str. Got '' instead."),
    (["--set", "ladder.denoising_weights=[1,2]"], "'denoising_weights' parameter of LadderClassifier must be"),
])
def test_bad_input_is_one_line_naming_the_parameter(argv, words, tmp_path, capsys):
    code, _, err = run_cli(capsys, "ladder", "--data", "digits", "--dry-run", "--out", str(tmp_path / "runs"), *argv)
    assert code == 2
    [line] = [line for line in err.splitlines() if line.startswith("aekit ladder: error:")]
    assert words in line and "Traceback" not in err
    assert not (tmp_path / "runs").exists()  # refused before any folder is made


def test_a_count_of_epochs_that_never_ends_is_one_line(tmp_path, capsys):
    """ladder.epochs=10**20 (and LadderClassifier(epochs=10**20)) trained without end; bounded as the
    autoencoder's train.epochs and train.max_epochs are."""
    from aekit.errors import ConfigError

    code, _, err = run_cli(capsys, "ladder", "--data", "digits", "--out", str(tmp_path / "runs"),
                           "--set", f"ladder.epochs={10**20}")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "'ladder.epochs' parameter must be an int in the range [1, 1000000]. Got 100000000000000000000" in err
    assert not (tmp_path / "runs").exists()
    x, y = np.random.default_rng(0).random((40, 6)).astype(np.float32), np.repeat([0, 1], 20)
    with pytest.raises(ConfigError, match=r"^The 'epochs' parameter of LadderClassifier must be an int in the range "
                                          r"\[1, 1000000\]"):
        LadderClassifier(hidden=(4,), epochs=10**20).fit(x, y)


def test_a_data_set_without_labels_is_refused(unlabelled, tmp_path, capsys):
    code, _, err = run_cli(capsys, "ladder", "--data", str(unlabelled), "--dry-run", "--out", str(tmp_path / "runs"))
    assert code == 2 and "A ladder run needs class labels" in err and "data.label_column" in err
    assert not (tmp_path / "runs").exists()


def test_a_named_folder_that_holds_a_run_is_refused(dry, capsys):
    run_dir, _ = dry
    before = (run_dir / "summary.json").read_bytes()
    code, _, err = run_cli(capsys, "ladder", "--data", "digits", "--dry-run", "--out", str(run_dir.parent),
                           "--name", run_dir.name)
    assert code == 2 and "already holds a ladder run" in err
    assert (run_dir / "summary.json").read_bytes() == before


def test_default_names_are_unique_and_the_last_line_is_the_folder(tmp_path, capsys):
    argv = ["ladder", "--data", "digits", "--dry-run", "--quiet", "--labels", "20", "--variant", "gamma",
            "--set", "ladder.hidden=[16]", "--out", str(tmp_path)]
    folders = []
    for _ in range(2):
        code, out, err = run_cli(capsys, *argv)
        assert code == 0, err
        folders.append(out.strip().splitlines()[-1])
    assert folders[0] != folders[1] and all(f.startswith(str(tmp_path / "digits-ladder-gamma-20-")) for f in folders)
    summary = json.loads((tmp_path / folders[1] / "summary.json").read_text())
    assert summary["labels"] == 20 and summary["variant"] == "gamma" and summary["sizes"] == [64, 16, 10]


def test_ctrl_c_keeps_the_epochs_done_saved_and_tested(tmp_path, capsys, monkeypatch):
    import aekit.estimator.ladder as estimator_module

    fit_ladder = estimator_module.fit_ladder

    def interrupted(*args, **kwargs):  # the epoch completes, then Ctrl-C
        fit_ladder(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(estimator_module, "fit_ladder", interrupted)
    code, out, err = run_cli(capsys, "ladder", "--data", "digits", "--dry-run", "--quiet", "--labels", "20",
                             "--set", "ladder.hidden=[16]", "--out", str(tmp_path), "--name", "cut")
    assert code == 130 and "Interrupted after 1 epoch" in err
    assert f"Resume with: aekit ladder --resume {tmp_path / 'cut'}" in err
    run = read_ladder_run(tmp_path / "cut")
    assert run.summary["stop_reason"] == "interrupted" and len(run.history) == 1
    assert {p.name for p in (tmp_path / "cut").iterdir()} >= FILES | {"checkpoint.pt"}
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "ladder", "--resume", str(tmp_path / "cut"), "--quiet")  # the dry run's 1 epoch
    assert code == 0, err
    run = read_ladder_run(tmp_path / "cut")
    assert run.summary["stop_reason"] != "interrupted" and len(run.history) == 1
    assert not (tmp_path / "cut" / "checkpoint.pt").exists()


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path, capsys, monkeypatch):
    """A run killed after epoch 2 of 3 (no summary.json; ladder.yaml and its checkpoint there): --resume trains
    epoch 3 only and ends with the weights and the summary of a run that was never stopped."""
    argv = ["ladder", "--data", "digits", "--labels", "20", "--set", "data.limit=512", "--set", "ladder.hidden=[16]",
            "--set", "ladder.epochs=3", "--out", str(tmp_path)]
    assert run_cli(capsys, *argv, "--quiet", "--name", "whole")[0] == 0
    epochs = []

    def killed(self, record):
        epochs.append(record["epoch"])
        if record["epoch"] == 2:
            raise SystemExit("killed")  # nothing after it runs: as a kill, no summary.json is written

    monkeypatch.setattr(LadderClassifier, "_print_epoch", killed)  # called each epoch without --quiet
    with pytest.raises(SystemExit):
        main([*argv, "--name", "cut"])
    assert not (tmp_path / "cut" / "summary.json").exists() and (tmp_path / "cut" / "checkpoint.pt").is_file()
    epochs.clear()
    code, out, err = run_cli(capsys, "ladder", "--resume", str(tmp_path / "cut"))
    assert code == 0, err
    assert epochs == [3]  # epochs 1 and 2 came from the checkpoint
    assert (tmp_path / "cut" / "ladder.safetensors").read_bytes() == (tmp_path / "whole" / "ladder.safetensors").read_bytes()
    whole, cut = (json.loads((tmp_path / name / "summary.json").read_text()) for name in ("whole", "cut"))
    assert {k: v for k, v in cut.items() if k != "seconds"} == {k: v for k, v in whole.items() if k != "seconds"}
    assert not (tmp_path / "cut" / "checkpoint.pt").exists()  # finished: nothing left to resume


def test_resume_refuses_a_finished_run_a_folder_without_a_run_and_new_settings(dry, tmp_path, capsys):
    run_dir, _ = dry
    for argv, words in [(["--resume", str(run_dir)], "the ladder run finished"),
                        (["--resume", str(tmp_path)], "is not a ladder run folder: it holds no ladder.yaml"),
                        (["--resume", str(run_dir), "--labels", "50"], "give it no --data, --labels")]:
        code, _, err = run_cli(capsys, "ladder", *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err


# -- a ladder run from someone else is data (issue 23) ---------------------------------------------
@pytest.fixture
def received(dry, tmp_path):
    run_dir, _ = dry
    copy = tmp_path / "received"
    shutil.copytree(run_dir, copy)
    return copy


def test_a_link_out_of_a_received_ladder_run_is_never_read(received, tmp_path, capsys):
    """N3 for ladder runs: a summary.json -> a file elsewhere is refused as in a training run's folder."""
    outside = tmp_path / "yours.json"
    outside.write_text((received / "summary.json").read_text().replace('"digits"', '"SECRET"'))
    (received / "summary.json").unlink()
    (received / "summary.json").symlink_to(outside)
    code, _, err = run_cli(capsys, "report", str(received), "--out", str(tmp_path / "r.html"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "summary.json' is a symbolic link to" in err and "never reads or writes through a link" in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("name, text", [("summary.json", "{not json"), ("summary.json", "[1, 2]"),
                                        ("metrics.jsonl", "[oops\n")])
def test_a_bad_file_of_a_ladder_run_advises_what_fits_a_ladder_run(name, text, received, tmp_path, capsys):
    """A ladder run has no checkpoint: its summary.json and metrics.jsonl said to run 'aekit train --resume'."""
    (received / name).write_text(text)
    code, _, err = run_cli(capsys, "report", str(received), "--out", str(tmp_path / "r.html"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{name}'" in err and "Train the run again with 'aekit ladder'" in err and "resume" not in err


def test_a_network_too_large_for_memory_is_one_line_and_makes_no_folder(tmp_path, capsys):
    """N8 for the ladder: hidden=[2**31 - 1] is within the range of a width, and asked the allocator for 6 TB."""
    code, _, err = run_cli(capsys, "ladder", "--data", "digits", "--dry-run", "--out", str(tmp_path / "runs"),
                           "--set", "ladder.hidden=[2147483647]")
    assert code == 2 and "Traceback" not in err
    [line] = [line for line in err.splitlines() if line.startswith("aekit ladder: error:")]
    assert "The ladder network (widths 64-2147483647-10, variant full) needs about" in line
    assert "Make it smaller (hidden). (the run config's 'ladder' section" in line
    assert not (tmp_path / "runs").exists()


def test_the_estimator_refuses_a_network_too_large_for_memory():
    from aekit.errors import ConfigError

    x = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    with pytest.raises(ConfigError, match=r"The ladder network \(widths 6-16777216-16777216-2, variant full\) needs "
                                          r"about .* of memory to train"):
        LadderClassifier(hidden=(2**24, 2**24), epochs=1).fit(x, y)


@pytest.mark.parametrize("width, pattern", [
    (2**31 - 1, r"ladder\.json describes a network aekit cannot build: The ladder network \(widths 64-2147483647-.*\) "
                r"needs about .* to use"),
    (2**63, r"ladder\.json: 'sizes\[1\]' must be an int in the range \[1, 2147483647\], not 9223372036854775808"),
])
def test_a_ladder_json_describing_a_huge_network_is_one_line(received, width, pattern):
    """A width of 2**63 was torch's "Overflow when unpacking long long" (a TypeError), one of 2**31 - 1 asked the
    allocator for terabytes."""
    from aekit.errors import WeightsError

    description = json.loads((received / "ladder.json").read_text())
    description["sizes"][1] = width
    (received / "ladder.json").write_text(json.dumps(description))
    with pytest.raises(WeightsError, match=pattern):
        LadderClassifier.load(received)


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))  # creating the marker file is the code a pickle could run


def test_a_received_checkpoint_holding_code_is_refused_and_never_run(received, tmp_path, capsys):
    """issue 23 for --resume: a ladder run's checkpoint.pt is read as tensors and plain data only."""
    import pickle

    marker = tmp_path / "ran"
    (received / "checkpoint.pt").write_bytes(pickle.dumps({"key": _Payload(marker)}))
    code, _, err = run_cli(capsys, "ladder", "--resume", str(received), "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "checkpoint.pt" in err and "never unpickles" in err and not marker.exists()
