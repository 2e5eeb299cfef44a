"""Typed configuration: dataclasses with declared constraints, YAML files and dotted overrides.

Each component owns its config dataclass and defaults (minGPT's ``get_default_config``); the run
config composes them. Every field declares its constraint with :func:`param`, so a YAML file, a
``--set model.code_size=10`` override and a Python call are checked by the same table::

    @dataclass
    class ModelConfig:
        code_size: int = param(32, Interval(int, 1, None), "size of the code h")

Unknown keys fail and list the valid ones; values are checked with :func:`aekit.params.checked`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from aekit.errors import ConfigError
from aekit.params import check, checked
from aekit.registry import get

C = TypeVar("C")


def param(default: Any, constraint: Any = None, doc: str = "") -> Any:
    """A dataclass field with a constraint and a one-line description (shown by ``--help-config``)."""
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(
            default_factory=lambda: type(value)(value),
            metadata={"constraint": constraint, "doc": doc},
        )
    return dataclasses.field(default=default, metadata={"constraint": constraint, "doc": doc})


def _default(field: dataclasses.Field) -> Any:
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default


def _nested_type(field: dataclasses.Field) -> type | None:
    """The dataclass type of a field that holds a nested config, else None."""
    default = _default(field)
    return type(default) if dataclasses.is_dataclass(default) else None


def from_dict(cls: type[C], data: Mapping[str, Any] | None, prefix: str = "") -> C:
    """Build ``cls`` from a (possibly partial) mapping, checking keys and values.

    A class with a ``config_class(data, prefix)`` classmethod chooses which of its subclasses the data
    describes (a model section's ``kind`` picks that encoder's config), and that one is built."""
    data = dict(data or {})
    choose = getattr(cls, "config_class", None)
    if callable(choose):
        cls = choose(data, prefix)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted((key for key in data if key not in fields), key=repr)  # YAML keys may be None, 1, true...
    if unknown:
        where = f"in section {prefix.rstrip('.')!r}" if prefix else "at the top level"
        raise ConfigError(
            f"Unknown config key {_short(prefix + str(unknown[0]))} {where}. "
            f"Valid keys: {', '.join(prefix + name for name in fields)}."
        )
    kwargs = {}
    for name, field in fields.items():
        if name not in data:
            continue
        nested = _nested_type(field)
        if nested is not None:
            value = data[name]
            if value is not None and not isinstance(value, Mapping):
                raise ConfigError(
                    f"Config section {prefix + name!r} must be a mapping of keys to values. "
                    f"Got {value!r} instead."
                )
            kwargs[name] = from_dict(nested, value, prefix=f"{prefix}{name}.")
        else:
            value = data[name]
            if isinstance(_default(field), tuple) and isinstance(value, list):  # YAML has lists, no tuples
                value = tuple(value)
            # checked here, with the key the config writes, before the class's own check in __post_init__
            kwargs[name] = checked(prefix + name, value, field.metadata.get("constraint"))
    obj = cls(**kwargs)
    _cross_check(obj)  # every value was checked above, each section by its own from_dict: only check() is left
    return obj


def build(kind: str, name: str, spec: Any = None, *, section: str | None = None) -> Any:
    """The registered ``kind`` called ``name``, configured by ``spec``: a mapping of its fields, or a
    bare value for its first field (an objective's weight, a corruption's level); None for its defaults.

    Every value is checked against the field's declared constraint, and an error names the key as a
    config would write it (``section.name.field``, ``section`` defaulting to ``kind``)."""
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


def validate(obj: Any, prefix: str | None = None) -> None:
    """Check every field of a config dataclass (recursively) against its declared constraint, then its
    cross-field ``check()``. Errors name each field under ``prefix``; without one, under the name the
    class is registered as (``l1.weight`` for ``L1(weight=-1)``), so a component that calls
    ``validate(self)`` in its ``__post_init__`` need not repeat its own name.

    For an object made in Python; one built from a config (:func:`from_dict`, :func:`build`) was checked
    as it was built, value by value with the key the config writes, and is not checked again."""
    if prefix is None:
        name = getattr(type(obj), "registered_name", None)
        prefix = f"{name}." if isinstance(name, str) else ""
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if dataclasses.is_dataclass(value):
            validate(value, prefix=f"{prefix}{field.name}.")
        else:
            check(prefix + field.name, value, field.metadata.get("constraint"))
    _cross_check(obj)


def _cross_check(obj: Any) -> None:
    """The checks of a config that involve several fields (its ``check()``, when it has one)."""
    post = getattr(obj, "check", None)
    if callable(post):
        post()


def to_dict(obj: Any) -> dict[str, Any]:
    """A plain, YAML-friendly dict (tuples become lists)."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(obj)


