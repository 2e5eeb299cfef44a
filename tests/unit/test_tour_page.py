"""The tour's page and tables, rendered from made-up sections: bold cells are bold on the page, the summary
leads to each section, the README's block is the summary linking into ``tables.md``, and ``--rewrite``
renders a measured tour again without measuring."""

from __future__ import annotations

import json
import re

import pytest

from aekit.cli import main
from aekit.errors import ConfigError
from aekit.io import readme_markers
from aekit.registry import register, unregister
from aekit.tour.claim import HOLDS, RULE, Claim, Evidence
from aekit.tour.page import Section, markdown, render
from aekit.tour.runner import README_KEY, _write, rewrite_tour, run_tour

FACTS = {"command": "aekit tour --threads 1", "date": "2026-01-01", "machine": "a machine", "seeds": [0],
         "threads": 1, "seconds": 120.0, "quick": False, "data": "mnist5k", "rule": RULE.text()}


def sections() -> list[Section]:
    evidence = Evidence(statement="s", protocol="p", header=["method", "error"],
                        rows=[["**best baseline, chosen by CV**", "21.4 %"], ["a <tag> & more", "1"]],
                        rule="r", verdict=HOLDS)
    return [Section("first", "The first claim", 60.0, evidence),
            Section("second", "The second claim", 60.0, None, error="ValueError: no")]


def test_bold_cells_are_bold_on_the_page_and_the_rest_is_escaped():
    html = render(sections(), FACTS)
    assert "**" not in html
    assert "<td><b>best baseline, chosen by CV</b></td>" in html
    assert "a &lt;tag&gt; &amp; more" in html  # what is not Markdown bold stays text


def test_the_summary_links_to_every_section_of_the_page():
    html = render(sections(), FACTS)
    links = re.findall(r'<a href="#(claim-[\w-]+)">', html)
    ids = re.findall(r'<section id="(claim-[\w-]+)"', html)
    assert links == ids == ["claim-first", "claim-second"]


def test_the_readme_block_is_the_summary_linking_into_the_tables():
    brief = markdown(sections(), FACTS, brief="docs/tour/tables.md")
    assert "| [The first claim](docs/tour/tables.md#first) | holds |" in brief
    assert "| [The second claim](docs/tour/tables.md#second) | error |" in brief
    assert "####" not in brief and "Rule:" not in brief and len(brief.splitlines()) < 10
    full = markdown(sections(), FACTS)
    assert '<a id="first"></a>' in full and "| **best baseline, chosen by CV** | 21.4 % |" in full


def test_at_the_papers_scale_the_readme_block_sets_their_numbers_beside_ours():
    from aekit.tour.claim import Published

    found = sections()
    found[0].evidence.published = [Published("Hinton & Salakhutdinov 2006", "error / PCA-30's", "0.216", "0.25",
                                             "they pretrained with RBMs")]
    small = markdown(found, FACTS, brief="tables.md")
    assert "Beside the papers" not in small  # MNIST-5k's block stays a summary
    full = markdown(found, {**FACTS, "data": "mnist"}, brief="tables.md")
    assert "| [first](tables.md#first) | Hinton & Salakhutdinov 2006 | error / PCA-30's | 0.216 | 0.25 |" in full
    assert "they pretrained with RBMs" not in full  # how the protocols differ: in the claim's tables


def test_rewrite_renders_a_measured_tour_again_and_measures_nothing(tmp_path):
    out = tmp_path / "docs" / "tour"
    _write(out, sections(), FACTS)
    (out / "tour.html").write_text("an older aekit's page")
    readme = tmp_path / "README.md"
    begin, end = readme_markers(README_KEY)
    readme.write_text(f"# r\n{begin}\nold\n{end}\n")
    tour = rewrite_tour(out, readme=readme)
    assert [s.key for s in tour.sections] == ["first", "second"]
    assert '<a href="#claim-first">' in (out / "tour.html").read_text()
    block = readme.read_text()
    assert "(docs/tour/tables.md#first)" in block and "aekit tour --threads 1 (2026-01-01" in block
    assert json.loads((out / "results.json").read_text())["claims"][0]["rows"][0][1] == "21.4 %"
    with pytest.raises(ConfigError, match="--rewrite needs the results.json of a tour in"):
        rewrite_tour(tmp_path / "nothing")


