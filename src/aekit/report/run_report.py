"""The report of one run: the metrics table and every figure that applies, in one self-contained
``report.html`` (and each figure as ``figures/<key>.png``), explained for a newcomer.

"Write visualisation code for every step of your pipeline, as if explaining the algorithm to a
newcomer — it is how you debug." Which figures a run gets follows from its config: a figure that does
not apply (prior samples of a deterministic model, say) is left out, and the report lists what was
left out and why, so it never shows or says anything that does not hold for this run.

Cost: the report of a default MNIST-5k run builds in well under 30 s on two cores; the expensive steps
work on seeded subsamples, stated in the captions (t-SNE and neighbourhood scores: up to 1,000 test
points; Jacobians: 100; importance-sampled NLL: 500 points, 200 samples; PCA and probes: up to
5,000 training rows).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit import config as cfg
from aekit.analysis.embedding import DEFAULT_BACKEND, N_NEIGHBORS, compare_embeddings
from aekit.analysis.metrics import NEAR_ZERO, psnr, reconstruction_error, sparsity_stats
from aekit.analysis.pca import compare_with_pca, is_linear
from aekit.errors import AekitError, ConfigError
from aekit.io import atomic_write_bytes, atomic_write_text, read_json
from aekit.registry import get
from aekit.report.html import FigureEntry, escape, figure, page, table
from aekit.training.run import Compose, Run, build_component, load_run, prepare, read_metrics, read_metrics_file
from aekit.training.trainer import STOP_REASONS
from aekit.viz import (denoising_figure, embedding_figure, filters_figure, interpolation_figure, jacobian_figure,
                       loss_curves_figure, manifold_figure, pca_figure, pipeline_figure, prior_samples_figure,
                       sparsity_figure, traversal_figure)
from aekit.viz._common import encode, png_bytes, reconstruct
from aekit.viz.filters import first_layer_weights
from aekit.viz.layerwise import stage_curves_figure
from aekit.viz.losses import terms_of
from aekit.viz.manifold import dimensions_by_spread

logger = logging.getLogger(__name__)

MAX_TRAIN = 5000  # training rows used for PCA and the probes (a seeded subsample beyond that)
MAX_TSNE = 1000  # test points in the t-SNE map and its scores
MAX_JACOBIAN = 100  # test points whose encoder Jacobian is computed
NLL_POINTS, NLL_SAMPLES = 500, 200  # importance-sampled NLL: test points and samples per point
N_PIPELINE = 6  # test inputs in the pipeline figure
SPARSE_PENALTIES = ("l1", "kl_sparsity")
CONTRACTIVE_PENALTIES = ("contractive",)
SEED = 0  # every random choice of the report (subsamples, noise, prior draws) derives from it

# Every figure a report can hold, in page order: file stem and heading.
FIGURES = {
    "pipeline": "The pipeline, step by step",
    "losses": "Loss curves per term",
    "embedding": "The code space: t-SNE of test codes",
    "manifold": "The decoder's manifold",
    "traversals": "Latent traversals",
    "interpolations": "Interpolations between test images",
    "prior_samples": "Samples from the prior",
    "filters": "Learned filters",
    "sparsity": "Sparsity of the code",
    "jacobian": "Contraction: the encoder's Jacobian",
    "denoising": "Denoising at several noise levels",
    "pca": "The linear autoencoder against PCA",
    "layerwise": "Greedy layer-wise pretraining, stage by stage",
    "labelcurve": "Label budget: what pretraining buys",
}


# -- the data of a run ---------------------------------------------------------------------------
@dataclass
class RunData:
    """A finished run with its data re-created as it was split and preprocessed for training."""

    run_dir: Path
    run: Run
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    x_train: np.ndarray  # preprocessed, at most MAX_TRAIN rows (seeded subsample)
    y_train: np.ndarray | None
    n_train: int  # rows in the training split
    x_test: np.ndarray  # preprocessed
    y_test: np.ndarray | None
    class_names: list[str] | None

    @property
    def model(self) -> torch.nn.Module:
        return self.run.model

    @property
    def config(self) -> Any:
        return self.run.config

    @property
    def variational(self) -> bool:
        return bool(getattr(self.model.config, "variational", False))


def _rows(data: Any, rows: np.ndarray | None) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data if rows is None else data[rows]
    return data.array() if rows is None else data.rows(rows)


def load_run_data(run_dir: str | Path) -> RunData:
    """The run in ``run_dir`` and its training and test data, split and rescaled as in training."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file() or not (run_dir / "model.json").is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a finished run folder (it needs config.yaml, model.json and "
                          f"model.safetensors, as 'aekit train' writes them).")
    run = load_run(run_dir)
    with torch.random.fork_rng(devices=[]):  # prepare() seeds torch's global generator; leave it as it was
        prepared = prepare(run.config)
    splits = prepared.splits
    if len(splits.test) == 0:
        raise ConfigError(f"The run in {str(run_dir)!r} has no test split (data.test_fraction: "
                          f"{run.config.data.test_fraction}); the report draws and scores the test split the model "
                          f"never trained on. Train with data.test_fraction above 0 (0.2 is the default).")
    n_train = len(splits.train)
    rows = None
    if n_train > MAX_TRAIN:
        rows = np.sort(np.random.default_rng(SEED).choice(n_train, MAX_TRAIN, replace=False))
    y_train = splits.train.labels
    if y_train is not None and rows is not None:
        y_train = y_train[rows]
    summary_path = run_dir / "summary.json"
    return RunData(
        run_dir=run_dir, run=run, history=read_metrics(run_dir),
        summary=read_json(summary_path, "the test metrics of the run", "Resume the run ('aekit train --resume RUN') "
                          "to write it again, or delete it.") if summary_path.is_file() else {},
        x_train=_rows(prepared.train_x, rows), y_train=y_train,
        n_train=n_train, x_test=_rows(prepared.test_x, None), y_test=splits.test.labels,
        class_names=list(splits.test.classes) if getattr(splits.test, "classes", None) else None,
    )


