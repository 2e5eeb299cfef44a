"""A finished run gathered for analysis: its model, config and history, its data split and rescaled
as in training, the objectives and corruption it trained with, its codes and a PCA baseline.

The report's metrics (:mod:`aekit.analysis.run_metrics`) and figures (:mod:`aekit.viz`) all read a
run through this one object, so none of them loads a file or rebuilds a component itself::

    data = load_run_analysis("runs/mnist5k-mlp-32-...")
    data.h_test           # codes of the test split (computed once)
    data.objectives       # [reconstruction, *penalties], built as the trainer built them

Costs are bounded by seeded subsamples: PCA and the probes see at most ``MAX_TRAIN`` training rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.analysis.embedding import DEFAULT_BACKEND
from aekit.errors import ConfigError
from aekit.models.batched import map_batches
from aekit.training.run_folder import SavedRun, load_run, read_metrics, read_summary

MAX_TRAIN = 5000  # training rows used for PCA and the probes (a seeded subsample beyond that)
SEED = 0  # every random choice of the analysis (subsamples, noise, prior draws) derives from it


@dataclass
class RunAnalysis:
    """A finished run with its data re-created as it was split and preprocessed for training."""

    run_dir: Path
    run: SavedRun
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    x_train: np.ndarray  # preprocessed, at most MAX_TRAIN rows (seeded subsample)
    y_train: np.ndarray | None
    n_train: int  # rows in the training split
    x_test: np.ndarray  # preprocessed
    y_test: np.ndarray | None
    class_names: list[str] | None
    objectives: list[Any] = field(default_factory=list)  # the reconstruction term, then each penalty, built
    corruption: Any = None  # the training corruption, built (called (x, generator)); None when there is none
    tsne_backend: str = DEFAULT_BACKEND  # how the analysis computes t-SNE maps
    n_jobs: int = 1  # threads the analysis may use (t-SNE)
    feature_names: list[str] | None = None  # a table's column names (its CSV header), one per feature

    @property
    def images(self) -> bool:
        """The samples are images (C, H, W), not rows of a table (d,): which figures and words apply."""
        return self.x_test.ndim > 2

    @property
    def sample_word(self) -> str:
        """What one sample is called on the page: "image" or "row"."""
        return "image" if self.images else "row"

    @property
    def feature_word(self) -> str:
        """What one input dimension is called: "pixel" or "feature"."""
        return "pixel" if self.images else "feature"

    def feature_name(self, j: int) -> str:
        """The name of feature ``j``: its CSV header, else ``feature j+1``."""
        names = self.feature_names
        return names[j] if names is not None and j < len(names) else f"{self.feature_word} {j + 1}"

    @property
    def rescaling(self) -> Any:
        """The rescaling the run fitted on its training split (``preprocessing.json``), or None."""
        return self.run.preprocessing

    @property
    def model(self) -> torch.nn.Module:
        return self.run.model

    @property
    def config(self) -> Any:
        return self.run.config

    @property
    def variational(self) -> bool:
        """The model has a Gaussian code head, and so a prior N(0, I) to sample from."""
        return bool(getattr(self.model, "variational", False))

    @cached_property
    def h_train(self) -> np.ndarray:
        """Codes of ``x_train``, (n, k) (the posterior mean for a variational model)."""
        return map_batches(self.model.encode, self.x_train, self.model)

    @cached_property
    def h_test(self) -> np.ndarray:
        """Codes of ``x_test``, (n, k)."""
        return map_batches(self.model.encode, self.x_test, self.model)

    @property
    def n_components(self) -> int:
        """Components of the PCA baseline: as many as the code has, at most the training rows and pixels."""
        return min(self.model.config.code_size, len(self.x_train), int(np.prod(self.x_train.shape[1:])))

    @cached_property
    def pca(self) -> Any:
        """scikit-learn's PCA with ``n_components``, fitted on the flattened ``x_train`` (seeded)."""
        from sklearn.decomposition import PCA

        return PCA(n_components=self.n_components, random_state=SEED).fit(self.x_train.reshape(len(self.x_train), -1))


def _rows(data: Any, rows: np.ndarray | None) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data if rows is None else data[rows]
    return data.array() if rows is None else data.rows(rows)


def load_run_analysis(run_dir: str | Path, *, tsne_backend: str = DEFAULT_BACKEND, n_jobs: int = 1) -> RunAnalysis:
    """The run in ``run_dir`` and its training and test data, split and rescaled as in training."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file() or not (run_dir / "model.json").is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a finished run folder (it needs config.yaml, model.json and "
                          f"model.safetensors, as 'aekit train' writes them).")
    run = load_run(run_dir)
    prepared = run.prepared_splits()  # the splits only: no model is built, torch's generator is not touched
    objectives, corruption = run.config.objectives(), run.config.corruptor()
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
    return RunAnalysis(
        run_dir=run_dir, run=run, history=read_metrics(run_dir), summary=read_summary(run_dir),
        x_train=_rows(prepared.train_x, rows), y_train=y_train,
        n_train=n_train, x_test=_rows(prepared.test_x, None), y_test=splits.test.labels,
        class_names=list(splits.test.classes) if getattr(splits.test, "classes", None) else None,
        objectives=list(objectives), corruption=corruption, tsne_backend=tsne_backend, n_jobs=n_jobs,
        feature_names=splits.train.features,
    )


__all__ = ["RunAnalysis", "load_run_analysis", "MAX_TRAIN", "SEED"]
