"""The HTML report in a real headless Chromium: it loads from the file with no console errors, no
broken images and no network request, and holds every figure its run should have — no more.

Four small runs cover every figure family: a sparse denoising contractive autoencoder, a 2-D VAE,
a linear autoencoder and a table (wine, through its CSV file); the comparison page of the image runs
is loaded too. A full-page screenshot of
the first report is written under pytest's tmp dir and copied to ``tests/artifacts/report.png`` for
people to look at. Chromium is Debian's ``chromium`` (``bash scripts/setup.sh --test`` installs it),
driven by Playwright without any browser download.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from _browser import image_widths, launch, load  # noqa: E402  (tests/behaviour/_browser.py)

from aekit.report import build_report, compare_runs, figure_titles
from aekit.training.run import train
from aekit.training.run_config import make_config

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
COMMON = ["data.name=digits", "data.limit=400", "train.epochs=2", "model.hidden=[32]"]

RUNS = {
    "families": (["model.code_size=8", "corruption.masking=0.25", "penalties.l1=0.01", "penalties.contractive=0.1"],
                 ["pipeline", "losses", "embedding", "manifold", "traversals", "interpolations", "filters",
                  "sparsity", "jacobian", "denoising"]),
    "vae": (["model.code_size=2", "model.variational=true"],
            ["pipeline", "losses", "embedding", "manifold", "traversals", "interpolations", "prior_samples",
             "filters"]),
    "linear": (["model.code_size=4", "model.hidden=[]", "model.activation=linear", "loss.reconstruction=mse"],
               ["pipeline", "losses", "embedding", "manifold", "traversals", "interpolations", "filters", "pca"]),
    "table": (["data.name={table}", "data.label_column=-1"],  # no image figure: the table's own
              ["feature_errors", "worst_features", "scores", "losses", "embedding"]),
}
IMAGE_RUNS = [name for name in RUNS if name != "table"]


def write_wine(path: Path) -> Path:
    """scikit-learn's wine table as a CSV file with its header, the class label last."""
    from sklearn.datasets import load_wine

    data = load_wine()
    rows = [",".join([*data.feature_names, "label"])]
    rows += [",".join([*map(repr, map(float, x)), str(int(y))]) for x, y in zip(data.data, data.target)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Train the three runs and build their reports and the comparison page."""
    out = tmp_path_factory.mktemp("runs")
    table = write_wine(out / "wine.csv")
    pages = {}
    for name, (overrides, _) in RUNS.items():
        overrides = [o.format(table=table) for o in overrides]
        result = train(make_config(overrides=[*COMMON, *overrides, f"out={out}", f"name={name}"]))
        pages[name] = build_report(result.run_dir).path
    pages["comparison"] = compare_runs([out / name for name in IMAGE_RUNS], out / "comparison.html")
    return pages


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from launch(tmp_path_factory)


@pytest.mark.parametrize("name", list(RUNS))
def test_report_loads_with_every_figure_and_nothing_broken(browser, reports, name):
    page, problems = load(browser, reports[name])
    try:
        assert problems == {"console": [], "page": [], "requests": []}
        widths = image_widths(page)
        assert widths and all(w > 0 for w in widths), widths  # no broken image
        figures = page.evaluate("Array.from(document.querySelectorAll('figure[data-figure]')).map(f => f.dataset.figure)")
        assert figures == RUNS[name][1]  # every figure the run should have, in page order, and no other
        assert len(widths) == len(figures)
        captions = page.evaluate("Array.from(document.querySelectorAll('figcaption')).map(c => c.innerText)")
        assert all(len(c) > 200 for c in captions)  # each explains what it shows and what to look for
        assert page.evaluate("document.querySelectorAll('table')[1].rows.length") >= 4  # the metrics table
        text = page.inner_text("body")
        left_out = text[text.index("Figures that do not apply"):text.index("Configuration")]
        for key, title in figure_titles().items():  # each figure left out is named, with the reason
            assert (title in left_out) is (key not in RUNS[name][1]), title
        if name == "table":  # the image figures share one line, and the page speaks of no pixels
            assert left_out.count("not images") == 1 and "figures (" in left_out, left_out
            assert "pixel" not in text[:text.index("Figures that do not apply")]
    finally:
        page.close()


@pytest.mark.parametrize("name", list(RUNS))
def test_no_figure_on_the_page_is_cut_at_its_edge(browser, reports, name):
    """Each figure as Chromium draws it has a white margin all round: a tick label, axis label or title
    cut by the image's edge would leave ink in the outermost pixels (as the loss curves' y tick labels
    did before the PNGs were saved with ``bbox_inches="tight"``)."""
    import io

    from PIL import Image

    page, problems = load(browser, reports[name])
    try:
        cut = {}
        for key in RUNS[name][1]:
            shot = page.locator(f'figure[data-figure="{key}"] img').screenshot()
            pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=np.int16)  # (H, W) grey
            edges = {"top": pixels[:3], "bottom": pixels[-3:], "left": pixels[:, :3], "right": pixels[:, -3:]}
            inked = [side for side, strip in edges.items() if strip.min() < 200]
            if inked:
                cut[key] = inked
        assert cut == {}, f"figures with ink at their edges (text or drawing cut off): {cut}"
    finally:
        page.close()


def test_screenshot_of_the_report_for_people_to_look_at(browser, reports, tmp_path):
    page, problems = load(browser, reports["families"])
    try:
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        height = page.evaluate("document.body.scrollHeight")
    finally:
        page.close()
    assert not any(problems.values())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 100_000  # a full page of figures, not a blank one
    assert height > 5000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "report.png")


def test_comparison_page_shows_every_run(browser, reports):
    page, problems = load(browser, reports["comparison"])
    try:
        assert not any(problems.values()), problems
        assert all(w > 0 for w in image_widths(page))
        figures = page.evaluate("Array.from(document.querySelectorAll('figure[data-figure]')).map(f => f.dataset.figure)")
        assert figures == ["reconstructions", "validation"]
        header = page.evaluate("Array.from(document.querySelectorAll('table th')).map(th => th.innerText)")
        assert header == ["", *IMAGE_RUNS]
    finally:
        page.close()
