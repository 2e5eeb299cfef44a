"""aekit: autoencoders as a graduate lecture teaches them, in one composable PyTorch API.

The top-level names are imported lazily, so ``aekit --help`` never pays for importing torch; ``dir(aekit)``
(tab completion, ``help(aekit)``) lists them all the same.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "train": "aekit.training.run",
    "RunConfig": "aekit.training.run_config",
    "make_config": "aekit.training.run_config",
    "load_run": "aekit.training.run_folder",
    "Trainer": "aekit.training.trainer",
    "TrainConfig": "aekit.training.trainer",
    "AutoencoderModule": "aekit.models.autoencoder",
    "ModelConfig": "aekit.models.config",
    "MLPConfig": "aekit.models",
    "ConvConfig": "aekit.models",
    "build_model": "aekit.models.autoencoder",
    "load_model": "aekit.models.serialization",
    "load_dataset": "aekit.data",
    "split_dataset": "aekit.data",
    "Dataset": "aekit.data",
    "Autoencoder": "aekit.estimator",
    "AutoencoderOutlierDetector": "aekit.estimator",
    "AutoencoderClassifier": "aekit.estimator",
    "LadderClassifier": "aekit.estimator",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'aekit' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (those imported on first use and ``__version__``), without importing any of them."""
    return list(__all__)
