"""The latent explorer in a real headless Chromium: the page loads from the file with no error and no
request; sliders set from the test redraw exactly what ``model.decode`` gives for the same code (the
decoded numbers within 1e-4, the canvas pixels within one grey level); hovering shows a point's input and
reconstruction; two points interpolate; a variational model samples its prior; a code of more than 64
units gets the 64 sliders of most variance; a table is drawn as bars, and a run without labels in one colour.

Runs: MNIST-5k's 1,000 test points under the default MLP (28 x 28; the page's size is held to 5 MB),
a convolutional model on digits (8 x 8, t-SNE map), a 2-D VAE (the code is the map), 64 x 64 RGB images,
an unlabelled table, and an 80-unit code. Each is trained for an epoch or two: the page must decode what
the model decodes, however good the model is. The redraw time after a slider move is measured and
printed (``pytest -s``), not asserted; ``benchmarks/explore.py`` reports it.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
from _browser import launch, load  # noqa: E402  (tests/behaviour/_browser.py)

from aekit.report.explore import build_explorer, slider_units
from aekit.training.run import train
from aekit.training.run_config import make_config
from aekit.training.run_folder import load_run

TOLERANCE = 1e-4
MAX_BYTES = 5_000_000  # issue 22: the page of MNIST-5k's 1,000 test points

RUNS = {  # name -> (overrides, map)
    "mnist5k": (["data.name=mnist5k", "train.epochs=1"], "pca"),  # the default model: hidden [512], code 32
    "conv": (["data.name=digits", "data.limit=400", "train.epochs=2", "model.kind=conv", "model.channels=[4, 6]",
              "model.code_size=5"], "tsne"),
    "vae": (["data.name=digits", "data.limit=400", "train.epochs=2", "model.hidden=[32]", "model.code_size=2",
             "model.variational=true"], "tsne"),
    "rgb64": (["train.epochs=1", "model.kind=conv", "model.channels=[4, 4]", "model.code_size=4"], "pca"),
    "table": (["train.epochs=2", "model.hidden=[8]", "model.code_size=3", "data.rescale=minmax",
               "loss.reconstruction=mse"], "pca"),
    "wide": (["data.name=digits", "data.limit=400", "train.epochs=1", "model.hidden=[16]", "model.code_size=80"], "pca"),
}


def _data_files(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    # 64 x 64 RGB: smooth colour blobs in 3 classes
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    labels = np.arange(120) % 3
    centres = rng.random((120, 2))
    blob = np.exp(-((xx[None] - centres[:, :1, None]) ** 2 + (yy[None] - centres[:, 1:, None]) ** 2) * 12)
    images = np.stack([blob * (labels[:, None, None] == c) * 0.8 + 0.1 * blob for c in range(3)], axis=1)
    np.savez(folder / "rgb64.npz", x=images.astype(np.float32), y=labels)
    table = (rng.random((200, 3)) @ rng.random((3, 12))) * np.geomspace(1, 500, 12)  # no labels
    np.save(folder / "table.npy", table.astype(np.float32))
    return {"rgb64": folder / "rgb64.npz", "table": folder / "table.npy"}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Train each run and write its explorer page: name -> (page path, run folder)."""
    out = tmp_path_factory.mktemp("explore-runs")
    files = _data_files(out)
    built = {}
    for name, (overrides, method) in RUNS.items():
        data = [f"data.name={files[name]}"] if name in files else []
        torch.manual_seed(0)
        result = train(make_config(overrides=[*overrides, *data, f"out={out}", f"name={name}"]))
        built[name] = (build_explorer(result.run_dir, method=method).path, result.run_dir)
    return built


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from launch(tmp_path_factory)


@pytest.fixture(scope="module")
def models(pages):
    return {name: load_run(run).model for name, (_, run) in pages.items()}


def _decode(model, code) -> np.ndarray:
    with torch.no_grad():
        return model.decode(torch.tensor([code], dtype=torch.float32)).numpy().reshape(-1)


def _pixels(page, canvas: str) -> np.ndarray:
    """The canvas as (height, width, 4) bytes (read as a PNG: lossless, and fast to carry out of the page)."""
    import base64
    import io

    from PIL import Image

    url = page.evaluate(f"document.getElementById('{canvas}').toDataURL('image/png')")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA")
    return np.asarray(image, dtype=np.int16)


