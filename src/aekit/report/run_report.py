"""The report of one run: the metrics table and every figure that applies, in one self-contained
``report.html`` (and each figure as ``figures/<key>.png``), explained for a newcomer.

"Write visualisation code for every step of your pipeline, as if explaining the algorithm to a
newcomer — it is how you debug." Which figures a run gets is each figure's own decision: every figure
registered under ``"figure"`` (:mod:`aekit.viz`, :class:`~aekit.viz.figure.ReportFigure`) says whether
it applies to the run and, if not, why. A figure that does not apply (prior samples of a deterministic
model, say) is left out, and the report lists what was left out and why, so it never shows or says
anything that does not hold for this run. This module gathers the run
(:func:`~aekit.analysis.run_analysis.load_run_analysis`), computes the metrics
(:func:`~aekit.analysis.run_metrics.compute_metrics`), asks the registry, draws and renders.

Cost: the report of a default MNIST-5k run builds in well under 30 s on two cores; the expensive steps
work on seeded subsamples, stated in the captions (t-SNE and neighbourhood scores: up to 1,000 test
points; Jacobians: 100; importance-sampled NLL: 500 points, 200 samples; PCA and probes: up to
5,000 training rows).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aekit import config as cfg
from aekit.analysis.embedding import DEFAULT_BACKEND
from aekit.analysis.pca import is_linear
from aekit.analysis.run_analysis import SEED, RunAnalysis, load_run_analysis
from aekit.analysis.run_metrics import Metrics, compute_metrics
from aekit.errors import AekitError
from aekit.io import atomic_write_bytes, atomic_write_text, inside
from aekit.models.config import own_fields
from aekit.report.html import FigureEntry, escape, figure, page, table
from aekit.training.run_folder import read_finetuned
from aekit.training.trainer import stop_reason_text
from aekit.viz import png_bytes, report_figures
from aekit.viz.losses import splits_of
from aekit.viz.pipeline import corruption_text

logger = logging.getLogger(__name__)


# -- which figures apply -------------------------------------------------------------------------
def figure_titles() -> dict[str, str]:
    """Every figure a report can hold, in page order: file stem (its registered key) and heading."""
    return {key: fig.title for key, fig in report_figures().items()}


def _why(error: Exception) -> str:
    return str(error) if isinstance(error, AekitError) else f"{type(error).__name__}: {error}"


def applicable(data: RunAnalysis, failed: dict[str, str] | None = None) -> dict[str, str | None]:
    """Each figure key mapped to None when it applies to this run, else to the reason it does not.

    A figure whose ``applies`` raises is left out of the answer, and why is put in ``failed`` (when
    given): a valid run always gets its report."""
    reasons: dict[str, str | None] = {}
    for key, fig in report_figures().items():
        try:
            reasons[key] = fig.applies(data)
        except Exception as error:
            logger.warning("report of %s: figure %r could not tell whether it applies (%s)", data.run_dir, key,
                           _why(error), exc_info=not isinstance(error, AekitError))
            if failed is not None:
                failed[key] = _why(error)
    return reasons


def expected_figures(data: RunAnalysis) -> list[str]:
    """The keys of the figures this run's report holds, in page order."""
    return [key for key, reason in applicable(data).items() if reason is None]


# -- building the report -------------------------------------------------------------------------
@dataclass
class Report:
    """What :func:`build_report` wrote: the page, the figure files, the metrics, the build time (and
    its parts: loading the run and its data, the metrics table, each figure)."""

    path: Path
    figures: dict[str, Path | None]  # key -> its PNG file in the run's figures/ (None: in the page only, --out)
    skipped: dict[str, str]
    metrics: Metrics
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # figures that apply but could not be drawn: why


