"""The Trainer: loss falls, early stopping restores the best weights, divergence and Ctrl-C are safe,
and a checkpointed run resumes to bitwise the same weights."""

import math

import numpy as np
import pytest
import torch
from _interrupt import fit_until_interrupted

from aekit.errors import TrainingDiverged
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy, SquaredError
from aekit.training.trainer import TrainConfig, Trainer


def tiny_data(n=96, d=12, seed=0):
    rng = np.random.default_rng(seed)
    basis = rng.random((3, d))
    return (rng.random((n, 3)) @ basis / 3).astype(np.float32)  # rank-3 data in [0, 1]


def make(seed=0, **train):
    torch.manual_seed(seed)
    model = build_model(ModelConfig.of_kind(hidden=[16], code_size=3, output="sigmoid"), (12,))
    return Trainer(model, [CrossEntropy()], TrainConfig(**{"batch_size": 16, **train}), seed=seed)


def weights(model):
    return torch.cat([p.detach().flatten() for p in model.state_dict().values()])


def test_loss_falls_and_every_term_is_logged():
    x = tiny_data()
    trainer = make(epochs=15, lr=1e-2)
    history = trainer.fit(x[:80], x[80:])
    assert history[-1]["train"]["loss"] < 0.9 * history[0]["train"]["loss"]
    assert set(history[0]["train"]) == {"recon", "loss"} and set(history[0]["val"]) == {"recon", "loss"}
    assert [r["epoch"] for r in history] == list(range(1, 16))


def test_same_seed_same_weights_different_seed_different_weights():
    x = tiny_data()
    a, b, c = make(0, epochs=2), make(0, epochs=2), make(1, epochs=2)
    for t in (a, b, c):
        t.fit(x)
    assert torch.equal(weights(a.model), weights(b.model))
    assert not torch.equal(weights(a.model), weights(c.model))


def test_early_stopping_stops_and_restores_the_best_epoch():
    x = tiny_data()
    # a learning rate this high makes validation loss bounce; patience 1 stops at the first rise
    trainer = make(epochs=40, lr=0.3, patience=1, optimizer="sgd", momentum=0.0)
    history = trainer.fit(x[:80], x[80:])
    assert trainer.stopped_early and len(history) < 40
    best = min(history, key=lambda r: r["val"]["loss"])
    assert trainer.best_epoch == best["epoch"] != history[-1]["epoch"]
    assert trainer.evaluate(x[80:])["loss"] == pytest.approx(best["val"]["loss"], rel=1e-5)


def test_nan_loss_stops_with_a_cause_and_keeps_the_last_good_checkpoint(tmp_path):
    x = tiny_data()
    trainer = Trainer(build_model(ModelConfig.of_kind(hidden=[16], code_size=3, output="identity"), (12,)),
                      [SquaredError()], TrainConfig(epochs=5, batch_size=16), checkpoint=tmp_path / "ck.pt")
    trainer.fit(x)  # 5 good epochs, checkpoint written
    good = torch.load(tmp_path / "ck.pt", weights_only=True)["model"]
    trainer.config.epochs = 10
    bad = x.copy()
    bad[7, 3] = np.inf  # the loss becomes inf in the 6th epoch
    with pytest.raises(TrainingDiverged, match=r"became (inf|nan) at epoch 6.*learning rate too high.*epoch 5\) is kept"):
        trainer.fit(bad)
    kept = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert kept["epoch"] == 5
    assert all(torch.equal(kept["model"][k], v) for k, v in good.items())


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    x = tiny_data()
    reference = make(epochs=6, schedule="cosine")
    reference.fit(x[:80], x[80:])

    fit_until_interrupted(make(epochs=6, schedule="cosine"), 3, tmp_path / "ck.pt", x[:80], x[80:])
    resumed = make(seed=123, epochs=6, schedule="cosine")  # every piece of state comes from the checkpoint
    resumed.load_checkpoint(tmp_path / "ck.pt")
    assert resumed.epoch == 3
    resumed.fit(x[:80], x[80:])
    assert torch.equal(weights(resumed.model), weights(reference.model))
    assert [r["train"]["loss"] for r in resumed.history] == [r["train"]["loss"] for r in reference.history]


