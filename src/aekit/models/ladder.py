"""The ladder network: a classifier whose every layer is also a denoising autoencoder.

Rasmus, Valpola, Honkala, Berglund & Raiko, "Semi-Supervised Learning with Ladder Networks",
NIPS 2015 (Algorithm 1); the combinator as Pezeshki, Fan, Brakel, Courville & Bengio,
"Deconstructing the Ladder Network Architecture", ICML 2016 call it, "vanilla". An MLP encoder
with sizes n_0 (the input) ... n_L (the classes) runs twice with the same weights::

    corrupted  h~(0) = z~(0) = x + noise
               z~(l) = BN(W(l) h~(l-1)) + noise                    l = 1..L
               h~(l) = relu(z~(l) + beta(l)),   h~(L) = softmax(gamma * (z~(L) + beta(L)))
    clean      the same without noise; mu(l), sigma(l) are its batch statistics of W(l) h(l-1)

and a decoder climbs back down from the corrupted top, one denoising function per layer::

    u(L) = BN(h~(L));   u(l) = BN(V(l+1) z^(l+1))                 l = L-1..0
    z^(l)_i = g(z~(l)_i, u(l)_i)                                   the combinator, per unit i
    z^(l)_BN = (z^(l) - mu(l)) / sigma(l)                          (l >= 1; z^(0) as is)

The clean z(l) are the denoising targets (the cost is :mod:`aekit.objectives.ladder`); the corrupted
top h~(L) is what the labels train; the clean top is what predicts.

Batch normalisation. The clean and corrupted paths share W, beta and gamma; each normalises with its
own batch statistics (Algorithm 1), and within a path the labelled and the unlabelled rows of a
step are normalised separately (each group by its own mean and variance, as the authors' code does:
a labelled batch of 100 images stays a batch of 100 images). BN here has no scale of its own but on
the top layer (gamma): a ReLU layer's scale is absorbed by the next W (Rasmus et al., section 3).
At prediction time the statistics are those stored in the buffers ``mean{l}``/``var{l}``, the
average of the clean path's batch statistics over one pass of the training rows after training
(:meth:`LadderNetwork.set_statistics`; the authors' code does the same over its labelled batches).

``variant="gamma"`` is the Gamma-model (Rasmus et al., section 4): the decoder is the top
combinator alone, z^(L) = g(z~(L), BN(h~(L))), no V and no lower combinators.

Initialisation as the authors' code: W and V ~ N(0, 1) / sqrt(fan_in), beta = 0, gamma = 1, and the
combinator so that z^ = 0 at the start.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aekit.errors import ConfigError, WeightsError
from aekit.params import SIZE, InstanceOf, Options
from aekit.schema import Items, Record, check

VARIANTS = ("full", "gamma")
EPS = 1e-5  # added to the batch variance before the square root (BN's epsilon)
FORMAT = "aekit.ladder/1"  # the tag of ladder.json
WEIGHTS, ARCHITECTURE = "ladder.safetensors", "ladder.json"


class Combinator(nn.Module):
    """The vanilla combinator g(z~, u), 10 parameters per unit (Rasmus et al. 2015, eq. (2) and
    appendix; Pezeshki et al. 2016, "vanilla")::

        mu(u) = a1 * sigmoid(a2 * u + a3) + a4 * u + a5
        v(u)  = a6 * sigmoid(a7 * u + a8) + a9 * u + a10
        z^    = (z~ - mu(u)) * v(u) + mu(u)

    z~ is the corrupted lateral input, u the normalised signal from the layer above; v weighs how
    much of z~ to keep against the prior mu(u) predicted from above. a2 = a7 = 1, the others 0.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        init = torch.zeros(10, width)
        init[[1, 6]] = 1.0  # a2, a7
        self.a = nn.Parameter(init)  # (10, width): a1..a10, one column per unit

    def forward(self, z_tilde: Tensor, u: Tensor) -> Tensor:
        a1, a2, a3, a4, a5, a6, a7, a8, a9, a10 = self.a  # (width,) each
        mu = a1 * torch.sigmoid(a2 * u + a3) + a4 * u + a5  # (B, width)
        v = a6 * torch.sigmoid(a7 * u + a8) + a9 * u + a10  # (B, width)
        return (z_tilde - mu) * v + mu


