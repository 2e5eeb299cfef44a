"""Shared pieces of the figures: a figure on the Agg canvas, samples as images, tiled mosaics, PNG bytes.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas, never through ``pyplot``: no
global figure manager, no window, nothing to close, and safe in a process that also uses pyplot.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aekit.models.batched import map_batches

DPI = 100
PAD_INCHES = 0.1  # white margin around what a figure draws, in its PNG
IMAGE_CMAP = "gray"  # data images: 0 black, 1 white (MNIST ink is white)
SIGNED_CMAP = "RdBu_r"  # weights and directions: red positive, blue negative, white 0
# between the tiles of a mosaic of data images: a colour no grey pixel has, so that a white stroke at
# a tile's edge (8x8 digits have no margin) does not merge with the gap and look cut in two
SEPARATOR = "#6a9fd4"


def new_figure(width: float, height: float, layout: str | None = None) -> Figure:
    """An empty figure of ``width`` x ``height`` inches on the Agg canvas; ``layout="constrained"`` makes
    room for every axes' labels and titles instead of fixed margins."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes, cropped or grown to what it draws plus a 0.1-inch margin
    (``bbox_inches="tight"``): a tick label or title that runs past the figure's edge is kept, not cut,
    whatever margins the figure chose."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=PAD_INCHES)
    return buffer.getvalue()


def numpy(a: np.ndarray | torch.Tensor) -> np.ndarray:
    """A float numpy copy of an array or tensor (detached, on the CPU)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float32)


def image_shape(sample_shape: Sequence[int]) -> tuple[int, ...]:
    """How one sample is drawn: (H, W) grey, (H, W, 3) colour, or (1, d) as a strip for a vector that
    is not a square image."""
    shape = tuple(sample_shape)
    if len(shape) == 3 and shape[0] == 1:
        return shape[1:]
    if len(shape) == 3 and shape[0] == 3:
        return (shape[1], shape[2], 3)
    if len(shape) == 3:  # other channel counts: channels side by side
        return (shape[1], shape[0] * shape[2])
    if len(shape) == 2:
        return shape
    d = math.prod(shape)
    side = math.isqrt(d)
    return (side, side) if side * side == d and d >= 16 else (1, d)


def as_images(x: np.ndarray | torch.Tensor, sample_shape: Sequence[int]) -> np.ndarray:
    """A batch (n, *sample_shape) or flat (n, d) as images (n, *image_shape(sample_shape))."""
    x = numpy(x)
    n = x.shape[0]
    shape = tuple(sample_shape)
    target = image_shape(shape)
    if len(shape) == 3 and shape[0] == 3:
        return x.reshape(n, *shape).transpose(0, 2, 3, 1)  # (n, H, W, 3)
    if len(shape) == 3 and shape[0] != 1:
        return x.reshape(n, *shape).transpose(0, 2, 1, 3).reshape(n, *target)  # channels side by side
    return x.reshape(n, *target)


def data_limits(x: np.ndarray) -> tuple[float, float]:
    """Colour limits for data images: [0, 1] when the data lie there, else their own range."""
    low, high = float(np.min(x)), float(np.max(x))
    if low >= 0.0 and high <= 1.0:
        return 0.0, 1.0
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def signed_limit(x: np.ndarray) -> float:
    """A symmetric colour limit for signed images (weights, directions)."""
    limit = float(np.max(np.abs(x))) if np.size(x) else 1.0
    return limit if limit > 0 else 1.0


def tile(images: np.ndarray, rows: int, cols: int, pad: int = 1, fill: float = np.nan) -> np.ndarray:
    """Images (n, H, W[, 3]) laid out row by row on a rows x cols grid with ``pad`` pixels between them;
    unused cells and the padding are ``fill`` (NaN: drawn in the axes' background colour)."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape[:3]
    extra = images.shape[3:]
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, *extra), fill, dtype=np.float32)
    for i in range(min(n, rows * cols)):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = images[i]
    return out


def show(ax, image: np.ndarray, *, signed: bool = False, limits: tuple[float, float] | None = None,
         title: str | None = None):
    """Draw one image on ``ax`` (no ticks); signed images get a diverging map centred on 0."""
    if signed:
        limit = signed_limit(image)
        artist = ax.imshow(image, cmap=SIGNED_CMAP, vmin=-limit, vmax=limit, interpolation="nearest")
    else:
        low, high = limits if limits is not None else data_limits(image)
        artist = ax.imshow(np.clip(image, low, high) if image.ndim == 3 else image, cmap=IMAGE_CMAP,
                           vmin=low, vmax=high, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)
    return artist


def labelled_rows(ax, rows: Sequence[np.ndarray], labels: Sequence[str], limits: tuple[float, float]) -> None:
    """Draw rows of images (each (n, H, W[, 3])) as one mosaic on ``ax``, each row named by a y label."""
    images = np.concatenate(rows)
    mosaic = tile(np.clip(images, *limits), len(rows), len(rows[0]), pad=1)
    ax.imshow(mosaic, cmap="gray", vmin=limits[0], vmax=limits[1], interpolation="nearest")
    ax.set_facecolor(SEPARATOR)
    height = images.shape[1]
    ax.set_yticks(np.arange(len(rows)) * (height + 1) + (height - 1) / 2, labels, fontsize=8)
    ax.set_xticks([])


def grid_axes(fig: Figure, rows: int, cols: int, **adjust):
    """A rows x cols array of axes (always 2-D)."""
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(**{"left": 0.02, "right": 0.98, "top": 0.9, "bottom": 0.02, "wspace": 0.08,
                           "hspace": 0.15, **adjust})
    return axes


def reconstruct(model: torch.nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """x_hat = g(f(x)) in eval mode (a variational model decodes its mean code), as numpy."""
    return map_batches(model.reconstruct, numpy(x), model, batch_size)


def encode(model: torch.nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Codes h = f(x) in eval mode (mu for a variational model), as numpy (n, k)."""
    return map_batches(model.encode, numpy(x), model, batch_size)


def decode(model: torch.nn.Module, h: np.ndarray) -> np.ndarray:
    """x_hat = g(h) for codes (n, k), as numpy (n, *sample_shape)."""
    return map_batches(model.decode, numpy(h), model)
