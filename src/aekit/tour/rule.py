"""The tour's one rule: how a claim's paired differences over seeds become a verdict.

A claim states each comparison as a :class:`Check` (per seed, a paired difference signed so that > 0
is what the claim says, and the smallest difference it cares about); :func:`decide` gives each check
a 90 % t interval, an outcome and the power of the seeds to detect the effect, combines them into
the claim's verdict, and says whether it survives leaving out any one seed or any one test image.
The page prints the rule from the same object (:data:`RULE`), so its text cannot drift from what runs.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

HOLDS, FAILS, MIXED, CLOSE = "holds", "does not hold", "mixed", "close call"
VERDICTS = (HOLDS, FAILS, MIXED, CLOSE)


@dataclass(frozen=True)
class Check:
    """One comparison a claim makes: per seed, a paired difference signed so that > 0 is what the claim
    states (a bound the claim names is already subtracted), and the smallest difference it cares about."""

    name: str  # e.g. "layer-wise − end to end, probe accuracy"
    diffs: tuple[float, ...]  # one per seed, in the order of the seeds
    effect: float  # δ > 0: the effect size of interest, in the unit of diffs
    unit: str = ""  # printed after numbers: " dB", " pts", "°"
    fmt: str = "{:.3g}"
    # per seed: the lowest and highest difference when any one test image is left out (one_out /
    # accuracy_out); None when the check is no mean over test images and this was not computed
    image_out: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "diffs", tuple(float(d) for d in self.diffs))
        if self.image_out is not None:
            object.__setattr__(self, "image_out", tuple((float(lo), float(hi)) for lo, hi in self.image_out))
        if not self.effect > 0:
            raise ValueError(f"The effect size of check {self.name!r} must be > 0 (the smallest difference the "
                             f"claim cares about, in the unit of its differences). Got {self.effect}.")


@dataclass
class Outcome:
    """A check judged by the rule: the interval, the outcome, and what its seeds could detect."""

    name: str
    outcome: str  # HOLDS, FAILS or CLOSE
    diffs: list[float]
    n: int
    mean: float
    sd: float | None  # None with one seed
    low: float | None  # the interval; None with one seed
    high: float | None
    effect: float
    power: float | None  # of n seeds against the effect of interest, at the observed sd
    seeds_needed: int | None  # the fewest seeds with power >= Rule.power at that sd (None: more than Rule.max_seeds)
    unit: str = ""
    fmt: str = "{:.3g}"
    image_out: list[list[float]] | None = None

    @property
    def positive(self) -> int:
        return sum(d > 0 for d in self.diffs)

    def value(self, v: float | None, sign: bool = True) -> str:
        if v is None:
            return "—"
        text = self.fmt.format(abs(v))
        return (("−" if v < 0 else "+") if sign else "") + text + self.unit

    def interval(self) -> str:
        return "— (one seed)" if self.low is None else f"[{self.value(self.low)}, {self.value(self.high)}]"

    def detectable(self) -> str:
        """What the seeds can detect: power against the effect of interest, and the seeds it would need."""
        if self.power is None:
            return "—"
        need = ("" if self.power >= RULE.power else f"; {self.seeds_needed} seeds would reach {RULE.power:.0%}"
                if self.seeds_needed else f"; more than {RULE.max_seeds} seeds would be needed")
        return f"{self.power:.0%}{need}"

    def row(self) -> list[str]:
        """The check's line on the page."""
        sd = "" if self.sd is None else f" ± {self.value(self.sd, sign=False)}"
        return [self.name, self.value(self.effect, sign=False), self.value(self.mean) + sd, self.interval(),
                f"{self.positive}/{self.n}", self.detectable(), self.verdict()]

    def verdict(self) -> str:
        """The outcome, and for a close call what it means: too few seeds, or a difference below δ."""
        if self.outcome != CLOSE:
            return self.outcome
        if self.power is None:
            return f"{CLOSE} (one seed)"
        return f"{CLOSE} ({'any difference is below δ' if self.power >= RULE.power else 'too few seeds for δ'})"