def batch_norm(z: Tensor, groups: list[int] | None = None) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
    """(z - mean) / sqrt(var + EPS) with each group of rows (``groups``: their counts, in order) by its
    own batch mean and (biased) variance; returns the normalised z and [(mean, var), ...] per group."""
    parts = z.split(groups) if groups else (z,)
    moments = [(p.mean(0), p.var(0, unbiased=False)) for p in parts]
    out = [(p - m) / torch.sqrt(v + EPS) for p, (m, v) in zip(parts, moments)]
    return (out[0] if len(out) == 1 else torch.cat(out)), moments


class LadderNetwork(nn.Module):
    """Encoder (``sizes``: input, hidden widths, classes), decoder and combinators of a ladder network.

    ``forward(x)`` predicts: the clean path with the stored statistics (in eval mode) or with the batch
    statistics (in train mode), returning ``{"class_logits": (B, C)}``. :meth:`ladder` is the training
    pass (both paths and the decoder) whose outputs the ladder cost reads.
    """

    def __init__(self, sizes: list[int], variant: str = "full") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ConfigError(f"The 'variant' of a ladder network must be one of {VARIANTS}. Got {variant!r} instead.")
        self.sizes, self.variant = [int(s) for s in sizes], variant
        n_layers = len(self.sizes) - 1  # L
        self.encoder = nn.ModuleList(nn.Linear(n_in, n_out, bias=False)  # W(l): n_{l-1} -> n_l
                                     for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]))
        self.beta = nn.ParameterList(nn.Parameter(torch.zeros(n)) for n in self.sizes[1:])  # beta(1..L)
        self.gamma = nn.Parameter(torch.ones(self.sizes[-1]))  # gamma(L), top (softmax) layer only
        if variant == "full":
            self.decoder = nn.ModuleList(nn.Linear(n_out, n_in, bias=False)  # V(l+1): n_{l+1} -> n_l
                                         for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]))
            self.combinators = nn.ModuleList(Combinator(n) for n in self.sizes)  # g for l = 0..L
        else:
            self.decoder = nn.ModuleList()
            self.combinators = nn.ModuleList([Combinator(self.sizes[-1])])  # g for l = L only
        for l, n in enumerate(self.sizes[1:], 1):  # inference statistics of W(l) h(l-1)
            self.register_buffer(f"mean{l}", torch.zeros(n))
            self.register_buffer(f"var{l}", torch.ones(n))
        for linear in [*self.encoder, *self.decoder]:
            with torch.no_grad():  # N(0, 1) / sqrt(fan_in), as the authors' code
                linear.weight.normal_().div_(linear.in_features ** 0.5)
        self.n_layers = n_layers

    # -- the encoder --------------------------------------------------------------------------------
    def encode(self, x: Tensor, *, noise_std: float = 0.0, groups: list[int] | None = None,
               generator: torch.Generator | None = None, stored: bool = False) -> dict[str, Any]:
        """One encoder path over x (B, n_0): ``{"z": [z(0), ..., z(L)], "moments": [per layer l >= 1: [(mean,
        var) per group]], "logits": gamma * (z(L) + beta(L))}``, with Gaussian noise of std ``noise_std``
        added to x and to every normalised z (the corrupted path when > 0); ``stored`` normalises with
        the stored statistics instead of the batch's."""

        def noisy(t: Tensor) -> Tensor:
            if noise_std <= 0:
                return t
            return t + noise_std * torch.randn(t.shape, generator=generator, device=t.device, dtype=t.dtype)

        h = noisy(x.flatten(1))  # h(0) = z(0): (B, n_0)
        zs, moments = [h], []
        for l, linear in enumerate(self.encoder, 1):
            z_pre = linear(h)  # (B, n_l)
            if stored:
                z = (z_pre - getattr(self, f"mean{l}")) / torch.sqrt(getattr(self, f"var{l}") + EPS)
                moments.append([])
            else:
                z, layer_moments = batch_norm(z_pre, groups)
                moments.append(layer_moments)
            z = noisy(z)
            zs.append(z)
            if l < self.n_layers:
                h = F.relu(z + self.beta[l - 1])  # (B, n_l)
        logits = self.gamma * (zs[-1] + self.beta[-1])  # (B, C); h(L) = softmax(logits)
        return {"z": zs, "moments": moments, "logits": logits}

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return {"class_logits": self.encode(x, stored=not self.training)["logits"]}

    # -- the decoder --------------------------------------------------------------------------------
    def decode(self, z_tilde: list[Tensor], logits_tilde: Tensor) -> list[Tensor | None]:
        """z^(0..L) from the corrupted path of the unlabelled rows (``z_tilde`` per layer, ``logits_tilde``
        (B, C)); None where the variant has no combinator (the Gamma-model's lower layers)."""
        u = batch_norm(torch.softmax(logits_tilde, dim=1))[0]  # u(L) = BN(h~(L)): (B, C)
        z_hat: list[Tensor | None] = [None] * (self.n_layers + 1)
        z_hat[-1] = self.combinators[-1](z_tilde[-1], u)  # (B, n_L)
        if self.variant == "full":
            for l in range(self.n_layers - 1, -1, -1):
                u = batch_norm(self.decoder[l](z_hat[l + 1]))[0]  # u(l) = BN(V(l+1) z^(l+1)): (B, n_l)
                z_hat[l] = self.combinators[l](z_tilde[l], u)
        return z_hat

    def ladder(self, x_labelled: Tensor, x_unlabelled: Tensor, *, noise_std: float,
               generator: torch.Generator | None = None, decode: bool = True) -> dict[str, Any]:
        """The training pass (Algorithm 1) over a step's labelled rows (B_l, n_0) and unlabelled rows
        (B_u, n_0), in one corrupted pass (the two groups normalised apart) and one clean pass over the
        unlabelled rows (the denoising targets). Returns ``class_logits`` (B_l, C) of the corrupted
        path; and with ``decode``: ``z`` (clean), ``z_tilde`` (corrupted) and ``z_hat_bn`` (the
        reconstructions normalised by the clean batch statistics), lists over l = 0..L of (B_u, n_l).
        ``decode=False`` (no denoising cost) runs the corrupted path over the labelled rows alone."""
        n_l = len(x_labelled)
        if not decode:
            corrupted = self.encode(x_labelled, noise_std=noise_std, generator=generator)
            return {"class_logits": corrupted["logits"]}
        corrupted = self.encode(torch.cat([x_labelled, x_unlabelled]), noise_std=noise_std,
                                groups=[n_l, len(x_unlabelled)], generator=generator)
        clean = self.encode(x_unlabelled)
        z_tilde = [z[n_l:] for z in corrupted["z"]]  # the unlabelled rows: (B_u, n_l) per layer
        z_hat = self.decode(z_tilde, corrupted["logits"][n_l:])
        z_hat_bn = [z_hat[0]] + [
            None if zh is None else (zh - layer[0][0]) / torch.sqrt(layer[0][1] + EPS)  # by mu(l), sigma(l)
            for zh, layer in zip(z_hat[1:], clean["moments"])]
        return {"class_logits": corrupted["logits"][:n_l], "z": clean["z"], "z_tilde": z_tilde, "z_hat_bn": z_hat_bn}

    # -- inference statistics ---------------------------------------------------------------------
    @torch.no_grad()
    def set_statistics(self, batches: list[Tensor]) -> None:
        """Store, for every layer, the mean over ``batches`` of the clean path's batch mean and unbiased
        batch variance of W(l) h(l-1) (each batch normalised by its own statistics, as in training)."""
        sums: list[list[Tensor]] = []
        for x in batches:
            moments = self.encode(x)["moments"]
            b = len(x)
            for l, ((mean, var),) in enumerate(moments):
                var = var * b / (b - 1) if b > 1 else var
                if l == len(sums):
                    sums.append([torch.zeros_like(mean), torch.zeros_like(var)])
                sums[l][0] += mean
                sums[l][1] += var
        for l, (mean, var) in enumerate(sums, 1):
            getattr(self, f"mean{l}").copy_(mean / len(batches))
            getattr(self, f"var{l}").copy_(var / len(batches))

    def describe(self) -> dict[str, Any]:
        return {"format": FORMAT, "sizes": list(self.sizes), "variant": self.variant}


