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


def test_a_ladder_fit_keeps_a_checkpoint_and_a_second_run_reads_it(tmp_path):
    from dataclasses import replace

    experiment = load_experiment("ladder")
    setup = replace(experiment.QUICK, variant="gamma", methods=("ladder",), work=tmp_path)
    first = experiment.run(setup, log=lambda message: None)
    kept = list(tmp_path.glob("*.pt"))
    assert [p.name for p in kept] == ["mnist5k-ladder-gamma-100-e2-draw0.pt"]
    kept[0].touch()
    again = experiment.run(setup, log=lambda message: None)  # every epoch from the checkpoint: no training
    assert again["ladder"]["error"] == first["ladder"]["error"]
    assert again["ladder"]["cpu"][0] < first["ladder"]["cpu"][0]
    text = experiment.report(first, setup, 1.0, "cmd")
    assert "variant='gamma'" in text and "0.5 at the top" in text and "Paired by draw" not in text