def test_corruption_feeds_the_model_and_the_target_stays_clean():
    x = torch.from_numpy(tiny_data(n=16))
    seen = {}

    def corrupt(x, generator):
        return torch.zeros_like(x)

    def spy(batch, out, model):
        seen["x"], seen["x_tilde"] = batch["x"], batch["x_tilde"]
        return {"recon": out["logits"].sum() * 0}

    trainer = Trainer(build_model(ModelConfig.of_kind(hidden=[], code_size=2, output="sigmoid"), (12,)),
                      [spy], TrainConfig(epochs=1, batch_size=16), corruption=corrupt)
    trainer.fit(x)
    assert torch.count_nonzero(seen["x_tilde"]) == 0
    assert torch.equal(torch.sort(seen["x"].flatten())[0], torch.sort(x.flatten())[0])
    trainer.evaluate(x)  # no corruption when evaluating
    assert torch.equal(seen["x_tilde"], seen["x"])


def test_step_schedule_lowers_the_learning_rate():
    trainer = make(epochs=4, schedule="step", step_epochs=2, gamma=0.5, lr=1e-2)
    history = trainer.fit(tiny_data())
    assert [r["lr"] for r in history] == pytest.approx([1e-2, 1e-2, 5e-3, 5e-3])


def test_gradient_clipping_bounds_the_update():
    x = tiny_data()

    def one_step_change(clip):
        trainer = make(epochs=1, clip_grad=clip, optimizer="sgd", momentum=0.0, lr=1.0, batch_size=96)
        before = weights(trainer.model).clone()
        trainer.fit(x)
        assert math.isfinite(trainer.history[0]["train"]["loss"])
        return (weights(trainer.model) - before).norm().item()

    assert one_step_change(None) > 0.05  # the unclipped step is large...
    assert one_step_change(1e-3) <= 1e-3 * 1.01  # ...the clipped one has the norm asked for


def test_a_run_stopped_before_its_first_checkpoint_resumes_from_the_start(tmp_path):
    from safetensors.numpy import load_file

    from aekit.training.run import resume, train
    from aekit.training.run_config import make_config

    overrides = ["data.name=digits", "data.limit=200", "train.epochs=2", "model.hidden=[16, 8]",
                 "layerwise.enabled=true", "layerwise.epochs=1", f"out={tmp_path}"]
    whole = train(make_config(None, [*overrides, "name=whole"]))
    cut = train(make_config(None, [*overrides, "name=cut"]))
    (cut.run_dir / "checkpoint.pt").unlink()  # as if killed during the layer-wise stages
    (cut.run_dir / "model.safetensors").unlink()
    again = resume(cut.run_dir)
    assert len(again.history) == 2
    a, b = load_file(whole.run_dir / "model.safetensors"), load_file(cut.run_dir / "model.safetensors")
    assert all((a[k] == b[k]).all() for k in a)


# -- epochs: auto ----------------------------------------------------------------------------------
def test_epochs_auto_trains_until_the_loss_stops_improving_by_tol_and_says_so(caplog):
    x = tiny_data()
    trainer = make(epochs="auto", lr=1e-2, patience=4, tol=1e-2)
    with caplog.at_level("INFO", logger="aekit.training.trainer"):
        history = trainer.fit(x[:80], x[80:])
    assert trainer.stop_reason == "converged" and len(history) < trainer.config.max_epochs
    val = [record["val"]["loss"] for record in history]
    # the 4 last epochs never beat the reference (the last epoch that improved by 1 %) by 1 %
    reference = min(val[:-4])
    assert all(v >= reference * (1 - 1e-2) for v in val[-4:])
    assert "Converged at epoch" in caplog.text and "for 4 epochs" in caplog.text
    assert trainer.evaluate(x[80:])["loss"] == pytest.approx(min(val), rel=1e-5)  # the best epoch is kept


