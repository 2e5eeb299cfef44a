"""The explorer page's choices, without a browser: which code units get sliders (all up to 64, else the 64 of
most variance on the training codes), their ranges, and the map (the code itself when k = 2)."""

import numpy as np

from aekit.report.explore import MAX_SLIDERS, code_map, slider_ranges, slider_units


def test_every_unit_gets_a_slider_up_to_64_and_beyond_that_the_64_of_most_variance():
    rng = np.random.default_rng(0)
    assert slider_units(rng.normal(size=(50, 64))) == list(range(64))
    spread = np.ones(80)
    loud = rng.choice(80, MAX_SLIDERS, replace=False)
    spread[loud] = 5.0  # these 64 units vary five times as much
    assert slider_units(rng.normal(size=(400, 80)) * spread) == sorted(loud.tolist())


def test_slider_ranges_hold_every_code_and_a_variational_prior_draw():
    h = np.random.default_rng(1).normal(size=(100, 3)) * 0.1
    low, high = slider_ranges(h, variational=False)
    assert np.all(low < h.min(axis=0)) and np.all(high > h.max(axis=0)) and np.all(high < 1)
    low, high = slider_ranges(h, variational=True)
    assert np.all(low <= -3) and np.all(high >= 3)


def test_a_2d_code_is_its_own_map_and_a_larger_one_is_projected():
    h = np.random.default_rng(2).normal(size=(30, 2)).astype(np.float32)
    points, method = code_map(h, "tsne")
    assert method == "code" and np.array_equal(points, h)
    points, method = code_map(np.random.default_rng(3).normal(size=(30, 6)), "pca")
    assert method == "PCA" and points.shape == (30, 2)
