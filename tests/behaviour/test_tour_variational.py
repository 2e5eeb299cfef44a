"""Claim 7 of the tour in quick mode, through its ``run``: the evidence is well formed, importance
sampling tightens the ELBO, and the KL term is what puts the codes on the prior (the VAE's aggregate
posterior is several times closer to N(0, I) than that of the same network trained without it)."""

from __future__ import annotations

import pytest

from aekit.tour.claim import VERDICTS


def test_quick_variational_claim(quick_tour):
    evidence = quick_tour.evidence("variational")
    assert evidence.verdict in VERDICTS and evidence.rule and evidence.protocol
    assert all(len(row) == len(evidence.header) for row in evidence.rows) and len(evidence.rows) == 2
    n = evidence.numbers
    tighter, better, fills = evidence.decision.outcomes  # the three parts of the statement
    assert tighter.diffs == [pytest.approx(-n["vae_elbo"] - n["vae_nll"])]
    assert better.diffs == [pytest.approx(n["nokl_nll"] - n["vae_nll"])]
    assert fills.diffs == [pytest.approx(n["nokl_aggregate_kl"] - n["vae_aggregate_kl"])]
    assert n["vae_nll"] <= -n["vae_elbo"] and n["nokl_nll"] <= -n["nokl_elbo"]
    # measured (quick, seed 0): aggregate KL 11 nats with the KL term, 86 without; mean KL 12 against 90
    assert n["vae_aggregate_kl"] < 0.5 * n["nokl_aggregate_kl"]
    assert n["vae_kl"] < 0.5 * n["nokl_kl"]
    assert [f.key for f in evidence.figures] == ["prior-vae", "prior-nokl"]
    assert all(f.png.startswith(b"\x89PNG") for f in evidence.figures)
    (published,) = evidence.published
    assert published.value == "86.76" and "60,000" in published.differs
