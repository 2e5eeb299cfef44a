"""Saving and loading models: safetensors + JSON round trips bit for bit in a fresh process, and every
way a model folder can be wrong is one pinned WeightsError."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from aekit.config import to_dict
from aekit.errors import WeightsError
from aekit.models import ModelConfig, build_model, load_model, save_model

torch.set_num_threads(1)

MODELS = {
    "mlp": (dict(kind="mlp", hidden=[8, 6], code_size=3, output="sigmoid"), (1, 4, 5)),
    "mlp-tied": (dict(kind="mlp", hidden=[8], code_size=3, tied=True, activation="tanh", output="identity"), (10,)),
    "conv": (dict(kind="conv", channels=[3, 4], code_size=5, code_activation="sigmoid", output="sigmoid"), (1, 7, 6)),
}


def make(name: str):
    torch.manual_seed(0)
    options, sample_shape = MODELS[name]
    return build_model(ModelConfig(**options), sample_shape)


def test_round_trip_in_a_fresh_process_is_bit_identical(tmp_path):
    for name in MODELS:
        model = make(name).eval()
        assert save_model(model, tmp_path / name) == tmp_path / name
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["model.json", "model.safetensors"]
        x = torch.rand(4, *model.sample_shape)
        np.save(tmp_path / f"{name}-x.npy", x.numpy())
        with torch.no_grad():
            np.save(tmp_path / f"{name}-h.npy", model.encode(x).numpy())
    script = textwrap.dedent(f"""
        import numpy as np, torch
        torch.set_num_threads(1)
        from aekit.models import load_model
        for name in {list(MODELS)!r}:
            model = load_model({str(tmp_path)!r} + "/" + name)
            assert not model.training
            x = torch.from_numpy(np.load({str(tmp_path)!r} + f"/{{name}}-x.npy"))
            with torch.no_grad():
                np.save({str(tmp_path)!r} + f"/{{name}}-h-loaded.npy", model.encode(x).numpy())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    for name in MODELS:
        h = np.load(tmp_path / f"{name}-h.npy")
        assert np.array_equal(np.load(tmp_path / f"{name}-h-loaded.npy"), h), name


