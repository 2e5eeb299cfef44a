"""experiments/anomaly_odds.py end to end on two small synthetic .mat tables (the ODDS files live outside the
repository, in ../shared/data/odds, so CI never needs them): split, standardise, every detector, the report and
the README block with its computed targets."""

import numpy as np
import pytest
from _experiments import load_experiment


def write_mat(path, n=120, d=5, outliers=12, seed=0):
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(2, d))
    x = rng.normal(size=(n, 2)) @ basis * 50 + 100  # inliers near a plane, far from unit scale
    y = np.zeros(n, dtype=int)
    y[:outliers] = 1
    x[:outliers] = rng.normal(size=(outliers, d)) * 120 + 100  # off the plane
    savemat(path, {"X": x, "y": y[:, None]})


@pytest.mark.slow
def test_the_odds_comparison_runs_on_small_tables_and_writes_its_block(tmp_path):
    odds = load_experiment("anomaly_odds")
    for i, name in enumerate(("toy_a", "toy_b")):
        write_mat(tmp_path / f"{name}.mat", seed=i)
    setup = odds.Setup(sets=("toy_a", "toy_b"), seeds=(0,), variants={"no noise": {"noise": None}}, pyod=False,
                       max_epochs=20, folder=tmp_path)
    rows = odds.run(setup, log=lambda message: None)
    assert [r["set"] for r in rows] == ["toy_a", "toy_b"] and rows[0]["n_train"] == 72  # 60 % of 120
    for row in rows:
        assert set(row["test"]) == {"detector", "no noise", "pca", "iforest"}
        assert all(0 <= v <= 1 for v in row["test"].values())
        assert row["info"]["detector"]["loss"] == "mse"
        assert row["test"]["pca"] > 0.8  # the outliers sit off the plane PCA keeps
    text = odds.report(rows, setup, 1.0, "cmd")
    assert "| toy_a | 120 | 5 | 12 |" in text and "Training-row ROC-AUC" in text
    block = odds.readme(rows, setup, 1.0, "cmd")
    assert "Targets for `AutoencoderOutlierDetector()`: at least PCA's: " in block
