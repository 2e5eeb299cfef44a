"""A run folder written before each encoder kind had its own config still loads and resumes: its
config.yaml and its model.json (format aekit.model/1) hold every kind's keys (``hidden`` beside
``channels``), written here as that aekit wrote them; the keys the run's kind does not take are dropped
and logged. The same file given as a new config is refused: only a run folder is migrated."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from aekit.config import to_dict
from aekit.errors import ConfigError

FLAT_ORDER = ["kind", "code_size", "hidden", "channels", "kernel_size", "activation", "code_activation", "tied",
              "variational", "output"]  # the fields of the one flat ModelConfig, in its order
FLAT_DEFAULTS = {"kind": "mlp", "code_size": "auto", "hidden": [512], "channels": [16, 32], "kernel_size": 3,
                 "activation": "relu", "code_activation": "linear", "tied": False, "variational": False,
                 "output": "auto"}
MODELS = {"mlp": {"kind": "mlp", "hidden": [16], "code_size": 3},
          "conv": {"kind": "conv", "channels": [4], "code_size": 3}}


def flat(model_section):
    """A model section as the flat ModelConfig wrote it: every kind's keys, the others at their defaults."""
    merged = {**FLAT_DEFAULTS, **model_section}
    return {key: merged[key] for key in FLAT_ORDER}


def write_as_before(run_dir):
    """Rewrite a run's config.yaml and model.json in the layout aekit wrote before per-kind configs."""
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config.pop("plugins", None)  # a section added since
    config["model"] = flat(config["model"])
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    description = json.loads((run_dir / "model.json").read_text())
    description["format"] = "aekit.model/1"
    description["config"] = flat(description["config"])
    (run_dir / "model.json").write_text(json.dumps(description, indent=2) + "\n")


@pytest.fixture(params=list(MODELS))
def old_run(request, tmp_path):
    """A one-epoch run on 64 digits, rewritten as an old run folder, and the codes of its model."""
    from aekit.training.run import train
    from aekit.training.run_config import make_config

    config = make_config({"data": {"name": "digits", "limit": 64}, "model": MODELS[request.param],
                          "train": {"epochs": 1, "batch_size": 32}, "out": str(tmp_path), "name": "old"})
    result = train(config)
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        codes = result.model.encode(torch.from_numpy(x)).numpy()
    write_as_before(result.run_dir)
    assert "hidden" in (result.run_dir / "config.yaml").read_text()
    assert "channels" in (result.run_dir / "config.yaml").read_text()
    return result.run_dir, config, x, codes


def test_an_old_run_folder_loads_with_the_other_kinds_keys_dropped(old_run, caplog):
    from aekit.training.run_folder import load_run

    run_dir, config, x, codes = old_run
    with caplog.at_level("INFO", logger="aekit.models.config"):
        run = load_run(run_dir)
    assert type(run.config.model) is type(config.model) and run.config.model == config.model
    assert to_dict(run.model.config) == {**to_dict(config.model), "output": run.model.output}
    np.testing.assert_array_equal(run.encode(x), codes)
    dropped = "channels, kernel_size" if config.model.kind == "mlp" else "hidden, tied"
    assert f"config.yaml was written before each encoder kind had its own config: dropped {dropped}" in caplog.text
    assert f"model.json (format aekit.model/1) was written before each encoder kind had its own config: " \
           f"dropped {dropped}" in caplog.text


def test_an_old_run_folder_resumes_and_is_then_written_in_the_new_layout(old_run):
    from aekit.cli import main

    run_dir, config, _, _ = old_run
    assert main(["train", "--resume", str(run_dir), "--epochs", "2", "--quiet"]) == 0
    model = yaml.safe_load((run_dir / "config.yaml").read_text())["model"]
    assert model == to_dict(config.model)  # this kind's keys only
    assert json.loads((run_dir / "model.json").read_text())["format"] == "aekit.model/2"


def test_an_old_config_given_as_a_new_config_is_refused_by_name(old_run):
    from aekit.training.run_config import make_config

    run_dir, config, _, _ = old_run
    other = "channels" if config.model.kind == "mlp" else "hidden"
    with pytest.raises(ConfigError, match=rf"The key 'model\.{other}' belongs to kind '(conv|mlp)'; kind "
                                          rf"'{config.model.kind}' takes"):
        make_config(run_dir / "config.yaml")
