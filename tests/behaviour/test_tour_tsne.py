"""Claim 10 of the tour in quick mode, through its ``run``: the evidence is well formed and the
neighbourhood scores behave (far above the 10 % a random labelling gets, at most 1)."""

from __future__ import annotations

import pytest

from aekit.tour.claim import VERDICTS
from aekit.tour.claims.tsne import TRUST_MARGIN


def test_quick_tsne_claim(quick_tour):
    evidence = quick_tour.evidence("tsne")
    assert evidence.verdict in VERDICTS and evidence.rule and evidence.protocol
    assert all(len(row) == len(evidence.header) for row in evidence.rows) and len(evidence.rows) == 3
    n = evidence.numbers
    in_map, in_codes, trust = evidence.decision.outcomes  # the three parts of the statement
    assert in_map.diffs == [pytest.approx(100 * (n["ae_map_1nn"] - n["pca_map_1nn"]))]
    assert in_codes.diffs == [pytest.approx(100 * (n["ae_code_1nn"] - n["pca_code_1nn"]))]
    assert trust.diffs == [pytest.approx(n["ae_map_trust"] - n["pca_map_trust"] + TRUST_MARGIN)]
    low, high = in_map.image_out[0]  # without one test image, computed exactly
    assert low <= in_map.diffs[0] <= high
    for kind in ("ae", "pca"):
        for score in ("code_1nn", "code_trust", "map_1nn", "map_trust"):
            assert 0 <= n[f"{kind}_{score}"] <= 1
        # ten digits: 1-NN accuracy 0.1 by chance; even the quick (15-epoch, 400-image) codes keep classes together
        # (measured, seed 0: autoencoder 0.45 in the codes, 0.43 in the map; PCA 0.64 and 0.68)
        assert n[f"{kind}_code_1nn"] > 0.3 and n[f"{kind}_map_1nn"] > 0.25
        assert n[f"{kind}_code_trust"] > 0.8  # 5 nearest neighbours in code space were mostly near in pixels
    assert n["pixels_1nn"] > 0.6
    (figure,) = evidence.figures
    assert figure.key == "maps" and figure.png.startswith(b"\x89PNG")
