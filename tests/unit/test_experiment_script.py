"""experiments/_script.py: re-running an experiment regenerates its tables and keeps the hand-written
reading at the end of the previous result file."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "experiments"))

from _script import KEPT, script_main  # noqa: E402


def run_script(out: Path, value: int) -> None:
    script_main("demo.py", "Demo.", ["--out", str(out)], run=lambda setup, log: value,
                report=lambda outcome, setup, seconds, command: f"# Demo\n\n| x |\n|---|\n| {outcome} |", full=None,
                quick=None, results=out)


def test_rerun_regenerates_the_tables_and_keeps_the_reading(tmp_path):
    out = tmp_path / "demo.md"
    run_script(out, 1)
    assert out.read_text() == "# Demo\n\n| x |\n|---|\n| 1 |\n"  # no reading yet: nothing added
    out.write_text(out.read_text() + "\n## Reading (by hand)\n\nx is 1, as expected.\n")
    run_script(out, 2)
    text = out.read_text()
    assert text.startswith("# Demo\n\n| x |\n|---|\n| 2 |\n")
    assert text.count("## Reading (by hand)") == 1 and text.endswith(f"{KEPT}\n\nx is 1, as expected.\n")
    run_script(out, 3)  # a third run neither duplicates the section nor the note
    assert out.read_text().count(KEPT) == 1 and "| 3 |" in out.read_text() and "| 2 |" not in out.read_text()
