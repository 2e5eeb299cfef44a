"""Semi-supervised classification: an autoencoder pretrained on every row, then a probe or fine-tuning."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from aekit.estimator.base import EVAL_BATCH, AutoencoderBase, store
from aekit.estimator.parameters import PARAMETERS, POSITIVE_INT, takes_encoder_settings
from aekit.estimator.shapes import model_shape
from aekit.models.batched import map_batches
from aekit.params import MAX_REPEATS, SIZE, AnyOf, Interval, Options, SequenceOf
from aekit.training.progress import phase_printer


@takes_encoder_settings
class AutoencoderClassifier(ClassifierMixin, AutoencoderBase):
    """Semi-supervised classification: pretrain an autoencoder on every row, then learn the labels.

    Rows whose label is ``-1`` are unlabelled (the convention of ``sklearn.semi_supervised``): they
    train the autoencoder and are never used as labels. Then, with ``features="auto"`` (the default),
    a logistic regression reads the codes h, the raw input x or both, whichever — together with its
    regularisation C from ``Cs`` — has the best accuracy in cross-validation inside the labelled rows
    (:mod:`aekit.training.probe`): every choice uses only the labels given, and where the codes do not
    help, the raw input is chosen, so the estimator does not fall behind logistic regression on X.

    ``features="finetune"`` instead drops the decoder, attaches a head (``head``: linear softmax or a
    one-hidden-layer MLP), trains it with the encoder frozen for ``freeze_epochs``, then fine-tunes the
    whole network for ``finetune_epochs`` with the smaller ``finetune_lr`` (Erhan et al., JMLR 2010;
    :mod:`aekit.training.finetune`), early-stopped on ``validation_fraction`` of the labelled rows.

    Parameters are those of :class:`Autoencoder` (the autoencoder's own training: ``epochs``, ``lr``,
    ``noise``, penalties...) plus the ones below. ``verbose=1`` prints the autoencoder's epochs as
    :class:`Autoencoder` does, then which features and C the cross-validation chose (with its accuracy
    and time) or, with ``features="finetune"``, one line per fine-tuning epoch of each phase.

    features : {"auto", "codes", "input", "both", "finetune"}, default="auto"
        What the classifier reads; "auto" chooses among codes, input and both by cross-validation.
    Cs : tuple of float, default=(0.01, 0.1, 1.0, 10.0)
        Inverse L2 strengths of the logistic regression tried by the cross-validation.
    cv : int, default=5
        Folds of the stratified cross-validation (at most the labelled rows of the rarest class;
        repeated three times over reshuffles below 300 labelled rows).
    head : {"softmax", "mlp"}, default="softmax"
        Head of ``features="finetune"``.
    head_hidden : int, default=128
    freeze_epochs : int, default=20
        Epochs training the head alone on the frozen encoder (``features="finetune"``).
    finetune_epochs : int, default=50
        Epochs of end-to-end fine-tuning after unfreezing, early-stopped with ``finetune_patience``.
    head_lr : float, default=1e-2
        Learning rate of the frozen phase.
    finetune_lr : float, default=3e-4
        Learning rate of the end-to-end phase.
    finetune_patience : int or None, default=15
        Early stopping of both fine-tuning phases on the held-out labelled rows.

    Attributes: those of :class:`Autoencoder` plus ``classes_`` (the labels seen, -1 excluded),
    ``classifier_`` (the PyTorch classifier), ``features_`` and ``C_`` (the choice), ``cv_results_``
    (every candidate's cross-validated accuracy and log-loss) and ``finetune_history_``.
    """

    _parameters = {
        **PARAMETERS,
        "features": Options(("auto", "codes", "input", "both", "finetune")),
        "Cs": SequenceOf(Interval(float, 0, None, closed="neither"), min_length=1),
        "cv": Interval(int, 2, None),
        "head": Options(("softmax", "mlp")),
        "head_hidden": SIZE,
        "freeze_epochs": Interval(int, 0, MAX_REPEATS),
        "finetune_epochs": Interval(int, 0, MAX_REPEATS),
        "head_lr": Interval(float, 0, None, closed="neither"),
        "finetune_lr": Interval(float, 0, None, closed="neither"),
        "finetune_patience": AnyOf(None, POSITIVE_INT),
    }
    _fitted_attributes = (*AutoencoderBase._fitted_attributes, "classes_", "features_", "C_", "cv_results_",
                          "finetune_history_")

    def __init__(
        self, code_size: Any = "auto", *, features: str = "auto", Cs: tuple = (0.01, 0.1, 1.0, 10.0), cv: int = 5,
        head: str = "softmax", head_hidden: int = 128, freeze_epochs: int = 20, finetune_epochs: int = 50,
        head_lr: float = 1e-2, finetune_lr: float = 3e-4, finetune_patience: int | None = 15,
        kind: str = "mlp", activation: str = "relu", code_activation: str = "linear", variational: bool = False,
        loss: str = "auto", rescale: str = "auto",
        noise: Any = None, penalties: dict | None = None, epochs: Any = "auto",
        max_epochs: int = 200, tol: float = 1e-3, n_iter_no_change: int = 10, early_stopping: bool = True,
        batch_size: Any = "auto", lr: Any = "auto", optimizer: str = "adam", weight_decay: float = 0.0,
        validation_fraction: float = 0.1, start: str = "auto", random_state: Any = None, verbose: int = 0, device: str = "cpu",
        **encoder: Any,
    ) -> None:
        store(self, locals())

    def fit(self, X: Any, y: Any) -> AutoencoderClassifier:
        """Pretrain on all rows of X, then fit the classifier on the rows whose label is not -1."""
        from sklearn.utils.multiclass import check_classification_targets

        self._check_params()
        _, y = validate_data(self, X, y, reset=True, allow_nd=True, dtype=None, ensure_all_finite=False,
                             y_numeric=False)
        check_classification_targets(y)
        labelled = ~_unlabelled(y)
        if not labelled.any():
            raise ValueError("y has no labelled row: every label is -1 (unlabelled). AutoencoderClassifier needs "
                             "at least one labelled row per class; to learn codes only, use aekit.Autoencoder.")
        self.classes_, y_index = np.unique(y[labelled], return_inverse=True)
        super().fit(X)  # the autoencoder sees every row, labelled or not, and never a label
        x = self._inputs(X).reshape(len(y), *model_shape(self.input_shape_))
        if self.features == "finetune":
            self._finetune(x[labelled], y_index)
        else:
            self._probe(x, labelled, y_index)
        return self

    def _probe(self, x: np.ndarray, labelled: np.ndarray, y_index: np.ndarray) -> None:
        """A logistic regression on the codes (standardised with all rows' statistics: no label), the input
        as it is (so logistic regression on X itself is a candidate) or both, chosen by cross-validation
        on the labelled rows."""
        from aekit.models.classifier import Classifier
        from aekit.training.probe import fit_logistic, select_probe

        h = self._map(x, self.model_.encode)  # (n, k)
        flat = x.reshape(len(x), -1)  # (n, d)
        h_shift, h_scale = h.mean(axis=0), h.std(axis=0)
        h_scale = np.where(h_scale > 1e-8, h_scale, 1.0)
        d = flat.shape[1]
        stats = {"codes": (h_shift, h_scale), "input": (np.zeros(d), np.ones(d)),
                 "both": (np.concatenate([h_shift, np.zeros(d)]), np.concatenate([h_scale, np.ones(d)]))}
        columns = {"codes": lambda rows: h[rows], "input": lambda rows: flat[rows],
                   "both": lambda rows: np.hstack([h[rows], flat[rows]])}
        names = ("codes", "input", "both") if self.features == "auto" else (self.features,)
        candidates = {name: (columns[name](labelled) - stats[name][0]) / stats[name][1] for name in names}
        if self.verbose:
            self._say(f"choosing the logistic regression's features ({', '.join(names)}) and C (among "
                      f"{len(self.Cs)}) by cross-validation on the {int(labelled.sum())} labelled rows")
        start = time.perf_counter()
        choice = select_probe(candidates, y_index, [float(c) for c in self.Cs], cv=int(self.cv),
                              seed=self.seed_ % 2**32)
        if self.verbose:
            score = "" if choice.accuracy is None else f", cross-validated accuracy {choice.accuracy:.3f}"
            self._say(f"chose features={choice.features!r}, C={choice.C:g}{score} "
                      f"({time.perf_counter() - start:.1f} s)")
        weight, bias = fit_logistic(candidates[choice.features], y_index, choice.C, len(self.classes_))
        with torch.random.fork_rng(devices=[]):  # the head's random start is overwritten: leave torch's RNG alone
            classifier = Classifier.from_autoencoder(self.model_, len(self.classes_), features=choice.features,
                                                     standardize=True)
        shift, scale = stats[choice.features]
        device = self._device()
        with torch.no_grad():
            for tensor, value in ((classifier.shift, shift), (classifier.scale, scale),
                                  (classifier.head.weight, weight), (classifier.head.bias, bias)):
                tensor.copy_(torch.as_tensor(value, dtype=torch.float32, device=device))
        self.classifier_ = classifier.to(device).eval()
        self.features_, self.C_, self.cv_results_ = choice.features, choice.C, choice.results
        self.finetune_history_ = []

    def _finetune(self, x: np.ndarray, y_index: np.ndarray) -> None:
        """Head on the frozen encoder, then end to end; early stopping on held-out labelled rows."""
        from sklearn.model_selection import train_test_split

        from aekit.training.finetune import FinetuneConfig, finetune

        rows = np.arange(len(x))
        stratify = y_index if np.bincount(y_index).min() >= 2 else None
        n_val = int(self.validation_fraction * len(x))
        if n_val >= len(self.classes_) and len(x) - n_val >= len(self.classes_) and stratify is not None:
            train_rows, val_rows = train_test_split(rows, test_size=n_val, stratify=stratify,
                                                    random_state=self.seed_ % 2**32)
        else:
            train_rows, val_rows = rows, rows[:0]
        config = FinetuneConfig(labels=None, head=self.head, head_hidden=int(self.head_hidden),
                                freeze_epochs=int(self.freeze_epochs), epochs=int(self.finetune_epochs),
                                lr=float(self.head_lr), finetune_lr=float(self.finetune_lr),
                                batch_size=int(self.batch_size_) if self.batch_size != "auto" else 32,
                                patience=None if self.finetune_patience is None else int(self.finetune_patience),
                                seed=self.seed_ % 2**31)
        if self.verbose:
            self._say(f"fine-tuning on {len(train_rows)} labelled rows ({len(val_rows)} held out): the head alone "
                      f"for up to {config.freeze_epochs} epochs, then end to end for up to {config.epochs}")
        result = finetune(self.model_, x[train_rows], y_index[train_rows], x[val_rows], y_index[val_rows], config,
                          n_classes=len(self.classes_), on_epoch=phase_printer() if self.verbose else None)
        self.classifier_ = result.classifier.eval()
        self.features_, self.C_, self.cv_results_ = "finetune", None, []
        self.finetune_history_ = result.history

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self, "classifier_")
        x = self._inputs(X).reshape(-1, *model_shape(self.input_shape_))
        return map_batches(lambda xb: torch.softmax(self.classifier_(xb)["class_logits"], dim=-1), x,
                           self.classifier_, EVAL_BATCH).astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, shape (n,)."""
        check_is_fitted(self, "classifier_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def save(self, path: str | Path) -> Path:
        """The autoencoder's files (see :meth:`Autoencoder.save`) plus ``classifier.safetensors``/``.json``."""
        from aekit.models.classifier import save_classifier

        check_is_fitted(self, "classifier_")
        directory = super().save(path)
        save_classifier(self.classifier_, self.model_.describe(), directory)
        return directory

    @classmethod
    def load(cls, path: str | Path) -> AutoencoderClassifier:
        from aekit.errors import WeightsError
        from aekit.models.classifier import load_classifier

        estimator = super().load(path)
        estimator.classifier_ = load_classifier(path)
        if estimator.classifier_.n_classes != len(estimator.classes_):
            raise WeightsError(f"{Path(path) / 'estimator.json'} has {len(estimator.classes_)} classes in 'classes_' "
                               f"but classifier.json {estimator.classifier_.n_classes}; restore the files that save() "
                               f"wrote, or fit and save the estimator again.")
        return estimator

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


def _unlabelled(y: np.ndarray) -> np.ndarray:
    """Rows marked unlabelled: label -1 (sklearn.semi_supervised's convention), numeric or string."""
    if y.dtype.kind in "iuf":
        return y == -1
    return np.asarray([str(v) == "-1" for v in y])
