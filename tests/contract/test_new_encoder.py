"""A new encoder is one file holding one class, and nothing in aekit is edited: named in a config's
``plugins``, its kind is chosen by ``model.kind`` in a YAML-like dict, trained by
``aekit.training.run.train`` into a run folder that loads back and resumes, and listed by
``--help-config``; a key it does not take is refused by name."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from aekit.config import to_dict
from aekit.errors import ConfigError
from aekit.registry import available, unregister

ENCODER = '''
"""A one-layer encoder h = s_h(V s(W x + b) + c) and a linear decoder: the smallest encoder kind."""

import math
from dataclasses import dataclass

from torch import nn

from aekit.config import param
from aekit.models.config import ModelConfig, kind_param
from aekit.models.encoder import CodeHead, Encoder
from aekit.params import Interval
from aekit.registry import get, register


@register("encoder", "tiny")
@dataclass
class TinyConfig(ModelConfig):
    kind: str = kind_param("tiny")
    width: int = param(6, Interval(int, 1, None), "features before the code head")

    example = {"width": 5}
    example_shapes = ((12,), (1, 4, 4))

    @property
    def hidden_layers(self):
        return 1

    def build(self, sample_shape):
        d = math.prod(sample_shape)
        body = nn.Sequential(nn.Flatten(), nn.Linear(d, self.width), get("activation", self.activation).module())
        head = CodeHead(self.width, self.code_size, self.code_activation)  # (B, width) -> (B, k)
        decoder = nn.Sequential(nn.Linear(self.code_size, d), nn.Unflatten(1, tuple(sample_shape)))
        return Encoder(body, head), decoder
'''


@pytest.fixture
def tiny_encoder(tmp_path, monkeypatch):
    """``tiny_encoder.py`` importable as a plugin; the registry and sys.modules are clean afterwards."""
    (tmp_path / "tiny_encoder.py").write_text(textwrap.dedent(ENCODER))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("tiny_encoder")  # a config names its plugins; the user imports them
    yield "tiny_encoder"
    unregister("encoder", "tiny")
    sys.modules.pop("tiny_encoder", None)


def config_data(tmp_path, **model):
    return {"plugins": ["tiny_encoder"], "data": {"name": "digits", "limit": 64},
            "model": {"kind": "tiny", "code_size": 3, **model}, "train": {"epochs": 2, "batch_size": 32},
            "out": str(tmp_path / "runs"), "name": "tiny-run"}


def test_a_new_encoder_trains_through_a_run_config_and_loads_back(tiny_encoder, tmp_path):
    from aekit.training.run import resume, train
    from aekit.training.run_config import config_keys, make_config
    from aekit.training.run_folder import load_run

    config = make_config(config_data(tmp_path, width=7))
    assert type(config.model).__name__ == "TinyConfig" and config.model.width == 7
    assert "tiny" in available("encoder")
    result = train(config)
    assert len(result.history) == 2 and all(r["train"]["loss"] > 0 for r in result.history)

    run = load_run(result.run_dir)  # config.yaml and model.json name kind 'tiny' and its own key only
    assert run.config.model == config.model
    assert set(to_dict(run.model.config)) == set(to_dict(config.model)) and run.model.config.width == 7
    assert "width: 7" in (result.run_dir / "config.yaml").read_text()
    assert "hidden" not in (result.run_dir / "config.yaml").read_text()
    assert run.encode(run.prepared_splits().arrays()[0][:5]).shape == (5, 3)
    assert len(resume(result.run_dir, epochs=3).history) == 3

    keys = {key: doc for key, _, doc in config_keys()}
    assert keys["model.width (tiny)"] == "features before the code head"
    assert "model.hidden (mlp)" in keys and "model.channels (conv)" in keys


def test_a_new_encoder_refuses_keys_of_other_kinds_by_name(tiny_encoder, tmp_path):
    from aekit.training.run_config import make_config

    with pytest.raises(ConfigError, match=r"The key 'model\.hidden' belongs to kind 'mlp'; kind 'tiny' takes "
                                          r"model\.kind, .*model\.width\. Remove 'model\.hidden', or set "
                                          r"model\.kind: mlp\."):
        make_config(config_data(tmp_path, hidden=[8]))
    with pytest.raises(ConfigError, match=r"The key 'model\.width' belongs to kind 'tiny'; kind 'mlp' takes"):
        make_config({**config_data(tmp_path), "model": {"kind": "mlp", "width": 3}})
