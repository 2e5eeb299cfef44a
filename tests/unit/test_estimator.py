"""The scikit-learn estimators: parameter errors, automatic choices, reproducibility, scores against
their closed forms, every input layout, families by name, save/load and pickling, pipelines, and the
outlier detector's threshold."""

from __future__ import annotations

import json
import logging
import re
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.analysis.likelihood import elbo
from aekit.errors import ConfigError, DataError, WeightsError
from aekit.estimator import ELBO_SAMPLES, Autoencoder, AutoencoderOutlierDetector

FAST = dict(hidden=(16,), epochs=3, random_state=0)


@pytest.fixture(scope="module")
def digits():
    """300 scikit-learn digits scaled to [0, 1]: (n, 64) and their labels."""
    data = load_digits()
    return (data.data[:300] / 16.0).astype(np.float64), data.target[:300]


def state(est):
    return {k: v.clone() for k, v in est.model_.state_dict().items()}


def same_weights(a, b):
    sa, sb = state(a), state(b)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# -- parameters: checked in fit, scikit-learn's wording -------------------------------------------
@pytest.mark.parametrize(
    "params, message",
    [
        (dict(code_size=0), "The 'code_size' parameter of Autoencoder must be a str among {'auto'} or an int in the "
                            "range [1, 2147483647]. Got 0 instead."),
        (dict(code_size=2.0), "The 'code_size' parameter of Autoencoder must be a str among {'auto'} or an int in the "
                              "range [1, 2147483647]. Got 2.0 instead."),
        (dict(hidden=(16, 0)), "The 'hidden' parameter of Autoencoder must be a list of ints in the range [1, 2147483647]. Got (16, 0) instead."),
        (dict(kind="rnn"), "The 'kind' parameter of Autoencoder must be a str among {'conv', 'mlp'}. Got 'rnn' instead."),
        (dict(loss="l2"), "The 'loss' parameter of Autoencoder must be a str among {'auto', 'bce', 'mse'}. Got 'l2' instead."),
        (dict(batch_size=0), "The 'batch_size' parameter of Autoencoder must be a str among {'auto'} or an int in the range [1, 2147483647]. Got 0 instead."),
        (dict(lr=0.0), "The 'lr' parameter of Autoencoder must be a str among {'auto'} or a float in the range "
                       "(0, inf). Got 0.0 instead."),
        (dict(validation_fraction=1.0), "The 'validation_fraction' parameter of Autoencoder must be a float in the range [0, 1). Got 1.0 instead."),
        (dict(penalties={"kl_sparsity": {"target": 0.0}}), "The 'penalties.kl_sparsity.target' parameter must be a float in the range (0, 1). Got 0.0 instead. (parameter 'penalties' of Autoencoder)"),
        (dict(penalties={"l1": -1.0}), "The 'penalties.l1.weight' parameter must be a float in the range [0, inf). Got -1.0 instead. (parameter 'penalties' of Autoencoder)"),
        (dict(penalties={"contractive": {"wieght": 0.1}}), "Unknown config key 'penalties.contractive.wieght' in section 'penalties.contractive'. Valid keys: penalties.contractive.weight"),
        (dict(penalties={"l2": 0.1}), "The 'penalties' parameter of Autoencoder must be None or a dict {name: weight or {field: value}} whose names are registered penalties among {"),
        (dict(penalties={"mse": 0.1}), "The 'penalties' parameter of Autoencoder must be None or a dict"),  # a reconstruction, not a penalty
        (dict(penalties=[("l1", 0.1)]), "The 'penalties' parameter of Autoencoder must be None or a dict"),
        (dict(noise="masking"), "The 'noise' parameter of Autoencoder must be None, a (name, level) pair such as ('masking', 0.25), or a dict {name: level or {field: value}}. Got 'masking' instead."),
        (dict(noise=("masking",)), "The 'noise' parameter of Autoencoder must be None, a (name, level) pair such as ('masking', 0.25), or a dict {name: level or {field: value}}. Got ('masking',) instead."),
        (dict(noise=("blur", 0.1)), "Unknown corruption 'blur'. Available: gaussian, masking, salt_and_pepper"),
        (dict(noise=("masking", 1.5)), "The 'noise.masking.fraction' parameter must be a float in the range [0, 1]. Got 1.5 instead. (parameter 'noise' of Autoencoder)"),
        (dict(activation="swish2"), "The 'activation' parameter of Autoencoder must be a str among {"),
    ],
)
def test_bad_parameters_raise_in_fit_with_sklearn_wording(digits, params, message):
    est = Autoencoder(**params)  # __init__ only stores
    assert all(getattr(est, k) == v for k, v in params.items())
    with pytest.raises(ValueError, match=re.escape(message)):
        est.fit(digits[0][:20])


