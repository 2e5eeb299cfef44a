"""The variational claim at small scale (experiments/variational.py --quick): on binarized MNIST-5k the
importance-sampled NLL is a tighter bound than the ELBO (NLL <= -ELBO), and training raises the ELBO
far above that of the untrained model."""

from __future__ import annotations

from _experiments import load_experiment


def test_quick_vae_nll_is_below_the_negative_elbo_and_training_raises_the_elbo(tmp_path):
    experiment = load_experiment("variational")
    out = tmp_path / "variational.md"
    (result,) = experiment.main(["--quick", "--out", str(out)])
    untrained, trained = result["untrained"], result["trained"]
    for scores in (untrained, trained):
        assert scores["nll"] <= -scores["elbo"]
    # a few epochs on 512 images: far from converged, yet at least 100 nats per image better
    assert trained["elbo"] > untrained["elbo"] + 100
    assert trained["nll"] < untrained["nll"] - 100
    text = out.read_text()
    assert "experiments/variational.py --quick" in text and "512 training images" in text
