"""experiments/ladder.py --quick runs end to end: every method is fitted on the same draw, the test
split is scored once per fit, and the report states the budget when it is not the default."""

from _experiments import load_experiment


def test_quick_run_and_report():
    experiment = load_experiment("ladder")
    results = experiment.run(experiment.QUICK, log=lambda message: None)
    for name in experiment.METHODS:
        assert len(results[name]["error"]) == len(experiment.QUICK.draws)
        assert all(0 <= e <= 100 for e in results[name]["error"])
    text = experiment.report(results, experiment.QUICK, 1.0, "cmd")
    assert "`cmd`" in text and "instead of the default 150" in text
    assert "| the same MLP on the labelled images alone" in text and "Paired by draw" in text
