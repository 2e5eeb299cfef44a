"""The latent explorer: one self-contained HTML page in which a reader moves through a run's code space
and watches the decoder answer.

    build_explorer("runs/mnist5k-mlp-32-...")          # -> runs/.../explore.html

The page has four parts: a map of the test codes coloured by label (the code itself when k = 2, else
t-SNE (van der Maaten & Hinton, JMLR 2008) or PCA of the codes), where hovering shows a point's input
and its reconstruction; the picked point's code as sliders, one per code unit (the ``MAX_SLIDERS`` of
most variance on the training split when there are more, the others held at the point's values),
each move redrawing the decoded sample at once; a slider that interpolates between two picked codes;
and, for a variational model, a button that draws a code from the prior N(0, I).

The decoder runs in the page: its weights are embedded (base64 float32) and a small interpreter in
plain JavaScript (``explore.js`` beside this module) runs the program of
:func:`aekit.analysis.decoder_program.decoder_program`, linear and transposed-convolution layers and
their activations, in float64. Plain JavaScript rather than WebAssembly: the default MNIST-5k decoder
is 0.4 M multiply-adds, about a millisecond in a JIT-compiled loop, so a WebAssembly runtime would buy
no visible speed for a dependency to vendor and keep; the page stays readable, one file, no CDN.
Images are drawn on a canvas (grey, RGB, or other channel counts side by side); tables as a bar chart
of the features. Inputs are embedded as 8-bit images (display only) or, for tables, as float32.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from aekit.analysis.decoder_program import decoder_program
from aekit.analysis.embedding import MAX_POINTS, subsample, tsne
from aekit.analysis.run_analysis import SEED, RunAnalysis, load_run_analysis
from aekit.errors import ConfigError
from aekit.io import atomic_write_text
from aekit.params import Options, check
from aekit.report.html import escape, page
from aekit.viz._common import data_limits

logger = logging.getLogger(__name__)

MAX_SLIDERS = 64  # code units shown as sliders; beyond that the ones of most variance
MAPS = ("tsne", "pca")  # how a code of more than two units is mapped to the plane
FILE = "explore.html"
# colours of the classes: matplotlib's tab10, then tab20's lighter ones (the report's figures use the same)
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
           "#dbdb8d", "#9edae5"]
UNLABELLED = "#4a78b5"

CSS = """
body { max-width: 1400px; }
#explorer { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }
#map-box { position: relative; } #map { border: 1px solid #ddd; background: #fff; cursor: crosshair; }
#legend { font-size: 0.85em; margin-top: 0.4em; max-width: 560px; }
#legend span { display: inline-block; margin-right: 0.8em; } #legend i { display: inline-block; width: 0.8em;
  height: 0.8em; border-radius: 50%; margin-right: 0.25em; vertical-align: -0.05em; }
#hover { position: absolute; display: none; pointer-events: none; background: #fff; border: 1px solid #999;
  border-radius: 4px; padding: 0.4em; font-size: 0.8em; box-shadow: 0 2px 6px rgba(0,0,0,0.2); }
#hover .pair { display: flex; gap: 0.4em; } #hover figure, #side figure { margin: 0; padding: 0; border: 0;
  background: none; text-align: center; font-size: 0.8em; }
canvas.sample { image-rendering: pixelated; border: 1px solid #ddd; background: #000; }
canvas.bars { border: 1px solid #ddd; background: #fff; }
#side { flex: 1; min-width: 360px; } #views { display: flex; gap: 1em; }
#sliders { max-height: 420px; overflow-y: auto; border: 1px solid #e3e3e6; padding: 0.4em; margin-top: 0.8em;
  columns: 2; column-gap: 1.2em; } #sliders label { display: flex; align-items: center; gap: 0.4em;
  font-size: 0.8em; font-variant-numeric: tabular-nums; break-inside: avoid; }