def test_detector_contamination_is_checked_with_its_own_name(digits):
    with pytest.raises(ValueError, match=re.escape(
        "The 'contamination' parameter of AutoencoderOutlierDetector must be a str among {'auto'} or a float "
        "in the range (0, 0.5]. Got 0.6 instead."
    )):
        AutoencoderOutlierDetector(contamination=0.6).fit(digits[0][:20])


def test_the_detector_takes_every_transformer_parameter_with_the_same_default():
    ae, det = Autoencoder().get_params(), AutoencoderOutlierDetector().get_params()
    assert det.pop("contamination") == "auto"
    # but one: the detector trains denoising, chosen on the ODDS tables (experiments/anomaly_odds.py)
    assert (det.pop("noise"), ae.pop("noise")) == (("masking", 0.2), None)
    assert det == ae


def test_top_level_autoencoder_is_the_estimator_and_the_module_keeps_its_own_name():
    assert aekit.Autoencoder is Autoencoder
    assert aekit.AutoencoderOutlierDetector is AutoencoderOutlierDetector
    assert issubclass(aekit.AutoencoderModule, torch.nn.Module)


# -- automatic choices, logged -------------------------------------------------------------------
def test_loss_auto_is_cross_entropy_in_the_unit_interval_and_squared_error_outside(digits, caplog):
    x = digits[0][:60]
    with caplog.at_level(logging.INFO, logger="aekit"):
        images = Autoencoder(code_size=2, **FAST).fit(x)
        table = Autoencoder(code_size=2, **FAST).fit(x * 4 - 2)
    assert (images.rescaling_, images.reconstruction_) == (None, "bce")
    assert (table.rescaling_["kind"], table.reconstruction_) == ("standard", "mse")
    assert "loss: auto: the training data are in [0, 1], so the reconstruction loss is 'bce'" in caplog.text
    assert "rescale: auto: the training rows are in [-2, 2], outside [0, 1], so each feature is standardised" in caplog.text


def test_a_table_is_standardised_on_its_training_rows_and_reconstructed_in_its_own_units():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) * 100 + 1000  # far from unit scale
    x[:, 5] = 7.0  # a constant column: 0 for the model, given back as 7
    ae = Autoencoder(code_size=3, **{**FAST, "epochs": 40}).fit(x)
    shift, scale = np.asarray(ae.rescaling_["shift"]), np.asarray(ae.rescaling_["scale"])
    assert np.allclose(shift[:5], x[:, :5].mean(0), rtol=0.05) and scale[5] == 0
    x_hat = ae.inverse_transform(ae.transform(x))
    assert np.allclose(x_hat[:, 5], 7.0)
    assert np.abs(x_hat - x).mean() < np.abs(x - x.mean(0)).mean()  # in x's units, and closer than the mean


def test_cross_entropy_on_data_outside_the_unit_interval_says_what_to_do(digits):
    with pytest.raises(DataError, match=re.escape(
        "The training data have values in [0, 16] but cross-entropy (loss='bce') needs data in [0, 1]. Set "
        "rescale='minmax' to rescale them, or loss='mse' (or loss='auto', the default, which chooses it)."
    )):
        Autoencoder(loss="bce", rescale="none", **FAST).fit(digits[0][:20] * 16)


