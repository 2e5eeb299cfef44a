"""The input layouts an estimator takes — a table (n, d), grey images (n, H, W), images (n, C, H, W) — and
the sample shape its model is built for."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp


def array_ndim(X: Any) -> int:
    """The number of axes of X, 2 for anything scikit-learn's table validation should judge."""
    if sp.issparse(X) or hasattr(X, "columns"):
        return 2
    try:
        return int(np.ndim(X))
    except (ValueError, TypeError):  # ragged nested lists: check_array explains them
        return 2


def model_shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The model's sample shape: a grey-level image (H, W) gets its channel axis, (1, H, W)."""
    return (1, *input_shape) if len(input_shape) == 2 else tuple(input_shape)


__all__ = ["array_ndim", "model_shape"]