def _expected_pixels(page, values: np.ndarray) -> np.ndarray:
    """What the page should draw for decoded ``values``: (H, W, 3) grey levels or colours."""
    c, h, w = page.evaluate("[aekitExplorer.data.channels, aekitExplorer.data.height, aekitExplorer.data.width]")
    low, high = page.evaluate("aekitExplorer.data.range")
    levels = np.round(np.clip((values - low) / (high - low), 0, 1) * 255).reshape(c, h, w)
    return levels.transpose(1, 2, 0) if c == 3 else np.repeat(levels.transpose(1, 0, 2).reshape(h, c * w)[..., None], 3, 2)


def _set_slider(page, unit: int, fraction: float) -> float:
    """Move unit's slider to ``fraction`` of its range as a user would (an input event); the redraw's ms."""
    return page.evaluate("""([unit, fraction]) => {
        const input = document.querySelector(`#sliders input[data-unit="${unit}"]`);
        input.value = Number(input.min) + fraction * (Number(input.max) - Number(input.min));
        const start = performance.now();
        input.dispatchEvent(new Event('input', {bubbles: true}));
        return performance.now() - start; }""", [unit, fraction])


def _click_point(page, i: int, shift: bool = False) -> None:
    x, y = page.evaluate(f"aekitExplorer.pointOnMap({i})")
    box = page.locator("#map").bounding_box()
    scale = box["width"] / page.evaluate("document.getElementById('map').width")
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)
    if shift:
        page.keyboard.up("Shift")


def _check_decoded(page, model) -> None:
    code = page.evaluate("aekitExplorer.code()")
    decoded = np.asarray(page.evaluate("aekitExplorer.decoded()"))
    expected = _decode(model, code)
    assert np.abs(decoded - expected).max() < TOLERANCE
    if page.evaluate("aekitExplorer.data.display") == "image":  # the canvas shows those numbers
        drawn = _pixels(page, "decoded")[..., :3]
        assert np.abs(drawn - _expected_pixels(page, expected)).max() <= 1


@pytest.mark.parametrize("name", list(RUNS))
def test_sliders_redraw_what_the_model_decodes(browser, pages, models, name):
    page, problems = load(browser, pages[name][0])
    try:
        assert problems == {"console": [], "page": [], "requests": []}
        _click_point(page, 7)
        assert page.evaluate("aekitExplorer.picked()") == [7, None]
        _check_decoded(page, models[name])  # the picked point's own code
        units = page.evaluate("aekitExplorer.data.sliders")
        times, before = [], np.asarray(page.evaluate("aekitExplorer.decoded()"))
        for step, unit in enumerate(units[:3] * 4):
            times.append(_set_slider(page, unit, (0.1 + 0.27 * step) % 1))
        _check_decoded(page, models[name])
        assert np.abs(np.asarray(page.evaluate("aekitExplorer.decoded()")) - before).max() > 1e-6  # it moved (an untrained decoder barely)
        if page.evaluate("aekitExplorer.data.display") == "bars":
            bars = _pixels(page, "decoded")[..., :3]
            assert (np.abs(bars - np.array([31, 119, 180])).sum(axis=-1) == 0).sum() > 50  # blue bars drawn
        print(f"\n{name}: redraw after a slider move, median {statistics.median(times):.2f} ms, max "
              f"{max(times):.2f} ms over {len(times)} moves ({page.evaluate('aekitExplorer.data.d')} features)")
    finally:
        page.close()


@pytest.mark.parametrize("name", ["mnist5k", "rgb64", "table"])
def test_hover_shows_the_input_and_its_reconstruction(browser, pages, models, name):
    page, _ = load(browser, pages[name][0])
    try:
        x, y = page.evaluate("aekitExplorer.pointOnMap(11)")
        box = page.locator("#map").bounding_box()
        page.mouse.move(box["x"] + x, box["y"] + y)
        i = page.evaluate("aekitExplorer.hovered()")
        assert i >= 0 and page.locator("#hover").is_visible()
        assert i == 11 or np.hypot(*np.subtract(page.evaluate(f"aekitExplorer.pointOnMap({i})"), [x, y])) < 8
        assert page.inner_text("#hover-title").startswith("test row ")
        if page.evaluate("aekitExplorer.data.display") == "image":
            code = page.evaluate(f"aekitExplorer.codeOf({i})")
            recon = _pixels(page, "hover-recon")[..., :3]
            assert np.abs(recon - _expected_pixels(page, _decode(models[name], code))).max() <= 1
            assert _pixels(page, "hover-input")[..., :3].std() > 0  # the input is drawn, not a blank
    finally:
        page.close()


