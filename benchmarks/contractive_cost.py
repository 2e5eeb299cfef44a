"""Cost of the contractive penalty ||dh/dx||_F^2 (Rifai et al., ICML 2011) as multiples of a plain
training step, every way of computing it side by side in one process.

Model: MLP encoder 784-512-128-32 (ReLU, linear code) with the mirrored decoder, batch 128 of bundled
MNIST-5k, Adam (fused, as the Trainer), cross-entropy + lambda * penalty. Variants:

- plain              no penalty (the unit);
- per-unit loop      k = 32 backward passes with create_graph, one per code unit (what other libraries do);
- vmap(jacrev)       the generic torch.func path, k vectorised reverse passes;
- vmap(jacfwd)       the generic path in forward mode, d = 784 vectorised forward passes (few repeats);
- layer-wise         aekit's exact MLP path: A = D_3 W_3 D_2 W_2 D_1, ||J||^2 = tr(A G A^T), G = W_1 W_1^T,
                     for the batch mean as <sum_b A_b^T A_b, G> (what the training term calls);
- stochastic m=1     aekit's unbiased estimate from one projection J u per sample (forward mode);

and, on a one-layer sigmoid encoder 784-1000 (Rifai et al.'s shape) against its own plain step,
- closed form        sum_j s'(a_j)^2 ||W_j||^2.

Repeats alternate between the variants, so a busy neighbour slows all alike; each variant's multiple
is the median over repeats of its time over the time of the plain steps run around it (in ABBA order:
plain, variant, variant, plain), and, beside it, the ratio of the best times over all repeats. The
layer-wise path's achieved GFLOP/s (analytic multiply-add count) is compared with this machine's
matmul peak, measured here. Each thread count given to ``--threads`` gets its own timings in the
same run. The stochastic estimate's bias is measured over every batch of MNIST-5k, many draws each.
Run (writes benchmarks/results/contractive_cost.md):

    .venv/bin/python benchmarks/contractive_cost.py [--threads 1 2] [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from aekit.data import load_dataset
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.objectives.contractive import Contractive
from aekit.objectives.jacobian_norm import generic

HIDDEN, CODE, BATCH, LAMBDA = [512, 128], 32, 128, 0.1
WIDE = 1000  # the one-layer sigmoid encoder of the closed form
RESULTS = Path(__file__).parent / "results" / "contractive_cost.md"
JACFWD_REPEATS = 2  # vmap(jacfwd) takes seconds a step
TABLE_HEAD = ("| variant | ms / step (median) | ms / step (best) | x plain step (median of per-repeat ratios) "
              "| x plain step (best / best) | ratios: min - max over repeats |")


# -- the variants ---------------------------------------------------------------------------------
def per_unit_loop(batch, out, model):
    """||J||^2 by one backward pass per code unit (create_graph), as a per-unit Python loop."""
    x = batch["x_tilde"].detach().requires_grad_(True)
    h = model.encode(x)  # (B, k)
    total = x.new_zeros(x.shape[0])
    for j in range(h.shape[1]):
        (row,) = torch.autograd.grad(h[:, j].sum(), x, create_graph=True)  # dh_j/dx per sample
        total = total + row.flatten(1).pow(2).sum(1)
    return {"contractive": LAMBDA * total.mean()}


def torch_func(mode: str):
    def term(batch, out, model):
        return {"contractive": LAMBDA * generic(model.encode, batch["x_tilde"], mode).mean()}

    return term


def make_step(penalty, x: torch.Tensor, hidden: list[int], code: int, code_activation: str,
              activation: str = "relu") -> Callable[[], None]:
    """One training step of a fresh model (seed 0) with cross-entropy and ``penalty`` (or none)."""
    torch.manual_seed(0)
    config = ModelConfig.of_kind(hidden=hidden, code_size=code, activation=activation, code_activation=code_activation,
                         output="sigmoid")
    model = build_model(config, (1, 28, 28))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    objectives = [CrossEntropy()] + ([penalty] if penalty is not None else [])
    for objective in objectives:
        if hasattr(objective, "bind"):
            objective.bind(model)
    batch = {"x": x, "x_tilde": x}

    def step() -> None:  # what Trainer._step does
        out = model(x)
        loss = sum(value for objective in objectives for value in objective(batch, out, model).values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def time_steps(step: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


# -- multiply-add counts ----------------------------------------------------------------------------
def plain_macs(sizes: list[int], batch: int) -> int:
    """Forward, weight gradients and input gradients (all but the first layer) of the mirrored MLP."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    layers = layers + [(b, a) for a, b in reversed(layers)]  # encoder + decoder
    per_layer = [a * b for a, b in layers]
    return batch * (2 * sum(per_layer) + sum(per_layer[1:]))


