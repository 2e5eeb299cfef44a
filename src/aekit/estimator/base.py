"""What every aekit estimator shares: the parameter table, fit, encoding, scoring, save and load."""

from __future__ import annotations

import dataclasses
import logging
import numbers
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch

if tuple(map(int, re.match(r"(\d+)\.(\d+)", sklearn.__version__).groups())) < (1, 6):
    raise ImportError(f"aekit's scikit-learn estimators need scikit-learn>=1.6 (estimator tags, validate_data); "
                      f"found {sklearn.__version__}. Upgrade it: pip install -U 'scikit-learn>=1.6'.")

from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from aekit.data.corruption import Compose, build_corruption
from aekit.data.preparation import Rescaling, choose_rescale
from aekit.errors import ConfigError
from aekit.estimator.document import read_estimator, write_estimator
from aekit.estimator.parameters import PARAMETERS, encoder_settings
from aekit.estimator.shapes import array_ndim, model_shape
from aekit.models import ModelConfig, build_model
from aekit.models.batched import map_batches
from aekit.models.pca_start import choose_start, start_at_pca
from aekit.models.serialization import load_model, save_model
from aekit.objectives import build_objectives, choose_reconstruction
from aekit.params import check
from aekit.registry import get
from aekit.training.precision import resolve_device
from aekit.training.progress import epoch_printer
from aekit.training.train_config import MAX_BATCH, MIN_BATCH, STEPS_PER_EPOCH, TABLE_MIN_BATCH, auto_batch_size
from aekit.training.trainer import TrainConfig, Trainer, stop_reason_text

logger = logging.getLogger(__name__)

ELBO_SAMPLES = 10  # posterior draws per sample when a variational model scores data (ELBO estimate)
EVAL_BATCH = 1024


