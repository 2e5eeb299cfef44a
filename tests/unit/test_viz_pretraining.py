"""Figures of the pretraining results: the label-budget curve and the layer-wise stages."""

from aekit.training.labelcurve import Point
from aekit.viz.labelcurve import label_curve_figure
from aekit.viz.layerwise import stage_curves_figure


def test_label_curve_draws_one_line_per_method_on_a_log_axis():
    points = [Point(m, n, [0.5 + 0.1 * i, 0.55 + 0.1 * i]) for i, m in enumerate(("raw", "finetune"))
              for n in (10, 100, 1000)]
    ax = label_curve_figure(points).axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "labelled training examples" and ax.get_ylabel() == "test accuracy"
    assert len(ax.get_lines()) >= 2  # one data line per method (error-bar caps are extra lines)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["logistic regression, raw inputs", "pretrained encoder, fine-tuned"]
    xs = sorted(set(ax.containers[0].lines[0].get_xdata()))
    assert xs == [10, 100, 1000]


def test_stage_curves_one_panel_per_stage_with_train_and_validation():
    stage = [{"epoch": e, "train/loss": 10 - e, "val/loss": 11 - e} for e in (1, 2, 3)]
    fig = stage_curves_figure([stage, stage, stage[:2]])
    assert [ax.get_title() for ax in fig.axes] == ["stage 1", "stage 2", "stage 3"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2, 2]
    assert list(fig.axes[2].get_lines()[0].get_xdata()) == [1, 2]
    assert fig.axes[0].get_ylabel() == "loss per sample"
