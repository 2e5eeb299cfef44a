"""The tour's own figures keep their text readable, as the report's do (``test_figures.text_defects``),
and keep their labels and legends off what they draw: each drawn from made-up numbers of the shape the
claim measures, in milliseconds, so a change to a figure is checked without running the tour."""

from __future__ import annotations

import numpy as np
from matplotlib.transforms import Bbox
from test_figures import text_defects  # tests/contract/test_figures.py: texts inside the PNG and apart

from aekit.analysis.pca import LinearVsPCA
from aekit.tour.claims.contractive import _spectra_figure
from aekit.tour.claims.denoising import FACTORS, NOISES, _levels_figure
from aekit.viz import png_bytes
from aekit.viz.linear import ANGLE_ORDER, pca_figure


def test_the_linear_figure_labels_its_bars_inside_the_frame_in_the_order_it_names():
    rng = np.random.default_rng(0)
    result = LinearVsPCA(code_size=30, autoencoder_per_image=14.37, autoencoder_mse=0.018, pca_per_image=14.31,
                         pca_mse=0.018, angles_deg=np.sort(rng.uniform(0, 50, 30))[::-1])
    fig = pca_figure(result)
    assert text_defects(fig, png_bytes(fig)) == []
    ax_err, ax_angles = fig.axes
    renderer = fig._get_renderer()
    frame = ax_err.get_window_extent(renderer)
    labels = [t.get_window_extent(renderer) for t in ax_err.texts]
    assert len(labels) == 2 and all(box.y1 < frame.y1 - 2 for box in labels)  # not touching the top of the frame
    heights = [p.get_height() for p in ax_angles.patches]
    assert f"({ANGLE_ORDER})" in ax_angles.get_xlabel() and ANGLE_ORDER == "smallest first"
    assert heights == sorted(heights)  # drawn as the axis (and the tour's caption, which quotes ANGLE_ORDER) say


def test_the_contractive_spectra_keep_their_y_label_within_the_axes_height():
    rng = np.random.default_rng(0)
    spectra = {arch: {label: np.sort(rng.lognormal(0, 1, (20, d)), axis=1)[:, ::-1]
                      for label in ("plain", "contractive (λ = 0.3 (3×), 0.1 (2×))", "denoising (σ = 0.2)")}
               for arch, d in (("shallow 784-1000 (sigmoid)", 784), ("deep 784-256-32 (ReLU, linear code)", 32))}
    fig = _spectra_figure(spectra)
    assert text_defects(fig, png_bytes(fig)) == []
    renderer = fig._get_renderer()
    ax = fig.axes[0]
    assert ax.yaxis.label.get_window_extent(renderer).height <= ax.get_window_extent(renderer).height


def test_the_denoising_legend_covers_no_panel():
    rng = np.random.default_rng(0)
    found = {name: {row: [list(rng.uniform(10, 20, 3)) for _ in FACTORS] for row in ("clipped", "plain", "denoiser")}
             for name in NOISES}
    fig = _levels_figure(found)
    assert text_defects(fig, png_bytes(fig)) == []
    renderer = fig._get_renderer()
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    legend = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        overlap = Bbox.intersection(legend, ax.get_window_extent(renderer))
        assert overlap is None or overlap.width < 1 or overlap.height < 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["x̃ clipped to [0, 1]", "plain autoencoder",
                                                                  "denoising autoencoder"]


def test_the_checks_see_a_legend_on_a_panel_and_a_label_on_the_frame():
    """The checks above can fail: the figures as they were drawn before (legend inside the first panel, bar
    labels on the frame) are caught."""
    from aekit.viz._common import new_figure

    fig = new_figure(6, 3)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.legend()
    renderer = fig._get_renderer()
    fig.draw_without_rendering()
    assert Bbox.intersection(ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)) is not None
    fig = new_figure(4, 3)
    ax = fig.subplots()
    bars = ax.bar(["a", "b"], [14.37, 14.31])
    ax.annotate("14.37", (bars[0].get_x(), 14.37), va="bottom", xytext=(0, 2), textcoords="offset points")
    fig.draw_without_rendering()
    assert ax.texts[0].get_window_extent(renderer).y1 >= ax.get_window_extent(renderer).y1 - 2
