"""The sparsity figure: a histogram of every code entry and each unit's mean activation vs the target."""

import numpy as np
import pytest

from aekit.viz import sparsity_figure


def sparse_codes():
    rng = np.random.default_rng(0)
    h = rng.uniform(0, 1, size=(200, 6)) * (rng.uniform(size=(200, 6)) < 0.2)  # about 80 % exact zeros
    return h.astype(np.float32)


def test_histogram_counts_every_entry_and_titles_the_near_zero_share():
    h = sparse_codes()
    fig = sparsity_figure(h)
    ax_hist, ax_units = fig.axes
    assert sum(p.get_height() for p in ax_hist.patches) == h.size
    near_zero = 100 * (np.abs(h) < 0.01).mean()
    assert ax_hist.get_title() == f"all {h.size:,} code entries: {near_zero:.1f} % with |h| < 0.01"
    assert ax_hist.get_yscale() == "log"
    assert (ax_hist.get_xlabel(), ax_hist.get_ylabel()) == ("code activation h_j", "count (log scale)")


def test_one_bar_per_unit_at_its_mean_activation_and_the_target_line():
    h = sparse_codes()
    fig = sparsity_figure(h, target=0.05)
    ax_units = fig.axes[1]
    np.testing.assert_allclose([p.get_height() for p in ax_units.patches], h.mean(axis=0), rtol=1e-6)
    levels = {line.get_label(): line.get_ydata()[0] for line in ax_units.get_lines()}
    assert levels["target rho = 0.05"] == 0.05
    assert ax_units.get_ylabel() == "mean activation rho_hat_j"


def test_no_target_line_without_a_target():
    fig = sparsity_figure(sparse_codes())
    assert not [line for line in fig.axes[1].get_lines() if line.get_label().startswith("target")]


@pytest.mark.parametrize("signed, edges", [(False, 1), (True, 2)])
def test_threshold_marked_on_each_side_that_has_values(signed, edges):
    h = sparse_codes() - (0.5 if signed else 0.0)
    fig = sparsity_figure(h, threshold=0.02)
    marks = [line for line in fig.axes[0].get_lines()]
    assert sorted(abs(line.get_xdata()[0]) for line in marks) == [0.02] * edges
