"""Contractive penalty lambda * ||J_f(x)||_F^2 (Rifai, Vincent, Muller, Glorot & Bengio, "Contractive
Auto-Encoders: Explicit Invariance During Feature Extraction", ICML 2011).

J_f(x) = dh/dx is the Jacobian of the deterministic code map ``model.encode`` (the posterior mean mu
for a variational model) at the model's input ``batch["x_tilde"]``; the term is its squared Frobenius
norm, per sample, averaged over the batch::

    penalties: {contractive: 0.1}                               # lambda
    penalties: {contractive: {weight: 0.1, projections: 1}}     # unbiased estimate, 1 projection

The value is exact for every encoder and costs a small constant factor over a plain step — never one
backward pass per code unit: ``bind(model)`` picks the cheapest exact path (closed form, layer-wise
or generic, in :mod:`aekit.objectives.jacobian_norm`, which says how each works) and logs it; with
``projections = m``, Hutchinson's unbiased estimate instead.

The MLP paths reuse the pre-activations of the forward pass the trainer has just run on x_tilde
(forward hooks set by ``bind``): the penalty adds no encoder pass of its own. When the last forward
was on another input they are recomputed. Measured costs: ``benchmarks/contractive_cost.py`` (results
in ``benchmarks/results/contractive_cost.md``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from aekit.config import param, validate
from aekit.errors import ConfigError
from aekit.objectives.jacobian_norm import (
    Layers,
    generic,
    jacobian_mode,
    layerwise,
    pre_activations,
    projected_generic,
    projected_layerwise,
    projection_seed,
)
from aekit.objectives.reconstruction import weighted
from aekit.params import SEED, SIZE, AnyOf, Interval
from aekit.registry import register

logger = logging.getLogger(__name__)


# -- reusing the trainer's forward pass -------------------------------------------------------------
class _Tap:
    """Forward hooks that keep the encoder's input and its layers' pre-activations from the last
    forward pass, so the penalty does not run the encoder again on the x_tilde the model was fed."""

    def __init__(self, encoder: nn.Module, linears: list[nn.Linear]) -> None:
        self.x: Tensor | None = None
        self.pres: list[Tensor] = []
        self.handles = [encoder.register_forward_pre_hook(self._start)]
        self.handles += [linear.register_forward_hook(self._record) for linear in linears]

    def _start(self, module: nn.Module, args: tuple) -> None:
        self.x, self.pres = (args[0] if args else None), []

    def _record(self, module: nn.Module, args: tuple, output: Tensor) -> None:
        self.pres.append(output)

    def take(self, x: Tensor, n_layers: int, weight: Tensor) -> list[Tensor] | None:
        """The pre-activations of the last forward pass if it ran on this very tensor ``x`` (and, when
        gradients are on, recorded the graph); else None. Either way the references are dropped."""
        pres, fed = self.pres, self.x
        self.x, self.pres = None, []
        if fed is not x or len(pres) != n_layers:
            return None
        if torch.is_grad_enabled() and weight.requires_grad and not pres[0].requires_grad:
            return None  # recorded under no_grad: no graph to differentiate through
        return pres

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


# -- the objective ----------------------------------------------------------------------------------
@register("objective", "contractive")
@dataclass
class Contractive:
    """lambda * ||dh/dx||_F^2 at the model's input, per sample, averaged over the batch.

    Exact by default (closed form, layer-wise or torch.func, chosen by ``bind``); with
    ``projections = m``, an unbiased estimate from m random projections per sample. The projections
    are drawn from a ``torch.Generator`` seeded with ``seed`` when the objective is bound to a model;
    its state travels in the trainer's checkpoints (``state_dict``), so a resumed run draws what an
    uninterrupted one would have (the exact paths draw nothing).
    """

    # what it does, for whoever asks (the report's Jacobian figure): it penalises the encoder's Jacobian
    capabilities = frozenset({"contractive"})

    weight: float = param(0.1, Interval(float, 0, None), "lambda, the weight of ||dh/dx||_F^2 per sample")
    projections: Any = param(
        None, AnyOf(None, SIZE),
        "None: exact; m: unbiased estimate from m random projections J u (for very wide codes)",
    )
    seed: int = param(0, SEED, "seed of the projections' generator (projections only)")

    def __post_init__(self) -> None:
        validate(self)
        self.path: str | None = None  # "closed form", "layer-wise", "generic" or "stochastic ..."
        self._model: nn.Module | None = None
        self._layers: Layers | None = None
        self._tap: _Tap | None = None
        self._generator: torch.Generator | None = None
        self._mode: str | None = None  # jacrev / jacfwd, decided on the first batch

    def bind(self, model: nn.Module) -> None:
        """Pick the path for ``model`` (and log it); set the hooks that reuse its forward pass."""
        encode = getattr(model, "encode", None)
        if not callable(encode):
            raise ConfigError(
                f"The contractive penalty differentiates the code map model.encode(x); got a "
                f"{type(model).__name__} without an encode method. Use an aekit Autoencoder."
            )
        self.unbind()
        encoder = getattr(model, "encoder", None)
        affine = getattr(encoder, "affine_layers", None)
        layers = affine() if callable(affine) and not getattr(model, "variational", False) else None
        self._model, self._layers = model, layers
        if layers is not None:
            self._tap = _Tap(encoder, [linear for linear, _ in layers])
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        if self.projections is not None:
            self._generator = torch.Generator(device=device).manual_seed(projection_seed(self.seed))
            how = "layer-wise Jacobian-vector products" if layers else "torch.func.jvp through model.encode"
            self.path = f"stochastic ({self.projections} projection{'s' * (self.projections > 1)}, {how})"
        elif layers is None:
            self.path = "generic"
        else:
            self.path = "closed form" if len(layers) == 1 else "layer-wise"
        logger.info("Contractive penalty: %s path for %s", self.path, _describe(layers))

    def state_dict(self) -> dict[str, Tensor]:
        """The projections' generator state (empty on the exact paths), for checkpoints."""
        return {"generator": self._generator.get_state()} if self._generator is not None else {}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        if "generator" in state and self._generator is not None:
            self._generator.set_state(state["generator"])

    def unbind(self) -> None:
        """Remove the forward hooks ``bind`` set on the model."""
        if self._tap is not None:
            self._tap.remove()
        self._tap, self._model = None, None

    def per_sample(self, x: Tensor, model: nn.Module) -> Tensor:
        """||J_f(x)||_F^2 (or its estimate) for each sample of ``x``, (B,), on the bound path."""
        return self._evaluate(x, model, total=False)

    def batch_mean(self, x: Tensor, model: nn.Module) -> Tensor:
        """The mean of ``per_sample`` over the batch, by the cheaper batch-sum computation where there
        is one (the exact layer-wise path): what the training objective needs."""
        return self._evaluate(x, model, total=True) / x.shape[0]

    def _evaluate(self, x: Tensor, model: nn.Module, total: bool) -> Tensor:
        if torch.is_autocast_enabled(x.device.type):  # bf16/16-mixed training: the penalty stays float32 (its
            with torch.autocast(x.device.type, enabled=False):  # hand-written backward passes are not autocast)
                return self._evaluate(x, model, total)
        if self._model is not model:
            self.bind(model)
        layers = self._layers
        if layers is None:
            if self.projections is not None:
                values = projected_generic(model.encode, x, self.projections, self._generator)
            else:
                if self._mode is None:
                    with torch.no_grad():
                        k = model.encode(x[:1]).shape[-1]
                    self._mode = jacobian_mode(k, x[0].numel())
                    logger.info("Contractive penalty: generic path uses vmap(%s) (k=%d, d=%d)",
                                self._mode, k, x[0].numel())
                values = generic(model.encode, x, self._mode)
            return values.sum() if total else values
        pres = self._tap.take(x, len(layers), layers[0][0].weight) if self._tap is not None else None
        if pres is None:
            pres = pre_activations(layers, x)
        dtype = layers[0][0].weight.dtype  # a reduced-precision (autocast) forward's pre-activations, cast back
        pres = [pre.to(dtype) for pre in pres]  # (the same tensors when the forward ran in the weights' dtype)
        if self.projections is not None:
            values = projected_layerwise(layers, pres, self.projections, self._generator)
            return values.sum() if total else values
        return layerwise(layers, pres, total)

    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
        penalty = self.batch_mean(batch["x_tilde"], model)  # (1/B) sum_b ||J_f(x_b)||_F^2
        return {"contractive": weighted(self.weight, penalty)}


def _describe(layers: Layers | None) -> str:
    if layers is None:
        return "an encoder that is not an MLP stack (torch.func Jacobian)"
    sizes = [layers[0][0].in_features, *(linear.out_features for linear, _ in layers)]
    acts = ", ".join(name for _, name in layers)
    return f"MLP {'-'.join(map(str, sizes))} ({acts})"
