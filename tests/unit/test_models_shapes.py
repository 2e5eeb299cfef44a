"""Shapes and small facts of the models layer: every registered encoder/decoder (``available("encoder")``,
each from the small example its config declares) over a grid of options, activation derivatives
against autograd, tied weights, one short training run per option, and the config errors a user
meets first."""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch.nn import functional as F

from aekit.config import from_dict, to_dict
from aekit.errors import ConfigError, DataError
from aekit.models import AutoencoderModule, ConvConfig, MLPConfig, ModelConfig, build_model
from aekit.models.config import field_names, own_fields
from aekit.registry import available, get

torch.set_num_threads(1)

ACTIVATIONS = available("activation")
ENCODERS = available("encoder")
CODE_SIZES = [2, 40]  # undercomplete and overcomplete for the example shapes (d >= 12, d < 40 for some)


def model_for(sample_shape, kind="mlp", **overrides) -> AutoencoderModule:
    """A model of ``kind`` from its config's example settings, with ``overrides``."""
    options = {"kind": kind, "code_size": 4, **get("encoder", kind).example, "output": "identity", **overrides}
    return build_model(options, sample_shape)


def example_shape(kind):
    return get("encoder", kind).example_shapes[0]


GRID = [
    pytest.param(kind, {}, act, k, shape, id=f"{kind}-{act}-k{k}-{shape}")
    for kind in ENCODERS for act in ACTIVATIONS for k in CODE_SIZES for shape in get("encoder", kind).example_shapes
] + [  # the options of one kind
    pytest.param("mlp", {"tied": True}, act, k, shape, id=f"mlp-tied-{act}-k{k}-{shape}")
    for act in ACTIVATIONS for k in CODE_SIZES for shape in MLPConfig.example_shapes
] + [
    pytest.param("conv", {}, act, k, shape, id=f"conv-{act}-k{k}-{shape}")
    for act in ("relu", "sigmoid") for k in CODE_SIZES for shape in [(1, 28, 28), (3, 32, 32)]
]


@pytest.mark.parametrize("kind, options, activation, code_size, sample_shape", GRID)
def test_encoder_and_decoder_shapes(kind, options, activation, code_size, sample_shape):
    torch.manual_seed(0)
    model = model_for(sample_shape, kind=kind, activation=activation, code_activation=activation,
                      code_size=code_size, **options)
    x = torch.rand(3, *sample_shape)
    h = model.encode(x)
    assert h.shape == (3, code_size)
    assert torch.equal(model.encoder.head(model.encoder.body(x)), h)  # body + head is the encoder
    low, high = get("activation", activation).range
    assert low <= h.min() and h.max() <= high
    assert model.decode_raw(h).shape == (3, *sample_shape)
    assert model.decode(h).shape == (3, *sample_shape)
    # flat input: same code, output in the input's layout
    flat = x.reshape(3, -1)
    assert torch.equal(model.encode(flat), h)
    assert model(flat)["x_hat"].shape == flat.shape
    assert model.reconstruct(flat).shape == flat.shape


@pytest.mark.parametrize("sample_shape", [(1, 5, 7), (2, 9, 4), (1, 1, 1), (1, 28, 28)])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("channels", [[], [3], [3, 4, 5]])
def test_conv_output_is_exactly_the_input_size(sample_shape, kernel_size, channels):
    model = model_for(sample_shape, kind="conv", kernel_size=kernel_size, channels=channels)
    x = torch.rand(2, *sample_shape)
    assert model(x)["x_hat"].shape == x.shape


@pytest.mark.parametrize("kind", ENCODERS)
@pytest.mark.parametrize("output, key", [("sigmoid", "logits"), ("identity", "x_hat")])
def test_forward_keys_and_output_map(kind, output, key):
    torch.manual_seed(0)
    sample_shape = example_shape(kind)
    model = model_for(sample_shape, kind=kind, output=output)
    x = torch.rand(4, *sample_shape)
    out = model(x)
    assert set(out) == {"h", key}
    raw = model.decode_raw(out["h"])
    assert torch.equal(out[key], raw)  # forward never applies the output sigmoid
    expected = torch.sigmoid(raw) if output == "sigmoid" else raw
    assert torch.equal(model.decode(out["h"]), expected)
    assert torch.equal(model.reconstruct(x), expected)


