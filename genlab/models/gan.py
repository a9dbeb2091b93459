"""Generative adversarial network: a generator and a discriminator playing a minimax game.

A generator G maps Gaussian noise z to a point G(z); a discriminator D(x) ∈ (0, 1)
learns to tell data from samples by minimising the logistic loss

    L_D = −E_data[log D(x)] − E_z[log(1 − D(G(z)))].

For the best D, −L_D = 2·JSD(p_data‖p_θ) − log 4 (Goodfellow et al., 2014, Theorem 1),
so the chart's `jsd_estimate` = (log 4 − L_D) / 2 estimates the Jensen–Shannon
divergence in nats (a lower estimate when D is not optimal). The generator minimises

    minimax:         E_z[log(1 − D(G(z)))]   (the game's own value; its gradient vanishes
                                              when D confidently rejects the samples)
    non-saturating:  −E_z[log D(G(z))]       (the paper's practical fix, the default).

By default the discriminator's loss also carries the R1 penalty γ/2·E_data‖∇ logit D(x)‖²
(Mescheder et al., 2018): without it the game oscillates, and on toy:8gaussians the
generator often stays on one to three of the eight modes for thousands of steps
(the "mode collapse" a learner should be able to see: set r1_weight = 0).

With `generator_average` = β > 0 the model also keeps an exponential moving average of
the generator's weights, θ̄ ← β·θ̄ + (1 − β)·θ after each generator step, and samples,
validates and is saved with θ̄ (Yazıcı et al., 2019). The game's oscillations then average
out of the samples instead of landing in them; training still moves θ alone.

With `sampler` = "ratio-critic rejection" (GAN only), samples are proposals G(z) kept with
probability exp(r(G(z)) − log M): a rejection sampler that re-weights p_θ by an estimate r of
log p_data/p_θ (Azadi et al., 2019). The game's own discriminator is a poor r: its R1 penalty keeps
it smooth, so it cannot reject what lies between the modes. r is a second network, the ratio
critic, trained beside the game at every step by the plain logistic loss (no penalty) on the same
data batch against fresh samples of the generator that samples; the generator never sees it. For
the best classifier its logit is exactly log p_data/p_θ. The game chases a moving generator, so the
last CALIBRATION_SHARE of the budget (half) trains the ratio critic alone against the final generator
(`finish_training`), where it can converge: on toy:8gaussians at 60 CPU-s a tenth of the budget gave
KLs of 0.05–0.51 over seven runs, a half 0.026–0.113 over ten (docs/BENCHMARKS.md). What it
corrects is what the classifier has learned and the generator has not (on toy:8gaussians, the samples
smeared between the modes).

A learner can also train one player alone (`players`: "both", "discriminator" or
"generator"; the other network does not move) and change the discriminator steps per
generator step (`critic_steps`, the paper's k) while it trains.

A GAN has no density: log_prob_kind is None, so it is scored by its samples (sample
MMD² and, on toys, KL against a density estimate from samples). The held-out number
that picks the best weights (`validation_loss`, charted as the objective beside the
same number on each training batch) is the unbiased MMD² between 500 samples and
held-out data, with the kernel of the common yardstick.

On image views the discriminator sees uniformly dequantized pixels scaled to
[−1, 1]; the generator's linear outputs are clamped to that range and quantised
back to the view's levels (for binary pixels, a threshold at the middle, 0).

References:
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do actually Converge?", ICML 2018.
    Yazıcı et al., "The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019.
    Azadi et al., "Discriminator Rejection Sampling", ICLR 2019.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from genlab.models import register
from genlab.models._nets import Standardize, mlp, sample_mmd2, view_mmd2
from genlab.models._noise import random_index, standard_normal, uniform
from genlab.models.base import GRAD_CLIP_NORM, DensityModel, GenerativeModel, ModelConfig, hparam

__all__ = ["GAN", "GANConfig", "Adversarial", "AdversarialConfig", "PlayerOptimizers",
           "discriminator_loss", "generator_loss", "r1_penalty", "GENERATOR_LOSSES"]

LOG_4 = math.log(4.0)
VALID_SAMPLES = 500  # samples compared with held-out data by validation_loss
BATCH_MMD_ITEMS = 128  # batch items (and samples) behind the MMD² charted at each step
SAMPLERS = ("generator", "ratio-critic rejection")
REJECTION_CALIBRATION = 10_000  # proposals whose logits set the rejection sampler's ceiling M
REJECTION_CEILING_QUANTILE = 0.99  # M is this quantile of their logits (the top 1 % are always kept)
REJECTION_CHUNK = 10_000  # proposals drawn at a time
CALIBRATION_SHARE = 0.5  # of a run's budget: the ratio critic's last training, against the final generator
CALIBRATION_BATCH = 1024  # data items (and as many samples) per calibration step
CALIBRATION_LEARNING_RATE = 3e-3  # a plain classifier against a generator that no longer moves: larger steps


@dataclass
class AdversarialConfig(ModelConfig):
    """What every generator–critic pair has; GAN and WGAN-GP add their own."""

    learning_rate: float = hparam(2e-4, 1e-6, 1.0, "Adam step size of both players.", log=True)
    batch_size: int = hparam(256, 2, 8192, "Data items (and as many samples) per step.")
    latent_dim: int = hparam(8, 1, 512, "Dimensions of the generator's Gaussian noise z.")
    hidden_units: int = hparam(128, 4, 2048, "Width of the hidden layers of both networks.")
    hidden_layers: int = hparam(3, 1, 8, "Hidden layers in each network.")
    beta1: float = hparam(0.5, 0.0, 0.999, "Adam's first-moment decay; adversarial games train better with "
                          "less momentum.")
    critic_steps: int = hparam(1, 1, 50, "Critic (discriminator) updates per generator update: the k of "
                               "Goodfellow et al.'s algorithm.")
    generator_average: float = hparam(0.0, 0.0, 0.9999, "β of a moving average of the generator's weights "
                                      "that samples and is saved (0: none, the last weights). 0.99 averages "
                                      "over about the last 100 steps.", label="generator weight average")


class PlayerOptimizers(NamedTuple):
    """One Adam per player; `make_optimizer` returns this and `train_step` takes it back."""

    generator: torch.optim.Optimizer
    critic: torch.optim.Optimizer
    ratio: torch.optim.Optimizer | None = None  # the GAN's ratio critic, when it samples by rejection


class Adversarial(GenerativeModel):
    """A generator and a critic over standardized data; subclasses bring the game.

    Subclasses set `critic_field` (the name of the critic's live heatmap and of the critic
    as a player) and `beta2` (Adam's second-moment decay), may override
    `critic_field_values(scores)` (what the heatmap shows), and implement
    `critic_loss(real, fake)` -> (loss, metrics) and `generator_loss(fake_scores)`.
    A learner may train both players, or one alone (`players`), and change the critic
    steps per generator step while it trains.
    """

    views = ("continuous", "binary", "gray8")
    log_prob_kind = None
    objective = ("MMD² between samples and data (unbiased, the yardstick's kernel): picks the best weights; "
                 "the players' own losses are charted under their names")
    critic_field: ClassVar[str] = "critic"
    beta2: ClassVar[float] = 0.999
    changeable = (*GenerativeModel.changeable, "critic_steps")

    def __init__(self, config: AdversarialConfig, spec):
        super().__init__(config, spec)
        self.norm = Standardize(spec)
        self.generator = mlp(config.latent_dim, spec.dim, config.hidden_units, config.hidden_layers, nn.ReLU)
        self.critic = mlp(spec.dim, 1, config.hidden_units, config.hidden_layers, lambda: nn.LeakyReLU(0.2))
        self.averaged_generator = (copy.deepcopy(self.generator).requires_grad_(False)
                                   if config.generator_average > 0 else None)

    @property
    def players(self) -> tuple[str, ...]:
        """Who trains: both, the critic alone (under its own name) or the generator alone."""
        return ("both", self.critic_field, "generator")

    # ---- the game's hooks ----------------------------------------------------------
    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def critic_field_values(self, scores: torch.Tensor) -> torch.Tensor:
        return scores

    # ---- the two networks in data terms ----------------------------------------------
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) in standardized coordinates (N, D) (pixels: [−1, 1] is the range of levels); out of training
        mode with the averaged weights θ̄, if the model keeps them."""
        if self.averaged_generator is not None and not self.training:
            return self.averaged_generator(z)
        return self.generator(z)

    @torch.no_grad()
    def _average_generator(self) -> None:
        """θ̄ ← β·θ̄ + (1 − β)·θ after a generator step."""
        if self.averaged_generator is not None:
            for average, weight in zip(self.averaged_generator.parameters(), self.generator.parameters()):
                average.lerp_(weight, 1 - self.config.generator_average)

    def num_parameters(self) -> int:
        """Learned numbers: the averaged generator is a copy kept beside them, not learned itself."""
        average = self.averaged_generator
        extra = sum(p.numel() for p in average.parameters()) if average is not None else 0
        return super().num_parameters() - extra

    def real(self, x: torch.Tensor) -> torch.Tensor:
        """Data items as the critic sees them: flat, dequantized on image views, standardized."""
        y, _ = DensityModel.to_continuous(self, x)
        return self.norm(y)

    def to_view(self, z: torch.Tensor) -> torch.Tensor:
        """Standardized points back to the data view and shape."""
        return DensityModel.to_view(self, self.norm.inverse(z))

    def noise(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, temperature² I), shape (n, latent_dim)."""
        return temperature * standard_normal((n, self.config.latent_dim), generator, self.device)

    def scores(self, z: torch.Tensor) -> torch.Tensor:
        """The critic's raw output on standardized points, shape (N,)."""
        return self.critic(z).squeeze(1)

    # ---- the contract ----------------------------------------------------------------
    @torch.no_grad()
    def initialize(self, train, valid, generator):
        y, _ = DensityModel.to_continuous(self, train[:20000], generator)
        self.norm.fit(y)
        if self.averaged_generator is not None:
            self.averaged_generator.load_state_dict(self.generator.state_dict())
        return {}

    def _sample(self, n, temperature, generator):
        """x = G(z) with z ~ N(0, temperature² I), in the data view."""
        return self.to_view(self.generate(self.noise(n, temperature, generator)))

    def _sample_steps(self, n, temperature, generator, max_frames):
        """The generator's map: on points, the noise z (its first coordinates) then G(z);
        on images, G(z) before quantisation (fractional levels) then the samples."""
        z = self.noise(n, temperature, generator)
        out = self.generate(z)
        if self.spec.view == "continuous":
            dim, latent = self.spec.dim, self.config.latent_dim
            shown = F.pad(z[:, :dim], (0, max(0, dim - latent)))
            caption = "noise" if latent == dim else f"noise (coordinates 1–{min(dim, latent)} of {latent})"
            frames = [(caption, shown.reshape(n, *self.spec.shape)), ("G(noise)", self.to_view(out))]
        else:
            levels = self.spec.levels
            unquantised = (self.norm.inverse(out).clamp(0, 1) * (levels - 1)).reshape(n, *self.spec.shape)
            frames = [("G(noise) before quantisation", unquantised), ("G(noise)", self.to_view(out))]
        return frames[-max_frames:]

    def fields(self, points):
        """The critic on 2-D points: {critic_field: (N,) values}; nothing on other data."""
        if self.spec.view != "continuous" or points.shape[1] != self.spec.dim:
            return {}
        return {self.critic_field: self.critic_field_values(self.scores(self.norm(points)))}

    def loss(self, batch):
        """A game has no single number to minimise: this is the charted view of one batch, no step.

        Returns {"loss": MMD² between fresh samples and the batch (BATCH_MMD_ITEMS of each),
        **the critic's numbers}.
        """
        real = self.real(batch)
        fake = self.generate(self.noise(len(real)))
        with torch.enable_grad():
            _, metrics = self.critic_loss(real, fake.detach())
        out = {key: value.detach() for key, value in metrics.items()}
        out["loss"] = torch.tensor(self.batch_mmd2(fake, batch))
        return out

    def validation_loss(self, valid):
        """MMD² between 500 samples (a fixed seed) and up to 500 held-out items."""
        return sample_mmd2(self, valid, VALID_SAMPLES)

    # ---- how the trainer drives it --------------------------------------------------
    def make_optimizer(self) -> PlayerOptimizers:
        betas = (self.config.beta1, self.beta2)
        return PlayerOptimizers(
            torch.optim.Adam(self.generator.parameters(), lr=self.config.learning_rate, betas=betas),
            torch.optim.Adam(self.critic.parameters(), lr=self.config.learning_rate, betas=betas),
        )

    def train_step(self, batch, optimizer: PlayerOptimizers, player: str = "both") -> dict[str, float]:
        """`critic_steps` critic updates on this batch (fresh noise each), then one generator update.

        `player` (one of `players`) trains the critic alone or the generator alone: the other
        network is not touched, its loss on this batch is still measured for the chart.
        """
        if player not in self.players:
            raise ValueError(f"{self.title} has no player {player!r}; choose one of {', '.join(self.players)}.")
        train_critic, train_generator = player != "generator", player != self.critic_field
        real = self.real(batch)
        for _ in range(self.config.critic_steps if train_critic else 1):
            with torch.no_grad():
                fake = self.generate(self.noise(len(real)))
            optimizer.critic.zero_grad(set_to_none=True)
            critic_loss, metrics = self.critic_loss(real, fake)
            if train_critic:
                critic_loss.backward()
                torch.nn.utils.clip_grad_norm_(self.critic.parameters(), max_norm=GRAD_CLIP_NORM)
                optimizer.critic.step()
        optimizer.generator.zero_grad(set_to_none=True)
        with torch.set_grad_enabled(train_generator):
            fake = self.generate(self.noise(len(real)))
            loss_g = self.generator_loss(self.scores(fake))
        if train_generator:
            loss_g.backward()
            torch.nn.utils.clip_grad_norm_(self.generator.parameters(), max_norm=GRAD_CLIP_NORM)
            optimizer.generator.step()
            self._average_generator()
        out = {key: float(value.detach()) for key, value in metrics.items()}
        out["generator_loss"] = float(loss_g.detach())
        out["loss"] = self.batch_mmd2(fake.detach(), batch)
        return out

    def batch_mmd2(self, fake: torch.Tensor, batch: torch.Tensor) -> float:
        """MMD² between the first BATCH_MMD_ITEMS samples and batch items (cheap enough for every step)."""
        return view_mmd2(self.to_view(fake[:BATCH_MMD_ITEMS]), batch[:BATCH_MMD_ITEMS], self.spec)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """L_D = −mean log D(x) − mean log(1 − D(G(z))), with D = sigmoid(logit), in nats."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def _minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """mean log(1 − D(G(z))) = −mean softplus(logit); d/dlogit = −D(G(z)) → 0 as D(G(z)) → 0."""
    return -F.softplus(fake_logits).mean()


def _non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """−mean log D(G(z)) = mean softplus(−logit); d/dlogit = −(1 − D(G(z))) → −1 as D(G(z)) → 0."""
    return F.softplus(-fake_logits).mean()


GENERATOR_LOSSES = {"minimax": _minimax, "non-saturating": _non_saturating}


def generator_loss(fake_logits: torch.Tensor, loss_type: str) -> torch.Tensor:
    """The generator's loss on the discriminator's logits for its samples (see GENERATOR_LOSSES)."""
    return GENERATOR_LOSSES[loss_type](fake_logits)


def r1_penalty(critic, real: torch.Tensor) -> torch.Tensor:
    """mean ‖∇_x logit D(x)‖² over data points (differentiable in the critic; Mescheder et al., 2018)."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
    return grad.square().sum(1).mean()


@dataclass
class GANConfig(AdversarialConfig):
    loss_type: str = hparam("non-saturating", help="The generator's loss: 'minimax' is the game's own value and "
                            "saturates when D rejects the samples; 'non-saturating' is the usual fix.",
                            choices=tuple(GENERATOR_LOSSES))
    r1_weight: float = hparam(1.0, 0.0, 1000.0, "γ in the discriminator's penalty γ/2·E‖∇ logit D(x)‖² on data "
                              "(R1); it damps the game's oscillations. 0 plays the plain game.")
    sampler: str = hparam("generator", help="How samples are drawn: 'generator' gives G(z) as it is; "
                          "'ratio-critic rejection' keeps each G(z) with probability exp(r(G(z)) − log M), where r, "
                          "the logit of a second discriminator (the ratio critic) trained beside the game without "
                          "the R1 penalty, estimates log p_data/p_θ, and log M is nearly its largest value over "
                          "the generator's points (Azadi et al., 2019). The game then stops at half of the "
                          "budget, and the other half trains the ratio critic alone against the final "
                          "generator.", choices=SAMPLERS)


@register
class GAN(Adversarial):
    """GAN with MLP generator and discriminator (Goodfellow et al., 2014).

    Example:
        >>> model = create_model("gan", load_dataset("toy:8gaussians"), loss_type="minimax")
        >>> model.fields(points)["discriminator"]     # D(x) ∈ (0, 1), the live heatmap
    """

    name = "gan"
    title = "GAN (generator vs. discriminator)"
    summary = (
        "A generator turns noise into points; a discriminator learns to tell them from data, and the generator "
        "learns to fool it. The game estimates the Jensen–Shannon divergence. No density, only samples."
    )
    config_class = GANConfig
    critic_field = "discriminator"
    finishing = "calibrating the ratio critic"

    def __init__(self, config: GANConfig, spec):
        super().__init__(config, spec)
        self.ratio_critic = (mlp(spec.dim, 1, config.hidden_units, config.hidden_layers, lambda: nn.LeakyReLU(0.2))
                             if config.sampler == "ratio-critic rejection" else None)

    def make_optimizer(self) -> PlayerOptimizers:
        players = super().make_optimizer()
        if self.ratio_critic is None:
            return players
        return players._replace(ratio=torch.optim.Adam(self.ratio_critic.parameters(), lr=self.config.learning_rate,
                                                       betas=(self.config.beta1, self.beta2)))

    @property
    def finishing_share(self) -> float:
        return CALIBRATION_SHARE if self.ratio_critic is not None else 0.0

    def field_notes(self) -> dict[str, str]:
        """Which discriminator the live heatmap shows: the game's own, never the ratio critic."""
        penalty = (f"with the R1 penalty (γ = {self.config.r1_weight:g})" if self.config.r1_weight > 0
                   else "without the R1 penalty")
        note = f"D(x) of the game's own discriminator, {penalty}"
        if self.ratio_critic is not None:
            note += "; the ratio critic, which rejects samples, is a second network not shown here"
        return {self.critic_field: note + "."}

    def finish_training(self, train, spent, generator):
        """Calibrate the ratio critic: train it alone against the final (best) generator until the budget is
        `spent()`. During the game it chased a moving generator; now the generator
        stands still, the classifier can converge, and its logit approaches log p_data/p_θ of the
        generator that samples (Azadi et al. train their discriminator on after the game, too)."""
        if self.ratio_critic is None:
            return {}
        self.train()
        optimizer = torch.optim.Adam(self.ratio_critic.parameters(), lr=CALIBRATION_LEARNING_RATE,
                                     betas=(self.config.beta1, self.beta2))
        steps, loss = 0, torch.zeros(())
        while not spent():
            batch = train[random_index(len(train), (CALIBRATION_BATCH,), generator, train.device)]
            loss = self._ratio_critic_loss(batch.to(self.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
        self.eval()
        return {"ratio_critic_calibration_steps": steps, "ratio_critic_loss": float(loss.detach())}

    def _ratio_critic_loss(self, batch: torch.Tensor) -> torch.Tensor:
        """The ratio critic's logistic loss: data items against as many fresh samples of the generator that samples
        (the averaged one, if the model keeps it), which it never steers."""
        real = self.real(batch)
        with torch.no_grad():
            sampling = self.averaged_generator if self.averaged_generator is not None else self.generator
            fake = sampling(self.noise(len(real)))
        return discriminator_loss(self.ratio_critic(real).squeeze(1), self.ratio_critic(fake).squeeze(1))

    def train_step(self, batch, optimizer: PlayerOptimizers, player: str = "both") -> dict[str, float]:
        """The game's step, then (when sampling by rejection) one step of the ratio critic on the same batch."""
        out = super().train_step(batch, optimizer, player)
        if self.ratio_critic is not None:
            loss = self._ratio_critic_loss(batch)
            optimizer.ratio.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.ratio_critic.parameters(), max_norm=GRAD_CLIP_NORM)
            optimizer.ratio.step()
            out["ratio_critic_loss"] = float(loss.detach())
        return out

    def critic_loss(self, real, fake):
        real_logits, fake_logits = self.scores(real), self.scores(fake)
        loss = discriminator_loss(real_logits, fake_logits)
        penalty = r1_penalty(self.critic, real) if self.config.r1_weight > 0 else torch.zeros(())
        return loss + self.config.r1_weight / 2 * penalty, {
            "discriminator_loss": loss,
            "r1_penalty": penalty,
            "jsd_estimate": (LOG_4 - loss) / 2,
            "discriminator_on_data": torch.sigmoid(real_logits).mean(),
            "discriminator_on_samples": torch.sigmoid(fake_logits).mean(),
        }

    def generator_loss(self, fake_scores):
        return generator_loss(fake_scores, self.config.loss_type)

    # ---- ratio-critic rejection sampling ------------------------------------------
    def _sample(self, n, temperature, generator):
        if self.ratio_critic is None:
            return super()._sample(n, temperature, generator)
        return self.to_view(self.kept_by_ratio_critic(n, temperature, generator)[0])

    def _sample_steps(self, n, temperature, generator, max_frames):
        """As the generator's steps; with rejection, then the proposals the discriminator kept."""
        frames = super()._sample_steps(n, temperature, generator, max_frames)
        if self.ratio_critic is None:
            return frames
        kept, rate = self.kept_by_ratio_critic(n, temperature, generator)
        frames.append((f"kept by the ratio critic ({rate:.0%} of G(noise) accepted; a second discriminator "
                       "throws away the points it judges unlike the data)", self.to_view(kept)))
        return frames[-max_frames:]

    @torch.no_grad()
    def kept_by_ratio_critic(self, n: int, temperature: float = 1.0,
                              generator: torch.Generator | None = None) -> tuple[torch.Tensor, float]:
        """n proposals G(z) kept with probability min(1, exp(r(G(z)) − log M)), standardized (n, D), and the share
        of proposals kept; r is the ratio critic's logit.

        For the best classifier, r(x) = log p_data(x)/p_θ(x), so the kept points follow p_data
        wherever the ratio critic is right and log M bounds r (Azadi et al., 2019). log M
        is the REJECTION_CEILING_QUANTILE quantile of the logits of REJECTION_CALIBRATION proposals
        rather than their maximum: one stray logit would otherwise make the sampler reject almost
        everything, at the price of keeping the top 1 % of proposals without re-weighting them.
        At least that 1 % is kept, so the loop ends.
        """
        ratio = lambda y: self.ratio_critic(y).squeeze(1)  # noqa: E731
        logits = ratio(self.generate(self.noise(REJECTION_CALIBRATION, temperature, generator)))
        ceiling = torch.quantile(logits, REJECTION_CEILING_QUANTILE)
        kept, count, proposed = [], 0, 0
        while count < n:
            proposals = self.generate(self.noise(REJECTION_CHUNK, temperature, generator))
            keep = uniform((REJECTION_CHUNK,), generator, self.device).log() < ratio(proposals) - ceiling
            kept.append(proposals[keep])
            count, proposed = count + int(keep.sum()), proposed + REJECTION_CHUNK
        return torch.cat(kept)[:n], count / proposed

    def critic_field_values(self, scores):
        return torch.sigmoid(scores)
