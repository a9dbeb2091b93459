"""Conditional completion: erase part of an image and let a trained model fill it in, x_M ~ p_θ(x_M | x_O).

A family that can complete (`model.can("complete")`, the autoregressive ones) draws the missing
pixels M one at a time in its ordering, keeping the observed pixels O: a missing pixel i is drawn
from p_θ(x_i | x_<i), so it sees the observed pixels *before* it and none after it. That plain
draw is the exact conditional only when every observed pixel comes first in the ordering — in
raster order, the bottom half erased. For any other mask this module uses sampling importance
resampling (SIR): draw K completions q(x_M) that way, weight each by

    w = p_θ(x_O, x_M) / q(x_M) = Π_{i ∈ O} p_θ(x_i | x_<i),

the probability of the observed pixels given everything before them, and keep one with
probability proportional to w. The kept image follows p_θ(x_M | x_O), conditioned on every
observed pixel, as K grows (the bias shrinks like 1/K). The effective sample size of the K
weights says how many proposals really took part; it cannot see completions no proposal reached.

With several orderings (a MADE with several masks) a proposal also picks its ordering m, as
sampling does, and is weighted under m: resampling the pairs (m, x_M) and dropping m gives the
conditional of the mixture. At a temperature T ≠ 1 every conditional's logits are divided by T,
in the proposals and in the weights alike, so the target is the conditional of that tempered
autoregressive model.

Example:
    >>> missing = erase_mask("left half", model.spec.shape)
    >>> result = complete(model, ds.test[0], missing, n=6, proposals=32, seed=0)
    >>> result.images                      # (6, 1, 8, 8): the right half exactly as in ds.test[0]

References:
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural Networks", ICML 2016
    (completing images whose bottom half is occluded).
    Rubin, "Using the SIR algorithm to simulate posterior distributions", Bayesian Statistics 3, 1988.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from genlab.data.base import DataSpec
from genlab.models import families_that, fits
from genlab.models.base import Capability, GenerativeModel

__all__ = ["MASKS", "DEFAULT_PROPOSALS", "MAX_PROPOSALS", "ERASED_RGB", "erase_mask", "completing_families",
           "observed_first", "effective_sample_size", "resample", "Completion", "complete", "erased_tiles"]

DEFAULT_PROPOSALS = 32  # K: draws behind each completion when resampling
MAX_PROPOSALS = 512
ERASED_RGB = (0.85, 0.15, 0.15)  # how an erased pixel is drawn: red, unlike any grey level


# ---- masks ----------------------------------------------------------------------------
def _box(h: int, w: int, top: int, left: int) -> torch.Tensor:
    """A (h + 1) // 2 by (w + 1) // 2 box with its corner at (top, left), as a bool (h, w) map."""
    rows, cols = torch.arange(h)[:, None], torch.arange(w)[None, :]
    return (rows >= top) & (rows < top + (h + 1) // 2) & (cols >= left) & (cols < left + (w + 1) // 2)


def _random_box(h: int, w: int, generator: torch.Generator) -> torch.Tensor:
    top = int(torch.randint(h - (h + 1) // 2 + 1, (1,), generator=generator))
    left = int(torch.randint(w - (w + 1) // 2 + 1, (1,), generator=generator))
    return _box(h, w, top, left)


# preset -> (h, w, generator) -> bool (h, w), True where the pixel is erased
MASKS: dict[str, Callable[[int, int, torch.Generator], torch.Tensor]] = {
    "bottom half": lambda h, w, g: (torch.arange(h) >= h // 2)[:, None].expand(h, w),
    "top half": lambda h, w, g: (torch.arange(h) < (h + 1) // 2)[:, None].expand(h, w),
    "left half": lambda h, w, g: (torch.arange(w) < (w + 1) // 2)[None, :].expand(h, w),
    "right half": lambda h, w, g: (torch.arange(w) >= w // 2)[None, :].expand(h, w),
    "centre box": lambda h, w, g: _box(h, w, h // 4, w // 4),
    "random box": _random_box,
}


def erase_mask(preset: str, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Which pixels of an image shaped (C, H, W) a preset erases: bool (C, H, W), True where erased.

    Every channel of a pixel is erased together; `seed` places the "random box".
    """
    if preset not in MASKS:
        raise ValueError(f"Unknown mask {preset!r}; choose one of {', '.join(MASKS)}.")
    if len(shape) != 3:
        raise ValueError(f"Masks erase part of an image shaped (C, H, W); got data shaped {tuple(shape)}.")
    c, h, w = shape
    generator = torch.Generator().manual_seed(seed)
    return MASKS[preset](h, w, generator).clone().expand(c, h, w).contiguous()


# ---- which families complete, and how well a plain draw conditions --------------------
def completing_families(spec: DataSpec) -> dict[str, str]:
    """Families that complete a partly observed input and fit data of this spec: name -> title."""
    return {name: cls.title for name, cls in families_that(Capability.COMPLETE).items() if fits(name, spec) is None}


def observed_first(model: GenerativeModel, missing: torch.Tensor) -> bool:
    """Whether every observed pixel comes before every missing one in each ordering the model draws in
    (its `orders`, one row per ordering): then the plain draw already is p_θ(missing | observed)."""
    orders = getattr(model, "orders", None)
    if orders is None:
        return False
    by_step = missing.reshape(-1).to(orders.device)[orders].long()  # (M, D): 1 where step t draws a missing pixel
    return bool((by_step[:, 1:] >= by_step[:, :-1]).all())


def effective_sample_size(log_weights: torch.Tensor) -> torch.Tensor:
    """(Σw)² / Σw² over the last axis: how many of the K weighted draws count, 1..K."""
    w = torch.softmax(log_weights.double(), -1)
    return 1.0 / (w**2).sum(-1)


def resample(log_weights: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One index per row of log weights (n, K), drawn with probability proportional to exp(log weight)."""
    if not torch.isfinite(log_weights.max(-1).values).all():
        raise ValueError("The model gives the observed pixels no probability in any proposal; raise the "
                         "temperature or the number of proposals.")
    probabilities = torch.softmax(log_weights.double().cpu(), -1)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)


# ---- completing ---------------------------------------------------------------------
@dataclass
class Completion:
    """Completions of one image and how they were drawn.

    Attributes:
        images: (n, *shape) in the data view; observed pixels exactly as given.
        proposals: K draws behind each image (1: the plain draw in the model's ordering).
        effective_proposals: (n,) effective sample size of each image's K weights, 1..K.
        exact: the plain draw is already p_θ(missing | observed) (every observed pixel comes first).
    """

    images: torch.Tensor
    proposals: int
    effective_proposals: torch.Tensor
    exact: bool

    @property
    def conditions_on_all(self) -> bool:
        """Every observed pixel conditions the missing ones: exactly, or by resampling."""
        return self.exact or self.proposals > 1


def complete(model: GenerativeModel, x: torch.Tensor, missing: torch.Tensor, n: int = 6, temperature: float = 1.0,
             proposals: int = DEFAULT_PROPOSALS, seed: int = 0) -> Completion:
    """n completions of image x (*shape) with the pixels where `missing` is True erased.

    Arguments:
        proposals: K draws per completion, resampled by their importance weights (module docstring);
            1 gives the plain draw in the model's ordering. When every observed pixel comes first in
            the model's orderings the plain draw is exact and one proposal is used whatever K is.
        seed: fixes the draws and the resampling.

    Returns:
        a Completion; `images` keep x's values wherever `missing` is False.
    """
    if not model.can(Capability.COMPLETE):
        raise ValueError(f"{model.title} cannot complete a partly observed input; the families that can: "
                         f"{', '.join(completing_families(model.spec).values()) or 'none for this data'}.")
    if tuple(x.shape) != tuple(model.spec.shape) or tuple(missing.shape) != tuple(model.spec.shape):
        raise ValueError(f"The image and its mask should each be shaped {tuple(model.spec.shape)} like the model's "
                         f"data; got {tuple(x.shape)} and {tuple(missing.shape)}.")
    if n < 1 or not 1 <= proposals <= MAX_PROPOSALS:
        raise ValueError(f"Ask for at least one completion and 1 to {MAX_PROPOSALS} proposals each; got n = {n} "
                         f"and {proposals} proposals.")
    missing = missing.to(torch.bool)
    if not missing.any():
        raise ValueError("Nothing is erased: erase some pixels for the model to complete.")
    exact = observed_first(model, missing)
    k = 1 if exact else proposals
    generator = torch.Generator().manual_seed(seed)
    draws, log_weights = model.complete(x, ~missing, n * k, temperature, generator)
    draws, log_weights = draws.cpu(), log_weights.cpu().reshape(n, k)
    if k == 1:
        return Completion(draws, 1, torch.ones(n, dtype=torch.float64), exact)
    chosen = resample(log_weights, generator)  # (n,)
    images = draws.reshape(n, k, *model.spec.shape)[torch.arange(n), chosen]
    return Completion(images, k, effective_sample_size(log_weights), exact)


def erased_tiles(original: np.ndarray, missing: np.ndarray, completions: np.ndarray) -> np.ndarray:
    """RGB tiles for one picture: the original, the input with erased pixels in ERASED_RGB, then each completion.

    Arguments:
        original: (1, H, W) grey values in [0, 1].
        missing: (1, H, W) bool, True where erased.
        completions: (n, 1, H, W) grey values in [0, 1].

    Returns:
        (n + 2, 3, H, W) values in [0, 1].
    """
    grey = np.concatenate([original[None], original[None], completions]).astype(float)  # (n + 2, 1, H, W)
    tiles = np.repeat(grey, 3, axis=1)
    erased = np.asarray(missing, dtype=bool)[0]
    tiles[1][:, erased] = np.asarray(ERASED_RGB)[:, None]
    return tiles
