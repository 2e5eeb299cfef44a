"""What the decoder has learned: decodings of chosen codes rather than of encoded inputs.

- a grid of decodings over two code dimensions (the whole code when it is 2-D), as in Kingma &
  Welling's Fig. 4 (ICLR 2014); the other dimensions are held at a typical code;
- latent traversals: one dimension swept at a time from a test input's code (the figure β-VAE papers
  use to judge disentanglement, Higgins et al., ICLR 2017);
- interpolations between the codes of two test inputs, beside the plain pixel blend of the two;
- samples from the prior N(0, I), for variational models only.

Ranges: a variational model's code is meant to follow N(0, I), so its dimensions are swept over the
prior's 5 %-95 % quantiles (Kingma & Welling's inverse-CDF grid); a deterministic code has no prior,
so each dimension is swept between the 2nd and 98th percentiles of the test codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from aekit.analysis.run_analysis import SEED, RunAnalysis
from aekit.registry import register
from aekit.viz._common import SEPARATOR, as_images, data_limits, decode, encode, new_figure, numpy, tile
from aekit.viz.figure import ReportFigure, not_images

PAD = 1  # pixels between tiles
MIN_TILE = 16  # pixels a tile has at least in a mosaic (smaller images are enlarged by a whole factor)
FLAT = 0.02  # a decoder whose most effective dimension moves the pixels by less (mean, of their range) is flat


def dimensions_by_spread(h: np.ndarray, n: int) -> list[int]:
    """The ``n`` code dimensions with the largest variance over the codes ``h`` (n_points, k), largest first."""
    order = np.argsort(-np.var(numpy(h), axis=0), kind="stable")
    return [int(j) for j in order[:n]]


def decoded_change(model: torch.nn.Module, h: np.ndarray) -> np.ndarray:
    """How much each code dimension changes the decoding, (k,): the dimension set to the two ends of its
    :func:`sweep_values` range, every other held at :func:`typical_code`, and the mean absolute pixel
    difference of the two decodings. A dimension the decoder ignores scores 0 however widely the codes
    spread along it."""
    h = numpy(h)
    k = h.shape[1]
    ends = np.tile(typical_code(model, h), (2 * k, 1)).astype(np.float32)  # (2k, k): rows 2j, 2j+1 sweep dim j
    for dim in range(k):
        ends[2 * dim, dim], ends[2 * dim + 1, dim] = sweep_values(model, h, dim, 2)
    x = decode(model, ends).reshape(k, 2, -1)  # (k, 2, d)
    return np.abs(x[:, 1] - x[:, 0]).mean(axis=1)


def dimensions_by_effect(model: torch.nn.Module, h: np.ndarray, n: int) -> list[int]:
    """The ``n`` code dimensions whose sweep changes the decoding most (:func:`decoded_change`), largest
    first: a grid over a dimension the decoder ignores would repeat one image."""
    order = np.argsort(-decoded_change(model, h), kind="stable")
    return [int(j) for j in order[:n]]


def sweep_values(model: torch.nn.Module, h: np.ndarray, dim: int, steps: int) -> np.ndarray:
    """``steps`` values of code dimension ``dim``: prior quantiles (variational) or test-code percentiles."""
    if getattr(model, "variational", False):
        from scipy.stats import norm

        return norm.ppf(np.linspace(0.05, 0.95, steps))
    low, high = np.percentile(numpy(h)[:, dim], [2, 98])
    return np.linspace(low, high, steps)


def typical_code(model: torch.nn.Module, h: np.ndarray) -> np.ndarray:
    """The code the other dimensions are held at: the prior mean 0 (variational) or the median test code."""
    h = numpy(h)
    return np.zeros(h.shape[1], np.float32) if getattr(model, "variational", False) else np.median(h, axis=0)


def _cell_centres(count: int, size: int) -> np.ndarray:
    return np.arange(count) * (size + PAD) + (size - 1) / 2


def _draw_tiles(ax, images: np.ndarray, rows: int, cols: int, limits: tuple[float, float]) -> tuple[int, int]:
    """``images`` (n, H, W[, 3]) as a rows x cols mosaic on ``ax``; returns the (height, width) of a tile
    in the mosaic's pixels. Images under ``MIN_TILE`` pixels are enlarged by a whole factor first, so the
    one-pixel gap stays thin beside them (an 8x8 digit is drawn 16x16)."""
    factor = max(1, math.ceil(MIN_TILE / max(images.shape[1:3])))
    images = images.repeat(factor, axis=1).repeat(factor, axis=2)
    mosaic = tile(images, rows, cols, pad=PAD)
    ax.imshow(mosaic, cmap="gray", vmin=limits[0], vmax=limits[1], interpolation="nearest")
    ax.set_facecolor(SEPARATOR)  # the padding is NaN: drawn in a colour no grey pixel has
    return images.shape[1], images.shape[2]


def manifold_figure(model: torch.nn.Module, h: np.ndarray, dims: Sequence[int] | None = None,
                    steps: int = 9, cell: float = 0.42) -> Figure:
    """Decodings over a ``steps`` x ``steps`` grid of two code dimensions (``dims``, default: the two whose
    sweep changes the decoding most, :func:`dimensions_by_effect`), ``cell`` inches each; every other
    dimension is held at :func:`typical_code`. A 1-D code gives a single row."""
    h = numpy(h)
    k = h.shape[1]
    dims = list(dims) if dims is not None else dimensions_by_effect(model, h, min(2, k))
    base = typical_code(model, h)
    xs = sweep_values(model, h, dims[0], steps)
    ys = sweep_values(model, h, dims[1], steps)[::-1] if len(dims) > 1 else np.array([base[dims[0]]])
    codes = np.tile(base, (len(ys) * len(xs), 1)).astype(np.float32)  # (rows*cols, k)
    for r, y in enumerate(ys):
        for c, x in enumerate(xs):
            codes[r * len(xs) + c, dims[0]] = x
            if len(dims) > 1:
                codes[r * len(xs) + c, dims[1]] = y
    images = as_images(decode(model, codes), model.sample_shape)
    size = cell * steps
    fig = new_figure(size + 1.2, size * len(ys) / steps + 1.2)
    ax = fig.add_axes((0.14, 0.12, 0.82, 0.78))
    height, width = _draw_tiles(ax, images, len(ys), len(xs), data_limits(images))
    every = max(1, (steps - 1) // 4)  # about five ticks, the first and the last included when they fall so
    ax.set_xticks(_cell_centres(len(xs), width)[::every], [f"{v:.2g}" for v in xs[::every]], fontsize=8)
    ax.set_xlabel(f"h{dims[0] + 1}")
    if len(dims) > 1:
        ax.set_yticks(_cell_centres(len(ys), height)[::every], [f"{v:.2g}" for v in ys[::every]], fontsize=8)
        ax.set_ylabel(f"h{dims[1] + 1}")
        at = "prior mean" if getattr(model, "variational", False) else "median code"
        held = "" if k == 2 else f", other {k - 2} dimensions held at the {at}"
        ax.set_title(f"decoder over h{dims[0] + 1} x h{dims[1] + 1}{held}", fontsize=10)
    else:
        ax.set_yticks([])
        ax.set_title(f"decoder along h{dims[0] + 1}", fontsize=10)
    return fig


def traversal_figure(model: torch.nn.Module, h: np.ndarray, start: np.ndarray, dims: Sequence[int] | None = None,
                     steps: int = 9, max_dims: int = 10) -> Figure:
    """One row per code dimension: the code ``start`` (k,) with that dimension swept across its range,
    decoded. Dimensions default to the ``max_dims`` with most spread in ``h``, largest first."""
    h = numpy(h)
    k = h.shape[1]
    dims = list(dims) if dims is not None else dimensions_by_spread(h, min(max_dims, k))
    rows = []
    for dim in dims:
        codes = np.tile(numpy(start).reshape(1, k), (steps, 1))
        codes[:, dim] = sweep_values(model, h, dim, steps)
        rows.append(codes)
    images = as_images(decode(model, np.concatenate(rows)), model.sample_shape)
    fig = new_figure(0.55 * steps + 1.6, 0.55 * len(dims) + 1.2)
    ax = fig.add_axes((0.16, 0.14, 0.8, 0.76))
    height, width = _draw_tiles(ax, images, len(dims), steps, data_limits(images))
    ax.set_yticks(_cell_centres(len(dims), height), [f"h{d + 1}" for d in dims], fontsize=8)
    ax.set_xticks(_cell_centres(steps, width)[[0, steps // 2, steps - 1]],
                  ["low", "middle", "high"] if not getattr(model, "variational", False) else ["5 %", "50 %", "95 %"],
                  fontsize=8)
    ax.set_ylabel("code dimension")
    ax.set_xlabel("value of that dimension" + (" (prior quantile)" if getattr(model, "variational", False)
                                               else " (2nd to 98th percentile of test codes)"))
    ax.set_title("latent traversals: one dimension changed at a time", fontsize=10)
    return fig


@torch.no_grad()
def interpolation_figure(model: torch.nn.Module, x_a: np.ndarray, x_b: np.ndarray, steps: int = 8) -> Figure:
    """For each pair (x_a[i], x_b[i]): a row decoding (1 - t) h_a + t h_b for t from 0 to 1, and below
    it the pixel blend (1 - t) x_a + t x_b, to compare interpolating codes with interpolating pixels."""
    x_a, x_b = numpy(x_a), numpy(x_b)
    h_a, h_b = encode(model, x_a), encode(model, x_b)  # (p, k) each
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]  # (1, steps, 1)
    codes = ((1 - t) * h_a[:, None] + t * h_b[:, None]).reshape(-1, h_a.shape[1])  # (p*steps, k)
    decoded = as_images(decode(model, codes), model.sample_shape)  # (p*steps, H, W[, 3])
    flat_a, flat_b = x_a.reshape(len(x_a), 1, -1), x_b.reshape(len(x_b), 1, -1)  # (p, 1, d)
    blended = as_images(((1 - t) * flat_a + t * flat_b).reshape(len(codes), -1), model.sample_shape)
    decoded = decoded.reshape(len(x_a), steps, *decoded.shape[1:])  # (p, steps, H, W[, 3])
    blended = blended.reshape(decoded.shape)
    rows = np.stack([decoded, blended], axis=1).reshape(-1, *decoded.shape[2:])  # code row, pixel row, ...
    n_rows = 2 * len(x_a)
    fig = new_figure(0.6 * steps + 2.0, 0.6 * n_rows + 1.0)
    ax = fig.add_axes((0.2, 0.12, 0.76, 0.78))
    height, width = _draw_tiles(ax, rows, n_rows, steps, data_limits(np.concatenate([x_a.ravel(), x_b.ravel()])))
    ax.set_yticks(_cell_centres(n_rows, height),
                  [f"pair {i // 2 + 1}: {'codes' if i % 2 == 0 else 'pixels'}" for i in range(n_rows)], fontsize=8)
    ax.set_xticks(_cell_centres(steps, width)[[0, steps - 1]], ["t = 0", "t = 1"], fontsize=8)
    ax.set_xlabel("interpolation weight t")
    ax.set_title("interpolating codes (decoded) vs interpolating pixels", fontsize=10)
    return fig


@torch.no_grad()
def prior_samples_figure(model: torch.nn.Module, n: int = 64, seed: int = 0) -> Figure:
    """``n`` decodings of codes drawn from the prior N(0, I) (variational models), seeded."""
    was_training = model.training
    model.eval()
    try:
        samples = model.sample(n, generator=torch.Generator().manual_seed(seed))  # (n, *sample_shape)
    finally:
        model.train(was_training)
    images = as_images(samples, model.sample_shape)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig = new_figure(0.5 * cols + 0.6, 0.5 * rows + 0.8)
    ax = fig.add_axes((0.03, 0.03, 0.94, 0.86))
    _draw_tiles(ax, images, rows, cols, data_limits(images))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{n} samples: decodings of h ~ N(0, I)", fontsize=10)
    return fig


# -- the report's figures ------------------------------------------------------------------------
@register("figure", "manifold")
class ManifoldFigure(ReportFigure):
    title = "The decoder's manifold"
    order = 40
    steps = 9  # cells along each code dimension (odd: the middle one is the typical code)

    def applies(self, run: RunAnalysis) -> str | None:
        return not_images(run)

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        change = decoded_change(run.model, run.h_test)  # (k,)
        dims = [int(j) for j in np.argsort(-change, kind="stable")[:min(2, len(change))]]
        low, high = data_limits(run.x_test)
        facts = {"dims": dims, "change": float(change[dims[0]]) / (high - low)}  # as a fraction of the data's range
        return manifold_figure(run.model, run.h_test, dims=dims, steps=self.steps), facts

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        dims, steps, k = facts["dims"], self.steps, run.model.config.code_size
        if len(dims) == 1:
            which = f"a single row over the code's only dimension h{dims[0] + 1}"
        elif k == 2:
            which = f"a {steps}×{steps} grid over the whole 2-D code (h1 across, h2 down)"
        else:
            held = "the prior mean 0" if run.variational else "the median test code"
            which = (f"a {steps}×{steps} grid over code dimensions h{dims[0] + 1} (across) and h{dims[1] + 1} (down), "
                     f"the two of the {k} whose sweep changes the decoded image most; the other {k - 2} stay at "
                     f"{held}")
        span = ("each dimension runs over the 5 %–95 % quantiles of the prior N(0, 1)" if run.variational else
                "each dimension runs from the 2nd to the 98th percentile of its values over the test codes")
        still = ""
        if facts["change"] < FLAT:
            still = (f" Here even the dimension that matters most changes the pixels by {100 * facts['change']:.1f} % "
                     f"of their range on average from one end of its sweep to the other: this decoder hardly uses its "
                     f"code, so the cells look alike (the model has not trained long enough, or ignores its code).")
        return (f"Instead of encoding images, this figure chooses codes and decodes them: {which}; {span}. A decoder "
                f"that has learned the data's manifold draws plausible images in every cell, changing smoothly from "
                f"cell to cell; blank or smeared cells are codes the decoder never learned to use — the gaps between "
                f"classes that a code without a prior tends to leave.{still}")


@register("figure", "traversals")
class TraversalsFigure(ReportFigure):
    title = "Latent traversals"
    order = 50
    max_dims = 10  # rows: the code dimensions with the largest spread

    def applies(self, run: RunAnalysis) -> str | None:
        return not_images(run)

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        dims = min(self.max_dims, run.model.config.code_size)
        return traversal_figure(run.model, run.h_test, run.h_test[0], max_dims=dims), {"dims": dims}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        span = ("over the prior's 5 %–95 % quantiles" if run.variational else
                "from the 2nd to the 98th percentile of its values over the test codes")
        return (f"Each row starts from the code of the first test image and changes a single code dimension, {span}, keeping "
                f"the others fixed, and decodes the result. Rows are the {facts['dims']} dimensions with the "
                f"largest spread over the test codes, largest first. A row that changes one visible property (slant, "
                f"width, thickness) is an interpretable dimension; a row that changes several at once is entangled; a "
                f"row that does not change is a dimension the decoder ignores.")


def image_pairs(y: np.ndarray | None, n: int, count: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices of up to ``count`` disjoint pairs among ``n`` test images, of different classes when there
    are labels ``y`` (seeded)."""
    order = np.random.default_rng(seed).permutation(n)
    used: set[int] = set()
    a, b = [], []
    for i in order:
        if len(a) == count:
            break
        if i in used:
            continue
        partner = next((j for j in order if j != i and j not in used and (y is None or y[j] != y[i])), None)
        if partner is not None:
            a.append(int(i))
            b.append(int(partner))
            used.update((int(i), int(partner)))
    return np.array(a, dtype=int), np.array(b, dtype=int)