def layerwise_macs(d: int, n1: int, n2: int, k: int, batch: int) -> int:
    """A = (W_3 D_2) W_2 D_1 and its two backward GEMMs; G and S = A^T A as symmetric (5/8 of a GEMM,
    ``column_gram``), A G, S W_1."""
    rows = batch * k
    return int(3 * rows * n2 * n1 + 1.625 * rows * n1 * n1 + 1.625 * n1 * n1 * d)


def matmul_peak(repeats: int) -> float:
    """GFLOP/s of the best of a few float32 GEMMs of the shapes the layer-wise path runs."""
    a, b = torch.randn(4096, 512), torch.randn(512, 512)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 4096 * 512 * 512 / best / 1e9


# -- the estimate's bias ----------------------------------------------------------------------------
def stochastic_bias(x_all: torch.Tensor, draws: int) -> tuple[float, float, float, int]:
    """(bias, its standard error, relative sd of one step's estimate, draws) over every batch of
    ``x_all``: sum of estimates / sum of exact values - 1, for the 784-512-128-32 model at init."""
    torch.manual_seed(0)
    model = build_model(ModelConfig.of_kind(hidden=HIDDEN, code_size=CODE, output="sigmoid"), (1, 28, 28))
    exact, estimate = Contractive(1.0), Contractive(1.0, projections=1, seed=0)
    ratios = []
    for x in x_all.split(BATCH):
        with torch.no_grad():
            model(x)
            truth = exact.per_sample(x, model).mean()
        for _ in range(draws):
            model(x)  # the trainer's forward pass, which the estimate reuses
            ratios.append((estimate.per_sample(x, model).mean().detach() / truth).item())
    n = len(ratios)
    mean, sd = statistics.fmean(ratios), statistics.stdev(ratios)
    return mean - 1, sd / math.sqrt(n), sd, n


# -- main ---------------------------------------------------------------------------------------------
def row(name: str, base: str, times: dict[str, list[float]], ratios: dict[str, list[float]]) -> str:
    """Median and best time; the median of per-repeat ratios and the ratio of best times (other jobs
    only ever add time, so the best of many repeats is the least disturbed); the ratios' spread."""
    spread = f"{min(ratios[name]):.2f} - {max(ratios[name]):.2f}"
    best = min(times[name]) / min(times[base])
    return (f"| {name} | {1e3 * statistics.median(times[name]):.1f} | {1e3 * min(times[name]):.1f} | "
            f"{statistics.median(ratios[name]):.2f} | {best:.2f} | {spread} |")


