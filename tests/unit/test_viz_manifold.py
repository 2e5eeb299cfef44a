"""Decoder figures: the grid over two code dimensions, traversals, interpolations, prior samples."""

import numpy as np
import pytest
import torch

from aekit.errors import ConfigError
from aekit.models import ModelConfig, build_model
from aekit.viz import interpolation_figure, manifold_figure, prior_samples_figure, traversal_figure
from aekit.viz.manifold import dimensions_by_effect, dimensions_by_spread, sweep_values, typical_code

SIDE = 8
TILE = 2 * SIDE  # 8x8 images are drawn enlarged twice (MIN_TILE = 16 pixels)


def tiny(code_size=3, variational=False):
    torch.manual_seed(0)
    return build_model(ModelConfig.of_kind(hidden=[8], code_size=code_size, output="sigmoid", variational=variational),
                       (1, SIDE, SIDE)).eval()


def codes(n=50, k=3):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(n, k)) * np.arange(1, k + 1)).astype(np.float32)  # dim k-1 spreads most


def cell(mosaic, row, col):
    """The image in a mosaic's cell, at its own size (every other pixel of the enlarged tile)."""
    return mosaic[row * (TILE + 1) : row * (TILE + 1) + TILE : 2, col * (TILE + 1) : col * (TILE + 1) + TILE : 2]