def test_batch_size_auto_and_a_validation_set_too_small_to_exist(digits, caplog):
    with caplog.at_level(logging.INFO, logger="aekit.estimator"):
        est = Autoencoder(code_size=2, **FAST).fit(digits[0][:5])
    assert est.batch_size_ == 5  # never more than the rows: no validation row is taken from 5 samples
    assert all(record["val"] is None for record in est.history_)
    assert "validation_fraction=0.1 of 5 samples leaves no validation set" in caplog.text
    big = Autoencoder(code_size=2, **FAST).fit(digits[0])
    assert big.batch_size_ == 32 and big.history_[0]["val"] is not None  # 270 train rows (270 // 20 < 32)
    from aekit.training.train_config import auto_batch_size

    assert [auto_batch_size(n) for n in (5, 270, 1213, 3240, 60000)] == [5, 32, 60, 162, 256]


# -- reproducibility ------------------------------------------------------------------------------
def test_an_int_random_state_makes_fit_bitwise_reproducible_and_leaves_global_rngs_alone(digits):
    x = digits[0][:120]
    params = dict(code_size=3, noise=("masking", 0.25), variational=True, **FAST)
    torch_before, numpy_before = torch.get_rng_state(), np.random.get_state()[1].copy()
    a, b = Autoencoder(**params).fit(x), Autoencoder(**params).fit(x)
    assert torch.equal(torch.get_rng_state(), torch_before)
    assert np.array_equal(np.random.get_state()[1], numpy_before)
    assert same_weights(a, b)
    assert np.array_equal(a.transform(x), b.transform(x))
    assert np.array_equal(a.score_samples(x), b.score_samples(x))
    assert a.history_[-1]["train"] == b.history_[-1]["train"]
    c = Autoencoder(**{**params, "random_state": 1}).fit(x)
    assert not same_weights(a, c)


def test_scores_of_a_sample_do_not_depend_on_the_rest_of_the_batch_at_float32_precision(digits):
    x = digits[0][:50]
    est = Autoencoder(code_size=3, **FAST).fit(x)
    full = est.score_samples(x)
    parts = np.concatenate([est.score_samples(x[i : i + 7]) for i in range(0, 50, 7)])
    np.testing.assert_allclose(parts, full, rtol=1e-5)
    np.testing.assert_allclose(est.score_samples(x[::-1]), full[::-1], rtol=1e-5)


# -- scores against their definitions -------------------------------------------------------------
def test_score_samples_is_the_negative_per_sample_reconstruction_loss(digits):
    x = digits[0][:80]
    bce = Autoencoder(code_size=4, **FAST).fit(x)
    t = torch.from_numpy(x.astype(np.float32))
    with torch.no_grad():
        logits = bce.model_(t)["logits"]
        expected = -F.binary_cross_entropy_with_logits(logits, t, reduction="none").sum(1).numpy()
    np.testing.assert_allclose(bce.score_samples(x), expected, rtol=1e-5)
    assert bce.score(x) == pytest.approx(expected.mean(), rel=1e-5)

    y = x * 3 - 1
    mse = Autoencoder(code_size=4, rescale="none", **FAST).fit(y)
    ty = torch.from_numpy(y.astype(np.float32))
    with torch.no_grad():
        expected = -(mse.model_(ty)["x_hat"] - ty).pow(2).sum(1).numpy()
    np.testing.assert_allclose(mse.score_samples(y), expected, rtol=1e-5)
    assert mse.score_samples(y).dtype == np.float64

    standard = Autoencoder(code_size=4, **FAST).fit(y)  # rescale="auto": scored in the standardised units
    tz = torch.from_numpy(standard._rescaling.apply(y))
    with torch.no_grad():
        expected = -(standard.model_(tz)["x_hat"] - tz).pow(2).sum(1).numpy()
    np.testing.assert_allclose(standard.score_samples(y), expected, rtol=1e-5)


