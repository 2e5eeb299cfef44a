"""estimator.json: an estimator's parameters and fitted attributes as JSON (no pickle), and its versions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aekit.errors import WeightsError
from aekit.params import AnyOf, InstanceOf, Interval, Options, Registered
from aekit.schema import Items, Real, Record, Where, sample_shape, short

FORMAT = "aekit.estimator/2"  # the tag of estimator.json; bump it when the layout changes
ESTIMATOR_JSON = "estimator.json"


def to_json(value: Any) -> Any:
    """JSON for parameters and fitted attributes; tuples are tagged so load gives them back as tuples."""
    if isinstance(value, tuple):
        return {"__tuple__": [to_json(v) for v in value]}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": [to_json(v) for v in value.tolist()], "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    return value


_DTYPE_KINDS = "biufUO"  # arrays to_json writes: labels and numbers (an object array of str labels included)


def from_json(value: Any, source: str = ESTIMATOR_JSON, at: str = "") -> Any:
    """The value :func:`to_json` wrote; a malformed tag (``{"__tuple__": 5}``, an unknown dtype) is one line of
    :class:`WeightsError` naming ``source`` and where in it."""
    if isinstance(value, list):
        return [from_json(v, source, f"{at}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
        return tuple(from_json(v, source, f"{at}[{i}]") for i, v in enumerate(value["__tuple__"]))
    if set(value) == {"__float__"} and value["__float__"] in ("inf", "-inf", "nan"):
        return float(value["__float__"])
    if set(value) == {"__array__", "dtype"} and isinstance(value["__array__"], list):
        try:
            dtype = np.dtype(value["dtype"]) if isinstance(value["dtype"], str) else None
            if dtype is not None and dtype.kind in _DTYPE_KINDS:
                return np.asarray(from_json(value["__array__"], source, at), dtype=dtype)
        except (TypeError, ValueError, OverflowError):
            pass
    elif not {"__tuple__", "__float__", "__array__"} & set(value):
        return {k: from_json(v, source, f"{at}.{k}" if at else k) for k, v in value.items()}
    raise WeightsError(f"{source}: {at!r} holds {short(value)}, which is no value that save() writes (a tuple "
                       f'{{"__tuple__": [...]}}, a float {{"__float__": "inf"}}, an array {{"__array__": [...], '
                       f'"dtype": "<f4"}} of numbers or labels). Restore the file that save() wrote, or fit and save '
                       f"the estimator again.")


COUNT = Interval(int, 0, None)
_TERMS = AnyOf(None, Record(other=Real()))
EPOCH_RECORD = Record(required={"epoch": Interval(int, 1, None)},
                      optional={"train": _TERMS, "val": _TERMS, "lr": Real(), "seconds": Real(),
                                "best_epoch": AnyOf(None, COUNT), "phase": InstanceOf(str)})
# every fitted attribute an estimator.json may hold (each class allows its own), as load() decodes it
FITTED = {
    "n_features_in_": Interval(int, 1, None),  # and as many as input_shape_ and the model's sample shape hold
    "input_shape_": sample_shape(),
    "rescaling_": AnyOf(None, Where(Record(required={"kind": Options(("standard", "minmax")), "shift": Items(Real()),
                                                     "scale": Items(Interval(float, 0, None))}),
                                    lambda r: len(r["shift"]) == len(r["scale"]),
                                    "whose 'shift' and 'scale' hold one value per feature")),
    "reconstruction_": Registered("objective", having="output"),
    "batch_size_": Interval(int, 1, None),
    "seed_": Interval(int, 0, 2**63 - 1),
    "n_epochs_": COUNT,
    "n_iter_": COUNT,
    "best_epoch_": AnyOf(None, COUNT),
    "stop_reason_": AnyOf(None, InstanceOf(str)),
    "history_": Items(EPOCH_RECORD),
    "offset_": Interval(float),
    "classes_": Where(None, lambda v: isinstance(v, np.ndarray) and v.ndim == 1 and len(v) > 0,
                      "a 1-D array of at least one class label"),
    "features_": Options(("codes", "input", "both", "finetune")),
    "C_": AnyOf(None, Interval(float, 0, None, closed="neither")),
    "cv_results_": Items(Record()),
    "finetune_history_": Items(EPOCH_RECORD),
    "denoising_weights_": Items(Interval(float, 0, None), min_len=1),  # LadderClassifier: one per layer
    "feature_names_in_": Items(InstanceOf(str)),
}
__all__ = ["FORMAT", "ESTIMATOR_JSON", "FITTED", "to_json", "from_json"]
