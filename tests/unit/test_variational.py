"""The variational autoencoder: the KL closed form, the reparameterisation trick, the stochastic
forward pass, the warm-up, the ELBO and importance-sampled NLL (exact on a linear-Gaussian model,
tighter with k), save/load, training, and the pinned errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _interrupt import fit_until_interrupted

from aekit.analysis.likelihood import binarize, elbo, importance_sampled_nll, log_likelihood
from aekit.errors import ConfigError
from aekit.models import ModelConfig, build_model, load_model, save_model
from aekit.models.gaussian import GaussianHead, reparameterize
from aekit.objectives import CrossEntropy
from aekit.objectives.variational import KLDivergence, gaussian_kl
from aekit.registry import get
from aekit.training.trainer import TrainConfig, Trainer

SHAPE = (1, 6, 5)
KINDS = {
    "mlp": dict(kind="mlp", hidden=[12], code_size=3),
    "conv": dict(kind="conv", channels=[4, 6], code_size=3),
}


def vae(kind="mlp", seed=0, output="sigmoid", **options):
    torch.manual_seed(seed)
    return build_model(ModelConfig.of_kind(**{**KINDS[kind], "variational": True, "output": output, **options}), SHAPE)


def images(n=8, seed=1):
    return binarize(torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed)))


# -- the KL closed form ---------------------------------------------------------------------------
def test_kl_closed_form_matches_a_monte_carlo_estimate():
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.3, -0.7]], dtype=torch.float64)  # (B, k)
    logvar = torch.tensor([[-1.0, 0.5, 0.0], [1.2, -2.0, 0.1]], dtype=torch.float64)
    n = 200_000
    eps = torch.randn(n, *mu.shape, generator=g, dtype=torch.float64)  # (n, B, k)
    h = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + eps.pow(2)).sum(-1)  # (n, B)
    log_p = -0.5 * (math.log(2 * math.pi) + h.pow(2)).sum(-1)
    ratio = log_q - log_p  # KL = E_q[log q - log p]
    estimate, se = ratio.mean(0), ratio.std(0) / math.sqrt(n)
    closed = gaussian_kl(mu, logvar)  # (B,)
    assert closed.shape == (2,)
    assert torch.all((closed - estimate).abs() < 4 * se), (closed, estimate, se)


def test_kl_of_the_standard_normal_to_itself_is_zero_and_positive_elsewhere():
    zeros = torch.zeros(4, 3)
    assert torch.equal(gaussian_kl(zeros, zeros), torch.zeros(4))
    assert KLDivergence()({}, {"mu": zeros, "logvar": zeros}, None)["kl"].item() == 0.0
    assert torch.all(gaussian_kl(torch.randn(4, 3), torch.randn(4, 3)) > 0)


def test_the_term_is_beta_times_the_batch_mean_of_the_per_sample_sum():
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    per_sample = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)
    term = KLDivergence(weight=4.0)({}, {"mu": mu, "logvar": logvar}, None)
    assert set(term) == {"kl"}
    assert term["kl"].item() == pytest.approx(4.0 * per_sample.mean().item(), rel=1e-6)


# -- the reparameterisation trick -----------------------------------------------------------------
def test_reparameterised_samples_have_the_posterior_moments_and_gradients_reach_mu_and_logvar():
    n = 100_000
    mu = torch.tensor([1.0, -2.0]).repeat(n, 1).requires_grad_()  # (n, 2)
    logvar = torch.log(torch.tensor([0.25, 4.0])).repeat(n, 1).requires_grad_()
    h = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    sd = torch.tensor([0.5, 2.0])
    assert torch.all((h.mean(0) - torch.tensor([1.0, -2.0])).abs() < 4 * sd / math.sqrt(n))
    # the sample variance of n normals has sd sigma^2 sqrt(2 / n)
    assert torch.all((h.var(0) - sd**2).abs() < 4 * sd**2 * math.sqrt(2 / n))
    h.sum().backward()
    eps = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))  # the same draws
    assert torch.equal(mu.grad, torch.ones(n, 2))  # dh/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * sd * eps)  # dh/dlogvar = exp(logvar / 2) eps / 2


# -- the model ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KINDS))
def test_forward_samples_in_training_and_returns_mu_in_eval(kind):
    model = vae(kind)
    assert isinstance(model.encoder.head, GaussianHead)
    x = images()
    out = model.train()(x)
    assert set(out) == {"h", "mu", "logvar", "logits"}
    assert out["h"].shape == out["mu"].shape == out["logvar"].shape == (8, 3) and out["logits"].shape == x.shape
    assert not torch.equal(out["h"], out["mu"]) and not torch.equal(model(x)["h"], out["h"])
    flat = model(x.flatten(1))
    assert flat["logits"].shape == (8, 30)

    model.eval()
    a, b = model(x), model(x)
    assert torch.equal(a["h"], a["mu"]) and torch.equal(a["h"], b["h"])
    assert not torch.equal(model(x, sample=True)["h"], a["mu"])
    assert torch.equal(model.train()(x, sample=False)["h"], a["mu"])
    # encode: mu by default in either mode, a draw only when asked
    assert torch.equal(model.encode(x), a["mu"]) and torch.equal(model.eval().encode(x), a["mu"])
    assert not torch.equal(model.encode(x, sample=True), a["mu"])
    torch.testing.assert_close(model.reconstruct(x), torch.sigmoid(a["logits"]))


def test_the_gaussian_head_draws_from_the_global_generator_so_a_seed_repeats_a_forward_pass():
    model, x = vae().train(), images()
    torch.manual_seed(5)
    first = model(x)["h"]
    torch.manual_seed(5)
    assert torch.equal(model(x)["h"], first)


def test_sample_decodes_draws_from_the_prior():
    model = vae().eval()
    a = model.sample(4, generator=torch.Generator().manual_seed(0))
    b = model.sample(4, generator=torch.Generator().manual_seed(0))
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    assert a.shape == (4, *SHAPE) and torch.equal(a, b)
    assert torch.equal(a, model.decode(z)) and bool(((a > 0) & (a < 1)).all())
    with pytest.raises(ConfigError, match=r"The 'n' parameter of AutoencoderModule.sample must be an int in the range \[1, 2147483647\]\. Got 0"):
        model.sample(0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_save_and_load_give_the_same_mu(kind, tmp_path):
    model = vae(kind).eval()
    save_model(model, tmp_path / kind)
    loaded = load_model(tmp_path / kind)
    assert loaded.variational and loaded.describe()["config"]["variational"] is True
    x = images()
    with torch.no_grad():
        assert torch.equal(loaded.encode(x), model.encode(x))
        assert torch.equal(loaded.posterior(x)[1], model.posterior(x)[1])


def test_a_deterministic_model_is_unchanged_and_refuses_to_sample():
    torch.manual_seed(0)
    model = build_model(ModelConfig.of_kind(hidden=[12], code_size=3, output="sigmoid"), SHAPE)
    assert not model.variational and set(model(images())) == {"h", "logits"}
    assert model.describe()["config"]["variational"] is False
    with pytest.raises(ConfigError, match=r"needs a variational model \(model.variational: true\)"):
        model.encode(images(), sample=True)
    with pytest.raises(ConfigError, match=r"sample\(n\) draws codes from the prior N\(0, I\) of a variational model"):
        model.sample(2)


@pytest.mark.parametrize("options, message", [
    (dict(code_activation="sigmoid"),
     r"'code_activation' parameter of ModelConfig must be 'linear' with variational: true\. Got 'sigmoid'"),
    (dict(tied=True), r"tied weights and variational: true cannot be combined.*Set tied: false"),
])
def test_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        build_model({**KINDS["mlp"], "variational": True, "output": "sigmoid", **options}, SHAPE)


# -- the objective --------------------------------------------------------------------------------
def test_warm_up_rises_linearly_from_zero_to_beta():
    kl = KLDivergence(weight=2.0, warmup_epochs=4)
    weights = []
    for epoch in range(7):
        kl.start_epoch(epoch, 7)
        weights.append(kl.current_weight)
    assert weights == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    plain = KLDivergence(weight=2.0)
    plain.start_epoch(0, 7)
    assert plain.current_weight == 2.0


def test_the_registered_kl_is_built_from_a_bare_beta_or_a_mapping():
    from aekit.config import build

    assert get("objective", "kl") is KLDivergence
    assert build("objective", "kl", section="penalties", spec=4) == KLDivergence(weight=4)
    assert build("objective", "kl", section="penalties", spec={"warmup_epochs": 3}) == KLDivergence(1.0, 3)
    with pytest.raises(ConfigError, match=r"'penalties.kl.warmup_epochs' parameter must be an int in the range \[0, inf\)\. Got -1"):
        build("objective", "kl", section="penalties", spec={"warmup_epochs": -1})


def test_a_variational_run_config_lists_its_kl_term(tmp_path):
    # the resolved config (what config.yaml holds) names the KL term the run trains with
    from aekit.config import to_dict
    from aekit.io import write_yaml
    from aekit.training.run_config import make_config

    config = make_config(None, ["model.variational=true", "penalties.l1=0.001"])
    assert config.penalties == {"l1": 0.001, "kl": 1.0}
    write_yaml(to_dict(config), tmp_path / "config.yaml")
    assert make_config(tmp_path / "config.yaml").penalties == {"l1": 0.001, "kl": 1.0}  # read back: the same
    assert make_config(None, ["model.variational=true", "penalties.kl=4"]).penalties == {"kl": 4}
    assert "kl" not in make_config(None, []).penalties


def test_bind_refuses_a_deterministic_model():
    torch.manual_seed(0)
    plain = build_model(ModelConfig.of_kind(hidden=[12], code_size=3, output="sigmoid"), SHAPE)
    message = r"^penalties\.kl needs model\.variational: true \(a Gaussian code head that outputs mu and logvar\)"
    with pytest.raises(ConfigError, match=message):
        KLDivergence().bind(plain)
    with pytest.raises(ConfigError, match=message):
        Trainer(plain, [CrossEntropy(), KLDivergence()], TrainConfig(epochs=1))
    KLDivergence().bind(vae())  # a variational model is fine


def test_the_trainer_trains_a_variational_model_with_finite_falling_loss():
    x = images(64, seed=3)
    model = vae()
    trainer = Trainer(model, [CrossEntropy(), KLDivergence()], TrainConfig(epochs=2, batch_size=64, lr=1e-2), seed=0)
    before = trainer.evaluate(x)
    history = trainer.fit(x)  # one batch per epoch: two optimiser steps
    after = trainer.evaluate(x)
    assert len(history) == 2 and set(history[0]["train"]) == {"recon", "kl", "loss"}
    assert all(math.isfinite(v) for r in history for v in r["train"].values())
    assert history[1]["train"]["loss"] < history[0]["train"]["loss"]
    assert after["loss"] < before["loss"]


# -- likelihoods ----------------------------------------------------------------------------------
def _linear_gaussian_vae(variance: float):
    """A VAE whose encoder is the exact posterior of its linear decoder x = W h + b + noise.

    With W = Q diag(s) (orthonormal Q), the posterior of h given x is diagonal:
    Sigma = diag(1 / (1 + s^2 / variance)), mu = Sigma W^T (x - b) / variance. Every importance weight
    then equals p(x): the NLL estimate is exact for any k, and the ELBO's gap KL(q || p(h|x)) is 0.
    """
    d, k = 5, 2
    model = build_model(ModelConfig.of_kind(kind="mlp", hidden=[], code_size=k, variational=True, output="identity"), (d,))
    model = model.double()
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))
    w = q * torch.tensor([2.0, 0.7], dtype=torch.float64)  # (d, k)
    b = torch.randn(d, generator=g, dtype=torch.float64)
    sigma = 1.0 / (1.0 + (w * w).sum(0) / variance)  # (k,) posterior variances
    with torch.no_grad():
        model.decoder.net[0].weight.copy_(w)
        model.decoder.net[0].bias.copy_(b)
        head = model.encoder.head.linear  # rows [mu | logvar]
        head.weight.zero_()
        head.bias.zero_()
        head.weight[:k] = sigma[:, None] * w.T / variance
        head.bias[:k] = -(sigma[:, None] * w.T / variance) @ b
        head.bias[k:] = sigma.log()
    marginal = torch.distributions.MultivariateNormal(b, w @ w.T + variance * torch.eye(d, dtype=torch.float64))
    return model, marginal


@pytest.mark.parametrize("variance", [0.5, 0.1])
def test_elbo_and_nll_are_exact_when_the_posterior_is_exact(variance):
    model, marginal = _linear_gaussian_vae(variance)
    x = marginal.sample((7,))
    exact = -marginal.log_prob(x)  # (7,)
    g = torch.Generator().manual_seed(0)
    # the ELBO is exact in expectation (its one-draw estimate log p(x|h) - KL is not constant in h)
    repeats = 4000  # 4000 rows per x, 10 draws each: E_q over 40 000 draws, batched
    neg_elbo = -elbo(model, x.repeat(repeats, 1), samples=10, generator=g, variance=variance)
    torch.testing.assert_close(neg_elbo.reshape(repeats, 7).mean(0), exact, atol=0.05, rtol=0)
    for k, batch_size in [(1, 8192), (7, 3), (50, 8192)]:  # chunked and unchunked
        torch.testing.assert_close(importance_sampled_nll(model, x, k, batch_size=batch_size, generator=g,
                                                          variance=variance), exact)


def test_bernoulli_log_likelihood_is_the_negative_cross_entropy():
    model = vae()
    logits, x = torch.randn(4, *SHAPE), images(4)
    p = torch.sigmoid(logits)
    expected = (x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1)
    torch.testing.assert_close(log_likelihood(model, logits, x), expected)


def patterns(n=64, seed=2):
    """Binary images with structure to learn: one of 4 random prototypes, 10 % of pixels flipped."""
    g = torch.Generator().manual_seed(seed)
    prototypes = (torch.rand(4, 30, generator=g) > 0.5).float()
    x = prototypes[torch.randint(0, 4, (n,), generator=g)]
    flip = (torch.rand(n, 30, generator=g) < 0.1).float()
    return (x - flip).abs().reshape(n, *SHAPE)


def test_importance_sampled_nll_is_below_the_negative_elbo_and_does_not_grow_with_k():
    model, x = vae(), patterns()
    trainer = Trainer(model, [CrossEntropy(), KLDivergence()], TrainConfig(epochs=50, batch_size=64, lr=1e-2), seed=0)
    trainer.fit(x)  # a trained model: sharp posteriors, so q(h|x) is not p(h|x) and k matters
    model.eval()
    neg_elbo = -elbo(model, x, samples=100, generator=torch.Generator().manual_seed(1))  # (B,), E_q estimated well
    # the same seed for every k, and every draw in one pass: the first draws of k = 100 are those of
    # k = 10 and k = 1 (common random numbers), so differences between k are not swamped by noise
    nll = {k: importance_sampled_nll(model, x, k, generator=torch.Generator().manual_seed(0)) for k in (1, 10, 100)}

    def below(a, b):  # mean(a) <= mean(b) within 3 standard errors of the paired difference
        diff = b - a
        return diff.mean() >= -3 * diff.std() / math.sqrt(len(diff))

    assert below(nll[100], neg_elbo) and (neg_elbo - nll[100]).mean() > 0
    assert below(nll[10], nll[1]) and below(nll[100], nll[10])
    assert nll[100].mean() < nll[1].mean()


def test_likelihoods_refuse_a_deterministic_model_and_bad_counts():
    torch.manual_seed(0)
    plain = build_model(ModelConfig.of_kind(hidden=[12], code_size=3, output="sigmoid"), SHAPE)
    with pytest.raises(ConfigError, match=r"Likelihoods need a variational model"):
        elbo(plain, images())
    with pytest.raises(ConfigError, match=r"The 'k' parameter must be an int in the range \[1, 2147483647\]\. Got 0"):
        importance_sampled_nll(vae(), images(), k=0)


def test_grey_images_with_a_bernoulli_decoder_log_a_warning(caplog):
    x = torch.rand(3, *SHAPE)
    with caplog.at_level("WARNING", logger="aekit.analysis.likelihood"):
        elbo(vae(), x)
    assert "binary data" in caplog.text
    assert np.isfinite(elbo(vae(), binarize(x)).numpy()).all()


def test_a_variational_run_interrupted_and_resumed_equals_the_uninterrupted_one(tmp_path):
    """The reparameterisation draws from torch's global generator, which checkpoints save and restore."""
    x = patterns(48)

    def trainer(seed):
        model = vae(seed=seed)
        objectives = [CrossEntropy(), KLDivergence(warmup_epochs=2)]
        return Trainer(model, objectives, TrainConfig(epochs=4, batch_size=16), seed=seed)

    reference = trainer(0)
    reference.fit(x)
    fit_until_interrupted(trainer(0), 2, tmp_path / "ck.pt", x)
    torch.manual_seed(99)  # the global generator moves on in between, as in a new process
    resumed = trainer(7)
    resumed.load_checkpoint(tmp_path / "ck.pt")
    resumed.fit(x)
    for name, value in reference.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], value), name
    assert [r["train"]["kl"] for r in resumed.history] == [r["train"]["kl"] for r in reference.history]