# -- which figures apply -------------------------------------------------------------------------
def applicable(data: RunData) -> dict[str, str | None]:
    """Each figure key mapped to None when it applies to this run, else to the reason it does not."""
    config, model = data.config, data.model
    n_test = len(data.x_test)
    penalties = set(config.penalties)
    reasons: dict[str, str | None] = {key: None for key in FIGURES}
    if not data.history:
        reasons["losses"] = "metrics.jsonl holds no completed epoch."
    if n_test < 10:
        reasons["embedding"] = f"the test split has {n_test} rows; a map needs at least 10."
    if n_test < 4:
        reasons["interpolations"] = f"the test split has {n_test} rows; interpolations need at least 4."
    if not data.variational:
        reasons["prior_samples"] = "only a variational model (model.variational: true) has a prior to sample from."
    if not penalties & set(SPARSE_PENALTIES):
        reasons["sparsity"] = "the run has no sparsity penalty (penalties: l1 or kl_sparsity)."
    if not penalties & set(CONTRACTIVE_PENALTIES):
        reasons["jacobian"] = "the run has no contractive penalty (penalties: contractive)."
    if not config.corruption:
        reasons["denoising"] = "the run was not trained on corrupted inputs (no corruption section)."
    if not _stage_files(data.run_dir):
        reasons["layerwise"] = "the run was trained end to end only (layerwise.enabled: false)."
    if not (data.run_dir / "labelcurve" / "labelcurve.json").is_file():
        reasons["labelcurve"] = f"no label curve was measured for it (aekit labelcurve {data.run_dir})."
    if not is_linear(model):
        reasons["pca"] = ("the model is not linear (it needs linear activations or no hidden layer, a linear code, "
                          "an identity output with loss.reconstruction: mse, and no variational head).")
    return reasons


def _stage_files(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "layerwise").glob("stage_*.jsonl"), key=lambda p: int(p.stem.split("_")[1]))


def _finetune_rows(run_dir: Path) -> list[list[str]]:
    """One row per fine-tuned classifier found in the run folder (``aekit finetune`` writes them there)."""
    rows = []
    for path in sorted(run_dir.glob("*/summary.json")):
        summary = json.loads(path.read_text())
        if "confusion_matrix" not in summary:
            continue
        head = (path.parent / "classifier.json")
        head_kind = json.loads(head.read_text()).get("head", "?") if head.is_file() else "?"
        rows.append([path.parent.name, str(summary["labels"]), head_kind, f"{summary['accuracy']:.4f}",
                     f"{summary['error']:.4f}"])
    return rows


def expected_figures(data: RunData) -> list[str]:
    """The keys of the figures this run's report holds, in page order."""
    return [key for key, reason in applicable(data).items() if reason is None]


# -- corruption at other levels ------------------------------------------------------------------
def corruption_levels(config: Any) -> tuple[str, str, float, list[float], Callable[[float], Compose]]:
    """The run's first corruption: its name, its level field, the trained level, the levels to show
    (half, equal to and double the trained one, capped by the field's range) and a builder per level.
    Any further corruptions of the run are applied unchanged after it."""
    items = list(config.corruption.items())
    name, spec = items[0]
    cls = get("corruption", name)
    level_field = dataclasses.fields(cls)[0]
    spec = dict(spec) if isinstance(spec, dict) else {level_field.name: spec}
    default = level_field.default
    base = float(spec.get(level_field.name, default))
    constraint = level_field.metadata.get("constraint")
    high = getattr(constraint, "high", None)
    levels = sorted({round(min(base * factor, high) if high is not None else base * factor, 6) for factor in (0.5, 1, 2)})
    levels = [level for level in levels if level > 0] or [0.1, 0.25, 0.5]
    integral = getattr(constraint, "type", None) is int  # e.g. shift.pixels: half of 1 pixel is no level
    if integral:
        levels = sorted({max(1, round(level)) for level in levels})

    def make(level: float) -> Compose:
        value = int(level) if integral else float(level)
        first = build_component("corruption", "corruption", name, {**spec, level_field.name: value})
        rest = [build_component("corruption", "corruption", n, s) for n, s in items[1:]]
        return Compose([first, *rest])

    return name, level_field.name, base, levels, make