@pytest.mark.parametrize("name", list(MODELS))
def test_loaded_model_has_the_same_description_and_weights(tmp_path, name):
    model = make(name)
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert not loaded.training
    assert loaded.describe() == model.describe()
    assert json.loads((tmp_path / "model.json").read_text())["format"] == "aekit.model/2"
    for (key, a), (key_b, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert key == key_b and torch.equal(a, b)
    # a loaded tied model still ties: its decoder reads the loaded encoder weights
    if getattr(model.config, "tied", False):
        assert loaded.decoder._tied[-1] is loaded.encoder.body[1]


@pytest.fixture
def saved(tmp_path):
    """A saved mlp (hidden [8], code_size 16) and its folder."""
    save_model(build_model(ModelConfig(hidden=[8], code_size=16, output="identity"), (10,)), tmp_path)
    return tmp_path


def edit_json(folder, **config):
    description = json.loads((folder / "model.json").read_text())
    description["config"].update(config)
    (folder / "model.json").write_text(json.dumps(description))


def test_missing_directory_and_files(tmp_path, saved):
    with pytest.raises(WeightsError, match=r"Model directory '.*nowhere' does not exist\."):
        load_model(tmp_path / "nowhere")
    (saved / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match=r"has no model\.safetensors; save_model writes model\.json and "):
        load_model(saved)
    (saved / "model.json").unlink()
    with pytest.raises(WeightsError, match=r"has no model\.json"):
        load_model(saved)


@pytest.mark.parametrize("write", [
    pytest.param(lambda path: torch.save({"encoder.head.linear.weight": torch.zeros(16, 8)}, path), id="pickle"),
    pytest.param(lambda path: path.write_bytes(np.random.default_rng(0).bytes(300)), id="random-bytes"),
    pytest.param(lambda path: path.write_bytes(b""), id="empty"),
])
def test_weights_that_are_not_safetensors(saved, write):
    write(saved / "model.safetensors")
    with pytest.raises(WeightsError, match=r"model\.safetensors is not a safetensors file \(.*\); aekit reads "
                                           r"only safetensors \(never pickles"):
        load_model(saved)


def test_shape_mismatch_names_the_first_tensor(saved):
    edit_json(saved, code_size=32)
    message = ("model.safetensors does not fit the architecture in model.json: encoder.head.linear.weight has "
               "shape (16, 8) in the file but (32, 8) in the model.")
    with pytest.raises(WeightsError, match=re.escape(message)):
        load_model(saved)


def test_missing_and_unexpected_keys_are_named(saved):
    edit_json(saved, tied=True)
    with pytest.raises(WeightsError, match=re.escape(
        "does not fit the architecture in model.json: missing keys decoder.biases.0, decoder.biases.1; "
        "unexpected keys decoder.net.0.bias, decoder.net.0.weight, decoder.net.2.bias, decoder.net.2.weight."
    )):
        load_model(saved)


@pytest.mark.parametrize("text, pattern", [
    ("{not json", r"model\.json' is not valid JSON"),
    ('{"format": "pythae/1"}', r"is not an aekit model description: expected format 'aekit\.model/2', found "
                               r"'pythae/1'\."),
    ('{"format": "aekit.model/9", "config": {}, "sample_shape": [4]}',
     r"model\.json has format 'aekit\.model/9', a version this aekit cannot read \(it reads aekit\.model/2, "
     r"aekit\.model/1\): it was written by another aekit version"),
    ('{"format": "aekit.model/2", "config": {"code_size": 0}, "sample_shape": [4]}',
     r"describes an architecture aekit cannot build: The 'code_size' parameter must be a str among"),
])
def test_bad_model_json(saved, text, pattern):
    (saved / "model.json").write_text(text)
    with pytest.raises(WeightsError, match=pattern):
        load_model(saved)


# model.json of format aekit.model/1: one flat config held every kind's keys ---------------------------

FLAT_KEYS = ["kind", "code_size", "hidden", "channels", "kernel_size", "activation", "code_activation", "tied",
             "variational", "output"]  # the flat ModelConfig's fields, in its order
FLAT_DEFAULTS = {"kind": "mlp", "code_size": "auto", "hidden": [512], "channels": [16, 32], "kernel_size": 3,
                 "activation": "relu", "code_activation": "linear", "tied": False, "variational": False,
                 "output": "auto"}


def write_flat_model_json(folder, model):
    """model.json as aekit.model/1 wrote it: every kind's keys, the other kinds' at their defaults."""
    config = {**FLAT_DEFAULTS, **{k: v for k, v in model.describe()["config"].items()}}
    description = {"format": "aekit.model/1", "config": {k: config[k] for k in FLAT_KEYS},
                   "sample_shape": list(model.sample_shape), "output": model.output,
                   "parameters": sum(p.numel() for p in model.parameters()), "aekit_version": "0.1.0"}
    (folder / "model.json").write_text(json.dumps(description, indent=2) + "\n")


@pytest.mark.parametrize("name", list(MODELS))
def test_a_model_json_of_format_1_still_loads(tmp_path, caplog, name):
    model = make(name).eval()
    save_model(model, tmp_path)
    write_flat_model_json(tmp_path, model)
    with caplog.at_level("INFO", logger="aekit.models.config"):
        loaded = load_model(tmp_path)
    assert to_dict(loaded.config) == to_dict(model.config)  # the other kinds' keys are gone
    x = torch.rand(3, *model.sample_shape)
    with torch.no_grad():
        assert torch.equal(loaded.encode(x), model.encode(x))
    dropped = "channels, kernel_size" if model.config.kind == "mlp" else "hidden, tied"
    assert f"model.json (format aekit.model/1) was written before each encoder kind had its own config: dropped " \
           f"{dropped}, which kind '{model.config.kind}'" in caplog.text
    save_model(loaded, tmp_path / "again")  # saved again, it is the current format
    assert json.loads((tmp_path / "again" / "model.json").read_text())["format"] == "aekit.model/2"


def test_a_classifier_holding_a_format_1_description_still_loads(tmp_path):
    from aekit.models.classifier import Classifier, load_classifier, save_classifier

    model = make("conv").eval()
    write_flat_model_json(tmp_path, model)
    old = json.loads((tmp_path / "model.json").read_text())
    save_classifier(Classifier.from_autoencoder(model, n_classes=3), old, tmp_path / "clf")
    loaded = load_classifier(tmp_path / "clf")
    x = torch.rand(3, *model.sample_shape)
    with torch.no_grad():
        assert torch.equal(loaded.encoder(x), model.encoder(x))
