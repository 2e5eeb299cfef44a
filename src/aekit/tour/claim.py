"""A claim of the tour: what it states, how it is measured, and the verdict its numbers give.

A claim is a class registered under kind ``"claim"``::

    @register("claim", "linear_pca")
    class LinearIsPCA(Claim):
        title = "A linear autoencoder learns PCA's subspace"
        order = 10

        def run(self, setting: Setting) -> Evidence:
            ...                                   # train, measure on held-out data, decide
            return Evidence(statement=..., protocol=..., header=[...], rows=[...], rule=..., verdict=verdict(checks))

``setting.quick`` asks for a tiny version of the same code path (the whole quick tour runs in CI in a
few minutes); the full version is what the committed tour reports. A verdict is computed, never
typed: :func:`verdict` turns the rule's checks into "holds", "does not hold" or "mixed", and the rule
is printed beside it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from aekit.report.html import FigureEntry

HOLDS, FAILS, MIXED = "holds", "does not hold", "mixed"


@dataclass
class Setting:
    """How a claim runs: quick or full, the seeds, a folder for its runs, and a logger."""

    quick: bool
    seeds: tuple[int, ...]
    workdir: Path
    log: Callable[[str], None] = print

    def folder(self, *parts: str) -> Path:
        path = self.workdir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Published:
    """A published number shown beside ours, never in the same cell, with how our protocol differs."""

    source: str  # e.g. "Hinton & Salakhutdinov, Science 2006, Fig. 2"
    quantity: str  # what was measured
    value: str  # the paper's number, as printed there
    ours: str  # our number for the nearest quantity
    differs: str  # how our protocol differs (training set size, epochs, architecture, binarisation, ...)


@dataclass
class Evidence:
    """What a claim's run found: the section of the tour page and the numbers behind it."""

    statement: str  # the claim in one sentence
    protocol: str  # data, split, seeds, what was selected on what
    header: list[str]
    rows: list[list[str]]  # mean ± sd over seeds, as text
    rule: str  # how the verdict follows from the numbers
    verdict: str  # HOLDS, FAILS or MIXED
    numbers: dict[str, float] = field(default_factory=dict)  # the measured values (results.json, tests)
    figures: list[FigureEntry] = field(default_factory=list)
    published: list[Published] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a sceptical reader should know


class Claim:
    """One claim of the lecture; subclasses set ``title`` and ``order`` and define :meth:`run`."""

    title: ClassVar[str] = ""
    order: ClassVar[int] = 1000

    def run(self, setting: Setting) -> Evidence:
        raise NotImplementedError


def verdict(checks: Sequence[bool]) -> str:
    """"holds" when every check passes, "does not hold" when none does, else "mixed"."""
    checks = [bool(c) for c in checks]
    if checks and all(checks):
        return HOLDS
    if not any(checks):
        return FAILS
    return MIXED


def mean_sd(values: Sequence[float], fmt: str = "{:.3f}") -> str:
    """``"0.512 ± 0.003"`` (just the value for one seed); NaNs are left out and said."""
    finite = [float(v) for v in values if not math.isnan(float(v))]
    if not finite:
        return "—"
    if len(finite) == 1:
        return fmt.format(finite[0])
    return f"{fmt.format(statistics.fmean(finite))} ± {fmt.format(statistics.stdev(finite))}"


def signed(values: Sequence[float], fmt: str, unit: str = "") -> str:
    """``"+9.66 ± 0.59"``: a paired gap's mean with its sign, its standard deviation without (just the mean
    for one value)."""
    m = mean(values)
    text = ("+" if m >= 0 else "−") + fmt.format(abs(m))
    return text + unit + (f" ± {fmt.format(statistics.stdev(values))}{unit}" if len(values) > 1 else "")


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(float(v) for v in values)


__all__ = ["Claim", "Setting", "Evidence", "Published", "verdict", "mean_sd", "mean", "signed", "HOLDS", "FAILS", "MIXED"]
