"""Config machinery: declared constraints, unknown keys, dotted overrides, YAML files."""

import pytest

from aekit import config as cfg
from aekit.errors import ConfigError
from aekit.io import write_yaml
from aekit.params import AnyOf, InstanceOf, Interval, Options, SequenceOf, check
from aekit.training.run_config import RunConfig, make_config


def test_defaults_resolve_and_round_trip(tmp_path):
    config = make_config()
    assert config.model.code_size == "auto" and config.train.epochs == "auto" and config.data.name == "mnist5k"
    path = tmp_path / "c.yaml"
    write_yaml(cfg.to_dict(config), path)
    assert make_config(path) == config


def test_overrides_are_parsed_as_yaml_and_nested(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("model:\n  code_size: 20\ntrain:\n  epochs: 3\n")
    config = make_config(path, ["model.code_size=10", "train.lr=3e-4", "model.hidden=[64, 32]"])
    assert config.model.code_size == 10  # the override wins over the file
    assert config.train.epochs == 3  # the file wins over the default
    assert config.train.lr == pytest.approx(3e-4)
    assert list(config.model.hidden) == [64, 32]


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"Unknown config key 'model.code_sise'.*Valid keys: .*model.code_size"):
        make_config(None, ["model.code_sise=3"])
    with pytest.raises(ConfigError, match=r"Unknown config key 'modle' at the top level.*Valid keys: .*model"):
        make_config(None, ["modle.code_size=3"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.code_size=0", r"The 'model.code_size' parameter must be a str among \{'auto'\} or an int in the range \[1, 2147483647\]. Got 0 instead."),
        ("train.lr=-1", r"The 'train.lr' parameter must be a str among \{'auto'\} or a float in the range \(0, inf\). "
                         r"Got -1 instead."),
        ("train.optimizer=adamw", r"The 'train.optimizer' parameter must be a str among \{'adam', 'sgd'\}. Got 'adamw'"),
        ("train.epochs=2.5", r"'train.epochs' parameter must be a str among \{'auto'\} or an int in the range "
                              r"\[1, 1000000\]. Got 2.5 instead."),
        ("data.val_fraction=0.9", r"val_fraction \+ data.test_fraction must be below 1"),
    ],
)
def test_bad_values_name_parameter_range_and_value(override, message):
    with pytest.raises(ConfigError, match=message):
        make_config(None, [override])


def test_malformed_override_and_section():
    with pytest.raises(ConfigError, match="must look like key=value"):
        make_config(None, ["model.code_size"])
    with pytest.raises(ConfigError, match="section 'model' must be a mapping"):
        make_config(None, ["model=3"])


def test_missing_and_invalid_yaml_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        make_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        make_config(bad)


@pytest.mark.parametrize(
    "constraint, good, bad",
    [
        (Interval(int, 1, None), [1, 10**9], [0, -3, 1.5, True, "3"]),
        (Interval(float, 0, 1, closed="left"), [0.0, 0.5], [1.0, -0.1, float("nan")]),
        (Options(("a", "b")), ["a"], ["c", None, ["a"]]),
        (InstanceOf(bool), [True, False], [0, "yes"]),
        (SequenceOf(Interval(int, 1, None)), [[], [3, 4], (5,)], [[0], "12", [1.5]]),
        (AnyOf(None, Interval(int, 1, None)), [None, 3], [0, "x"]),
    ],
)
def test_constraints_accept_and_reject(constraint, good, bad):
    for value in good:
        check("p", value, constraint)
    for value in bad:
        with pytest.raises(ConfigError, match=r"The 'p' parameter"):
            check("p", value, constraint)


def test_owner_wording_matches_scikit_learn():
    with pytest.raises(ConfigError) as info:
        check("code_size", 0, Interval(int, 1, None), owner="Autoencoder")
    assert str(info.value) == "The 'code_size' parameter of Autoencoder must be an int in the range [1, inf). Got 0 instead."


def test_every_config_key_is_documented():
    from aekit.training.run_config import config_keys

    keys = config_keys(RunConfig())
    assert {"model.code_size", "train.lr", "data.name", "seed"} <= {k for k, _, _ in keys}
    assert all(doc for _, _, doc in keys), [k for k, _, doc in keys if not doc]
