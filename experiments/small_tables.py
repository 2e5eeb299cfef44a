"""Defaults for small tables, chosen on validation rows only: what ``aekit train --data <table>.csv --set
data.label_column=-1`` should do so that its test error beats PCA with as many components (the issue-21 target)
on scikit-learn's four bundled tables (breast cancer 569 x 30, wine 178 x 13, diabetes 442 x 10, iris 150 x 4).

Protocol. The final measurement (``experiments/defaults.py --part tables``) splits each table with ``data.split_seed
= 0`` (70 % train, 10 % validation, 20 % test). Its test rows are never read here: this script keeps the training
and validation rows of that split (80 % of the table), writes them as a CSV file with the table's header, and runs
the same CSV line on them with ``data.split_seed`` = ``seed`` = 0..4, so each seed splits those rows again into
train / validation / a *selection* hold-out (its 20 %). Every variant is the CSV line plus ``--set`` overrides;
its score is the squared error per hold-out row (standardised units, the run's own rescaling) divided by PCA-k's,
PCA fitted on the same standardised training rows, k the run's code size. A variant qualifies when every table's
every seed is below 1 (the target's "every seed"); among those, the lowest mean ratio (over tables and seeds) is
chosen. (The first version of this rule took the lowest worst case instead: it picked weight decay 1e-4 over the
same defaults without it by 0.983 against 0.984, while the mean was lower without it on three tables of four and
level on the fourth; the rule was changed after seeing that, see the results file's Reading.)

    .venv/bin/python experiments/small_tables.py --threads 1   # writes experiments/results/small_tables.md
    .venv/bin/python experiments/small_tables.py --quick       # iris, one seed, two variants (seconds)
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA

sys.path.insert(0, str(Path(__file__).parent))
from _script import script_main  # noqa: E402  (the experiments' shared command line)
from defaults import write_table  # noqa: E402  (the tables as experiments/defaults.py writes them)

from aekit.data import load_dataset, split_dataset
from aekit.data.preparation import prepare_splits
from aekit.training.run import train
from aekit.training.run_config import make_config

RESULTS = Path(__file__).parent / "results" / "small_tables.md"

# (name, overrides): the defaults before this experiment, then each idea alone, then together
VARIANTS = (
    ("before: random start, batch 128", ("train.start=random", "train.batch_size=128")),
    ("batch auto (16 to 256), random start", ("train.start=random",)),
    ("batch 32, random start", ("train.start=random", "train.batch_size=32")),
    ("batch 32, random start, hidden [64]", ("train.start=random", "train.batch_size=32", "model.hidden=[64]")),
    ("PCA start, batch 128", ("train.batch_size=128",)),
    ("PCA start, batch 32", ("train.batch_size=32",)),
    ("PCA start, batch auto, weight decay 1e-4", ("train.weight_decay=1e-4",)),
    ("PCA start, batch auto (the new defaults)", ()),
)


@dataclass
class Setup:
    tables: tuple[str, ...] = ("breast_cancer", "wine", "diabetes", "iris")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    variants: tuple = VARIANTS
    overrides: tuple[str, ...] = ()


QUICK = Setup(tables=("iris",), seeds=(0,), variants=(VARIANTS[0], VARIANTS[-1]), overrides=("train.max_epochs=3",))


def selection_table(name: str, folder: Path) -> tuple[Path, bool]:
    """The training and validation rows of ``defaults.py``'s split of table ``name`` (split seed 0), as a CSV
    file with its header: the rows a choice may look at."""
    path, labelled = write_table(name, folder)
    splits = split_dataset(load_dataset(str(path), label_column=-1 if labelled else None), val_fraction=0.1,
                           test_fraction=0.2, seed=0)
    x = np.concatenate([splits.train.array(), splits.val.array()])
    y = np.concatenate([splits.train.labels, splits.val.labels]) if labelled else None
    lines = [path.read_text().splitlines()[0]]
    for i, row in enumerate(x):
        lines.append(",".join(repr(float(v)) for v in row) + (f",{int(y[i])}" if labelled else ""))
    out = folder / f"selection_{name}.csv"
    out.write_text("\n".join(lines) + "\n")
    return out, labelled


def score(path: Path, labelled: bool, overrides: tuple[str, ...], seed: int, out: Path) -> dict:
    """One run of the CSV line on the selection rows: its hold-out error per row against PCA-k's."""
    settings = [f"data.name={path}", *(["data.label_column=-1"] if labelled else []), f"data.split_seed={seed}",
                f"seed={seed}", f"out={out}", f"name={path.stem}-{seed}-{time.time_ns()}", *overrides]
    start = time.perf_counter()
    result = train(make_config(overrides=settings))
    train_x, _, held_x = prepare_splits(make_config(overrides=settings).data).arrays()  # as the run rescaled them
    train_x, held_x = train_x.reshape(len(train_x), -1), held_x.reshape(len(held_x), -1)
    pca = PCA(result.model.config.code_size).fit(train_x)
    pca_error = float(((pca.inverse_transform(pca.transform(held_x)) - held_x) ** 2).sum(1).mean())
    return {"error": result.test["recon"], "pca_error": pca_error, "epochs": len(result.history),
            "code": result.model.config.code_size, "seconds": time.perf_counter() - start}


