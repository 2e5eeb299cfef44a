"""A component's errors name the key where the value was given, without the component repeating its own
name: built from a config, the full key (``layerwise.penalties[0].l1.weight``); built in Python, the
name it is registered as (``l1.weight``)."""

import pytest

from aekit.config import build
from aekit.errors import ConfigError
from aekit.objectives.contractive import Contractive
from aekit.objectives.sparse import L1, KLSparsity
from aekit.training.run_config import make_config


def test_a_penalty_under_layerwise_is_named_where_it_was_given():
    with pytest.raises(ConfigError, match=r"'layerwise\.penalties\[0\]\.l1\.weight' parameter must be a float"):
        make_config(overrides=["data.name=digits", "layerwise.enabled=true", "layerwise.penalties=[{l1: -1}]"])
    with pytest.raises(ConfigError, match=r"'penalties\.kl_sparsity\.target' parameter"):
        make_config(overrides=["data.name=digits", "penalties.kl_sparsity={target: 2}"])
    with pytest.raises(ConfigError, match=r"'somewhere\.l1\.weight' parameter"):
        build("objective", "l1", -1.0, section="somewhere")


@pytest.mark.parametrize("make, key", [(lambda: L1(weight=-1.0), "l1.weight"),
                                       (lambda: KLSparsity(target=0.0), "kl_sparsity.target"),
                                       (lambda: Contractive(weight=-1.0), "contractive.weight")])
def test_built_in_python_a_component_is_named_as_registered(make, key):
    with pytest.raises(ConfigError, match=rf"The '{key}' parameter"):
        make()
