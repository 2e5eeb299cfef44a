"""Evidence: a variational autoencoder (Kingma & Welling, ICLR 2014) on binarized MNIST-5k, scored
in nats by its test ELBO and its importance-sampled negative log-likelihood (Burda et al., ICLR 2016).

Data: bundled MNIST-5k split 70/10/20 (``split_dataset(seed=0)``: 3500 train, 500 validation, 1000
test rows), binarized with a fixed threshold (pixel > 0.5 -> 1), the same for every split and run.
Model: MLP 784-500-20 encoder with a Gaussian head, 20-500-784 Bernoulli decoder, ReLU (the
sizes of Kingma & Welling's MNIST runs, ReLU for their tanh); loss = cross-entropy + KL (beta = 1);
Adam, lr 1e-3, batch 128; the weights of the best validation epoch are kept. For each seed the
same architecture with its untrained initial weights is scored too. Numbers: per-image means over
the test split; the ELBO averages E_q[log p(x|h)] over 10 draws per image; the NLL uses k = 1000
importance samples. Seeds drive initialisation, batch order and every draw.

    .venv/bin/python experiments/variational.py            # the table in experiments/results/variational.md
    .venv/bin/python experiments/variational.py --quick    # a tiny version, seconds (tests/behaviour)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aekit.analysis.likelihood import binarize, elbo, importance_sampled_nll
from aekit.data import load_dataset, split_dataset
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.objectives.variational import KLDivergence
from aekit.training.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results" / "variational.md"


@dataclass
class Settings:
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 60
    hidden: list[int] = field(default_factory=lambda: [500])
    code_size: int = 20
    k: int = 1000  # importance samples for the NLL
    elbo_samples: int = 10
    n_train: int | None = None  # None: the whole training split
    n_test: int | None = None  # None: the whole test split

    @classmethod
    def quick(cls) -> Settings:
        return cls(seeds=(0,), epochs=8, hidden=[64], code_size=8, k=50, elbo_samples=2, n_train=512, n_test=64)


def load(settings: Settings) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Binarized train, validation and test splits of MNIST-5k, (n, 1, 28, 28) in {0, 1}."""
    splits = split_dataset(load_dataset("mnist5k"), val_fraction=0.1, test_fraction=0.2, seed=0)
    train, val, test = (binarize(torch.from_numpy(s.array())) for s in (splits.train, splits.val, splits.test))
    return train[: settings.n_train], val, test[: settings.n_test]


