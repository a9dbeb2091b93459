"""Denoising diffusion probabilistic model: learn to undo a fixed noising process.

The forward process adds Gaussian noise over T steps,
q(z_t | z_{t−1}) = N(√(1 − β_t)·z_{t−1}, β_t I), so that in closed form

    q(z_t | z_0) = N(√ᾱ_t · z_0, (1 − ᾱ_t) I),   ᾱ_t = Π_{s≤t} (1 − β_s),

and z_T is nearly N(0, I). A network ε_θ(z_t, t) predicts the noise in z_t, which
defines the reverse steps p_θ(z_{t−1} | z_t) = N(μ_θ(z_t, t), σ_t² I) with
μ_θ = (z_t − β_t/√(1 − ᾱ_t)·ε_θ) / √(1 − β_t). Training minimises the simplified
loss L_simple = E_{t, ε}‖ε − ε_θ(√ᾱ_t z_0 + √(1 − ᾱ_t) ε, t)‖² (mean over
coordinates; charted as the objective, `noise_prediction_mse`).

`log_prob(x)` is the evidence lower bound (ELBO) over all T steps, in nats:

    log p_θ(z_0) ≥ −KL(q(z_T|z_0) ‖ N(0, I))                      (prior term)
                   − Σ_{t=2..T} KL(q(z_{t−1}|z_t, z_0) ‖ p_θ(z_{t−1}|z_t))  (denoising terms)
                   + log N(z_0; μ_θ(z_1, 1), β_1 I)                (decoder term),

with the reverse variances σ_t² = β_t (Ho et al.'s upper choice; the lower one, the
posterior's β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t), made the bound about 2 nats looser on
toy:8gaussians at T = 100). Each denoising term is then
D/2·(log(β_t/β̃_t) + β̃_t/β_t − 1) + β_t / (2(1 − β_t)(1 − ᾱ_t)) · ‖ε − ε_θ(z_t, t)‖²,
at one draw of z_t per step (an unbiased estimate of the bound; common random
numbers in eval mode). It costs T network evaluations per item, batched over steps
(about 0.5–1 s for 2,000 points at T = 100 on one CPU thread).

log_prob_kind is "lower_bound" on every view: on points it bounds the exact
log-density; on images pixels are uniformly dequantized to y ∈ [0, 1] and scaled to
z = 2y − 1, and E_u[ELBO] − D·log(levels) + D·log 2 bounds the log-probability of the
discrete image (as for every dequantized family; `DensityModel`). `extra_metrics`
splits the bound into its three terms, and on points adds `ode_nll_nats`: the NLL under
the probability-flow ODE (Song et al., 2021) of the same network, exact up to the RK4
solver (< 1e-3 nats, tested against a Gaussian's closed form) and its start at step 1.
It is not a bound: it is the likelihood of a different sampler (the deterministic flow),
and it sits on the same exact axis as the flows (KL = ode_nll − data_entropy_nats).

Sampling runs the reverse chain ancestrally on `sampling_steps` of the T steps
(evenly strided, with the β's respaced so the marginals stay the same; Nichol &
Dhariwal, 2021), with σ² = β of each (respaced) step; `temperature` scales the
starting noise and every step's noise. With all T steps this is the model whose
bound is reported, except that, like Ho et al., the last step returns the decoder's
mean, and on images the predicted z_0 is clipped to [−1, 1] at each step. With few
steps a fixed variance is only rough (β spreads the samples too wide, β̃ too narrow).

References:
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    Sohl-Dickstein et al., "Deep Unsupervised Learning using Nonequilibrium Thermodynamics", ICML 2015.
    Nichol & Dhariwal, "Improved Denoising Diffusion Probabilistic Models", ICML 2021 (cosine schedule).
    Song et al., "Score-Based Generative Modeling through Stochastic Differential Equations", ICLR 2021.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genlab.models import register
from genlab.models._nets import Standardize, mlp, sinusoidal_embedding
from genlab.models._noise import random_index, standard_normal
from genlab.models.base import DensityModel, ModelConfig, hparam, thin_frames

__all__ = ["DDPM", "DDPMConfig", "beta_schedule", "SCHEDULES"]

TIME_FEATURES = 32  # sinusoidal features of the step t fed to the noise predictor
ELBO_CHUNK = 16384  # (item, step) pairs per network call when computing the ELBO
SCORE_NOISE = 0.1  # noise std (standardized units) at which `fields` reads the score
ODE_START = 1  # the probability-flow ODE starts at step 1 (ᾱ_1 = 1 − β_1), the data taken as z there
ODE_STEPS_PER_STEP = 2  # RK4 steps per diffusion step
ODE_ITEMS = 1000  # test items scored by the ODE in `extra_metrics` (each RK4 step: 4 passes, 4·D backward)


def _linear(T: int) -> torch.Tensor:
    """β from 1e-4 to 0.02 for T = 1000 (Ho et al.), scaled by 1000/T so shorter chains end as noisy."""
    scale = 1000.0 / T
    return torch.linspace(1e-4 * scale, min(0.02 * scale, 0.999), T, dtype=torch.float64)


def _cosine(T: int, offset: float = 0.008, max_beta: float = 0.5) -> torch.Tensor:
    """ᾱ_t = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2) (Nichol & Dhariwal).

    They clip β_t at 0.999; here at 0.5, because with β_t near 1 the last reverse
    step divides by √(1 − β_t) and its term of the bound (fixed variances) explodes.
    """
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
    return (1 - f[1:] / f[:-1]).clamp(max=max_beta)


SCHEDULES = {"linear": _linear, "cosine": _cosine}


def beta_schedule(name: str, T: int) -> torch.Tensor:
    """β_1..β_T (float64, shape (T,)) of the named schedule."""
    return SCHEDULES[name](T)


@dataclass
class DDPMConfig(ModelConfig):
    learning_rate: float = hparam(1e-3, 1e-6, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(256, 2, 8192, "Items per step (each at one random diffusion step t).")
    timesteps: int = hparam(100, 2, 4000, "T, the number of noising steps.")
    schedule: str = hparam("linear", help="How β_t grows with t.", choices=tuple(SCHEDULES))
    sampling_steps: int = hparam(100, 1, 4000, "Reverse steps when sampling (at most T; evenly strided).")
    hidden_units: int = hparam(128, 4, 2048, "Width of the noise predictor's hidden layers.")
    hidden_layers: int = hparam(3, 1, 8, "Hidden layers in the noise predictor.")


class NoisePredictor(nn.Module):
    """ε_θ(z_t, t): an MLP on [z_t, sinusoidal features of t·1000/T]."""

    def __init__(self, dim: int, timesteps: int, hidden_units: int, hidden_layers: int):
        super().__init__()
        self.time_scale = 1000.0 / timesteps
        self.net = mlp(dim + TIME_FEATURES, dim, hidden_units, hidden_layers)

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        features = sinusoidal_embedding(t * self.time_scale, TIME_FEATURES)  # (N, TIME_FEATURES)
        return self.net(torch.cat([z, features], 1))


@register
class DDPM(DensityModel):
    """DDPM with an MLP noise predictor, on points and flattened images.

    Example:
        >>> model = create_model("ddpm", load_dataset("toy:moons"), timesteps=200, schedule="cosine")
        >>> model.sample(500, generator=torch.Generator().manual_seed(0))   # ancestral sampling
        >>> model.fields(points)["score"]                                  # (N, 2) arrows
    """

    name = "ddpm"
    title = "Diffusion model (DDPM)"
    summary = (
        "Data are blurred into noise over many small steps; a network learns to predict the noise, so the steps "
        "can be run backwards from pure noise. The likelihood has a lower bound (ELBO)."
    )
    config_class = DDPMConfig
    log_prob_kind = "lower_bound"
    objective = "simplified noise-prediction loss ‖ε − ε_θ(z_t, t)‖², mean per coordinate (Ho et al.'s L_simple)"

    def __init__(self, config: DDPMConfig, spec):
        super().__init__(config, spec)
        if config.sampling_steps > config.timesteps:
            raise ValueError(f"sampling_steps ({config.sampling_steps}) must be at most timesteps "
                             f"({config.timesteps}); lower it or raise timesteps.")
        self.norm = Standardize(spec)
        self.eps_net = NoisePredictor(spec.dim, config.timesteps, config.hidden_units, config.hidden_layers)
        betas = beta_schedule(config.schedule, config.timesteps)
        self.register_buffer("betas", betas.float())  # β_t at index t − 1
        self.register_buffer("alpha_bars", torch.cumprod(1 - betas, 0).float())  # ᾱ_t at index t − 1

    # ---- the forward process ----------------------------------------------------------
    def alpha_bar(self, t: torch.Tensor) -> torch.Tensor:
        """ᾱ_t for integer steps t (ᾱ_0 = 1)."""
        padded = torch.cat([self.alpha_bars.new_ones(1), self.alpha_bars])
        return padded[t]

    def noised(self, z0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """z_t = √ᾱ_t·z_0 + √(1 − ᾱ_t)·ε: a draw from q(z_t | z_0) given the noise ε."""
        a = self.alpha_bar(t)[:, None]
        return a.sqrt() * z0 + (1 - a).sqrt() * noise

    def standardized(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        y, _ = self.to_continuous(x, generator)
        return self.norm(y)

    # ---- training ---------------------------------------------------------------------
    def squared_error(self, z0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """‖ε − ε_θ(z_t, t)‖² per item, with z_t = √ᾱ_t·z_0 + √(1 − ᾱ_t)·ε; shape (N,)."""
        return (noise - self.eps_net(self.noised(z0, t, noise), t)).square().sum(1)

    def noise_prediction_mse(self, z0: torch.Tensor, t: torch.Tensor, generator=None) -> torch.Tensor:
        """L_simple: the squared error averaged over items and coordinates."""
        noise = standard_normal(z0.shape, generator, z0.device)
        return self.squared_error(z0, t, noise).mean() / z0.shape[1]

    def loss(self, batch):
        z0 = self.standardized(batch)
        t = 1 + random_index(self.config.timesteps, (len(z0),), None, z0.device)
        mse = self.noise_prediction_mse(z0, t)
        return {"loss": mse, "noise_prediction_mse": mse.detach()}

    def validation_loss(self, valid):
        """L_simple with the steps t cycling through 1..T over the items and a fixed noise seed."""
        generator = torch.Generator().manual_seed(0)
        z0 = self.standardized(valid, generator)
        t = torch.arange(len(z0), device=z0.device) % self.config.timesteps + 1
        return float(self.noise_prediction_mse(z0, t, generator))

    @torch.no_grad()
    def initialize(self, train, valid, generator):
        y, _ = self.to_continuous(train[:20000], generator)
        self.norm.fit(y)
        return {}

    # ---- the bound ----------------------------------------------------------------------
    def elbo_terms(self, z0: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """The ELBO's terms for standardized items z0 (N, D), each (N,) in nats (losses: lower is better)."""
        n, d = z0.shape
        T = self.config.timesteps
        a_T = self.alpha_bars[-1]
        prior = 0.5 * ((1 - a_T) + a_T * z0.square() - 1 - torch.log(1 - a_T)).sum(1)
        t = torch.arange(1, T + 1, device=z0.device).repeat_interleave(n)  # (T·N,): every item at step 1, then 2, …
        items = z0.repeat(T, 1)  # (T·N, D)
        noise = standard_normal(items.shape, generator, z0.device)
        sq_err = torch.cat([
            self.squared_error(items[i:i + ELBO_CHUNK], t[i:i + ELBO_CHUNK], noise[i:i + ELBO_CHUNK])
            for i in range(0, len(items), ELBO_CHUNK)
        ]).view(T, n)
        betas, a_bar = self.betas, self.alpha_bars
        decoder = 0.5 * (sq_err[0] / (1 - betas[0]) + d * torch.log(2 * math.pi * betas[0]))
        beta, a_t, a_prev = betas[1:], a_bar[1:], a_bar[:-1]  # t = 2..T
        ratio = (1 - a_prev) / (1 - a_t)  # β̃_t / β_t
        variance_kl = 0.5 * d * (-torch.log(ratio) + ratio - 1).sum()
        weight = beta / (2 * (1 - beta) * (1 - a_t))  # (T − 1,)
        denoising = variance_kl + (weight[:, None] * sq_err[1:]).sum(0)
        return {"prior_kl_nats": prior, "denoising_kl_nats": denoising, "decoder_nll_nats": decoder}

    def flat_log_prob(self, y, generator=None):
        """ELBO ≤ log p_θ(y) in nats, for flat continuous y (N, D); T network calls per item."""
        terms = self.elbo_terms(self.norm(y), self.eval_generator(generator))
        return -sum(terms.values()) + self.norm.log_det()

    def extra_metrics(self, x):
        """The ELBO (nats, on the data view) and its three terms, averaged over x; on points also the
        NLL under the probability-flow ODE (`ode_nll_nats`, see `ode_log_prob`)."""
        generator = torch.Generator().manual_seed(0)
        y, correction = self.to_continuous(x, generator)
        terms = self.elbo_terms(self.norm(y), generator)
        elbo = -sum(terms.values()) + self.norm.log_det() + correction
        out = {"elbo_nats": float(elbo.mean()), **{k: float(v.mean()) for k, v in terms.items()}}
        if self.spec.view == "continuous":
            out["ode_nll_nats"] = -float(self.ode_log_prob(y[:ODE_ITEMS]).mean())
        return out

    # ---- the probability-flow ODE ---------------------------------------------------------
    def continuous_alpha_bar(self, t: torch.Tensor) -> torch.Tensor:
        """ᾱ at real-valued steps t ∈ [0, T]: log ᾱ interpolated linearly between whole steps (ᾱ_0 = 1)."""
        log_a = torch.cat([self.alpha_bars.new_zeros(1), self.alpha_bars.log()])  # (T + 1,)
        low = t.floor().long().clamp(0, self.config.timesteps - 1)
        frac = t - low
        return (log_a[low] * (1 - frac) + log_a[low + 1] * frac).exp()

    def ode_drift(self, z: torch.Tensor, t: float, step: int) -> torch.Tensor:
        """dz/dt = −½ β(t) (z + ∇log p_t(z)), with ∇log p_t = −ε_θ(z, t)/√(1 − ᾱ(t)) and
        β(t) = −d log ᾱ/dt, constant on (step, step + 1) which holds t: Song et al.'s probability flow."""
        tt = torch.full((len(z),), t, dtype=z.dtype, device=z.device)
        beta = -torch.log(self.alpha_bars[step] / (self.alpha_bars[step - 1] if step > 0 else 1.0))
        a = self.continuous_alpha_bar(tt)[:, None]
        return -0.5 * beta * (z - self.eps_net(z, tt) / (1 - a).sqrt())

    def _drift_and_divergence(self, z: torch.Tensor, t: float, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The drift and its exact divergence Σ_i ∂f_i/∂z_i (one backward pass per coordinate)."""
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            f = self.ode_drift(z, t, step)
            div = sum(torch.autograd.grad(f[:, i].sum(), z, retain_graph=i < z.shape[1] - 1)[0][:, i]
                      for i in range(z.shape[1]))
        return f.detach(), div.detach()

    def ode_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        """log p_θ(y) in nats for flat continuous y (N, D) under the probability-flow ODE.

        The ODE carries z from t = ODE_START (read as the data itself) to t = T, where z is
        scored under N(0, I); log p = log N(z_T) + ∫ div f dt, integrated by classical RK4 with
        ODE_STEPS_PER_STEP steps per diffusion step (aligned with the whole steps, where β
        jumps). Exact up to the solver (halving the step moves it by < 1e-3 nats on a Gaussian,
        tested), the start at ODE_START rather than 0 and the prior's mismatch at T.
        """
        T = self.config.timesteps
        z = self.norm(y)
        grid = [ODE_START + i / ODE_STEPS_PER_STEP for i in range((T - ODE_START) * ODE_STEPS_PER_STEP + 1)]
        integral = torch.zeros(len(z), dtype=z.dtype, device=z.device)
        for t0, t1 in zip(grid[:-1], grid[1:]):
            h, step = t1 - t0, int(t0)  # [t0, t1] lies within one whole step, where β is constant
            k1, d1 = self._drift_and_divergence(z, t0, step)
            k2, d2 = self._drift_and_divergence(z + h / 2 * k1, t0 + h / 2, step)
            k3, d3 = self._drift_and_divergence(z + h / 2 * k2, t0 + h / 2, step)
            k4, d4 = self._drift_and_divergence(z + h * k3, t1, step)
            z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            integral = integral + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
        prior = -0.5 * (z.square().sum(1) + z.shape[1] * math.log(2 * math.pi))
        return prior + integral + self.norm.log_det()

    # ---- the reverse process ------------------------------------------------------------
    def sampling_schedule(self) -> list[int]:
        """The steps the sampler visits, T first, evenly strided (1 last when there are two or more)."""
        T, S = self.config.timesteps, self.config.sampling_steps
        return torch.linspace(T, 1, S).round().long().tolist()

    def reverse_chain(self, n: int, temperature: float, generator: torch.Generator | None):
        """Yields (t, z_t) from z_T ~ N(0, temperature² I) down to (0, z_0), standardized (call it in eval mode,
        without gradients, as `sample` and `sample_steps` do)."""
        steps = self.sampling_schedule()
        z = temperature * standard_normal((n, self.spec.dim), generator, self.device)
        yield steps[0], z
        for t, prev in zip(steps, steps[1:] + [0]):
            a_t, a_prev = self.alpha_bar(torch.tensor(t)), self.alpha_bar(torch.tensor(prev))
            beta = 1 - a_t / a_prev  # the respaced β from step prev to step t
            eps = self.eps_net(z, torch.full((n,), t, device=self.device))
            z0_hat = (z - (1 - a_t).sqrt() * eps) / a_t.sqrt()
            if self.spec.view != "continuous":
                z0_hat = z0_hat.clamp(-1, 1)
            mean = (a_prev.sqrt() * beta * z0_hat + (1 - beta).sqrt() * (1 - a_prev) * z) / (1 - a_t)
            if prev > 0:  # σ² = β, as in the model whose bound is reported
                z = mean + temperature * beta.sqrt() * standard_normal(z.shape, generator, self.device)
            else:
                z = mean
            yield prev, z

    def flat_sample(self, n, temperature, generator):
        for _, z in self.reverse_chain(n, temperature, generator):
            pass
        return self.norm.inverse(z)

    def _sample_steps(self, n, temperature, generator, max_frames):
        """Denoising snapshots z_t → … → z_0 (up to max_frames, evenly spaced), in the data view."""
        frames = []
        for t, z in thin_frames(list(self.reverse_chain(n, temperature, generator)), max_frames):
            caption = f"t = {t}" if t > 0 else "t = 0 (samples)"
            frames.append((caption, self.to_view(self.norm.inverse(z))))
        return frames

    @torch.no_grad()
    def fields(self, points):
        """{"score": (N, 2)} ∇ log q_t(x) ≈ −ε_θ(z, t)/√(1 − ᾱ_t) at the step whose noise std is nearest 0.1
        (standardized units), mapped to data coordinates; 2-D points only."""
        if self.spec.view != "continuous" or points.shape[1] != self.spec.dim:
            return {}
        t = int(torch.argmin(((1 - self.alpha_bars).sqrt() - SCORE_NOISE).abs())) + 1
        sigma = (1 - self.alpha_bars[t - 1]).sqrt()
        eps = self.eps_net(self.norm(points), torch.full((len(points),), t, device=points.device))
        return {"score": -eps / sigma / self.norm.scale}
