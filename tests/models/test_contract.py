"""The contract every registered family answers, on every kind of data it declares it fits.

Each family is built small on tiny data (2-D toy points, 4×4 binary and 5-level gray images),
set up by `initialize`, and asked the questions the app and the CLI ask: log p (finite, one
number per item, of the declared kind; exact ones sum to 1), samples (in the view's domain,
on the model's device, repeatable with a generator), encode where declared, temperature and
count checks, and the same answers after a move to another device and back.
"""
import copy
import functools
import math

import numpy as np
import pytest
import torch

import genlab
from genlab.data.base import from_tensors
from genlab.models import fits
from genlab.models.base import DensityModel

N = 6  # samples per draw
BAD_TEMPERATURES = [0.0, -1.0, math.nan, math.inf, "warm"]
BAD_COUNTS = [0, -2, 2.5, math.inf, True, "2"]
KINDS = {"exact", "lower_bound", "estimate", "unnormalized", None}

# small enough that the whole file runs in seconds; a family not listed is built with its defaults
TINY = {
    "bernoulli-mixture": {"num_components": 3, "max_iterations": 5},
    "ddpm": {"timesteps": 10, "sampling_steps": 5, "hidden_units": 16, "hidden_layers": 1},
    "ebm": {"hidden_units": 16, "hidden_layers": 1, "sampling_steps": 5, "langevin_steps": 2, "buffer_size": 50},
    "gan": {"hidden_units": 16, "hidden_layers": 1},
    "glow": {"num_scales": 1, "steps_per_scale": 2, "hidden_channels": 8},
    "gmm": {"num_components": 3},
    "kde": {"num_bandwidths": 4},
    "made": {"num_masks": 2, "hidden_units": 16},
    "nade": {"hidden_units": 8},
    "nsf": {"num_layers": 2, "hidden_units": 16, "hidden_layers": 1},
    "pixelcnn": {"channels": 8, "first_kernel": 3, "residual_blocks": 1},
    "realnvp": {"num_layers": 2, "hidden_units": 16, "hidden_layers": 1},
    "vae": {"latent_dim": 2, "hidden_units": 16, "hidden_layers": 1, "iw_samples": 4},
    "wgan-gp": {"hidden_units": 16, "hidden_layers": 1},
}


@functools.cache
def dataset(view: str):
    """Tiny data of one kind: 2-D toy points, or 4×4 images brighter towards the centre."""
    if view == "continuous":
        toy = genlab.load_dataset("toy:8gaussians")
        return from_tensors(toy.train[:200], toy.test[:50], view="continuous")
    g = torch.Generator().manual_seed(0)
    centre = torch.tensor([[0, 1, 1, 0], [1, 3, 3, 1], [1, 3, 3, 1], [0, 1, 1, 0]], dtype=torch.float32)
    train, test = ((centre + torch.randint(-1, 2, (n, 1, 4, 4), generator=g)).clamp(0, 4) for n in (200, 50))
    if view == "binary":
        return from_tensors((train >= 2).float(), (test >= 2).float(), view="binary")
    return from_tensors(train, test, view="gray8", levels=5)


VIEWS = ("continuous", "binary", "gray8")
PAIRS = [(name, view) for name in genlab.families() for view in VIEWS if fits(name, dataset(view).spec) is None]


@functools.cache
def _fitted(name: str, view: str):
    ds = dataset(view)
    torch.manual_seed(0)
    model = genlab.create_model(name, ds, **TINY.get(name, {}))
    fit, valid = ds.train[:150], ds.train[150:]
    model.initialize(fit, valid, torch.Generator().manual_seed(0))
    return model.eval()


def fitted(name: str, view: str):
    """A family built small and set up on the tiny data, in eval mode (a fresh copy per test)."""
    return copy.deepcopy(_fitted(name, view))


