"""First-layer filters as a mosaic: one tile per unit, each scaled to its own largest weight."""

import math

import numpy as np
import pytest
import torch

from aekit.models import ModelConfig, build_model
from aekit.viz import filters_figure


def model(**kw):
    torch.manual_seed(0)
    return build_model(ModelConfig.of_kind(output="sigmoid", **kw), (1, 8, 8))


def tile(mosaic, i, cols, h, w):
    r, c = divmod(i, cols)
    return mosaic[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w]


def test_one_tile_per_hidden_unit_scaled_to_its_own_range():
    m = model(hidden=[12], code_size=3)
    fig = filters_figure(m)
    (ax,) = fig.axes
    mosaic = ax.images[0].get_array()
    cols = math.ceil(math.sqrt(12))  # 4 x 3 tiles of 8 x 8
    assert mosaic.shape == (3 * 9 - 1, 4 * 9 - 1)
    weight = m.encoder.body[1].weight.detach().numpy()  # (12, 64)
    for i in (0, 11):
        expected = (weight[i] / np.abs(weight[i]).max()).reshape(8, 8)
        np.testing.assert_allclose(tile(mosaic, i, cols, 8, 8), expected, rtol=1e-5)
    assert ax.images[0].get_cmap().name == "RdBu_r" and ax.images[0].get_clim() == (-1, 1)
    assert ax.get_title() == "first hidden layer: all 12 filters, each scaled to its own range"


def test_at_most_max_filters_are_drawn_and_the_title_says_so():
    fig = filters_figure(model(hidden=[30], code_size=3), max_filters=9)
    assert fig.axes[0].images[0].get_array().shape == (3 * 9 - 1, 3 * 9 - 1)
    assert "9 of 30 filters" in fig.axes[0].get_title()


@pytest.mark.parametrize("variational", [False, True])
def test_without_a_hidden_layer_the_code_layer_is_drawn(variational):
    fig = filters_figure(model(hidden=[], code_size=4, variational=variational))
    assert fig.axes[0].images[0].get_array().shape == (2 * 9 - 1, 2 * 9 - 1)  # 4 tiles, not 8 (mu's rows only)
    assert fig.axes[0].get_title().startswith("code layer")


def test_a_conv_encoder_shows_its_first_kernels():
    fig = filters_figure(model(kind="conv", channels=[5, 4], kernel_size=3, code_size=2))
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic.shape == (2 * 4 - 1, 3 * 4 - 1)  # 5 kernels of 3 x 3 on a 3-column grid
    assert "first convolution, 3x3 kernels: all 5 filters" in fig.axes[0].get_title()
