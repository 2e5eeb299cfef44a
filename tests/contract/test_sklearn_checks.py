"""scikit-learn's estimator checks (``parametrize_with_checks``) for aekit's transformer, detector and classifiers.

Small instances (8 hidden units, 10 epochs on the checks' tiny data) keep the run to seconds on one
thread: the checks test the API, not the quality of the fit. The detector's default
``contamination="auto"`` is exercised as is (the checks expect it to flag some training points of
three Gaussian blobs, which Tukey's fence does for a model that has learned something).

Tags say what the estimators are (``three_d_array`` input, ``preserves_dtype=["float32"]``,
``non_deterministic`` off the CPU). A check that cannot hold is listed below with its reason and
runs as an expected failure; nothing is skipped wholesale.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit.estimator import Autoencoder, AutoencoderClassifier, AutoencoderOutlierDetector, LadderClassifier

SMALL = dict(code_size=2, hidden=(8,), epochs=10, lr=1e-2)
# the classifier checks ask for > 0.83 training accuracy on three blobs: a little more capacity and
# fine-tuning than the transformer needs; one C keeps the probe's cross-validation to 3 candidates
SMALL_CLASSIFIER = dict(code_size=4, hidden=(16,), epochs=10, lr=1e-2, Cs=(1.0,), freeze_epochs=20, finetune_epochs=20,
                        finetune_lr=1e-2)
# the ladder's published input weight (1000) is MNIST's: on the checks' two-feature blobs the input's
# reconstruction drowns the labels (training accuracy 0.06 at 20 epochs), so the checks weigh every layer 1
SMALL_LADDER = dict(hidden=(16,), epochs=10, batch_size=32, denoising_weights=(1.0, 1.0, 1.0), random_state=0)

_FLOAT32_SUBSETS = (
    "The network computes in float32, and a float32 matrix product's last bit depends on how many "
    "rows it holds (BLAS picks other kernels and summation orders for 1 row and for 20): the scores "
    "of one sample differ by about 1 ulp (1e-7 relative) between a batch and a subset of it. "
    "score_samples returns float64, as scikit-learn's outlier API requires, so the check holds it to "
    "float64's rtol=1e-7, tighter than float32 arithmetic (transform, float32, passes the check's "
    "float32 tolerance). tests/unit/test_estimator.py checks score_samples' invariance at float32 "
    "precision (rtol=1e-5)."
)

# check name -> why it cannot pass, per estimator class
_MINUS_ONE_IS_UNLABELLED = (
    "AutoencoderClassifier follows sklearn.semi_supervised: the label -1 marks an unlabelled row "
    "(used to pretrain the autoencoder, never as a label). The check fits y in {-1, 1} and expects "
    "classes_ == [-1, 1]; here the -1 rows are unlabelled, so classes_ is [1] by design "
    "(SelfTrainingClassifier and LabelSpreading read -1 the same way)."
)
_LADDER_MINUS_ONE = (
    "LadderClassifier follows sklearn.semi_supervised: the label -1 marks an unlabelled row (it trains "
    "the denoising costs, never the labels), so on the check's y in {-1, 1} classes_ is [1] by design."
)

EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "Autoencoder": {"check_methods_subset_invariance": _FLOAT32_SUBSETS},
    "AutoencoderOutlierDetector": {"check_methods_subset_invariance": _FLOAT32_SUBSETS},
    "AutoencoderClassifier": {"check_methods_subset_invariance": _FLOAT32_SUBSETS,
                              "check_classifiers_classes": _MINUS_ONE_IS_UNLABELLED},
    "LadderClassifier": {"check_methods_subset_invariance": _FLOAT32_SUBSETS,
                         "check_classifiers_classes": _LADDER_MINUS_ONE},
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES[type(estimator).__name__]


# xfail_strict=False: on another CPU the BLAS kernels may happen to agree, and an expected failure
# that passes there is reported (XPASS) rather than failing the suite.
@parametrize_with_checks(
    [Autoencoder(**SMALL), AutoencoderOutlierDetector(**SMALL), AutoencoderClassifier(**SMALL_CLASSIFIER),
     LadderClassifier(**SMALL_LADDER)],
    expected_failed_checks=expected_failed_checks,
    xfail_strict=False,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
