"""The tour as one self-contained HTML page and as Markdown tables (the README's result tables)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aekit.report.html import Markup, escape, figure, page, table
from aekit.tour.claim import CLOSE, FAILS, HOLDS, MIXED, RULE, Evidence

_COLOURS = {HOLDS: "#1a7f37", FAILS: "#b42318", MIXED: "#9a6700", CLOSE: "#9a6700", "error": "#b42318"}


@dataclass
class Section:
    """One claim's place in the tour: its key, title, seconds, and what it found (or the error it raised)."""

    key: str
    title: str
    seconds: float
    evidence: Evidence | None
    error: str | None = None
    measured: dict | None = None  # the command, date, machine and threads that measured it

    @property
    def verdict(self) -> str:
        return self.evidence.verdict if self.evidence is not None else "error"

    @property
    def stable(self) -> tuple[str, str]:
        """Whether the verdict survives leaving out any one seed, any one test image ("—": not measured)."""
        decision = self.evidence.decision if self.evidence is not None else None
        return (decision.stable_seeds, decision.stable_images) if decision is not None else ("—", "—")


def _badge(verdict: str) -> str:
    colour = _COLOURS.get(verdict, "#555")
    return f'<b data-verdict="{escape(verdict)}" style="color:{colour}">{escape(verdict)}</b>'


def _inline(text: object) -> Markup:
    """A claim's cell as HTML: escaped, its Markdown bold (``**best**``, which ``tables.md`` shows as bold) in <b>."""
    return Markup(re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escape(text)))


def _rows(rows: Sequence[Sequence[object]]) -> list[list[Markup]]:
    return [[_inline(cell) for cell in row] for row in rows]


def _section(section: Section) -> str:
    parts = [f'<section id="claim-{escape(section.key)}" data-claim="{escape(section.key)}">',
             f"<h2>{escape(section.title)} — {_badge(section.verdict)}</h2>"]
    e = section.evidence
    if e is None:
        parts.append(f"<p>This claim could not be measured: <code>{escape(section.error)}</code>.</p></section>")
        return "".join(parts)
    parts += [f"<p><b>Claim.</b> {escape(e.statement)}</p>",
              f"<p><b>Scale.</b> {escape(e.scale or 'not stated')}</p>",
              f"<p><b>Protocol.</b> {escape(e.protocol)}</p>",
              table(e.header, _rows(e.rows), numeric=range(1, len(e.header))),
              f"<p><b>Verdict: {_badge(e.verdict)}.</b> Checks: {escape(e.rule)}</p>"]
    if e.decision is not None:
        parts += [table(RULE.header(), e.decision.rows(), numeric=range(1, 6)),
                  f'<p class="stability"><b>Stability.</b> {escape(e.decision.stability())}</p>']
    if e.published:
        parts.append(table(["source", "quantity", "published", "ours", "how our protocol differs"],
                           _rows([[p.source, p.quantity, p.value, p.ours, p.differs] for p in e.published])))
    parts += [figure(entry) for entry in e.figures]
    if e.notes:
        parts.append("<ul>" + "".join(f'<li class="note">{escape(n)}</li>' for n in e.notes) + "</ul>")
    how = section.measured or {}
    by = f" by <code>{escape(how['command'])}</code> on {escape(how['date'])}" if how.get("command") else ""
    parts.append(f'<p class="note">Measured in {section.seconds:.0f} s{by}.</p></section>')
    return "".join(parts)


SUMMARY = ["claim", "verdict", "stable without any one seed", "stable without any one test image"]


def seeds_text(sections: Sequence[Section], facts: dict[str, Any]) -> str:
    """The tour's seeds, and those of each claim that ran others: ``0, 1, 2, 3, 4 (pretraining: 0–13)``."""
    def text(seeds: Sequence[int]) -> str:
        seeds = list(seeds)
        if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
            return f"{seeds[0]}–{seeds[-1]}"
        return ", ".join(map(str, seeds))

    own = [f"{s.key}: {text(s.evidence.decision.seeds)}" for s in sections
           if s.evidence is not None and s.evidence.decision is not None
           and list(s.evidence.decision.seeds) != list(facts["seeds"])]
    return ", ".join(map(str, facts["seeds"])) + (f" ({'; '.join(own)})" if own else "")