def run(setup: Setup, log) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        tables = {name: selection_table(name, out) for name in setup.tables}
        results = {}
        for label, overrides in setup.variants:
            for name, (path, labelled) in tables.items():
                rows = [score(path, labelled, (*overrides, *setup.overrides), seed, out) for seed in setup.seeds]
                results[label, name] = rows
                log(f"{label} | {name}: " + ", ".join(f"{r['error'] / r['pca_error']:.3f}" for r in rows))
        return results


def _ratios(rows: list[dict]) -> list[float]:
    return [r["error"] / r["pca_error"] for r in rows]


def report(results: dict, setup: Setup, seconds: float, command: str) -> str:
    tables = list(setup.tables)
    lines = ["# Small tables: defaults chosen on validation rows", "", f"Command: `{command}`", "",
             f"{time.strftime('%Y-%m-%d')}; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
             f"{platform.machine()}; selection seeds {', '.join(map(str, setup.seeds))}; {seconds:.0f} s in all. "
             f"Protocol: the docstring of `experiments/small_tables.py` (the training and validation rows of "
             f"`experiments/defaults.py`'s split, split again; its test rows are never read).", "",
             "Hold-out error per row over PCA-k's (k the automatic code size), mean (worst seed):", "",
             "| variant (`--set` beside the CSV line) | " + " | ".join(t.replace("_", " ") for t in tables)
             + " | worst of all | every seed below 1 |", "|---|" + "---:|" * len(tables) + "---:|---|"]
    worst = {}
    for label, overrides in setup.variants:
        cells = []
        for name in tables:
            ratios = _ratios(results[label, name])
            cells.append(f"{statistics.mean(ratios):.3f} ({max(ratios):.3f})")
        worst[label] = max(max(_ratios(results[label, name])) for name in tables)
        shown = ", ".join(f"`{o}`" for o in overrides) or "none"
        lines.append(f"| {label}: {shown} | " + " | ".join(cells) + f" | {worst[label]:.3f} | "
                     f"{'yes' if worst[label] < 1 else 'no'} |")
    mean = {label: statistics.mean(r for name in tables for r in _ratios(results[label, name])) for label in worst}
    passing = [label for label in worst if worst[label] < 1]
    chosen = min(passing, key=mean.get) if passing else None
    lines += ["", "Mean over tables and seeds: " + "; ".join(f"{label} {mean[label]:.3f}" for label in mean) + ".",
              "", f"Chosen by the rule (every seed below 1, then the lowest mean): "
              f"{chosen if chosen else 'none: no variant has every seed below 1'}.", ""]
    codes = {name: results[setup.variants[-1][0], name][0]["code"] for name in tables}
    epochs = {name: statistics.mean(r["epochs"] for r in results[setup.variants[-1][0], name]) for name in tables}
    lines += ["Code sizes (the automatic one): " + ", ".join(f"{n.replace('_', ' ')} {k}" for n, k in codes.items())
              + ". Epochs of the last variant (mean): " + ", ".join(f"{n.replace('_', ' ')} {e:.0f}"
                                                                      for n, e in epochs.items()) + ".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    return script_main(__file__, __doc__, argv, run=run, report=report, full=Setup(), quick=QUICK, results=RESULTS)


if __name__ == "__main__":
    main()
