"""The metrics table of a run's report: reconstruction error, PSNR and the test loss terms beside PCA
with as many components, the ELBO and importance-sampled NLL of a variational model, and the accuracy
of a linear probe on the codes and their 1-NN accuracy (when the data have labels).

Every number is measured on the test split the run never trained on; the expensive ones on seeded
subsamples (importance-sampled NLL: ``NLL_POINTS`` points, ``NLL_SAMPLES`` samples; probes: the
training rows of :class:`~aekit.analysis.run_analysis.RunAnalysis`, at most ``MAX_TRAIN``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from aekit.analysis.embedding import MAX_POINTS, one_nn_accuracy, subsample
from aekit.analysis.metrics import psnr, reconstruction_error
from aekit.analysis.run_analysis import SEED, RunAnalysis
from aekit.models.batched import map_batches
from aekit.training.probe import linear_probe

logger = logging.getLogger(__name__)

NLL_POINTS, NLL_SAMPLES = 500, 200  # importance-sampled NLL: test points and samples per point


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
    """Test accuracy of the linear probe (a logistic regression on standardised training codes)."""
    probe = linear_probe(h_train, y_train, h_test, y_test, max_iter=500)
    if not probe.converged:
        logger.warning("The logistic-regression probe did not converge in 500 iterations; its accuracy is a lower bound.")
    return probe.accuracy


def _data_range(x: np.ndarray) -> float:
    low, high = float(x.min()), float(x.max())
    return 1.0 if low >= 0 and high <= 1 else max(high - low, 1e-12)


def compute_metrics(data: RunAnalysis, h_train: np.ndarray | None = None, h_test: np.ndarray | None = None,
                    pca: Any = None) -> Metrics:
    """Reconstruction error, PSNR, test loss terms, ELBO/NLL (variational), probe accuracy (labels).

    The codes and the fitted PCA default to the run's own (``data.h_train``, ``data.h_test``, ``data.pca``).
    """
    h_train = data.h_train if h_train is None else h_train
    h_test = data.h_test if h_test is None else h_test
    pca = data.pca if pca is None else pca
    model, x_test = data.model, data.x_test
    metrics = Metrics()
    n, d = len(x_test), int(np.prod(x_test.shape[1:]))
    ours = reconstruction_error(model, x_test)
    flat = x_test.reshape(n, -1).astype(np.float64)
    x_pca = pca.inverse_transform(pca.transform(flat))  # (n, d)
    pca_per_image = ((x_pca - flat) ** 2).sum(axis=1)  # (n,)
    sample, feature = data.sample_word, data.feature_word
    scaled = "" if data.rescaling is None else f", in the units the model trained in ({data.rescaling.kind} rescaling)"
    metrics.add("recon_per_image", f"reconstruction error per {sample}", float(ours.per_image.mean()),
                float(pca_per_image.mean()), f"sum over the {d} {feature}s of (x̂ − x)², mean over {n} test {sample}s"
                f"{scaled}")
    metrics.add("mse", f"reconstruction error per {feature} (MSE)", ours.mse, float(pca_per_image.mean() / d),
                f"mean of (x̂ − x)² over test {sample}s and {feature}s", fmt="{:.5f}")
    if data.images:  # a peak signal-to-noise ratio is an image's measure
        data_range = _data_range(x_test)
        x_hat = map_batches(model.reconstruct, x_test, model)
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
        what = (f"binarized test {sample}s (x > 0.5)" if binary
                else f"test {sample}s, Gaussian decoder with variance 1/2")
        was_training = model.training
        model.eval()
        try:
            value = elbo(model, x, samples=10, generator=torch.Generator().manual_seed(SEED)).mean().item()
            m = min(NLL_POINTS, n)
            nll = importance_sampled_nll(model, x[:m], k=NLL_SAMPLES,
                                         generator=torch.Generator().manual_seed(SEED)).mean().item()
        finally:
            model.train(was_training)
        metrics.add("elbo", "ELBO", value, None, f"nats per {sample} on {n} {what}; 10 posterior samples")
        metrics.add("nll", "negative log-likelihood (importance-sampled)", nll, None,
                    f"nats per {sample} on the first {m} {what}; k = {NLL_SAMPLES} importance samples (Burda et al. 2016)")
    if data.y_train is not None and data.y_test is not None and len(np.unique(data.y_train)) > 1:
        z_train, z_test = pca.transform(data.x_train.reshape(len(data.x_train), -1)), pca.transform(flat)
        metrics.add("probe", "probe accuracy (logistic regression on codes)",
                    _probe_accuracy(h_train, data.y_train, h_test, data.y_test),
                    _probe_accuracy(z_train, data.y_train, z_test, data.y_test),
                    f"fitted on the codes of {len(h_train)} training {sample}s, accuracy on {n} test {sample}s",
                    fmt="{:.3f}")
        if n >= 2:  # the test points of the code-space figure: the same seeded subsample, the same numbers
            rows = subsample(n, MAX_POINTS, SEED)
            metrics.add("one_nn", "1-NN accuracy of codes", one_nn_accuracy(h_test[rows], data.y_test[rows]),
                        one_nn_accuracy(z_test[rows], data.y_test[rows]),
                        f"each of {len(rows)} test {sample}s labelled as its nearest other test {sample} in code space "
                        f"(leave-one-out); no training", fmt="{:.3f}")
    return metrics


__all__ = ["Metrics", "compute_metrics", "NLL_POINTS", "NLL_SAMPLES"]
