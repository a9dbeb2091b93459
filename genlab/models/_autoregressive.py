"""Shared machinery of the pixel-by-pixel families: p(x) = Π_i p(x_i | x_<i).

A family here turns a flat image x of shape (N, D) into per-pixel logits (N, D, K):
K = 1 is a Bernoulli logit (binary view), K = levels a categorical over grey levels
(gray8). Pixel i's logits may depend only on the pixels before i in the family's
ordering, so log p(x) is the exact sum of D conditional log-probabilities and a
sample is drawn one pixel at a time in that ordering; a partly observed image is
completed the same way, its observed pixels kept (`AutoregressiveModel.complete`).
Also here: the per-pixel helpers the independent-pixel baselines share, and the
per-pixel split of a mixture's log-likelihood.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from genlab.data.base import DataSpec
from genlab.models._noise import uniform
from genlab.models.base import GenerativeModel, ModelConfig

__all__ = [
    "AutoregressiveModel",
    "outputs_per_pixel",
    "pixel_log_prob_from_logits",
    "sample_from_logits",
    "marginal_logits",
    "mixture_pixel_log_prob",
    "frame_steps",
]

NextLogits = Callable[[torch.Tensor, int, torch.Tensor], torch.Tensor]


def outputs_per_pixel(spec: DataSpec) -> int:
    """K: one Bernoulli logit per binary pixel, `levels` categorical logits per gray8 pixel."""
    return 1 if spec.view == "binary" else spec.levels


def pixel_log_prob_from_logits(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x_i | logits_i) per pixel, nats: logits (..., D, K) and values x (..., D), broadcast."""
    shape = torch.broadcast_shapes(logits.shape[:-1], x.shape)
    if logits.shape[-1] == 1:
        return -F.binary_cross_entropy_with_logits(logits[..., 0].expand(shape), x.expand(shape), reduction="none")
    index = x.long().expand(shape).unsqueeze(-1)
    return torch.log_softmax(logits, -1).expand(*shape, logits.shape[-1]).gather(-1, index).squeeze(-1)


