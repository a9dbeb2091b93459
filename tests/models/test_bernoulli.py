"""Independent pixels and the mixture of Bernoullis: closed-form fits, EM, normalisation, sampling."""
import math

import pytest
import torch

import genlab
from genlab.data.base import DataSpec
from genlab.models import create_model
from genlab.models.bernoulli_mixture import bernoulli_log_likelihood, fit_bernoulli_mixture

BINARY = DataSpec((1, 3, 3), "binary", 2)
GRAY = DataSpec((1, 2, 2), "gray8", 3)


def all_images(spec: DataSpec) -> torch.Tensor:
    values = torch.arange(spec.levels, dtype=torch.float32)
    return torch.cartesian_prod(*[values] * spec.dim).reshape(-1, *spec.shape)


def random_bernoulli(spec: DataSpec, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    model = create_model("bernoulli", spec)
    model.logits = 2 * torch.randn(model.logits.shape, generator=g)
    return model


def random_mixture(spec: DataSpec = BINARY, k: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    model = create_model("bernoulli-mixture", spec, num_components=k)
    model.log_weights = torch.log_softmax(torch.randn(k, generator=g), 0)
    model.logits = 2 * torch.randn(k, spec.dim, generator=g)
    return model


def prototypes_data(n: int, seed: int = 0) -> torch.Tensor:
    """Binary 4×4 images, flat (n, 16): noisy copies of three fixed prototypes, structure a mixture can find."""
    protos = (torch.rand(3, 16, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    g = torch.Generator().manual_seed(seed + 1)
    x = protos[torch.randint(3, (n,), generator=g)]
    flip = torch.rand(n, 16, generator=g) < 0.1
    return torch.where(flip, 1 - x, x)


@pytest.mark.parametrize("model", [random_bernoulli(BINARY), random_bernoulli(GRAY), random_mixture()],
                         ids=["bernoulli-binary", "bernoulli-gray8", "mixture"])
def test_probabilities_of_every_image_sum_to_one(model):
    with torch.no_grad():
        total = model.log_prob(all_images(model.spec)).double().exp().sum()
    assert float(total) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("model", [random_bernoulli(DataSpec((1, 4, 4), "gray8", 5)),
                                   random_mixture(DataSpec((1, 4, 4), "binary", 2))],
                         ids=["bernoulli", "mixture"])
def test_pixel_log_prob_sums_to_log_prob(model):
    x = torch.randint(model.spec.levels, (30, *model.spec.shape), generator=torch.Generator().manual_seed(1)).float()
    per_pixel = model.pixel_log_prob(x)
    assert per_pixel.shape == x.shape and (per_pixel <= 1e-6).all()
    assert torch.allclose(per_pixel.sum((1, 2, 3)), model.log_prob(x), atol=1e-4)


@pytest.mark.parametrize("view,levels", [("binary", 2), ("gray8", 5)])
def test_bernoulli_fit_is_the_smoothed_frequency(view, levels):
    g = torch.Generator().manual_seed(0)
    train = torch.randint(levels, (200, 1, 2, 2), generator=g).float()
    model = create_model("bernoulli", DataSpec((1, 2, 2), view, levels), smoothing=0.5)
    model.initialize(train, train[:10], g)
    flat = train.reshape(200, 4)
    for value in range(levels):
        expected = ((flat == value).sum(0) + 0.5) / (200 + 0.5 * levels)  # (D,)
        image = torch.full((1, 1, 2, 2), float(value))
        assert torch.allclose(model.pixel_log_prob(image).reshape(4), expected.log(), atol=1e-5)


@pytest.mark.parametrize("smoothing", [0.0, 1.0])
def test_em_never_lowers_its_objective(smoothing):
    x = prototypes_data(400)
    log_w, logits, history = fit_bernoulli_mixture(x, 6, 100, smoothing, torch.Generator().manual_seed(0))
    steps = torch.tensor(history, dtype=torch.float64).diff()
    assert len(history) > 3 and (steps >= -1e-9).all()
    assert history[-1] > history[0] + 1.0  # EM did real work from its starting point
    if smoothing == 0:  # then the objective is exactly the mean training log-likelihood
        ll = torch.logsumexp(bernoulli_log_likelihood(x.double(), logits.double()) + log_w.double(), 1).mean()
        assert float(ll) == pytest.approx(history[-1], abs=1e-4)
    assert float(log_w.exp().sum()) == pytest.approx(1.0, abs=1e-5)


def test_mixture_finds_structure_an_independent_model_misses():
    ds = genlab.from_tensors(prototypes_data(600, seed=0).reshape(-1, 1, 4, 4),
                             prototypes_data(200, seed=1).reshape(-1, 1, 4, 4), view="binary")
    single, mixture = create_model("bernoulli", ds), create_model("bernoulli-mixture", ds, num_components=3)
    for model in (single, mixture):
        assert genlab.train(model, ds, seconds=5, seed=0).status == "fitted"
    nll = {m.name: genlab.evaluate(m, ds)["test_nll_nats"] for m in (single, mixture)}
    entropy = math.log(3) - 16 * (0.1 * math.log(0.1) + 0.9 * math.log(0.9))  # of the generating process, ≈ 6.30 nats
    assert nll["bernoulli-mixture"] < entropy + 0.3 < entropy + 1.0 < nll["bernoulli"]
    assert torch.allclose(mixture.encode(ds.test).sum(1), torch.ones(len(ds.test)), atol=1e-5)


def test_one_component_mixture_is_the_independent_model():
    g = torch.Generator().manual_seed(0)
    train = (torch.rand(300, 1, 3, 3, generator=g) < 0.3).float()
    single = create_model("bernoulli", BINARY, smoothing=1.0)
    mixture = create_model("bernoulli-mixture", BINARY, num_components=1, smoothing=1.0)
    single.initialize(train, train, g)
    info = mixture.initialize(train, train, g)
    assert info["em_iterations"] >= 1
    x = all_images(BINARY)
    assert torch.allclose(single.log_prob(x), mixture.log_prob(x), atol=1e-5)
    assert math.isclose(float(mixture.log_weights[0]), 0.0, abs_tol=1e-6)


@pytest.mark.parametrize("model", [random_bernoulli(BINARY), random_bernoulli(GRAY), random_mixture()],
                         ids=["bernoulli-binary", "bernoulli-gray8", "mixture"])
def test_samples_are_seeded_and_in_the_view(model):
    levels = model.spec.levels
    samples = model.sample(500, generator=torch.Generator().manual_seed(2))
    assert samples.shape == (500, *model.spec.shape)
    assert ((samples >= 0) & (samples <= levels - 1) & (samples == samples.round())).all()
    assert torch.equal(samples, model.sample(500, generator=torch.Generator().manual_seed(2)))
    assert not torch.equal(samples, model.sample(500, generator=torch.Generator().manual_seed(3)))
    # frequencies follow the model: the empirical log-likelihood is close to minus the entropy
    exact = model.log_prob(all_images(model.spec))
    entropy = float(-(exact.exp() * exact).sum())
    assert float(-model.log_prob(samples).mean()) == pytest.approx(entropy, abs=0.25)
    with pytest.raises(ValueError):
        model.sample(2, temperature=-1.0)


def test_closed_form_baselines_refuse_what_they_do_not_model():
    assert genlab.fits("bernoulli-mixture", GRAY) is not None
    assert genlab.fits("bernoulli", GRAY) is None
    assert not create_model("bernoulli", BINARY).can("steps")
