"""The tour's claim 3 (an overcomplete autoencoder copies; denoising makes it useful), quick mode through
its ``run``: the evidence is well formed, and even after a few epochs the denoiser's reconstructions of
masked images are closer to the clean images, the plain model's closer to the masked ones."""

import math

import pytest

from aekit.tour.claim import VERDICTS


@pytest.fixture(scope="module")
def evidence(quick_tour):
    return quick_tour.evidence("overcomplete")


def test_the_evidence_is_well_formed(evidence):
    assert len(evidence.rows) == 4 and all(len(row) == len(evidence.header) for row in evidence.rows)
    assert all(math.isfinite(v) for v in evidence.numbers.values())
    assert [f.key for f in evidence.figures] == ["masked"]
    assert all(f.png.startswith(b"\x89PNG") for f in evidence.figures)
    assert evidence.verdict in VERDICTS


def test_the_denoiser_moves_masked_images_toward_the_clean_ones(evidence):
    n = evidence.numbers
    assert n["denoise_denoising"] > n["denoise_plain"]  # PSNR against the clean image
    assert n["copy_plain"] > n["copy_denoising"]  # PSNR against the masked input: the plain model stays nearer it


def test_copying_is_checked_as_reproducing_the_noise(evidence):
    """Check (1) asks whether the plain model keeps the holes the mask made (puts back less than half of
    the removed ink), not only whether it is nearer the masked image than the clean one."""
    copies = evidence.decision.outcomes[0]
    assert "reproduces the noise" in copies.name
    assert copies.diffs == [pytest.approx(0.5 - evidence.numbers["fill_plain"])]
    assert evidence.numbers["fill_denoising"] > evidence.numbers["fill_plain"]  # the denoiser puts more back


def test_probes_are_accuracies(evidence):
    n = evidence.numbers
    for key in ("probe_plain", "probe_denoising", "probe_pixels"):
        assert 0.5 < n[key] <= 1.0  # ten classes: far above chance even on 400 images
