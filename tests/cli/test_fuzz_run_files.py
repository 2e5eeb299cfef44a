"""Fuzz test (hypothesis): a run or estimator folder with any one file mutated is read either successfully
or with one line of aekit error — never another exception, never a traceback — within a time budget.

The files are those a folder from someone else brings (issue 23): config.yaml, model.json, summary.json,
metrics.jsonl, preprocessing.json and estimator.json; and those of a ladder run (``aekit ladder``, added since):
ladder.yaml, its summary.json and metrics.jsonl, and the LadderClassifier's estimator.json and ladder.json. A mutation replaces, deletes or adds one field
anywhere in the document, truncates the file, or puts random bytes or another JSON value in its place;
the readers are the commands and functions that read that file.
"""

import contextlib
import io
import json
import logging
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hardening import SMALL

from aekit.cli import main
from aekit.errors import AekitError

BUDGET = 20.0  # seconds one reader may take on one mutated folder (a clean one takes well under 1 s)
SETTINGS = settings(max_examples=25, deadline=timedelta(seconds=60), derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SCALARS = (st.none() | st.booleans() | st.sampled_from([0, -1, 1, 2**31, 2**63, 10**20, 1e-300, 1e308])
           | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=8)
STRUCTURE = st.tuples(st.sampled_from(["replace", "delete", "add"]), st.integers(0, 10**6), VALUES, st.text(max_size=8))
WHOLE = st.tuples(st.sampled_from(["truncate", "bytes", "value"]), st.integers(0, 10**6), VALUES,
                  st.binary(max_size=300))
MUTATION = st.one_of(STRUCTURE, STRUCTURE, WHOLE)  # structural mutations twice as often: they reach the fields


def paths(document, prefix=()):
    """Every place in a JSON-like document: the root, then each key or index below it."""
    yield prefix
    items = (document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list)
             else ())
    for key, value in items:
        yield from paths(value, (*prefix, key))


def mutate(document, mutation, skip=()):
    """``document`` with one field replaced, deleted or added (``skip``: paths left alone)."""
    op, index, value, key = mutation
    places = [p for p in paths(document) if not any(p[:len(s)] == s for s in skip)]
    place = places[index % len(places)]
    if not place:  # the root: replaced, or a field added to it
        if op == "add" and isinstance(document, dict) and (key,) not in skip:
            document[key] = value
        return value if op == "replace" else document
    parent = document
    for step in place[:-1]:
        parent = parent[step]
    if op == "replace":
        parent[place[-1]] = value
    elif op == "delete":
        del parent[place[-1]]
    elif isinstance(parent, list):
        parent.insert(place[-1], value)
    elif (*place[:-1], key) not in skip:
        parent[key] = value
    return document


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def spoil(path, mutation, skip=()):
    """Write ``path`` mutated: its document changed (JSON, JSON lines or YAML by its suffix), or the file
    truncated, replaced by random bytes or by another value."""
    op, index, value, data = mutation
    text = path.read_text()
    if op == "truncate":
        path.write_bytes(path.read_bytes()[: index % max(1, path.stat().st_size)])
        return
    if op == "bytes":
        path.write_bytes(data)
        return
    if path.suffix == ".jsonl":
        document = [json.loads(line) for line in text.splitlines()]
    else:
        document = yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)
    document = value if op == "value" else mutate(document, mutation, skip)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(record) + "\n" for record in (document if isinstance(document, list)
                                                                          else [document])))
    elif path.suffix == ".yaml":
        path.write_text(yaml.dump(document, Dumper=_NoAliases))
    else:
        path.write_text(json.dumps(document))