# -- metrics -------------------------------------------------------------------------------------
@dataclass
class Metrics:
    """The numbers of the metrics table: (metric, this model, PCA with as many components, note) rows."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, float] = field(default_factory=dict)  # PCA's value of a metric, where it has one

    def add(self, key: str, name: str, ours: float | None, pca: float | None, note: str, fmt: str = "{:.4g}") -> None:
        if ours is not None:
            self.values[key] = float(ours)
        if pca is not None:
            self.baselines[key] = float(pca)
        self.rows.append((name, "—" if ours is None else fmt.format(ours), "—" if pca is None else fmt.format(pca), note))


def _probe_accuracy(h_train: np.ndarray, y_train: np.ndarray, h_test: np.ndarray, y_test: np.ndarray) -> float:
    """Test accuracy of a logistic regression fitted on standardised training codes."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        probe.fit(h_train.reshape(len(h_train), -1), y_train)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        logger.warning("The logistic-regression probe did not converge in 500 iterations; its accuracy is a lower bound.")
    return float(probe.score(h_test.reshape(len(h_test), -1), y_test))


def _data_range(x: np.ndarray) -> float:
    low, high = float(x.min()), float(x.max())
    return 1.0 if low >= 0 and high <= 1 else max(high - low, 1e-12)


def compute_metrics(data: RunData, h_train: np.ndarray, h_test: np.ndarray, pca: Any) -> Metrics:
    """Reconstruction error, PSNR, test loss terms, ELBO/NLL (variational), probe accuracy (labels)."""
    model, x_test = data.model, data.x_test
    metrics = Metrics()
    n, d = len(x_test), int(np.prod(x_test.shape[1:]))
    ours = reconstruction_error(model, x_test)
    flat = x_test.reshape(n, -1).astype(np.float64)
    x_pca = pca.inverse_transform(pca.transform(flat))  # (n, d)
    pca_per_image = ((x_pca - flat) ** 2).sum(axis=1)  # (n,)
    metrics.add("recon_per_image", "reconstruction error per image", float(ours.per_image.mean()),
                float(pca_per_image.mean()), f"sum over the {d} pixels of (x̂ − x)², mean over {n} test images")
    metrics.add("mse", "reconstruction error per pixel (MSE)", ours.mse, float(pca_per_image.mean() / d),
                "mean of (x̂ − x)² over test images and pixels", fmt="{:.5f}")
    data_range = _data_range(x_test)
    x_hat = reconstruct(model, x_test)
    metrics.add("psnr", "PSNR", float(np.mean(psnr(x_hat, x_test, data_range))),
                float(np.mean(psnr(x_pca.reshape(x_test.shape), x_test, data_range))),
                f"10 log10(R² / MSE) dB per image, mean; R = {data_range:g}; higher is better", fmt="{:.2f} dB")
    test_terms = dict(data.summary.get("test") or {})
    if len(test_terms) == 2 and "loss" in test_terms:  # one term: the total is the same number
        test_terms.pop("loss")
    for term, value in test_terms.items():
        unit = "nats" if term == "recon" and data.config.loss.reconstruction == "bce" else "per sample"
        metrics.add(f"test/{term}", f"test loss term: {term}", value, None,
                    f"as the trainer computes it on the test split ({unit}; summed over dimensions, mean over samples)")
    if data.variational:
        from aekit.analysis.likelihood import binarize, elbo, importance_sampled_nll

        x = torch.from_numpy(x_test)
        binary = model.output == "sigmoid"
        x = binarize(x) if binary else x
        what = "binarized test images (x > 0.5)" if binary else "test images, Gaussian decoder with variance 1/2"
        was_training = model.training
        model.eval()
        try:
            value = elbo(model, x, samples=10, generator=torch.Generator().manual_seed(SEED)).mean().item()
            m = min(NLL_POINTS, n)
            nll = importance_sampled_nll(model, x[:m], k=NLL_SAMPLES,
                                         generator=torch.Generator().manual_seed(SEED)).mean().item()
        finally:
            model.train(was_training)
        metrics.add("elbo", "ELBO", value, None, f"nats per image on {n} {what}; 10 posterior samples")
        metrics.add("nll", "negative log-likelihood (importance-sampled)", nll, None,
                    f"nats per image on the first {m} {what}; k = {NLL_SAMPLES} importance samples (Burda et al. 2016)")
    if data.y_train is not None and data.y_test is not None and len(np.unique(data.y_train)) > 1:
        z_train, z_test = pca.transform(data.x_train.reshape(len(data.x_train), -1)), pca.transform(flat)
        metrics.add("probe", "probe accuracy (logistic regression on codes)",
                    _probe_accuracy(h_train, data.y_train, h_test, data.y_test),
                    _probe_accuracy(z_train, data.y_train, z_test, data.y_test),
                    f"fitted on the codes of {len(h_train)} training images, accuracy on {n} test images",
                    fmt="{:.3f}")
    return metrics


