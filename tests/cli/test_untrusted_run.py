"""A run or estimator folder from someone else is data (issue 23): writes never follow a link out of it,
every OSError is one line, every JSON file is checked against its schema, a .npy header is checked before
numpy allocates, and the messages say what is true."""

import errno
import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from test_hardening import SMALL, assert_one_line_error

from aekit.cli import main


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A tiny trained run with a preprocessing.json (data.rescale: minmax), never written by the tests."""
    out = tmp_path_factory.mktemp("runs")
    argv = ["train", *SMALL, "--set", "data.rescale=minmax", "--no-report", "--out", str(out), "--name", "ok"]
    assert main(argv) == 0
    return out / "ok"


@pytest.fixture
def run(run_folder, tmp_path):
    shutil.copytree(run_folder, tmp_path / "run")
    return tmp_path / "run"


def files(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# -- N3: writes never follow a symbolic link out of the run ---------------------------------------
def test_report_never_writes_through_a_figures_link_out_of_the_run(run, tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "losses.png").write_bytes(b"mine")
    (run / "figures").symlink_to("../victim")
    code = main(["report", str(run)])
    assert_one_line_error(code, capsys.readouterr().err, r"run/figures' is a symbolic link to '.*victim', outside "
                                                         r"'.*run'; aekit never (reads or )?writes through a link")
    assert files(victim) == {victim / "losses.png": b"mine"}


def test_labelcurve_refuses_a_default_folder_that_links_out_of_the_run(run, tmp_path, capsys):
    (tmp_path / "victim").mkdir()
    (run / "labelcurve").symlink_to(tmp_path / "victim")
    code = main(["labelcurve", str(run), "--budgets", "10", "--draws", "1"])
    assert_one_line_error(code, capsys.readouterr().err, r"labelcurve' is a symbolic link to .*victim'")
    assert list((tmp_path / "victim").iterdir()) == []


def read_only(folder, monkeypatch) -> None:
    """Writes into ``folder`` fail as on a read-only file system (aekit writes through aekit.io's temporary files)."""
    import tempfile

    mkstemp = tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if str(folder) in str(dir):
            raise OSError(errno.EROFS, "Read-only file system")
        return mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr("aekit.io.tempfile.mkstemp", refuse)


def test_labelcurve_on_a_read_only_run_fails_before_fitting_anything(run, tmp_path, capsys, monkeypatch):
    """It measured the whole curve (minutes), then could not write it."""
    def fitted(*args, **kwargs):
        raise AssertionError("a probe was fitted before the output folder was checked")

    read_only(run, monkeypatch)
    monkeypatch.setattr("aekit.training.labelcurve.linear_probe", fitted)
    before = files(run)
    code = main(["labelcurve", str(run), "--budgets", "20", "--draws", "1"])
    assert_one_line_error(code, capsys.readouterr().err, r"Cannot write '.*run/labelcurve': Read-only file system; "
                                                         r".*another folder \(--out\)")
    assert files(run) == before and not (run / "labelcurve").exists()


def test_a_writable_check_leaves_nothing_behind(tmp_path):
    from aekit.errors import StorageError
    from aekit.io import check_writable

    check_writable(tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("mine")
    with pytest.raises(StorageError, match=r"file/sub': Not a directory"):
        check_writable(tmp_path / "file" / "sub")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_link_inside_the_run_that_stays_inside_is_written(run, capsys):
    (run / "pictures").mkdir()
    (run / "figures").symlink_to("pictures")
    assert main(["report", str(run)]) == 0, capsys.readouterr().err
    assert (run / "pictures" / "losses.png").is_file()


def test_the_lock_file_is_never_written_through_a_link(run, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    (run / ".aekit.lock").unlink(missing_ok=True)
    (run / ".aekit.lock").symlink_to(victim)
    code = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--no-report"])
    assert_one_line_error(code, capsys.readouterr().err, r"\.aekit\.lock' is a symbolic link(; .*Delete it| to .*victim\.txt', outside)")
    assert victim.read_text() == "mine\n"


# -- N4: every OSError is one line naming the path and the cause ----------------------------------
@pytest.mark.parametrize("command, out, pattern", [
    ("encode", "afile/x.npy", r"Cannot write '.*afile/x\.npy': Not a directory; a part of that path is a file"),
    ("reconstruct", "afile/x.npy", r"Cannot write '.*afile/x\.npy': Not a directory"),
    ("report", "afile/x.html", r"Cannot write '.*afile/x\.html': Not a directory"),
    ("encode", "y" * 300 + ".npy", r"Cannot write '.{40}\.\.\..*y\.npy': File name too long; a name in that path is too "
                                   r"long"),
    ("report", "", r"--out '' is a folder; give the file to write, e.g. 'report\.html'"),
])
def test_a_bad_out_path_is_one_line(command, out, pattern, run, tmp_path, capsys):
    (tmp_path / "afile").write_text("mine\n")
    before = files(run)
    code = main([command, str(run), "--out", str(tmp_path / out) if out else out])
    assert_one_line_error(code, capsys.readouterr().err, pattern)
    assert (tmp_path / "afile").read_text() == "mine\n" and files(run) == before


def test_an_over_long_run_name_is_one_line(tmp_path, capsys):
    code = main(["train", *SMALL, "--no-report", "--out", str(tmp_path), "--name", "n" * 300])
    assert_one_line_error(code, capsys.readouterr().err, r"File name too long; a name in that path is too long")


@pytest.mark.parametrize("code", [errno.EFBIG, errno.ENAMETOOLONG, errno.EBUSY, errno.EIO, errno.ELOOP, 12345, None])
def test_every_os_error_is_a_storage_error_of_one_line(code):
    from aekit.errors import StorageError
    from aekit.io import storage_error

    error = OSError(code, os.strerror(code)) if code is not None else OSError("28752 requested and 4968 written")
    told = storage_error(error, "/some/where.npy")
    assert isinstance(told, StorageError) and "\n" not in str(told)
    assert str(told).startswith("Cannot write '/some/where.npy': ")
    assert storage_error(ValueError("a bug"), "x") is None  # a bug keeps its traceback


def test_a_caller_says_what_to_do_next_for_its_errno_only():
    from aekit.io import advised, storage_error

    full, other = (storage_error(OSError(code, os.strerror(code)), "/r/x.pt") for code in (errno.ENOSPC, errno.EIO))
    told = advised(full, {errno.ENOSPC: "free some space and resume it"})
    assert str(told) == "Cannot write '/r/x.pt': No space left on device; free some space and resume it."
    assert told.errno == errno.ENOSPC and advised(other, {errno.ENOSPC: "x"}) is other


def test_an_os_error_met_outside_the_writes_is_one_line(run, capsys, monkeypatch):
    def unreadable(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(run / "model.json"))

    monkeypatch.setattr("aekit.models.serialization.read_json", unreadable)
    code = main(["encode", str(run), "--out", str(run.parent / "c.npy")])
    assert_one_line_error(code, capsys.readouterr().err, r"Cannot use '.*model\.json': Permission denied")


def test_a_file_size_limit_is_one_line(run, tmp_path):
    """Under ``ulimit -f`` numpy's .npy writer fails with a short write, a plain write with EFBIG, and safetensors
    with its own words naming the errno (N4: finetune and ladder gave a SafetensorError traceback)."""
    script = (f"import resource, signal\nfrom aekit.cli import main\nfrom aekit.io import atomic_write_bytes\n"
              f"signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              f"resource.setrlimit(resource.RLIMIT_FSIZE, (20000, resource.RLIM_INFINITY))\n"
              f"print(main(['encode', {str(run)!r}, '--out', {str(tmp_path / 'c.npy')!r}]))\n"
              f"try:\n    atomic_write_bytes({str(tmp_path / 'big.png')!r}, bytes(50000))\n"
              f"except OSError as error:\n    print(type(error).__name__, error)\n"
              f"import torch\nfrom aekit.io import atomic_write\nfrom safetensors.torch import save_file\n"
              f"try:\n    atomic_write({str(tmp_path / 'w.safetensors')!r}, "
              f"lambda tmp: save_file({{'w': torch.zeros(50000)}}, tmp))\n"
              f"except OSError as error:\n    print(type(error).__name__, error)\n"
              f"try:\n    atomic_write({str(tmp_path / 'c.pt')!r}, lambda tmp: torch.save({{'w': torch.zeros(50000)}}, tmp))\n"
              f"except OSError as error:\n    print(type(error).__name__, error)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    code, efbig, weights, checkpoint = done.stdout.strip().splitlines()
    assert code == "2" and "c.npy': the write was cut short (" in done.stderr and "ulimit -f" in done.stderr
    assert efbig.startswith("StorageError Cannot write '") and "big.png': File too large; the file is larger" in efbig
    # safetensors (finetune's classifier, a ladder's weights) says "I/O error: File too large (os error 27)"
    assert weights.startswith("StorageError Cannot write '") and "w.safetensors': File too large; " in weights
    # torch.save says only "file write failed": under a file size limit that is not "No space left on device"
    assert "c.pt': the write was cut short" in checkpoint and "ulimit -f" in checkpoint, checkpoint


# -- N6: corrupt files in a run folder are one line ------------------------------------------------
def _edit(name, change):
    def spoil(run):
        document = json.loads((run / name).read_text())
        change(document)
        (run / name).write_text(json.dumps(document))
    return spoil


def _metrics(text):
    return lambda run: (run / "metrics.jsonl").write_text(text)


CORRUPT = {  # case -> (how to spoil the run, the command that reads it, the error)
    "huge sample_shape": (_edit("model.json", lambda d: d.update(sample_shape=[1, 10**12, 10**12])), "encode",
                          r"model\.json: 'sample_shape' must be a list of 1 to 3 items, each an int .* of at most "
                          r"2,147,483,647 values in all, not \[1, 1000000000000, 1000000000000\]"),
    "test a list": (_edit("summary.json", lambda d: d.update(test=[1, 2])), "report",
                    r"summary\.json': 'test' must be a JSON object, not \[1, 2\]\. Resume the run"),
    "metrics {}": (_metrics("{}\n"), "report", r"metrics\.jsonl' line 1 has no 'epoch', which must be an int"),
    "string epoch": (_metrics('{"epoch": "one", "lr": 0.1, "seconds": 1, "best_epoch": 1, "train/loss": 2}\n'),
                     "report", r"metrics\.jsonl' line 1: 'epoch' must be an int in the range \[1, inf\), not 'one'"),
    "preprocessing shape": (_edit("preprocessing.json", lambda d: d.update(shape=[64], low=d["low"],
                                                                            scale=d["scale"])), "encode",
                            r"preprocessing\.json' rescales samples of shape \(64,\), but the model of the run takes "
                            r"samples of shape \(1, 8, 8\)"),
    "preprocessing lengths": (_edit("preprocessing.json", lambda d: d.update(low=[0.0])), "encode",
                              r"preprocessing\.json' must hold .* whose 'low' and 'scale' hold one value per element"),
    "model.json a list": (lambda run: (run / "model.json").write_text("[1, 2]"), "encode",
                          r"model\.json' holds a JSON list where a model description .* should be"),
    # found by the fuzz test
    "yaml key None": (lambda run: (run / "config.yaml").write_text("?"), "encode",
                      r"config\.yaml' must hold a mapping of sections whose keys, at every level, are text, not "
                      r"\{None: None\}"),
    "layerwise stage": (lambda run: (run / "config.yaml").write_text((run / "config.yaml").read_text().replace(
        "  corruption: null", "  corruption: [true]")), "encode",
        r"The 'layerwise\.corruption' parameter must be None or a list of None or an instance of 'dict'\. Got \[True\]"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_a_corrupt_run_file_is_one_line(case, run, tmp_path, capsys):
    spoil, command, pattern = CORRUPT[case]
    spoil(run)
    argv = {"report": ["report", str(run)], "encode": ["encode", str(run), "--out", str(tmp_path / "c.npy")]}[command]
    assert_one_line_error(main(argv), capsys.readouterr().err, pattern)


def test_a_run_with_no_epoch_logged_gets_its_report(run, capsys):
    (run / "metrics.jsonl").write_text("")  # found by the fuzz test: lr 'auto' was formatted as a number
    assert main(["report", str(run)]) == 0, capsys.readouterr().err
    assert ", adam lr auto, seed 0" in (run / "report.html").read_text()


FINETUNED = {  # what is in RUN/ft/ -> the warning
    "summary not JSON": ({"summary.json": "{not json"}, r"summary\.json' is not valid JSON"),
    "summary wrong": ({"summary.json": json.dumps({"confusion_matrix": [[1]], "labels": "x", "accuracy": 1,
                                                   "error": 0})}, r"'labels' must be an int in the range \[0, inf\)"),
    "classifier.json a list": ({"summary.json": json.dumps({"confusion_matrix": [[1]], "labels": 3, "accuracy": 1,
                                                            "error": 0}), "classifier.json": "[1]"},
                               r"classifier\.json' holds a JSON list"),
}


@pytest.mark.parametrize("case", sorted(FINETUNED))
def test_an_unreadable_finetuned_folder_is_left_out_with_one_line(case, run, capsys, caplog):
    written, pattern = FINETUNED[case]
    (run / "ft").mkdir()
    for name, text in written.items():
        (run / "ft" / name).write_text(text)
    with caplog.at_level(logging.WARNING):
        code = main(["report", str(run)])
    assert code == 0, capsys.readouterr().err
    [record] = [r for r in caplog.records if "fine-tuned classifiers" in r.getMessage()]
    assert record.exc_info is None and "\n" not in record.getMessage()
    import re

    assert re.search(pattern, record.getMessage()), record.getMessage()
    assert "Classifiers fine-tuned from this encoder" not in (run / "report.html").read_text()


def test_a_bad_labelcurve_json_is_left_out_without_a_traceback(run, capsys, caplog):
    (run / "labelcurve").mkdir()
    (run / "labelcurve" / "labelcurve.json").write_text(json.dumps([{"method": 1}]))
    with caplog.at_level(logging.WARNING):
        code = main(["report", str(run)])
    assert code == 0, capsys.readouterr().err
    assert not any(r.exc_info for r in caplog.records)
    page = (run / "report.html").read_text()
    assert "Figures that could not be drawn" in page and "labelcurve.json&#x27; has no &#x27;[0].labels&#x27;" in page


# -- N7: estimator.json values are type-checked ----------------------------------------------------
@pytest.fixture(scope="module")
def saved_estimator(tmp_path_factory):
    from aekit import Autoencoder

    x = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    return Autoencoder(code_size=2, hidden=(4,), epochs=1).fit(x).save(tmp_path_factory.mktemp("est") / "ae")


@pytest.mark.parametrize("field, value, pattern", [
    ("n_features_in_", "six", r"'fitted': 'n_features_in_' must be an int in the range \[1, inf\), not 'six'"),
    ("input_shape_", {"__array__": [1], "dtype": "nosuch"}, r"'fitted\.input_shape_' holds \{'__array__': \[1\], "
                                                            r"'dtype': 'nosuch'\}, which is no value that save\(\) writes"),
    ("input_shape_", {"__tuple__": 5}, r"'fitted\.input_shape_' holds \{'__tuple__': 5\}"),
    ("input_shape_", "abc", r"'input_shape_' must be a list of 1 to 3 items, each an int .*, not 'abc'"),
    ("input_shape_", {"__tuple__": [2, 3]}, r"the fitted 'input_shape_' \(2, 3\), 'n_features_in_' 6, .* disagree"),
    ("history_", [{"epoch": "x"}], r"'history_\[0\]\.epoch' must be an int"),
    ("seed_", 2**70, r"'seed_' must be an int in the range \[0, "),
    ("reconstruction_", "pwned", r"'reconstruction_' must be a str among \{"),
])
def test_an_estimator_json_value_of_the_wrong_type_is_refused(field, value, pattern, saved_estimator, tmp_path):
    from aekit import Autoencoder
    from aekit.errors import AekitError

    folder = tmp_path / "ae"
    shutil.copytree(saved_estimator, folder)
    document = json.loads((folder / "estimator.json").read_text())
    document["fitted"][field] = value
    (folder / "estimator.json").write_text(json.dumps(document))
    with pytest.raises(AekitError, match=r"estimator\.json.*" + pattern) as raised:
        Autoencoder.load(folder)
    assert "\n" not in str(raised.value)


# -- N10: a .npy header that claims more than there is ---------------------------------------------
def _huge_header(path, shape=(10**11, 10**5)):
    from numpy.lib import format as npy

    with open(path, "wb") as handle:
        npy.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": shape})
        handle.write(b"\0" * 1000)
    return path


@pytest.mark.parametrize("command", ["train", "encode"])
def test_a_npy_header_claiming_petabytes_is_one_line(command, run, tmp_path, capsys):
    path = _huge_header(tmp_path / "huge.npy")
    argv = (["train", "--quiet", "--no-report", "--data", str(path), "--out", str(tmp_path), "--name", "r"]
            if command == "train" else ["encode", str(run), "--data", str(path), "--out", str(tmp_path / "c.npy")])
    assert_one_line_error(main(argv), capsys.readouterr().err,
                          r"huge\.npy' claims to hold an array of shape \(100000000000, 100000\) \(float64, 71\.1 PiB\) "
                          r"but holds 1000 bytes of data; [\d.]+ [KMGT]iB of memory is available: its header is wrong")


def test_a_npz_member_claiming_petabytes_is_one_line(tmp_path, capsys):
    import zipfile

    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive, archive.open("x.npy", "w") as member:
        _huge_header(tmp_path / "x.npy")
        member.write((tmp_path / "x.npy").read_bytes())
    code = main(["train", "--quiet", "--no-report", "--data", str(tmp_path / "huge.npz"), "--out", str(tmp_path)])
    assert_one_line_error(code, capsys.readouterr().err, r"huge\.npz' \(array 'x'\) claims to hold .* 71\.1 PiB")


# -- N14: messages that say what is true ----------------------------------------------------------
def test_random_bytes_are_not_called_python_objects(tmp_path, capsys):
    (tmp_path / "noise.npy").write_bytes(np.random.default_rng(0).bytes(3000))
    code = main(["train", "--quiet", "--no-report", "--data", str(tmp_path / "noise.npy"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert_one_line_error(code, err, r"Cannot read '.*noise\.npy' as a NumPy \.npy file \(the magic string is not "
                                     r"correct")
    assert "Python objects" not in err


def test_report_out_elsewhere_never_writes_into_the_run(run, tmp_path, capsys, monkeypatch):
    read_only(run, monkeypatch)
    before = files(run)
    code = main(["report", str(run), "--out", str(tmp_path / "mine.html")])
    out = capsys.readouterr().out
    assert code == 0
    assert "in the page only (--out leaves the run folder untouched)" in out
    assert files(run) == before and "<figure" in (tmp_path / "mine.html").read_text()
    assert "Figures are also in" not in (tmp_path / "mine.html").read_text()


@pytest.mark.parametrize("data", [np.random.default_rng(0).bytes(3000), b""], ids=["random", "empty"])
def test_a_checkpoint_of_random_bytes_is_not_called_python_objects(data, run, capsys):
    (run / "checkpoint.pt").write_bytes(data)
    code = main(["train", "--resume", str(run), "--quiet", "--no-report"])
    err = capsys.readouterr().err
    assert_one_line_error(code, err, r"checkpoint\.pt' \(it is not a checkpoint aekit wrote: a corrupt file, or another "
                                     r"format")
    assert "Python objects" not in err and "weights_only" not in err


def test_the_pickle_refusal_never_advises_weights_only_false(run, tmp_path, capsys):
    import pickle

    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (run / "checkpoint.pt").write_bytes(pickle.dumps({"format": Payload()}))
    code = main(["train", "--resume", str(run), "--quiet", "--no-report"])
    err = capsys.readouterr().err
    assert_one_line_error(code, err, r"checkpoint\.pt' \(it holds Python objects beyond tensors and plain data, which "
                                     r"aekit never unpickles")
    assert "weights_only" not in err and not (tmp_path / "pwned").exists()
