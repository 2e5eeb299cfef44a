"""A table's model starts at PCA (aekit.models.pca_start): before its first step an untied ReLU MLP reconstructs
exactly as PCA-k of the training rows; ``start: auto`` picks it for a table only, and images keep their start
and their batch size (one decision for aekit train and the estimators)."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from aekit.errors import ConfigError
from aekit.models import ModelConfig, build_model
from aekit.models.pca_start import choose_start, start_at_pca, why_not_pca
from aekit.training.train_config import DEFAULT_BATCH, auto_batch_size, choose_batch_size


@pytest.fixture(scope="module")
def table():
    x = np.random.default_rng(0).normal(size=(60, 6)) * [1, 2, 3, 1, 1, 5] + 1  # (n, d), correlated below
    x[:, 1] += x[:, 0]
    return x.astype(np.float32)


@pytest.mark.parametrize("hidden", [[], [12], [16, 40]])
def test_the_started_model_reconstructs_as_pca(table, hidden):
    torch.manual_seed(0)
    model = build_model(ModelConfig.of_kind(kind="mlp", hidden=hidden, code_size=2, output="identity"), (6,))
    start_at_pca(model, table)
    with torch.no_grad():
        x_hat = model.eval()(torch.from_numpy(table))["x_hat"].numpy()
    pca = PCA(2).fit(table)
    np.testing.assert_allclose(x_hat, pca.inverse_transform(pca.transform(table)), atol=2e-5)
    torch.manual_seed(0)
    random = build_model(ModelConfig.of_kind(kind="mlp", hidden=hidden, code_size=2, output="identity"), (6,))
    with torch.no_grad():
        assert not np.allclose(random(torch.from_numpy(table))["x_hat"].numpy(), x_hat, atol=1e-2)  # not by chance


def test_auto_starts_a_table_at_pca_and_anything_else_at_random():
    mlp = ModelConfig.of_kind(kind="mlp", hidden=[512], code_size=3, output="identity")
    assert choose_start("auto", True, mlp, (13,), 100) == "pca"
    assert choose_start("auto", False, mlp, (13,), 100) == "random"  # images, or data left as they are
    narrow = ModelConfig.of_kind(kind="mlp", hidden=[20], code_size=3, output="identity")
    assert "at least 2d = 26 wide" in why_not_pca(narrow, (13,), 100)
    assert choose_start("auto", True, narrow, (13,), 100) == "random"
    tanh = ModelConfig.of_kind(kind="mlp", hidden=[64], activation="tanh", code_size=3, output="identity")
    assert choose_start("auto", True, tanh, (13,), 100) == "random"
    sigmoid = ModelConfig.of_kind(kind="mlp", hidden=[64], code_size=3, output="sigmoid")
    with pytest.raises(ConfigError, match=r"train.start: pca is not available for this model: the code must be linear"):
        choose_start("pca", True, sigmoid, (13,), 100)
    assert choose_start("random", True, mlp, (13,), 100) == "random"


def test_a_table_gets_more_steps_an_epoch_and_images_keep_128():
    assert choose_batch_size("auto", 105, table=False) == DEFAULT_BATCH == 128  # images: as before
    assert choose_batch_size("auto", 3500, table=False) == 128
    assert [choose_batch_size("auto", n, table=True) for n in (10, 105, 398, 1000, 9000)] == [10, 16, 19, 50, 256]
    assert choose_batch_size(64, 105, table=True) == 64  # a number given is kept
    assert [auto_batch_size(n) for n in (105, 1213)] == [32, 60]  # the estimators' rule off tables: unchanged


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_estimator_starts_a_table_at_pca_and_digits_as_before():
    from sklearn.datasets import load_digits, load_wine

    from aekit.estimator import Autoencoder

    x = load_wine().data
    pca_start = Autoencoder(epochs=1, lr=1e-12, random_state=0).fit(x)  # one epoch of tiny steps: still PCA
    off = Autoencoder(epochs=1, lr=1e-12, random_state=0, start="random").fit(x)
    assert pca_start.batch_size_ == off.batch_size_ == 16  # 160 training rows of a table
    xs = (x - x.mean(0)) / x.std(0)
    pca = PCA(3).fit(xs)  # on every row, the estimator's on 90 % of them: the same axes, nearly
    first = [abs(np.corrcoef(est.transform(x)[:, 0], pca.transform(xs)[:, 0])[0, 1]) for est in (pca_start, off)]
    assert first[0] > 0.99 > first[1], first
    digits = load_digits().data / 16
    assert Autoencoder(max_epochs=1, random_state=0).fit(digits).batch_size_ == 80  # images: the rule before (1617 rows // 20)


@pytest.mark.parametrize("start", ["pca", "random"])
def test_a_model_started_at_pca_never_ends_worse_on_validation_than_its_start(table, start):
    """Training that only overfits (20 rows, a large step) makes every epoch worse on the validation rows than
    the PCA start: the start's weights are then the ones kept (best epoch 0). A random start is no candidate."""
    from aekit.objectives.reconstruction import SquaredError
    from aekit.training.train_config import TrainConfig
    from aekit.training.trainer import Trainer

    train, val = table[:20], table[20:]
    torch.manual_seed(0)
    model = build_model(ModelConfig.of_kind(kind="mlp", hidden=[64], code_size=2, output="identity"), (6,))
    start_at_pca(model, train)
    trainer = Trainer(model, [SquaredError()], TrainConfig(epochs=5, batch_size=4, lr=0.05, start=start,
                                                                  device="cpu"))
    at_start = trainer.evaluate(val)["loss"]
    history = trainer.fit(train, val)
    assert min(r["val"]["loss"] for r in history) > at_start  # the premise: no epoch beat the start
    if start == "pca":
        assert trainer.best_epoch == 0 and trainer.evaluate(val)["loss"] == pytest.approx(at_start, rel=1e-6)
    else:
        assert trainer.best_epoch >= 1 and trainer.evaluate(val)["loss"] > at_start
