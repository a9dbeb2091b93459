"""Glow: change of variables through logit, squeezes and steps, inversion, dequantized bits/dim, sampling."""
import math

import pytest
import torch

import genlab
from genlab.data.base import DataSpec
from genlab.models import create_model
from genlab.models.glow import squeeze, unsqueeze

TINY = {"num_scales": 2, "steps_per_scale": 2, "hidden_channels": 8}


def perturbed_glow(spec: DataSpec, scale: float = 0.2, seed: int = 0, **hparams):
    """A tiny Glow whose every parameter is moved off its initialisation."""
    torch.manual_seed(seed)
    model = create_model("glow", spec, **(TINY | hparams))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    return model.eval()


def continuous_pixels(n: int, shape=(1, 4, 4), seed: int = 1) -> torch.Tensor:
    """Flat points strictly inside (0, 1)^D, as dequantization gives."""
    return torch.rand(n, math.prod(shape), generator=torch.Generator().manual_seed(seed)) * 0.98 + 0.01


def test_log_det_matches_autograd_jacobian_through_logit_and_every_step():
    model = perturbed_glow(DataSpec((1, 4, 4), "gray8", 17)).double()
    y = continuous_pixels(4).double()
    z, log_det = model.forward_flow(y)
    for i in range(len(y)):
        jac = torch.autograd.functional.jacobian(lambda v: model.forward_flow(v[None])[0][0], y[i])  # (16, 16)
        sign, expected = torch.linalg.slogdet(jac)
        assert sign != 0
        assert float(log_det[i].detach()) == pytest.approx(float(expected), abs=1e-8)
    assert z.shape == (4, 16)


def test_inverse_undoes_forward():
    model = perturbed_glow(DataSpec((1, 8, 8), "gray8", 17), num_scales=3).double()
    y = continuous_pixels(50, (1, 8, 8)).double()
    with torch.no_grad():
        z, _ = model.forward_flow(y)
    assert torch.allclose(model.inverse_flow(z), y, atol=1e-8)
    x = torch.arange(4 * 3 * 6 * 10, dtype=torch.float32).view(4, 3, 6, 10)
    assert squeeze(x).shape == (4, 12, 3, 5) and torch.equal(unsqueeze(squeeze(x)), x)


def test_bits_per_dim_at_initialisation_by_hand(tiny_ds):
    """At initialisation ActNorm and the couplings are the identity and each 1×1 conv a rotation, so
    z is a rotation of the logit-transformed pixels and log p(y) has a closed form."""
    torch.manual_seed(0)
    model = create_model("glow", tiny_ds, **TINY).eval()
    x = tiny_ds.test.reshape(len(tiny_ds.test), -1)
    levels, alpha, d = tiny_ds.levels, model.config.alpha, x.shape[1]
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))  # the eval-mode dequantization noise
    s = alpha + (1 - 2 * alpha) * (x + u) / levels
    v = torch.log(s / (1 - s))
    log_p_y = (-0.5 * v**2 - 0.5 * math.log(2 * math.pi) + math.log(1 - 2 * alpha) - torch.log(s * (1 - s))).sum(1)
    log_p_x = log_p_y.double() - d * math.log(levels)
    expected_bits = float(-log_p_x.mean()) / (d * math.log(2))
    assert genlab.evaluate(model, tiny_ds)["bits_per_dim"] == pytest.approx(expected_bits, rel=1e-5)


def test_activation_normalisation_starts_from_the_data(tiny_ds):
    torch.manual_seed(0)
    model = create_model("glow", tiny_ds, **TINY)
    model.initialize(tiny_ds.train, tiny_ds.test, torch.Generator().manual_seed(0))
    y, _ = model.to_continuous(tiny_ds.train, torch.Generator().manual_seed(0))
    with torch.no_grad():
        h, _ = model.logit(y.view(-1, 1, 4, 4))
        h, _ = model.scales[0][0].actnorm(squeeze(h))
    assert torch.allclose(h.mean((0, 2, 3)), torch.zeros(4), atol=1e-4)
    assert torch.allclose(h.std((0, 2, 3)), torch.ones(4), atol=1e-3)


def test_training_lowers_held_out_bits_per_dim(tiny_ds):
    ds = tiny_ds
    model = create_model("glow", ds, learning_rate=3e-3, **TINY)
    assert model.log_prob_kind == "lower_bound"
    result = genlab.train(model, ds, seconds=20, max_steps=60, seed=0, report_every=0.0)
    first, last = result.metrics[0]["valid_bits_per_dim"], result.metrics[-1]["valid_bits_per_dim"]
    assert result.status == "finished" and last < first - 0.05
    assert model.encode(ds.test[:5]).shape == (5, 16)


def test_samples_are_in_the_view_and_seeded(tiny_ds):
    ds = tiny_ds
    model = perturbed_glow(ds.spec, scale=0.05)
    samples = model.sample(40, generator=torch.Generator().manual_seed(2))
    assert samples.shape == (40, 1, 4, 4)
    assert ((samples >= 0) & (samples <= ds.levels - 1) & (samples == samples.round())).all()
    assert torch.equal(samples, model.sample(40, generator=torch.Generator().manual_seed(2)))
    assert not torch.equal(samples, model.sample(40, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError):
        model.sample(5, temperature=0.0)


def test_sample_steps_switch_the_couplings_on_one_by_one(tiny_ds):
    model = perturbed_glow(tiny_ds.spec, scale=0.05)
    frames = model.sample_steps(6, temperature=0.8, generator=torch.Generator().manual_seed(4))
    assert len(frames) == 1 + 2 * 2  # no coupling on, then one more per frame
    assert frames[0][0].startswith("no coupling")
    final = model.sample(6, temperature=0.8, generator=torch.Generator().manual_seed(4))
    assert torch.equal(frames[-1][1], final)
    for _, images in frames:
        assert images.shape == (6, 1, 4, 4) and ((images >= 0) & (images <= tiny_ds.levels - 1)).all()
    few = model.sample_steps(6, generator=torch.Generator().manual_seed(4), max_frames=3)
    assert len(few) == 3 and few[0][0] == frames[0][0]


@pytest.mark.parametrize(("side", "scales"), [(8, 3), (28, 2), (6, 1)])
def test_scales_follow_what_the_image_size_allows(side, scales):
    model = create_model("glow", DataSpec((1, side, side), "binary", 2), num_scales=4, steps_per_scale=1,
                         hidden_channels=4)
    assert model.num_scales == scales
    assert sum(math.prod(shape) for shape in model.latent_shapes) == side * side


def test_odd_images_and_points_are_refused_in_plain_words():
    with pytest.raises(ValueError, match="even"):
        create_model("glow", DataSpec((1, 7, 7), "binary", 2))
    with pytest.raises(ValueError, match="not points"):
        create_model("glow", DataSpec((2,), "continuous"))
