"""The lecture's claim at small scale (Vincent et al., ICML 2008): an autoencoder trained to denoise
reconstructs corrupted test images closer to the clean ones than the corrupted images themselves
are, and closer than the same model trained on clean images. Runs ``experiments/denoising.py --quick``."""

import pytest
from _experiments import load_experiment


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    experiment = load_experiment("denoising")
    out = tmp_path_factory.mktemp("experiment") / "result.md"
    results = experiment.main(["--quick", "--out", str(out)])  # the script's tiny mode, end to end
    assert "--quick" in out.read_text() and "| model |" in out.read_text()
    return results["masking 0.25"]


def psnr(results, row, key="denoise"):
    (value,) = [seed[key] for seed in results[row]]  # the quick setup has one seed
    return value


def test_a_denoiser_beats_the_identity_on_corrupted_test_images(results):
    identity = psnr(results, "identity (the corrupted input)")
    denoiser = psnr(results, "denoising AE (masking 0.25)")
    assert denoiser > identity + 1.0  # dB, on images with a quarter of their pixels masked


def test_the_denoiser_beats_the_plain_model_and_stays_further_from_the_noisy_input(results):
    assert psnr(results, "denoising AE (masking 0.25)") > psnr(results, "plain overcomplete AE")
    # copying: the plain model's output is closer to the corrupted input than the denoiser's
    assert psnr(results, "plain overcomplete AE", "copy") > psnr(results, "denoising AE (masking 0.25)", "copy")