def render(sections: Sequence[Section], facts: dict[str, Any]) -> str:
    """The tour's HTML: how it was made, a summary of verdicts, then one section per claim."""
    # each claim's title leads to its section: the page is long (a screen or more per claim)
    summary = [[Markup(f'<a href="#claim-{escape(s.key)}">{escape(s.title)}</a>'), s.verdict, *s.stable,
                f"{s.seconds:.0f} s"] for s in sections]
    head = [f"<h1>The aekit tour{' (quick)' if facts.get('quick') else ''}</h1>",
            '<p class="subtitle">Every claim of the lecture on autoencoders, re-measured on the bundled data; each '
            "verdict is computed from the numbers by the rule printed beside it.</p>",
            table(None, [("command", facts["command"]), ("date", facts["date"]), ("machine", facts["machine"]),
                         ("seeds", seeds_text(sections, facts)), ("threads", str(facts["threads"])),
                         ("total time", f"{facts['seconds']:.0f} s")]),
            "<h2>Summary</h2>", table(SUMMARY + ["time"], summary, numeric=(4,)),
            f"<h2>The rule</h2><p>{escape(RULE.text())}</p>"]
    if facts.get("quick"):
        head.append('<p class="note">A quick tour runs tiny versions of every experiment (a few hundred images, a '
                    "few epochs, one seed) to check the code paths: its verdicts are not evidence. The full tour "
                    "is <code>aekit tour</code>.</p>")
    return page("aekit tour", "\n".join(head + [_section(s) for s in sections]))


def markdown(sections: Sequence[Section], facts: dict[str, Any], brief: str | None = None) -> str:
    """Markdown: the summary of verdicts, then each claim's table with its rule (``tables.md``).

    ``brief`` (the README's block) is the path of that ``tables.md`` as the README links to it: the block is
    the summary alone, each claim's title a link to its section there, where its tables, checks, protocol
    and published numbers are."""
    target = brief or ""
    # a tour measured in parts (--only) names every part's command, not only the last one's
    parts = list(dict.fromkeys(s.measured["command"] for s in sections if (s.measured or {}).get("command")))
    by = f"aekit tour in {len(parts)} parts: {'; '.join(parts)}" if len(parts) > 1 else facts["command"]
    lines = [f"<!-- written by: {by} ({facts['date']}, {facts['machine']}) -->", "",
             f"Seeds {seeds_text(sections, facts)}; {facts['threads']} thread(s); "
             f"{facts['seconds'] / 60:.0f} min of claim time; {facts['date']}."
             + (f" Each claim's numbers, checks and protocol: [{target}]({target})." if brief else ""), "",
             "| " + " | ".join(SUMMARY) + " |", "|---|---|---|---|"]
    lines += [f"| [{s.title}]({target}#{s.key}) | {s.verdict} | {' | '.join(s.stable)} |" for s in sections]
    if brief:
        published = [(s, p) for s in sections if s.evidence for p in s.evidence.published]
        if published and facts.get("data", "mnist5k") != "mnist5k":  # at the papers' scale: their numbers beside ours
            lines += ["", "Beside the papers (how each protocol differs: the claim's tables):", "",
                      "| claim | source | quantity | published | ours |", "|---|---|---|---|---|"]
            lines += [f"| [{s.key}]({target}#{s.key}) | {p.source} | {p.quantity} | {p.value} | {p.ours} |"
                      for s, p in published]
        return "\n".join(lines) + "\n"
    lines += ["", f"Rule: {RULE.text()}"]
    for s in sections:
        lines += ["", f'<a id="{s.key}"></a>', f"#### {s.title}: {s.verdict}", ""]
        if s.evidence is None:
            lines.append(f"Could not be measured: `{s.error}`.")
            continue
        e = s.evidence
        lines += [e.statement, "", f"Scale: {e.scale or 'not stated'}.", "",
                  "| " + " | ".join(e.header) + " |", "|" + "---|" * len(e.header)]
        lines += ["| " + " | ".join(map(str, row)) + " |" for row in e.rows]
        lines += ["", f"Checks: {e.rule}"]
        if e.decision is not None:
            lines += ["", "| " + " | ".join(RULE.header()) + " |", "|" + "---|" * len(RULE.header())]
            lines += ["| " + " | ".join(row) + " |" for row in e.decision.rows()]
            lines += ["", f"Stability: {e.decision.stability()}"]
        lines += ["", f"Protocol: {e.protocol}"]
        if s.measured and s.measured.get("command") != facts["command"]:
            lines += ["", f"Measured by `{s.measured['command']}` on {s.measured['date']}."]
        if e.published:
            lines += ["", "| source | quantity | published | ours | how our protocol differs |", "|---|---|---|---|---|"]
            lines += [f"| {p.source} | {p.quantity} | {p.value} | {p.ours} | {p.differs} |" for p in e.published]
    return "\n".join(lines) + "\n"


__all__ = ["Section", "render", "markdown"]