def ignoring(model, dim):
    """``model`` with its decoder deaf to code unit ``dim`` (that column of its first layer zeroed)."""
    first = next(m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        first.weight[:, dim] = 0
    return model


def test_the_grid_leaves_out_a_dimension_the_decoder_ignores_however_much_it_spreads():
    model, h = ignoring(tiny(), 2), codes()
    assert dimensions_by_spread(h, 2) == [2, 1]  # h3 spreads most ...
    assert 2 not in dimensions_by_effect(model, h, 2)  # ... but changes nothing
    assert dimensions_by_effect(model, h, 3)[-1] == 2
    (ax,) = manifold_figure(model, h, steps=5).axes
    assert "h3" not in (ax.get_xlabel(), ax.get_ylabel())


@pytest.mark.parametrize("deaf", [False, True])
def test_the_caption_says_when_no_dimension_changes_the_decoding(deaf):
    from types import SimpleNamespace

    from aekit.viz.manifold import ManifoldFigure

    model, h = tiny(), codes()
    if deaf:
        for dim in range(3):
            ignoring(model, dim)
    x = torch.rand(20, 1, SIDE, SIDE, generator=torch.Generator().manual_seed(0)).numpy()
    run = SimpleNamespace(model=model, h_test=h, x_test=x, variational=False)
    figure = ManifoldFigure()
    _, facts = figure.draw(run)
    assert facts["change"] == 0 if deaf else facts["change"] > 0.02
    assert ("this decoder hardly uses its code" in figure.caption(run, facts)) is deaf


def test_grid_is_steps_by_steps_decodings_over_two_dimensions():
    model, h = tiny(), codes()
    fig = manifold_figure(model, h, dims=[2, 1], steps=5)
    (ax,) = fig.axes
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (5 * (TILE + 1) - 1, 5 * (TILE + 1) - 1)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("h3", "h2")
    assert "other 1 dimensions held at the median code" in ax.get_title()
    # the top-left cell decodes h3 at its low end, h2 at its high end, h1 at the median
    code = np.median(h, axis=0)
    code[2] = sweep_values(model, h, 2, 5)[0]
    code[1] = sweep_values(model, h, 1, 5)[-1]
    expected = model.decode(torch.from_numpy(code[None]).float()).detach().numpy()[0, 0]
    np.testing.assert_allclose(cell(mosaic, 0, 0), expected, rtol=1e-5)


def test_a_variational_grid_spans_the_prior_quantiles_around_zero():
    model, h = tiny(code_size=2, variational=True), codes(k=2)
    np.testing.assert_allclose(sweep_values(model, h, 0, 3), [-1.6449, 0.0, 1.6449], atol=1e-4)
    np.testing.assert_array_equal(typical_code(model, h), [0.0, 0.0])
    fig = manifold_figure(model, h, steps=3)
    assert "held" not in fig.axes[0].get_title()  # a 2-D code: the grid is the whole code


def test_a_1d_code_gives_one_row():
    model = tiny(code_size=1)
    fig = manifold_figure(model, codes(k=1), steps=6)
    assert fig.axes[0].images[0].get_array().shape == (TILE, 6 * (TILE + 1) - 1)
    assert fig.axes[0].get_xlabel() == "h1"


def test_traversals_have_one_row_per_dimension_each_changing_only_that_dimension():
    model, h = tiny(code_size=4), codes(k=4)
    start = h[0]
    fig = traversal_figure(model, h, start, steps=5, max_dims=3)
    (ax,) = fig.axes
    assert ax.images[0].get_array().shape == (3 * (TILE + 1) - 1, 5 * (TILE + 1) - 1)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["h4", "h3", "h2"]
    code = start.copy()
    code[3] = sweep_values(model, h, 3, 5)[4]
    expected = model.decode(torch.from_numpy(code[None])).detach().numpy()[0, 0]
    np.testing.assert_allclose(cell(ax.images[0].get_array(), 0, 4), expected, rtol=1e-5)


def test_interpolations_alternate_decoded_code_rows_and_pixel_rows():
    model = tiny()
    x = torch.rand(4, 1, SIDE, SIDE, generator=torch.Generator().manual_seed(0)).numpy()
    x_a, x_b = x[:2], x[2:]
    fig = interpolation_figure(model, x_a, x_b, steps=4)
    (ax,) = fig.axes
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (4 * (TILE + 1) - 1, 4 * (TILE + 1) - 1)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["pair 1: codes", "pair 1: pixels", "pair 2: codes",
                                                             "pair 2: pixels"]
    x_hat_a = model.reconstruct(torch.from_numpy(x_a)).detach().numpy()
    np.testing.assert_allclose(cell(mosaic, 0, 0), x_hat_a[0, 0], rtol=1e-5)  # t = 0 decodes h_a
    np.testing.assert_allclose(cell(mosaic, 1, 0), x_a[0, 0])  # pixel row starts at x_a ...
    np.testing.assert_allclose(cell(mosaic, 1, 3), x_b[0, 0], rtol=1e-6)  # ... and ends at x_b
    np.testing.assert_allclose(cell(mosaic, 3, 1), (2 / 3) * x_a[1, 0] + (1 / 3) * x_b[1, 0], rtol=1e-5)
    # the gaps between tiles are one pixel, in a colour no grey pixel has: a white stroke at a tile's
    # edge cannot merge with them
    gaps = np.ma.getmaskarray(mosaic) | np.isnan(np.ma.getdata(mosaic))  # imshow masks the NaN padding
    assert gaps[TILE].all() and gaps[:, TILE].all()
    assert not gaps[:TILE, :TILE].any() and not gaps[TILE + 1 : 2 * TILE + 1, :TILE].any()
    red, green, blue, _ = ax.get_facecolor()
    assert max(red, green, blue) - min(red, green, blue) > 0.2


def test_prior_samples_tile_n_decodings_drawn_with_the_seed():
    model = tiny(code_size=2, variational=True)
    fig = prior_samples_figure(model, n=9, seed=4)
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic.shape == (3 * (TILE + 1) - 1, 3 * (TILE + 1) - 1)
    expected = model.sample(9, generator=torch.Generator().manual_seed(4)).detach().numpy()
    np.testing.assert_allclose(cell(mosaic, 2, 2), expected[8, 0], rtol=1e-5)
    assert fig.axes[0].get_title() == "9 samples: decodings of h ~ N(0, I)"


def test_prior_samples_of_a_deterministic_model_are_refused():
    with pytest.raises(ConfigError, match="has no prior"):
        prior_samples_figure(tiny())