def test_empty_hidden_is_one_affine_layer_each_way():
    model = model_for((6,), "mlp", hidden=[], code_size=3)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 3), (3, 6)]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_derivative_matches_autograd(name):
    activation = get("activation", name)
    torch.manual_seed(0)
    pre = torch.cat([torch.randn(200) * 4, torch.tensor([0.0, -30.0, 30.0])]).double().requires_grad_()
    out = activation.module().double()(pre)
    (autograd,) = torch.autograd.grad(out.sum(), pre)
    assert torch.allclose(activation.derivative(pre.detach()), autograd, atol=1e-12)
    assert torch.equal(activation(pre.detach()), out.detach())  # the function is the module's


def test_activation_ranges_tell_unit_interval_codes():
    assert [n for n in ACTIVATIONS if get("activation", n).unit_interval] == ["sigmoid"]
    assert get("activation", "tanh").range == (-1.0, 1.0)
    assert isinstance(get("activation", "linear").module(), torch.nn.Identity)
    assert get("activation", "relu").module() is not get("activation", "relu").module()  # fresh


def test_tied_decoder_uses_the_transposed_encoder_weights():
    torch.manual_seed(0)
    model = model_for((7,), hidden=[5], code_size=3, tied=True)
    w1, w2 = model.encoder.body[1].weight, model.encoder.head.linear.weight  # (5, 7), (3, 5)
    b = list(model.decoder.biases)
    h = torch.randn(4, 3)
    expected = F.linear(torch.relu(F.linear(h, w2.t(), b[0])), w1.t(), b[1])  # (B, 7)
    assert torch.allclose(model.decode_raw(h), expected)
    before = model.decode_raw(h)
    with torch.no_grad():
        w1[0, 0] += 1.0
    assert not torch.equal(model.decode_raw(h), before)
    # the decoder's gradient reaches the encoder's weights
    model.decode_raw(h).sum().backward()
    assert w1.grad is not None and w1.grad.abs().sum() > 0


def test_tied_weights_are_stored_once():
    tied, untied = model_for((7,), hidden=[5, 4], tied=True), model_for((7,), hidden=[5, 4], tied=False)
    state = tied.state_dict()
    pointers = [t.data_ptr() for t in state.values()]
    assert len(pointers) == len(set(pointers))
    assert not any(name.startswith("decoder") and name.endswith("weight") for name in state)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    weights = 7 * 5 + 5 * 4 + 4 * 4  # encoder weight matrices, shared instead of duplicated
    assert count(tied) == count(untied) - weights


OPTIONS = [
    pytest.param(dict(kind=kind, activation=act, output=out), example_shape(kind), id=f"{kind}-{act}-{out}")
    for kind in ENCODERS for act in ACTIVATIONS for out in ("sigmoid", "identity")
] + [
    pytest.param(dict(kind="mlp", activation=act, tied=True, output=out), (10,), id=f"mlp-{act}-tied-{out}")
    for act in ACTIVATIONS for out in ("sigmoid", "identity")
] + [
    pytest.param(dict(kind="mlp", hidden=[], code_activation="sigmoid", output="identity"), (10,), id="mlp-affine"),
]


@pytest.mark.parametrize("options, sample_shape", OPTIONS)
def test_every_option_trains(options, sample_shape):
    torch.manual_seed(0)
    model = model_for(sample_shape, **options)
    x = torch.rand(8, *sample_shape)
    if model.output == "sigmoid":
        x = x.round()  # binary targets: the BCE floor is 0, so a 5% fall is a real requirement
    loss_fn = F.binary_cross_entropy_with_logits if model.output == "sigmoid" else F.mse_loss
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    for _ in range(30):
        out = model(x)
        loss = loss_fn(out["logits" if model.output == "sigmoid" else "x_hat"], x)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.95 * losses[0], losses


