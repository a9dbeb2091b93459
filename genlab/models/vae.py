"""Variational autoencoder: a Gaussian latent code, an encoder q(z|x) and a decoder p(x|z).

The model is p_θ(x) = ∫ p_θ(x|z) N(z; 0, I) dz. An encoder MLP gives the Gaussian
posterior approximation q_φ(z|x) = N(μ(x), diag σ(x)²) and both networks are trained
together by maximising the evidence lower bound (Kingma & Welling, 2014)

    ELBO(x) = E_q[log p_θ(x|z)] − KL(q_φ(z|x) ‖ N(0, I)) ≤ log p_θ(x),

with one reparametrised sample z = μ + σ·ε for the first term and the KL in closed
form. The loss is −ELBO in nats per image; its average over the data is
KL(p_data‖p_θ) + H(p_data) + E_x KL(q_φ(z|x) ‖ p_θ(z|x)), so it sits above the NLL by
the posterior gap. The metrics charted beside it are its two terms, `recon_nats`
(−E_q log p_θ(x|z)) and `kl_nats`.

`log_prob(x)` is the importance-weighted estimate of Burda et al. (2016),

    log p̂_k(x) = log (1/k) Σ_i p_θ(x, z_i) / q_φ(z_i|x),   z_i ~ q_φ(z|x),

with k = `iw_samples`. By Jensen's inequality E[log p̂_k(x)] ≤ log p_θ(x): it is a
stochastic lower bound (`log_prob_kind = "lower_bound"`), it equals the ELBO in
expectation at k = 1, never decreases in expectation as k grows, and tends to
log p_θ(x) as k → ∞. In eval mode it draws its z from a generator seeded at 0, so
repeated calls agree. `extra_metrics` reports the mean ELBO and the mean IW
estimate side by side (both log-likelihoods in nats: higher is better).

Decoders, one per view, each a factorised distribution over the pixels:
    binary: Bernoulli per pixel (one logit each).
    gray8:  a discretised logistic per pixel (Salimans et al., 2017) by default: two
            numbers per pixel (a location and a log-scale) whatever the number of grey
            levels, and nearby levels share probability mass, which suits intensities.
            A categorical over the levels (`gray_decoder="categorical"`) is the
            alternative; it is flexible on 17-level digits but needs L numbers per
            pixel (256 × 784 outputs on MNIST).

References:
    Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016.
    Salimans, Karpathy, Chen & Kingma, "PixelCNN++", ICLR 2017 (discretised logistic).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genlab.data.base import DataSpec
from genlab.models import register
from genlab.models._nets import mlp
from genlab.models._noise import standard_normal, uniform
from genlab.models.base import GenerativeModel, ModelConfig, hparam

__all__ = ["VAE", "VAEConfig", "PixelLikelihood", "Bernoulli", "Categorical", "DiscretizedLogistic"]

IW_CHUNK_ELEMENTS = 2**22  # decoder activations and outputs held at once while averaging importance weights
_MAX_LOG_SCALE = 7.0  # bound on |log-scale| of the discretised logistic (its scale lies in e^±7)


@dataclass
class VAEConfig(ModelConfig):
    """Hyper-parameters of the VAE, with defaults that train on digits in 30 s on one CPU thread."""

    learning_rate: float = hparam(1e-3, 1e-5, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(128, 1, 8192, "Examples per gradient step.")
    latent_dim: int = hparam(16, 1, 256, "Size of the latent code z (2 gives a latent plane you can decode as a grid).")
    hidden_units: int = hparam(256, 8, 4096, "Width of the encoder and decoder MLPs.")
    hidden_layers: int = hparam(2, 1, 6, "Hidden layers in the encoder and in the decoder.")
    gray_decoder: str = hparam(
        "logistic", help="Decoder on gray8 data: a discretised logistic or a categorical per pixel.",
        choices=("logistic", "categorical"), views=("gray8",),
    )
    iw_samples: int = hparam(
        64, 1, 5000,
        "Importance samples k behind log p(x): a larger k gives a tighter bound and costs k decoder passes.",
        label="Importance samples k (for log p)",
    )


class PixelLikelihood:
    """A factorised p(x|z) over D pixels, given `num_params` numbers per pixel.

    `log_prob(x, params)` takes pixel values x of shape (..., D) (0/1, or grey levels
    0..L-1) and params of shape (..., num_params, D), and sums over the pixels to (...).
    `sample` draws pixel values and `mean` gives E[x|z], both of shape (..., D).
    """

    num_params: int = 1

    def log_prob(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Bernoulli(PixelLikelihood):
    """Binary pixels: one logit per pixel."""

    num_params = 1

    def log_prob(self, x, params):
        logits = params[..., 0, :]
        return (x * logits - F.softplus(logits)).sum(-1)

    def sample(self, params, generator):
        p = torch.sigmoid(params[..., 0, :])
        return (uniform(p.shape, generator, p.device) < p).to(p.dtype)

    def mean(self, params):
        return torch.sigmoid(params[..., 0, :])


class Categorical(PixelLikelihood):
    """Grey levels 0..L-1 with a free probability for each level: L logits per pixel."""

    def __init__(self, levels: int):
        self.levels = levels
        self.num_params = levels

    def log_prob(self, x, params):
        log_p = F.log_softmax(params, dim=-2)  # (..., L, D)
        index = x.long().unsqueeze(-2).expand(*log_p.shape[:-2], 1, x.shape[-1])
        return log_p.gather(-2, index).squeeze(-2).sum(-1)

    def sample(self, params, generator):
        gumbel = -torch.log(-torch.log(uniform(params.shape, generator, params.device).clamp_min(1e-20)))
        return (params + gumbel).argmax(-2).to(params.dtype)

    def mean(self, params):
        levels = torch.arange(self.levels, dtype=params.dtype, device=params.device)
        return (F.softmax(params, dim=-2) * levels[:, None]).sum(-2)


class DiscretizedLogistic(PixelLikelihood):
    """Grey levels 0..L-1 as bins of a logistic on [-1, 1]: a location and a log-scale per pixel.

    Level k sits at c_k = 2k/(L-1) − 1 with bin half-width h = 1/(L-1);
    P(k) = σ((c_k + h − μ)/s) − σ((c_k − h − μ)/s), and the first and last bins take
    the tails to −∞ and +∞, so the L probabilities sum to one exactly.
    """

    num_params = 2

    def __init__(self, levels: int):
        self.levels = levels

    def _loc_scale(self, params):
        return params[..., 0, :], params[..., 1, :].clamp(-_MAX_LOG_SCALE, _MAX_LOG_SCALE)

    def _level_log_prob(self, x, loc, log_scale):
        """log P(x) per pixel, for grey levels x broadcastable against loc."""
        half = 1.0 / (self.levels - 1)
        centre = 2 * half * x - 1
        inv_scale = torch.exp(-log_scale)
        upper = (centre + half - loc) * inv_scale
        lower = (centre - half - loc) * inv_scale
        log_below_upper = -F.softplus(-upper)  # log σ(upper): the first bin
        log_above_lower = -F.softplus(lower)  # log(1 − σ(lower)): the last bin
        # log(σ(a) − σ(b)) = log σ(a) + log(1 − σ(b)) + log(1 − e^{b−a}), with a − b = 2h/s > 0
        inner = log_below_upper + log_above_lower + torch.log(-torch.expm1(-2 * half * inv_scale))
        return torch.where(x <= 0, log_below_upper, torch.where(x >= self.levels - 1, log_above_lower, inner))

    def log_prob(self, x, params):
        loc, log_scale = self._loc_scale(params)
        return self._level_log_prob(x, loc, log_scale).sum(-1)

    def sample(self, params, generator):
        loc, log_scale = self._loc_scale(params)
        u = uniform(loc.shape, generator, loc.device).clamp(1e-6, 1 - 1e-6)
        v = loc + torch.exp(log_scale) * (torch.log(u) - torch.log1p(-u))
        return torch.round((v + 1) * (self.levels - 1) / 2).clamp(0, self.levels - 1)

    def mean(self, params):
        loc, log_scale = self._loc_scale(params)
        levels = torch.arange(self.levels, dtype=loc.dtype, device=loc.device)
        shape = (self.levels,) + (1,) * loc.dim()
        probs = self._level_log_prob(levels.view(shape), loc, log_scale).exp()  # (L, ..., D)
        return (probs * levels.view(shape)).sum(0)


def make_likelihood(spec: DataSpec, gray_decoder: str) -> PixelLikelihood:
    """The decoder distribution for a data view."""
    if spec.view == "binary":
        return Bernoulli()
    return {"logistic": DiscretizedLogistic, "categorical": Categorical}[gray_decoder](spec.levels)


@register
class VAE(GenerativeModel):
    """A VAE with MLP encoder and decoder over flattened images.

    Example:
        >>> ds = load_dataset("digits")
        >>> model = create_model("vae", ds, latent_dim=2)
        >>> genlab.train(model, ds, seconds=30)
        >>> model.extra_metrics(ds.test)          # {"elbo_nats": ..., "iw_samples": 64}
        >>> grid = model.decode(torch.zeros(1, 2))  # decoder mean at the prior's centre
    """

    name = "vae"
    title = "VAE (variational autoencoder)"
    summary = (
        "An encoder maps each image to a Gaussian over a small latent code and a decoder maps codes "
        "back to pixel probabilities; trained on the evidence lower bound (ELBO)."
    )
    config_class = VAEConfig
    views = ("binary", "gray8")
    log_prob_kind = "lower_bound"
    objective = "−ELBO (nats) = KL(p_data‖p_θ) + H(p_data) + E KL(q‖p(z|x)) ≥ NLL"

    def __init__(self, config: VAEConfig, spec: DataSpec):
        super().__init__(config, spec)
        self.likelihood = make_likelihood(spec, config.gray_decoder)
        d, k = spec.dim, config.latent_dim
        self.encoder = mlp(d, 2 * k, config.hidden_units, config.hidden_layers, nn.ReLU)
        self.decoder = mlp(k, self.likelihood.num_params * d, config.hidden_units, config.hidden_layers, nn.ReLU)

    # ---- the two networks -----------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) = N(μ, diag σ²): returns (μ, log σ), each (N, latent_dim), for x in the data view."""
        h = self.encoder(self.flat(x) / (self.spec.levels - 1))  # pixels scaled to [0, 1]
        mu, log_sigma = h.chunk(2, dim=-1)
        return mu, log_sigma

    def decoder_params(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder outputs for codes z of shape (..., latent_dim): (..., num_params, D)."""
        return self.decoder(z).unflatten(-1, (self.likelihood.num_params, self.spec.dim))

    # ---- the bound and the estimate ---------------------------------------------------
    def elbo_terms(self, x: torch.Tensor,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(E_q log p(x|z) by one reparametrised sample, KL(q(z|x) ‖ N(0, I)) in closed form), each (N,)."""
        mu, log_sigma = self.posterior(x)
        z = mu + log_sigma.exp() * standard_normal(mu.shape, self.eval_generator(generator), self.device)
        recon = self.likelihood.log_prob(self.flat(x), self.decoder_params(z))
        kl = 0.5 * (mu.square() + torch.exp(2 * log_sigma) - 1).sum(-1) - log_sigma.sum(-1)
        return recon, kl

    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The evidence lower bound per item, nats, shape (N,)."""
        recon, kl = self.elbo_terms(x, generator)
        return recon - kl

    def iw_log_prob(self, x: torch.Tensor, k: int | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """The importance-weighted estimate log p̂_k(x) in nats, shape (N,); k defaults to `iw_samples`.

        Items and samples are processed in chunks of at most IW_CHUNK_ELEMENTS decoder
        activations and outputs, and the weights are combined by a running log-sum-exp, so memory stays
        bounded for any k.
        """
        k = self.config.iw_samples if k is None else int(k)
        if k < 1:
            raise ValueError(f"The number of importance samples must be at least 1; got {k}.")
        generator = self.eval_generator(generator)
        flat = self.flat(x)
        n, d = flat.shape
        per_pair = d * self.likelihood.num_params + self.config.hidden_units * self.config.hidden_layers
        pairs = max(1, IW_CHUNK_ELEMENTS // per_pair)  # (item, sample) pairs per chunk
        items = max(1, min(n, pairs))
        chunk = max(1, min(k, pairs // items))
        estimates = []
        for start in range(0, n, items):
            xb = flat[start : start + items]  # (B, D)
            mu, log_sigma = self.posterior(xb)  # (B, latent)
            total = torch.full((len(xb),), -math.inf, device=self.device)
            for done in range(0, k, chunk):
                eps = standard_normal((min(chunk, k - done), *mu.shape), generator, self.device)  # (c, B, latent)
                z = mu + log_sigma.exp() * eps
                # log p(z) − log q(z|x): the ½ log 2π terms cancel
                log_prior_ratio = (0.5 * eps.square() - 0.5 * z.square() + log_sigma).sum(-1)  # (c, B)
                log_w = self.likelihood.log_prob(xb, self.decoder_params(z)) + log_prior_ratio
                total = torch.logaddexp(total, log_w.logsumexp(0))
            estimates.append(total - math.log(k))
        return torch.cat(estimates)

    # ---- the contract -----------------------------------------------------------------
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """The importance-weighted lower bound on log p_θ(x) with k = `iw_samples`, nats, (N,)."""
        return self.iw_log_prob(x)

    def loss(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        recon, kl = self.elbo_terms(batch)
        loss = (kl - recon).mean()
        return {"loss": loss, "recon_nats": -recon.mean().detach(), "kl_nats": kl.mean().detach()}

    @torch.no_grad()
    def validation_loss(self, valid: torch.Tensor) -> float:
        """−ELBO on held-out data (the training objective, with a fixed draw of z)."""
        return float(-self.elbo(valid).mean())

    @torch.no_grad()
    def extra_metrics(self, x: torch.Tensor) -> dict[str, float]:
        """Mean ELBO (nats per image, higher is better) and the k of the IW estimate.

        The IW estimate itself is `log_prob`, so evaluate reports it once, as the test NLL.
        """
        return {"elbo_nats": float(self.elbo(x).double().mean()), "iw_samples": self.config.iw_samples}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean μ(x), shape (N, latent_dim)."""
        return self.posterior(x)[0]

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder mean E[x|z] for codes z (N, latent_dim): shape (N, *shape), values in
        [0, levels − 1] (pixel probabilities on binary data, mean grey levels on gray8)."""
        return self.likelihood.mean(self.decoder_params(z.to(self.device))).reshape(len(z), *self.spec.shape)

    def _sample(self, n, temperature, generator):
        """Draws z ~ N(0, temperature² I), then a sample of p(x|z) (not its mean), so the
        images are in the data view: 0/1 pixels on binary data, grey levels on gray8."""
        z = temperature * standard_normal((n, self.config.latent_dim), generator, self.device)
        x = self.likelihood.sample(self.decoder_params(z), generator)
        return x.reshape(n, *self.spec.shape)
