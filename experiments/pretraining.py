"""Evidence for pretraining (issue 5): few labels with and without an autoencoder, and layer-wise vs
end-to-end training of a deep autoencoder, on MNIST-5k (3,500 train / 500 val / 1,000 test, split seed 0).

Part 1 — 100 labels (10 per class), 5 seeded draws: test error of logistic regression on raw pixels,
on PCA codes, on frozen autoencoder codes, of the classifier network trained from scratch, and of the
pretrained encoder fine-tuned (``aekit.training.labelcurve``). The autoencoder is trained on all
3,500 training images without their labels.

Part 2 — a 3-hidden-layer autoencoder (784-512-256-128-32) trained end to end, and trained greedily
layer by layer (each stage a shallow autoencoder) then fine-tuned end to end with the same number of
end-to-end epochs; test reconstruction error and downstream accuracy (frozen codes + logistic
regression with 100 labels), 3 seeds.

    .venv/bin/python experiments/pretraining.py            # writes experiments/results/pretraining.md
    .venv/bin/python experiments/pretraining.py --quick    # seconds, for the tests
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from aekit.training.finetune import FinetuneConfig, draw_labelled
from aekit.training.labelcurve import label_curve, table
from aekit.training.run import prepare, train
from aekit.training.run_config import make_config

# a denoising autoencoder whose corruption also shifts the digits by up to 2 pixels, trained without labels
PRETRAIN = ["model.hidden=[512]", "model.code_size=128", "corruption.shift=2", "corruption.masking=0.25",
            "train.epochs=100"]
# both networks (pretrained and from scratch) see the same noise on their labelled inputs
FINETUNE = dict(corruption={"shift": 2, "masking": 0.2}, epochs=100, patience=30)
DEEP = ["model.hidden=[512, 256, 128]", "model.code_size=32", "train.epochs=20"]


def codes_accuracy(run_dir: Path, labels: int, draws: int) -> list[float]:
    from aekit.training.labelcurve import _logreg
    from aekit.training.run_folder import load_run

    run = load_run(run_dir)
    p = prepare(run.config)
    x, x_test = p.data.splits.train.array(), p.data.splits.test.array()
    y, y_test = p.data.splits.train.labels, p.data.splits.test.labels
    with torch.no_grad():
        h, h_test = run.model.encode(torch.from_numpy(x)).numpy(), run.model.encode(torch.from_numpy(x_test)).numpy()
    return [_logreg(h[r], y[r], h_test, y_test, scale=True) for r in (draw_labelled(y, labels, d) for d in range(draws))]


def fmt(values: list[float], scale: float = 1.0) -> str:
    values = [v * scale for v in values]
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.2f} ± {sd:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny version (seconds)")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="experiments/results/pretraining.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    quick = ["data.limit=400", "train.epochs=2"] if args.quick else []
    draws, seeds = (2, 1) if args.quick else (args.draws, args.seeds)
    ft = FinetuneConfig(freeze_epochs=2, epochs=2) if args.quick else FinetuneConfig(**FINETUNE)
    start = time.time()
    lines = ["# Pretraining with few labels, and layer-wise training (MNIST-5k)\n",
             f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}` — 1 thread, "
             f"{time.strftime('%Y-%m-%d')}.\n"]
    with tempfile.TemporaryDirectory() as tmp:
        # Part 1: 100 labels
        config = make_config(None, [*PRETRAIN, f"out={tmp}", "name=pretrain", *quick])
        run = train(config).run_dir
        points = label_curve(run, budgets=[100], draws=draws, config=ft)
        by = {p.method: p for p in points}
        lines += ["## 100 labels (10 per class)\n",
                  f"Autoencoder: `{' '.join(PRETRAIN)}` (denoising with shifts and masking, trained on the "
                  f"{3500 if not args.quick else 400} training images without labels). Fine-tuning (the same for the "
                  f"network from scratch, whose phases run back to back at the head's learning rate): {ft}. The "
                  f"logistic regressions see the labelled images as they are. {draws} label draws "
                  f"(seeds 0..{draws - 1}); the networks stop early on {ft.val_labels} of the 100 labelled images "
                  f"(the budget includes them; 'auto' is a fifth).\n",
                  "| method | test error (%) |", "|---|---:|"]
        names = {"raw": "logistic regression, raw pixels", "pca": "logistic regression, PCA codes (128)",
                 "codes": "logistic regression, frozen autoencoder codes", "scratch": "same network from scratch",
                 "finetune": "pretrained encoder, fine-tuned"}
        for method, point in by.items():
            lines.append(f"| {names[method]} | {fmt([1 - a for a in point.accuracies], 100)} |")
        lines += ["", "Accuracy table as `aekit labelcurve` prints it:\n", table(points), ""]

        # Part 2: layer-wise vs end to end
        rows = []
        for mode in ("end-to-end", "layer-wise"):
            recon, acc = [], []
            for seed in range(seeds):
                extra = ["layerwise.enabled=true"] if mode == "layer-wise" else []
                config = make_config(None, [*DEEP, *extra, f"seed={seed}", f"out={tmp}", f"name={mode}-{seed}", *quick])
                result = train(config)
                recon.append(result.test["recon"])
                acc += codes_accuracy(result.run_dir, 100, draws)
            rows.append(f"| {mode} | {fmt(recon)} | {fmt([1 - a for a in acc], 100)} |")
        lines += ["## Layer-wise vs end-to-end (784-512-256-128-32, ReLU)\n",
                  f"Config: `{' '.join(DEEP)}`; layer-wise: each of the 4 stages trained for the same epochs, "
                  f"then the same end-to-end training. {seeds} seeds; error with 100 labels over {draws} draws per seed.\n",
                  "| training | test reconstruction (BCE nats/image) | frozen codes + LR, 100 labels: test error (%) |",
                  "|---|---:|---:|", *rows, ""]
    lines.append(f"Total time: {time.time() - start:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