# config errors -----------------------------------------------------------------------------------


def test_code_size_zero_names_parameter_range_and_value():
    message = "The 'code_size' parameter must be a str among {'auto'} or an int in the range [1, 2147483647]. Got 0 instead."
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_dict(ModelConfig, {"kind": "mlp", "code_size": 0})
    with pytest.raises(ConfigError, match=re.escape("The 'model.code_size' parameter must be")):
        from_dict(ModelConfig, {"code_size": 0}, prefix="model.")


@pytest.mark.parametrize("data, pattern", [
    ({"hidden": [8, 0]}, r"The 'hidden' parameter must be a list of .*Got \[8, 0\] instead\."),
    ({"kind": "conv", "kernel_size": 0}, r"The 'kernel_size' parameter must be an int in the range \[1, 2147483647\]\. Got 0"),
    ({"tied": "yes"}, r"The 'tied' parameter must be an instance of 'bool'\. Got 'yes' instead\."),
    ({"output": "softmax"}, r"The 'output' parameter must be a str among \{'auto', 'sigmoid', 'identity'\}"),
    ({"activation": "foo"}, r"Unknown activation 'foo'\. Available: elu, leaky_relu, linear, relu, sigmoid, "
                            r"tanh\. \(parameter 'activation' of ModelConfig\)"),
    ({"code_activation": "foo"}, r"Unknown activation 'foo'\. Available: .*\(parameter 'code_activation'"),
    ({"kind": "rnn"}, r"Unknown encoder 'rnn'\. Available: conv, mlp\. \(parameter 'kind'"),
    ({"kind": "conv", "tied": True}, r"The key 'tied' belongs to kind 'mlp'; kind 'conv' takes kind, .*channels, "
                                     r"kernel_size\. Remove 'tied', or set kind: mlp\."),
    ({"hidden": [8], "variational": True, "tied": True}, r"tied weights and variational: true cannot be combined"),
])
def test_config_errors(data, pattern):
    with pytest.raises(ConfigError, match=pattern):
        from_dict(ModelConfig, data)


def test_build_refuses_unresolved_output():
    with pytest.raises(ConfigError, match=r"The 'output' parameter of ModelConfig is still 'auto'; resolve it"):
        build_model(ModelConfig.of_kind(), (4,))


def test_conv_needs_images():
    with pytest.raises(ConfigError, match=r"kind 'conv' needs image data shaped \(C, H, W\); got samples of "
                                          r"shape \(784,\)\. Use kind 'mlp'"):
        build_model({"kind": "conv", "output": "sigmoid"}, (784,))


@pytest.mark.parametrize("sample_shape", [(), (0, 3), [2.5], "28"])
def test_bad_sample_shape(sample_shape):
    with pytest.raises(ConfigError, match=r"The 'sample_shape' of a model must be a non-empty tuple of positive"):
        build_model({"output": "identity"}, sample_shape)


def test_wrong_input_shape_is_explained():
    model = model_for((1, 5, 7))
    with pytest.raises(DataError, match=re.escape("takes batches shaped (B, 1, 5, 7) or flat (B, 35); got a "
                                                  "tensor of shape (1, 5, 7)")):
        model.encode(torch.zeros(1, 5, 7))


def test_model_keeps_its_own_copy_of_the_config():
    config = MLPConfig(hidden=[8], code_size=3, output="identity")
    model = build_model(config, (6,))
    config.hidden.append(99)
    assert model.describe()["config"]["hidden"] == [8]
    assert model.describe()["parameters"] == sum(p.numel() for p in model.parameters())
    assert math.prod(model.sample_shape) == model.n_features == 6