def make_figures(data: RunAnalysis, keys: list[str], timings: dict[str, float] | None = None,
                 failed: dict[str, str] | None = None) -> list[FigureEntry]:
    """Draw each figure in ``keys`` and caption it; returns the entries in page order (and the seconds
    each took in ``timings``, when given). A figure that cannot be drawn is left out, and why is put
    in ``failed`` (when given) for the page to say."""
    figures = report_figures()
    entries = []
    for key in keys:
        start = time.perf_counter()
        fig = figures[key]
        try:
            drawn, facts = fig.draw(data)
            entry = FigureEntry(key, fig.title, fig.caption(data, facts), png_bytes(drawn))
        except Exception as error:  # a valid run always gets its report: the figure is left out, with why
            logger.warning("report of %s: figure %r could not be drawn (%s)", data.run_dir, key, _why(error),
                           exc_info=not isinstance(error, AekitError))
            if failed is not None:
                failed[key] = _why(error)
            continue
        entries.append(entry)
        if timings is not None:
            timings[key] = time.perf_counter() - start
        logger.debug("figure %s: %.2f s", key, time.perf_counter() - start)
    return entries


def _finetune_rows(run_dir: Path) -> list[list[str]]:
    """One row per fine-tuned classifier found in the run folder (``aekit finetune`` writes them there); a
    folder whose files cannot be read is left out, with why (one line) in the log."""
    rows = []
    for path in sorted(run_dir.glob("*/summary.json")):
        if path.parent.is_symlink():  # never read out of the run folder
            continue
        try:
            found = read_finetuned(path.parent)
        except AekitError as error:
            logger.warning("report of %s: %s is left out of the fine-tuned classifiers: %s", run_dir, path.parent.name,
                           error)
            continue
        if found is not None:
            summary, head_kind = found
            rows.append([path.parent.name, str(summary["labels"]), head_kind, f"{summary['accuracy']:.4f}",
                         f"{summary['error']:.4f}"])
    return rows


def _kind_settings(m: Any) -> str:
    """The settings of the encoder's own kind, e.g. ``hidden [512]`` (mlp, tied ones add ``tied``) or
    ``channels [16, 32], kernel size 3`` (conv), read from the config instead of known per kind."""
    parts = []
    for name in own_fields(m):
        value = getattr(m, name)
        if isinstance(value, bool):
            parts += [name.replace("_", " ")] if value else []
        else:
            parts.append(f"{name.replace('_', ' ')} {list(value) if isinstance(value, (list, tuple)) else value}")
    return ", ".join(parts)


def _summary_rows(data: RunAnalysis) -> list[tuple[str, str]]:
    config, model = data.config, data.model
    m = model.config
    parts = (m.kind, _kind_settings(m), f"code size {m.code_size}", f"activation {m.activation}",
             f"code activation {m.code_activation}", f"output {model.output}", "variational" if data.variational else "")
    arch = ", ".join(part for part in parts if part)
    penalties = ", ".join(f"{k}: {v}" for k, v in config.penalties.items()) or "none"
    if data.variational and "kl" not in config.penalties:
        penalties = (penalties + ", " if config.penalties else "") + "kl: 1.0 (added for the variational model)"
    n_params = sum(p.numel() for p in model.parameters())
    summary = data.summary
    epochs = summary.get("epochs", len(data.history))
    best = summary.get("best_epoch")
    stopped = stop_reason_text(summary.get("stop_reason"), config.train, validation="val" in splits_of(data.history))
    lr = data.history[0]["lr"] if data.history else config.train.lr
    lr = lr if isinstance(lr, str) else f"{lr:g}"  # 'auto' until an epoch has run
    return [
        ("data", f"{config.data.name}: {data.n_train} train, {summary.get('n_val', '?')} validation, "
                 f"{len(data.x_test)} test rows (split seed {config.data.split_seed})"),
        ("model", f"{arch}; {n_params:,} parameters"),
        ("loss", f"reconstruction {config.loss.reconstruction}; penalties {penalties}"),
        ("corruption", corruption_text(config.corruption) if config.corruption else "none"),
        ("training", f"{epochs} epoch(s){f', best validation epoch {best}' if best else ''}, batch "
                     f"{config.train.batch_size}, {config.train.optimizer} lr {lr}, seed {config.seed}"
                     f"{'; stopped: ' + stopped if stopped else ''}"),
    ]