class _Tracebacks(logging.Handler):
    """Log records that carry a traceback (a figure that failed with a bug, say): the command line prints them."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        if record.exc_info:
            self.records.append(record)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A trained run (with preprocessing.json) and a saved estimator, copied for each example; the report
    draws one cheap figure (the loss curves: metrics.jsonl), so that a case stays well under a second."""
    from aekit import Autoencoder
    from aekit.viz import report_figures

    base = tmp_path_factory.mktemp("fuzz")
    assert main(["train", *SMALL, "--set", "data.rescale=minmax", "--no-report", "--out", str(base),
                 "--name", "run"]) == 0
    x = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    Autoencoder(code_size=2, hidden=(4,), epochs=1).fit(x).save(base / "estimator")
    tracebacks = _Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    losses = {"losses": report_figures()["losses"]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("aekit.report.run_report.report_figures", lambda: losses)
        yield base, tracebacks
    logging.getLogger().removeHandler(tracebacks)


def check_cli(argv, tracebacks, case):
    err, start = io.StringIO(), time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    seconds, err = time.perf_counter() - start, err.getvalue()
    assert seconds < BUDGET, (case, argv[0], seconds)
    assert code in (0, 2) and "Traceback" not in err and not tracebacks.records, (case, argv, code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"aekit {argv[0]}: error: "), (case, err)


def check_python(call, case):
    start = time.perf_counter()
    try:
        call()
    except AekitError as error:
        assert "\n" not in str(error).strip(), (case, str(error))
    assert time.perf_counter() - start < BUDGET, case


READERS = {  # file -> the readers that read it
    "config.yaml": ("load_run", "encode", "report"),
    "model.json": ("aekit.load_model", "load_run", "encode"),
    "summary.json": ("report",),
    "metrics.jsonl": ("report",),
    "preprocessing.json": ("load_run", "encode"),
}
# config.yaml: 'plugins' names code to import and data.name the data to read, each with its own tests (and a
# name such as '/' would read a whole file system); YAML anchors and aliases are never written here.
CONFIG_SKIP = (("plugins",), ("data", "name"))


def read_run(run, reader, tracebacks, case):
    from aekit import load_model
    from aekit.training.run_folder import load_run

    if reader == "load_run":
        check_python(lambda: load_run(run), case)
    elif reader == "aekit.load_model":
        check_python(lambda: load_model(run), case)
    elif reader == "encode":
        check_cli(["encode", str(run), "--out", str(run.parent / "codes.npy")], tracebacks, case)
    else:
        check_cli(["report", str(run)], tracebacks, case)


@pytest.mark.parametrize("name", sorted(READERS))
@SETTINGS
@given(mutation=MUTATION)
def test_fuzz_a_run_file(name, mutation, folders):
    base, tracebacks = folders
    work = Path(tempfile.mkdtemp(dir=base))
    try:
        run = work / "run"
        shutil.copytree(base / "run", run)
        spoil(run / name, mutation, skip=CONFIG_SKIP if name == "config.yaml" else ())
        for reader in READERS[name]:
            read_run(run, reader, tracebacks, (name, mutation))
    finally:
        shutil.rmtree(work, ignore_errors=True)


@SETTINGS
@given(mutation=MUTATION)
def test_fuzz_estimator_json(mutation, folders):
    from aekit import Autoencoder

    base, _ = folders
    work = Path(tempfile.mkdtemp(dir=base))
    try:
        shutil.copytree(base / "estimator", work / "estimator")
        spoil(work / "estimator" / "estimator.json", mutation)
        check_python(lambda: Autoencoder.load(work / "estimator").transform(np.zeros((2, 6), np.float32)),
                     ("estimator.json", mutation))
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def ladder_run(tmp_path_factory):
    """A tiny ladder run on digits (``aekit ladder --dry-run``), copied for each example."""
    base = tmp_path_factory.mktemp("fuzz-ladder")
    assert main(["ladder", "--data", "digits", "--dry-run", "--quiet", "--set", "ladder.hidden=[8]", "--out",
                 str(base), "--name", "run"]) == 0
    return base / "run"


LADDER_READERS = {  # file -> what reads it: the report (ladder.yaml, summary.json, metrics.jsonl), the estimator
    "ladder.yaml": ("report",),
    "summary.json": ("report",),
    "metrics.jsonl": ("report",),
    "estimator.json": ("LadderClassifier.load",),
    "ladder.json": ("LadderClassifier.load",),
}


@pytest.mark.parametrize("name", sorted(LADDER_READERS))
@SETTINGS
@given(mutation=MUTATION)
def test_fuzz_a_ladder_run_file(name, mutation, ladder_run, folders):
    from aekit import LadderClassifier

    _, tracebacks = folders
    work = Path(tempfile.mkdtemp(dir=ladder_run.parent))
    try:
        run = work / "run"
        shutil.copytree(ladder_run, run)
        spoil(run / name, mutation, skip=(("data", "name"),) if name == "ladder.yaml" else ())
        for reader in LADDER_READERS[name]:
            if reader == "report":
                check_cli(["report", str(run), "--out", str(work / "r.html")], tracebacks, (name, mutation))
            else:
                check_python(lambda: LadderClassifier.load(run).predict(np.zeros((2, 64), np.float32)),
                             (name, mutation))
    finally:
        shutil.rmtree(work, ignore_errors=True)