def score(model: torch.nn.Module, x: torch.Tensor, settings: Settings, seed: int) -> dict[str, float]:
    """Mean test ELBO and importance-sampled NLL in nats per image."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    lower = elbo(model, x, samples=settings.elbo_samples, generator=generator)  # (n,)
    nll = importance_sampled_nll(model, x, k=settings.k, generator=generator)  # (n,)
    return {"elbo": lower.mean().item(), "nll": nll.mean().item()}


def run_seed(seed: int, settings: Settings, data: tuple[torch.Tensor, ...]) -> dict[str, dict[str, float]]:
    """Scores of the untrained and the trained model of one seed (and the trained model's train ELBO)."""
    train, val, test = data
    torch.manual_seed(seed)
    config = ModelConfig(kind="mlp", hidden=settings.hidden, code_size=settings.code_size, variational=True,
                         output="sigmoid")
    model = build_model(config, (1, 28, 28))
    untrained = score(model, test, settings, seed)
    trainer = Trainer(model, [CrossEntropy(), KLDivergence()], TrainConfig(epochs=settings.epochs, batch_size=128),
                      seed=seed)
    start = time.perf_counter()
    trainer.fit(train, val)
    seconds = time.perf_counter() - start
    trained = score(model, test, settings, seed)
    generator = torch.Generator().manual_seed(seed)
    train_elbo = elbo(model, train, samples=settings.elbo_samples, generator=generator).mean().item()
    trained |= {"train_elbo": train_elbo, "best_epoch": trainer.best_epoch, "seconds": seconds}
    return {"untrained": untrained, "trained": trained}


def _mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def table(results: list[dict[str, dict[str, float]]], settings: Settings, n: tuple[int, int], command: str,
          seconds: float) -> str:
    seeds = ", ".join(map(str, settings.seeds))
    rows = []
    for name, label in (("untrained", "untrained (initial weights)"), ("trained", "VAE, beta = 1")):
        elbos = [r[name]["elbo"] for r in results]
        nlls = [r[name]["nll"] for r in results]
        gaps = [-r[name]["elbo"] - r[name]["nll"] for r in results]
        rows.append(f"| {label} | {_mean_sd(elbos)} | {_mean_sd(nlls)} | {_mean_sd(gaps)} |")
    trained = [r["trained"] for r in results]
    lines = [
        "# Variational autoencoder on binarized MNIST-5k: test ELBO and importance-sampled NLL",
        "",
        f"Command: `{command}`  ",
        f"Threads: {torch.get_num_threads()}; seeds {seeds} (mean ± sd over seeds); total {seconds:.0f} s.  ",
        f"Data: bundled MNIST-5k, `split_dataset(seed=0)`: {n[0]} training images, {n[1]} test images; "
        f"binarized with a fixed threshold (pixel > 0.5).  ",
        f"Model: MLP 784-{'-'.join(map(str, settings.hidden))}-{settings.code_size} Gaussian encoder, "
        f"{settings.code_size}-{'-'.join(map(str, reversed(settings.hidden)))}-784 Bernoulli decoder, ReLU; "
        f"loss = BCE + KL (beta = 1); Adam lr 1e-3, batch 128, {settings.epochs} epochs, the weights of the "
        f"best validation epoch kept (best epochs: {', '.join(str(t['best_epoch']) for t in trained)}).  ",
        f"Scores in nats per test image: ELBO with E_q over {settings.elbo_samples} draws per image; "
        f"NLL = -log p(x) estimated with k = {settings.k} importance samples from q(h|x) (Burda et al. 2016).",
        "",
        "| model | test ELBO (nats, higher is better) | test NLL, k = " + str(settings.k)
        + " (nats, lower is better) | gap -ELBO - NLL (nats) |",
        "|---|---|---|---|",
        *rows,
        "",
        f"Training-set ELBO of the trained models: {_mean_sd([t['train_elbo'] for t in trained])} nats "
        f"(test: {_mean_sd([t['elbo'] for t in trained])}); training took "
        f"{_mean_sd([t['seconds'] for t in trained])} s per seed.",
        "",
        "Per seed (trained): " + "; ".join(
            f"seed {s}: ELBO {t['elbo']:.2f}, NLL {t['nll']:.2f}" for s, t in zip(settings.seeds, trained)) + ".",
        "",
        f"Checks: NLL < -ELBO for every model and seed: {_yes(all(-r[m]['elbo'] > r[m]['nll'] for r in results for m in r))}; "
        f"trained ELBO > untrained ELBO for every seed: {_yes(all(r['trained']['elbo'] > r['untrained']['elbo'] for r in results))}.",
        "",
        f"Not comparable with the ~85-nat test NLLs of the literature, which train on 50 000 (usually "
        f"stochastically binarized) MNIST images: here {n[0]} training images, threshold-binarized.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict[str, dict[str, float]]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny version (seconds); writes nothing unless --out")
    parser.add_argument("--out", type=Path, default=None, help=f"where to write the table (default {RESULTS})")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = Settings.quick() if args.quick else Settings()
    data = load(settings)
    start = time.perf_counter()
    results = [run_seed(seed, settings, data) for seed in settings.seeds]
    seconds = time.perf_counter() - start
    command = ".venv/bin/python experiments/variational.py" + (" --quick" if args.quick else "")
    text = table(results, settings, (len(data[0]), len(data[2])), command, seconds)
    out = args.out if args.out is not None else (None if args.quick else RESULTS)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    print(text)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
