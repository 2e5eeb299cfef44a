"""The report's first section says in words when a run did not converge or loses to PCA, and what to try."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from aekit.models import ModelConfig, build_model
from aekit.report.run_report import Metrics, in_short


def run(stop_reason, epochs=20, best=20, linear=False):
    config = ModelConfig.of_kind(hidden=[] if linear else [8], code_size=2, activation="linear" if linear else "relu",
                         output="identity")
    torch.manual_seed(0)
    return SimpleNamespace(summary={"stop_reason": stop_reason, "epochs": epochs, "best_epoch": best}, history=[],
                           run_dir=Path("runs/r"), model=build_model(config, (6,)), rescaling=None,
                           x_train=np.zeros((4, 1, 2, 3)), images=True, sample_word="image", feature_word="pixel")


def metrics(recon, recon_pca, probe=None, probe_pca=None, one_nn=None, one_nn_pca=None):
    m = Metrics()
    m.add("recon_per_image", "reconstruction error per image", recon, recon_pca, "")
    if probe is not None:
        m.add("probe", "probe accuracy", probe, probe_pca, "")
    if one_nn is not None:
        m.add("one_nn", "1-NN accuracy of codes", one_nn, one_nn_pca, "")
    return m


def test_a_model_worse_than_pca_on_both_numbers_is_told_so_with_what_to_try():
    notes = " ".join(in_short(run("converged"), metrics(21.67, 13.75, 0.874, 0.894), 32))
    assert "worse than PCA</b> with 32 components: 21.67 against 13.75 per sample (1.58×)" in notes
    assert "worse features than PCA's</b> for a linear probe (0.874 against 0.894" in notes
    assert "corruption.masking" in notes and "budget" not in notes
    assert "Training converged after 20 epochs" in notes and "weights of epoch 20" in notes


def test_the_budget_and_a_fixed_count_still_improving_are_named():
    notes = " ".join(in_short(run("budget"), metrics(7.6, 13.75), 32))
    assert "stopped on its budget of 20 epochs" in notes and "--resume runs/r --epochs 40" in notes
    assert "better than PCA with 32 components: 7.6 against 13.75 per sample (0.55×)" in notes
    notes = " ".join(in_short(run("completed", epochs=10, best=10), metrics(7.6, 13.75), 32))
    assert "fixed 10 epochs and the last was the best" in notes
    assert "fixed" not in " ".join(in_short(run("completed", epochs=10, best=6), metrics(7.6, 13.75), 32))


def test_a_linear_model_is_measured_against_pca_as_its_optimum():
    notes = " ".join(in_short(run("converged", linear=True), metrics(10.5, 10.0), 2))
    assert "can at best match PCA with 2 components" in notes and "1.050× PCA's" in notes
    assert "worse than PCA" not in notes


def test_codes_whose_nearest_neighbours_lose_to_pca_are_told_so():
    notes = " ".join(in_short(run("converged"), metrics(7.6, 13.75, 0.95, 0.90, 0.794, 0.902), 32))
    assert "separate the classes less well than PCA's</b> for nearest neighbours" in notes
    assert "0.794 of the time, against 0.902 with PCA codes" in notes
    notes = " ".join(in_short(run("converged"), metrics(7.6, 13.75, 0.95, 0.90, 0.91, 0.902), 32))
    assert "at least as well as PCA's for nearest neighbours (1-NN accuracy 0.910 against 0.902)" in notes


def test_every_stop_reason_reads_with_the_runs_own_settings():
    from aekit.training.trainer import STOP_REASONS, TrainConfig, stop_reason_text

    config = TrainConfig(tol=0.01, patience=4, max_epochs=50)
    text = stop_reason_text("converged", config)
    assert text == "the validation loss did not improve by more than tol = 0.01 (relative) for patience = 4 epochs"
    assert stop_reason_text("converged", TrainConfig(), validation=False).startswith("the training loss")
    assert "patience = 10 epochs" in stop_reason_text("converged", TrainConfig())  # epochs: auto's patience
    assert "max_epochs = 50" in stop_reason_text("budget", config)
    assert "(7)" in stop_reason_text("completed", TrainConfig(epochs=7))
    for reason in STOP_REASONS:
        assert "{" not in stop_reason_text(reason, config) and stop_reason_text(reason, config)
    assert stop_reason_text(None, config) == "" and stop_reason_text("unheard-of", config) == ""


def test_the_training_row_of_a_report_names_tol_and_patience(tmp_path):
    from aekit.analysis.run_analysis import load_run_analysis
    from aekit.report.run_report import _summary_rows
    from aekit.training.run import train
    from aekit.training.run_config import make_config

    config = make_config(overrides=["data.name=digits", "data.limit=160", "model.hidden=[16]", "model.code_size=4",
                                    "train.epochs=auto", "train.max_epochs=6", "train.tol=0.9", "train.patience=1",
                                    f"out={tmp_path}", "name=r"])
    result = train(config)
    assert result.stop_reason == "converged"
    row = dict(_summary_rows(load_run_analysis(result.run_dir)))["training"]
    assert "stopped: the validation loss did not improve by more than tol = 0.9 (relative) for patience = 1 epochs" in row
    assert "tol," not in row and "patience epochs" not in row


def test_the_metrics_table_has_the_1nn_accuracy_of_the_code_space_figure(tmp_path):
    from aekit.analysis.embedding import compare_embeddings
    from aekit.analysis.run_analysis import SEED, load_run_analysis
    from aekit.analysis.run_metrics import compute_metrics
    from aekit.training.run import train
    from aekit.training.run_config import make_config

    config = make_config(overrides=["data.name=digits", "data.limit=160", "model.hidden=[16]", "model.code_size=4",
                                    "train.epochs=1", f"out={tmp_path}", "name=r"])
    data = load_run_analysis(train(config).run_dir)
    metrics = compute_metrics(data)
    flat = data.x_test.reshape(len(data.x_test), -1)
    drawn = compare_embeddings(data.h_test, data.x_test, data.y_test, data.x_train, random_state=SEED,
                               pca_test=data.pca.transform(flat))
    assert metrics.values["one_nn"] == drawn.autoencoder.one_nn  # the same points, the same number
    assert metrics.baselines["one_nn"] == pytest.approx(drawn.pca.one_nn, abs=1 / len(data.x_test))
    assert any(row[0] == "1-NN accuracy of codes" for row in metrics.rows)
