"""Independent pixels: a Bernoulli per binary pixel, a categorical per gray8 pixel.

p(x) = Π_i p_i(x_i) with no dependence between pixels: the parametric baseline on
images. The maximum-likelihood fit is each pixel's value frequencies in the training
data; Laplace smoothing adds pseudo-counts so values never seen keep a finite
probability on held-out images. Fitted in closed form (no gradient steps);
log_prob_kind "exact".

References:
    Bishop, "Pattern Recognition and Machine Learning", 2006, §2.1–2.2.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from genlab.models import register
from genlab.models._autoregressive import (
    marginal_logits,
    outputs_per_pixel,
    pixel_log_prob_from_logits,
    sample_from_logits,
)
from genlab.models._noise import uniform
from genlab.models.base import GenerativeModel, ModelConfig, hparam

__all__ = ["Bernoulli", "BernoulliConfig"]


@dataclass
class BernoulliConfig(ModelConfig):
    smoothing: float = hparam(1.0, 1e-3, 100.0, "Pseudo-counts added to every pixel value (Laplace smoothing).",
                              log=True)


@register
class Bernoulli(GenerativeModel):
    """One independent distribution per pixel, fitted by smoothed counting.

    Example:
        >>> model = create_model("bernoulli", load_dataset("digits"))
        >>> genlab.train(model, ds)               # fits in closed form
        >>> model.pixel_log_prob(ds.test[:1])      # (1, 1, 8, 8): which pixels are surprising
    """

    name = "bernoulli"
    title = "Independent pixels (Bernoulli / categorical)"
    summary = "Every pixel on its own: how often it is on (or takes each grey level) in the training data."
    config_class = BernoulliConfig
    views = ("binary", "gray8")
    objective = "NLL (nats), minimised in closed form by the smoothed pixel frequencies"
    trainable = False

    def __init__(self, config: BernoulliConfig, spec):
        super().__init__(config, spec)
        self.outputs = outputs_per_pixel(spec)
        self.register_buffer("logits", torch.zeros(spec.dim, self.outputs))  # (D, K)

    def initialize(self, train, valid, generator):
        self.logits = marginal_logits(self.flat(train), self.outputs, self.config.smoothing)
        return {}

    def pixel_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_i(x_i) per pixel, nats, shape (N, *shape); sums over pixels to log_prob(x)."""
        return pixel_log_prob_from_logits(self.logits, self.flat(x)).reshape(len(x), *self.spec.shape)

    def log_prob(self, x):
        return self.pixel_log_prob(x).reshape(len(x), -1).sum(1)

    def _sample(self, n, temperature, generator):
        u = uniform((n, self.spec.dim), generator, self.device)
        x = sample_from_logits(self.logits.expand(n, -1, -1), u, temperature)
        return x.reshape(n, *self.spec.shape)