def generator(device, seed: int = 1) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def assert_in_domain(x: torch.Tensor, ds, n: int = N) -> None:
    assert x.shape == (n, *ds.shape) and x.dtype == torch.float32
    assert torch.isfinite(x).all()
    if ds.view == "binary":
        assert ((x == 0) | (x == 1)).all()
    elif ds.view == "gray8":
        assert (x == x.round()).all() and x.min() >= 0 and x.max() <= ds.spec.levels - 1


def test_every_family_is_covered():
    covered = {name for name, _ in PAIRS}
    assert covered == set(genlab.families())
    assert set(TINY) <= covered  # no settings for a family that is gone


@pytest.mark.parametrize("name,view", PAIRS)
def test_log_prob_is_finite_per_item_and_of_the_declared_kind(name, view):
    model, ds = fitted(name, view), dataset(view)
    assert model.log_prob_kind in KINDS
    assert model.can("density") == (model.log_prob_kind is not None)
    if model.log_prob_kind is None:
        with pytest.raises(NotImplementedError):
            model.log_prob(ds.test)
        return
    with torch.no_grad():
        log_p = model.log_prob(ds.test)
    assert log_p.shape == (len(ds.test),) and torch.isfinite(log_p).all()
    if isinstance(model, DensityModel) and view != "continuous":
        assert model.log_prob_kind != "exact"  # dequantized: a bound on the discrete log-probability


def _all_binary_images(shape) -> torch.Tensor:
    d = math.prod(shape)
    bits = (torch.arange(2**d)[:, None] >> torch.arange(d)) & 1
    return bits.float().reshape(-1, *shape)


def _grid_mass(model, ds, cells: int = 300) -> float:
    lo, hi = ds.train.min(0).values - 4, ds.train.max(0).values + 4
    xs, ys = (torch.linspace(float(lo[i]), float(hi[i]), cells) for i in range(2))
    xx, yy = torch.meshgrid(xs, ys, indexing="xy")
    points = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    with torch.no_grad():
        return float(model.log_prob(points).double().exp().sum() * (xs[1] - xs[0]) * (ys[1] - ys[0]))


def _kind(name: str, view: str) -> str | None:
    return genlab.create_model(name, dataset(view), **TINY.get(name, {})).log_prob_kind


@pytest.mark.parametrize("name,view", [(n, v) for n, v in PAIRS if v != "gray8" and _kind(n, v) == "exact"])
def test_an_exact_log_prob_sums_to_one(name, view):
    """Over all 2^16 binary 4×4 images, or over a fine grid around the 2-D points."""
    model, ds = fitted(name, view), dataset(view)
    if view == "binary":
        with torch.no_grad():
            mass = float(model.log_prob(_all_binary_images(ds.shape)).double().exp().sum())
    else:
        mass = _grid_mass(model, ds)
    assert mass == pytest.approx(1.0, abs=2e-2)


@pytest.mark.parametrize("name,view", PAIRS)
def test_samples_are_in_the_view_on_the_model_device_and_repeat_with_a_generator(name, view):
    model, ds = fitted(name, view), dataset(view)
    x = model.sample(N, generator=generator(model.device))
    assert_in_domain(x, ds)
    assert x.device == model.device
    assert torch.equal(x, model.sample(N, generator=generator(model.device)))
    assert_in_domain(model.sample(N, temperature=0.5), ds)  # the global stream, another temperature
    for mode in (True, False):  # sample draws in eval mode and gives the previous mode back
        model.train(mode)
        model.sample(2, generator=generator(model.device))
        assert model.training is mode


@pytest.mark.parametrize("name,view", PAIRS)
def test_steps_and_completions_where_the_family_declares_them(name, view):
    model, ds = fitted(name, view), dataset(view)
    if model.can("steps"):
        frames = model.sample_steps(N, generator=generator(model.device), max_frames=3)
        assert 1 <= len(frames) <= 3 and all(isinstance(caption, str) for caption, _ in frames)
        assert_in_domain(frames[-1][1], ds)
    if model.can("complete"):
        x, observed = ds.test[0], torch.zeros(ds.shape, dtype=torch.bool)
        observed[..., :2, :] = True
        images, log_weights = model.complete(x, observed, N, generator=generator(model.device))
        assert_in_domain(images, ds)
        assert (images[:, observed] == x[observed]).all()
        assert log_weights.shape == (N,) and torch.isfinite(log_weights).all()


