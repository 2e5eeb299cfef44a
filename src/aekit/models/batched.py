"""Apply a model to a numpy array in batches: eval mode, no gradients, numpy out.

Encoding a data set, reconstructing it, scoring it or classifying it are all the same loop; every
layer above the models (training, analysis, viz, the estimators) calls this one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def map_batches(fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray, model: nn.Module,
                batch_size: int = 1024) -> np.ndarray:
    """``fn`` over the rows of ``x`` (n, ...) in batches on ``model``'s device; float32 numpy (n, ...).

    ``model`` is put in eval mode while ``fn`` runs (a variational model then encodes its mean) and
    given back its mode afterwards. An empty ``x`` still goes through ``fn`` once, so the result keeps
    its trailing shape.
    """
    device = next(model.parameters()).device
    x = np.ascontiguousarray(x, dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        parts = [fn(torch.from_numpy(x[i : i + batch_size]).to(device)).cpu().numpy()
                 for i in range(0, max(len(x), 1), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(parts)
