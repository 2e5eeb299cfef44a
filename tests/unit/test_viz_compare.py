"""Comparison figures: the same inputs through each run, and every run's validation curves."""

import numpy as np

from aekit.viz import reconstructions_figure, validation_curves_figure


def test_one_row_of_inputs_then_one_row_per_run_labelled_with_its_error():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, 1, 6, 6)).astype(np.float32)
    runs = {"a": x, "b": np.zeros_like(x)}
    fig = reconstructions_figure(x, runs, (1, 6, 6))
    (ax,) = fig.axes
    assert ax.images[0].get_array().shape == (3 * 7 - 1, 5 * 7 - 1)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["input x", "a (0)", f"b ({(x ** 2).reshape(5, -1).sum(1).mean():.3g})"]
    np.testing.assert_allclose(ax.images[0].get_array()[14:20, 0:6], 0.0)  # run b's first reconstruction


def test_validation_curves_have_a_line_per_run_in_each_panel():
    histories = {name: [{"epoch": e, "val/recon": 10 / e + i, "val/loss": 11 / e + i} for e in (1, 2, 3)]
                 for i, name in enumerate(["a", "b", "c"])}
    fig = validation_curves_figure(histories)
    assert [ax.get_title() for ax in fig.axes] == ["validation reconstruction", "validation total loss"]
    for ax in fig.axes:
        assert [line.get_label() for line in ax.get_lines()] == ["a", "b", "c"]
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_ydata(), [11, 6, 10 / 3 + 1])
