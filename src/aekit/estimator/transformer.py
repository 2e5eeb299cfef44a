"""The autoencoder as a scikit-learn transformer: codes out, reconstructions back."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from aekit.estimator.base import AutoencoderBase, store
from aekit.estimator.parameters import takes_encoder_settings


@takes_encoder_settings
class Autoencoder(TransformerMixin, AutoencoderBase):
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
    kind : str, default="mlp"
        A registered encoder: "mlp", or "conv" for image arrays (n, H, W) / (n, C, H, W).
    **encoder
        The settings of the encoder ``kind``, by the names, defaults and constraints of its config's own fields
        (:class:`~aekit.models.encoders.mlp.MLPConfig`, :class:`~aekit.models.encoders.conv.ConvConfig` or a
        registered kind's); one another kind takes, set away from its default, is refused by name. Each is a
        keyword parameter of its own (``inspect.signature``, ``get_params``, ``GridSearchCV``); ``help(Autoencoder)``
        lists them with their defaults.
    activation : str, default="relu"
        Activation of the hidden layers (a registered activation).
    code_activation : str, default="linear"
        Activation of the code, e.g. "sigmoid" for codes in (0, 1) (needed by the ``kl_sparsity`` penalty).
    variational : bool, default=False
        A Gaussian code head and a KL term (``kl: 1.0``, the ELBO, unless ``penalties`` sets it, e.g.
        ``{"kl": {"weight": 4, "warmup_epochs": 10}}``): a VAE. ``transform`` returns the posterior mean.
    loss : {"auto", "bce", "mse"} or a registered reconstruction, default="auto"
        Reconstruction loss; "auto" is "bce" (cross-entropy) when the (rescaled) training rows are in [0, 1],
        else "mse" — the rule of ``aekit train``'s ``loss.reconstruction: auto``.
    rescale : {"auto", "standard", "minmax", "none"}, default="auto"
        Per-feature rescaling fitted on the training rows (``data.rescale`` of ``aekit train``): "auto"
        leaves X as it is when the training rows are in [0, 1] (images) and standardises it otherwise (a
        table); "standard" is mean 0 and standard deviation 1, "minmax" [0, 1]. ``transform`` and
        ``score_samples`` rescale X the same way, ``inverse_transform`` answers in X's units. A feature
        constant on the training rows becomes 0 (and is given back as its constant).
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
        Samples per step; "auto" gives about 20 steps an epoch: n_train // 20, within [32, 256] ([16, 256] for
        a table, standardised: ``train.batch_size: auto`` of ``aekit train``).
    lr : float or "auto", default="auto"
        Learning rate; "auto" is 1e-2 for a linear (affine) autoencoder, else 1e-3.
    optimizer : {"adam", "sgd"}, default="adam"
    weight_decay : float, default=0.0
        L2 weight decay.
    validation_fraction : float, default=0.1
        Fraction of X held out (``early_stopping=True``) to decide convergence and keep the best epoch.
    start : {"auto", "pca", "random"}, default="auto"
        Where the weights start (``train.start`` of ``aekit train``): "pca" sets an untied ReLU MLP (hidden
        layers at least 2 x n_features wide) to reconstruct exactly as PCA-k of the training rows, and
        training learns a non-linear correction from there; "auto" is "pca" for a table (standardised) when
        the model allows it, else "random" (see :mod:`aekit.models.pca_start`).
    random_state : int, RandomState or None, default=None
        Seeds initialisation, validation split, batch order and noise; an int makes fit reproducible.
    verbose : int, default=0
        0 prints nothing. 1 prints a line when training starts (rows, held-out rows, epochs), one line
        per epoch with every loss term on the training and validation rows (``*`` marks a new best
        epoch; the format of ``aekit train``), and a line at the end saying how long it took and why it
        stopped. 2 also shows a progress bar over each epoch's batches (on a terminal). Fits of more
        than a few seconds, and each fit of a grid search, are then never silent::

            >>> Autoencoder(verbose=1).fit(X)  # doctest: +SKIP
            Autoencoder: training the autoencoder on 1617 rows, 180 held out for validation, until it ...
            epoch  1 (<= 200)  train: loss 30.12 (recon 30.12)  |  val: loss 25.4 (recon 25.4)  |  0.1s  *
            ...
            Autoencoder: trained 57 epochs in 6.3 s, stopped because the validation loss did not ...
    device : {"cpu", "cuda", "mps", "auto"}, default="cpu"

    Attributes
    ----------
    model_ : aekit.models.AutoencoderModule
        The trained PyTorch module (in eval mode).
    history_ : list of dict
        One record per epoch: every loss term on the training and validation data.
    n_features_in_ : int
        Number of features d (pixels of an image) seen in fit.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame X seen in fit.
    input_shape_ : tuple of int
        Shape of one sample of X in fit: (d,), (H, W) or (C, H, W).
    rescaling_ : dict or None
        The fitted rescaling: ``{"kind": "standard" or "minmax", "shift": [...], "scale": [...]}`` per feature,
        x' = (x - shift) * scale; None when X is used as it is.
    reconstruction_, batch_size_, seed_ : str, int, int
        The resolved loss, batch size and seed.
    n_epochs_, best_epoch_ : int
        Epochs run, and the epoch whose weights the model holds (``n_iter_`` is ``n_epochs_``).
    stop_reason_ : str
        Why training stopped: "converged", "budget" (with a ``ConvergenceWarning``), "completed" (a fixed
        ``epochs``) or "interrupted".
    """

    def __init__(
        self, code_size: Any = "auto", *, kind: str = "mlp", activation: str = "relu", code_activation: str = "linear",
        variational: bool = False, loss: str = "auto", rescale: str = "auto",
        noise: Any = None, penalties: dict | None = None,
        epochs: Any = "auto", max_epochs: int = 200, tol: float = 1e-3,
        n_iter_no_change: int = 10, early_stopping: bool = True, batch_size: Any = "auto", lr: Any = "auto",
        optimizer: str = "adam", weight_decay: float = 0.0, validation_fraction: float = 0.1,
        start: str = "auto", random_state: Any = None, verbose: int = 0, device: str = "cpu", **encoder: Any,
    ) -> None:
        store(self, locals())

    def transform(self, X: Any) -> np.ndarray:
        """The codes h = f(x), float32 (n, code_size); a variational model's posterior mean mu."""
        return self._encode(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Reconstructions g(h) from codes X (n, code_size), in the layout and units of the fitted X: (n, *input_shape_)."""
        check_is_fitted(self, "model_")
        h = check_array(X, dtype=[np.float32, np.float64], input_name="X")
        k = self.model_.config.code_size
        if h.shape[1] != k:
            raise ValueError(f"X has {h.shape[1]} features, but {type(self).__name__}.inverse_transform is "
                             f"expecting codes of {k} features (code_size={k}); pass the output of transform.")
        x_hat = self._map(np.ascontiguousarray(h, dtype=np.float32), self.model_.decode)  # (n, *sample_shape)
        return self._in_data_units(x_hat.reshape(len(h), -1)).reshape(len(h), *self.input_shape_)  # X's units

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