@dataclass(frozen=True)
class Rule:
    """The statistical rule of every verdict of the tour, fixed before measuring."""

    level: float = 0.90  # two-sided level of each interval: a one-sided test at 5 % each way
    power: float = 0.80  # the detection rate the seeds should reach at a check's effect of interest
    max_seeds: int = 100  # seeds_needed is not searched beyond this

    def header(self) -> list[str]:
        """The columns of a claim's checks on the page (:meth:`Outcome.row`)."""
        return ["check (> 0: as the claim states)", "effect of interest δ", "difference, mean ± sd over seeds",
                f"{self.level:.0%} interval", "seeds > 0", "power at δ", "outcome"]

    def text(self) -> str:
        one_sided = (1 - self.level) / 2
        return (
            f"One rule decides every check of every claim, written before measuring. A check is a paired "
            f"difference: for each seed, the claim's measure minus that of what it is compared with, signed so "
            f"that a positive difference is what the claim states (a bound the claim names is subtracted "
            f"first). A seed draws the split (training, validation and test rows, where the data set's split "
            f"is not fixed), the initialisation and every random draw (noise, labelled rows) together, so the "
            f"n differences are independent repetitions of the whole protocol. Their {self.level:.0%} t "
            f"interval, mean ± t(n − 1)·sd/√n, decides: above 0, the check holds (a one-sided t test at "
            f"{one_sided:.0%}); below 0, it does not hold; straddling 0 (always, with one seed), a close call. "
            f"Each check names its effect size of interest δ, the smallest difference it cares about; its "
            f"power is the chance that n seeds put the interval above 0 when the true mean difference is δ "
            f"and the sd is the observed one (non-central t), and a close call with power of at least "
            f"{self.power:.0%} says the difference, if any, is smaller than δ, one with less that the seeds "
            f"are too few (the number that would do is given). A claim holds when every check holds; does not "
            f"hold when none holds and one does not; is mixed when some hold and some do not; otherwise it is "
            f"a close call. Stability: the verdict is decided again without each seed in turn, and without "
            f"each test image in turn (each check's difference recomputed without it, where the check is a "
            f"mean over test images; an accuracy's from its margin in test images); a verdict is stable when "
            f"none of these changes it.")

    def outcome(self, diffs: Sequence[float]) -> str:
        """HOLDS, FAILS or CLOSE for paired differences (the decision alone, cheap)."""
        low, high = self.bounds(diffs)
        if low is None:
            return CLOSE
        return HOLDS if low > 0 else FAILS if high < 0 else CLOSE

    def bounds(self, diffs: Sequence[float]) -> tuple[float | None, float | None]:
        n = len(diffs)
        if n < 2:
            return None, None
        m, sd = statistics.fmean(diffs), statistics.stdev(diffs)
        half = _t_quantile(1 - (1 - self.level) / 2, n - 1) * sd / math.sqrt(n)
        return m - half, m + half

    def power_at(self, effect: float, sd: float, n: int) -> float:
        """The chance that ``n`` seeds put the interval above 0 when the paired differences are normal with
        mean ``effect`` and standard deviation ``sd``."""
        if n < 2:
            return 0.0
        if sd <= 0:
            return 1.0
        from scipy import stats

        critical = _t_quantile(1 - (1 - self.level) / 2, n - 1)
        return float(stats.nct.sf(critical, n - 1, effect * math.sqrt(n) / sd))

    def judge(self, check: Check) -> Outcome:
        diffs, n = list(check.diffs), len(check.diffs)
        low, high = self.bounds(diffs)
        sd = statistics.stdev(diffs) if n > 1 else None
        power = needed = None
        if sd is not None:
            power = self.power_at(check.effect, sd, n)
            needed = next((k for k in range(2, self.max_seeds + 1)
                           if self.power_at(check.effect, sd, k) >= self.power), None)
        return Outcome(check.name, self.outcome(diffs), diffs, n, statistics.fmean(diffs), sd, low, high,
                       check.effect, power, needed, check.unit, check.fmt,
                       None if check.image_out is None else [list(r) for r in check.image_out])


RULE = Rule()


