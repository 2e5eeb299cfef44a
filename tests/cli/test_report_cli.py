"""``aekit train`` ends with the run's report; ``aekit report`` rebuilds one or compares several."""

import subprocess
import sys

import pytest

from aekit.cli import main

TINY = ["--dry-run", "--quiet", "--data", "digits", "--set", "model.hidden=[16]", "--set", "model.code_size=3"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", *TINY, "--out", str(out), "--name", "a"]) == 0
    assert main(["train", *TINY, "--out", str(out), "--name", "b", "--no-report",
                 "--set", "corruption.gaussian=0.2"]) == 0
    return out


def test_train_ends_with_the_report_and_the_run_folder_last(runs, capsys, tmp_path):
    assert main(["train", *TINY, "--out", str(tmp_path), "--name", "c"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == str(tmp_path / "c")
    assert lines[-2].startswith(f"report: {tmp_path / 'c' / 'report.html'} (7 figures, ")
    figures = sorted(p.name for p in (tmp_path / "c" / "figures").iterdir())
    assert figures == sorted(f"{k}.png" for k in ("pipeline", "losses", "embedding", "manifold", "traversals",
                                                   "interpolations", "filters"))
    html = (tmp_path / "c" / "report.html").read_text()
    assert html.count("<img ") == 7 and "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch


def test_no_report_skips_it_and_report_builds_it_later(runs, capsys):
    run = runs / "b"
    assert not (run / "report.html").exists() and not (run / "figures").exists()
    assert main(["report", str(run)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == str(run / "report.html")
    assert "8 figures (" in lines[0] and "denoising" in lines[0]  # a denoising run gets its figure
    assert (run / "figures" / "denoising.png").stat().st_size > 1000


def test_report_out_writes_elsewhere(runs, capsys, tmp_path):
    assert main(["report", str(runs / "a"), "--out", str(tmp_path / "mine.html")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(tmp_path / "mine.html")
    assert "<figure" in (tmp_path / "mine.html").read_text()


def test_several_runs_are_compared_on_one_page(runs, capsys, tmp_path):
    out = tmp_path / "compare.html"
    assert main(["report", str(runs / "a"), str(runs / "b"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    html = out.read_text()
    assert html.count('data-figure="') == 2 and "<th>a</th><th>b</th>" in html


def test_a_folder_that_is_not_a_run_is_one_line_of_error(capsys, tmp_path):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aekit report: error: ") and "is not a finished run folder" in err
    assert len(err.splitlines()) == 1


def test_help_imports_neither_torch_nor_matplotlib():
    code = ("import sys\nfrom aekit.cli import main\n"
            "for argv in (['--help'], ['report', '--help'], ['train', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--no-report" in result.stdout and "RUN [RUN ...]" in result.stdout
    assert result.stdout.strip().endswith("[]")


def test_report_shows_layerwise_stages_label_curve_and_finetuned_classifiers(tmp_path, capsys):
    from aekit.cli import main

    out = tmp_path / "runs"
    assert main(["train", "--dry-run", "--quiet", "--no-report", "--out", str(out), "--name", "lw",
                 "--set", "model.hidden=[32, 16]", "--set", "model.code_size=4",
                 "--set", "layerwise.enabled=true", "--set", "layerwise.epochs=1"]) == 0
    run = out / "lw"
    assert main(["finetune", str(run), "--labels", "20", "--quiet", "--set", "epochs=1", "--freeze-epochs", "1"]) == 0
    assert main(["labelcurve", str(run), "--budgets", "20", "--draws", "2", "--set", "epochs=1",
                 "--set", "freeze_epochs=1"]) == 0
    assert main(["report", str(run)]) == 0
    capsys.readouterr()
    html = (run / "report.html").read_text()
    assert (run / "figures" / "layerwise.png").is_file() and (run / "figures" / "labelcurve.png").is_file()
    assert "Greedy layer-wise pretraining, stage by stage" in html and "3 stages in all" in html
    assert "Label budget: what pretraining buys" in html
    assert "Classifiers fine-tuned from this encoder" in html and "finetune-20-softmax" in html