#sliders input { flex: 1; min-width: 80px; } #sliders output { width: 4.5em; text-align: right; }
#controls { margin-top: 0.8em; font-size: 0.9em; } #controls > div { margin: 0.4em 0; }
#interp input { width: 60%; vertical-align: middle; } .muted { color: #666; }
"""


@dataclass
class Explorer:
    """What :func:`build_explorer` wrote: the page, its size, the points on the map, the sliders shown."""

    path: Path
    bytes: int
    points: int
    sliders: int
    method: str  # how the map was made: "code", "t-SNE" or "PCA"
    seconds: float


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode("ascii")


def _program_json(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The decoder program with its arrays as base64 float32 (row-major, little-endian)."""
    out = []
    for op in ops:
        entry = {key: value for key, value in op.items() if not isinstance(value, np.ndarray)}
        for key in ("weight", "bias"):
            if key in op:
                entry[key] = _b64(op[key], "float32")
                entry[f"{key}_shape"] = list(op[key].shape)
        out.append(entry)
    return out


def code_map(h: np.ndarray, method: str, n_jobs: int = 1) -> tuple[np.ndarray, str]:
    """Points (n, 2) for codes ``h`` (n, k): the code itself when k = 2, else t-SNE or PCA of it."""
    if h.shape[1] == 2:
        return h.astype(np.float64), "code"
    if h.shape[1] == 1:  # a 1-D code: its value against its rank, so points do not sit on one line
        return np.column_stack([h[:, 0], np.argsort(np.argsort(h[:, 0]))]).astype(np.float64), "code"
    if method == "tsne" and len(h) >= 4:
        return tsne(h, random_state=SEED, n_jobs=n_jobs), "t-SNE"
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=SEED).fit_transform(h).astype(np.float64), "PCA"


def slider_units(h_train: np.ndarray, limit: int = MAX_SLIDERS) -> list[int]:
    """The code units shown as sliders: all of them up to ``limit``, else the ``limit`` of most variance on the
    training codes (in unit order)."""
    k = h_train.shape[1]
    if k <= limit:
        return list(range(k))
    variance = h_train.var(axis=0)
    return sorted(int(j) for j in np.argsort(-variance, kind="stable")[:limit])


