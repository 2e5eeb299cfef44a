"""scikit-learn estimators over aekit's trainer: an autoencoder transformer and an outlier detector.

Thin adapters (scikit-learn's estimator API, Buitinck et al., "API design for machine learning
software: experiences from the scikit-learn project", 2013) over the same pieces a run uses: the
model is built from a :class:`~aekit.models.autoencoder.ModelConfig`, every loss term and every
corruption is looked up by name in the registry, and the :class:`~aekit.training.trainer.Trainer`
fits it. A new regulariser or corruption therefore needs no change here: ``penalties`` and ``noise``
take any registered name, checked by the component's own declared fields (the one path a run config
takes too, :func:`aekit.objectives.build_objectives`)::

    ae = Autoencoder(code_size=10, hidden=(256,), noise=("masking", 0.25), penalties={"l1": 1e-4}, random_state=0)
    H = ae.fit_transform(X)                 # (n, 10) codes; X is (n, d), (n, H, W) or (n, C, H, W)
    X_hat = ae.inverse_transform(H)         # back in the layout of X
    ae.score_samples(X)                     # -reconstruction loss per sample (ELBO if variational)

    detector = AutoencoderOutlierDetector(code_size=8, contamination=0.05).fit(X_train)
    detector.predict(X_test)                # +1 inlier, -1 outlier (scikit-learn's convention)

Conventions (scikit-learn's ``decomposition/_pca.py``, ``ensemble/_iforest.py``): ``__init__`` only
stores; ``fit`` checks every parameter against one declared table and resolves the automatic ones
(logged, never silent); learned state ends in ``_``. With an int ``random_state`` a CPU fit is
reproducible bit for bit: the model is initialised and trained inside a forked torch RNG seeded from
it (torch's global RNG is left as it was) and the Trainer's generator (batch order, noise) uses the
same seed.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
import torch

if tuple(map(int, re.match(r"(\d+)\.(\d+)", sklearn.__version__).groups())) < (1, 6):
    raise ImportError(f"aekit's scikit-learn estimators need scikit-learn>=1.6 (estimator tags, validate_data); "
                      f"found {sklearn.__version__}. Upgrade it: pip install -U 'scikit-learn>=1.6'.")

from sklearn.base import BaseEstimator, ClassifierMixin, OutlierMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from aekit.errors import ConfigError, DataError, WeightsError
from aekit.io import atomic_write_text
from aekit.models.autoencoder import ModelConfig, build_model
from aekit.models.batched import map_batches
from aekit.models.serialization import load_model, save_model
from aekit.objectives import build_objectives
from aekit.params import AnyOf, InstanceOf, Interval, Options, Registered, SequenceOf, check
from aekit.data.corruption import Compose
from aekit.registry import available, build, get
from aekit.training.trainer import TrainConfig, Trainer, resolve_device

logger = logging.getLogger(__name__)

FORMAT = "aekit.estimator/2"  # the tag of estimator.json; bump it when the layout changes
# /1 had one parameter per penalty (l1, kl_sparsity + sparsity_target, contractive, beta + kl_warmup_epochs);
# /2 has them in ``penalties``. load() reads both.
_FORMATS = ("aekit.estimator/1", FORMAT)
ESTIMATOR_JSON = "estimator.json"
STEPS_PER_EPOCH = 20  # batch_size="auto" aims at this many optimiser steps an epoch
ELBO_SAMPLES = 10  # posterior draws per sample when a variational model scores data (ELBO estimate)
_EVAL_BATCH = 1024


class _Noise:
    """A constraint: None, a (name, level) pair, or a dict {name: level or {field: value}}."""

    def accepts(self, value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, dict):
            return all(isinstance(name, str) for name in value)
        return isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], str)

    def __str__(self) -> str:
        return "None, a (name, level) pair such as ('masking', 0.25), or a dict {name: level or {field: value}}"


class _Penalties:
    """A constraint: None or a dict {registered penalty: weight or {field: value}}; each entry's fields
    are checked by the objective itself when it is built."""

    def accepts(self, value: Any) -> bool:
        if value is None:
            return True
        names = [n for n in available("objective") if not hasattr(get("objective", n), "output")]
        return isinstance(value, dict) and all(isinstance(name, str) and name in names for name in value)

    def __str__(self) -> str:
        names = [n for n in available("objective") if not hasattr(get("objective", n), "output")]
        return ("None or a dict {name: weight or {field: value}} whose names are registered penalties among {"
                + ", ".join(repr(n) for n in names) + "}, e.g. {'l1': 1e-4}")


_POSITIVE_INT = Interval(int, 1, None)
_NON_NEGATIVE = Interval(float, 0, None)

# Every constructor parameter and what it may hold; fit checks them all before anything else.
_PARAMETERS: dict[str, Any] = {
    "code_size": AnyOf(Options(("auto",)), _POSITIVE_INT),
    "hidden": SequenceOf(_POSITIVE_INT),
    "kind": Registered("encoder"),
    "channels": SequenceOf(_POSITIVE_INT),
    "kernel_size": _POSITIVE_INT,
    "activation": Registered("activation"),
    "code_activation": Registered("activation"),
    "tied": InstanceOf(bool),
    "variational": InstanceOf(bool),
    "loss": Registered("objective", having="output", extra=("auto",)),
    "noise": _Noise(),  # names and levels are checked by the corruptions themselves
    "penalties": _Penalties(),  # and fields by the objectives
    "epochs": AnyOf(Options(("auto",)), _POSITIVE_INT),
    "max_epochs": _POSITIVE_INT,
    "tol": Interval(float, 0, 1, closed="left"),
    "n_iter_no_change": _POSITIVE_INT,
    "early_stopping": InstanceOf(bool),
    "batch_size": AnyOf(Options(("auto",)), _POSITIVE_INT),
    "lr": AnyOf(Options(("auto",)), Interval(float, 0, None, closed="neither")),
    "optimizer": Options(("adam", "sgd")),
    "weight_decay": _NON_NEGATIVE,
    "validation_fraction": Interval(float, 0, 1, closed="left"),
    "random_state": AnyOf(None, Interval(int, 0, 2**32 - 1), InstanceOf(np.random.RandomState)),
    "verbose": AnyOf(InstanceOf(bool), Interval(int, 0, None)),
    "device": Options(("cpu", "cuda", "auto")),
}


class _AutoencoderBase(BaseEstimator):
    """Fit, encode, decode, score, save and load; the public classes add their scikit-learn role."""

    _parameters = _PARAMETERS
    # fitted attributes written to estimator.json by save() (model_ goes to model.safetensors/json)
    _fitted_attributes = ("n_features_in_", "input_shape_", "reconstruction_", "batch_size_", "seed_",
                          "n_epochs_", "n_iter_", "best_epoch_", "stop_reason_", "history_")

    # -- fit --------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        owner = type(self).__name__
        for name, constraint in self._parameters.items():
            check(name, getattr(self, name), constraint, owner=owner)
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"The 'device' parameter of {owner} is 'cuda' but no CUDA device is available. "
                              f"Use 'cpu', or 'auto' to take a GPU only when there is one.")

    def _resolve_noise(self) -> dict[str, Any]:
        """``noise`` as the ``{name: level or {field: value}}`` mapping a run config's corruption holds."""
        if self.noise is None:
            return {}
        return dict(self.noise) if isinstance(self.noise, dict) else {self.noise[0]: self.noise[1]}

    def _build(self, name: str, kind: str, section: str, spec: Any) -> Any:
        """A registered component, its errors naming the estimator parameter that asked for it."""
        try:
            return build(kind, name, spec, section=section)
        except ConfigError as error:
            raise ConfigError(f"{error} (parameter {section!r} of {type(self).__name__})") from None

    def _resolve_loss(self, x: np.ndarray) -> str:
        """``loss`` with 'auto' resolved from the data: cross-entropy for X in [0, 1], else squared error."""
        low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        inside = 0.0 <= low and high <= 1.0
        if self.loss == "auto":
            name = "bce" if inside else "mse"
            why = "X is in [0, 1]" if inside else f"X has values in [{low:g}, {high:g}], outside [0, 1]"
            logger.info("loss='auto': %s, so the reconstruction loss is %r", why, name)
            return name
        if get("objective", self.loss).output == "sigmoid" and not inside:
            raise DataError(
                f"X has values in [{low:g}, {high:g}] but loss={self.loss!r} (cross-entropy) needs data in [0, 1]. "
                f"Put sklearn.preprocessing.MinMaxScaler before {type(self).__name__} in a Pipeline, or set "
                f"loss='mse' (or 'auto')."
            )
        return self.loss

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

    def fit(self, X: Any, y: Any = None) -> _AutoencoderBase:
        """Train the autoencoder on X (n, d), (n, H, W) or (n, C, H, W); ``y`` is ignored.

        Returns
        -------
        self
        """
        self._check_params()
        x = self._validate_X(X, reset=True)  # (n, d) float32
        reconstruction = self._resolve_loss(x)
        objectives = self._objectives(reconstruction)
        parts = [self._build(name, "corruption", "noise", spec) for name, spec in self._resolve_noise().items()]
        corruption = Compose(parts) if parts else None
        seed = self._resolve_seed()

        n = len(x)
        n_val = int(self.validation_fraction * n) if self.early_stopping else 0
        if self.early_stopping and self.validation_fraction > 0 and (n_val == 0 or n_val == n):
            logger.info("validation_fraction=%g of %d samples leaves no validation set; convergence and the best "
                        "weights are judged on the training loss", self.validation_fraction, n)
            n_val = 0
        order = np.random.default_rng(seed).permutation(n)
        x_train, x_val = x[order[n_val:]], (x[order[:n_val]] if n_val else None)
        batch_size = _auto_batch_size(len(x_train)) if self.batch_size == "auto" else self.batch_size
        if self.batch_size == "auto":
            logger.info("batch_size='auto': %d for n_train = %d (about %d steps an epoch, batches of 32 to 256)",
                        batch_size, len(x_train), STEPS_PER_EPOCH)

        # plain Python numbers (a grid search may hand numpy ints), so model.json stays JSON; each encoder
        # kind takes its own settings, and one set for another kind is refused by name
        import inspect

        from aekit.models.config import settings_for

        encoder_settings = {"hidden": [int(w) for w in self.hidden], "channels": [int(c) for c in self.channels],
                            "kernel_size": int(self.kernel_size), "tied": self.tied}
        defaults = {name: parameter.default for name, parameter in inspect.signature(type(self)).parameters.items()}
        config = ModelConfig(
            kind=self.kind, code_size=self.code_size if self.code_size == "auto" else int(self.code_size),
            activation=self.activation, code_activation=self.code_activation, variational=self.variational,
            output=get("objective", reconstruction).output,
            **settings_for(self.kind, encoder_settings, defaults, type(self).__name__),
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
                model = build_model(config, _model_shape(self.input_shape_))
            except ConfigError as error:
                raise ConfigError(f"{error} (building the model of {type(self).__name__})") from None
            trainer = Trainer(model, objectives, train_config, corruption=corruption, seed=seed,
                              on_epoch=self._print_epoch if self.verbose else None, progress=self.verbose >= 2)
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
        self.model_ = model.eval()
        self.history_ = history
        self.n_epochs_ = self.n_iter_ = trainer.epoch
        self.best_epoch_ = trainer.best_epoch
        self.stop_reason_ = trainer.stop_reason
        self.reconstruction_ = reconstruction
        self.batch_size_ = batch_size
        self.seed_ = seed
        return self

    def _print_epoch(self, record: dict[str, Any]) -> None:
        """verbose: one line per epoch, every loss term (scikit-learn's estimators print theirs)."""
        terms = "  ".join(f"{split} {name}={value:.5g}" for split in ("train", "val")
                          for name, value in (record[split] or {}).items())
        of = f"(<= {self.max_epochs})" if self.epochs == "auto" else f"/{self.epochs}"
        print(f"epoch {record['epoch']}{of}  {terms}  ({record['seconds']:.2f} s)")

    # -- data -------------------------------------------------------------------------------------
    def _validate_X(self, X: Any, reset: bool) -> np.ndarray:
        """X as a writable float32 array (n, d); image arrays are flattened, their shape kept on fit.

        Tables (numpy, pandas, lists) go through scikit-learn's ``validate_data`` (feature names,
        n_features_in_, finite values); arrays of 3 or more axes are checked, then flattened.
        """
        if _ndim(X) > 2:
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
        return map_batches(fn, x, self.model_, _EVAL_BATCH)

    # -- using the fitted model -------------------------------------------------------------------
    def _encode(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        x = self._validate_X(X, reset=False)
        return self._map(x, self.model_.encode)  # (n, k); a variational model's posterior mean mu

    def score_samples(self, X: Any) -> np.ndarray:
        """Per-sample score, higher = better explained by the model (low = anomaly), shape (n,).

        The negative reconstruction loss of each sample (the training loss's reconstruction term:
        cross-entropy or squared error, summed over the features); for a variational model the ELBO
        E_q[log p(x|h)] - KL(q(h|x) || N(0, I)) in nats, estimated with ``ELBO_SAMPLES`` posterior draws
        from a generator seeded by ``seed_`` (the same X always gets the same scores).
        """
        check_is_fitted(self, "model_")
        x = self._validate_X(X, reset=False)
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

    # -- save / load ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator into the folder ``path`` (created) and return it.

        ``model.safetensors`` + ``model.json`` are the run-folder model files (``aekit.load(path)``
        reads them as a PyTorch module); ``estimator.json`` holds the parameters and the fitted
        attributes. No pickle: :meth:`load` can never run code.
        """
        check_is_fitted(self, "model_")
        directory = Path(path)
        save_model(self.model_, directory)
        fitted = {name: _to_json(getattr(self, name)) for name in self._fitted_attributes}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(name) for name in self.feature_names_in_]
        params = self.get_params()
        if not isinstance(params["random_state"], (numbers.Integral, type(None))):
            params["random_state"] = self.seed_  # a RandomState is not JSON; the seed it gave is
        document = {"format": FORMAT, "class": type(self).__name__, "params": _to_json(params), "fitted": fitted}
        atomic_write_text(directory / ESTIMATOR_JSON, json.dumps(document, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, path: str | Path) -> _AutoencoderBase:
        """The estimator :meth:`save` wrote into ``path``, ready to transform and score."""
        directory = Path(path)
        json_path = directory / ESTIMATOR_JSON
        if not json_path.is_file():
            raise WeightsError(f"{str(directory)!r} holds no {ESTIMATOR_JSON}; {cls.__name__}.save(path) writes "
                               f"it (a run folder of 'aekit train' loads with aekit.load(path) instead).")
        try:
            document = json.loads(json_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise WeightsError(f"{json_path} is not valid JSON ({error}).") from None
        if not isinstance(document, dict) or document.get("format") not in _FORMATS:
            raise WeightsError(f"{json_path} is not an aekit estimator: expected format {FORMAT!r} (or the older "
                               f"{_FORMATS[0]!r}).")
        if document.get("class") != cls.__name__:
            raise WeightsError(f"{json_path} holds a {document.get('class')}; load it with "
                               f"{document.get('class')}.load(path).")
        fix = f"restore the file that {cls.__name__}.save wrote, or fit and save the estimator again"
        params, fitted = document.get("params"), document.get("fitted")
        if not isinstance(params, dict) or not isinstance(fitted, dict):
            raise WeightsError(f"{json_path} needs the mappings 'params' and 'fitted' that save() writes; {fix}.")
        if document["format"] == _FORMATS[0]:
            params = _penalties_from_v1(params)
        known = cls._get_param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise WeightsError(f"{json_path} sets {unknown[0]!r}, which is not a parameter of {cls.__name__} "
                               f"(parameters: {', '.join(known)}); {fix}.")
        # only the declared fitted attributes: any other key would overwrite a method or a parameter
        allowed = (*cls._fitted_attributes, "feature_names_in_")
        stray = sorted(set(fitted) - set(allowed))
        if stray:
            raise WeightsError(f"{json_path} has {stray[0]!r} under 'fitted', which is not a fitted attribute of "
                               f"{cls.__name__} (those are {', '.join(allowed)}); {fix}.")
        estimator = cls(**_from_json(params))
        estimator._check_params()
        for name, value in _from_json(fitted).items():
            setattr(estimator, name, value)
        if "feature_names_in_" in fitted:
            estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        estimator.model_ = load_model(directory, device=resolve_device(estimator.device))
        return estimator

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # image arrays (n, H, W) and (n, C, H, W)
        # bit-for-bit reproducible for a fixed random_state on the CPU; CUDA kernels are not
        tags.non_deterministic = self.device != "cpu"
        return tags


class Autoencoder(TransformerMixin, _AutoencoderBase):
    """An autoencoder as a scikit-learn transformer: ``transform`` gives codes, ``inverse_transform``
    reconstructions, ``score`` the negative reconstruction loss (the ELBO when variational).

    Every family of the lecture is a parameter: ``noise`` (denoising, Vincent et al. 2008),
    ``penalties`` (sparse: ``{"l1": w}`` or ``{"kl_sparsity": {"weight": w, "target": rho}}``;
    contractive, Rifai et al. 2011: ``{"contractive": w}``; or any registered penalty) and
    ``variational`` (Kingma & Welling 2014; a beta-VAE, Higgins et al. 2017, is ``penalties={"kl": beta}``);
    they combine freely, and ``GridSearchCV`` searches them like any parameter
    (``{"autoencoder__penalties": [{"l1": 1e-4}, {"contractive": 0.1}]}``).

    Parameters
    ----------
    code_size : int or "auto", default="auto"
        Size k of the code h, the number of output features of ``transform``; "auto" is min(32, d // 4)
        for d input features (at least 2).
    hidden : tuple of int, default=(512,)
        Widths of the hidden layers of an MLP encoder (mirrored by the decoder); () is affine.
    kind : str, default="mlp"
        A registered encoder: "mlp", or "conv" for image arrays (n, H, W) / (n, C, H, W).
    channels : tuple of int, default=(16, 32)
        Channels of the stride-2 convolutions (kind="conv").
    kernel_size : int, default=3
        Kernel size of every convolution (kind="conv").
    activation : str, default="relu"
        Activation of the hidden layers (a registered activation).
    code_activation : str, default="linear"
        Activation of the code, e.g. "sigmoid" for codes in (0, 1) (needed by the ``kl_sparsity`` penalty).
    tied : bool, default=False
        Decoder weights are the transposed encoder weights (kind="mlp").
    variational : bool, default=False
        A Gaussian code head and a KL term (``kl: 1.0``, the ELBO, unless ``penalties`` sets it, e.g.
        ``{"kl": {"weight": 4, "warmup_epochs": 10}}``): a VAE. ``transform`` returns the posterior mean.
    loss : {"auto", "bce", "mse"} or a registered reconstruction, default="auto"
        Reconstruction loss; "auto" is "bce" (cross-entropy) when X is in [0, 1], else "mse".
    noise : None, (name, level) or dict, default=None
        Training-input corruption, e.g. ("masking", 0.25), ("gaussian", 0.3), ("salt_and_pepper", 0.1),
        or {"masking": 0.25, "gaussian": {"std": 0.1}} to apply several in turn.
    penalties : dict or None, default=None
        Regularisers added to the loss, ``{name: weight}`` or ``{name: {field: value}}``, any registered
        penalty (``aekit.registry.available("objective")``), each checked by its own declared fields —
        the ``penalties`` section of a run config: e.g. ``{"l1": 1e-4}`` (sum_j |h_j|), ``{"kl_sparsity":
        {"weight": 0.1, "target": 0.05}}`` (needs ``code_activation="sigmoid"``), ``{"contractive": 0.1}``
        (||dh/dx||_F^2, Rifai et al. 2011; ``{"weight": 0.1, "projections": 1}`` for its stochastic estimate).
    epochs : "auto" or int, default="auto"
        "auto" trains until the loss stops improving (``tol``, ``n_iter_no_change``) within ``max_epochs``,
        halving the learning rate on plateaus (scikit-learn's ``MLPRegressor`` convention); an int trains
        exactly that many epochs.
    max_epochs : int, default=200
        The budget of ``epochs="auto"``; a ``ConvergenceWarning`` says when it ends before convergence.
    tol : float, default=1e-3
        An epoch improves when the monitored loss falls below (1 - tol) times the best so far.
    n_iter_no_change : int, default=10
        Epochs without improvement that end an ``epochs="auto"`` fit (the learning rate halves after half).
    early_stopping : bool, default=True
        Judge convergence and the best epoch on ``validation_fraction`` of X held out; False trains on
        all of X and judges on the training loss.
    batch_size : int or "auto", default="auto"
        Samples per step; "auto" gives about 20 steps an epoch: n_train // 20, within [32, 256].
    lr : float or "auto", default="auto"
        Learning rate; "auto" is 1e-2 for a linear (affine) autoencoder, else 1e-3.
    optimizer : {"adam", "sgd"}, default="adam"
    weight_decay : float, default=0.0
        L2 weight decay.
    validation_fraction : float, default=0.1
        Fraction of X held out (``early_stopping=True``) to decide convergence and keep the best epoch.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, validation split, batch order and noise; an int makes fit reproducible.
    verbose : int, default=0
        1 prints one line per epoch, 2 also a progress bar.
    device : {"cpu", "cuda", "auto"}, default="cpu"

    Attributes
    ----------
    model_ : aekit.models.Autoencoder
        The trained PyTorch module (in eval mode).
    history_ : list of dict
        One record per epoch: every loss term on the training and validation data.
    n_features_in_ : int
        Number of features d (pixels of an image) seen in fit.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame X seen in fit.
    input_shape_ : tuple of int
        Shape of one sample of X in fit: (d,), (H, W) or (C, H, W).
    reconstruction_, batch_size_, seed_ : str, int, int
        The resolved loss, batch size and seed.
    n_epochs_, best_epoch_ : int
        Epochs run, and the epoch whose weights the model holds (``n_iter_`` is ``n_epochs_``).
    stop_reason_ : str
        Why training stopped: "converged", "budget" (with a ``ConvergenceWarning``), "completed" (a fixed
        ``epochs``) or "interrupted".
    """

    def __init__(
        self, code_size: Any = "auto", *, hidden: tuple = (512,), kind: str = "mlp", channels: tuple = (16, 32),
        kernel_size: int = 3, activation: str = "relu", code_activation: str = "linear", tied: bool = False,
        variational: bool = False, loss: str = "auto", noise: Any = None, penalties: dict | None = None,
        epochs: Any = "auto", max_epochs: int = 200, tol: float = 1e-3,
        n_iter_no_change: int = 10, early_stopping: bool = True, batch_size: Any = "auto", lr: Any = "auto",
        optimizer: str = "adam", weight_decay: float = 0.0, validation_fraction: float = 0.1,
        random_state: Any = None, verbose: int = 0, device: str = "cpu",
    ) -> None:
        _store(self, locals())

    def transform(self, X: Any) -> np.ndarray:
        """The codes h = f(x), float32 (n, code_size); a variational model's posterior mean mu."""
        return self._encode(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Reconstructions g(h) from codes X (n, code_size), in the layout of the fitted X: (n, *input_shape_)."""
        check_is_fitted(self, "model_")
        h = check_array(X, dtype=[np.float32, np.float64], input_name="X")
        k = self.model_.config.code_size
        if h.shape[1] != k:
            raise ValueError(f"X has {h.shape[1]} features, but {type(self).__name__}.inverse_transform is "
                             f"expecting codes of {k} features (code_size={k}); pass the output of transform.")
        x_hat = self._map(np.ascontiguousarray(h, dtype=np.float32), self.model_.decode)  # (n, *sample_shape)
        return x_hat.reshape(len(h), *self.input_shape_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``ae0 … ae{k-1}``, the names of the code units."""
        check_is_fitted(self, "model_")
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            names = getattr(self, "feature_names_in_", None)
            if names is not None and not np.array_equal(input_features, names):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(input_features) != self.n_features_in_:
                raise ValueError(f"input_features should have length equal to number of features "
                                 f"({self.n_features_in_}), got {len(input_features)}")
        return np.asarray([f"ae{i}" for i in range(self.model_.config.code_size)], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # the model computes in float32
        return tags


class AutoencoderOutlierDetector(OutlierMixin, _AutoencoderBase):
    """Outlier detection by reconstruction: samples the autoencoder explains badly are outliers.

    scikit-learn's outlier-detector conventions (as ``IsolationForest``): ``score_samples`` (low =
    abnormal), ``decision_function = score_samples - offset_`` (negative = outlier), ``predict``
    +1 for inliers and -1 for outliers, ``fit_predict``. The threshold ``offset_`` is set on the
    training data:

    - ``contamination`` a float: the ``contamination`` quantile of the training scores, so that
      fraction of the training data is flagged;
    - ``"auto"``: Tukey's lower fence Q1 - 1.5 IQR of the training scores (Tukey, *Exploratory Data
      Analysis*, 1977), which assumes no outlier fraction.

    Parameters are those of :class:`Autoencoder` plus ``contamination`` ("auto" or a float in
    (0, 0.5]). Attributes are those of :class:`Autoencoder` plus ``offset_``.
    """

    _parameters = {**_PARAMETERS, "contamination": AnyOf(Options(("auto",)), Interval(float, 0, 0.5, closed="right"))}
    _fitted_attributes = (*_AutoencoderBase._fitted_attributes, "offset_")

    def __init__(
        self, code_size: Any = "auto", *, contamination: Any = "auto", hidden: tuple = (512,), kind: str = "mlp",
        channels: tuple = (16, 32), kernel_size: int = 3, activation: str = "relu", code_activation: str = "linear",
        tied: bool = False, variational: bool = False, loss: str = "auto", noise: Any = None,
        penalties: dict | None = None, epochs: Any = "auto", max_epochs: int = 200,
        tol: float = 1e-3, n_iter_no_change: int = 10, early_stopping: bool = True, batch_size: Any = "auto",
        lr: Any = "auto", optimizer: str = "adam", weight_decay: float = 0.0, validation_fraction: float = 0.1,
        random_state: Any = None, verbose: int = 0, device: str = "cpu",
    ) -> None:
        _store(self, locals())

    def fit(self, X: Any, y: Any = None) -> AutoencoderOutlierDetector:
        """Train the autoencoder on X, then set ``offset_`` from the training scores; ``y`` is ignored."""
        super().fit(X, y)
        scores = self.score_samples(X)
        if self.contamination == "auto":
            q1, q3 = np.percentile(scores, [25.0, 75.0])
            self.offset_ = float(q1 - 1.5 * (q3 - q1))  # Tukey's lower fence
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers, shape (n,)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """+1 for inliers (decision_function >= 0), -1 for outliers, shape (n,)."""
        return np.where(self.decision_function(X) >= 0, 1, -1)


class AutoencoderClassifier(ClassifierMixin, _AutoencoderBase):
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
    ``noise``, penalties...) plus the ones below.

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
        **_PARAMETERS,
        "features": Options(("auto", "codes", "input", "both", "finetune")),
        "Cs": SequenceOf(Interval(float, 0, None, closed="neither")),
        "cv": Interval(int, 2, None),
        "head": Options(("softmax", "mlp")),
        "head_hidden": _POSITIVE_INT,
        "freeze_epochs": Interval(int, 0, None),
        "finetune_epochs": Interval(int, 0, None),
        "head_lr": Interval(float, 0, None, closed="neither"),
        "finetune_lr": Interval(float, 0, None, closed="neither"),
        "finetune_patience": AnyOf(None, _POSITIVE_INT),
    }
    _fitted_attributes = (*_AutoencoderBase._fitted_attributes, "classes_", "features_", "C_", "cv_results_",
                          "finetune_history_")

    def __init__(
        self, code_size: Any = "auto", *, features: str = "auto", Cs: tuple = (0.01, 0.1, 1.0, 10.0), cv: int = 5,
        head: str = "softmax", head_hidden: int = 128, freeze_epochs: int = 20, finetune_epochs: int = 50,
        head_lr: float = 1e-2, finetune_lr: float = 3e-4, finetune_patience: int | None = 15,
        hidden: tuple = (512,), kind: str = "mlp", channels: tuple = (16, 32), kernel_size: int = 3,
        activation: str = "relu", code_activation: str = "linear", tied: bool = False, variational: bool = False,
        loss: str = "auto", noise: Any = None, penalties: dict | None = None, epochs: Any = "auto",
        max_epochs: int = 200, tol: float = 1e-3, n_iter_no_change: int = 10, early_stopping: bool = True,
        batch_size: Any = "auto", lr: Any = "auto", optimizer: str = "adam", weight_decay: float = 0.0,
        validation_fraction: float = 0.1, random_state: Any = None, verbose: int = 0, device: str = "cpu",
    ) -> None:
        _store(self, locals())

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
        x = self._validate_X(X, reset=False).reshape(len(y), *_model_shape(self.input_shape_))
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
        choice = select_probe(candidates, y_index, [float(c) for c in self.Cs], cv=int(self.cv),
                              seed=self.seed_ % 2**32)
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
        result = finetune(self.model_, x[train_rows], y_index[train_rows], x[val_rows], y_index[val_rows], config,
                          n_classes=len(self.classes_))
        self.classifier_ = result.classifier.eval()
        self.features_, self.C_, self.cv_results_ = "finetune", None, []
        self.finetune_history_ = result.history

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self, "classifier_")
        x = self._validate_X(X, reset=False).reshape(-1, *_model_shape(self.input_shape_))
        return map_batches(lambda xb: torch.softmax(self.classifier_(xb)["class_logits"], dim=-1), x,
                           self.classifier_, _EVAL_BATCH).astype(np.float64)

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
        from aekit.models.classifier import load_classifier

        estimator = super().load(path)
        estimator.classifier_ = load_classifier(path)
        return estimator

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


def _penalties_from_v1(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of an ``aekit.estimator/1`` file, with its penalty parameters moved into ``penalties``."""
    params = dict(params)
    old = {name: params.pop(name) for name in ("l1", "kl_sparsity", "sparsity_target", "contractive", "beta",
                                               "kl_warmup_epochs") if name in params}
    penalties: dict[str, Any] = {}
    if old.get("l1", 0) > 0:
        penalties["l1"] = old["l1"]
    if old.get("kl_sparsity", 0) > 0:
        penalties["kl_sparsity"] = {"weight": old["kl_sparsity"], "target": old.get("sparsity_target", 0.05)}
    if old.get("contractive", 0) > 0:
        penalties["contractive"] = old["contractive"]
    if params.get("variational") and (old.get("beta", 1.0) != 1.0 or old.get("kl_warmup_epochs", 0)):
        penalties["kl"] = {"weight": old.get("beta", 1.0), "warmup_epochs": old.get("kl_warmup_epochs", 0)}
    params["penalties"] = penalties or None
    return params


def _unlabelled(y: np.ndarray) -> np.ndarray:
    """Rows marked unlabelled: label -1 (sklearn.semi_supervised's convention), numeric or string."""
    if y.dtype.kind in "iuf":
        return y == -1
    return np.asarray([str(v) == "-1" for v in y])


# -- helpers -----------------------------------------------------------------------------------------
def _auto_batch_size(n_train: int) -> int:
    """``batch_size="auto"``: about ``STEPS_PER_EPOCH`` optimiser steps an epoch, batches of 32 to 256
    (never more than the rows). A whole small table in one batch gives an epoch one step: measured on
    validation splits, breast cancer and wine came out level with PCA at batch n, 5-10 % below it at 64;
    a linear autoencoder on digits needs ~800 epochs at batch 256 and 40-90 at 64."""
    return max(1, min(n_train, 256, max(32, n_train // STEPS_PER_EPOCH)))


def _store(estimator: BaseEstimator, arguments: dict[str, Any]) -> None:
    """scikit-learn's rule for ``__init__``: store every constructor argument, unchanged, under its name."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def _ndim(X: Any) -> int:
    """The number of axes of X, 2 for anything scikit-learn's table validation should judge."""
    if sp.issparse(X) or hasattr(X, "columns"):
        return 2
    try:
        return int(np.ndim(X))
    except (ValueError, TypeError):  # ragged nested lists: check_array explains them
        return 2


def _model_shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The model's sample shape: a grey-level image (H, W) gets its channel axis, (1, H, W)."""
    return (1, *input_shape) if len(input_shape) == 2 else tuple(input_shape)


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


def _to_json(value: Any) -> Any:
    """JSON for parameters and fitted attributes; tuples are tagged so load gives them back as tuples."""
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": [_to_json(v) for v in value.tolist()], "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_from_json(v) for v in value["__tuple__"])
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        if set(value) == {"__array__", "dtype"}:
            return np.asarray(_from_json(value["__array__"]), dtype=np.dtype(value["dtype"]))
        return {k: _from_json(v) for k, v in value.items()}
    return value


__all__ = ["Autoencoder", "AutoencoderClassifier", "AutoencoderOutlierDetector", "ELBO_SAMPLES"]
