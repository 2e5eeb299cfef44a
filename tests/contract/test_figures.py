"""Every registered report figure, on a tiny run of every family: it applies and draws (a PNG and a
caption come out), or it says why not.

Parametrised over ``aekit.registry.available("figure")`` at collection time, so a figure written
later is tested without editing this file. Each family is one small run on the bundled digits
(8x8 images, ``data.limit``: 160 training rows, 40 test rows), trained for one epoch, gathered
once per module with :func:`aekit.analysis.run_data.load_run_data`.

The last test registers a made-up objective with a made-up capability and a figure that reads it,
here in the test, and finds the figure in a report built by the unchanged ``build_report``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from aekit.analysis.run_data import RunData, load_run_data
from aekit.config import param
from aekit.params import Interval
from aekit.registry import available, get, register
from aekit.training.run import train
from aekit.training.run_config import make_config
from aekit.viz import png_bytes
from aekit.viz.figure import ReportFigure, declaring

COMMON = ["data.name=digits", "data.limit=160", "train.epochs=1", "model.code_size=4"]
MLP = "model.hidden=[16]"
FAMILIES = {
    "mlp": [MLP],
    "conv": ["model.kind=conv", "model.channels=[4]"],
    "linear": ["model.hidden=[]", "model.activation=linear", "loss.reconstruction=mse"],
    "denoising": [MLP, "corruption.masking=0.25"],
    "l1": [MLP, "penalties.l1=0.01"],
    "kl_sparsity": [MLP, "model.code_activation=sigmoid", "penalties.kl_sparsity=1"],
    "contractive": [MLP, "penalties.contractive=0.1"],
    "variational": [MLP, "model.variational=true", "model.code_size=2"],
    "layerwise": ["model.hidden=[16, 8]", "layerwise.enabled=true", "layerwise.epochs=1"],
}
# The figures that follow from what a family's components declare, and the families they apply to.
BY_CAPABILITY = {
    "sparsity": {"l1", "kl_sparsity"},
    "jacobian": {"contractive"},
    "denoising": {"denoising"},
    "prior_samples": {"variational"},
    "pca": {"linear"},
    "layerwise": {"layerwise"},
}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``runs(family)``: that family's tiny run, trained on first use and gathered once."""
    out = tmp_path_factory.mktemp("runs")
    gathered: dict[str, RunData] = {}

    def run(family: str) -> RunData:
        if family not in gathered:
            config = make_config(overrides=[*COMMON, *FAMILIES[family], f"out={out}", f"name={family}"])
            gathered[family] = load_run_data(train(config).run_dir)
        return gathered[family]

    return run


@pytest.mark.parametrize("key", available("figure"))
def test_every_figure_declares_a_title_and_a_place_on_the_page(key):
    figure = get("figure", key)
    assert issubclass(figure, ReportFigure)
    assert figure.title.strip() and isinstance(figure.order, int)
    others = [get("figure", k) for k in available("figure") if k != key]
    assert figure.title not in {o.title for o in others} and figure.order not in {o.order for o in others}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("key", available("figure"))
def test_every_figure_draws_on_every_family_or_says_why_not(runs, family, key):
    run = runs(family)
    figure = get("figure", key)()
    reason = figure.applies(run)
    if key in BY_CAPABILITY:
        assert (reason is None) is (family in BY_CAPABILITY[key]), reason
    if reason is not None:
        assert isinstance(reason, str) and len(reason.strip()) > 10 and reason.endswith(".")
        return
    drawn, facts = figure.draw(run)
    png = png_bytes(drawn)
    assert png[:8] == PNG and len(png) > 1000
    caption = figure.caption(run, facts)
    assert isinstance(caption, str) and len(caption) > 100


def test_the_sparsity_figure_draws_the_target_an_objective_declares(runs):
    _, facts = get("figure", "sparsity")().draw(runs("kl_sparsity"))
    assert facts["target"] == pytest.approx(0.05)  # kl_sparsity's default rho, read from the objective
    _, facts = get("figure", "sparsity")().draw(runs("l1"))
    assert facts["target"] is None


# -- a figure and an objective that aekit has never heard of --------------------------------------
@dataclass
class Wobble:
    """A made-up penalty, weight * mean_b ||h_b||^2, that declares a made-up capability."""

    capabilities = frozenset({"wobbly_code"})

    weight: float = param(0.01, Interval(float, 0.0, None), "the weight of the mean squared code norm")

    def __call__(self, batch, out, model):
        h = out["h"]  # (B, k)
        return {"wobble": self.weight * h.pow(2).sum() / h.shape[0]}


class WobbleFigure(ReportFigure):
    title = "How much the code wobbles"
    order = 95  # after the sparsity figure

    def applies(self, run: RunData) -> str | None:
        return None if declaring(run, "wobbly_code") else "no objective of the run makes the code wobble."

    def draw(self, run: RunData) -> tuple[Any, dict[str, Any]]:
        from aekit.viz._common import new_figure

        fig = new_figure(4, 3)
        norms = (run.h_test ** 2).sum(axis=1)  # (n,)
        fig.add_subplot().hist(norms, bins=10)
        return fig, {"n": len(norms), "mean": float(np.mean(norms))}

    def caption(self, run: RunData, facts: Mapping[str, Any]) -> str:
        return f"The squared norm of each of the {facts['n']} test codes (mean {facts['mean']:.3g}): wobble."


class BrokenFigure(ReportFigure):
    title = "A figure that cannot tell"

    def applies(self, run: RunData) -> str | None:
        raise RuntimeError("this figure cannot tell today")


@pytest.fixture
def wobble():
    """Wobble, its figure and a broken figure registered for one test, taken out of the registry afterwards."""
    from aekit import registry

    register("objective", "wobble")(Wobble)
    register("figure", "wobble")(WobbleFigure)
    register("figure", "broken")(BrokenFigure)
    try:
        yield
    finally:
        registry.unregister("objective", "wobble")
        registry.unregister("figure", "wobble")
        registry.unregister("figure", "broken")


def test_a_figure_registered_outside_aekit_shows_up_in_the_report(wobble, tmp_path):
    from aekit.report import build_report

    config = make_config(overrides=[*COMMON, MLP, "penalties.wobble=0.01", f"out={tmp_path}", "name=wobbly"])
    report = build_report(train(config).run_dir)
    assert "wobble" in report.figures and report.figures["wobble"].read_bytes()[:8] == PNG
    html = report.path.read_text()
    assert 'data-figure="wobble"' in html and "How much the code wobbles" in html and "test codes (mean" in html
    keys = [line.split('"')[1] for line in html.split("data-figure=")[1:]]
    assert keys.index("wobble") == keys.index("filters") + 1  # its place on the page, by its order
    assert report.failed == {"broken": "RuntimeError: this figure cannot tell today"}  # the rest of the report stands
    assert "A figure that cannot tell</b>: left out, because it could not be drawn: RuntimeError" in html

    plain = make_config(overrides=[*COMMON, MLP, f"out={tmp_path}", "name=plain"])
    report = build_report(train(plain).run_dir)
    assert report.skipped["wobble"] == "no objective of the run makes the code wobble."
    assert "How much the code wobbles</b>: not shown, because no objective" in report.path.read_text()


def test_the_registry_is_clean_after_the_made_up_figure():
    assert "wobble" not in available("figure") and "wobble" not in available("objective")
    assert "broken" not in available("figure")
