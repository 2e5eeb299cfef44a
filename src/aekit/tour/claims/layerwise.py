"""Claim 9: greedy layer-wise pretraining against end-to-end training at equal total epochs
(Bengio et al., NIPS 2007; Hinton & Salakhutdinov, Science 2006).

A deep autoencoder built greedily — each layer first trained as a shallow autoencoder on the codes of
the layer below, then the stack fine-tuned end to end — was the way deep autoencoders were first
trained at all. Does it still beat plain end-to-end training (ReLU, Adam) when both get the **same
number of epochs**? The stages' epochs count: with ``s`` epochs per stage and ``L`` stages, the
layer-wise run trains end to end for ``E - L·s`` epochs only. A shallow stage's epoch is cheaper than a
deep epoch, so the wall-clock time of each is reported too, and a third run gives end-to-end training
the layer-wise run's wall-clock time.
"""

from __future__ import annotations

import math

from aekit.models.batched import map_batches
from aekit.registry import register
from aekit.tour.bench import entry, probe_hits, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Setting, decide, mean, mean_sd, one_out, signed

HIDDEN, CODE = [512, 256, 128], 32  # 784-512-256-128-32, ReLU, the decoder mirrored
FULL = {"epochs": 32, "stage_epochs": 4}  # layer-wise: 4 stages x 4 epochs + 16 end to end = 32
QUICK = {"epochs": 8, "stage_epochs": 1}  # 4 x 1 + 4 = 8
EFFECTS = {"recon": 1.0, "probe": 1.0}  # effects of interest: a nat per image; a point of probe accuracy


def _seconds(history: list[dict]) -> float:
    return float(sum(r["seconds"] for r in history))


def _with_offset(records: list[dict], offset: int) -> list[dict]:
    return [{**r, "epoch": r["epoch"] + offset} for r in records]


