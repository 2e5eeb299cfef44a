"""Denoising: corrupted test inputs and what the model makes of them, at several noise levels, with PSNR.

A denoising autoencoder (Vincent et al., ICML 2008; JMLR 2010) learns to map a corrupted x̃ back
toward the clean x — onto the data manifold it has learned. Each noise level gets two rows, the
corrupted inputs and their reconstructions; the right panel gives the PSNR against the clean images
of both (PSNR = 10 log10(R² / MSE) dB per image, averaged, :func:`aekit.analysis.metrics.psnr`):
the model helps where the reconstruction's PSNR is above the corrupted input's. An image that a
corruption happens to leave unchanged (sparse masking of a small image can) has an infinite PSNR; it
is left out of that level's mean, and counted in ``unchanged``.

In the report the figure applies to a run trained on corrupted inputs, and shows its first corruption
at half, equal to and double the trained level (:func:`corruption_levels`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from aekit.analysis.metrics import psnr
from aekit.analysis.run_analysis import SEED, RunAnalysis
from aekit.data.corruption import Compose, build_corruption
from aekit.registry import get, register
from aekit.viz._common import as_images, data_limits, labelled_rows, new_figure, numpy, reconstruct
from aekit.viz.figure import ReportFigure, not_images

Corruption = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _mean_db(values: np.ndarray) -> float:
    """Mean of per-image PSNRs over the finite ones (an unchanged image scores +inf)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("inf")


def denoising_curves(model: torch.nn.Module, x: np.ndarray, make_corruption: Callable[[float], Corruption],
                     levels: Sequence[float], seed: int = 0) -> dict[str, np.ndarray]:
    """Corrupted inputs, reconstructions and mean PSNRs at each level: ``{"x_tilde": (L, n, ...),
    "x_hat": (L, n, ...), "psnr_noisy": (L,), "psnr_denoised": (L,), "psnr_clean": float, "unchanged": (L,)}``;
    ``unchanged`` counts the images each corruption left as they were (left out of ``psnr_noisy``)."""
    x = numpy(x)
    low, high = float(x.min()), float(x.max())
    data_range = 1.0 if low >= 0 and high <= 1 else max(high - low, 1e-12)
    x_t = torch.from_numpy(x)
    noisy, denoised, p_noisy, p_denoised, unchanged = [], [], [], [], []
    for i, level in enumerate(levels):
        x_tilde = numpy(make_corruption(level)(x_t, torch.Generator().manual_seed(seed + i)))
        x_hat = reconstruct(model, x_tilde)
        noisy.append(x_tilde)
        denoised.append(x_hat)
        scores = psnr(x_tilde, x, data_range)  # (n,) dB
        p_noisy.append(_mean_db(scores))
        unchanged.append(int(np.isinf(scores).sum()))
        p_denoised.append(_mean_db(psnr(x_hat, x, data_range)))
    clean = _mean_db(psnr(reconstruct(model, x), x, data_range))
    return {"x_tilde": np.stack(noisy), "x_hat": np.stack(denoised), "psnr_noisy": np.array(p_noisy),
            "psnr_denoised": np.array(p_denoised), "psnr_clean": clean, "unchanged": np.array(unchanged)}


