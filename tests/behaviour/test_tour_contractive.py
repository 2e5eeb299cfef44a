"""The tour's claim 6 (contractive encoders contract across the manifold), quick mode through its
``run``: the evidence is well formed and reports the shallow and the deep model, the contractive
encoder's Jacobian is smaller than the plain one's in both (the quantity the README cites), it still
reconstructs, and the rule checks both models, contractive and denoising, on all three measures. The
helpers are checked against exact values: the Gram-matrix singular values against the library's SVD,
Hutchinson's ‖∂x̂/∂x‖_F against the full Jacobian, and the validation rule that selects λ and σ."""

import math

import numpy as np
import pytest
import torch

from aekit.analysis.jacobian import jacobian_singular_values
from aekit.models import build_model
from aekit.tour.claims.contractive import ARCHS, TOLERANCE, _select, reconstruction_jacobian_norm, singular_values


@pytest.fixture(scope="module")
def evidence(quick_tour):
    return quick_tour.evidence("contractive")


def test_the_evidence_is_well_formed_and_reports_both_models(evidence):
    assert len(evidence.rows) == 3 * len(ARCHS) and all(len(row) == len(evidence.header) for row in evidence.rows)
    assert [row[0] for row in evidence.rows] == [arch for arch in ARCHS for _ in range(3)]
    assert all(math.isfinite(v) for v in evidence.numbers.values())
    assert [f.key for f in evidence.figures] == ["spectra", "tangents"]
    assert all(f.png.startswith(b"\x89PNG") for f in evidence.figures)


@pytest.mark.parametrize("tag", ["shallow", "deep"])
def test_the_contractive_encoder_has_a_smaller_jacobian_and_still_reconstructs(evidence, tag):
    n = evidence.numbers
    assert n[f"{tag}_contractive_frobenius"] < 0.85 * n[f"{tag}_plain_frobenius"]
    assert n[f"{tag}_contractive_sigma_1"] < n[f"{tag}_plain_sigma_1"]
    assert n[f"{tag}_contractive_bce"] < 1.25 * n[f"{tag}_plain_bce"]  # nats per test image


def test_the_rule_checks_every_measure_for_both_models_and_both_regularisers(evidence):
    outcomes = evidence.decision.outcomes
    assert len(outcomes) == 2 * 2 * 3
    n = evidence.numbers
    for tag in ("shallow", "deep"):
        for kind in ("contractive", "denoising"):
            (frobenius,) = [o for o in outcomes if o.name.startswith(f"{tag}: {kind} ‖J_f‖_F")]
            # paired per test point: 1 − the model's mean over points / plain's, one seed
            assert frobenius.mean == pytest.approx(1 - n[f"{tag}_{kind}_frobenius"] / n[f"{tag}_plain_frobenius"])


@pytest.mark.parametrize("config", [{"hidden": [], "code_size": 40, "code_activation": "sigmoid", "output": "sigmoid"},  # k > d
                                    {"hidden": [12], "code_size": 5, "output": "sigmoid"}])  # k < d
def test_gram_singular_values_match_the_svd(config):
    torch.manual_seed(0)
    model = build_model(config, (30,), training=False).eval()
    x = np.random.default_rng(0).random((7, 30), dtype=np.float32)
    exact = jacobian_singular_values(model, x)
    np.testing.assert_allclose(singular_values(model, x, chunk=3), exact, atol=1e-6 * exact.max())


def test_hutchinson_estimates_the_reconstruction_jacobian():
    torch.manual_seed(0)
    model = build_model({"hidden": [16], "code_size": 6, "output": "sigmoid"}, (20,), training=False).eval()
    x = np.random.default_rng(1).random((10, 20), dtype=np.float32)
    jac = torch.func.vmap(torch.func.jacrev(lambda v: model.reconstruct(v[None])[0]))(torch.from_numpy(x))
    exact = float(jac.detach().flatten(1).norm(dim=1).mean())
    assert reconstruction_jacobian_norm(model, x, projections=2000) == pytest.approx(exact, rel=0.03)


def test_selection_takes_the_largest_value_within_the_tolerance_and_trains_nothing_for_one_value():
    plain = 100.0
    scores = {0.1: 101.0, 0.3: 100.0 * (1 + TOLERANCE) - 0.1, 1.0: 130.0}
    assert _select((0.1, 0.3, 1.0), scores.get, lambda: plain)[0] == 0.3
    assert _select((0.1, 0.3, 1.0), lambda v: 200.0, lambda: plain)[0] == 0.1  # none within: the smallest
    trained = []
    assert _select((0.5,), trained.append, lambda: trained.append("plain"))[0] == 0.5 and trained == []
    assert "did not bind" in _select((0.1, 0.3), lambda v: plain, lambda: plain)[1]  # the grid's edge is said
