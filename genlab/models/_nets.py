"""Pieces the neural families share: an MLP, a time embedding, a data standardiser and a sample score.

- `mlp`: a plain multi-layer perceptron.
- `sinusoidal_embedding`: the transformer-style features of a diffusion step t
  (Vaswani et al., 2017; used for t by Ho et al., 2020).
- `Standardize`: the affine map z = (y − loc) / scale from a family's continuous data
  y to the coordinates its networks see: the data's mean and standard deviation on
  2-D points (set by `fit`), and [0, 1] → [−1, 1] on dequantized images (fixed).
- `view_mmd2`, `sample_mmd2`: MMD² between samples and held-out items, with the
  kernel and scaling of the common yardstick (`genlab.evaluate.sample_metrics`), for
  families without a likelihood to chart and to pick their best weights by.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from genlab.data.base import DataSpec
from genlab.models.base import GenerativeModel
from genlab.yardsticks import median_distance, mmd2

__all__ = ["mlp", "sinusoidal_embedding", "Standardize", "view_mmd2", "sample_mmd2"]


def mlp(d_in: int, d_out: int, hidden_units: int, hidden_layers: int,
        activation: Callable[[], nn.Module] = nn.SiLU) -> nn.Sequential:
    """d_in → (Linear, activation) × hidden_layers → Linear → d_out."""
    layers: list[nn.Module] = []
    width = d_in
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), activation()]
        width = hidden_units
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Features [sin(t·ω_k), cos(t·ω_k)] of steps t (N,) with ω_k = max_period^(−k/(dim/2)); shape (N, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]  # (N, half)
    return torch.cat([angles.sin(), angles.cos()], 1)


class Standardize(nn.Module):
    """z = (y − loc) / scale per coordinate, and back.

    On dequantized images (y in [0, 1]) loc = scale = 0.5, so z lies in [−1, 1]; on
    continuous points `fit` sets loc and scale to the data's mean and standard
    deviation. Both are buffers, saved with the weights.
    """

    def __init__(self, spec: DataSpec):
        super().__init__()
        self.fixed = spec.view != "continuous"
        loc, scale = (0.5, 0.5) if self.fixed else (0.0, 1.0)
        self.register_buffer("loc", torch.full((spec.dim,), loc))
        self.register_buffer("scale", torch.full((spec.dim,), scale))

    @torch.no_grad()
    def fit(self, y: torch.Tensor) -> None:
        """Set loc and scale from flat data y (N, D); images keep their fixed map."""
        if not self.fixed:
            self.loc = y.mean(0)
            self.scale = y.std(0).clamp_min(1e-3)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.loc) / self.scale

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.scale + self.loc

    def log_det(self) -> torch.Tensor:
        """log |det ∂z/∂y| = −Σ log scale (a constant)."""
        return -self.scale.log().sum()


@torch.no_grad()
def view_mmd2(samples: torch.Tensor, reference: torch.Tensor, spec: DataSpec) -> float:
    """Unbiased MMD² between samples and reference items, both in the data view.

    Image views are divided by (levels − 1) first, and the kernel length scale is the
    median distance between reference items, as in the common yardstick.
    """
    samples, reference = samples.detach().cpu(), reference.detach().cpu()
    if spec.view != "continuous":
        samples, reference = samples / (spec.levels - 1), reference / (spec.levels - 1)
    return mmd2(samples, reference, median_distance(reference))


@torch.no_grad()
def sample_mmd2(model: GenerativeModel, reference: torch.Tensor, n: int = 1000, seed: int = 0) -> float:
    """`view_mmd2` between len(reference[:n]) samples drawn with a fixed seed and reference[:n]."""
    reference = reference[:n]
    samples = model.sample(len(reference), generator=torch.Generator().manual_seed(seed))
    return view_mmd2(samples, reference, model.spec)
