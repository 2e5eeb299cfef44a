"""Running the tour: each registered claim in order, timed, into ``tour.html``, ``results.json`` and ``tables.md``."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aekit.errors import ConfigError
from aekit.io import atomic_write_bytes, atomic_write_text, readme_markers, write_readme_block
from aekit.params import SEED, Interval, SequenceOf, check
from aekit.registry import available, get
from aekit.tour.claim import RULE, Claim, Evidence, Setting
from aekit.tour.page import Section, markdown, render

logger = logging.getLogger(__name__)

# Five seeds: with them the rule's t interval detects a true difference of 1.36 paired standard deviations
# with 80 % power (3 seeds: 2.30; 8 seeds: 0.98), and a sign test could first reach 5 % (5 of 5 > 0:
# p = 1/32). At 3 seeds the full tour took 51 min of claim time on 1 thread; 5 take about 90 (contractive
# now selects λ and σ per seed), within the 100 it may cost, where 6 would not be. Each check's power at its
# effect of interest is on the page, with the seeds it would need where 5 are too few; a claim whose effect
# needs more names its number (Claim.seeds: pretraining's 14, about 40 min more).
FULL_SEEDS, QUICK_SEEDS = (0, 1, 2, 3, 4), (0,)
README_KEY = "tour"  # the README block written by --readme: <!-- tour:begin --> ... <!-- tour:end -->


def readme_key(data: str) -> str:
    """The README block of a tour on ``data``: ``tour`` for MNIST-5k, ``tour_mnist`` at full scale, side by side."""
    return README_KEY if data == "mnist5k" else f"{README_KEY}_{data}"


MAX_THREADS = 1024


@dataclass
class Tour:
    """What :func:`run_tour` wrote and found."""

    out: Path
    sections: list[Section]
    seconds: float

    @property
    def verdicts(self) -> dict[str, str]:
        return {s.key: s.verdict for s in self.sections}

    def evidence(self, key: str) -> Evidence:
        """What claim ``key`` found; an error when it was not measured (or could not be)."""
        section = next((s for s in self.sections if s.key == key), None)
        if section is None or section.evidence is None:
            raise ConfigError(f"The tour in {self.out} has no evidence for claim {key!r}"
                              f"{': ' + section.error if section is not None else ''}.")
        return section.evidence


def claims(only: Sequence[str] | None = None) -> list[str]:
    """The registered claims in page order, or those named in ``only`` (unknown names are an error)."""
    names = available("claim")
    if only:
        unknown = [name for name in only if name not in names]
        if unknown:
            raise ConfigError(f"Unknown claim {unknown[0]!r} in --only. Claims: {', '.join(names)}.")
        names = [name for name in names if name in only]
    return sorted(names, key=lambda name: (get("claim", name).order, name))


def claim_seeds(claim: Claim, seeds: tuple[int, ...], given: bool) -> tuple[int, ...]:
    """The seeds ``claim`` runs: ``seeds`` when they were given (or the tour is quick), else the claim's own
    number of seeds (``Claim.seeds``) from 0, or the tour's ``seeds`` when it names none."""
    return seeds if given or claim.seeds is None else tuple(range(claim.seeds))


def check_arguments(only: Sequence[str] | None, seeds: Sequence[int] | None, threads: int,
                    readme: str | Path | None, data: str = "mnist5k") -> None:
    """Refuse what would fail, or do what was not asked, only after hours of claims: ``only`` that names no
    claim (``--only ''`` is not the whole tour), a negative seed, no threads, a README without its block."""
    if only is not None and not only:
        raise ConfigError(f"--only names no claim; give one or more of: {', '.join(claims())} (or leave --only "
                          f"out for the whole tour).")
    if seeds is not None:
        check("seeds", list(seeds), SequenceOf(SEED, min_length=1))
    check("threads", threads, Interval(int, 1, MAX_THREADS))
    if readme is not None:
        begin, end = readme_markers(readme_key(data))
        path = Path(readme)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
            raise ConfigError(f"--readme {str(path)!r} cannot be read ({reason}); give the README that holds the "
                              f"{begin} ... {end} block the tables go into.") from None
        if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
            raise ConfigError(f"--readme {str(path)!r} needs exactly one {begin} ... {end} block for the tour's "
                              f"tables; add one where they belong, or leave --readme out.")


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {cpu}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, torch {torch.__version__}"


