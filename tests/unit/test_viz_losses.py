"""Loss curves: one panel per logged term, training and validation lines, the best epoch marked."""

import numpy as np
import pytest

from aekit.viz import loss_curves_figure
from aekit.viz.losses import splits_of, splits_text, terms_of


def history(terms=("recon", "l1"), epochs=4, best=3):
    records = []
    for e in range(1, epochs + 1):
        record = {"epoch": e, "lr": 1e-3, "seconds": 0.1, "best_epoch": best}
        for split, offset in (("train", 0.0), ("val", 1.0)):
            values = {t: 10.0 / e + offset + i for i, t in enumerate(terms)}
            values["loss"] = sum(values.values())
            record.update({f"{split}/{t}": v for t, v in values.items()})
        records.append(record)
    return records


def visible(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_one_panel_per_term_with_the_total_first():
    h = history(("recon", "l1"))
    assert terms_of(h) == ["loss", "recon", "l1"]
    fig = loss_curves_figure(h)
    axes = visible(fig)
    assert [ax.get_title() for ax in axes] == ["total loss", "reconstruction", "L1 sparsity"]
    for ax in axes:
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss per sample"
        train, val = ax.get_lines()[:2]
        assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
        # the marker tells them apart too, where no line is drawn (one epoch) or dashes hide (many)
        assert train.get_marker() == val.get_marker() == "o" and val.get_markerfacecolor() == "white"
        assert train.get_markerfacecolor() != "white"
    recon_train, recon_val = axes[1].get_lines()[:2]
    np.testing.assert_allclose(recon_train.get_ydata(), [r["train/recon"] for r in h])
    np.testing.assert_allclose(recon_val.get_ydata(), [r["val/recon"] for r in h])
    np.testing.assert_allclose(recon_train.get_xdata(), [1, 2, 3, 4])


def test_best_epoch_is_marked_in_every_panel():
    fig = loss_curves_figure(history(best=2))
    for ax in visible(fig):
        marker = ax.get_lines()[2]
        assert list(marker.get_xdata()) == [2, 2] and "best epoch 2" in marker.get_label()


def test_a_single_term_gets_one_panel_and_no_total():
    fig = loss_curves_figure(history(("recon",)))
    assert [ax.get_title() for ax in visible(fig)] == ["reconstruction"]


def test_a_run_without_validation_draws_training_lines_only():
    h = [{k: v for k, v in r.items() if not k.startswith("val/")} for r in history(("recon", "kl"))]
    fig = loss_curves_figure(h)
    assert [ax.get_title() for ax in visible(fig)] == ["total loss", "reconstruction", "KL(q(h|x) || p(h))"]
    assert all([line.get_label() for line in ax.get_lines()][0] == "training" for ax in visible(fig))
    assert all("validation" not in [line.get_label() for line in ax.get_lines()] for ax in visible(fig))


def test_one_epoch_is_a_tick_at_1_and_a_dot_per_split():
    fig = loss_curves_figure(history(("recon",), epochs=1, best=1))
    ax = visible(fig)[0]
    low, high = ax.get_xlim()
    assert [t for t in ax.get_xticks() if low <= t <= high] == [1]  # not 0.95, 0.96, ... 1.05
    train, val = ax.get_lines()[:2]
    assert len(train.get_xdata()) == 1 and train.get_marker() == "o" and val.get_markerfacecolor() == "white"


def test_many_epochs_thin_the_markers_so_the_dashes_show():
    ax = visible(loss_curves_figure(history(("recon",), epochs=100, best=90)))[0]
    assert ax.get_lines()[1].get_markevery() == 9  # at most 12 markers on 100 points


@pytest.mark.parametrize("epochs, validation, expected", [
    (1, True, "One epoch: each curve is a single point, a filled dot the training set and an open dot the validation set."),
    (5, True, "The solid line with filled dots is the training set; the dashed line with open dots the validation set."),
    (5, False, "The solid line with filled dots is the training set (the run has no validation split)."),
])
def test_the_caption_names_the_styles_the_figure_draws(epochs, validation, expected):
    h = history(("recon",), epochs=epochs, best=1)
    if not validation:
        h = [{k: v for k, v in r.items() if not k.startswith("val/")} for r in h]
    assert splits_of(h) == (["train", "val"] if validation else ["train"])
    assert splits_text(splits_of(h), epochs) == expected
    lines = visible(loss_curves_figure(h))[0].get_lines()
    styles = {line.get_label(): (line.get_linestyle(), line.get_markerfacecolor() == "white") for line in lines}
    assert styles["training"] == ("-", False)
    assert ("validation" in styles) is validation and styles.get("validation", ("--", True)) == ("--", True)


def test_empty_history_is_an_error_that_says_why():
    with pytest.raises(ValueError, match="no loss terms"):
        loss_curves_figure([])


def test_a_loss_that_spans_decades_gets_a_log_axis_and_a_flat_one_does_not():
    from aekit.viz.losses import spans_decades

    assert spans_decades([900.0, 30.0, 2.9, None]) and not spans_decades([3.0, 2.5, 2.1])
    assert not spans_decades([5.0, -1.0, 0.2])  # a term that can be negative stays linear
    falling = [{"epoch": e, "lr": 1e-3, "seconds": 0.1, "best_epoch": e, "train/recon": 900.0 / e ** 2,
                "val/recon": 950.0 / e ** 2} for e in range(1, 11)]
    flat = [{**r, "train/recon": 3.0 - 0.1 * r["epoch"], "val/recon": 3.1 - 0.1 * r["epoch"]} for r in falling]
    assert [ax.get_yscale() for ax in visible(loss_curves_figure(falling))] == ["log"]
    assert [ax.get_yscale() for ax in visible(loss_curves_figure(flat))] == ["linear"]
