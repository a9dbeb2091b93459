"""Denoising diffusion probabilistic model: learn to undo a fixed noising process.

The forward process adds Gaussian noise over T steps,
q(z_t | z_{t−1}) = N(√(1 − β_t)·z_{t−1}, β_t I), so that in closed form

    q(z_t | z_0) = N(√ᾱ_t · z_0, (1 − ᾱ_t) I),   ᾱ_t = Π_{s≤t} (1 − β_s),

and z_T is nearly N(0, I). A network ε_θ(z_t, t) predicts the noise in z_t, which
defines the reverse steps p_θ(z_{t−1} | z_t) = N(μ_θ(z_t, t), σ_t² I) with
μ_θ = (z_t − β_t/√(1 − ᾱ_t)·ε_θ) / √(1 − β_t). Training minimises the simplified
loss L_simple = E_{t, ε}‖ε − ε_θ(√ᾱ_t z_0 + √(1 − ᾱ_t) ε, t)‖² (mean over
coordinates; charted as the objective, `noise_prediction_mse`). With `loss_weighting="likelihood"`
the steps t are drawn in proportion to w_t = β_t/((1 − β_t)(1 − ᾱ_t)), their weight in the bound
below, so the same squared error is an importance-sampled estimate of the ELBO's t-dependent part
(Song et al., 2021, "Maximum likelihood training of score-based diffusion models"): it spends more
of training on the small t that decide the likelihood.

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
log-density (σ_t² = β_t). On images there is no dequantization: a pixel value k of L levels
starts at its bin's centre 2k/(L − 1) − 1 and the decoder term is the probability of that bin
under N(μ_θ(z_1, 1), β_1) (`discretized_gaussian_log_prob`), so the ELBO bounds log P_θ(x) of the
discrete image. There σ_t² is fitted per step to the network's measured error (`step_variance`;
with σ² = β the variance mismatch alone costs 1 bit/dim at T = 100), and with two levels the
reverse mean's ẑ_0 adds the pixel's own noisy value as evidence (log-odds) to the network's, which
makes the small-t steps nearly exact; with more levels the bound stays loose at small t (see
docs/YARDSTICKS.md). `extra_metrics` splits the bound into its three terms, and on points adds
`ode_nll_nats`: the NLL under the probability-flow ODE (Song et al., 2021) of the same network,
exact up to the RK4 solver (< 1e-3 nats, tested against a Gaussian's closed form) and its start at step 1.
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
from genlab.models._noise import categorical, random_index, standard_normal
from genlab.models.base import DensityModel, ModelConfig, hparam, learning_rate_schedule, thin_frames

__all__ = ["DDPM", "DDPMConfig", "beta_schedule", "SCHEDULES", "discretized_gaussian_log_prob"]

ERROR_DECAY = 0.99  # per training batch, in the running mean of the noise prediction's error per step (images)
TIME_FEATURES = 32  # sinusoidal features of the step t fed to the noise predictor
ELBO_CHUNK = 16384  # (item, step) pairs per network call when computing the ELBO
SCORE_NOISE = 0.1  # noise std (standardized units) at which `fields` reads the score
ODE_START = 1  # the probability-flow ODE starts at step 1 (ᾱ_1 = 1 − β_1), the data taken as z there
ODE_STEPS_PER_STEP = 2  # RK4 steps per diffusion step
LOSS_WEIGHTINGS = ("simple", "likelihood")
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


def discretized_gaussian_log_prob(z0: torch.Tensor, mean: torch.Tensor, std: torch.Tensor | float,
                                  levels: int) -> torch.Tensor:
    """log P(k) per coordinate (float64, z0's shape): the mass of N(mean, std²) on the bin of the value k
    whose centre z0 is.

    The L = `levels` values k = 0..L−1 sit at the centres c_k = 2k/(L − 1) − 1 of [−1, 1], and bin k is
    c_k ± 1/(L − 1), except that the first reaches down to −∞ and the last up to +∞: the bins tile the
    line, so the L probabilities sum to 1 for any mean and std (tested). With two levels it is a
    Bernoulli with P(k = 1) = Φ(mean/std). The mass Φ(b) − Φ(a) between the standardized edges is taken
    in logs from the tail both edges lie in (Φ(b) − Φ(a) = Φ(−a) − Φ(−b)), so a bin far out in either
    tail keeps its digits.
    """
    mean = mean.double()
    k = torch.round((z0.double() + 1) * (levels - 1) / 2).clamp(0, levels - 1)
    lower = torch.where(k > 0, (2 * k - 1) / (levels - 1) - 1, -math.inf)
    upper = torch.where(k < levels - 1, (2 * k + 1) / (levels - 1) - 1, math.inf)
    std = torch.as_tensor(std, dtype=torch.float64, device=mean.device)
    a, b = (lower - mean) / std, (upper - mean) / std
    flip = a + b > 0  # the bin lies mostly above the mean: measure it from the upper tail
    low, high = torch.where(flip, -b, a), torch.where(flip, -a, b)
    log_high = torch.special.log_ndtr(high)
    return log_high + torch.log(-torch.expm1(torch.special.log_ndtr(low) - log_high))


@dataclass
class DDPMConfig(ModelConfig):
    learning_rate: float = hparam(1e-3, 1e-6, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(256, 2, 8192, "Items per step (each at one random diffusion step t).")
    learning_rate_schedule: str = learning_rate_schedule("constant")
    timesteps: int = hparam(100, 2, 4000, "T, the number of noising steps.")
    schedule: str = hparam("linear", help="How β_t grows with t.", choices=tuple(SCHEDULES))
    sampling_steps: int = hparam(100, 1, 4000, "Reverse steps when sampling (at most T; evenly strided).")
    hidden_units: int = hparam(128, 4, 2048, "Width of the noise predictor's hidden layers.")
    hidden_layers: int = hparam(3, 1, 8, "Hidden layers in the noise predictor.")
    loss_weighting: str = hparam("simple", help="Which steps t training draws: 'simple' draws them uniformly (Ho "
                                 "et al.'s L_simple); 'likelihood' draws them in proportion to their weight in the "
                                 "bound, so the same squared error trains the ELBO itself, with less noise than "
                                 "weighting it.", choices=LOSS_WEIGHTINGS)


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
        self.discrete = spec.view != "continuous"
        if self.discrete:  # running sums behind the reverse variances on images (`step_variance`), per step
            self.register_buffer("error_sums", torch.zeros(config.timesteps))
            self.register_buffer("error_counts", torch.zeros(config.timesteps))

    # ---- the forward process ----------------------------------------------------------
    def alpha_bar(self, t: torch.Tensor) -> torch.Tensor:
        """ᾱ_t for integer steps t (ᾱ_0 = 1)."""
        padded = torch.cat([self.alpha_bars.new_ones(1), self.alpha_bars])
        return padded[t]

    def noised(self, z0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """z_t = √ᾱ_t·z_0 + √(1 − ᾱ_t)·ε: a draw from q(z_t | z_0) given the noise ε."""
        a = self.alpha_bar(t)[:, None]
        return a.sqrt() * z0 + (1 - a).sqrt() * noise

    def data_coordinates(self, x: torch.Tensor) -> torch.Tensor:
        """Items in the data view -> the flat continuous y (N, D) the diffusion starts from: points as they
        are; on images the pixel values k ∈ 0..L−1 at the centres k/(L − 1) of their bins (no dequantization:
        the discretised decoder scores the bin itself)."""
        y = self.flat(x)
        return y if self.spec.view == "continuous" else y / (self.spec.levels - 1)

    def standardized(self, x: torch.Tensor) -> torch.Tensor:
        """z_0 (N, D): the data coordinates standardized (images: bin centres 2k/(L − 1) − 1 in [−1, 1])."""
        return self.norm(self.data_coordinates(x))

    def to_view(self, y: torch.Tensor) -> torch.Tensor:
        """Flat continuous y back to the data view: on images the nearest bin centre (the discretised decoder's
        most likely value for the mean it is given)."""
        if self.spec.view != "continuous":
            y = torch.round(y.clamp(0.0, 1.0) * (self.spec.levels - 1))
        return y.reshape(len(y), *self.spec.shape)

    def denoised(self, z: torch.Tensor, t: torch.Tensor, eps: torch.Tensor | None = None):
        """(ε̂, ẑ_0) at z_t: the predicted noise (ε_θ(z_t, t) unless given) and the z_0 it implies. On images
        ẑ_0 is clipped to [−1, 1], where every z_0 lies (which only brings it nearer), and ε̂ is the noise
        that clipped ẑ_0 implies, so the bound and the sampler use the same reverse mean."""
        a = self.alpha_bar(t).reshape(-1, 1)
        eps = self.eps_net(z, t) if eps is None else eps
        z0_hat = (z - (1 - a).sqrt() * eps) / a.sqrt()
        if self.discrete:
            z0_hat = z0_hat.clamp(-1, 1)
            if self.spec.levels == 2:
                z0_hat = torch.tanh(torch.atanh(z0_hat.clamp(-1 + 1e-6, 1 - 1e-6)) + a.sqrt() * z / (1 - a))
            eps = (z - a.sqrt() * z0_hat) / (1 - a).sqrt()
        return eps, z0_hat

    def step_variance(self, t: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """σ² of the reverse step from whole step t down to prev < t.

        On points, its β = 1 − ᾱ_t/ᾱ_prev. On images, the variance that makes the step's term of the bound
        smallest for the network's measured error: β̃ + β²/((1 − β)(1 − ᾱ_t))·m_t, with β̃ = β(1 − ᾱ_prev)/(1 − ᾱ_t)
        the posterior's variance and m_t the mean squared error of ε̂ per coordinate at step t on the training
        batches (`track_errors`), kept within [β̃, β] (β before any is measured; Bao et al., 2022).
        """
        a_t, a_prev = self.alpha_bar(t), self.alpha_bar(prev)
        beta = 1 - a_t / a_prev
        if not self.discrete:
            return beta
        posterior = beta * (1 - a_prev) / (1 - a_t)
        counts = self.error_counts[t - 1]
        mse = torch.where(counts > 0, self.error_sums[t - 1] / counts.clamp_min(1e-12), math.inf)
        return torch.minimum(torch.maximum(posterior + beta.square() / ((1 - beta) * (1 - a_t)) * mse, posterior), beta)

    @torch.no_grad()
    def track_errors(self, t: torch.Tensor, squared_errors: torch.Tensor) -> None:
        """Add a training batch's ‖ε − ε̂‖²/D at steps t (N,) to the per-step running sums (older batches
        weigh ERROR_DECAY less at each batch); images only."""
        ones = torch.ones_like(squared_errors)
        self.error_sums.mul_(ERROR_DECAY).index_add_(0, t - 1, squared_errors / self.spec.dim)
        self.error_counts.mul_(ERROR_DECAY).index_add_(0, t - 1, ones)

    # ---- training ---------------------------------------------------------------------
    def squared_error(self, z0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """‖ε − ε_θ(z_t, t)‖² per item, with z_t = √ᾱ_t·z_0 + √(1 − ᾱ_t)·ε; shape (N,)."""
        return (noise - self.eps_net(self.noised(z0, t, noise), t)).square().sum(1)

    def noise_prediction_mse(self, z0: torch.Tensor, t: torch.Tensor, generator=None) -> torch.Tensor:
        """L_simple: the squared error averaged over items and coordinates."""
        noise = standard_normal(z0.shape, generator, z0.device)
        return self.squared_error(z0, t, noise).mean() / z0.shape[1]

    def bound_weights(self) -> torch.Tensor:
        """w_t = β_t / ((1 − β_t)(1 − ᾱ_t)), t = 1..T (T,): twice the weight of ‖ε − ε_θ(z_t, t)‖² in the
        bound's term at step t on points (σ_t² = β_t; at t = 1 the decoder's, since 1 − ᾱ_1 = β_1)."""
        return self.betas / ((1 - self.betas) * (1 - self.alpha_bars))

    def step_shares(self) -> torch.Tensor:
        """How often training draws each step t = 1..T (T,), summing to 1: uniform for L_simple; in
        proportion to `bound_weights` for the likelihood weighting (an importance-sampled ELBO)."""
        if self.config.loss_weighting == "simple":
            return torch.full_like(self.betas, 1 / self.config.timesteps)
        weights = self.bound_weights()
        return weights / weights.sum()

    def loss(self, batch):
        z0 = self.standardized(batch)
        if self.config.loss_weighting == "simple":
            t = 1 + random_index(self.config.timesteps, (len(z0),), None, z0.device)
        else:
            t = 1 + categorical(self.step_shares(), len(z0), None, z0.device)
        noise = standard_normal(z0.shape, None, z0.device)
        z_t = self.noised(z0, t, noise)
        eps = self.eps_net(z_t, t)
        mse = (noise - eps).square().mean()
        if self.discrete and self.training:
            eps_hat, _ = self.denoised(z_t, t, eps.detach())
            self.track_errors(t, (noise - eps_hat).square().sum(1))
        return {"loss": mse, "noise_prediction_mse": mse.detach()}

    def validation_loss(self, valid):
        """The training loss with the steps t cycling through 1..T over the items and a fixed noise seed,
        each item's squared error weighted by how often training draws its step (T times its share:
        all 1 for L_simple)."""
        generator = torch.Generator().manual_seed(0)
        z0 = self.standardized(valid)
        t = torch.arange(len(z0), device=z0.device) % self.config.timesteps + 1
        noise = standard_normal(z0.shape, generator, z0.device)
        weights = self.config.timesteps * self.step_shares()[t - 1]
        return float((weights * self.squared_error(z0, t, noise)).mean() / z0.shape[1])

    @torch.no_grad()
    def initialize(self, train, valid, generator):
        self.norm.fit(self.data_coordinates(train[:20000]))
        return {}

    # ---- the bound ----------------------------------------------------------------------
    def step_errors(self, z0: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """ε − ε_θ(z_t, t) at one draw of z_t per item and step: per coordinate at t = 1 (N, D), squared and
        summed over coordinates at t = 2..T (T − 1, N). The network sees about ELBO_CHUNK (item, step) pairs
        per call, all the items at a few steps."""
        n, T = len(z0), self.config.timesteps
        per_call = max(1, ELBO_CHUNK // max(n, 1))
        first, squares = None, []
        for start in range(1, T + 1, per_call):
            steps = torch.arange(start, min(start + per_call, T + 1), device=z0.device)
            t = steps.repeat_interleave(n)  # (S·N,): every item at the first of these steps, then the next, …
            items = z0.repeat(len(steps), 1)  # (S·N, D)
            noise = standard_normal(items.shape, generator, z0.device)
            error = noise - self.denoised(self.noised(items, t, noise), t)[0]
            if start == 1:
                first = error[:n]
            squares.append(error.square().sum(1).view(len(steps), n))
        return first, torch.cat(squares)[1:]

    def decoder_nll(self, z0: torch.Tensor, first_error: torch.Tensor) -> torch.Tensor:
        """−log p_θ(z_0 | z_1) per item (N,), with p_θ(· | z_1) = N(μ_θ(z_1, 1), β_1 I) and
        μ_θ − z_0 = √β_1·(ε − ε_θ)/√(1 − β_1): its density on points; on images the probability of
        each pixel's bin under it (`discretized_gaussian_log_prob`), so the bound is on a probability."""
        beta = self.betas[0]
        if self.spec.view == "continuous":
            return 0.5 * (first_error.square().sum(1) / (1 - beta) + z0.shape[1] * torch.log(2 * math.pi * beta))
        mean = z0 + (beta / (1 - beta)).sqrt() * first_error
        log_p = discretized_gaussian_log_prob(z0, mean, beta.sqrt(), self.spec.levels)
        return -log_p.sum(1).to(z0.dtype)

    def elbo_terms(self, z0: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """The ELBO's terms for standardized items z0 (N, D), each (N,) in nats (losses: lower is better)."""
        d = z0.shape[1]
        a_T = self.alpha_bars[-1]
        prior = 0.5 * ((1 - a_T) + a_T * z0.square() - 1 - torch.log(1 - a_T)).sum(1)
        first_error, sq_err = self.step_errors(z0, generator)
        beta, a_t, a_prev = self.betas[1:], self.alpha_bars[1:], self.alpha_bars[:-1]  # t = 2..T
        steps = torch.arange(2, self.config.timesteps + 1, device=z0.device)
        variance = self.step_variance(steps, steps - 1)  # σ_t²
        ratio = beta * (1 - a_prev) / (1 - a_t) / variance  # β̃_t / σ_t²
        variance_kl = 0.5 * d * (ratio - 1 - torch.log(ratio)).sum()
        weight = beta.square() / (2 * variance * (1 - beta) * (1 - a_t))  # (T − 1,)
        denoising = variance_kl + (weight[:, None] * sq_err).sum(0)
        return {"prior_kl_nats": prior, "denoising_kl_nats": denoising,
                "decoder_nll_nats": self.decoder_nll(z0, first_error)}

    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """(ELBO (N,), its terms) in nats for items x in the data view: on points a bound on log p_θ(x),
        the density; on images on log P_θ(x), the probability of the discrete image. T network calls per item."""
        terms = self.elbo_terms(self.standardized(x), self.eval_generator(generator))
        elbo = -sum(terms.values())
        if self.spec.view == "continuous":
            elbo = elbo + self.norm.log_det()
        return elbo, terms

    def log_prob(self, x):
        return self.elbo(x)[0]

    def extra_metrics(self, x):
        """The ELBO (nats, on the data view) and its three terms, averaged over x; on points also the
        NLL under the probability-flow ODE (`ode_nll_nats`, see `ode_log_prob`)."""
        elbo, terms = self.elbo(x)
        out = {"elbo_nats": float(elbo.mean()), **{k: float(v.mean()) for k, v in terms.items()}}
        if self.spec.view == "continuous":
            out["ode_nll_nats"] = -float(self.ode_log_prob(self.flat(x[:ODE_ITEMS])).mean())
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
            t_, prev_ = torch.tensor(t, device=self.device), torch.tensor(prev, device=self.device)
            a_t, a_prev = self.alpha_bar(t_), self.alpha_bar(prev_)
            beta = 1 - a_t / a_prev  # the respaced β from step prev to step t
            _, z0_hat = self.denoised(z, t_.expand(n))
            mean = (a_prev.sqrt() * beta * z0_hat + (1 - beta).sqrt() * (1 - a_prev) * z) / (1 - a_t)
            if prev > 0:  # σ² as in the model whose bound is reported
                noise = standard_normal(z.shape, generator, self.device)
                z = mean + temperature * self.step_variance(t_, prev_).sqrt() * noise
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
