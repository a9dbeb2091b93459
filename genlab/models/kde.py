"""Kernel density estimation: the non-parametric baseline of the notes.

p(x) = 1/n Σ_i N(x; x_i, h² I): the training points are the model. The bandwidth h is
chosen by held-out log-likelihood on the validation split over a log-spaced grid
(no gradient steps). log_prob_kind: "exact" on 2-D points, "lower_bound" on
dequantized images. Reference: Parzen (1962); Silverman, "Density Estimation" (1986).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from genlab.models import register
from genlab.models._noise import random_index, standard_normal
from genlab.models.base import DensityModel, ModelConfig, hparam
from genlab.models.gaussian import dequantized

__all__ = ["KDE", "KDEConfig"]

CHUNK = 1024


@dataclass
class KDEConfig(ModelConfig):
    max_points: int = hparam(5000, 10, 100000, "Training points kept as kernel centres (a random subset if more).")
    num_bandwidths: int = hparam(16, 2, 200, "Candidate bandwidths tried on the validation split.")


def kernel_log_prob(y: torch.Tensor, points: torch.Tensor, bandwidth: torch.Tensor) -> torch.Tensor:
    """log (1/n Σ_i N(y; points_i, h² I)) for each row of y; h may be a vector of candidates.

    Returns shape (N,) for a scalar h, (N, H) for H candidate bandwidths.
    """
    h = bandwidth.reshape(-1).to(y.dtype)  # (H,)
    n, d = points.shape
    out = []
    sq_points = (points**2).sum(1)
    for i in range(0, len(y), CHUNK):
        chunk = y[i : i + CHUNK]
        sq_dist = ((chunk**2).sum(1, keepdim=True) - 2 * chunk @ points.T + sq_points).clamp_min(0)  # (B, n)
        logits = -sq_dist.unsqueeze(-1) / (2 * h**2)  # (B, n, H)
        out.append(torch.logsumexp(logits, dim=1) - math.log(n) - d * torch.log(h * math.sqrt(2 * math.pi)))
    result = torch.cat(out)  # (N, H)
    return result[:, 0] if bandwidth.dim() == 0 else result


@register
class KDE(DensityModel):
    name = "kde"
    title = "Kernel density estimate"
    summary = "A Gaussian bump on every training point; its size (bandwidth) chosen on held-out data."
    config_class = KDEConfig
    variable_buffers = {"points": "max_points"}  # the kernel centres: up to max_points training points
    objective = "held-out NLL (nats) over candidate bandwidths; the data are the parameters"
    trainable = False

    def __init__(self, config: KDEConfig, spec):
        super().__init__(config, spec)
        self.register_buffer("points", torch.zeros(1, spec.dim))
        self.register_buffer("bandwidth", torch.tensor(1.0))

    def initialize(self, train, valid, generator):
        if len(train) > self.config.max_points:
            train = train[torch.randperm(len(train), generator=generator)[: self.config.max_points]]
        points = dequantized(self, train, generator)
        held_out = dequantized(self, valid, generator)
        spread = float(points.std(0).mean()) or 1.0
        candidates = torch.logspace(math.log10(spread * 1e-3), math.log10(spread * 2), self.config.num_bandwidths)
        scores = kernel_log_prob(held_out, points, candidates).mean(0)  # (H,)
        best = int(torch.argmax(scores))
        self.points = points
        self.bandwidth = candidates[best].clone()
        return {"bandwidth": float(self.bandwidth), "valid_nll_at_bandwidth": -float(scores[best])}

    def flat_log_prob(self, y):
        return kernel_log_prob(y, self.points, self.bandwidth)

    def flat_sample(self, n, temperature, generator):
        index = random_index(len(self.points), (n,), generator, self.device)
        noise = standard_normal((n, self.points.shape[1]), generator, self.device)
        return self.points[index] + noise * self.bandwidth * temperature
