"""``aekit tour --quick``: every registered claim runs its tiny version, none crashes, each section has
a computed verdict, and the page passes the headless-browser check the run reports pass.

The quick tour is a check of the code paths, not evidence (the page says so); the full tour's numbers
are committed under ``docs/tour/``.
"""

from __future__ import annotations

import json

import pytest
from _browser import image_widths, launch, load  # noqa: E402  (tests/behaviour/_browser.py)

from aekit.errors import ConfigError
from aekit.io import readme_markers, write_readme_block
from aekit.registry import available
from aekit.tour.claim import HOLDS, RULE, VERDICTS, combine
from aekit.tour.runner import README_KEY, claims, run_tour
from aekit.viz.linear import ANGLE_ORDER


@pytest.fixture(scope="module")
def tour(quick_tour):
    return quick_tour


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from launch(tmp_path_factory)


def test_every_claim_runs_and_gets_a_computed_verdict(tour):
    assert [s.key for s in tour.sections] == claims() and set(claims()) == set(available("claim"))
    assert len(tour.sections) >= 1
    for section in tour.sections:
        assert section.error is None, f"{section.key}: {section.error}"
        e = section.evidence
        assert e.verdict in VERDICTS and e.rule and e.statement and e.protocol
        assert e.rows and all(len(row) == len(e.header) for row in e.rows), section.key
        assert "MNIST-5k: 400 training" in e.scale, section.key  # the scale it ran at
        assert "split 70/10/20 (stratified) by each seed" in e.protocol, section.key
        # the one rule decided it: every check judged by RULE, the verdict their combination
        d = e.decision
        assert d is not None and d.seeds == [0] and d.seed_out is None, section.key
        assert all(o.outcome == RULE.outcome(o.diffs) and len(o.diffs) == 1 and o.effect > 0 for o in d.outcomes)
        assert e.verdict == combine([o.outcome for o in d.outcomes])
    results = json.loads((tour.out / "results.json").read_text())
    assert [c["key"] for c in results["claims"]] == claims() and results["quick"] is True
    assert results["rule"] == RULE.text() and results["data"] == "mnist5k"
    assert all(c["scale"] and c["decision"]["outcomes"] for c in results["claims"])
    tables = (tour.out / "tables.md").read_text()
    assert all(f"#### {s.title}: {s.verdict}" in tables for s in tour.sections)
    assert f"Rule: {RULE.text()}" in tables and tables.count("\nStability: ") == len(tour.sections)
    (pca,) = [f for f in tour.evidence("linear_pca").figures if f.key == "pca"]
    assert pca.caption.endswith(f"subspace, {ANGLE_ORDER}.")  # as the figure's axis says it


def test_the_tour_page_loads_in_a_browser_with_every_claim(browser, tour):
    page, problems = load(browser, tour.out / "tour.html")
    try:
        assert problems == {"console": [], "page": [], "requests": []}
        assert all(w > 0 for w in image_widths(page))
        sections = page.evaluate("Array.from(document.querySelectorAll('section[data-claim]')).map(s => s.dataset.claim)")
        assert sections == claims()
        verdicts = page.evaluate("Array.from(document.querySelectorAll('section [data-verdict]')).map(b => b.dataset.verdict)")
        assert set(verdicts) <= set(VERDICTS) and len(verdicts) >= len(sections)
        assert page.locator("p.stability").count() == len(sections)
        assert "not evidence" in page.inner_text("body")  # a quick tour says what it is
    finally:
        page.close()


def test_only_runs_the_named_claims_and_an_unknown_one_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="Unknown claim 'no_such_claim' in --only. Claims: "):
        run_tour(tmp_path, quick=True, only=["no_such_claim"])
    assert claims(["linear_pca"]) == ["linear_pca"]


def test_the_readme_tables_go_between_the_markers_and_nowhere_else(tmp_path):
    begin, end = readme_markers(README_KEY)
    other_begin, other_end = readme_markers("performance")
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{begin}\nold tables\n{end}\nmiddle\n{other_begin}\nkept\n{other_end}\n")
    write_readme_block(readme, README_KEY, "| new | table |")
    assert readme.read_text() == (f"# title\n\nbefore\n{begin}\n| new | table |\n{end}\nmiddle\n"
                                  f"{other_begin}\nkept\n{other_end}\n")
    readme.write_text(f"{begin}\none\n{end}\n{begin}\ntwo\n{end}\n")
    with pytest.raises(ConfigError, match="needs exactly one <!-- tour:begin -->"):
        write_readme_block(readme, README_KEY, "x")
    readme.write_text("no markers\n")
    with pytest.raises(ConfigError, match="needs exactly one"):
        write_readme_block(readme, README_KEY, "x")


def test_measuring_one_claim_again_keeps_the_others_as_they_were_measured(tour, tmp_path):
    import shutil

    from aekit.registry import register, unregister
    from aekit.tour.claim import Claim, Evidence

    @register("claim", "zz_probe")
    class Probe(Claim):
        title = "A claim measured on its own"
        order = 10_000

        def run(self, setting):
            return Evidence(statement="s", protocol="p", header=["a", "b"], rows=[["x", "1"]], rule="r", verdict=HOLDS)

    try:
        out = tmp_path / "tour"
        shutil.copytree(tour.out, out)
        again = run_tour(out, quick=True, only=["zz_probe"], threads=1, command="aekit tour --quick --only zz_probe",
                         log=lambda message: None)
    finally:
        unregister("claim", "zz_probe")
    assert [s.key for s in again.sections] == [*(s.key for s in tour.sections), "zz_probe"]
    before = json.loads((tour.out / "results.json").read_text())["claims"]
    after = json.loads((out / "results.json").read_text())["claims"]
    assert after[:-1] == before  # the others as they were measured, figures included
    assert after[-1]["measured"]["command"] == "aekit tour --quick --only zz_probe"
    assert "Measured by `aekit tour --quick` on" in (out / "tables.md").read_text()  # the kept ones say how
