"""The tour's claim 5 (denoising moves corrupted inputs back to the manifold), quick mode through its
``run``: the evidence is well formed, every model sees the same test noise, the corrupted input gets
worse as the level rises while the denoiser degrades less, and the rule compares the denoiser with the
input and with the plain autoencoder at every level the statement covers."""

import math

import numpy as np
import pytest
import torch

from aekit.analysis.metrics import psnr
from aekit.models import build_model
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


def test_the_denoiser_is_checked_against_the_input_and_the_plain_model_at_every_level(evidence):
    outcomes = {o.name: o for o in evidence.decision.outcomes}
    assert len(outcomes) == len(NOISES) * len(FACTORS) * 2
    n = evidence.numbers
    for name, (field, _) in NOISES.items():
        for level in levels(name):  # half, equal to and double the training level: all of them, not one
            plain = outcomes[f"{name} {field} {level:g}: denoiser above the plain autoencoder (dB)"]
            assert plain.diffs == [pytest.approx(n[f"{name}_{level:g}_denoiser"] - n[f"{name}_{level:g}_plain"])]
            assert f"{name} {field} {level:g}: denoiser above the corrupted input (dB)" in outcomes


def test_every_model_is_scored_on_the_same_noise():
    torch.manual_seed(0)
    model = build_model({"hidden": [], "code_size": 8, "output": "sigmoid"}, (784,), training=False).eval()
    x = np.random.default_rng(0).random((20, 784), dtype=np.float32)
    found = scores({"a": model, "b": model}, x, "masking", [0.25], seed=3)
    again = scores({"a": model}, x, "masking", [0.25], seed=3)
    assert np.array_equal(found["a"][0], found["b"][0]) and np.array_equal(found["a"][0], again["a"][0])
    assert np.array_equal(found["identity"][0], again["identity"][0])
    x_tilde = _make("masking")(0.25)(torch.from_numpy(x), torch.Generator().manual_seed(3)).numpy()
    np.testing.assert_allclose(found["identity"][0], psnr(x_tilde, x))  # the identity row is x̃, per image
