"""A small registry of named components (activations, encoders, objectives, corruptions, data sets).

Configs name components by string; a new component registers itself with one decorator and every
contract test picks it up (torchvision's ``register_model`` / ``get_model`` / ``list_models``)::

    @register("objective", "contractive")
    class Contractive: ...

    get("objective", "contractive")      # the class
    available("objective")               # ['bce', 'contractive', 'mse', ...]
    build("objective", "l1", 1e-3)       # L1(weight=0.001), checked against its declared fields

Components outside aekit register the same way: a module of your own, named in a config's
``plugins: [my_package.my_penalty]`` (or imported before use from Python), is imported by
:func:`load_plugins` before anything is looked up.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from aekit.errors import ConfigError

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, Any]] = {}

# The module that defines each kind's entries: importing it fills the registry, so ``get`` works
# whatever the caller has imported so far.
_HOMES = {
    "activation": "aekit.models.activations",
    "encoder": "aekit.models.encoders",
    "objective": "aekit.objectives",
    "corruption": "aekit.data.corruption",
    "dataset": "aekit.data",
    "figure": "aekit.viz",
    "claim": "aekit.tour.claims",
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


def unregister(kind: str, name: str) -> None:
    """Forget ``name`` among components of ``kind`` (a test or a notebook that registered one of its own)."""
    _REGISTRY.get(kind, {}).pop(name, None)


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


def build(kind: str, name: str, spec: Any = None, *, section: str | None = None) -> Any:
    """The registered ``kind`` called ``name``, configured by ``spec``: a mapping of its fields, or a
    bare value for its first field (an objective's weight, a corruption's level); None for its defaults.

    Every value is checked against the field's declared constraint, and an error names the key as a
    config would write it (``section.name.field``, ``section`` defaulting to ``kind``)."""
    import dataclasses

    from aekit.config import from_dict

    cls = get(kind, name)
    prefix = f"{section or kind}.{name}."
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
        if not fields:
            raise ConfigError(f"{kind} {name!r} has no settings, so {prefix.rstrip('.')!r} takes none; give {{}} "
                              f"instead of {spec!r}.")
        spec = {fields[0].name: spec}
    return from_dict(cls, spec, prefix=prefix)


def load_plugins(modules: Iterable[str]) -> None:
    """Import each module (a dotted name) so that the components it registers can be named in a config.

    A module not found on ``sys.path`` is looked for in the working directory too (the ``aekit`` command
    does not put it on the path, ``python`` does)."""
    for module in modules:
        if module in sys.modules:
            continue
        try:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as error:
                if error.name != module.split(".")[0] or os.getcwd() in sys.path:
                    raise
                sys.path.append(os.getcwd())
                importlib.import_module(module)
        except (ImportError, SyntaxError) as error:
            raise ConfigError(f"The plugin module {module!r} (config key 'plugins') cannot be imported: {error}. "
                              f"Give a dotted module name importable from the working directory or an installed "
                              f"package (e.g. my_penalty for ./my_penalty.py).") from None
