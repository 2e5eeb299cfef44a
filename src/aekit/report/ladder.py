"""The report of a ladder run (``aekit ladder``): what was trained, on how many labels, and its cost curves.

One self-contained page (:mod:`aekit.report.html`) from the run folder's files alone, read through
:func:`aekit.estimator.ladder_run.read_ladder_run`: a table of the run (variant, widths, noise, denoising
weights, schedule, label budget, test accuracy) and the cost terms per epoch
(:func:`aekit.viz.losses.loss_curves_figure` over ``metrics.jsonl``). No data set is loaded.
"""

from __future__ import annotations

from pathlib import Path

from aekit.estimator.ladder_run import read_ladder_run
from aekit.io import atomic_write_text
from aekit.report.html import FigureEntry, escape, figure, page, table
from aekit.viz import loss_curves_figure, png_bytes

REPORT = "report.html"


def ladder_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of the ladder run in ``run_dir`` to ``out`` (default ``RUN/report.html``); returns its path."""
    run = read_ladder_run(run_dir)
    c, s = run.config, run.summary
    ladder, data = c.ladder, c.data
    widths = "-".join(str(n) for n in s["sizes"])
    weights = ", ".join(f"{w:g}" for w in s["denoising_weights"])
    budget = ("every label of the training split" if c.labels is None
              else f"{s['labels']} in all, drawn stratified from the training split (label seed {c.label_seed})")
    rows = [
        ("network", f"{'full ladder' if s['variant'] == 'full' else 'Γ-model (denoising at the top layer only)'}, "
                    f"widths {widths} (input, hidden layers, classes)"),
        ("noise", f"Gaussian, std {s['noise_std']:g}, at the input and every layer of the corrupted path"),
        ("denoising cost weights", f"{weights} (input to top)"),
        ("training", f"{s['epochs']} of {s['max_epochs']} epochs, Adam at {ladder.lr:g} decaying linearly to 0 over "
                     f"the last third; batches of {ladder.batch_size} labelled and {ladder.batch_size} unlabelled "
                     f"rows; seed {c.seed}; stopped: {s['stop_reason']}; {s['seconds']:.1f} s"),
        ("data", f"{s['data']}, split seed {data.split_seed}: {s['n_train']} training rows, every one of them "
                 f"unlabelled data; the validation split is not read (nothing is chosen)"),
        ("labels", f"{budget}; none held out ({s['train_labels']} train the classifier)"),
        ("test", f"accuracy {s['accuracy']:.4f} (error {100 * s['error']:.2f} %) on {s['test_size']} test rows, "
                 f"read once"),
    ]
    title = f"Ladder network on {s['data']}, {s['labels']} labels"
    body = [f"<h1>{escape(title)}</h1>",
            f'<p class="subtitle">Rasmus, Valpola, Honkala, Berglund &amp; Raiko, NIPS 2015; run folder '
            f"<code>{escape(run.run_dir)}</code></p>", table(None, rows)]
    if run.history:
        png = png_bytes(loss_curves_figure(run.history))
        caption = ("Each term of the cost per epoch, as training logged it (the mean over the epoch's steps): "
                   "'xent' is the supervised cross-entropy of the corrupted path on the labelled rows, 'denoise<l>' "
                   "the weighted denoising cost of layer l (0 the input), 'total loss' their sum. Look for curves "
                   "that fall and flatten before the learning rate decays over the last third.")
        body.append(figure(FigureEntry("losses", "Cost terms per epoch", caption, png)))
    path = Path(out) if out is not None else run.run_dir / REPORT
    atomic_write_text(path, page(title, "\n".join(body)))
    return path


__all__ = ["ladder_report"]