@pytest.mark.parametrize("name,view", PAIRS)
def test_encode_where_the_family_has_a_latent_space(name, view):
    model, ds = fitted(name, view), dataset(view)
    if not model.can("encode"):
        with pytest.raises(NotImplementedError):
            model.encode(ds.test)
        return
    with torch.no_grad():
        features = model.encode(ds.test)
    assert features.dim() == 2 and len(features) == len(ds.test) and torch.isfinite(features).all()


@pytest.mark.parametrize("name,view", PAIRS)
def test_temperature_and_count_are_checked_with_a_sentence(name, view):
    model, ds = fitted(name, view), dataset(view)
    calls = [lambda **kw: model.sample(**{"n": 2, **kw})]
    if model.can("steps"):
        calls.append(lambda **kw: model.sample_steps(**{"n": 2, **kw}))
    if model.can("complete"):
        observed = torch.zeros(ds.shape, dtype=torch.bool)
        calls.append(lambda **kw: model.complete(ds.test[0], observed, **{"n": 2, **kw}))
    for call in calls:
        for temperature in BAD_TEMPERATURES:
            with pytest.raises(ValueError, match="temperature must be a positive number"):
                call(temperature=temperature)
        for n in BAD_COUNTS:
            with pytest.raises(ValueError, match="whole number"):
                call(n=n)
    with pytest.raises(TypeError, match="torch.Generator"):
        model.sample(2, generator=1)
    assert len(model.sample(np.int64(2), temperature=np.float32(0.5))) == 2  # numpy numbers are numbers


def _weights(model) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in [*model.named_parameters(), *model.named_buffers()]}


def _other_devices() -> list[torch.device]:
    return [torch.device("cuda")] if torch.cuda.is_available() else []


@pytest.mark.parametrize("name,view", PAIRS)
def test_moving_to_another_device_and_back_keeps_the_model(name, view):
    """A copy rebuilt from the weights (CPU to CPU) answers alike; on a GPU, when there is one, the
    model samples there with a generator of either device, and answers alike once back."""
    model, ds = fitted(name, view), dataset(view)
    cpu = generator("cpu")
    reference = model.sample(N, generator=cpu)
    rebuilt = genlab.create_model(name, ds, **model.hparams())
    rebuilt.load_weights(_weights(model))
    rebuilt.eval()
    assert torch.equal(rebuilt.sample(N, generator=generator("cpu")), reference)
    if model.log_prob_kind is not None:
        with torch.no_grad():
            assert torch.allclose(rebuilt.log_prob(ds.test), model.log_prob(ds.test), atol=1e-5)
    for device in _other_devices():
        model.to(device)
        assert model.device.type == device.type
        for gen in (generator(model.device), generator("cpu")):
            x = model.sample(N, generator=gen)
            assert x.device == model.device
            assert_in_domain(x.cpu(), ds)
        if model.log_prob_kind is not None:
            with torch.no_grad():
                log_p = model.log_prob(ds.test.to(device))
            assert log_p.device == model.device and torch.isfinite(log_p).all()
        model.to("cpu")
        assert torch.equal(model.sample(N, generator=generator("cpu")), reference)


def test_a_refused_setting_is_repeated_only_in_part():
    ds = genlab.load_dataset("toy:8gaussians")
    for setting in ({"loss_type": "x" * 5000}, {"learning_rate": "y" * 5000}):
        with pytest.raises(ValueError) as refused:
            genlab.create_model("gan", ds, **setting)
        assert len(str(refused.value)) < 200 and "…" in str(refused.value)
    from genlab.data.drawn import check_blobs

    with pytest.raises(ValueError, match="^Row 2 needs four numbers") as refused:
        check_blobs([(0, 0, 1, 0.5), (0, 0, 1, "Q" * 3000)])
    assert len(str(refused.value)) < 100