def test_a_variational_score_is_the_elbo_and_its_code_is_the_posterior_mean(digits):
    x = digits[0][:80]
    est = Autoencoder(code_size=3, variational=True, penalties={"kl": 2.0}, **FAST).fit(x)
    assert "kl" in est.history_[-1]["train"]
    assert est.get_params()["penalties"] == {"kl": 2.0}  # stored as given (scikit-learn's rule)
    t = torch.from_numpy(x.astype(np.float32))
    expected = elbo(est.model_, t, samples=ELBO_SAMPLES, generator=torch.Generator().manual_seed(est.seed_))
    np.testing.assert_allclose(est.score_samples(x), expected.numpy(), rtol=1e-6)
    assert est.score(x) == pytest.approx(float(expected.mean()), rel=1e-6)
    with torch.no_grad():
        mu, _ = est.model_.posterior(t)
    np.testing.assert_array_equal(est.transform(x), mu.numpy())


# -- every family by name -------------------------------------------------------------------------
def test_noise_as_a_pair_and_as_a_dict_is_the_same_corruption(digits):
    x = digits[0][:80]
    pair = Autoencoder(code_size=3, noise=("masking", 0.3), **FAST).fit(x)
    mapping = Autoencoder(code_size=3, noise={"masking": {"fraction": 0.3}}, **FAST).fit(x)
    clean = Autoencoder(code_size=3, **FAST).fit(x)
    assert same_weights(pair, mapping) and not same_weights(pair, clean)
    several = Autoencoder(code_size=3, noise={"masking": 0.3, "gaussian": 0.1}, **FAST).fit(x)
    assert not same_weights(several, pair)


def test_each_penalty_is_a_named_term_of_the_history(digits):
    x = digits[0][:80]
    sparse = Autoencoder(code_size=4, penalties={"l1": 1e-3, "kl_sparsity": {"weight": 0.1, "target": 0.1}},
                         code_activation="sigmoid", **FAST).fit(x)
    assert {"recon", "l1", "kl_sparsity", "loss"} <= set(sparse.history_[-1]["train"])
    with pytest.raises(ConfigError, match="needs code activations in \\(0, 1\\)"):
        Autoencoder(code_size=4, penalties={"kl_sparsity": 0.1}, **FAST).fit(x)  # linear code


def test_the_contractive_penalty_is_built_by_name(digits):
    est = Autoencoder(code_size=4, penalties={"contractive": {"weight": 0.1, "projections": 1}}, **FAST).fit(digits[0][:60])
    assert "contractive" in est.history_[-1]["train"]


def test_penalties_build_the_same_objectives_as_a_run_config():
    from aekit.training.run_config import make_config

    spec = {"l1": 1e-4, "contractive": {"weight": 0.1, "projections": 1}}
    est = Autoencoder(variational=False, penalties=spec)
    config = make_config(overrides=["penalties.l1=1e-4", "penalties.contractive={weight: 0.1, projections: 1}",
                                    "loss.reconstruction=mse"])
    assert est._objectives("mse") == config.objectives()
    assert Autoencoder(variational=True)._objectives("bce")[1:] == Autoencoder(
        variational=True, penalties={"kl": 1.0})._objectives("bce")[1:]  # a VAE's KL term, beta = 1, by default


def test_an_estimator_json_of_another_format_is_refused(digits, tmp_path):
    folder = Autoencoder(code_size=3, **FAST).fit(digits[0][:60]).save(tmp_path / "ae")
    document = json.loads((folder / "estimator.json").read_text())
    document.update(format="aekit.estimator/1")  # the layout of early development, which never shipped
    (folder / "estimator.json").write_text(json.dumps(document))
    with pytest.raises(WeightsError, match=r"expected format 'aekit\.estimator/2', found 'aekit\.estimator/1'"):
        Autoencoder.load(folder)


# -- input layouts --------------------------------------------------------------------------------
def test_a_dataframe_gives_feature_names_and_pandas_output(digits):
    x = digits[0][:60]
    df = pd.DataFrame(x, columns=[f"px{i}" for i in range(64)])
    est = Autoencoder(code_size=3, **FAST).fit(df)
    assert list(est.feature_names_in_) == list(df.columns) and est.n_features_in_ == 64
    assert list(est.get_feature_names_out()) == ["ae0", "ae1", "ae2"]
    out = est.set_output(transform="pandas").transform(df)
    assert list(out.columns) == ["ae0", "ae1", "ae2"] and out.shape == (60, 3)
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        est.get_feature_names_out([f"c{i}" for i in range(64)])