def timings(x: torch.Tensor, repeats: int, steps: int, quick: bool) -> tuple[dict, dict, dict, dict, float]:
    """Alternating timings of every variant at the current thread count: (deep variants, shallow
    variants, {name: seconds per repeat}, {name: ratio per repeat}, matmul peak)."""
    deep = {
        "plain": make_step(None, x, HIDDEN, CODE, "linear"),
        "per-unit loop (k backward passes)": make_step(per_unit_loop, x, HIDDEN, CODE, "linear"),
        "vmap(jacrev)": make_step(torch_func("jacrev"), x, HIDDEN, CODE, "linear"),
        "vmap(jacfwd)": make_step(torch_func("jacfwd"), x, HIDDEN, CODE, "linear"),
        "layer-wise exact (aekit)": make_step(Contractive(LAMBDA), x, HIDDEN, CODE, "linear"),
        "stochastic, 1 projection (aekit)": make_step(Contractive(LAMBDA, projections=1), x, HIDDEN, CODE, "linear"),
    }
    shallow = {
        "plain (784-1000 sigmoid)": make_step(None, x, [], WIDE, "sigmoid"),
        "closed form (aekit)": make_step(Contractive(LAMBDA), x, [], WIDE, "sigmoid"),
    }
    if quick:
        del deep["vmap(jacfwd)"]  # about 5 s a step on one thread
    slow = {"per-unit loop (k backward passes)": 3, "vmap(jacrev)": 3, "vmap(jacfwd)": 1}
    for variants in (deep, shallow):
        for step in variants.values():
            step()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in [*deep, *shallow]}
    ratios: dict[str, list[float]] = {name: [] for name in [*deep, *shallow]}
    peaks = []
    for repeat in range(repeats):
        for base, variants in (("plain", deep), ("plain (784-1000 sigmoid)", shallow)):
            for name, step in variants.items():
                if name == base or (name == "vmap(jacfwd)" and repeat >= JACFWD_REPEATS):
                    continue
                # ABBA: plain, variant, variant, plain, so that a drift in the machine's speed within
                # the four timings cancels; each ratio compares neighbouring timings
                n = min(steps, slow.get(name, steps))
                plain = [time_steps(variants[base], steps)]
                seconds = [time_steps(step, n), time_steps(step, n)]
                plain.append(time_steps(variants[base], steps))
                times[base] += plain
                times[name] += seconds
                ratios[base].append(1.0)
                ratios[name].append(sum(seconds) / sum(plain))
        peaks.append(matmul_peak(5))
        print(f"threads {torch.get_num_threads()}: repeat {repeat + 1}/{repeats} done", file=sys.stderr)
    return deep, shallow, times, ratios, max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="one or more thread counts")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="steps per timing of the fast variants")
    parser.add_argument("--draws", type=int, default=50, help="estimates per batch for the bias")
    parser.add_argument("--quick", action="store_true", help="a few seconds without vmap(jacfwd), prints only (CI)")
    parser.add_argument("--write", type=Path, default=None,
                        help=f"Markdown report (default {RESULTS}; none with --quick)")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.steps, args.draws = 1, 1, 2
    write = args.write or (None if args.quick else RESULTS)
    data = torch.from_numpy(load_dataset("mnist5k").array())
    x = data[:BATCH]
    d, (n1, n2) = 784, HIDDEN
    plain_flop = 2 * plain_macs([d, *HIDDEN, CODE], BATCH)
    penalty_flop = 2 * layerwise_macs(d, n1, n2, CODE, BATCH)
    threads = " ".join(map(str, args.threads))
    lines = [
        "# Contractive penalty: cost of a training step",
        "",
        f"Command: `.venv/bin/python benchmarks/contractive_cost.py --threads {threads} --repeats {args.repeats}"
        f"{' --quick' if args.quick else ''}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other jobs, "
        f"torch {torch.__version__} (medians of alternating repeats).  ",
        f"Step: forward, cross-entropy + {LAMBDA} * penalty, backward, fused Adam; batch {BATCH} of MNIST-5k. "
        f"Repeats: {args.repeats} ({min(args.repeats, JACFWD_REPEATS)} for vmap(jacfwd)); steps per timing: "
        f"{args.steps} (loop and jacrev {min(args.steps, 3)}, jacfwd 1).",
    ]
    for n_threads in args.threads:
        torch.set_num_threads(n_threads)
        deep, shallow, times, ratios, peak = timings(x, args.repeats, args.steps, args.quick)
        t_plain, t_layer = statistics.median(times["plain"]), statistics.median(times["layer-wise exact (aekit)"])
        lines += [
            "",
            f"## {n_threads} thread{'s' * (n_threads > 1)}",
            "",
            "### Encoder 784-512-128-32 (ReLU, linear code), mirrored decoder",
            "",
            TABLE_HEAD,
            "|---|---:|---:|---:|---:|---:|",
            *(row(name, "plain", times, ratios) for name in deep),
            "",
            f"### One-layer encoder 784-{WIDE} (sigmoid code), mirrored decoder",
            "",
            TABLE_HEAD,
            "|---|---:|---:|---:|---:|---:|",
            *(row(name, "plain (784-1000 sigmoid)", times, ratios) for name in shallow),
            "",
            "### Arithmetic",
            "",
            f"- matmul peak measured here (float32 GEMM 4096x512 @ 512x512, best of 5 per repeat): {peak:.1f} GFLOP/s",
            f"- plain step: {plain_flop / 1e9:.2f} GFLOP, {plain_flop / t_plain / 1e9:.1f} GFLOP/s "
            f"({100 * plain_flop / t_plain / 1e9 / peak:.0f} % of peak)",
            f"- layer-wise penalty: {penalty_flop / 1e9:.2f} GFLOP (3 B k n2 n1 + 1.625 B k n1^2 + 1.625 n1^2 d "
            f"multiply-adds); the whole step with it: {(plain_flop + penalty_flop) / t_layer / 1e9:.1f} GFLOP/s "
            f"({100 * (plain_flop + penalty_flop) / t_layer / 1e9 / peak:.0f} % of peak); "
            f"flop ratio to the plain step {(plain_flop + penalty_flop) / plain_flop:.1f}x",
        ]

    torch.set_num_threads(args.threads[0])
    bias, stderr, sd, n_draws = stochastic_bias(data if not args.quick else data[: 2 * BATCH], args.draws)
    lines += [
        "",
        "## Stochastic estimate (1 projection per sample)",
        "",
        f"- bias over {n_draws} draws ({args.draws} per batch, every batch of "
        f"{len(data) if not args.quick else 2 * BATCH} images, model at initialisation): "
        f"{100 * bias:+.3f} % +- {100 * stderr:.3f} % (standard error)",
        f"- relative standard deviation of one step's estimate (batch mean): {100 * sd:.1f} %",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if write is not None:
        write.parent.mkdir(parents=True, exist_ok=True)
        write.write_text(report)
        print(f"wrote {write}", file=sys.stderr)


if __name__ == "__main__":
    main()
