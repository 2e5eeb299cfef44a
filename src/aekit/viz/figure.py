"""A figure of the run report as a registered component: when it applies, how to draw it, its caption.

Each module of :mod:`aekit.viz` that makes a report figure registers one small class per figure,
the way objectives register (``aekit.registry``)::

    @register("figure", "sparsity")
    class SparsityFigure(ReportFigure):
        title = "Sparsity of the code"
        order = 90                       # place on the page, smaller first

        def applies(self, run):          # None when it applies, else why not (the page shows
            ...                          # "<title>: not shown, because <reason>")
        def draw(self, run):             # (matplotlib Figure, facts the caption needs)
            ...
        def caption(self, run, facts):   # the newcomer's paragraph: what it shows, what to look for
            ...

``run`` is a :class:`aekit.analysis.run_analysis.RunAnalysis`: the model, config, history, data, codes, PCA
baseline and the run's built objectives and corruption. The report asks :func:`report_figures` for
every figure, draws those that apply in page order and lists the others with their reasons, so a new
figure is one new file in this package.

A figure decides whether it applies from what the run's components declare, never from a list of
their names. Objectives declare what they do with a class attribute
``capabilities: frozenset[str]`` (default: none). The capabilities in use:

    sparse_code   pushes code entries toward 0 (l1, kl_sparsity); the sparsity figure applies when
                  the code can reach 0. An objective that aims each unit's mean activation at a
                  value says so in an attribute ``target`` (kl_sparsity's rho), drawn as a line.
    contractive   penalises the encoder's Jacobian dh/dx (contractive); the Jacobian figure applies.

The model answers for itself: a prior to sample from (``model.variational``), affine maps
(``model.config.affine``); the run's corruption is ``run.corruption`` (None without one). A new
capability needs no entry anywhere: the objective declares it and the figure that reads it tests for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from aekit.registry import available, get

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aekit.analysis.run_analysis import RunAnalysis


class ReportFigure:
    """One figure of the run report; subclasses set ``title`` and ``order`` and define the three methods."""

    title: ClassVar[str] = ""
    order: ClassVar[int] = 1000  # place on the page: smaller first, ties by key

    def applies(self, run: RunAnalysis) -> str | None:
        """None when the figure applies to ``run``, else the reason it does not (a sentence ending in '.')."""
        return None

    def draw(self, run: RunAnalysis) -> tuple[Figure, dict[str, Any]]:
        """The figure for ``run`` and the facts its caption needs (the subsample drawn, the levels shown...)."""
        raise NotImplementedError

    def caption(self, run: RunAnalysis, facts: Mapping[str, Any]) -> str:
        """What the figure shows and what to look for, for someone new to autoencoders."""
        raise NotImplementedError


def not_images(run: RunAnalysis) -> str | None:
    """None when the run's samples are images; else why a figure that draws samples as pictures does not
    apply (a table's row drawn as a strip of pixels says nothing)."""
    if run.images:
        return None
    return (f"the samples are rows of a table ({run.x_test.shape[1]} features), not images; the table's own "
            f"figures show them.")


def report_figures() -> dict[str, ReportFigure]:
    """Every registered figure, one instance each, in page order."""
    figures = {key: get("figure", key)() for key in available("figure")}
    return dict(sorted(figures.items(), key=lambda item: (item[1].order, item[0])))


def capabilities_of(component: Any) -> frozenset[str]:
    """What an objective (or any component) declares in its ``capabilities`` attribute."""
    return frozenset(getattr(component, "capabilities", ()))


def declaring(run: RunAnalysis, capability: str) -> list[Any]:
    """The run's objectives that declare ``capability``, in the order the run built them."""
    return [objective for objective in run.objectives if capability in capabilities_of(objective)]


def registered_declaring(capability: str) -> list[str]:
    """Names of the registered objectives that declare ``capability`` (for a reason the page shows)."""
    return [name for name in available("objective") if capability in capabilities_of(get("objective", name))]


__all__ = ["ReportFigure", "report_figures", "not_images", "declaring", "registered_declaring", "capabilities_of"]
