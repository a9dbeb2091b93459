"""Energy-based model: p_θ(x) ∝ exp(−E_θ(x)), trained by contrastive divergence.

The gradient of the log-likelihood of an EBM is
∇_θ log p_θ(x) = −∇_θ E_θ(x) + E_{x'~p_θ}[∇_θ E_θ(x')], so each step lowers the
energy of data and raises it at samples x' of the model:

    loss = mean E_θ(data) − mean E_θ(samples) + α · mean(E_θ(data)² + E_θ(samples)²).

The first two terms are the contrastive-divergence gap (charted as
`contrastive_divergence`); the small L2 penalty keeps the energies near zero. The
samples come from short-run Langevin dynamics,

    z ← z − ε·∇E_θ(z) + √(2ε)·ξ,   ξ ~ N(0, I),

continued from a replay buffer of past chains, with a few chains restarted from
uniform noise at each step (Du & Mordatch, 2019). The buffer lives only while
training (it is not saved with the weights); `sample` always runs `sampling_steps`
Langevin steps from uniform noise over the data's box, and `temperature` T samples
∝ exp(−E/T).

On 2-D points the normaliser can be computed instead of sampled around: with
`training = "grid likelihood"` each step minimises the exact negative log-likelihood

    loss = mean E_θ(data) + log Z_θ,   Z_θ ≈ Σ_cells exp(−E_θ(c + u)) · cell area,

over a grid of cells covering the chains' box, shifted by one uniform offset u per step.
The random shift makes the sum an unbiased estimate of the integral over the box
(stratified sampling), so the energy cannot hide mass between fixed grid points. The
gradient is then maximum likelihood's own, with no sampler's bias; it is what is out of
reach in more dimensions (a grid of 64 cells per side has 64^D of them), and why
contrastive divergence and Langevin chains exist. Sampling is Langevin either way.

log_prob_kind is "unnormalized": `log_prob(x)` = −E_θ(x) (plus a constant) and the
normaliser Z_θ is unknown. The evaluation normalises it on a grid over 2-D toys;
while training, the held-out number that picks the best weights is the
grid-normalised held-out NLL on 2-D points, and the sample MMD² against held-out
data on images (so the charted objective and its validation line differ: the
contrastive-divergence gap has no fixed scale to compare weights by).

Networks see standardized points, or dequantized pixels scaled to [−1, 1]; Langevin
chains run there, stay inside the box, and are quantised back to the view at the end.

References:
    Du & Mordatch, "Implicit Generation and Generalization in Energy-Based Models", NeurIPS 2019.
    Hinton, "Training Products of Experts by Minimizing Contrastive Divergence", Neural Computation 2002.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from genlab.models import register
from genlab.models._nets import Standardize, mlp, sample_mmd2
from genlab.models._noise import random_index, standard_normal, uniform
from genlab.models.base import DensityModel, ModelConfig, hparam
from genlab.yardsticks import grid_log_prob

__all__ = ["EBM", "EBMConfig", "langevin", "langevin_chain"]

BOX_MARGIN = 0.1  # the box of uniform starts: the data's range, widened by this share of it on each side
VALID_SAMPLES = 256  # samples compared with held-out images by validation_loss
VALID_GRID = 100  # cells per side of the grid that normalises the energy on 2-D points
GRID_WORK_LIMIT = 2**25  # grid points × hidden units × layers one grid-likelihood step may hold for its backward
TRAINING = ("contrastive divergence", "grid likelihood")  # how the energy is trained (see the module's docstring)


@dataclass
class EBMConfig(ModelConfig):
    learning_rate: float = hparam(1e-3, 1e-6, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(256, 2, 8192, "Data items (and as many Langevin chains) per step.")
    hidden_units: int = hparam(128, 4, 2048, "Width of the energy network's hidden layers.")
    hidden_layers: int = hparam(3, 1, 8, "Hidden layers in the energy network.")
    langevin_steps: int = hparam(20, 1, 1000, "Langevin steps per training step, continuing chains from the buffer.")
    step_size: float = hparam(0.01, 1e-6, 1.0, "ε in z ← z − ε∇E(z) + √(2ε)ξ, in standardized coordinates.", log=True)
    sampling_steps: int = hparam(200, 1, 10000, "Langevin steps from uniform noise when drawing samples.")
    buffer_size: int = hparam(10000, 1, 1000000, "Chains kept in the replay buffer.")
    restart_share: float = hparam(0.05, 0.0, 1.0, "Share of chains restarted from uniform noise at each step.")
    energy_penalty: float = hparam(0.01, 0.0, 100.0, "α, the weight of the L2 penalty on energies; it caps their "
                                   "range near ±1/(2α) nats, too narrow for images when α ≥ 0.1.", log=True)
    training: str = hparam("contrastive divergence", help="How the energy learns: contrastive divergence against "
                           "Langevin samples (any data), or the exact likelihood with the normaliser summed on a "
                           "randomly shifted grid (2-D points only: a grid needs 64^D cells).", choices=TRAINING,
                           views=("continuous",))
    grid_cells: int = hparam(64, 8, 256, "Cells per side of the grid that normalises the energy in grid-likelihood "
                             "training.", views=("continuous",))


def _energy_grad(energy: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(z).sum(), z)
    return grad


def langevin_chain(
    energy: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    steps: int,
    step_size: float,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    low: torch.Tensor | None = None,
    high: torch.Tensor | None = None,
) -> Iterator[torch.Tensor]:
    """Unadjusted Langevin dynamics for p ∝ exp(−E/T), yielding the chains after each step.

    z ← z − (ε/T)·∇E(z) + √(2ε)·ξ with ξ ~ N(0, I), clamped to [low, high] when given.
    For small ε its stationary law approaches exp(−E/T) / Z (Roberts & Tweedie, 1996).

    Arguments:
        energy: maps points (N, D) to energies (N,); differentiable in its input.
        z: starting points (N, D).
    """
    noise_scale = math.sqrt(2 * step_size)
    for _ in range(steps):
        noise = standard_normal(z.shape, generator, z.device)
        z = z - (step_size / temperature) * _energy_grad(energy, z) + noise_scale * noise
        if low is not None:
            z = torch.maximum(torch.minimum(z, high), low)
        yield z.detach()


def langevin(energy, z, steps, step_size, temperature=1.0, generator=None, low=None, high=None) -> torch.Tensor:
    """The chains after `steps` Langevin steps (see `langevin_chain`)."""
    for z in langevin_chain(energy, z, steps, step_size, temperature, generator, low, high):
        pass
    return z.detach()


@register
class EBM(DensityModel):
    """An MLP energy over standardized data, trained by contrastive divergence with Langevin samples.

    Example:
        >>> model = create_model("ebm", load_dataset("toy:8gaussians"), langevin_steps=30)
        >>> model.fields(points)["energy"]     # E_θ(x), the live landscape
    """

    name = "ebm"
    title = "Energy-based model (Langevin, contrastive divergence)"
    summary = (
        "A network assigns every point an energy; low energy means likely. Training lowers the energy of data and "
        "raises it where the model's own Langevin samples land. The density is known up to its normaliser."
    )
    config_class = EBMConfig
    log_prob_kind = "unnormalized"
    objective = ("contrastive divergence mean E(data) − mean E(Langevin samples) + α·energy², or in grid-likelihood "
                 "training (2-D points) the NLL mean E(data) + log Z on a shifted grid "
                 "(validation: grid-normalised NLL on 2-D points, sample MMD² on images)")

    def __init__(self, config: EBMConfig, spec):
        super().__init__(config, spec)
        self.norm = Standardize(spec)
        self.energy_net = mlp(spec.dim, 1, config.hidden_units, config.hidden_layers)
        edge = 1.0 if spec.view != "continuous" else 3.0
        self.register_buffer("low", torch.full((spec.dim,), -edge))  # the box of chains, standardized
        self.register_buffer("high", torch.full((spec.dim,), edge))
        self.replay: torch.Tensor | None = None  # training-time chains (N, D), standardized; not saved
        if config.training == "grid likelihood":
            if spec.view != "continuous" or spec.dim != 2:
                shape = "images" if spec.view != "continuous" else f"points in {spec.dim} dimensions"
                raise ValueError(f"Grid-likelihood training needs 2-D points (a grid of {config.grid_cells} cells "
                                 f"per side); this data is {shape}. Use contrastive divergence.")
            work = config.grid_cells ** 2 * config.hidden_units * config.hidden_layers
            if work > GRID_WORK_LIMIT:
                raise ValueError(f"Grid-likelihood training would push {config.grid_cells}² grid points through "
                                 f"{config.hidden_layers} layers of {config.hidden_units} units at every step "
                                 f"({work:,} activations, the limit is {GRID_WORK_LIMIT:,}, about 1 GB with their "
                                 "gradients): use fewer grid cells or a smaller network.")

    # ---- the energy and its sampler -------------------------------------------------
    def energy(self, z: torch.Tensor) -> torch.Tensor:
        """E_θ at standardized points z (N, D), shape (N,)."""
        return self.energy_net(z).squeeze(1)

    def uniform_in_box(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points uniform over the box, standardized."""
        u = uniform((n, self.spec.dim), generator, self.device)
        return self.low + (self.high - self.low) * u

    def negatives(self, n: int) -> torch.Tensor:
        """n model samples for one training step: replay chains moved `langevin_steps` further."""
        size = self.config.buffer_size
        if self.replay is None or len(self.replay) != size:
            self.replay = self.uniform_in_box(size)
        index = random_index(size, (n,), None, self.device)
        start = self.replay[index]
        restart = uniform((n,), None, self.device) < self.config.restart_share
        start[restart] = self.uniform_in_box(int(restart.sum()))
        z = langevin(self.energy, start, self.config.langevin_steps, self.config.step_size,
                     low=self.low, high=self.high)
        self.replay[index] = z
        return z

    # ---- the contract ----------------------------------------------------------------
    @torch.no_grad()
    def initialize(self, train, valid, generator):
        """Standardize on the data and set the chains' box to the data's range, widened by 10%."""
        y, _ = self.to_continuous(train[:20000], generator)
        self.norm.fit(y)
        if self.spec.view == "continuous":  # the box holds every training point: the grid's Z must count them all
            z = self.norm(train.reshape(len(train), -1).float())
            low, high = z.min(0).values, z.max(0).values
            self.low, self.high = low - BOX_MARGIN * (high - low), high + BOX_MARGIN * (high - low)
        self.replay = None
        return {}

    def flat_log_prob(self, y):
        """−E_θ(y): log p_θ(y) up to the unknown constant log Z_θ."""
        return -self.energy(self.norm(y))

    def flat_sample(self, n, temperature, generator):
        start = self.uniform_in_box(n, generator)
        z = langevin(self.energy, start, self.config.sampling_steps, self.config.step_size, temperature, generator,
                     self.low, self.high)
        return self.norm.inverse(z)

    def shifted_grid_log_z(self) -> torch.Tensor:
        """log Z_θ over the box in standardized coordinates, from a grid shifted by one uniform offset (see the
        module's docstring); differentiable in θ."""
        n = self.config.grid_cells
        cell = (self.high - self.low) / n
        offset = uniform((2,), None, self.device)
        axes = [self.low[k] + cell[k] * (torch.arange(n, device=self.device) + offset[k]) for k in range(2)]
        points = torch.cartesian_prod(*axes)
        return torch.logsumexp(-self.energy(points), 0) + torch.log(cell).sum()

    def loss(self, batch):
        """Contrastive divergence on a batch, with negatives from the replay buffer (it advances those chains);
        or, in grid-likelihood training, the NLL with a grid normaliser (standardized coordinates)."""
        y, _ = self.to_continuous(batch)
        energy_data = self.energy(self.norm(y))
        if self.config.training == "grid likelihood":
            log_z = self.shifted_grid_log_z()
            return {"loss": energy_data.mean() + log_z, "energy_on_data": energy_data.mean().detach(),
                    "log_normaliser": log_z.detach()}
        energy_samples = self.energy(self.negatives(len(batch)))
        gap = energy_data.mean() - energy_samples.mean()
        penalty = (energy_data.square() + energy_samples.square()).mean()
        return {
            "loss": gap + self.config.energy_penalty * penalty,
            "contrastive_divergence": gap.detach(),
            "energy_on_data": energy_data.mean().detach(),
            "energy_on_samples": energy_samples.mean().detach(),
        }

    def validation_loss(self, valid):
        """Held-out NLL with Z_θ from a grid over the box on 2-D points; sample MMD² elsewhere."""
        if self.spec.view != "continuous" or self.spec.dim != 2:
            return sample_mmd2(self, valid, VALID_SAMPLES)
        low, high = self.norm.inverse(self.low).tolist(), self.norm.inverse(self.high).tolist()
        _, log_z = grid_log_prob(self.flat_log_prob, (low[0], high[0], low[1], high[1]), VALID_GRID)
        return float(log_z - self.flat_log_prob(valid.reshape(len(valid), -1)).double().mean())

    def _sample_steps(self, n, temperature, generator, max_frames):
        """The Langevin chains from uniform noise: up to max_frames snapshots, the last being the samples."""
        steps = self.config.sampling_steps
        shown = set(torch.linspace(0, steps, max(2, max_frames)).round().long().tolist())
        z = self.uniform_in_box(n, generator)
        frames = [("uniform noise", self.to_view(self.norm.inverse(z)))]
        chain = langevin_chain(self.energy, z, steps, self.config.step_size, temperature, generator,
                               self.low, self.high)
        for k, z in enumerate(chain, start=1):
            if k in shown:
                frames.append((f"Langevin step {k}", self.to_view(self.norm.inverse(z))))
        return frames[-max_frames:]

    def fields(self, points):
        """The energy landscape E_θ(x) on 2-D points."""
        if self.spec.view != "continuous" or points.shape[1] != self.spec.dim:
            return {}
        return {"energy": self.energy(self.norm(points))}