@functools.lru_cache(maxsize=None)
def _t_quantile(q: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def combine(outcomes: Sequence[str]) -> str:
    """A claim's verdict from its checks' outcomes: every check holds → holds; some hold and some do not →
    mixed; none holds and some does not → does not hold; else (no check fails, some is close) → close call."""
    if outcomes and all(o == HOLDS for o in outcomes):
        return HOLDS
    if FAILS in outcomes:
        return MIXED if HOLDS in outcomes else FAILS
    return CLOSE


@dataclass
class Decision:
    """The verdict of a claim by :data:`RULE`, its checks, and whether it survives one seed or one test
    image less."""

    verdict: str
    outcomes: list[Outcome]
    seeds: list[int]
    seed_out: list[str] | None  # how the verdict changes without one seed ([]: it never does); None: one seed
    image_out: list[str]  # how it changes without one test image ([]: it never does)
    image_out_missing: list[str]  # checks whose image stability was not computed

    @property
    def stable_seeds(self) -> str:
        return "—" if self.seed_out is None else "yes" if not self.seed_out else "no"

    @property
    def stable_images(self) -> str:
        if self.image_out:
            return "no"
        if len(self.image_out_missing) == len(self.outcomes):
            return "—"
        return "yes" if not self.image_out_missing else "yes, where computed"

    def stability(self) -> str:
        """One line for the page: whether the verdict survives leaving out any one seed or test image."""
        if self.seed_out is None:
            seeds = "without one seed: not measured (one seed)"
        elif not self.seed_out:
            seeds = f"without any one of the {len(self.seeds)} seeds: unchanged"
        else:
            seeds = "without one seed it changes: " + "; ".join(self.seed_out)
        measured = len(self.outcomes) - len(self.image_out_missing)
        if not measured:
            images = "without one test image: not computed"
        elif not self.image_out:
            images = "without any one test image: unchanged"
        else:
            images = "without one test image it changes: " + "; ".join(self.image_out)
        if self.image_out_missing and measured:
            images += f" (not computed for: {', '.join(self.image_out_missing)})"
        return f"{seeds}; {images}."

    def rows(self) -> list[list[str]]:
        return [o.row() for o in self.outcomes]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(**{**data, "outcomes": [Outcome(**o) for o in data["outcomes"]]})


def decide(checks: Sequence[Check], seeds: Sequence[int], rule: Rule = RULE) -> Decision:
    """Judge every check by ``rule``, combine them into the claim's verdict, and decide it again without
    each seed in turn and (check by check) without each test image in turn."""
    seeds = list(seeds)
    if not checks or any(len(c.diffs) != len(seeds) for c in checks):
        raise ValueError(f"Every check needs one difference per seed ({len(seeds)}); got "
                         f"{[len(c.diffs) for c in checks] or 'no checks'}.")
    outcomes = [rule.judge(c) for c in checks]
    verdict = combine([o.outcome for o in outcomes])
    seed_out = None
    if len(seeds) > 1:
        seed_out = []
        for j, seed in enumerate(seeds):
            without = combine([rule.outcome(c.diffs[:j] + c.diffs[j + 1:]) for c in checks])
            if without != verdict:
                seed_out.append(f"without seed {seed}: {without}")
    image_out, missing = [], []
    for i, check in enumerate(checks):
        if check.image_out is None:
            missing.append(check.name)
            continue
        for j, (low, high) in enumerate(check.image_out):
            for value in (low, high):
                diffs = list(check.diffs)
                diffs[j] = value
                others = [o.outcome for o in outcomes]
                others[i] = rule.outcome(diffs)
                changed = combine(others)
                if changed != verdict:
                    image_out.append(f"{check.name}, seed {seeds[j]}: {changed}")
                    break
    return Decision(verdict, outcomes, seeds, seed_out, image_out, missing)


def one_out(stat: Callable[..., Any], *columns: np.ndarray) -> tuple[float, tuple[float, float]]:
    """A check's difference for one seed from per-test-image columns, and its lowest and highest value when
    any one image is left out. ``stat`` maps the columns' means to the difference, elementwise (numpy),
    e.g. ``lambda a, b: a - b`` or ``lambda a, b: 1 - a / b``; rows with a non-finite value are left out."""
    cols = np.stack([np.asarray(c, dtype=np.float64).ravel() for c in columns])  # (k, n)
    cols = cols[:, np.isfinite(cols).all(axis=0)]
    n = cols.shape[1]
    total = cols.sum(axis=1, keepdims=True)  # (k, 1)
    value = float(stat(*(total[:, 0] / n)))
    if n < 2:
        return value, (value, value)
    without = np.asarray(stat(*((total - cols) / (n - 1))), dtype=np.float64)  # (n,): image i left out
    return value, (float(without.min()), float(without.max()))


def accuracy_out(diff: float, n: int, scale: float = 1.0) -> tuple[float, float]:
    """The range of a difference of two accuracies on the same ``n`` test images (``diff`` as a fraction)
    when one image is left out, from the margin in test images alone: an image one classifier gets right
    and the other wrong moves it to (n·diff ∓ 1)/(n − 1); one they agree on, to n·diff/(n − 1)."""
    return scale * (n * diff - 1) / (n - 1), scale * (n * diff + 1) / (n - 1)


__all__ = ["Check", "Outcome", "Rule", "RULE", "Decision", "decide", "combine", "one_out", "accuracy_out", "HOLDS",
           "FAILS", "MIXED", "CLOSE", "VERDICTS"]