def scaling_note(data: RunAnalysis) -> str | None:
    """What the report says of the data's scale: how a rescaled run's features were scaled, or that features far
    from unit scale went in as they are (their squared error then weighs the largest features only)."""
    rescaling = data.rescaling
    if rescaling is not None:
        how = ("standardised on the training rows (data.rescale: standard): errors are in standard deviations of "
               "each feature" if rescaling.kind == "standard" else
               "rescaled to [0, 1] by their training range (data.rescale: minmax): errors are in fractions of it")
        back = ("; <code>aekit reconstruct</code> gives values back in the table's own units" if not data.images
                else "")
        return f"The {data.feature_word}s were {how}{back}."
    flat = data.x_train.reshape(len(data.x_train), -1)
    sd = flat.std(axis=0)
    spread = sd[sd > 0]
    if not spread.size:
        return None
    far = float(spread.max()) > 10 or float(spread.max()) > 100 * float(spread.min()) or float(
        np.abs(flat.mean(axis=0)).max()) > 100
    if not far:
        return None
    return (f"The {data.feature_word}s are <b>far from unit scale</b> (standard deviations from {spread.min():.3g} to "
            f"{spread.max():.3g}) and went in as they are (data.rescale: none): the squared error is dominated by the "
            f"largest {data.feature_word}s. <code>data.rescale: standard</code> (what the default, auto, chooses for "
            f"such data) weighs every {data.feature_word} alike.")


def in_short(data: RunAnalysis, metrics: Metrics, n_components: int) -> list[str]:
    """The report's first words: did training converge, and does the model beat PCA? Each shortfall
    comes with what to try."""
    notes, summary = [], data.summary
    epochs, best = summary.get("epochs", len(data.history)), summary.get("best_epoch")
    run = data.run_dir
    unfinished = summary.get("stop_reason") == "budget" or (summary.get("stop_reason") == "completed" and best == epochs)
    first = "Train it to convergence first (above); then try" if unfinished else "Try"
    if summary.get("stop_reason") == "budget":
        notes.append(f"Training stopped on its budget of {epochs} epochs while the validation loss was still "
                     f"improving: the model has not converged. Continue it with "
                     f"<code>aekit train --resume {escape(run)} --epochs {2 * epochs}</code>.")
    elif summary.get("stop_reason") == "completed" and best == epochs and epochs > 1:
        notes.append(f"Training ran its fixed {epochs} epochs and the last was the best: it was probably still "
                     f"improving. Let it decide its length with <code>train.epochs: auto</code> (the default).")
    elif summary.get("stop_reason") == "converged":
        notes.append(f"Training converged after {epochs} epochs: the validation loss stopped improving, and the "
                     f"model keeps the weights of epoch {best}, its best.")
    scale = scaling_note(data)
    if scale is not None:
        notes.append(scale)
    sample = data.sample_word
    ours, pca = metrics.values.get("recon_per_image"), metrics.baselines.get("recon_per_image")
    linear = is_linear(data.model)
    if ours is not None and pca is not None:
        ratio = ours / pca
        if linear:
            notes.append(f"A linear autoencoder can at best match PCA with {n_components} components: its "
                         f"reconstruction error is {ratio:.3f}× PCA's ({ours:.4g} against {pca:.4g} per sample)."
                         + (" Train it to convergence (epochs: auto) to close the gap." if ratio > 1.01 else ""))
        elif ratio > 1:
            notes.append(f"This model reconstructs <b>worse than PCA</b> with {n_components} components: "
                         f"{ours:.4g} against {pca:.4g} per sample ({ratio:.2f}×). {first} a wider hidden layer, "
                         f"weight decay or "
                         f"<code>corruption.masking: 0.1</code> when the training set is small (a validation loss "
                         f"far above the training loss in the loss curves means it memorised), or a larger code.")
        else:
            notes.append(f"This model reconstructs better than PCA with {n_components} components: {ours:.4g} "
                         f"against {pca:.4g} per sample ({ratio:.2f}×).")
    ours, pca = metrics.values.get("probe"), metrics.baselines.get("probe")
    if ours is not None and pca is not None and not linear:
        if ours < pca:
            notes.append(f"Its codes are <b>worse features than PCA's</b> for a linear probe ({ours:.3f} against "
                         f"{pca:.3f} accuracy): {first.lower()} denoising (<code>corruption.masking: 0.25</code>"
                         + (", <code>corruption.shift: 2</code> for images" if data.images else "")
                         + ") or a larger code.")
        else:
            notes.append(f"Its codes are at least as good features as PCA's for a linear probe ({ours:.3f} against "
                         f"{pca:.3f} accuracy).")
    ours, pca = metrics.values.get("one_nn"), metrics.baselines.get("one_nn")
    if ours is not None and pca is not None and not linear:
        if ours < pca:
            notes.append(f"Its codes <b>separate the classes less well than PCA's</b> for nearest neighbours: a test "
                         f"{sample}'s nearest other test {sample} in code space shares its label {ours:.3f} of the time, "
                         f"against {pca:.3f} with PCA codes (1-NN accuracy, the code-space figure). Distances in "
                         f"this code mix the classes: {first.lower()} denoising or a larger code.")
        else:
            notes.append(f"Its codes separate the classes at least as well as PCA's for nearest neighbours (1-NN "
                         f"accuracy {ours:.3f} against {pca:.3f}).")
    return notes


