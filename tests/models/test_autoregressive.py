"""Autoregressive families (FVSBN, NADE, MADE, PixelCNN): ordering, normalisation, sampling."""
import pytest
import torch

import genlab
from genlab.data.base import DataSpec
from genlab.models import create_model

TINY = {
    "fvsbn": {},
    "nade": {"hidden_units": 8},
    "made": {"hidden_units": 32, "hidden_layers": 2, "num_masks": 3},
    "pixelcnn": {"channels": 8, "residual_blocks": 2, "first_kernel": 3},
}
GRAY = ["made", "pixelcnn"]  # the families that also model grey levels
CASES = [(name, "binary") for name in TINY] + [(name, "gray8") for name in GRAY]


def spec_for(view: str, side: int) -> DataSpec:
    return DataSpec((1, side, side), view, 2 if view == "binary" else 3)


def perturbed(name: str, spec: DataSpec, scale: float = 0.5, seed: int = 0):
    """A tiny model whose every parameter is moved off its initialisation."""
    torch.manual_seed(seed)
    model = create_model(name, spec, **TINY[name])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    return model.eval()


def random_images(spec: DataSpec, n: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(spec.levels, (n, *spec.shape), generator=g).float()


def all_images(spec: DataSpec) -> torch.Tensor:
    """Every image of the spec, shape (levels^D, *shape)."""
    values = torch.arange(spec.levels, dtype=torch.float32)
    return torch.cartesian_prod(*[values] * spec.dim).reshape(-1, *spec.shape)


def positions(order: torch.Tensor) -> torch.Tensor:
    """Where each pixel comes in the ordering: positions[order[t]] = t."""
    return torch.empty_like(order).scatter_(0, order, torch.arange(len(order)))


@pytest.mark.parametrize("name,view", CASES)
def test_each_output_depends_only_on_earlier_pixels(name, view):
    spec = spec_for(view, 4)
    model = perturbed(name, spec)
    inputs = 3 * torch.randn(8, spec.dim, generator=torch.Generator().manual_seed(2))  # any real input: both signs
    for mask, order in enumerate(model.orders):
        touched = torch.zeros(spec.dim, spec.dim, dtype=torch.bool)  # touched[i, j]: d logits_i / d x_j != 0
        for x in inputs:  # a unit switched off by a ReLU at one point is on at another
            jac = torch.autograd.functional.jacobian(lambda v: model.flat_logits(v[None], mask)[0].sum(-1), x)
            touched |= jac != 0
        pos = positions(order)
        before = pos[None, :] < pos[:, None]  # before[i, j]: pixel j comes before pixel i
        assert not (touched & ~before).any(), (name, mask)
        assert (touched & before)[pos > 0].any(1).all(), (name, mask)  # every pixel but the first reads an earlier one


@pytest.mark.parametrize("name,view", CASES)
def test_probabilities_of_every_image_sum_to_one(name, view):
    spec = spec_for(view, 3) if view == "binary" else spec_for(view, 2)  # 512 or 81 images
    model = perturbed(name, spec)
    with torch.no_grad():
        total = model.log_prob(all_images(spec)).double().exp().sum()
    assert float(total) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("name,view", CASES)
def test_pixel_log_prob_sums_to_log_prob(name, view):
    spec = spec_for(view, 4)
    model = perturbed(name, spec)
    x = random_images(spec, 20)
    with torch.no_grad():
        per_pixel = model.pixel_log_prob(x)
        assert per_pixel.shape == x.shape
        assert torch.allclose(per_pixel.sum((1, 2, 3)), model.log_prob(x), atol=1e-4)
        assert (per_pixel <= 1e-6).all()  # a log-probability of a discrete value, mixtures included


@pytest.mark.parametrize("name,view", CASES)
def test_step_logits_match_the_full_pass(name, view):
    """The cheap per-pixel updates used while sampling give the same conditionals as flat_logits."""
    spec = spec_for(view, 9) if name == "pixelcnn" else spec_for(view, 4)  # 9×9: windows smaller than the image
    model = perturbed(name, spec)
    x = random_images(spec, 5).reshape(5, -1)
    with torch.no_grad():
        for mask, order in enumerate(model.orders):
            full = model.flat_logits(x, mask)  # (N, D, K)
            step = model.next_logits_fn(torch.full((5,), mask))
            for t, i in enumerate(order.tolist()):
                assert torch.allclose(step(x, t, torch.full((5,), i)), full[:, i], atol=1e-5), (mask, t)


@pytest.mark.parametrize("name,view", CASES)
def test_samples_are_seeded_in_the_view_and_fill_in_pixel_by_pixel(name, view):
    spec = spec_for(view, 4)
    model = perturbed(name, spec)
    samples = model.sample(30, generator=torch.Generator().manual_seed(3))
    assert samples.shape == (30, *spec.shape)
    assert ((samples >= 0) & (samples <= spec.levels - 1) & (samples == samples.round())).all()
    assert torch.equal(samples, model.sample(30, generator=torch.Generator().manual_seed(3)))
    model.train()  # sampling switches dropout off: the generator alone decides
    assert torch.equal(samples, model.sample(30, generator=torch.Generator().manual_seed(3)))
    assert model.training
    model.eval()
    assert not torch.equal(samples, model.sample(30, generator=torch.Generator().manual_seed(4)))
    frames = model.sample_steps(30, generator=torch.Generator().manual_seed(3), max_frames=5)
    assert len(frames) <= 5
    assert frames[-1][0] == f"pixel {spec.dim} / {spec.dim}"
    assert torch.equal(frames[-1][1], samples)
    for caption, frame in frames:
        drawn = int(caption.split()[1])
        assert frame.shape == samples.shape
        assert ((frame != 0).flatten(1).sum(1) <= drawn).all()  # pixels not yet drawn are 0
    with pytest.raises(ValueError):
        model.sample(2, temperature=0.0)


def test_low_temperature_sharpens_samples():
    spec = spec_for("binary", 4)
    model = perturbed("fvsbn", spec, scale=1.0)
    x = model.sample(400, generator=torch.Generator().manual_seed(5))
    cold = model.sample(400, temperature=0.1, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert model.log_prob(cold).mean() > model.log_prob(x).mean()


def test_made_masks_use_different_orderings_and_sampling_mixes_them():
    model = perturbed("made", spec_for("binary", 4))
    assert torch.equal(model.orders[0], torch.arange(16))
    assert len({tuple(o.tolist()) for o in model.orders}) == 3
    choice = model.choose_orders(300, torch.Generator().manual_seed(0))
    assert set(choice.tolist()) == {0, 1, 2}


def test_pixelcnn_refuses_an_even_first_kernel():
    with pytest.raises(ValueError, match="odd"):
        create_model("pixelcnn", spec_for("binary", 4), first_kernel=4)


def correlated_images(n: int, seed: int) -> torch.Tensor:
    """4×4 binary images whose pixels depend on each other: noisy copies of two stripe patterns."""
    g = torch.Generator().manual_seed(seed)
    stripes = torch.tensor([[1.0, 0.0, 1.0, 0.0]]).repeat(4, 1)
    patterns = torch.stack([stripes, stripes.T]).reshape(2, 1, 4, 4)
    x = patterns[torch.randint(2, (n,), generator=g)]
    return torch.where(torch.rand(x.shape, generator=g) < 0.05, 1 - x, x)


@pytest.mark.parametrize("name", list(TINY))
def test_training_beats_independent_pixels(name):
    ds = genlab.from_tensors(correlated_images(400, 0), correlated_images(200, 1), view="binary")
    model = create_model(name, ds, **TINY[name])
    result = genlab.train(model, ds, seconds=10, max_steps=150, seed=0, report_every=0.0)
    assert result.status == "finished"
    first = result.metrics[0]["valid_nll_nats"]  # after one step from the independent-pixel start
    assert min(r["valid_nll_nats"] for r in result.metrics) < first - 1.0
    out = genlab.evaluate(model, ds)
    assert out["log_prob_kind"] == "exact" and out["bits_per_dim"] > 0
    if model.can("encode"):
        assert model.encode(ds.test[:5]).shape[0] == 5
