"""Metrics against hand computations: PSNR, reconstruction error, sparsity statistics."""

import math

import numpy as np
import pytest
import torch

from aekit.analysis.metrics import psnr, reconstruction_error, sparsity_stats
from aekit.errors import ConfigError, DataError
from aekit.models import ModelConfig, build_model


def test_psnr_per_image_by_hand():
    x = np.zeros((2, 1, 2, 2))
    x_hat = x.copy()
    x_hat[0, 0, 0, 0] = 0.2  # MSE = 0.04 / 4 = 0.01  -> 10 log10(1 / 0.01) = 20 dB
    x_hat[1] = 0.5  # MSE = 0.25                         -> 10 log10(4) = 6.0206 dB
    np.testing.assert_allclose(psnr(x_hat, x), [20.0, 10 * math.log10(4)])
    # data range 255 with the same relative error gives the same PSNR
    np.testing.assert_allclose(psnr(255 * x_hat, 255 * x, data_range=255), [20.0, 10 * math.log10(4)])


def test_psnr_takes_tensors_and_a_perfect_image_scores_infinity():
    x = torch.rand(3, 5)
    scores = psnr(x, x.clone())
    assert isinstance(scores, np.ndarray) and scores.shape == (3,) and np.all(np.isinf(scores))


def test_psnr_refuses_mismatched_shapes_and_a_bad_range():
    with pytest.raises(DataError, match=r"same shape; got \(2, 3\) and \(2, 4\)"):
        psnr(np.zeros((2, 3)), np.zeros((2, 4)))
    pattern = r"The 'data_range' parameter of psnr must be a float in the range \(0, inf\)\. Got 0 instead\."
    with pytest.raises(ConfigError, match=pattern):
        psnr(np.zeros((2, 3)), np.zeros((2, 3)), data_range=0)


def test_reconstruction_error_per_image_and_per_pixel_by_hand():
    torch.manual_seed(0)
    model = build_model(ModelConfig.of_kind(hidden=[], code_size=2, output="identity"), (1, 2, 3))
    x = torch.rand(5, 1, 2, 3)
    with torch.no_grad():
        x_hat = model.reconstruct(x)
    expected = ((x_hat - x) ** 2).sum(dim=(1, 2, 3)).double().numpy()
    model.train()
    err = reconstruction_error(model, x.numpy(), batch_size=2)  # numpy in, batches of 2
    np.testing.assert_allclose(err.per_image, expected, rtol=1e-6)
    assert err.mse == pytest.approx(expected.sum() / (5 * 6), rel=1e-6)
    assert model.training  # the caller's mode is restored


def test_sparsity_stats_by_hand():
    h = np.array([[0.0, 0.5, 0.005], [1.0, 0.0, 0.3]])
    stats = sparsity_stats(h)  # threshold 0.01: 0.0, 0.005 and 0.0 are near zero
    assert stats.threshold == 0.01
    assert stats.mean_activation == pytest.approx(1.805 / 6)
    assert stats.near_zero_fraction == pytest.approx(3 / 6)
    np.testing.assert_allclose(stats.per_unit_mean, [0.5, 0.25, 0.1525])
    assert sparsity_stats(torch.tensor(h), threshold=0.4).near_zero_fraction == pytest.approx(4 / 6)


def test_sparsity_stats_refuses_a_bad_threshold_and_a_bad_shape():
    pattern = r"'threshold' parameter of sparsity_stats must be a float in the range \[0, inf\)\. Got -1 instead"
    with pytest.raises(ConfigError, match=pattern):
        sparsity_stats(np.zeros((2, 2)), threshold=-1)
    with pytest.raises(DataError, match=r"codes shaped \(n, k\).*got shape \(4,\)"):
        sparsity_stats(np.zeros(4))