def slider_ranges(h: np.ndarray, variational: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's slider range: the codes' range widened by a quarter of it on each side (at least +-3 for a
    variational model, whose prior draws land there)."""
    low, high = h.min(axis=0).astype(np.float64), h.max(axis=0).astype(np.float64)
    span = np.maximum(high - low, 1e-3)
    low, high = low - 0.25 * span, high + 0.25 * span
    if variational:
        low, high = np.minimum(low, -3.0), np.maximum(high, 3.0)
    return low, high


def explorer_data(data: RunAnalysis, method: str = "tsne", max_points: int = MAX_POINTS) -> dict[str, Any]:
    """Everything the page embeds, as JSON-able values (arrays as base64)."""
    model = data.model
    ops = decoder_program(model)
    rows = subsample(len(data.x_test), max_points, SEED)
    x = np.asarray(data.x_test[rows], np.float32).reshape(len(rows), -1)  # (n, d), as the model saw it
    h = np.asarray(data.h_test[rows], np.float32)  # (n, k)
    h_train = np.asarray(data.h_train, np.float32)
    points, used = code_map(h, method, data.n_jobs)
    labels = None if data.y_test is None else np.asarray(data.y_test)[rows].astype(np.int64)
    shape = tuple(model.sample_shape)
    image = len(shape) >= 2
    low, high = (0.0, 1.0) if model.output == "sigmoid" else data_limits(x)
    inputs = (_b64(np.round(np.clip((x - low) / (high - low), 0, 1) * 255), "uint8") if image else _b64(x, "float32"))
    s_low, s_high = slider_ranges(np.concatenate([h_train, h]), model.variational)
    classes = None
    if labels is not None:
        values = sorted(set(labels.tolist()))
        names = data.class_names
        classes = [{"value": v, "name": names[v] if names and 0 <= v < len(names) else str(v),
                    "colour": PALETTE[i % len(PALETTE)]} for i, v in enumerate(values)]
    channels, height, width = (shape if len(shape) == 3 else (1, *shape)) if image else (1, 1, int(np.prod(shape)))
    return {
        "run": data.run_dir.name, "n": len(rows), "k": int(h.shape[1]), "d": int(x.shape[1]),
        "variational": bool(model.variational), "output": model.output, "display": "image" if image else "bars",
        "channels": int(channels), "height": int(height), "width": int(width), "range": [float(low), float(high)],
        "map": {"method": used, "points": _b64(points, "float32")},
        "labels": None if labels is None else _b64(labels, "int32"), "classes": classes,
        "rows": _b64(rows, "int32"), "codes": _b64(h, "float32"),
        "inputs": inputs, "inputs_dtype": "uint8" if image else "float32",
        "sliders": slider_units(h_train), "low": s_low.tolist(), "high": s_high.tolist(),
        "program": _program_json(ops),
    }


def _script() -> str:
    return resources.files("aekit.report").joinpath("explore.js").read_text(encoding="utf-8")


def render(payload: dict[str, Any]) -> str:
    """The page: its HTML, the data as JSON and the script, inline."""
    k, n = payload["k"], payload["n"]
    method = {"code": "the code itself", "t-SNE": "t-SNE of the codes", "PCA": "PCA of the codes"}[payload["map"]["method"]]
    shown = len(payload["sliders"])
    sliders_note = (f"all {k} code units" if shown == k else
                    f"the {shown} code units of most variance (of {k}; the others stay at the picked point's values)")
    labelled = ("coloured by class" if payload["classes"] else
                "in one colour: this run's data has no labels")
    prior = ('<div id="prior"><button id="sample-prior" type="button">Sample from the prior N(0, I)</button> '
             '<span class="muted">a new code drawn from the prior, decoded</span></div>' if payload["variational"] else "")
    data_json = json.dumps(payload).replace("</", "<\\/")  # no '</script>' can end the block early
    body = f"""<h1>Latent explorer: {escape(payload['run'])}</h1>
<p class="subtitle">{n} test points, mapped by {method}, {labelled}. Hover over a point to see its input and its
reconstruction; click one to load its code into the sliders ({sliders_note}); shift-click a second point to
interpolate between the two. The decoder runs in this page.</p>
<div id="explorer">
 <div id="map-box"><canvas id="map" width="560" height="560"></canvas>
  <div id="legend"></div>
  <div id="hover"><div id="hover-title"></div><div class="pair">
   <figure><canvas id="hover-input" class="sample"></canvas><figcaption>input</figcaption></figure>
   <figure><canvas id="hover-recon" class="sample"></canvas><figcaption>reconstruction</figcaption></figure></div></div>
 </div>
 <div id="side">
  <div id="views">
   <figure><canvas id="decoded" class="sample"></canvas><figcaption>decoded from the sliders</figcaption></figure>
   <figure><canvas id="picked" class="sample"></canvas><figcaption id="picked-caption">no point picked</figcaption></figure>
  </div>
  <div id="controls">
   <div id="status" class="muted">Click a point on the map.</div>
   <div id="interp" hidden>A &rarr; B <input id="interpolate" type="range" min="0" max="1" step="any" value="0">
    <output id="t">t = 0.00</output></div>
   {prior}
  </div>
  <div id="sliders"></div>
 </div>
</div>
<p class="note">Made by <code>aekit explore</code>. Decoding runs in plain JavaScript on the weights embedded in
this file (float32, computed in float64); it matches the model's own decoder to 1e-4.</p>
<script type="application/json" id="explorer-data">{data_json}</script>
<script>{_script()}</script>"""
    return page(f"aekit explorer: {payload['run']}", body, css=CSS)


def check_map(method: str) -> None:
    """Refuse an unknown map in one line that lists the valid ones."""
    check("map", method, Options(MAPS), owner="explore")


def build_explorer(run_dir: str | Path, out: str | Path | None = None, *, method: str = "tsne",
                   max_points: int = MAX_POINTS, n_jobs: int = 1) -> Explorer:
    """Write the explorer page of the run in ``run_dir`` to ``out`` (default ``RUN/explore.html``)."""
    check_map(method)
    start = time.perf_counter()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_jobs):
        data = load_run_analysis(run_dir, n_jobs=n_jobs)
        payload = explorer_data(data, method, max_points)
    path = Path(out) if out is not None else data.run_dir / FILE
    if path.is_dir():
        raise ConfigError(f"--out {str(path)!r} is a folder; give the file to write, e.g. {str(path / FILE)!r}.")
    text = render(payload)
    atomic_write_text(path, text)
    return Explorer(path, len(text.encode("utf-8")), payload["n"], len(payload["sliders"]), payload["map"]["method"],
                    time.perf_counter() - start)


__all__ = ["build_explorer", "explorer_data", "render", "code_map", "slider_units", "slider_ranges", "Explorer",
           "MAX_SLIDERS", "MAPS", "FILE", "check_map"]
