"""Corruptions of denoising autoencoders: their statistics, their one source of randomness, their
config entries, and the Trainer feeding the corrupted input to the model while scoring the clean one."""

import math

import pytest
import torch

from aekit.data.corruption import Gaussian, Masking, SaltAndPepper
from aekit.errors import ConfigError, DataError
from aekit.models import ModelConfig, build_model
from aekit.objectives import CrossEntropy
from aekit.registry import available, get
from aekit.training.run_config import make_config
from aekit.training.trainer import TrainConfig, Trainer

N = 200_000  # entries per statistics check: the sd of a fraction estimate is below 0.1 point


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def positive(shape=(N // 100, 100), seed=1):
    """Values in [0.1, 0.9]: never 0 or 1, so every masked / salted / peppered entry changes."""
    return 0.1 + 0.8 * torch.rand(shape, generator=gen(seed))


def test_the_three_corruptions_are_registered():
    assert set(available("corruption")) >= {"gaussian", "masking", "salt_and_pepper"}
    assert get("corruption", "masking") is Masking


@pytest.mark.parametrize("nu", [0.1, 0.25, 0.5])
def test_masking_zeroes_a_fraction_nu_and_keeps_the_rest(nu):
    x = positive()
    x_tilde = Masking(nu)(x, gen())
    zeroed = x_tilde == 0
    assert zeroed.float().mean().item() == pytest.approx(nu, abs=0.005)
    assert torch.equal(x_tilde[~zeroed], x[~zeroed])


@pytest.mark.parametrize("nu", [0.1, 0.3])
def test_salt_and_pepper_sets_a_fraction_nu_to_0_or_1_with_equal_probability(nu):
    x = positive()
    x_tilde = SaltAndPepper(nu)(x, gen())
    salt, pepper = (x_tilde == 1).float().mean().item(), (x_tilde == 0).float().mean().item()
    assert salt + pepper == pytest.approx(nu, abs=0.005)
    assert salt == pytest.approx(nu / 2, abs=0.004) and pepper == pytest.approx(nu / 2, abs=0.004)
    kept = (x_tilde != 0) & (x_tilde != 1)
    assert torch.equal(x_tilde[kept], x[kept])


@pytest.mark.parametrize("sigma", [0.1, 0.5])
def test_gaussian_adds_zero_mean_noise_of_sd_sigma(sigma):
    x = positive()
    noise = Gaussian(sigma)(x, gen()) - x
    assert noise.mean().item() == pytest.approx(0.0, abs=0.005)
    assert noise.std().item() == pytest.approx(sigma, rel=0.01)


def test_gaussian_clip_keeps_values_in_the_unit_interval_and_is_off_by_default():
    x = torch.zeros(N // 100, 100)
    unclipped = Gaussian(0.3)(x, gen())
    assert unclipped.min() < 0 and Gaussian(0.3).clip is False
    clipped = Gaussian(0.3, clip=True)(x, gen())
    assert clipped.min() >= 0 and clipped.max() <= 1
    # on 0-pixels clipping keeps the positive half: mean sigma / sqrt(2 pi), as documented
    assert clipped.mean().item() == pytest.approx(0.3 / math.sqrt(2 * math.pi), rel=0.02)
    assert torch.equal(clipped, unclipped.clamp(0, 1))  # same draw, then clipped


@pytest.mark.parametrize("name", ["gaussian", "masking", "salt_and_pepper"])
def test_level_zero_leaves_x_unchanged(name):
    x = positive((8, 1, 5, 5))
    assert torch.equal(get("corruption", name)(0.0)(x, gen()), x)


CORRUPTIONS = [Gaussian(0.3), Gaussian(0.3, clip=True), Masking(0.25), SaltAndPepper(0.25)]


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=repr)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype_are_kept_and_x_is_not_modified(corruption, dtype):
    x = positive((4, 1, 6, 6)).to(dtype)
    before = x.clone()
    x_tilde = corruption(x, gen())
    assert x_tilde.shape == x.shape and x_tilde.dtype == dtype
    assert torch.equal(x, before)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=repr)
def test_same_generator_state_same_noise_next_batch_fresh_noise(corruption):
    x = positive((16, 50))
    g = gen(7)
    first, second = corruption(x, g), corruption(x, g)
    assert not torch.equal(first, second)  # the generator advanced: a new batch gets new noise
    g = gen(7)
    assert torch.equal(corruption(x, g), first) and torch.equal(corruption(x, g), second)
    assert not torch.equal(corruption(x, gen(8)), first)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=repr)
def test_noise_comes_from_the_given_generator_only(corruption):
    x = positive((16, 50))
    torch.manual_seed(0)
    a = corruption(x, gen(3))
    torch.manual_seed(1)  # the global generator must not matter
    assert torch.equal(corruption(x, gen(3)), a)
    state = torch.get_rng_state()
    corruption(x, gen(3))
    assert torch.equal(torch.get_rng_state(), state)  # and must not be consumed


