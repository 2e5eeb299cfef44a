"""Claim 6: a contractive encoder contracts across the data manifold and follows it along a few
directions (Rifai, Vincent, Muller, Glorot & Bengio, "Contractive Auto-Encoders", ICML 2011); for
small noise a denoising autoencoder behaves alike (Alain & Bengio, "What regularized auto-encoders
learn from the data-generating distribution", JMLR 2014).

The penalty λ ‖J_f(x)‖²_F shrinks the encoder's Jacobian J_f = ∂h/∂x everywhere; reconstruction keeps
it large along the directions in which the data vary. So at test points the contractive encoder's
singular values σ₁ ≥ σ₂ ≥ … should be smaller (‖J‖_F = √Σσᵢ²) and fall faster: fewer directions carry
a sizeable fraction of σ₁. Alain & Bengio show that the denoising criterion with Gaussian noise of
small σ is, to first order, the reconstruction error plus σ² ‖∂x̂/∂x‖²_F: a contractive penalty on the
whole reconstruction map r = g ∘ f rather than on the encoder alone, so a denoiser's encoder should
move the same way, and its ‖∂x̂/∂x‖_F is shown too.

Two tied autoencoders, reported whatever the outcome: Rifai et al.'s shallow CAE (784 → 1000 sigmoid)
and a deep one (784 → 256 ReLU → 32 linear). Each seed chooses λ and σ on its own validation rows
among runs trained on its own training rows; the chosen runs are the ones reported.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from aekit.analysis.jacobian import encoder_jacobian, spectrum_summary
from aekit.registry import register
from aekit.tour.bench import QUICK_LIMIT, entry, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Setting, decide, mean, mean_sd, one_out

ARCHS = {  # name -> (overrides, test points whose spectrum is computed: full, quick)
    "shallow 784-1000 (sigmoid)": (["model.hidden=[]", "model.code_size=1000", "model.code_activation=sigmoid"],
                                   50, 5),
    "deep 784-256-32 (ReLU, linear code)": (["model.hidden=[256]", "model.code_size=32", "model.activation=relu",
                                             "model.code_activation=linear"], 500, 50),
}
COMMON = ["model.tied=true", "loss.reconstruction=bce", "train.batch_size=64", "train.lr=0.001",
          "train.restore_best=false"]
FULL_EPOCHS, QUICK_EPOCHS = 10, 3
QUICK_TRAIN = ["train.batch_size=32", "train.lr=0.003"]  # quick: more, larger steps on 400 images
LAMBDAS, QUICK_LAMBDAS = (0.1, 0.3, 1.0), (1.0,)  # the contractive weight's grid (quick: one value, no selection)
SIGMAS, QUICK_SIGMAS = (0.05, 0.1, 0.2), (0.2,)  # the denoiser's Gaussian noise grid (unclipped)
TOLERANCE = 0.10  # selection: the largest value whose validation reconstruction is within 10 % of plain's
EFFECT = 0.05  # the effect of interest: a measure 5 % below the plain encoder's
PROJECTIONS = 8  # Hutchinson draws per point for ‖∂x̂/∂x‖_F
MEASURES = ("frobenius", "sigma_10/sigma_1", "n_above_0.1")  # the encoder measures of the rule


def singular_values(model: torch.nn.Module, x: np.ndarray, chunk: int = 25) -> np.ndarray:
    """Singular values of J_f at each row of ``x``, descending: (n, min(k, d)), from the eigenvalues of
    the smaller Gram matrix (JᵀJ or JJᵀ, float64), several times cheaper than an SVD of J."""
    out = []
    for part in torch.from_numpy(x).split(chunk):
        j = encoder_jacobian(model, part).double()  # (b, k, d)
        gram = j @ j.transpose(1, 2) if j.shape[1] <= j.shape[2] else j.transpose(1, 2) @ j  # (b, r, r)
        out.append(torch.linalg.eigvalsh(gram).clamp_min(0).sqrt().flip(-1))  # ascending -> descending
    return torch.cat(out).numpy()


def reconstruction_jacobian_norm(model: torch.nn.Module, x: np.ndarray, projections: int = PROJECTIONS,
                                 seed: int = 0) -> float:
    """Mean over the rows of ``x`` of ‖∂x̂/∂x‖_F, by Hutchinson's estimate E‖J u‖² = ‖J‖²_F, u ~ N(0, I),
    with ``projections`` draws per point (forward-mode Jacobian-vector products)."""
    from torch.func import jvp

    x_rep = torch.from_numpy(x).repeat_interleave(projections, 0)  # (n m, d)
    u = torch.randn(x_rep.shape, generator=torch.Generator().manual_seed(seed))
    was_training = model.training
    model.eval()
    try:
        _, ju = jvp(model.reconstruct, (x_rep,), (u,))  # (n m, d)
    finally:
        model.train(was_training)
    squared = ju.detach().reshape(len(x), projections, -1).pow(2).sum(-1).mean(1)  # (n,) estimates of ‖J‖²_F
    return float(squared.clamp_min(0).sqrt().mean())


def _val_recon(result) -> float:
    return float(result.history[-1]["val"]["recon"])


@register("claim", "contractive")
class ContractiveClaim(Claim):
    title = "Contractive encoders contract across the manifold"
    order = 60

    def run(self, setting: Setting) -> Evidence:
        quick = setting.quick
        epochs = QUICK_EPOCHS if quick else FULL_EPOCHS
        lambdas, sigmas = (QUICK_LAMBDAS, QUICK_SIGMAS) if quick else (LAMBDAS, SIGMAS)
        common = [*COMMON, f"train.epochs={epochs}", *(QUICK_TRAIN if quick else [])]
        rows, numbers, checks, notes = [], {}, [], []
        spectra, tangents, data = {}, None, None  # the last seed's singular values per model, for the figures
        named = {"frobenius": "‖J_f‖_F", "sigma_10/sigma_1": "σ₁₀/σ₁", "n_above_0.1": "# σ > 0.1 σ₁"}
        for a, (arch, (overrides, full_points, quick_points)) in enumerate(ARCHS.items()):
            tag = ["shallow", "deep"][a]
            found: dict[str, list[dict]] = {kind: [] for kind in ("plain", "contractive", "denoising")}
            chosen: dict[str, list[float]] = {"contractive": [], "denoising": []}
            for seed in setting.seeds:
                data = split_of(setting, seed)
                points = data.x_test[: quick_points if quick else full_points]
                trained: dict[str, object] = {}

                def fit(kind: str, extra: list[str], seed: int = seed, trained: dict = trained):
                    if kind not in trained:
                        trained[kind] = train_config(setting, f"contractive-{tag}-{kind}-seed{seed}",
                                                     [*overrides, *common, *extra], seed=seed)
                    return trained[kind]

                # selection on this seed's validation rows, among runs on its training rows (a grid of one
                # value has nothing to select); the chosen runs are then the ones reported
                base = functools.cache(lambda: _val_recon(fit("plain", [])))
                lam, lam_text = _select(lambdas, lambda v: _val_recon(
                    fit(f"lambda{v:g}", [f"penalties.contractive={v}"])), base)
                sigma, sigma_text = _select(sigmas, lambda v: _val_recon(
                    fit(f"sigma{v:g}", [f"corruption.gaussian.std={v}"])), base)
                notes.append(f"Selection, {arch}, seed {seed}: λ: {lam_text}; σ: {sigma_text}.")
                chosen["contractive"].append(lam)
                chosen["denoising"].append(sigma)
                runs = {"plain": fit("plain", []),
                        "contractive": fit(f"lambda{lam:g}", [f"penalties.contractive={lam}"]),
                        "denoising": fit(f"sigma{sigma:g}", [f"corruption.gaussian.std={sigma}"])}
                for kind, result in runs.items():
                    model = result.model.eval()
                    sv = singular_values(model, points)  # (points, min(k, d))
                    found[kind].append({"bce": float(result.test["recon"]), "sv": sv, **per_point(sv),
                                        **spectrum_summary(sv, ranks=(1, 10), relative=0.1),
                                        "recon_jacobian": reconstruction_jacobian_norm(model, points, seed=seed)})
                    if tag == "shallow" and kind == "contractive":
                        tangents = (arch, lam, model, points[: 3 if quick else 20])
                # the directions the code still follows, against one threshold per seed: 10 % of plain's σ₁
                threshold = 0.1 * found["plain"][-1]["sigma_1"]
                for kind in runs:
                    found[kind][-1]["n_above_plain"] = float((found[kind][-1]["sv"] > threshold).sum(1).mean())
                setting.log(f"contractive: {tag}, seed {seed} done")
            labels = {"plain": "plain", "contractive": f"contractive (λ = {_chosen(chosen['contractive'])})",
                      "denoising": f"denoising (σ = {_chosen(chosen['denoising'])})"}
            spectra[arch] = {labels[kind]: found[kind][-1]["sv"] for kind in found}
            numbers[f"{tag}_lambda"], numbers[f"{tag}_sigma"] = mean(chosen["contractive"]), mean(chosen["denoising"])
            for kind in found:
                rows.append([arch, labels[kind],
                             *[mean_sd([v[key] for v in found[kind]], fmt) for key, fmt in COLUMNS]])
                for key, _ in COLUMNS:
                    numbers[f"{tag}_{kind}_{key}"] = mean([v[key] for v in found[kind]])
            for kind in ("contractive", "denoising"):  # paired per test point within a seed: 1 − model's / plain's
                for key in MEASURES:
                    pairs = [one_out(lambda m, p: 1 - m / p, b[f"points:{key}"], a[f"points:{key}"])
                             for a, b in zip(found["plain"], found[kind])]
                    checks.append(Check(f"{tag}: {kind} {named[key]} below plain's (1 − ratio)", [d for d, _ in pairs],
                                        EFFECT, image_out=[r for _, r in pairs]))

        figures = [entry("spectra", "Jacobian spectra: plain, contractive, denoising",
                         "The median over test points of the singular values σ_i of the encoder's Jacobian "
                         "J_f(x) = ∂h/∂x, largest first (log scale), for the plain, contractive and small-noise "
                         f"denoising models of seed {setting.seeds[-1]}. Left: the shallow model (784 → 1000); right: "
                         "the deep one (784 → 256 → 32). A contractive encoder lies below the plain one where it "
                         "contracts; its spectrum falls faster where fewer directions carry the code.",
                         _spectra_figure(spectra))]
        if tangents is not None:
            from aekit.viz.contractive import jacobian_figure

            arch, lam, model, pts = tangents
            figures.append(entry("tangents", "What the shallow contractive code follows",
                                 f"{arch}, contractive (λ = {lam:g}, seed {setting.seeds[-1]}). Left: the singular "
                                 f"values of J_f at the first {len(pts)} test points (median and 10-90 % band, log "
                                 f"scale). Right: for three test digits, the input directions the code is most "
                                 f"sensitive to (right singular vectors, red +, blue −); Rifai et al. find that they "
                                 f"look like local deformations of the digit.", jacobian_figure(model, pts)))
        n = f"{QUICK_LIMIT} training images (quick)" if quick else f"the {len(data.x_train):,} training images"
        return Evidence(
            statement="At test points the contractive encoder's Jacobian is smaller than a plain encoder's and its "
                      "spectrum falls faster (fewer directions carry the code), for a shallow and a deep model; a "
                      "denoising autoencoder with small Gaussian noise moves the same measures the same way.",
            protocol=f"{split_protocol(setting)}; tied autoencoders (decoder = encoder "
                     f"transposed), sigmoid output, cross-entropy, Adam lr {'3e-3' if quick else '1e-3'}, batch "
                     f"{32 if quick else 64}, {epochs} epochs, the last "
                     f"epoch's weights kept, trained on {n}. Selected by each seed on its own validation rows: λ "
                     f"from {list(lambdas)} and σ from {list(sigmas)} (Gaussian, unclipped), each the largest whose "
                     f"validation cross-entropy is within {TOLERANCE:.0%} of the same seed's plain model's (rule "
                     f"fixed in advance), per architecture; the chosen runs are the ones reported. Seeds "
                     f"{list(setting.seeds)} (split, initialisation, batch order, noise); test cross-entropy on all "
                     f"test images; Jacobian measures at the "
                     f"first {', '.join(str(a[2] if quick else a[1]) for a in ARCHS.values())} test points "
                     f"(shallow, deep), averaged over points; ‖∂x̂/∂x‖_F by Hutchinson's estimate "
                     f"({PROJECTIONS} draws per point).",
            header=["model", "trained", "test cross-entropy (nats / image)", "‖J_f‖_F", "σ₁", "σ₁₀ / σ₁",
                    "# σ > 0.1 σ₁", "# σ > 0.1 σ₁(plain)", "‖∂x̂/∂x‖_F"],
            rows=rows,
            rule=f"for each architecture, six: the contractive encoder's ‖J_f‖_F, σ₁₀/σ₁ and number of singular "
                 f"values above 10 % of σ₁ are each below the plain encoder's (it contracts, and across more "
                 f"directions than along), and the denoiser's too (it moves them the same way); each as 1 minus "
                 f"the model's mean over test points over the plain encoder's, paired per test point within a seed; "
                 f"effect of interest {EFFECT:.0%}.",
            decision=decide(checks, setting.seeds), numbers=numbers, figures=figures, scale=data.scale,
            notes=[*notes,
                   "‖∂x̂/∂x‖_F (last column) is what Alain & Bengio's small-noise result penalises; it is "
                   "not part of the rule.",
                   "# σ > 0.1 σ₁(plain) counts singular values above one threshold per seed shared by the three "
                   "models (10 % of the plain encoder's mean σ₁): it tells a spectrum that falls faster from one "
                   "that only shrinks σ₁ more than the rest."])


COLUMNS = [("bce", "{:.1f}"), ("frobenius", "{:.2f}"), ("sigma_1", "{:.3f}"), ("sigma_10/sigma_1", "{:.3f}"),
           ("n_above_0.1", "{:.1f}"), ("n_above_plain", "{:.1f}"), ("recon_jacobian", "{:.2f}")]


def per_point(sv: np.ndarray) -> dict[str, np.ndarray]:
    """The rule's encoder measures at each test point (spectrum_summary's means are their means)."""
    top = np.maximum(sv[:, 0], 1e-300)
    return {"points:frobenius": np.sqrt((sv ** 2).sum(1)), "points:sigma_10/sigma_1": sv[:, 9] / top,
            "points:n_above_0.1": (sv > 0.1 * sv[:, :1]).sum(1).astype(np.float64)}


def _chosen(values: list[float]) -> str:
    """``"0.3"`` when every seed chose it, else ``"0.3 (4×), 1 (1×)"``."""
    counts = {v: values.count(v) for v in dict.fromkeys(values)}
    return ", ".join(f"{v:g}" + (f" ({k}×)" if len(counts) > 1 else "") for v, k in counts.items())


def _select(grid, val_recon, base) -> tuple[float, str]:
    """The largest value of ``grid`` whose validation reconstruction ``val_recon(value)`` is within
    TOLERANCE of the plain model's, ``base()`` (the smallest value when none is), and a line saying what
    each scored. A grid of one value is returned without training anything."""
    if len(grid) == 1:
        return grid[0], f"{grid[0]:g}, fixed (a grid of one value: nothing selected)"
    plain = base()
    scores = {v: val_recon(v) for v in grid}
    within = [v for v in grid if scores[v] <= (1 + TOLERANCE) * plain]
    chosen = max(within) if within else min(grid)
    text = ", ".join(f"{v:g} → {s:.1f}" for v, s in scores.items())
    why = (" (none within the tolerance: the smallest)" if not within else
           " (the grid's largest: the tolerance did not bind, so this regulariser paid less reconstruction than "
           "the tolerance allows)" if chosen == max(grid) else "")
    return chosen, f"validation cross-entropy per image: plain {plain:.1f}, {text}; chose {chosen:g}{why}"


def _spectra_figure(spectra: dict[str, dict[str, np.ndarray]]):
    from aekit.viz._common import new_figure

    fig = new_figure(12.0, 3.8)
    axes = np.atleast_1d(fig.subplots(1, len(spectra)))
    colors = ("tab:gray", "tab:blue", "tab:orange")
    for ax, (arch, per_model) in zip(axes, spectra.items()):
        for color, (label, sv) in zip(colors, per_model.items()):
            median = np.maximum(np.median(sv, axis=0), 1e-12)
            ax.plot(np.arange(1, len(median) + 1), median, color=color, label=label)
        ax.set_yscale("log")
        ax.set_title(arch, fontsize=10)
        ax.set_xlabel("singular value index i")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("median σ_i of J_f(x)")  # short enough for the axes' height; the caption says over what
    fig.tight_layout()
    return fig
