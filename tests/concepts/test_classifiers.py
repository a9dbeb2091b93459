"""Lesson 1's classifiers: Bayes' rule, per-class densities, which families give one."""
import math

import numpy as np
import torch

from genlab import concepts
from genlab.data.base import from_tensors

SIGMA = torch.tensor([[1.0, 0.6], [0.6, 2.0]])
MEANS = torch.tensor([[-1.0, 0.5], [1.5, -0.5]])
PRIORS = torch.tensor([0.3, 0.7])


def shared_covariance_log_likelihood(x: torch.Tensor) -> np.ndarray:
    """log N(x; μ_k, Σ) for both classes, shape (N, 2)."""
    dists = [torch.distributions.MultivariateNormal(m.double(), SIGMA.double()) for m in MEANS]
    return torch.stack([d.log_prob(x.double()) for d in dists], 1).numpy()


def analytic_log_odds(x: torch.Tensor) -> np.ndarray:
    """log p(1|x) − log p(0|x) = wᵀx + b for two Gaussians with one covariance (a linear boundary)."""
    inverse = torch.linalg.inv(SIGMA.double())
    mu0, mu1 = MEANS.double()
    w = inverse @ (mu1 - mu0)
    b = -0.5 * (mu1 @ inverse @ mu1 - mu0 @ inverse @ mu0) + math.log(PRIORS[1] / PRIORS[0])
    return (x.double() @ w + b).numpy()


def two_gaussians(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, generator=g) < PRIORS[1]).long()
    x = MEANS[y] + torch.randn(n, 2, generator=g) @ torch.linalg.cholesky(SIGMA).T
    return x, y


def test_bayes_posterior_sums_to_one_and_matches_the_linear_boundary():
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) * 3
    log_post = concepts.bayes_log_posterior(shared_covariance_log_likelihood(x), PRIORS.log().numpy())
    assert np.allclose(np.exp(log_post).sum(1), 1.0, atol=1e-12)
    assert np.allclose(log_post[:, 1] - log_post[:, 0], analytic_log_odds(x), atol=1e-9)


def test_bayes_posterior_is_stable_far_out_and_falls_back_to_the_prior_when_nothing_fits():
    log_likelihood = np.array([[-1e4, -1e4 - 2.0], [-np.inf, -np.inf]])
    log_post = concepts.bayes_log_posterior(log_likelihood, np.log([0.5, 0.5]))
    assert np.allclose(np.exp(log_post[0]), [1 / (1 + math.exp(-2)), math.exp(-2) / (1 + math.exp(-2))])
    assert np.allclose(np.exp(log_post[1]), [0.5, 0.5])


def test_fitted_per_class_gaussians_find_the_analytic_boundary():
    x, y = two_gaussians(4000, seed=1)
    ds = from_tensors(x, x[:1], view="continuous")
    model = concepts.make_classifier("gaussian", ds.spec).fit(x, y, num_classes=2)
    grid = torch.randn(2000, 2, generator=torch.Generator().manual_seed(2)) * 2
    log_post = model.predict_log_proba(grid)
    assert np.allclose(np.exp(log_post).sum(1), 1.0)
    agree = (log_post.argmax(1) == (analytic_log_odds(grid) > 0)).mean()
    assert agree > 0.97
    assert np.allclose(np.exp(model.log_prior), PRIORS.numpy(), atol=0.03)


def test_a_family_without_a_normalised_density_is_refused():
    ds = concepts.gaussian_blobs(60, 30, seed=0)
    assert "gan" not in concepts.density_families(ds.spec)
    assert {"gaussian", "kde", "realnvp"} <= set(concepts.density_families(ds.spec))
