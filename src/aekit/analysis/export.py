"""A trained autoencoder for use without aekit: its encoder and decoder as ONNX (ONNX Runtime, any
language) or ``torch.export`` programs (``.pt2``), with ``export.json`` saying how to call them.

    export_run("runs/mnist5k-mlp-32-...", "deploy", format="onnx")
    # deploy/encoder.onnx   x (batch, *input_shape) -> h (batch, k)
    # deploy/decoder.onnx   h (batch, k) -> x_hat (batch, *input_shape)
    # deploy/export.json    shapes, names, opset, the rescaling, what each output is

Both graphs take a batch of any size. The encoder gives what ``aekit encode`` gives: a variational
model's posterior mean mu (Kingma & Welling, ICLR 2014), the deterministic code otherwise. A run
trained with a rescaling (``data.rescale``: a table standardised, or min-max) rescales its input inside
the encoder graph, x' = (x - shift) * scale, so the encoder takes raw rows as ``aekit encode`` does; the
decoder gives the reconstruction in the rescaled space (sigmoid applied when the model has one).
``export.json`` records the shift (``mean`` or ``low``) and ``scale`` so that a service can map it back
as ``aekit reconstruct`` does: x = x_hat / scale + shift where scale > 0 (a constant feature, scale 0,
is its shift).

ONNX needs the optional extra (``pip install 'aekit[export]'``: onnx and onnxscript for torch's
exporter, onnxruntime to run the result); ``torch.export`` needs nothing beyond torch.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from aekit.data.preparation import Rescaling
from aekit.errors import ConfigError
from aekit.io import atomic_write_bytes, atomic_write_text
from aekit.models.autoencoder import AutoencoderModule
from aekit.params import Options, check

logger = logging.getLogger(__name__)

FORMATS = ("onnx", "pt2")
OPSET = 18  # the ONNX opset the graphs are written in: ONNX Runtime >= 1.14 runs it
EXPORT_FORMAT = "aekit.export/1"  # the tag of export.json
INSTALL = "pip install 'aekit[export]'"
EXAMPLE_BATCH = 2  # rows of the example input traced; the batch axis stays symbolic


class EncoderGraph(nn.Module):
    """x (B, *input_shape) -> h (B, k): the rescaling, when the run has one, then ``model.encode``
    (a variational model's posterior mean mu)."""

    def __init__(self, model: AutoencoderModule, input_shape: tuple[int, ...], preprocessing: Rescaling | None) -> None:
        super().__init__()
        self.model = model
        self.input_shape = tuple(input_shape)
        self.rescale = preprocessing is not None
        if preprocessing is not None:  # buffers: constants of the graph, not inputs
            self.register_buffer("shift", torch.from_numpy(preprocessing.shift.reshape(self.input_shape).copy()))
            self.register_buffer("scale", torch.from_numpy(preprocessing.scale.reshape(self.input_shape).copy()))

    def forward(self, x: Tensor) -> Tensor:
        if self.rescale:
            x = (x - self.shift) * self.scale  # x' = (x - shift) * scale, as data.rescale in training
        return self.model.encode(x.reshape(x.shape[0], *self.model.sample_shape))  # (B, k)


class DecoderGraph(nn.Module):
    """h (B, k) -> x_hat (B, *input_shape): ``model.decode``, the output sigmoid applied when there is one."""

    def __init__(self, model: AutoencoderModule, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.model = model
        self.input_shape = tuple(input_shape)

    def forward(self, h: Tensor) -> Tensor:
        return self.model.decode(h).reshape(h.shape[0], *self.input_shape)  # (B, *input_shape)


@dataclass
class Exported:
    """What :func:`export_model` wrote: the folder, the two graph files and export.json."""

    out: Path
    encoder: Path
    decoder: Path
    description: Path


def check_format(format: str) -> None:
    """Refuse an unknown format in one line that lists the valid ones."""
    check("format", format, Options(FORMATS), owner="export")


def require_extra(format: str) -> None:
    """ONNX export needs onnx and onnxscript (torch's exporter imports them); say how to install them."""
    if format != "onnx":
        return
    missing = []
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ConfigError(f"Export to ONNX needs {' and '.join(missing)}, which are not installed: {INSTALL}")


def _batch_dim() -> Any:
    return torch.export.Dim("batch", min=1)


def _onnx_bytes(graph: nn.Module, example: Tensor, input_name: str, output_name: str) -> bytes:
    """The ONNX model of ``graph`` (torch's dynamo exporter), the batch axis symbolic, as bytes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's exporter warns about its own internals (pytree, torchvision ops)
        program = torch.onnx.export(graph, (example,), None, input_names=[input_name], output_names=[output_name],
                                    opset_version=OPSET, dynamo=True, external_data=False, verbose=False,
                                    dynamic_shapes=({0: _batch_dim()},))
    return program.model_proto.SerializeToString()


def _pt2_bytes(graph: nn.Module, example: Tensor) -> bytes:
    """The ``torch.export`` program of ``graph``, the batch axis symbolic, as ``torch.export.save`` writes it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(graph, (example,), dynamic_shapes=({0: _batch_dim()},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


def export_model(model: AutoencoderModule, out: str | Path, format: str = "onnx", *, input_shape: tuple[int, ...] | None = None,
                 preprocessing: Rescaling | None = None, source: str | None = None) -> Exported:
    """Write ``encoder.<format>``, ``decoder.<format>`` and ``export.json`` into the folder ``out``.

    ``input_shape``: the shape of one input row the graphs take and give (default the model's sample
    shape; an estimator fitted on (H, W) images passes (H, W)); ``preprocessing``: the rescaling the model
    was trained behind, applied inside the encoder; ``source``: where the model came from, recorded.
    """
    check_format(format)
    require_extra(format)
    input_shape = tuple(model.sample_shape) if input_shape is None else tuple(int(n) for n in input_shape)
    if int(np.prod(input_shape)) != model.n_features:
        raise ConfigError(f"The 'input_shape' of export must hold the model's {model.n_features} features; got "
                          f"{input_shape}.")
    if not str(out):
        raise ConfigError("The 'out' of export (--out) is empty; give the folder to write the exported model into.")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"The 'out' of export, {str(out)!r}, is a file; give the folder to write the exported "
                          f"model into.")
    k = model.config.code_size
    device = next(model.parameters()).device
    model = model.eval()
    encoder = EncoderGraph(model, input_shape, preprocessing).to(device).eval()
    decoder = DecoderGraph(model, input_shape).eval()
    generator = torch.Generator().manual_seed(0)
    x = torch.rand((EXAMPLE_BATCH, *input_shape), generator=generator).to(device)
    h = torch.randn((EXAMPLE_BATCH, k), generator=generator).to(device)
    paths = {"encoder": out / f"encoder.{format}", "decoder": out / f"decoder.{format}"}
    for name, graph, example, names in (("encoder", encoder, x, ("x", "h")), ("decoder", decoder, h, ("h", "x_hat"))):
        data = _onnx_bytes(graph, example, *names) if format == "onnx" else _pt2_bytes(graph, example)
        atomic_write_bytes(paths[name], data)
    description = describe(model, format, input_shape, preprocessing, source)
    json_path = out / "export.json"
    atomic_write_text(json_path, json.dumps(description, indent=2) + "\n")
    logger.info("exported the encoder and decoder to %s (%s)", out, format)
    return Exported(out, paths["encoder"], paths["decoder"], json_path)


def describe(model: AutoencoderModule, format: str, input_shape: tuple[int, ...], preprocessing: Rescaling | None,
             source: str | None) -> dict[str, Any]:
    """export.json: how to call the two graphs and what they give."""
    from aekit import __version__

    k = model.config.code_size
    code = ("the posterior mean mu of q(h|x), the code 'aekit encode' gives (a variational model)"
            if model.variational else "the code h = f(x), as 'aekit encode' gives it")
    recon = ("the reconstruction g(h) with the output sigmoid applied, in [0, 1]" if model.output == "sigmoid"
             else "the reconstruction g(h)")
    rescaled = " (in the rescaled space: see preprocessing)" if preprocessing is not None else ""
    description: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exporter": {"onnx": f"torch.onnx.export (dynamo), opset {OPSET}", "pt2": "torch.export"}[format],
        "torch_version": torch.__version__.split("+")[0],
        "aekit_version": __version__,
        "source": source,
        "encoder": {"file": f"encoder.{format}",
                    "input": {"name": "x", "shape": ["batch", *input_shape], "dtype": "float32"},
                    "output": {"name": "h", "shape": ["batch", k], "dtype": "float32", "is": code}},
        "decoder": {"file": f"decoder.{format}",
                    "input": {"name": "h", "shape": ["batch", k], "dtype": "float32"},
                    "output": {"name": "x_hat", "shape": ["batch", *input_shape], "dtype": "float32",
                               "is": recon + rescaled}},
        "variational": bool(model.variational),
        "code_size": k,
        "preprocessing": None,
    }
    if format == "onnx":
        description["opset"] = OPSET
    if preprocessing is not None:
        shift = "mean" if preprocessing.kind == "standard" else "low"  # the key preprocessing.json gives it
        description["preprocessing"] = {
            **preprocessing.to_json(),
            "where": f"inside encoder.{format}: x' = (x - {shift}) * scale, per feature (give the encoder raw rows)",
            "inverse": f"x = x_hat / scale + {shift} where scale > 0, else {shift} (maps the decoder's output back)",
        }
    return description


def export_run(run_dir: str | Path, out: str | Path, format: str = "onnx") -> Exported:
    """Export the model of a trained run folder, its rescaling included (see the module's docstring)."""
    from aekit.training.run_folder import load_run

    check_format(format)  # before loading anything: a wrong format or a missing extra is known at once
    require_extra(format)
    run = load_run(run_dir)
    return export_model(run.model, out, format, preprocessing=run.preprocessing, source=str(run_dir))


__all__ = ["FORMATS", "OPSET", "INSTALL", "EncoderGraph", "DecoderGraph", "Exported", "check_format", "describe",
           "export_model", "export_run", "require_extra"]
