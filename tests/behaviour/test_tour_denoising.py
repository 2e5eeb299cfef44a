"""The tour's claim 5 (denoising moves corrupted inputs back to the manifold), quick mode through its
``run``: the evidence is well formed, every model sees the same test noise, the corrupted input gets
worse as the level rises while the denoiser degrades less, and the verdict follows its twelve checks."""

import math

import numpy as np
import pytest
import torch

from aekit.analysis.metrics import psnr
from aekit.models import build_model
from aekit.tour.claim import verdict
from aekit.tour.claims.denoising import FACTORS, NOISES, _make, scores


@pytest.fixture(scope="module")
def evidence(quick_tour):
    return quick_tour.evidence("denoising")


def levels(name):
    return [NOISES[name][1] * f for f in FACTORS]


def test_the_evidence_is_well_formed(evidence):
    assert len(evidence.rows) == len(NOISES) * (1 + len(FACTORS))  # clean, then three levels per noise
    assert all(len(row) == len(evidence.header) for row in evidence.rows)
    assert all(math.isfinite(v) for v in evidence.numbers.values())
    assert [f.key for f in evidence.figures] == ["masking", "levels"]
    assert all(f.png.startswith(b"\x89PNG") for f in evidence.figures)


def test_psnr_falls_with_the_noise_level_and_the_denoiser_falls_less(evidence):
    n = evidence.numbers
    for name in NOISES:
        noisy = [n[f"{name}_{level:g}_clipped"] for level in levels(name)]
        denoised = [n[f"{name}_{level:g}_denoiser"] for level in levels(name)]
        assert noisy[0] > noisy[1] > noisy[2]
        assert noisy[0] - noisy[2] > 2 * abs(denoised[0] - denoised[2])  # reconstructions sit near the data
        assert denoised[2] > noisy[2]  # at double the training level, even a briefly trained denoiser helps
        assert n[f"{name}_{levels(name)[1]:g}_clipped"] >= n[f"{name}_{levels(name)[1]:g}_identity"] - 1e-9


def test_the_verdict_follows_the_twelve_checks(evidence):
    checks = {k: v for k, v in evidence.numbers.items() if k.startswith("check_")}
    assert len(checks) == 12
    assert evidence.verdict == verdict([bool(v) for v in checks.values()])
    for name in NOISES:
        level = levels(name)[1]
        above = evidence.numbers[f"{name}_{level:g}_denoiser"] > evidence.numbers[f"{name}_{level:g}_plain"]
        assert checks[f"check_{name}_{level:g}_above_plain"] == float(above)


def test_every_model_is_scored_on_the_same_noise():
    torch.manual_seed(0)
    model = build_model({"hidden": [], "code_size": 8, "output": "sigmoid"}, (784,), training=False).eval()
    x = np.random.default_rng(0).random((20, 784), dtype=np.float32)
    found = scores({"a": model, "b": model}, x, "masking", [0.25], seed=3)
    again = scores({"a": model}, x, "masking", [0.25], seed=3)
    assert found["a"] == found["b"] == again["a"] and found["identity"] == again["identity"]
    x_tilde = _make("masking")(0.25)(torch.from_numpy(x), torch.Generator().manual_seed(3)).numpy()
    assert found["identity"][0] == pytest.approx(float(np.mean(psnr(x_tilde, x))))  # the identity row is x̃
