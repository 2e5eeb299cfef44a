"""Sparsity penalties: closed forms against direct computation, KL's zero and gradient direction,
the model check of kl_sparsity, and config building."""

import math

import pytest
import torch

from aekit.errors import ConfigError
from aekit.models import ModelConfig, build_model
from aekit.objectives.sparse import EPS, L1, KLSparsity, kl_bernoulli
from aekit.registry import get
from aekit.training.run_config import make_config


def codes(b=6, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.sigmoid(2 * torch.randn(b, k, generator=g))  # (b, k) in (0, 1)


def test_l1_is_lambda_times_sum_over_units_mean_over_batch():
    h = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, -1.0]])
    # sample 1: |1| + |-2| + 0 = 3; sample 2: 0.5 + 0.5 + 1 = 2; mean 2.5; lambda 0.1 -> 0.25
    assert L1(0.1)({}, {"h": h}, None) == {"l1": pytest.approx(0.25)}
    assert get("objective", "l1") is L1


def test_l1_does_not_depend_on_batch_size():
    h = codes(8)
    whole = L1(1.0)({}, {"h": h}, None)["l1"]
    halves = (L1(1.0)({}, {"h": h[:4]}, None)["l1"] + L1(1.0)({}, {"h": h[4:]}, None)["l1"]) / 2
    torch.testing.assert_close(whole, halves)


def test_kl_sparsity_equals_ngs_formula_computed_by_hand():
    h = codes()
    rho, beta = 0.05, 3.0
    term = KLSparsity(weight=beta, target=rho)({}, {"h": h}, None)["kl_sparsity"]
    expected = 0.0
    for j in range(h.shape[1]):
        rho_hat = sum(h[b, j].item() for b in range(h.shape[0])) / h.shape[0]
        expected += rho * math.log(rho / rho_hat) + (1 - rho) * math.log((1 - rho) / (1 - rho_hat))
    assert term.item() == pytest.approx(beta * expected, rel=1e-5)


def test_kl_bernoulli_is_torchs_kl_between_bernoullis():
    rho_hat = torch.tensor([0.01, 0.2, 0.5, 0.93], dtype=torch.float64)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Bernoulli(probs=torch.full_like(rho_hat, 0.1)), torch.distributions.Bernoulli(probs=rho_hat)
    )
    torch.testing.assert_close(kl_bernoulli(0.1, rho_hat), reference)


@pytest.mark.parametrize("rho", [0.05, 0.3, 0.9])
def test_kl_is_zero_when_the_mean_activation_equals_rho_and_positive_otherwise(rho):
    h = torch.full((7, 4), rho, dtype=torch.float64)
    assert KLSparsity(target=rho)({}, {"h": h}, None)["kl_sparsity"].item() == pytest.approx(0.0, abs=1e-12)
    # a unit that fires on a fraction rho of the batch (0 or 1 per sample) also has rho_hat = rho
    bits = torch.zeros(20, 1, dtype=torch.float64)
    bits[: round(20 * rho)] = 1.0
    assert KLSparsity(target=round(20 * rho) / 20)({}, {"h": bits}, None)["kl_sparsity"].item() == pytest.approx(0, abs=1e-12)
    assert KLSparsity(target=rho)({}, {"h": h * 0.5}, None)["kl_sparsity"].item() > 0


@pytest.mark.parametrize("start", [-3.0, 0.0, 2.0])
def test_kl_gradient_moves_each_units_mean_activation_toward_rho(start):
    rho = 0.05
    g = torch.Generator().manual_seed(1)
    pre = (start + torch.randn(32, 6, generator=g)).requires_grad_()
    before = torch.sigmoid(pre).mean(0).detach()  # (6,)
    KLSparsity(weight=1.0, target=rho)({}, {"h": torch.sigmoid(pre)}, None)["kl_sparsity"].backward()
    with torch.no_grad():
        after = torch.sigmoid(pre - 0.5 * pre.grad).mean(0)  # one small gradient-descent step
    assert torch.all((after - rho).abs() < (before - rho).abs())


def test_rho_hat_at_0_or_1_is_clamped_to_a_finite_loss_and_gradient():
    h = torch.tensor([[0.0, 1.0], [0.0, 1.0]], requires_grad=True)
    term = KLSparsity(weight=1.0, target=0.05)({}, {"h": h}, None)["kl_sparsity"]
    assert math.isfinite(term.item())
    expected = kl_bernoulli(0.05, torch.tensor([EPS, 1 - EPS])).sum()
    assert term.item() == pytest.approx(expected.item(), rel=1e-4)
    term.backward()
    assert torch.isfinite(h.grad).all()


def sigmoid_model(code_activation="sigmoid", **kw):
    return build_model(ModelConfig.of_kind(hidden=[], code_size=3, code_activation=code_activation, output="sigmoid", **kw), (4,))


def test_kl_sparsity_binds_to_a_sigmoid_code():
    KLSparsity().bind(sigmoid_model())  # no error


@pytest.mark.parametrize("activation, shown", [("relu", r"\(0, inf\)"), ("linear", r"\(-inf, inf\)"), ("tanh", r"\(-1, 1\)")])
def test_kl_sparsity_refuses_a_code_outside_the_unit_interval_and_says_how_to_fix_it(activation, shown):
    with pytest.raises(
        ConfigError,
        match=rf"'kl_sparsity' penalty needs code activations in \(0, 1\).*the code activation '{activation}' has range "
        rf"{shown}\. Set model\.code_activation: sigmoid, or use the l1 penalty\.",
    ):
        KLSparsity().bind(sigmoid_model(activation))


def test_kl_sparsity_refuses_a_variational_model():
    if "variational" not in ModelConfig.__dataclass_fields__:
        pytest.skip("ModelConfig has no variational field in this checkout")
    model = build_model(ModelConfig.of_kind(hidden=[], code_size=3, variational=True, output="sigmoid"), (4,))
    with pytest.raises(ConfigError, match=r"variational model's code is a Gaussian sample"):
        KLSparsity().bind(model)


@pytest.mark.parametrize(
    "override, pattern",
    [("penalties.l1=-1", r"The 'penalties\.l1\.weight' parameter must be a float in the range \[0, inf\)\. Got -1 instead\."),
     ("penalties.kl_sparsity={target: 1.0}",
      r"The 'penalties\.kl_sparsity\.target' parameter must be a float in the range \(0, 1\)\. Got 1\.0 instead\."),
     ("penalties.kl_sparsity={target: 0}", r"kl_sparsity\.target' parameter must be a float in the range \(0, 1\)")],
)
def test_bad_weights_and_targets_are_refused_in_config_words(override, pattern):
    with pytest.raises(ConfigError, match=pattern):
        make_config(overrides=[override])


def test_run_config_builds_the_penalties_from_a_weight_or_a_mapping():
    built = make_config(overrides=["penalties.l1=0.01", "penalties.kl_sparsity={weight: 3, target: 0.1}",
                                 "loss.reconstruction=bce"]).objectives()[1:]
    assert L1(0.01) in built and KLSparsity(weight=3, target=0.1) in built
    assert make_config(overrides=["penalties.kl_sparsity=2", "loss.reconstruction=bce"]).objectives()[1:] == [KLSparsity(weight=2, target=0.05)]