def run_tour(out: str | Path, *, quick: bool = False, only: Sequence[str] | None = None,
             seeds: Sequence[int] | None = None, threads: int = 1, readme: str | Path | None = None,
             command: str = "aekit tour", log: Callable[[str], None] = print, data: str = "mnist5k") -> Tour:
    """Run the claims (all, or ``only``) and write the page and the tables into ``out``; with ``readme``,
    replace the README's text between the tour markers with the tables.

    With ``only``, the other claims of an earlier tour of the same kind (quick or full, the same data set and
    rule) in ``out`` are kept on the page as they were measured (each section says its command, date and
    seeds), so one claim can be measured again, with more seeds too, without the rest; the page's seeds stay
    the earlier tour's, and a claim that ran others lists its own."""
    import torch
    from threadpoolctl import threadpool_limits

    check_arguments(only, seeds, threads, readme, data)
    out = Path(out)
    names = claims(only)
    given, seeds = bool(seeds), tuple(seeds) if seeds else (QUICK_SEEDS if quick else FULL_SEEDS)
    if quick:  # what a quick tour's models do is by design: nothing for its user to raise or change
        log("tour --quick: tiny versions of every claim (a few hundred images, a few epochs, one seed); their "
            "models stop on these small budgets before converging, and the verdicts check the code, not the claims.")
    setting = Setting(quick=quick, seeds=seeds, workdir=out / "work", log=log, data=data)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    sections, start = [], time.perf_counter()
    try:
        with threadpool_limits(limits=threads):
            for name in names:
                claim = get("claim", name)()
                setting.seeds = claim_seeds(claim, seeds, given or quick)
                log(f"tour: {name} ({claim.title}), seeds {', '.join(map(str, setting.seeds))}")
                begin, setting.earlier_seconds = time.perf_counter(), 0.0
                try:
                    evidence, error = claim.run(setting), None
                except Exception as exc:  # a claim that crashes is reported as unmeasured, the tour goes on
                    logger.error("claim %s failed:\n%s", name, traceback.format_exc())
                    evidence, error = None, f"{type(exc).__name__}: {exc}"
                spent = time.perf_counter() - begin + setting.earlier_seconds  # an interrupted attempt's work counts
                sections.append(Section(name, claim.title, spent, evidence, error))
                resumed = f" ({setting.earlier_seconds:.0f} s of it in an earlier attempt)" if setting.earlier_seconds else ""
                log(f"tour: {name}: {sections[-1].verdict} in {sections[-1].seconds:.0f} s{resumed}")
    finally:
        torch.set_num_threads(previous_threads)
    seconds = time.perf_counter() - start
    facts = {"command": command, "date": _dt.date.today().isoformat(), "machine": machine(), "seeds": list(seeds),
             "threads": threads, "seconds": seconds, "quick": quick, "data": data, "rule": RULE.text()}
    for section in sections:
        section.measured = {"command": command, "date": facts["date"], "machine": facts["machine"], "threads": threads}
    if only:
        earlier = earlier_sections(out, quick=quick, data=data)
        kept = {s.key: s for s in earlier if s.key not in names}
        if kept:
            facts["seeds"] = json.loads((out / "results.json").read_text())["seeds"]
        sections = [kept.get(name) or next(s for s in sections if s.key == name)
                    for name in claims() if name in kept or name in names]
        facts["seconds"] = sum(s.seconds for s in sections)
    _write(out, sections, facts)
    if readme is not None:
        write_readme_block(Path(readme), readme_key(data), markdown(sections, facts, brief=_tables_link(out, readme)))
    return Tour(out, sections, seconds)


