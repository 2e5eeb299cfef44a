"""Your own table through the README's CSV line: standardised on its training rows by default (data.rescale:
auto), squared error (loss.reconstruction: auto), better than PCA, answered in the table's own units, and a
report that speaks of rows and features, never of images."""

import json
import re

import numpy as np
import pytest
import yaml

from aekit.cli import main
from aekit.training.run_folder import load_run


def write_csv(path, x, y=None, names=None):
    header = ",".join(names + (["label"] if y is not None else [])) + "\n" if names is not None else ""
    rows = [",".join(f"{v:.6g}" for v in row) + (f",{int(label)}" if y is not None else "")
            for row, label in zip(x, y if y is not None else [None] * len(x))]
    path.write_text(header + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """scikit-learn's wine table (178 x 13, features from 0.1 to 1,680) as a CSV with its header, trained by the
    README's line with nothing added."""
    from sklearn.datasets import load_wine

    data = load_wine()
    folder = tmp_path_factory.mktemp("wine")
    path = write_csv(folder / "wine.csv", data.data, data.target, list(data.feature_names))
    code = main(["train", "--data", str(path), "--set", "data.label_column=-1", "--quiet", "--out", str(folder),
                 "--name", "run"])
    assert code == 0
    return folder / "run", data.data


def test_the_readme_csv_line_standardises_a_table_and_beats_pca_in_standardised_units(wine):
    from sklearn.decomposition import PCA

    run_dir, _ = wine
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (config["data"]["rescale"], config["loss"]["reconstruction"]) == ("standard", "mse")  # auto, resolved
    assert (config["train"]["start"], config["train"]["batch_size"]) == ("pca", 16)  # a table's: 124 rows // 20 < 16
    pre = json.loads((run_dir / "preprocessing.json").read_text())
    assert pre["kind"] == "standard" and len(pre["mean"]) == 13
    run = load_run(run_dir)
    data = run.prepared_splits()
    x_train, _, x_test = data.arrays()
    assert abs(x_train.mean(0)).max() < 1e-4 and np.allclose(x_train.std(0), 1, atol=1e-3)
    k = run.model.config.code_size
    pca = PCA(n_components=k).fit(x_train)
    pca_error = float(((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2).sum(1).mean())
    ours = json.loads((run_dir / "summary.json").read_text())["test"]["recon"]
    assert ours < pca_error, (ours, pca_error)


def test_a_run_reads_its_rescaling_from_preprocessing_json_instead_of_fitting_it_again(wine, tmp_path):
    import shutil

    run_dir, _ = wine
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    pre = json.loads((copy / "preprocessing.json").read_text())
    pre["mean"] = [m + 1.0 for m in pre["mean"]]  # a rescaling no refit would give
    (copy / "preprocessing.json").write_text(json.dumps(pre))
    original, edited = load_run(run_dir).prepared_splits().arrays()[2], load_run(copy).prepared_splits().arrays()[2]
    np.testing.assert_allclose(edited, original - np.asarray(pre["scale"], np.float32), rtol=1e-4, atol=1e-4)


def test_reconstruct_defaults_to_the_test_split_in_the_tables_own_units(wine, tmp_path, capsys):
    run_dir, x = wine
    code = main(["reconstruct", str(run_dir), "--out", str(tmp_path / "r.npy")])
    out = capsys.readouterr().out
    assert code == 0 and "the run's test split; --split all" in out and "standard rescaling inverted" in out
    recon = np.load(tmp_path / "r.npy")
    n_test = json.loads((run_dir / "summary.json").read_text())["n_test"]
    assert recon.shape == (n_test, 13)
    # in the table's units: proline (column 13) is in the hundreds, hue (column 11) about 1
    assert 200 < recon[:, 12].mean() < 1700 and 0.4 < recon[:, 10].mean() < 1.8


def test_the_report_of_a_table_names_features_and_draws_no_images(wine):
    from aekit.report import build_report

    run_dir, _ = wine
    report = build_report(run_dir)
    assert {"feature_errors", "worst_features", "scores", "losses", "embedding"} <= set(report.figures)
    assert not {"pipeline", "manifold", "traversals", "interpolations", "filters"} & set(report.figures)
    page = report.path.read_text()
    shown = page[:page.index("Figures that do not apply")]  # the reasons may say the samples are not images
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<img[^>]*>", "", shown))
    assert not re.search(r"\b(pixel|digit|image)s?\b", text), re.search(r".{80}\b(pixel|digit|image)s?\b.{40}", text)
    from sklearn.datasets import load_wine

    named = [name for name in load_wine().feature_names if re.search(rf"\b{name}\b", text)]
    assert len(named) >= 4, named  # the worst features, named from the CSV header
    assert "standardised on the training rows (data.rescale: standard)" in text


def test_the_report_says_when_features_far_from_unit_scale_went_in_as_they_are(tmp_path):
    from aekit.analysis.run_analysis import load_run_analysis
    from aekit.report.run_report import scaling_note

    rng = np.random.default_rng(0)
    path = write_csv(tmp_path / "t.csv", rng.normal(size=(80, 4)) * [1, 10, 100, 1000])
    assert main(["train", "--dry-run", "--quiet", "--no-report", "--data", str(path), "--set", "data.rescale=none",
                 "--out", str(tmp_path), "--name", "raw"]) == 0
    note = scaling_note(load_run_analysis(tmp_path / "raw"))
    assert "far from unit scale" in note and "data.rescale: standard" in note


def test_a_constant_column_is_scaled_to_zero_and_given_back_as_its_constant(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4)) * 50 + 300
    x[:, 2] = 7.5
    path = write_csv(tmp_path / "c.csv", x, names=["a", "b", "const", "d"])
    assert main(["train", "--dry-run", "--quiet", "--no-report", "--data", str(path), "--out", str(tmp_path),
                 "--name", "c"]) == 0
    pre = json.loads((tmp_path / "c" / "preprocessing.json").read_text())
    assert pre["scale"][2] == 0.0 and pre["mean"][2] == pytest.approx(7.5)
    assert main(["reconstruct", str(tmp_path / "c"), "--split", "all", "--out", str(tmp_path / "r.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "r.npy")[:, 2], 7.5)


@pytest.mark.parametrize("setting, pattern", [
    ("data.rescale=zscore", r"The 'data.rescale' parameter must be a str among \{'auto', 'standard', 'minmax', "
                            r"'none'\}. Got 'zscore' instead"),
    ("loss.reconstruction=bce", r"values in \[-?\d.*\] but cross-entropy \(loss.reconstruction: bce\) needs data "
                                r"in \[0, 1\]. Set data.rescale: minmax"),
])
def test_bad_scaling_choices_are_one_line_and_write_no_run_folder(setting, pattern, tmp_path, capsys):
    path = write_csv(tmp_path / "t.csv", np.random.default_rng(0).normal(size=(60, 3)) * 100)
    code = main(["train", "--dry-run", "--quiet", "--data", str(path), "--set", setting, "--out",
                 str(tmp_path / "runs"), "--name", "r"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and re.search(pattern, err), err
    assert not (tmp_path / "runs" / "r").exists()