def test_image_arrays_train_a_conv_model_and_come_back_as_images(digits):
    images = digits[0][:60].reshape(-1, 8, 8)
    est = Autoencoder(code_size=3, kind="conv", channels=(4,), epochs=3, random_state=0).fit(images)
    assert est.input_shape_ == (8, 8) and est.n_features_in_ == 64
    assert est.model_.sample_shape == (1, 8, 8)
    h = est.transform(images)
    assert h.shape == (60, 3) and h.dtype == np.float32
    assert est.inverse_transform(h).shape == (60, 8, 8)
    np.testing.assert_array_equal(est.transform(images.reshape(60, 64)), h)  # flat rows work too
    assert est.fit(images[:, None]).model_.sample_shape == (1, 8, 8)  # (n, C, H, W)
    with pytest.raises(ConfigError, match="kind 'conv' needs image data shaped \\(C, H, W\\)"):
        Autoencoder(kind="conv", epochs=3, random_state=0).fit(digits[0][:20])


@pytest.mark.parametrize("kind, setting, pattern", [
    ("conv", {"hidden": (16,)}, r"The 'hidden' parameter of Autoencoder applies to kind 'mlp', not to kind='conv', "
                                r"which takes channels, kernel_size\. Leave hidden at its default \(\(512,\)\), or "
                                r"set kind='mlp'\."),
    ("conv", {"tied": True}, r"The 'tied' parameter of Autoencoder applies to kind 'mlp'"),
    ("mlp", {"channels": (4,)}, r"The 'channels' parameter of Autoencoder applies to kind 'conv', not to kind='mlp'"),
    ("mlp", {"kernel_size": 5}, r"The 'kernel_size' parameter of Autoencoder applies to kind 'conv'"),
])
def test_a_setting_of_another_encoder_kind_is_refused_by_name(digits, kind, setting, pattern):
    images = digits[0][:20].reshape(-1, 1, 8, 8)
    with pytest.raises(ConfigError, match=pattern):
        Autoencoder(kind=kind, epochs=1, **setting).fit(images)
    Autoencoder(kind=kind, epochs=1, random_state=0, hidden=(512,), channels=(16, 32)).fit(images)  # defaults: fine


def test_inverse_transform_reconstructs_and_checks_the_code_width(digits):
    x = digits[0][:80]
    est = Autoencoder(code_size=4, **FAST).fit(x)
    x_hat = est.inverse_transform(est.transform(x))
    assert x_hat.shape == x.shape and 0 <= x_hat.min() and x_hat.max() <= 1  # a sigmoid decoder
    with pytest.raises(ValueError, match=re.escape("X has 5 features, but Autoencoder.inverse_transform is "
                                                   "expecting codes of 4 features (code_size=4)")):
        est.inverse_transform(np.zeros((2, 5)))


# -- save / load, pickling ------------------------------------------------------------------------
def test_save_and_load_restore_the_same_estimator_without_pickle(digits, tmp_path):
    x, _ = digits
    df = pd.DataFrame(x[:80], columns=[f"px{i}" for i in range(64)])
    det = AutoencoderOutlierDetector(code_size=3, contamination=0.1, noise=("masking", 0.2), **FAST).fit(df)
    folder = det.save(tmp_path / "det")
    assert sorted(p.name for p in folder.iterdir()) == ["estimator.json", "model.json", "model.safetensors"]
    back = AutoencoderOutlierDetector.load(folder)
    assert back.get_params() == det.get_params()
    for name in ("offset_", "seed_", "n_iter_", "input_shape_", "reconstruction_", "history_", "n_features_in_"):
        assert getattr(back, name) == getattr(det, name), name
    assert list(back.feature_names_in_) == list(det.feature_names_in_)
    assert same_weights(back, det)
    np.testing.assert_array_equal(back.decision_function(df), det.decision_function(df))
    assert isinstance(aekit.load_model(folder), torch.nn.Module)  # the run-folder model files
    with pytest.raises(WeightsError, match="holds a AutoencoderOutlierDetector; load it with "
                                           "AutoencoderOutlierDetector.load"):
        Autoencoder.load(folder)
    assert json.loads((folder / "estimator.json").read_text())["params"]["noise"] == {"__tuple__": ["masking", 0.2]}


