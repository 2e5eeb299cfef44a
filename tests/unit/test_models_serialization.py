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
    return build_model(ModelConfig.of_kind(**options), sample_shape)


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
    save_model(build_model(ModelConfig.of_kind(hidden=[8], code_size=16, output="identity"), (10,)), tmp_path)
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
     r"model\.json has format 'aekit\.model/9', a version this aekit cannot read \(it reads aekit\.model/2\): it "
     r"was written by another aekit version"),
    # the flat layout of early development never shipped: no migration reads it
    ('{"format": "aekit.model/1", "config": {}, "sample_shape": [4]}', r"format 'aekit\.model/1', a version this aekit "
                                                                       r"cannot read"),
    ('{"format": "aekit.model/2", "config": {"code_size": 0}, "sample_shape": [4]}',
     r"describes an architecture aekit cannot build: The 'code_size' parameter must be a str among"),
])
def test_bad_model_json(saved, text, pattern):
    (saved / "model.json").write_text(text)
    with pytest.raises(WeightsError, match=pattern):
        load_model(saved)
