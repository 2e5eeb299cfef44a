"""scikit-learn estimators over aekit's trainer: a transformer, an outlier detector and two classifiers.

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

    LadderClassifier(random_state=0).fit(X, y_semi).predict(X_test)   # a ladder network; -1: unlabelled

Conventions (scikit-learn's ``decomposition/_pca.py``, ``ensemble/_iforest.py``): ``__init__`` only
stores; ``fit`` checks every parameter against one declared table and resolves the automatic ones
(logged, never silent); learned state ends in ``_``. With an int ``random_state`` a CPU fit is
reproducible bit for bit: the model is initialised and trained inside a forked torch RNG seeded from
it (torch's global RNG is left as it was) and the Trainer's generator (batch order, noise) uses the
same seed.
"""

from aekit.estimator.base import ELBO_SAMPLES, STEPS_PER_EPOCH, AutoencoderBase
from aekit.estimator.classifier import AutoencoderClassifier
from aekit.estimator.ladder import LadderClassifier
from aekit.estimator.outlier import AutoencoderOutlierDetector
from aekit.estimator.transformer import Autoencoder

__all__ = ["Autoencoder", "AutoencoderOutlierDetector", "AutoencoderClassifier", "LadderClassifier", "AutoencoderBase",
           "ELBO_SAMPLES", "STEPS_PER_EPOCH"]
