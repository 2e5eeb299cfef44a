"""No measured number in the README is typed by hand: results live between markers that the command
which measured them writes (``aekit tour --readme``, ``experiments/<name>.py --readme``,
``benchmarks/trainer_throughput.py --readme``), and the prose around them quotes none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aekit.io import readme_markers

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# key of the block: the command that writes it (as its own first lines say)
BLOCKS = {
    "defaults": "experiments/defaults.py",
    "tour": "aekit tour",
    "tour_mnist": "aekit tour",
    "anomaly": "experiments/anomaly.py",
    "anomaly_odds": "experiments/anomaly_odds.py",
    "performance": "benchmarks/trainer_throughput.py",
}

# A measurement has decimals and a unit: 0.41×, 17.0 %, 18.9 dB, 92.4 nats, 4.2 s.
MEASURED = re.compile(r"\d+\.\d+ ?(?:×|x\b|%|dB|nats\b|s\b|ms\b)")


def prose(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the README outside code fences and outside every written block."""
    lines, fence, block = [], False, None
    for number, line in enumerate(text.split("\n"), 1):
        if line.startswith("```"):
            fence = not fence
            continue
        marker = re.match(r"<!-- (\w+):(begin|end) -->", line)
        if marker:
            block = marker.group(1) if marker.group(2) == "begin" else None
            continue
        if not fence and block is None:
            lines.append((number, line))
    return lines


@pytest.mark.parametrize("key", sorted(BLOCKS))
def test_each_written_block_is_there_once_and_names_the_command_that_wrote_it(key):
    text = README.read_text(encoding="utf-8")
    begin, end = readme_markers(key)
    assert text.count(begin) == 1 and text.count(end) == 1, key
    block = text[text.index(begin) + len(begin) : text.index(end)]
    assert BLOCKS[key] in block, f"the {key} block does not say which command wrote it"
    assert re.search(r"\d", block), f"the {key} block holds no number"


def test_one_script_rewrites_every_block_with_the_command_that_wrote_it():
    script = (ROOT / "scripts" / "readme_numbers.sh").read_text()
    keys = set(re.findall(r"<!-- (\w+):begin -->", README.read_text(encoding="utf-8")))
    assert keys == set(BLOCKS)  # a new block needs its command here and in the script
    for key, command in BLOCKS.items():
        (case,) = re.findall(rf"^\s+{key}\)\s+(.*?);;", script, flags=re.MULTILINE)
        assert command.split("/")[-1] in case and "--readme README.md" in case, (key, case)


def test_the_prose_quotes_no_measurement():
    typed = [f"line {n}: {MEASURED.search(line).group(0)!r} in {line.strip()[:100]!r}"
             for n, line in prose(README.read_text(encoding="utf-8")) if MEASURED.search(line)]
    assert not typed, "numbers typed by hand (put them in a block its command writes):\n" + "\n".join(typed)


def test_the_check_finds_a_typed_number_and_ignores_code_and_blocks():
    begin, end = readme_markers("tour")
    text = f"intro\nerrs 17.0 % on test\n```bash\naekit x  # 0.41x\n```\n{begin}\n18.9 dB\n{end}\nend\n"
    found = [line for _, line in prose(text) if MEASURED.search(line)]
    assert found == ["errs 17.0 % on test"]


def test_the_guides_quote_no_measurement_either():
    """The pages of docs/ point at the README's blocks and the results files instead of copying their numbers
    (provenance.md is the record of where each default came from, with the validation numbers of each choice;
    docs/tour*/ is written by the tour)."""
    guides = [p for p in sorted((ROOT / "docs").glob("*.md")) if p.name != "provenance.md"]
    assert len(guides) >= 9
    typed = [f"{p.name}:{n}: {MEASURED.search(line).group(0)!r}" for p in guides
             for n, line in prose(p.read_text(encoding="utf-8")) if MEASURED.search(line)]
    assert not typed, "numbers typed by hand in the guides:\n" + "\n".join(typed)
