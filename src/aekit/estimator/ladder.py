"""LadderClassifier: semi-supervised classification with a ladder network (Rasmus et al., NIPS 2015).

A scikit-learn classifier over :mod:`aekit.models.ladder` (the network), :mod:`aekit.objectives.ladder`
(its cost) and :mod:`aekit.training.ladder` (the published schedule)::

    clf = LadderClassifier(random_state=0).fit(X, y_semi)   # y_semi: -1 marks the unlabelled rows
    clf.predict(X_test); clf.predict_proba(X_test); clf.score(X_test, y_test)
    clf.save("ladder/"); LadderClassifier.load("ladder/")   # estimator.json + ladder.safetensors/.json

The parameter check, the input validation, the seed and the save/load of ``estimator.json`` are the
other aekit estimators' (:class:`~aekit.estimator.base.AutoencoderBase`'s), borrowed as they are; the
network's files are its own.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from aekit.errors import ConfigError
from aekit.estimator.base import EVAL_BATCH, AutoencoderBase, store
from aekit.estimator.classifier import _unlabelled
from aekit.estimator.parameters import PARAMETERS
from aekit.models.batched import map_batches
from aekit.models.ladder import LadderNetwork, check_ladder_fits, load_ladder, save_ladder
from aekit.models.memory import COPIES_TRAINING
from aekit.params import message
from aekit.training.ladder import LadderConfig, LadderSchedule, batches, fit_ladder, still_falling
from aekit.training.precision import resolve_device

logger = logging.getLogger(__name__)

# lambda_0 (the input), lambda_1 (the first hidden layer), then every layer above: Rasmus et al.'s MNIST
# weights for 100 labels, 1000, 10, 0.1, 0.1, 0.1, 0.1, 0.1 (the authors' code, "mnist_100_full")
FULL_WEIGHTS = (1000.0, 10.0, 0.1)
# the Gamma-model's one weight, at the top, for 100 labels (the authors' code, "mnist_100_gamma")
GAMMA_WEIGHT = 0.5


def published_weights(variant: str, n_layers: int) -> tuple[float, ...]:
    """``denoising_weights="auto"`` for a network of ``n_layers`` = L (L + 1 weights, input to top)."""
    if variant == "gamma":
        return (0.0,) * n_layers + (GAMMA_WEIGHT,)
    return tuple(FULL_WEIGHTS[min(l, 2)] for l in range(n_layers + 1))


class LadderClassifier(ClassifierMixin, BaseEstimator):
    """Semi-supervised classifier: a ladder network (Rasmus, Valpola, Honkala, Berglund & Raiko, NIPS 2015).

    An MLP classifier whose every layer is also a denoising autoencoder: a corrupted copy of the
    network (Gaussian noise at every layer) is trained on the labels, while a decoder reconstructs
    each layer of the clean network from the corrupted one, for every row, labelled or not. Rows whose
    label is ``-1`` are unlabelled (the convention of ``sklearn.semi_supervised``); every row, labelled
    or not, is also an unlabelled row. Inputs are expected on a unit scale (pixels in [0, 1], or
    standardised columns): the noise is added in X's units.

    The defaults are the published ones for MNIST with 100 labels (Rasmus et al., section 4.1, and
    the authors' code), never tuned on aekit's data: widths 1000-500-250-250-250 then the classes,
    noise std 0.3, denoising weights 1000, 10, 0.1, 0.1, 0.1, 0.1, 0.1 (input to top; the
    Gamma-model: 0.5 at the top alone), Adam at 0.002 decaying linearly to 0 over the last third of
    150 epochs, batches of 100 labelled and 100 unlabelled rows. The input's weight of 1000 suits
    MNIST's 784 pixels; on data with a few features the input's reconstruction can drown the labels
    (on scikit-learn's two-feature blobs the default fits the training labels worse than chance):
    weigh it less there, e.g. ``denoising_weights=(1.0,) * (len(hidden) + 2)``.

    Parameters
    ----------
    hidden : tuple of int, default=(1000, 500, 250, 250, 250)
        Widths of the hidden layers; the top layer has one unit per class.
    variant : {"full", "gamma"}, default="full"
        "full": a denoising cost at every layer; "gamma": the Gamma-model, at the top layer only (a
        decoder of one combinator, much cheaper).
    noise_std : float, default=0.3
        Standard deviation of the Gaussian noise added to the input and to every normalised layer of
        the corrupted path; 0 trains without corruption.
    denoising_weights : "auto" or tuple of float, default="auto"
        lambda_0 (input) ... lambda_L (top), len(hidden) + 2 values; "auto" is the published weights
        above (for other depths: 1000 at the input, 10 at the first hidden layer, 0.1 above). All 0
        (with ``noise_std=0``) is the same MLP trained on the labels alone, with batch normalisation.
        The Gamma-model takes only a top weight.
    epochs : int, default=150
        The budget: an epoch is one pass over the rows of X (the unlabelled rows), in steps of
        ``batch_size`` of them, each step with ``batch_size`` labelled rows too (cycling). 150 epochs
        are Rasmus et al.'s (there 60,000 images, 90,000 steps; on MNIST-5k's 3,500 training images,
        5,250 steps).
    batch_size : int, default=100
        Unlabelled rows per step, and labelled rows per step (all of them when there are fewer).
    lr : float, default=0.002
        Adam's learning rate for the first two thirds of the epochs; it then decays linearly to 0.
    tol : float, default=0.05
        Convergence check: a ``ConvergenceWarning`` when the training cost still fell by more than
        this fraction between the last ``n_iter_no_change`` epochs before the decay and the
        ``n_iter_no_change`` before those (the budget ended before the cost levelled off). The cost
        wanders by a few per cent between epochs; a budget far too short falls by tens of per cent
        (digits with 50 labels, hidden=(256, 128): 1.2 % in 150 epochs, 67 % in 30).
    n_iter_no_change : int, default=10
    random_state : int, RandomState or None, default=None
        Initialisation, batch order and noise all derive from one seed (``seed_``); an int makes a
        CPU fit reproducible bit for bit, without touching torch's global random state.
    verbose : int, default=0
        1 prints one line per epoch (every cost term).
    device : {"cpu", "cuda", "mps", "auto", ...}, default="cpu"

    Attributes
    ----------
    classes_ : the labels seen (-1 excluded). model_ : the :class:`~aekit.models.ladder.LadderNetwork`.
    denoising_weights_ : the weights used. history_ : one record per epoch (``train``: the mean of each
    cost term: ``xent`` and ``denoise<l>``, weighted). n_epochs_, n_iter_ : epochs trained.
    stop_reason_ : "converged", "budget" (see ``tol``), "completed" (too few epochs to judge) or
    "interrupted". seed_, n_features_in_, input_shape_.
    """

    # the one table of the ladder's settings (the ``ladder`` section of ``aekit ladder``), plus the seed and verbosity
    _parameters = {**{f.name: f.metadata["constraint"] for f in dataclasses.fields(LadderConfig)},
                   "random_state": PARAMETERS["random_state"], "verbose": PARAMETERS["verbose"]}
    _fitted_attributes = ("n_features_in_", "input_shape_", "classes_", "denoising_weights_", "seed_", "n_epochs_",
                          "n_iter_", "stop_reason_", "history_")

    # What every aekit estimator shares, as AutoencoderBase defines it: the parameter check against
    # ``_parameters``, the one seed, X's validation (images flattened, their shape kept) and
    # estimator.json (save writes the parameters and ``_fitted_attributes``, then ``_save_model``).
    _check_params = AutoencoderBase._check_params
    _resolve_seed = AutoencoderBase._resolve_seed
    _validate_X = AutoencoderBase._validate_X

    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator into the folder ``path`` (created) and return it: ``estimator.json``
        (parameters and fitted attributes) and the network's ``ladder.safetensors`` + ``ladder.json``.
        No pickle: :meth:`load` can never run code."""
        return AutoencoderBase.save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> LadderClassifier:
        """The estimator :meth:`save` wrote into ``path``, ready to predict; a damaged file is one error line."""
        return AutoencoderBase.load.__func__(cls, path)

    def __init__(self, hidden: tuple = (1000, 500, 250, 250, 250), *, variant: str = "full", noise_std: float = 0.3,
                 denoising_weights: Any = "auto", epochs: int = 150, batch_size: int = 100, lr: float = 0.002,
                 tol: float = 0.05, n_iter_no_change: int = 10, random_state: Any = None, verbose: int = 0,
                 device: str = "cpu") -> None:
        store(self, locals())

    def _resolve_weights(self) -> tuple[float, ...]:
        n_layers = len(self.hidden) + 1
        if self.denoising_weights == "auto":
            weights = published_weights(self.variant, n_layers)
            logger.info("denoising_weights='auto': %s (Rasmus et al.'s for %s)", weights,
                        "the Gamma-model" if self.variant == "gamma" else "the full ladder")
            return weights
        weights = tuple(float(w) for w in self.denoising_weights)
        if len(weights) != n_layers + 1:
            raise ConfigError(message("denoising_weights", type(self).__name__, f"'auto' or a list of len(hidden) + 2 "
                                      f"= {n_layers + 1} non-negative floats (the input, each hidden layer, the top)",
                                      self.denoising_weights))
        if self.variant == "gamma" and any(weights[:-1]):
            raise ConfigError(f"The 'denoising_weights' parameter of LadderClassifier weighs layers below the top, "
                              f"{self.denoising_weights!r}, but variant='gamma' has a decoder at the top layer only. "
                              f"Set the lower weights to 0, or use variant='full'.")
        return weights

    def _check_fits(self, n_features: int, n_classes: int) -> list[int]:
        """The network's widths (input, hidden, classes), refused in one line when it would not fit in the free
        memory: ``hidden`` within its range can still ask for terabytes."""
        sizes = [int(n_features), *(int(w) for w in self.hidden), int(n_classes)]
        check_ladder_fits(sizes, self.variant, COPIES_TRAINING)
        return sizes

    def fit(self, X: Any, y: Any, checkpoint: str | None = None) -> LadderClassifier:
        """Train on every row of X (n, d) or images (n, H, W); the rows whose label is not -1 also teach the labels.

        ``checkpoint``: a file saved atomically after every epoch; a fit given the same file, data and
        parameters after a crash or a kill continues from it and ends with the same weights."""
        from sklearn.utils.multiclass import check_classification_targets

        self._check_params()
        weights = self._resolve_weights()
        if y is None:  # scikit-learn's wording
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        x = self._validate_X(X, reset=True)  # (n, d) float32; images flattened, their shape kept
        y = column_or_1d(y, warn=True)
        check_consistent_length(x, y)
        check_classification_targets(y)
        labelled = ~_unlabelled(y)
        if not labelled.any():
            raise ValueError("y has no labelled row: every label is -1 (unlabelled). LadderClassifier needs labelled "
                             "rows of every class it should predict; to learn features only, use aekit.Autoencoder.")
        self.classes_, y_index = np.unique(y[labelled], return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y's labelled rows hold one class only ({self.classes_[0]!r}): LadderClassifier needs "
                             f"labelled rows of at least two classes, and predicts only classes that have a labelled "
                             f"row. Label a few rows of every class.")
        seed = self._resolve_seed()
        schedule = LadderSchedule(epochs=int(self.epochs), batch_size=int(self.batch_size), lr=float(self.lr),
                                  noise_std=float(self.noise_std), weights=weights)
        device = resolve_device(self.device)
        sizes = self._check_fits(x.shape[1], len(self.classes_))
        forked = [] if device.type != "cuda" else [device.index if device.index is not None
                                                   else torch.cuda.current_device()]
        history: list[dict[str, Any]] = []
        stop_reason = None
        with torch.random.fork_rng(devices=forked):
            torch.manual_seed(seed)
            model = LadderNetwork(sizes, self.variant).to(device)
            try:
                fit_ladder(model, x[labelled], y_index, x, schedule, seed=seed, history=history,
                           on_epoch=self._print_epoch if self.verbose else None, checkpoint=checkpoint)
            except KeyboardInterrupt:  # Ctrl-C: keep what was learned
                if not history:
                    raise
                stop_reason = "interrupted"
                warnings.warn(f"Training interrupted by the user after {len(history)} epochs; the model keeps the "
                              f"weights it had then.", UserWarning, stacklevel=2)
        # prediction statistics: the clean path's over one pass of every row, in training-size batches
        rows = batches(len(x), schedule.batch_size, np.random.default_rng(seed))
        model.set_statistics([torch.from_numpy(x[r]).to(device) for r in rows])
        self.model_ = model.eval()
        self.denoising_weights_, self.seed_, self.history_ = weights, seed, history
        self.n_epochs_ = self.n_iter_ = len(history)
        self.stop_reason_ = stop_reason or self._judge(history, schedule)
        return self

    def _judge(self, history: list[dict[str, Any]], schedule: LadderSchedule) -> str:
        """Whether the training cost had levelled off when the learning rate began to decay."""
        window = min(int(self.n_iter_no_change), schedule.decay_start // 2)
        fall = still_falling(history, schedule.decay_start, window) if window else None
        if fall is None:
            return "completed"
        if fall > self.tol:
            warnings.warn(
                f"LadderClassifier's training cost still fell by {fall:.1%} over the last {window} epochs before the "
                f"learning rate began to decay (epoch {schedule.decay_start + 1} of epochs={self.epochs}), more than "
                f"tol={self.tol:g}: the budget ended before it levelled off. Increase epochs.",
                ConvergenceWarning, stacklevel=3)
            return "budget"
        return "converged"

    def _print_epoch(self, record: dict[str, Any]) -> None:
        """verbose: one line per epoch, every cost term."""
        terms = "  ".join(f"{name}={value:.5g}" for name, value in record["train"].items())
        print(f"epoch {record['epoch']}/{self.epochs}  lr={record['lr']:.3g}  {terms}  ({record['seconds']:.2f} s)")

    # -- prediction ---------------------------------------------------------------------------------
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the clean network, shape (n, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self, "model_")
        x = self._validate_X(X, reset=False)
        return map_batches(lambda xb: torch.softmax(self.model_(xb)["class_logits"], dim=-1), x, self.model_,
                           EVAL_BATCH).astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, shape (n,)."""
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- the network's files (estimator.json is written and read by the borrowed save/load) -----------
    def _save_model(self, directory: Path) -> None:
        save_ladder(self.model_, directory)

    def _load_model(self, directory: Path) -> None:
        self.model_ = load_ladder(directory, device=resolve_device(self.device))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # image arrays (n, H, W), flattened
        tags.classifier_tags.multi_class = True
        tags.non_deterministic = self.device != "cpu"
        return tags


__all__ = ["LadderClassifier", "published_weights"]