@register("figure", "interpolations")
class InterpolationsFigure(ReportFigure):
    title = "Interpolations between test images"
    order = 60
    pairs = 3

    def applies(self, run: RunAnalysis) -> str | None:
        if not_images(run):
            return not_images(run)
        n_test = len(run.x_test)
        return None if n_test >= 4 else f"the test split has {n_test} rows; interpolations need at least 4."

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        a, b = image_pairs(run.y_test, len(run.x_test), self.pairs)
        return interpolation_figure(run.model, run.x_test[a], run.x_test[b]), {"pairs": len(a)}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        return (f"For {facts['pairs']} pairs of test images{' of different classes' if run.y_test is not None else ''}, "
                f"the upper row decodes codes on the straight line between the two codes, (1 − t) h_a + t h_b, and the "
                f"lower row blends the pixels, (1 − t) x_a + t x_b. The pixel blend fades one image into the other "
                f"through double exposures; a decoder with a good code passes through images that look like real data "
                f"instead. The end points of the upper row are the reconstructions of the two images, not the images.")


@register("figure", "prior_samples")
class PriorSamplesFigure(ReportFigure):
    title = "Samples from the prior"
    order = 70
    samples = 64

    def applies(self, run: RunAnalysis) -> str | None:
        if not_images(run):
            return not_images(run)
        if run.variational:
            return None
        return "only a variational model (model.variational: true) has a prior to sample from."

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        return prior_samples_figure(run.model, self.samples, seed=SEED), {}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        return (f"{self.samples} new images, each the decoding of a code drawn from the prior N(0, I) (seed {SEED}): "
                f"what a variational autoencoder is trained to make possible. Look for samples that resemble the "
                f"training data; blur is typical of a pixel-wise decoder, but shapeless samples mean the posterior codes "
                f"do not fill the prior (a KL term too weak) or the model has not trained enough.")


__all__ = ["manifold_figure", "traversal_figure", "interpolation_figure", "prior_samples_figure",
           "dimensions_by_spread", "dimensions_by_effect", "decoded_change", "sweep_values", "typical_code",
           "image_pairs", "ManifoldFigure", "TraversalsFigure",
           "InterpolationsFigure", "PriorSamplesFigure"]