def rewrite_tour(out: str | Path, readme: str | Path | None = None) -> Tour:
    """Write ``tour.html``, ``tables.md`` (and with ``readme`` the README's block) again from the tour's
    ``results.json`` in ``out``, measuring nothing: a newer aekit's page applies to numbers measured before.
    The figures are the PNGs the claims drew when they were measured."""
    path = Path(out) / "results.json"
    try:
        facts = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if k != "claims"}
    except (OSError, ValueError) as error:
        raise ConfigError(f"--rewrite needs the results.json of a tour in {str(out)!r}; reading {str(path)!r} "
                          f"failed ({getattr(error, 'strerror', None) or type(error).__name__}).") from None
    data = facts.get("data", "mnist5k")
    if readme is not None:
        check_arguments(None, None, 1, readme, data)
    sections = earlier_sections(Path(out), quick=facts.get("quick", False), data=data)
    if not sections:
        raise ConfigError(f"The tour in {str(out)!r} was decided by another rule than this aekit's; measure it again "
                          f"(aekit tour) instead of rewriting it.")
    _write(Path(out), sections, facts)
    if readme is not None:
        write_readme_block(Path(readme), readme_key(data), markdown(sections, facts, brief=_tables_link(out, readme)))
    return Tour(Path(out), sections, facts["seconds"])


def _tables_link(out: str | Path, readme: str | Path) -> str:
    """The tour's ``tables.md`` as the README links to it (a path relative to the README's folder)."""
    return Path(os.path.relpath(Path(out).resolve() / "tables.md", Path(readme).resolve().parent)).as_posix()


def _write(out: Path, sections: list[Section], facts: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "tour.html", render(sections, facts))
    atomic_write_text(out / "tables.md", markdown(sections, facts))
    for section in sections:
        for entry in section.evidence.figures if section.evidence else []:
            atomic_write_bytes(out / "figures" / f"{section.key}-{entry.key}.png", entry.png)
    results = {**facts, "claims": [
        {"key": s.key, "title": s.title, "verdict": s.verdict, "seconds": round(s.seconds, 1), "error": s.error,
         "measured": s.measured, **(s.evidence.to_dict() if s.evidence else {}),
         "figures": [{"key": e.key, "title": e.title, "caption": e.caption, "file": f"figures/{s.key}-{e.key}.png"}
                     for e in (s.evidence.figures if s.evidence else [])]}
        for s in sections]}
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, default=float) + "\n")


def earlier_sections(out: Path, *, quick: bool, data: str = "mnist5k") -> list[Section]:
    """The sections of the tour already in ``out`` (its results.json and figure files), when it was the same
    kind of tour (quick or full, the same data set, decided by the same rule); else none. Each section's
    decision holds the seeds it ran."""
    from aekit.report.html import FigureEntry
    from aekit.tour.claim import Decision, Evidence, Published

    path = out / "results.json"
    if not path.is_file():
        return []
    results = json.loads(path.read_text())
    if (results.get("quick") != quick or results.get("data", "mnist5k") != data
            or results.get("rule") != RULE.text()):
        return []  # another kind of tour, or one decided by another rule
    sections = []
    for c in results["claims"]:
        evidence = None
        if c.get("error") is None:
            figures = [FigureEntry(f["key"], f["title"], f["caption"], (out / f["file"]).read_bytes())
                       for f in c.get("figures", []) if (out / f["file"]).is_file()]
            fields = {k: c[k] for k in ("statement", "protocol", "header", "rows", "rule", "verdict", "numbers",
                                        "notes", "scale")}
            decision = Decision.from_dict(c["decision"]) if c.get("decision") else None
            evidence = Evidence(**fields, figures=figures, published=[Published(**p) for p in c.get("published", [])],
                                decision=decision)
        sections.append(Section(c["key"], c["title"], c["seconds"], evidence, c.get("error"), c.get("measured")))
    return sections


__all__ = ["run_tour", "rewrite_tour", "check_arguments", "Tour", "claims", "FULL_SEEDS", "QUICK_SEEDS"]
