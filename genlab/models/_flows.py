"""The coupling-flow skeleton that RealNVP and NSF share; a family only brings its transform.

A coupling flow maps data y to a base point z = f(y) through a stack of invertible
steps. Each coupling step leaves half of the coordinates as they are and moves the
other half by an elementwise bijection whose parameters an MLP reads off the
unmoved half (Dinh et al., 2017), so the Jacobian is triangular and

    log p_θ(y) = log N(f(y); 0, I) + Σ_steps log |det ∂step|.

A family subclasses `CouplingFlow` and implements `make_transform()`, returning an
`ElementwiseTransform` (affine for RealNVP, a rational-quadratic spline for NSF).
Everything else lives here: the masks, the conditioners, an input ActNorm fitted to
the data, the log-det accumulation, the inverse used for sampling and the
temperature (a scale on the base noise's standard deviation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genlab.data.base import DataSpec
from genlab.models._noise import standard_normal
from genlab.models.base import DensityModel, ModelConfig, hparam, thin_frames

__all__ = ["CouplingFlowConfig", "ElementwiseTransform", "NormalizingFlow", "CouplingFlow", "coupling_masks"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass
class CouplingFlowConfig(ModelConfig):
    """Hyper-parameters every coupling flow has; families add their own and change defaults."""

    num_layers: int = hparam(8, 1, 64, "Coupling layers; each one moves half of the coordinates.")
    hidden_units: int = hparam(128, 4, 2048, "Width of each coupling layer's conditioner MLP.")
    hidden_layers: int = hparam(2, 1, 8, "Hidden layers in each conditioner MLP.")


class ElementwiseTransform:
    """A bijection of each moved coordinate, given `num_params` numbers per coordinate.

    Subclasses implement `forward(x, params) -> (y, log|dy/dx|)` and `inverse(y, params) -> x`
    with x, y of shape (N, d) and params of shape (N, num_params, d) (coordinates last,
    so each kind of parameter is one contiguous block). All-zero params must give the
    identity, so a flow starts as its base distribution.
    """

    num_params: int = 0

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def inverse(self, y: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def coupling_masks(dim: int, num_layers: int) -> list[torch.Tensor]:
    """Which coordinates each layer moves (True = moved), as bool tensors of shape (dim,).

    Layers come in pairs that swap the two sets, so every coordinate is moved every
    other layer. The split alternates between a checkerboard on the flat vector
    (even / odd positions) and its two halves (first / second), which mixes distant
    coordinates on image data; for dim = 2 both are simply "x₀" and "x₁".
    """
    positions = torch.arange(dim)
    checker = positions % 2 == 0
    halves = positions < dim // 2
    masks = []
    for i in range(num_layers):
        mask = checker if (i // 2) % 2 == 0 else halves
        masks.append(mask if i % 2 == 0 else ~mask)
    return masks


def conditioner_mlp(d_in: int, d_out: int, hidden_units: int, hidden_layers: int) -> nn.Sequential:
    """An MLP whose last layer starts at zero, so its coupling starts as the identity."""
    layers: list[nn.Module] = []
    width = d_in
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), nn.ReLU()]
        width = hidden_units
    last = nn.Linear(width, d_out)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class Coupling(nn.Module):
    """One coupling step: y[moved] = τ(x[moved]; MLP(x[kept])), y[kept] = x[kept]."""

    def __init__(self, transform: ElementwiseTransform, moved: torch.Tensor, hidden_units: int, hidden_layers: int):
        super().__init__()
        positions = torch.arange(len(moved))
        self.register_buffer("kept", positions[~moved])
        self.register_buffer("moved", positions[moved])
        self.transform = transform
        self.conditioner = conditioner_mlp(
            len(self.kept), len(self.moved) * transform.num_params, hidden_units, hidden_layers
        )

    def _params(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conditioner(x.index_select(1, self.kept))
        return h.view(len(x), self.transform.num_params, len(self.moved))  # (N, P, d_moved)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_det = self.transform.forward(x.index_select(1, self.moved), self._params(x))
        return x.index_copy(1, self.moved, y), log_det.sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        x = self.transform.inverse(y.index_select(1, self.moved), self._params(y))
        return y.index_copy(1, self.moved, x)


class ActNorm(nn.Module):
    """z = (x - loc) / scale per coordinate, with loc and scale first set from data (Kingma & Dhariwal, 2018)."""

    def __init__(self, dim: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        self.loc.copy_(x.mean(0))
        self.log_scale.copy_(x.std(0).clamp_min(1e-3).log())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = (x - self.loc) * torch.exp(-self.log_scale)
        return z, (-self.log_scale.sum()).expand(len(x))

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.exp(self.log_scale) + self.loc


class NormalizingFlow(DensityModel):
    """What every flow shares once it has `forward_flow(y) -> (z, log|det|)` and
    `inverse_flow(z) -> y`: a standard-normal base, the change-of-variables density,
    sampling by the inverse and `encode` = f(y)."""

    def _base_noise(self, n: int, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
        """z ~ N(0, temperature² I), shape (n, D)."""
        return temperature * standard_normal((n, self.spec.dim), generator, self.device)

    # ---- the DensityModel contract ------------------------------------------------
    def flat_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        z, log_det = self.forward_flow(y)
        base = -0.5 * z.square().sum(1) - self.spec.dim * _HALF_LOG_2PI
        # absurdly far from the data z can overflow float range: p_θ is 0 there to working precision
        return torch.where(torch.isfinite(z).all(1), base + log_det, -math.inf)

    def flat_sample(self, n: int, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
        return self.inverse_flow(self._base_noise(n, temperature, generator))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The base-space point z = f(x), flattened: shape (N, D)."""
        y, _ = self.to_continuous(x)
        return self.forward_flow(y)[0]