def test_two_points_interpolate(browser, pages, models):
    page, _ = load(browser, pages["conv"][0])
    try:
        _click_point(page, 3)
        a = page.evaluate("aekitExplorer.code()")
        _click_point(page, 40, shift=True)
        assert page.evaluate("aekitExplorer.picked()") == [3, 40] and page.locator("#interpolate").is_visible()
        b = page.evaluate("(() => { aekitExplorer.select(40); const b = aekitExplorer.code(); "
                          "aekitExplorer.select(3); aekitExplorer.selectB(40); return b; })()")
        page.evaluate("""() => { const t = document.getElementById('interpolate'); t.value = 0.25;
                         t.dispatchEvent(new Event('input')); }""")
        assert np.allclose(page.evaluate("aekitExplorer.code()"), 0.75 * np.asarray(a) + 0.25 * np.asarray(b), atol=1e-6)
        _check_decoded(page, models["conv"])
    finally:
        page.close()


def test_a_variational_model_samples_its_prior_and_others_have_no_button(browser, pages, models):
    page, _ = load(browser, pages["vae"][0])
    try:
        before = page.evaluate("aekitExplorer.code()")
        page.click("#sample-prior")
        assert page.evaluate("aekitExplorer.code()") != before
        _check_decoded(page, models["vae"])
        assert page.evaluate("aekitExplorer.data.map.method") == "code"  # k = 2: the code is the map
    finally:
        page.close()
    page, _ = load(browser, pages["conv"][0])
    try:
        assert page.locator("#sample-prior").count() == 0
    finally:
        page.close()


def test_a_wide_code_gets_the_64_sliders_of_most_variance(browser, pages, models):
    page, _ = load(browser, pages["wide"][0])
    try:
        units = page.evaluate("Array.from(document.querySelectorAll('#sliders input')).map(i => Number(i.dataset.unit))")
        from aekit.analysis.run_analysis import load_run_analysis

        data = load_run_analysis(pages["wide"][1])
        assert units == slider_units(data.h_train) and len(units) == 64
        held = sorted(set(range(80)) - set(units))
        before = page.evaluate("aekitExplorer.code()")
        _set_slider(page, units[5], 0.9)
        after = page.evaluate("aekitExplorer.code()")
        assert [j for j in range(80) if after[j] != before[j]] == [units[5]]  # the others stay at the point's values
        assert all(after[j] == before[j] for j in held)
        _check_decoded(page, models["wide"])
    finally:
        page.close()


def _hues(pixels: np.ndarray) -> set[int]:
    """The hues (in 10-degree steps) of the coloured pixels of a canvas; white, grey and black have none."""
    import colorsys

    rgba = pixels.reshape(-1, 4)
    rgb = rgba[rgba[:, 3] >= 180, :3] / 255.0  # the points' insides, not their antialiased edges
    coloured = rgb[rgb.max(axis=1) - rgb.min(axis=1) > 0.2]
    return {round(colorsys.rgb_to_hsv(*p)[0] * 36) % 36 for p in coloured}


def test_labels_colour_the_map_and_a_table_without_labels_has_one_colour(browser, pages):
    for name, classes in (("mnist5k", 10), ("rgb64", 3), ("table", 0)):
        page, _ = load(browser, pages[name][0])
        try:
            assert page.locator("#legend i").count() == classes  # one swatch per class
            hues = _hues(_pixels(page, "map"))
            if classes:
                assert len(hues) >= classes - 1  # (tab10's grey has no hue)
            else:
                assert len(hues) == 1 and "No labels" in page.inner_text("#legend")  # one colour
        finally:
            page.close()


def test_the_page_of_mnist5k_test_points_is_at_most_5_mb(pages):
    path = pages["mnist5k"][0]
    text = path.read_text()
    assert '"n": 1000' in text  # all of MNIST-5k's test points
    assert path.stat().st_size <= MAX_BYTES, path.stat().st_size
    assert "http://" not in text and "https://" not in text  # nothing to fetch


def test_the_runs_report_links_to_its_explorer(browser, pages, tmp_path):
    from aekit.report import build_report

    _, run = pages["table"]
    report = build_report(run, tmp_path / "elsewhere" / "report.html").path  # the link is relative to the report
    page, problems = load(browser, report)
    try:
        link = page.locator('a:has-text("latent explorer")')
        assert link.get_attribute("href") == os.path.relpath(run / "explore.html", tmp_path / "elsewhere")
        link.click()
        page.wait_for_function("window.aekitExplorer !== undefined")
        assert page.url == (run / "explore.html").resolve().as_uri()
    finally:
        page.close()
    (run / "explore.html").rename(run / "moved.html")  # no page: the report says how to write one
    try:
        text = build_report(run, tmp_path / "report.html").path.read_text()
        assert "latent explorer</a>" not in text and f"aekit explore {run}" in text
    finally:
        (run / "moved.html").rename(run / "explore.html")
