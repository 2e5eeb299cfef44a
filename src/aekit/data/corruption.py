"""Input corruptions q(x~ | x) for denoising autoencoders (Vincent et al., ICML 2008; JMLR 2010, §4.2).

A denoising autoencoder is fed a corrupted copy x~ of each training input and trained to
reconstruct the *clean* x. The corruption lives in the data layer, outside the model and the loss:

    x ──corruption(x, generator)──▶ x~ ──model──▶ x̂;   loss = reconstruction(x̂, x)

Each corruption is a dataclass registered under kind ``"corruption"``. Its FIRST field is the noise
level, so a run config may give a bare number (``corruption: {masking: 0.25}`` or
``--set corruption.gaussian=0.3``) or a mapping of fields (``corruption: {gaussian: {std: 0.3,
clip: true}}``). It is called ``(x, generator) -> x_tilde`` and draws its noise from ``generator``
alone: the Trainer passes its own seeded generator, so every batch gets fresh noise and a run is
reproducible from its seed. The Trainer corrupts training batches only (evaluation sees clean x);
to score a denoiser, corrupt the test inputs yourself with a generator of your own seed.

Noise is drawn on the generator's device and moved to ``x``'s, so the same seed gives the same
noise on any device (the Trainer's generator lives on the CPU).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from aekit.config import build, param, validate
from aekit.errors import DataError
from aekit.params import MAX_SIZE, InstanceOf, Interval
from aekit.registry import register

_FRACTION = Interval(float, 0.0, 1.0)  # nu, a probability per element
_STD = Interval(float, 0.0, None)  # sigma >= 0 (0 leaves x unchanged)


def _validate(corruption: object, name: str) -> None:
    """Check the fields against their declared constraints, with the key a run config would use:
    "The 'corruption.masking.fraction' parameter must be a float in the range [0, 1]. Got 1.5 instead."
    """
    validate(corruption, prefix=f"corruption.{name}.")


def _check_input(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise DataError(
            f"The {name} corruption takes a floating-point tensor (e.g. images in [0, 1] as float32); "
            f"got {got}. Convert integer pixels first, e.g. x.float() / 255."
        )


def _uniform(x: Tensor, generator: torch.Generator) -> Tensor:
    """u ~ U[0, 1) elementwise, shaped and typed like x, drawn from ``generator`` only."""
    u = torch.rand(x.shape, generator=generator, device=generator.device, dtype=x.dtype)
    return u.to(x.device)


def _normal(x: Tensor, generator: torch.Generator) -> Tensor:
    """eps ~ N(0, 1) elementwise, shaped and typed like x, drawn from ``generator`` only."""
    eps = torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype)
    return eps.to(x.device)


@register("corruption", "gaussian")
@dataclass
class Gaussian:
    """Additive isotropic Gaussian noise x~ = x + sigma * eps, eps ~ N(0, I) (Vincent et al. 2010, "GS").

    ``clip`` defaults to False: that is the corruption of the paper, and only unclipped noise has
    mean 0 and standard deviation sigma. On MNIST most pixels are 0, so clipping to [0, 1] would
    discard the negative half of the noise there and turn it into a one-sided, smaller perturbation
    (mean about 0.4 sigma, sd about 0.58 sigma on a 0-pixel). Nothing downstream needs x~ in [0, 1]: the loss
    compares x̂ with the clean x. Set ``clip: true`` when the model should only ever see valid pixels.
    """

    std: float = param(0.3, _STD, "sigma, the standard deviation of the added noise")
    clip: bool = param(False, InstanceOf(bool), "clip x~ to [0, 1] (changes the noise's mean and sd near 0 and 1)")

    def __post_init__(self) -> None:
        _validate(self, "gaussian")

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        _check_input(x, "gaussian")
        x_tilde = x + self.std * _normal(x, generator)  # (B, *sample_shape)
        return x_tilde.clamp(0.0, 1.0) if self.clip else x_tilde


@register("corruption", "masking")
@dataclass
class Masking:
    """Masking noise: each input element is forced to 0 with probability nu (Vincent et al. 2010, "MN").

    Elements are masked independently (Bernoulli(nu) per element), so the fraction masked in an
    image of d pixels is nu on average with sd sqrt(nu (1 - nu) / d) (1.5 points for nu = 0.25,
    d = 784); Vincent et al. mask exactly nu * d elements per example, a difference that vanishes
    at this size.
    """

    fraction: float = param(0.25, _FRACTION, "nu, the probability that an element is set to 0")

    def __post_init__(self) -> None:
        _validate(self, "masking")

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        _check_input(x, "masking")
        keep = _uniform(x, generator) >= self.fraction  # P(u < nu) = nu for u ~ U[0, 1)
        return x * keep  # (B, *sample_shape), same dtype as x


@register("corruption", "salt_and_pepper")
@dataclass
class SaltAndPepper:
    """Salt-and-pepper noise: each element is, with probability nu, set to 0 or 1 with equal
    probability (Vincent et al. 2010, "SP": the minimum and maximum of the data's range, here [0, 1]).

    One uniform draw u per element decides both: u < nu/2 gives 1 (salt), nu/2 <= u < nu gives 0
    (pepper), u >= nu keeps x. An element already at 0 or 1 may be "set" to the value it has, so the
    fraction of elements that *change* is below nu on binary-ish data such as MNIST.
    """

    fraction: float = param(0.25, _FRACTION, "nu, the probability that an element is set to 0 or 1")

    def __post_init__(self) -> None:
        _validate(self, "salt_and_pepper")

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        _check_input(x, "salt_and_pepper")
        u = _uniform(x, generator)  # (B, *sample_shape)
        salt = (u < 0.5 * self.fraction).to(x.dtype)  # 1 with probability nu/2, else 0
        return torch.where(u < self.fraction, salt, x)


@register("corruption", "shift")
@dataclass
class Shift:
    """Random translation of each image by up to ``pixels`` pixels in each direction, zero-filled.

    Not one of Vincent et al.'s corruptions but the same idea with a structured q(x~ | x): a model
    that must map a shifted digit back to the centred one learns codes that do not move with small
    translations. As noise on the labelled inputs of fine-tuning it is the classic data augmentation
    for few labels. Shifts are integers, uniform in [-pixels, pixels] per axis and per image; images
    only, (B, C, H, W).
    """

    pixels: int = param(2, Interval(int, 0, MAX_SIZE), "largest shift in pixels along each axis")
    needs_images = True  # (B, C, H, W) inputs only; tables have no pixels to move

    def __post_init__(self) -> None:
        _validate(self, "shift")

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        _check_input(x, "shift")
        if x.dim() != 4:
            raise DataError(f"The shift corruption moves images (B, C, H, W); got a tensor of shape "
                            f"{tuple(x.shape)}. Use it with image data, or choose gaussian/masking for tables.")
        s = self.pixels
        if s == 0:
            return x
        b, c, h, w = x.shape
        offsets = torch.randint(-s, s + 1, (2, b), generator=generator, device=generator.device).to(x.device)
        padded = torch.nn.functional.pad(x, (s, s, s, s))  # (B, C, H + 2s, W + 2s), zeros outside
        rows = torch.arange(h, device=x.device)[None, :] + s - offsets[0][:, None]  # (B, H)
        cols = torch.arange(w, device=x.device)[None, :] + s - offsets[1][:, None]  # (B, W)
        batch = torch.arange(b, device=x.device)[:, None, None]
        moved = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
        return moved.permute(0, 3, 1, 2).contiguous()  # (B, C, H, W)




class Compose:
    """Corruptions applied one after the other, all drawing from the same generator."""

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        for part in self.parts:
            x = part(x, generator)
        return x


def build_corruption(spec: Mapping[str, Any] | None, section: str = "corruption") -> Compose | None:
    """``{name: level or {field: value}}`` (a run config's corruption section) as one corruption applying
    each in turn; None when empty."""
    parts = [build("corruption", name, value, section=section) for name, value in (spec or {}).items()]
    return Compose(parts) if parts else None


__all__ = ["Gaussian", "Masking", "SaltAndPepper", "Shift", "Compose", "build_corruption"]
