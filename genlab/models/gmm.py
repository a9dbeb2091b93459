"""Gaussian mixture with full covariances, fitted by maximum likelihood with Adam.

p(x) = Σ_k π_k N(x; μ_k, L_k L_kᵀ). Means start at k-means++ picks from the data and
covariances at the data covariance, so training starts from a sensible place.
Objective: NLL = forward KL(p_data‖p_θ) + H(p_data). log_prob_kind: "exact" on 2-D
points, "lower_bound" on dequantized images. Reference: Bishop, PRML §9.2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from genlab.models import register
from genlab.models._noise import categorical, random_index, standard_normal
from genlab.models.base import DensityModel, ModelConfig, hparam
from genlab.models.gaussian import dequantized

__all__ = ["GaussianMixture", "GMMConfig"]

FULL_COVARIANCE_MAX_DIM = 64  # above this, "auto" uses diagonal covariances (cost and memory grow as D²)


@dataclass
class GMMConfig(ModelConfig):
    num_components: int = hparam(16, 1, 256, "Number of Gaussian components K.")
    covariance: str = hparam("auto", help="Shape of each component: full matrices, diagonal ones, or auto "
                             "(full up to 64 dimensions, diagonal above).", choices=("auto", "full", "diagonal"))
    learning_rate: float = hparam(1e-2, 1e-5, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(512, 1, 8192, "Examples per gradient step.")


def kmeans_plus_plus(y: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k well-spread starting centres from the rows of y (Arthur & Vassilvitskii, 2007)."""
    centres = [y[random_index(len(y), (1,), generator, y.device)].squeeze(0)]
    for _ in range(1, k):
        dist = torch.cdist(y, torch.stack(centres)).min(1).values ** 2  # (N,)
        if float(dist.sum()) <= 0:
            centres.append(y[random_index(len(y), (1,), generator, y.device)].squeeze(0))
            continue
        centres.append(y[categorical(dist / dist.sum(), 1, generator, y.device)].squeeze(0))
    return torch.stack(centres)  # (K, D)


@register
class GaussianMixture(DensityModel):
    name = "gmm"
    title = "Gaussian mixture"
    summary = "K Gaussians with their own means, shapes and weights: parametric, but multi-modal."
    config_class = GMMConfig

    def __init__(self, config: GMMConfig, spec):
        super().__init__(config, spec)
        k, d = config.num_components, spec.dim
        self.logits = nn.Parameter(torch.zeros(k))
        self.means = nn.Parameter(torch.randn(k, d))
        self.raw_diag = nn.Parameter(torch.zeros(k, d))  # softplus⁻¹ of the factors' diagonals
        if self.full:
            self.raw_tril = nn.Parameter(torch.zeros(k, d, d))  # its strict lower part is used

    @property
    def full(self) -> bool:
        choice = self.config.covariance
        return choice == "full" or (choice == "auto" and self.spec.dim <= FULL_COVARIANCE_MAX_DIM)

    def scale_tril(self) -> torch.Tensor:
        """(K, D, D) lower-triangular factors with a positive diagonal."""
        diag = F.softplus(self.raw_diag) + 1e-5
        if not self.full:
            return torch.diag_embed(diag)
        return torch.tril(self.raw_tril, diagonal=-1) + torch.diag_embed(diag)

    def initialize(self, train, valid, generator):
        y = dequantized(self, train, generator)
        k = self.config.num_components
        with torch.no_grad():
            self.means.copy_(kmeans_plus_plus(y, k, generator))
            std = y.std(0).clamp_min(1e-3) / k ** (1 / y.shape[1])  # per-dimension, shrunk by K
            inverse_softplus = std + torch.log(-torch.expm1(-std))
            self.raw_diag.copy_(inverse_softplus.expand(k, -1))
        return {}

    def component_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        """log π_k + log N(y; μ_k, Σ_k), shape (N, K)."""
        diff = self.means.unsqueeze(-1) - y.T.unsqueeze(0)  # (K, D, N): the batch as right-hand sides
        diag = F.softplus(self.raw_diag) + 1e-5  # (K, D)
        if self.full:
            z = torch.linalg.solve_triangular(self.scale_tril(), diff, upper=False)  # (K, D, N)
        else:
            z = diff / diag.unsqueeze(-1)
        log_det = diag.log().sum(-1)  # (K,)
        log_normal = -0.5 * (z**2).sum(1) - log_det.unsqueeze(-1) - 0.5 * y.shape[1] * math.log(2 * math.pi)  # (K, N)
        return log_normal.T + torch.log_softmax(self.logits, 0)

    def flat_log_prob(self, y):
        return torch.logsumexp(self.component_log_prob(y), dim=1)

    def flat_sample(self, n, temperature, generator):
        k = categorical(torch.softmax(self.logits, 0), n, generator, self.device)  # (n,)
        z = standard_normal((n, self.means.shape[1]), generator, self.device) * temperature
        if not self.full:
            return self.means[k] + (F.softplus(self.raw_diag) + 1e-5)[k] * z
        return self.means[k] + (self.scale_tril()[k] @ z.unsqueeze(-1)).squeeze(-1)

    def encode(self, x):
        """Posterior responsibilities p(k | x): a soft cluster assignment per point."""
        y, _ = self.to_continuous(x)
        return torch.softmax(self.component_log_prob(y), dim=1)
