"""Models: the AutoencoderModule (the torch module), its config per encoder kind, save/load.

    from aekit.models import MLPConfig, ConvConfig, ModelConfig, build_model, save_model, load_model

``ModelConfig`` holds what every encoder shares; each kind in :mod:`aekit.models.encoders` adds its
own keys (``MLPConfig``: hidden, tied; ``ConvConfig``: channels, kernel_size).
"""

from aekit.models.autoencoder import AutoencoderModule, build_model
from aekit.models.config import ModelConfig
from aekit.models.encoders.conv import ConvConfig
from aekit.models.encoders.mlp import MLPConfig
from aekit.models.serialization import load_model, save_model

__all__ = ["AutoencoderModule", "ConvConfig", "MLPConfig", "ModelConfig", "build_model", "load_model", "save_model"]