def parse_overrides(overrides: Iterable[str]) -> dict[str, Any]:
    """``["model.code_size=10", "train.lr=1e-3"]`` as a nested dict; values are parsed as YAML."""
    import yaml

    nested: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key:
            raise ConfigError(f"An override must look like key=value (e.g. model.code_size=10). Got {item!r}.")
        try:
            value = load_yaml_text(raw) if raw.strip() else None
        except YAMLRefused as error:
            raise ConfigError(f"The value of override {_short(item)} is refused: it uses {error}.") from None
        except yaml.YAMLError as error:
            where = " ".join(str(error).split())
            raise ConfigError(f"Cannot parse the value of override {_short(item)}: {_short(where, 300)}") from None
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Override {item!r} sets a key inside {part!r}, which is a value.")
        node[parts[-1]] = value
    return nested


def layered(*layers: Mapping[str, Any], overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The data of a config given in ``layers`` (later ones win key by key: a preset, then a file), with the
    ``key=value`` ``overrides`` (``--set``) on top of them all."""
    data: dict[str, Any] = {}
    for layer in (*layers, parse_overrides(overrides)):
        data = merge(data, layer)
    return data


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into a copy of ``base`` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class YAMLRefused(ConfigError):
    """YAML that parses but that aekit will not expand (an alias, deep nesting)."""


MAX_YAML_BYTES = 1 << 20  # a config is a few kB; 1 MiB parses in about a second
MAX_YAML_DEPTH = 32  # sections nest 3 deep (layerwise.penalties[0].l1); PyYAML's composer recurses per level


def load_yaml_text(text: str) -> Any:
    """YAML as data, bounded in size and time: PyYAML's safe loader, refusing aliases (``*name``, which let
    a 1 kB file expand to gigabytes: the "billion laughs") and nesting deeper than MAX_YAML_DEPTH."""
    import yaml

    class DataLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise YAMLRefused(f"a YAML alias (*{event.anchor}) at line {event.start_mark.line + 1}: aekit expands "
                                  f"no aliases (a small file could grow to gigabytes); write the value out instead")
            self.depth += 1
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise YAMLRefused(f"nesting deeper than {MAX_YAML_DEPTH} levels (line {mark.line + 1}); a config "
                                  f"nests a few levels")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_yaml_int(self, node: Any) -> int:
            try:
                return super().construct_yaml_int(node)
            except ValueError:  # Python's int() reads at most 4300 digits
                digits = sum(c.isdigit() for c in node.value)
                raise YAMLRefused(f"an integer of {digits:,} digits at line {node.start_mark.line + 1}, more than "
                                  f"Python reads (no setting is that large)") from None

    DataLoader.add_constructor("tag:yaml.org,2002:int", DataLoader.construct_yaml_int)
    loader = DataLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _short(text: str, limit: int = 120) -> str:
    text = text if isinstance(text, str) else repr(text)
    return repr(text) if len(text) <= limit else repr(text[: limit - 1]) + "…"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A config file as a dict, with a one-line error for a missing, oversized or malformed file."""
    import yaml

    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"Config file {str(path)!r} is a folder, not a file; give the path of a YAML file "
                          f"(a run's config is RUN/config.yaml).")
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist.")
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"Config file {str(path)!r} holds {size:,} bytes; a config is at most "
                              f"{MAX_YAML_BYTES:,} (a few kB is usual). Is it the right file?")
        data = load_yaml_text(path.read_text(encoding="utf-8")) or {}
    except YAMLRefused as error:
        raise ConfigError(f"Config file {str(path)!r} is refused: it uses {error}.") from None
    except yaml.YAMLError as error:
        where = " ".join(str(error).split())  # one line: PyYAML's message spans several
        raise ConfigError(f"Config file {str(path)!r} is not valid YAML: {_short(where, 300)[1:-1]}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"Config file {str(path)!r} is not UTF-8 text (byte {error.start}): a config is a YAML "
                          f"text file; save it as UTF-8.") from None
    except OSError as error:
        raise ConfigError(f"Config file {str(path)!r} cannot be read: {error.strerror or error}.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {str(path)!r} must hold a mapping of sections. Got {type(data).__name__}.")
    return data