def build_report(run_dir: str | Path, out: str | Path | None = None, *, tsne_backend: str = DEFAULT_BACKEND,
                 n_jobs: int = 1) -> Report:
    """Write ``report.html`` for the run in ``run_dir`` and each figure to ``figures/<key>.png``; with ``out``,
    write that one self-contained HTML file only (figures embedded), leaving the run folder untouched.

    ``n_jobs`` caps the threads of the numerical libraries (BLAS, OpenMP: scikit-learn, SciPy, openTSNE)
    while the report is built, restored afterwards. One is the default: on a small shared machine,
    more threads than free cores make scikit-learn's probe 30x slower (10 s instead of 0.3 s measured
    on two busy cores), while one thread loses little.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_jobs):
        return _build_report(run_dir, out, tsne_backend=tsne_backend, n_jobs=n_jobs)


def _build_report(run_dir: str | Path, out: str | Path | None, *, tsne_backend: str, n_jobs: int) -> Report:
    start = time.perf_counter()
    timings: dict[str, float] = {}
    data = load_run_analysis(run_dir, tsne_backend=tsne_backend, n_jobs=n_jobs)
    timings["load run and data"] = time.perf_counter() - start
    run_dir = data.run_dir
    # the run's own report also writes each figure as figures/<key>.png; a report sent elsewhere (--out) is that
    # one self-contained file, and the run folder is left as it is (it may be read-only, or someone else's)
    figures_dir = inside(run_dir, "figures") if out is None else None
    out = Path(out) if out is not None else run_dir / "report.html"
    failed: dict[str, str] = {}
    reasons = applicable(data, failed)
    keys = [key for key, reason in reasons.items() if reason is None]
    metrics = compute_metrics(data)  # the codes and the PCA baseline are computed here, once
    timings["codes, PCA, metrics"] = time.perf_counter() - start - timings["load run and data"]
    entries = make_figures(data, keys, timings, failed)
    paths: dict[str, Path | None] = {}
    for entry in entries:
        paths[entry.key] = None if figures_dir is None else figures_dir / f"{entry.key}.png"
        if figures_dir is not None:
            atomic_write_bytes(figures_dir / f"{entry.key}.png", entry.png)
    seconds = time.perf_counter() - start
    skipped = {key: reason for key, reason in reasons.items() if reason is not None}
    explorer = run_dir / "explore.html"  # aekit explore writes it; linked when it is there
    href = os.path.relpath(explorer, out.parent) if explorer.is_file() else None
    atomic_write_text(out, render(data, entries, metrics, skipped, seconds, data.n_components, failed, figures_dir,
                                  explorer=href))
    return Report(out, paths, skipped, metrics, time.perf_counter() - start, timings, failed)


def explorer_note(run_dir: Path, href: str | None) -> str:
    """A link to the run's latent explorer page (``href``, relative to the report), or how to write one."""
    if href is not None:
        return (f'<p>Move through this model\'s code space and watch the decoder answer: <a href="{escape(href)}">the '
                f"latent explorer</a> (one interactive page; the decoder runs in it).</p>")
    return (f'<p class="note">To move through this model\'s code space and watch the decoder answer, run '
            f"<code>aekit explore {escape(run_dir)}</code>: it writes <code>explore.html</code> into the run folder, and "
            f"the report links to it when it is built again.</p>")


