"""The L1 penalty's default weight comes from a choice on the validation split: experiments/sparse_lambda.py
never reads the test split, picks by its stated rule, and the library ships what its committed results chose."""

import re
from pathlib import Path

import pytest
from _experiments import load_experiment

from aekit.objectives.sparse import L1

RESULTS = Path(__file__).parents[2] / "experiments" / "results" / "sparse_lambda.md"


class _Untouchable:
    """Stands in for the test split: any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the selection read the test split ({name})")

    def __len__(self):
        raise AssertionError("the selection read the test split (len)")


@pytest.fixture(scope="module")
def experiment():
    return load_experiment("sparse_lambda")


def test_the_selection_never_reads_the_test_split(experiment, tmp_path):
    split_dataset = experiment.split_dataset

    def without_test(*args, **kwargs):
        splits = split_dataset(*args, **kwargs)
        splits.test = _Untouchable()
        return splits

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experiment, "split_dataset", without_test)
        out = tmp_path / "sparse_lambda.md"
        results = experiment.main(["--quick", "--out", str(out)])  # the script's tiny mode, end to end
    assert results["chosen"] in experiment.QUICK.lambdas
    assert set(results["scores"]) == {0.0, *experiment.QUICK.lambdas}
    assert "**Chosen: λ = " in out.read_text() and "the test split is not read" in out.read_text()


def test_the_rule_takes_the_largest_weight_within_ten_percent_of_no_penalty(experiment):
    scores = {0.0: 100.0, 0.01: 101.0, 0.03: 109.9, 0.1: 110.1, 0.3: 130.0}
    chosen, _ = experiment._select([0.01, 0.03, 0.1, 0.3], scores.get, lambda: scores[0.0])
    assert chosen == 0.03
    chosen, text = experiment._select([0.1, 0.3], {0.1: 120.0, 0.3: 140.0}.get, lambda: 100.0)
    assert chosen == 0.1 and "none within the tolerance" in text  # none within: the smallest


def test_the_library_ships_the_weight_the_committed_selection_chose():
    chosen = re.search(r"\*\*Chosen: λ = ([0-9.e-]+)\*\*", RESULTS.read_text())
    assert chosen is not None, "experiments/results/sparse_lambda.md states its choice"
    assert L1().weight == float(chosen.group(1))


def test_no_test_split_sweep_is_left_in_the_repository():
    experiments = RESULTS.parents[1]
    assert not (experiments / "sparse.py").exists() and not (experiments / "results" / "sparse.md").exists()
