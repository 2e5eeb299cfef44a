"""Parameter constraints, declared once per component and checked with scikit-learn's wording.

A constraint is a small object with ``accepts(value)`` and a description; :func:`check` raises::

    The 'code_size' parameter of Autoencoder must be an int in the range [1, inf). Got 0 instead.

Config dataclasses attach a constraint to each field (see :func:`aekit.config.param`); the
scikit-learn estimators reuse the same objects, so the command line and Python say the same thing.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aekit.errors import ConfigError


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval:
    """A number in ``[low, high]``; ``None`` bounds are infinite; ``closed`` picks the closed ends."""

    type: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right" or "neither"

    def accepts(self, value: Any) -> bool:
        if self.type is int and not _is_int(value):
            return False
        if self.type is float and not _is_real(value):
            return False
        if not _is_int(value) and not math.isfinite(value):  # nan, inf and -inf are no setting (lr=inf: NaN)
            return False
        left_closed = self.closed in ("both", "left")
        right_closed = self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left_closed)):
            return False
        if self.high is not None and (value > self.high or (value == self.high and not right_closed)):
            return False
        return True

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        kind = "an int" if self.type is int else "a float"
        return f"{kind} in the range {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (usually strings)."""

    values: tuple

    def __init__(self, values: Iterable) -> None:
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        try:
            return value in self.values
        except TypeError:
            return False

    def __str__(self) -> str:
        return "a str among {" + ", ".join(repr(v) for v in self.values) + "}"


@dataclass(frozen=True)
class InstanceOf:
    """An instance of ``types`` (e.g. ``bool``, ``str``)."""

    types: tuple

    def __init__(self, *types: type) -> None:
        object.__setattr__(self, "types", types)

    def accepts(self, value: Any) -> bool:
        if bool not in self.types and isinstance(value, bool):
            return False
        return isinstance(value, self.types)

    def __str__(self) -> str:
        names = " or ".join(f"an instance of '{t.__name__}'" for t in self.types)
        return names


@dataclass(frozen=True)
class SequenceOf:
    """A list or tuple whose every item satisfies ``item`` (possibly empty)."""

    item: Any

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (list, tuple)) and all(self.item.accepts(v) for v in value)

    def __str__(self) -> str:
        return f"a list of {_strip_article(str(self.item))}"


@dataclass(frozen=True)
class AnyOf:
    """Satisfied when any of the given constraints is (``None`` stands for the value None)."""

    options: tuple

    def __init__(self, *options: Any) -> None:
        object.__setattr__(self, "options", options)

    def accepts(self, value: Any) -> bool:
        return any(value is None if o is None else o.accepts(value) for o in self.options)

    def __str__(self) -> str:
        parts = ["None" if o is None else str(o) for o in self.options]
        return ", ".join(parts[:-1]) + " or " + parts[-1] if len(parts) > 1 else parts[0]


class Registered:
    """A name registered under ``kind`` (read from the registry when checked, so plugins count); with
    ``having``, only components that have that attribute (e.g. reconstruction objectives: ``output``);
    ``extra`` values (e.g. ``"auto"``) are accepted too."""

    def __init__(self, kind: str, having: str | None = None, extra: tuple = ()) -> None:
        self.kind = kind
        self.having = having
        self.extra = tuple(extra)

    def names(self) -> list[str]:
        from aekit.registry import available, get

        return [*self.extra, *(n for n in available(self.kind)
                               if self.having is None or hasattr(get(self.kind, n), self.having))]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.names()

    def __str__(self) -> str:
        return str(Options(self.names()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Registered) and (self.kind, self.having, self.extra) == (
            other.kind, other.having, other.extra)

    def __hash__(self) -> int:
        return hash((self.kind, self.having, self.extra))


def _strip_article(text: str) -> str:
    """``"an int in the range [1, inf)"`` -> ``"ints in the range [1, inf)"`` (for "a list of ...")."""
    for article in ("an ", "a "):
        if text.startswith(article):
            word, _, rest = text[len(article):].partition(" ")
            return f"{word}s {rest}".strip() if word in ("int", "float", "str") else text[len(article):]
    return text


def message(name: str, owner: str | None, constraint: Any, value: Any) -> str:
    """scikit-learn's wording for a value that breaks ``constraint``."""
    of = f" of {owner}" if owner else ""
    return f"The {name!r} parameter{of} must be {constraint}. Got {value!r} instead."


def check(name: str, value: Any, constraint: Any, owner: str | None = None) -> None:
    """Raise :class:`ConfigError` naming the parameter, the allowed values and the value received."""
    if constraint is not None and not constraint.accepts(value):
        raise ConfigError(message(name, owner, constraint, value))
