"""Fine-tuning a pretrained encoder: stratified label draws, freezing really freezes, the decoder is
dropped, and from-scratch training really starts from new weights."""

import numpy as np
import pytest
import torch

from aekit.errors import ConfigError
from aekit.models import ModelConfig, build_model
from aekit.training.finetune import FinetuneConfig, draw_labelled, finetune, held_out, predict_proba, split_budget


def blobs(n=120, d=10, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = rng.random((classes, d))
    x = np.clip(centres[y] + 0.05 * rng.standard_normal((n, d)), 0, 1).astype(np.float32)
    return x, y


def autoencoder(seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig.of_kind(hidden=[16], code_size=4, output="sigmoid"), (10,))


def test_draw_labelled_is_stratified_seeded_and_complete():
    y = np.repeat(np.arange(10), 50)
    rows = draw_labelled(y, 100, seed=3)
    assert len(rows) == 100 and np.bincount(y[rows]).tolist() == [10] * 10
    assert np.array_equal(rows, draw_labelled(y, 100, seed=3))
    assert not np.array_equal(rows, draw_labelled(y, 100, seed=4))
    assert len(np.unique(draw_labelled(y, 105, seed=0))) == 105
    assert len(draw_labelled(y, None, seed=0)) == 500
    with pytest.raises(ConfigError, match="'labels' parameter must be at least the number of classes \\(10\\)"):
        draw_labelled(y, 5, seed=0)


def test_the_rows_that_stop_training_early_are_part_of_the_label_budget():
    y = np.repeat(np.arange(10), 50)
    assert [held_out(n, "auto", 10) for n in (100, 50, 49, 10)] == [20, 10, 0, 0]  # a fifth, if every class fits
    assert held_out(100, 0, 10) == 0 and held_out(100, 30, 10) == 30
    for bad in (5, 95):
        with pytest.raises(ConfigError, match=f"'val_labels' parameter must be 0 or .* \\[10, 90\\] or 'auto'. Got {bad}"):
            held_out(100, bad, 10)
    rows = draw_labelled(y, 100, seed=1)
    fit, stop = split_budget(y, rows, "auto", seed=1)
    assert len(fit) == 80 and len(stop) == 20 and not set(fit) & set(stop) and set(fit) | set(stop) == set(rows)
    assert np.bincount(y[stop]).tolist() == [2] * 10  # stratified
    fit, stop = split_budget(y, draw_labelled(y, 10, seed=1), "auto", seed=1)
    assert len(fit) == 10 and len(stop) == 0  # 10 labels, 10 classes: nothing to spare, no early stopping


def test_frozen_phase_leaves_the_encoder_unchanged_and_trains_the_head():
    x, y = blobs()
    ae = autoencoder()
    before = {k: v.clone() for k, v in ae.encoder.state_dict().items()}
    result = finetune(ae, x[:90], y[:90], x[90:], y[90:], FinetuneConfig(freeze_epochs=5, epochs=0, lr=1e-2))
    clf = result.classifier
    for name, value in clf.encoder.state_dict().items():
        assert torch.equal(value, before[name]), name  # frozen means frozen
    assert {r["phase"] for r in result.history} == {"frozen"}
    assert result.history[-1]["train"]["xent"] < result.history[0]["train"]["xent"]
    assert not any("decoder" in name for name in clf.state_dict())  # the decoder is dropped
    # the autoencoder itself is never modified by fine-tuning
    finetune(ae, x[:90], y[:90], x[90:], y[90:], FinetuneConfig(freeze_epochs=1, epochs=2, lr=1e-2))
    assert all(torch.equal(v, before[k]) for k, v in ae.encoder.state_dict().items())


def test_unfrozen_phase_moves_the_encoder_and_learns_the_task():
    x, y = blobs()
    ae = autoencoder()
    result = finetune(ae, x[:90], y[:90], x[90:], y[90:],
                      FinetuneConfig(freeze_epochs=2, epochs=20, lr=1e-2, finetune_lr=1e-2, patience=None))
    changed = [not torch.equal(v, ae.encoder.state_dict()[k]) for k, v in result.classifier.encoder.state_dict().items()]
    assert all(changed)
    accuracy = (predict_proba(result.classifier, x[90:]).argmax(1) == y[90:]).mean()
    assert accuracy > 0.9  # three well-separated blobs


def test_from_scratch_reinitialises_the_encoder():
    x, y = blobs()
    ae = autoencoder(seed=7)  # stands for a trained autoencoder: weights other than a seed-0 draw
    untrained = finetune(None, x[:90], y[:90], x[90:], y[90:], FinetuneConfig(freeze_epochs=0, epochs=0),
                         pretrained=False, template=ae)
    assert untrained.history == []  # no training at all, yet the weights are new
    for name, value in untrained.classifier.encoder.state_dict().items():
        assert not torch.equal(value, ae.encoder.state_dict()[name]), name
    trained = finetune(None, x[:90], y[:90], x[90:], y[90:], FinetuneConfig(freeze_epochs=0, epochs=2),
                       pretrained=False, template=ae)
    assert {r["phase"] for r in trained.history} == {"scratch"}


def test_noise_on_the_labelled_inputs_reaches_the_classifier(monkeypatch):
    x, y = blobs()
    seen = []
    import aekit.models.classifier as classifier_module

    original = classifier_module.Classifier.forward

    def spy(self, inputs):
        if self.training:
            seen.append(inputs.clone())
        return original(self, inputs)

    monkeypatch.setattr(classifier_module.Classifier, "forward", spy)
    finetune(autoencoder(), x[:90], y[:90], x[90:], y[90:],
             FinetuneConfig(freeze_epochs=1, epochs=0, batch_size=90, corruption={"masking": 0.5}))
    zeros = (seen[0] == 0).float().mean().item()
    assert 0.4 < zeros < 0.6  # about half of every labelled input is masked while training
    with pytest.raises(ConfigError, match="Unknown corruption 'blur'"):
        from aekit import config as cfg

        cfg.from_dict(FinetuneConfig, {"corruption": {"blur": 0.1}})
