"""The denoising figure: corrupted inputs and reconstructions per noise level, with their PSNR."""

import numpy as np
import pytest
import torch

from aekit.analysis.metrics import psnr
from aekit.data.corruption import Gaussian, Masking
from aekit.models import ModelConfig, build_model
from aekit.viz import denoising_figure
from aekit.viz.denoising import denoising_curves


def tiny():
    torch.manual_seed(0)
    return build_model(ModelConfig.of_kind(hidden=[8], code_size=3, output="sigmoid"), (1, 8, 8)).eval()


def x_batch(n=20):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0)).numpy()


def test_psnr_of_each_level_is_measured_against_the_clean_images():
    model, x = tiny(), x_batch()
    curves = denoising_curves(model, x, Masking, [0.2, 0.6], seed=3)
    x_tilde = Masking(0.6)(torch.from_numpy(x), torch.Generator().manual_seed(3 + 1)).numpy()
    np.testing.assert_allclose(curves["x_tilde"][1], x_tilde)
    assert curves["psnr_noisy"][1] == np.mean(psnr(x_tilde, x))
    x_hat = model.reconstruct(torch.from_numpy(x_tilde)).detach().numpy()
    assert abs(curves["psnr_denoised"][1] - np.mean(psnr(x_hat, x))) < 1e-6
    assert curves["psnr_noisy"][0] > curves["psnr_noisy"][1]  # more masking, lower PSNR


def test_rows_are_clean_then_corrupted_and_reconstructed_per_level():
    model, x = tiny(), x_batch()
    levels = [0.1, 0.3, 0.5]
    fig = denoising_figure(model, x, lambda s: Gaussian(std=s), levels, name="gaussian std", n_show=4)
    ax_img, ax_plot = fig.axes
    labels = [t.get_text() for t in ax_img.get_yticklabels()]
    assert len(labels) == 1 + 2 * len(levels) and labels[0] == "clean x"
    assert labels[1].startswith("gaussian std 0.1: x̃ (") and labels[1].endswith(" dB)")
    assert labels[2].startswith("reconstructed (")
    assert ax_img.images[0].get_array().shape == (7 * 9 - 1, 4 * 9 - 1)
    noisy, denoised = ax_plot.get_lines()[:2]
    np.testing.assert_array_equal(noisy.get_xdata(), levels)
    curves = denoising_curves(model, x, lambda s: Gaussian(std=s), levels)
    np.testing.assert_allclose(noisy.get_ydata(), curves["psnr_noisy"])
    np.testing.assert_allclose(denoised.get_ydata(), curves["psnr_denoised"])
    assert ax_plot.get_xlabel() == "gaussian std"
    assert ax_plot.get_ylabel() == "PSNR against clean x (dB)"
    assert ax_plot.get_title() == "PSNR, mean over 20 test images"


def test_images_a_corruption_leaves_unchanged_are_left_out_of_the_mean_and_counted():
    model = tiny()
    x = np.zeros((4, 1, 8, 8), np.float32)
    x[:2, 0, 0, 0] = 1.0  # two images with one lit pixel; two all-black ones masking cannot change
    curves = denoising_curves(model, x, Masking, [1.0])
    assert curves["unchanged"].tolist() == [2]
    assert np.isfinite(curves["psnr_noisy"][0])
    assert curves["psnr_noisy"][0] == pytest.approx(10 * np.log10(64))  # the two masked ones: MSE = 1/64 each