def test_joblib_pickling_round_trips(digits, tmp_path):
    x = digits[0][:60]
    est = Autoencoder(code_size=3, **FAST).fit(x)
    joblib.dump(est, tmp_path / "ae.joblib")
    back = joblib.load(tmp_path / "ae.joblib")
    np.testing.assert_array_equal(back.transform(x), est.transform(x))
    assert clone(back).get_params() == est.get_params()


# -- training control -----------------------------------------------------------------------------
def test_the_budget_warns_that_the_fit_has_not_converged_and_verbose_prints_each_epoch(digits, capsys):
    x = digits[0][:60]
    auto = {**FAST, "epochs": "auto"}
    with pytest.warns(ConvergenceWarning, match=r"stopped on its budget of max_epochs=3 while the validation loss "
                                                r"was still improving by more than tol=0.001"):
        est = Autoencoder(code_size=3, max_epochs=3, verbose=1, **auto).fit(x)
    assert est.stop_reason_ == "budget" and est.n_epochs_ == est.n_iter_ == 3
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == ("Autoencoder: training the autoencoder on 54 rows, 6 held out for validation, until it "
                        "converges, at most 3 epochs")
    assert [line.split("  ")[0] for line in lines[1:4]] == ["epoch 1 (<= 3)", "epoch 2 (<= 3)", "epoch 3 (<= 3)"]
    assert "train: loss" in lines[1] and "|  val: loss" in lines[1]  # aekit train's epoch line
    assert lines[4].startswith("Autoencoder: trained 3 epochs in ") and len(lines) == 5
    assert "stopped because the epoch budget (max_epochs = 3) ran out" in lines[4]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converging is silent; a fixed number of epochs never warns
        stopped = Autoencoder(code_size=3, n_iter_no_change=2, lr=1.0, max_epochs=60, **auto).fit(x)
        fixed = Autoencoder(code_size=3, **FAST).fit(x)
    assert stopped.stop_reason_ == "converged" and stopped.n_epochs_ < 60
    assert fixed.stop_reason_ == "completed" and fixed.n_epochs_ == 3
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing


def test_verbose_says_why_a_converged_fit_stopped(digits, capsys):
    Autoencoder(code_size=3, n_iter_no_change=2, lr=1.0, max_epochs=60, verbose=1,
                **{**FAST, "epochs": "auto"}).fit(digits[0][:60])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "stopped because the validation loss did not improve by more than tol = 0.001 (relative) for " \
           "patience = 2 epochs; the model keeps epoch" in last


def test_epochs_auto_stops_once_the_loss_stops_improving_by_tol(digits):
    x = digits[0][:200]
    loose = Autoencoder(code_size=3, hidden=(16,), tol=0.05, n_iter_no_change=3, random_state=0).fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the strict one may well run out of budget
        tight = Autoencoder(code_size=3, hidden=(16,), tol=0.0, n_iter_no_change=3, random_state=0,
                            max_epochs=150).fit(x)
    assert loose.stop_reason_ == "converged"
    assert loose.n_epochs_ < tight.n_epochs_  # a looser tolerance converges sooner
    val = [record["val"]["loss"] for record in loose.history_]
    best = min(val[:-3])  # the last 3 epochs did not improve on the best before them by 5 %
    assert min(val[-3:]) >= 0.95 * best or len(val) <= 3


def test_without_early_stopping_every_row_trains_and_the_training_loss_decides(digits):
    x = digits[0][:100]
    est = Autoencoder(code_size=3, early_stopping=False, **FAST).fit(x)
    assert all(record["val"] is None for record in est.history_)


