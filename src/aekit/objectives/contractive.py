"""Contractive penalty lambda * ||J_f(x)||_F^2 (Rifai, Vincent, Muller, Glorot & Bengio, "Contractive
Auto-Encoders: Explicit Invariance During Feature Extraction", ICML 2011).

J_f(x) = dh/dx is the Jacobian of the deterministic code map ``model.encode`` (the posterior mean mu
for a variational model) at the model's input ``batch["x_tilde"]``; the term is its squared Frobenius
norm, per sample, averaged over the batch::

    penalties: {contractive: 0.1}                               # lambda
    penalties: {contractive: {weight: 0.1, projections: 1}}     # unbiased estimate, 1 projection

The value is exact for every encoder and costs a small constant factor over a plain step — never one
backward pass per code unit. ``bind(model)`` picks the cheapest exact path and logs it:

closed form   one affine layer + elementwise s (``hidden: []``), Rifai et al.'s formula for the
              sigmoid, for any activation:  ||J||_F^2 = sum_j s'(a_j)^2 ||W_j||^2.
layer-wise    an MLP h = s_L(W_L s_{L-1}(... s_1(W_1 x))): J = D_L W_L D_{L-1} ... D_1 W_1 with
              D_i = diag(s_i'(pre_i)). With A = D_L W_L ... W_2 D_1 (k x n_1 per sample, batched
              matmuls from the code side) ||J||_F^2 = tr(A G A^T), G = W_1 W_1^T (n_1 x n_1, once
              per step), or ||A W_1||_F^2 when that is cheaper for the shapes at hand.
generic       any other encoder (convolutions, a Gaussian head): the full Jacobian with torch.func,
              vmap(jacrev) when k <= d (k reverse passes, vectorised), vmap(jacfwd) otherwise.

For very wide codes, ``projections = m`` replaces the exact value by Hutchinson's unbiased estimate
E_v ||v^T J||^2 = tr(J^T E[v v^T] J) = ||J||_F^2 with v ~ N(0, I_k), averaged over m draws per sample,
computed with vector-Jacobian products (double backward): about m extra backward passes.

The MLP paths reuse the pre-activations of the forward pass the trainer has just run on x_tilde
(forward hooks set by ``bind``): the penalty adds no encoder pass of its own. When the last forward
was on another input they are recomputed. Measured costs: ``benchmarks/contractive_cost.py`` (results
in ``benchmarks/results/contractive_cost.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from aekit.config import param, validate
from aekit.errors import ConfigError
from aekit.params import AnyOf, Interval
from aekit.registry import get, register

logger = logging.getLogger(__name__)

Layers = list[tuple[nn.Linear, str]]  # [(W_i, b_i as a Linear, registered activation name), ...]


# -- the exact squared norm of a product ending in W_1 ----------------------------------------------
def gram_is_cheaper(rows: int, n1: int, d: int) -> bool:
    """Whether tr(A G A^T) with G = W_1 W_1^T costs fewer multiply-adds than ||A W_1||^2, forward and
    backward together, for A of ``rows`` rows (all samples) and n_1 columns and W_1 of shape (n_1, d).

    gram:   G (3/4 n_1^2 d, symmetric) + A G (rows n_1^2);
            backward A^T A (3/4 rows n_1^2, symmetric) + (A^T A) W_1 (n_1^2 d)
    direct: A W_1 (rows n_1 d); backward (A W_1) W_1^T and A^T (A W_1) (rows n_1 d each)
    """
    return 1.75 * n1 * n1 * (rows + d) < 3 * rows * n1 * d


def column_gram(a: Tensor) -> Tensor:
    """A^T A for A (N, n), (n, n), from three GEMMs on column halves instead of one full GEMM:
    [[A_1^T A_1, A_1^T A_2], [., A_2^T A_2]] — the product is symmetric, so 3/4 of the work (BLAS's
    syrk, which torch does not expose). Measured 15 % faster than ``a.T @ a`` for (4096, 512)."""
    n = a.shape[1]
    if n < 64:
        return a.T @ a
    a1, a2 = a[:, : n // 2], a[:, n // 2 :]
    s11, s12, s22 = a1.T @ a1, a1.T @ a2, a2.T @ a2
    return torch.cat([torch.cat([s11, s12], 1), torch.cat([s12.T, s22], 1)], 0)


class _SquaredNormThroughW1(torch.autograd.Function):
    """Per sample ||A_b W_1||_F^2 for A (B, r, n_1) and W_1 (n_1, d), with a hand-written backward.

    Autograd would recompute A G in the backward pass (or A W_1 W_1^T in two steps); here the
    forward's product is reused: d/dA tr(A G A^T) = 2 A G since G is symmetric. The backward is
    once-differentiable (the penalty is never differentiated twice).
    """

    @staticmethod
    def forward(ctx: Any, a: Tensor, w1: Tensor, gram: bool) -> Tensor:
        b, r, n1 = a.shape
        a2 = a.reshape(b * r, n1)  # (B r, n_1)
        if gram:
            g = column_gram(w1.T)  # G = W_1 W_1^T, (n_1, n_1)
            ag = a2 @ g  # (B r, n_1)
            values = torch.linalg.vecdot(ag.reshape(b, r * n1), a.reshape(b, r * n1))  # tr(A_b G A_b^T), (B,)
            ctx.save_for_backward(a, w1, ag)
        else:
            c = a2 @ w1  # A W_1, (B r, d)
            values = torch.linalg.vector_norm(c.reshape(b, -1), dim=1).square()  # ||A_b W_1||^2, (B,)
            ctx.save_for_backward(a, w1, c)
        ctx.gram = gram
        return values

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        a, w1, product = ctx.saved_tensors
        b, r, n1 = a.shape
        a2 = a.reshape(b * r, n1)
        uniform = bool((grad == grad[0]).all())  # a batch mean gives every sample the same weight
        grad_rows = grad.repeat_interleave(r)[:, None]  # (B r, 1)
        grad_a = grad_w1 = None
        if ctx.gram:  # product = A G
            if ctx.needs_input_grad[0]:
                grad_a = (2 * grad_rows * product).reshape(b, r, n1)  # 2 g_b A_b G
            if ctx.needs_input_grad[1]:
                s = column_gram(a2) if uniform else (a2 * grad_rows).T @ a2  # sum_b g_b A_b^T A_b, (n_1, n_1)
                scale = 2 * grad[0] if uniform else 2
                grad_w1 = scale * (s @ w1)  # d/dW_1 tr(S W_1 W_1^T) = 2 S W_1
        else:  # product = C = A W_1
            grad_c = 2 * grad_rows * product  # (B r, d)
            if ctx.needs_input_grad[0]:
                grad_a = (grad_c @ w1.T).reshape(b, r, n1)
            if ctx.needs_input_grad[1]:
                grad_w1 = a2.T @ grad_c  # (n_1, d)
        return grad_a, grad_w1, None


def squared_norm_through(a: Tensor, w1: Tensor) -> Tensor:
    """||A_b W_1||_F^2 per sample for A (B, r, n_1): tr(A G A^T) or the direct product, the cheaper."""
    b, r, n1 = a.shape
    return _SquaredNormThroughW1.apply(a, w1, gram_is_cheaper(b * r, n1, w1.shape[1]))


# -- exact paths ------------------------------------------------------------------------------------
class _RowSquaredNorms(torch.autograd.Function):
    """||W_j||^2 for each row j of W (k, d): one fused pass forward, one pass backward (2 g_j W_j).

    ``W.pow(2).sum(1)`` costs several passes over the k x d weights in its backward, which is
    measurable next to a small batch's training step (the closed form's target is 1.1x a plain one).
    """

    @staticmethod
    def forward(ctx: Any, w: Tensor) -> Tensor:
        ctx.save_for_backward(w)
        return torch.linalg.vecdot(w, w)  # (k,)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (w,) = ctx.saved_tensors
        return w * (2 * grad)[:, None]  # (k, d); differentiable again: w is an input


def closed_form(linear: nn.Linear, activation: str, pre: Tensor) -> Tensor:
    """||J||_F^2 per sample for h = s(W x + b), from the pre-activation a = W x + b (B, k): (B,).

    Rifai et al. (2011) give it for s = sigmoid (s' = h (1 - h)); any elementwise s here:
    ||J||_F^2 = sum_j s'(a_j)^2 sum_i W_ji^2.
    """
    row_norms = _RowSquaredNorms.apply(linear.weight)  # ||W_j||^2, (k,)
    slope = get("activation", activation).derivative(pre)  # s'(a), (B, k)
    return slope.pow(2) @ row_norms  # (B,)


def code_side_product(layers: Layers, pres: list[Tensor]) -> Tensor:
    """A = D_L W_L D_{L-1} ... W_2 D_1, (B, k, n_1), for an MLP of L >= 2 affine layers.

    Built from the code side, where the k rows keep every product small: a linear D_i (the identity)
    is skipped, and while no per-sample D_i has appeared the product stays one (k, n) matrix.
    """
    m: Tensor = layers[-1][0].weight  # W_L, (k, n_{L-1})
    top = get("activation", layers[-1][1])
    if layers[-1][1] != "linear":
        m = top.derivative(pres[-1])[:, :, None] * m  # D_L W_L, (B, k, n_{L-1})
    for i in range(len(layers) - 2, -1, -1):  # layer i (0-based): W (n_i, n_{i-1}), pre (B, n_i)
        linear, name = layers[i]
        if name != "linear":
            m = m * get("activation", name).derivative(pres[i])[:, None, :]  # ... D_i, (B, k, n_i)
        if i == 0:
            break
        w = layers[i][0].weight  # (n_i, n_{i-1})
        if m.dim() == 2:
            m = m @ w  # no per-sample factor yet: (k, n_i) @ (n_i, n_{i-1})
        else:
            b, k, n = m.shape
            m = (m.reshape(b * k, n) @ w).reshape(b, k, -1)  # one GEMM: (B k, n_i) @ (n_i, n_{i-1})
    if m.dim() == 2:  # an all-linear network: J is the same for every sample
        m = m.expand(pres[0].shape[0], *m.shape)
    return m  # (B, k, n_1)


def layerwise(layers: Layers, pres: list[Tensor]) -> Tensor:
    """Exact ||J||_F^2 per sample (B,) for an MLP, from the pre-activations of each layer."""
    if len(layers) == 1:
        return closed_form(layers[0][0], layers[0][1], pres[0])
    return squared_norm_through(code_side_product(layers, pres), layers[0][0].weight)


def pre_activations(layers: Layers, x: Tensor) -> list[Tensor]:
    """pre_i = W_i a_{i-1} + b_i for every layer, a_0 = flatten(x): [(B, n_1), ..., (B, k)]."""
    a, pres = x.flatten(1), []  # (B, d)
    for linear, name in layers:
        pres.append(linear(a))
        a = get("activation", name)(pres[-1])
    return pres


def jacobian_mode(k: int, d: int) -> str:
    """``"jacrev"`` (k vector-Jacobian products) when k <= d, else ``"jacfwd"`` (d Jacobian-vector
    products): the transform with fewer passes. Measured in ``benchmarks/contractive_cost.py``."""
    return "jacrev" if k <= d else "jacfwd"


def generic(encode: Callable[[Tensor], Tensor], x: Tensor, mode: str | None = None) -> Tensor:
    """Exact ||J||_F^2 per sample (B,) for any encoder, with torch.func: vmap over the batch of
    jacrev/jacfwd of one sample's code. Differentiable in the encoder's parameters (ordinary
    autograd sees through the transforms); memory B k d."""
    from torch.func import jacfwd, jacrev, vmap

    def one(xi: Tensor) -> Tensor:  # (*sample_shape) -> (k,)
        return encode(xi.unsqueeze(0)).squeeze(0)

    if mode is None:
        k = encode(x[:1]).shape[-1]
        mode = jacobian_mode(k, x[0].numel())
    transform = {"jacrev": jacrev, "jacfwd": jacfwd}[mode]
    jac = vmap(transform(one))(x)  # (B, k, *sample_shape)
    return jac.reshape(x.shape[0], -1).pow(2).sum(1)


# -- the stochastic estimate ------------------------------------------------------------------------
def _draws(shape: tuple[int, ...], like: Tensor, generator: torch.Generator) -> Tensor:
    return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)


def projected_layerwise(layers: Layers, pres: list[Tensor], projections: int, generator: torch.Generator) -> Tensor:
    """Unbiased estimate (B,) of ||J||_F^2 for an MLP from its pre-activations (which must carry the
    autograd graph): v^T J = (v^T dh/dpre_1) W_1, the first factor by one vector-Jacobian product
    per projection (create_graph, so the estimate is differentiable), the second by one matmul."""
    pre1 = pres[0]  # (B, n_1)
    h = get("activation", layers[-1][1])(pres[-1])  # (B, k), the code, connected to pre_1
    rows = []
    for _ in range(projections):
        v = _draws(h.shape, h, generator)  # v ~ N(0, I_k) per sample, (B, k)
        (row,) = torch.autograd.grad(h, pre1, v, create_graph=True)  # v^T D_L W_L ... D_1, (B, n_1)
        rows.append(row.unsqueeze(1))
    a = torch.cat(rows, 1) if projections > 1 else rows[0]  # (B, m, n_1)
    return squared_norm_through(a, layers[0][0].weight) / projections  # mean_m ||v_m^T J||^2


def projected_generic(encode: Callable[[Tensor], Tensor], x: Tensor, projections: int,
                      generator: torch.Generator) -> Tensor:
    """Unbiased estimate (B,) of ||J||_F^2 for any encoder: mean over m draws of ||v^T J||^2, each
    v^T J a vector-Jacobian product with respect to the input (double backward)."""
    create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        h = encode(x)  # (B, k)
        total = x.new_zeros(x.shape[0])
        for _ in range(projections):
            v = _draws(h.shape, h, generator)  # (B, k)
            (row,) = torch.autograd.grad(h, x, v, create_graph=create_graph, retain_graph=True)  # (B, *shape)
            total = total + row.reshape(x.shape[0], -1).pow(2).sum(1)
    return total / projections if create_graph else (total / projections).detach()


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

    weight: float = param(0.1, Interval(float, 0, None), "lambda, the weight of ||dh/dx||_F^2 per sample")
    projections: Any = param(
        None, AnyOf(None, Interval(int, 1, None)),
        "None: exact; m: unbiased estimate from m random projections v^T J (for very wide codes)",
    )
    seed: int = param(0, Interval(int, 0, None), "seed of the projections' generator (projections only)")

    def __post_init__(self) -> None:
        validate(self, prefix="penalties.contractive.")
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
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
            how = "layer-wise vector-Jacobian products" if layers else "vector-Jacobian products through model.encode"
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
        if self._model is not model:
            self.bind(model)
        layers = self._layers
        if layers is not None:
            weight = layers[0][0].weight
            pres = self._tap.take(x, len(layers), weight) if self._tap is not None else None
            if self.projections is not None:
                if torch.is_grad_enabled() and pres is None:
                    pres = pre_activations(layers, x)
                if pres is not None and pres[-1].requires_grad:  # a graph to take the products through
                    return projected_layerwise(layers, pres, self.projections, self._generator)
                return projected_generic(model.encode, x, self.projections, self._generator)
            return layerwise(layers, pres if pres is not None else pre_activations(layers, x))
        if self.projections is not None:
            return projected_generic(model.encode, x, self.projections, self._generator)
        if self._mode is None:
            with torch.no_grad():
                k = model.encode(x[:1]).shape[-1]
            self._mode = jacobian_mode(k, x[0].numel())
            logger.info("Contractive penalty: generic path uses vmap(%s) (k=%d, d=%d)", self._mode, k, x[0].numel())
        return generic(model.encode, x, self._mode)

    def __call__(self, batch: dict[str, Tensor], out: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
        penalty = self.per_sample(batch["x_tilde"], model).mean()  # (1/B) sum_b ||J_f(x_b)||_F^2
        return {"contractive": self.weight * penalty}


def _describe(layers: Layers | None) -> str:
    if layers is None:
        return "an encoder that is not an MLP stack (torch.func Jacobian)"
    sizes = [layers[0][0].in_features, *(linear.out_features for linear, _ in layers)]
    acts = ", ".join(name for _, name in layers)
    return f"MLP {'-'.join(map(str, sizes))} ({acts})"
