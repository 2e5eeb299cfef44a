"""Seeded runs give bitwise the same weights as before the core was simplified (issue 24).

A few configurations (MLP, conv, VAE, contractive, denoising sparse, layer-wise, the two estimators) train
for 2-3 epochs on the bundled digits; the SHA-256 of their weights (and of the classifier's
probabilities) must equal the digests recorded from main at 53ec8a1, before any of the refactoring.
Bitwise equality holds for one torch build on one kind of CPU, so the check runs where the recorded
torch version and CPU capability match and is skipped elsewhere.

    python tests/behaviour/test_same_weights.py --record   # write same_weights.json (only on a deliberate change)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

RECORD = Path(__file__).with_name("same_weights.json")
DIGITS = ["data.name=digits", "train.batch_size=64"]
RUNS = {
    "mlp": ["train.epochs=3", "model.hidden=[64]", "model.code_size=8"],
    "conv": ["train.epochs=2", "model.kind=conv", "model.channels=[8, 16]", "model.code_size=8"],
    "vae": ["train.epochs=3", "model.variational=true", "model.hidden=[64]", "model.code_size=4"],
    "contractive": ["train.epochs=2", "model.hidden=[32]", "model.code_size=8", "penalties={contractive: 0.1}"],
    "denoising_sparse": ["train.epochs=3", "model.hidden=[64]", "model.code_size=16", "corruption={masking: 0.25}",
                         "penalties={l1: 0.001}", "train.schedule=cosine"],
    "layerwise": ["train.epochs=2", "model.hidden=[32, 16]", "model.code_size=8", "layerwise.enabled=true",
                  "layerwise.corruption=[{masking: 0.2}, {}, {}]"],
    "auto": ["train.max_epochs=3", "model.hidden=[32]", "model.code_size=8"],
}


def _digest(arrays: dict[str, np.ndarray]) -> str:
    sha = hashlib.sha256()
    for name in sorted(arrays):
        sha.update(name.encode())
        sha.update(np.ascontiguousarray(arrays[name]).tobytes())
    return sha.hexdigest()


def _environment() -> dict[str, str]:
    import torch

    return {"torch": torch.__version__, "cpu": torch.backends.cpu.get_cpu_capability()}


def digests(tmp: Path) -> dict[str, str]:
    import torch
    from safetensors.numpy import load_file
    from sklearn.datasets import load_digits

    from aekit.training.run import resume, train
    from aekit.training.run_config import make_config

    torch.set_num_threads(1)
    out = {}
    for name, overrides in RUNS.items():
        config = make_config(overrides=[*DIGITS, *overrides, f"out={json.dumps(str(tmp))}", f"name={name}"])
        result = train(config)
        out[name] = _digest(load_file(result.run_dir / "model.safetensors"))
    # resumed: two epochs, then on to three with a smaller learning rate (the resume path's config handling)
    config = make_config(overrides=[*DIGITS, *RUNS["mlp"], "train.epochs=2", f"out={json.dumps(str(tmp))}",
                                    "name=resumed"])
    resume(train(config).run_dir, epochs=3, overrides=["train.lr=0.0005"])
    out["resumed"] = _digest(load_file(tmp / "resumed" / "model.safetensors"))
    import aekit

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    estimator = aekit.Autoencoder(8, hidden=(32,), epochs=3, random_state=0).fit(x)
    out["estimator"] = _digest({k: v.detach().numpy() for k, v in estimator.model_.state_dict().items()})
    labels = np.where(np.arange(len(y)) % 10 == 0, y, -1)
    classifier = aekit.AutoencoderClassifier(8, hidden=(32,), epochs=2, freeze_epochs=2, finetune_epochs=2,
                                             random_state=0).fit(x, labels)
    out["classifier"] = _digest({"proba": classifier.predict_proba(x[:200])})
    return out


@pytest.mark.slow
def test_seeded_runs_give_the_recorded_weights(tmp_path):
    recorded = json.loads(RECORD.read_text())
    if recorded["environment"] != _environment():
        pytest.skip(f"digests recorded under {recorded['environment']}, this is {_environment()}")
    assert digests(tmp_path) == recorded["digests"]


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        record = {"environment": _environment(), "recorded_at": "main 53ec8a1", "digests": digests(Path(tmp))}
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
