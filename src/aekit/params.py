"""Parameter constraints, declared once per component and checked with scikit-learn's wording.

A constraint is a small object with ``accepts(value)`` and a description; :func:`check` raises::

    The 'code_size' parameter of Autoencoder must be an int in the range [1, inf). Got 0 instead.

Config dataclasses attach a constraint to each field (see :func:`aekit.config.param`); the
scikit-learn estimators reuse the same objects, so the command line and Python say the same thing.
"""

from __future__ import annotations

import math
import numbers
import reprlib
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
        low = "-inf" if self.low is None else _bound(self.low)
        high = "inf" if self.high is None else _bound(self.high)
        kind = "an int" if self.type is int else "a float"
        return f"{kind} in the range {left}{low}, {high}{right}"


def _bound(value: float) -> str:
    """``2147483647`` as itself, ``0.1`` as ``0.1`` (``:g`` would write ``2.14748e+09``)."""
    return str(value) if _is_int(value) else f"{value:g}"


# Integers that size memory or seed a generator are bounded, so that 10**20 is a one-line error naming
# the parameter instead of an overflow inside torch ("Overflow when unpacking long long").
MAX_SIZE = 2**31 - 1  # widths, code sizes, batch sizes, projections: no tensor dimension is ever this large
MAX_SEED = 2**32 - 1  # numpy and scikit-learn take seeds in [0, 2**32 - 1]
SIZE = Interval(int, 1, MAX_SIZE)  # an int that sizes memory
SEED = Interval(int, 0, MAX_SEED)
# Counts that set how many times something runs (epochs, label draws) are bounded too: 10**20 epochs is no
# setting but a loop without end. A million epochs is far beyond any run worth starting (MNIST's 50,000
# images take seconds an epoch; a linear autoencoder on digits needs ~800 epochs of 1,797 rows).
MAX_REPEATS = 10**6
REPEATS = Interval(int, 1, MAX_REPEATS)  # epochs, draws: how many times a loop runs


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
class NonEmptyStr:
    """A str of at least one character: a folder named '' is no folder (``Path('')`` is the current one)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value != ""

    def __str__(self) -> str:
        return "a non-empty str"


@dataclass(frozen=True)
class SequenceOf:
    """A list or tuple whose every item satisfies ``item``, with at least ``min_length`` items."""

    item: Any
    min_length: int = 0

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, (list, tuple)) and len(value) >= self.min_length
                and all(self.item.accepts(v) for v in value))

    def __str__(self) -> str:
        items = _strip_article(str(self.item))
        if self.min_length == 1:
            return f"a non-empty list of {items}"
        return f"a list of at least {self.min_length} {items}" if self.min_length else f"a list of {items}"


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


SHOWN = 200  # characters of a received value an error message shows at most


def shown(value: Any, limit: int = SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters, without building the whole of it first: a list of a
    million items or a 10**100000 (which ``repr`` refuses past 4300 digits) is one short line."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = limit
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict, short.maxset = 4, 20, 20, 20, 20
    try:
        text = short.repr(value)
    except ValueError:  # an int too long for str()
        return f"an int of {value.bit_length()} bits"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def message(name: str, owner: str | None, constraint: Any, value: Any) -> str:
    """scikit-learn's wording for a value that breaks ``constraint`` (the value shown at most
    :data:`SHOWN` characters long)."""
    of = f" of {owner}" if owner else ""
    return f"The {name!r} parameter{of} must be {constraint}. Got {shown(value)} instead."


def check(name: str, value: Any, constraint: Any, owner: str | None = None) -> None:
    """Raise :class:`ConfigError` naming the parameter, the allowed values and the value received."""
    if constraint is not None and not constraint.accepts(value):
        raise ConfigError(message(name, owner, constraint, value))


def checked(name: str, value: Any, constraint: Any) -> Any:
    """A value as a config file or a ``--set`` override writes it, as the parameter ``name`` takes it: YAML's
    spellings of a float (``1``, or ``"3e-4"``, which YAML 1.1 reads as a string) become that float where
    ``constraint`` accepts the float and not the spelling; then checked (:func:`check`)."""
    if constraint is not None and not constraint.accepts(value) and isinstance(value, (int, str)) \
            and not isinstance(value, bool):
        try:
            as_float = float(value)
        except ValueError:
            as_float = None
        if as_float is not None and constraint.accepts(as_float):
            value = as_float
    check(name, value, constraint)
    return value
