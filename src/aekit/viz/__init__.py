"""Figures for every step of the pipeline (one module per family), each a function that takes data or
a model and returns a ``matplotlib.figure.Figure`` drawn on the Agg canvas (never ``pyplot.show``):

    pipeline     input → corrupted input → code → reconstruction        pipeline_figure
    losses       loss curves per term, train and validation            loss_curves_figure
    embedding    t-SNE of test codes with neighbourhood scores vs PCA  embedding_figure
    manifold     decoder grid, traversals, interpolations, prior       manifold_figure, traversal_figure,
                 samples                                               interpolation_figure, prior_samples_figure
    filters      first-layer weights as images                         filters_figure
    sparsity     code activation histogram, mean per unit vs target    sparsity_figure
    contractive  Jacobian spectrum and tangent directions              jacobian_figure
    denoising    corrupted inputs moved back, PSNR per noise level     denoising_figure
    linear       linear autoencoder vs PCA: error, principal angles    pca_figure
    layerwise    the loss of each greedy layer-wise stage              stage_curves_figure
    labelcurve   test accuracy against the number of labels            label_curve_figure
    compare      several runs: same inputs through each, val curves    reconstructions_figure, validation_curves_figure

``png_bytes(fig)`` renders any of them.

Each module also registers the run report's figures it makes (``@register("figure", key)``, a
:class:`~aekit.viz.figure.ReportFigure`: when it applies, how to draw it, its caption). Every module
of this package is imported here, so a new report figure is one new file.
"""

import importlib
import pkgutil

from aekit.viz._common import png_bytes
from aekit.viz.compare import reconstructions_figure, validation_curves_figure
from aekit.viz.contractive import jacobian_figure
from aekit.viz.denoising import denoising_figure
from aekit.viz.embedding import embedding_figure
from aekit.viz.figure import ReportFigure, report_figures
from aekit.viz.filters import filters_figure
from aekit.viz.linear import pca_figure
from aekit.viz.losses import loss_curves_figure
from aekit.viz.manifold import interpolation_figure, manifold_figure, prior_samples_figure, traversal_figure
from aekit.viz.pipeline import pipeline_figure
from aekit.viz.sparsity import sparsity_figure

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["png_bytes", "pipeline_figure", "loss_curves_figure", "embedding_figure", "manifold_figure",
           "traversal_figure", "interpolation_figure", "prior_samples_figure", "filters_figure", "sparsity_figure",
           "jacobian_figure", "denoising_figure", "pca_figure", "reconstructions_figure", "validation_curves_figure",
           "ReportFigure", "report_figures"]
