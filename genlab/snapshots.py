"""What a model looks like right now: a density grid on 2-D data, samples on images."""
from __future__ import annotations

import numpy as np
import torch

from genlab.data.base import Dataset
from genlab.evaluate import batched_log_prob
from genlab.models.base import GenerativeModel
from genlab.yardsticks import normalise_on_grid

__all__ = ["density_grid", "sample_images", "sample_points", "live_snapshot", "to_unit_images", "field_grids"]

GRID = 80  # cells per side of a live density heatmap


def grid_axes(bounds, n: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    xmin, xmax, ymin, ymax = bounds
    return np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n)


def density_grid(model: GenerativeModel, bounds, n: int = GRID) -> np.ndarray:
    """log p_θ on an n×n grid over bounds, shape (n, n) indexed [y, x]."""
    xs, ys = grid_axes(bounds, n)
    xx, yy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    return batched_log_prob(model, points).numpy().reshape(n, n)


def _samples(model: GenerativeModel, n: int, seed: int, temperature: float = 1.0) -> torch.Tensor:
    return model.sample(n, temperature=temperature, generator=torch.Generator().manual_seed(seed)).cpu()


def sample_points(model: GenerativeModel, n: int = 1000, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
    return _samples(model, n, seed, temperature).numpy()


def to_unit_images(x: torch.Tensor, view: str, levels: int | None) -> np.ndarray:
    """Images in the data view -> floats in [0, 1], shape (N, C, H, W)."""
    x = x.float()
    if view != "continuous" and levels:
        x = x / (levels - 1)
    return x.clamp(0, 1).numpy()


def sample_images(model: GenerativeModel, n: int = 16, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
    return to_unit_images(_samples(model, n, seed, temperature), model.spec.view, model.spec.levels)


FIELD_GRID = 24  # cells per side for vector fields (arrows) and family-specific scalar fields


def field_grids(model: GenerativeModel, bounds, n: int = FIELD_GRID) -> dict[str, np.ndarray]:
    """The family's own fields (`model.fields`) on an n×n grid: scalars (n, n), vectors (n, n, 2)."""
    xs, ys = grid_axes(bounds, n)
    xx, yy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    with model.evaluating():
        values = model.fields(points.to(model.device))
    return {name: v.cpu().numpy().reshape(n, n, *v.shape[1:]) for name, v in values.items()}


def live_snapshot(model: GenerativeModel, ds: Dataset, seed: int = 0) -> dict:
    """The live view a training page draws: toys get p_θ on a grid (if the family has
    one), samples, and the family's own fields with what each shows (`field_notes`); images get a grid of
    samples."""
    out: dict = {}
    if ds.view == "continuous":
        if ds.bounds is not None and model.can("density") and model.log_prob_kind is not None:
            grid = density_grid(model, ds.bounds)
            if model.log_prob_kind == "unnormalized":  # normalise an energy on the grid so colours compare
                grid, _ = normalise_on_grid(grid, ds.bounds)
            out["log_prob_grid"] = grid
            out["bounds"] = ds.bounds
        if model.can("sample"):
            out["points"] = sample_points(model, 500, seed)
        if ds.bounds is not None:
            out["fields"] = field_grids(model, ds.bounds)
            out["field_notes"] = dict(model.field_notes())
    elif model.can("sample"):
        out["images"] = sample_images(model, 16, seed)
    return out
