"""Export to ONNX and torch.export: the graphs give what the model gives, within 1e-4, for every registered
encoder kind (deterministic and variational, whose encoder gives the posterior mean), with a rescaling baked
into the encoder, for a batch of any size; the estimators export too; a wrong format or a missing extra is
one line that says what to do."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from aekit.analysis.export import INSTALL, export_model
from aekit.data.preparation import Rescaling
from aekit.errors import ConfigError
from aekit.models import build_model
from aekit.registry import available, get

TOLERANCE = 1e-4


def _model(kind, shape, **settings):
    torch.manual_seed(0)
    config = {"kind": kind, **get("encoder", kind).example, "code_size": 3, "output": "sigmoid", **settings}
    return build_model(config, shape).eval()


def _run(format, path, name, x, ort):
    """Run an exported graph on ``x`` (numpy): ONNX Runtime for onnx, the loaded program for pt2."""
    if format == "onnx":
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {name: x})[0]
    return torch.export.load(str(path)).module()(torch.from_numpy(x)).detach().numpy()


def _parity(model, out, format, ort, preprocessing=None, input_shape=None, batches=(1, 5)):
    """Largest gap between the exported encoder / decoder and the model, over batches of several sizes."""
    done = export_model(model, out, format, preprocessing=preprocessing, input_shape=input_shape)
    shape = input_shape or model.sample_shape
    rng = np.random.default_rng(0)
    gaps = []
    for n in batches:
        x = (rng.random((n, *shape)) * 3).astype(np.float32)
        h = rng.normal(size=(n, model.config.code_size)).astype(np.float32)
        x_in = x if preprocessing is None else preprocessing.apply(x.reshape(n, *model.sample_shape))
        with torch.no_grad():
            h_ref = model.encode(torch.from_numpy(np.ascontiguousarray(x_in)).reshape(n, *model.sample_shape)).numpy()
            x_ref = model.decode(torch.from_numpy(h)).numpy().reshape(n, *shape)
        h_out, x_out = _run(format, done.encoder, "x", x, ort), _run(format, done.decoder, "h", h, ort)
        assert h_out.shape == h_ref.shape and x_out.shape == x_ref.shape
        gaps += [np.abs(h_out - h_ref).max(), np.abs(x_out - x_ref).max()]
    return max(gaps), done


@pytest.mark.slow
@pytest.mark.parametrize("kind", available("encoder"))
@pytest.mark.parametrize("variational", [False, True])
def test_onnx_matches_the_model_for_every_encoder_kind(kind, variational, tmp_path, ort):
    shape = next(s for s in get("encoder", kind).example_shapes if len(s) == 3)  # images: both kinds take them
    model = _model(kind, shape, variational=variational)
    gap, done = _parity(model, tmp_path, "onnx", ort)
    assert gap < TOLERANCE
    description = json.loads(done.description.read_text())
    assert description["opset"] == 18 and description["variational"] is variational
    assert description["encoder"]["input"]["shape"] == ["batch", *shape]
    assert ("posterior mean" in description["encoder"]["output"]["is"]) is variational


@pytest.mark.parametrize("kind", available("encoder"))
@pytest.mark.parametrize("variational", [False, True])
def test_torch_export_matches_the_model_for_every_encoder_kind(kind, variational, tmp_path, ort):
    for i, shape in enumerate(get("encoder", kind).example_shapes):
        gap, _ = _parity(_model(kind, shape, variational=variational), tmp_path / str(i), "pt2", ort)
        assert gap < TOLERANCE, shape


def test_the_rescaling_is_inside_the_encoder_and_recorded(tmp_path, ort):
    """(torch.export here; the command line's test covers ONNX on a run trained with a rescaling)"""
    format = "pt2"
    model = _model("mlp", (12,), tied=True)
    rng = np.random.default_rng(3)
    train = rng.random((40, 12)).astype(np.float32) * np.linspace(1, 100, 12, dtype=np.float32)
    train[:, 4] = 7.0  # a constant feature: scale 0
    for kind, shift in (("minmax", "low"), ("standard", "mean")):
        pre = Rescaling.fit(kind, train)
        gap, done = _parity(model, tmp_path / kind, format, ort, preprocessing=pre)
        assert gap < TOLERANCE
        recorded = json.loads(done.description.read_text())["preprocessing"]
        assert recorded["kind"] == kind and np.allclose(recorded[shift], pre.shift) and recorded["scale"][4] == 0
        assert f"encoder.{format}" in recorded["where"] and shift in recorded["inverse"]


def test_the_estimator_exports_in_the_layout_it_was_fitted_on(tmp_path, ort):
    from aekit import Autoencoder

    x = np.random.default_rng(0).random((60, 8, 8)).astype(np.float32)  # (n, H, W) grey images
    estimator = Autoencoder(3, hidden=(8,), epochs=2, random_state=0).fit(x)
    assert estimator.export(tmp_path) == tmp_path
    h = _run("onnx", tmp_path / "encoder.onnx", "x", x[:7], ort)
    assert np.abs(h - estimator.transform(x[:7])).max() < TOLERANCE
    x_hat = _run("onnx", tmp_path / "decoder.onnx", "h", h, ort)
    assert x_hat.shape == (7, 8, 8) and np.abs(x_hat - estimator.inverse_transform(h)).max() < TOLERANCE


def test_an_unknown_format_lists_the_valid_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"'format' parameter of export must be a str among \{'onnx', 'pt2'\}. "
                                          r"Got 'tflite'"):
        export_model(_model("mlp", (12,)), tmp_path, "tflite")
    assert not list(tmp_path.iterdir())


def test_a_missing_export_extra_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript raises ImportError
    with pytest.raises(ConfigError) as error:
        export_model(_model("mlp", (12,)), tmp_path, "onnx")
    assert str(error.value).endswith(INSTALL) and "\n" not in str(error.value) and "onnxscript" in str(error.value)
    export_model(_model("mlp", (12,)), tmp_path, "pt2")  # torch.export needs nothing more
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decoder.pt2", "encoder.pt2", "export.json"]