class AutoencoderBase(BaseEstimator):
    """Fit, encode, decode, score, save and load; the public classes add their scikit-learn role."""

    _parameters = PARAMETERS
    # whether a table (data standardised) gets the table defaults of aekit train (batches down to 16, a start at
    # PCA); the outlier detector's defaults were measured without them (docs/provenance.md)
    _table_defaults = True
    # fitted attributes written to estimator.json by save() (model_ goes to model.safetensors/json)
    _fitted_attributes = ("n_features_in_", "input_shape_", "rescaling_", "reconstruction_", "batch_size_", "seed_",
                          "n_epochs_", "n_iter_", "best_epoch_", "stop_reason_", "history_")

    # -- fit --------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        owner = type(self).__name__
        for name, constraint in self._parameters.items():
            check(name, getattr(self, name), constraint, owner=owner)
        resolve_device(self.device, parameter="device", owner=owner)  # one this machine has

    def _resolve_noise(self) -> dict[str, Any]:
        """``noise`` as the ``{name: level or {field: value}}`` mapping a run config's corruption holds."""
        if self.noise is None:
            return {}
        return dict(self.noise) if isinstance(self.noise, dict) else {self.noise[0]: self.noise[1]}

    def _corruption(self) -> Compose | None:
        """``noise`` built as a run config's corruption is, its errors naming this estimator's parameter."""
        try:
            return build_corruption(self._resolve_noise(), section="noise")
        except ConfigError as error:
            raise ConfigError(f"{error} (parameter 'noise' of {type(self).__name__})") from None

    def _fit_rescaling(self, x_train: np.ndarray) -> Rescaling | None:
        """``rescale`` resolved on the training rows and fitted on them (None: the data stay as they are), as
        ``aekit train`` decides ``data.rescale`` (:func:`aekit.data.preparation.choose_rescale`)."""
        kind = choose_rescale(self.rescale, x_train, where="rescale")
        if kind == "none":
            return None
        names = getattr(self, "feature_names_in_", None)
        return Rescaling.fit(kind, x_train, None if names is None else [str(n) for n in names])

    @property
    def _rescaling(self) -> Rescaling | None:
        """The fitted ``rescaling_`` (a JSON-friendly record, as estimator.json holds it) as a Rescaling."""
        record = getattr(self, "rescaling_", None)
        if record is None:
            return None
        return Rescaling(record["kind"], np.asarray(record["shift"], np.float32), np.asarray(record["scale"], np.float32))

    def _inputs(self, X: Any) -> np.ndarray:
        """X validated against the fitted X and rescaled as the model saw its training rows: (n, d) float32."""
        x = self._validate_X(X, reset=False)
        rescaling = self._rescaling
        return x if rescaling is None else rescaling.apply(x)

    def _in_data_units(self, x: np.ndarray) -> np.ndarray:
        """A reconstruction (n, d) in the units of X: the rescaling inverted."""
        rescaling = self._rescaling
        return x if rescaling is None else rescaling.invert(x)

    def _objectives(self, reconstruction: str) -> list[Any]:
        """The reconstruction term and ``penalties`` (with a variational model's KL term unless given),
        built as a run config's are, their errors naming this estimator's parameter."""
        try:
            return build_objectives(reconstruction, self.penalties, variational=self.variational)
        except ConfigError as error:
            raise ConfigError(f"{error} (parameter 'penalties' of {type(self).__name__})") from None

    def _resolve_seed(self) -> int:
        """One seed for initialisation, validation split, batch order and noise (recorded as ``seed_``)."""
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def fit(self, X: Any, y: Any = None) -> AutoencoderBase:
        """Train the autoencoder on X (n, d), (n, H, W) or (n, C, H, W); ``y`` is ignored.

        Returns
        -------
        self
        """
        self._check_params()
        x = self._validate_X(X, reset=True)  # (n, d) float32
        seed = self._resolve_seed()
        train_rows, val_rows = fit_rows(len(x), self.validation_fraction, self.early_stopping, seed)
        rescaling = self._fit_rescaling(x[train_rows])  # on the training rows only, as aekit train does
        self.rescaling_ = None if rescaling is None else {
            "kind": rescaling.kind, "shift": rescaling.shift.tolist(), "scale": rescaling.scale.tolist()}
        if rescaling is not None:
            x = rescaling.apply(x)
        reconstruction = choose_reconstruction(self.loss, x[train_rows], python=True)
        objectives = self._objectives(reconstruction)
        corruption = self._corruption()

        n_val = len(val_rows)
        x_train, x_val = x[train_rows], (x[val_rows] if n_val else None)
        # a table (standardised, as aekit train decides) takes the table defaults: batches down to TABLE_MIN_BATCH,
        # start="auto" at PCA
        table = self._table_defaults and rescaling is not None and rescaling.kind == "standard"
        batch_size = auto_batch_size(len(x_train), table) if self.batch_size == "auto" else self.batch_size
        if self.batch_size == "auto":
            logger.info("batch_size='auto': %d for n_train = %d (about %d steps an epoch, batches of %d to %d)",
                        batch_size, len(x_train), STEPS_PER_EPOCH, TABLE_MIN_BATCH if table else MIN_BATCH, MAX_BATCH)

        # each encoder kind takes its own settings, and one set for another kind is refused by name
        import inspect

        defaults = {name: parameter.default for name, parameter in inspect.signature(type(self)).parameters.items()}
        config = ModelConfig.of_kind(
            kind=self.kind, code_size=self.code_size if self.code_size == "auto" else int(self.code_size),
            activation=self.activation, code_activation=self.code_activation, variational=self.variational,
            output=get("objective", reconstruction).output,
            **encoder_settings(self, defaults),
        )
        train_config = TrainConfig(
            epochs=self.epochs if self.epochs == "auto" else int(self.epochs), max_epochs=int(self.max_epochs),
            tol=float(self.tol), patience=int(self.n_iter_no_change) if self.epochs == "auto" else None,
            batch_size=int(batch_size), optimizer=self.optimizer, lr=self.lr if self.lr == "auto" else float(self.lr),
            weight_decay=float(self.weight_decay), device=self.device,
        )
        device = resolve_device(self.device)
        # The model's initialisation and its own sampling (a VAE's reparameterisation) draw from torch's
        # global generator: fork it, seed the fork, and leave the caller's generator as it was.
        forked = [] if device.type != "cuda" else [
            device.index if device.index is not None else torch.cuda.current_device()]
        with torch.random.fork_rng(devices=forked):
            torch.manual_seed(seed)
            try:
                model = build_model(config, model_shape(self.input_shape_))
                start = choose_start(self.start, table, model.config, model_shape(self.input_shape_), len(x_train),
                                     where="start")
            except ConfigError as error:
                raise ConfigError(f"{error} (building the model of {type(self).__name__})") from None
            if start == "pca":  # as aekit train starts a table's model: PCA-k of the training rows
                start_at_pca(model, x_train)
            train_config = dataclasses.replace(train_config, start=start)  # the trainer scores a PCA start
            trainer = Trainer(model, objectives, train_config, corruption=corruption, seed=seed,
                              on_epoch=epoch_printer(train_config) if self.verbose else None,
                              progress=self.verbose >= 2)
            if self.verbose:
                held = f", {n_val} held out for validation" if n_val else " (none held out for validation)"
                length = (f"until it converges, at most {train_config.max_epochs} epochs" if train_config.auto
                          else f"for {train_config.total_epochs} epochs")
                self._say(f"training the autoencoder on {len(x_train)} rows{held}, {length}")
            start = time.perf_counter()
            try:
                history = trainer.fit(x_train, x_val)
            except KeyboardInterrupt:  # Ctrl-C: keep what was learned (the trainer restored the best epoch)
                if trainer.epoch == 0:
                    raise
                history = trainer.history
                warnings.warn(f"Training interrupted by the user after {trainer.epoch} epochs; the model keeps "
                              f"the weights of epoch {trainer.best_epoch}, the best one.", UserWarning, stacklevel=2)

        if trainer.stop_reason == "budget":
            warnings.warn(
                f"{type(self).__name__} stopped on its budget of max_epochs={self.max_epochs} while the "
                f"{'validation' if n_val else 'training'} loss was still improving by more than tol={self.tol:g} "
                f"within n_iter_no_change={self.n_iter_no_change} epochs: it has not converged. Increase "
                f"max_epochs (or lr).", ConvergenceWarning, stacklevel=2,
            )
        if self.verbose and trainer.stop_reason != "interrupted":
            why = stop_reason_text(trainer.stop_reason, train_config, validation=bool(n_val))
            self._say(f"trained {trainer.epoch} epochs in {time.perf_counter() - start:.1f} s, stopped because {why}; "
                      f"the model keeps epoch {trainer.best_epoch}")
        self.model_ = model.eval()
        self.history_ = history
        self.n_epochs_ = self.n_iter_ = trainer.epoch
        self.best_epoch_ = trainer.best_epoch
        self.stop_reason_ = trainer.stop_reason
        self.reconstruction_ = reconstruction
        self.batch_size_ = batch_size
        self.seed_ = seed
        return self

    def _say(self, message: str) -> None:
        """verbose: one line about the fit, named by the estimator (a grid search runs many)."""
        print(f"{type(self).__name__}: {message}", flush=True)

    # -- data -------------------------------------------------------------------------------------
    def _validate_X(self, X: Any, reset: bool) -> np.ndarray:
        """X as a writable float32 array (n, d); image arrays are flattened, their shape kept on fit.

        Tables (numpy, pandas, lists) go through scikit-learn's ``validate_data`` (feature names,
        n_features_in_, finite values); arrays of 3 or more axes are checked, then flattened.
        """
        if array_ndim(X) > 2:
            images = check_array(X, allow_nd=True, dtype=[np.float32, np.float64], input_name="X")
            shape, X = images.shape[1:], images.reshape(len(images), -1)
        else:
            shape = None
        x = validate_data(self, X, reset=reset, dtype=[np.float32, np.float64])
        if reset:
            self.input_shape_ = tuple(int(s) for s in shape) if shape is not None else (x.shape[1],)
        x = np.asarray(x, dtype=np.float32)
        return x if x.flags.writeable and x.flags.c_contiguous else np.array(x, dtype=np.float32, order="C")

    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    def _map(self, x: np.ndarray, fn: Any) -> np.ndarray:
        """``fn`` over x (n, ...) in batches on the model's device, as float32 numpy."""
        return map_batches(fn, x, self.model_, EVAL_BATCH)

    # -- using the fitted model -------------------------------------------------------------------
    def _encode(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        x = self._inputs(X)
        return self._map(x, self.model_.encode)  # (n, k); a variational model's posterior mean mu

    def score_samples(self, X: Any) -> np.ndarray:
        """Per-sample score, higher = better explained by the model (low = anomaly), shape (n,).

        The negative reconstruction loss of each sample (the training loss's reconstruction term:
        cross-entropy or squared error, summed over the features); for a variational model the ELBO
        E_q[log p(x|h)] - KL(q(h|x) || N(0, I)) in nats, estimated with ``ELBO_SAMPLES`` posterior draws
        from a generator seeded by ``seed_`` (the same X always gets the same scores).
        """
        check_is_fitted(self, "model_")
        x = self._inputs(X)
        if self.model_.variational:
            from aekit.analysis.likelihood import elbo

            # one call over all of X: the likelihood module's note on non-binary data appears once
            device = self._device()
            generator = torch.Generator(device=device).manual_seed(self.seed_)
            with torch.no_grad():
                scores = elbo(self.model_, torch.from_numpy(x).to(device), samples=ELBO_SAMPLES,
                              generator=generator).cpu().numpy()
        else:
            recon = get("objective", self.reconstruction_)()
            scores = self._map(x, lambda xb: -_per_sample_loss(recon, self.model_, xb))
        return scores.astype(np.float64)

    def score(self, X: Any, y: Any = None) -> float:
        """The mean of :meth:`score_samples`: negative mean reconstruction loss, or mean ELBO; higher is better."""
        return float(np.mean(self.score_samples(X)))

    def export(self, path: str | Path, format: str = "onnx") -> Path:
        """Write the fitted encoder and decoder for use without aekit into the folder ``path``: ``encoder.onnx``
        (X rows, a batch of any size, in the layout of the fitted X -> the codes this estimator's encoding
        gives, a variational model's posterior mean), ``decoder.onnx`` (codes -> reconstructions) and ``export.json``;
        ``format="pt2"`` writes ``torch.export`` programs instead. ONNX needs ``pip install 'aekit[export]'``.
        """
        from aekit.analysis.export import export_model

        check_is_fitted(self, "model_")
        export_model(self.model_, path, format, input_shape=self.input_shape_, source=type(self).__name__)
        return Path(path)

    # -- save / load ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator into the folder ``path`` (created) and return it.

        ``model.safetensors`` + ``model.json`` are the run-folder model files (``aekit.load_model(path)``
        reads them as a PyTorch module); ``estimator.json`` holds the parameters and the fitted
        attributes. No pickle: :meth:`load` can never run code.
        """
        check_is_fitted(self, "model_")
        return write_estimator(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> AutoencoderBase:
        """The estimator :meth:`save` wrote into ``path``, ready to transform and score."""
        return read_estimator(cls, Path(path))

    def _save_model(self, directory: Path) -> None:
        """The network's own files: ``model.safetensors`` + ``model.json``, the run folder's model files."""
        save_model(self.model_, directory)

    def _load_model(self, directory: Path) -> None:
        self.model_ = load_model(directory, device=resolve_device(self.device))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # image arrays (n, H, W) and (n, C, H, W)
        # bit-for-bit reproducible for a fixed random_state on the CPU; CUDA kernels are not
        tags.non_deterministic = self.device != "cpu"
        return tags


def fit_rows(n: int, validation_fraction: float, early_stopping: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of an n-row X that ``fit`` trains on and the rows it holds out to validate on (empty when
    it holds out none), as ``fit`` draws them from its seed: a baseline that should see the same rows asks here."""
    n_val = int(validation_fraction * n) if early_stopping else 0
    if early_stopping and validation_fraction > 0 and (n_val == 0 or n_val == n):
        logger.info("validation_fraction=%g of %d samples leaves no validation set; convergence and the best "
                    "weights are judged on the training loss", validation_fraction, n)
        n_val = 0
    order = np.random.default_rng(seed).permutation(n)
    return order[n_val:], order[:n_val]


def store(estimator: BaseEstimator, arguments: dict[str, Any]) -> None:
    """scikit-learn's rule for ``__init__``: store every constructor argument, unchanged, under its name (the
    encoder settings gathered in ``**encoder`` each under its own, :func:`~aekit.estimator.parameters.takes_encoder_settings`)."""
    for name, value in {**arguments, **arguments.get("encoder", {})}.items():
        if name not in ("self", "__class__", "encoder"):
            setattr(estimator, name, value)


def _per_sample_loss(objective: Any, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The reconstruction objective of each sample on its own, (B, d) -> (B,).

    An objective averages over its batch; ``torch.vmap`` calls it on batches of one, so any
    registered reconstruction loss scores samples without this module knowing its formula.
    """
    out = model(x)
    key = "logits" if "logits" in out else "x_hat"

    def one(x_i: torch.Tensor, raw_i: torch.Tensor) -> torch.Tensor:
        batch = {"x": x_i[None], "x_tilde": x_i[None]}
        return sum(objective(batch, {key: raw_i[None]}, model).values())

    return torch.vmap(one)(x, out[key])  # (B,)