def save_ladder(model: LadderNetwork, directory: str | Path) -> Path:
    """``ladder.safetensors`` (weights and statistics) and ``ladder.json`` (sizes, variant); no pickle."""
    from safetensors.torch import save_file

    from aekit.io import atomic_write, atomic_write_text

    directory = Path(directory)
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    atomic_write(directory / WEIGHTS, lambda tmp: save_file(tensors, tmp, metadata={"format": FORMAT}))
    atomic_write_text(directory / ARCHITECTURE, json.dumps(model.describe(), indent=2) + "\n")
    return directory


def check_ladder_fits(sizes: list[int], variant: str, copies: int, smaller: str = "hidden") -> None:
    """Refuse, in one line, a network of these ``sizes`` whose ``copies`` copies of parameters exceed the free
    memory, before one byte of it is allocated (:func:`aekit.models.memory.check_fits_as`)."""
    from aekit.models.memory import check_fits_as

    if torch.empty(0).device.type != "meta":  # building on meta is the check itself
        check_fits_as(lambda: LadderNetwork(sizes, variant), copies,
                      f"The ladder network (widths {'-'.join(str(n) for n in sizes)}, variant {variant})", smaller)


# ladder.json, as LadderNetwork.describe() writes it: widths within the range of a size (a 2**63 overflows torch)
LADDER_JSON = Record(required={"format": InstanceOf(str), "sizes": Items(SIZE, min_len=2),
                               "variant": Options(VARIANTS)})


