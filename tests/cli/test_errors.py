"""Every bad input the core promises to explain: one line on stderr, exit 2, no traceback, and no
half-written output (no run folder, no output file)."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from aekit.cli import main


def write(path, text):
    path.write_text(text)
    return path


def bad_data(tmp_path, kind):
    """A data file of the given kind of badness; returns (path, extra overrides)."""
    if kind == "missing":
        return tmp_path / "nope.csv", []
    if kind == "corrupt":
        p = tmp_path / "x.npy"
        p.write_bytes(b"\x93NUMPY garbage that is not an array")
        return p, []
    if kind == "ragged":
        return write(tmp_path / "r.csv", "0.1,0.2,0.3\n0.4,0.5\n0.6,0.7,0.8\n"), []
    if kind == "non-numeric":
        return write(tmp_path / "n.csv", "0.1,0.2,0.3\n0.4,abc,0.6\n"), []
    if kind == "mixed-sizes":
        folder = tmp_path / "imgs"
        folder.mkdir()
        Image.new("L", (8, 8)).save(folder / "a.png")
        Image.new("L", (9, 8)).save(folder / "b.png")
        return folder, []
    if kind == "nan":
        x = np.random.default_rng(0).random((50, 4)).astype(np.float32)
        x[7, 2] = np.nan
        np.save(tmp_path / "nan.npy", x)
        return tmp_path / "nan.npy", []
    if kind == "empty":
        return write(tmp_path / "e.csv", "a,b,c\n"), []
    if kind == "out-of-range":
        x = np.random.default_rng(0).random((60, 4)) * 5
        np.savetxt(tmp_path / "big.csv", x, delimiter=",")  # cross-entropy asked for, on data left as they are
        return tmp_path / "big.csv", ["--set", "loss.reconstruction=bce", "--set", "data.rescale=none"]
    raise AssertionError(kind)


CASES = {
    "missing": r"nope\.csv.*(does not exist|not found|no such)",
    "corrupt": r"x\.npy",
    "ragged": r"r\.csv.*ragged.*line 2 has 2 field",
    "non-numeric": r"n\.csv.*line 2.*'abc'",
    "mixed-sizes": r"(a|b)\.png.*(size|sizes)",
    "nan": r"(NaN|non-finite).*row 7",
    "empty": r"e\.csv.*(empty|no rows|no data)",
    "out-of-range": r"values in \[0\.\d+, 4\.\d+\] but cross-entropy \(loss.reconstruction: bce\) needs data in "
                    r"\[0, 1\].*data\.rescale: minmax",
}


def run_train(capsys, tmp_path, *argv):
    code = main(["train", "--dry-run", "--quiet", "--out", str(tmp_path / "runs"), "--name", "r", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, pattern):
    import re

    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("aekit ") and "error:" in lines[0]
    assert "Traceback" not in err
    assert re.search(pattern, lines[0], flags=re.IGNORECASE), lines[0]


@pytest.mark.parametrize("kind", sorted(CASES))
def test_bad_data_is_explained_and_writes_nothing(kind, tmp_path, capsys):
    path, extra = bad_data(tmp_path, kind)
    code, _, err = run_train(capsys, tmp_path, "--data", str(path), *extra)
    assert_one_line_error(code, err, CASES[kind])
    assert not (tmp_path / "runs" / "r").exists()


def test_out_of_range_data_trains_when_rescaling_is_asked(tmp_path, capsys):
    path, _ = bad_data(tmp_path, "out-of-range")
    code, out, err = run_train(capsys, tmp_path, "--data", str(path), "--set", "data.rescale=minmax",
                               "--set", "model.hidden=[8]", "--set", "model.code_size=2")
    assert code == 0, err
    assert (tmp_path / "runs" / "r" / "preprocessing.json").exists()


@pytest.mark.parametrize(
    "override, pattern",
    [
        ("model.code_size=0", r"The 'model.code_size' parameter must be a str among \{'auto'\} or an int in the range \[1, 2147483647\]. Got 0 instead"),
        ("model.activation=swish", r"Unknown activation 'swish'. Available: .*relu.*sigmoid"),
        ("data.name=mnist6k", r"mnist6k.*mnist5k"),
        ("train.epoch=3", r"Unknown config key 'train.epoch'.*Valid keys: .*train.epochs"),
    ],
)
def test_bad_config_is_explained(override, pattern, tmp_path, capsys):
    code, _, err = run_train(capsys, tmp_path, "--set", override)
    assert_one_line_error(code, err, pattern)
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--dry-run", "--quiet", "--data", "digits", "--out", str(out), "--name", "ok",
                 "--set", "model.hidden=[16]", "--set", "model.code_size=4"]) == 0
    return out / "ok"


def test_weights_that_are_not_safetensors(small_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    (run / "model.safetensors").write_bytes(b"PK\x03\x04 a pickle, not safetensors")
    code = main(["encode", str(run), "--out", str(tmp_path / "c.npy")])
    _, err = capsys.readouterr()
    assert_one_line_error(code, err, r"not a safetensors file")
    assert not (tmp_path / "c.npy").exists()


def test_weights_from_an_incompatible_architecture(small_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    spec = json.loads((run / "model.json").read_text())
    spec["config"]["code_size"] = 5
    (run / "model.json").write_text(json.dumps(spec))
    code = main(["encode", str(run), "--out", str(tmp_path / "c.npy")])
    _, err = capsys.readouterr()
    assert_one_line_error(code, err, r"does not fit the architecture.*shape")
    assert not (tmp_path / "c.npy").exists()


def test_encode_data_of_the_wrong_shape(small_run, tmp_path, capsys):
    code = main(["encode", str(small_run), "--data", "mnist5k", "--out", str(tmp_path / "c.npy")])
    _, err = capsys.readouterr()
    assert_one_line_error(code, err, r"shape \(1, 28, 28\) but the model .* expects \(1, 8, 8\)")


def test_resume_refuses_config_changes(small_run, tmp_path, capsys):
    code = main(["train", "--resume", str(small_run), "--set", "model.code_size=3"])
    _, err = capsys.readouterr()
    assert_one_line_error(code, err, r"--resume continues a run with its own config")