def test_the_rewrite_option_writes_the_page_from_the_cli(tmp_path, capsys):
    out = tmp_path / "tour"
    _write(out, sections(), FACTS)
    assert main(["tour", "--rewrite", "--out", str(out)]) == 0
    assert "nothing measured" in capsys.readouterr().out


def test_a_quick_tour_says_what_its_budgets_are_for(tmp_path):
    @register("claim", "zz_quick_probe")
    class Probe(Claim):
        title = "A probe"
        order = 10_000

        def run(self, setting):
            return Evidence(statement="s", protocol="p", header=["a"], rows=[["1"]], rule="r", verdict=HOLDS)

    said: list[str] = []
    try:
        run_tour(tmp_path, quick=True, only=["zz_quick_probe"], log=said.append)
    finally:
        unregister("claim", "zz_quick_probe")
    assert "stop on these small budgets before converging" in said[0]
    assert not any("max_epochs" in line for line in said)


def test_a_tour_measured_in_parts_names_every_part():
    first, second = sections()
    first.measured, second.measured = {"command": "aekit tour --only first"}, {"command": "aekit tour --only second"}
    brief = markdown([first, second], FACTS, brief="tables.md")
    assert brief.startswith("<!-- written by: aekit tour in 2 parts: aekit tour --only first; aekit tour --only second (")


def test_a_claim_that_needs_more_seeds_runs_them_unless_seeds_are_given_and_the_page_says_so(tmp_path):
    from aekit.tour.claim import Check, decide

    ran: list[tuple[int, ...]] = []

    def claim(name: str, n: int | None):
        class Probe(Claim):
            title, order, seeds = f"probe {name}", 10_000, n

            def run(self, setting):
                ran.append(setting.seeds)
                check = Check("c", tuple(1.0 + 0.1 * s for s in setting.seeds), effect=0.5)
                return Evidence(statement="s", protocol="p", header=["a"], rows=[["1"]], rule="r",
                                decision=decide([check], setting.seeds))
        register("claim", name)(Probe)

    claim("zz_own", 7), claim("zz_usual", None)
    try:
        tour = run_tour(tmp_path, only=["zz_own", "zz_usual"], log=lambda _: None)
        assert ran == [tuple(range(7)), (0, 1, 2, 3, 4)]
        text = (tmp_path / "tables.md").read_text()
        facts = json.loads((tmp_path / "results.json").read_text())
        assert "Seeds 0, 1, 2, 3, 4 (zz_own: 0–6);" in text
        assert "0, 1, 2, 3, 4 (zz_own: 0–6)" in render(tour.sections, facts)
        ran.clear()
        run_tour(tmp_path / "given", only=["zz_own", "zz_usual"], seeds=[3, 4], log=lambda _: None)
        assert ran == [(3, 4), (3, 4)]
        assert "Seeds 3, 4;" in (tmp_path / "given" / "tables.md").read_text()
        ran.clear()  # one claim measured again with more seeds: the other is kept, the page says whose are whose
        again = run_tour(tmp_path, only=["zz_usual"], seeds=range(8), log=lambda _: None)
        assert ran == [tuple(range(8))] and [s.key for s in again.sections] == ["zz_own", "zz_usual"]
        assert "Seeds 0, 1, 2, 3, 4 (zz_own: 0–6; zz_usual: 0–7);" in (tmp_path / "tables.md").read_text()
    finally:
        unregister("claim", "zz_own"), unregister("claim", "zz_usual")