# -- captions ------------------------------------------------------------------------------------
def _corruption_text(config: Any) -> str:
    return " then ".join(f"{name} ({spec if not isinstance(spec, dict) else ', '.join(f'{k} {v}' for k, v in spec.items())})"
                         for name, spec in config.corruption.items())


def _caption(key: str, data: RunData, facts: dict[str, Any]) -> str:
    """The newcomer's paragraph for figure ``key``: what it shows and what to look for."""
    config, model = data.config, data.model
    k = model.config.code_size
    if key == "pipeline":
        corrupted = (f", then the corrupted copy x̃ the model is fed (this run was trained on {_corruption_text(config)} "
                     f"noise; the figure corrupts with the same settings)") if config.corruption else ""
        mu = ("; for this variational model the bar is the posterior mean μ and the whisker ±1 posterior standard "
              "deviation") if data.variational else ""
        return (f"Each row follows one test image through the model, left to right: the input x{corrupted}, then "
                f"the code h the encoder makes of it — one bar per code unit, {k} in all{mu} — and the decoder's "
                f"reconstruction x̂, with its squared error against the clean x (summed over pixels). Look for "
                f"reconstructions that keep what makes each input itself (for a digit: its shape and strokes) even if "
                f"they are blurrier; a reconstruction that looks like another class, or the same blur on every row, means "
                f"the code has lost that information.")
    if key == "losses":
        total = " The 'total loss' panel is the sum of the others." if facts.get("several_terms") else ""
        unit = " (the bce reconstruction is in nats)" if config.loss.reconstruction == "bce" else ""
        keep = (" The dotted line marks the best validation epoch, whose weights the run keeps."
                if config.train.restore_best else " The dotted line marks the best validation epoch (this run keeps "
                                                  "its last weights, train.restore_best: false).")
        return (f"One panel per term of the loss as the trainer logged it over {len(data.history)} epoch(s), per "
                f"sample: summed over the dimensions of an image, averaged over the images{unit}. Solid lines are "
                f"the training set, dashed lines the validation set.{total} Look for curves that fall and flatten; a "
                f"validation curve that turns up while the training curve keeps falling is over-fitting.{keep}")
    if key == "embedding":
        e = facts["embedding"]
        subsample = f" (a seeded subsample of the {e.n_total} in the test split)" if e.n_points < e.n_total else ""
        if e.method == "code":
            left = (f"Left: the code itself — this model's code is 2-D, so each of {e.n_points} test images{subsample} "
                    f"is drawn at its code (h1, h2), no t-SNE needed")
        else:
            left = (f"Left: a t-SNE map (perplexity 30, seed {SEED}, {e.backend}, {e.seconds:.1f} s) of the "
                    f"{k}-D codes of {e.n_points} test images{subsample}, placed so that images with similar codes "
                    f"are close. t-SNE distorts the sizes of clusters and the distances between them: read only "
                    f"which points are neighbours")
        colour = (", coloured by the true label, which the autoencoder never saw. Well-separated islands of one "
                  "colour mean the code groups the classes without being told"
                  if e.labels is not None else " (the data have no labels, so there is one colour)")
        nn_text = ("1-NN accuracy is how often a point's nearest other point has the same label; "
                   if e.labels is not None else "")
        return (f"{left}{colour}. Right: scores computed on the codes themselves, not on the map, for the same test "
                f"images, beside PCA codes of the same size ({e.pca_size} components fitted on the training split): "
                f"{nn_text}trustworthiness ({N_NEIGHBORS} neighbours) is 1 when each point's nearest neighbours in "
                f"code space were also among its nearest in pixel space. A learned code should at least match PCA.")
    if key == "manifold":
        dims = facts["manifold_dims"]
        steps = facts["manifold_steps"]
        if len(dims) == 1:
            which = f"a single row over the code's only dimension h{dims[0] + 1}"
        elif k == 2:
            which = f"a {steps}×{steps} grid over the whole 2-D code (h1 across, h2 down)"
        else:
            held = "the prior mean 0" if data.variational else "the median test code"
            which = (f"a {steps}×{steps} grid over code dimensions h{dims[0] + 1} (across) and h{dims[1] + 1} (down), "
                     f"the two with the largest spread over the test codes; the other {k - 2} stay at {held}")
        span = ("each dimension runs over the 5 %–95 % quantiles of the prior N(0, 1)" if data.variational else
                "each dimension runs from the 2nd to the 98th percentile of its values over the test codes")
        return (f"Instead of encoding images, this figure chooses codes and decodes them: {which}; {span}. A decoder "
                f"that has learned the data's manifold draws plausible images in every cell, changing smoothly from "
                f"cell to cell; blank or smeared cells are codes the decoder never learned to use — the gaps between "
                f"classes that a code without a prior tends to leave.")
    if key == "traversals":
        span = ("over the prior's 5 %–95 % quantiles" if data.variational else
                "from the 2nd to the 98th percentile of its values over the test codes")
        return (f"Each row starts from the code of the first test image and changes a single code dimension, {span}, keeping "
                f"the others fixed, and decodes the result. Rows are the {facts['traversal_dims']} dimensions with the "
                f"largest spread over the test codes, largest first. A row that changes one visible property (slant, "
                f"width, thickness) is an interpretable dimension; a row that changes several at once is entangled; a "
                f"row that does not change is a dimension the decoder ignores.")
    if key == "interpolations":
        return (f"For {facts['pairs']} pairs of test images{' of different classes' if data.y_test is not None else ''}, "
                f"the upper row decodes codes on the straight line between the two codes, (1 − t) h_a + t h_b, and the "
                f"lower row blends the pixels, (1 − t) x_a + t x_b. The pixel blend fades one image into the other "
                f"through double exposures; a decoder with a good code passes through images that look like real data "
                f"instead. The end points of the upper row are the reconstructions of the two images, not the images.")
    if key == "prior_samples":
        return (f"{facts['samples']} new images, each the decoding of a code drawn from the prior N(0, I) (seed {SEED}): "
                f"what a variational autoencoder is trained to make possible. Look for samples that resemble the "
                f"training data; blur is typical of a pixel-wise decoder, but shapeless samples mean the posterior codes "
                f"do not fill the prior (a KL term too weak) or the model has not trained enough.")
    if key == "filters":
        what = facts["filters_where"]
        return (f"The weights of the {what}, one tile per unit, drawn in the shape of its input (red positive, blue "
                f"negative, white zero; each tile scaled to its own largest weight). A unit responds most to inputs "
                f"that look like its tile. Trained filters show localised strokes, blobs or edges; tiles of uniform "
                f"speckle have hardly moved from their random start (too few epochs, or units the model does not use).")
    if key == "sparsity":
        target = facts.get("sparsity_target")
        target_text = (f", with the KL penalty's target ρ = {target:g} as a dashed line: the bars should sit near it"
                       if target is not None else "")
        return (f"Left: a histogram of every code entry over the {len(data.x_test)} test images (log counts); the red "
                f"dotted line marks |h| = {NEAR_ZERO:g}, below which an entry counts as near zero "
                f"({100 * facts['near_zero']:.1f} % here). A sparse code has a tall spike at 0 and a thin tail: each "
                f"input is described by a few active units. Right: each unit's mean activation over the test "
                f"images{target_text}. A bar at 0 is a unit that is never active (a dead unit); with an L1 penalty on a "
                f"linear code, activations of both signs are pushed toward 0.")
    if key == "jacobian":
        return (f"The encoder's Jacobian J_f(x) = ∂h/∂x, computed exactly (torch.func, aekit.analysis.jacobian) at "
                f"{facts['jacobian_points']} test points (the first of the test split). Left: its singular values, "
                f"largest first (median over the points and the band from the 10th to the 90th percentile, log scale): "
                f"the encoder stretches a small input change along direction i by σ_i. A contractive penalty makes most "
                f"singular values tiny — the code ignores most ways an input can change — and leaves a few large ones. "
                f"Right: for three test inputs, the right singular vectors of the largest singular values, drawn as "
                f"images (red +, blue −): the input changes the code is most sensitive to. For a well-trained "
                f"contractive model they look like local deformations of the input (strokes moving or thickening), "
                f"tangents to the data manifold.")
    if key == "denoising":
        name, level_name, base, levels, _ = facts["corruption"]
        levels_text = ", ".join(f"{level:g}" for level in levels)
        return (f"The run was trained to undo {name} noise ({level_name} {base:g}). Here all {len(data.x_test)} test "
                f"images are corrupted with {level_name} {levels_text} — half, equal to and double the training level, "
                f"capped by what the corruption allows — and passed through the model. Left: for six images, each "
                f"level's corrupted inputs x̃ and their reconstructions, with the mean PSNR. Right: the PSNR "
                f"(peak signal-to-noise ratio against the clean images, in dB; higher is better) of the corrupted "
                f"inputs (dashed) and of their reconstructions (solid); the dotted line is the reconstruction of clean "
                f"inputs, the best the model does. The model denoises where the solid line is above the dashed one. (An "
                f"image that a corruption happens to leave unchanged has an infinite PSNR and is left out of that mean.)")
    if key == "pca":
        return (f"This model is linear (every layer affine), the case where an autoencoder trained with squared error "
                f"can at best match PCA with as many components, and its decoder then spans PCA's principal subspace "
                f"without having to be PCA's basis (Baldi & Hornik, 1989). Left: test reconstruction error per image "
                f"of this model and of PCA with k = {k} components fitted on the training split; a ratio near 1 means "
                f"training reached that optimum. Right: the principal angles between the decoder's column space and "
                f"PCA's subspace (scipy.linalg.subspace_angles): all near 0° means the same subspace; large angles "
                f"mean training has not converged (or the learning rate or epochs are too small).")
    if key == "layerwise":
        return (f"Before training end to end, this deep autoencoder was built greedily (Bengio et al., 2007): stage 1 is "
                f"a shallow autoencoder on the images, each later stage a shallow autoencoder on the codes of the stage "
                f"below, {facts['stages']} stages in all, then the stages were stacked into the deep network whose "
                f"loss curves are shown above. One panel per stage: training loss (solid) and validation loss "
                f"(dashed) per epoch. Later stages reconstruct codes, not pixels, so their losses are on another "
                f"scale. Look for each stage's curve falling and flattening: a stage that learned nothing passes "
                f"noise up the stack.")
    if key == "labelcurve":
        budgets = ", ".join(str(b) for b in facts["budgets"])
        return (f"The lecture's practical promise, measured: test accuracy against the number of labelled training "
                f"images ({budgets}), each point the mean over seeded draws of that many labels (bars: one standard "
                f"deviation). Logistic regression on the raw pixels, on PCA codes and on this autoencoder's frozen "
                f"codes, the classifier network trained from random weights, and the same network starting from this "
                f"encoder and fine-tuned. The autoencoder and PCA saw every training image without its label. Look "
                f"at the left of the plot: pretraining earns its keep where labels are few, and the curves meet as "
                f"labels grow. Made by 'aekit labelcurve'.")
    raise KeyError(key)


