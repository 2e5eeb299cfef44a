"""Schemas of the JSON files aekit reads back: every field checked (type, range, shape) before use.

A run or estimator folder may come from someone else, so what aekit reads from it is data to check,
never trusted: each file has a schema, declared beside the code that writes it, built from the
parameter constraints of :mod:`aekit.params` (``Interval``, ``Options``, ``InstanceOf``, ``AnyOf``)
and the four below. :func:`check` raises one line naming the file, the field, what it must
hold and the value found (shown short), instead of a KeyError or TypeError deep inside a reader::

    SUMMARY = Record(optional={"epochs": Interval(int, 0, None), "test": Record(other=Real())})
    check(document, SUMMARY, "'runs/a/summary.json'", "Resume the run to write it again.")
    # 'runs/a/summary.json': 'test' must be a JSON object, not [1, 2]. Resume the run to write it again.

Unknown fields are allowed unless ``other`` says otherwise: a newer aekit may add some.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from aekit.errors import AekitError, ConfigError
from aekit.params import Interval

Problem = tuple[str, Any, Any]  # (where in the document, the constraint it breaks, the value found)
MISSING = object()  # the value of a required field that is absent


class Real:
    """Any real number, infinite and NaN included (a measurement: a loss, an accuracy of no test rows)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)

    def __str__(self) -> str:
        return "a number"


class _Nested:
    """A constraint that finds the first problem inside a value (``problem``); it accepts a value with none."""

    def accepts(self, value: Any) -> bool:
        return self.problem(value, "") is None


class Items(_Nested):
    """A list (or tuple) of ``min_len`` to ``max_len`` items, each satisfying ``item``."""

    def __init__(self, item: Any, min_len: int = 0, max_len: int | None = None) -> None:
        self.item, self.min_len, self.max_len = item, min_len, max_len

    def problem(self, value: Any, at: str) -> Problem | None:
        if not isinstance(value, (list, tuple)) or len(value) < self.min_len or (
                self.max_len is not None and len(value) > self.max_len):
            return at, self, value
        for i, item in enumerate(value):
            found = problem(self.item, item, f"{at}[{i}]")
            if found:
                return found
        return None

    def __str__(self) -> str:
        if self.max_len is None:
            count = f"at least {self.min_len} " if self.min_len else ""
        else:
            count = f"{self.min_len} to {self.max_len} " if self.min_len != self.max_len else f"{self.min_len} "
        return f"a list of {count}items, each {self.item}"


class Record(_Nested):
    """A JSON object with ``required`` and ``optional`` fields, each checked by its constraint; every other
    field is checked by ``other`` (None: anything)."""

    def __init__(self, required: Mapping[str, Any] | None = None, optional: Mapping[str, Any] | None = None,
                 other: Any = None) -> None:
        self.required, self.optional, self.other = dict(required or {}), dict(optional or {}), other

    def problem(self, value: Any, at: str) -> Problem | None:
        if not isinstance(value, dict):
            return at, self, value
        for name, constraint in self.required.items():
            if name not in value:
                return _join(at, name), constraint, MISSING
        for name, item in value.items():
            constraint = self.required.get(name, self.optional.get(name, self.other))
            found = problem(constraint, item, _join(at, name)) if constraint is not None else None
            if found:
                return found
        return None

    def __str__(self) -> str:
        names = ", ".join(repr(name) for name in self.required)
        return f"a JSON object with the fields {names}" if names else "a JSON object"


class Where(_Nested):
    """``base`` (when given), and ``test(value)`` true; ``what`` says what the test asks, e.g. "of at most
    2**31 values" (or, without a base, all that is asked: "a 1-D array of labels")."""

    def __init__(self, base: Any, test: Callable[[Any], bool], what: str) -> None:
        self.base, self.test, self.what = base, test, what

    def problem(self, value: Any, at: str) -> Problem | None:
        found = problem(self.base, value, at) if self.base is not None else None
        if found:
            return found
        try:
            ok = bool(self.test(value))
        except (TypeError, ValueError, OverflowError, RecursionError):
            ok = False
        return None if ok else (at, self, value)

    def __str__(self) -> str:
        return f"{self.base}, {self.what}" if self.base is not None else self.what


MAX_SAMPLE_VALUES = 2**31 - 1  # values in one sample: beyond, sizes overflow torch's and numpy's index types


def sample_shape(max_dims: int = 3) -> Where:
    """The shape of one sample: 1 to ``max_dims`` positive ints of at most ``MAX_SAMPLE_VALUES`` values in all."""
    return Where(Items(Interval(int, 1, None), 1, max_dims), lambda s: math.prod(s) <= MAX_SAMPLE_VALUES,
                 f"of at most {MAX_SAMPLE_VALUES:,} values in all")


def _join(at: str, name: str) -> str:
    return f"{at}.{name}" if at else name


def problem(constraint: Any, value: Any, at: str = "") -> Problem | None:
    """The first place where ``value`` breaks ``constraint`` (None: it does not)."""
    if hasattr(constraint, "problem"):
        return constraint.problem(value, at)
    try:
        ok = value is None if constraint is None else constraint.accepts(value)
    except (TypeError, ValueError):  # e.g. an unhashable value asked whether it is among some options
        ok = False
    return None if ok else (at, constraint, value)


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a file may hold a value of any size)."""
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python prints
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check(document: Any, schema: Any, source: str, fix: str, error: type[AekitError] = ConfigError) -> Any:
    """``document`` when it satisfies ``schema``; else ``error`` of one line naming ``source`` (the file, and
    the line for JSON lines), the field, what it must hold and the value found, then ``fix``."""
    found = problem(schema, document)
    if found is None:
        return document
    at, constraint, value = found
    fix = fix[:1].upper() + fix[1:]
    if value is MISSING:
        raise error(f"{source} has no {at!r}, which must be {constraint}. {fix}")
    if not at:
        raise error(f"{source} must hold {constraint}, not {short(value)}. {fix}")
    raise error(f"{source}: {at!r} must be {constraint}, not {short(value)}. {fix}")


__all__ = ["Real", "Items", "Record", "Where", "sample_shape", "MAX_SAMPLE_VALUES", "problem", "check", "short"]
