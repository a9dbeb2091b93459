"""Glow: a multi-scale image flow of ActNorm, invertible 1×1 convolutions and affine couplings.

Dequantized pixels y ∈ [0, 1]^D (see `DensityModel`) go through

    logit:  v = logit(α + (1 − 2α) y)            (so the flow works on R^D)
    then, at each of S scales:
        squeeze:  each 2×2 block of pixels becomes 4 channels (C, H, W) → (4C, H/2, W/2)
        K steps:  ActNorm → invertible 1×1 conv → affine coupling
        split:    half of the channels leave for the prior (all of them at the last scale)

and the concatenated latents z are scored under N(0, I):

    log p_θ(y) = log N(z; 0, I) + Σ log|det ∂step|   (logit and every step included).

ActNorm is a per-channel scale and shift whose initial values standardise the first
batch of data (data-dependent initialisation, in `initialize`). The 1×1 convolution
mixes channels with W = P L (U + diag(s)) (LU form, Kingma & Dhariwal 2018), started
at a random rotation, so log|det| = H·W Σ log|s| costs nothing. The affine coupling
moves half of the channels by x·exp(s) + t, with s and t read off the other half by a
small conv net whose last layer starts at zero, so every coupling starts as the
identity. Squeezing needs even sides: the flow uses as many of the requested scales
as the image size allows (at most 3 on 8×8, 2 on 28×28).

Trained by maximum likelihood, i.e. by minimising the forward KL(p_data‖p_θ).
`log_prob` is the dequantized bound log P(x) ≥ E_u log p(y) − D log L, so
`log_prob_kind` is "lower_bound" and bits per dim are over the discrete pixels.

References:
    Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1×1 Convolutions", NeurIPS 2018.
    Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP", ICLR 2017 (multi-scale, logit).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genlab.data.base import DataSpec
from genlab.models import register
from genlab.models._flows import NormalizingFlow
from genlab.models.base import ModelConfig, hparam
from genlab.models.realnvp import AffineTransform

__all__ = ["Glow", "GlowConfig", "LogitTransform", "ActNorm2d", "InvertibleConv1x1", "AffineCoupling2d", "FlowStep",
           "squeeze", "unsqueeze"]

INIT_ITEMS = 512  # training images behind the data-dependent ActNorm initialisation
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass
class GlowConfig(ModelConfig):
    """Hyper-parameters of Glow, with defaults that train on digits in 30 s on one CPU thread."""

    learning_rate: float = hparam(3e-3, 1e-5, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(64, 1, 8192, "Examples per gradient step.")
    num_scales: int = hparam(2, 1, 6, "Scales (squeeze → steps → split); fewer are used when the image sides "
                                      "cannot be halved that often.")
    steps_per_scale: int = hparam(4, 1, 32, "Flow steps (ActNorm, 1×1 conv, coupling) at each scale.")
    hidden_channels: int = hparam(32, 4, 512, "Channels in each coupling's conv net.")
    alpha: float = hparam(0.05, 1e-6, 0.2, "Logit transform margin: y ↦ logit(α + (1 − 2α) y).", log=True)
    max_log_scale: float = hparam(3.0, 0.1, 10.0,
                                  "Bound on |log-scale| per coupling (soft, via tanh): keeps training stable.")


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N, 4C, H/2, W/2): each 2×2 block of pixels becomes 4 channels."""
    n, c, h, w = x.shape
    x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """The inverse of `squeeze`: (N, 4C, H, W) → (N, C, 2H, 2W)."""
    n, c, h, w = x.shape
    x = x.view(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, 2 * h, 2 * w)


def halvings(spec: DataSpec) -> int:
    """How many times both image sides can be halved."""
    count, h, w = 0, spec.shape[1], spec.shape[2]
    while h % 2 == 0 and w % 2 == 0 and h > 1 and w > 1:
        count, h, w = count + 1, h // 2, w // 2
    return count


class LogitTransform(nn.Module):
    """v = logit(α + (1 − 2α) y): maps [0, 1] onto the real line (Dinh et al., 2017)."""

    def __init__(self, alpha: float):
        super().__init__()
        self.alpha = alpha

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.alpha + (1 - 2 * self.alpha) * y
        log_det = math.log(1 - 2 * self.alpha) - torch.log(s) - torch.log1p(-s)
        return torch.log(s) - torch.log1p(-s), log_det.flatten(1).sum(1)

    def inverse(self, v: torch.Tensor) -> torch.Tensor:
        return (torch.sigmoid(v) - self.alpha) / (1 - 2 * self.alpha)