def test_convergence_names_the_last_real_gain_so_a_best_last_epoch_reads_as_no_contradiction():
    trainer = make(epochs="auto", patience=10, tol=1e-3)
    trainer.epoch, trainer.bad_epochs, trainer.best_epoch = 183, 10, 183  # epoch 183 gained less than tol
    text = trainer.convergence_text()
    assert text.startswith("no epoch after epoch 173 improved the loss by more than tol = 0.001 (relative), for 10 ")
    assert "epoch 183 has the lowest loss, by a smaller gain" in text
    trainer.best_epoch = 173
    assert trainer.convergence_text().endswith("the weights of epoch 173, the lowest loss, are kept")


def test_the_budget_ending_first_is_logged_without_advice_only_its_caller_can_give(caplog):
    x = tiny_data()
    trainer = make(epochs="auto", max_epochs=3, lr=1e-3)
    with caplog.at_level("INFO", logger="aekit.training.trainer"):
        history = trainer.fit(x[:80], x[80:])
    assert len(history) == 3 and trainer.stop_reason == "budget"
    assert "budget of max_epochs=3" in caplog.text and "has not converged" in caplog.text
    # the tour and the estimators train through this trainer too: "train.max_epochs" is the CLI's word, and
    # the CLI says what to do itself (the resume command)
    assert "train.max_epochs" not in caplog.text and "Raise" not in caplog.text
    fixed = make(epochs=3)
    fixed.fit(x[:80], x[80:])
    assert fixed.stop_reason == "completed"


def test_plateau_schedule_halves_the_learning_rate_after_half_the_patience():
    x = tiny_data()
    trainer = make(epochs="auto", lr=0.3, optimizer="sgd", momentum=0.0, patience=6, max_epochs=60)
    history = trainer.fit(x[:80], x[80:])
    lrs = [record["lr"] for record in history]
    assert trainer.config.lr_schedule == "plateau"
    assert lrs[0] == 0.3 and min(lrs) < 0.3
    assert all(later in (earlier, earlier * 0.5) for earlier, later in zip(lrs, lrs[1:]))  # only halvings


def test_epochs_auto_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    x = tiny_data()
    config = dict(epochs="auto", lr=1e-2, patience=3, tol=1e-2)
    whole = make(**config)
    whole.fit(x[:80], x[80:])
    assert whole.stop_reason == "converged" and whole.epoch > 4
    fit_until_interrupted(make(**config), 3, tmp_path / "ck.pt", x[:80], x[80:])
    resumed = make(**config)
    resumed.load_checkpoint(tmp_path / "ck.pt")
    resumed.fit(x[:80], x[80:])
    assert resumed.epoch == whole.epoch and resumed.stop_reason == "converged"
    assert torch.equal(weights(resumed.model), weights(whole.model))
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in whole.history]


def graph_nodes(loss):
    """The names of every node in the autograd graph behind ``loss``."""
    names, stack, seen = [], [loss.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


@pytest.mark.parametrize("shape, views", [((12,), 0), ((1, 3, 4), 1)])
def test_the_plain_step_builds_the_graph_a_hand_written_loop_builds(shape, views):
    """No node per step that a hand-written loop does not have (benchmarks/results/trainer_throughput.md):
    a weight of 1 multiplies nothing in, and the logits are reshaped only into the image layout."""
    torch.manual_seed(0)
    model = build_model(ModelConfig.of_kind(hidden=[8], code_size=3, output="sigmoid"), shape)
    trainer = Trainer(model, [CrossEntropy()], TrainConfig(batch_size=4))
    x = torch.rand(4, *shape)
    nodes = graph_nodes(trainer._terms(x, x)["recon"])
    assert "MulBackward0" not in nodes
    assert sum(name.startswith(("ViewBackward", "ReshapeAliasBackward", "UnsafeViewBackward")) for name in nodes) == views
    halved = CrossEntropy(weight=0.5)({"x": x, "x_tilde": x}, model(x), model)["recon"]
    assert "MulBackward0" in graph_nodes(halved)  # any other weight still applies
    assert torch.equal(halved, 0.5 * trainer._terms(x, x)["recon"])  # (0.5 t) / B is 0.5 (t / B) exactly
