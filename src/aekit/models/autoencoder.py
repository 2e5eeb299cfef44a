"""The autoencoder x -> h = f(x) -> x_hat = g(h) (Hinton & Salakhutdinov, Science 2006).

One module for every family of the lecture: denoising, sparse, contractive and variational
autoencoders differ in their corruption and penalty terms, which live outside the model
(``aekit.objectives``). The model only returns named outputs::

    model = build_model(MLPConfig(code_size=32, output="sigmoid"), (1, 28, 28))   # or a mapping:
    model = build_model({"kind": "conv", "code_size": 32, "output": "sigmoid"}, (1, 28, 28))
    out = model(x)          # {"h": (B, 32), "logits": (B, 1, 28, 28)}   (output == "sigmoid")
                            # {"h": (B, 32), "x_hat":  (B, 1, 28, 28)}   (output == "identity")

With ``output == "sigmoid"`` the forward pass returns logits, not sigmoid(logits): the loss computes
binary cross-entropy from logits (stable), and ``decode`` / ``reconstruct`` apply the sigmoid.

With ``variational=True`` (Kingma & Welling, ICLR 2014) a Gaussian head replaces the encoder's code
head (:mod:`aekit.models.gaussian`) and the forward pass also returns the posterior's parameters::

    out = model(x)          # {"h": (B, k), "mu": (B, k), "logvar": (B, k), "logits": (B, 1, 28, 28)}

h is a reparameterised sample in training mode and mu in eval mode (``model(x, sample=True)``
samples in either); ``encode`` returns mu unless asked to sample; ``sample(n)`` decodes draws from
the prior N(0, I). The KL term is an objective (``aekit.objectives.variational``), not the model's.

The encoder and decoder come from the config: each encoder kind registers its own config class
(:mod:`aekit.models.encoders`, e.g. :class:`~aekit.models.encoders.mlp.MLPConfig`), whose
``build(sample_shape)`` returns them; the encoder has a ``body`` (features) and a ``head`` (the code),
:mod:`aekit.models.encoder`. This module names no kind.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from aekit.config import from_dict, to_dict, validate
from aekit.errors import ConfigError, DataError
from aekit.models.config import ModelConfig, resolve_config
from aekit.models.encoder import in_layout
from aekit.models.gaussian import GaussianHead, reparameterize
from aekit.models.memory import COPIES_LOADING, COPIES_TRAINING, check_fits
from aekit.params import SIZE, check

logger = logging.getLogger(__name__)

FORMAT = "aekit.model/2"  # the tag of model.json; bump it when the layout changes (/1: one flat config of every kind)


def _sample_shape(sample_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(sample_shape) if isinstance(sample_shape, (tuple, list, torch.Size)) else None
    if not shape or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape):
        raise ConfigError(
            f"The 'sample_shape' of a model must be a non-empty tuple of positive ints, the shape of one "
            f"sample without the batch axis (e.g. (784,) or (1, 28, 28)). Got {sample_shape!r} instead."
        )
    return shape


# How the raw decoder output is read, per ``output``: the key forward() returns and the map to x_hat.
_OUTPUT_KEY = {"sigmoid": "logits", "identity": "x_hat"}
_OUTPUT_MAP = {"sigmoid": torch.sigmoid, "identity": lambda raw: raw}


class AutoencoderModule(nn.Module):
    """Encoder f and decoder g built from a :class:`ModelConfig` for samples of ``sample_shape``.

    Inputs are batches (B, *sample_shape) or, flattened, (B, d) with d = prod(sample_shape);
    ``forward`` and ``reconstruct`` return outputs in the layout of their input.
    """

    def __init__(self, config: ModelConfig, sample_shape: Sequence[int]) -> None:
        super().__init__()
        validate(config)
        if config.output == "auto":
            raise ConfigError(
                "The 'output' parameter of ModelConfig is still 'auto'; resolve it from the data before "
                "building the model: 'sigmoid' for data in [0, 1], 'identity' otherwise."
            )
        self.config = copy.deepcopy(config)  # later edits of the caller's config cannot desync describe()
        self.sample_shape = _sample_shape(sample_shape)
        self.n_features = math.prod(self.sample_shape)  # d
        self.output = config.output
        self.variational = config.variational
        self.encoder, self.decoder = self.config.build(self.sample_shape)
        if self.variational:  # any encoder with the body/head contract: features a -> (mu, logvar)
            # The kind built a CodeHead (its draws come before the decoder's) and the Gaussian head is drawn after
            # the decoder. Building it in the CodeHead's place would shift every later draw and so every VAE's
            # initial weights (tests/behaviour/test_same_weights.py); keeping them means drawing a (k, m) head
            # before the decoder anyway, so the replacement stays, one line, rather than a phantom draw in each kind.
            self.encoder.head = GaussianHead(self.encoder.head.linear.in_features, config.code_size)

    def _check_input(self, x: Tensor) -> None:
        shape = tuple(x.shape[1:])
        if shape != self.sample_shape and shape != (self.n_features,):
            dims = ", ".join(map(str, self.sample_shape))
            raise DataError(
                f"This model takes batches shaped (B, {dims}) or flat (B, {self.n_features}); "
                f"got a tensor of shape {tuple(x.shape)}. Add a batch axis to a single sample (x[None])."
            )

    def encode(self, x: Tensor, sample: bool = False) -> Tensor:
        """The code h = f(x): (B, *sample_shape) or (B, d) -> (B, k).

        A variational model returns the posterior mean mu, or with ``sample=True`` a draw
        h ~ q(h|x) (from torch's global generator); a deterministic model has nothing to sample.
        """
        self._check_input(x)
        if not self.variational:
            if sample:
                raise ConfigError("encode(x, sample=True) needs a variational model (model.variational: true); "
                                  "this model's code is deterministic. Call encode(x).")
            return self.encoder(x)
        mu, logvar = self.encoder(x)  # (B, k) each
        return reparameterize(mu, logvar) if sample else mu

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, logvar) of q(h|x) = N(mu, diag(exp(logvar))), (B, k) each; variational models only."""
        self._check_input(x)
        if not self.variational:
            raise ConfigError("posterior(x) needs a variational model (model.variational: true); this model's "
                              "code is deterministic. Call encode(x).")
        return self.encoder(x)

    def decode_raw(self, h: Tensor) -> Tensor:
        """The decoder's raw output g(h) (logits when output == 'sigmoid'): (B, k) -> (B, *sample_shape)."""
        return self.decoder(h)

    def decode(self, h: Tensor) -> Tensor:
        """The reconstruction x_hat from a code: sigmoid(g(h)) or g(h), (B, k) -> (B, *sample_shape)."""
        return _OUTPUT_MAP[self.output](self.decoder(h))

    def forward(self, x: Tensor, sample: bool | None = None) -> dict[str, Tensor]:
        """``{"h": h, "logits": raw}`` (output 'sigmoid') or ``{"h": h, "x_hat": raw}`` (output 'identity').

        A variational model adds ``"mu"`` and ``"logvar"``; its h is a reparameterised sample when
        ``sample`` is True, mu when False, and by default a sample in training mode, mu in eval mode.
        """
        if not self.variational:
            h = self.encode(x, sample=bool(sample))  # (B, k)
            raw = in_layout(self.decoder(h), x.shape)  # (B, *sample_shape), or (B, d) for a flat x
            return {"h": h, _OUTPUT_KEY[self.output]: raw}
        mu, logvar = self.posterior(x)  # (B, k) each
        draw = self.training if sample is None else sample
        h = reparameterize(mu, logvar) if draw else mu  # (B, k)
        raw = in_layout(self.decoder(h), x.shape)  # (B, *sample_shape), or (B, d) for a flat x
        return {"h": h, "mu": mu, "logvar": logvar, _OUTPUT_KEY[self.output]: raw}

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n new samples x_hat = decode(z), z ~ N(0, I) the prior: (n, *sample_shape).

        Draws from ``generator`` when given, else from torch's global generator; variational models only.
        """
        if not self.variational:
            raise ConfigError("sample(n) draws codes from the prior N(0, I) of a variational model; this model "
                              "has no prior. Build it with model.variational: true.")
        check("n", n, SIZE, owner="AutoencoderModule.sample")
        weight = next(self.decoder.parameters())
        z = torch.randn(n, self.config.code_size, generator=generator, device=weight.device, dtype=weight.dtype)
        return self.decode(z)  # (n, k) -> (n, *sample_shape)

    def reconstruct(self, x: Tensor) -> Tensor:
        """x_hat = g(f(x)) in the layout of x, with the output sigmoid applied when there is one."""
        return self.decode(self.encode(x)).reshape(x.shape)

    def describe(self) -> dict[str, Any]:
        """A JSON-able description from which :func:`build_model` rebuilds the same architecture."""
        from aekit import __version__

        return {
            "format": FORMAT,
            "config": to_dict(self.config),
            "sample_shape": list(self.sample_shape),
            "output": self.output,
            "parameters": sum(p.numel() for p in self.parameters()),
            "aekit_version": __version__,
        }


def build_model(config: ModelConfig | Mapping[str, Any], sample_shape: Sequence[int], *,
                training: bool = True) -> AutoencoderModule:
    """The autoencoder for ``config``: a kind's config (``MLPConfig(...)``), or a flat mapping checked by
    ``from_dict`` whose ``kind`` chooses the config (``{"kind": "conv", "channels": [8]}``).

    Its size is checked against the free memory first (``training``: with gradients and optimiser
    state; else the weights alone), so a model that cannot fit is refused in one line, not by the allocator.
    """
    if isinstance(config, Mapping):
        config = from_dict(ModelConfig, config)
    config = resolve_config(config, _sample_shape(sample_shape))
    if torch.empty(0).device.type != "meta":  # building on meta is the check itself
        check_fits(lambda: AutoencoderModule(config, sample_shape), config, sample_shape,
                   COPIES_TRAINING if training else COPIES_LOADING)
    return AutoencoderModule(config, sample_shape)
