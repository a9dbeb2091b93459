"""A 2-D density you draw: Gaussian blobs placed by hand, with their exact mixture as log p_data.

Each blob is a row (x, y, weight, std): a round Gaussian N((x, y), std² I). The data
set's density is the mixture p(x) = Σ_k w_k N(x; μ_k, σ_k² I) with the weights scaled to
sum to one, so `log_prob_true` is exact and normalised and KL(p_data‖p_θ) stays
measurable. A single point is a blob with a small std; a stroke is a row of them.

Example:
    >>> ds = drawn_dataset([(0.0, 0.0, 1.0, 0.5), (2.0, 2.0, 3.0, 0.3)])
    >>> ds.log_prob_true(ds.test).shape
    torch.Size([5000])
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from genlab.data.base import Dataset
from genlab.data.registry import Request, Source, register

__all__ = ["NAME", "MAX_BLOBS", "CANVAS", "Blob", "check_blobs", "ring", "drawn_dataset"]

NAME = "toy:drawn"
MAX_BLOBS = 200
CANVAS = (-4.0, 4.0, -4.0, 4.0)  # xmin, xmax, ymin, ymax: where blobs are placed, like the other toys
MIN_STD = 0.02
MAX_STD = 8.0  # twice the canvas half-width: wider says nothing more, and far wider breaks the maths
MAX_WEIGHT = 1e6  # relative weights; a bound keeps their sum finite
MARGIN_STDS = 4.0  # the plot box holds each blob out to this many stds
CHUNK_ROWS = 8192  # points per block of log p, so a grid over 200 blobs stays small

Blob = tuple[float, float, float, float]  # x, y, weight, std


def check_blobs(blobs: Sequence[Sequence[float]]) -> list[Blob]:
    """The blobs as (x, y, weight, std) floats, or a ValueError that says which row to fix."""
    rows = []
    for i, blob in enumerate(blobs, start=1):
        try:
            rows.append(tuple(float(v) for v in blob))
        except (TypeError, ValueError):  # float's own message would repeat the whole text
            raise ValueError(f"Row {i} needs four numbers: x, y, weight and std.") from None
    if not rows:
        raise ValueError("Add at least one blob (a row with x, y, weight and std) to draw a density.")
    if len(rows) > MAX_BLOBS:
        raise ValueError(f"At most {MAX_BLOBS} blobs; got {len(rows)}. Merge nearby ones into wider blobs.")
    xmin, xmax, ymin, ymax = CANVAS
    for i, row in enumerate(rows, start=1):
        if len(row) != 4 or not all(math.isfinite(v) for v in row):
            raise ValueError(f"Row {i} needs four numbers: x, y, weight and std.")
        x, y, weight, std = row
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            raise ValueError(f"Row {i}: the centre ({x:g}, {y:g}) is off the canvas [{xmin:g}, {xmax:g}]².")
        if weight < 0:
            raise ValueError(f"Row {i}: weight {weight:g} is negative; use 0 to switch a blob off.")
        if std < MIN_STD:
            raise ValueError(f"Row {i}: std {std:g} is below {MIN_STD:g}; a blob needs some width.")
        if std > MAX_STD:
            raise ValueError(f"Row {i}: std {std:g} is above {MAX_STD:g}, wider than the canvas; narrow it.")
        if weight > MAX_WEIGHT:
            raise ValueError(f"Row {i}: weight {weight:g} is above {MAX_WEIGHT:g}; weights only count relative "
                             "to each other, so scale them all down.")
    if sum(row[2] for row in rows) <= 0:
        raise ValueError("Every weight is zero; give at least one blob a positive weight.")
    return rows


def ring(radius: float = 2.5, blobs: int = 16, std: float = 0.25) -> list[Blob]:
    """Equal blobs evenly spaced on a circle: a ring, drawn with blobs."""
    return [(round(radius * math.cos(2 * math.pi * k / blobs), 4), round(radius * math.sin(2 * math.pi * k / blobs), 4),
             1.0, std) for k in range(blobs)]


class _RoundMixture:
    """p(x) = Σ_k w_k N(x; μ_k, σ_k² I) in the plane, computed in float64."""

    def __init__(self, blobs: list[Blob]):
        table = torch.tensor(blobs, dtype=torch.float64)  # (K, 4)
        kept = table[table[:, 2] > 0]
        self.centres = kept[:, :2]  # (K, 2)
        self.stds = kept[:, 3]  # (K,)
        self.weights = kept[:, 2] / kept[:, 2].sum()  # (K,), sum 1

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        var = self.stds.square()  # (K,)
        bias = self.weights.log() - torch.log(2 * math.pi * var)  # (K,): log w_k + normaliser of a 2-D Gaussian
        return torch.cat([
            torch.logsumexp(bias - torch.cdist(chunk, self.centres).square() / (2 * var), dim=1)  # (rows,)
            for chunk in x.double().split(CHUNK_ROWS)
        ]) if len(x) else x.new_zeros(0, dtype=torch.float64)

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)  # (n, 2)
        return self.centres[labels] + self.stds[labels, None] * noise, labels

    def bounds(self) -> tuple[float, float, float, float]:
        """The canvas, widened to a square that holds every blob out to MARGIN_STDS stds."""
        low = (self.centres - MARGIN_STDS * self.stds[:, None]).min().item()
        high = (self.centres + MARGIN_STDS * self.stds[:, None]).max().item()
        half = max(abs(low), abs(high), CANVAS[1])
        return (-half, half, -half, half)


def drawn_dataset(blobs: Sequence[Sequence[float]], n_train: int = 20000, n_test: int = 5000,
                  seed: int = 0) -> Dataset:
    """A continuous-view Dataset sampled from the blobs, with their exact mixture as `log_prob_true`.

    Arguments:
        blobs: rows (x, y, weight, std); weights need not sum to one (they are scaled).
        n_train, n_test: points in each split.
        seed: fixes both splits; train and test come from independent random streams.

    Returns:
        A Dataset named "toy:drawn" whose labels are the blob each point came from, and whose
        `source` holds these arguments, so `drawn_dataset(**ds.source)` builds it again.
    """
    rows = check_blobs(blobs)
    if n_train < 1 or n_test < 1:
        raise ValueError(f"A drawn density needs at least one train and one test point; got {n_train} and {n_test}.")
    density = _RoundMixture(rows)
    train_seed, test_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    train, labels_train = density.sample(n_train, torch.Generator().manual_seed(train_seed))
    test, labels_test = density.sample(n_test, torch.Generator().manual_seed(test_seed))

    def log_prob_true(x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x)
        if x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"A drawn density takes 2-D points shaped (N, 2); got shape {tuple(x.shape)}.")
        dtype = x.dtype if x.is_floating_point() else torch.float32
        return density.log_prob(x).to(dtype)

    stds = density.stds.unique()
    modes = (density.centres.float(), float(stds[0])) if len(stds) == 1 else None
    kept = len(density.centres)
    return Dataset(
        NAME, train.float(), test.float(), "continuous", labels_train=labels_train, labels_test=labels_test,
        log_prob_true_fn=log_prob_true, bounds=density.bounds(), modes=modes,
        source={"blobs": [list(row) for row in rows], "n_train": int(n_train), "n_test": int(n_test),
                "seed": int(seed)},
        description=f"Your drawn density: a mixture of {kept} round Gaussian blob{'s' * (kept != 1)}, "
                    "its weights scaled to sum to one; log p_data is that mixture, exactly.",
    )


def _load_request(request: Request) -> Dataset:
    """By name alone, the drawing the app starts from: a ring of blobs."""
    return drawn_dataset(ring(), seed=request.seed)


register(Source(NAME, "drawn by you (2-D)", "toy", ("continuous",), offline=True, load=_load_request, short="drawn",
                yours=True, rebuild=drawn_dataset))