# each encoder kind has its own config ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ENCODERS)
def test_every_registered_encoder_is_a_config_that_builds_its_examples(kind):
    cls = get("encoder", kind)
    assert isinstance(cls, type) and issubclass(cls, ModelConfig) and cls is not ModelConfig
    assert cls().kind == kind  # its default kind is the name it is registered under
    assert set(field_names(ModelConfig)) <= set(field_names(cls))
    assert cls.example_shapes, f"{cls.__name__} declares no example_shapes for the contract tests"
    for shape in cls.example_shapes:
        config = from_dict(ModelConfig, {"kind": kind, **cls.example, "code_size": 3, "output": "identity"})
        assert type(config) is cls
        model = build_model(config, shape)
        assert model.encode(torch.rand(2, *shape)).shape == (2, 3)
        assert isinstance(config.affine, bool) and isinstance(config.hidden_layers, int)
        assert to_dict(model.config) == to_dict(config)  # to_dict writes this kind's keys only
        assert set(to_dict(config)) == set(field_names(cls))


def test_a_mapping_or_a_kind_name_picks_the_config_of_its_kind():
    assert type(from_dict(ModelConfig, {})) is MLPConfig  # the default kind
    assert type(from_dict(ModelConfig, {"kind": "conv", "channels": [4]})) is ConvConfig
    assert type(ModelConfig.of_kind(hidden=[8], code_size=3)) is MLPConfig  # as a YAML section reads
    with pytest.raises(TypeError, match=r"ModelConfig holds what every encoder kind shares; build a kind's config"):
        ModelConfig(code_size=3)  # never quietly a subclass
    conv = ModelConfig.of_kind(kind="conv", channels=[4], code_size=3)
    assert type(conv) is ConvConfig and conv.channels == [4]
    assert to_dict(conv) == {"kind": "conv", "code_size": 3, "activation": "relu", "code_activation": "linear",
                             "variational": False, "output": "auto", "channels": [4], "kernel_size": 3}
    assert own_fields(MLPConfig) == ["hidden", "tied"] and own_fields(conv) == ["channels", "kernel_size"]
    assert not hasattr(conv, "tied") and not hasattr(conv, "hidden")  # tied exists where an encoder supports it


@pytest.mark.parametrize("data, pattern", [
    ({"kind": "conv", "hidden": [256]}, r"The key 'model\.hidden' belongs to kind 'mlp'; kind 'conv' takes model\.kind, "
                                        r"model\.code_size, .*model\.channels, model\.kernel_size\. Remove "
                                        r"'model\.hidden', or set model\.kind: mlp\."),
    ({"channels": [8]}, r"The key 'model\.channels' belongs to kind 'conv'; kind 'mlp' takes .*model\.hidden, "
                        r"model\.tied\."),
    ({"kind": 3}, r"The 'model\.kind' parameter must be an instance of 'str'\. Got 3 instead\."),
    ({"kind": "mlp", "width": 3}, r"Unknown config key 'model\.width' in section 'model'\. Valid keys: model\.kind, "),
])
def test_a_key_of_another_kind_names_the_kind_it_belongs_to(data, pattern):
    with pytest.raises(ConfigError, match=pattern):
        from_dict(ModelConfig, data, prefix="model.")


def test_a_config_of_one_kind_cannot_claim_another():
    with pytest.raises(ConfigError, match=r"ConvConfig is the config of kind 'conv'; got kind 'mlp'\. Build MLPConfig"):
        build_model(ConvConfig(kind="mlp", code_size=3, output="identity"), (1, 6, 6))
    with pytest.raises(ConfigError, match=r"The key 'channels' belongs to kind 'conv'"):
        ModelConfig.of_kind(kind="mlp", channels=[4])


@pytest.mark.parametrize("config, affine", [
    (MLPConfig(hidden=[], activation="relu", output="identity"), True),
    (MLPConfig(hidden=[8], activation="linear", output="identity"), True),
    (MLPConfig(hidden=[8], activation="relu", output="identity"), False),
    (MLPConfig(hidden=[], output="sigmoid"), False),
    (ConvConfig(channels=[], activation="relu", output="identity"), True),
    (ConvConfig(channels=[4], activation="relu", output="identity"), False),
])
def test_affine_asks_the_kind_for_its_hidden_layers(config, affine):
    assert config.affine is affine