def skipped_items(skipped: dict[str, str], titles: dict[str, str]) -> str:
    """One list item per reason: figures left out for the same reason (a table's image figures) share a line."""
    by_reason: dict[str, list[str]] = {}
    for key, reason in skipped.items():
        by_reason.setdefault(reason, []).append(titles.get(key, key))
    items = []
    for reason, names in by_reason.items():
        named = f"<b>{escape(names[0])}</b>" if len(names) == 1 else (
            f"<b>{len(names)} figures</b> ({escape(', '.join(names))})")
        items.append(f"<li>{named}: not shown, because {escape(reason)}</li>")
    return "".join(items)


def render(data: RunAnalysis, entries: list[FigureEntry], metrics: Metrics, skipped: dict[str, str], seconds: float,
           n_components: int, failed: dict[str, str] | None = None, figures_dir: Path | None = None, *,
           explorer: str | None = None) -> str:
    """The HTML of a run's report; ``explorer``: the link to the run's explorer page, when there is one."""
    name = data.run_dir.name
    titles = figure_titles()
    parts = [f"<h1>Run {escape(name)}</h1>",
             f'<p class="subtitle">aekit report of <code>{escape(data.run_dir)}</code>: every step of the pipeline, '
             f"drawn on the test split the run never trained on.</p>",
             table(None, _summary_rows(data)),
             "<h2>In short</h2>",
             "<ul>" + "".join(f"<li>{note}</li>" for note in in_short(data, metrics, n_components)) + "</ul>",
             "<h2>Metrics on the test split</h2>",
             table(["metric", "this model", f"PCA, {n_components} components", "what it is"],
                   metrics.rows, numeric=(1, 2)),
             '<p class="note">The PCA column is the linear baseline with as many components as the code has, '
             "fitted on the training split: a useful autoencoder should beat it on reconstruction, and its codes "
             "should be at least as good for a probe.</p>",
             "<h2>Figures</h2>", explorer_note(data.run_dir, explorer)]
    parts += [figure(entry) for entry in entries]
    finetuned = _finetune_rows(data.run_dir)
    if finetuned:
        parts += ["<h2>Classifiers fine-tuned from this encoder</h2>",
                  table(["folder", "labels", "head", "test accuracy", "test error"], finetuned, numeric=(1, 3, 4)),
                  '<p class="note">Each row is an <code>aekit finetune</code> of this run: the decoder dropped, a head '
                  "attached and trained on that many labels, the encoder frozen first, then fine-tuned end to end; "
                  "scored on the same test split as above.</p>"]
    if failed:
        items = "".join(f"<li><b>{escape(titles.get(key, key))}</b>: left out, because it could not be drawn: "
                        f"{escape(reason)}</li>" for key, reason in failed.items())
        parts.append(f"<h2>Figures that could not be drawn</h2><ul>{items}</ul>")
    if skipped:
        parts.append(f"<h2>Figures that do not apply to this run</h2><ul>{skipped_items(skipped, titles)}</ul>")
    config_yaml = _yaml(cfg.to_dict(data.config))
    parts.append(f"<h2>Configuration</h2><details><summary>config.yaml of this run</summary>"
                 f"<pre>{escape(config_yaml)}</pre></details>")
    also = f" Figures are also in <code>{escape(figures_dir)}</code>." if figures_dir is not None else ""
    parts.append(f'<p class="note">Built by aekit in {seconds:.1f} s.{also}</p>')
    return page(f"aekit report: {name}", "\n".join(parts))


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


__all__ = ["build_report", "Report", "scaling_note", "RunAnalysis", "load_run_analysis", "applicable", "expected_figures", "figure_titles",
           "make_figures", "compute_metrics", "Metrics", "in_short", "render", "SEED"]