def denoising_figure(model: torch.nn.Module, x: np.ndarray, make_corruption: Callable[[float], Corruption],
                     levels: Sequence[float], name: str = "noise level", n_show: int = 6, seed: int = 0) -> Figure:
    """Left: clean inputs, then per level the corrupted inputs and their reconstructions (first ``n_show``
    rows of ``x``); right: mean PSNR over all of ``x`` of corrupted and reconstructed inputs per level."""
    x = numpy(x)
    curves = denoising_curves(model, x, make_corruption, levels, seed)
    shape = model.sample_shape
    n_show = min(n_show, len(x))
    rows = [as_images(x[:n_show], shape)]
    labels = ["clean x"]
    for i, level in enumerate(levels):
        rows.append(as_images(curves["x_tilde"][i, :n_show], shape))
        labels.append(f"{name} {level:g}: x̃ ({curves['psnr_noisy'][i]:.1f} dB)")
        rows.append(as_images(curves["x_hat"][i, :n_show], shape))
        labels.append(f"reconstructed ({curves['psnr_denoised'][i]:.1f} dB)")
    fig = new_figure(12.0, 0.62 * len(rows) + 1.2)
    ax_img = fig.add_axes((0.25, 0.1, 0.35, 0.8))
    labelled_rows(ax_img, rows, labels, data_limits(x))
    ax_img.set_title("corrupted test inputs and their reconstructions", fontsize=10)
    ax_plot = fig.add_axes((0.7, 0.18, 0.28, 0.7))
    ax_plot.plot(levels, curves["psnr_noisy"], "o--", color="tab:red", label="corrupted x̃")
    ax_plot.plot(levels, curves["psnr_denoised"], "o-", color="tab:blue", label="reconstruction of x̃")
    ax_plot.axhline(curves["psnr_clean"], color="gray", linestyle=":", label="reconstruction of clean x")
    ax_plot.set_xlabel(name)
    ax_plot.set_ylabel("PSNR against clean x (dB)")
    ax_plot.set_title(f"PSNR, mean over {len(x)} test images", fontsize=10)
    ax_plot.legend(fontsize=8)
    ax_plot.grid(alpha=0.3)
    return fig


def corruption_levels(corruption: Mapping[str, Any]) -> tuple[str, str, float, list[float], Callable[[float], Compose]]:
    """A run's first corruption (``corruption`` is its config section): its name, its level field, the
    trained level, the levels to show (half, equal to and double the trained one, capped by the field's
    range) and a builder per level. Any further corruptions of the run are applied unchanged after it."""
    items = list(corruption.items())
    name, spec = items[0]
    level_field = dataclasses.fields(get("corruption", name))[0]
    spec = dict(spec) if isinstance(spec, dict) else {level_field.name: spec}
    base = float(spec.get(level_field.name, level_field.default))
    constraint = level_field.metadata.get("constraint")
    high = getattr(constraint, "high", None)
    levels = sorted({round(min(base * factor, high) if high is not None else base * factor, 6) for factor in (0.5, 1, 2)})
    levels = [level for level in levels if level > 0] or [0.1, 0.25, 0.5]
    integral = getattr(constraint, "type", None) is int  # e.g. shift.pixels: half of 1 pixel is no level
    if integral:
        levels = sorted({max(1, round(level)) for level in levels})

    def make(level: float) -> Compose:
        value = int(level) if integral else float(level)
        return build_corruption({name: {**spec, level_field.name: value}, **dict(items[1:])})

    return name, level_field.name, base, levels, make


@register("figure", "denoising")
class DenoisingFigure(ReportFigure):
    title = "Denoising at several noise levels"
    order = 110

    def applies(self, run: RunAnalysis) -> str | None:
        if not_images(run):
            return not_images(run)
        if run.corruption is not None:
            return None
        return "the run was not trained on corrupted inputs (no corruption section)."

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        name, level_name, base, levels, make = corruption_levels(run.config.corruption)
        fig = denoising_figure(run.model, run.x_test, make, levels, name=f"{name} {level_name}", seed=SEED)
        return fig, {"name": name, "level_name": level_name, "base": base, "levels": levels}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        name, level_name, base = facts["name"], facts["level_name"], facts["base"]
        levels_text = ", ".join(f"{level:g}" for level in facts["levels"])
        return (f"The run was trained to undo {name} noise ({level_name} {base:g}). Here all {len(run.x_test)} test "
                f"images are corrupted with {level_name} {levels_text} — half, equal to and double the training level, "
                f"capped by what the corruption allows — and passed through the model. Left: for six images, each "
                f"level's corrupted inputs x̃ and their reconstructions, with the mean PSNR. Right: the PSNR "
                f"(peak signal-to-noise ratio against the clean images, in dB; higher is better) of the corrupted "
                f"inputs (dashed) and of their reconstructions (solid); the dotted line is the reconstruction of clean "
                f"inputs, the best the model does. The model denoises where the solid line is above the dashed one. (An "
                f"image that a corruption happens to leave unchanged has an infinite PSNR and is left out of that mean.)")


__all__ = ["denoising_figure", "denoising_curves", "corruption_levels", "DenoisingFigure"]
