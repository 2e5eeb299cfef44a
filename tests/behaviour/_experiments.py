"""Loads an experiment script as a module, for the behaviour tests that run its ``--quick`` mode."""

import importlib.util
import sys
from pathlib import Path

EXPERIMENTS = Path(__file__).parents[2] / "experiments"


def load_experiment(name: str):
    """``experiments/<name>.py`` as a module (registered in sys.modules: dataclasses look it up there)."""
    spec = importlib.util.spec_from_file_location(f"{name}_experiment", EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
