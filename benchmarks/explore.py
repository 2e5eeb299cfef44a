"""The latent explorer page of a default MNIST-5k run: its size (target at most 5 MB for the 1,000 test
points), how long it takes to build, and in headless Chromium how long a redraw takes after one slider
move (target at most 30 ms) and how far its decoding is from the model's.

The run is ``aekit train`` with every default but a fixed ``--epochs`` (the page's size and speed depend
on the architecture, not on how long it trained; trained here unless ``--run`` names a run folder). The
redraw is timed in the page, from the slider's input event to the end of its handler (decode and draw
the canvas, synchronously); painting the frame comes after and is not in it. Run:

    .venv/bin/python benchmarks/explore.py [--run RUN] [--moves 200] [--out FILE] [--doc docs/explore.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _result import command_of, write_result  # noqa: E402  (how a benchmark states its result)

MAX_BYTES = 5_000_000
MAX_REDRAW_MS = 30.0
CHROMIUM = "/usr/bin/chromium"


def measure_in_browser(page_path: Path, model, moves: int) -> dict:
    """Load the page in headless Chromium; move sliders ``moves`` times; time each redraw and compare what the
    page decoded with ``model.decode`` of the same code."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else None,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(page_path.resolve().as_uri(), wait_until="load")
        page.wait_for_function("window.aekitExplorer !== undefined")
        load_seconds = time.perf_counter() - start
        units = page.evaluate("aekitExplorer.data.sliders")
        rng = np.random.default_rng(0)
        times, gaps = [], []
        for move in range(moves):
            if move % 20 == 0:
                page.evaluate(f"aekitExplorer.select({int(rng.integers(page.evaluate('aekitExplorer.data.n')))})")
            unit, fraction = int(rng.choice(units)), float(rng.random())
            times.append(page.evaluate("""([unit, fraction]) => {
                const input = document.querySelector(`#sliders input[data-unit="${unit}"]`);
                input.value = Number(input.min) + fraction * (Number(input.max) - Number(input.min));
                const start = performance.now();
                input.dispatchEvent(new Event('input'));
                return performance.now() - start; }""", [unit, fraction]))
            if move % 10 == 0:
                code = page.evaluate("aekitExplorer.code()")
                with torch.no_grad():
                    expected = model.decode(torch.tensor([code], dtype=torch.float32)).numpy().reshape(-1)
                gaps.append(float(np.abs(np.asarray(page.evaluate("aekitExplorer.decoded()")) - expected).max()))
        version = browser.version
        browser.close()
    return {"load": load_seconds, "times": times, "gap": max(gaps), "checked": len(gaps), "browser": version}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run folder (default: train a default MNIST-5k run here)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the run trained here (default 10)")
    parser.add_argument("--moves", type=int, default=200, help="slider moves timed in the browser")
    parser.add_argument("--out", help="write the Markdown result here (e.g. benchmarks/results/explore.md)")
    parser.add_argument("--doc", help="also put the result between the <!-- explore:begin/end --> markers of this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from aekit.report.explore import build_explorer
    from aekit.training.run import train
    from aekit.training.run_config import make_config
    from aekit.training.run_folder import load_run

    run = args.run
    if run is None:
        out = tempfile.mkdtemp(prefix="aekit-explore-")
        run = str(train(make_config(overrides=[f"out={out}", "name=default", f"train.epochs={args.epochs}"])).run_dir)
    model = load_run(run).model
    built = {method: build_explorer(run, Path(tempfile.mkdtemp()) / f"explore-{method}.html", method=method)
             for method in ("tsne", "pca")}
    page = built["tsne"]
    result = measure_in_browser(page.path, model, args.moves)
    times = sorted(result["times"])
    median, p95, worst = statistics.median(times), times[int(0.95 * (len(times) - 1))], times[-1]
    config = model.config
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with 1 thread; "
        f"headless Chromium {result['browser']}",
        f"run: {run} ({'given' if args.run else f'default MNIST-5k run trained here, {args.epochs} epochs'}): "
        f"{config.kind} {getattr(config, 'hidden', '')}, code {config.code_size}, "
        f"{sum(p.numel() for p in model.decoder.parameters()):,} decoder parameters",
        f"page: {page.points} test points, {page.sliders} sliders, {page.bytes / 1e6:.2f} MB "
        f"(target <= {MAX_BYTES / 1e6:.0f} MB -> {'met' if page.bytes <= MAX_BYTES else 'NOT met'})",
        f"built in {page.seconds:.1f} s with the t-SNE map, {built['pca'].seconds:.1f} s with --map pca "
        f"({built['pca'].bytes / 1e6:.2f} MB)",
        f"loaded in Chromium in {result['load']:.2f} s (file://, nothing fetched)",
        f"redraw after one slider move (decode + draw, in the page), {len(times)} moves: median {median:.2f} ms, "
        f"95th percentile {p95:.2f} ms, max {worst:.2f} ms (target <= {MAX_REDRAW_MS:.0f} ms -> "
        f"{'met' if p95 <= MAX_REDRAW_MS else 'NOT met'} at the 95th percentile)",
        f"decoded in the page vs model.decode, {result['checked']} codes: max abs difference {result['gap']:.2e} "
        f"(held to 1e-4)",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_result(args.out, "The latent explorer page: size, build time, redraw time", __file__, argv,
                     f"Machine: the 2-core development VM, shared with other processes.\n\n```text\n{text}\n```\n")
    if args.doc:
        from aekit.io import write_readme_block

        write_readme_block(Path(args.doc), "explore", f"Written by `benchmarks/explore.py` "
                                                      f"(`{command_of(__file__, argv)}`):\n\n```text\n{text}\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
