"""Mixture of Bernoullis: K prototype images of independent pixels, fitted by EM.

p(x) = Σ_k π_k Π_i μ_ki^x_i (1 − μ_ki)^(1 − x_i). Expectation–maximisation alternates
the posterior responsibilities r_nk ∝ π_k p_k(x_n) with the weighted counts
μ_ki = (Σ_n r_nk x_ni + α) / (N_k + 2α), π_k = (N_k + α) / (N + Kα), the MAP step under
symmetric Beta / Dirichlet priors with α pseudo-counts (α = 0: plain maximum likelihood).
Each iteration cannot lower the training log-likelihood plus log-prior; EM stops when
it rises by less than TOLERANCE nats per image or after max_iterations. Fitted in
closed form (no gradient steps); log_prob_kind "exact". Binary view only.

References:
    Bishop, "Pattern Recognition and Machine Learning", 2006, §9.3.3.
    Dempster, Laird & Rubin, "Maximum Likelihood from Incomplete Data via the EM
    Algorithm", JRSS B 1977.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from genlab.models import register
from genlab.models._autoregressive import mixture_pixel_log_prob, pixel_log_prob_from_logits, sample_from_logits
from genlab.models._noise import uniform
from genlab.models.base import GenerativeModel, ModelConfig, hparam

__all__ = ["BernoulliMixture", "BernoulliMixtureConfig", "fit_bernoulli_mixture", "bernoulli_log_likelihood"]

TOLERANCE = 1e-6  # EM stops when the objective rises by less than this, nats per image
MEAN_CLAMP = 1e-6  # μ stays in [MEAN_CLAMP, 1 − MEAN_CLAMP] so every log-probability is finite


@dataclass
class BernoulliMixtureConfig(ModelConfig):
    num_components: int = hparam(50, 1, 1000, "Number of mixture components K.")
    smoothing: float = hparam(0.1, 0.0, 100.0, "Prior pseudo-counts α per pixel value and per component.")
    max_iterations: int = hparam(200, 1, 10000, "Cap on EM iterations.")


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p_k(x_n) of independent Bernoullis: x (N, D), logits (K, D) -> (N, K), nats."""
    return x @ F.logsigmoid(logits).T + (1 - x) @ F.logsigmoid(-logits).T


def _objective(joint: torch.Tensor, means: torch.Tensor, log_weights: torch.Tensor, smoothing: float) -> float:
    """Mean training log-likelihood plus the log-prior per image (what EM never lowers)."""
    value = float(torch.logsumexp(joint, 1).mean())
    if smoothing > 0:
        log_prior = smoothing * (means.log().sum() + torch.log1p(-means).sum() + log_weights.sum())
        value += float(log_prior) / len(joint)
    return value


def fit_bernoulli_mixture(x: torch.Tensor, num_components: int, max_iterations: int, smoothing: float,
                          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Fit a mixture of Bernoullis to binary x (N, D) by EM, in float64.

    Components start at distinct random training images pulled a quarter of the way to the
    mean image. Returns (log mixing weights (K,), logits (K, D), objective history), where
    history[t] is the mean training log-likelihood (plus log-prior / N when smoothing > 0)
    after t iterations; it never decreases.
    """
    x = x.double()
    n = len(x)
    pick = torch.randperm(n, generator=generator)[:num_components]
    if num_components > n:
        pick = torch.cat([pick, torch.randint(n, (num_components - n,), generator=generator)])
    means = (0.75 * x[pick] + 0.25 * x.mean(0)).clamp(MEAN_CLAMP, 1 - MEAN_CLAMP)  # (K, D)
    log_weights = torch.full((num_components,), -math.log(num_components), dtype=torch.float64)

    def log_joint() -> torch.Tensor:
        return bernoulli_log_likelihood(x, torch.logit(means)) + log_weights  # (N, K)

    joint = log_joint()
    history = [_objective(joint, means, log_weights, smoothing)]
    for _ in range(max_iterations):
        r = torch.softmax(joint, 1)  # E-step: responsibilities (N, K)
        counts = r.sum(0)  # (K,)
        means = ((r.T @ x + smoothing) / (counts + 2 * smoothing)[:, None]).clamp(MEAN_CLAMP, 1 - MEAN_CLAMP)
        log_weights = torch.log((counts + smoothing) / (n + num_components * smoothing))
        joint = log_joint()
        history.append(_objective(joint, means, log_weights, smoothing))
        if history[-1] - history[-2] < TOLERANCE:
            break
    return log_weights.float(), torch.logit(means).float(), history


@register
class BernoulliMixture(GenerativeModel):
    """K independent-pixel prototypes and their weights, fitted by EM on the training split.

    Example:
        >>> model = create_model("bernoulli-mixture", load_dataset("digits"), num_components=30)
        >>> genlab.train(model, ds)               # runs EM to convergence
        >>> model.encode(ds.test)                 # (N, K) posterior responsibilities
    """

    name = "bernoulli-mixture"
    title = "Mixture of Bernoullis (EM)"
    summary = "K prototype images, each a grid of independent pixels, mixed with learned weights; fitted by EM."
    config_class = BernoulliMixtureConfig
    views = ("binary",)
    objective = "NLL (nats), minimised by expectation–maximisation (MAP with α pseudo-counts)"
    trainable = False

    def __init__(self, config: BernoulliMixtureConfig, spec):
        super().__init__(config, spec)
        k = config.num_components
        self.register_buffer("log_weights", torch.full((k,), -math.log(k)))  # (K,)
        self.register_buffer("logits", torch.zeros(k, spec.dim))  # (K, D)
        self.em_history: list[float] = []

    def initialize(self, train, valid, generator):
        flat = train.reshape(len(train), -1).to(torch.float32)
        log_weights, logits, self.em_history = fit_bernoulli_mixture(
            flat, self.config.num_components, self.config.max_iterations, self.config.smoothing, generator
        )
        self.log_weights, self.logits = log_weights.to(self.device), logits.to(self.device)
        return {"em_iterations": len(self.em_history) - 1, "em_objective": self.em_history[-1]}

    def log_prob(self, x):
        return torch.logsumexp(bernoulli_log_likelihood(self.flat(x), self.logits) + self.log_weights, 1)

    def pixel_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel log p, (N, *shape), summing to log_prob(x): each component's pixel log-probabilities
        weighted by its responsibility, plus −KL(responsibilities‖weights) spread evenly over pixels."""
        y = self.flat(x)
        per_component = pixel_log_prob_from_logits(self.logits.unsqueeze(-1), y.unsqueeze(1))  # (N, K, D)
        return mixture_pixel_log_prob(per_component, self.log_weights).reshape(len(x), *self.spec.shape)

    def encode(self, x):
        """Posterior responsibilities p(k | x), shape (N, K): which prototype explains each image."""
        return torch.softmax(bernoulli_log_likelihood(self.flat(x), self.logits) + self.log_weights, 1)

    def _sample(self, n, temperature, generator):
        """Pick a component (weights softened by the temperature), then every pixel at once."""
        u = uniform((n, 1 + self.spec.dim), generator, self.device)
        component = sample_from_logits(self.log_weights.expand(n, -1), u[:, 0], temperature).long()  # (n,)
        x = sample_from_logits(self.logits[component].unsqueeze(-1), u[:, 1:], temperature)
        return x.reshape(n, *self.spec.shape)
