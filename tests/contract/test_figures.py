"""Every registered report figure, on a tiny run of every family: it applies and draws (a PNG and a
caption come out), or it says why not.

Parametrised over ``aekit.registry.available("figure")`` at collection time, so a figure written
later is tested without editing this file. Each family is one small run on the bundled digits
(8x8 images, ``data.limit``: 160 training rows, 40 test rows), trained for one epoch, gathered
once per module with :func:`aekit.analysis.run_analysis.load_run_analysis`.

Every figure also keeps its text readable: each visible tick label, axis label, title, legend entry
and annotation lies inside the saved PNG, and no two of them overlap.

The last test registers a made-up objective with a made-up capability and a figure that reads it,
here in the test, and finds the figure in a report built by the unchanged ``build_report``.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from aekit.analysis.run_analysis import RunAnalysis, load_run_analysis
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
    gathered: dict[str, RunAnalysis] = {}

    def run(family: str) -> RunAnalysis:
        if family not in gathered:
            config = make_config(overrides=[*COMMON, *FAMILIES[family], f"out={out}", f"name={family}"])
            gathered[family] = load_run_analysis(train(config).run_dir)
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


# -- text inside the image, and not on top of other text ------------------------------------------
def visible_texts(fig: Figure) -> list[tuple[str, Text]]:
    """Every text the saved figure shows, with its kind: "title", "label" (axis labels, the suptitle),
    "tick" (tick labels as drawn: only ticks inside the view), "legend" and "text" (annotations)."""
    found: list[tuple[str, Text]] = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        found += [("title", t) for t in (ax.title, ax._left_title, ax._right_title)]
        for axis in (ax.xaxis, ax.yaxis):
            found.append(("label", axis.label))
            for tick in axis._update_ticks():  # the ticks that are drawn (matplotlib's own choice)
                found += [("tick", tick.label1), ("tick", tick.label2)]
        found += [("text", t) for t in ax.texts]
        if ax.get_legend() is not None:
            found += [("legend", t) for t in (*ax.get_legend().get_texts(), ax.get_legend().get_title())]
    found += [("label", t) for t in fig.texts]  # the suptitle is one of them
    for legend in fig.legends:
        found += [("legend", t) for t in legend.get_texts()]
    return [(kind, t) for kind, t in found if t.get_visible() and t.get_text().strip()
            and (t.axes is None or t.axes.get_visible())]


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG's IHDR chunk."""
    return struct.unpack(">II", png[16:24])


def text_defects(fig: Figure, png: bytes) -> list[str]:
    """What is wrong with the text of ``fig`` as ``png`` (its saved image): a text outside the saved
    area (cut by the image's edge), or two texts on top of each other (labels, titles, crowded ticks)."""
    fig.draw_without_rendering()  # where things are in the figure's own frame (savefig drew it shifted)
    renderer = fig._get_renderer()  # the canvas's (Agg) renderer, as savefig and get_tightbbox use it
    dpi = fig.dpi
    width, height = png_size(png)
    whole = Bbox.from_bounds(0, 0, fig.bbox.width, fig.bbox.height)  # what savefig keeps without bbox_inches
    pad = matplotlib.rcParams["savefig.pad_inches"]
    tight = Bbox.from_extents(*(fig.get_tightbbox(renderer).padded(pad).extents * dpi))  # bbox_inches="tight"
    for saved in (whole, tight):
        if abs(saved.width - width) <= 2 and abs(saved.height - height) <= 2:
            break
    else:
        return [f"the PNG is {width}x{height} px, neither the figure ({whole.width:.0f}x{whole.height:.0f}) nor its "
                f"tight box ({tight.width:.0f}x{tight.height:.0f}): where its edges are is unknown"]
    defects = []
    texts = [(kind, t, t.get_window_extent(renderer)) for kind, t in visible_texts(fig)]
    for kind, t, box in texts:
        if box.x0 < saved.x0 - 1 or box.y0 < saved.y0 - 1 or box.x1 > saved.x1 + 1 or box.y1 > saved.y1 + 1:
            defects.append(f"{kind} {t.get_text()!r} is cut by the image's edge ({box.extents.round()} "
                           f"outside {saved.extents.round()})")
    for (kind_a, a, box_a), (kind_b, b, box_b) in itertools.combinations(texts, 2):
        overlap = Bbox.intersection(box_a, box_b)
        if overlap is not None and overlap.width > 1 and overlap.height > 1:
            defects.append(f"{kind_a} {a.get_text()!r} overlaps {kind_b} {b.get_text()!r}")
    return defects


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("key", available("figure"))
def test_every_figure_keeps_its_text_inside_the_image_and_apart(runs, family, key):
    run = runs(family)
    figure = get("figure", key)()
    if figure.applies(run) is not None:
        return
    drawn, _ = figure.draw(run)
    png = png_bytes(drawn)
    assert text_defects(drawn, png) == []


def test_the_text_check_sees_a_clipped_label_and_an_overlap():
    from aekit.viz._common import new_figure

    fig = new_figure(3, 2)
    ax = fig.add_axes((0.0, 0.2, 1.0, 0.7))  # no room on the left for the y tick labels
    ax.plot([0, 1], [1000, 2000])
    ax.set_ylabel("loss per sample")
    defects = text_defects(fig, _plain_png(fig))
    assert any("is cut by the image's edge" in d for d in defects) and any("'loss per sample'" in d for d in defects)
    fig = new_figure(3, 2)
    ax = fig.add_axes((0.2, 0.2, 0.7, 0.7))
    ax.set_title("a title")
    ax.set_xlabel("a label")
    ax.xaxis.set_label_coords(0.5, 1.05)  # the x label moved onto the title
    assert any("overlaps" in d for d in text_defects(fig, png_bytes(fig)))


def _plain_png(fig: Figure) -> bytes:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return buffer.getvalue()


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

    def applies(self, run: RunAnalysis) -> str | None:
        return None if declaring(run, "wobbly_code") else "no objective of the run makes the code wobble."

    def draw(self, run: RunAnalysis) -> tuple[Any, dict[str, Any]]:
        from aekit.viz._common import new_figure

        fig = new_figure(4, 3)
        norms = (run.h_test ** 2).sum(axis=1)  # (n,)
        fig.add_subplot().hist(norms, bins=10)
        return fig, {"n": len(norms), "mean": float(np.mean(norms))}

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        return f"The squared norm of each of the {facts['n']} test codes (mean {facts['mean']:.3g}): wobble."


class BrokenFigure(ReportFigure):
    title = "A figure that cannot tell"

    def applies(self, run: RunAnalysis) -> str | None:
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
