"""Sparsity of the code: how often units are (near) silent, and each unit's mean activation.

A sparse autoencoder (L1 on h: Ranzato et al., NIPS 2007; KL to a target rho: Ng, CS294A notes
2011) should have most code entries near 0 and each unit active on few inputs. The histogram shows
the first, the per-unit means rho_hat_j (against the target rho of the KL penalty) the second.
Statistics come from :func:`aekit.analysis.metrics.sparsity_stats`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from aekit.analysis.metrics import NEAR_ZERO, sparsity_stats
from aekit.viz._common import new_figure, numpy


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


__all__ = ["sparsity_figure"]
