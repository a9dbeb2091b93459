"""Figures of 2-D points and densities: in the right place, indexed [y, x]."""

import numpy as np
import torch

from genlab import figures

BOUNDS = (-2.0, 2.0, -1.0, 1.0)


def test_log_prob_on_grid_is_indexed_y_then_x():
    grid = figures.log_prob_on_grid(lambda p: p[:, 0] + 10 * p[:, 1], BOUNDS, n=5)
    assert grid.shape == (5, 5)
    assert grid[0, 0] == -2 - 10 and grid[0, -1] == 2 - 10 and grid[-1, 0] == -2 + 10


def test_density_heatmap_clips_to_a_range_below_the_peak():
    log_p = np.array([[0.0, -1.0], [-50.0, -np.inf]])
    fig = figures.density_heatmap(log_p, BOUNDS, points=torch.zeros(3, 2), log_p_range=5.0)
    z = np.asarray(fig.data[0].z)
    assert z.max() == 0.0 and z.min() == -5.0 and np.isfinite(z).all()
    assert len(fig.data) == 2  # the heatmap and the points on top
    shared = figures.density_heatmap(log_p, BOUNDS, top=2.0, log_p_range=5.0)
    assert shared.data[0].zmax == 2.0 and shared.data[0].zmin == -3.0


def test_clickable_density_puts_a_selectable_grid_last_and_marks_the_point():
    fig = figures.clickable_density(np.zeros((5, 5)), BOUNDS, point=(0.5, 0.0), click_grid=7)
    assert fig.data[-1].marker.opacity == 0.0 and len(fig.data[-1].x) == 49
    assert any(t.name == "your point" and list(t.x) == [0.5] for t in fig.data)
    assert fig.layout.clickmode == "event+select"


def test_latent_scatter_carries_item_indices_for_a_selection():
    points = np.arange(12.0).reshape(6, 2)
    fig = figures.latent_scatter(points, labels=np.array([0, 1, 0, 1, 0, 1]), hover=list("abcdef"), selected=[4])
    by_label = {t.name: t for t in fig.data}
    assert list(by_label["0"].customdata) == [0, 2, 4] and list(by_label["1"].text) == ["b", "d", "f"]
    assert list(by_label["shown"].x) == [8.0]
