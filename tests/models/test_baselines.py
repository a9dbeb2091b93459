"""Gaussian, KDE and Gaussian mixture: closed-form fits, normalisation, sampling."""
import math

import pytest
import torch

import genlab
from genlab.data.base import DataSpec, from_tensors
from genlab.models.kde import kernel_log_prob


def grid_mass(model, lim=8.0, n=400) -> float:
    xs = torch.linspace(-lim, lim, n)
    xx, yy = torch.meshgrid(xs, xs, indexing="xy")
    points = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    cell = (xs[1] - xs[0]) ** 2
    with torch.no_grad():
        return float(model.log_prob(points).exp().sum() * cell)


@pytest.mark.parametrize("family", ["gaussian", "kde", "gmm"])
def test_density_integrates_to_one(points_ds, family):
    hparams = {"num_components": 4} if family == "gmm" else {}
    model = genlab.create_model(family, points_ds, **hparams)
    genlab.train(model, points_ds, seconds=5, max_steps=30)
    assert grid_mass(model) == pytest.approx(1.0, abs=1e-2)


def test_gaussian_matches_closed_form_mle():
    g = torch.Generator().manual_seed(0)
    cov = torch.tensor([[2.0, 0.6], [0.6, 0.5]])
    x = torch.randn(4000, 2, generator=g) @ torch.linalg.cholesky(cov).T + torch.tensor([1.0, -2.0])
    ds = from_tensors(x, x[:100], view="continuous")
    model = genlab.create_model("gaussian", ds, ridge=0.0)
    fit, _ = ds.split_validation(0.1, 0)
    model.initialize(fit, fit, g)
    ref = torch.distributions.MultivariateNormal(fit.mean(0), covariance_matrix=torch.cov(fit.T))
    assert torch.allclose(model.log_prob(x[:50]), ref.log_prob(x[:50]), atol=1e-3)


def test_kde_matches_explicit_sum_and_picks_a_middle_bandwidth(points_ds):
    model = genlab.create_model("kde", points_ds)
    genlab.train(model, points_ds, seconds=5)
    h = float(model.bandwidth)
    y = points_ds.test[:5]
    diffs = y[:, None, :] - model.points[None]
    explicit = (torch.logsumexp(-(diffs**2).sum(-1) / (2 * h * h), 1) - math.log(len(model.points))
                - math.log(2 * math.pi * h * h))
    assert torch.allclose(model.log_prob(y), explicit, atol=1e-4)
    # the chosen bandwidth beats much smaller and much larger ones on held-out data
    scores = kernel_log_prob(points_ds.test, model.points, torch.tensor([h / 10, h, h * 10])).mean(0)
    assert scores[1] > scores[0] and scores[1] > scores[2]


def test_gmm_training_lowers_nll_towards_entropy(points_ds):
    model = genlab.create_model("gmm", points_ds, num_components=8)
    result = genlab.train(model, points_ds, seconds=10, max_steps=400, seed=0)
    first, last = result.metrics[0]["valid_nll_nats"], result.metrics[-1]["valid_nll_nats"]
    assert last <= first
    # entropy of the 8-gaussians density: log 8 + log(2πe σ²) with σ = 0.5 / 1.414
    entropy = math.log(8) + math.log(2 * math.pi * math.e * (0.5 / 1.414) ** 2)
    assert genlab.evaluate(model, points_ds)["test_nll_nats"] < entropy + 0.25


@pytest.mark.parametrize("family", ["gaussian", "kde", "gmm"])
def test_sampling_is_seeded_and_tempered(points_ds, family):
    model = genlab.create_model(family, points_ds)
    genlab.train(model, points_ds, seconds=5, max_steps=5)
    a = model.sample(500, generator=torch.Generator().manual_seed(3))
    b = model.sample(500, generator=torch.Generator().manual_seed(3))
    assert a.shape == (500, 2) and torch.equal(a, b)
    if family == "gaussian":  # temperature scales the spread around the mean
        cold = model.sample(500, temperature=0.5, generator=torch.Generator().manual_seed(3))
        assert cold.std(0).mean() < a.std(0).mean()


@pytest.mark.parametrize("family", ["gaussian", "kde", "gmm"])
def test_binary_images_are_dequantized(binary_ds, family):
    model = genlab.create_model(family, binary_ds)
    genlab.train(model, binary_ds, seconds=5, max_steps=5)
    assert model.log_prob_kind == "lower_bound"
    samples = model.sample(8, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (8, 1, 4, 4) and set(samples.unique().tolist()) <= {0.0, 1.0}
    result = genlab.evaluate(model, binary_ds)
    # a bound on a discrete log-likelihood can't exceed log 1 = 0 by more than noise
    assert result["test_nll_nats"] > 0 and result["bits_per_dim"] > 0


def test_bad_hyperparameters_are_refused_in_plain_words(points_ds):
    with pytest.raises(ValueError, match="between"):
        genlab.create_model("gmm", points_ds, num_components=0)
    with pytest.raises(ValueError, match="Unknown hyper-parameter"):
        genlab.create_model("gmm", points_ds, layers=3)
    with pytest.raises(ValueError, match="finite"):
        genlab.create_model("gmm", points_ds, learning_rate=float("nan"))
    with pytest.raises(ValueError, match="whole number"):
        genlab.create_model("gmm", points_ds, num_components=2.5)
    with pytest.raises(ValueError, match="Unknown model family"):
        genlab.create_model("nope", points_ds)


def test_numbers_from_strings_are_accepted():
    model = genlab.create_model("gmm", DataSpec((2,), "continuous"), num_components="3", learning_rate="0.01")
    assert model.config.num_components == 3 and model.config.learning_rate == 0.01
