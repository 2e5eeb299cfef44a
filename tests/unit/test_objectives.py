"""Reconstruction terms: closed forms against torch's references, and the documented scale."""

import pytest
import torch
import torch.nn.functional as F

from aekit.objectives import CrossEntropy, SquaredError
from aekit.registry import available, get


def test_cross_entropy_from_logits_equals_sigmoid_then_bce_per_sample_sum():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 1, 5, 5, generator=g)
    logits = torch.randn(8, 1, 5, 5, generator=g) * 3
    term = CrossEntropy()({"x": x, "x_tilde": x}, {"logits": logits}, None)["recon"]
    reference = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").flatten(1).sum(1).mean()
    torch.testing.assert_close(term, reference, rtol=1e-5, atol=1e-5)


def test_squared_error_is_sum_over_dimensions_mean_over_batch():
    x = torch.zeros(4, 10)
    x_hat = torch.ones(4, 10)
    term = SquaredError()({"x": x, "x_tilde": x}, {"x_hat": x_hat}, None)["recon"]
    assert term.item() == pytest.approx(10.0)  # 10 dimensions of error 1, per sample
    # a sigmoid-output model can be scored with MSE through its logits
    term = SquaredError()({"x": x, "x_tilde": x}, {"logits": torch.zeros(4, 10)}, None)["recon"]
    assert term.item() == pytest.approx(2.5)


def test_loss_scale_does_not_depend_on_batch_size():
    x = torch.rand(6, 7)
    out = {"logits": torch.randn(6, 7)}
    whole = CrossEntropy()({"x": x}, out, None)["recon"]
    halves = [CrossEntropy()({"x": x[i : i + 3]}, {"logits": out["logits"][i : i + 3]}, None)["recon"] for i in (0, 3)]
    torch.testing.assert_close(whole, sum(halves) / 2)


def test_cross_entropy_refuses_a_linear_output():
    with pytest.raises(ValueError, match="sigmoid output"):
        CrossEntropy()({"x": torch.rand(2, 3)}, {"x_hat": torch.rand(2, 3)}, None)


def test_reconstructions_are_registered_with_the_output_they_expect():
    assert {"bce", "mse"} <= set(available("objective"))
    assert get("objective", "bce").output == "sigmoid"
    assert get("objective", "mse").output == "identity"
