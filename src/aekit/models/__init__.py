"""Models: MLP and convolutional encoders/decoders, tied weights, the Autoencoder module, save/load.

    from aekit.models import ModelConfig, build_model, save_model, load_model
"""

from aekit.models.autoencoder import Autoencoder, ModelConfig, build_model
from aekit.models.serialization import load_model, save_model

__all__ = ["Autoencoder", "ModelConfig", "build_model", "load_model", "save_model"]