class CouplingFlow(NormalizingFlow):
    """A standard-normal base pushed through ActNorm and `num_layers` coupling steps.

    Subclasses set the class attributes of `GenerativeModel` and implement
    `make_transform()`. `forward_flow` is the map y → z used for density and
    encoding; `inverse_flow` the map z → y used for sampling.
    """

    def __init__(self, config: CouplingFlowConfig, spec: DataSpec):
        super().__init__(config, spec)
        if spec.dim < 2:
            raise ValueError(f"{self.title} needs data with at least 2 coordinates to split; got shape {spec.shape}.")
        transform = self.make_transform()
        couplings = [
            Coupling(transform, moved, config.hidden_units, config.hidden_layers)
            for moved in coupling_masks(spec.dim, config.num_layers)
        ]
        self.steps = nn.ModuleList([ActNorm(spec.dim), *couplings])

    def make_transform(self) -> ElementwiseTransform:
        raise NotImplementedError

    # ---- the two directions -------------------------------------------------------
    def forward_flow(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = f(y) and log|det ∂f/∂y|, for flat y of shape (N, D)."""
        log_det = y.new_zeros(len(y))
        for step in self.steps:
            y, step_log_det = step(y)
            log_det = log_det + step_log_det
        return y, log_det

    def inverse_flow(self, z: torch.Tensor) -> torch.Tensor:
        """y = f⁻¹(z), for flat z of shape (N, D) (no gradients: it is for sampling)."""
        return self.layer_outputs(z)[-1]

    @torch.no_grad()
    def layer_outputs(
        self, z_or_n: torch.Tensor | int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> list[torch.Tensor]:
        """The points after each step of sampling: [z, ..., y], each flat (N, D).

        Pass base points z, or a count n to draw z ~ N(0, temperature² I). The list
        has `num_layers + 2` entries: the base points, one per coupling step (last
        step first) and the data-space points after the input ActNorm is undone.
        """
        z = self._base_noise(z_or_n, temperature, generator) if isinstance(z_or_n, int) else z_or_n
        outputs = [z]
        for step in reversed(self.steps):
            outputs.append(step.inverse(outputs[-1]))
        return outputs

    def _sample_steps(self, n, temperature, generator, max_frames):
        """Sampling layer by layer: the base noise, then the points after each step, in the data view."""
        outputs = self.layer_outputs(n, temperature, generator)
        captions = ["base noise z"] + [f"after step {i + 1} of {len(outputs) - 2}" for i in range(len(outputs) - 2)]
        captions.append("data space")
        frames = thin_frames(list(zip(captions, outputs)), max_frames)
        return [(caption, self.to_view(y)) for caption, y in frames]

    @torch.no_grad()
    def initialize(self, train: torch.Tensor, valid: torch.Tensor, generator: torch.Generator) -> dict[str, float]:
        """Set the input ActNorm so the training data start standardised per coordinate."""
        y, _ = self.to_continuous(train[:20000], generator)
        self.steps[0].initialize(y)
        return {}
