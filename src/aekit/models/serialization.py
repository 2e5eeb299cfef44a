"""Save and load a model as a folder: ``model.safetensors`` (weights) and ``model.json`` (architecture).

No pickle anywhere (safetensors, Hugging Face 2022): loading a model can never run code. The JSON is
``AutoencoderModule.describe()``, from which :func:`load_model` rebuilds the architecture before reading
the weights into it. Both files are written atomically (temporary file, then rename). Every failure
to load is a :class:`WeightsError` of one line saying which file is wrong and how.

model.json's ``format`` names its layout: ``aekit.model/2`` holds the config of one encoder kind. Any other
version is refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aekit.config import from_dict
from aekit.errors import ConfigError, WeightsError
from aekit.io import atomic_write, atomic_write_text, read_json, refuse_links_out
from aekit.models.autoencoder import FORMAT, AutoencoderModule, build_model
from aekit.models.config import ModelConfig
from aekit.params import InstanceOf, Interval
from aekit.schema import Record, check, sample_shape, short

WEIGHTS = "model.safetensors"
ARCHITECTURE = "model.json"


def save_model(model: AutoencoderModule, directory: str | Path) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``directory`` (created); return it."""
    directory = Path(directory)
    # safetensors wants contiguous CPU tensors and no two names for one storage (tied weights are
    # held once by construction, see TiedMLPDecoder)
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in model.state_dict().items()}
    metadata = {"format": FORMAT}
    atomic_write(directory / WEIGHTS, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    atomic_write_text(directory / ARCHITECTURE, json.dumps(model.describe(), indent=2) + "\n")
    return directory


def load_model(directory: str | Path, device: str | torch.device = "cpu") -> AutoencoderModule:
    """The model saved by :func:`save_model` in ``directory``, on ``device``, in eval mode."""
    directory = Path(directory)
    json_path, weights_path = directory / ARCHITECTURE, directory / WEIGHTS
    if not directory.is_dir():
        raise WeightsError(f"Model directory {str(directory)!r} does not exist.")
    refuse_links_out(directory)
    for path in (json_path, weights_path):
        if not path.is_file():
            raise WeightsError(
                f"Model directory {str(directory)!r} has no {path.name}; save_model writes "
                f"{ARCHITECTURE} and {WEIGHTS} there."
            )
    description = read_description(json_path, FORMAT)
    model = build_checked(lambda: build_described(description, json_path), weights_path, ARCHITECTURE)
    load_weights(model, weights_path, ARCHITECTURE)
    return model.to(device).eval()


def build_checked(build: Callable[[], torch.nn.Module], weights_path: Path, architecture: str) -> torch.nn.Module:
    """``build()``, once the same architecture built on the meta device (shapes only, no memory) fits the
    header of ``weights_path``: a description that asks for more than its weights hold is refused before
    anything is allocated."""
    with torch.device("meta"):
        _check_fits(_header(weights_path), build(), weights_path.name, architecture)
    return build()


def load_weights(model: torch.nn.Module, weights_path: Path, architecture: str) -> None:
    """Read a safetensors file into ``model``, or say in one line why it cannot be done."""
    try:
        state = load_file(weights_path)
    except SafetensorError as error:
        raise WeightsError(
            f"{weights_path} is not a safetensors file ({error}); aekit reads only safetensors "
            f"(never pickles such as torch.save files): save weights with aekit.models.save_model."
        ) from None
    _check_fits(state, model, weights_path.name, architecture)
    model.load_state_dict(state)


def _header(weights_path: Path) -> dict[str, torch.Tensor]:
    """The tensors a safetensors file holds, as storage-free meta tensors of their shapes (header only)."""
    from safetensors import safe_open

    try:
        with safe_open(weights_path, "pt") as handle:
            return {k: torch.empty(handle.get_slice(k).get_shape(), device="meta") for k in handle.keys()}
    except (SafetensorError, OSError) as error:
        raise WeightsError(
            f"{weights_path} is not a safetensors file ({error}); aekit reads only safetensors "
            f"(never pickles such as torch.save files): save weights with aekit.models.save_model."
        ) from None


FIX = "Restore the file that save_model wrote, or train the model again."
# model.json (and the 'autoencoder' of classifier.json): AutoencoderModule.describe(); 'config' is checked field by field
# by ModelConfig itself when the model is built
MODEL_JSON = Record(required={"format": InstanceOf(str), "config": Record(), "sample_shape": sample_shape()},
                    optional={"output": InstanceOf(str), "parameters": Interval(int, 0, None),
                              "aekit_version": InstanceOf(str)})


def read_description(json_path: Path, expected_format: str) -> dict:
    """The JSON description of a saved model, checked for its format tag (``expected_format``)."""
    description = read_json(json_path, f"a model description (format {expected_format!r})", FIX, error=WeightsError)
    found = description.get("format")
    if found == expected_format:
        return description
    family = expected_format.rpartition("/")[0]
    if isinstance(found, str) and found.rpartition("/")[0] == family:
        raise WeightsError(
            f"{json_path} has format {found!r}, a version this aekit cannot read (it reads {expected_format}): it was "
            f"written by another aekit version; load it with that version, or upgrade aekit."
        )
    raise WeightsError(
        f"{json_path} is not an aekit model description: expected format {expected_format!r}, found {short(found)}."
    )


def build_described(description: dict, json_path: Path) -> AutoencoderModule:
    """The autoencoder an ``AutoencoderModule.describe()`` dict describes (weights not loaded)."""
    check(description, MODEL_JSON, str(json_path), FIX, WeightsError)
    config, shape = description["config"], description["sample_shape"]
    try:
        return build_model(from_dict(ModelConfig, config), shape, training=False)
    except ConfigError as error:
        raise WeightsError(f"{json_path} describes an architecture aekit cannot build: {error}") from None


def _check_fits(state: dict[str, torch.Tensor], model: torch.nn.Module, name: str, architecture: str) -> None:
    """Raise one line naming missing and unexpected keys and the first shape mismatch, if any."""
    expected = model.state_dict()
    problems = []
    missing = [k for k in expected if k not in state]
    unexpected = sorted(k for k in state if k not in expected)
    if missing:
        problems.append(f"missing keys {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {', '.join(unexpected)}")
    for key, tensor in expected.items():
        if key in state and state[key].shape != tensor.shape:
            problems.append(
                f"{key} has shape {tuple(state[key].shape)} in the file but {tuple(tensor.shape)} in the model"
            )
            break
    if problems:
        raise WeightsError(f"{name} does not fit the architecture in {architecture}: {'; '.join(problems)}.")
