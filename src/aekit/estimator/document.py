"""estimator.json: an estimator's parameters and fitted attributes as JSON (no pickle), and its versions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FORMAT = "aekit.estimator/2"  # the tag of estimator.json; bump it when the layout changes
# /1 had one parameter per penalty (l1, kl_sparsity + sparsity_target, contractive, beta + kl_warmup_epochs);
# /2 has them in ``penalties``. load() reads both.
FORMATS = ("aekit.estimator/1", FORMAT)
ESTIMATOR_JSON = "estimator.json"


def penalties_from_v1(params: dict[str, Any]) -> dict[str, Any]:
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


def from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(from_json(v) for v in value["__tuple__"])
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        if set(value) == {"__array__", "dtype"}:
            return np.asarray(from_json(value["__array__"]), dtype=np.dtype(value["dtype"]))
        return {k: from_json(v) for k, v in value.items()}
    return value


__all__ = ["FORMAT", "FORMATS", "ESTIMATOR_JSON", "to_json", "from_json", "penalties_from_v1"]
