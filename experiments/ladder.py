"""The ladder network with 100 labels of MNIST-5k (issue 20), against the same MLP trained on the labels alone.

Protocol (strict: the DESIGN's evidence protocol). MNIST-5k as the tour splits it (``aekit.tour.bench.split``:
3,500 training / 500 validation / 1,000 test images, stratified, split seed 0). Draw d (seeds below) labels
100 training images, 10 per class (``aekit.training.finetune.draw_labelled``); the other 3,400 keep the
label -1. Nothing is chosen: ``LadderClassifier``'s defaults are the published ones (Rasmus et al., NIPS
2015), fixed before any measurement; no labelled validation image exists beyond the 100 (the validation
split is not read); the test split is read once per fitted model, for the number reported.

- **ladder**: ``LadderClassifier(random_state=d, epochs=E)``, every default but the epoch budget E when
  ``--epochs`` sets one (say so beside the numbers): widths 1000-500-250-250-250-10, noise 0.3, denoising
  weights 1000, 10, 0.1, 0.1, 0.1, 0.1, 0.1, Adam 0.002 decaying linearly over the last third, batches of
  100 labelled + 100 unlabelled images; all 3,500 training images are its unlabelled data.
- **MLP on the labels**: the same estimator with ``noise_std=0`` and every denoising weight 0 (the same
  network, batch normalisation included, trained on the 100 labelled images alone, same schedule).
- **logistic regression**: ``LogisticRegression(max_iter=1000)`` on the 100 labelled images' pixels.

Test error (%) mean ± sd over the draws; time per fit on this machine (1 thread unless ``--threads``), wall
clock and the process's CPU time (they differ where other work shares the cores).

    .venv/bin/python experiments/ladder.py                 # writes experiments/results/ladder.md
    .venv/bin/python experiments/ladder.py --epochs 20     # a shorter budget (the file says so)
    .venv/bin/python experiments/ladder.py --draws 0 --out experiments/results/ladder-150.md   # one draw
    .venv/bin/python experiments/ladder.py --quick         # seconds: 400 images, 2 epochs, small widths
    # full MNIST (50,000 training images, the official 10,000 test images), one draw, each variant:
    .venv/bin/python experiments/ladder.py --data mnist --variant full --draws 0 --methods ladder logreg
    .venv/bin/python experiments/ladder.py --data mnist --variant gamma --draws 0 --methods ladder logreg

``--data mnist`` writes ``results/ladder-mnist-<variant>.md``. Every ladder fit saves a checkpoint after each
epoch under ``experiments/work/ladder/`` (git-ignored; ``--work`` elsewhere): a run killed midway continues
where it was when the same command is given again, and ends with the weights an uninterrupted fit has.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))
from _script import script_main  # noqa: E402  (the experiments' shared command line)

from aekit.estimator import LadderClassifier
from aekit.tour.bench import NAMES, split
from aekit.training.finetune import draw_labelled

RESULTS = Path(__file__).parent / "results" / "ladder.md"
WORK = Path(__file__).parent / "work" / "ladder"
METHODS = {"ladder": "ladder network ({variant}): the labelled images + every training image unlabelled",
           "mlp": "the same MLP on the labelled images alone (noise 0, no denoising cost)",
           "logreg": "logistic regression on the labelled images' pixels"}


@dataclass
class Setup:
    draws: tuple[int, ...] = (0, 1, 2)
    labels: int = 100
    epochs: int | None = None  # None: the estimator's default budget
    hidden: tuple[int, ...] | None = None  # None: the estimator's default widths
    limit: int | None = None  # training images kept (quick runs)
    data: str = "mnist5k"  # or "mnist": full MNIST, its own 50,000 training images (split seed 0)
    variant: str = "full"  # the ladder's: full or gamma
    methods: tuple[str, ...] = tuple(METHODS)
    work: Path | None = WORK  # the ladder fits' checkpoints (None: none)


QUICK = Setup(draws=(0,), epochs=2, hidden=(64, 32), limit=400, work=None)


def estimator(setup: Setup, draw: int, **params) -> LadderClassifier:
    budget = {} if setup.epochs is None else {"epochs": setup.epochs}
    widths = {} if setup.hidden is None else {"hidden": setup.hidden}
    return LadderClassifier(random_state=draw, **budget, **widths, **params)


def checkpoint(setup: Setup, name: str, draw: int) -> Path | None:
    """Where the fit of ``name`` on ``draw`` keeps its checkpoint: the settings are in the file name, and the
    file itself refuses a fit of other data or parameters."""
    if setup.work is None:
        return None
    epochs = "default" if setup.epochs is None else setup.epochs
    return setup.work / f"{setup.data}-{name}-{setup.variant}-{setup.labels}-e{epochs}-draw{draw}.pt"


def run(setup: Setup, log) -> dict:
    data = split(setup.data, 0, limit=setup.limit)  # split seed 0 (the committed results); the draws vary the labels and init
    results: dict = {name: {"error": [], "seconds": [], "cpu": [], "stop": []} for name in setup.methods}
    for draw in setup.draws:
        rows = draw_labelled(data.y_train, setup.labels, draw)  # the only labels any method sees
        y_semi = np.full_like(data.y_train, -1)
        y_semi[rows] = data.y_train[rows]
        depth = len(setup.hidden if setup.hidden is not None else LadderClassifier().hidden)
        fits = {"ladder": lambda: estimator(setup, draw, variant=setup.variant),
                "mlp": lambda: estimator(setup, draw, noise_std=0.0, denoising_weights=(0.0,) * (depth + 2)),
                "logreg": lambda: LogisticRegression(max_iter=1000)}
        for name in setup.methods:
            model = fits[name]()
            start, cpu = time.perf_counter(), time.process_time()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                if name == "logreg":
                    model.fit(data.x_train[rows], data.y_train[rows])
                else:
                    kept = checkpoint(setup, name, draw)
                    if kept is not None:
                        kept.parent.mkdir(parents=True, exist_ok=True)
                    model.fit(data.x_train, y_semi, checkpoint=kept)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            error = 100 * (1 - model.score(data.x_test, data.y_test))  # the test split, once per fit
            stop = getattr(model, "stop_reason_", "-")
            results[name]["error"].append(error)
            results[name]["seconds"].append(seconds)
            results[name]["cpu"].append(cpu)
            results[name]["stop"].append(stop)
            log(f"draw {draw}: {name} test error {error:.2f} % in {seconds:.0f} s, {cpu:.0f} s CPU ({stop}"
                f"{'; ' + str(caught[0].message)[:80] if caught else ''})")
    results["n_train"], results["n_test"] = len(data.x_train), len(data.x_test)
    return results


def fmt(values: list[float]) -> str:
    """mean ± sd; one value alone (one draw has no standard deviation)."""
    if len(values) == 1:
        return f"{values[0]:.2f} (one draw)"
    return f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"


def report(results: dict, setup: Setup, seconds: float, command: str) -> str:
    defaults = LadderClassifier()
    epochs = setup.epochs if setup.epochs is not None else defaults.epochs
    hidden = setup.hidden if setup.hidden is not None else defaults.hidden
    steps = epochs * -(-results["n_train"] // defaults.batch_size)
    weights = ("1000, 10, 0.1, ... (input to top)" if setup.variant == "full" else
               "0.5 at the top and none below")
    budget = ("the default budget" if setup.epochs is None else
              f"**a budget of {epochs} epochs instead of the default {defaults.epochs}**")
    rows = [f"| {METHODS[name].format(variant=setup.variant)} | {fmt(r['error'])} | {statistics.fmean(r['seconds']):.1f} | "
            f"{statistics.fmean(r['cpu']):.1f} | {', '.join(sorted(set(r['stop'])))} |"
            for name, r in results.items() if name in METHODS]
    gaps = ([m - l for l, m in zip(results["ladder"]["error"], results["mlp"]["error"])]
            if {"ladder", "mlp"} <= set(results) else [])
    paired = ([f"Paired by draw, MLP on the labels − ladder: {fmt(gaps)} points "
               f"({', '.join(f'{g:+.2f}' for g in gaps)})."] if gaps else [])
    return "\n".join([
        f"# Ladder network, {setup.labels} labels of {NAMES.get(setup.data, setup.data)}",
        "",
        f"Command: `{command}`",
        "",
        f"{time.strftime('%Y-%m-%d')}; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{platform.machine()} ({platform.processor() or 'cpu'}); {seconds:.0f} s in all. Label draws (also the "
        f"seeds of every fit): {', '.join(map(str, setup.draws))}. {results['n_train']:,} training images (all "
        f"unlabelled data of the ladder), {setup.labels} of them labelled per draw, 10 per class; "
        f"{results['n_test']:,} test images, read once per fit. No labelled validation image; nothing chosen.",
        "",
        f"Ladder: `LadderClassifier(variant={setup.variant!r})` defaults (widths {'-'.join(map(str, hidden))}-10, "
        f"noise 0.3, denoising weights {weights}, Adam 0.002 decaying over the last third, 100 + 100 images a step) with {budget}: "
        f"{epochs} passes over the {results['n_train']:,} training images, {steps:,} steps.",
        "",
        "| method | test error (%) | seconds per fit (wall) | CPU seconds per fit | stop_reason_ |",
        "|---|---:|---:|---:|---|",
        *rows,
        *([""] + paired if paired else []),
    ])


def main(argv: list[str] | None = None):
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--draws", type=int, nargs="+", default=None)
    parser.add_argument("--data", choices=sorted(NAMES), default=None)
    parser.add_argument("--variant", choices=("full", "gamma"), default=None)
    parser.add_argument("--methods", choices=tuple(METHODS), nargs="+", default=None)
    parser.add_argument("--work", type=Path, default=None)
    argv = argv if argv is not None else sys.argv[1:]
    known, rest = parser.parse_known_args(argv)
    given = {"epochs": known.epochs, "draws": None if known.draws is None else tuple(known.draws),
             "data": known.data, "variant": known.variant, "work": known.work,
             "methods": None if known.methods is None else tuple(known.methods)}
    overrides = {key: value for key, value in given.items() if value is not None}
    full, quick = replace(Setup(), **overrides), replace(QUICK, **overrides)
    results = (RESULTS if full.data == "mnist5k" else
               RESULTS.with_name(f"ladder-{full.data}-{full.variant}.md"))
    # the shared command line does not know these flags: the report's command gets them back
    flag = "".join(f" --{key} " + (" ".join(map(str, value)) if isinstance(value, tuple) else str(value))
                   for key, value in given.items() if value is not None)

    def write(results, setup, seconds, command):
        return report(results, setup, seconds, command + flag)

    return script_main(__file__, __doc__, rest, run=run, report=write, full=full, quick=quick, results=results)


if __name__ == "__main__":
    main()
