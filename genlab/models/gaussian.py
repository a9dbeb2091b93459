"""Full-covariance Gaussian: the parametric baseline of the notes, fitted in closed form.

The maximum-likelihood Gaussian has the sample mean and covariance of the training
data, so minimising forward KL(p_data‖p_θ) over this family needs no gradient steps.
log_prob_kind: "exact" on 2-D points, "lower_bound" on dequantized images.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from genlab.models import register
from genlab.models._noise import standard_normal
from genlab.models.base import DensityModel, ModelConfig, hparam

__all__ = ["Gaussian", "GaussianConfig"]


@dataclass
class GaussianConfig(ModelConfig):
    ridge: float = hparam(1e-4, 0.0, 10.0, "Added to the covariance diagonal, relative to its mean variance.", log=True)


def dequantized(model: DensityModel, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Training data as the continuous vectors a density family fits."""
    y, _ = model.to_continuous(x, generator)
    return y


@register
class Gaussian(DensityModel):
    name = "gaussian"
    title = "Gaussian (full covariance)"
    summary = "One mean and one covariance matrix: the simplest parametric model, fitted in closed form."
    config_class = GaussianConfig
    objective = "NLL (nats), minimised in closed form by the sample mean and covariance"
    trainable = False

    def __init__(self, config: GaussianConfig, spec):
        super().__init__(config, spec)
        d = spec.dim
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("scale_tril", torch.eye(d))

    def initialize(self, train, valid, generator):
        y = dequantized(self, train, generator).double()  # (N, D)
        mean = y.mean(0)
        centred = y - mean
        cov = centred.T @ centred / max(len(y) - 1, 1)  # (D, D)
        ridge = self.config.ridge * max(float(cov.diagonal().mean()), 1e-12)
        cov += torch.eye(len(mean), dtype=cov.dtype, device=cov.device) * ridge
        self.mean = mean.float()
        self.scale_tril = torch.linalg.cholesky(cov).float()
        return {}

    def flat_log_prob(self, y):
        d = y.shape[1]
        z = torch.linalg.solve_triangular(self.scale_tril, (y - self.mean).T, upper=False).T  # (N, D)
        log_det = self.scale_tril.diagonal().log().sum()
        return -0.5 * (z**2).sum(1) - log_det - 0.5 * d * math.log(2 * math.pi)

    def flat_sample(self, n, temperature, generator):
        z = standard_normal((n, len(self.mean)), generator, self.device) * temperature
        return self.mean + z @ self.scale_tril.T

    def encode(self, x):
        """Whitened coordinates L⁻¹(x − μ): the Gaussian's own latent space."""
        y, _ = self.to_continuous(x)
        return torch.linalg.solve_triangular(self.scale_tril, (y - self.mean).T, upper=False).T
