"""The Concepts lessons' figures: boundaries on square axes, the novelty threshold drawn where it is."""
import numpy as np
import torch

from genlab import figures

BOUNDS = (-2.0, 2.0, -1.0, 1.0)


def test_a_boundary_sits_on_square_axes_with_one_trace_per_class():
    grid = {"label": np.zeros((4, 4), dtype=int), "confidence": np.full((4, 4), 0.9)}
    grid["label"][:, 2:] = 2
    fig = figures.boundary_figure(grid, BOUNDS, torch.zeros(6, 2), torch.tensor([0, 1, 2, 0, 1, 2]))
    assert [t.name for t in fig.data if t.type == "scatter"] == ["class 0", "class 1", "class 2"]
    assert fig.layout.yaxis.scaleanchor == "x"
    assert list(fig.layout.xaxis.range) == [-2.0, 2.0] and list(fig.layout.yaxis.range) == [-1.0, 1.0]


def test_the_novelty_map_draws_its_threshold_and_the_query():
    log_likelihood = np.stack([np.zeros((5, 5)), np.full((5, 5), -3.0)])  # (K, n, n)
    fig = figures.novelty_figure(log_likelihood, BOUNDS, threshold=-1.5, query=(0.5, 0.25))
    (contour,) = [t for t in fig.data if t.type == "contour"]
    assert contour.contours.start == contour.contours.end == -1.5
    assert np.allclose(contour.z, 0.0)  # the best class everywhere
    assert list(fig.data[-1].x) == [0.5] and fig.data[-1].name == "your input"


def test_the_probe_figure_has_one_bar_series_per_feature_set():
    rows = [{"features": f, "per_class": size, "accuracy": 0.5, "dim": 4}
            for f in ("raw pixels", "VAE features") for size in (10, None)]
    fig = figures.probe_figure(rows)
    assert [t.name for t in fig.data] == ["raw pixels", "VAE features"]
    assert list(fig.data[0].x) == ["10 per class", "all"]