# -- building the report -------------------------------------------------------------------------
@dataclass
class Report:
    """What :func:`build_report` wrote: the page, the figure files, the metrics, the build time (and
    its parts: loading the run and its data, the metrics table, each figure)."""

    path: Path
    figures: dict[str, Path]
    skipped: dict[str, str]
    metrics: Metrics
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # figures that apply but could not be drawn: why


def _pairs(data: RunData, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of up to ``count`` disjoint pairs of test images, of different classes when there are labels (seeded)."""
    order = np.random.default_rng(SEED).permutation(len(data.x_test))
    used: set[int] = set()
    a, b = [], []
    for i in order:
        if len(a) == count:
            break
        if i in used:
            continue
        partner = next((j for j in order if j != i and j not in used
                        and (data.y_test is None or data.y_test[j] != data.y_test[i])), None)
        if partner is not None:
            a.append(int(i))
            b.append(int(partner))
            used.update((int(i), int(partner)))
    return np.array(a, dtype=int), np.array(b, dtype=int)


def make_figures(data: RunData, keys: list[str], h_train: np.ndarray, h_test: np.ndarray, pca: Any,
                 tsne_backend: str = DEFAULT_BACKEND, n_jobs: int = 1,
                 timings: dict[str, float] | None = None,
                 failed: dict[str, str] | None = None) -> list[FigureEntry]:
    """Draw each figure in ``keys`` and caption it; returns the entries in page order (and the seconds
    each took in ``timings``, when given). A figure that cannot be drawn is left out, and why is put
    in ``failed`` (when given) for the page to say."""
    model, x_test = data.model, data.x_test
    facts: dict[str, Any] = {}
    entries = []
    for key in keys:
        start = time.perf_counter()
        try:
            entry = _draw(key, data, model, x_test, h_train, h_test, pca, tsne_backend, n_jobs, facts)
        except Exception as error:  # a valid run always gets its report: the figure is left out, with why
            reason = f"{type(error).__name__}: {error}" if not isinstance(error, AekitError) else str(error)
            logger.warning("report of %s: figure %r could not be drawn (%s)", data.run_dir, key, reason,
                           exc_info=not isinstance(error, AekitError))
            if failed is not None:
                failed[key] = reason
            continue
        entries.append(entry)
        if timings is not None:
            timings[key] = time.perf_counter() - start
        logger.debug("figure %s: %.2f s", key, time.perf_counter() - start)
    return entries


def _draw(key: str, data: RunData, model: Any, x_test: np.ndarray, h_train: np.ndarray, h_test: np.ndarray,
          pca: Any, tsne_backend: str, n_jobs: int, facts: dict[str, Any]) -> FigureEntry:
    """One figure of ``make_figures``, drawn and captioned."""
    if key == "pipeline":
        fig = pipeline_figure(model, x_test[:N_PIPELINE], data.config.build_corruption(), seed=SEED)
    elif key == "losses":
        fig = loss_curves_figure(data.history)
        facts["several_terms"] = "loss" in terms_of(data.history)
    elif key == "embedding":
        flat_test = x_test.reshape(len(x_test), -1)
        facts["embedding"] = compare_embeddings(
            h_test, x_test, data.y_test, data.x_train, max_points=MAX_TSNE, backend=tsne_backend,
            random_state=SEED, n_jobs=n_jobs, pca_test=pca.transform(flat_test))
        fig = embedding_figure(facts["embedding"], data.class_names)
    elif key == "manifold":
        facts["manifold_dims"] = dimensions_by_spread(h_test, min(2, model.config.code_size))
        facts["manifold_steps"] = 15
        fig = manifold_figure(model, h_test, dims=facts["manifold_dims"], steps=15)
    elif key == "traversals":
        dims = min(10, model.config.code_size)
        fig = traversal_figure(model, h_test, h_test[0], max_dims=dims)
        facts["traversal_dims"] = dims
    elif key == "interpolations":
        a, b = _pairs(data, 3)
        fig = interpolation_figure(model, x_test[a], x_test[b])
        facts["pairs"] = len(a)
    elif key == "prior_samples":
        facts["samples"] = 64
        fig = prior_samples_figure(model, 64, seed=SEED)
    elif key == "filters":
        facts["filters_where"] = first_layer_weights(model)[2]
        fig = filters_figure(model)
    elif key == "sparsity":
        spec = data.config.penalties.get("kl_sparsity")
        target = None
        if spec is not None:
            target = build_component("objective", "penalties", "kl_sparsity", spec).target
        facts["sparsity_target"] = target
        facts["near_zero"] = sparsity_stats(h_test).near_zero_fraction
        fig = sparsity_figure(h_test, target=target)
    elif key == "jacobian":
        points = x_test[:MAX_JACOBIAN]
        facts["jacobian_points"] = len(points)
        fig = jacobian_figure(model, points)
    elif key == "denoising":
        facts["corruption"] = corruption_levels(data.config)
        name, level_name, _, levels, make = facts["corruption"]
        fig = denoising_figure(model, x_test, make, levels, name=f"{name} {level_name}", seed=SEED)
    elif key == "pca":
        result = compare_with_pca(model, data.x_train, x_test)
        facts["pca"] = result
        fig = pca_figure(result)
    elif key == "layerwise":
        stages = [read_metrics_file(path) for path in _stage_files(data.run_dir)]
        facts["stages"] = len(stages)
        fig = stage_curves_figure(stages)
    elif key == "labelcurve":
        from aekit.analysis.labelcurve import Point
        from aekit.viz.labelcurve import label_curve_figure

        rows = json.loads((data.run_dir / "labelcurve" / "labelcurve.json").read_text())
        points = [Point(r["method"], r["labels"], r["accuracies"]) for r in rows]
        facts["budgets"] = sorted({p.labels for p in points})
        fig = label_curve_figure(points)
    else:
        raise KeyError(key)
    return FigureEntry(key, FIGURES[key], _caption(key, data, facts), png_bytes(fig))


def _summary_rows(data: RunData) -> list[tuple[str, str]]:
    config, model = data.config, data.model
    m = model.config
    layers = (f"hidden {list(m.hidden)}" if m.kind == "mlp" else f"channels {list(m.channels)}, kernel {m.kernel_size}")
    arch = (f"{m.kind}, {layers}, code size {m.code_size}, activation {m.activation}, code activation "
            f"{m.code_activation}, output {model.output}{', tied weights' if getattr(m, 'tied', False) else ''}"
            f"{', variational' if data.variational else ''}")
    penalties = ", ".join(f"{k}: {v}" for k, v in config.penalties.items()) or "none"
    if data.variational and "kl" not in config.penalties:
        penalties = (penalties + ", " if config.penalties else "") + "kl: 1.0 (added for the variational model)"
    n_params = sum(p.numel() for p in model.parameters())
    summary = data.summary
    epochs = summary.get("epochs", len(data.history))
    best = summary.get("best_epoch")
    stopped = STOP_REASONS.get(summary.get("stop_reason"), "")
    return [
        ("data", f"{config.data.name}: {data.n_train} train, {summary.get('n_val', '?')} validation, "
                 f"{len(data.x_test)} test rows (split seed {config.data.split_seed})"),
        ("model", f"{arch}; {n_params:,} parameters"),
        ("loss", f"reconstruction {config.loss.reconstruction}; penalties {penalties}"),
        ("corruption", _corruption_text(config) if config.corruption else "none"),
        ("training", f"{epochs} epoch(s){f', best validation epoch {best}' if best else ''}, batch "
                     f"{config.train.batch_size}, {config.train.optimizer} lr {data.history[0]['lr'] if data.history else config.train.lr:g}, seed {config.seed}"
                     f"{'; stopped: ' + stopped if stopped else ''}"),
    ]


def verdict(data: RunData, metrics: Metrics, n_components: int) -> list[str]:
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
                         f"{pca:.3f} accuracy): {first.lower()} denoising (<code>corruption.masking: 0.25</code>, "
                         f"<code>corruption.shift: 2</code> for images) or a larger code.")
        else:
            notes.append(f"Its codes are at least as good features as PCA's for a linear probe ({ours:.3f} against "
                         f"{pca:.3f} accuracy).")
    return notes


def build_report(run_dir: str | Path, out: str | Path | None = None, *, tsne_backend: str = DEFAULT_BACKEND,
                 n_jobs: int = 1) -> Report:
    """Write ``report.html`` (or ``out``) for the run in ``run_dir`` and each figure to ``figures/<key>.png``.

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
    data = load_run_data(run_dir)
    timings["load run and data"] = time.perf_counter() - start
    run_dir = data.run_dir
    out = Path(out) if out is not None else run_dir / "report.html"
    reasons = applicable(data)
    keys = [key for key, reason in reasons.items() if reason is None]
    h_train, h_test = encode(data.model, data.x_train), encode(data.model, data.x_test)
    from sklearn.decomposition import PCA

    flat_train = data.x_train.reshape(len(data.x_train), -1)
    n_components = min(data.model.config.code_size, *flat_train.shape)
    pca = PCA(n_components=n_components, random_state=SEED).fit(flat_train)
    metrics = compute_metrics(data, h_train, h_test, pca)
    timings["codes, PCA, metrics"] = time.perf_counter() - start - timings["load run and data"]
    failed: dict[str, str] = {}
    entries = make_figures(data, keys, h_train, h_test, pca, tsne_backend, n_jobs, timings, failed)
    paths = {}
    for entry in entries:
        paths[entry.key] = run_dir / "figures" / f"{entry.key}.png"
        atomic_write_bytes(paths[entry.key], entry.png)
    seconds = time.perf_counter() - start
    skipped = {key: reason for key, reason in reasons.items() if reason is not None}
    atomic_write_text(out, render(data, entries, metrics, skipped, seconds, n_components, failed))
    return Report(out, paths, skipped, metrics, time.perf_counter() - start, timings, failed)


def render(data: RunData, entries: list[FigureEntry], metrics: Metrics, skipped: dict[str, str], seconds: float,
           n_components: int, failed: dict[str, str] | None = None) -> str:
    """The HTML of a run's report."""
    name = data.run_dir.name
    parts = [f"<h1>Run {escape(name)}</h1>",
             f'<p class="subtitle">aekit report of <code>{escape(data.run_dir)}</code>: every step of the pipeline, '
             f"drawn on the test split the run never trained on.</p>",
             table(None, _summary_rows(data)),
             "<h2>In short</h2>",
             "<ul>" + "".join(f"<li>{note}</li>" for note in verdict(data, metrics, n_components)) + "</ul>",
             "<h2>Metrics on the test split</h2>",
             table(["metric", "this model", f"PCA, {n_components} components", "what it is"],
                   metrics.rows, numeric=(1, 2)),
             '<p class="note">The PCA column is the linear baseline with as many components as the code has, '
             "fitted on the training split: a useful autoencoder should beat it on reconstruction, and its codes "
             "should be at least as good for a probe.</p>",
             "<h2>Figures</h2>"]
    parts += [figure(entry) for entry in entries]
    finetuned = _finetune_rows(data.run_dir)
    if finetuned:
        parts += ["<h2>Classifiers fine-tuned from this encoder</h2>",
                  table(["folder", "labels", "head", "test accuracy", "test error"], finetuned, numeric=(1, 3, 4)),
                  '<p class="note">Each row is an <code>aekit finetune</code> of this run: the decoder dropped, a head '
                  "attached and trained on that many labels, the encoder frozen first, then fine-tuned end to end; "
                  "scored on the same test split as above.</p>"]
    if failed:
        items = "".join(f"<li><b>{escape(FIGURES[key])}</b>: left out, because it could not be drawn: "
                        f"{escape(reason)}</li>" for key, reason in failed.items())
        parts.append(f"<h2>Figures that could not be drawn</h2><ul>{items}</ul>")
    if skipped:
        items = "".join(f"<li><b>{escape(FIGURES[key])}</b>: not shown, because {escape(reason)}</li>"
                        for key, reason in skipped.items())
        parts.append(f"<h2>Figures that do not apply to this run</h2><ul>{items}</ul>")
    config_yaml = _yaml(cfg.to_dict(data.config))
    parts.append(f"<h2>Configuration</h2><details><summary>config.yaml of this run</summary>"
                 f"<pre>{escape(config_yaml)}</pre></details>")
    parts.append(f'<p class="note">Built by aekit in {seconds:.1f} s. Figures are also in '
                 f"<code>{escape(data.run_dir / 'figures')}</code>.</p>")
    return page(f"aekit report: {name}", "\n".join(parts))


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


__all__ = ["build_report", "Report", "RunData", "load_run_data", "applicable", "expected_figures", "FIGURES",
           "compute_metrics", "corruption_levels"]
