"""t-SNE of autoencoder codes: openTSNE against scikit-learn's TSNE, side by side in one process.

The report draws a t-SNE map of the test codes of a run (``aekit.analysis.embedding``); this picks
the library. Both embed the same codes: the 1,000 MNIST-5k test codes of a default run (MLP
784-256-32, cross-entropy, 10 epochs, seed 0; trained here unless ``--run`` names a run folder),
each with its defaults for the optimisation (openTSNE: 250 early-exaggeration + 500 iterations,
Barnes-Hut below 10,000 points; scikit-learn: ``max_iter=1000``, Barnes-Hut, ``init='pca'``),
perplexity 30, seed 0. Repeats alternate between the libraries so that a busy neighbour hurts both
alike; the report gives medians, and the map's quality (1-NN accuracy and trustworthiness of the
2-D map) so that the faster one is not simply the sloppier one. Run:

    .venv/bin/python benchmarks/tsne.py [--threads 1 2] [--repeats 3] [--run RUN] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _result import write_result  # noqa: E402  (how a benchmark states its result)


def test_codes(run: str | None, quick: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Test codes, test images and labels of ``run`` (or of a default run trained here)."""
    from aekit.analysis.run_analysis import load_run_analysis
    from aekit.training.run import train
    from aekit.training.run_config import make_config

    if run is None:
        out = tempfile.mkdtemp(prefix="aekit-tsne-")
        overrides = [f"out={out}", "name=default"] + (["data.limit=400", "train.epochs=1"] if quick else [])
        run = str(train(make_config(overrides=overrides)).run_dir)
        what = "default run trained here" + (" (--quick: 400 rows, 1 epoch)" if quick else " (seed 0, 10 epochs)")
    else:
        what = f"run {run}"
    data = load_run_analysis(run)
    return data.h_test, data.x_test, data.y_test, what


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to measure")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", help="run folder whose test codes to embed (default: train a default run)")
    parser.add_argument("--quick", action="store_true", help="tiny version: a 1-epoch run on 400 rows, 1 repeat")
    parser.add_argument("--out", help="write the Markdown result here (e.g. benchmarks/results/tsne.md)")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    torch.set_num_threads(1)
    from threadpoolctl import threadpool_limits

    from aekit.analysis.embedding import one_nn_accuracy, trustworthiness, tsne

    h, x, y, what = test_codes(args.run, args.quick)
    lines = [f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
             f"codes: {h.shape[0]} x {h.shape[1]} ({what}), repeats {repeats}, perplexity 30, seed 0"]
    results: dict[tuple[str, int], list[float]] = {}
    quality: dict[str, tuple[float, float]] = {}
    for threads in args.threads:
        with threadpool_limits(limits=threads):
            for _ in range(repeats):
                for backend in ("opentsne", "sklearn"):  # alternate
                    start = time.perf_counter()
                    points = tsne(h, backend=backend, random_state=0, n_jobs=threads)
                    results.setdefault((backend, threads), []).append(time.perf_counter() - start)
                    if backend not in quality:
                        quality[backend] = (one_nn_accuracy(points, y), trustworthiness(x, points))
    for threads in args.threads:
        for backend in ("opentsne", "sklearn"):
            runs = results[(backend, threads)]
            lines.append(f"{backend:>9}, {threads} thread(s): median {statistics.median(runs):6.2f} s  "
                         f"(runs: {', '.join(f'{r:.2f}' for r in runs)})")
        ratio = statistics.median(s / o for o, s in zip(results[("opentsne", threads)], results[("sklearn", threads)]))
        lines.append(f"   sklearn / openTSNE at {threads} thread(s): {ratio:.2f}x (median of per-repeat ratios)")
    for backend, (acc, trust) in quality.items():
        lines.append(f"{backend:>9} map quality: 1-NN accuracy {acc:.3f}, trustworthiness {trust:.3f}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_result(
            args.out, "t-SNE of test codes: openTSNE vs scikit-learn", __file__, argv,
            "Threads: torch 1; BLAS/OpenMP and the t-SNE library's own `n_jobs` as listed per line. Machine: the "
            "2-core development VM, shared with other processes (repeats alternate so both share the load).\n\n"
            f"```text\n{text}\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