@register("claim", "layerwise")
class LayerwiseAtEqualEpochs(Claim):
    title = "Greedy layer-wise pretraining vs end-to-end training at equal epochs"
    order = 90

    def run(self, setting: Setting) -> Evidence:
        from aekit.training.run_folder import read_metrics_file
        from aekit.viz.layerwise import stage_files

        plan = QUICK if setting.quick else FULL
        epochs, per_stage = plan["epochs"], plan["stage_epochs"]
        stages = len(HIDDEN) + 1
        tail = epochs - stages * per_stage  # end-to-end epochs after the stages
        base = [f"model.hidden=[{', '.join(map(str, HIDDEN))}]", f"model.code_size={CODE}", "train.batch_size=128"]
        found: dict[str, dict[str, list[float]]] = {}
        hits: dict[str, list] = {}  # per seed, each test image's probe outcome (1 right, 0 wrong)
        curves: dict[str, list[dict]] = {}
        stage_records: list[list[dict]] = []
        for seed in setting.seeds:
            data = split_of(setting, seed)
            runs = {}
            e2e = train_config(setting, f"layerwise-e2e-seed{seed}", [*base, f"train.epochs={epochs}"], seed=seed)
            runs["end to end"] = (e2e, _seconds(e2e.history), epochs)
            greedy = train_config(setting, f"layerwise-greedy-seed{seed}",
                                  [*base, f"train.epochs={tail}", "layerwise.enabled=true",
                                   f"layerwise.epochs={per_stage}"], seed=seed)
            staged = [read_metrics_file(path) for path in stage_files(greedy.run_dir)]
            greedy_seconds = sum(_seconds(s) for s in staged) + _seconds(greedy.history)
            runs["layer-wise"] = (greedy, greedy_seconds, epochs)
            # end to end again, for as many epochs as fit in the layer-wise run's time (at e2e's pace)
            pace = runs["end to end"][1] / epochs
            same_time = max(1, min(epochs, math.floor(greedy_seconds / pace + 0.5)))
            timed = train_config(setting, f"layerwise-e2e-time-seed{seed}", [*base, f"train.epochs={same_time}"],
                                 seed=seed)
            runs["end to end, layer-wise's time"] = (timed, _seconds(timed.history), same_time)
            for name, (result, seconds, n_epochs) in runs.items():
                model = result.model
                h_train, h_test = (map_batches(model.encode, x.reshape(len(x), *data.sample_shape), model)
                                   for x in (data.x_train, data.x_test))
                values = found.setdefault(name, {})
                hits.setdefault(name, []).append(probe_hits(h_train, data.y_train, h_test, data.y_test))
                for key, value in (("recon", result.test["recon"]), ("probe", hits[name][-1].mean()),
                                   ("seconds", seconds), ("epochs", n_epochs)):
                    values.setdefault(key, []).append(float(value))
                setting.log(f"layerwise: seed {seed}, {name}: test recon {result.test['recon']:.2f}, "
                            f"probe {values['probe'][-1]:.3f}, {seconds:.1f} s, {n_epochs} epochs")
            if seed == setting.seeds[0]:
                curves = {"end to end": read_metrics_file(e2e.run_dir / "metrics.jsonl"),
                          "layer-wise (after its stages)": _with_offset(
                              read_metrics_file(greedy.run_dir / "metrics.jsonl"), stages * per_stage)}
                stage_records = staged
        return self._evidence(setting, plan, data, found, hits, curves, stage_records)

    def _evidence(self, setting: Setting, plan: dict, data, found: dict, hits: dict, curves: dict,
                  staged: list) -> Evidence:
        epochs, per_stage = plan["epochs"], plan["stage_epochs"]
        stages = len(HIDDEN) + 1
        rows, numbers = [], {}
        for name, values in found.items():
            same = len(set(values["epochs"])) == 1
            rows.append([name, f"{values['epochs'][0]:.0f}" if same else mean_sd(values["epochs"], "{:.0f}"),
                         mean_sd(values["recon"], "{:.2f}"), mean_sd([100 * v for v in values["probe"]], "{:.1f} %"),
                         mean_sd(values["seconds"], "{:.1f} s")])
            key = {"end to end": "e2e", "layer-wise": "greedy"}.get(name, "e2e_time")
            for k, v in values.items():
                numbers[f"{k}_{key}"] = mean(v)
        # paired by seed: the two runs of one seed share its split, initialisation and batch order; the probe
        # also per test image
        recon_gap = [a - b for a, b in zip(found["end to end"]["recon"], found["layer-wise"]["recon"])]
        probes = [one_out(lambda g, e: 100 * (g - e), g, e) for g, e in zip(hits["layer-wise"], hits["end to end"])]
        probe_gap = [d / 100 for d, _ in probes]
        numbers["recon_gap"], numbers["probe_gap"] = mean(recon_gap), mean(probe_gap)
        checks = [Check("end to end − layer-wise, test reconstruction (nats per image)", recon_gap, EFFECTS["recon"],
                        " nats", "{:.2f}"),
                  Check("layer-wise − end to end, probe accuracy (points)", [d for d, _ in probes], EFFECTS["probe"],
                        " pts", "{:.2f}", [r for _, r in probes])]
        rows.append(["gap: end to end − layer-wise, paired by seed (> 0 in reconstruction, < 0 in accuracy: "
                     "layer-wise better)", "", signed(recon_gap, "{:.2f}"),
                     signed([-100 * g for g in probe_gap], "{:.1f}", " pts"), ""])
        from aekit.viz.compare import validation_curves_figure
        from aekit.viz.layerwise import stage_curves_figure

        figures = [
            entry("curves", "Validation reconstruction against total epochs",
                  f"Validation reconstruction error (cross-entropy per image, lower is better) of the deep "
                  f"autoencoder trained end to end for {epochs} epochs, and of the layer-wise one during its "
                  f"end-to-end phase, drawn at its total epoch count: its first {stages * per_stage} epochs went "
                  f"to the {stages} shallow stages. Where the layer-wise curve starts is what the stages bought; "
                  f"whether the other catches up by epoch {epochs} is the claim (seed {setting.seeds[0]}).",
                  validation_curves_figure(curves, terms=("recon",))),
            entry("stages", "The greedy stages",
                  f"Each of the {stages} shallow autoencoders of the layer-wise run, trained {per_stage} epoch(s) on "
                  f"the codes of the one below (stage 1 on the images): training loss (solid) and validation "
                  f"loss (dashed). Later stages reconstruct codes, so their losses are on another scale.",
                  stage_curves_figure(staged)),
        ]
        n = f"{len(data.x_train):,} training images" + (" (quick)" if setting.quick else "")
        return Evidence(
            statement="Greedy layer-wise pretraining of a deep autoencoder, then end-to-end fine-tuning, "
                      "reconstructs better and gives codes that a linear classifier reads better than end-to-end "
                      "training alone with the same total number of epochs.",
            protocol=f"{split_protocol(setting)}; a 784-512-256-128-32 ReLU autoencoder "
                     f"(mirrored decoder, cross-entropy, Adam lr 1e-3 — 1e-2 for the last, affine stage, aekit's "
                     f"automatic rate for an affine autoencoder — batch 128) trained on {n}. End to end: "
                     f"{epochs} epochs. Layer-wise: {stages} stages × {per_stage} epoch(s) (each a shallow "
                     f"autoencoder on the codes of the one below, aekit's layerwise.enabled), then "
                     f"{epochs - stages * per_stage} epochs end to end: {epochs} epochs in all. A third run trains "
                     f"end to end for as many epochs as fit in the layer-wise run's training time at the "
                     f"end-to-end run's pace (so it depends on the machine; times are sums of epoch times, "
                     f"evaluation included). Every run keeps the weights of its best validation reconstruction "
                     f"(no label). Test reconstruction on the test split; the probe is a logistic regression "
                     f"(C = 1 fixed in advance, standardised codes) fitted on every training image's code and "
                     f"label and scored on the test split. Seeds {list(setting.seeds)} (split, initialisation and "
                     f"batch order). Epoch counts fixed in advance; nothing selected.",
            header=["training", "epochs", "test reconstruction (nats/image)", "probe test accuracy", "training time"],
            rows=rows,
            rule="at equal epochs the layer-wise run beats end to end on test reconstruction (lower) and on probe "
                 "accuracy (higher), each paired by seed (the probe also per test image). The equal-time row is "
                 "reported, not part of the rule.",
            decision=decide(checks, setting.seeds), numbers=numbers, figures=figures, scale=data.scale,
            notes=[
                "An earlier comparison outside the tour gave the layer-wise run its 4 stages × 20 epochs "
                "on top of the same 20 end-to-end epochs: 100 epochs against 20. Here both get the same count.",
                f"The budget is short on purpose ({epochs} epochs, neither run has converged): with unlimited "
                f"epochs both would approach the same error, and the question is what the stages buy per epoch.",
                "Times were measured on a machine that may have been shared with other work; the equal-time row "
                "depends on them, the equal-epoch rows do not.",
            ],
        )


__all__ = ["LayerwiseAtEqualEpochs"]
