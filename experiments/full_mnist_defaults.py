"""Defaults at the papers' scale: ``aekit train --data mnist`` with the default model, ``--preset deep`` and
``--preset hinton2006`` on full MNIST (50,000 training, 10,000 validation and the official 10,000 test
images), each judged as a user would meet it (issue 19, item 4):

- does it converge (stop reason ``converged``: the validation loss stopped improving), in how many
  epochs and how much training time;
- its squared error per test image (summed over the 784 pixels, [0, 1] scale) against PCA with as many
  components as its code, fitted on the same 50,000 training images;
- how long ``aekit report`` takes on it (a separate process with 2 torch threads; t-SNE and the
  neighbourhood scores work on a seeded sample of the test codes, which the page states).

The runs are trained by the tour's own helper (seed 0, the library's settings, nothing added) into
``--work``. The default work folder is the full-scale tour's, whose ``deep_vs_pca`` claim trains these
very runs for seed 0: after ``aekit tour --data mnist`` they are resumed at once instead of trained again
(run this script after the tour, never while that claim trains). Run:

    .venv/bin/python experiments/full_mnist_defaults.py [--threads 1] [--work docs/tour-mnist/work]

``--quick`` checks the code path on 400 images for 2 epochs and writes only with ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results" / "full_mnist_defaults.md"
MODELS = (("default", None, "`aekit train --data mnist` (784-512-32)"),
          ("deep", "deep", "`--preset deep` (conv 32-64, code 30)"),
          ("hinton2006", "hinton2006", "`--preset hinton2006` (784-1000-500-250-30)"))
REPORT_THREADS = 2


def pca_error(x_train: np.ndarray, x_test: np.ndarray, k: int) -> float:
    """Mean squared error per test image of PCA-k fitted on ``x_train`` (n, d)."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, random_state=0).fit(x_train)
    x_hat = pca.inverse_transform(pca.transform(x_test))
    return float(((x_hat.astype(np.float64) - x_test) ** 2).sum(axis=1).mean())


def report_seconds(run_dir: Path) -> float:
    """Wall time of ``aekit report RUN --out <temporary file>`` in a fresh process with 2 torch threads."""
    env = {**os.environ, "OMP_NUM_THREADS": str(REPORT_THREADS), "MKL_NUM_THREADS": str(REPORT_THREADS)}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "aekit", "report", str(run_dir), "--out", str(Path(tmp) / "r.html")],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


def run(work: Path, quick: bool, log, data_name: str = "mnist") -> list[dict]:
    from aekit.analysis.metrics import reconstruction_error
    from aekit.tour.bench import split_of, train_config
    from aekit.tour.claim import Setting

    setting = Setting(quick=quick, seeds=(0,), workdir=work, log=log, data=data_name)
    data = split_of(setting, 0)
    extra = ["train.epochs=2", "train.batch_size=32"] if quick else []
    rows = []
    for key, preset, label in MODELS:
        setting.earlier_seconds = 0.0
        start = time.perf_counter()
        result = train_config(setting, f"{key}-seed0", extra, seed=0, preset=preset)
        summary = json.loads((result.run_dir / "summary.json").read_text())
        k = int(result.model.config.code_size)
        error = float(reconstruction_error(result.model, data.x_test).per_image.mean())
        pca = pca_error(data.x_train, data.x_test, k)
        row = {"key": key, "label": label, "code_size": k, "stop_reason": result.stop_reason,
               "epochs": summary["epochs"], "best_epoch": summary["best_epoch"], "max_epochs": summary["max_epochs"],
               "train_seconds": summary["train_seconds"], "error": error, "pca_error": pca, "ratio": error / pca,
               "reused": setting.earlier_seconds > 0, "seconds_here": time.perf_counter() - start,
               "report_seconds": report_seconds(result.run_dir), "n_train": summary["n_train"],
               "n_val": summary["n_val"], "n_test": summary["n_test"]}
        log(f"{key}: {row['stop_reason']} after {row['epochs']} epochs ({row['train_seconds']:.0f} s), "
            f"{error:.2f} vs PCA-{k} {pca:.2f} = {row['ratio']:.3f}x; report {row['report_seconds']:.1f} s")
        rows.append(row)
    return rows


def report(rows: list[dict], command: str, threads: int, seconds: float) -> str:
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    first = rows[0]
    lines = [
        "# Defaults at the papers' scale (full MNIST)", "",
        f"Command: `{command}`", "",
        f"Data: full MNIST, its file's own split: {first['n_train']:,} training, {first['n_val']:,} validation and "
        f"{first['n_test']:,} test images (the official test set unless --quick); seed 0; training with {threads} "
        f"torch thread(s), each report with {REPORT_THREADS}.", "",
        f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}; "
        f"load average {load:.1f} at the end (the machine is shared: times include waiting for a core). "
        f"This script ran {seconds:.0f} s; runs trained earlier by the tour were resumed, their training time "
        f"is the one recorded in their summary.json.", "",
        "| model | stop | epochs (best) | training time | test error per image | PCA-k (k) | error / PCA's | "
        "report |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['label']} | {r['stop_reason']} | {r['epochs']} ({r['best_epoch']}) of at most "
                     f"{r['max_epochs']} | {r['train_seconds'] / 60:.1f} min | {r['error']:.2f} | {r['pca_error']:.2f} "
                     f"({r['code_size']}) | {r['ratio']:.3f}x | {r['report_seconds']:.1f} s |")
    met = [r for r in rows if r["stop_reason"] == "converged" and r["ratio"] < 1 and r["report_seconds"] < 60]
    lines += ["", f"Issue 19 asks each to converge, beat PCA-k and give a report in under 60 s: "
                  f"{len(met)} of {len(rows)} do ({', '.join(r['key'] for r in met) or 'none'})."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "docs" / "tour-mnist" / "work",
                        help="folder of the runs (default: the full-scale tour's, whose seed-0 runs are these)")
    parser.add_argument("--quick", action="store_true", help="400 images, 2 epochs; writes only with --out")
    parser.add_argument("--out", type=Path, default=None, help=f"result file (default {RESULTS.relative_to(ROOT)})")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = run(args.work, args.quick, log=lambda msg: print(msg, file=sys.stderr))
    command = " ".join([".venv/bin/python", "experiments/full_mnist_defaults.py", *argv])
    text = report(rows, command, args.threads, time.perf_counter() - start)
    print(text)
    out = args.out or (None if args.quick else RESULTS)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps({"command": command, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
