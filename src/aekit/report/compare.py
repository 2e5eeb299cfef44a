"""Several runs side by side in one self-contained page: the metrics table with one column per run, the
same test inputs through each model, and the validation curves overlaid.

Runs trained on different data (another data set, split or rescaling) are still listed in the table;
the reconstruction figure shows only the runs whose test inputs are the first run's, and says which
it left out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from aekit import config as cfg
from aekit.analysis.run_analysis import RunAnalysis, load_run_analysis
from aekit.analysis.run_metrics import compute_metrics
from aekit.errors import ConfigError
from aekit.io import atomic_write_text
from aekit.report.html import FigureEntry, escape, figure, page, table
from aekit.viz import reconstructions_figure, validation_curves_figure
from aekit.viz._common import png_bytes, reconstruct

N_INPUTS = 10  # test inputs shown through every run


def _label(data: RunAnalysis, names: list[str]) -> str:
    """The run folder's name, made unique among ``names`` with its parent folder when needed."""
    name = data.run_dir.name
    return name if name not in names else f"{data.run_dir.parent.name}/{name}"


def _same_inputs(a: RunAnalysis, b: RunAnalysis) -> bool:
    keys = ("name", "label_column", "val_fraction", "test_fraction", "split_seed", "rescale", "limit")
    return (all(getattr(a.config.data, k) == getattr(b.config.data, k) for k in keys)
            and tuple(a.model.sample_shape) == tuple(b.model.sample_shape))


def compare_runs(run_dirs: Sequence[str | Path], out: str | Path | None = None) -> Path:
    """Write a comparison page of ``run_dirs`` (two or more) to ``out`` (default: ``comparison.html``
    in the first run's parent folder) and return its path."""
    if len(run_dirs) < 2:
        raise ConfigError(f"Comparing runs needs at least two run folders; got {len(run_dirs)}. "
                          f"For one run use build_report (aekit report RUN).")
    start = time.perf_counter()
    runs: list[RunAnalysis] = []
    labels: list[str] = []
    for run_dir in run_dirs:
        data = load_run_analysis(run_dir)
        labels.append(_label(data, labels))
        runs.append(data)
    out = Path(out) if out is not None else runs[0].run_dir.parent / "comparison.html"
    columns: dict[str, dict[str, str]] = {}
    order: list[str] = []
    for data, label in zip(runs, labels):
        metrics = compute_metrics(data)
        m = data.model.config
        rows = [("data", data.config.data.name), ("model", f"{m.kind} code {m.code_size}"
                 f"{', variational' if getattr(m, 'variational', False) else ''}"),
                ("penalties", ", ".join(f"{k}: {v}" for k, v in data.config.penalties.items()) or "none"),
                ("corruption", ", ".join(f"{k}: {v}" for k, v in data.config.corruption.items()) or "none"),
                ("epochs", str(data.summary.get("epochs", len(data.history))))]
        rows += [(name, ours) for name, ours, _, _ in metrics.rows]
        columns[label] = dict(rows)
        order += [name for name, _ in rows if name not in order]
    table_rows = [[name, *(columns[label].get(name, "—") for label in labels)] for name in order]

    first = runs[0]
    x = first.x_test[: min(N_INPUTS, len(first.x_test))]
    shown = {label: reconstruct(data.model, x) for data, label in zip(runs, labels) if _same_inputs(first, data)}
    left_out = [label for data, label in zip(runs, labels) if not _same_inputs(first, data)]
    entries = [
        FigureEntry("reconstructions", "The same test inputs through each run",
                    f"The first row is {len(x)} test images of {first.config.data.name} (the first of the test split); "
                    f"each further row is one run's reconstructions of them, labelled with its mean squared error per "
                    f"image over the row. Compare what each model keeps of each input (for digits: strokes, thickness, "
                    f"which digit it is)."
                    + (f" Not shown, because they were trained on other data or splits: {', '.join(left_out)}."
                       if left_out else ""),
                    png_bytes(reconstructions_figure(x, shown, first.model.sample_shape))),
        FigureEntry("validation", "Validation curves of every run",
                    "Each run's validation reconstruction term and total loss per epoch (per sample, as the trainer "
                    "logged them; the legend gives each run's reconstruction loss). Runs with penalties have a total "
                    "loss above their reconstruction term. Cross-entropy (bce, in nats) and squared error (mse) are "
                    "on different scales: compare such runs by the reconstruction error in the metrics table, and "
                    "use the curves to see where each run's training flattens.",
                    png_bytes(validation_curves_figure({f"{label} ({data.config.loss.reconstruction})": data.history
                                                        for data, label in zip(runs, labels)}))),
    ]
    links = "".join(f'<li><b>{escape(label)}</b>: <code>{escape(data.run_dir)}</code></li>'
                    for data, label in zip(runs, labels))
    body = "\n".join([
        f"<h1>Comparison of {len(runs)} runs</h1>",
        '<p class="subtitle">Metrics on each run\'s test split, and the same test inputs through each model.</p>',
        f"<ul>{links}</ul>",
        "<h2>Metrics</h2>",
        table(["", *labels], table_rows, numeric=tuple(range(1, len(labels) + 1))),
        "<h2>Figures</h2>",
        *(figure(entry) for entry in entries),
        "<h2>Configurations</h2>",
        *(f"<details><summary>{escape(label)}</summary><pre>{escape(_yaml(cfg.to_dict(data.config)))}</pre></details>"
          for data, label in zip(runs, labels)),
        f'<p class="note">Built by aekit in {time.perf_counter() - start:.1f} s.</p>',
    ])
    atomic_write_text(out, page(f"aekit comparison of {len(runs)} runs", body))
    return out


def _yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


__all__ = ["compare_runs"]
