"""Objectives: small callables ``(batch, out, model) -> {term name: weighted scalar}``.

The loss lives outside the model: the model returns named outputs (``h``, ``logits`` or ``x_hat``,
and ``mu``/``logvar`` when variational); each objective returns named terms; the trainer sums them
and logs each one. ``batch`` holds ``x`` (the clean input, the target) and ``x_tilde`` (what the
model was fed: a corrupted copy when denoising, else ``x`` itself).

An objective is a dataclass registered with ``@register("objective", name)``; its fields are
declared with :func:`aekit.config.param`, so a config's ``penalties: {name: weight}`` or
``penalties: {name: {field: value}}`` is checked like any other section. Two optional methods:
``bind(model)`` (called once by the trainer: check the model fits, e.g. codes in (0, 1), and pick a
fast path) and ``start_epoch(epoch, epochs)`` (called before each epoch, e.g. for a KL warm-up).

Every module in this package is imported here, so a new regulariser is one new file.

:func:`build_objectives` is the one place that turns a reconstruction name and a ``penalties``
mapping into objectives: a run config, the scikit-learn estimators and layer-wise stages all call it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from aekit.config import build
from aekit.errors import ConfigError
from aekit.objectives.reconstruction import CrossEntropy, SquaredError, choose_reconstruction, x_hat_of
from aekit.params import Registered

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

VARIATIONAL_KL = "kl"  # the term a variational model trains with (beta = 1) unless its penalties name it


def resolve_penalties(penalties: Mapping[str, Any] | None, *, variational: bool = False) -> dict[str, Any]:
    """``penalties`` as a run trains with them: a variational model gets its KL term (``kl: 1.0``, the
    ELBO) unless one is configured, so that config.yaml and the report list it."""
    resolved = dict(penalties or {})
    if variational and VARIATIONAL_KL not in resolved:
        resolved[VARIATIONAL_KL] = 1.0
    return resolved


def build_objectives(reconstruction: str, penalties: Mapping[str, Any] | None = None, *, variational: bool = False,
                     section: str = "penalties") -> list[Any]:
    """The reconstruction term, then one term per entry of ``penalties`` (``{name: weight}`` or ``{name:
    {field: value}}``), each a registered objective checked against its declared fields; errors name
    the key as ``section.name.field``."""
    recon = build("objective", reconstruction, None, section="loss")
    if not hasattr(recon, "output"):  # the decoder output it expects: what makes a term a reconstruction
        raise ConfigError(f"The 'loss.reconstruction' parameter must be {Registered('objective', 'output')}: a "
                          f"reconstruction term. Got {reconstruction!r}, a penalty; list it under penalties.")
    terms = resolve_penalties(penalties, variational=variational)
    return [recon, *(build("objective", name, spec, section=section) for name, spec in terms.items())]


__all__ = ["CrossEntropy", "SquaredError", "x_hat_of", "choose_reconstruction", "build_objectives",
           "resolve_penalties", "VARIATIONAL_KL"]