def load_ladder(directory: str | Path, device: str | torch.device = "cpu") -> LadderNetwork:
    """The network :func:`save_ladder` wrote, in eval mode; every failure is one :class:`WeightsError` line."""
    from aekit.models.serialization import load_weights, read_description

    directory = Path(directory)
    for name in (ARCHITECTURE, WEIGHTS):
        if not (directory / name).is_file():
            raise WeightsError(f"{str(directory)!r} has no {name}; LadderClassifier.save writes {ARCHITECTURE} and "
                               f"{WEIGHTS} there.")
    description = check(read_description(directory / ARCHITECTURE, FORMAT), LADDER_JSON,
                        str(directory / ARCHITECTURE), "restore the file that LadderClassifier.save wrote, or fit it "
                        "again.", WeightsError)
    sizes, variant = description["sizes"], description["variant"]
    from aekit.models.memory import COPIES_LOADING

    try:
        check_ladder_fits(sizes, variant, COPIES_LOADING, "restore the file that LadderClassifier.save wrote")
    except ConfigError as error:
        raise WeightsError(f"{directory / ARCHITECTURE} describes a network aekit cannot build: {error}") from None
    with torch.random.fork_rng(devices=[]):  # its random start is overwritten: leave torch's RNG alone
        model = LadderNetwork(sizes, variant)
    load_weights(model, directory / WEIGHTS, ARCHITECTURE)
    return model.to(device).eval()


__all__ = ["Combinator", "LadderNetwork", "VARIANTS", "batch_norm", "check_ladder_fits", "load_ladder", "save_ladder"]
