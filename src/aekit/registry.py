"""A small registry of named components (activations, encoders, objectives, corruptions, data sets).

Configs name components by string; a new component registers itself with one decorator and every
contract test picks it up (torchvision's ``register_model`` / ``get_model`` / ``list_models``)::

    @register("objective", "contractive")
    class Contractive: ...

    get("objective", "contractive")      # the class
    available("objective")               # ['bce', 'contractive', 'mse', ...]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aekit.errors import ConfigError

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, Any]] = {}

# The module that defines each kind's entries: importing it fills the registry, so ``get`` works
# whatever the caller has imported so far.
_HOMES = {
    "activation": "aekit.models.activations",
    "encoder": "aekit.models.autoencoder",
    "objective": "aekit.objectives",
    "corruption": "aekit.data.corruption",
    "dataset": "aekit.data",
}


def register(kind: str, name: str) -> Callable[[T], T]:
    """Register the decorated object as ``name`` among components of ``kind``."""

    def decorator(obj: T) -> T:
        entries = _REGISTRY.setdefault(kind, {})
        if name in entries and entries[name] is not obj:
            raise ValueError(f"{kind} {name!r} is registered twice")
        entries[name] = obj
        return obj

    return decorator


def _load(kind: str) -> dict[str, Any]:
    home = _HOMES.get(kind)
    if home is not None:
        __import__(home)
    return _REGISTRY.get(kind, {})


def available(kind: str) -> list[str]:
    """Sorted names registered under ``kind``."""
    return sorted(_load(kind))


def get(kind: str, name: str) -> Any:
    """The component registered as ``name``; an unknown name lists what exists."""
    entries = _load(kind)
    if name not in entries:
        names = ", ".join(sorted(entries)) or "none"
        raise ConfigError(f"Unknown {kind} {name!r}. Available: {names}.")
    return entries[name]
