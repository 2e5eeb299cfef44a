"""The pipeline figure draws input → (corrupted input) → code → reconstruction, one row per input."""

import numpy as np
import pytest
import torch

from aekit.data.corruption import Masking
from aekit.models import ModelConfig, build_model
from aekit.viz import pipeline_figure


def tiny(variational=False, code_size=3):
    torch.manual_seed(0)
    return build_model(ModelConfig.of_kind(hidden=[8], code_size=code_size, output="sigmoid", variational=variational),
                       (1, 8, 8)).eval()


def x_batch(n=4):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(1)).numpy()


def test_one_row_per_input_and_three_columns_without_corruption():
    model, x = tiny(), x_batch(4)
    fig = pipeline_figure(model, x)
    assert len(fig.axes) == 4 * 3
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles == ["input x", "code h", "reconstruction x̂"]
    # columns 0 and 2 are images, column 1 is a bar chart with one bar per code unit
    for row in range(4):
        image_in, code, image_out = fig.axes[3 * row : 3 * row + 3]
        assert len(image_in.images) == 1 and len(image_out.images) == 1 and not code.images
        assert len(code.patches) == 3
        np.testing.assert_allclose(image_in.images[0].get_array(), x[row, 0])
    np.testing.assert_allclose([p.get_height() for p in fig.axes[1].patches],
                               model.encode(torch.from_numpy(x[:1]))[0].detach().numpy(), rtol=1e-5)


def test_reconstruction_panel_shows_the_decoded_code_and_its_error():
    model, x = tiny(), x_batch(2)
    fig = pipeline_figure(model, x)
    x_hat = model.reconstruct(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), x_hat[0, 0], rtol=1e-5)
    error = ((x_hat[0] - x[0]) ** 2).sum()
    assert fig.axes[2].get_xlabel() == f"|x̂ − x|² = {error:.3g}"


def test_corruption_adds_a_column_fed_to_the_model_with_the_clean_error():
    model, x = tiny(), x_batch(3)
    fig = pipeline_figure(model, x, corruption=Masking(0.5), seed=7)
    assert len(fig.axes) == 3 * 4
    assert [ax.get_title() for ax in fig.axes[:4]] == ["input x", "corrupted input x̃", "code h", "reconstruction x̂"]
    x_tilde = Masking(0.5)(torch.from_numpy(x), torch.Generator().manual_seed(7))
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), x_tilde[0, 0].numpy())
    assert (x_tilde == 0).float().mean() > 0.3  # the drawn input really is corrupted
    x_hat = model.reconstruct(x_tilde).detach().numpy()  # the model sees x̃, the error is against clean x
    assert fig.axes[3].get_xlabel() == f"|x̂ − x|² = {((x_hat[0] - x[0]) ** 2).sum():.3g}"


def test_variational_code_bars_are_mu_with_sigma_error_bars():
    model, x = tiny(variational=True, code_size=2), x_batch(2)
    fig = pipeline_figure(model, x)
    code_ax = fig.axes[1]
    mu, logvar = model.posterior(torch.from_numpy(x[:1]))
    np.testing.assert_allclose([p.get_height() for p in code_ax.patches], mu[0].detach().numpy(), rtol=1e-5)
    from matplotlib.container import BarContainer

    (bars,) = [c for c in code_ax.containers if isinstance(c, BarContainer)]
    assert bars.errorbar is not None
    segments = bars.errorbar.lines[2][0].get_segments()
    half_lengths = [abs(s[1][1] - s[0][1]) / 2 for s in segments]
    np.testing.assert_allclose(half_lengths, torch.exp(0.5 * logvar[0]).detach().numpy(), rtol=1e-4)


def test_model_mode_is_left_as_it_was():
    model = tiny().train()
    pipeline_figure(model, x_batch(2))
    assert model.training


@pytest.mark.parametrize("shape", [(64,), (3, 4, 4)])
def test_vectors_and_colour_images_are_drawn(shape):
    torch.manual_seed(0)
    model = build_model(ModelConfig.of_kind(hidden=[8], code_size=2, output="sigmoid"), shape).eval()
    x = torch.rand(2, *shape).numpy()
    fig = pipeline_figure(model, x)
    drawn = fig.axes[0].images[0].get_array()
    assert drawn.shape == ((8, 8) if shape == (64,) else (4, 4, 3))