# -- scikit-learn composition ---------------------------------------------------------------------
def test_pipeline_and_grid_search_over_the_code_size(digits):
    x, y = digits
    pipe = make_pipeline(StandardScaler(), Autoencoder(code_size=8, hidden=(32,), epochs=30, batch_size=32, random_state=0),
                         LogisticRegression(max_iter=500))
    pipe.fit(x[:200], y[:200])
    assert pipe.named_steps["autoencoder"].reconstruction_ == "mse"  # standardised data is not in [0, 1]
    assert pipe.score(x[200:], y[200:]) > 0.7  # chance is 0.1
    search = GridSearchCV(pipe, {"autoencoder__code_size": [2, 8]}, cv=2).fit(x, y)
    assert search.best_params_ == {"autoencoder__code_size": 8}  # 2 numbers cannot separate 10 digits
    assert search.cv_results_["mean_test_score"].shape == (2,)
    assert search.best_estimator_.named_steps["autoencoder"].code_size == search.best_params_["autoencoder__code_size"]


def test_grid_search_over_penalties(digits):
    x, y = digits
    pipe = make_pipeline(Autoencoder(code_size=4, code_activation="sigmoid", **FAST),
                         LogisticRegression(max_iter=200))
    grid = {"autoencoder__penalties": [None, {"l1": 1e-3}, {"kl_sparsity": {"weight": 0.1, "target": 0.1}}]}
    search = GridSearchCV(pipe, grid, cv=2).fit(x[:120] / 16, y[:120])
    assert search.cv_results_["param_autoencoder__penalties"].tolist() == grid["autoencoder__penalties"]
    fitted = search.best_estimator_.named_steps["autoencoder"]
    assert fitted.penalties in grid["autoencoder__penalties"]
    terms = set(fitted.history_[-1]["train"])
    assert {"l1", "kl_sparsity"} & terms == set(fitted.penalties or {})  # the chosen penalty trained, the others not


# -- the outlier detector -------------------------------------------------------------------------
def test_the_detector_threshold_follows_contamination_or_tukeys_fence(digits):
    x = digits[0][:200]
    det = AutoencoderOutlierDetector(code_size=4, contamination=0.1, **FAST).fit(x)
    scores = det.score_samples(x)
    assert det.offset_ == pytest.approx(np.percentile(scores, 10))
    np.testing.assert_allclose(det.decision_function(x), scores - det.offset_)
    assert (det.predict(x) == -1).sum() == 20  # 10 % of the training data
    auto = AutoencoderOutlierDetector(code_size=4, **FAST).fit(x)
    s = auto.score_samples(x)
    q1, q3 = np.percentile(s, [25, 75])
    assert auto.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    np.testing.assert_array_equal(auto.fit_predict(x), np.where(s >= auto.offset_, 1, -1))


def test_the_detector_flags_noise_images_among_digits(digits):
    x = digits[0]
    noise = np.random.default_rng(0).uniform(size=(20, 64))
    det = AutoencoderOutlierDetector(code_size=8, hidden=(32,), epochs=20, random_state=0).fit(x)
    assert (det.predict(noise) == -1).mean() == 1.0
    assert (det.predict(x) == -1).mean() < 0.1


def test_ctrl_c_keeps_the_best_weights_so_far(digits, monkeypatch):
    import aekit.estimator.base as module

    class Interrupted(module.Trainer):
        def _train_epoch(self, source):
            if self.epoch == 2:
                raise KeyboardInterrupt
            return super()._train_epoch(source)

    monkeypatch.setattr(module, "Trainer", Interrupted)
    x = digits[0][:60]
    with pytest.warns(UserWarning, match="Training interrupted by the user after 2 epochs"):
        est = Autoencoder(code_size=3, **FAST).fit(x)
    assert est.n_iter_ == 2 and len(est.history_) == 2 and est.transform(x).shape == (60, 3)


def test_numpy_ints_from_a_parameter_grid_still_save_as_json(digits, tmp_path):
    x = digits[0][:40]
    est = Autoencoder(code_size=np.int64(3), hidden=(np.int64(8),), epochs=np.int64(2), random_state=np.int64(0))
    back = Autoencoder.load(est.fit(x).save(tmp_path / "ae"))
    np.testing.assert_array_equal(back.transform(x), est.transform(x))
