"""experiments/full_mnist_defaults.py --quick runs end to end (here on digits, which needs no download):
each model is trained by the tour's helper, compared with PCA of its own code size on the same training
rows, and the table says which of them meet the issue's three conditions; a second run reuses the runs."""

import numpy as np
from _experiments import load_experiment


def test_quick_run_compares_each_model_with_pca_of_its_code_and_reuses_its_runs(tmp_path, monkeypatch):
    experiment = load_experiment("full_mnist_defaults")
    monkeypatch.setattr(experiment, "report_seconds", lambda run_dir: 1.5)  # the real one is a 15 s subprocess
    rows = experiment.run(tmp_path, True, log=lambda message: None, data_name="digits")
    assert [r["key"] for r in rows] == ["default", "deep", "hinton2006"]
    for r in rows:
        assert np.isclose(r["ratio"], r["error"] / r["pca_error"]) and r["pca_error"] > 0
        assert r["epochs"] == 2 and not r["reused"]
    assert [r["code_size"] for r in rows][1:] == [30, 30]  # the presets fix k; the default picks it for the data
    again = experiment.run(tmp_path, True, log=lambda message: None, data_name="digits")
    assert all(r["reused"] for r in again) and [r["error"] for r in again] == [r["error"] for r in rows]
    text = experiment.report(rows, "cmd", 1, 3.0)
    assert "`cmd`" in text and text.count("| `") >= 1 and "0 of 3 do" in text  # 2 epochs converge nowhere
