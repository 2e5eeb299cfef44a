"""A decoder written out as plain operations decodes as the model does: every registered encoder kind on
each sample shape it declares, deterministic and variational, both outputs, tied weights and every
activation; a decoder it cannot read is refused in one line, never shown wrong."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from aekit.analysis.decoder_program import TOLERANCE, decoder_program, run_program
from aekit.errors import ConfigError
from aekit.models import build_model
from aekit.registry import available, get

KINDS = available("encoder")


def _model(kind, shape, **settings):
    torch.manual_seed(0)
    config = {"kind": kind, **get("encoder", kind).example, "code_size": 3, **settings}
    return build_model(config, shape).eval()


def _gap(model, n=6):
    h = np.random.default_rng(1).normal(size=(n, model.config.code_size)).astype(np.float32) * 2
    with torch.no_grad():
        expected = model.decode(torch.from_numpy(h)).numpy().reshape(n, -1)
    return float(np.abs(run_program(decoder_program(model), h) - expected).max())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("output", ["sigmoid", "identity"])
@pytest.mark.parametrize("variational", [False, True])
def test_every_encoder_kind_decodes_as_its_model(kind, output, variational):
    for shape in get("encoder", kind).example_shapes:
        assert _gap(_model(kind, shape, output=output, variational=variational)) < 1e-6, shape


@pytest.mark.parametrize("activation", available("activation"))
def test_every_activation_and_tied_weights(activation):
    assert _gap(_model("mlp", (12,), output="identity", activation=activation, tied=True)) < 1e-6
    assert _gap(_model("conv", (1, 7, 5), output="identity", activation=activation, channels=[3, 2],
                       kernel_size=4)) < 1e-6


def test_the_program_holds_the_output_sigmoid_and_the_transposed_weights_of_a_tied_decoder():
    model = _model("mlp", (12,), output="sigmoid", tied=True, hidden=[5])
    ops = decoder_program(model)
    assert [op["op"] for op in ops] == ["linear", "activation", "linear", "activation"]
    assert ops[-1]["name"] == "sigmoid"
    assert np.array_equal(ops[0]["weight"], model.encoder.head.linear.weight.detach().numpy().T)  # W' = W^T


def test_a_decoder_it_cannot_read_is_refused():
    model = _model("mlp", (12,), output="identity")
    model.decoder.net.append(nn.Softplus())  # no such operation in the page
    with pytest.raises(ConfigError, match="cannot run"):
        decoder_program(model)


def test_a_misread_decoder_is_caught_by_the_check_against_decode():
    model = _model("mlp", (12,), output="identity")

    class Doubled(type(model.decoder)):
        def forward(self, h):
            return 2 * super().forward(h)

    model.decoder.__class__ = Doubled  # reads as an MLPDecoder, decodes otherwise
    with pytest.raises(ConfigError, match=f"at most {TOLERANCE:g}"):
        decoder_program(model)
