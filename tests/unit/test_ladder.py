"""LadderClassifier and its network (Rasmus et al., NIPS 2015): the denoising costs fall, gradients
reach the clean and the corrupted path, with no noise and no denoising cost it is a plain MLP with
batch normalisation, it beats logistic regression with 50 labels of digits, and its errors, save/load
and seeding follow the other estimators."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from torch import nn

from aekit import LadderClassifier
from aekit.errors import ConfigError, WeightsError
from aekit.models.ladder import EPS, LadderNetwork
from aekit.objectives.ladder import LadderCost
from aekit.training.finetune import draw_labelled

SMALL = dict(hidden=(32, 16), epochs=6, batch_size=50, random_state=0)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype(np.float32), y


def semi(y, n, seed=0):
    """y with every label but ``n`` drawn ones (as even across classes as possible) set to -1."""
    rows = draw_labelled(y, n, seed)
    y_semi = np.full_like(y, -1)
    y_semi[rows] = y[rows]
    return y_semi


@pytest.fixture(scope="module")
def fitted(digits):
    x, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LadderClassifier(**SMALL).fit(x[:400], semi(y[:400], 40))


def test_every_denoising_cost_falls(fitted):
    first, last = fitted.history_[0]["train"], fitted.history_[-1]["train"]
    names = [f"denoise{l}" for l in range(4)]  # input, two hidden layers, top
    assert set(names) <= set(first)
    for name in ["xent", *names]:
        assert last[name] < first[name], name


def test_gradients_reach_the_clean_and_the_corrupted_path():
    """Each W(l) runs twice a step, corrupted path first, then clean; the cost's gradient reaches both
    outputs at every layer (the clean z(l) are targets that train too, as in the paper)."""
    torch.manual_seed(0)
    model = LadderNetwork([20, 16, 8, 3])
    outputs = {l: [] for l in range(3)}

    def keep(l):
        def hook(module, args, out):
            out.retain_grad()
            outputs[l].append(out)
        return hook

    for l, linear in enumerate(model.encoder):
        linear.register_forward_hook(keep(l))
    x_l, x_u, y = torch.randn(6, 20), torch.randn(10, 20), torch.tensor([0, 1, 2, 0, 1, 2])
    out = model.ladder(x_l, x_u, noise_std=0.3, generator=torch.Generator().manual_seed(0))
    sum(LadderCost((1.0, 1.0, 1.0, 1.0))({"y": y}, out, model).values()).backward()
    for l, (corrupted, clean) in outputs.items():
        assert corrupted.shape[0] == 16 and clean.shape[0] == 10  # labelled + unlabelled rows; unlabelled rows
        assert corrupted.grad.abs().sum() > 0 and clean.grad.abs().sum() > 0, l
    # every parameter is in the graph; the encoder's gradients are non-zero already at initialisation (V's
    # are not yet: the combinators start at z^ = 0, whatever comes from above)
    assert all(p.grad is not None for p in model.parameters())
    assert all(p.grad.abs().sum() > 0 for p in [*model.encoder.parameters(), *model.beta, model.gamma])


class _Shift(nn.Module):
    def __init__(self, beta):
        super().__init__()
        self.beta = nn.Parameter(beta.detach().clone())

    def forward(self, z):
        return z + self.beta


class _Scale(nn.Module):
    def __init__(self, gamma):
        super().__init__()
        self.gamma = nn.Parameter(gamma.detach().clone())

    def forward(self, z):
        return self.gamma * z


def test_without_noise_and_denoising_costs_it_is_a_plain_mlp_with_batch_norm(digits, monkeypatch):
    """Every row labelled, noise 0, every denoising weight 0: the same steps as an nn.Sequential of Linear,
    BatchNorm1d (no affine), + beta, ReLU, ..., gamma * (z + beta) trained with Adam on the same batches."""
    x, y = digits[0][:200], digits[1][:200]
    seen = []
    original = LadderCost.__call__

    def spy(self, batch, out, model):
        seen.append((out["x_labelled"], batch["y"]))
        return original(self, batch, out, model)

    original_ladder = LadderNetwork.ladder

    def ladder(self, x_labelled, x_unlabelled, **kwargs):
        out = original_ladder(self, x_labelled, x_unlabelled, **kwargs)
        return {**out, "x_labelled": x_labelled}

    monkeypatch.setattr(LadderCost, "__call__", spy)
    monkeypatch.setattr(LadderNetwork, "ladder", ladder)
    sizes = [64, 32, 16, 10]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LadderClassifier(hidden=(32, 16), noise_std=0.0, denoising_weights=(0, 0, 0, 0), epochs=3,
                               batch_size=50, random_state=0).fit(x, y)
    assert len(seen) == 3 * 4  # 3 epochs of 200 rows in batches of 50, all labelled

    torch.manual_seed(0)
    start = LadderNetwork(sizes)  # the estimator's initialisation (same seed)
    layers = []
    for l, linear in enumerate(start.encoder):
        copy = nn.Linear(linear.in_features, linear.out_features, bias=False)
        copy.weight.data.copy_(linear.weight)
        layers += [copy, nn.BatchNorm1d(linear.out_features, eps=EPS, affine=False), _Shift(start.beta[l])]
        layers += [nn.ReLU()] if l < len(start.encoder) - 1 else [_Scale(start.gamma)]
    mlp = nn.Sequential(*layers).train()
    optimizer = torch.optim.Adam(mlp.parameters(), lr=clf.lr)  # 3 epochs: the decay keeps lr (3 - 2) / (3 - 2)
    for x_batch, y_batch in seen:
        loss = F.cross_entropy(mlp(x_batch), y_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    trained = clf.model_
    for l, linear in enumerate(trained.encoder):
        torch.testing.assert_close(linear.weight, mlp[4 * l].weight, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(trained.beta[l], mlp[4 * l + 2].beta, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(trained.gamma, mlp[-1].gamma, rtol=1e-4, atol=1e-5)
    batch = torch.from_numpy(x[:50])
    torch.testing.assert_close(trained.train()(batch)["class_logits"], mlp(batch), rtol=1e-4, atol=1e-4)


def test_beats_logistic_regression_with_50_labels_of_digits(digits):
    x, y = digits
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    y_semi = semi(y_train, 50)
    labelled = y_semi != -1
    baseline = LogisticRegression().fit(x_train[labelled], y_train[labelled]).score(x_test, y_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a budget cut for the test's time
        ladder = LadderClassifier(hidden=(256, 128), epochs=20, random_state=0).fit(x_train, y_semi)
    accuracy = ladder.score(x_test, y_test)
    assert accuracy > baseline + 0.05, (accuracy, baseline)  # 0.935 against 0.850 when written


def test_unlabelled_rows_are_never_labels(digits, monkeypatch):
    x, y = digits[0][:300], digits[1][:300]
    y_semi = semi(y, 30)
    allowed = {row.tobytes() for row in x[y_semi != -1]}
    labelled_rows = []
    original = LadderNetwork.ladder

    def spy(self, x_labelled, x_unlabelled, **kwargs):
        labelled_rows.extend(row.tobytes() for row in x_labelled.numpy())
        assert len(x_unlabelled) >= 75  # every row is an unlabelled row: 300 in batches of about 100
        return original(self, x_labelled, x_unlabelled, **kwargs)

    monkeypatch.setattr(LadderNetwork, "ladder", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LadderClassifier(hidden=(16,), epochs=2, random_state=0).fit(x, y_semi)
    assert set(labelled_rows) == allowed
    assert list(clf.classes_) == list(range(10))


@pytest.mark.parametrize(("y_kind", "match"), [("none", "no labelled row"), ("one", "at least two classes")])
def test_labels_that_cannot_train_a_classifier(digits, y_kind, match):
    x, y = digits[0][:100], digits[1][:100]
    y_semi = np.full_like(y, -1)
    if y_kind == "one":
        y_semi[y == 3] = 3
    with pytest.raises(ValueError, match=match):
        LadderClassifier(**SMALL).fit(x, y_semi)


@pytest.mark.parametrize(("params", "match"), [
    (dict(variant="beta"), r"The 'variant' parameter of LadderClassifier must be a str among \{'full', 'gamma'\}. "
                           r"Got 'beta' instead."),
    (dict(noise_std=-0.1), r"The 'noise_std' parameter of LadderClassifier must be a float in the range \[0, inf\). "
                           r"Got -0.1 instead."),
    (dict(denoising_weights=(1.0, 2.0)), r"The 'denoising_weights' parameter of LadderClassifier must be 'auto' or a "
                                         r"list of len\(hidden\) \+ 2 = 4 non-negative floats"),
    (dict(denoising_weights=(1.0, -1.0, 0, 0)), r"The 'denoising_weights' parameter of LadderClassifier must be"),
    (dict(variant="gamma", denoising_weights=(1.0, 0, 0, 1.0)), r"variant='gamma' has a decoder at the top layer "
                                                                r"only"),
    (dict(lr=0.0), r"The 'lr' parameter of LadderClassifier must be a float in the range \(0, inf\). Got 0.0"),
])
def test_parameters_are_checked_with_scikit_learns_wording(digits, params, match):
    x, y = digits[0][:60], digits[1][:60]
    with pytest.raises(ValueError, match=match):
        LadderClassifier(**{**SMALL, **params}).fit(x, y)


def test_gamma_model_has_a_top_decoder_only(digits):
    x, y = digits[0][:300], digits[1][:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LadderClassifier(**{**SMALL, "variant": "gamma"}).fit(x, semi(y, 30))
    assert clf.denoising_weights_ == (0.0, 0.0, 0.0, 0.5)
    assert len(clf.model_.decoder) == 0 and len(clf.model_.combinators) == 1
    assert [name for name in clf.history_[-1]["train"]] == ["xent", "denoise3"]


def test_published_defaults():
    clf = LadderClassifier()
    assert (clf.hidden, clf.noise_std, clf.lr, clf.batch_size, clf.epochs) == ((1000, 500, 250, 250, 250), 0.3,
                                                                               0.002, 100, 150)
    from aekit.estimator.ladder import published_weights

    assert published_weights("full", 6) == (1000.0, 10.0, 0.1, 0.1, 0.1, 0.1, 0.1)
    from aekit.training.ladder import LadderSchedule

    schedule = LadderSchedule()
    assert [schedule.lr_at(e) for e in (0, 99, 100, 149)] == pytest.approx([0.002, 0.002, 0.002, 0.002 / 50])


def test_save_load_gives_identical_predictions(fitted, digits, tmp_path):
    x = digits[0][400:500]
    fitted.save(tmp_path / "ladder")
    loaded = LadderClassifier.load(tmp_path / "ladder")
    assert np.array_equal(loaded.predict_proba(x), fitted.predict_proba(x))
    assert np.array_equal(loaded.predict(x), fitted.predict(x))
    assert loaded.get_params() == fitted.get_params() and loaded.history_ == fitted.history_
    damaged = '{"format": "aekit.ladder/1", "sizes": [64, 0], "variant": "full"}'
    (tmp_path / "ladder" / "ladder.json").write_text(damaged)
    with pytest.raises(WeightsError, match=r"ladder\.json: 'sizes\[1\]' must be an int in the range \[1, 2147483647\], "
                                           r"not 0"):
        LadderClassifier.load(tmp_path / "ladder")


def test_predictions_of_a_subset_agree_at_float32_precision(fitted, digits):
    x = digits[0][400:460]
    whole, part = fitted.predict_proba(x), fitted.predict_proba(x[::3])
    np.testing.assert_allclose(part, whole[::3], rtol=1e-5, atol=1e-6)
    assert np.allclose(whole.sum(axis=1), 1.0)


def test_a_seed_gives_the_same_model_and_leaves_torchs_generator_alone(digits):
    x, y = digits[0][:200], semi(digits[1][:200], 20)
    state = torch.random.get_rng_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = LadderClassifier(**{**SMALL, "epochs": 2}).fit(x, y)
        b = LadderClassifier(**{**SMALL, "epochs": 2}).fit(x, y)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert np.array_equal(a.predict_proba(x), b.predict_proba(x))


def test_a_budget_too_short_warns(digits):
    x, y = digits[0][:200], semi(digits[1][:200], 20)
    with pytest.warns(ConvergenceWarning, match="Increase epochs"):
        clf = LadderClassifier(**{**SMALL, "epochs": 6}).fit(x, y)
    assert clf.stop_reason_ == "budget"


def test_a_fit_killed_midway_resumes_from_its_checkpoint_to_the_same_weights(digits, tmp_path, monkeypatch):
    x, y = digits[0][:200], semi(digits[1][:200], 20)
    params = {**SMALL, "epochs": 4}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = LadderClassifier(**params).fit(x, y)

        def killed(self, record):
            if record["epoch"] == 2:
                raise RuntimeError("killed")

        monkeypatch.setattr(LadderClassifier, "_print_epoch", killed)
        with pytest.raises(RuntimeError, match="killed"):
            LadderClassifier(**params, verbose=True).fit(x, y, checkpoint=tmp_path / "ladder.pt")
        trained = []
        monkeypatch.setattr(LadderClassifier, "_print_epoch", lambda self, record: trained.append(record["epoch"]))
        resumed = LadderClassifier(**params, verbose=True).fit(x, y, checkpoint=tmp_path / "ladder.pt")
    assert trained == [3, 4]  # epochs 1 and 2 came from the checkpoint
    assert [r["epoch"] for r in resumed.history_] == [1, 2, 3, 4]
    assert [r["train"] for r in resumed.history_] == [r["train"] for r in whole.history_]
    for name, value in whole.model_.state_dict().items():
        assert torch.equal(value, resumed.model_.state_dict()[name]), name


def test_a_checkpoint_of_another_fit_is_refused(digits, tmp_path):
    x, y = digits[0][:200], semi(digits[1][:200], 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LadderClassifier(**{**SMALL, "epochs": 2}).fit(x, y, checkpoint=tmp_path / "ladder.pt")
        with pytest.raises(ConfigError, match="other data, another network, another schedule or another seed"):
            LadderClassifier(**{**SMALL, "epochs": 2, "random_state": 1}).fit(x, y, checkpoint=tmp_path / "ladder.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="Cannot read checkpoint .*junk.pt.*delete it to fit from the beginning"):
        LadderClassifier(**{**SMALL, "epochs": 2}).fit(x, y, checkpoint=tmp_path / "junk.pt")
