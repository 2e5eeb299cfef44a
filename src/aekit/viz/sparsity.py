"""Sparsity of the code: how often units are (near) silent, and each unit's mean activation.

A sparse autoencoder (L1 on h: Ranzato et al., NIPS 2007; KL to a target rho: Ng, CS294A notes
2011) should have most code entries near 0 and each unit active on few inputs. The histogram shows
the first, the per-unit means rho_hat_j (against the target rho of the KL penalty) the second.
Statistics come from :func:`aekit.analysis.metrics.sparsity_stats`.

In the report the figure applies when an objective of the run declares ``sparse_code`` and the code
activation can reach 0; an objective's ``target`` (kl_sparsity's rho) is drawn on the right.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from aekit.analysis.metrics import NEAR_ZERO, sparsity_stats
from aekit.analysis.run_analysis import RunAnalysis
from aekit.registry import get, register
from aekit.viz._common import new_figure, numpy
from aekit.viz.figure import ReportFigure, declaring, registered_declaring


def sparsity_figure(h: np.ndarray, target: float | None = None, threshold: float = NEAR_ZERO) -> Figure:
    """Left: histogram of every code entry of ``h`` (n, k), log counts; right: mean activation per unit,
    with the target rho as a line when one is given."""
    h = numpy(h)
    stats = sparsity_stats(h, threshold)
    fig = new_figure(11.0, 3.8)
    ax_hist, ax_units = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.15, wspace=0.28)
    ax_hist.hist(h.ravel(), bins=60, color="tab:blue", log=True)
    for edge in (-threshold, threshold) if h.min() < 0 else (threshold,):
        ax_hist.axvline(edge, color="tab:red", linestyle=":", linewidth=1)
    ax_hist.set_xlabel("code activation h_j")
    ax_hist.set_ylabel("count (log scale)")
    ax_hist.set_title(f"all {h.size:,} code entries: {100 * stats.near_zero_fraction:.1f} % with |h| < {threshold:g}",
                      fontsize=10)
    units = np.arange(1, h.shape[1] + 1)
    ax_units.bar(units, stats.per_unit_mean, color="tab:blue", width=0.8, label="mean activation")
    if target is not None:
        ax_units.axhline(target, color="tab:red", linestyle="--", label=f"target rho = {target:g}")
    ax_units.axhline(stats.mean_activation, color="black", linewidth=0.8,
                     label=f"mean over units {stats.mean_activation:.3g}")
    ax_units.set_xlabel("code unit j")
    ax_units.set_ylabel("mean activation rho_hat_j")
    ax_units.set_title("mean activation of each unit over the test set", fontsize=10)
    ax_units.legend(fontsize=8)
    return fig


@register("figure", "sparsity")
class SparsityFigure(ReportFigure):
    title = "Sparsity of the code"
    order = 90

    def applies(self, run: RunAnalysis) -> str | None:
        if not declaring(run, "sparse_code"):
            names = " or ".join(registered_declaring("sparse_code")) or "none is registered"
            return f"the run has no sparsity penalty (penalties: {names})."
        name = getattr(run.model.config, "code_activation", None)
        if isinstance(name, str):
            low, high = get("activation", name).range
            if not low <= 0.0 <= high:
                return (f"its code activation {name!r} has outputs in ({low:g}, {high:g}), away from 0: no code "
                        f"entry can be near zero, so sparsity means nothing for this code.")
        return None

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        targets = [o.target for o in declaring(run, "sparse_code") if getattr(o, "target", None) is not None]
        target = float(targets[0]) if targets else None
        facts = {"target": target, "near_zero": sparsity_stats(run.h_test).near_zero_fraction}
        return sparsity_figure(run.h_test, target=target), facts

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        target = facts.get("target")
        target_text = (f", with the KL penalty's target ρ = {target:g} as a dashed line: the bars should sit near it"
                       if target is not None else "")
        return (f"Left: a histogram of every code entry over the {len(run.x_test)} test images (log counts); the red "
                f"dotted line marks |h| = {NEAR_ZERO:g}, below which an entry counts as near zero "
                f"({100 * facts['near_zero']:.1f} % here). A sparse code has a tall spike at 0 and a thin tail: each "
                f"input is described by a few active units. Right: each unit's mean activation over the test "
                f"images{target_text}. A bar at 0 is a unit that is never active (a dead unit); with an L1 penalty on a "
                f"linear code, activations of both signs are pushed toward 0.")


__all__ = ["sparsity_figure", "SparsityFigure"]