def sample_from_logits(logits: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
    """Draw pixel values by inverse CDF from uniforms u: logits (..., K), u (...) -> float values (...).

    The temperature divides the logits. One uniform per pixel, whatever K, so a fixed
    generator gives the same image whether it is drawn at once or frame by frame.
    """
    logits = logits / temperature
    if logits.shape[-1] == 1:
        return (u < torch.sigmoid(logits[..., 0])).to(torch.float32)
    cdf = torch.softmax(logits, -1).cumsum(-1)
    return (cdf < u.unsqueeze(-1)).sum(-1).clamp(max=logits.shape[-1] - 1).to(torch.float32)


def marginal_logits(x: torch.Tensor, k: int, smoothing: float = 1.0) -> torch.Tensor:
    """Per-pixel marginals of flat data x (N, D) as logits (D, K), Laplace-smoothed.

    K = 1: log(p₁ / p₀); K = levels: log p_k. `smoothing` pseudo-counts go to every value.
    """
    if k == 1:
        ones = x.sum(0) + smoothing
        zeros = (1 - x).sum(0) + smoothing
        return (ones.log() - zeros.log()).unsqueeze(-1)
    index = x.long().T  # (D, N)
    counts = torch.zeros(x.shape[1], k, dtype=torch.float64, device=x.device)
    counts.scatter_add_(1, index, torch.ones(index.shape, dtype=torch.float64, device=x.device))
    counts += smoothing  # (D, K)
    return (counts / counts.sum(-1, keepdim=True)).log().to(torch.float32)


def mixture_pixel_log_prob(component_pixel_log_prob: torch.Tensor, log_weights: torch.Tensor) -> torch.Tensor:
    """Split the log-likelihood of a mixture p(x) = Σ_m w_m p_m(x) over pixels.

    With responsibilities r_m = w_m p_m(x) / p(x), log p(x) = Σ_m r_m [log p_m(x) + log w_m − log r_m]
    for any x, so pixel i gets the responsibility-weighted Σ_m r_m log p_m(x_i | ...) and the
    remainder −KL(r‖w) ≤ 0 is spread evenly over the D pixels. The map sums exactly to log p(x).

    Arguments:
        component_pixel_log_prob: (N, M, D) per-pixel log-probabilities under each component.
        log_weights: (M,) log mixing weights.

    Returns:
        (N, D) per-pixel contributions, nats.
    """
    joint = component_pixel_log_prob.sum(-1) + log_weights  # (N, M)
    log_r = torch.log_softmax(joint, -1)  # (N, M)
    r = log_r.exp()
    finite_w = torch.where(r > 0, log_weights - log_r, torch.zeros_like(log_r))  # 0 · (−∞) counts as 0
    neg_kl = (r * finite_w).sum(-1, keepdim=True)  # (N, 1)
    weighted = (r.unsqueeze(-1) * component_pixel_log_prob).sum(1)  # (N, D)
    return weighted + neg_kl / component_pixel_log_prob.shape[-1]


def frame_steps(total: int, max_frames: int) -> list[int]:
    """At most max_frames evenly spaced counts in 1..total, always ending at total."""
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1; got {max_frames}.")
    counts = torch.linspace(1, total, min(max_frames, total)).round().long().tolist()
    return sorted(set(counts) | {total})


class AutoregressiveModel(GenerativeModel):
    """Base of the pixel-by-pixel families.

    A subclass builds its network in `__init__` and implements `flat_logits(x, mask)`:
    flat images x (N, D) in the data view -> logits (N, D, K), already including the
    per-pixel `output_bias` (D, K), which `initialize` sets to the smoothed data
    marginals. `orders` (M, D) lists pixel indices in generation order, one row per
    ordering (mask); most families have one row, the raster order.
    """

    views = ("binary",)
    log_prob_kind = "exact"
    objective = "NLL (nats) = −Σ_i log p_θ(x_i | x_<i): forward KL(p_data‖p_θ) + H(p_data)"

    def __init__(self, config: ModelConfig, spec: DataSpec, num_orders: int = 1):
        super().__init__(config, spec)
        self.outputs = outputs_per_pixel(spec)
        self.output_bias = nn.Parameter(torch.zeros(spec.dim, self.outputs))
        self.register_buffer("orders", torch.arange(spec.dim).repeat(num_orders, 1))  # (M, D)

    def flat_logits(self, x: torch.Tensor, mask: int = 0) -> torch.Tensor:
        """Per-pixel logits (N, D, K) of flat images x (N, D) under ordering/mask `mask`."""
        raise NotImplementedError

    def scaled_input(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel values as network input in [0, 1] (gray levels divided by levels − 1)."""
        return x if self.spec.view == "binary" else x / (self.spec.levels - 1)

    # ---- density ------------------------------------------------------------------
    def pixel_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_θ(x_i | x_<i) per pixel, nats, shape (N, *shape); sums over pixels to log_prob(x)."""
        y = self.flat(x)
        return pixel_log_prob_from_logits(self.flat_logits(y), y).reshape(len(x), *self.spec.shape)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self.pixel_log_prob(x).reshape(len(x), -1).sum(1)

    @torch.no_grad()
    def initialize(self, train: torch.Tensor, valid: torch.Tensor, generator: torch.Generator) -> dict[str, float]:
        """Start every pixel's output at its smoothed data marginal, so step 0 is the independent-pixel fit."""
        self.output_bias.copy_(marginal_logits(self.flat(train), self.outputs))
        return {}

    # ---- sampling -----------------------------------------------------------------
    def _sample(self, n, temperature, generator):
        return self._draw(n, temperature, generator, [self.spec.dim])[0][-1][1]

    def _sample_steps(self, n, temperature, generator, max_frames):
        """Images filling in pixel by pixel (pixels not yet drawn are 0), captions "pixel t / D"."""
        d = self.spec.dim
        frames, _ = self._draw(n, temperature, generator, frame_steps(d, max_frames))
        return [(f"pixel {t} / {d}", x) for t, x in frames]

    def _complete(self, x, observed, n, temperature, generator):
        """n completions of one image, drawn pixel by pixel in the family's ordering.

        An observed pixel keeps its value; a missing pixel i is drawn from p_T(x_i | x_<i), which sees
        the pixels before i in the ordering (observed or drawn) and none after it. The log weights
        Σ_{observed i} log p_T(x_i | x_<i) of each draw are its importance weights towards
        p_T(missing | observed), conditioned on every observed pixel: equal for every draw when all
        observed pixels come first. p_T is the model with its logits divided by the temperature (p_θ at 1).

        Arguments:
            x: one image (*shape) in the data view; its values at missing pixels are never read.
            observed: bool (*shape), True where the pixel is kept.

        Returns:
            images (n, *shape) and log weights (n,), nats.
        """
        given = (self.flat(x[None])[0], observed.reshape(-1).to(self.device, torch.bool))
        frames, log_weights = self._draw(n, temperature, generator, [self.spec.dim], given)
        return frames[-1][1], log_weights

    def choose_orders(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """Which ordering each of n samples follows, shape (n,); one ordering here."""
        return torch.zeros(n, dtype=torch.long, device=self.device)

    def next_logits_fn(self, choice: torch.Tensor) -> NextLogits:
        """A function (x, t, i) -> logits (n, K) of pixels i (n,) given the pixels drawn so far in x.

        Called for t = 0, 1, ..., D − 1 in turn; x holds the pixels at steps < t and zeros elsewhere.
        This default runs the whole network each step; families with a cheaper update override it.
        """
        rows = torch.arange(len(choice), device=self.device)
        return lambda x, t, i: self.flat_logits(x)[rows, i]

    def _draw(self, n: int, temperature: float, generator: torch.Generator | None, keep: list[int],
              given: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[list[tuple[int, torch.Tensor]],
                                                                             torch.Tensor]:
        """Draw n images pixel by pixel (in eval mode, set by the templates: no dropout, the generator
        alone decides); returns (pixels drawn, images) after each count in keep, and the log weights
        of `complete`.

        `given` (values (D,), observed (D,) bool): pixels kept at those values instead of drawn."""
        d = self.spec.dim
        choice = self.choose_orders(n, generator)  # (n,)
        u = uniform((n, d), generator, self.device)  # one uniform per pixel, by step
        orders = self.orders[choice]  # (n, D)
        rows = torch.arange(n, device=self.device)
        next_logits = self.next_logits_fn(choice)
        x = torch.zeros(n, d, device=self.device)
        log_weights = torch.zeros(n, device=self.device)
        frames, wanted = [], set(keep)
        for t in range(d):
            i = orders[:, t]
            logits = next_logits(x, t, i)  # (n, K)
            value = sample_from_logits(logits, u[:, t], temperature)
            if given is not None:
                values, observed = given
                kept = observed[i]  # (n,)
                value = torch.where(kept, values[i], value)
                log_weights += torch.where(kept, pixel_log_prob_from_logits(logits / temperature, value), 0.0)
            x[rows, i] = value
            if t + 1 in wanted:
                frames.append((t + 1, x.clone().reshape(n, *self.spec.shape)))
        return frames, log_weights
