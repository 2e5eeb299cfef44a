"""Linear autoencoder vs PCA: which models are linear, the decoder matrix, errors and principal angles."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from aekit.analysis.pca import compare_with_pca, decoder_matrix, is_linear, pca_reconstruction_error
from aekit.errors import ConfigError
from aekit.models import ModelConfig, build_model

D, K = 12, 3


def data(seed=0):
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(K, D))
    x = rng.normal(size=(300, K)) * [3.0, 2.0, 1.0] @ basis + 0.05 * rng.normal(size=(300, D)) + 1.0
    return x[:200].astype(np.float32), x[200:].astype(np.float32)


def linear_model(**kw):
    torch.manual_seed(0)
    config = dict(hidden=[], code_size=K, output="identity", activation="linear")
    config.update(kw)
    return build_model(ModelConfig.of_kind(**config), (D,)).eval()


def set_to_pca(model, pca, mix):
    """Encoder h = M^T V^T (x - mean), decoder x = V M^-T h + mean: PCA's subspace in a mixed basis."""
    v = torch.tensor(pca.components_.T, dtype=torch.float32)  # (D, K)
    m = torch.tensor(mix, dtype=torch.float32)  # (K, K), invertible
    mean = torch.tensor(pca.mean_, dtype=torch.float32)
    with torch.no_grad():
        model.encoder.head.linear.weight.copy_(m.T @ v.T)
        model.encoder.head.linear.bias.copy_(-(m.T @ v.T @ mean))
        model.decoder.net[0].weight.copy_(v @ torch.linalg.inv(m.T))
        model.decoder.net[0].bias.copy_(mean)


@pytest.mark.parametrize("kw, linear", [
    ({}, True),
    ({"hidden": [8], "activation": "linear"}, True),
    ({"hidden": [8], "activation": "relu"}, False),
    ({"code_activation": "sigmoid"}, False),
    ({"output": "sigmoid"}, False),
    ({"variational": True}, False),
])
def test_is_linear(kw, linear):
    assert is_linear(linear_model(**kw)) is linear


def test_decoder_matrix_of_a_deep_linear_decoder_is_the_product_of_its_weights():
    model = linear_model(hidden=[8], activation="linear")
    w = model.decoder.net[2].weight @ model.decoder.net[0].weight  # (D, 8) @ (8, K), an Identity between
    np.testing.assert_allclose(decoder_matrix(model), w.detach().double().numpy(), rtol=1e-5, atol=1e-6)


def test_pca_in_any_basis_matches_pca_error_with_zero_angles():
    x_train, x_test = data()
    pca = PCA(K).fit(x_train)
    model = linear_model()
    set_to_pca(model, pca, mix=[[2.0, 1.0, 0.0], [0.0, 1.0, 0.5], [1.0, 0.0, 1.0]])
    result = compare_with_pca(model, x_train, x_test)
    assert result.error_ratio == pytest.approx(1.0, abs=1e-4)
    assert result.angles_deg.max() < 0.05
    assert result.pca_per_image == pytest.approx(pca_reconstruction_error(x_train, x_test, K).per_image)
    assert result.autoencoder_mse == pytest.approx(result.autoencoder_per_image / D, rel=1e-5)


def test_an_untrained_linear_model_is_worse_than_pca_and_off_its_subspace():
    x_train, x_test = data()
    result = compare_with_pca(linear_model(), x_train, x_test)
    assert result.error_ratio > 2
    assert result.angles_deg.max() > 45


def test_a_nonlinear_model_is_refused_with_what_linear_means():
    x_train, x_test = data()
    with pytest.raises(ConfigError, match="needs a linear autoencoder: model.activation 'linear'"):
        compare_with_pca(linear_model(hidden=[8], activation="relu"), x_train, x_test)
