"""The squared Frobenius norm of an encoder's Jacobian ||dh/dx||_F^2 per sample, exactly or by
random projections: the arithmetic of the contractive penalty (:mod:`aekit.objectives.contractive`),
which chooses among these paths and keeps the objective's settings.

closed form   one affine layer + elementwise s (``hidden: []``), Rifai et al.'s formula for the
              sigmoid, for any activation:  ||J||_F^2 = sum_j s'(a_j)^2 ||W_j||^2.
layer-wise    an MLP h = s_L(W_L s_{L-1}(... s_1(W_1 x))): J = D_L W_L D_{L-1} ... D_1 W_1 with
              D_i = diag(s_i'(pre_i)). With A = D_L W_L ... W_2 D_1 (k x n_1 per sample, batched
              matmuls from the code side) ||J||_F^2 = tr(A G A^T), G = W_1 W_1^T (n_1 x n_1, once
              per step), or ||A W_1||_F^2 when that is cheaper for the shapes at hand. The training
              term needs only the batch sum, <S, G> with S = sum_b A_b^T A_b (``batch_mean``).
generic       any other encoder (convolutions, a Gaussian head): the full Jacobian with torch.func,
              vmap(jacrev) when k <= d (k reverse passes, vectorised), vmap(jacfwd) otherwise.

For very wide codes, ``projections = m`` replaces the exact value by Hutchinson's unbiased estimate
E_u ||J u||^2 = tr(J E[u u^T] J^T) = ||J||_F^2 with u ~ N(0, I_d) in input space, averaged over m
draws per sample, computed with Jacobian-vector products (forward mode): about m extra encoder
passes and their backward, cheaper than vector-Jacobian products v^T J (double backward), which
must also differentiate with respect to v's image. For Gaussian draws both have the same variance,
2 ||J J^T||_F^2 per draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from aekit.registry import get

Layers = list[tuple[nn.Linear, str]]  # [(W_i, b_i as a Linear, registered activation name), ...]


# -- the exact squared norm of a product ending in W_1 ----------------------------------------------
def gram_is_cheaper(rows: int, n1: int, d: int) -> bool:
    """Whether tr(A G A^T) with G = W_1 W_1^T costs fewer multiply-adds than ||A W_1||^2, forward and
    backward together, for A of ``rows`` rows (all samples) and n_1 columns and W_1 of shape (n_1, d).

    gram:   G (5/8 n_1^2 d, symmetric) + A G (rows n_1^2) + A^T A (5/8 rows n_1^2, symmetric)
            + (A^T A) W_1 (n_1^2 d)
    direct: A W_1 (rows n_1 d); backward (A W_1) W_1^T and A^T (A W_1) (rows n_1 d each)
    """
    return 1.625 * n1 * n1 * (rows + d) < 3 * rows * n1 * d


def column_gram(a: Tensor, blocks: int = 4) -> Tensor:
    """A^T A for A (N, n), (n, n), computing only the upper block trapezoid: block row i of the result
    is one GEMM A_i^T [A_i ... A_blocks] over the column blocks of A, the blocks below the diagonal
    are copies. With 4 blocks that is 5/8 of the work of one full GEMM (BLAS's syrk does 1/2, but
    torch does not expose it). Measured for (4096, 512) on one thread: 16.7 ms against 21.9 ms for
    ``a.T @ a``; 8 blocks gain nothing more."""
    n = a.shape[1]
    if n < 64:
        return a.T @ a
    edges = [round(i * n / blocks) for i in range(blocks + 1)]
    out = a.new_empty(n, n)
    for lo, hi in zip(edges[:-1], edges[1:]):
        row = a[:, lo:hi].T @ a[:, lo:]  # (hi - lo, n - lo): the diagonal block and those right of it
        out[lo:hi, lo:] = row
        out[hi:, lo:hi] = row[:, hi - lo :].T
    return out


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


class _GramBatchSum(torch.autograd.Function):
    """sum_b ||A_b W_1||_F^2 with A_b = (P_b W_2) D_1,b, the last factors of the code-side product
    fused with the Gram route, for the training term, which needs only the batch mean.

    The sum is <S, G> with S = sum_b A_b^T A_b and G = W_1 W_1^T, both symmetric (``column_gram``).
    The backward needs S anyway (d/dW_1 <S, W_1 W_1^T> = 2 S W_1), so the forward computes S where
    the per-sample values need A G; the backward computes 2 g A G (d/dA, G symmetric). Fusing the
    product P W_2 and the mask D_1 lets the mask act in place on buffers of this function's own:
    the (B k, n_1) products take two buffers a step (C = P W_2 in the forward, 2 g A G in the
    backward), where the per-sample route with autograd allocates six (the masked products, the
    dot products' temporary, the scaled gradient). Measured in ``benchmarks/contractive_cost.py``.

    p (B, k, n) is D_L W_L ... D_2 (or, with ``w2`` None, already the whole (B, k, n_1) product C);
    w2 (n, n_1) or None; d1 (B, n_1) the first layer's s'(pre_1), or None for a linear first layer;
    w1 (n_1, d). Once differentiable.
    """

    @staticmethod
    def forward(ctx: Any, p: Tensor, w2: Tensor | None, d1: Tensor | None, w1: Tensor) -> Tensor:
        b, k, n = p.shape
        p2 = p.reshape(b * k, n)
        mask = d1[:, None, :] if d1 is not None else None  # (B, 1, n_1)
        c = a = p2 @ w2 if w2 is not None else p2  # C, (B k, n_1)
        if mask is not None:
            if w2 is not None and not ctx.needs_input_grad[2]:
                c = None  # C is this function's own product and s'(pre_1) needs no gradient: in place
                a.view(b, k, -1).mul_(mask)
            else:
                a = (c.reshape(b, k, -1) * mask).reshape(b * k, -1)  # A = C D_1
        g, s = column_gram(w1.T), column_gram(a)  # G = W_1 W_1^T, S = A^T A
        ctx.save_for_backward(p2 if w2 is not None else None, w2, d1, w1, a, c, g, s)
        ctx.shape = (b, k, n)
        return torch.dot(s.flatten(), g.flatten())  # <S, G> = sum_b tr(A_b G A_b^T)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        p2, w2, d1, w1, a, c, g, s = ctx.saved_tensors
        b, k, n = ctx.shape
        need_p, need_w2, need_d1, need_w1 = ctx.needs_input_grad
        two_g = 2 * grad
        grad_a = a @ (two_g * g)  # d/dA = 2 g A G, (B k, n_1), a buffer of its own
        grad_d1 = (grad_a.view(b, k, -1) * c.reshape(b, k, -1)).sum(1) if need_d1 else None  # (B, n_1)
        if d1 is not None:
            grad_a.view(b, k, -1).mul_(d1[:, None, :])  # d/dC
        grad_p = grad_w2 = None
        if w2 is not None:
            grad_p = (grad_a @ w2.T).view(b, k, n) if need_p else None
            grad_w2 = p2.T @ grad_a if need_w2 else None
        elif need_p:
            grad_p = grad_a.view(b, k, n)
        grad_w1 = s @ (two_g * w1) if need_w1 else None  # 2 g S W_1
        return grad_p, grad_w2, grad_d1, grad_w1


# -- exact paths ------------------------------------------------------------------------------------
class _RowSquaredNorms(torch.autograd.Function):
    """||W_j||^2 for each row j of W (k, d): one reduction forward (no w * w temporary, which
    ``vecdot`` writes), one pass backward (2 g_j W_j).

    ``W.pow(2).sum(1)`` costs several passes over the k x d weights in its backward, which is
    measurable next to a small batch's training step (the closed form's target is 1.1x a plain one).
    """

    @staticmethod
    def forward(ctx: Any, w: Tensor) -> Tensor:
        ctx.save_for_backward(w)
        return torch.linalg.vector_norm(w, dim=1).square_()  # (k,); vecdot(w, w) writes w * w first

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


def code_side_product(layers: Layers, pres: list[Tensor], last: bool = True) -> Any:
    """A = D_L W_L D_{L-1} ... W_2 D_1, (B, k, n_1), for an MLP of L >= 2 affine layers.

    Built from the code side, where the k rows keep every product small: a linear D_i (the identity)
    is skipped, and while no per-sample D_i has appeared the product stays one (k, n) matrix.
    With ``last=False`` the final GEMM and D_1 are left to the caller: returns (P, W_2) with
    A = (P W_2) D_1, or (C, None) with A = C D_1 when W_2 is the code layer (L = 2); P and C may
    still be one (k, n) matrix for the whole batch.
    """
    m: Tensor = layers[-1][0].weight  # W_L, (k, n_{L-1})
    top = get("activation", layers[-1][1])
    if layers[-1][1] != "linear":
        m = top.derivative(pres[-1])[:, :, None] * m  # D_L W_L, (B, k, n_{L-1})
    for i in range(len(layers) - 2, -1, -1):  # layer i (0-based): W (n_i, n_{i-1}), pre (B, n_i)
        linear, name = layers[i]
        if i == 0 and not last:
            return m, None
        if name != "linear":
            m = m * get("activation", name).derivative(pres[i])[:, None, :]  # ... D_i, (B, k, n_i)
        if i == 0:
            break
        w = layers[i][0].weight  # (n_i, n_{i-1})
        if i == 1 and not last:
            return m, w
        if m.dim() == 2:
            m = m @ w  # no per-sample factor yet: (k, n_i) @ (n_i, n_{i-1})
        else:
            b, k, n = m.shape
            m = (m.reshape(b * k, n) @ w).reshape(b, k, -1)  # one GEMM: (B k, n_i) @ (n_i, n_{i-1})
    if m.dim() == 2:  # an all-linear network: J is the same for every sample
        m = m.expand(pres[0].shape[0], *m.shape)
    return m  # (B, k, n_1)


def layerwise(layers: Layers, pres: list[Tensor], total: bool = False) -> Tensor:
    """Exact ||J||_F^2 for an MLP from the pre-activations of each layer: per sample (B,), or the
    batch sum (``total``, a scalar: cheaper when only the mean is wanted, see ``_GramBatchSum``)."""
    if len(layers) == 1:
        values = closed_form(layers[0][0], layers[0][1], pres[0])
        return values.sum() if total else values
    w1, batch, k = layers[0][0].weight, pres[0].shape[0], layers[-1][0].out_features
    if not (total and gram_is_cheaper(batch * k, w1.shape[0], w1.shape[1])):
        values = squared_norm_through(code_side_product(layers, pres), w1)
        return values.sum() if total else values
    p, w2 = code_side_product(layers, pres, last=False)  # A = (P W_2) D_1, or C D_1 with w2 None
    if p.dim() == 2:  # no per-sample factor above the first layer: C = P W_2 is one (k, n_1) matrix
        p, w2 = (p @ w2 if w2 is not None else p).expand(batch, k, -1), None
    d1 = None if layers[0][1] == "linear" else get("activation", layers[0][1]).derivative(pres[0])
    return _GramBatchSum.apply(p, w2, d1, w1)


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
def projection_seed(seed: int) -> int:
    """The seed of the projections' generator for the objective's ``seed``: mixed (numpy's
    SeedSequence), never ``seed`` itself. A run seeds torch with its seed before building the model,
    so a generator seeded with the same number would replay the Mersenne-Twister stream that drew
    the first layer's initial weights, and the first draws u would be correlated with J: the
    estimate came out 13-22 % high for the first 4 steps of the 784-512-128-32 benchmark model
    (``tests/unit/test_contractive.py`` checks the draws are independent of the weights)."""
    return int(np.random.SeedSequence([seed, 0xC0417]).generate_state(1, np.uint64)[0] >> 1)


def _draws(shape: tuple[int, ...], like: Tensor, generator: torch.Generator) -> Tensor:
    return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)


def projected_layerwise(layers: Layers, pres: list[Tensor], projections: int, generator: torch.Generator) -> Tensor:
    """Unbiased estimate (B,) of ||J||_F^2 for an MLP from its pre-activations: the mean over m draws
    u ~ N(0, I_d) of ||J u||^2, each J u pushed forward through the layers (Jacobian-vector products:
    t_i = D_i W_i t_{i-1}, t_0 = u). Differentiable when the pre-activations carry the graph; the
    first layer's W_1 u needs no gradient with respect to u, so this costs two GEMMs of the first
    layer's size where a vector-Jacobian product v^T J needs three (v^T J W_1 and, backward, both
    of its gradients)."""
    b, m = pres[0].shape[0], projections
    t = _draws((b * m, layers[0][0].in_features), pres[0], generator)  # u, m rows per sample, (B m, d)
    for i, (linear, name) in enumerate(layers):
        t = t @ linear.weight.T  # W_i t, (B m, n_i)
        if name != "linear":
            slope = get("activation", name).derivative(pres[i])  # s_i'(pre_i), (B, n_i)
            t = (t.reshape(b, m, -1) * slope[:, None, :]).reshape(b * m, -1)
    return t.reshape(b, m, -1).square().sum(2).mean(1)  # mean_m ||J u_m||^2


def projected_generic(encode: Callable[[Tensor], Tensor], x: Tensor, projections: int,
                      generator: torch.Generator) -> Tensor:
    """Unbiased estimate (B,) of ||J||_F^2 for any encoder: mean over m draws u ~ N(0, I_d) of
    ||J u||^2, each J u one forward-mode Jacobian-vector product (torch.func.jvp), differentiable
    in the encoder's parameters when gradients are on."""
    from torch.func import jvp

    total = x.new_zeros(x.shape[0])
    for _ in range(projections):
        u = _draws(tuple(x.shape), x, generator)  # (B, *sample_shape)
        _, tangent = jvp(encode, (x.detach(),), (u,))  # J u per sample, (B, k)
        total = total + tangent.reshape(x.shape[0], -1).square().sum(1)
    return total / projections