class ActNorm2d(nn.Module):
    """Per-channel (x − loc) · exp(−log_scale); `initialize` standardises a batch of activations."""

    def __init__(self, channels: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        self.loc.copy_(x.mean((0, 2, 3), keepdim=True))
        self.log_scale.copy_(x.std((0, 2, 3), keepdim=True).clamp_min(1e-3).log())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = x.shape[2] * x.shape[3]
        log_det = -pixels * self.log_scale.sum()
        return (x - self.loc) * torch.exp(-self.log_scale), log_det.expand(len(x))

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.exp(self.log_scale) + self.loc


class InvertibleConv1x1(nn.Module):
    """A learned channel mixing W = P L (U + diag(sign · exp(log_s))), started at a random rotation."""

    def __init__(self, channels: int):
        super().__init__()
        rotation = torch.linalg.qr(torch.randn(channels, channels))[0]
        p, lower, upper = torch.linalg.lu(rotation)
        s = upper.diagonal()
        self.register_buffer("permutation", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(s.abs().log())

    def weight(self) -> torch.Tensor:
        eye = torch.eye(len(self.log_s), dtype=self.log_s.dtype, device=self.log_s.device)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.permutation @ lower @ upper  # (C, C)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.weight()
        log_det = x.shape[2] * x.shape[3] * self.log_s.sum()
        return torch.einsum("oc,nchw->nohw", w, x), log_det.expand(len(x))

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return torch.einsum("oc,nchw->nohw", torch.linalg.inv(self.weight()), z)


class AffineCoupling2d(nn.Module):
    """The second half of the channels moves by x·exp(s) + t, with (s, t) from a conv net on the first half."""

    def __init__(self, channels: int, hidden_channels: int, max_log_scale: float):
        super().__init__()
        self.kept = channels // 2
        moved = channels - self.kept
        last = nn.Conv2d(hidden_channels, 2 * moved, 3, padding=1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(
            nn.Conv2d(self.kept, hidden_channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden_channels, hidden_channels, 1), nn.ReLU(),
            last,
        )
        self.transform = AffineTransform(max_log_scale)

    def _params(self, kept: torch.Tensor) -> torch.Tensor:
        return self.net(kept).flatten(2).unflatten(1, (2, -1)).flatten(2)  # (N, 2, moved·H·W)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kept, moved = x[:, : self.kept], x[:, self.kept :]
        y, log_det = self.transform.forward(moved.flatten(1), self._params(kept))
        return torch.cat([kept, y.view_as(moved)], 1), log_det.sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        kept, moved = y[:, : self.kept], y[:, self.kept :]
        x = self.transform.inverse(moved.flatten(1), self._params(kept))
        return torch.cat([kept, x.view_as(moved)], 1)


class FlowStep(nn.Module):
    """ActNorm → invertible 1×1 conv → affine coupling."""

    def __init__(self, channels: int, hidden_channels: int, max_log_scale: float):
        super().__init__()
        self.actnorm = ActNorm2d(channels)
        self.mix = InvertibleConv1x1(channels)
        self.coupling = AffineCoupling2d(channels, hidden_channels, max_log_scale)

    def forward(self, x: torch.Tensor, initialize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        if initialize:
            self.actnorm.initialize(x)
        log_det = x.new_zeros(len(x))
        for layer in (self.actnorm, self.mix, self.coupling):
            x, step_log_det = layer(x)
            log_det = log_det + step_log_det
        return x, log_det

    def inverse(self, z: torch.Tensor, coupling: bool = True) -> torch.Tensor:
        """The step undone; `coupling=False` skips the coupling (for step-by-step views)."""
        layers = (self.coupling, self.mix, self.actnorm) if coupling else (self.mix, self.actnorm)
        for layer in layers:
            z = layer.inverse(z)
        return z


@register
class Glow(NormalizingFlow):
    """A multi-scale Glow over a standard-normal base, on dequantized images.

    Example:
        >>> ds = load_dataset("digits", view="gray8")
        >>> model = create_model("glow", ds, steps_per_scale=4)
        >>> genlab.train(model, ds, seconds=30)
        >>> frames = model.sample_steps(8)      # [(caption, images)], couplings switched on one by one
    """

    name = "glow"
    title = "Glow (multi-scale image flow)"
    summary = (
        "An invertible network on images: squeezes pixels into channels, mixes them with learned 1×1 "
        "convolutions and couplings, and sets half of them aside at each scale. Exact change of "
        "variables on dequantized pixels, one-pass sampling."
    )
    config_class = GlowConfig
    views = ("binary", "gray8")

    @classmethod
    def check_spec(cls, spec: DataSpec) -> str | None:
        if not spec.is_image:
            return f"{cls.title} needs images shaped (C, H, W); got shape {spec.shape}."
        if halvings(spec) == 0:
            return (f"{cls.title} squeezes 2×2 blocks of pixels, so image height and width must be even; got "
                    f"{spec.shape[1]}×{spec.shape[2]}. Crop or resize the images, or pick another family.")
        return None

    def __init__(self, config: GlowConfig, spec: DataSpec):
        super().__init__(config, spec)
        reason = self.check_spec(spec)
        if reason:
            raise ValueError(reason)
        possible = halvings(spec)
        self.num_scales = min(config.num_scales, possible)
        self.logit = LogitTransform(config.alpha)
        c, h, w = spec.shape
        self.scales = nn.ModuleList()
        self.latent_shapes: list[tuple[int, int, int]] = []  # what each scale sends to the prior
        for i in range(self.num_scales):
            c, h, w = 4 * c, h // 2, w // 2
            self.scales.append(nn.ModuleList(
                [FlowStep(c, config.hidden_channels, config.max_log_scale) for _ in range(config.steps_per_scale)]
            ))
            last = i == self.num_scales - 1
            self.latent_shapes.append((c, h, w) if last else (c // 2, h, w))
            c = c - c // 2

    # ---- the two directions ---------------------------------------------------------------
    def forward_flow(self, y: torch.Tensor, initialize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """z = f(y) and log|det ∂f/∂y| for flat y in (0, 1)^D, shape (N, D); z is the
        concatenation of every scale's latents, flattened, shape (N, D)."""
        h, log_det = self.logit(y.reshape(len(y), *self.spec.shape))
        latents = []
        for i, steps in enumerate(self.scales):
            h = squeeze(h)
            for step in steps:
                h, step_log_det = step(h, initialize)
                log_det = log_det + step_log_det
            out = self.latent_shapes[i][0]
            latents.append(h[:, :out].flatten(1))
            h = h[:, out:]
        return torch.cat(latents, 1), log_det

    def _split_latents(self, z: torch.Tensor) -> list[torch.Tensor]:
        sizes = [int(np.prod(shape)) for shape in self.latent_shapes]
        return [part.reshape(len(z), *shape) for part, shape in zip(z.split(sizes, 1), self.latent_shapes)]

    @torch.no_grad()
    def inverse_flow(self, z: torch.Tensor, couplings: int | None = None) -> torch.Tensor:
        """y = f⁻¹(z) for flat latents z (N, D). With `couplings` = c, only the first c couplings met
        while sampling (coarsest scale first) act and the others are skipped, as if they were the identity."""
        parts = self._split_latents(z)
        h, met = parts[-1], 0
        for i in reversed(range(self.num_scales)):
            if i < self.num_scales - 1:
                h = torch.cat([parts[i], h], 1)
            for step in reversed(self.scales[i]):
                h = step.inverse(h, coupling=couplings is None or met < couplings)
                met += 1
            h = unsqueeze(h)
        return self.logit.inverse(h).flatten(1)

    @torch.no_grad()
    def initialize(self, train: torch.Tensor, valid: torch.Tensor, generator: torch.Generator) -> dict[str, float]:
        """Data-dependent ActNorm: each one standardises its input channels on a batch of training images."""
        y, _ = self.to_continuous(train[:INIT_ITEMS], generator)
        self.forward_flow(y, initialize=True)
        return {}

    def _sample_steps(self, n: int, temperature: float, generator: torch.Generator | None,
                      max_frames: int) -> list[tuple[str, torch.Tensor]]:
        """Sampling coupling by coupling: the same noise z sent through the flow with its couplings
        switched on one at a time, in sampling order (coarsest scale first). With none on, the
        ActNorms and 1×1 convs alone give a Gaussian in logit space; each coupling adds its
        non-linear part; the last frame, all on, is what `sample` gives for the same
        generator. At most `max_frames` frames: always the last, and the first when
        max_frames ≥ 2. (Showing the raw state after each step undone instead, with the
        steps still to undo skipped, shows standardised noise until the very last step.)"""
        z = self._base_noise(n, temperature, generator)
        total = self.num_scales * self.config.steps_per_scale
        frames = []
        for on in sorted({round(c) for c in np.linspace(total, 0, max_frames)}):
            frames.append((self._step_caption(on, total), self.to_view(self.inverse_flow(z, couplings=on))))
        return frames

    def _step_caption(self, on: int, total: int) -> str:
        if on == 0:
            return "no coupling on: ActNorm and 1×1 convs alone (Gaussian in logit space)"
        if on == total:
            return f"samples: all {total} couplings on"
        k = self.config.steps_per_scale
        scale, step = self.num_scales - (on - 1) // k, k - (on - 1) % k
        return f"{on} of {total} couplings on (down to scale {scale}, step {step})"
