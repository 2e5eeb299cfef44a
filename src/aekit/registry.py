"""A small registry of named components (activations, encoders, objectives, corruptions, data sets).

Configs name components by string; a new component registers itself with one decorator and every
contract test picks it up (torchvision's ``register_model`` / ``get_model`` / ``list_models``)::

    @register("objective", "contractive")
    class Contractive: ...

    get("objective", "contractive")      # the class
    available("objective")               # ['bce', 'contractive', 'mse', ...]
    config.build("objective", "l1", 1e-3)  # L1(weight=0.001), checked against its declared fields

Components outside aekit register the same way: a module of your own, named by you on the command line
(``aekit train --plugin my_penalty``, or ``--plugin ./my_penalty.py``) or imported before use from Python,
is imported by :func:`load_plugins`. A config records the plugins it was trained with (``plugins:``) so
that a reader can say which to name; reading a config never imports them (:func:`require_plugins`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
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
        if isinstance(obj, type) and "registered_name" not in vars(obj):
            obj.registered_name = name  # the key its errors name when it is built in Python (config.validate)
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


def is_module_name(name: object) -> bool:
    """A dotted module name (``pkg.module``): identifiers only, no relative dots, no path."""
    return isinstance(name, str) and bool(name) and all(part.isidentifier() for part in name.split("."))


class ModuleName:
    """The constraint of a ``plugins`` entry: a dotted module name (``'../x'``, ``'.x'`` and ``''`` are not)."""

    def accepts(self, value: object) -> bool:
        return is_module_name(value)

    def __str__(self) -> str:
        return "a dotted module name (e.g. 'my_penalty' or 'my_package.my_penalty')"


def load_plugins(specs: Iterable[str]) -> list[str]:
    """Import the plugins the user names (``aekit ... --plugin``): each a dotted module name importable from
    ``sys.path``, or the path of a ``.py`` file, imported as the module named by its stem. Returns the
    module names, as a config's ``plugins`` records them.

    This is the one place aekit imports a module it did not ship, and only on the user's word: a name
    found in a file (a run's ``config.yaml``) is never imported (:func:`require_plugins`), and the working
    directory is never added to the import path."""
    names = []
    for spec in specs:
        names.append(_import_file(spec) if str(spec).endswith(".py") else _import_name(spec))
    return names


def _import_name(module: str) -> str:
    if not is_module_name(module):
        raise ConfigError(f"The plugin {shorten(module)} (--plugin) must be {ModuleName()} or the path of a .py "
                          f"file.")
    try:
        importlib.import_module(module)
    except Exception as error:  # noqa: BLE001 - the user's module: whatever it raises is a one-line error
        raise ConfigError(f"The plugin module {module!r} (--plugin) cannot be imported: {type(error).__name__}: "
                          f"{shorten(error)}. Give a module importable from sys.path (an installed package, or "
                          f"PYTHONPATH), or the path of its file (--plugin ./{module.split('.')[-1]}.py).") from None
    return module


def _import_file(spec: str) -> str:
    import importlib.util
    from pathlib import Path

    path = Path(spec)
    name = path.stem
    if not is_module_name(name):
        raise ConfigError(f"The plugin file {str(path)!r} (--plugin) must be named as a Python module is "
                          f"(letters, digits and _, e.g. my_penalty.py).")
    if not path.is_file():
        raise ConfigError(f"The plugin file {str(path)!r} (--plugin) does not exist.")
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() == path.resolve():
            return name
        raise ConfigError(f"The plugin file {str(path)!r} (--plugin) would be imported as the module {name!r}, "
                          f"which is already another module ({getattr(loaded, '__file__', None) or 'built in'}); "
                          f"rename the file.")
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - the user's module: whatever it raises is a one-line error
        sys.modules.pop(name, None)
        raise ConfigError(f"The plugin file {str(path)!r} (--plugin) failed while being imported: "
                          f"{type(error).__name__}: {shorten(error)}.") from None
    return name


def require_plugins(modules: Iterable[str], where: str) -> None:
    """Check that every plugin a config names (``where``: which file or key) has been imported by the user.

    A config may come from someone else, so the modules it names are never imported from it: a run folder
    received with ``plugins: [evil]`` and an ``evil.py`` beside it runs nothing. The user opts in by naming
    the module themselves (``--plugin``, or an import in Python), and the config is then read as usual."""
    for module in modules:
        if not is_module_name(module):
            raise ConfigError(f"The 'plugins' entry {shorten(module)} of {where} must be {ModuleName()}.")
        if module not in sys.modules:
            raise ConfigError(
                f"{where} names the plugin module {module!r}, and aekit never imports a module that a file "
                f"names (the file may come from someone else). If you trust it, name it yourself: --plugin "
                f"{module} (or --plugin path/to/{module.split('.')[-1]}.py), or import {module} before calling "
                f"aekit from Python.")


def shorten(value: object, limit: int = 120) -> str:
    """``repr(value)`` (an exception's message) cut to ``limit`` characters: an error stays one short line."""
    text = " ".join(str(value).split()) if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
