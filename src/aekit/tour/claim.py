"""A claim of the tour: what it states, how it is measured, and the verdict its numbers give.

A claim is a class registered under kind ``"claim"``::

    @register("claim", "linear_pca")
    class LinearIsPCA(Claim):
        title = "A linear autoencoder learns PCA's subspace"
        order = 10

        def run(self, setting: Setting) -> Evidence:
            ...                                   # train, measure on held-out data, per seed
            checks = [Check("error within 1 % of PCA's", diffs, effect=0.01)]
            return Evidence(statement=..., protocol=..., header=[...], rows=[...], rule=...,
                            decision=decide(checks, setting.seeds))

``setting.quick`` asks for a tiny version of the same code path (the whole quick tour runs in CI in a
few minutes); the full version is what the committed tour reports. A verdict is computed, never
typed, and by one rule for every claim (:data:`RULE`, printed on the page from the same object): a
claim states each comparison it makes as a :class:`Check` — per seed, a paired difference signed so
that > 0 is what the claim says, and the smallest difference it cares about — and :func:`decide`
does the rest: an interval per check, the claim's verdict, the power of its seeds, and whether the
verdict survives leaving out any one seed or any one test image.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from aekit.report.html import FigureEntry
from aekit.tour.rule import (
    CLOSE,
    FAILS,
    HOLDS,
    MIXED,
    RULE,
    VERDICTS,
    Check,
    Decision,
    Outcome,
    Rule,
    accuracy_out,
    combine,
    decide,
    one_out,
)


@dataclass
class Setting:
    """How a claim runs: quick or full, the seeds, the data set, a folder for its runs, and a logger."""

    quick: bool
    seeds: tuple[int, ...]
    workdir: Path
    log: Callable[[str], None] = print
    data: str = "mnist5k"  # the data set every claim splits and trains on (tour.bench.split)
    # compute time of work an interrupted earlier attempt left (runs resumed, fits remembered), which the
    # claim reuses: the runner adds it to the claim's time, so the time stated is what the claim cost
    earlier_seconds: float = 0.0

    def folder(self, *parts: str) -> Path:
        path = self.workdir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


# -- what a claim reports -------------------------------------------------------------------------
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
    rule: str  # which checks the claim makes and why they are its statement (RULE decides them)
    verdict: str = ""  # HOLDS, FAILS, MIXED or CLOSE: the decision's, when there is one
    numbers: dict[str, float] = field(default_factory=dict)  # the measured values (results.json, tests)
    figures: list[FigureEntry] = field(default_factory=list)
    published: list[Published] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a sceptical reader should know
    decision: Decision | None = None
    scale: str = ""  # the data set and number of training images it ran at

    def __post_init__(self) -> None:
        if self.decision is not None:
            self.verdict = self.decision.verdict
        if self.verdict not in VERDICTS:
            raise ValueError(f"A verdict is one of {VERDICTS} (or comes from decide()). Got {self.verdict!r}.")

    def to_dict(self) -> dict[str, Any]:
        """As results.json holds it (figures are files beside it)."""
        return {k: v for k, v in asdict(self).items() if k != "figures"}


class Claim:
    """One claim of the lecture; subclasses set ``title`` and ``order`` and define :meth:`run`."""

    title: ClassVar[str] = ""
    order: ClassVar[int] = 1000
    # seeds of the full protocol when the tour is not given --seeds: None, the tour's five; a claim whose
    # effect of interest needs more to be detected (its power on the page) names how many
    seeds: ClassVar[int | None] = None

    def run(self, setting: Setting) -> Evidence:
        raise NotImplementedError


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


__all__ = ["Claim", "Setting", "Evidence", "Published", "Check", "Outcome", "Decision", "Rule", "RULE", "decide",
           "combine", "one_out", "accuracy_out", "mean_sd", "mean", "signed", "HOLDS", "FAILS", "MIXED", "CLOSE",
           "VERDICTS"]
