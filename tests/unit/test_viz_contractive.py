"""The encoder Jacobian figure: the spectrum over test points and the leading directions per example."""

import numpy as np
import torch

from aekit.analysis.jacobian import jacobian_singular_values, jacobian_tangents
from aekit.models import ModelConfig, build_model
from aekit.viz import jacobian_figure


def model(**kw):
    torch.manual_seed(0)
    config = dict(hidden=[10], code_size=4, output="sigmoid", activation="tanh", code_activation="sigmoid")
    config.update(kw)
    return build_model(ModelConfig.of_kind(**config), (1, 6, 6)).eval()


def x_batch(n=5):
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(0)).numpy()


def test_figure_has_the_spectrum_and_an_input_plus_directions_per_example():
    m, x = model(), x_batch(6)
    fig = jacobian_figure(m, x, n_examples=2, n_directions=3)
    spectrum, *images = fig.axes
    assert spectrum.get_yscale() == "log"
    assert (spectrum.get_xlabel(), spectrum.get_ylabel()) == ("singular value index i", "singular value σ_i of J_f(x)")
    assert spectrum.get_title() == "Jacobian spectrum at 6 test points"
    assert len(images) == 2 * (1 + 3) and all(len(ax.images) == 1 for ax in images)
    values = jacobian_singular_values(m, x)
    np.testing.assert_allclose(spectrum.get_lines()[0].get_ydata(), np.median(values, axis=0), rtol=1e-6)
    assert [images[0].get_title(), images[4].get_title()] == ["input x", ""]
    np.testing.assert_allclose(images[4].images[0].get_array(), x[1, 0])  # row 2 starts with its input
    assert [ax.get_title() for ax in images[1:4]] == [f"σ{i + 1} = {values[0, i]:.2g}" for i in range(3)]
    tangents = jacobian_tangents(m, x[:2], 3)
    np.testing.assert_allclose(images[6].images[0].get_array(), tangents[1, 1, 0], rtol=1e-6)
    assert images[1].images[0].get_cmap().name == "RdBu_r"  # signed directions on a diverging map


def test_a_linear_encoder_has_a_flat_band_at_the_singular_values_of_its_weight():
    m = model(hidden=[], activation="linear", code_activation="linear")
    fig = jacobian_figure(m, x_batch(4), n_examples=1, n_directions=2)
    expected = torch.linalg.svdvals(m.encoder.head.linear.weight.detach()).numpy()
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), expected, rtol=1e-5)
    band = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]  # the 10-90 % band has no width:
    assert np.abs(band[:, None] - expected[None]).min(axis=1).max() < 1e-5  # J is the same at every point


def test_fewer_directions_than_asked_when_the_code_is_small():
    m = model(code_size=2)
    fig = jacobian_figure(m, x_batch(3), n_examples=1, n_directions=5)
    assert len(fig.axes) == 1 + 1 + 2
