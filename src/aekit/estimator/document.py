"""estimator.json: an estimator's parameters and fitted attributes as JSON (no pickle), and its versions."""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np

from aekit.errors import ConfigError, WeightsError
from aekit.estimator.shapes import model_shape
from aekit.io import atomic_write_text, read_json, refuse_links_out
from aekit.params import AnyOf, InstanceOf, Interval, Options, Registered
from aekit.schema import Items, Real, Record, Where, sample_shape, short
from aekit.schema import check as check_schema

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
def write_estimator(estimator: Any, directory: Path) -> Path:
    """Write a fitted ``estimator`` into ``directory``: its model files and estimator.json."""
    estimator._save_model(directory)
    fitted = {name: to_json(getattr(estimator, name)) for name in estimator._fitted_attributes}
    if hasattr(estimator, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(name) for name in estimator.feature_names_in_]
    params = estimator.get_params()
    if not isinstance(params["random_state"], (numbers.Integral, type(None))):
        params["random_state"] = estimator.seed_  # a RandomState is not JSON; the seed it gave is
    document = {"format": FORMAT, "class": type(estimator).__name__, "params": to_json(params), "fitted": fitted}
    atomic_write_text(directory / ESTIMATOR_JSON, json.dumps(document, indent=2) + "\n")
    return directory


def read_estimator(cls: type, directory: Path) -> Any:
    """The estimator of class ``cls`` that ``write_estimator`` wrote into ``directory``, every field checked
    against its schema before use."""
    json_path = directory / ESTIMATOR_JSON
    if not json_path.is_file():
        raise WeightsError(f"{str(directory)!r} holds no {ESTIMATOR_JSON}; {cls.__name__}.save(path) writes "
                           f"it (a run folder of 'aekit train' loads with aekit.load_model(path) instead).")
    fix = f"Restore the file that {cls.__name__}.save wrote, or fit and save the estimator again."
    refuse_links_out(directory)
    document = read_json(json_path, "an estimator's parameters and fitted attributes", fix, error=WeightsError)
    if document.get("format") != FORMAT:
        raise WeightsError(f"{json_path} is not an aekit estimator of this version: expected format {FORMAT!r}, "
                           f"found {short(document.get('format'))}.")
    found = document.get("class")
    if found != cls.__name__:
        if isinstance(found, str) and found.isidentifier() and len(found) < 60:
            raise WeightsError(f"{json_path} holds a {found}; load it with {found}.load(path).")
        raise WeightsError(f"{json_path}: 'class' must name the estimator's class ({cls.__name__!r}), not "
                           f"{short(found)}. {fix}")
    params, fitted = document.get("params"), document.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise WeightsError(f"{json_path} needs the mappings 'params' and 'fitted' that save() writes. {fix}")
    known = cls._get_param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise WeightsError(f"{json_path} sets {short(unknown[0])}, which is not a parameter of {cls.__name__} "
                           f"(parameters: {', '.join(known)}). {fix}")
    # only the declared fitted attributes: any other key would overwrite a method or a parameter
    allowed = (*cls._fitted_attributes, "feature_names_in_")
    stray = sorted(set(fitted) - set(allowed))
    if stray:
        raise WeightsError(f"{json_path} has {short(stray[0])} under 'fitted', which is not a fitted attribute of "
                           f"{cls.__name__} (those are {', '.join(allowed)}). {fix}")
    fitted = from_json(fitted, str(json_path), "fitted")
    check_schema(fitted, Record(required={name: FITTED[name] for name in cls._fitted_attributes},
                                optional={"feature_names_in_": FITTED["feature_names_in_"]}),
                 f"{json_path} 'fitted'", fix, WeightsError)
    estimator = cls(**from_json(params, str(json_path), "params"))
    try:
        estimator._check_params()
    except ConfigError as error:
        raise WeightsError(f"{json_path}: {error} {fix}") from None
    for name, value in fitted.items():
        setattr(estimator, name, value)
    if "feature_names_in_" in fitted:
        estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    estimator._load_model(directory)
    shape, names = model_shape(estimator.input_shape_), fitted.get("feature_names_in_")
    model_in = tuple(getattr(estimator.model_, "sample_shape", shape))  # a ladder network reads flat rows
    if (math.prod(shape) != estimator.n_features_in_ or shape != model_in
            or (names is not None and len(names) != estimator.n_features_in_)):
        raise WeightsError(f"{json_path}: the fitted 'input_shape_' {estimator.input_shape_}, "
                           f"'n_features_in_' {estimator.n_features_in_}, the feature names and the model's "
                           f"sample shape {model_in} disagree. {fix}")
    return estimator


__all__ = ["FORMAT", "ESTIMATOR_JSON", "FITTED", "to_json", "from_json", "write_estimator", "read_estimator"]