@pytest.mark.parametrize(
    "name, level, allowed",
    [("masking", 1.5, r"\[0, 1\]"), ("masking", -0.1, r"\[0, 1\]"),
     ("salt_and_pepper", 2, r"\[0, 1\]"), ("gaussian", -0.3, r"\[0, inf\)")],
)
def test_a_bad_level_names_the_parameter_the_range_and_the_value(name, level, allowed):
    field = "std" if name == "gaussian" else "fraction"
    pattern = rf"The 'corruption\.{name}\.{field}' parameter must be a float in the range {allowed}\. Got {level} instead\."
    with pytest.raises(ConfigError, match=pattern):
        get("corruption", name)(level)  # in Python
    with pytest.raises(ConfigError, match=pattern):
        make_config(overrides=[f"corruption.{name}={level}"])  # and from a config: the same words


def test_gaussian_clip_must_be_a_bool():
    with pytest.raises(ConfigError, match=r"'corruption\.gaussian\.clip' parameter must be an instance of 'bool'"):
        make_config(overrides=["corruption.gaussian={std: 0.3, clip: 3}"])


def test_an_integer_tensor_is_refused_with_the_fix():
    with pytest.raises(DataError, match=r"masking corruption takes a floating-point tensor.*torch.uint8.*x.float\(\) / 255"):
        Masking(0.25)(torch.zeros(2, 3, dtype=torch.uint8), gen())


def test_run_config_builds_corruptions_from_a_level_or_a_mapping():
    parts = make_config(overrides=["corruption.gaussian=0.3"]).corruptor().parts
    assert parts == [Gaussian(std=0.3, clip=False)]
    parts = make_config(overrides=["corruption={masking: 0.25}"]).corruptor().parts
    assert parts == [Masking(fraction=0.25)]
    parts = make_config(overrides=["corruption.gaussian={std: 0.1, clip: true}"]).corruptor().parts
    assert parts == [Gaussian(std=0.1, clip=True)]


class Spy:
    """An objective that records what the Trainer gave it and what the encoder received."""

    def __init__(self):
        self.seen = []

    def __call__(self, batch, out, model):
        self.seen.append({"x": batch["x"].clone(), "x_tilde": batch["x_tilde"].clone()})
        return {}


def test_trainer_feeds_the_corrupted_input_to_the_encoder_and_scores_the_clean_one():
    torch.manual_seed(0)
    x = positive((24, 12))
    model = build_model(ModelConfig.of_kind(hidden=[8], code_size=4, output="sigmoid"), (12,))
    encoder_inputs = []
    model.encoder.register_forward_pre_hook(lambda module, args: encoder_inputs.append(args[0].clone()))
    spy, bce = Spy(), CrossEntropy()
    recon_targets = []

    def recording_bce(batch, out, m):
        recon_targets.append(batch["x"].clone())
        return bce(batch, out, m)

    trainer = Trainer(model, [recording_bce, spy], TrainConfig(epochs=1, batch_size=8), corruption=Masking(0.5), seed=3)
    trainer.fit(x)
    assert len(spy.seen) == 3 and len(encoder_inputs) == 3
    rows = {tuple(r.tolist()) for r in x}
    replay = torch.Generator().manual_seed(3)
    order = torch.randperm(len(x), generator=replay)  # the trainer draws the batch order first
    for i, (seen, fed, target) in enumerate(zip(spy.seen, encoder_inputs, recon_targets)):
        assert all(tuple(r.tolist()) in rows for r in seen["x"])  # the target is clean training data
        assert torch.equal(target, seen["x"])
        assert torch.equal(fed, seen["x_tilde"])  # the encoder received x_tilde
        masked = fed == 0
        assert 0.3 < masked.float().mean() < 0.7 and torch.equal(fed[~masked], seen["x"][~masked])
        # and x_tilde is exactly the corruption of this batch, drawn from the trainer's generator
        if i == 0:
            assert torch.equal(seen["x"], x[order[:8]])
            assert torch.equal(fed, Masking(0.5)(seen["x"], replay))
    # evaluation uses clean inputs: corruption is for training only
    spy.seen.clear()
    encoder_inputs.clear()
    trainer.evaluate(x)
    assert torch.equal(encoder_inputs[0], x) and torch.equal(spy.seen[0]["x_tilde"], x)


def test_shift_moves_each_image_by_at_most_the_given_pixels_and_fills_with_zeros():
    from aekit.data.corruption import Shift

    x = torch.zeros(200, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0  # one lit pixel in the centre of every image
    moved = Shift(2)(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and torch.equal(moved.sum((1, 2, 3)), torch.ones(200))  # nothing lost at 2 px
    where = torch.stack([(m[0] == 1).nonzero()[0] for m in moved]) - 4  # (200, 2) offsets
    assert where.abs().max() == 2
    assert {tuple(o) for o in where.tolist()} == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}
    again = Shift(2)(x, torch.Generator().manual_seed(0))
    assert torch.equal(moved, again)  # the generator alone decides
    edge = torch.zeros(50, 1, 5, 5)
    edge[:, 0, 0, :] = 1.0  # the top row: shifting up pushes it out, zeros come in
    out = Shift(1)(edge, torch.Generator().manual_seed(1))
    assert out.sum((1, 2, 3)).min() < 5 and out.max() == 1.0


def test_shift_needs_images():
    from aekit.data.corruption import Shift

    with pytest.raises(DataError, match=r"shift corruption moves images \(B, C, H, W\); got a tensor of shape \(4, 12\)"):
        Shift(1)(torch.zeros(4, 12), torch.Generator())
